"""The Project API on real SQLite files and real videos."""
from __future__ import annotations

import shutil
import sqlite3
import threading

import pytest

from .db_helpers import write_vfr_video, write_video
from ethoscout.core.data.schema import SCHEMA_VERSION
from ethoscout.core.data.project import Project
from ethoscout.core.errors import EthoscoutError
from ethoscout.core.video.probe import probe_video


def test_create_makes_folder_layout_and_pragmas(tmp_path):
    p = Project.create(tmp_path / "proj")
    assert {d.name for d in p.folder.iterdir()} >= {"project.sqlite", "features", "adapters", "exports"}
    conn = p._conn()
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 1000  # then begin_write waits on
    assert p.schema_version == SCHEMA_VERSION
    assert set(p.db.table_names()) >= {"videos", "behaviors", "subjects", "labels", "training_runs",
                                       "adapters", "settings", "ops"}


def test_open_errors_are_one_line(tmp_path):
    with pytest.raises(EthoscoutError, match="not an ethoscout project"):
        Project.open(tmp_path)
    with pytest.raises(EthoscoutError, match="not found"):
        Project.open(tmp_path / "missing")
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "project.sqlite").write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(EthoscoutError, match="not a readable project database") as e:
        Project.open(tmp_path / "junk")
    assert "\n" not in str(e.value) and "project.sqlite" in str(e.value)
    Project.create(tmp_path / "p").close()
    with pytest.raises(EthoscoutError, match="already an ethoscout project"):
        Project.create(tmp_path / "p")


def test_add_video_is_idempotent_and_refreshes_changed_file(tmp_path):
    src = write_video(tmp_path / "m.mp4", 100)
    p = Project.create(tmp_path / "proj")
    v1 = p.add_video(src)
    assert p.add_video(tmp_path / "." / "m.mp4")["id"] == v1["id"]
    assert len(p.videos()) == 1
    p.add_behavior("walk")
    lab = p.label(p.add_label("m.mp4", "walk", 1.0, 3.0, "accept"))
    assert (lab["start_frame"], lab["end_frame"]) == (25, 74)
    write_video(src, 50, fps=10)  # same path, new content: 5 s at 10 fps
    v2 = p.add_video(src)
    assert v2["id"] == v1["id"] and v2["fingerprint"] != v1["fingerprint"]
    assert (v2["frame_count"], round(v2["fps"])) == (50, 10)
    lab = p.label(lab["id"])
    assert (lab["start_frame"], lab["end_frame"]) == (10, 29)


def test_find_video_by_path_name_and_ambiguity(tmp_path, videos):
    p = Project.create(tmp_path / "proj")
    a = p.add_video(videos["a.mp4"])
    assert p.find_video("a.mp4")["id"] == a["id"]
    assert p.find_video(str(videos["a.mp4"]))["id"] == a["id"]
    (tmp_path / "other").mkdir()
    shutil.copy(videos["b.mp4"], tmp_path / "other" / "a.mp4")
    p.add_video(tmp_path / "other" / "a.mp4")
    with pytest.raises(EthoscoutError, match="ambiguous"):
        p.find_video("a.mp4")
    assert p.find_video(videos["a.mp4"])["id"] == a["id"]
    with pytest.raises(EthoscoutError, match="no video 'zzz.mp4'"):
        p.find_video("zzz.mp4")


def test_behaviours_validate_and_update(project):
    with pytest.raises(EthoscoutError, match="already exists"):
        project.add_behavior("Face Groom")
    with pytest.raises(EthoscoutError, match="key 'f' is already used"):
        project.add_behavior("sniff", key="f")
    with pytest.raises(EthoscoutError, match="#rrggbb"):
        project.add_behavior("sniff", colour="red")
    with pytest.raises(EthoscoutError, match="behaviour type"):
        project.add_behavior("sniff", kind="event")
    b = project.add_behavior("sniff", prompts=["a mouse sniffing", "nose to the floor"], kind="point")
    assert b["prompts"] == ["a mouse sniffing", "nose to the floor"] and b["colour"].startswith("#")
    b = project.update_behavior("sniff", name="sniffing", prompts=["a mouse sniffing the floor"])
    assert project.find_behavior("sniffing")["prompts"] == ["a mouse sniffing the floor"]
    with pytest.raises(EthoscoutError):
        project.update_behavior("sniffing", prompts=["  "])


@pytest.mark.parametrize("start,end,verdict,match", [
    (-0.5, 2.0, "accept", "negative"),
    (3.0, 2.0, "accept", "not after start"),
    (2.0, 2.0, "accept", "not after start"),
    (5.0, 25.0, "accept", "past the end"),
    (21.0, 22.0, "accept", "past the end"),
    (1.0, 2.0, "maybe", "verdict"),
    (float("nan"), 2.0, "accept", "finite"),
])
def test_label_validation(project, start, end, verdict, match):
    with pytest.raises(EthoscoutError, match=match):
        project.add_label("a.mp4", "rear", start, end, verdict)
    assert project.labels() == []
    assert project.history()[-1]["description"] == "add behaviour rear"  # nothing recorded


