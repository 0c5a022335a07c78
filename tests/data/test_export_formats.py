"""Exports: exact BORIS 9.x layouts, binary table, window scores, safety of cells and files."""
from __future__ import annotations

import csv
import io
import os

import numpy as np
import pytest

from ethoscout.core.data import export
from ethoscout.core.data.fileio import atomic_write_text, safe_cell
from ethoscout.core.errors import EthoscoutError


def read(path, delimiter=None):
    text = path.read_text(encoding="utf-8")
    delimiter = delimiter or ("\t" if path.suffix == ".tsv" else ",")
    return list(csv.reader(io.StringIO(text), delimiter=delimiter))


@pytest.fixture
def labelled(project):
    project.add_behavior("sniff", kind="point", prompts=["a mouse sniffing"])
    project.add_label("a.mp4", "face groom", 12.4, 15.0, "accept", subject="m1", comment="=HYPERLINK(evil)")
    project.add_label("a.mp4", "face groom", 1.0, 2.5, "manual", subject="m1")
    project.add_label("a.mp4", "rear", 3.0, 4.0, "reject")  # a negative: not a BORIS event
    project.add_label("a.mp4", "sniff", 5.0, 5.04, "accept")
    project.add_label("b.mp4", "rear", 0.5, 1.25, "accept", comment="-5 looks odd")
    return project


def test_aggregated_layout(labelled, tmp_path):
    rows = read(export.export_boris_aggregated(labelled, tmp_path / "agg.tsv"))
    header, body = rows[0], rows[1:]
    assert header == list(export.AGGREGATED_COLUMNS)
    assert header[:9] == ["Observation id", "Observation date", "Description", "Observation type",
                          "Source", "Time offset (s)", "Coding duration", "Media duration (s)", "FPS (frame/s)"]
    assert len(body) == 4  # the rejection is left out
    col = {name: i for i, name in enumerate(header)}
    groom = [r for r in body if r[col["Behavior"]] == "face groom"]
    assert [(r[col["Start (s)"]], r[col["Stop (s)"]], r[col["Duration (s)"]]) for r in groom] == \
        [("1.000", "2.500", "1.500"), ("12.400", "15.000", "2.600")]
    assert groom[0][col["Subject"]] == "m1" and groom[0][col["Behavior type"]] == "STATE"
    assert groom[0][col["Observation duration by subject by observation"]] == "4.100"
    assert groom[1][col["Comment start"]] == "'=HYPERLINK(evil)"
    sniff = next(r for r in body if r[col["Behavior"]] == "sniff")
    assert (sniff[col["Behavior type"]], sniff[col["Start (s)"]], sniff[col["Stop (s)"]],
            sniff[col["Duration (s)"]]) == ("POINT", "5.000", "5.000", "NA")
    assert sniff[col["Image index start"]] == "125"
    rear = next(r for r in body if r[col["Behavior"]] == "rear")
    assert rear[col["Subject"]] == "No focal subject" and rear[col["Media file name"]] == "b.mp4"
    assert rear[col["Comment start"]] == "'-5 looks odd"
    assert rear[col["Media duration (s)"]] == "10.000" and rear[col["FPS (frame/s)"]] == "25.000"


def test_tabular_layout_tsv_and_csv(labelled, tmp_path):
    tsv = read(export.export_boris_tabular(labelled, tmp_path / "tab.tsv"))
    csv_rows = read(export.export_boris_tabular(labelled, tmp_path / "tab.csv"))
    assert tsv == csv_rows
    header, body = tsv[0], tsv[1:]
    assert header == list(export.TABULAR_COLUMNS)
    col = {name: i for i, name in enumerate(header)}
    a = [(r[col["Behavior"]], r[col["Behavior type"]], r[col["Time"]]) for r in body
         if r[col["Media file name"]] == "a.mp4"]
    assert a == [("face groom", "START", "1.000"), ("face groom", "STOP", "2.500"),
                 ("sniff", "POINT", "5.000"), ("face groom", "START", "12.400"),
                 ("face groom", "STOP", "15.000")]
    assert "\t" in (tmp_path / "tab.tsv").read_text() and "\t" not in (tmp_path / "tab.csv").read_text()


def test_labels_table_keeps_everything(labelled, tmp_path):
    rows = read(export.export_labels(labelled, tmp_path / "labels.csv"))
    assert rows[0][:6] == ["id", "video", "video_path", "behavior", "subject", "start_s"]
    assert len(rows) == 6 and {r[rows[0].index("verdict")] for r in rows[1:]} == {"accept", "manual", "reject"}


def test_binary_table(labelled, tmp_path):
    files = export.export_binary(labelled, tmp_path / "bin")
    assert sorted(f.name for f in files) == ["a.csv", "b.csv"]
    rows = read(tmp_path / "bin" / "a.csv")
    assert rows[0] == ["frame", "time", "face groom", "rear", "sniff"]
    assert len(rows) == 501  # one row per frame of the 20 s, 25 fps video
    groom = [int(r[2]) for r in rows[1:]]
    assert groom[25:63] == [1] * 38 and groom[24] == 0 and groom[63] == 0  # 1.0–2.5 s
    assert sum(int(r[3]) for r in rows[1:]) == 0  # the rejection is not an event
    assert [int(r[4]) for r in rows[1:]].index(1) == 125 and sum(int(r[4]) for r in rows[1:]) == 1
    assert rows[26][1] == "1.000"
    single = export.export_binary(labelled, tmp_path / "b.tsv", video="b.mp4")
    assert len(read(single[0])) == 251
    with pytest.raises(EthoscoutError, match="need a folder"):
        export.export_binary(labelled, tmp_path / "all.csv")


def test_window_scores(tmp_path):
    scores = np.array([[0.1, 0.9], [0.25, -0.5], [1e-7, 3.0]])
    path = export.write_window_scores(tmp_path / "s.csv", "a.mp4", [0, 1, 2], [2, 3, 4], scores,
                                      ["face groom", "=rear"])
    rows = read(path)
    assert rows[0] == ["video", "window", "start_s", "end_s", "face groom", "'=rear"]
    assert rows[1] == ["a.mp4", "0", "0.000", "2.000", "0.1", "0.9"]
    assert rows[2][5] == "-0.5"  # a number, not escaped
    with pytest.raises(EthoscoutError, match="does not match"):
        export.write_window_scores(tmp_path / "t.csv", "a.mp4", [0, 1], [1, 2], scores, ["x", "y"])
    assert not (tmp_path / "t.csv").exists()


def test_cells_and_atomic_writes(tmp_path, monkeypatch):
    assert [safe_cell(x) for x in ["=1+1", "+x", "-x", "@x", "ok", -1.5, 3, None]] == \
        ["'=1+1", "'+x", "'-x", "'@x", "ok", "-1.5", "3", ""]
    assert safe_cell("-2.5") == "-2.5" and safe_cell("-2.5e3x") == "'-2.5e3x"
    target = tmp_path / "out.csv"
    target.write_text("old")

    class Boom(Exception):
        pass

    with pytest.raises(EthoscoutError):
        atomic_write_text(tmp_path / "missing" / "x.csv", "x")

    def failing_replace(a, b):  # the rename is the last step: fail right there
        raise Boom()

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(Boom):
        atomic_write_text(target, "new")
    monkeypatch.undo()
    assert target.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]


def test_unknown_format(labelled, tmp_path):
    with pytest.raises(EthoscoutError, match="unknown export format"):
        export.export(labelled, "xlsx", tmp_path / "x.xlsx")
