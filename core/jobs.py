"""The model service: one worker thread that owns the model and runs jobs one at a time.

No Qt here: the GUI wraps this in a thin bridge that turns the callbacks (called on the worker
thread) into signals delivered on the GUI thread, and the same service drives scripts and tests.

- ``JobQueue``: a plain threading job queue. ``submit(fn, *args)`` returns a ``Job`` at once;
  the worker calls ``fn(ctx, *args)`` where ``ctx`` reports progress (``ctx.report``) and
  carries the job's ``CancelToken``. A job submitted with a ``key`` replaces a queued job with
  the same key (latest wins: typing a behaviour does not queue a scoring per keystroke).
- ``ModelService``: a ``JobQueue`` whose worker thread owns the ``LoadedModel`` and its
  ``QueryScorer``; jobs reach them through ``ctx.model()`` and ``ctx.scorer()``, so the model
  is only ever touched on one thread. The model loads lazily, on the first job that needs it,
  and reloads when ``configure`` changes the checkpoint or device.
- Job functions the desktop app uses (indexing one video, scoring behaviours across the
  project's indexed videos, cache status) are at the bottom; each is cancellable and chunked.

Everything long reports ``Progress`` (count, total, rate, ETA) and checks its cancel token.
"""
from __future__ import annotations

import itertools
import json
import logging
import queue
import threading
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from .errors import EthoscoutError
from .progress import CancelToken, Cancelled, Progress

log = logging.getLogger(__name__)

QUEUED, RUNNING, DONE, FAILED, CANCELLED = "queued", "running", "done", "failed", "cancelled"
FINISHED = (DONE, FAILED, CANCELLED)


