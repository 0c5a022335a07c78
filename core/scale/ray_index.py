"""Index an archive on a Ray cluster: the local indexer's stages as a Ray Data stream.

  probe     Ray tasks, one per video (the driver never opens a video)
  decode    Ray Data tasks on CPUs, one per segment of windows: 224-px sampled frames only
  embed     an actor pool (GPU actors where the cluster has GPUs, CPU actors otherwise)
  assemble  on the driver: features into each video's store, exactly the local format

Only sampled frames and features go through the object store; the driver writes the project's
cache itself, so workers need the videos (same path on every node) but not the project. Every
finished batch is on disk before it counts: a stopped driver resumes with the segments it has,
a killed worker's task is retried by Ray.
"""
from __future__ import annotations

import logging
import os
import pickle
from dataclasses import dataclass, field
from pathlib import Path

from ..data.project import Project
from ..engine import (IndexResult, as_loaded, feature_cache, open_or_create, project_cache_dtype,
                      project_spec, record_index_settings, resolve_spec)
from ..errors import EthoscoutError
from ..model.loading import DEFAULT_MODEL, LoadedModel
from ..model.runtime import RUNTIMES
from ..pipeline import Assembler, Features, plan_segments, store_key
from ..progress import CancelToken, Progress, ProgressFn
from ..video.motion import MOTION_ARRAY
from ..video.preprocess import Preprocessor
from ..video.probe import VideoError, VideoInfo
from ..video.windows import WindowSpec, make_windows
from .stages import Embedder, VideoJob, decode_segment, pack_model

log = logging.getLogger(__name__)

SEGMENT_WINDOWS = 64  # about a minute of video at the default stride: a decode task's work


# Ray's switch between "a cluster of machines" (bind every interface) and "this machine only"
# (bind loopback); despite its name it applies on Linux too.
LOOPBACK_ONLY = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"


class ClusterError(EthoscoutError):
    pass


def connect(address: str | None = None, num_cpus: int | None = None):
    """Ray, connected: to ``address`` ("auto": the cluster this machine belongs to,
    "ray://host:10001": a remote one), else a private single-machine Ray on 127.0.0.1.
    A Ray already initialised in this process is used as it is."""
    loopback = not address or address.split("://")[-1].split(":")[0] in ("127.0.0.1", "localhost")
    if loopback:
        # Otherwise Ray's processes listen on every interface and name this machine by its network
        # address; a single-machine cluster stays on 127.0.0.1 (read when Ray is imported).
        os.environ.setdefault(LOOPBACK_ONLY, "0")
    try:
        import ray
    except ImportError:
        raise ClusterError("the ray executor needs Ray; install it with: pip install \"ethoscout[ray]\"") from None
    if ray.is_initialized():
        return ray
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no reports leave the machine
    try:
        if address:
            ray.init(address=address, logging_level=logging.ERROR, log_to_driver=False,
                     **({"_node_ip_address": "127.0.0.1"} if loopback else {}))
        else:
            ray.init(num_cpus=num_cpus, include_dashboard=False, _node_ip_address="127.0.0.1",
                     logging_level=logging.ERROR, log_to_driver=False)
    except (ConnectionError, RuntimeError, ValueError) as e:
        where = address or "a local Ray"
        raise ClusterError(f"could not connect to {where} ({str(e).splitlines()[0]}); "
                           f"start one with `ray start --head` or check --address") from None
    return ray


@dataclass
class EmbedPlan:
    concurrency: int  # actors
    num_gpus: float
    threads: int  # CPU threads (and Ray CPUs) per actor


