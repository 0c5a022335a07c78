"""Answers given while another ethoscout process holds the project's write lock (a long import
in a terminal): the window moves on at once and says it waits, the answers land in the order
given with exactly the clips that were on screen, an undo pressed before they landed applies
after them, a change that cannot be stored says so, and closing the project stores the queue."""
from __future__ import annotations

import subprocess
import sys

import pytest
from PySide6.QtCore import Qt, QTimer

from ethoscout.gui import commands as C

from .conftest import db_rows, wait_curves, wait_saved

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
    b = w.run(C.AddBehavior("a bright square"))
    wait_curves(qtbot, w, b["id"])
    qtbot.waitUntil(lambda: w.session.current_suggestion is not None, timeout=10000)
    w.next_suggestion()
    assert w.session.clip is not None
    return b


def test_answers_during_another_process_write_queue_in_order(qtbot, open_window, indexed_project, holder):
    w = open_window
    s = w.session
    reviewing(qtbot, w)
    ticks = []
    timer = QTimer(w)
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(20)

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
