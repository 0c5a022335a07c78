"""Project lifecycle races and model switching: an old project's callbacks never act on the new
one, closing waits for the project's I/O, a cancelled training run's kill timer never hits the
next run, and a model or adapter switch applies fully or not at all."""
from __future__ import annotations

import shutil
import sqlite3

from PySide6.QtCore import QCoreApplication, QEvent, QProcess, Qt

from ethoscout.gui import commands as C
from ethoscout.gui import training
from ethoscout.gui.prefs import Prefs

from .conftest import landed, wait_curves, wait_indexed, wait_saved


def test_old_projects_add_videos_callback_never_touches_the_new_one(qtbot, window, tmp_path, video_factory):
    w = window
    s = w.session
    clips = [str(video_factory(f"v{i}.avi", frames=30)) for i in range(3)]
    w.run(C.NewProject(str(tmp_path / "first")))
    job = w.run(C.AddVideos(clips))
    w.run(C.NewProject(str(tmp_path / "second")))  # before the add's callback ran
    assert job.finished  # the first project's I/O was waited for when it closed
    qtbot.wait(300)  # let any queued callback arrive
    assert s.project.folder.name == "second"
    assert s.videos == [] and s.view.video_id is None and not s.jobs("index")
    assert "error" not in w.status.level
    con = sqlite3.connect(tmp_path / "second" / "project.sqlite")
    assert con.execute("SELECT COUNT(*) FROM videos").fetchone() == (0,)
    con.close()


def test_close_waits_for_the_io_worker_and_leaves_no_connection(qtbot, window, tmp_path, video_factory):
    w = window
    s = w.session
    clips = [str(video_factory(f"v{i}.avi", frames=60)) for i in range(4)]
    w.run(C.NewProject(str(tmp_path / "p")))
    project = s.project
    scope = s.scope
    w.run(C.AddVideos(clips))
    w.close_project()
    assert not scope.io._thread.is_alive()  # the worker is out of the database
    assert project._conns == []
    qtbot.wait(300)
    assert project._conns == []  # and did not open a connection of its own afterwards
    assert s.project is None and s.videos == [] and w.player.info is None


def test_training_kill_timer_of_a_cancelled_run_spares_the_next(qtbot, window, pair_project, monkeypatch):
    monkeypatch.setattr(training, "STOP_GRACE_MS", 1500)
    w = window
    s = w.session
    w.run(C.OpenProject(str(pair_project)))
    wait_indexed(qtbot, w)
    b = landed(qtbot, w, w.run(C.AddBehavior("a bright square")))
    wait_curves(qtbot, w, b["id"])
    qtbot.waitUntil(lambda: bool(s.suggestions), timeout=10000)
    for verdict in ("accept", "accept", "reject", "accept", "reject"):
        w.answer(verdict)  # the first shows a clip
    finished = []
    w.runner.finished.connect(finished.append)
    w.start_training(epochs=500)
    qtbot.waitUntil(lambda: w.runner.running, timeout=5000)
    w.runner.cancel()
    qtbot.waitUntil(lambda: len(finished) == 1, timeout=60000)
    first = w.runner.proc
    w.start_training(epochs=2)  # within the first run's grace period
    second = w.runner.proc
    assert second is not first and w.runner.running
    qtbot.waitUntil(lambda: len(finished) == 2, timeout=120000)
    qtbot.wait(1600)  # past the first run's kill timer
    assert finished[1].event == "done", finished[1].describe()
    # finished process objects are deleted, not kept for the window's lifetime
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)
    assert len(w.runner.findChildren(QProcess)) == 1


def test_model_and_adapter_switches_apply_fully_or_not_at_all(qtbot, window, pair_project, video_factory,
                                                               tmp_path):
    w = window
    s = w.session
    w.run(C.OpenProject(str(pair_project)))
    wait_indexed(qtbot, w)
    assert s.view.model.adapter_version == 1
    assert "v1" in w.training.status.text()  # the panel shows the adapter that exists
    b = landed(qtbot, w, w.run(C.AddBehavior("a bright square")))
    wait_curves(qtbot, w, b["id"])

    # "Use base model", then Index all (Ctrl+R) on a new video and rescoring work
    w.training.base_button.click()
    qtbot.waitUntil(lambda: s.view.model.adapter_version is None, timeout=30000)
    wait_saved(qtbot, w)  # the choice is stored on the write queue
    assert s.project.active_adapter() is None
    assert "base model" in w.suggestions_panel.title.text()
    job = w.run(C.AddVideos([str(video_factory("new.avi", frames=45))], index=False))
    qtbot.waitUntil(lambda: job.finished and len(s.videos) == 3, timeout=20000)
    new = s.videos[-1]["id"]
    assert s.video_status[new].state == "not indexed"
    w.activateWindow()
    qtbot.keyClick(w, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    wait_indexed(qtbot, w, [new])
    assert s.video_status[new].state == "indexed"
    wait_curves(qtbot, w, b["id"], video_id=new)

    # a broken adapter: refused with a message, nothing changes, everything still works
    broken = pair_project / "adapters" / "v2"
    shutil.copytree(pair_project / "adapters" / "v1", broken)
    for f in broken.glob("*.safetensors"):
        f.write_bytes(b"not safetensors")
    s.project.register_adapter(2, broken, str(s.prefs.model), {})
    w.training.set_adapters(s.adapters())
    w.run(C.UseAdapter(2))
    qtbot.waitUntil(lambda: "still using base model" in w.status.message.text(), timeout=30000)
    assert s.view.model.adapter_version is None and s.project.active_adapter() is None
    b2 = landed(qtbot, w, w.run(C.AddBehavior("an animal sitting still")))
    wait_curves(qtbot, w, b2["id"], video_id=new)

    # a checkpoint that is not there: the old one stays, in the settings too
    old_model = s.prefs.model
    w.apply_prefs(Prefs(model=str(tmp_path / "nowhere"), device="cpu", span_s=1.0, stride_s=0.5))
    qtbot.waitUntil(lambda: "still using" in w.status.message.text(), timeout=30000)
    assert s.prefs.model == old_model and s.view.model.model == old_model
    assert s.project.get_setting("model") == old_model
    b3 = landed(qtbot, w, w.run(C.AddBehavior("a square in a corner")))
    wait_curves(qtbot, w, b3["id"], video_id=new)
    # and back to a trained adapter: applies
    w.run(C.UseAdapter(1))
    qtbot.waitUntil(lambda: s.view.model.adapter_version == 1, timeout=30000)
    wait_saved(qtbot, w)
    assert s.project.active_adapter()["version"] == 1
