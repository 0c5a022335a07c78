"""Reviewing suggestions: answers land in SQLite (queued in order, the next clip shows at once),
undo/redo, exports."""
from __future__ import annotations

import csv

from PySide6.QtCore import QItemSelectionModel, Qt

from ethoscout.gui import commands as C

from .conftest import db_rows as rows, landed, wait_curves, wait_saved




def add_scored_behavior(qtbot, w, text="a bright square", review=True):
    """A behaviour with its curve; with ``review``, its first clip on screen (N)."""
    b = landed(qtbot, w, w.run(C.AddBehavior(text)))
    wait_curves(qtbot, w, b["id"])
    qtbot.waitUntil(lambda: w.session.current_suggestion is not None, timeout=10000)
    if review:
        w.next_suggestion()
        assert w.session.clip is not None
    return b


def test_gui_accept_reject_store_the_clip_on_screen(qtbot, open_window, indexed_project):
    w = open_window
    b = add_scored_behavior(qtbot, w, review=False)
    # nothing plays yet: the first A shows the clip and stores nothing
    w.answer("accept")
    first = w.session.clip
    assert first.behavior_id == b["id"] and w.player.loop == (first.start_s, first.end_s)
    assert rows(indexed_project, "SELECT COUNT(*) FROM labels") == [(0,)]

    w.answer("accept")
    wait_saved(qtbot, w)  # another connection sees the row
    got = rows(indexed_project, "SELECT verdict, source, score, start_s, end_s, adapter_version, behavior_id "
                                "FROM labels")
    assert got == [("accept", "suggestion", first.score, first.start_s, first.end_s, None, b["id"])]
    second = w.session.clip
    assert second is not None and second.key() != first.key()
    # the next suggestion plays at once: looped, playhead inside it
    assert w.player.loop == (second.start_s, second.end_s) and w.player.playing
    # (the frame on screen at the clip's start may begin up to one frame before it)
    assert w.player.index == w.player.info.frame_at(second.start_s) or \
        second.start_s <= w.player.time_s <= second.end_s

    # keyboard: R rejects, S skips (nothing stored)
    w.activateWindow()
    w.player.pause()
    qtbot.keyClick(w, Qt.Key.Key_R)
    qtbot.keyClick(w, Qt.Key.Key_S)
    wait_saved(qtbot, w)
    got = rows(indexed_project, "SELECT verdict, start_s FROM labels ORDER BY id")
    assert got == [("accept", first.start_s), ("reject", second.start_s)]
    # answered clips are not suggested again
    keys = {s.key() for s in w.session.suggestions}
    assert first.key() not in keys and second.key() not in keys
    # the timeline shows the bouts: accepted solid, rejected hatched
    bouts = w.timeline.rows[b["id"]].bouts
    assert sorted(x.verdict for x in bouts) == ["accept", "reject"]
    hatched = [x for x in bouts if x.verdict == "reject"][0]
    assert hatched.brush.style() == Qt.BrushStyle.BDiagPattern
    assert w.labels_table.table.rowCount() == 2


