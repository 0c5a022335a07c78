"""Coding by key as BORIS users expect: a state behaviour's key starts and stops an event at the
frame on screen, a point behaviour's key marks one frame; keys that belong to review or
playback are refused with a message; the behaviour editor offers state or point."""
from __future__ import annotations

from PySide6.QtCore import Qt

from ethoscout.gui import commands as C

from .conftest import db_rows, landed, wait_saved


def stored(folder):
    return db_rows(folder, "SELECT behavior_id, start_s, end_s, verdict, source FROM labels ORDER BY id")


def press(qtbot, w, key):
    w.activateWindow()
    qtbot.keyClick(w, key)
    wait_saved(qtbot, w)  # a coded event is queued for the database


def test_state_and_point_events_by_key_at_the_frame_on_screen(qtbot, open_window, indexed_project, dialogs):
    w = open_window
    s = w.session
    walk = landed(qtbot, w, w.run(C.AddBehavior("walking", key="w")))
    jump = landed(qtbot, w, w.run(C.AddBehavior("jumping", key="j", kind="point")))
    info = w.player.info
    w.player.seek_frame(10)
    press(qtbot, w, Qt.Key.Key_W)  # starts walking at frame 10
    assert s.view.coding == ((walk["id"], info.time_of(10)),) and stored(indexed_project) == []
    assert "coding: walking since" in w.status.message.text()
    w.player.seek_frame(14)
    (drawn,) = w.timeline._open_items  # the open event grows with the playhead on its row
    assert drawn in w.timeline.rows[walk["id"]].plot.items
    assert tuple(drawn.getRegion()) == (info.time_of(10), info.time_of(14))
    w.player.seek_frame(17)
    press(qtbot, w, Qt.Key.Key_J)  # a point event: frame 17, one frame long
    w.player.seek_frame(25)
    press(qtbot, w, Qt.Key.Key_W)  # stops walking at frame 25
    assert s.view.coding == () and w.timeline._open_items == []
    assert stored(indexed_project) == [
        (jump["id"], info.time_of(17), info.time_of(18), "manual", "manual"),
        (walk["id"], info.time_of(10), info.time_of(25), "manual", "manual"),
    ]
    # both are drawn on their rows of the timeline
    assert len(w.timeline.rows[walk["id"]].bouts) == 1 and len(w.timeline.rows[jump["id"]].bouts) == 1
    # one undo step per coded event
    w.run(C.Undo())
    wait_saved(qtbot, w)
    assert [r[0] for r in stored(indexed_project)] == [jump["id"]]

    # a key that answers suggestions is refused, for a new behaviour and in the editor
    assert w.run(C.AddBehavior("rearing", key="r")) is None
    assert "“r” is the key for “Reject the suggestion”" in w.status.message.text()
    dialogs.behavior_edits.append({"key": "A"})
    w.run(C.EditBehavior(walk["id"]))
    assert "Accept the suggestion" in w.status.message.text() and s.behavior(walk["id"])["key"] == "w"
    # and a key already coding another behaviour
    dialogs.behavior_edits.append({"key": "j"})
    w.run(C.EditBehavior(walk["id"]))
    assert "already codes “jumping”" in w.status.message.text()
    # the editor turns a state behaviour into a point one
    dialogs.behavior_edits.append({"kind": "point"})
    w.run(C.EditBehavior(walk["id"]))
    wait_saved(qtbot, w)
    assert s.behavior(walk["id"])["kind"] == "point"
    w.player.seek_frame(5)
    press(qtbot, w, Qt.Key.Key_W)
    assert stored(indexed_project)[-1] == (walk["id"], info.time_of(5), info.time_of(6), "manual", "manual")


def test_leaving_the_video_drops_an_unfinished_state_event(qtbot, window, pair_project):
    from .conftest import wait_indexed

    w = window
    s = w.session
    w.run(C.OpenProject(str(pair_project)))
    wait_indexed(qtbot, w)
    b = landed(qtbot, w, w.run(C.AddBehavior("grooming", key="g")))
    press(qtbot, w, Qt.Key.Key_G)
    assert s.view.coding and s.view.coding[0][0] == b["id"]
    s.show_video(s.videos[1]["id"])
    assert s.view.coding == () and "unfinished event(s) dropped" in w.status.message.text()
    assert s.labels() == []


def test_behaviour_editor_offers_state_or_point(qtbot, open_window):
    from ethoscout.gui.behaviors_panel import BehaviorEditor

    b = landed(qtbot, open_window, open_window.run(C.AddBehavior("tail rattling", key="t")))
    dlg = BehaviorEditor(b)
    qtbot.addWidget(dlg)
    assert [dlg.kind.itemData(i) for i in range(dlg.kind.count())] == ["state", "point"]
    assert dlg.kind.currentData() == "state" and dlg.changes() == {}
    dlg.kind.setCurrentIndex(1)
    assert dlg.changes() == {"kind": "point"}
