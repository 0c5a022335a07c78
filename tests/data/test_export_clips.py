"""Clip export: real encoded clips with a manifest, progress and cancellation."""
from __future__ import annotations

import csv

import pytest

from ethoscout.core.data.clips import MANIFEST_COLUMNS, export_clips, pick_encoder
from ethoscout.core.errors import EthoscoutError
from ethoscout.core.video.probe import probe_video


@pytest.fixture
def labelled(project):
    project.add_label("a.mp4", "face groom", 2.0, 3.0, "accept")
    project.add_label("a.mp4", "rear", 5.0, 5.6, "reject")
    project.add_label("b.mp4", "rear", 1.0, 2.0, "manual", text="a mouse up on its hind legs")
    return project


def test_clips_and_manifest(labelled, tmp_path):
    seen = []
    result = export_clips(labelled, tmp_path / "clips", progress=lambda d, t: seen.append((d, t)))
    assert result.encoder == pick_encoder() and not result.cancelled
    assert seen == [(1, 3), (2, 3), (3, 3)]
    rows = list(csv.DictReader(open(result.manifest)))
    assert tuple(rows[0]) == MANIFEST_COLUMNS
    assert [(r["behavior"], r["verdict"], r["start_s"], r["end_s"]) for r in rows] == [
        ("face groom", "accept", "2.000", "3.000"), ("rear", "reject", "5.000", "5.600"),
        ("rear", "manual", "1.000", "2.000")]
    assert rows[0]["prompt"] == "a mouse grooming its face with its paws"
    assert rows[2]["prompt"] == "a mouse up on its hind legs"
    frames = [probe_video(tmp_path / "clips" / r["clip_file"]).frame_count for r in rows]
    assert frames == [25, 15, 25]
    assert not [p for p in (tmp_path / "clips").iterdir() if p.name.startswith(".")]


def test_cancel_keeps_finished_clips(labelled, tmp_path):
    calls = []
    result = export_clips(labelled, tmp_path / "clips", cancel=lambda: len(calls) >= 1,
                          progress=lambda d, t: calls.append(d))
    assert result.cancelled and len(result.clips) == 1
    rows = list(csv.DictReader(open(result.manifest)))
    assert len(rows) == 1 and (tmp_path / "clips" / rows[0]["clip_file"]).is_file()


def test_missing_source_video_is_a_clear_error(project, tmp_path, videos):
    import shutil
    moved = tmp_path / "c.mp4"
    shutil.copy(videos["b.mp4"], moved)
    project.add_video(moved)
    project.add_label("c.mp4", "rear", 1, 2, "accept")
    moved.unlink()
    with pytest.raises(EthoscoutError, match="c.mp4: video file not found"):
        export_clips(project, tmp_path / "clips", video="c.mp4")
