"""The desktop app's application layer: state and actions, without Qt.

Views (the PySide6 widgets in ``ethoscout.gui``) render this layer and call its methods or the
command objects in ``ethoscout.gui.commands``; they hold no state of their own. Nothing here
imports Qt (an import-linter contract checks it), so scripts and tests drive it headless.

    session = Session(prefs=Prefs(...), post=poster)   # post: runs worker callbacks on the GUI thread
    session.open_project(folder)
    session.view.events.video_id.connect(lambda new, old: ...)   # single values: change events
    session.events.on("labels", refresh)                          # collections: "changed" events

**View state** (``session.view``, a psygnal evented dataclass, ``state.ViewState``): each field
emits ``view.events.<field>(new, old)`` only when its value changes.
``video_id`` (the video in the player, on the timeline and the overview), ``clip`` (the clip
under review, a ``Suggestion``, always on ``video_id``), ``visible`` (the timeline's time range),
``behavior_id`` (the behaviour being reviewed), ``model`` (a ``ModelChoice``: checkpoint, device,
adapter version; changes only after it loaded), ``coding`` (state events started by key).

**Collection events** (``session.events.on(topic, fn)``): project · videos ·
video_status(video_id or None) · behaviors · labels · curves · preview · suggestions ·
model_error(message; "" when it is over) · message(level, text) · job(job, label, progress: the step reported, None on submit and finish) ·
adapter(version) · index_done(video_id) · activity (the current video's motion activity is in
``scope.activity``, see ``activity.ActivityMixin``) · writes (the queued changes,
``session.pending_writes``, or why they wait, ``session.write_wait``, changed; see ``writes``).

**The project scope** (``session.scope``, ``scope.ProjectScope``): the open ``Project``, its own
I/O queue, videos, behaviours, indexing status, curves, preview, ranked suggestions. It is
created by ``open_project``/``new_project`` (the window opens with ``open_project_in_background``:
the project open stays until the new one has opened and its own queued changes are stored) and
torn down as a unit by ``close_project`` (jobs cancelled, I/O queue joined, database closed).
Read-only shortcuts: ``session.project``, ``.videos``, ``.behaviors``, ``.video_status``,
``.curves``, ``.preview``, ``.suggestions``.

**Jobs**: ``session._submit(queue, fn, ..., kind=..., on_done=...)`` runs ``fn`` on the model
service (``session.service``) or the scope's I/O queue; its callbacks come back through ``post``
and are dropped when the project they belong to is no longer open. Code that hooks in (activity
rows, analysis panels) should submit through it, or listen to ``job`` events.

**Actions** (mixins, one file per responsibility): ``lifecycle`` (open/close, add_videos, index,
cache status, apply_prefs, cancel_all, shutdown), ``scoring`` (refresh_scores, set_preview),
``review`` (show_video, set_visible, follow, answer, next_suggestion, choose_suggestion,
behaviours, labels with frame snapping, ``code`` for coding by key), ``writes`` (answers, bouts,
undo/redo queued in order on the project's I/O queue), ``models``
(use_adapter, switch_model: all or nothing), ``activity`` (refresh_activity, activity_hint).
"""
from __future__ import annotations

from .events import CallQueue, Events
from .scope import ProjectScope
from .session import Session
from .state import Curve, ModelChoice, Tracked, VideoStatus, ViewState
from .suggestions import Suggestion, suggest_clips

__all__ = ["CallQueue", "Curve", "Events", "ModelChoice", "ProjectScope", "Session", "Suggestion",
           "Tracked", "VideoStatus", "ViewState", "suggest_clips"]
