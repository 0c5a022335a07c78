"""Answers given while another ethoscout process holds the project's write lock (a long import
in a terminal): the window moves on at once and says it waits, the answers land in the order
given with exactly the clips that were on screen, an undo pressed before they landed applies
after them, a change that cannot be stored says so, and closing the project stores the queue.
Settings changed meanwhile are queued the same way; an add that fails gives the typed text back;
a name or key already queued is refused at once; switching to another project waits for the queue
without holding the window."""
from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
from dataclasses import replace

import pytest
from PySide6.QtCore import Qt, QTimer

from ethoscout.gui import commands as C

from .conftest import copy_project, db_rows, landed, wait_curves, wait_indexed, wait_saved

# Another process: announces "import" (as `ethoscout import` does) and holds BEGIN IMMEDIATE
# until the test writes a line to it, or for HOLD seconds at most (a hang guard).
HOLDER = r"""
import select, sqlite3, sys
from pathlib import Path
from ethoscout.core.data.dbfile import announce

folder, hold = Path(sys.argv[1]), float(sys.argv[2])
con = sqlite3.connect(folder / "project.sqlite", isolation_level=None)
with announce(folder, "import"):
    con.execute("BEGIN IMMEDIATE")
    print("locked", flush=True)
    select.select([sys.stdin], [], [], hold)
    con.execute("COMMIT")
"""


class LockHolder:
    def __init__(self, folder, hold_s: float = 15.0):
        self.proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(folder), str(hold_s)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout.readline().strip() == "locked"

    @property
    def holding(self) -> bool:
        return self.proc.poll() is None

    def release(self) -> None:
        if self.holding:
            self.proc.stdin.write("go\n")
            self.proc.stdin.flush()
        assert self.proc.wait(10) == 0

    def kill(self) -> None:
        if self.holding:
            self.proc.kill()
            self.proc.wait()


def ticking(parent) -> list:
    """A 20 ms timer's ticks: they keep coming only while the event loop runs."""
    ticks = []
    timer = QTimer(parent)
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(20)
    return ticks


@pytest.fixture
def holder():
    made = []

    def make(folder, hold_s=15.0):
        made.append(LockHolder(folder, hold_s))
        return made[-1]
    yield make
    for h in made:
        h.kill()


def stored(folder):
    return db_rows(folder, "SELECT video_id, behavior_id, start_s, end_s, verdict FROM labels ORDER BY id")


def on_screen(clip, verdict):
    return (clip.video_id, clip.behavior_id, clip.start_s, clip.end_s, verdict)


def press(qtbot, w, key, modifier=Qt.KeyboardModifier.NoModifier):
    w.activateWindow()
    qtbot.keyClick(w, key, modifier)


def reviewing(qtbot, w):
    """A scored behaviour with its first clip on screen."""
    b = landed(qtbot, w, w.run(C.AddBehavior("a bright square")))
    wait_curves(qtbot, w, b["id"])
    qtbot.waitUntil(lambda: w.session.current_suggestion is not None, timeout=10000)
    w.next_suggestion()
    assert w.session.clip is not None
    return b


def test_answers_during_another_process_write_queue_in_order(qtbot, open_window, indexed_project, holder):
    w = open_window
    s = w.session
    reviewing(qtbot, w)
    ticks = ticking(w)

    lock = holder(indexed_project)
    first = s.clip
    press(qtbot, w, Qt.Key.Key_A)
    second = s.clip
    assert second is not None and second.key() != first.key()  # the next clip, while the lock is held
    assert w.player.loop == (second.start_s, second.end_s)
    press(qtbot, w, Qt.Key.Key_R)
    third = s.clip
    assert third is not None and third.key() not in (first.key(), second.key())

    # the window keeps running and says why nothing is stored yet
    qtbot.waitUntil(lambda: w.status.waiting.isVisible(), timeout=5000)
    text = w.status.waiting.text()
    assert "waiting for another ethoscout process (import)…" in text and "2 changes queued" in text
    assert lock.holding and stored(indexed_project) == []
    assert ticks  # the event loop ran while the lock was held
    # answered clips are not offered again while they wait (a rescore meanwhile re-ranks)
    s.refresh_suggestions()
    assert {first.key(), second.key()}.isdisjoint(x.key() for x in s.suggestions)

    lock.release()
    wait_saved(qtbot, w)
    assert stored(indexed_project) == [on_screen(first, "accept"), on_screen(second, "reject")]
    assert not w.status.waiting.isVisible()
    assert w.labels_table.table.rowCount() == 2
    assert s.clip.key() == third.key()  # still the clip on screen


