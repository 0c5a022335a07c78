"""Decoding overlapped with inference: a decoder thread feeds normalised window batches to the
model through a bounded queue.

PyAV (and OpenCV's resize) release the GIL, so the decoder thread runs while ONNX Runtime or
torch computes. The queue holds at most ``depth`` batches, so memory stays flat however long the
video is. Batches come out in window order, exactly as the sequential loop would build them:
the features are the same bit for bit.

``per_window`` functions (name -> fn(frames uint8 (T,H,W,3), frame indices (T,)) -> vector) run
in the decoder thread on each window's sampled frames before normalisation; their stacked
results travel with the batch (``Batch.extras``) and are written beside the features. The
motion descriptors use this, so they cost no second decode.
"""
from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np

from .video.decode import iter_windows
from .video.preprocess import Preprocessor
from .video.probe import VideoInfo
from .video.windows import Windows

_END = object()


@dataclass
class Batch:
    first: int  # index of its first window
    pixels: np.ndarray  # (B, T, 3, H, W) float32, normalised
    extras: dict[str, np.ndarray] = field(default_factory=dict)  # per_window results, (B, ...)


PerWindow = dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]]


def sequential_batches(info: VideoInfo, windows: Windows, pre: Preprocessor, batch_size: int,
                       start_window: int = 0, stop: Callable[[], bool] | None = None,
                       per_window: PerWindow | None = None) -> Iterator[Batch]:
    """Window batches in order from ``start_window``, decoded in the calling thread."""
    per_window = per_window or {}
    frames: list[np.ndarray] = []
    extras: dict[str, list] = {name: [] for name in per_window}
    first = start_window

    def batch() -> Batch:
        return Batch(first, pre.normalize(np.stack(frames)), {k: np.stack(v) for k, v in extras.items()})

    for wi, window in iter_windows(info, windows, pre.resize_crop, start_window=start_window):
        if stop is not None and stop():
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
    """A context manager yielding batches: from a decoder thread, or sequentially."""
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


def encode_batches(batches, backend, write: Callable[[int, np.ndarray, np.ndarray], None],
                   cancelled: Callable[[], bool] = lambda: False) -> bool:
    """Encode each batch and hand its features to ``write(first, frame_cls, img_features,
    **batch.extras)``.

    Returns False when ``cancelled()`` turned true before the last batch (everything written
    so far is kept).
    """
    for batch in batches:
        if cancelled():
            return False
        frame_cls, img = backend.encode(batch.pixels)
        write(batch.first, frame_cls, img, **batch.extras)
    return True
