"""The values the app's views render, and the small records the session keeps.

``ViewState`` is an evented dataclass (psygnal): assigning a field emits
``view.events.<field>(new, old)`` only when the new value differs from the old one. Its fields
are the single source of truth for what the screen shows; the session keeps them consistent:

- ``video_id``: the video in the player, on the timeline and the overview ruler.
- ``clip``: the clip under review (a ``Suggestion``), looping in the player; always on
  ``video_id`` (it is cleared when another video is shown). A and R answer exactly this.
- ``visible``: the time range (s) on the timeline rows; the overview ruler outlines it.
- ``behavior_id``: the behaviour whose suggestions are reviewed.
- ``model``: the model and adapter in use (changed only after it loaded: all or nothing).
- ``coding``: state events started by key and not stopped yet, ((behaviour id, start s), ...).
- ``subject_id``: the subject (animal) labels made in the window belong to; None: no focal subject.
- ``components``: whether the selected behaviour's row also shows its fused score's components
  (text prior, head) as thin curves.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from psygnal import evented

from ethoscout.core.jobs import Job

from .suggestions import Suggestion


@dataclass(frozen=True)
class ModelChoice:
    model: str
    device: str = "auto"
    adapter_version: int | None = None  # None: the base model

    def describe(self) -> str:
        return f"adapter v{self.adapter_version}" if self.adapter_version else "base model"


@evented
@dataclass
class ViewState:
    video_id: int | None = None
    clip: Suggestion | None = None
    visible: tuple[float, float] | None = None
    behavior_id: int | None = None
    model: ModelChoice | None = None
    coding: tuple[tuple[int, float], ...] = ()
    subject_id: int | None = None
    components: bool = False


@dataclass
class VideoStatus:
    state: str = "not indexed"  # not indexed | queued | indexing | indexed | paused | error | missing
    fraction: float = 0.0
    message: str = ""

    def text(self) -> str:
        if self.state == "indexing":
            return f"indexing {self.fraction:.0%}"
        if self.state == "paused":
            return f"paused at {self.fraction:.0%}"
        if self.state == "error":
            return "error"
        return self.state


@dataclass
class Curve:
    starts: np.ndarray
    ends: np.ndarray
    scores: np.ndarray

    @property
    def centres(self) -> np.ndarray:
        return (self.starts + self.ends) / 2


@dataclass
class Tracked:
    job: Job
    label: str
    kind: str  # index | score | preview | io | status | model
