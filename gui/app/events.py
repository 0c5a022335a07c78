"""Notifications that a collection changed (videos, labels, curves...) and the ``post``
functions that bring worker callbacks back to the session's thread."""
from __future__ import annotations

import logging
import queue
import time
from collections import defaultdict
from typing import Callable

log = logging.getLogger(__name__)

TOPICS = ("project", "videos", "video_status", "behaviors", "labels", "curves", "preview", "suggestions",
          "model_error", "message", "job", "adapter", "index_done", "activity", "writes")


class Events:
    """Observer hub: ``on(topic, fn)``, ``off(topic, fn)``, ``emit(topic, *args)``. A failing
    listener is logged and the others still run."""

    def __init__(self):
        self._subs: dict[str, list[Callable]] = defaultdict(list)

    def on(self, topic: str, fn: Callable) -> None:
        self._subs[topic].append(fn)

    def off(self, topic: str, fn: Callable) -> None:
        if fn in self._subs.get(topic, []):
            self._subs[topic].remove(fn)

    def emit(self, topic: str, *args) -> None:
        for fn in list(self._subs.get(topic, [])):
            try:
                fn(*args)
            except Exception:
                log.exception("listener for %s failed", topic)


class CallQueue:
    """A ``post`` for sessions without Qt (scripts, tests): worker callbacks wait in a queue
    until the owning thread calls ``drain``."""

    def __init__(self):
        self._q: "queue.Queue[Callable[[], None]]" = queue.Queue()

    def __call__(self, fn: Callable[[], None]) -> None:
        self._q.put(fn)

    def drain(self, until: Callable[[], bool] | None = None, timeout: float = 30.0) -> bool:
        """Run queued callbacks; with ``until``, keep waiting for more until it returns True.
        Returns whether ``until`` was met (True when not given)."""
        end = time.monotonic() + timeout
        while True:
            try:
                while True:
                    self._q.get_nowait()()
            except queue.Empty:
                pass
            if until is None or until():
                return True
            if time.monotonic() > end:
                return False
            try:
                self._q.get(timeout=0.05)()
            except queue.Empty:
                pass
