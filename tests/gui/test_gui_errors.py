"""Errors are messages, never crashes; closing while work runs stops it cleanly."""
from __future__ import annotations

import sqlite3
import threading
import time

from ethoscout.gui import commands as C
from ethoscout.gui.prefs import Prefs

from .conftest import landed, wait_indexed, wait_saved


def test_gui_without_a_model_the_rest_keeps_working(qtbot, make_window, dialogs, project_dir, video_factory, tmp_path):
    w = make_window(Prefs(model=str(tmp_path / "nowhere" / "xclip"), device="cpu"))
    clip = video_factory("clip.avi", frames=30)
    w.run(C.NewProject(str(project_dir)))
    w.run(C.AddVideos([str(clip)]))
    qtbot.waitUntil(lambda: bool(dialogs.model_errors) and len(w.session.videos) == 1, timeout=20000)
    assert "model folder not found" in dialogs.model_errors[0]
    vid = w.session.videos[0]["id"]
    qtbot.waitUntil(lambda: w.session.video_status[vid].state == "not indexed" and not w.session.jobs("index"),
                    timeout=10000)
    assert len(dialogs.model_errors) == 1  # said once, not once per job
    # playback and frame stepping
    qtbot.waitUntil(lambda: w.video_view.index == 0, timeout=5000)
    w.player.step(1)
    qtbot.waitUntil(lambda: w.video_view.index == 1, timeout=5000)
    # manual labelling by dragging a bout, and export
    b = landed(qtbot, w, w.run(C.AddBehavior("mouse rearing")))
    bout = w.run(C.MarkBout(vid, b["id"], 0.2, 0.9))
    wait_saved(qtbot, w)
    lid = bout.result
    con = sqlite3.connect(project_dir / "project.sqlite")
    assert con.execute("SELECT verdict FROM labels WHERE id = ?", (lid,)).fetchall() == [("manual",)]
    con.close()
    out = tmp_path / "labels.csv"
    job = w.run(C.Export("labels", str(out)))
    qtbot.waitUntil(lambda: job.finished, timeout=10000)
    assert "mouse rearing" in out.read_text()


def test_gui_model_fixed_in_settings_then_indexes(qtbot, make_window, dialogs, project_dir, video_factory,
                                                  tmp_path, tiny_model_dir):
    w = make_window(Prefs(model=str(tmp_path / "missing"), device="cpu", span_s=1.0, stride_s=0.5))
    w.run(C.NewProject(str(project_dir)))
    w.run(C.AddVideos([str(video_factory("a.avi", frames=30))]))
    qtbot.waitUntil(lambda: bool(dialogs.model_errors), timeout=20000)
    fixed = Prefs(model=str(tiny_model_dir), device="cpu", span_s=1.0, stride_s=0.5)
    w.apply_prefs(fixed)
    w.run(C.IndexVideos())
    wait_indexed(qtbot, w)
    assert w.session.video_status[w.session.videos[0]["id"]].state == "indexed"


def test_gui_corrupt_video_is_a_message(qtbot, window, project_dir, video_factory, tmp_path):
    w = window
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"\x00\x01 this is not a video " * 200)
    good = video_factory("good.avi", frames=30)
    w.run(C.NewProject(str(project_dir)))
    w.run(C.AddVideos([str(bad), str(good)]))
    qtbot.waitUntil(lambda: len(w.session.videos) == 1, timeout=20000)
    qtbot.waitUntil(lambda: "broken.mp4" in w.status.message.text(), timeout=5000)
    assert "not a readable video" in w.status.message.text() or "broken.mp4" in w.status.message.text()
    assert w.session.videos[0]["name"] == "good.avi"
    wait_indexed(qtbot, w)
    # a drop with nothing usable says so
    w.drop_paths([str(tmp_path / "notes.txt")])
    assert "drop video files" in w.status.message.text()


def test_gui_missing_video_file_keeps_timeline(qtbot, window, indexed_project, tmp_path):
    import shutil

    from ethoscout.core.data.project import Project

    # point the project's video at a moved file
    moved_from = tmp_path / "moved.avi"
    with Project.open(indexed_project) as p:
        v = p.videos()[0]
        shutil.copy(v["path"], moved_from)
        p.add_video(moved_from)
    moved_from.unlink()
    w = window
    w.run(C.OpenProject(str(indexed_project)))
    vid = [v for v in w.session.videos if v["name"] == "moved.avi"][0]["id"]
    w.session.select_video(vid)
    assert w.session.video_status[vid].state == "missing"
    assert "file not found" in w.video_view.placeholder
    assert w.timeline.duration > 0  # timing comes from the database


def test_gui_close_during_indexing_stops_cleanly(qtbot, make_window, project_dir, video_factory):
    w = make_window()
    clip = video_factory("long.avi", frames=900, fps=15.0)  # 60 s: long enough to be mid-way
    w.run(C.NewProject(str(project_dir)))
    w.run(C.AddVideos([str(clip)]))
    def midway():
        if not w.session.videos:
            return False
        st = w.session.video_status[w.session.videos[0]["id"]]
        return st.state == "indexing" and 0 < st.fraction < 0.5

    qtbot.waitUntil(midway, timeout=30000)
    model_thread = w.session.service._thread
    t0 = time.monotonic()
    w.close()
    took = time.monotonic() - t0
    assert took < 10, f"closing took {took:.1f} s"
    assert not model_thread.is_alive()
    assert not [t for t in threading.enumerate() if t.name in ("ethoscout-model", "ethoscout-io", "ethoscout-frames")
                and t.is_alive()]
    # the finished part is on disk and resumes next time
    partial = list((project_dir / "features").rglob("progress.json"))
    assert partial, "no resumable partial index left"
