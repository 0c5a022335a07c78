"""The model service: one worker thread that owns the model and runs jobs one at a time.

No Qt here: the GUI wraps this in a thin bridge that turns the callbacks (called on the worker
thread) into signals delivered on the GUI thread, and the same service drives scripts and tests.

- ``JobQueue``: a threading job queue with priorities. ``submit(fn, *args, priority=...)``
  returns a ``Job`` at once; the worker calls ``fn(ctx, *args)`` where ``ctx`` reports progress
  (``ctx.report``) and carries the job's ``CancelToken``. Higher priority runs first, FIFO
  within a priority; long jobs call ``ctx.yield_to_urgent()`` between chunks so that a
  preview runs in the middle of an index, which then goes on where it stopped. A job submitted
  with a ``key`` replaces a queued job with the same key (latest wins: typing a behaviour does
  not queue a scoring per keystroke). A job cancelled before it finished ends ``cancelled``,
  even if its function returned.
- ``ModelService``: a ``JobQueue`` whose worker thread owns the ``LoadedModel`` and its
  ``QueryScorer``; jobs reach them through ``ctx.model()`` and ``ctx.scorer()``, so the model
  is only ever touched on one thread. The model loads lazily, on the first job that needs it,
  and reloads when ``configure`` changes the checkpoint or device.
- Job functions the desktop app uses (indexing one video, scoring behaviours across the
  project's indexed videos, the typed text's curve step by step, cache status) are at the
  bottom; each is cancellable and chunked.

Everything long reports ``Progress`` (count, total, rate, ETA) and checks its cancel token.
"""
from __future__ import annotations

import heapq
import itertools
import logging
import threading
import traceback
from dataclasses import dataclass, field, replace
from typing import Any, Callable

import numpy as np

from .errors import EthoscoutError
from .progress import CancelToken, Cancelled, Progress

log = logging.getLogger(__name__)

QUEUED, RUNNING, DONE, FAILED, CANCELLED = "queued", "running", "done", "failed", "cancelled"
FINISHED = (DONE, FAILED, CANCELLED)

# Higher runs first. Typed text must get its curve while a long index runs; rescoring after an
# answer or a refit comes next; indexing, which yields between chunks, runs when nothing else waits.
PRIORITY_INTERACTIVE = 20
PRIORITY_SCORE = 10
PRIORITY_BACKGROUND = 0


def job_priority(priority: int) -> Callable[[Callable], Callable]:
    """Decorator: the priority ``submit`` gives a job function when the caller names none."""
    def mark(fn: Callable) -> Callable:
        fn.priority = priority
        return fn
    return mark


@dataclass(eq=False)
class Job:
    """One unit of work; ``status`` moves queued -> running -> done | failed | cancelled."""

    id: int
    name: str
    key: str | None = None
    priority: int = PRIORITY_BACKGROUND
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

    def yield_to_urgent(self) -> int:
        """Between chunks of long work: run queued jobs of a higher priority first (on this
        thread, so they may use the model), then return to this one. Returns how many ran."""
        return self.queue.run_urgent(self.job)

    def report(self, progress: Progress) -> None:
        self.job.progress = progress
        if self.job.on_progress is not None:
            try:
                self.job.on_progress(self.job, progress)
            except Exception:  # a broken listener must not kill the work
                log.exception("progress callback failed")


