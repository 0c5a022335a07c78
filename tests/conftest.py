"""Shared fixtures: a tiny random X-CLIP folder and small synthetic videos."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]
# Real videos, BORIS files and the CLIP tokenizer live outside the repository: ../shared by
# default, anywhere else with ETHOSCOUT_SHARED=/path/to/shared.
SHARED = Path(os.environ.get("ETHOSCOUT_SHARED") or REPO.parent / "shared").expanduser()
SHARED_VIDEOS = SHARED / "data" / "videos"
TOKENIZER_DIR = SHARED / "models" / "clip-vit-base-patch32-tokenizer"


def shared_video(name: str) -> Path:
    p = SHARED_VIDEOS / name
    if not p.exists():
        pytest.skip(f"real video {name} not available ({SHARED_VIDEOS} absent; set ETHOSCOUT_SHARED)")
    return p


def write_video(path: Path, frames: int = 60, size=(64, 48), fps: float = 15.0, fourcc: str = "mp4v",
                pattern: str = "moving") -> Path:
    """A synthetic video whose content is predictable: a bright square that moves, stays still,
    or a full frame that flashes colours."""
    import cv2

    w, h = size
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (w, h))
    assert out.isOpened(), f"OpenCV can't write {fourcc} to {path}"
    rng = np.random.default_rng(0)
    for i in range(frames):
        img = np.full((h, w, 3), 30, np.uint8)
        if pattern == "moving":
            x = int((i * 3) % max(1, w - 12))
            img[h // 3:h // 3 + 12, x:x + 12] = 230
        elif pattern == "still":
            img[h // 3:h // 3 + 12, w // 3:w // 3 + 12] = 230
        elif pattern == "flash":
            img[:] = rng.integers(0, 255, 3, dtype=np.uint8)
        img[-2:, :] = (i * 4) % 256  # a changing strip makes every frame distinct
        out.write(img)
    out.release()
    return path


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    from ethoscout.core.model.random_init import build_random_xclip

    folder = tmp_path_factory.mktemp("tiny-xclip")
    tok = TOKENIZER_DIR if TOKENIZER_DIR.exists() else None
    return build_random_xclip(folder, "tiny", tokenizer_dir=tok, num_frames=8)


@pytest.fixture(scope="session")
def tiny_model(tiny_model_dir):
    from ethoscout.core.model.loading import load_xclip

    return load_xclip(tiny_model_dir, device="cpu")


@pytest.fixture
def q():
    """A job queue (one worker thread), shut down and checked after the test."""
    from ethoscout.core.jobs import JobQueue

    queue = JobQueue("test-jobs")
    yield queue
    assert queue.shutdown(5)


@pytest.fixture
def video_factory(tmp_path):
    def make(name="clip.mp4", **kw):
        fourcc = kw.pop("fourcc", "MJPG" if name.endswith(".avi") else "mp4v")
        return write_video(tmp_path / name, fourcc=fourcc, **kw)
    return make


@pytest.fixture
def online(monkeypatch, tmp_path):
    """huggingface_hub online (the test suite runs offline), with a fresh cache."""
    from huggingface_hub import constants

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    return tmp_path / "hub"
