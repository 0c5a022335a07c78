"""Frames for display: exact by presentation timestamp (FrameReader), fast to step backwards.

Stepping back one frame in a long-GOP file means seeking to the keyframe before it and decoding
a whole GOP forward. So the frames any decode run passes on its way to the frame asked for (a
jump included) are kept in a ``FrameCache`` around the playhead, as decoded; a second reader on
the same file and cache (``DisplayReader.sibling``, run on its own thread by the frame server)
scales the ones just before the playhead to display size right after each frame is shown and
decodes the run before the cached ones ahead of need (``fill_back``), so a step back, the first
one after a jump included, only looks a converted frame up. Qt-free.
"""
from __future__ import annotations

import threading

import numpy as np

from ethoscout.core.video.probe import VideoInfo
from ethoscout.core.video.reader import FrameReader

MAX_SIDE = 1280  # display frames are scaled to fit this (the view rarely shows more)
CACHE_BYTES = 512 << 20  # ~165 frames of 1080p, decoded or at display size
BACK_RUN = 120  # frames kept from a decode run (the ones just before the target)
BACK_WINDOW = 40  # fewer cached frames than this before the playhead: decode the run before now
CONVERT_BACK = 8  # decoded frames just before the playhead scaled to display size ahead of need
SCALING = "AREA"  # a downscaling filter; half the cost of the default bilinear one at 1080p


class FrameCache:
    """Frames near the playhead, shared by the readers of one file on different threads:
    decoded (PyAV frames, as a decode run passed them) or converted (display-size RGB arrays).
    Beyond the memory budget the frame farthest from the playhead goes. A decoded frame is
    converted by one thread at a time (a PyAV frame keeps one scaler, not thread-safe)."""

    def __init__(self, convert, max_bytes: int = CACHE_BYTES):
        self._convert = convert
        self.max_bytes = max_bytes
        self.bytes = 0
        self.playhead = 0
        self._items: dict[int, object] = {}
        self._cond = threading.Condition()
        self._converting: set[int] = set()
        self._runs: dict[int, tuple[int, int]] = {}  # reader id -> frames its decode run will keep

    @staticmethod
    def _nbytes(item) -> int:
        return item.nbytes if isinstance(item, np.ndarray) else sum(p.buffer_size for p in item.planes)

    def __contains__(self, index: int) -> bool:
        return index in self._items

    def converted(self, index: int) -> bool:
        return isinstance(self._items.get(index), np.ndarray)

    def clear(self) -> None:
        with self._cond:
            self._items.clear()
            self.bytes = 0

    def put(self, index: int, item) -> None:
        """Keep a decoded frame (unless already kept) or a converted one (replacing it)."""
        with self._cond:
            old = self._items.get(index)
            if old is not None:
                if isinstance(old, np.ndarray) or not isinstance(item, np.ndarray):
                    return
                self.bytes -= self._nbytes(old)
            self._items[index] = item
            self.bytes += self._nbytes(item)
            while self.bytes > self.max_bytes and len(self._items) > 1:
                far = max((i for i in self._items if i not in self._converting),
                          key=lambda i: abs(i - self.playhead), default=None)
                if far is None:
                    break
                self.bytes -= self._nbytes(self._items.pop(far))
            self._cond.notify_all()

    def get(self, index: int) -> np.ndarray | None:
        """Frame ``index`` at display size, converted here if it was kept decoded (and kept so);
        None when not cached."""
        with self._cond:
            while index in self._converting:  # another thread is scaling it: nearly done
                self._cond.wait()
            item = self._items.get(index)
            if item is None or isinstance(item, np.ndarray):
                return item
            self._converting.add(index)
        img = None
        try:
            img = self._convert(item)
        finally:
            with self._cond:
                self._converting.discard(index)
                if img is not None:
                    self.put(index, img)
                self._cond.notify_all()
        return img

    def convert(self, index: int) -> bool:
        """Scale kept frame ``index`` to display size unless done or under way; True if done here."""
        with self._cond:
            if index in self._converting or index not in self._items or self.converted(index):
                return False
        return self.get(index) is not None

    # ---- decode runs in progress on other threads --------------------------------------------

    def start_run(self, reader: object, first: int, last: int) -> None:
        with self._cond:
            self._runs[id(reader)] = (first, last)

    def end_run(self, reader: object) -> None:
        with self._cond:
            self._runs.pop(id(reader), None)
            self._cond.notify_all()

    def wait_for_run(self, index: int, timeout: float = 30.0) -> bool:
        """If a decode run under way on another thread will keep frame ``index``, wait for it
        (cheaper than seeking and decoding the same GOP again); True once it is cached."""
        with self._cond:
            return self._cond.wait_for(
                lambda: index in self._items or not any(a <= index <= b for a, b in self._runs.values()),
                timeout) and index in self._items


