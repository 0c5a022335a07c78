"""Behaviours: typing previews a curve, Enter adds it, edits rescore, drag on a row marks a bout,
drag and drop adds videos."""
from __future__ import annotations

import sqlite3

import numpy as np
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent, QMouseEvent
from PySide6.QtWidgets import QApplication

from ethoscout.gui import commands as C
from ethoscout.gui.timeline import PREVIEW_ID

from .conftest import landed, wait_curves, wait_indexed, wait_saved


def test_gui_typing_previews_then_enter_adds(qtbot, open_window):
    w = open_window
    entry = w.behaviors_panel.entry
    entry.setFocus()
    qtbot.keyClicks(entry, "a square moving")
    # debounced: one scoring for the whole sentence, shown as a preview row
    qtbot.waitUntil(lambda: PREVIEW_ID in w.timeline.rows and len(w.timeline.curve_data(PREVIEW_ID)[1]) > 0,
                    timeout=10000)
    assert w.session.preview_text == "a square moving"
    x, y = w.timeline.curve_data(PREVIEW_ID)
    qtbot.keyClick(entry, Qt.Key.Key_Return)
    assert entry.text() == "" and not entry.hasFocus()  # the next key is for the review
    wait_saved(qtbot, w)  # listed once stored (it needs its id)
    (b,) = w.session.behaviors
    assert b["name"] == "a square moving" and b["prompts"] == ["a square moving"]
    assert PREVIEW_ID not in w.timeline.rows and entry.text() == ""
    # A right after Enter starts reviewing the new behaviour's best clip, typing nothing
    qtbot.waitUntil(lambda: len(w.session.suggestions) > 0, timeout=10000)
    qtbot.keyClick(QApplication.focusWidget() or w, Qt.Key.Key_A)
    qtbot.waitUntil(lambda: w.session.view.clip is not None, timeout=5000)
    assert entry.text() == "" and w.session.preview_text in ("", None)
    # the curve is there at once (the preview's), and equals the real scoring
    bx, by = w.timeline.curve_data(b["id"])
    np.testing.assert_allclose(by, y)
    wait_curves(qtbot, w, b["id"])
    np.testing.assert_allclose(w.timeline.curve_data(b["id"])[1], y, atol=1e-5)
    # the heatmap overview has one row per behaviour over the whole video
    img = w.timeline.heat_image.image
    assert img.shape == (1, len(y)) and float(img.max()) == 1.0


def test_gui_edit_prompts_colour_and_delete(qtbot, open_window, dialogs, indexed_project):
    w = open_window
    b = landed(qtbot, w, w.run(C.AddBehavior("square")))
    wait_curves(qtbot, w, b["id"])
    before = w.session.curves[w.session.current_video_id][b["id"]].scores.copy()
    dialogs.behavior_edits.append({"prompts": ["a white square on a dark floor", "a square moving right"],
                                   "colour": "#123456", "key": "q"})
    w.behaviors_panel.list.setCurrentRow(0)
    w.behaviors_panel.edit_button.click()
    wait_saved(qtbot, w)
    b2 = w.session.behavior(b["id"])
    assert b2["prompts"] == ["a white square on a dark floor", "a square moving right"] and b2["key"] == "q"
    assert w.timeline.rows[b["id"]].colour == "#123456"
    qtbot.waitUntil(lambda: not np.allclose(w.session.curves[w.session.current_video_id][b["id"]].scores, before),
                    timeout=10000)
    # delete asks first; "no" keeps it
    w.run(C.MarkBout(w.session.current_video_id, b["id"], 1.0, 2.0))
    dialogs.confirmations.extend([False, True])
    w.behaviors_panel.delete_button.click()
    assert len(w.session.behaviors) == 1
    w.behaviors_panel.delete_button.click()
    wait_saved(qtbot, w)
    assert w.session.behaviors == [] and w.timeline.rows == {}
    con = sqlite3.connect(indexed_project / "project.sqlite")
    assert con.execute("SELECT COUNT(*) FROM labels").fetchone() == (0,)
    con.close()


