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


def test_clip_from_the_middle_of_an_x264_444_file_is_the_right_picture(project, tmp_path):
    """x264 4:4:4 (the cockatoo clip): seeking straight to a later keyframe decodes garbage
    unless the decoder has seen the file's first frame; the exported frames must be those of a
    full sequential decode (re-encoding loses a grey level or so, garbage ~90)."""
    import av
    import numpy as np

    from tests.conftest import shared_video

    source = shared_video("cockatoo_closeup_imageio_14s.mp4")
    project.add_video(source)
    project.add_label(source.name, "rear", 7.0, 8.0, "accept")
    result = export_clips(project, tmp_path / "clips", video=source.name, max_side=None)
    with av.open(str(result.clips[0])) as c:
        got = [f.to_ndarray(format="rgb24") for f in c.decode(c.streams.video[0])]
    with av.open(str(source)) as c:
        s = c.streams.video[0]
        ref = [f.reformat(format="yuv420p").to_ndarray(format="rgb24") for f in c.decode(s)
               if 7.0 - 1e-6 <= float((f.pts - (s.start_time or 0)) * s.time_base) < 8.0 - 1e-6]
    assert len(got) == len(ref) == 20
    diffs = [np.abs(g.astype(np.int16) - r).mean() for g, r in zip(got, ref)]
    assert max(diffs) < 4, diffs
