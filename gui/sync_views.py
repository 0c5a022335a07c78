"""Synchronised videos: up to three companion views beside the player, each following the
player's instant plus its own offset (see ``app.sync``). Stepping, seeking and playback all go
through the player's position, so the companions stay on the same instant; each has its own
frame server (decoding on its own thread, always the newest request), so a slow companion
drops frames rather than holding the player back.
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QComboBox, QDoubleSpinBox, QGridLayout, QHBoxLayout, QLabel, QPushButton,
                               QVBoxLayout, QWidget)

from ethoscout.core.errors import EthoscoutError

from .frame_server import FrameServer
from .video_view import VideoView


class CompanionPane(QWidget):
    """One companion: its picture, its name, its offset (live) and a remove button."""

    def __init__(self, video: dict, offset_s: float, parent=None):
        super().__init__(parent)
        self.video_id = video["id"]
        self.server = FrameServer(self)
        self.view = VideoView(self)
        self.view.setMinimumSize(200, 120)
        self.view.rotation = video.get("rotation") or 0
        self.view.placeholder = "outside this video"
        self.server.frameReady.connect(self._frame)
        self.wanted: int | None = None  # the frame asked for at the player's instant
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addWidget(self.view, 1)
        row = QHBoxLayout()
        self.name = QLabel(video["name"], self)
        row.addWidget(self.name, 1)
        row.addWidget(QLabel("offset", self))
        self.offset = QDoubleSpinBox(self)
        self.offset.setRange(-86400.0, 86400.0)
        self.offset.setDecimals(3)
        self.offset.setSingleStep(0.04)
        self.offset.setSuffix(" s")
        self.offset.setValue(offset_s)
        self.offset.setToolTip("This camera's time = the player's time + offset")
        row.addWidget(self.offset)
        self.remove = QPushButton("✕", self)
        self.remove.setToolTip("Stop showing this video beside the player")
        row.addWidget(self.remove)
        lay.addLayout(row)

    def _frame(self, index: int, image, _ms: float) -> None:
        if self.wanted is not None:  # a late frame must not reappear once outside the video
            self.view.set_frame(index, image)

    def show_frame(self, index: int | None) -> None:
        self.wanted = index
        if index is None:
            self.view.clear("outside this video")
        else:
            self.server.request(index)


class SyncViews(QWidget):
    """The dock's content: a row to add a companion, and the companion panes in a grid."""

    def __init__(self, session, player, status, parent=None):
        super().__init__(parent)
        self.session = session
        self.player = player
        self.status = status
        self.panes: list[CompanionPane] = []
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        row = QHBoxLayout()
        self.choice = QComboBox(self)
        self.choice.setToolTip("Another camera's video of the same observation")
        row.addWidget(self.choice, 1)
        self.add_button = QPushButton("Show beside the player", self)
        self.add_button.clicked.connect(self._add)
        row.addWidget(self.add_button)
        lay.addLayout(row)
        self.grid = QGridLayout()
        lay.addLayout(self.grid, 1)
        player.positionChanged.connect(self.follow)
        session.events.on("sync", self.rebuild)
        session.events.on("videos", self.rebuild)
        session.events.on("project", self.rebuild)
        session.view.events.video_id.connect(lambda *_: self.rebuild())
        self.rebuild()

    def _add(self) -> None:
        vid = self.choice.currentData()
        if vid is None:
            return
        try:
            self.session.add_companion(vid)
        except EthoscoutError as e:
            self.status.show_message("error", str(e))

    def rebuild(self, *_args) -> None:
        """Panes for the current video's companions (kept when unchanged, so no re-open)."""
        wanted = self.session.companions() if self.session.project is not None else []
        if [(p.video_id, p.offset.value()) for p in self.panes] != wanted:
            for p in self.panes:
                p.server.stop()
                p.setParent(None)
                p.deleteLater()
            self.panes = []
            for i, (vid, offset) in enumerate(wanted):
                pane = CompanionPane(self.session.video(vid), offset, self)
                info = self.session.project.video_timing(vid)
                pane.server.open(info.path, info)
                pane.offset.valueChanged.connect(lambda v, c=vid: self._offset_changed(c, v))
                pane.remove.clicked.connect(lambda _=False, c=vid: self.session.remove_companion(c))
                self.grid.addWidget(pane, i // 2, i % 2)
                self.panes.append(pane)
        current = self.session.view.video_id
        shown = {p.video_id for p in self.panes}
        self.choice.clear()
        for v in self.session.videos:
            if v["id"] != current and v["id"] not in shown:
                self.choice.addItem(v["name"], v["id"])
        self.add_button.setEnabled(self.choice.count() > 0 and current is not None)
        self.follow(self.player.index, self.player.time_s)

    def _offset_changed(self, companion_id: int, value: float) -> None:
        try:
            self.session.set_offset(companion_id, value)  # rebuild keeps the panes (same ids)
        except EthoscoutError as e:
            self.status.show_message("error", str(e))
        self.follow(self.player.index, self.player.time_s)

    def follow(self, _index: int, t: float) -> None:
        if self.player.info is None:
            return
        for p in self.panes:
            p.show_frame(self.session.companion_frame(p.video_id, p.offset.value(), t))

    def stop(self) -> None:
        for p in self.panes:
            p.server.stop()