def test_label_unknown_behaviour_and_video(project):
    with pytest.raises(EthoscoutError, match="no behaviour 'fly'"):
        project.add_label("a.mp4", "fly", 1, 2, "accept")
    with pytest.raises(EthoscoutError, match="no video"):
        project.add_label("c.mp4", "rear", 1, 2, "accept")


def test_label_fields_and_filters(project):
    i = project.add_label("a.mp4", "face groom", 12.4, 15.0, "accept", source="suggestion",
                          score=0.83, adapter_version=3, model_id="xclip-base-patch32",
                          subject="mouse 1", annotator="ana", comment="clear")
    project.add_label("b.mp4", "rear", 1.0, 2.0, "reject")
    lab = project.label(i)
    assert (lab["video"], lab["behavior"], lab["subject"], lab["score"], lab["adapter_version"]) == \
        ("a.mp4", "face groom", "mouse 1", 0.83, 3)
    assert lab["created"] and lab["updated"]
    assert [x["id"] for x in project.labels(verdict="accept")] == [i]
    assert len(project.labels(video="b.mp4")) == 1 and len(project.labels(behavior="face groom")) == 1
    assert project.labels(subject="mouse 1")[0]["id"] == i
    # End just past the last frame is clamped to the duration (tolerance), further is refused.
    j = project.add_label("b.mp4", "rear", 9.0, 10.02, "manual")
    assert project.label(j)["end_s"] == pytest.approx(10.0)


def test_frames_come_from_presentation_times_on_vfr_video(tmp_path):
    times = [0, 0.1, 0.2, 0.5, 0.55, 0.6, 1.0, 1.5, 1.6, 2.0]
    path = write_vfr_video(tmp_path / "vfr.mp4", times)
    info = probe_video(path)
    p = Project.create(tmp_path / "proj")
    v = p.add_video(path)
    assert v["vfr"] is True
    p.add_behavior("x")
    lab = p.label(p.add_label("vfr.mp4", "x", 0.6, 1.5, "accept"))
    assert lab["start_frame"] == info.frame_at(0.6)
    # The last frame that starts before 1.5 s, whatever the muxer did to the timestamps.
    assert lab["end_frame"] == int((info.pts_s < 1.5 - 1e-9).sum()) - 1
    assert lab["start_frame"] != round(0.6 * v["fps"])
    # Frame timing is kept in the database: still works with the file gone.
    path.unlink()
    p2 = Project.open(tmp_path / "proj")
    assert p2.video_timing("vfr.mp4").frame_at(1.2) == info.frame_at(1.2)
    assert p2.label(lab["id"])["end_frame"] == lab["end_frame"]


def test_settings_adapters_training_runs(project):
    assert project.get_setting("model_id", "microsoft/xclip-base-patch32") == "microsoft/xclip-base-patch32"
    project.set_setting("window", {"span_s": 2.0, "stride_s": 1.0})
    project.set_setting("window", {"span_s": 3.0})
    assert project.get_setting("window") == {"span_s": 3.0}
    run = project.start_training_run({"epochs": 3})
    project.register_adapter(1, project.folder / "adapters" / "v1", "xclip", {"hits@5": 0.4})
    project.register_adapter(2, "adapters/v2", "xclip", {})
    project.finish_training_run(run, "done", "ok", adapter_version=2, metrics={"loss": 0.1})
    r = project.training_runs()[0]
    assert (r["status"], r["adapter_version"], r["spec"], r["metrics"]) == ("done", 2, {"epochs": 3}, {"loss": 0.1})
    assert project.adapters()[0]["folder"] == "adapters/v1"
    assert project.active_adapter() is None
    project.set_active_adapter(1)
    project.set_active_adapter(2)
    assert [a["active"] for a in project.adapters()] == [False, True]
    project.set_active_adapter(None)
    assert project.active_adapter() is None
    with pytest.raises(EthoscoutError):
        project.set_active_adapter(9)
    with pytest.raises(EthoscoutError, match="outside the project"):
        project.register_adapter(3, "/somewhere/else", "xclip")
    with pytest.raises(EthoscoutError, match="already exists"):
        project.register_adapter(2, "adapters/v2", "xclip")
    with pytest.raises(EthoscoutError):
        project.finish_training_run(run, "running")
    # The database itself refuses two active adapters.
    with pytest.raises(sqlite3.IntegrityError):
        project._conn().execute("UPDATE adapters SET active = 1")


def test_threads_each_get_their_own_connection(project):
    conns, errors = set(), []

    def work(k):
        try:
            conns.add(id(project._conn()))
            for i in range(5):
                project.add_label("a.mp4", "rear", k + i * 0.1, k + i * 0.1 + 0.05, "accept")
        except Exception as e:  # surfaced below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(conns) == 4
    assert len(project.labels()) == 20
