"""Index videos once with the vision tower, then score any behaviour text from the cache.

This is where video decoding, the model and the feature cache meet; the GUI and the CLI call
these functions (through jobs.py for the GUI).
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from itertools import chain
from pathlib import Path

import numpy as np

from .data.export import SCORE_COLUMNS, window_score_rows
from .data.project import Project
from .errors import EthoscoutError
from .options import OptionError
from .model.cache import CacheKey, FeatureCache, FeatureStore
from .model.loading import DEFAULT_MODEL, LoadedModel, load_xclip
from .model.query import QueryScorer
from .model.runtime import make_vision_backend
from .pipeline import Assembler, Features, encode_batches, index_products, store_key, window_batches
from .progress import CancelToken, Progress, ProgressFn
from .video.decode import iter_windows
from .video.motion import MOTION_ARRAY, MOTION_DIM, MotionExtractor
from .video.preprocess import Preprocessor
from .video.probe import VideoError, VideoInfo, probe_video
from .video.windows import WindowSpec, make_windows

FEATURES_DIR = "features"


class QueryError(EthoscoutError):
    pass


@dataclass
class IndexResult:
    path: str
    status: str  # indexed | cached | error | cancelled
    message: str = ""
    store: FeatureStore | None = None
    info: VideoInfo | None = None


def feature_cache(project: str | Path) -> FeatureCache:
    return FeatureCache(Path(project) / FEATURES_DIR)


def open_or_create(project: str | Path | Project) -> Project:
    """The project database, created on first use so `ethoscout index --project new/` works."""
    if isinstance(project, Project):
        return project
    return Project.open(project) if (Path(project) / "project.sqlite").exists() else Project.create(project)


def project_setting(project: str | Path | Project, key: str):
    """A project setting, or None where the folder is not (yet) a project. A folder given as
    a path is opened only for this read, so no connection is left behind."""
    if isinstance(project, Project):
        return project.get_setting(key)
    if not (Path(project) / "project.sqlite").exists():
        return None
    with Project.open(project) as db:
        return db.get_setting(key)


def project_model(project: str | Path | Project, model: str | None) -> str:
    """The model asked for, else the one the project was indexed with, else the default."""
    return str(model or project_setting(project, "model") or DEFAULT_MODEL)


def project_spec(project: str | Path | Project, spec: WindowSpec | None) -> WindowSpec | None:
    """The window spec asked for, else the project's (None: the checkpoint's default)."""
    if spec is not None:
        return spec
    saved = project_setting(project, "window_spec")
    return WindowSpec(**saved) if saved else None


def resolve_spec(spec: WindowSpec | None, loaded: LoadedModel) -> WindowSpec:
    """No spec, or frames 0, takes T from the checkpoint; any other count is refused before
    work starts (the multi-frame transformer has one position per checkpoint frame)."""
    spec = spec if spec is not None else WindowSpec(frames=0)
    if spec.frames and spec.frames != loaded.num_frames:
        raise OptionError("--frames", f"{spec.frames} frames per window, but {loaded.name} takes exactly "
                                      f"{loaded.num_frames} (give {loaded.num_frames} or leave it out)")
    return spec if spec.frames else replace(spec, frames=loaded.num_frames)


def as_loaded(model: str | LoadedModel, device: str = "auto", on_progress: ProgressFn | None = None) -> LoadedModel:
    return model if isinstance(model, LoadedModel) else load_xclip(model, device=device, on_progress=on_progress)


def index_video(project: str | Path, path: str | Path, loaded: LoadedModel, spec: WindowSpec,
                backend=None, batch_size: int = 4, on_progress: ProgressFn | None = None,
                cancel: CancelToken | None = None, info: VideoInfo | None = None,
                cache_dtype: str | None = None) -> IndexResult:
    """Index one video; an unchanged video already in the cache costs only a probe.

    A decoder thread prepares the next batches while the model encodes the current one
    (core/pipeline.py) and computes each window's motion descriptor from the same frames;
    every finished batch is on disk before progress reports it, so a cancelled or killed run
    resumes from there. A cached store without motion descriptors gets them (decoding again,
    without the vision tower). Stores indexed from this path under another fingerprint are
    removed: the file there was replaced. ``cache_dtype`` None: the project's (float16).
    """
    info = info or probe_video(path)
    key = store_key(loaded, info, spec, project_cache_dtype(project, cache_dtype))
    cache = feature_cache(project)
    store = cache.get(key)
    windows = make_windows(info.pts_s, info.duration_s, spec)
    pre = Preprocessor.from_config(loaded.preprocessor_config)
    if store is not None:
        if store.array(MOTION_ARRAY) is None and len(windows) == len(store):
            if not add_motion(store, info, windows, pre, on_progress, cancel):
                return IndexResult(info.path, "cancelled", "motion descriptors not finished; resumes next time",
                                   info=info)
        return IndexResult(info.path, "cached", store=store, info=info)
    cache.remove(cache.stale({info.fingerprint}, paths={info.path}))  # a new file at this path
    backend = backend or make_vision_backend(loaded)
    store_in = Assembler(cache, key, info, windows, loaded, spec, pre)
    n = store_in.total
    progress = Progress("indexing", total=n, done=store_in.done, item=info.name, first_done=store_in.done)
    if on_progress:
        on_progress(progress)

    def write(features: Features) -> None:
        store_in.add(features)
        progress.done = store_in.done
        if on_progress:
            on_progress(progress)

    def cancelled() -> bool:
        return cancel is not None and cancel.cancelled

    if store_in.done < n:
        with window_batches(info, windows, pre, batch_size, start_window=store_in.done,
                            per_window=index_products(info)) as batches:
            if not encode_batches(batches, backend, write, cancelled):
                return IndexResult(info.path, "cancelled",
                                   f"stopped at {store_in.done}/{n} windows; resumes next time", info=info)
    return IndexResult(info.path, "indexed", store=store_in.finish(), info=info)


def add_motion(store: FeatureStore, info: VideoInfo, windows, pre: Preprocessor,
               on_progress: ProgressFn | None = None, cancel: CancelToken | None = None) -> bool:
    """Motion descriptors for a store indexed before they existed; False when cancelled."""
    extractor = MotionExtractor(info.pts_s)
    out = np.zeros((len(windows), MOTION_DIM), np.float32)
    progress = Progress("motion", total=len(windows), done=0, item=info.name)
    for wi, frames in iter_windows(info, windows, pre.resize_crop):
        if cancel is not None and cancel.cancelled:
            return False
        out[wi] = extractor(frames, windows.frames[wi])
        progress.done = wi + 1
        if on_progress and (wi % 16 == 15 or wi + 1 == len(windows)):
            on_progress(progress)
    store.add_array(MOTION_ARRAY, out)
    return True


def index_videos(project: str | Path, paths: list[str | Path], model: str | LoadedModel = DEFAULT_MODEL,
                 spec: WindowSpec | None = None, device: str = "auto", runtime: str = "auto",
                 batch_size: int = 4, on_progress: ProgressFn | None = None,
                 cancel: CancelToken | None = None, cache_dtype: str | None = None,
                 on_warmup: ProgressFn | None = None) -> list[IndexResult]:
    """Index each video and add it to the project database; a bad file becomes an error
    result and the others go on. The project (created if missing), its videos and its model
    and window settings change only for videos that were indexed: a run that fails leaves
    the project as it was. ``on_warmup`` hears the one-time steps before the first window
    (download, loading, ONNX export, graph optimisation). ``cache_dtype`` None: the
    project's (float16); another is recorded as the project's, whose videos are then scored
    from stores of that dtype only."""
    loaded = as_loaded(model, device, on_warmup)
    spec = resolve_spec(project_spec(project, spec), loaded)
    cache_dtype = project_cache_dtype(project, cache_dtype)
    try:
        backend = make_vision_backend(loaded, runtime, on_progress=on_warmup)
    except ValueError as e:  # a runtime this machine can't run
        raise OptionError("--runtime", str(e)) from None
    folder = project.folder if isinstance(project, Project) else Path(project)
    db: Project | None = None
    results = []
    for p in paths:
        if cancel is not None and cancel.cancelled:
            results.append(IndexResult(str(p), "cancelled", "not started"))
            continue
        try:
            info = probe_video(p)
            result = index_video(folder, p, loaded, spec, backend, batch_size, on_progress, cancel,
                                 info=info, cache_dtype=cache_dtype)
        except VideoError as e:
            results.append(IndexResult(str(p), "error", str(e)))
            continue
        if db is None:
            db = open_or_create(project)
            record_index_settings(db, loaded, spec, cache_dtype)
        db.add_video(p, info=info)
        results.append(result)
    if db is not None and db is not project:
        db.close()
    return results


def record_index_settings(db: Project, loaded: LoadedModel, spec: WindowSpec, cache_dtype: str) -> None:
    """The model, window spec and cache dtype the project's videos are indexed with (what
    scoring, training and the window read back)."""
    db.set_setting("model", loaded.name)
    db.set_setting("window_spec", spec.to_dict())
    if db.get_setting("cache_dtype", "float16") != cache_dtype:
        db.set_setting("cache_dtype", cache_dtype)


def project_cache_dtype(project: str | Path | Project, dtype: str | None = None) -> str:
    """The dtype asked for, else the project's feature-cache dtype, else float16."""
    return str(dtype or project_setting(project, "cache_dtype") or "float16")


