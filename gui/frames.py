"""Frames for display: exact by presentation timestamp (FrameReader), fast to step backwards.

Stepping back one frame in a long-GOP file means seeking to the keyframe before it and decoding
a whole GOP forward. ``DisplayReader`` keeps the frames any decode run passes on its way to the
frame asked for (a jump included, so the first step back after it is a cache hit), within a
memory budget. They are kept as decoded (no conversion, which would cost more than the decoding
saved) and scaled to display size when shown. ``prefetch_back`` decodes the run before the
cached one in the background while the user looks at a frame. Qt-free.
"""
from __future__ import annotations

from collections import OrderedDict

import numpy as np

from ethoscout.core.video.probe import VideoInfo
from ethoscout.core.video.reader import FrameReader

MAX_SIDE = 1280  # display frames are scaled to fit this (the view rarely shows more)
CACHE_BYTES = 384 << 20
BACK_RUN = 120  # frames kept from a decode run (the ones just before the target)


class DisplayReader(FrameReader):
    def __init__(self, info_or_path: VideoInfo | str, max_side: int = MAX_SIDE,
                 cache_bytes: int = CACHE_BYTES):
        super().__init__(info_or_path)
        w, h = self.info.width, self.info.height
        scale = min(1.0, max_side / max(w, h, 1))
        self.size = (max(2, int(round(w * scale / 2)) * 2), max(2, int(round(h * scale / 2)) * 2))
        self._cache: OrderedDict[int, object] = OrderedDict()  # RGB array, or a decoded frame
        self._cache_bytes = cache_bytes
        self._bytes = 0
        self.hits = self.misses = 0
        self._run_target = -1  # the frame the current decode run was started for

    # ---- cache -----------------------------------------------------------------------------

    def convert(self, frame) -> np.ndarray:
        w, h = self.size
        if (frame.width, frame.height) == (w, h):
            return frame.to_ndarray(format="rgb24")
        return frame.to_ndarray(format="rgb24", width=w, height=h)

    @staticmethod
    def _nbytes(item) -> int:
        return item.nbytes if isinstance(item, np.ndarray) else sum(p.buffer_size for p in item.planes)

    def _put(self, index: int, item) -> None:
        old = self._cache.get(index)
        if old is not None:
            self._cache.move_to_end(index)
            if isinstance(old, np.ndarray) or not isinstance(item, np.ndarray):
                return
            self._bytes -= self._nbytes(old)  # a decoded frame replaced by its conversion
        self._cache[index] = item
        self._bytes += self._nbytes(item)
        while self._bytes > self._cache_bytes and len(self._cache) > 1:
            _, old = self._cache.popitem(last=False)
            self._bytes -= self._nbytes(old)

    def seek(self, index: int) -> None:
        super().seek(index)
        self._run_target = index

    def cached(self, index: int) -> bool:
        return index in self._cache

    def clear_cache(self) -> None:
        self._cache.clear()
        self._bytes = 0

    # ---- reading ---------------------------------------------------------------------------

    def read(self, index: int, keep_run: bool = True) -> np.ndarray:
        """Frame ``index`` (display size, RGB). ``keep_run``: also keep the frames decoded on
        the way (they are what a step back needs next)."""
        self.check_index(index)
        item = self._cache.get(index)
        if item is not None:
            self.hits += 1
            img = item if isinstance(item, np.ndarray) else self.convert(item)
            self._put(index, img)
            return img
        self.misses += 1
        # Decode on from where the decoder is when that is near, or when a run it was already
        # making (an interrupted prefetch) passes this frame; seek otherwise.
        if not (self.can_decode_forward_to(index) or
                self.can_decode_forward_to(index, limit=self._run_target - self.position)):
            self.seek(index)
        keep_from = index - BACK_RUN if keep_run else index
        img = self._decode_to(index, keep_from)
        self._put(index, img)
        return img

    def _decode_to(self, index: int, keep_from: int, abort=None) -> np.ndarray | None:
        """Decode on to ``index``, keeping the frames passed from ``keep_from`` as decoded;
        None when ``abort()`` said to stop early."""
        def keep(i, frame):
            if i >= keep_from and i not in self._cache:
                self._put(i, frame)

        frame = self.decode_to(index, on_passed=keep, abort=abort)
        return None if frame is None else self.convert(frame)

    def convert_back(self, index: int, count: int = 8, abort=None) -> int:
        """Scale the kept frames just before ``index`` to display size now (idle time), so the
        next steps back only look them up. Returns how many it converted."""
        done = 0
        for i in range(index - 1, max(index - 1 - count, -1), -1):
            if abort is not None and abort():
                break
            item = self._cache.get(i)
            if item is not None and not isinstance(item, np.ndarray):
                self._put(i, self.convert(item))
                done += 1
        return done

    def prefetch_back(self, index: int, window: int = 24, abort=None) -> bool:
        """If fewer than ``window`` frames before ``index`` are cached, decode the run before
        the first gap and cache it; ``abort()`` returning True stops it (a new request).
        Returns True when it cached the whole run."""
        first = index
        while first - 1 >= 0 and (first - 1) in self._cache and index - first < window:
            first -= 1
        if index - first >= window or first == 0:
            return False
        target = first - 1
        if not (self._run_target == target and self.can_decode_forward_to(target, limit=target - self.position)):
            self.seek(target)  # else an interrupted prefetch of this run goes on where it stopped
        img = self._decode_to(target, target - BACK_RUN, abort)
        if img is None:
            return False
        self._put(target, img)
        return True
