"""Decoding for display on its own thread; the newest request wins.

The GUI asks for frame indices as fast as the user scrubs; the decode thread always takes the
latest request and drops the ones it had not started, so the window never waits on the
decoder and never shows frames the user has already moved past. Once the user pauses it
prefetches the frames before the current one (interrupted by the next request; at once while
stepping back), so stepping back is a cache hit even in long-GOP files.
"""
from __future__ import annotations

import threading
import time

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage

from ethoscout.core.errors import EthoscoutError

from .frames import DisplayReader

IDLE_S = 0.1  # no request for this long: the user paused; prefetch the frames before (interruptible)


def to_qimage(img: np.ndarray) -> QImage:
    h, w = img.shape[:2]
    img = np.ascontiguousarray(img)
    return QImage(img.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


class FrameServer(QObject):
    """``request(index)`` from the GUI thread; ``frameReady(index, QImage, decode_ms)`` back."""

    frameReady = Signal(int, QImage, float)
    failed = Signal(str)
    opened = Signal(object)  # VideoInfo

    def __init__(self, parent=None):
        super().__init__(parent)
        self._cond = threading.Condition()
        self._path: str | None = None
        self._want: tuple[int, bool] | None = None  # (index, stepping back)
        self._reader: DisplayReader | None = None
        self._reader_path: str | None = None
        self._stop = False
        self.served = 0
        self._thread = threading.Thread(target=self._run, name="ethoscout-frames", daemon=True)
        self._thread.start()

    def open(self, path: str | None, info=None) -> None:
        with self._cond:
            self._path = path
            self._info = info
            self._want = None
            self._cond.notify()

    def request(self, index: int, stepping_back: bool = False) -> None:
        with self._cond:
            self._want = (int(index), stepping_back)
            self._cond.notify()

    def stop(self, timeout: float = 3.0) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify()
        self._thread.join(timeout)

    def _run(self) -> None:
        idle_from: int | None = None  # last frame served; prefetch before it once idle
        idle_s = IDLE_S  # 0 while stepping back: the run before is wanted next, start on it now
        while True:
            with self._cond:
                if not self._stop and self._want is None and self._path == self._reader_path:
                    self._cond.wait(idle_s if idle_from is not None else None)
                if self._stop:
                    break
                path, info = self._path, getattr(self, "_info", None)
                switch = path != self._reader_path
                want = None if switch else self._want
                if not switch:
                    self._want = None  # taken; a newer request replaces it while we decode
            try:
                if switch:
                    idle_from = None
                    self._switch(path, info)  # the pending request is served next round
                    continue
                if self._reader is None:
                    idle_from = None
                    continue
                if want is None:
                    if idle_from is not None:  # paused: ready the frames before this one
                        self._reader.convert_back(idle_from, abort=self._interrupted)
                        self._reader.prefetch_back(idle_from, abort=self._interrupted)
                        idle_from = None
                    continue
                index, stepping_back = want
                idle_s = 0.0 if stepping_back else IDLE_S
                t0 = time.perf_counter()
                img = self._reader.read(index)  # keeps the run decoded on the way: steps back hit it
                ms = (time.perf_counter() - t0) * 1000
                self.served += 1
                self.frameReady.emit(index, to_qimage(img), ms)
                idle_from = index
            except EthoscoutError as e:
                self.failed.emit(str(e))
            except Exception as e:  # never let the decode thread die silently
                self.failed.emit(f"{path}: display decoding failed ({type(e).__name__}: {e})")
        if self._reader is not None:
            self._reader.close()

    def _interrupted(self) -> bool:
        return self._stop or self._want is not None or self._path != self._reader_path

    def _switch(self, path, info) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        self._reader_path = path
        if path:
            self._reader = DisplayReader(info or path)
            self.opened.emit(self._reader.info)
