"""Fixtures for the robustness suite: a real project on disk, the CLI run in this process, and
a snapshot of everything a command could change."""
from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

import pytest

from ethoscout.core.data.project import Project

from ..data.db_helpers import write_video


@pytest.fixture(scope="session")
def robust_videos(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("robust-videos")
    return {"a.mp4": write_video(folder / "a.mp4", 250), "b.mp4": write_video(folder / "b.mp4", 125)}


@pytest.fixture
def project(tmp_path, robust_videos) -> Project:
    p = Project.create(tmp_path / "proj")
    for v in robust_videos.values():
        p.add_video(v)
    p.add_behavior("groom", key="g")
    p.add_behavior("rear", key="r")
    p.add_subject("m1")
    p.add_label("a.mp4", "groom", 1.0, 2.0, "accept", subject="m1")
    p.set_setting("window_spec", {"span_s": 2.0, "stride_s": 1.0, "frames": 8, "scheme": "sparse"})
    yield p
    p.close()


def cli(capsys, *args) -> subprocess.CompletedProcess:
    """The CLI's entry point in this process; output captured."""
    from ethoscout.core.cli import main

    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return subprocess.CompletedProcess(args, code, out.out, out.err)


def snapshot(folder: Path) -> tuple:
    """Every row of the database and every file name (SQLite's -wal/-shm and the writers'
    markers aside)."""
    conn = sqlite3.connect(f"file:{folder / 'project.sqlite'}?mode=ro", uri=True)
    try:
        # sqlite_sequence is SQLite's own id counter: a refused import may advance it
        dump = tuple(line for line in conn.iterdump() if "sqlite_sequence" not in line)
    finally:
        conn.close()
    files = tuple(sorted(str(p.relative_to(folder)) for p in folder.rglob("*")
                         if not p.name.endswith(("-wal", "-shm")) and ".writers" not in p.parts))
    return dump, files


def one_error_line(result) -> str:
    """The run failed with exactly one error line (progress lines aside) and no traceback;
    returns that line."""
    assert result.returncode != 0, (result.args, result.stdout)
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if "error" in line.lower()]
    assert len(lines) == 1 and lines[0].startswith("ethoscout: error: "), result.stderr
    return lines[0]
