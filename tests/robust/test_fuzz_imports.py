"""Malformed import files, generated: every one ends in a report or one line naming the file
(a DataError), never a traceback; a refused import changes nothing; what an accepted one adds
obeys every rule an answer obeys (a wrong success would break one)."""
from __future__ import annotations

import json
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ethoscout.core.data.errors import DataError
from ethoscout.core.data.imports import import_file
from ethoscout.core.data.labels_table import LABEL_COLUMNS

from .conftest import snapshot

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                      HealthCheck.too_slow])
HEADER = ",".join(LABEL_COLUMNS)


def outcome(project, path, **kw):
    """Import and check the invariants; returns 'ok' or 'refused'."""
    before = snapshot(project.folder)
    n_before = len(project.labels())
    try:
        import_file(project, path, **kw)
    except DataError as e:
        assert "\n" not in str(e) and path.name in str(e), str(e)
        assert snapshot(project.folder) == before
        return "refused"
    videos = {v["id"]: v for v in project.videos()}
    for lab in project.labels():
        v = videos[lab["video_id"]]
        assert math.isfinite(lab["start_s"]) and math.isfinite(lab["end_s"])
        assert 0 <= lab["start_s"] < lab["end_s"] <= v["duration_s"] + 0.05, lab
        assert 0 <= lab["start_frame"] <= lab["end_frame"] < v["frame_count"], lab
    assert len(project.labels()) >= n_before
    return "ok"


def label_line(**cells) -> str:
    row = dict.fromkeys(LABEL_COLUMNS, "")
    row.update(video="a.mp4", behavior="groom", start_s="1", end_s="2", verdict="accept")
    row.update(cells)
    return ",".join(str(row[c]) for c in LABEL_COLUMNS)


BAD_TIMES = ["nan", "inf", "-inf", "-1", "1e308", "1e400", "", "NA", "1:2:3:4", "99999999999", "0x10",
             "1e-400", "--1", "1,5,5", "١٢", "\x00", "9" * 400]


def test_bad_times_in_a_labels_table(project, tmp_path):
    results = []
    for i, t in enumerate(BAD_TIMES):
        for column in ("start_s", "end_s"):
            path = tmp_path / f"t{i}{column}.csv"
            path.write_text(HEADER + "\n" + label_line(**{column: f'"{t}"'}) + "\n", encoding="utf-8")
            results.append(outcome(project, path))
    assert results.count("ok") <= 2  # only "1e-400" (0.0) as a start can be a time


DAMAGED_TABLES = {
    "empty": b"", "spaces": b"   \n  \n", "bom only": "\ufeff".encode(), "nul bytes": b"a,b\x00,c\n",
    "not utf-8": b"video,behavior\n\xff\xfe\xfa,x\n", "header only": HEADER.encode() + b"\n",
    "short row": (HEADER + "\na.mp4,groom\n").encode(), "long row": (HEADER + "\n" + label_line() + ",x,y\n").encode(),
    "unclosed quote": (HEADER + '\n"a.mp4,groom,1,2\n').encode(),
    "huge cell": (HEADER + "\n" + label_line(comment="x" * 200_000) + "\n").encode(),
    "unknown video": (HEADER + "\n" + label_line(video="ghost.mp4", video_path="/nowhere/ghost.mp4") + "\n").encode(),
    "bad verdict": (HEADER + "\n" + label_line(verdict="maybe") + "\n").encode(),
    "bad source": (HEADER + "\n" + label_line(source="telepathy") + "\n").encode(),
    "past the end": (HEADER + "\n" + label_line(start_s="9.5", end_s="99") + "\n").encode(),
    "reversed": (HEADER + "\n" + label_line(start_s="3", end_s="2") + "\n").encode(),
    "score nan": (HEADER + "\n" + label_line(score="nan") + "\n").encode(),
    "score text": (HEADER + "\n" + label_line(score="high") + "\n").encode(),
    "adapter text": (HEADER + "\n" + label_line(adapter_version="v1.5") + "\n").encode(),
    "adapter huge": (HEADER + "\n" + label_line(adapter_version="9" * 40) + "\n").encode(),
    "empty behaviour": (HEADER + "\n" + label_line(behavior="  ") + "\n").encode(),
    "modifiers junk": (HEADER + "\n" + label_line(modifiers="{not json") + "\n").encode(),
    "formula": (HEADER + "\n" + label_line(behavior="=HYPERLINK(1)") + "\n").encode(),
    "binary": bytes(range(256)) * 8,
    "lone cr": (HEADER + "\r" + label_line() + "\r").encode(),
}


def test_damaged_tables(project, tmp_path):
    for i, (case, data) in enumerate(DAMAGED_TABLES.items()):
        path = tmp_path / f"d{i}.csv"
        path.write_bytes(data)
        got = outcome(project, path)
        if case in ("empty", "spaces", "bom only", "nul bytes", "not utf-8", "binary", "unknown video",
                    "bad verdict", "past the end", "reversed", "score nan", "score text", "adapter text"):
            assert got == "refused", case


def nested(depth: int) -> str:
    return '{"behaviors_conf": {}, "observations": ' + "[" * depth + "]" * depth + "}"


