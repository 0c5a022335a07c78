"""Training from the window: a real child process, its progress plotted, the new adapter used
for the curves and the suggestions."""
from __future__ import annotations

import json
import sqlite3

import numpy as np

from ethoscout.gui import commands as C

from .conftest import landed, wait_curves, wait_saved


def test_gui_train_then_curves_and_suggestions_update(qtbot, open_window, indexed_project):
    w = open_window
    b = landed(qtbot, w, w.run(C.AddBehavior("a bright square")))
    wait_curves(qtbot, w, b["id"])
    qtbot.waitUntil(lambda: w.session.current_suggestion is not None, timeout=10000)
    w.next_suggestion()  # review starts: the first clip plays
    vid = w.session.current_video_id
    before = w.session.curves[vid][b["id"]].scores.copy()
    for verdict in ("accept", "reject", "accept", "reject"):
        w.answer(verdict)
    finished = []
    w.runner.finished.connect(finished.append)
    w.start_training(epochs=3)
    assert not w.training.train_button.isEnabled()  # it starts once the answers are stored
    qtbot.waitUntil(lambda: w.runner.running, timeout=10000)
    qtbot.waitUntil(lambda: bool(finished), timeout=120000)
    ev = finished[0]
    assert ev.event == "done", ev.describe()
    version = ev.data["version"]
    # the monitor plotted a loss per epoch and lists the adapter with its held-out metrics
    xs, ys = w.training.train_curve.getData()
    assert list(xs) == [1, 2, 3] and np.all(np.isfinite(ys))
    # held-out mAP per epoch sits beside the held-out loss (absent when no held-out window is
    # positive for any behaviour)
    val_x, _ = w.training.val_curve.getData()
    map_x, map_y = w.training.map_curve.getData()
    assert len(map_x if map_x is not None else []) <= len(val_x if val_x is not None else [])
    assert map_y is None or np.all((map_y >= 0) & (map_y <= 1))
    assert w.training.table.rowCount() == 1 and w.training.table.item(0, 0).text() == f"v{version}"
    assert w.training.train_button.isEnabled()
    # the session uses the new adapter once it loaded: curves rescored, suggestions say so
    qtbot.waitUntil(lambda: w.session.adapter_version == version, timeout=30000)
    qtbot.waitUntil(lambda: not np.allclose(w.session.curves[vid][b["id"]].scores, before), timeout=60000)
    assert f"adapter v{version}" in w.suggestions_panel.title.text()
    # answers from now on record the adapter version
    qtbot.waitUntil(lambda: w.session.current_suggestion is not None, timeout=10000)
    w.next_suggestion()  # review starts: the first clip plays
    w.answer("accept")
    wait_saved(qtbot, w)
    con = sqlite3.connect(indexed_project / "project.sqlite")
    last = con.execute("SELECT adapter_version FROM labels ORDER BY id DESC LIMIT 1").fetchone()
    runs = con.execute("SELECT status, adapter_version FROM training_runs").fetchall()
    con.close()
    assert last == (version,) and runs == [("done", version)]
    # rolling back to the base model is one click
    w.training.useRequested.emit(None)
    qtbot.waitUntil(lambda: w.session.adapter_version is None, timeout=30000)


def test_gui_training_needs_answers_and_can_be_stopped(qtbot, open_window):
    w = open_window
    w.start_training()  # it starts once any setting the window queued on opening has landed
    qtbot.waitUntil(lambda: "nothing to learn from" in w.status.message.text(), timeout=10000)
    assert not w.runner.running
    b = landed(qtbot, w, w.run(C.AddBehavior("square")))
    wait_curves(qtbot, w, b["id"])
    qtbot.waitUntil(lambda: w.session.current_suggestion is not None, timeout=10000)
    w.next_suggestion()  # review starts: the first clip plays
    w.answer("accept")
    w.answer("reject")
    finished = []
    w.runner.finished.connect(finished.append)
    w.start_training(epochs=500)
    qtbot.waitUntil(lambda: w.runner.running, timeout=5000)
    w.runner.cancel()
    qtbot.waitUntil(lambda: bool(finished), timeout=60000)
    assert finished[0].event in ("cancelled", "done", "failed")
    assert finished[0].event != "failed", finished[0].describe()
    assert w.training.train_button.isEnabled()


def test_gui_monitor_plots_held_out_map_per_epoch(qtbot, open_window):
    from ethoscout.core.learn.process import parse_event

    panel = open_window.training
    panel.run_started()
    for epoch, ap in [(1, 0.4), (2, float("nan")), (3, 0.7)]:
        panel.on_event(parse_event(json.dumps({"event": "epoch", "epoch": epoch, "step": epoch, "total": 3,
                                               "loss": 1.0 / epoch, "val_loss": 0.9,
                                               "val_metrics": {"AP": ap, "Hit@5": 1.0}})))
    xs, ys = panel.map_curve.getData()
    assert list(xs) == [1, 3] and list(ys) == [0.4, 0.7]
    assert "held-out mAP 0.700" in panel.status.text()
