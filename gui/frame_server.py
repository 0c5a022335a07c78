"""Decoding for display on its own thread; the newest request wins.

The GUI asks for frame indices as fast as the user scrubs; the decode thread always takes the
latest request and drops the ones it had not started, so the window never waits on the
decoder and never shows frames the user has already moved past. A second thread with its own
decoder on the same file readies the frames before the one just shown, at once (the nearest in
RGB, and run after run before them, the GOP before included, until BACK_DEPTH frames are ready),
so stepping back is a cache hit even in long-GOP files, right after a jump included and while
the back key is held across keyframes, and the serving thread never waits for that work.
"""
from __future__ import annotations

import threading
import time

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage

from ethoscout.core.errors import EthoscoutError
from ethoscout.core.video.reader import FORWARD_LIMIT

from .frames import BACK_DEPTH, BACK_RUN, CACHE_BYTES, DisplayReader

IDLE_S = 0.1  # no new frame shown for this long after moving forward: the user paused
YIELD_S = 0.002  # the filler lets the GUI thread take the frame just shown first (CPU, GIL)


def to_qimage(img: np.ndarray) -> QImage:
    h, w = img.shape[:2]
    img = np.ascontiguousarray(img)
    return QImage(img.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


class FrameServer(QObject):
    """``request(index)`` from the GUI thread; ``frameReady(index, QImage, decode_ms)`` back."""

    frameReady = Signal(int, QImage, float)
    failed = Signal(str)
    opened = Signal(object)  # VideoInfo

    def __init__(self, parent=None, cache_bytes: int = CACHE_BYTES):
        super().__init__(parent)
        self.cache_bytes = cache_bytes  # the frames kept around the playhead, both decoders together
        self._cond = threading.Condition()  # requests (GUI -> serving thread)
        self._fill_cond = threading.Condition()  # frames shown (serving -> filler thread)
        self._path: str | None = None
        self._want: tuple[int, bool] | None = None  # (index, stepping back)
        self._reader: DisplayReader | None = None
        self._reader_path: str | None = None
        self._stop = False
        self.served = 0
        # the frame last shown (reader, index, moving forward): the filler readies frames before it
        self._shown: tuple[DisplayReader | None, int | None, bool] | None = None
        self._last: int | None = None  # the frame shown before it (serving thread)
        self._thread = threading.Thread(target=self._run, name="ethoscout-frames", daemon=True)
        self._filler = threading.Thread(target=self._fill, name="ethoscout-frames-back", daemon=True)
        self._thread.start()
        self._filler.start()

    def open(self, path: str | None, info=None) -> None:
        with self._cond:
            self._path = path
            self._info = info
            self._want = None
            self._cond.notify()

    def request(self, index: int, stepping_back: bool = False) -> None:
        """``stepping_back`` is kept for callers; every frame shown readies the ones before."""
        with self._cond:
            self._want = (int(index), stepping_back)
            self._cond.notify()

    def stop(self, timeout: float = 3.0) -> None:
        for cond in (self._cond, self._fill_cond):
            with cond:
                self._stop = True
                cond.notify_all()
        self._thread.join(timeout)
        self._filler.join(timeout)

    def _run(self) -> None:
        while True:
            with self._cond:
                if not self._stop and self._want is None and self._path == self._reader_path:
                    self._cond.wait()
                if self._stop:
                    break
                path, info = self._path, getattr(self, "_info", None)
                switch = path != self._reader_path
                want = None if switch else self._want
                if not switch:
                    self._want = None  # taken; a newer request replaces it while we decode
            try:
                if switch:
                    self._switch(path, info)  # the pending request is served next round
                    continue
                if self._reader is None or want is None:
                    continue
                index = want[0]
                t0 = time.perf_counter()
                img = self._reader.read(index)  # keeps the run decoded on the way: steps back hit it
                ms = (time.perf_counter() - t0) * 1000
                self.served += 1
                self.frameReady.emit(index, to_qimage(img), ms)
                with self._fill_cond:
                    forward = self._last is not None and 0 < index - self._last <= FORWARD_LIMIT
                    self._shown = (self._reader, index, forward)
                    self._last = index
                    self._fill_cond.notify()  # the filler starts on the frames before it now
            except EthoscoutError as e:
                self.failed.emit(str(e))
            except Exception as e:  # never let the decode thread die silently
                self.failed.emit(f"{path}: display decoding failed ({type(e).__name__}: {e})")
        if self._reader is not None:
            self._reader.close()

    def _fill(self) -> None:
        """Second thread: ready the frames before the one last shown (``fill_back``) with its
        own decoder, at once after a jump or a step back; while the user moves forward
        (playback, steps) only once they pause: that work would compete with the frames ahead.
        A newer frame shown interrupts and restarts it; a jump elsewhere cancels it."""
        owner, filler = None, None
        paused_at = None  # (reader, index) shown while moving forward: readied after IDLE_S
        while True:
            with self._fill_cond:
                while not self._stop and self._shown is None:
                    if not self._fill_cond.wait(IDLE_S if paused_at else None) and paused_at:
                        break
                if self._stop:
                    break
                if self._shown is not None:
                    reader, index, forward = self._shown
                    self._shown = None
                else:
                    (reader, index), forward = paused_at, False
                paused_at = (reader, index) if forward else None
                if forward:
                    continue  # nothing to do behind the playhead until the user pauses
            time.sleep(YIELD_S)
            try:
                if reader is not owner:  # another video (or none): its own decoder on it
                    if filler is not None:
                        filler.close()
                    owner, filler = reader, (reader.sibling() if reader is not None else None)
                if filler is not None and index is not None:
                    filler.fill_back(index, abort=lambda: self._moved_on(index, filler.cache))
            except Exception:  # noqa: BLE001  best effort: the serving thread reports real errors
                if filler is not None:
                    filler.close()
                owner, filler = None, None
        if filler is not None:
            filler.close()

    def _moved_on(self, index: int, cache) -> bool:
        """Stop readying the frames before ``index``: another frame was shown, one far from
        them is wanted (a jump; a step back still wants this work finished, it may wait on it),
        or the serving thread decodes a frame itself (the user waits for it: the cores are its)."""
        want = self._want
        return (self._stop or self._shown is not None or cache.decoding is not None or
                (want is not None and not index - BACK_RUN - BACK_DEPTH <= want[0] <= index))

    def _switch(self, path, info) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        self._reader_path = path
        if path:
            self._reader = DisplayReader(info or path, cache_bytes=self.cache_bytes)
            self.opened.emit(self._reader.info)
        with self._fill_cond:
            self._shown = (self._reader, None, False)  # the filler lets go of the last video's file
            self._last = None
            self._fill_cond.notify()