BORIS_PROJECTS = {
    "nested 200000": nested(200_000), "nested list": "[" * 100_000 + "]" * 100_000,
    "a list": "[]", "no ethogram": "{}", "ethogram a list": '{"behaviors_conf": []}',
    "code missing": '{"behaviors_conf": {"0": {"type": "State event"}}}',
    "code a number": '{"behaviors_conf": {"0": {"code": 5}}}',
    "observations a list": '{"behaviors_conf": {"0": {"code": "g"}}, "observations": []}',
    "events a dict": '{"behaviors_conf": {"0": {"code": "g"}}, "observations": {"o": {"events": {}}}}',
    "event times junk": json.dumps({"behaviors_conf": {"0": {"code": "g", "type": "Point event"}},
                                    "observations": {"o": {"file": {"1": ["a.mp4"]},
                                                           "events": [[t, "", "g"] for t in
                                                                      ("x", None, [1], {"a": 1}, True, -1, 1e308)]}}}),
    "time nan": '{"behaviors_conf": {"0": {"code": "g", "type": "Point event"}}, "observations": '
                '{"o": {"file": {"1": ["a.mp4"]}, "events": [[NaN, "", "g"], [Infinity, "", "g"]]}}}',
    "offset junk": json.dumps({"behaviors_conf": {"0": {"code": "g"}},
                               "observations": {"o": {"time offset": "soon", "file": {"1": ["a.mp4"]},
                                                      "events": [[1, "", "g"], [2, "", "g"]]}}}),
    "media length junk": json.dumps({"behaviors_conf": {"0": {"code": "g"}},
                                     "observations": {"o": {"file": {"1": ["a.mp4", "b.mp4"]},
                                                            "media_info": {"length": {"a.mp4": "long"}},
                                                            "events": [[1, "", "g"], [200, "", "g"]]}}}),
    "file a string": json.dumps({"behaviors_conf": {"0": {"code": "g"}},
                                 "observations": {"o": {"file": "a.mp4", "events": [[1, "", "g"]]}}}),
    "unpaired state": json.dumps({"behaviors_conf": {"0": {"code": "g"}},
                                  "observations": {"o": {"file": {"1": ["a.mp4"]}, "events": [[1, "", "g"]]}}}),
    "subjects junk": '{"behaviors_conf": {"0": {"code": "g"}}, "subjects_conf": {"0": 7}}',
    "modifiers junk": json.dumps({"behaviors_conf": {"0": {"code": "g", "modifiers": {"0": {"values": 5}}}}}),
}


def test_malformed_boris_projects(project, tmp_path):
    for i, (case, text) in enumerate(BORIS_PROJECTS.items()):
        path = tmp_path / f"b{i}.boris"
        path.write_text(text)
        got = outcome(project, path)
        if case in ("nested 200000", "nested list", "a list", "no ethogram", "ethogram a list"):
            assert got == "refused", case


SUBTITLES = ["", "WEBVTT\n", "1\n00:00:01,000 --> 00:00:02,000\n",  # no text
             "1\n1e308 --> 1e309\nhello\n", "1\n00:00:01,000 --> 00:00:00,500\nback\n",
             "1\nnan --> inf\nx\n", "1\n-1 --> 2\nx\n", "1\n99:99:99,999 --> 99:99:99,999\nx\n",
             "-->\n-->\n", "1\n00:00:01,000 --> \nx\n", "1\n00:00:01.000 --> 00:00:02.000\n<b></b>\n",
             "1\n00:00:01,000 --> 00:00:59,000\n" + "word " * 50_000 + "\n"]
NARRATION_TABLES = ["time,text\n1e308,hello\n", "time,text\nnan,x\n", "time,text\ninf,x\n", "time,text\n-0,x\n",
                    "start,end,text\n1,1e308,x\n", "start,end,text\n5,4,x\n", "time,text\n1,\n",
                    "time,text\n,hello\n", "time,text\n1\n", "time,text\n" + "1,x\n" * 3 + "1e308,y\n",
                    "time,text\n9" + "9" * 400 + ",x\n"]


def test_malformed_narration(project, tmp_path):
    n = 0
    for text in SUBTITLES:
        path = tmp_path / f"n{n}.srt"
        path.write_text(text)
        got = outcome(project, path, video="a.mp4")
        n += 1
    for text in NARRATION_TABLES:
        path = tmp_path / f"n{n}.csv"
        path.write_text(text)
        got = outcome(project, path, video="a.mp4")
        assert got == "refused", text[:60]
        n += 1
    assert got


@FUZZ
@given(st.lists(st.lists(st.text(max_size=12), min_size=0, max_size=20), min_size=0, max_size=6))
def test_random_label_tables(project, tmp_path_factory, rows):
    path = tmp_path_factory.mktemp("r") / "r.csv"
    path.write_text("\n".join([HEADER] + [",".join(c.replace("\n", " ") for c in r) for r in rows]))
    outcome(project, path)


@FUZZ
@given(start=st.one_of(st.floats(), st.text(max_size=8)), end=st.one_of(st.floats(), st.text(max_size=8)),
       verdict=st.sampled_from(["accept", "reject", "manual", "predicted", "", "x"]))
def test_random_label_values(project, tmp_path_factory, start, end, verdict):
    path = tmp_path_factory.mktemp("v") / "v.csv"
    line = label_line(start_s=json.dumps(str(start)), end_s=json.dumps(str(end)), verdict=verdict)
    path.write_text(HEADER + "\n" + line + "\n")
    outcome(project, path)


@FUZZ
@given(st.recursive(st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=6),
                    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children,
                                                                                      max_size=4), max_leaves=30))
def test_random_boris_json(project, tmp_path_factory, value):
    path = tmp_path_factory.mktemp("j") / "j.boris"
    doc = {"behaviors_conf": {"0": {"code": "g", "type": "State event"}},
           "observations": {"o": {"file": {"1": ["a.mp4"]}, "events": value}}}
    path.write_text(json.dumps(doc))
    outcome(project, path)
    path.write_text(json.dumps(value))
    outcome(project, path)


@FUZZ
@given(st.text(max_size=300))
def test_random_subtitles(project, tmp_path_factory, text):
    path = tmp_path_factory.mktemp("s") / "s.vtt"
    path.write_text("WEBVTT\n\n" + text)
    outcome(project, path, video="a.mp4")
