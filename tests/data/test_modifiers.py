"""Modifiers and subjects as data: definitions per behaviour, choices per label, BORIS's
Modifiers text in and out, and a .boris project export that imports back unchanged."""
from __future__ import annotations

import json
import sqlite3

import pytest

from .db_helpers import BORIS_DIR, needs_boris_files, write_video
from ethoscout.core.data import schema
from ethoscout.core.data.boris_export import export_boris_project
from ethoscout.core.data.export import export, export_labels
from ethoscout.core.data.imports import import_file
from ethoscout.core.data.modifiers import from_boris, to_boris
from ethoscout.core.data.project import DB_NAME, Project
from ethoscout.core.data.records import read_table
from ethoscout.core.errors import EthoscoutError

POSTURE = {"name": "posture", "kind": "single", "values": ["upright", "hunched"]}
SIDE = {"name": "side", "kind": "multiple", "values": ["left", "right"]}
SPEED = {"name": "speed", "kind": "numeric", "values": []}


@pytest.fixture
def mproject(project):
    project.update_behavior("rear", modifiers=[POSTURE, SIDE])
    project.add_behavior("sniff", kind="point", modifiers=[SPEED], key="s")
    project.add_subject("m1", description="male", key="1")
    project.add_subject("m2", key="2")
    return project


def coded(project):
    """A small coding: subjects, modifiers of each kind, a point, a comment, none chosen."""
    p = project
    p.add_label("a.mp4", "rear", 1.0, 2.5, "accept", subject="m1",
                modifiers={"posture": "upright", "side": ["left", "right"]}, comment="=odd")
    p.add_label("a.mp4", "rear", 2.5, 4.0, "manual", subject="m1", modifiers={"side": "right"})
    p.add_label("a.mp4", "rear", 3.0, 5.0, "accept", subject="m2")
    p.add_label("a.mp4", "sniff", 6.0, 6.04, "accept", subject="m2", modifiers={"speed": "2.5"})
    p.add_label("b.mp4", "face groom", 0.5, 1.5, "accept")
    p.add_label("b.mp4", "rear", 7.0, 8.0, "reject", modifiers={"posture": "hunched"})
    return p


def comparable(project):
    labels = sorted((lab["video"], lab["behavior"], lab["subject"] or "", round(lab["start_s"], 6),
                     round(lab["end_s"], 6), json.dumps(lab["modifiers"]), lab["comment"] or "")
                    for lab in project.labels(verdict=["accept", "manual"]))
    behaviors = sorted((b["name"], b["kind"], b["key"], b["description"], b["prompts"], b["colour"],
                        json.dumps(b["modifiers"])) for b in project.behaviors())
    subjects = sorted((s["name"], s["description"], s["key"]) for s in project.subjects())
    return labels, behaviors, subjects


def test_choices_are_checked_against_the_behaviours_sets(mproject):
    p = mproject
    lid = p.add_label("a.mp4", "rear", 1, 2, "accept", modifiers={"posture": "upright", "side": ["right", "left"]})
    assert p.label(lid)["modifiers"] == {"posture": ["upright"], "side": ["right", "left"]}
    for bad, why in (({"posture": "sideways"}, "not a value"), ({"posture": ["upright", "hunched"]}, "takes one"),
                     ({"colour": "red"}, "not defined"), ("posture=upright; speed=3", "not defined")):
        with pytest.raises(EthoscoutError, match=why):
            p.add_label("a.mp4", "rear", 3, 4, "accept", modifiers=bad)
    with pytest.raises(EthoscoutError, match="needs a number"):
        p.add_label("a.mp4", "sniff", 3, 3.04, "accept", modifiers={"speed": "fast"})
    with pytest.raises(EthoscoutError, match="contains"):
        p.update_behavior("rear", modifiers=[{"name": "a|b", "values": ["x"]}])
    p.update_label(lid, modifiers={"posture": "hunched"})
    assert p.label(lid)["modifiers"] == {"posture": ["hunched"]}
    p.undo()
    assert p.label(lid)["modifiers"]["posture"] == ["upright"]
    # Changing the sets later leaves old choices alone until the label's modifiers are edited.
    p.update_behavior("rear", modifiers=[SIDE])
    p.update_label(lid, comment="seen twice")
    assert p.label(lid)["modifiers"]["posture"] == ["upright"]


