"""The desktop app's state and actions, without Qt.

A ``Session`` holds the open project, the videos' indexing state, score curves, the current
suggestions, and the two job queues (the model service, whose worker owns the model, and an
I/O queue for probing and exports). Widgets read its state and listen to its events; commands
(``commands.py``) call its methods. Callbacks from worker threads are handed to ``post`` so
they run on the thread that owns the session (the GUI thread, through the Qt bridge).

Events (topic, args): project · videos · video_status(video_id) · behaviors · labels ·
curves · preview · suggestions · model_error(message) · message(level, text) · job(job, label) ·
adapter(version).
"""
from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import numpy as np

from ethoscout.core.data.errors import ProjectError
from ethoscout.core.data.project import Project
from ethoscout.core.errors import EthoscoutError
from ethoscout.core.jobs import (CANCELLED, DONE, FAILED, Job, JobQueue, ModelConfig, ModelService,
                                 cache_status_job, index_video_job, score_job, warm_scorer_job)

from .prefs import Prefs
from .suggestions import Suggestion, suggest_clips

log = logging.getLogger(__name__)

PREVIEW = "__preview__"
ANSWERS = ("accept", "reject", "skip")
MODEL_ERRORS = ("ModelError", "AdapterError")


class Events:
    """Minimal observer hub: ``on(topic, fn)``, ``emit(topic, *args)``."""

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
        import queue

        self._q: "queue.Queue[Callable[[], None]]" = queue.Queue()

    def __call__(self, fn: Callable[[], None]) -> None:
        self._q.put(fn)

    def drain(self, until: Callable[[], bool] | None = None, timeout: float = 30.0) -> bool:
        """Run queued callbacks; with ``until``, keep waiting for more until it returns True.
        Returns whether ``until`` was met (True when not given)."""
        import queue
        import time

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
    kind: str  # index | score | preview | io | status


