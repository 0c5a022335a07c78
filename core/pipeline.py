"""Indexing as three stages, shared by local indexing (engine.index_video) and the cluster
executor (core/scale):

  decode    windows [start, stop) of one video -> Batches of its sampled frames, resized and
            cropped (uint8): exactly what the model sees, nothing at full resolution; the
            per-window products of those frames (motion descriptors) are computed here too
  embed     a Batch -> Features (frame_cls, img_features, + the per-window products) through
            the vision backend
  assemble  Features -> the video's store in the feature cache, in any order; the store is
            renamed into place once every window is on disk

The work unit is a Segment: a run of windows of one video, aligned to whole batches so that
every model call sees the same windows wherever it runs (the features are then the same bit
for bit). Locally a decoder thread runs the decode stage while the model encodes the previous
batch: PyAV (and OpenCV's resize) release the GIL. The queue holds at most ``depth`` batches,
so memory stays flat however long the video is.
"""
from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from .model.cache import CacheKey, FeatureCache, FeatureStore
from .video.decode import iter_windows
from .video.motion import MOTION_ARRAY, MOTION_DIM, MotionExtractor
from .video.preprocess import Preprocessor
from .video.probe import VideoInfo
from .video.windows import Windows, WindowSpec

if TYPE_CHECKING:  # decode workers need no torch
    from .model.loading import LoadedModel

_END = object()


# --- the work unit ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Segment:
    start: int  # first window
    stop: int  # one past the last window

    def __len__(self) -> int:
        return self.stop - self.start


def plan_segments(total: int, size: int, batch_size: int,
                  done: Callable[[int, int], bool] = lambda a, b: False) -> list[Segment]:
    """Windows [0, total) cut into segments of about ``size`` windows (a whole number of
    batches), leaving out those ``done(start, stop)`` says are finished."""
    size = max(batch_size, size // batch_size * batch_size)
    cuts = [Segment(a, min(a + size, total)) for a in range(0, total, size)]
    return [s for s in cuts if not done(s.start, s.stop)]


# --- decode stage ----------------------------------------------------------------------------

# name -> fn(frames uint8 (T, H, W, 3), frame indices (T,)) -> vector: run on each window's
# sampled frames before normalisation, so they cost no second decode.
PerWindow = dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]]


def index_products(info: VideoInfo) -> PerWindow:
    """The per-window products every index pass stores beside the features."""
    return {MOTION_ARRAY: MotionExtractor(info.pts_s)}


PRODUCT_SHAPES = {MOTION_ARRAY: (MOTION_DIM,)}  # per window, float32


@dataclass
class Batch:
    first: int  # index of its first window
    frames: np.ndarray  # (B, T, H, W, 3) uint8: sampled frames, resized and cropped
    pixels: np.ndarray | None = None  # (B, T, 3, H, W) float32, normalised (see prepare)
    extras: dict[str, np.ndarray] = field(default_factory=dict)  # per_window results, (B, ...)

    def __len__(self) -> int:
        return len(self.frames)


def decode_batches(info: VideoInfo, windows: Windows, pre: Preprocessor, batch_size: int,
                   start: int = 0, stop: int | None = None,
                   should_stop: Callable[[], bool] | None = None,
                   per_window: PerWindow | None = None) -> Iterator[Batch]:
    """The decode stage: batches of windows [start, stop) in order, each starting at
    ``start + k * batch_size``. Frames are PTS-exact however the run is cut (see decode.py)."""
    per_window = per_window or {}
    n = len(windows) if stop is None else min(stop, len(windows))
    if n < len(windows):  # decoding ends at the segment's last frame
        windows = Windows(windows.starts[:n], windows.ends[:n], windows.frames[:n], windows.loop_filter)
    frames: list[np.ndarray] = []
    extras: dict[str, list] = {name: [] for name in per_window}
    first = start

    def batch() -> Batch:
        return Batch(first, np.stack(frames), extras={k: np.stack(v) for k, v in extras.items()})

    for wi, window in iter_windows(info, windows, pre.resize_crop, start_window=start):
        if should_stop is not None and should_stop():
            return
        if not frames:
            first = wi
        frames.append(window)
        for name, fn in per_window.items():
            extras[name].append(fn(window, windows.frames[wi]))
        if len(frames) == batch_size:
            yield batch()
            frames = []
            extras = {name: [] for name in per_window}
    if frames:
        yield batch()


def prepare(pre: Preprocessor, batch: Batch) -> Batch:
    """Normalise a batch's frames for the model (where: the consumer's choice; float32 is four
    times the size of the frames, so a cluster ships frames and normalises beside the model)."""
    if batch.pixels is None:
        batch.pixels = pre.normalize(batch.frames)
    return batch


def sequential_batches(info: VideoInfo, windows: Windows, pre: Preprocessor, batch_size: int,
                       start_window: int = 0, stop: Callable[[], bool] | None = None,
                       per_window: PerWindow | None = None) -> Iterator[Batch]:
    """Prepared window batches in order from ``start_window``, decoded in the calling thread."""
    for batch in decode_batches(info, windows, pre, batch_size, start_window, None, stop, per_window):
        yield prepare(pre, batch)


