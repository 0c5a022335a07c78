"""The window's changes (answers, coded and marked bouts, label edits and deletes, behaviours,
subjects, undo, redo) are written on the project's I/O queue, in the order they were made, so the
window never waits for the database: another ethoscout process (a long import) may hold its
write lock for a while.

- What a change stores is captured when its key is pressed (clip, video, times, subject,
  adapter); the window moves on at once. Views update when the queue has landed: each change
  names what it affects (labels, suggestions, scores, or everything after an undo), applied
  once for a run of changes landing together (a queue let go by another process), and never
  while an undo is still to land (the database may already be ahead of what was read).
- One worker, one priority: changes land in the order they were made, and an undo pressed
  before an answer landed applies after it. An undo whose preceding change failed does
  nothing (it would take back something else).
- While a change waits for the lock, ``session.write_wait`` holds "waiting for another
  ethoscout process (import)…" (event ``writes``); it clears when the change lands.
- A change that fails says so (``message``, level error) naming what was not saved; an answered
  clip goes back to the suggestions.
- Closing the project waits for the queued changes (``ProjectScope.close``). A training start
  waits for them without holding the window (``after_writes``): it starts once every change
  queued before the press is stored, does not start when one of them failed, and can be
  cancelled meanwhile (``cancel_all``, Esc); the waiting line says what waits behind the queue.
  Switching to another project that has opened waits the same way (``_switch_to``); meanwhile
  the project takes no new change (``_need_staying`` says why).
- A change that needs what the database returns (a new behaviour's id) does its part in
  ``landed``, on the session's thread; until then the waiting line says why it is not shown.
- A failed add gives the text back to the field it was typed in (``text_fields``), unless the
  user typed something else there since, and its message says so.
- Project settings (window spec, model, synchronised videos, the indexing memo) are queued the
  same way; until one lands, ``_setting`` reads the value queued last (the queue is the overlay).
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Callable

from ethoscout.core.data.errors import ProjectError
from ethoscout.core.data.project import Project
from ethoscout.core.errors import EthoscoutError
from ethoscout.core.jobs import DONE, FAILED, PRIORITY_INTERACTIVE, Job

from .base import SessionBase
from .scope import ProjectScope

log = logging.getLogger(__name__)

_writing = threading.local()  # .scope: the scope whose change this thread is writing


@dataclass(eq=False)
class PendingWrite:
    """A change queued for the database: ``what`` it is in words, its job, and for an answer
    the clip it answers (kept out of the suggestions until it lands)."""

    what: str
    job: Job | None = None
    clip_key: tuple | None = None
    times: tuple[float, float] | None = None  # a bout's stored times (snapped to frames)
    failed_as: str = "was not saved"
    # "change": an undoable step; "replay": an undo or redo (what it changes is known only once
    # it lands); "setting": the user's, not undoable; "memo": the program's own note (not
    # counted as the user's change; a failure to store it is only logged: it loses nothing)
    kind: str = "change"
    setting: tuple[str, object] | None = None  # (key, value) of a project setting it stores
    # the behaviour it adds (id None), edits, or deletes (fields None), with the fields it sets
    # that a new name or key is checked against at the key press ("name", "key")
    behavior: tuple[int | None, dict | None] | None = None

    @property
    def result(self):
        """What the write returned (a label id, an undo's description) once it landed."""
        return self.job.result if self.job is not None and self.job.status == DONE else None


@dataclass(eq=False)
class AfterWrites:
    """Something that must see the changes queued before it (a training run): ``start()`` runs
    once they are all stored; ``dropped(level, why)`` when it will not run (one of them failed,
    it was cancelled, the project closed)."""

    what: str  # "training", in words
    writes: list[PendingWrite]
    start: Callable[[], None]
    dropped: Callable[[str, str], None]
    again: str = ""  # how to ask for it again after a change before it failed ("start training again")

    @property
    def waiting(self) -> int:
        """How many of the user's changes it still waits for."""
        return sum(1 for w in self.writes if w.kind != "memo" and not w.job.finished)


def not_saved(pending: PendingWrite) -> str | None:
    """The line telling the user a finished change was not stored, None when it was."""
    job = pending.job
    if job is None or job.status == DONE:
        return None
    why = job.error or "the project closed before it was written"
    back = "; the clip is back in the suggestions" if pending.clip_key is not None else ""
    return f"{pending.what} {pending.failed_as} ({why}){back}"


class WritesMixin(SessionBase):

    @property
    def pending_writes(self) -> list[PendingWrite]:
        """The user's changes not stored yet, oldest first (memos left out)."""
        return [w for w in self.scope.writes if w.kind != "memo"] if self.scope is not None else []

    @property
    def write_wait(self) -> str:
        """Why the oldest change is not stored yet ("" when nothing waits)."""
        return self.scope.write_wait if self.scope is not None else ""

    def _watch_waits(self, scope: ProjectScope) -> None:
        """Route the project's "waiting for another ethoscout process" to ``write_wait``."""
        prefix = f"{scope.project.path}: "

        def on_wait(text: str) -> None:
            log.info("%s", text)
            if getattr(_writing, "scope", None) is not scope:
                return  # a write on the session's own thread: it can't show anything until it ends

            def show():
                if self.scope is scope and self.pending_writes:
                    scope.write_wait = text.removeprefix(prefix)
                    self.events.emit("writes")
            self.post(show)

        scope.project.on_wait = on_wait

    def _queue_write(self, what: str, write: Callable[[Project], object], affects: tuple[str, ...] = (),
                     clip_key: tuple | None = None, times: tuple[float, float] | None = None,
                     failed_as: str = "was not saved",
                     landed: Callable[[object], None] | None = None,
                     failed: Callable[[], str | None] | None = None, **marks) -> PendingWrite:
        """Run ``write(project)`` after the changes queued before it. Once it is stored (while
        this project is still open): ``landed(result)`` runs on the session's thread, and what
        it ``affects`` (see ``_refresh_after_writes``) is refreshed when no change is left.
        When it was not: ``failed()`` runs first, and what it returns ends the message.
        ``marks``: the other fields of ``PendingWrite`` (``kind``, ``setting``, ``behavior``)."""
        project = self._need_project()
        scope = self.scope
        if marks.get("kind", "change") in ("change", "replay"):
            self._need_staying()
        pending = PendingWrite(what, clip_key=clip_key, times=times, failed_as=failed_as, **marks)

        def work(ctx):
            _writing.scope = scope
            try:
                return write(project)
            finally:
                _writing.scope = None

        def done(job: Job) -> None:
            if pending in scope.writes:
                scope.writes.remove(pending)
            scope.write_wait = ""
            self.events.emit("writes")
            problem = not_saved(pending)
            if problem is None:
                scope.affected.update(affects)
                if landed is not None:
                    landed(job.result)
            else:
                self._say_not_saved(scope, pending, problem + ((failed() or "") if failed is not None else ""))
                scope.affected.add("labels")  # a cell or bout drawn as edited shows what is stored
                if clip_key is not None:
                    scope.affected.add("suggestions")  # its clip is offered again
            if not scope.writes:
                affected, scope.affected = set(scope.affected), set()
                self._refresh_after_writes(affected)
            self._start_waiting(scope)

        scope.writes.append(pending)
        pending.job = self._submit(scope.io, work, label=what, kind="write", on_done=done,
                                   priority=PRIORITY_INTERACTIVE)
        self.events.emit("writes")
        return pending

    # ---- work that must see the queued changes: started once they are stored ---------------

    @property
    def after_writes_waiting(self) -> list[AfterWrites]:
        return list(self.scope.waiters) if self.scope is not None else []

    def after_writes(self, what: str, start: Callable[[], None],
                     dropped: Callable[[str, str], None], again: str = "") -> AfterWrites | None:
        """Run ``start()`` once every change queued so far is stored, now when none is (returns
        None), else from the session's thread when the last of them lands; the window never
        waits here. When one of them is not stored, ``dropped("error", why)`` runs instead."""
        self._need_project()
        self._need_staying()
        if not self.scope.writes:
            start()
            return None
        waiter = AfterWrites(what, list(self.scope.writes), start, dropped, again or f"start {what} again")
        self.scope.waiters.append(waiter)
        self.events.emit("writes")
        return waiter

    def cancel_after_writes(self, waiter: AfterWrites) -> bool:
        """Drop ``waiter`` before it started (False when it is no longer waiting)."""
        if self.scope is None or waiter not in self.scope.waiters:
            return False
        self.scope.waiters.remove(waiter)
        waiter.dropped("info", f"{waiter.what} cancelled before it started; the queued changes are "
                               "still saved in order")
        self.events.emit("writes")
        return True

    def _need_staying(self) -> None:
        """Refuse a new change while the project is about to be replaced by another one (it
        would keep the switch waiting, or be left behind): Esc cancels the switch."""
        switch = self.scope.switch if self.scope is not None else None
        if switch is not None:
            raise ProjectError(self.scope.project.folder.name, f"no changes while {switch.what} (Esc stays here)")

    def _start_waiting(self, scope: ProjectScope) -> None:
        """Start (or drop) what waited for changes that have all landed now."""
        for waiter in [w for w in scope.waiters if all(p.job.finished for p in w.writes)]:
            if scope.closed:  # one that started replaced the project: the rest were dropped
                break
            scope.waiters.remove(waiter)
            lost = [p for p in waiter.writes if p.kind != "memo" and not_saved(p)]
            if lost:
                n = len(lost)
                waiter.dropped("error", f"{waiter.what} did not start: {n} change{'s' if n != 1 else ''} made before "
                               f"it {'were' if n != 1 else 'was'} not saved; make {'them' if n != 1 else 'it'} "
                               f"again, then {waiter.again}")
            else:
                waiter.start()
            self.events.emit("writes")

    def _report_unsaved(self, scope: ProjectScope) -> None:
        """After ``scope`` closed: name each queued change that was not stored (its callback,
        which would have said so, belonged to the project that is gone)."""
        for pending in scope.writes:
            problem = not_saved(pending)
            if problem is not None:
                self._say_not_saved(scope, pending, problem)

    def _say_not_saved(self, scope: ProjectScope, pending: PendingWrite, problem: str) -> None:
        log.warning("%s: %s", scope.folder, problem)
        if pending.kind != "memo":
            self.message("error", problem)

    def _give_back(self, field: str | None, *typed) -> Callable[[], str] | None:
        """For a failed add: put what was ``typed`` back into ``field`` (see ``text_fields``);
        None when nothing was typed (a script, an ethogram)."""
        if field is None:
            return None

        def failed() -> str:
            put_back = self.text_fields.get(field)
            return f"; what you typed is back in the {field} box" if put_back and put_back(*typed) else ""
        return failed

    # ---- project settings: queued like the changes, read through the queue ----------------

    def _setting(self, key: str, default=None):
        """Project setting ``key`` as last set: the value queued last, else the stored one."""
        project = self._need_project()
        for pending in reversed(self.scope.writes):
            if pending.setting is not None and pending.setting[0] == key:
                return pending.setting[1]
        return project.get_setting(key, default)

    def _queue_setting(self, key: str, value, what: str, kind: str = "setting",
                       failed: Callable[[], None] | None = None) -> PendingWrite | None:
        """Store project setting ``key`` after the queued changes (None: it holds ``value``
        already). ``failed()`` lets views that showed the value show the stored one again."""
        if self._setting(key) == value:
            return None
        return self._queue_write(what, lambda project: project.set_setting(key, value),
                                 kind=kind, setting=(key, value), failed=failed)

    # ---- undo / redo: ordered with the changes they take back -----------------------------

    def undo(self) -> PendingWrite:
        """Undo the last change, after the changes queued before this; the message says what."""
        return self._queue_replay("undo", "undid", "nothing to undo")

    def redo(self) -> PendingWrite:
        return self._queue_replay("redo", "redid", "nothing to redo")

    def _queue_replay(self, step: str, done_word: str, nothing: str) -> PendingWrite:
        steps = [w for w in self.pending_writes if w.kind in ("change", "replay")]
        before = steps[-1] if steps else None  # a setting is no step of the undo history

        def write(project: Project):
            if before is not None and before.job.status == FAILED:
                raise EthoscoutError(f"the change before it, {before.what}, was not saved")
            return getattr(project, step)()

        def landed(what):
            self.message("info", f"{done_word}: {what}" if what else nothing)

        return self._queue_write(step, write, ("everything",), failed_as="was not done", landed=landed,
                                 kind="replay")

    def _refresh_after_writes(self, affected: set[str]) -> None:
        """Bring views up to date with the stored changes: ``affected`` holds "labels",
        "suggestions", "scores" or "everything"."""
        raise NotImplementedError
