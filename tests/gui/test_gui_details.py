"""The smaller things a new user saw: names that fit, a model error that goes away once the
model works, the index state shown at once on reopening, Esc in the behaviour box, the preview
row in view past five behaviours, a multi-row delete undone in one step, a readable training
monitor."""
from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel, Qt

from ethoscout.gui import commands as C
from ethoscout.gui.prefs import Prefs
from ethoscout.gui.timeline import PREVIEW_ID

from .conftest import landed, wait_curves, wait_indexed, wait_saved


def test_video_names_are_not_squeezed(qtbot, window, pair_project):
    w = window
    w.run(C.OpenProject(str(pair_project)))
    qtbot.wait(50)
    tree = w.videos_panel.tree
    from ethoscout.gui.video_list import NAME_MIN_WIDTH

    assert tree.columnWidth(0) >= NAME_MIN_WIDTH
    assert tree.textElideMode() == Qt.TextElideMode.ElideMiddle  # start and end stay readable


def test_model_error_leaves_the_status_bar_once_the_model_works(qtbot, make_window, dialogs, project_dir,
                                                               video_factory, tmp_path, tiny_model_dir):
    w = make_window(Prefs(model=str(tmp_path / "missing"), device="cpu", span_s=1.0, stride_s=0.5))
    w.run(C.NewProject(str(project_dir)))
    w.run(C.AddVideos([str(video_factory("a.avi", frames=30))]))
    qtbot.waitUntil(lambda: bool(dialogs.model_errors), timeout=20000)
    assert w.status.level == "error"
    w.apply_prefs(Prefs(model=str(tiny_model_dir), device="cpu", span_s=1.0, stride_s=0.5))
    w.run(C.IndexVideos())
    wait_indexed(qtbot, w)
    assert w.status.level != "error" and "not found" not in w.status.message.text()
    assert w.session.model_error == ""


def test_reopening_shows_the_index_state_at_once(qtbot, window, pair_project):
    w = window
    s = w.session
    w.run(C.OpenProject(str(pair_project)))
    wait_indexed(qtbot, w)
    w.close_project()
    w.run(C.OpenProject(str(pair_project)))
    # no event processed yet: the state comes from the project, not from loading the model
    assert [w.videos_panel.state_text(v["id"]) for v in s.videos] == ["indexed", "indexed"]
    assert s.jobs("status")  # and is checked again in the background


def test_esc_in_the_behaviour_box_clears_it_and_cancels_nothing(qtbot, open_window):
    w = open_window
    entry = w.behaviors_panel.entry
    entry.setFocus()
    qtbot.keyClicks(entry, "a square moving")
    qtbot.waitUntil(lambda: PREVIEW_ID in w.timeline.rows, timeout=10000)
    qtbot.keyClick(entry, Qt.Key.Key_Escape)
    assert entry.text() == "" and w.session.preview_text == "" and PREVIEW_ID not in w.timeline.rows
    assert "stopping" not in w.status.message.text()
    # Esc elsewhere with nothing running says so
    w.activateWindow()
    w.video_view.setFocus()
    qtbot.keyClick(w, Qt.Key.Key_Escape)
    assert w.status.message.text() == "nothing is running"


def test_preview_row_in_view_past_five_behaviours(qtbot, open_window):
    w = open_window
    w.run(C.AddEthogram())  # five behaviours, listed as they are stored
    landed(qtbot, w, w.run(C.AddBehavior("a sixth one")))
    assert len(w.session.behaviors) == 6
    w.session.set_preview("a square moving")
    qtbot.waitUntil(lambda: PREVIEW_ID in w.timeline.rows and len(w.timeline.curve_data(PREVIEW_ID)[1]) > 0,
                    timeout=10000)
    qtbot.wait(50)
    plot = w.timeline.rows[PREVIEW_ID].plot
    top = w.timeline.glw.mapFromScene(plot.mapToScene(plot.boundingRect().topLeft()))
    viewport = w.timeline.scroll.viewport()
    y = w.timeline.glw.mapTo(viewport, top).y()
    assert 0 <= y and y + plot.boundingRect().height() <= viewport.height()


def test_multi_row_delete_is_one_undo_step(qtbot, open_window):
    w = open_window
    s = w.session
    b = landed(qtbot, w, w.run(C.AddBehavior("square")))
    vid = s.view.video_id
    for a in (0.5, 2.0, 3.5):
        w.run(C.MarkBout(vid, b["id"], a, a + 1.0))
    wait_saved(qtbot, w)  # the table lists them once stored
    table = w.labels_table.table
    flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
    for r in range(3):
        table.selectionModel().select(table.model().index(r, 0), flags)
    w.labels_table.delete_button.click()
    assert "in one step" in w.status.message.text()
    wait_saved(qtbot, w)
    assert s.labels() == []
    w.run(C.Undo())
    wait_saved(qtbot, w)
    assert len(s.labels()) == 3


def test_training_monitor_is_readable(qtbot, open_window):
    from ethoscout.core.learn.process import TrainEvent

    w = open_window
    mon = w.training
    folder = "/very/long/path/to/some/project/folder/adapters/v3"
    mon.run_finished(TrainEvent("done", {"version": 3, "folder": folder, "active": True}))
    assert "adapters/v3" in mon.status.text() and folder not in mon.status.text()
    assert folder in mon.status.toolTip()
    mon.set_adapters([{"version": 1, "created": "2026-12-01T03:00:00", "active": True,
                       "metrics": {"validation": {"adapter": {"mean": {"hits@5": 0.9, "ndcg@5": 0.8}}}}}])
    lo, hi = mon.metric_plot.getViewBox().viewRange()[1]
    assert -0.05 <= lo and hi <= 1.05  # metrics lie in [0, 1]: no axis to 1.4
    assert mon.loss_plot.getPlotItem().legend is None and mon.metric_plot.getPlotItem().legend is None
    assert "hits@5" in mon.metric_legend.text()
    header = mon.table.horizontalHeader()
    fm = mon.table.fontMetrics()
    for c in (0, 1, 2):  # short columns fit their contents; the metrics, last, get the rest
        assert header.sectionSize(c) >= fm.horizontalAdvance(mon.table.item(0, c).text())
    assert mon.table.item(0, 1).text() == "✓" and "hits@5 0.900" in mon.table.item(0, 3).toolTip()
