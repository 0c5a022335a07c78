"""The picture, and the transport bar under it (play, speed, steps, time and frame index)."""
from __future__ import annotations

from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import (QComboBox, QHBoxLayout, QLabel, QSizePolicy, QToolButton, QWidget)

from .player import SPEEDS


def fmt_clock(t: float) -> str:
    t = max(0.0, t)
    h, rem = divmod(t, 3600)
    m, s = divmod(rem, 60)
    return f"{int(h)}:{int(m):02d}:{s:06.3f}" if h else f"{int(m):02d}:{s:06.3f}"


class VideoView(QWidget):
    """Paints the latest frame, scaled to fit, keeping the aspect ratio (and the rotation the
    container asks for)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.image: QImage | None = None
        self.index = -1
        self.rotation = 0
        self.placeholder = "Open a project and drop video files here"
        self.setMinimumSize(320, 180)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)

    def set_frame(self, index: int, image: QImage) -> None:
        self.index = index
        self.image = image
        self.update()

    def clear(self, placeholder: str | None = None) -> None:
        self.image, self.index = None, -1
        if placeholder is not None:
            self.placeholder = placeholder
        self.update()

    def paintEvent(self, event):  # noqa: N802
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(12, 12, 14))
        if self.image is None:
            p.setPen(QColor(150, 150, 150))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.placeholder)
            return
        img = self.image
        iw, ih = img.width(), img.height()
        if self.rotation in (90, 270):
            iw, ih = ih, iw
        scale = min(self.width() / iw, self.height() / ih)
        w, h = iw * scale, ih * scale
        target = QRectF((self.width() - w) / 2, (self.height() - h) / 2, w, h)
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        if self.rotation:
            p.translate(target.center())
            p.rotate(self.rotation)
            if self.rotation in (90, 270):
                target = QRectF(-h / 2, -w / 2, h, w)
            else:
                target = QRectF(-w / 2, -h / 2, w, h)
        p.drawImage(target, img)


class TransportBar(QWidget):
    """Buttons and readouts; emits requests, the Player does the work."""

    playClicked = Signal()
    stepClicked = Signal(int)
    jumpClicked = Signal(float)
    speedChosen = Signal(float)

    def __init__(self, parent=None):
        super().__init__(parent)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(4, 2, 4, 2)

        def button(text, tip, slot):
            b = QToolButton(self)
            b.setText(text)
            b.setToolTip(tip)
            b.setAutoRaise(True)
            b.clicked.connect(slot)
            lay.addWidget(b)
            return b

        button("−10 s", "Back 10 s (Ctrl+←)", lambda: self.jumpClicked.emit(-10.0))
        button("−1 s", "Back 1 s (Shift+←)", lambda: self.jumpClicked.emit(-1.0))
        button("◀|", "Previous frame (←)", lambda: self.stepClicked.emit(-1))
        self.play_button = button("▶", "Play / pause (Space)", self.playClicked.emit)
        self.play_button.setMinimumWidth(36)
        button("|▶", "Next frame (→)", lambda: self.stepClicked.emit(1))
        button("+1 s", "Forward 1 s (Shift+→)", lambda: self.jumpClicked.emit(1.0))
        button("+10 s", "Forward 10 s (Ctrl+→)", lambda: self.jumpClicked.emit(10.0))
        self.speed = QComboBox(self)
        self.speed.setToolTip("Playback speed ([ slower, ] faster)")
        for s in SPEEDS:
            self.speed.addItem(f"{s:g}×", s)
        self.speed.setCurrentIndex(SPEEDS.index(1.0))
        self.speed.activated.connect(lambda i: self.speedChosen.emit(float(self.speed.itemData(i))))
        self.speed.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        lay.addWidget(self.speed)
        lay.addStretch(1)
        self.position = QLabel("–", self)
        self.position.setObjectName("positionLabel")
        self.position.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.position)
        for w in self.findChildren(QToolButton):
            w.setFocusPolicy(Qt.FocusPolicy.NoFocus)

    def set_playing(self, playing: bool) -> None:
        self.play_button.setText("❚❚" if playing else "▶")

    def set_speed(self, speed: float) -> None:
        i = self.speed.findData(speed)
        if i >= 0:
            self.speed.setCurrentIndex(i)

    def set_position(self, index: int, t: float, frame_count: int, duration: float, vfr: bool = False) -> None:
        flag = "  ·  variable frame rate" if vfr else ""
        # time over frame: on one line they widened the window past a laptop's screen
        self.position.setText(f"{fmt_clock(t)} / {fmt_clock(duration)}\nframe {index} / {max(0, frame_count - 1)}{flag}")
