"""Analyses on a real project: the coding read from SQLite, the CLI, plots, BORIS's own numbers,
and the model's coding written, corrected and compared with a person's."""
from __future__ import annotations

import csv
import os
import statistics
from collections import defaultdict

import numpy as np
import pytest

from tests.data.db_helpers import BORIS_DIR, needs_boris_files, write_video
from ethoscout.core.analysis.agreement import bout_table, kappa_table
from ethoscout.core.analysis.ethogram import plot_ethogram
from ethoscout.core.analysis.events import load_coding
from ethoscout.core.analysis.predict import VideoWindows, write_prediction_coding
from ethoscout.core.analysis.time_budget import time_budget
from ethoscout.core.cli import main
from ethoscout.core.data.imports import apply, parse_file
from ethoscout.core.data.project import Project
from ethoscout.core.errors import EthoscoutError


def read(path, delimiter=","):
    return list(csv.DictReader(open(path), delimiter=delimiter))


@pytest.fixture
def coded(project):
    p = project
    p.add_behavior("sniff", kind="point")
    p.add_label("a.mp4", "face groom", 1, 3, "accept", subject="m1")
    p.add_label("a.mp4", "rear", 4, 5, "manual", subject="m1")
    p.add_label("a.mp4", "face groom", 6, 10, "accept", subject="m2")
    p.add_label("a.mp4", "sniff", 11, 11.04, "accept", subject="m1")
    p.add_label("a.mp4", "rear", 12, 14, "reject", subject="m1")  # not an event
    return p


def test_coding_from_the_database(coded):
    c = load_coding(coded)
    assert [(e.subject, e.behavior, e.start, e.end) for e in c.events] == [
        ("m1", "face groom", 1, 3), ("m1", "rear", 4, 5), ("m2", "face groom", 6, 10), ("m1", "sniff", 11, 11)]
    assert c.observed == {"a.mp4": 20.0}  # b.mp4 has no events: not observed
    assert [e.behavior for e in load_coding(coded, subject="m2").events] == ["face groom"]
    assert load_coding(coded, video="b.mp4").observed == {"b.mp4": 10.0}
    with pytest.raises(EthoscoutError, match="no observer 'ann'"):
        load_coding(coded, observer="ann")