class Session:
    def __init__(self, service: ModelService | None = None, io: JobQueue | None = None,
                 post: Callable[[Callable], None] | None = None, prefs: Prefs | None = None):
        self.prefs = prefs or Prefs()
        self.service = service or ModelService(self.model_config())
        self.io = io or JobQueue("ethoscout-io")
        self.post = post or (lambda fn: fn())
        self.events = Events()
        self.project: Project | None = None
        self.videos: list[dict] = []
        self.video_status: dict[int, VideoStatus] = {}
        self.behaviors: list[dict] = []
        self.curves: dict[int, dict[int, Curve]] = {}
        self.preview: dict[int, Curve] = {}
        self.preview_text = ""
        self.current_video_id: int | None = None
        self.current_behavior_id: int | None = None
        self.suggestions: list[Suggestion] = []
        self.skipped: set = set()
        self.model_error = ""
        self.tracked: dict[int, Tracked] = {}
        self._index_jobs: dict[int, Job] = {}
        self._closed = False

    # ---- helpers ---------------------------------------------------------------------------

    def model_config(self) -> ModelConfig:
        return ModelConfig(model=self.prefs.model, device=self.prefs.device)

    def _need_project(self) -> Project:
        if self.project is None:
            raise ProjectError("ethoscout", "no project is open; use File → New project or Open project")
        return self.project

    def message(self, level: str, text: str) -> None:
        self.events.emit("message", level, text)

    def _submit(self, queue: JobQueue, fn, *args, label: str, kind: str,
                on_done: Callable[[Job], None] | None = None,
                on_progress: Callable[[Job, object], None] | None = None, key=None, **kw) -> Job:
        """Submit a job whose callbacks run through ``post`` (on the session's thread)."""
        def progress(job, p):
            def deliver():
                if on_progress:
                    on_progress(job, p)
                self.events.emit("job", job, label)
            self.post(deliver)

        def done(job):
            def deliver():
                self.tracked.pop(job.id, None)
                if job.status == FAILED:
                    self._job_failed(job, label)
                if on_done and not self._closed:
                    on_done(job)
                self.events.emit("job", job, label)
            self.post(deliver)

        job = queue.submit(fn, *args, name=label, key=key, on_progress=progress, on_done=done, **kw)
        if not job.finished:
            self.tracked[job.id] = Tracked(job, label, kind)
        self.events.emit("job", job, label)
        return job

    def _job_failed(self, job: Job, label: str) -> None:
        if job.error_type in MODEL_ERRORS:
            if job.error != self.model_error:
                self.model_error = job.error
                self.events.emit("model_error", job.error)
        elif job.error_type != "VideoError":  # video errors are shown in the video list
            self.message("error", job.error)

    def jobs(self, kind: str | None = None) -> list[Tracked]:
        return [t for t in self.tracked.values() if kind is None or t.kind == kind]

    # ---- project ---------------------------------------------------------------------------

    def new_project(self, folder: str | Path) -> Project:
        return self._set_project(Project.create(folder))

    def open_project(self, folder: str | Path) -> Project:
        return self._set_project(Project.open(folder))

    def _set_project(self, project: Project) -> Project:
        self.close_project()
        self.project = project
        model = project.get_setting("model")
        if model:
            self.prefs = replace(self.prefs, model=model)
        spec = project.get_setting("window_spec")
        if isinstance(spec, dict):
            self.prefs = replace(self.prefs, **{k: spec[k] for k in ("span_s", "stride_s", "frames", "scheme")
                                                if k in spec})
        self.service.configure(self._config_with_adapter())
        folder = str(project.folder)
        if folder in self.prefs.recent_projects:
            self.prefs.recent_projects.remove(folder)
        self.prefs.recent_projects.insert(0, folder)
        del self.prefs.recent_projects[10:]
        self.reload()
        self.current_video_id = self.videos[0]["id"] if self.videos else None
        self.current_behavior_id = self.behaviors[0]["id"] if self.behaviors else None
        self.events.emit("project")
        self.refresh_cache_status()
        return project

    def close_project(self) -> None:
        self.service.cancel_all()
        self.io.cancel_all()
        if self.project is not None:
            self.project.close()
        self.project = None
        self.videos, self.behaviors, self.suggestions = [], [], []
        self.video_status, self.curves, self.preview = {}, {}, {}
        self.current_video_id = self.current_behavior_id = None
        self._index_jobs.clear()
        self.skipped.clear()

    def reload(self) -> None:
        p = self._need_project()
        self.videos = p.videos()
        self.behaviors = p.behaviors()
        for v in self.videos:
            st = self.video_status.setdefault(v["id"], VideoStatus())
            if not Path(v["path"]).exists():
                st.state, st.message = "missing", f"{v['path']}: file not found (moved or drive not mounted?)"

    @property
    def adapter_version(self) -> int | None:
        a = self.project.active_adapter() if self.project else None
        return a["version"] if a else None

    def _config_with_adapter(self) -> ModelConfig:
        cfg = self.model_config()
        a = self.project.active_adapter() if self.project else None
        if a:
            cfg = replace(cfg, adapter=str(self.project.folder / a["folder"]))
        return cfg

    def _record_spec(self, spec: dict | None) -> None:
        """The project's window spec (frames resolved), read by training and the CLI."""
        if self.project is not None and self.project.get_setting("window_spec") != spec:
            self.project.set_setting("window_spec", spec)

    def apply_prefs(self, prefs: Prefs) -> None:
        """New settings: a changed model, device or window spec rescans the cache and rescores."""
        old = self.prefs
        self.prefs = replace(prefs, recent_projects=old.recent_projects)
        model_changed = (old.model, old.device, old.spec()) != (prefs.model, prefs.device, prefs.spec())
        if self.project is not None and model_changed:
            self.project.set_setting("model", prefs.model)
            self._record_spec(prefs.spec() if prefs.frames else None)
        if model_changed:
            self.model_error = ""
            self.service.configure(self._config_with_adapter())
            self.curves.clear()
            self.preview.clear()
            self.events.emit("curves")
            if self.project is not None:
                self.refresh_cache_status()

    # ---- videos ----------------------------------------------------------------------------

    def video(self, video_id: int) -> dict:
        for v in self.videos:
            if v["id"] == video_id:
                return v
        raise ProjectError("ethoscout", f"no video with id {video_id}")

    @property
    def current_video(self) -> dict | None:
        try:
            return self.video(self.current_video_id) if self.current_video_id is not None else None
        except ProjectError:
            return None

    def select_video(self, video_id: int | None) -> None:
        if video_id != self.current_video_id:
            self.current_video_id = video_id
            self.events.emit("current_video", video_id)
            if self.preview_text:
                self.set_preview(self.preview_text)

    def add_videos(self, paths: list[str | Path], index: bool = True) -> Job:
        """Probe and add videos on the I/O thread; bad files become messages, the rest go on.
        New videos are indexed when ``index`` (and a model is configured)."""
        project = self._need_project()
        paths = [str(p) for p in paths]

        def work(ctx):
            added, errors = [], []
            for p in paths:
                ctx.check()
                try:
                    added.append(project.add_video(p))
                except EthoscoutError as e:
                    errors.append(str(e))
            return added, errors

        def done(job):
            if job.status != DONE:
                return
            added, errors = job.result
            for e in errors:
                self.message("error", e)
            self.reload()
            if added and self.current_video_id is None:
                self.current_video_id = added[0]["id"]
            self.events.emit("videos")
            if added and index:
                self.index([v["id"] for v in added])

        return self._submit(self.io, work, label=f"adding {len(paths)} video(s)", kind="io", on_done=done)

    def refresh_cache_status(self) -> Job | None:
        if self.project is None:
            return None
        folder = str(self.project.folder)

        def done(job):
            if job.status != DONE or self.project is None or str(self.project.folder) != folder:
                return
            fractions = job.result
            for v in self.videos:
                st = self.video_status.setdefault(v["id"], VideoStatus())
                if st.state in ("queued", "indexing", "missing"):
                    continue
                f = fractions.get(v["fingerprint"])
                if f is None:
                    st.state, st.fraction = "not indexed", 0.0
                elif f >= 1.0:
                    st.state, st.fraction = "indexed", 1.0
                else:
                    st.state, st.fraction = "paused", f
                st.message = ""
            self.events.emit("video_status", None)
            if any(s.state == "indexed" for s in self.video_status.values()):
                self.refresh_scores()
                self.warm_up()

        return self._submit(self.service, cache_status_job, folder, self.prefs.spec(),
                            label="checking the feature cache", kind="status", on_done=done,
                            key="cache-status")

    def warm_up(self) -> Job | None:
        """Load the indexed windows into the scorer in the background, so the first typed
        behaviour shows its curve without waiting for them."""
        if self.project is None:
            return None
        return self._submit(self.service, warm_scorer_job, str(self.project.folder), self.prefs.spec(),
                            label="preparing the index for queries", kind="status", key="warm")

    def index(self, video_ids: list[int] | None = None) -> list[Job]:
        """Index videos (all not yet indexed when ``video_ids`` is None), one job each."""
        project = self._need_project()
        if project.get_setting("model") != self.prefs.model:
            project.set_setting("model", self.prefs.model)
        ids = video_ids if video_ids is not None else [v["id"] for v in self.videos]
        jobs = []
        for vid in ids:
            v = self.video(vid)
            st = self.video_status.setdefault(vid, VideoStatus())
            running = self._index_jobs.get(vid)
            if st.state in ("indexed", "missing") or (running is not None and not running.finished):
                continue
            jobs.append(self._index_one(v))
        return jobs

    def _index_one(self, v: dict) -> Job:
        vid = v["id"]
        st = self.video_status[vid]
        st.state, st.message = "queued", ""
        self.events.emit("video_status", vid)

        def progress(job, p):
            if self._index_jobs.get(vid) is job and not job.finished:
                st.state, st.fraction = "indexing", p.fraction
                self.events.emit("video_status", vid)

        def done(job):
            if self._index_jobs.get(vid) is not job:
                return  # a newer run of this video took over
            self._index_jobs.pop(vid, None)
            if job.status == DONE:
                st.state, st.fraction, st.message = "indexed", 1.0, ""
                store = getattr(job.result, "store", None)
                if store is not None and self.project is not None:
                    self._record_spec(store.meta.get("spec"))
                if self.refresh_scores() is None:
                    self.warm_up()
            elif job.status == CANCELLED:
                st.state = "paused" if st.fraction > 0 else "not indexed"
                st.message = "stopped; indexing resumes where it left off"
            else:
                st.state, st.message = ("not indexed" if job.error_type in MODEL_ERRORS
                                        else "error"), job.error
            self.events.emit("video_status", vid)

        job = self._submit(self.service, index_video_job, str(self.project.folder), v["path"],
                           self.prefs.spec(), label=f"indexing {v['name']}", kind="index",
                           on_progress=progress, on_done=done)
        self._index_jobs[vid] = job
        return job

    def cancel_all(self) -> None:
        self.service.cancel_all()
        self.io.cancel_all()

    # ---- behaviours and curves ---------------------------------------------------------------

    def behavior(self, behavior_id: int) -> dict:
        for b in self.behaviors:
            if b["id"] == behavior_id:
                return b
        raise ProjectError("ethoscout", f"no behaviour with id {behavior_id}")

    def add_behavior(self, text: str, prompts: list[str] | None = None, key: str | None = None,
                     colour: str | None = None) -> dict:
        name = " ".join(str(text).split())
        if not name:
            raise ProjectError("ethoscout", "describe the behaviour in words, e.g. \"mouse rearing against the wall\"")
        b = self._need_project().add_behavior(name, prompts=prompts or [name], key=key or None, colour=colour)
        self.behaviors = self.project.behaviors()
        self.current_behavior_id = b["id"]
        self.events.emit("behaviors")
        if self.preview_text and self.preview_text.strip() == name:
            # the curve typed so far becomes the behaviour's: no flicker, no wait
            for vid, c in self.preview.items():
                self.curves.setdefault(vid, {})[b["id"]] = c
            self.events.emit("curves")
        self.clear_preview()
        self.refresh_scores()
        return b

    def update_behavior(self, behavior_id: int, **fields) -> dict:
        old = self.behavior(behavior_id)
        b = self._need_project().update_behavior(behavior_id, **fields)
        self.behaviors = self.project.behaviors()
        self.events.emit("behaviors")
        if b["prompts"] != old["prompts"]:
            self.refresh_scores()
        self.events.emit("labels")
        return b

    def delete_behavior(self, behavior_id: int) -> int:
        n = self._need_project().delete_behavior(behavior_id)
        self.behaviors = self.project.behaviors()
        for per in self.curves.values():
            per.pop(behavior_id, None)
        if self.current_behavior_id == behavior_id:
            self.current_behavior_id = self.behaviors[0]["id"] if self.behaviors else None
        self.events.emit("behaviors")
        self.events.emit("labels")
        self.events.emit("curves")
        self.refresh_suggestions()
        return n

    def select_behavior(self, behavior_id: int | None) -> None:
        if behavior_id != self.current_behavior_id:
            self.current_behavior_id = behavior_id
            self.events.emit("current_behavior", behavior_id)
            self.refresh_suggestions()

    def _indexed_fingerprints(self) -> dict[str, int]:
        return {v["fingerprint"]: v["id"] for v in self.videos
                if self.video_status.get(v["id"], VideoStatus()).state == "indexed"}

    def refresh_scores(self) -> Job | None:
        """Score every behaviour on every indexed video (replaces a queued request)."""
        if self.project is None or not self.behaviors or not self._indexed_fingerprints():
            return None
        queries = {b["id"]: b["prompts"] or [b["name"]] for b in self.behaviors}
        folder = str(self.project.folder)

        def done(job):
            if job.status != DONE or self.project is None or str(self.project.folder) != folder:
                return
            fps = {v["fingerprint"]: v["id"] for v in self.videos}
            for fp, data in job.result.items():
                vid = fps.get(fp)
                if vid is None:
                    continue
                per = self.curves.setdefault(vid, {})
                for col, bid in enumerate(data.keys):
                    per[bid] = Curve(np.asarray(data.starts, float), np.asarray(data.ends, float),
                                     np.asarray(data.scores[:, col], float))
            self.events.emit("curves")
            self.refresh_suggestions(keep_current=True)

        return self._submit(self.service, score_job, folder, queries, self.prefs.spec(),
                            label="scoring behaviours", kind="score", on_done=done, key="score")

    def set_preview(self, text: str) -> Job | None:
        """Score typed text on the current video (the caller debounces keystrokes)."""
        self.preview_text = text
        text = " ".join(text.split())
        v = self.current_video
        if not text or self.project is None or v is None or \
                self.video_status.get(v["id"], VideoStatus()).state != "indexed":
            if self.preview:
                self.preview.clear()
                self.events.emit("preview")
            return None
        folder = str(self.project.folder)

        def done(job):
            if job.status != DONE or self.preview_text.split() != text.split():
                return
            self.preview.clear()
            for fp, data in job.result.items():
                vid = {x["fingerprint"]: x["id"] for x in self.videos}.get(fp)
                if vid is not None:
                    self.preview[vid] = Curve(np.asarray(data.starts, float), np.asarray(data.ends, float),
                                              np.asarray(data.scores[:, 0], float))
            self.events.emit("preview")

        return self._submit(self.service, score_job, folder, {PREVIEW: [text]}, self.prefs.spec(),
                            [v["fingerprint"]], label="scoring typed text", kind="preview",
                            on_done=done, key="preview")

    def clear_preview(self) -> None:
        self.preview_text = ""
        if self.preview:
            self.preview.clear()
            self.events.emit("preview")

    # ---- labels ----------------------------------------------------------------------------

    def labels(self, video_id: int | None = None) -> list[dict]:
        if self.project is None:
            return []
        return self.project.labels(video=video_id)

    def add_manual_label(self, video_id: int, behavior_id: int, start_s: float, end_s: float,
                         verdict: str = "manual") -> int:
        start_s, end_s = sorted((float(start_s), float(end_s)))
        lid = self._need_project().add_label(video_id, behavior_id, start_s, end_s, verdict,
                                             source="manual")
        self.events.emit("labels")
        return lid

    def update_label(self, label_id: int, **fields) -> dict:
        row = self._need_project().update_label(label_id, **fields)
        self.events.emit("labels")
        return row

    def delete_label(self, label_id: int) -> None:
        self._need_project().delete_label(label_id)
        self.events.emit("labels")

    def undo(self) -> str | None:
        return self._replay(self._need_project().undo)

    def redo(self) -> str | None:
        return self._replay(self._need_project().redo)

    def _replay(self, step) -> str | None:
        before = [(b["id"], b["prompts"]) for b in self.behaviors]
        what = step()
        if what is None:
            return None
        self.reload()
        if self.current_behavior_id not in {b["id"] for b in self.behaviors}:
            self.current_behavior_id = self.behaviors[0]["id"] if self.behaviors else None
        self.events.emit("behaviors")
        self.events.emit("labels")
        self.events.emit("videos")
        if [(b["id"], b["prompts"]) for b in self.behaviors] != before:
            self.refresh_scores()
        self.refresh_suggestions(keep_current=True)
        return what

    # ---- suggestions -----------------------------------------------------------------------

    @property
    def current_suggestion(self) -> Suggestion | None:
        return self.suggestions[0] if self.suggestions else None

    def refresh_suggestions(self, keep_current: bool = False) -> list[Suggestion]:
        bid = self.current_behavior_id
        old = self.current_suggestion
        if self.project is None or bid is None:
            self.suggestions = []
        else:
            curves = {vid: (c.starts, c.ends, c.scores) for vid, per in self.curves.items()
                      for b, c in per.items() if b == bid}
            videos = {v["id"]: v for v in self.videos}
            self.suggestions = suggest_clips(curves, bid, self.project.labels(behavior=bid), videos,
                                             skip=self.skipped)
            if keep_current and old is not None and old.behavior_id == bid:
                keys = [s.key() for s in self.suggestions]
                if old.key() in keys:  # still valid: keep showing it
                    i = keys.index(old.key())
                    self.suggestions.insert(0, self.suggestions.pop(i))
        self.events.emit("suggestions")
        return self.suggestions

    def answer(self, verdict: str) -> Suggestion | None:
        """Accept, reject or skip the current suggestion; an answer is committed to the project
        before this returns. Returns the next suggestion."""
        if verdict not in ANSWERS:
            raise ValueError(f"answer must be one of {ANSWERS}")
        s = self.current_suggestion
        if s is None:
            return None
        if verdict == "skip":
            self.skipped.add(s.key())
        else:
            self._need_project().add_label(s.video_id, s.behavior_id, s.start_s, s.end_s, verdict,
                                           source="suggestion", score=s.score,
                                           adapter_version=self.adapter_version,
                                           model_id=self.prefs.model)
        self.suggestions.pop(0)
        if verdict != "skip":
            self.events.emit("labels")
        if not self.suggestions:
            self.refresh_suggestions()
        else:
            self.events.emit("suggestions")
        return self.current_suggestion

    def next_suggestion(self) -> Suggestion | None:
        """Move the current suggestion to the back of the list without answering it."""
        if len(self.suggestions) > 1:
            self.suggestions.append(self.suggestions.pop(0))
            self.events.emit("suggestions")
        return self.current_suggestion

    def choose_suggestion(self, index: int) -> Suggestion | None:
        if 0 <= index < len(self.suggestions):
            self.suggestions.insert(0, self.suggestions.pop(index))
            self.events.emit("suggestions")
        return self.current_suggestion

    # ---- adapters --------------------------------------------------------------------------

    def use_adapter(self, version: int | None) -> None:
        """Make an adapter active, rescore every behaviour and refresh the suggestions."""
        p = self._need_project()
        p.set_active_adapter(version)
        self.service.configure(self._config_with_adapter())
        self.events.emit("adapter", version)
        self.refresh_scores()

    # ---- exports ---------------------------------------------------------------------------

    def export(self, fmt: str, out: str | Path, on_done: Callable[[Job], None] | None = None) -> Job:
        """Write an export on the I/O thread (clips can take a while and can be cancelled)."""
        from ethoscout.core.data.export import export

        project = self._need_project()

        def work(ctx):
            if fmt == "clips":
                from ethoscout.core.data.clips import export_clips
                from ethoscout.core.progress import Progress

                prog = Progress("exporting clips", total=0)

                def report(done, total):
                    prog.done, prog.total = done, total
                    ctx.report(prog)
                return export_clips(project, out, progress=report, cancel=lambda: ctx.cancel.cancelled)
            return export(project, fmt, out)

        def done(job):
            if job.status == DONE:
                self.message("info", f"exported {fmt} to {out}")
            if on_done:
                on_done(job)

        return self._submit(self.io, work, label=f"exporting {fmt}", kind="io", on_done=done)

    # ---- shutting down ---------------------------------------------------------------------

    def shutdown(self, timeout: float = 10.0) -> bool:
        """Stop all work (finished parts are kept; indexing resumes next time) and close."""
        self._closed = True
        ok_model = self.service.shutdown(timeout)
        ok_io = self.io.shutdown(timeout)
        if self.project is not None:
            self.project.close()
        return ok_model and ok_io
