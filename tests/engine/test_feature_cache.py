"""Feature cache: indexed once, resumable after a kill, invalidated by a changed video or model."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np

from ethoscout.core import engine
from ethoscout.core.model.random_init import build_random_xclip
from ethoscout.core.progress import CancelToken
from ethoscout.core.video.windows import WindowSpec


def stores(project):
    return sorted(p for p in (project / "features").rglob("meta.json") if not p.parent.name.endswith(".partial"))


def test_unchanged_video_is_not_indexed_twice(tiny_model, video_factory, tmp_path):
    path = video_factory("v.mp4", frames=45)
    [first] = engine.index_videos(tmp_path, [path], model=tiny_model)
    assert first.status == "indexed"
    mtime = os.path.getmtime(first.store.folder / "frame_cls.npy")
    [second] = engine.index_videos(tmp_path, [path], model=tiny_model)
    assert second.status == "cached"
    assert os.path.getmtime(second.store.folder / "frame_cls.npy") == mtime


def test_changed_video_is_reindexed(tiny_model, video_factory, tmp_path):
    path = video_factory("v.mp4", frames=45, pattern="moving")
    engine.index_videos(tmp_path / "p", [path], model=tiny_model)
    video_factory("v.mp4", frames=45, pattern="flash")  # same name, new content
    [again] = engine.index_videos(tmp_path / "p", [path], model=tiny_model)
    assert again.status == "indexed"
    assert len(stores(tmp_path / "p")) == 1  # the old file's store is stale and removed


def test_changed_model_is_reindexed(tiny_model, video_factory, tmp_path):
    from ethoscout.core.model.loading import load_xclip

    path = video_factory("v.mp4", frames=45)
    engine.index_videos(tmp_path / "p", [path], model=tiny_model)
    other = load_xclip(build_random_xclip(tmp_path / "m2", "tiny", seed=7), device="cpu")
    assert other.fingerprint != tiny_model.fingerprint
    [r] = engine.index_videos(tmp_path / "p", [path], model=other)
    assert r.status == "indexed"


def test_different_window_spec_gets_its_own_store(tiny_model, video_factory, tmp_path):
    path = video_factory("v.mp4", frames=60)
    engine.index_videos(tmp_path, [path], model=tiny_model)
    [r] = engine.index_videos(tmp_path, [path], model=tiny_model, spec=WindowSpec(1.0, 0.5, 8))
    assert r.status == "indexed" and len(stores(tmp_path)) == 2


def test_cancelled_index_resumes_to_the_same_features(tiny_model, video_factory, tmp_path):
    path = video_factory("v.mp4", frames=150, fps=15)  # 10 s -> 9 windows
    token = CancelToken()

    def stop_after_first_batch(p):
        if p.done >= 4:
            token.cancel()

    [r] = engine.index_videos(tmp_path / "a", [path], model=tiny_model, batch_size=2,
                              on_progress=stop_after_first_batch, cancel=token)
    assert r.status == "cancelled"
    partial = list((tmp_path / "a" / "features").rglob("*.partial"))
    assert len(partial) == 1 and not stores(tmp_path / "a")
    seen = []
    [resumed] = engine.index_videos(tmp_path / "a", [path], model=tiny_model, batch_size=2,
                                    on_progress=lambda p: seen.append(p.done))
    assert resumed.status == "indexed" and seen[0] >= 4
    [full] = engine.index_videos(tmp_path / "b", [path], model=tiny_model, batch_size=2)
    np.testing.assert_array_equal(resumed.store.frame_cls, full.store.frame_cls)
    np.testing.assert_array_equal(resumed.store.img_features, full.store.img_features)


def start_index_child(tiny_model_dir, path, project):
    cmd = [sys.executable, "-m", "ethoscout.core.cli", "index", "--project", str(project),
           "--model", str(tiny_model_dir), "--batch-size", "1", "--runtime", "torch", str(path)]
    child = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and child.poll() is None:
        found = list(project.glob("features/*/*.partial/progress.json"))
        if found and '"done": 0' not in found[0].read_text():
            return cmd, child, found[0]
        time.sleep(0.05)
    raise AssertionError("indexing never started")


def test_ctrl_c_stops_cleanly_and_resumes(tiny_model_dir, video_factory, tmp_path):
    path = video_factory("long.mp4", frames=450, fps=15)
    project = tmp_path / "p"
    cmd, child, progress = start_index_child(tiny_model_dir, path, project)
    child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=60)
    assert child.returncode == 130 and "interrupted" in err
    assert not stores(project) and progress.exists()
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "indexed: long.mp4 (29 windows)" in out.stdout, out.stderr


def test_killed_indexing_resumes(tiny_model_dir, video_factory, tmp_path):
    path = video_factory("long.mp4", frames=450, fps=15)  # 30 s -> 29 windows
    project = tmp_path / "p"
    cmd, child, progress = start_index_child(tiny_model_dir, path, project)
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert not stores(project)
    done_before = json.loads(progress.read_text())["done"]
    assert done_before > 0
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "indexed: long.mp4 (29 windows)" in out.stdout
    assert len(stores(project)) == 1
