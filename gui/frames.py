"""Frames for display: exact by presentation timestamp (FrameReader), fast to step backwards.

Stepping back one frame in a long-GOP file means seeking to the keyframe before it and decoding
a whole GOP forward. So the frames any decode run passes on its way to the frame asked for (a
jump included) are kept in a ``FrameCache`` around the playhead, as decoded; a second reader on
the same file and cache (``DisplayReader.sibling``, run on its own thread by the frame server)
scales the ones just before the playhead to display size right after each frame is shown and
keeps ``BACK_DEPTH`` frames before the playhead decoded ahead of need, run after run, the GOP
before included (``fill_back``), so a step back, the first one after a jump included, only looks
a converted frame up, and holding the back key for seconds crosses keyframes without waiting.
The runs it decodes are kept shrunk to display size, still in the decoder's pixel format (4:2:0:
half the bytes of RGB, a third of a decoded 1080p frame), so the budget holds more than a 10-s
GOP of them; every frame shown is scaled the same way (shrink, then RGB), whichever path it took.
Qt-free.
"""
from __future__ import annotations

import threading

import numpy as np
from av.video.reformatter import VideoReformatter

from ethoscout.core.video.probe import VideoInfo
from ethoscout.core.video.reader import FrameReader

MAX_SIDE = 1280  # display frames are scaled to fit this (the view rarely shows more)
CACHE_BYTES = 512 << 20  # ~165 decoded 1080p frames, ~370 shrunk to 1280x720 (4:2:0), ~185 in RGB
BACK_RUN = 120  # frames kept from a decode run (the ones just before the target)
# Frames the filler keeps ready before the playhead (budget permitting): 5 s of key auto-repeat
# at 30 steps/s, several times the ~1 s a run of the GOP before costs on one 1080p core, so a
# held back key never catches up with it once the first run is in.
BACK_DEPTH = 150
BACK_SHARE = 0.6  # at most this share of the budget for them (frames after the playhead, RGB ones)
CONVERT_BACK = 8  # frames just before the playhead converted to RGB ahead of need
AHEAD_COST = 2  # eviction: a frame after the playhead counts this many times as far as one before
# (going forward decodes on from where the decoder is; each frame before costs a run from a keyframe)
SCALING = "AREA"  # a downscaling filter; half the cost of the default bilinear one at 1080p

# An FFmpeg scaler set up once per thread and kind of conversion: a PyAV frame's own one is set
# up anew for every frame (~4 ms a 1080p frame, more than the scaling itself).
_scalers = threading.local()


def scaler(kind: str) -> VideoReformatter:
    """This thread's scaler for ``kind`` (one per conversion, so each keeps its set-up)."""
    found = getattr(_scalers, kind, None)
    if found is None:
        found = VideoReformatter()
        setattr(_scalers, kind, found)
    return found


