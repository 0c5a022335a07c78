"""Malformed input to every importer: a clear one-line error naming the file, nothing imported."""
from __future__ import annotations

import json
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ethoscout.core.data.errors import DataError
from ethoscout.core.data.imports import import_file
from ethoscout.core.errors import EthoscoutError

BORIS_PROJECT = {
    "project_format_version": "7.0",
    "behaviors_conf": {"0": {"type": "State event", "key": "r", "code": "rear", "description": "rearing"},
                       "1": {"type": "Point event", "key": "s", "code": "sniff", "description": ""}},
    "subjects_conf": {"0": {"key": "1", "name": "m1", "description": ""}},
    "observations": {"obs": {"type": "MEDIA", "file": {"1": ["a.mp4"], "2": []}, "time offset": 0.0,
                             "media_info": {"length": {"a.mp4": 20.0}},
                             "events": [[1.0, "m1", "rear", "", ""], [2.0, "m1", "sniff", "", ""],
                                        [3.0, "m1", "rear", "", ""]]}},
}
TABULAR = ("Observation id\tObservation date\tDescription\tObservation duration\tObservation type\tSource\t"
           "Time offset (s)\tMedia duration (s)\tFPS\tSubject\tBehavior\tBehavioral category\tBehavior type\t"
           "Time\tMedia file name\tImage index\tImage file path\tComment\n")
ROW = "o\t\t\t\tMedia file(s)\tplayer #1:a.mp4\t0.000\t20.000\t25.000\tm1\trear\t\t{status}\t{t}\t{media}\t0\tNA\t\n"


def tabular(*events, media="a.mp4"):
    return TABULAR + "".join(ROW.format(status=s, t=t, media=media) for s, t in events)


def assert_nothing_imported(project, ops_before):
    assert project.labels() == []
    assert len(project.history()) == ops_before


def check_error(project, path, match, **kw):
    ops = len(project.history())
    with pytest.raises(EthoscoutError, match=match) as e:
        import_file(project, path, **kw)
    message = str(e.value)
    assert "\n" not in message and path.name in message
    assert_nothing_imported(project, ops)


def test_valid_boris_project_imports(project, tmp_path):
    (tmp_path / "ok.boris").write_text(json.dumps(BORIS_PROJECT))
    report = import_file(project, tmp_path / "ok.boris")
    assert report.added == 2 and project.labels(behavior="rear")[0]["end_s"] == 3.0