@dataclass(eq=False)
class Job:
    """One unit of work; ``status`` moves queued -> running -> done | failed | cancelled."""

    id: int
    name: str
    key: str | None = None
    status: str = QUEUED
    progress: Progress | None = None
    result: Any = None
    error: str = ""  # one line for the user when status is failed
    error_type: str = ""  # class name of the exception (ModelError, VideoError, ...)
    cancel_token: CancelToken = field(default_factory=CancelToken)
    on_progress: Callable[["Job", Progress], None] | None = field(default=None, repr=False)
    on_done: Callable[["Job"], None] | None = field(default=None, repr=False)
    _finished: threading.Event = field(default_factory=threading.Event, repr=False)

    def cancel(self) -> None:
        self.cancel_token.cancel()

    @property
    def cancelled(self) -> bool:
        return self.cancel_token.cancelled

    @property
    def finished(self) -> bool:
        return self._finished.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the job finished; True when it did within ``timeout``."""
        return self._finished.wait(timeout)


class JobContext:
    """What a job function sees: its job, progress reporting and cancellation."""

    def __init__(self, queue_: "JobQueue", job: Job):
        self.queue = queue_
        self.job = job

    @property
    def cancel(self) -> CancelToken:
        return self.job.cancel_token

    def check(self) -> None:
        """Raise ``Cancelled`` when the job was cancelled (call between chunks of work)."""
        self.job.cancel_token.check()

    def report(self, progress: Progress) -> None:
        self.job.progress = progress
        if self.job.on_progress is not None:
            try:
                self.job.on_progress(self.job, progress)
            except Exception:  # a broken listener must not kill the work
                log.exception("progress callback failed")


class JobQueue:
    """A single worker thread running submitted jobs in order."""

    context_class = JobContext

    def __init__(self, name: str = "ethoscout-jobs"):
        self._queue: queue.Queue[Job | None] = queue.Queue()
        self._pending: dict[int, tuple[Job, Callable, tuple, dict]] = {}
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._current: Job | None = None
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    # ---- submitting ------------------------------------------------------------------------

    def submit(self, fn: Callable, *args, name: str = "", key: str | None = None,
               on_progress: Callable[[Job, Progress], None] | None = None,
               on_done: Callable[[Job], None] | None = None, **kwargs) -> Job:
        """Queue ``fn(ctx, *args, **kwargs)``; returns its Job at once. A queued job with the
        same ``key`` is cancelled (it never runs)."""
        job = Job(next(self._ids), name or getattr(fn, "__name__", "job"), key,
                  on_progress=on_progress, on_done=on_done)
        replaced = []
        with self._lock:
            if self._closed:
                raise RuntimeError("the job queue is shut down")
            if key is not None:
                for other, *_ in self._pending.values():
                    if other.key == key:
                        other.cancel()
                        replaced.append(other)
            self._pending[job.id] = (job, fn, args, kwargs)
        for other in replaced:
            self._finish_unstarted(other)
        self._queue.put(job)
        return job

    def cancel_all(self) -> None:
        """Cancel every queued job and ask the running one to stop."""
        with self._lock:
            jobs = [j for j, *_ in self._pending.values()]
            current = self._current
        for j in jobs:
            j.cancel()
            self._finish_unstarted(j)
        if current is not None:
            current.cancel()

    def cancel_where(self, predicate: Callable[[Job], bool]) -> int:
        """Cancel queued and running jobs for which ``predicate(job)`` is true."""
        with self._lock:
            jobs = [j for j, *_ in self._pending.values() if predicate(j)]
            current = self._current if self._current is not None and predicate(self._current) else None
        for j in jobs:
            j.cancel()
            self._finish_unstarted(j)
        if current is not None:
            current.cancel()
        return len(jobs) + (current is not None)

    @property
    def busy(self) -> bool:
        with self._lock:
            return self._current is not None or bool(self._pending)

    def jobs(self) -> list[Job]:
        """Running job first, then queued jobs in order."""
        with self._lock:
            out = [self._current] if self._current is not None else []
            return out + [j for j, *_ in self._pending.values()]

    def shutdown(self, timeout: float | None = 10.0) -> bool:
        """Cancel everything, stop the worker and wait for it; True when it stopped in time.
        The running job stops at its next cancellation check; finished work is kept."""
        with self._lock:
            self._closed = True
        self.cancel_all()
        self._queue.put(None)
        self._thread.join(timeout)
        return not self._thread.is_alive()

    # ---- the worker ------------------------------------------------------------------------

    def _finish_unstarted(self, job: Job) -> None:
        with self._lock:
            if self._pending.pop(job.id, None) is None:
                return  # already started or finished
        job.status = CANCELLED
        self._finish(job)

    def _finish(self, job: Job) -> None:
        job._finished.set()
        if job.on_done is not None:
            try:
                job.on_done(job)
            except Exception:
                log.exception("done callback failed")

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                break
            with self._lock:
                entry = self._pending.pop(item.id, None)
                if entry is not None:
                    self._current = item
            if entry is None:
                continue  # replaced or cancelled while queued
            job, fn, args, kwargs = entry
            if job.cancelled:
                job.status = CANCELLED
            else:
                job.status = RUNNING
                self._execute(job, fn, args, kwargs)
            with self._lock:
                self._current = None
            self._finish(job)
        self._on_exit()

    def _execute(self, job: Job, fn: Callable, args: tuple, kwargs: dict) -> None:
        ctx = self.context_class(self, job)
        try:
            job.result = fn(ctx, *args, **kwargs)
            job.status = CANCELLED if job.cancelled and job.result is None else DONE
        except Cancelled:
            job.status = CANCELLED
        except EthoscoutError as e:
            job.status, job.error, job.error_type = FAILED, str(e), type(e).__name__
        except Exception as e:  # a bug or an unexpected library error: report, don't crash
            log.error("job %s failed:\n%s", job.name, traceback.format_exc())
            first = str(e).strip().splitlines()[0] if str(e).strip() else ""
            job.status, job.error_type = FAILED, type(e).__name__
            job.error = f"{job.name} failed: {type(e).__name__}{': ' + first if first else ''}"

    def _on_exit(self) -> None:
        """Called on the worker thread when it stops (release thread-owned resources)."""


# ---- the model service ---------------------------------------------------------------------


@dataclass(frozen=True)
class ModelConfig:
    model: str = "microsoft/xclip-base-patch32"
    device: str = "auto"
    runtime: str = "auto"
    adapter: str | None = None  # folder of the active adapter, None for the base model


class ModelContext(JobContext):
    queue: "ModelService"

    def model(self):
        """The loaded model (loading it on first use, the warm-up reported as this job's
        progress); raises ModelError with the reason."""
        return self.queue._ensure_model(self.report)

    def scorer(self):
        self.queue._ensure_model(self.report)
        return self.queue._scorer

    def backend(self):
        """The vision backend for indexing (built once per loaded model)."""
        svc = self.queue
        svc._ensure_model(self.report)
        if svc._backend is None:
            from .model.runtime import make_vision_backend
            svc._backend = make_vision_backend(svc._loaded, svc.config.runtime, on_progress=self.report)
        return svc._backend


class ModelService(JobQueue):
    """The job queue whose worker thread owns the model."""

    context_class = ModelContext

    def __init__(self, config: ModelConfig | None = None,
                 adapter_loader: Callable[[Any, str], Any] | None = None):
        self.config = config or ModelConfig()
        self._adapter_loader = adapter_loader
        self._base = None  # the checkpoint as loaded; touched only on the worker thread
        self._loaded = None  # the base model, or a copy with the active adapter applied
        self._scorer = None
        self._backend = None
        self._loaded_config: ModelConfig | None = None
        self.model_error: str = ""  # the last load failure, one line
        self.model_info: dict = {}  # name, fingerprint, num_frames of the loaded model
        super().__init__("ethoscout-model")

    def configure(self, config: ModelConfig) -> None:
        """Use another checkpoint, device or adapter from the next job on."""
        self.config = config

    def _ensure_model(self, on_progress=None):
        cfg = self.config
        if self._loaded is not None and self._loaded_config == cfg:
            return self._loaded
        from .model.loading import load_xclip
        from .model.query import QueryScorer

        same_base = (self._base is not None and self._loaded_config is not None
                     and (self._loaded_config.model, self._loaded_config.device) == (cfg.model, cfg.device))
        try:
            if not same_base:
                self._base = self._loaded = self._scorer = self._backend = None
                self.model_info = {}
                self._base = load_xclip(cfg.model, device=cfg.device, on_progress=on_progress)
            # An adapter is applied to a copy of the base model, so adapters never stack.
            self._loaded = self._load_adapter(self._base, cfg.adapter) if cfg.adapter else self._base
        except EthoscoutError as e:
            self._loaded = self._scorer = self._backend = None
            if not same_base:
                self._base = None
            self._loaded_config = None
            self.model_error = str(e)
            raise
        self._scorer = QueryScorer(self._loaded)
        self._backend = None  # built again for the (re)loaded model on first use
        self._loaded_config = cfg
        self.model_error = ""
        self.model_info = {"name": self._loaded.name, "fingerprint": self._loaded.fingerprint,
                           "num_frames": self._loaded.num_frames, "device": str(self._loaded.device),
                           "adapter": cfg.adapter}
        return self._loaded

    def _load_adapter(self, base, folder: str):
        loader = self._adapter_loader or default_adapter_loader
        return loader(base, folder)

    def _on_exit(self) -> None:
        self._base = self._loaded = self._scorer = self._backend = None


def default_adapter_loader(base, folder: str):
    """The base model with a trained LoRA adapter folder applied (core.model.lora)."""
    from .model.lora import load_adapter

    return load_adapter(base, folder)


# ---- job functions the desktop app submits ------------------------------------------------


@dataclass
class CurveData:
    """Per-window scores of one video for several behaviours."""

    video_fingerprint: str
    video_path: str
    starts: np.ndarray  # (N,)
    ends: np.ndarray  # (N,)
    scores: np.ndarray  # (N, K), one column per behaviour
    keys: list  # what each column is (behaviour ids, or texts)


def window_spec(ctx: ModelContext, spec: dict | None):
    """A WindowSpec from settings; frames 0/None means the checkpoint's own."""
    from .engine import resolve_spec
    from .video.windows import WindowSpec

    fields = {k: v for k, v in (spec or {}).items() if k in ("span_s", "stride_s", "frames", "scheme")}
    return resolve_spec(WindowSpec(**{**fields, "frames": fields.get("frames") or 0}), ctx.model())


