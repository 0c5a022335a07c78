"""The thin Qt bridge: callbacks from worker threads become signals delivered on the GUI thread.

``GuiPoster`` is the ``post`` a ``Session`` uses: calling it from any thread emits a queued
signal carrying the callable, which runs on the thread the poster lives on. ``SessionSignals``
re-emits the session's collection events as Qt signals for widgets that prefer signal/slot
wiring (single values, such as the current video, are psygnal events of ``session.view``).
"""
from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QObject, Qt, Signal, Slot


class GuiPoster(QObject):
    _call = Signal(object)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._call.connect(self._run, Qt.ConnectionType.QueuedConnection)

    def __call__(self, fn: Callable[[], None]) -> None:
        self._call.emit(fn)

    @Slot(object)
    def _run(self, fn) -> None:
        fn()


class SessionSignals(QObject):
    """Qt signals mirroring a session's events (emitted on the GUI thread)."""

    project = Signal()
    videos = Signal()
    videoStatus = Signal(object)
    behaviors = Signal()
    labels = Signal()
    curves = Signal()
    preview = Signal()
    activity = Signal()
    suggestions = Signal()
    modelError = Signal(str)
    message = Signal(str, str)
    job = Signal(object, str, object)
    adapter = Signal(object)
    writes = Signal()

    def __init__(self, session, parent=None):
        super().__init__(parent)
        ev = session.events
        ev.on("project", self.project.emit)
        ev.on("videos", self.videos.emit)
        ev.on("video_status", self.videoStatus.emit)
        ev.on("behaviors", self.behaviors.emit)
        ev.on("labels", self.labels.emit)
        ev.on("curves", self.curves.emit)
        ev.on("preview", self.preview.emit)
        ev.on("activity", self.activity.emit)
        ev.on("suggestions", self.suggestions.emit)
        ev.on("model_error", self.modelError.emit)
        ev.on("message", self.message.emit)
        ev.on("job", self.job.emit)
        ev.on("adapter", self.adapter.emit)
        ev.on("writes", self.writes.emit)
