"""Exact frame access, window sampling and preprocessing."""
from __future__ import annotations

import av
import numpy as np
import pytest

from ethoscout.core.video.decode import iter_windows
from ethoscout.core.video.preprocess import Preprocessor
from ethoscout.core.video.probe import probe_video
from ethoscout.core.video.reader import FrameReader
from ethoscout.core.video.windows import WindowSpec, make_windows, window_times
from tests.conftest import shared_video


def all_frames(path):
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]


@pytest.mark.parametrize("name", ["mouse_reach_grasp_dlc_8s.avi", "horse_led_walk_trot_amadeus_13s.mp4"])
def test_reader_is_exact_in_any_order(name):
    path = shared_video(name)
    ref = all_frames(path)
    order = [0, 5, 200, 3, 100, 101, 102, len(ref) - 1, 17, 150, 149, 148]
    with FrameReader(str(path)) as r:
        for i in order:
            assert np.array_equal(r.read(i), ref[i]), f"frame {i}"
        i, frame = r.read_at(r.info.time_of(42) + 1e-3)
        assert i == 42 and np.array_equal(frame, ref[42])


def test_reader_on_synthetic_video(video_factory):
    path = video_factory("s.mp4", frames=40)
    ref = all_frames(path)
    with FrameReader(str(path)) as r:
        for i in [39, 0, 20, 21, 1]:
            assert np.array_equal(r.read(i), ref[i])


def test_window_times_defaults_and_short_video():
    starts, ends = window_times(10.0, WindowSpec())
    assert starts[0] == 0 and ends[0] == 2 and len(starts) == 9 and ends[-1] == 10
    s, e = window_times(1.3, WindowSpec())
    assert list(s) == [0.0] and list(e) == [1.3]


@pytest.mark.parametrize("scheme", ["sparse", "dense", "semi-dense"])
def test_sampling_schemes(scheme):
    pts = np.arange(300) / 30.0
    w = make_windows(pts, 10.0, WindowSpec(scheme=scheme, frames=8))
    assert w.frames.shape == (9, 8)
    assert np.all(np.diff(w.frames, axis=1) >= 0)
    step = np.diff(w.frames[0])
    if scheme == "sparse":
        assert step.min() >= 7  # spread over 2 s = 60 frames
    elif scheme == "dense":
        assert set(step) == {1}
    else:
        assert set(step) == {2}
    # every window's frames lie inside the window
    for s, e, f in zip(w.starts, w.ends, w.frames):
        assert np.all(pts[f] >= s - 1 / 30) and np.all(pts[f] <= e)


def test_windows_decode_sequentially_and_resume(video_factory):
    path = video_factory("w.mp4", frames=75, fps=15)
    info = probe_video(path)
    ref = all_frames(path)
    pre = Preprocessor(shortest_edge=32, crop=(32, 32))
    w = make_windows(info.pts_s, info.duration_s, WindowSpec(frames=4))
    got = list(iter_windows(info, w, pre.resize_crop))
    assert [i for i, _ in got] == list(range(len(w)))
    for i, frames in got:
        for k, f in enumerate(w.frames[i]):
            assert np.array_equal(frames[k], pre.resize_crop(ref[f]))
    resumed = list(iter_windows(info, w, pre.resize_crop, start_window=2))
    assert [i for i, _ in resumed] == list(range(2, len(w)))
    assert all(np.array_equal(a, b) for (_, a), (_, b) in zip(resumed, got[2:]))


def test_preprocessing_matches_transformers_processor():
    try:  # transformers 5 names the PIL backend explicitly
        from transformers.models.videomae.image_processing_pil_videomae import (
            VideoMAEImageProcessorPil as VideoMAEImageProcessor)
    except ImportError:
        from transformers import VideoMAEImageProcessor

    path = shared_video("mouse_openfield_odortrail_dlc_78s.mp4")
    with FrameReader(str(path)) as r:
        frame = r.read(100)
    config = {"do_resize": True, "size": {"shortest_edge": 224}, "do_center_crop": True,
              "crop_size": {"height": 224, "width": 224}, "resample": 2,
              "image_mean": [0.485, 0.456, 0.406], "image_std": [0.229, 0.224, 0.225]}
    theirs = VideoMAEImageProcessor(**config)([[frame]], return_tensors="np")["pixel_values"][0, 0]
    ours = Preprocessor.from_config(config)
    mine = ours.normalize(ours.resize_crop(frame)[None])[0]
    assert mine.shape == theirs.shape == (3, 224, 224)
    diff = np.abs(mine - theirs)
    # Same geometry and normalisation; resampling filters differ by a grey level or two.
    assert diff.mean() < 0.02 and np.percentile(diff, 99) < 0.1


# cockatoo: x264 4:4:4, whose later keyframes decode to garbage unless the decoder has seen
# the first frame (the encoder's SEI) before seeking.
def test_first_read_far_into_the_file_is_exact():
    path = shared_video("cockatoo_closeup_imageio_14s.mp4")
    ref = all_frames(path)
    with FrameReader(str(path)) as r:
        assert np.array_equal(r.read(150), ref[150])


def test_windows_from_a_later_start_equal_a_run_from_the_start():
    """Resuming (or a cluster segment) seeks; the frames must be those of a full run."""
    info = probe_video(shared_video("cockatoo_closeup_imageio_14s.mp4"))
    windows = make_windows(info.pts_s, info.duration_s, WindowSpec(frames=4))
    full = dict(iter_windows(info, windows, lambda f: f[::8, ::8]))
    for start in (4, 9):
        for wi, frames in iter_windows(info, windows, lambda f: f[::8, ::8], start_window=start):
            assert np.array_equal(frames, full[wi]), f"window {wi} from {start}"