def test_gui_undo_redo_with_keys(qtbot, open_window, indexed_project):
    w = open_window
    add_scored_behavior(qtbot, w)
    w.answer("accept")
    w.answer("reject")
    wait_saved(qtbot, w)
    assert rows(indexed_project, "SELECT COUNT(*) FROM labels") == [(2,)]
    w.activateWindow()
    qtbot.keyClick(w, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    wait_saved(qtbot, w)
    assert rows(indexed_project, "SELECT verdict FROM labels") == [("accept",)]
    assert w.labels_table.table.rowCount() == 1
    qtbot.keyClick(w, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    wait_saved(qtbot, w)
    assert sorted(rows(indexed_project, "SELECT verdict FROM labels")) == [("accept",), ("reject",)]
    assert w.labels_table.table.rowCount() == 2
    # undoing the behaviour itself removes its row from the timeline; redo brings it back
    w.run(C.Undo())
    w.run(C.Undo())
    w.run(C.Undo())
    wait_saved(qtbot, w)
    assert w.session.behaviors == [] and w.timeline.rows == {}
    w.run(C.Redo())
    wait_saved(qtbot, w)
    assert [b["name"] for b in w.session.behaviors] == ["a bright square"]
    assert len(w.timeline.rows) == 1


def test_gui_edit_and_delete_labels(qtbot, open_window, indexed_project):
    w = open_window
    b = add_scored_behavior(qtbot, w)
    vid = w.session.videos[0]["id"]
    bout = w.run(C.MarkBout(vid, b["id"], 1.0, 2.0))
    wait_saved(qtbot, w)
    lid = bout.result
    assert rows(indexed_project, "SELECT verdict, source, start_s, end_s FROM labels WHERE id = ?", (lid,)) == \
        [("manual", "manual", 1.0, 2.0)]
    # editing a cell in the table updates the row
    table = w.labels_table.table
    r = w.labels_table.label_ids().index(lid)
    table.item(r, 2).setText("2.5")
    wait_saved(qtbot, w)
    assert rows(indexed_project, "SELECT end_s FROM labels WHERE id = ?", (lid,)) == [(2.5,)]
    # a bad value is refused with a message, nothing changes
    r = w.labels_table.label_ids().index(lid)
    table.item(r, 2).setText("0.5")
    wait_saved(qtbot, w)
    assert "not after start" in w.status.message.text() and w.status.level == "error"
    qtbot.waitUntil(lambda: table.item(w.labels_table.label_ids().index(lid), 2).text() == "2.500")
    assert rows(indexed_project, "SELECT end_s FROM labels WHERE id = ?", (lid,)) == [(2.5,)]
    # Delete key on the selected row
    r = w.labels_table.label_ids().index(lid)
    flags = QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
    table.selectionModel().select(table.model().index(r, 0), flags)
    assert w.labels_table.selected_ids() == [lid]
    table.setFocus()
    qtbot.keyClick(table, Qt.Key.Key_Delete)
    wait_saved(qtbot, w)
    assert rows(indexed_project, "SELECT COUNT(*) FROM labels") == [(0,)]


def test_gui_exports(qtbot, open_window, indexed_project, tmp_path):
    w = open_window
    add_scored_behavior(qtbot, w, "a square")
    w.answer("accept")
    w.answer("reject")
    wait_saved(qtbot, w)
    labels_csv = tmp_path / "out" / "labels.csv"
    labels_csv.parent.mkdir()
    job = w.run(C.Export("labels", str(labels_csv)))
    qtbot.waitUntil(lambda: job.finished and labels_csv.exists(), timeout=10000)
    with open(labels_csv) as f:
        table = list(csv.DictReader(f))
    assert sorted(r["verdict"] for r in table) == ["accept", "reject"]
    # the menu path asks for the file name through the dialogs
    boris = tmp_path / "out" / "boris.tsv"
    w.dialogs.save_files.append(str(boris))
    w.actions_["export_boris_aggregated"].trigger()
    qtbot.waitUntil(lambda: "exported boris-aggregated" in w.status.message.text(), timeout=10000)
    text = boris.read_text()
    assert "Behavior" in text.splitlines()[0] and "a square" in text
    # clips: one file per label plus a manifest
    clips = tmp_path / "out" / "clips"
    job = w.run(C.Export("clips", str(clips)))
    qtbot.waitUntil(lambda: job.finished, timeout=30000)
    assert job.status == "done", job.error
    assert len(list(clips.glob("*.mp4"))) == 2 and (clips / "manifest.csv").exists()


def test_gui_choosing_a_suggestion_seeks_and_loops(qtbot, open_window):
    w = open_window
    add_scored_behavior(qtbot, w, review=False)
    assert not w.player.playing  # nothing plays until the user starts reviewing
    assert len(w.session.suggestions) >= 3
    third = w.session.suggestions[2]
    item = w.suggestions_panel.list.item(2)
    rect = w.suggestions_panel.list.visualItemRect(item)
    qtbot.mouseClick(w.suggestions_panel.list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert w.session.clip.key() == third.key()
    assert w.player.loop == (third.start_s, third.end_s) and w.player.playing
    assert w.player.index == w.player.info.frame_at(third.start_s)
    # it loops: after its end, playback returns to its start
    qtbot.waitUntil(lambda: w.player.time_s < third.start_s + 0.3 and w.player._clock.elapsed() > 0, timeout=1000)
    played_past_end = []
    w.player.positionChanged.connect(lambda i, t: played_past_end.append(t > third.end_s + 0.2))
    qtbot.wait(int((third.end_s - third.start_s) * 1000) + 600)
    assert not any(played_past_end)
    assert "Reviewing" in w.suggestions_panel.current.text()