class JobQueue:
    """A single worker thread running submitted jobs, highest priority first, FIFO within one
    priority. A running job may call ``ctx.yield_to_urgent()`` between chunks: queued jobs of a
    higher priority then run (on the same thread) before it continues."""

    context_class = JobContext

    def __init__(self, name: str = "ethoscout-jobs"):
        self._lock = threading.Condition()
        self._heap: list[tuple[int, int]] = []  # (-priority, job id); ids grow, so FIFO within a priority
        self._pending: dict[int, tuple[Job, Callable, tuple, dict]] = {}
        self._ids = itertools.count(1)
        self._running: list[Job] = []  # outermost first; the last one is executing, the others yielded
        self._contexts: list[JobContext] = []  # their contexts, same order (worker thread only)
        self._closed = False
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    # ---- submitting ------------------------------------------------------------------------

    def submit(self, fn: Callable, *args, name: str = "", key: str | None = None,
               priority: int | None = None,
               on_progress: Callable[[Job, Progress], None] | None = None,
               on_done: Callable[[Job], None] | None = None, **kwargs) -> Job:
        """Queue ``fn(ctx, *args, **kwargs)``; returns its Job at once. ``priority`` None takes
        the function's own (``job_priority``), else PRIORITY_BACKGROUND. A queued job with the
        same ``key`` is cancelled (it never runs)."""
        if priority is None:
            priority = getattr(fn, "priority", PRIORITY_BACKGROUND)
        job = Job(next(self._ids), name or getattr(fn, "__name__", "job"), key, priority=int(priority),
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
            heapq.heappush(self._heap, (-job.priority, job.id))
            self._lock.notify()
        for other in replaced:
            self._finish_unstarted(other)
        return job

    def _queued(self) -> list[Job]:
        """Queued jobs in the order they will run (call with the lock held)."""
        return [self._pending[i][0] for _, i in sorted(self._heap) if i in self._pending]

    def _cancel(self, predicate: Callable[[Job], bool]) -> int:
        with self._lock:
            jobs = [j for j in self._queued() if predicate(j)]
            running = [j for j in self._running if predicate(j)]
        for j in jobs:
            j.cancel()
            self._finish_unstarted(j)
        for j in running:
            j.cancel()
        return len(jobs) + len(running)

    def cancel_all(self) -> None:
        """Cancel every queued job and ask the running one(s) to stop."""
        self._cancel(lambda job: True)

    def cancel_where(self, predicate: Callable[[Job], bool]) -> int:
        """Cancel queued and running jobs for which ``predicate(job)`` is true."""
        return self._cancel(predicate)

    @property
    def busy(self) -> bool:
        with self._lock:
            return bool(self._running) or bool(self._pending)

    def jobs(self) -> list[Job]:
        """The executing job first, then jobs that yielded to it, then queued jobs in the order
        they will run."""
        with self._lock:
            return self._running[::-1] + self._queued()

    def shutdown(self, timeout: float | None = 10.0) -> bool:
        """Cancel everything, stop the worker and wait for it; True when it stopped in time.
        The running job stops at its next cancellation check; finished work is kept."""
        with self._lock:
            self._closed = True
        self.cancel_all()
        with self._lock:
            self._stopping = True
            self._lock.notify()
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

    def _take(self, above: int | None = None) -> tuple | None:
        """The next queued entry (with priority > ``above`` when given), marked running; None
        when there is none. Call with the lock held."""
        while self._heap:
            neg, job_id = self._heap[0]
            if job_id not in self._pending:
                heapq.heappop(self._heap)  # replaced or cancelled while queued
                continue
            if above is not None and -neg <= above:
                return None
            heapq.heappop(self._heap)
            entry = self._pending.pop(job_id)
            self._running.append(entry[0])
            return entry
        return None

    def _run(self) -> None:
        while True:
            with self._lock:
                entry = self._take()
                while entry is None and not self._stopping:
                    self._lock.wait()
                    entry = self._take()
            if entry is None:
                break
            self._run_entry(entry)
        self._on_exit()

    def _run_entry(self, entry: tuple) -> None:
        job, fn, args, kwargs = entry
        if job.cancelled:
            job.status = CANCELLED
        else:
            job.status = RUNNING
            self._execute(job, fn, args, kwargs)
        with self._lock:
            self._running.remove(job)
        self._finish(job)

    def run_urgent(self, job: Job) -> int:
        """Run, now and on this (the worker) thread, the queued jobs whose priority is above
        ``job``'s; returns how many ran. ``job`` continues afterwards where it stopped."""
        if threading.current_thread() is not self._thread:
            raise RuntimeError("only a running job can yield, on the worker thread")
        ran = 0
        while True:
            with self._lock:
                entry = self._take(above=job.priority)
            if entry is None:
                return ran
            self._run_entry(entry)
            ran += 1

    def _execute(self, job: Job, fn: Callable, args: tuple, kwargs: dict) -> None:
        ctx = self.context_class(self, job)
        self._contexts.append(ctx)
        try:
            job.result = fn(ctx, *args, **kwargs)
            # Cancel wins: whoever cancelled has moved on (another project, another text) and
            # must not receive this as a fresh result; finished work stays in job.result.
            job.status = CANCELLED if job.cancelled else DONE
        except Cancelled:
            job.status = CANCELLED
        except EthoscoutError as e:
            job.status, job.error, job.error_type = FAILED, str(e), type(e).__name__
        except Exception as e:  # a bug or an unexpected library error: report, don't crash
            log.error("job %s failed:\n%s", job.name, traceback.format_exc())
            first = str(e).strip().splitlines()[0] if str(e).strip() else ""
            job.status, job.error_type = FAILED, type(e).__name__
            job.error = f"{job.name} failed: {type(e).__name__}{': ' + first if first else ''}"
        finally:
            self._contexts.pop()

    def _on_exit(self) -> None:
        """Called on the worker thread when it stops (release thread-owned resources)."""


# ---- the model service ---------------------------------------------------------------------


@dataclass(frozen=True)
class ModelConfig:
    model: str = "microsoft/xclip-base-patch32"
    device: str = "auto"
    runtime: str = "auto"
    adapter: str | None = None  # folder of the active adapter, None for the base model

    def describe(self) -> str:
        return f"{self.model}" + (f" with adapter {self.adapter}" if self.adapter else "")


class ModelContext(JobContext):
    """A job's view of the service. The model settings are read once, when the job starts, so
    a ``configure`` from another thread never changes them under a running job."""

    queue: "ModelService"

    def __init__(self, queue_: "ModelService", job: Job):
        super().__init__(queue_, job)
        self.config = queue_.config

    def model(self):
        """The loaded model (loading it on first use, the warm-up reported as this job's
        progress); raises ModelError with the reason."""
        return self.queue._ensure_model(self.config, self.report)

    def scorer(self):
        svc = self.queue
        svc._ensure_model(self.config, self.report)
        svc._scorer.budget_bytes = svc.scorer_budget
        return svc._scorer

    def backend(self):
        """The vision backend for indexing (built once per loaded model)."""
        svc = self.queue
        svc._ensure_model(self.config, self.report)
        if svc._backend is None:
            from .model.runtime import make_vision_backend
            svc._backend = make_vision_backend(svc._loaded, self.config.runtime, on_progress=self.report)
        return svc._backend


def _one_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


class ModelService(JobQueue):
    """The job queue whose worker thread owns the model.

    ``configure`` only records the wanted settings (under a lock); the worker applies them when
    a job asks for the model, and a job sees the settings of its start throughout. Applying is
    all or nothing: if the checkpoint or adapter can't be loaded, the job fails with a
    ModelError, the model that worked stays loaded and becomes the configuration again
    (``config``, ``applied_config``), so every later job runs as before."""

    context_class = ModelContext

    def __init__(self, config: ModelConfig | None = None,
                 adapter_loader: Callable[[Any, str], Any] | None = None,
                 scorer_budget: int | None = None):
        from .model.query import DEFAULT_BUDGET_BYTES

        self._config_lock = threading.Lock()
        self._config = config or ModelConfig()
        self._adapter_loader = adapter_loader
        self.scorer_budget = int(scorer_budget or DEFAULT_BUDGET_BYTES)  # bytes of scorer tensors
        self._base = None  # the checkpoint as loaded; touched only on the worker thread
        self._loaded = None  # the base model, or a copy with the active adapter applied
        self._scorer = None
        self._backend = None
        self._loaded_config: ModelConfig | None = None
        self.model_error: str = ""  # the last load failure, one line
        self.model_info: dict = {}  # name, fingerprint, num_frames of the loaded model
        super().__init__("ethoscout-model")

    @property
    def config(self) -> ModelConfig:
        """The settings the next job will use (after a failed switch: the ones that worked)."""
        with self._config_lock:
            return self._config

    def configure(self, config: ModelConfig) -> None:
        """Use another checkpoint, device or adapter from the next job on; called by a job (on
        the worker thread), from that job's next ``ctx.model()`` on."""
        with self._config_lock:
            self._config = config
        if threading.current_thread() is self._thread and self._contexts:
            self._contexts[-1].config = config

    def set_scorer_budget(self, nbytes: int) -> None:
        """Bytes of per-window scorer tensors to keep (least recently used videos go first)."""
        self.scorer_budget = max(0, int(nbytes))

    @property
    def applied_config(self) -> ModelConfig | None:
        """The settings of the model loaded now (None before the first load)."""
        return self._loaded_config

    def _ensure_model(self, cfg: ModelConfig, on_progress=None):
        if self._loaded is not None and self._loaded_config == cfg:
            return self._loaded
        from .model.loading import ModelError, load_xclip
        from .model.query import QueryScorer

        previous = self._loaded_config
        same_base = (self._base is not None and previous is not None
                     and (previous.model, previous.device) == (cfg.model, cfg.device))
        try:
            base = self._base if same_base else load_xclip(cfg.model, device=cfg.device, on_progress=on_progress)
            # An adapter is applied to a copy of the base model, so adapters never stack.
            loaded = self._load_adapter(base, cfg.adapter) if cfg.adapter else base
        except Exception as e:  # nothing is applied: the previous model stays as it was
            message = _one_line(e)
            if not isinstance(e, EthoscoutError):
                log.error("loading %s failed:\n%s", cfg.describe(), traceback.format_exc())
                message = f"{cfg.describe()}: could not load ({type(e).__name__}: {message})"
            if previous is not None:  # jobs from now on use the model that worked
                with self._config_lock:
                    if self._config == cfg:
                        self._config = previous
            self.model_error = message
            raise ModelError(message) from None
        self._base, self._loaded = base, loaded
        self._scorer = QueryScorer(loaded, self.scorer_budget)
        self._backend = None  # built again for the (re)loaded model on first use
        self._loaded_config = cfg
        self.model_error = ""
        self.model_info = {"name": loaded.name, "fingerprint": loaded.fingerprint,
                           "num_frames": loaded.num_frames, "device": str(loaded.device),
                           "adapter": cfg.adapter}
        return loaded

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


@job_priority(PRIORITY_BACKGROUND)
def index_video_job(ctx: ModelContext, project_folder: str, video_path: str, spec: dict | None = None,
                    batch_size: int = 4):
    """Index one video into the project's feature cache (resumes a stopped run). After each
    batch is on disk, queued jobs of a higher priority (a preview, a rescoring) run first; the
    index then goes on from the next batch, with the same model, so its features are unchanged."""
    from .engine import index_video

    loaded = ctx.model()
    backend = ctx.backend()

    def batch_written(progress: Progress) -> None:
        ctx.report(progress)
        ctx.yield_to_urgent()

    result = index_video(project_folder, video_path, loaded, window_spec(ctx, spec), backend,
                         batch_size=batch_size, on_progress=batch_written, cancel=ctx.cancel)
    if result.status == "cancelled":
        raise Cancelled()
    return result


@job_priority(PRIORITY_SCORE)
def cache_status_job(ctx: ModelContext, project_folder: str, spec: dict | None = None) -> dict:
    """For the current model and window spec: {video fingerprint: fraction indexed (0..1)},
    counting resumable partial stores."""
    from .engine import index_status

    return index_status(project_folder, ctx.model(), window_spec(ctx, spec))


@job_priority(PRIORITY_SCORE)
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
        ctx.yield_to_urgent()  # a preview typed meanwhile goes first
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


@dataclass
class PreviewProgress(Progress):
    """A preview's step: the typed text's curve so far (``done`` of ``total`` windows exact)."""

    curve: CurveData | None = None
    exact: np.ndarray | None = None  # (N,) bool: which windows carry their final score


def visible_rows(starts: np.ndarray, ends: np.ndarray, visible: tuple[float, float] | None) -> tuple[int, int] | None:
    """Rows (start, stop) of the windows overlapping the time range ``visible`` (s); None for
    no range or no window in it."""
    if visible is None:
        return None
    a, b = sorted(visible)
    lo = int(np.searchsorted(np.asarray(ends), a, side="right"))
    hi = int(np.searchsorted(np.asarray(starts), b, side="left"))
    return (lo, hi) if lo < hi else None


@job_priority(PRIORITY_INTERACTIVE)
def preview_job(ctx: ModelContext, project_folder: str, text: str, video: str, spec: dict | None = None,
                visible: tuple[float, float] | None = None, **tuning) -> CurveData | None:
    """Score typed text on one indexed video (fingerprint ``video``), progressively: an
    approximate curve over every window first, then refinements, the windows in ``visible``
    (s) first. Each step is reported as a ``PreviewProgress``; the result, the last step, is
    exact: score_job's curve for this text. None when the video is not indexed. ``tuning``
    (anchors, chunk) goes to progressive_query."""
    from .engine import indexed_stores
    from .model.first_curve import progressive_query

    text = text.strip()
    if not text:
        raise EthoscoutError("describe the behaviour in words")
    scorer = ctx.scorer()
    stores = [s for s in indexed_stores(project_folder, ctx.model(), window_spec(ctx, spec))
              if s.meta["video_fingerprint"] == video]
    if not stores:
        return None
    store = stores[0]
    step = PreviewProgress("scoring typed text", total=len(store), item=store.meta.get("video_name", ""))
    curve = None
    for part in progressive_query(scorer, store, [text], first=visible_rows(store.starts, store.ends, visible),
                                  **tuning):
        ctx.check()  # a newer text cancelled this one: report nothing more
        curve = CurveData(video, store.video_path, store.starts, store.ends,
                          np.asarray(part.scores, np.float32), [text])
        # a new object per step: the listener may read it later, on another thread
        step = replace(step, done=int(part.exact.sum()), curve=curve, exact=part.exact.copy())
        ctx.report(step)
    return curve


@job_priority(PRIORITY_SCORE)
def warm_scorer_job(ctx: ModelContext, project_folder: str, spec: dict | None = None,
                    videos: list[str] | None = None) -> int:
    """Prepare the scorer's per-window tensors now, so the first behaviour typed afterwards
    costs only its text: for the videos whose fingerprints are in ``videos`` in that order
    (the one on screen first), else every indexed video, as many as the scorer's memory budget
    holds. Returns the number of windows prepared."""
    from .engine import indexed_stores

    scorer = ctx.scorer()
    stores = indexed_stores(project_folder, ctx.model(), window_spec(ctx, spec))
    if videos is not None:
        by_fp = {s.meta["video_fingerprint"]: s for s in stores}
        stores = [by_fp[fp] for fp in videos if fp in by_fp]
    n = room = 0
    for store in stores:
        ctx.yield_to_urgent()
        ctx.check()
        room += scorer.bytes_for(store)
        if n and room > scorer.budget_bytes:
            break  # more would push out the ones just prepared
        scorer.window_tensors(store)
        n += len(store)
    return n


@job_priority(PRIORITY_INTERACTIVE)
def reset_scorer_job(ctx: ModelContext) -> None:
    """Forget cached text and video tensors (after the model's adapter changed)."""
    ctx.scorer().reset()


__all__ = ["Job", "JobContext", "JobQueue", "ModelConfig", "ModelContext", "ModelService",
           "PRIORITY_INTERACTIVE", "PRIORITY_SCORE", "PRIORITY_BACKGROUND", "job_priority",
           "CurveData", "PreviewProgress", "index_video_job", "cache_status_job", "score_job", "preview_job",
           "warm_scorer_job", "reset_scorer_job", "visible_rows",
           "QUEUED", "RUNNING", "DONE", "FAILED", "CANCELLED", "FINISHED"]