def drag(widget, a: QPoint, b: QPoint, button=Qt.MouseButton.LeftButton):
    def send(kind, pos, buttons):
        ev = QMouseEvent(kind, QPointF(pos), QPointF(widget.mapToGlobal(pos)), button, buttons,
                         Qt.KeyboardModifier.NoModifier)
        QApplication.sendEvent(widget, ev)

    send(QMouseEvent.Type.MouseButtonPress, a, button)
    for i in range(1, 9):
        send(QMouseEvent.Type.MouseMove, a + (b - a) * (i / 8), button)
    send(QMouseEvent.Type.MouseButtonRelease, b, Qt.MouseButton.NoButton)


def test_gui_drag_on_row_marks_bout_and_click_seeks(qtbot, open_window, indexed_project):
    w = open_window
    b = landed(qtbot, w, w.run(C.AddBehavior("square")))
    wait_curves(qtbot, w, b["id"])
    w.timeline.set_range(0.0, 6.0)
    row = w.timeline.rows[b["id"]]
    vb = row.view
    view = w.timeline.glw.viewport()

    def to_widget(t):
        scene = vb.mapViewToScene(QPointF(t, float(np.mean(vb.viewRange()[1]))))
        return w.timeline.glw.mapFromScene(scene)

    drag(view, to_widget(2.0), to_widget(4.0))
    wait_saved(qtbot, w)
    labels = w.session.labels(w.session.current_video_id)
    assert len(labels) == 1
    lab = labels[0]
    assert lab["verdict"] == "manual" and lab["behavior_id"] == b["id"]
    assert abs(lab["start_s"] - 2.0) < 0.1 and abs(lab["end_s"] - 4.0) < 0.1
    assert [x.label_id for x in row.bouts] == [lab["id"]]
    # a click seeks
    qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=to_widget(5.0))
    assert abs(w.player.time_s - 5.0) < 0.1


def test_gui_drop_videos_onto_window(qtbot, window, project_dir, video_factory):
    w = window
    clip = video_factory("dropped.avi", frames=30)
    # nothing open yet: the drop says what to do
    w.drop_paths([str(clip)])
    assert "open or create a project" in w.status.message.text()
    w.run(C.NewProject(str(project_dir)))
    md = QMimeData()
    md.setUrls([QUrl.fromLocalFile(str(clip))])
    ev = QDropEvent(QPointF(200, 200), Qt.DropAction.CopyAction, md, Qt.MouseButton.NoButton,
                    Qt.KeyboardModifier.NoModifier)
    w.dropEvent(ev)
    qtbot.waitUntil(lambda: [v["name"] for v in w.session.videos] == ["dropped.avi"], timeout=10000)
    wait_indexed(qtbot, w)
    assert w.videos_panel.state_text(w.session.videos[0]["id"]) == "indexed"


def test_gui_starter_ethogram(qtbot, open_window):
    w = open_window
    landed(qtbot, w, w.run(C.AddBehavior("Rearing")))
    w.actions_["add_ethogram"].trigger()
    wait_saved(qtbot, w)
    names = [b["name"] for b in w.session.behaviors]
    assert names[0] == "Rearing" and "grooming" in names and names.count("Rearing") + names.count("rearing") == 1
    assert len(w.timeline.rows) == len(names) == 5
    grooming = w.session.behavior(next(b["id"] for b in w.session.behaviors if b["name"] == "grooming"))
    assert len(grooming["prompts"]) == 2 and grooming["key"] == "g"


def test_gui_behaviour_name_follows_the_cli_rule(qtbot, open_window, dialogs):
    """A name the CLI refuses (over 200 characters) is refused in the window too, with one line,
    and nothing is added or renamed."""
    w = open_window
    b = landed(qtbot, w, w.run(C.AddBehavior("square")))
    w.run(C.AddBehavior("x" * 201))
    assert [x["name"] for x in w.session.behaviors] == ["square"]
    assert w.status.message.text().endswith("behaviour name is longer than 200 characters")
    w.status.show_message("info", "")
    dialogs.behavior_edits.append({"name": "y" * 201})
    w.behaviors_panel.list.setCurrentRow(0)
    w.behaviors_panel.edit_button.click()
    assert w.session.behavior(b["id"])["name"] == "square"
    assert w.status.message.text().endswith("behaviour name is longer than 200 characters")