class DisplayReader(FrameReader):
    def __init__(self, info_or_path: VideoInfo | str, max_side: int = MAX_SIDE,
                 cache_bytes: int = CACHE_BYTES, cache: FrameCache | None = None):
        super().__init__(info_or_path)
        self.max_side = max_side
        w, h = self.info.width, self.info.height
        scale = min(1.0, max_side / max(w, h, 1))
        self.size = (max(2, int(round(w * scale / 2)) * 2), max(2, int(round(h * scale / 2)) * 2))
        self.cache = cache if cache is not None else FrameCache(self.convert, cache_bytes)
        self.hits = self.misses = 0
        self._run_target = -1  # the frame the current decode run was started for

    def sibling(self) -> DisplayReader:
        """Another decoder on the same file sharing this reader's cache (for another thread).
        It decodes whole runs, where frame threading's throughput beats slice threading's
        quick first frame."""
        other = DisplayReader(self.info, self.max_side, cache=self.cache)
        other._stream.thread_type = "AUTO"
        return other

    def convert(self, frame) -> np.ndarray:
        w, h = self.size
        if (frame.width, frame.height) == (w, h):
            return frame.to_ndarray(format="rgb24")
        return frame.to_ndarray(format="rgb24", width=w, height=h, interpolation=SCALING)

    def seek(self, index: int) -> None:
        super().seek(index)
        self._run_target = index

    def cached(self, index: int) -> bool:
        return index in self.cache

    def clear_cache(self) -> None:
        self.cache.clear()

    # ---- reading ---------------------------------------------------------------------------

    def read(self, index: int, keep_run: bool = True) -> np.ndarray:
        """Frame ``index`` (display size, RGB). ``keep_run``: also keep the frames decoded on
        the way (they are what a step back needs next)."""
        self.check_index(index)
        self.cache.playhead = index
        img = self.cache.get(index)
        if img is None and self.cache.wait_for_run(index):
            img = self.cache.get(index)
        if img is not None:
            self.hits += 1
            return img
        self.misses += 1
        # Decode on from where the decoder is when that is near, or when a run it was already
        # making passes this frame; seek otherwise.
        if not (self.can_decode_forward_to(index) or
                self.can_decode_forward_to(index, limit=self._run_target - self.position)):
            self.seek(index)
        img = self._decode_to(index, index - BACK_RUN if keep_run else index)
        self.cache.put(index, img)
        return img

    def _decode_to(self, index: int, keep_from: int, abort=None) -> np.ndarray | None:
        """Decode on to ``index``, keeping the frames passed from ``keep_from`` as decoded;
        None when ``abort()`` said to stop early."""
        def keep(i, frame):
            if i >= keep_from:
                self.cache.put(i, frame)

        self.skip_before = keep_from  # frames before it are not kept: non-reference ones skipped
        try:
            frame = self.decode_to(index, on_passed=keep, abort=abort)
        finally:
            self.skip_before = -1
        return None if frame is None else self.convert(frame)

    def convert_back(self, index: int, count: int = CONVERT_BACK, abort=None) -> int:
        """Scale the kept frames just before ``index`` to display size now, nearest first, so
        the next steps back only look them up. Returns how many it converted."""
        done = 0
        for i in range(index - 1, max(index - 1 - count, -1), -1):
            if abort is not None and abort():
                break
            done += self.cache.convert(i)
        return done

    def prefetch_back(self, index: int, window: int = BACK_WINDOW, abort=None) -> bool:
        """If fewer than ``window`` frames before ``index`` are cached, decode the run before
        the first gap and cache it; ``abort()`` returning True stops it (it resumes where it
        stopped next time). Returns True when it cached the whole run."""
        first = index
        while first - 1 >= 0 and (first - 1) in self.cache and index - first < window:
            first -= 1
        if index - first >= window or first == 0:
            return False
        target = first - 1
        if not (self._run_target == target and self.can_decode_forward_to(target, limit=target - self.position)):
            self.seek(target)  # else an interrupted prefetch of this run goes on where it stopped
        self.cache.start_run(self, target - BACK_RUN, target)
        try:
            img = self._decode_to(target, target - BACK_RUN, abort)
        finally:
            self.cache.end_run(self)
        if img is None:
            return False
        self.cache.put(target, img)
        return True

    def fill_back(self, index: int, abort=None) -> None:
        """Ready the frames before the playhead ``index`` (another thread serves meanwhile):
        the nearest kept ones at display size, then the run before the cached ones if near."""
        self.convert_back(index, abort=abort)
        if not (abort is not None and abort()) and self.prefetch_back(index, abort=abort):
            self.convert_back(index, abort=abort)