def plan_embedders(resources: dict, workers: int | None = None, threads: int | None = None) -> EmbedPlan:
    """One actor per GPU; on a CPU-only cluster half the CPUs embed (in actors of up to 4
    threads) and half decode. Actors never take the last CPU: decoding needs one."""
    gpus = int(resources.get("GPU", 0))
    if gpus:
        return EmbedPlan(workers or gpus, 1, 1)
    cpus = max(2, int(resources.get("CPU", 1)))
    threads = min(threads or max(1, min(4, cpus // 4)), cpus - 1)
    most = max(1, (cpus - 1) // threads)
    if workers and workers > most:
        log.warning("%d CPU actors of %d threads leave no CPU for decoding; using %d", workers, threads, most)
    return EmbedPlan(min(workers or max(1, cpus // 2 // threads), most), 0, threads)


@dataclass
class VideoState:
    path: str
    info: VideoInfo | None = None
    store_in: Assembler | None = None
    result: IndexResult | None = None
    errors: list[str] = field(default_factory=list)


def probe_all(ray, paths: list[str]) -> list[VideoInfo | str]:
    """Each video probed on the cluster: its VideoInfo, or the one-line reason it can't be used."""
    from ..video.probe import probe_video

    @ray.remote(num_cpus=1)
    def probe(p):
        try:
            return probe_video(p)
        except VideoError as e:
            return str(e)

    return ray.get([probe.remote(p) for p in paths])


def index_videos_ray(project: str | Path, paths: list[str | Path], model: str | LoadedModel = DEFAULT_MODEL,
                     spec: WindowSpec | None = None, runtime: str = "auto", batch_size: int = 4,
                     address: str | None = None, workers: int | None = None, threads: int | None = None,
                     segment_windows: int = SEGMENT_WINDOWS, on_progress: ProgressFn | None = None,
                     cancel: CancelToken | None = None, cache_dtype: str | None = None,
                     on_warmup: ProgressFn | None = None) -> list[IndexResult]:
    """Index videos on a Ray cluster into the project's cache, exactly as index_videos would;
    a video that fails becomes an error result and the others go on. ``cache_dtype`` None: the
    project's (float16)."""
    if runtime not in RUNTIMES:
        raise ClusterError(f"unknown runtime {runtime!r}; use one of {', '.join(RUNTIMES)}")
    ray = connect(address)
    loaded = as_loaded(model, "cpu", on_warmup)  # the driver only needs names, shapes and the fingerprint
    spec = resolve_spec(project_spec(project, spec), loaded)
    cache_dtype = project_cache_dtype(project, cache_dtype)
    pre = Preprocessor.from_config(loaded.preprocessor_config)
    folder = project.folder if isinstance(project, Project) else Path(project)
    cache = feature_cache(folder)

    videos = [VideoState(str(p)) for p in paths]
    segments, refs = [], []
    for vi, (v, info) in enumerate(zip(videos, probe_all(ray, [v.path for v in videos]))):
        if isinstance(info, str):
            v.result = IndexResult(v.path, "error", info)
            refs.append(None)
            continue
        v.info, v.path = info, info.path  # results name the probed (resolved) path, as local indexing's do
        key = store_key(loaded, info, spec, cache_dtype)
        store = cache.get(key)
        if store is not None and store.array(MOTION_ARRAY) is not None:
            v.result = IndexResult(info.path, "cached", store=store, info=info)
            refs.append(None)
            continue
        windows = make_windows(info.pts_s, info.duration_s, spec)
        # (a store from before motion descriptors existed is built again, motion included)
        cache.remove(cache.stale({info.fingerprint}, paths={info.path}))  # a new file at this path
        v.store_in = Assembler(cache, key, info, windows, loaded, spec, pre)
        todo = plan_segments(len(windows), segment_windows, batch_size, v.store_in.has)
        segments += [{"video": vi, "start": s.start, "stop": s.stop} for s in todo]
        refs.append(ray.put(VideoJob(info, windows, pre, batch_size)) if todo else None)

    pending = [v for v in videos if v.store_in is not None]
    total = sum(v.store_in.total for v in pending)
    progress = Progress("indexing", total=total, item=f"{len(pending)} videos")
    progress.done = progress.first_done = sum(v.store_in.written for v in pending)
    if on_progress and pending:
        on_progress(progress)
    plan = plan_embedders(ray.cluster_resources(), workers, threads)
    stopped = run_stream(ray, segments, refs, loaded, runtime, plan, cache_dtype, videos, progress,
                         on_progress, cancel) if segments else False

    for v in videos:
        if v.result is None:
            v.result = settle(v, stopped)
    record(project, loaded, spec, cache_dtype, videos)
    return [v.result for v in videos]


def record(project: str | Path | Project, loaded: LoadedModel, spec: WindowSpec, cache_dtype: str,
           videos: list[VideoState]) -> None:
    """As local indexing does: the project (created if missing) gets its model and window
    settings and the videos that were indexed; a run where every video failed changes nothing."""
    kept = [v for v in videos if v.result.status != "error"]
    if not kept:
        return
    db = open_or_create(project)
    record_index_settings(db, loaded, spec, cache_dtype)
    for v in kept:
        db.add_video(v.path, info=v.info)
    if db is not project:
        db.close()


def settle(v: VideoState, stopped: bool) -> IndexResult:
    """The result of a video the stream has finished with (or left)."""
    if v.store_in.complete and not v.errors:
        return IndexResult(v.path, "indexed", store=v.store_in.finish(), info=v.info)
    done = f"{v.store_in.written}/{v.store_in.total} windows kept; resumes next time"
    if v.errors:
        return IndexResult(v.path, "error", f"{v.errors[0]} ({done})", info=v.info)
    if stopped:
        return IndexResult(v.path, "cancelled", f"stopped at {done}", info=v.info)
    return IndexResult(v.path, "error", f"{v.path}: not all windows came back ({done})", info=v.info)


def run_stream(ray, segments: list[dict], refs: list, loaded: LoadedModel, runtime: str,
               plan: EmbedPlan, cache_dtype: str, videos: list[VideoState], progress: Progress,
               on_progress: ProgressFn | None, cancel: CancelToken | None) -> bool:
    """Decode and embed the segments on the cluster, assembling stores as rows come back.
    Returns True when cancelled."""
    import ray.data

    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False  # one bar: ours
    ctx.print_on_execution_start = False
    logging.getLogger("ray.data").setLevel(logging.ERROR)
    model_ref = ray.put(pack_model(loaded.folder))
    ds = ray.data.from_items(segments, override_num_blocks=len(segments))
    ds = ds.flat_map(decode_segment, fn_kwargs={"videos": refs}, num_cpus=1)
    # The model travels once, as a reference held by this driver (so a restarted actor finds it).
    ds = ds.map_batches(Embedder, batch_size=1, compute=ray.data.ActorPoolStrategy(size=plan.concurrency),
                        num_gpus=plan.num_gpus, num_cpus=plan.threads,
                        fn_constructor_kwargs={"model_ref": model_ref, "fingerprint": loaded.fingerprint,
                                               "runtime": runtime, "threads": plan.threads,
                                               "cache_dtype": cache_dtype})
    rows = iter(ds.iter_rows())
    try:
        for r in rows:
            v = videos[int(r["video"])]
            if r["error"]:
                v.errors.append(str(r["error"]))
                continue
            v.store_in.add(Features(int(r["first"]), pickle.loads(r["payload"])))
            progress.done = sum(w.store_in.written for w in videos if w.store_in is not None)
            if on_progress:
                on_progress(progress)
            if v.store_in.complete and v.result is None and not v.errors:
                v.result = settle(v, False)
            if cancel is not None and cancel.cancelled:
                return True
    except Exception as e:  # noqa: BLE001 - the cluster gave up (after Ray's retries): say so per video
        if isinstance(e, EthoscoutError):
            raise
        reason = str(e).strip().splitlines()[-1] if str(e).strip() else type(e).__name__
        for v in videos:
            if v.store_in is not None and v.result is None:
                v.errors.append(f"{v.path}: the cluster failed ({reason[:200]})")
    finally:
        close = getattr(rows, "close", None)
        if close:
            close()
    return False
