"""Fixtures for the project-database tests: real SQLite files and small real videos."""
from __future__ import annotations

from pathlib import Path

import pytest

from ethoscout.core.data.project import Project

from .db_helpers import write_video


@pytest.fixture(scope="session")
def videos(tmp_path_factory) -> dict[str, Path]:
    """Videos shared by the session (read-only): 'a.mp4' 20 s and 'b.mp4' 10 s at 25 fps."""
    folder = tmp_path_factory.mktemp("videos")
    return {"a.mp4": write_video(folder / "a.mp4", 500),
            "b.mp4": write_video(folder / "b.mp4", 250)}


@pytest.fixture
def project(tmp_path, videos) -> Project:
    p = Project.create(tmp_path / "proj")
    for v in videos.values():
        p.add_video(v)
    p.add_behavior("face groom", prompts=["a mouse grooming its face with its paws"], key="f")
    p.add_behavior("rear", prompts=["a mouse rearing against the wall"], key="r")
    yield p
    p.close()
