"""Playback state: the current frame (exact, by presentation timestamp), play/pause, speed,
looping a range; asks the FrameServer for frames and never waits for them."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QElapsedTimer, QObject, Qt, QTimer, Signal

from .frame_server import FrameServer

SPEEDS = (0.1, 0.25, 0.5, 1.0, 1.5, 2.0, 4.0, 8.0)


class Player(QObject):
    """``positionChanged(index, time_s)`` whenever the current frame changes."""

    positionChanged = Signal(int, float)
    playingChanged = Signal(bool)
    speedChanged = Signal(float)
    videoChanged = Signal(object)  # VideoInfo or None

    def __init__(self, server: FrameServer, parent=None):
        super().__init__(parent)
        self.server = server
        self.info = None
        self.index = 0
        self.speed = 1.0
        self.playing = False
        self.loop: tuple[float, float] | None = None
        self._clock = QElapsedTimer()
        self._t0 = 0.0
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._tick)

    # ---- video -----------------------------------------------------------------------------

    def set_video(self, info) -> None:
        """``info``: a VideoInfo (from the project database; no probing needed) or None."""
        self.pause()
        self.info = info
        self.loop = None
        self.index = 0
        self.server.open(info.path if info is not None else None, info)
        self.videoChanged.emit(info)
        if info is not None:
            self._show(0)

    @property
    def time_s(self) -> float:
        return self.info.time_of(self.index) if self.info is not None else 0.0

    @property
    def frame_count(self) -> int:
        return self.info.frame_count if self.info is not None else 0

    # ---- moving ----------------------------------------------------------------------------

    def _show(self, index: int, stepping_back: bool = False) -> None:
        if self.info is None:
            return
        index = int(np.clip(index, 0, self.info.frame_count - 1))
        self.index = index
        self.server.request(index, stepping_back)
        self.positionChanged.emit(index, self.info.time_of(index))

    def seek_frame(self, index: int) -> None:
        self._show(index)
        self._restart_clock()

    def seek_time(self, t: float) -> None:
        if self.info is None:
            return
        self.seek_frame(self.info.frame_at(max(0.0, float(t))))

    def step(self, frames: int) -> None:
        """Frame step, exact by presentation timestamp."""
        self.pause()
        self._show(self.index + frames, stepping_back=frames < 0)

    def jump(self, seconds: float) -> None:
        if self.info is None:
            return
        t = self.info.time_of(self.index) + seconds
        self.seek_time(min(max(t, 0.0), self.info.duration_s))

    # ---- playing ---------------------------------------------------------------------------

    def set_speed(self, speed: float) -> None:
        speed = float(min(max(speed, SPEEDS[0]), SPEEDS[-1]))
        if speed != self.speed:
            self._restart_clock()
            self.speed = speed
            self.speedChanged.emit(speed)

    def faster(self) -> None:
        bigger = [s for s in SPEEDS if s > self.speed + 1e-9]
        if bigger:
            self.set_speed(bigger[0])

    def slower(self) -> None:
        smaller = [s for s in SPEEDS if s < self.speed - 1e-9]
        if smaller:
            self.set_speed(smaller[-1])

    def play(self) -> None:
        if self.info is None or self.playing:
            return
        if self.loop is None and self.index >= self.info.frame_count - 1:
            self._show(0)
        self.playing = True
        self._restart_clock()
        interval = 1000.0 / max(1.0, self.info.fps * self.speed)
        self._timer.start(int(min(max(interval, 8), 40)))
        self.playingChanged.emit(True)

    def pause(self) -> None:
        if self.playing:
            self.playing = False
            self._timer.stop()
            self.playingChanged.emit(False)

    def toggle(self) -> None:
        self.pause() if self.playing else self.play()

    def set_loop(self, start_s: float | None, end_s: float | None = None, play: bool = True) -> None:
        """Loop [start, end) (a suggestion); None stops looping."""
        if start_s is None:
            self.loop = None
            return
        self.loop = (float(start_s), float(end_s))
        self.seek_time(start_s)
        if play:
            self.play()

    def _restart_clock(self) -> None:
        self._clock.restart()
        self._t0 = self.time_s

    def _tick(self) -> None:
        if self.info is None:
            self.pause()
            return
        t = self._t0 + self._clock.elapsed() / 1000.0 * self.speed
        if self.loop is not None:
            a, b = self.loop
            if t >= b or t < a - 1e-6:
                self._show(self.info.frame_at(a))
                self._restart_clock()
                return
        if t >= self.info.duration_s:
            self._show(self.info.frame_count - 1)
            self.pause()
            return
        i = self.info.frame_at(t)
        if i != self.index:
            self._show(i)