class DecodeThread:
    """Runs ``sequential_batches`` in a daemon thread; iterate to receive its batches.

    An error in the decoder is raised in the consumer. ``close()`` stops the decoder at its next
    window and waits for it (the container is closed by the generator's cleanup).
    """

    def __init__(self, info: VideoInfo, windows: Windows, pre: Preprocessor, batch_size: int,
                 start_window: int = 0, depth: int = 2, per_window: PerWindow | None = None):
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, depth))
        self._stop = threading.Event()
        self._source = sequential_batches(info, windows, pre, batch_size, start_window, self._stop.is_set,
                                          per_window)
        self._thread = threading.Thread(target=self._run, name=f"decode {info.name}", daemon=True)
        self._thread.start()

    def _put(self, item) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        try:
            for batch in self._source:
                if not self._put(batch):
                    break
        except BaseException as e:  # noqa: BLE001 - handed to the consumer, which re-raises it
            self._put(e)
            return
        finally:
            self._source.close()
        self._put(_END)

    def __iter__(self) -> Iterator[Batch]:
        while True:
            item = self._queue.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def close(self) -> None:
        self._stop.set()
        while True:  # unblock a decoder waiting on a full queue
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        self._thread.join()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def window_batches(info: VideoInfo, windows: Windows, pre: Preprocessor, batch_size: int,
                   start_window: int = 0, overlap: bool = True, depth: int = 2,
                   per_window: PerWindow | None = None):
    """A context manager yielding prepared batches: from a decoder thread, or sequentially."""
    if overlap:
        return DecodeThread(info, windows, pre, batch_size, start_window, depth, per_window)
    return _Sequential(sequential_batches(info, windows, pre, batch_size, start_window, per_window=per_window))


class _Sequential:
    def __init__(self, batches: Iterator[Batch]):
        self._batches = batches

    def __iter__(self):
        return self._batches

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._batches.close()


# --- embed stage -----------------------------------------------------------------------------

@dataclass
class Features:
    first: int  # index of its first window
    arrays: dict[str, np.ndarray]  # store array name -> (B, ...) rows

    def __len__(self) -> int:
        return len(next(iter(self.arrays.values())))


def embed(backend, batch: Batch) -> Features:
    """The embed stage: a prepared batch through the vision backend; the decode stage's
    per-window products travel on with the features."""
    frame_cls, img = backend.encode(batch.pixels)
    return Features(batch.first, {"frame_cls": frame_cls, "img_features": img, **batch.extras})


def encode_batches(batches, backend, write: Callable[[Features], None],
                   cancelled: Callable[[], bool] = lambda: False) -> bool:
    """Embed each batch and hand its features to ``write``.

    Returns False when ``cancelled()`` turned true before the last batch (everything written
    so far is kept).
    """
    for batch in batches:
        if cancelled():
            return False
        write(embed(backend, batch))
    return True


# --- assemble stage --------------------------------------------------------------------------

def store_key(loaded: LoadedModel, info: VideoInfo, spec: WindowSpec, dtype: str = "float16") -> CacheKey:
    return CacheKey(loaded.fingerprint, info.fingerprint, spec.key(), dtype)


class Assembler:
    """The assemble stage: one video's features into its store, in any order. Every write is
    on disk before it counts as done, so a stopped run resumes where it was; the store is
    renamed into place when complete."""

    def __init__(self, cache: FeatureCache, key: CacheKey, info: VideoInfo, windows: Windows,
                 loaded: LoadedModel, spec: WindowSpec, pre: Preprocessor):
        patch = loaded.model.config.vision_config.patch_size
        patches = (pre.crop[0] // patch) * (pre.crop[1] // patch)
        n, t, d = len(windows), spec.frames, loaded.embed_dim
        meta = {
            "video_path": info.path, "video_fingerprint": info.fingerprint, "video_name": info.name,
            "model": loaded.name, "model_fingerprint": loaded.fingerprint, "spec": spec.to_dict(),
            "starts": windows.starts.tolist(), "ends": windows.ends.tolist(),
            "frames": windows.frames.tolist(), "duration_s": info.duration_s, "vfr": info.vfr,
        }
        shapes = {"frame_cls": (n, t, d), "img_features": (n, patches, d),
                  **{name: (n, *shape) for name, shape in PRODUCT_SHAPES.items()}}
        self.writer = cache.writer(key, meta, shapes)

    @property
    def total(self) -> int:
        return self.writer.total

    @property
    def done(self) -> int:
        """Windows on disk without a gap from the first (where an in-order run resumes)."""
        return self.writer.done

    @property
    def written(self) -> int:
        return self.writer.written

    def has(self, start: int, stop: int) -> bool:
        return self.writer.has(start, stop)

    @property
    def complete(self) -> bool:
        return self.writer.has(0, self.total)

    def add(self, features: Features) -> None:
        self.writer.write(features.first, **features.arrays)

    def finish(self) -> FeatureStore:
        return self.writer.finish()
