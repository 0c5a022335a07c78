"""Progress reports (count, total, rate, ETA) and cooperative cancellation for long work."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Callable


class Cancelled(Exception):
    """Raised inside long work when the user cancelled it; finished parts are kept."""


@dataclass
class Progress:
    task: str
    total: int
    done: int = 0
    item: str = ""  # what is being worked on (a video name, a behaviour)
    started: float = field(default_factory=time.monotonic)
    first_done: int = 0  # work already finished before this run (a resumed index)

    @property
    def rate(self) -> float:
        elapsed = time.monotonic() - self.started
        return (self.done - self.first_done) / elapsed if elapsed > 0 else 0.0

    @property
    def eta_s(self) -> float | None:
        r = self.rate
        return (self.total - self.done) / r if r > 0 else None

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 1.0

    def describe(self) -> str:
        eta = f", ETA {self.eta_s:.0f} s" if self.eta_s is not None else ""
        return f"{self.task} {self.item}: {self.done}/{self.total} ({self.rate:.2f}/s{eta})"


ProgressFn = Callable[[Progress], None]

# One-time preparation before the first result (loading weights, ONNX export, graph
# optimisation): reported as Progress(task=WARMUP, total=0, item=what is happening now).
WARMUP = "warming up"
DOWNLOAD = "downloading"  # a model download, in bytes
WARMUP_TASKS = (WARMUP, DOWNLOAD)


def format_bytes(n: float) -> str:
    """A byte count for people: 850 KB, 12.4 MB, 605 MB, 1.6 GB."""
    for unit, size in (("GB", 2 ** 30), ("MB", 2 ** 20), ("KB", 2 ** 10)):
        if n >= size:
            value = n / size
            return f"{value:.1f} {unit}" if value < 100 else f"{value:.0f} {unit}"
    return f"{int(n)} B"


def warmup(on_progress: ProgressFn | None, what: str) -> None:
    """Say which step of the warm-up starts now."""
    if on_progress is not None:
        on_progress(Progress(WARMUP, total=0, item=what))


class CancelToken:
    def __init__(self):
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        if self._event.is_set():
            raise Cancelled()