@pytest.mark.parametrize("mutate,match", [
    (lambda t: t[: len(t) // 2], "not a valid BORIS project"),
    (lambda t: "[1, 2, 3]", "not a BORIS project"),
    (lambda t: t.replace('"behaviors_conf"', '"nothing"'), "not a BORIS project"),
    (lambda t: t.replace('[3.0, "m1", "rear", "", ""]', '[30.0, "m1", "rear", "", ""]'), "past the end"),
    (lambda t: t.replace('[3.0, "m1", "rear", "", ""]', '[-3.0, "m1", "sniff", "", ""]'),
     "negative.*starts but never stops|starts but never stops.*negative"),
    (lambda t: t.replace('"a.mp4"', '"zebra.mp4"'), "unknown video 'zebra.mp4'"),
    (lambda t: t.replace('"rear", "", ""]', '"fly", "", ""]'), "not in the ethogram"),
    (lambda t: t.replace('[2.0, "m1", "sniff", "", ""]', '"oops"'), "event is not"),
    (lambda t: t.replace('"behaviors_conf": {', '"behaviors_conf": {"9": 5, '), "malformed ethogram"),
])
def test_boris_project_malformed(project, tmp_path, mutate, match):
    path = tmp_path / "bad.boris"
    path.write_text(mutate(json.dumps(BORIS_PROJECT)))
    check_error(project, path, match)


@pytest.mark.parametrize("text,match", [
    (tabular(("START", "1.0")), "START of 'rear' without a STOP"),
    (tabular(("STOP", "1.0")), "STOP of 'rear' without a START"),
    (tabular(("START", "2.0"), ("START", "3.0"), ("STOP", "4.0")), "still open"),
    (tabular(("START", "3.0"), ("STOP", "2.0")), "before its START"),
    (tabular(("START", "-1.0"), ("STOP", "2.0")), "negative"),
    (tabular(("START", "abc"), ("STOP", "2.0")), "not a time"),
    (tabular(("START", "1.0"), ("STOP", "25.0")), "past the end"),
    (tabular(("START", "1.0"), ("STOP", "2.0"), media="nope.mp4"), "unknown video 'nope.mp4'"),
    (tabular(("BEGIN", "1.0")), "not START, STOP or POINT"),
    (TABULAR.replace("Behavior\t", "Behaviour\t") + ROW.format(status="POINT", t=1, media="a.mp4"),
     "format not recognised"),
    ("Time,Subject\n1,2\n", "format not recognised"),
    (tabular(("POINT", "1.0")) + "o\tshort row\n", "has 2 cells"),
])
def test_boris_tables_malformed(project, tmp_path, text, match):
    path = tmp_path / "events.tsv"
    path.write_text(text)
    check_error(project, path, match)


def test_aggregated_reversed_and_labels_table_malformed(project, tmp_path):
    agg = ("Subject\tBehavior\tBehavior type\tStart (s)\tStop (s)\tMedia file name\n"
           "m1\trear\tSTATE\t5.000\t4.000\ta.mp4\n")
    (tmp_path / "agg.tsv").write_text(agg)
    check_error(project, tmp_path / "agg.tsv", "stop 4.000 s is before start 5.000 s")
    (tmp_path / "labels.csv").write_text("video,behavior,start_s,end_s,verdict\na.mp4,rear,1,2,maybe\n")
    check_error(project, tmp_path / "labels.csv", "line 2: verdict 'maybe'")


@pytest.mark.parametrize("content,match", [
    (b"", "is empty"),
    (b"\x00\x01\x02\x89PNG\r\n" * 50, "binary file"),
    (b"\xff\xfe\xfa caf\xe9" * 20, "not UTF-8"),
])
def test_junk_files(project, tmp_path, content, match):
    for name in ("x.boris", "x.csv", "x.srt"):
        (tmp_path / name).write_bytes(content)
        check_error(project, tmp_path / name, match, video="a.mp4")


def test_missing_and_huge_files(project, tmp_path):
    check_error(project, tmp_path / "missing.csv", "file not found")
    big = tmp_path / "big.csv"
    with open(big, "w") as f:  # 1.5 MB of well-formed but wrong rows
        f.write("video,behavior,start_s,end_s,verdict\n")
        f.write("nope.mp4,rear,1,2,accept\n" * 60_000)
    check_error(project, big, "too large", max_bytes=1_000_000)
    check_error(project, big, "60000 of 60000 rows rejected")
    assert os.path.getsize(big) > 1_000_000


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.one_of(st.binary(max_size=400), st.text(max_size=400)),
       suffix=st.sampled_from([".boris", ".csv", ".tsv", ".srt", ".vtt", ".txt"]))
def test_fuzzed_files_fail_cleanly_or_import(project, tmp_path, data, suffix):
    path = tmp_path / f"fuzz{suffix}"
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8", "replace"))
    before = len(project.history())
    try:
        import_file(project, path, video="a.mp4")
    except DataError as e:
        assert "\n" not in str(e) and str(path) in str(e)
        assert len(project.history()) == before
    else:
        project.undo()
    assert project.labels() == []


JSON_VALUES = st.recursive(st.none() | st.booleans() | st.floats(allow_nan=True) | st.integers() | st.text(max_size=8),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
                           max_leaves=20)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=st.lists(JSON_VALUES, max_size=6), obs=JSON_VALUES)
def test_fuzzed_boris_structures(project, tmp_path, events, obs):
    pj = json.loads(json.dumps(BORIS_PROJECT))
    pj["observations"]["obs"]["events"] = events
    pj["observations"]["other"] = obs
    path = tmp_path / "fuzz.boris"
    path.write_text(json.dumps(pj))
    try:
        import_file(project, path, partial=True)
    except DataError as e:
        assert "\n" not in str(e)
    while project.can_undo() and project.history()[-1]["description"].startswith("import"):
        if not project.undo():
            break
    for sql in ("DELETE FROM labels", "DELETE FROM subjects", "DELETE FROM ops WHERE description LIKE 'import%'",
                "DELETE FROM behaviors WHERE name NOT IN ('rear', 'face groom')"):
        project._conn().execute(sql)