def test_boris_text_form():
    sets = [POSTURE, SIDE]
    assert to_boris(sets, {"side": ["left", "right"]}) == "None|left,right"
    assert from_boris(sets, "upright|None") == {"posture": ["upright"]}
    assert from_boris(sets, "None|left,right") == {"side": ["left", "right"]}
    with pytest.raises(ValueError, match="3 fields"):
        from_boris(sets, "upright|left|x")


def test_boris_project_round_trip_is_identical(mproject, tmp_path, videos):
    coded(mproject)
    out = export_boris_project(mproject, tmp_path / "all.boris")
    pj = json.loads(out.read_text())
    rear = next(b for b in pj["behaviors_conf"].values() if b["code"] == "rear")
    assert rear["modifiers"]["1"] == {"name": "side", "type": 1, "values": ["left", "right"], "description": ""}
    events = pj["observations"]["a"]["events"]
    assert [1.0, "m1", "rear", "upright|left,right", "=odd", 25] in events
    assert ["m1", "rear", "None|right"] in [e[1:4] for e in events]

    fresh = Project.create(tmp_path / "fresh")
    for v in videos.values():
        fresh.add_video(v)
    report = import_file(fresh, out)
    assert report.added == 5 and not report.rejected
    assert comparable(fresh) == comparable(mproject)
    # Importing the same file again adds nothing.
    assert import_file(fresh, out).added == 0


@pytest.mark.parametrize("fmt, suffix", [("boris-tabular", ".tsv"), ("boris-aggregated", ".csv"),
                                         ("labels", ".csv")])
def test_tables_carry_subjects_and_modifiers_back(mproject, tmp_path, videos, fmt, suffix):
    coded(mproject)
    out = export(mproject, fmt, tmp_path / f"events{suffix}")
    rows = read_table(out.read_text(), str(out))
    header = rows[0]
    subject_col = header.index("Subject" if fmt != "labels" else "subject")
    assert {r[subject_col] for r in rows[1:]} >= {"m1", "m2", "No focal subject" if fmt != "labels" else ""}
    fresh = Project.create(tmp_path / "fresh")
    for v in videos.values():
        fresh.add_video(v)
    import_file(fresh, out)
    got = {(lab["behavior"], lab["subject"], lab["start_s"], json.dumps(lab["modifiers"]))
           for lab in fresh.labels(verdict=["accept", "manual"])}
    if fmt == "labels":
        assert (json.dumps({"posture": ["upright"], "side": ["left", "right"]})
                in {m for _, _, _, m in got})
        assert fresh.find_behavior("rear")["modifiers"][1]["kind"] == "multiple"
    else:  # BORIS tables carry values by position; sets are named "modifier N" on the way in
        assert ("rear", "m1", 1.0, json.dumps({"modifier 1": ["upright"], "modifier 2": ["left", "right"]})) in got
        assert ("sniff", "m2", 6.0, json.dumps({"modifier 1": ["2.5"]})) in got


@needs_boris_files()
def test_real_boris_project_modifiers(tmp_path):
    video = write_video(tmp_path / "video_test_25fps_180s.mp4", 4500, size=(32, 24))
    p = Project.create(tmp_path / "p")
    p.add_video(video)
    import_file(p, BORIS_DIR / "boris_test.boris", partial=True)
    m = p.find_behavior("m")["modifiers"]
    assert [(s["name"], s["kind"], s["values"]) for s in m] == [
        ("modif #1", "single", ["m1", "m2", "m3"]), ("modif #2", "single", ["n1", "n2", "n3"])]
    # Observation "modifiers": q points with m1, m2, m3; r 19.175-27.95 (m1), 30.425-40.825 (None).
    q = [(lab["start_s"], lab["modifiers"]) for lab in p.labels(behavior="q") if lab["start_s"] < 20]
    assert q == [(8.475, {"modif #1": ["m1"]}), (12.35, {"modif #1": ["m2"]}), (15.65, {"modif #1": ["m3"]})]
    r = [(lab["start_s"], lab["end_s"], lab["modifiers"]) for lab in p.labels(behavior="r")]
    assert (19.175, 27.95, {"modif #1": ["m1"]}) in r and (30.425, 40.825, {}) in r


