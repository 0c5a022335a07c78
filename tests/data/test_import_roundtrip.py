"""Export, then import into a new project: the same labels (and the same BORIS bouts)."""
from __future__ import annotations

import pytest

from .db_helpers import label_set
from ethoscout.core.data import export
from ethoscout.core.data.imports import import_file
from ethoscout.core.data.project import Project


@pytest.fixture
def source(project):
    project.add_behavior("sniff", kind="point", prompts=["a mouse sniffing"])
    project.add_label("a.mp4", "face groom", 12.4, 15.0, "accept", subject="m1", comment="=odd, \"quoted\"\nline")
    project.add_label("a.mp4", "face groom", 1.0 / 3, 2.5, "manual", subject="m2")
    project.add_label("a.mp4", "rear", 3.0, 4.0, "reject", source="suggestion", score=0.61,
                      adapter_version=2, model_id="xclip")
    project.add_label("a.mp4", "sniff", 5.0, 5.04, "accept")
    project.add_label("b.mp4", "rear", 0.5, 1.25, "accept", text="a mouse rearing up")
    return project


@pytest.fixture
def target(tmp_path, videos):
    p = Project.create(tmp_path / "target")
    for v in videos.values():
        p.add_video(v)
    yield p
    p.close()


def test_labels_table_round_trip_is_exact(source, target, tmp_path):
    path = export.export_labels(source, tmp_path / "labels.csv")
    report = import_file(target, path)
    assert report.added == 5 and not report.rejected
    fields = ("video", "behavior", "subject", "start_s", "end_s", "start_frame", "end_frame", "verdict",
              "source", "score", "adapter_version", "model_id", "comment", "text")
    assert [tuple(x[f] for f in fields) for x in target.labels()] == \
        [tuple(x[f] for f in fields) for x in source.labels()]
    # Importing the same file again adds nothing.
    assert import_file(target, path).duplicates == 5 and len(target.labels()) == 5


@pytest.mark.parametrize("fmt,name", [("boris-aggregated", "agg.tsv"), ("boris-aggregated", "agg.csv"),
                                      ("boris-tabular", "tab.tsv"), ("boris-tabular", "tab.csv")])
def test_boris_round_trip_gives_the_same_bouts(source, target, tmp_path, fmt, name):
    path = export.export(source, fmt, tmp_path / name)
    report = import_file(target, path)
    assert not report.rejected
    events = [x for x in label_set(source, 3) if x[5] != "reject"]
    assert [x[:5] for x in label_set(target, 3)] == [x[:5] for x in events]
    kinds = {b["name"]: b["kind"] for b in target.behaviors()}
    assert kinds["sniff"] == "point" and kinds["face groom"] == "state"
    assert target.labels(behavior="face groom")[1]["comment"] == "=odd, \"quoted\" line"
