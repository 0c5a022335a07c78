"""Fixtures for the speed tests: an ONNX export cache of their own, a longer synthetic clip."""
from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def onnx_cache(tmp_path_factory, monkeypatch):
    """Exports go to one folder per test session (reused across tests, like a user's cache)."""
    folder = tmp_path_factory.getbasetemp() / "onnx-cache"
    monkeypatch.setenv("ETHOSCOUT_CACHE", str(folder))
    return folder


@pytest.fixture
def long_clip(video_factory):
    """10 s at 15 fps: nine 2-s windows, enough to stop part-way."""
    return video_factory("long.mp4", frames=150, fps=15.0)