def project_fingerprints(project: str | Path | Project) -> list[str] | None:
    """The current fingerprints of the project's videos, in project order; None where the
    folder has no database (stores indexed without one)."""
    if isinstance(project, Project):
        return [v["fingerprint"] for v in project.videos()]
    if not (Path(project) / "project.sqlite").exists():
        return None
    with Project.open(project) as db:
        return [v["fingerprint"] for v in db.videos()]


def project_folder(project: str | Path | Project) -> Path:
    return project.folder if isinstance(project, Project) else Path(project)


def indexed_stores(project: str | Path | Project, loaded: LoadedModel, spec: WindowSpec | None = None,
                   dtype: str | None = None) -> list[FeatureStore]:
    """The complete store of each project video as it is now (its current fingerprint), for
    this model, window spec and the project's cache dtype, in project order."""
    spec = resolve_spec(project_spec(project, spec), loaded)
    return feature_cache(project_folder(project)).stores(
        loaded.fingerprint, spec.key(), project_fingerprints(project), project_cache_dtype(project, dtype))


def index_status(project: str | Path | Project, loaded: LoadedModel, spec: WindowSpec | None = None) -> dict:
    """{video fingerprint: fraction indexed (0..1)} of the project's current videos for this
    model and window spec, counting resumable partial stores."""
    spec = resolve_spec(project_spec(project, spec), loaded)
    cache, dtype = feature_cache(project_folder(project)), project_cache_dtype(project)
    fingerprints = project_fingerprints(project)
    if fingerprints is None:
        return {s.meta["video_fingerprint"]: 1.0 for s in cache.stores(loaded.fingerprint, spec.key(), None, dtype)}
    out = {}
    for fp in fingerprints:
        key = CacheKey(loaded.fingerprint, fp, spec.key(), dtype)
        partial = cache.partial(key)
        if cache.get(key) is not None:
            out[fp] = 1.0
        elif partial is not None:
            out[fp] = partial[0] / partial[1] if partial[1] else 0.0
    return out