def index_video_job(ctx: ModelContext, project_folder: str, video_path: str, spec: dict | None = None,
                    batch_size: int = 4):
    """Index one video into the project's feature cache (resumes a stopped run)."""
    from .engine import index_video

    loaded = ctx.model()
    result = index_video(project_folder, video_path, loaded, window_spec(ctx, spec), ctx.backend(),
                         batch_size=batch_size, on_progress=ctx.report, cancel=ctx.cancel)
    if result.status == "cancelled":
        raise Cancelled()
    return result


def cache_status_job(ctx: ModelContext, project_folder: str, spec: dict | None = None) -> dict:
    """For the current model and window spec: {video fingerprint: fraction indexed (0..1)},
    counting resumable partial stores."""
    from .engine import feature_cache

    loaded = ctx.model()
    wanted = window_spec(ctx, spec).to_dict()
    root = feature_cache(project_folder).root / loaded.fingerprint
    out: dict[str, float] = {}
    if not root.is_dir():
        return out
    for d in root.iterdir():
        try:
            meta = json.loads((d / "meta.json").read_text())
            if meta.get("spec") != wanted:
                continue
            fp = meta["video_fingerprint"]
            if d.name.endswith(".partial"):
                done = json.loads((d / "progress.json").read_text())["done"]
                total = len(meta["starts"])
                out.setdefault(fp, done / total if total else 0.0)
            else:
                out[fp] = 1.0
        except (OSError, ValueError, KeyError):
            continue
    return out