def test_cli_every_analysis(coded, tmp_path, capsys):
    proj = str(coded.folder)
    out = tmp_path / "budget.csv"
    assert main(["analyse", "time-budget", "--project", proj, "--out", str(out)]) == 0
    rows = {(r["subject"], r["behavior"]): r for r in read(out)}
    assert rows[("m1", "face groom")]["total_s"] == "2.0" and rows[("m2", "face groom")]["percent_observed"] == "20.0"
    assert main(["analyse", "time-budget", "--project", proj, "--out", str(out), "--subject", "m2"]) == 0
    assert {r["subject"] for r in read(out)} == {"m2"}

    out = tmp_path / "trans.tsv"
    assert main(["analyse", "transitions", "--project", proj, "--out", str(out), "--interval", "5"]) == 0
    rows = read(out, "\t")
    hit = [r for r in rows if r["scope"] == "observation" and r["subject"] == "m1" and r["from"] == "face groom"
           and r["to"] == "rear"]
    assert hit[0]["count"] == "1" and hit[0]["probability"] == "1.0"
    mean = [r for r in rows if r["scope"] == "mean" and r["subject"] == "m1" and r["to"] == "rear"]
    assert [float(r["count"]) for r in mean] == [1.0, 0.0, 0.0]  # plain numbers, one observation

    for suffix in (".png", ".svg"):
        out = tmp_path / f"etho{suffix}"
        assert main(["analyse", "ethogram", "--project", proj, "--out", str(out), "--title", "mice"]) == 0
    assert (tmp_path / "etho.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    umask = os.umask(0o022)
    os.umask(umask)
    assert (tmp_path / "etho.png").stat().st_mode & 0o777 == 0o666 & ~umask  # readable like any file
    svg = (tmp_path / "etho.svg").read_text()
    assert "<svg" in svg and "face groom" in svg and "m2" in svg

    coded.add_label("a.mp4", "face groom", 1.5, 3, "accept", subject="m1", annotator="ann")
    out = tmp_path / "agree.csv"
    assert main(["analyse", "agreement", "--project", proj, "--out", str(out), "--reference", "",
                 "--candidate", "ann", "--resolution", "0.5"]) == 0
    assert "Cohen's kappa" in capsys.readouterr().out
    kappa = read(out)[0]
    # 40 bins of .5 s; the reference differs from ann wherever ann has nothing or only part
    assert kappa["behavior"] == "(all behaviours)" and kappa["bins"] == "40"
    bouts = {r["behavior"]: r for r in read(tmp_path / "agree-bouts.csv")}
    assert bouts["face groom"]["true_positives"] == "1" and bouts["face groom"]["mean_iou"] == "0.75"

    for argv, match in ((["ethogram", "--out", str(tmp_path / "e.gif")], "not '.gif'"),
                        (["agreement", "--out", str(tmp_path / "a.csv")], "needs --reference"),
                        (["time-budget", "--out", str(tmp_path / "no" / "t.csv")], "does not exist"),
                        (["time-budget", "--out", str(tmp_path / "t.csv"), "--subject", "m9"], "no subject")):
        assert main(["analyse", argv[0], "--project", proj, *argv[1:]]) == 1
        err = capsys.readouterr().err
        assert match in err and len(err.strip().splitlines()) == 1, err


@needs_boris_files()
def test_time_budget_matches_boris_aggregated_export(tmp_path):
    """Observation #2 of BORIS's test project against BORIS's own aggregated export of it."""
    p = Project.create(tmp_path / "p")
    for name, frames in (("video_test_25fps_180s.mp4", 4500), ("video_test_25fps_360s.mp4", 9000)):
        p.add_video(write_video(tmp_path / name, frames, size=(32, 24)))
    parsed = parse_file(BORIS_DIR / "boris_test.boris")
    parsed.bouts = [b for b in parsed.bouts if b.where.startswith("observation 'observation #2' ")]
    parsed.rejected = []
    apply(p, parsed, BORIS_DIR / "boris_test.boris")
    ours = {(r["subject"], r["behavior"]): r for r in time_budget(load_coding(p))}

    durations, counts = defaultdict(list), defaultdict(int)
    for row in read(BORIS_DIR / "boris_test_export_aggregated_events_test_full_1.tsv", "\t"):
        counts[(row["Subject"], row["Behavior"])] += 1
        if row["Behavior type"] == "STATE":
            durations[(row["Subject"], row["Behavior"])].append(float(row["Duration (s)"]))
    assert len(counts) == 5
    for key, n in counts.items():
        assert ours[key]["count"] == n, key
        if key in durations:
            d = durations[key]
            assert ours[key]["total_s"] == pytest.approx(sum(d), abs=1e-6)
            assert ours[key]["mean_s"] == pytest.approx(statistics.mean(d), abs=1e-6)
            assert ours[key]["sd_s"] == (pytest.approx(statistics.stdev(d), abs=1e-6) if len(d) > 1 else None)


def test_model_coding_is_written_corrected_and_compared(project, tmp_path):
    p = project
    p.add_label("a.mp4", "rear", 2.0, 5.0, "accept")
    starts = np.arange(0.0, 18.0)
    scores = np.where((starts >= 1) & (starts <= 3), 0.9, 0.1)
    scores[10:12] = 0.95  # a bout the person never coded
    windows = [VideoWindows("a.mp4", starts, starts + 2, scores)]
    report = write_prediction_coding(p, "rear", windows, min_duration_s=1.0, max_gap_s=0.5, version=3)
    assert report.threshold.chosen == "best F1" and report.threshold.value == pytest.approx(0.9)
    assert report.observer == "model v3" and report.added == 2
    predicted = p.labels(verdict="predicted", annotator="model v3")
    assert [(lab["start_s"], lab["end_s"]) for lab in predicted] == [(1.5, 4.5), (10.5, 12.5)]
    assert all(lab["source"] == "model" and lab["adapter_version"] == 3 for lab in predicted)
    assert len(p.labels()) == 1  # not answers until reviewed

    human, model = load_coding(p, observer=""), load_coding(p, observer="model v3")
    row = bout_table(human, model, 0.5)[0]
    # [2, 5] vs [1.5, 4.5]: IoU 2.5 / 3.5 = .714 -> one match, the other bout a false positive
    assert (row["true_positives"], row["false_positives"], row["precision"]) == (1, 1, 0.5)
    assert kappa_table(human, model, 1.0)[0]["bins"] == 20

    # Corrections go through the ordinary label calls: trim and accept one, delete the other.
    keep, wrong = predicted
    p.update_label(keep["id"], start_s=2.0, end_s=5.0, verdict="accept")
    p.delete_label(wrong["id"])
    assert bout_table(human, load_coding(p, observer="model v3"), 0.99)[0]["f1"] == 1.0
    p.undo()
    assert len(p.labels(verdict="predicted")) == 1
    # Running again replaces unreviewed bouts and keeps reviewed ones.
    again = write_prediction_coding(p, "rear", windows, threshold=0.5, min_duration_s=1.0, version=3)
    assert (again.replaced, again.kept_reviewed, again.added) == (1, 1, 1)
    p.undo()  # the whole run is one action
    assert len(p.labels(verdict="predicted")) == 1
    with pytest.raises(EthoscoutError, match="label a few bouts first"):
        write_prediction_coding(p, "face groom", windows)


def test_predict_cli_on_an_indexed_project(synthetic_project, capsys, tmp_path):
    p = synthetic_project
    proj = str(p.folder)
    for v in p.videos():
        if v["name"].startswith("flash"):
            p.add_label(v["id"], "flash", 0.0, 3.0, "accept")
    assert main(["predict", "--project", proj, "--behavior", "flash", "--min-duration", "0"]) == 0
    out = capsys.readouterr().out
    assert "as observer 'model v0'" in out and "best F1" in out
    predicted = p.labels(verdict="predicted", annotator="model v0")
    assert predicted and all(lab["behavior"] == "flash" for lab in predicted)
    assert main(["export", "--project", proj, "--format", "boris", "--observer", "model v0",
                 "--out", str(tmp_path / "model.boris")]) == 0
    assert main(["predict", "--project", proj, "--behavior", "flash", "--max-gap", "-1"]) == 2
    assert "--max-gap: must be a number from 0 s" in capsys.readouterr().err
    assert main(["analyse", "transitions", "--project", proj, "--out", str(tmp_path / "t.csv"),
                 "--interval", "0"]) == 2
    assert "--interval" in capsys.readouterr().err