def prune_stale_stores(project: str | Path | Project) -> tuple[int, int]:
    """Remove cached stores of videos no longer in the project, or replaced since (another
    fingerprint at the same path). Returns (stores removed, bytes freed)."""
    fingerprints = project_fingerprints(project)
    if fingerprints is None:
        raise QueryError(f"{project}: not a project folder (no project.sqlite)")
    cache = feature_cache(project_folder(project))
    stale = cache.stale(set(fingerprints))
    return len(stale), cache.remove(stale)


def check_queries(queries: list[str]) -> list[str]:
    if not queries:
        raise QueryError("no query given; pass at least one --query \"a behaviour in words\"")
    for q in queries:
        if not q or not q.strip():
            raise QueryError("a query is empty; describe the behaviour in words, e.g. \"mouse rearing\"")
    return [q.strip() for q in queries]


def check_project_folder(project: str | Path) -> None:
    if not Path(project).is_dir():
        raise QueryError(f"{project}: project folder not found")


@dataclass
class VideoScores:
    video: str
    starts: np.ndarray
    ends: np.ndarray
    scores: np.ndarray  # (N, K) cosine similarity
    store: FeatureStore


def score_queries(project: str | Path, queries: list[str], model: str | LoadedModel | QueryScorer | None = None,
                  spec: WindowSpec | None = None, device: str = "auto") -> list[VideoScores]:
    """Per-window cosine scores of each query, for every indexed video of the project
    (model None: the project's)."""
    queries = check_queries(queries)
    check_project_folder(project)
    if isinstance(model, QueryScorer):
        scorer = model
    else:
        scorer = QueryScorer(as_loaded(model or project_model(project, None), device))
    stores = indexed_stores(project, scorer.loaded, spec)
    if not stores:
        raise QueryError(f"{project}: no video is indexed with this model and window spec; run `ethoscout index` first")
    return [VideoScores(s.meta["video_name"], s.starts, s.ends, scorer.score(s, queries), s) for s in stores]


def score_table(results: list[VideoScores], queries: list[str]) -> tuple[list[str], Iterator[list]]:
    """Header and rows of the scores CSV: one row per window, one column per query."""
    rows = chain.from_iterable(window_score_rows(r.video, r.starts, r.ends, r.scores, queries) for r in results)
    return [*SCORE_COLUMNS, *queries], rows