def score_job(ctx: ModelContext, project_folder: str, queries: dict, spec: dict | None = None,
              videos: list[str] | None = None) -> dict[str, CurveData]:
    """Score behaviours on every indexed video of the project (or those whose fingerprints are
    in ``videos``). ``queries`` maps a key (a behaviour id, or a typed text) to its prompts;
    a behaviour's score is the mean over its prompts. Returns {video fingerprint: CurveData}."""
    from .engine import indexed_stores

    loaded = ctx.model()
    scorer = ctx.scorer()
    keys = list(queries)
    prompts: list[str] = []
    columns: list[tuple[int, int]] = []
    for k in keys:
        ps = [p.strip() for p in (queries[k] or []) if p and p.strip()]
        if not ps:
            raise EthoscoutError(f"behaviour {k!r} has no text prompt; describe it in words")
        columns.append((len(prompts), len(prompts) + len(ps)))
        prompts.extend(ps)
    stores = indexed_stores(project_folder, loaded, window_spec(ctx, spec))
    if videos is not None:
        wanted = set(videos)
        stores = [s for s in stores if s.meta["video_fingerprint"] in wanted]
    out: dict[str, CurveData] = {}
    total = len(stores)
    progress = Progress("scoring", total=total)
    for i, store in enumerate(stores):
        ctx.check()
        raw = scorer.score(store, prompts) if prompts else np.zeros((len(store), 0), np.float32)
        scores = np.stack([raw[:, a:b].mean(axis=1) for a, b in columns], axis=1) if keys \
            else np.zeros((len(store), 0), np.float32)
        fp = store.meta["video_fingerprint"]
        out[fp] = CurveData(fp, store.video_path, store.starts, store.ends,
                            scores.astype(np.float32), list(keys))
        progress.done = i + 1
        progress.item = store.meta.get("video_name", "")
        ctx.report(progress)
    return out


def warm_scorer_job(ctx: ModelContext, project_folder: str, spec: dict | None = None) -> int:
    """Prepare the scorer's per-window tensors for every indexed video now, so the first
    behaviour typed afterwards costs only its text. Returns the number of windows."""
    from .engine import indexed_stores

    scorer = ctx.scorer()
    n = 0
    for store in indexed_stores(project_folder, ctx.model(), window_spec(ctx, spec)):
        ctx.check()
        scorer.window_tensors(store)
        n += len(store)
    return n


def reset_scorer_job(ctx: ModelContext) -> None:
    """Forget cached text and video tensors (after the model's adapter changed)."""
    ctx.scorer().reset()


__all__ = ["Job", "JobContext", "JobQueue", "ModelConfig", "ModelContext", "ModelService",
           "CurveData", "index_video_job", "cache_status_job", "score_job", "warm_scorer_job",
           "reset_scorer_job",
           "QUEUED", "RUNNING", "DONE", "FAILED", "CANCELLED", "FINISHED"]
