"""Motion descriptors: computed in the index pass, high for motion and low for stillness, and
added to stores indexed before they existed without running the vision tower again."""
from __future__ import annotations

import numpy as np

from ethoscout.core.engine import index_videos
from ethoscout.core.video.motion import (ACTIVITY, MOTION_ARRAY, MOTION_COLUMNS, MOTION_DIM, STILL,
                                         MotionExtractor, activity, still_bouts)
from ethoscout.core.video.probe import probe_video


def _frames(kind: str, n: int = 8, size: int = 224) -> np.ndarray:
    out = np.full((n, size, size, 3), 40, np.uint8)
    rng = np.random.default_rng(1)
    texture = rng.integers(0, 255, (40, 40, 3), dtype=np.uint8)
    for i in range(n):
        x = 20 + (i * 12 if kind == "moving" else 0)
        out[i, 90:130, x:x + 40] = texture
    return out


def test_descriptor_tells_moving_from_still():
    times = np.arange(100) / 25.0
    idx = np.arange(0, 32, 4)
    moving = MotionExtractor(times)(_frames("moving"), idx)
    still = MotionExtractor(times)(_frames("still"), idx)
    assert moving.shape == still.shape == (MOTION_DIM,) and len(MOTION_COLUMNS) == MOTION_DIM
    assert moving[ACTIVITY] > 10 * max(still[ACTIVITY], 0.1)
    assert still[STILL] == 1.0 and moving[STILL] == 0.0
    right = MOTION_COLUMNS.index("direction_0")  # angle 0 = motion to the right
    assert moving[right] > 0.5


def test_still_bouts_merge_runs_of_quiet_windows():
    starts = np.arange(10.0)
    ends = starts + 2
    motion = np.zeros((10, MOTION_DIM), np.float32)
    motion[:, ACTIVITY] = [50, 50, 0, 0, 0, 0, 50, 0, 50, 50]
    assert still_bouts(starts, ends, motion, threshold=3.0, min_s=2.0) == [(2.0, 7.0), (7.0, 9.0)]
    assert still_bouts(starts, ends, motion, threshold=3.0, min_s=3.0) == [(2.0, 7.0)]
    assert np.array_equal(activity(motion), motion[:, ACTIVITY])


def test_index_stores_motion_and_backfills_old_stores(tmp_path, tiny_model, video_factory):
    moving = video_factory("moving.mp4", frames=90, pattern="moving")
    still = video_factory("still.mp4", frames=75, pattern="still")
    results = index_videos(tmp_path / "p", [moving, still], model=tiny_model)
    by_name = {r.info.name: r.store for r in results}
    m, s = (by_name[n].array(MOTION_ARRAY) for n in ("moving.mp4", "still.mp4"))
    assert m.shape == (len(by_name["moving.mp4"]), MOTION_DIM)
    assert activity(m).min() > activity(s).max()

    # a store from before motion existed: the next index adds it, leaving the features alone
    store = by_name["moving.mp4"]
    (store.folder / f"{MOTION_ARRAY}.npy").unlink()
    features_mtime = (store.folder / "frame_cls.npy").stat().st_mtime_ns

    class NoVision:
        def encode(self, pixels):
            raise AssertionError("the vision tower ran for a cached store")

    from ethoscout.core.engine import index_video, resolve_spec
    spec = resolve_spec(None, tiny_model)
    again = index_video(tmp_path / "p", moving, tiny_model, spec, backend=NoVision(), info=probe_video(moving))
    assert again.status == "cached"
    assert np.allclose(again.store.array(MOTION_ARRAY), m)
    assert (store.folder / "frame_cls.npy").stat().st_mtime_ns == features_mtime


def test_activity_command_finds_the_still_video(tmp_path, tiny_model, tiny_model_dir, video_factory, capsys):
    from ethoscout.core.cli import main
    from ethoscout.core.data.project import Project

    moving = video_factory("moving.mp4", frames=90, pattern="moving")
    still = video_factory("still.mp4", frames=75, pattern="still")
    index_videos(tmp_path / "p", [moving, still], model=tiny_model)
    with Project.open(tmp_path / "p") as p:
        p.set_setting("model", str(tiny_model_dir))
    out = tmp_path / "activity.csv"
    assert main(["activity", "--project", str(tmp_path / "p"), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "still.mp4: 1 still bouts" in text and "moving.mp4: 0 still bouts" in text
    rows = out.read_text().splitlines()
    assert rows[0] == "video,start_s,end_s,activity_px_s,still" and len(rows) > 5