class FrameCache:
    """Frames near the playhead, shared by the readers of one file on different threads, in
    three stages of readiness: decoded (PyAV frames as a decode run passed them), shrunk (PyAV
    frames at display size) and converted (display-size RGB arrays). Beyond the memory budget
    the frame farthest from the playhead goes (those after it count ``AHEAD_COST`` times as
    far). A frame is shrunk or converted by one thread at a time (no work done twice)."""

    def __init__(self, size: tuple[int, int], convert, shrink, max_bytes: int = CACHE_BYTES):
        self.size = size
        self._convert = convert
        self._shrink = shrink
        self.max_bytes = max_bytes
        self.bytes = 0
        self.playhead = 0
        self.decoding: int | None = None  # the frame a reader is decoding for a request (a miss)
        self.shrunk_bytes = size[0] * size[1] * 3 // 2  # of a shrunk frame (4:2:0 until one is seen)
        self._items: dict[int, object] = {}
        self._cond = threading.Condition()
        self._converting: set[int] = set()
        self._runs: dict[int, tuple[int, int]] = {}  # reader id -> frames its decode run will keep

    @staticmethod
    def _nbytes(item) -> int:
        return item.nbytes if isinstance(item, np.ndarray) else sum(p.buffer_size for p in item.planes)

    def _stage(self, item) -> int:
        """0 decoded, 1 shrunk to display size, 2 converted to RGB."""
        if isinstance(item, np.ndarray):
            return 2
        return int((item.width, item.height) == self.size)

    def __contains__(self, index: int) -> bool:
        return index in self._items

    def converted(self, index: int) -> bool:
        return isinstance(self._items.get(index), np.ndarray)

    def shrunk(self, index: int) -> bool:
        """Kept at display size (shrunk or converted)."""
        item = self._items.get(index)
        return item is not None and self._stage(item) > 0

    def clear(self) -> None:
        with self._cond:
            self._items.clear()
            self.bytes = 0

    def held_before(self, index: int) -> int:
        """How many frames just before ``index`` are kept, without a gap."""
        first = index
        while first - 1 in self._items:
            first -= 1
        return index - first

    def capacity(self) -> int:
        """Shrunk frames the budget holds."""
        return self.max_bytes // max(1, self.shrunk_bytes)

    def put(self, index: int, item) -> None:
        """Keep a frame unless one as ready is kept already (a readier one replaces it)."""
        with self._cond:
            old = self._items.get(index)
            if old is not None:
                if self._stage(item) <= self._stage(old):
                    return
                self.bytes -= self._nbytes(old)
            self._items[index] = item
            self.bytes += self._nbytes(item)
            if self._stage(item) == 1:
                self.shrunk_bytes = self._nbytes(item)
            while self.bytes > self.max_bytes and len(self._items) > 1:
                ph = self.playhead
                far = max((i for i in self._items if i not in self._converting),
                          key=lambda i: (i - ph) * AHEAD_COST if i > ph else ph - i, default=None)
                if far is None:
                    break
                self.bytes -= self._nbytes(self._items.pop(far))
            self._cond.notify_all()

    def _ready(self, index: int, stage: int, make):
        """Kept frame ``index`` at ``stage`` at least, made from the kept one by ``make`` here
        if needed (and kept so); None when not cached."""
        with self._cond:
            while index in self._converting:  # another thread is scaling it: nearly done
                self._cond.wait()
            item = self._items.get(index)
            if item is None or self._stage(item) >= stage:
                return item
            self._converting.add(index)
        new = None
        try:
            new = make(item)
        finally:
            with self._cond:
                self._converting.discard(index)
                if new is not None:
                    self.put(index, new)
                self._cond.notify_all()
        return new

    def get(self, index: int) -> np.ndarray | None:
        """Frame ``index`` at display size in RGB, converted here if it was not (and kept so);
        None when not cached."""
        return self._ready(index, 2, self._convert)

    def _advance(self, index: int, stage: int, make) -> bool:
        with self._cond:
            item = self._items.get(index)
            if index in self._converting or item is None or self._stage(item) >= stage:
                return False
        return self._ready(index, stage, make) is not None

    def convert(self, index: int) -> bool:
        """Convert kept frame ``index`` to RGB unless done or under way; True if done here."""
        return self._advance(index, 2, self._convert)

    def shrink(self, index: int) -> bool:
        """Shrink kept decoded frame ``index`` to display size unless done or under way (frees
        two thirds of a 1080p frame's bytes); True if done here."""
        return self._advance(index, 1, self._shrink)

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
        self.cache = cache if cache is not None else FrameCache(self.size, self.convert, self.shrink, cache_bytes)
        self.hits = self.misses = 0
        self._run_target = -1  # the frame the current decode run was started for

    def sibling(self) -> DisplayReader:
        """Another decoder on the same file sharing this reader's cache (for another thread).
        It decodes whole runs, where frame threading's throughput beats slice threading's
        quick first frame."""
        other = DisplayReader(self.info, self.max_side, cache=self.cache)
        other._stream.thread_type = "AUTO"
        return other

    def shrink(self, frame):
        """A decoded frame at display size, in its own pixel format (itself if already so)."""
        w, h = self.size
        if (frame.width, frame.height) == (w, h):
            return frame
        return scaler("shrink").reformat(frame, width=w, height=h, interpolation=SCALING)

    def convert(self, frame) -> np.ndarray:
        """Display size, RGB: always shrunk first, so a frame looks the same whichever way it
        came (shrunk in a run ahead of need, or decoded for the request)."""
        return scaler("rgb").reformat(self.shrink(frame), format="rgb24").to_ndarray()

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
        self.cache.decoding = index  # the frame someone waits for: background decoding makes way
        try:
            # Decode on from where the decoder is when that is near, or when a run it was
            # already making passes this frame; seek otherwise.
            if not (self.can_decode_forward_to(index) or
                    self.can_decode_forward_to(index, limit=self._run_target - self.position)):
                self.seek(index)
            img = self._decode_to(index, index - BACK_RUN if keep_run else index)
        finally:
            self.cache.decoding = None
        self.cache.put(index, img)
        return img

    def _decode_to(self, index: int, keep_from: int, abort=None, shrink: bool = False) -> np.ndarray | None:
        """Decode on to ``index``, keeping the frames passed from ``keep_from`` (as decoded, or
        ``shrink``: at display size); None when ``abort()`` said to stop early."""
        def keep(i, frame):
            if i >= keep_from:
                self.cache.put(i, self.shrink(frame) if shrink else frame)

        self.skip_before = keep_from  # frames before it are not kept: non-reference ones skipped
        try:
            frame = self.decode_to(index, on_passed=keep, abort=abort)
        finally:
            self.skip_before = -1
        return None if frame is None else self.convert(frame)

    @staticmethod
    def _each_back(ready, index: int, count: int, abort) -> int:
        """``ready(i)`` for the ``count`` frames before ``index``, nearest first; how many it did."""
        done = 0
        for i in range(index - 1, max(index - 1 - count, -1), -1):
            if abort is not None and abort():
                break
            done += ready(i)
        return done

    def convert_back(self, index: int, count: int = CONVERT_BACK, abort=None) -> int:
        """Convert the kept frames just before ``index`` to RGB now, nearest first, so the next
        steps back only look them up. Returns how many it converted."""
        return self._each_back(self.cache.convert, index, count, abort)

    def shrink_back(self, index: int, count: int, abort=None) -> int:
        """Shrink the decoded frames among the ``count`` before ``index`` to display size (a
        jump keeps its run as decoded, quickest for the jump, three times the bytes)."""
        return self._each_back(self.cache.shrink, index, count, abort)

    def prefetch_back(self, index: int, window: int = BACK_DEPTH, abort=None) -> bool:
        """If fewer than ``window`` frames before ``index`` are cached, decode the run before
        the first gap and cache it at display size; ``abort()`` returning True stops it (it
        resumes where it stopped next time). Returns True when it cached the whole run."""
        first = index - self.cache.held_before(index)
        if index - first >= window or first == 0:
            return False
        target = first - 1
        if not (self._run_target == target and self.can_decode_forward_to(target, limit=target - self.position)):
            self.seek(target)  # else an interrupted prefetch of this run goes on where it stopped
        keep_from = target - min(BACK_RUN, window)
        self.cache.start_run(self, keep_from, target)
        try:
            img = self._decode_to(target, keep_from, abort, shrink=True)
        finally:
            self.cache.end_run(self)
        if img is None:
            return False
        self.cache.put(target, img)
        return True

    def back_depth(self, depth: int = BACK_DEPTH) -> int:
        """Frames to keep ready before the playhead: ``depth``, or what the budget's share for
        them holds."""
        return max(1, min(depth, int(self.cache.capacity() * BACK_SHARE)))

    def fill_back(self, index: int, abort=None, depth: int = BACK_DEPTH) -> None:
        """Ready the frames before the playhead ``index`` (another thread serves meanwhile): the
        nearest in RGB, then run after run before the cached ones until ``depth`` frames (see
        ``back_depth``) are kept, the GOP before included; then the rest shrunk."""
        def stop():
            return abort is not None and abort()

        self.convert_back(index, abort=stop)
        depth = self.back_depth(depth)
        held = self.cache.held_before(index)
        while not stop() and self.prefetch_back(index, depth, abort=stop):
            self.convert_back(index, abort=stop)
            self.shrink_back(index, depth, abort=stop)  # room for the next run
            now = self.cache.held_before(index)
            if now <= held:  # the budget gave nothing more: stop rather than decode in circles
                break
            held = now
        self.shrink_back(index, depth, abort=stop)
