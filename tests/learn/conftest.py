"""A synthetic project indexed once per session (three visibly different "behaviours"), copied
fresh for each test that changes it."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import write_video

PATTERNS = {
    "moving": ["a bright square moving across the frame"],
    "still": ["a bright square standing still"],
    "flash": ["the whole frame flashing colours"],
}
VIDEOS_PER_PATTERN = 3
FRAMES = 90  # 6 s at 15 fps: windows of 2 s every 1 s -> 5 windows per video, 2 s more per copy


@pytest.fixture(scope="session")
def synthetic_template(tmp_path_factory, tiny_model, tiny_model_dir) -> Path:
    """An indexed project with behaviours defined and no labels."""
    from ethoscout.core.data.project import Project
    from ethoscout.core.engine import index_videos

    root = tmp_path_factory.mktemp("learn-synthetic")
    videos = []
    for pattern in PATTERNS:
        for i in range(VIDEOS_PER_PATTERN):
            # different lengths make different files (same content would share one cache entry)
            videos.append(write_video(root / f"{pattern}_{i}.mp4", frames=FRAMES + 30 * i, pattern=pattern))
    folder = root / "proj"
    project = Project.create(folder)
    project.set_setting("model", str(tiny_model_dir))
    for v in videos:
        project.add_video(v)
    for name, prompts in PATTERNS.items():
        project.add_behavior(name, prompts)
    results = index_videos(folder, videos, model=tiny_model)
    assert all(r.status == "indexed" for r in results), [r.message for r in results]
    project.close()
    return folder


@pytest.fixture
def synthetic_project(synthetic_template, tmp_path):
    """A private copy of the indexed synthetic project (the videos stay where they are)."""
    from ethoscout.core.data.project import Project

    folder = tmp_path / "proj"
    shutil.copytree(synthetic_template, folder)
    project = Project.open(folder)
    yield project
    project.close()


def label_halves(project, verdict: str = "accept") -> None:
    """Bouts of 3 s over each video, each its pattern's behaviour."""
    for v in project.videos():
        pattern = v["name"].split("_")[0]
        start = 0.0
        while start + 2.0 < v["duration_s"]:
            project.add_label(v["id"], pattern, start, min(start + 3.0, v["duration_s"]), verdict)
            start += 3.0