def test_undo_pressed_before_the_answer_landed_applies_after_it(qtbot, open_window, indexed_project, holder):
    w = open_window
    s = w.session
    reviewing(qtbot, w)
    lock = holder(indexed_project)
    first = s.clip
    press(qtbot, w, Qt.Key.Key_A)
    second = s.clip
    press(qtbot, w, Qt.Key.Key_R)
    press(qtbot, w, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # takes back the reject
    assert len(s.pending_writes) == 3 and stored(indexed_project) == []
    lock.release()
    wait_saved(qtbot, w)
    assert stored(indexed_project) == [on_screen(first, "accept")]
    assert w.status.message.text().startswith("undid: reject")
    assert w.labels_table.table.rowCount() == 1
    assert second.key() != first.key()


def test_a_change_that_cannot_be_stored_says_so_and_its_clip_comes_back(qtbot, open_window, indexed_project,
                                                                         holder, monkeypatch):
    from ethoscout.core.data import dbfile

    monkeypatch.setattr(dbfile, "WRITE_WAIT_LIMIT_S", 0.3)  # the lock is "held too long" sooner
    w = open_window
    s = w.session
    reviewing(qtbot, w)
    said = []
    s.events.on("message", lambda level, text: said.append((level, text)))
    lock = holder(indexed_project)
    first = s.clip
    press(qtbot, w, Qt.Key.Key_A)
    press(qtbot, w, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # would take back something else
    wait_saved(qtbot, w)
    lock.release()
    (level, answer), (level2, undo) = [m for m in said if m[0] == "error"]
    assert answer.startswith(f"accept a bright square {first.start_s:.1f}–{first.end_s:.1f} s was not saved (")
    assert "still being written by import" in answer and answer.endswith("the clip is back in the suggestions")
    assert undo.startswith("undo was not done (the change before it, accept a bright square")
    assert all("\n" not in text for _, text in said)
    assert w.status.level == "error" and w.status.message.text() == "⚠ " + undo
    assert stored(indexed_project) == []
    assert first.key() in {x.key() for x in s.suggestions}  # offered again


def test_closing_the_project_stores_the_answers_queued_behind_a_lock(qtbot, open_window, indexed_project,
                                                                      holder):
    w = open_window
    s = w.session
    reviewing(qtbot, w)
    holder(indexed_project, hold_s=1.5)  # lets go by itself: closing waits for it
    shown = []
    for key, verdict in ((Qt.Key.Key_A, "accept"), (Qt.Key.Key_R, "reject"), (Qt.Key.Key_A, "accept")):
        shown.append(on_screen(s.clip, verdict))
        press(qtbot, w, key)
    assert len(s.pending_writes) == 3
    w.close_project()
    assert s.project is None
    assert stored(indexed_project) == shown
    assert w.status.level != "error"


def ops(folder):
    return db_rows(folder, "SELECT description, undone FROM ops ORDER BY id")


def select_rows(qtbot, w, ids):
    from PySide6.QtCore import QItemSelectionModel

    table = w.labels_table.table
    table.clearSelection()
    flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
    for lid in ids:
        table.selectionModel().select(table.model().index(w.labels_table.label_ids().index(lid), 0), flags)
    assert sorted(w.labels_table.selected_ids()) == sorted(ids)
    table.setFocus()
    qtbot.keyClick(table, Qt.Key.Key_Delete)


def test_label_edits_and_deletes_during_another_process_write_land_in_order(qtbot, open_window,
                                                                             indexed_project, holder):
    w = open_window
    s = w.session
    b = reviewing(qtbot, w)
    vid = s.view.video_id
    bouts = [w.run(C.MarkBout(vid, b["id"], a, z)) for a, z in ((1.0, 2.0), (3.0, 4.0), (4.6, 5.4))]
    wait_saved(qtbot, w)
    one, two, three = (p.result for p in bouts)
    done_before = len(ops(indexed_project))

    def rows():
        return db_rows(indexed_project, "SELECT id, start_s, end_s, verdict, comment FROM labels ORDER BY id")

    before = rows()
    ticks = ticking(w)

    # as a user would, while another process holds the lock: a cell edited, a bout dragged on
    # the timeline, a row deleted with the Delete key, then Ctrl+Z (takes back the delete)
    lock = holder(indexed_project)
    table = w.labels_table.table
    table.item(w.labels_table.label_ids().index(one), 2).setText("2.5")
    w.timeline.boutMoved.emit(two, 3.2, 4.4)
    select_rows(qtbot, w, [three])
    press(qtbot, w, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert len(s.pending_writes) == 4
    qtbot.waitUntil(lambda: w.status.waiting.isVisible(), timeout=5000)
    assert "4 changes queued" in w.status.waiting.text()
    assert w.status.level != "error" and lock.holding and rows() == before
    ticks.clear()
    qtbot.wait(100)
    assert ticks  # the event loop runs while the lock is held

    lock.release()
    wait_saved(qtbot, w)
    (_, a1, z1, *_), (_, a2, z2, *_), (_, a3, z3, *_) = rows()
    assert (a1, z1) == (1.0, 2.5)
    assert (a2, z2) == (pytest.approx(3.2, abs=0.5 / 15), pytest.approx(4.4, abs=0.5 / 15))
    assert (a3, z3) == before[2][1:3]  # deleted, then brought back by the undo queued after it
    assert [d.split(":")[0] for d, _ in ops(indexed_project)[done_before:]] == [
        "edit a bright square 1.0–2.0 s", "edit a bright square 3.0–4.0 s",
        f"delete manual a bright square {before[2][1]:.1f}–{before[2][2]:.1f} s"]
    assert [u for _, u in ops(indexed_project)[done_before:]] == [0, 0, 1]
    assert w.status.message.text().startswith("undid: delete manual")
    assert table.rowCount() == 3 and not w.status.waiting.isVisible()

    # several rows deleted at once, after an edit of one of them: one step each, in order
    lock = holder(indexed_project)
    w.run(C.EditLabel(one, {"comment": "checked", "verdict": "accept"}))
    select_rows(qtbot, w, [one, two])
    assert len(s.pending_writes) == 2 and rows()[0][3:] == ("manual", None)
    lock.release()
    wait_saved(qtbot, w)
    assert [r[0] for r in rows()] == [three]
    assert [d for d, _ in ops(indexed_project)[-2:]] == [
        "edit a bright square 1.0–2.5 s: comment checked, verdict accept", "delete 2 labels"]
    assert w.labels_table.label_ids() == [three]
    press(qtbot, w, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # both rows come back, edited
    wait_saved(qtbot, w)
    assert [r[0] for r in rows()] == [one, two, three] and rows()[0][3:] == ("accept", "checked")


def test_behaviours_and_subjects_changed_during_another_process_write_show_when_they_land(
        qtbot, open_window, indexed_project, holder, dialogs):
    w = open_window
    s = w.session
    square = landed(qtbot, w, w.run(C.AddBehavior("square")))
    done_before = len(ops(indexed_project))

    def names():
        return db_rows(indexed_project, "SELECT name, colour FROM behaviors ORDER BY id")

    lock = holder(indexed_project)
    # the editor, the entry, the subject bar and the delete button, as a user would
    dialogs.behavior_edits.append({"colour": "#123456"})
    w.behaviors_panel.list.setCurrentRow(0)
    w.behaviors_panel.edit_button.click()
    entry = w.behaviors_panel.entry
    entry.setFocus()
    qtbot.keyClicks(entry, "a square moving")
    qtbot.keyClick(entry, Qt.Key.Key_Return)
    assert entry.text() == ""  # taken; listed when it is stored (it needs its id)
    bar = w.analysis.subject_bar
    bar.entry.setText("m1:1")
    qtbot.keyClick(bar.entry, Qt.Key.Key_Return)
    w.behaviors_panel.list.setCurrentRow(0)
    w.behaviors_panel.delete_button.click()  # confirmed by the scripted dialog
    assert len(s.pending_writes) == 4
    qtbot.waitUntil(lambda: w.status.waiting.isVisible(), timeout=5000)
    assert "4 changes queued" in w.status.waiting.text() and w.status.level != "error"
    assert lock.holding and names() == [("square", square["colour"])] and s.subjects == []
    assert [b["name"] for b in s.behaviors] == ["square"]

    lock.release()
    wait_saved(qtbot, w)
    assert [d for d, _ in ops(indexed_project)[done_before:]] == [
        "edit behaviour square", "add behaviour a square moving", "add subject m1", "delete behaviour square"]
    (moving,) = s.behaviors
    assert names() == [("a square moving", moving["colour"])]
    assert s.view.behavior_id == moving["id"] and list(w.timeline.rows) == [moving["id"]]
    assert s.subject_name() == "m1" and [x["key"] for x in s.subjects] == ["1"]
    assert not w.status.waiting.isVisible()


def stored_settings(folder):
    return {k: json.loads(v) for k, v in db_rows(folder, "SELECT key, value FROM settings")}


def active_adapter(folder):
    return db_rows(folder, "SELECT version FROM adapters WHERE active = 1")


def test_settings_changed_during_another_process_write_are_queued_and_land(qtbot, window, pair_project, holder,
                                                                           monkeypatch):
    w = window
    s = w.session
    w.run(C.OpenProject(str(pair_project)))
    wait_indexed(qtbot, w)
    qtbot.waitUntil(lambda: not s.scope.writes, timeout=10000)  # the indexing memo of the opening
    before = stored_settings(pair_project)
    assert s.view.model.adapter_version == 1 and active_adapter(pair_project) == [(1,)]
    ticks = ticking(w)

    lock = holder(pair_project)
    # as a user would: a second camera beside the player with its offset, a finer stride in the
    # settings, the base model instead of adapter v1
    short, long = sorted(s.videos, key=lambda v: v["duration_s"])
    s.show_video(short["id"])
    sync = w.analysis.sync
    sync.choice.setCurrentIndex(sync.choice.findData(long["id"]))
    sync.add_button.click()
    (pane,) = sync.panes
    pane.offset.setValue(1.5)
    assert s.companions() == [(long["id"], 1.5)] and sync.panes == [pane]  # shown at once, kept
    w.apply_prefs(replace(s.prefs, stride_s=0.25))
    w.training.base_button.click()
    qtbot.waitUntil(lambda: s.view.model.adapter_version is None, timeout=30000)  # the model loads meanwhile
    assert w.training.table.item(0, 1).text() == ""  # v1 no longer shown as the one in use
    qtbot.waitUntil(lambda: w.status.waiting.isVisible(), timeout=5000)
    assert "waiting for another ethoscout process (import)…" in w.status.waiting.text()
    assert "4 changes queued" in w.status.waiting.text() and w.status.level != "error"
    assert lock.holding and stored_settings(pair_project) == before and active_adapter(pair_project) == [(1,)]
    ticks.clear()
    qtbot.wait(100)
    assert ticks  # the event loop runs while the lock is held

    lock.release()
    wait_saved(qtbot, w)
    after = stored_settings(pair_project)
    assert after["sync"] == {str(short["id"]): [[long["id"], 1.5]]}
    assert after["window_spec"] == {**before["window_spec"], "stride_s": 0.25}
    assert active_adapter(pair_project) == []
    assert not w.status.waiting.isVisible() and w.status.level != "error"
    assert sync.panes == [pane] and s.companions() == [(long["id"], 1.5)]
    qtbot.waitUntil(lambda: not s.scope.writes, timeout=10000)
    assert stored_settings(pair_project)["gui_index_status"]["spec"]["stride_s"] == 0.25

    # one that cannot be stored says so, and the view shows the stored value again
    from ethoscout.core.data import dbfile

    monkeypatch.setattr(dbfile, "WRITE_WAIT_LIMIT_S", 0.3)
    lock = holder(pair_project)
    pane.offset.setValue(2.0)
    assert s.companions() == [(long["id"], 2.0)]
    wait_saved(qtbot, w)
    lock.release()
    assert w.status.message.text().startswith(
        f"⚠ the synchronised-videos setting of {short['name']} was not saved (")
    assert s.companions() == [(long["id"], 1.5)] and sync.panes[0].offset.value() == 1.5
    monkeypatch.undo()

    w.close_project()
    w.run(C.OpenProject(str(pair_project)))  # remembered
    assert s.prefs.stride_s == 0.25 and s.view.model.adapter_version is None
    assert s.companions(short["id"]) == [(long["id"], 1.5)]


def test_an_add_that_fails_when_it_lands_gives_the_typed_text_back(qtbot, open_window, indexed_project,
                                                                     holder, monkeypatch):
    from ethoscout.core.data import dbfile

    monkeypatch.setattr(dbfile, "WRITE_WAIT_LIMIT_S", 0.5)  # the lock is "held too long" sooner
    w = open_window
    s = w.session
    said = []
    s.events.on("message", lambda level, text: said.append((level, text)))
    entry, subject = w.behaviors_panel.entry, w.analysis.subject_bar.entry
    lock = holder(indexed_project)
    entry.setFocus()
    qtbot.keyClicks(entry, "a square moving")
    qtbot.keyClick(entry, Qt.Key.Key_Return)
    subject.setFocus()
    qtbot.keyClicks(subject, "m1:1")
    qtbot.keyClick(subject, Qt.Key.Key_Return)
    assert entry.text() == "" and subject.text() == "" and len(s.pending_writes) == 2
    wait_saved(qtbot, w)
    # neither was stored: each text is back where it was typed, and the message says so
    assert entry.text() == "a square moving" and subject.text() == "m1:1"
    (_, behaviour), (_, animal) = [m for m in said if m[0] == "error"]
    assert behaviour.startswith("add behaviour a square moving was not saved (") and "import" in behaviour
    assert behaviour.endswith("; what you typed is back in the behaviour box")
    assert animal.startswith("add subject m1 was not saved (") and animal.endswith("back in the subject box")
    assert w.status.message.text() == "⚠ " + animal and all("\n" not in t for _, t in said)
    qtbot.waitUntil(lambda: s.preview_text == "a square moving", timeout=5000)  # its curve previews again

    # something else typed in the box since: that stays, the message names what was lost
    said.clear()
    qtbot.keyClick(entry, Qt.Key.Key_Return)
    qtbot.keyClicks(entry, "a circle")
    wait_saved(qtbot, w)
    lock.release()
    (_, behaviour), = [m for m in said if m[0] == "error"]
    assert entry.text() == "a circle"
    assert behaviour.startswith("add behaviour a square moving was not saved (") and "back in" not in behaviour
    assert db_rows(indexed_project, "SELECT name FROM behaviors") == []
    assert db_rows(indexed_project, "SELECT name FROM subjects") == []

    # stored once the lock is free
    qtbot.keyClick(subject, Qt.Key.Key_Return)
    wait_saved(qtbot, w)
    assert subject.text() == "" and s.subject_name() == "m1"


def test_a_name_already_queued_is_refused_at_once_like_a_stored_one(qtbot, open_window, indexed_project, holder,
                                                                     dialogs):
    w = open_window
    s = w.session
    square = landed(qtbot, w, w.run(C.AddBehavior("square")))
    entry = w.behaviors_panel.entry

    def add(text):
        entry.setFocus()
        entry.clear()
        qtbot.keyClicks(entry, text)
        qtbot.keyClick(entry, Qt.Key.Key_Return)

    lock = holder(indexed_project)
    add("a square moving")
    assert entry.text() == "" and len(s.pending_writes) == 1
    add("A  Square moving")  # the same name to the database (case and spaces ignored)
    queued_refusal = w.status.message.text()
    assert w.status.level == "error" and entry.text() == "A  Square moving" and len(s.pending_writes) == 1
    add("Square")  # stored
    stored_refusal = w.status.message.text()
    assert w.status.level == "error" and entry.text() == "Square" and len(s.pending_writes) == 1
    assert queued_refusal == "⚠ behaviour: “A Square moving” already exists (names ignore upper and lower case); " \
                             "choose another name"
    assert stored_refusal == queued_refusal.replace("A Square moving", "Square")
    dialogs.behavior_edits.append({"name": "A square MOVING"})  # a rename to a queued name: the same
    w.behaviors_panel.list.setCurrentRow(0)
    w.behaviors_panel.edit_button.click()
    assert w.status.message.text() == queued_refusal.replace("A Square moving", "A square MOVING")
    assert len(s.pending_writes) == 1
    # a name whose behaviour is deleted first is free again; the ethogram skips queued names
    w.behaviors_panel.list.setCurrentRow(0)
    w.behaviors_panel.delete_button.click()  # confirmed by the scripted dialog
    add("SQUARE")
    assert entry.text() == "" and len(s.pending_writes) == 3
    first = w.run(C.AddEthogram())
    assert w.run(C.AddEthogram()) == [] and len(first) == 5
    said = []
    s.events.on("message", lambda level, text: said.append(level))
    lock.release()
    wait_saved(qtbot, w)
    assert "error" not in said  # every queued add landed
    names = [n for (n,) in db_rows(indexed_project, "SELECT name FROM behaviors ORDER BY id")]
    assert names[:2] == ["a square moving", "SQUARE"] and len(names) == 7 and square["name"] not in names


def test_a_key_already_queued_is_refused_at_once_like_a_stored_one(qtbot, open_window, indexed_project, holder,
                                                                   dialogs):
    w = open_window
    s = w.session
    landed(qtbot, w, w.run(C.AddBehavior("square")))
    landed(qtbot, w, w.run(C.AddBehavior("circle", key="c")))
    panel = w.behaviors_panel

    def edit(row, fields):
        dialogs.behavior_edits.append(fields)
        panel.list.setCurrentRow(row)
        panel.edit_button.click()

    def refused(**add):
        assert w.run(C.AddBehavior(**add)) is None and w.status.level == "error"
        return w.status.message.text()

    lock = holder(indexed_project)
    stored_refusal = refused(text="triangle", key="C")
    assert stored_refusal == "⚠ behaviour key: “C” already codes “circle”"
    edit(0, {"key": "k"})  # square's key, queued
    assert len(s.pending_writes) == 1
    assert refused(text="triangle", key="K") == stored_refusal.replace("C", "K").replace("circle", "square")
    assert w.run(C.AddBehavior("triangle", key="t")) is not None  # a queued add's key counts too
    edit(1, {"key": "T"})
    assert w.status.message.text() == stored_refusal.replace("C", "T").replace("circle", "triangle")
    edit(0, {"name": "box"})  # the queued key follows the queued rename
    assert refused(text="hexagon", key="k") == stored_refusal.replace("C", "k").replace("circle", "box")
    assert len(s.pending_writes) == 3
    # a key whose behaviour is deleted first is free again; the ethogram leaves out queued keys
    panel.list.setCurrentRow(1)
    panel.delete_button.click()  # circle, confirmed by the scripted dialog
    assert w.run(C.AddBehavior("hexagon", key="c")) is not None
    assert w.run(C.AddBehavior("pentagon", key="g")) is not None  # the ethogram's grooming key
    assert len(w.run(C.AddEthogram())) == 5 and len(s.pending_writes) == 11
    assert db_rows(indexed_project, "SELECT name, key FROM behaviors ORDER BY id") == [("square", None),
                                                                                       ("circle", "c")]
    said = []
    s.events.on("message", lambda level, text: said.append(level))
    lock.release()
    wait_saved(qtbot, w)
    assert "error" not in said  # every queued change landed
    keys = dict(db_rows(indexed_project, "SELECT name, key FROM behaviors"))
    assert {n: keys[n] for n in ("box", "triangle", "hexagon", "pentagon", "grooming", "rearing")} == {
        "box": "k", "triangle": "t", "hexagon": "c", "pentagon": "g", "grooming": None, "rearing": "e"}
    assert "circle" not in keys


def test_training_pressed_during_another_process_write_starts_once_the_answers_before_it_land(
        qtbot, open_window, indexed_project, holder):
    w = open_window
    s = w.session
    reviewing(qtbot, w)
    ticks = ticking(w)
    started_with, finished = [], []
    w.runner.started.connect(lambda: started_with.append(stored(indexed_project)))
    w.runner.finished.connect(finished.append)
    monitor = w.training
    monitor.epochs.setValue(2)

    lock = holder(indexed_project)
    answers = []
    for key, verdict in ((Qt.Key.Key_A, "accept"), (Qt.Key.Key_R, "reject")):
        answers.append(on_screen(s.clip, verdict))
        press(qtbot, w, key)
    monitor.train_button.click()
    # the window goes on: the start waits behind the answers, says so, and Esc drops it
    assert not w.runner.running and not monitor.train_button.isEnabled() and monitor.stop_button.isEnabled()
    assert monitor.status.text() == "training starts once the 2 queued changes are saved …"
    assert w.status.message.text() == "training starts once the 2 queued changes are saved"
    qtbot.waitUntil(lambda: w.status.waiting.isVisible(), timeout=5000)
    assert w.status.waiting.text().endswith(
        "(import)… 2 changes queued; then training starts (Esc cancels)")
    ticks.clear()
    qtbot.wait(100)
    assert ticks and lock.holding and stored(indexed_project) == [] and not w.runner.running
    press(qtbot, w, Qt.Key.Key_Escape)
    assert w.status.message.text() == "training cancelled before it started; the queued changes are still saved in order"
    assert monitor.train_button.isEnabled() and not monitor.stop_button.isEnabled()
    assert w.status.waiting.text().endswith("2 changes queued") and len(s.pending_writes) == 2

    # pressed again after one more answer: it learns from all three, once they are stored
    answers.append(on_screen(s.clip, "accept"))
    press(qtbot, w, Qt.Key.Key_A)
    press(qtbot, w, Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier)
    assert "3 changes queued; then training starts" in w.status.waiting.text()
    qtbot.wait(200)
    assert not w.runner.running and not started_with
    lock.release()
    qtbot.waitUntil(lambda: bool(finished), timeout=120000)
    assert started_with == [answers]  # every answer given before the press was stored when it started
    assert finished[0].event == "done", finished[0].describe()
    (metrics,) = db_rows(indexed_project, "SELECT metrics FROM adapters WHERE version = ?",
                         (finished[0].data["version"],))
    split = json.loads(metrics[0])["split"]
    ids = [i for (i,) in db_rows(indexed_project, "SELECT id FROM labels")]
    assert sorted(split["train_label_ids"] + split["val_label_ids"]) == sorted(ids) and len(ids) == 3
    assert not w.status.waiting.isVisible() and w.status.level != "error"


# An `ethoscout import` killed half-way: its first batch is in the file, marked as pending; the
# next opening takes it back, and that needs the write lock.
KILLED_IMPORT = r"""
import os, signal, sys
from ethoscout.core.data.project import Project

p = Project.open(sys.argv[1])
with p.grouped_action("import half.csv") as group:
    with group.step():
        p.add_behavior("half imported")
    os.kill(os.getpid(), signal.SIGKILL)
"""


def behaviour_names(folder):
    return [n for (n,) in db_rows(folder, "SELECT name FROM behaviors ORDER BY id")]


def test_a_project_opened_during_another_process_write_opens_in_the_background(
        qtbot, open_window, indexed_project, indexed_template, holder, tmp_path, monkeypatch):
    w = open_window
    s = w.session
    first = s.project.folder
    other = copy_project(indexed_template, tmp_path / "other")
    assert subprocess.run([sys.executable, "-c", KILLED_IMPORT, str(other)]).returncode == -signal.SIGKILL
    assert behaviour_names(other) == ["half imported"]
    ticks = ticking(w)

    lock = holder(other)
    w.open_project(str(other))  # as File > Open, a recent project or a dropped folder do
    # the window goes on and says what the opening waits for; the project open stays whole
    qtbot.waitUntil(lambda: "waiting" in w.status.work.text(), timeout=5000)
    assert w.status.work.text() == "opening other: waiting for another ethoscout process (import)…"
    assert w.status.cancel.isVisible()
    ticks.clear()
    qtbot.wait(100)
    assert ticks and lock.holding
    assert s.project.folder == first and w.windowTitle() == f"ethoscout — {first.name}"
    landed(qtbot, w, w.run(C.AddBehavior("still in use")))  # and takes changes meanwhile
    press(qtbot, w, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: s.opening is None, timeout=5000)
    assert w.status.message.text() == f"stopped opening other; {first.name} stays open"
    assert s.project.folder == first and [b["name"] for b in s.behaviors] == ["still in use"]
    assert behaviour_names(other) == ["half imported"] and not w.status.cancel.isVisible()

    # again, and the other process lets go: it opens whole, the killed import taken back
    w.open_project(str(other))
    qtbot.waitUntil(lambda: "waiting" in w.status.work.text(), timeout=5000)
    assert s.project.folder == first
    lock.release()
    qtbot.waitUntil(lambda: s.project is not None and s.project.folder == other.resolve(), timeout=10000)
    assert w.windowTitle() == "ethoscout — other" and s.behaviors == [] and behaviour_names(other) == []
    assert w.status.message.text() == "opened other"
    assert w.status.level != "error" and behaviour_names(first) == ["still in use"]

    # one that cannot open in time says so in one line; the project open stays
    from ethoscout.core.data import dbfile
    from ethoscout.core.data.schema import SCHEMA_VERSION, migrate

    old = tmp_path / "old"
    old.mkdir()
    con = sqlite3.connect(old / "project.sqlite", isolation_level=None)
    con.execute("PRAGMA journal_mode = WAL")
    migrate(con, "old", target=SCHEMA_VERSION - 1)  # opening migrates it: that needs the lock
    con.close()
    monkeypatch.setattr(dbfile, "WRITE_WAIT_LIMIT_S", 0.5)
    lock = holder(old)
    w.open_project(str(old))
    qtbot.waitUntil(lambda: s.opening is None, timeout=10000)
    assert w.status.level == "error"
    assert w.status.message.text() == f"⚠ {old.resolve() / 'project.sqlite'}: is still being written by import " \
                                      "after 1 s; try again when it has finished"
    assert s.project.folder == other.resolve() and w.windowTitle() == "ethoscout — other"

    # with no project open, a cancelled opening leaves none open
    monkeypatch.undo()
    w.close_project()
    w.open_project(str(old))
    qtbot.waitUntil(lambda: "waiting" in w.status.work.text(), timeout=5000)
    w.status.cancel.click()
    qtbot.waitUntil(lambda: s.opening is None, timeout=5000)
    assert s.project is None and w.windowTitle() == "ethoscout"
    assert w.status.message.text() == "stopped opening old; no project is open"
    assert db_rows(old, "PRAGMA user_version") == [(SCHEMA_VERSION - 1,)]


def test_switching_projects_during_another_process_write_waits_for_the_old_queue_without_holding_the_window(
        qtbot, open_window, indexed_project, indexed_template, holder, tmp_path, monkeypatch):
    w = open_window
    s = w.session
    first = s.project.folder
    other = copy_project(indexed_template, tmp_path / "other")
    reviewing(qtbot, w)
    ticks = ticking(w)

    lock = holder(indexed_project)
    shown = []
    for key, verdict in ((Qt.Key.Key_A, "accept"), (Qt.Key.Key_R, "reject")):
        shown.append(on_screen(s.clip, verdict))
        press(qtbot, w, key)
    w.open_project(str(other))  # it opens at once; the switch waits for the two answers
    qtbot.waitUntil(lambda: s.scope.switch is not None, timeout=5000)
    assert w.status.message.text() == f"other opens once the 2 changes are saved in {first.name}; Esc stays"
    qtbot.waitUntil(lambda: w.status.waiting.isVisible(), timeout=5000)
    assert w.status.waiting.text().endswith("2 changes queued; then switching to other starts (Esc cancels)")
    ticks.clear()
    qtbot.wait(100)
    assert ticks and lock.holding and s.project.folder == first and w.windowTitle() == f"ethoscout — {first.name}"
    # the old project takes no more changes meanwhile, and says why
    on = s.clip
    press(qtbot, w, Qt.Key.Key_A)
    refused = f"⚠ {first.name}: no changes while switching to other (Esc stays here)"
    assert w.status.level == "error" and w.status.message.text() == refused
    assert s.clip == on and len(s.pending_writes) == 2
    # Esc: it stays, whole and usable
    press(qtbot, w, Qt.Key.Key_Escape)
    assert w.status.message.text() == f"stayed in {first.name} (its queued changes are saved in order); " \
                                      "other was not opened"
    assert s.scope.switch is None and s.project.folder == first and len(s.pending_writes) == 2
    shown.append(on_screen(s.clip, "accept"))
    press(qtbot, w, Qt.Key.Key_A)
    assert len(s.pending_writes) == 3 and not w.status.waiting.text().endswith("(Esc cancels)")

    # again, and the other process lets go: the answers land in the old project, then it switches
    w.open_project(str(other))
    qtbot.waitUntil(lambda: s.scope.switch is not None, timeout=5000)
    assert s.project.folder == first and stored(indexed_project) == []
    w.training.train_button.click()  # training would change it too
    assert w.status.message.text() == refused and w._train_wait is None and not s.after_writes_waiting[1:]
    lock.release()
    qtbot.waitUntil(lambda: s.project.folder == other.resolve(), timeout=10000)
    assert stored(indexed_project) == shown and stored(other) == []
    assert w.windowTitle() == "ethoscout — other" and w.status.message.text() == "opened other"
    assert w.status.level != "error" and not w.status.waiting.isVisible()

    # a change that cannot be stored keeps the old project open, to make it again
    from ethoscout.core.data import dbfile

    monkeypatch.setattr(dbfile, "WRITE_WAIT_LIMIT_S", 0.5)
    landed(qtbot, w, w.run(C.AddBehavior("circle")))
    lock = holder(other)
    assert w.run(C.AddBehavior("square")) is not None
    w.open_project(str(first))
    qtbot.waitUntil(lambda: s.scope.switch is None and not s.pending_writes, timeout=10000)
    assert w.status.level == "error" and w.status.message.text() == (
        "⚠ switching to first did not start: 1 change made before it was not saved; make it again, then open "
        "first again".replace("first", first.name))
    assert s.project.folder == other.resolve() and stored(indexed_project) == shown
    assert behaviour_names(other) == ["circle"] and lock.holding