def test_v2_project_migrates_and_accepts_predictions(tmp_path, videos):
    folder = tmp_path / "old"
    folder.mkdir()
    conn = sqlite3.connect(folder / DB_NAME, isolation_level=None)
    schema.migrate(conn, "old", target=2)
    with pytest.raises(sqlite3.IntegrityError):  # v2 knows no such verdict
        conn.execute("INSERT INTO labels (video_id, behavior_id, start_s, end_s, start_frame, end_frame, "
                     "verdict, source, created, updated) VALUES (1, 1, 0, 1, 0, 1, 'predicted', 'model', 't', 't')")
    conn.close()
    p = Project.open(folder)
    p.add_video(videos["a.mp4"])
    p.add_behavior("rear")
    lid = p.add_label("a.mp4", "rear", 1, 2, "predicted", source="model", annotator="model v1")
    assert p.labels() == [] and p.labels(verdict="predicted")[0]["id"] == lid
    assert p.labels(verdict="predicted", annotator="model v1")[0]["modifiers"] == {}
    assert p.annotators() == ["model v1"]


def test_export_of_one_observer(mproject, tmp_path):
    coded(mproject)
    mproject.add_label("a.mp4", "rear", 10, 12, "predicted", source="model", annotator="model v2")
    rows = read_table(export_labels(mproject, tmp_path / "all.csv").read_text(), "x")
    assert len(rows) == 1 + 6  # predictions are not in the project's labels until reviewed
    out = export(mproject, "boris-aggregated", tmp_path / "model.tsv", observer="model v2")
    rows = read_table(out.read_text(), str(out))
    assert [r[rows[0].index("Start (s)")] for r in rows[1:]] == ["10.000"]


def test_cli_defines_and_codes_modifiers(tmp_path, videos, capsys):
    from ethoscout.core.cli import main

    proj = tmp_path / "proj"
    main(["project", "init", str(proj)])
    main(["project", "add-video", "--project", str(proj), str(videos["a.mp4"])])
    assert main(["behavior", "add", "--project", str(proj), "rear", "--modifier-set", "posture=upright,hunched",
                 "--multi-modifier-set", "side=left,right"]) == 0
    main(["behavior", "list", "--project", str(proj)])
    assert main(["subject", "add", "--project", str(proj), "m1"]) == 0  # label refuses unknown subjects
    assert "posture(single)=upright,hunched; side(multiple)=left,right" in capsys.readouterr().out
    assert main(["label", "--project", str(proj), "--video", "a.mp4", "--behavior", "rear", "--start", "1",
                 "--end", "2", "--modifier", "posture=hunched", "--modifier", "side=left,right",
                 "--subject", "m1"]) == 0
    assert main(["label", "--project", str(proj), "--video", "a.mp4", "--behavior", "rear", "--start", "3",
                 "--end", "4", "--modifier", "posture=sideways"]) == 1
    err = capsys.readouterr().err
    assert "'sideways' is not a value of modifier set 'posture'" in err and len(err.strip().splitlines()) == 1
    with Project.open(proj) as p:
        lab = p.labels()[0]
        assert (lab["subject"], lab["modifiers"]) == ("m1", {"posture": ["hunched"], "side": ["left", "right"]})


def test_editor_text_form_round_trip():
    from ethoscout.core.data.modifiers import ModifierError, sets_from_text, sets_to_text

    text = sets_to_text([POSTURE, SIDE, SPEED])
    assert text == "posture: upright, hunched\nside (several): left, right\nspeed (number)"
    assert sets_from_text(text) == [POSTURE, SIDE, SPEED]
    with pytest.raises(ModifierError, match="no values"):
        sets_from_text("posture:")
