"""What every part of the session shares: the open project's scope, the view state, events,
and job submission whose callbacks are stamped with the project generation."""
from __future__ import annotations

import logging
from dataclasses import replace
from typing import Callable

from ethoscout.core.data.errors import ProjectError
from ethoscout.core.data.project import Project
from ethoscout.core.jobs import FAILED, Job, JobQueue, ModelConfig, ModelService

from ..prefs import Prefs
from .events import Events
from .scope import ProjectScope
from .state import Curve, ModelChoice, Tracked, VideoStatus, ViewState
from .suggestions import Suggestion

log = logging.getLogger(__name__)

MODEL_ERRORS = ("ModelError", "AdapterError")


class SessionBase:
    """State and plumbing; the behaviour lives in the mixins (lifecycle, scoring, review,
    models) that ``Session`` combines."""

    def __init__(self, service: ModelService | None = None, io: JobQueue | None = None,
                 post: Callable[[Callable], None] | None = None, prefs: Prefs | None = None):
        self.prefs = prefs or Prefs()
        self.service = service or ModelService(self.model_config())
        self.io = io or JobQueue("ethoscout-io")  # work outside any project: opening one
        self.opening: Job | None = None  # a project being opened in the background
        self.post = post or (lambda fn: fn())
        self.events = Events()
        self.view = ViewState()
        self.scope: ProjectScope | None = None
        self.preview_text = ""
        self.preview_exact = True  # False while the typed text's curve is a first approximation
        self._preview_seq = 0  # bumped per typed-text request: older requests' curves are dropped
        self.model_error = ""
        self.tracked: dict[Job, Tracked] = {}  # by job: ids are counted per queue (I/O, model)
        self._closed = False
        self._coding_subject: dict[int, int | None] = {}  # behaviour id -> subject of its open bout
        self._coding_modifiers: dict[int, dict | None] = {}  # behaviour id -> its modifiers
        # field ("behaviour", "subject") -> put_back(*typed): puts the text of an add that failed
        # back where it was typed unless the user typed something else there since; True if it did
        self.text_fields: dict[str, Callable[..., bool]] = {}

    # ---- the open project's state (empty without one) -------------------------------------

    @property
    def project(self) -> Project | None:
        return self.scope.project if self.scope is not None else None

    @property
    def videos(self) -> list[dict]:
        return self.scope.videos if self.scope else []

    @property
    def behaviors(self) -> list[dict]:
        return self.scope.behaviors if self.scope else []

    @property
    def video_status(self) -> dict[int, VideoStatus]:
        return self.scope.video_status if self.scope else {}

    @property
    def curves(self) -> dict[int, dict[int, Curve]]:
        return self.scope.curves if self.scope else {}

    @property
    def preview(self) -> dict[int, Curve]:
        return self.scope.preview if self.scope else {}

    @property
    def suggestions(self) -> list[Suggestion]:
        return self.scope.suggestions if self.scope else []

    @property
    def skipped(self) -> set:
        return self.scope.skipped if self.scope else set()

    @property
    def current_video_id(self) -> int | None:
        return self.view.video_id

    @property
    def current_behavior_id(self) -> int | None:
        return self.view.behavior_id

    @property
    def clip(self) -> Suggestion | None:
        """The clip under review: on screen, looping; what A and R answer."""
        return self.view.clip

    @property
    def current_suggestion(self) -> Suggestion | None:
        """The clip under review, or when none, the one A / R / S / N would show first."""
        return self.view.clip or self.next_clip()

    def next_clip(self) -> Suggestion | None:
        raise NotImplementedError

    # ---- helpers ---------------------------------------------------------------------------

    def model_config(self) -> ModelConfig:
        return ModelConfig(model=self.prefs.model, device=self.prefs.device)

    def model_choice(self) -> ModelChoice:
        a = self.project.active_adapter() if self.project else None
        return ModelChoice(self.prefs.model, self.prefs.device, a["version"] if a else None)

    def config_for(self, choice: ModelChoice) -> ModelConfig:
        cfg = ModelConfig(model=choice.model, device=choice.device)
        if choice.adapter_version is not None and self.project is not None:
            a = self.project.adapter(choice.adapter_version)
            cfg = replace(cfg, adapter=str(self.project.folder / a["folder"]))
        return cfg

    def _need_project(self) -> Project:
        if self.scope is None:
            raise ProjectError("ethoscout", "no project is open; use File → New project or Open project")
        return self.scope.project

    def message(self, level: str, text: str) -> None:
        self.events.emit("message", level, text)

    def jobs(self, kind: str | None = None) -> list[Tracked]:
        return [t for t in self.tracked.values() if kind is None or t.kind == kind]

    def video(self, video_id: int) -> dict:
        for v in self.videos:
            if v["id"] == video_id:
                return v
        raise ProjectError("ethoscout", f"no video with id {video_id}")

    @property
    def current_video(self) -> dict | None:
        try:
            return self.video(self.view.video_id) if self.view.video_id is not None else None
        except ProjectError:
            return None

    def behavior(self, behavior_id: int) -> dict:
        for b in self.behaviors:
            if b["id"] == behavior_id:
                return b
        raise ProjectError("ethoscout", f"no behaviour with id {behavior_id}")

    # ---- jobs ------------------------------------------------------------------------------

    def _submit(self, queue: JobQueue, fn, *args, label: str, kind: str,
                on_done: Callable[[Job], None] | None = None,
                on_progress: Callable[[Job, object], None] | None = None, key=None,
                scoped: bool = True, **kw) -> Job:
        """Submit a job whose callbacks run through ``post`` on the session's thread, and only
        while the project scope they were submitted under is still the open one (``scoped``;
        else while the session is)."""
        scope = self.scope
        gen = scope.generation if scope is not None else None

        def current() -> bool:
            now = self.scope.generation if self.scope is not None else None
            return (now == gen or not scoped) and not self._closed

        def progress(job, p):
            def deliver():
                if current():
                    if on_progress:
                        on_progress(job, p)
                    # this step, not whatever the worker has moved on to by now: every step is shown
                    self.events.emit("job", job, label, p)
            self.post(deliver)

        def done(job):
            def deliver():
                self.tracked.pop(job, None)
                if scope is not None and queue is self.service:
                    scope.model_jobs.discard(job.id)
                if current():
                    if job.status == FAILED and kind != "write":  # a write says itself what was lost
                        self._job_failed(job, label)
                    elif kind in ("index", "score", "preview", "status", "model") and job.status == "done":
                        self._model_ok()
                    if on_done:
                        on_done(job)
                self.events.emit("job", job, label, None)
            self.post(deliver)

        job = queue.submit(fn, *args, name=label, key=key, on_progress=progress, on_done=done, **kw)
        if not job.finished:
            self.tracked[job] = Tracked(job, label, kind)
            if scope is not None and queue is self.service:
                scope.model_jobs.add(job.id)
        self.events.emit("job", job, label, None)
        return job

    def _job_failed(self, job: Job, label: str) -> None:
        if job.error_type in MODEL_ERRORS:
            if job.error != self.model_error:
                self.model_error = job.error
                self.events.emit("model_error", job.error)
        elif job.error_type != "VideoError":  # video errors are shown in the video list
            self.message("error", job.error)

    def _model_ok(self) -> None:
        """A job that needed the model succeeded: a model error shown earlier is over."""
        if self.model_error:
            self.model_error = ""
            self.events.emit("model_error", "")
