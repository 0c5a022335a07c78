"""Narration and field notes (SRT, WebVTT, CSV) as weak video-text pairs."""
from __future__ import annotations

import pytest

from ethoscout.core.data.imports import import_file
from ethoscout.core.errors import EthoscoutError

SRT = """1
00:00:01,000 --> 00:00:03,500
The mouse turns and
<i>grooms its face</i>

2
00:00:05,000 --> 00:00:06,000
It rears against the wall
"""

VTT = """WEBVTT

intro
00:01.000 --> 00:03.500 align:start
The mouse turns and grooms its face

00:00:05.000 --> 00:00:06.000
It rears against the wall
"""


@pytest.mark.parametrize("name,text", [("notes.srt", SRT), ("notes.vtt", VTT)])
def test_subtitles(project, tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    report = import_file(project, path, video="a.mp4")
    assert report.added == 2
    labs = project.labels(behavior="narration")
    assert [(x["start_s"], x["end_s"], x["text"], x["source"], x["verdict"]) for x in labs] == [
        (1.0, 3.5, "The mouse turns and grooms its face", "narration", "accept"),
        (5.0, 6.0, "It rears against the wall", "narration", "accept")]
    assert labs[0]["comment"] == labs[0]["text"]
    assert project.undo().startswith(f"import {name}")
    assert project.labels() == []


def test_csv_time_text_and_start_end_text(project, tmp_path):
    (tmp_path / "a.csv").write_text("time,text\n2.0,sniffs the corner\n19.5,walks off\n")
    report = import_file(project, tmp_path / "a.csv", video="a.mp4")
    assert report.added == 2
    labs = project.labels()
    assert (labs[0]["start_s"], labs[0]["end_s"]) == (2.0, 4.0)
    assert labs[1]["end_s"] == pytest.approx(20.0)  # cut at the video's end
    (tmp_path / "b.tsv").write_text("start\tend\ttext\n0:01.5\t0:02.5\tfreezes\n")
    import_file(project, tmp_path / "b.tsv", video="b.mp4")
    assert project.labels(video="b.mp4")[0]["text"] == "freezes"


def test_narration_needs_a_video_and_valid_cues(project, tmp_path):
    (tmp_path / "n.srt").write_text(SRT)
    with pytest.raises(EthoscoutError, match="needs a target video"):
        import_file(project, tmp_path / "n.srt")
    (tmp_path / "bad.srt").write_text(SRT.replace("00:00:06,000", "00:00:04,000"))
    with pytest.raises(EthoscoutError, match="line 7: end 00:00:04.000 is not after start"):
        import_file(project, tmp_path / "bad.srt", video="a.mp4")
    (tmp_path / "late.srt").write_text(SRT.replace("00:00:05,000 --> 00:00:06,000", "00:00:25,000 --> 00:00:26,000"))
    with pytest.raises(EthoscoutError, match="past the end"):
        import_file(project, tmp_path / "late.srt", video="a.mp4")
    (tmp_path / "none.srt").write_text("just some words\nno cues\n")
    with pytest.raises(EthoscoutError, match="no subtitle cues"):
        import_file(project, tmp_path / "none.srt", video="a.mp4")
    assert project.labels() == []
