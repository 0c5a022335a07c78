"""The project's videos and each one's state: indexed, indexing 43%, paused, error, missing."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (QHBoxLayout, QHeaderView, QLabel, QPushButton, QTreeWidget,
                               QTreeWidgetItem, QVBoxLayout, QWidget)

from .video_view import fmt_clock

STATE_COLOURS = {"indexed": "#59c76b", "indexing": "#e0b43c", "queued": "#c8c8c8", "paused": "#e08a3c",
                 "error": "#ff6161", "missing": "#ff6161", "not indexed": "#9a9a9a"}


NAME_MIN_WIDTH = 140  # px for the name column: never squeezed to "m…"


class VideoList(QWidget):
    selected = Signal(int)
    indexRequested = Signal()
    addRequested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        self.tree = QTreeWidget(self)
        self.tree.setHeaderLabels(["Video", "Length", "State"])
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        h = self.tree.header()
        h.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        h.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        h.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        h.setStretchLastSection(False)
        # long names keep their start and end (the part that tells recordings apart)
        self.tree.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.setMinimumWidth(NAME_MIN_WIDTH + 150)
        self.tree.currentItemChanged.connect(self._current)
        lay.addWidget(self.tree, 1)
        self.hint = QLabel("Drop video files here, or File → Add videos", self)
        self.hint.setWordWrap(True)
        self.hint.setObjectName("hint")
        lay.addWidget(self.hint)
        row = QHBoxLayout()
        add = QPushButton("Add…", self)
        add.clicked.connect(self.addRequested.emit)
        self.index_button = QPushButton("Index all", self)
        self.index_button.setToolTip("Run the vision model once over every window (Ctrl+R)")
        self.index_button.clicked.connect(self.indexRequested.emit)
        row.addWidget(add)
        row.addWidget(self.index_button)
        row.addStretch(1)
        lay.addLayout(row)
        self._items: dict[int, QTreeWidgetItem] = {}
        self._filling = False

    def _current(self, cur, _prev) -> None:
        if cur is not None and not self._filling:
            self.selected.emit(cur.data(0, Qt.ItemDataRole.UserRole))

    def set_videos(self, videos: list[dict], statuses: dict, current: int | None) -> None:
        self._filling = True
        try:
            self.tree.clear()
            self._items.clear()
            for v in videos:
                it = QTreeWidgetItem([v["name"], fmt_clock(v["duration_s"]).split(".")[0], ""])
                it.setData(0, Qt.ItemDataRole.UserRole, v["id"])
                it.setToolTip(0, f"{v['path']}\n{v['width']}×{v['height']} {v.get('codec') or ''}, "
                                 f"{v['frame_count']} frames, {v['fps']:.2f} fps"
                                 + ("\nvariable frame rate" if v.get("vfr") else ""))
                self.tree.addTopLevelItem(it)
                self._items[v["id"]] = it
                if statuses.get(v["id"]) is not None:
                    self._paint(it, statuses[v["id"]])
                if v["id"] == current:
                    self.tree.setCurrentItem(it)
        finally:
            self._filling = False
        self.hint.setVisible(not videos)

    def set_current(self, video_id: int | None) -> None:
        """Mark the video on screen (without reporting it back as a choice)."""
        it = self._items.get(video_id) if video_id is not None else None
        if it is not self.tree.currentItem():
            self._filling = True
            try:
                self.tree.setCurrentItem(it)
            finally:
                self._filling = False

    def set_status(self, video_id: int, status) -> None:
        it = self._items.get(video_id)
        if it is not None:
            self._paint(it, status)

    def state_text(self, video_id: int) -> str:
        it = self._items.get(video_id)
        return it.text(2) if it is not None else ""

    def _paint(self, it: QTreeWidgetItem, status) -> None:
        it.setText(2, status.text())
        it.setForeground(2, QBrush(QColor(STATE_COLOURS.get(status.state, "#cccccc"))))
        it.setToolTip(2, status.message or status.text())
