"""Ranked clips for the selected behaviour; A accepts, R rejects, S skips."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QPushButton,
                               QVBoxLayout, QWidget)

from .video_view import fmt_clock


class SuggestionsPanel(QWidget):
    answered = Signal(str)  # accept | reject | skip
    chosen = Signal(int)  # index in the list

    def __init__(self, parent=None):
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        self.title = QLabel("Select a behaviour to review its best clips", self)
        self.title.setWordWrap(True)
        self.title.setObjectName("panelTitle")
        lay.addWidget(self.title)
        self.current = QLabel("", self)
        self.current.setWordWrap(True)
        self.current.setObjectName("currentSuggestion")
        lay.addWidget(self.current)
        row = QHBoxLayout()
        self.accept_button = QPushButton("✓ Accept (A)", self)
        self.accept_button.setObjectName("acceptButton")
        self.reject_button = QPushButton("✗ Reject (R)", self)
        self.reject_button.setObjectName("rejectButton")
        self.skip_button = QPushButton("Skip (S)", self)
        for b, verdict in ((self.accept_button, "accept"), (self.reject_button, "reject"),
                           (self.skip_button, "skip")):
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            b.clicked.connect(lambda _=False, v=verdict: self.answered.emit(v))
            row.addWidget(b)
        lay.addLayout(row)
        self.list = QListWidget(self)
        self.list.itemActivated.connect(lambda it: self.chosen.emit(self.list.row(it)))
        self.list.itemClicked.connect(lambda it: self.chosen.emit(self.list.row(it)))
        lay.addWidget(self.list, 1)
        legend = QLabel("★ top score   ? uncertain   ◆ another video or stretch", self)
        legend.setObjectName("hint")
        legend.setWordWrap(True)  # two lines in a narrow dock rather than a wider window
        lay.addWidget(legend)
        self.set_suggestions(None, [], {})

    def set_suggestions(self, behavior: dict | None, suggestions: list, video_names: dict[int, str],
                        adapter_version: int | None = None, clip=None) -> None:
        """``suggestions``: the ranked clips still to review; ``clip``: the one on screen."""
        self.list.clear()
        model = f" · adapter v{adapter_version}" if adapter_version else " · base model"
        if behavior is None:
            self.title.setText("Select a behaviour to review its best clips")
        else:
            self.title.setText(f"Suggestions for “{behavior['name']}”{model}")
        for i, s in enumerate(suggestions):
            tag = {"uncertain": "?", "diverse": "◆"}.get(s.strategy, "★")
            it = QListWidgetItem(f"{tag} {fmt_clock(s.start_s)}–{fmt_clock(s.end_s)}   {s.score:+.3f}   "
                                 f"{video_names.get(s.video_id, s.video_id)}")
            it.setToolTip(f"{s.strategy}: {s.reason}\n{video_names.get(s.video_id, '')}")
            self.list.addItem(it)
        keys = [x.key() for x in suggestions]
        if clip is not None and clip.key() in keys:  # mark the clip on screen in the list
            self.list.setCurrentRow(keys.index(clip.key()))
        if clip is not None:
            self.current.setText(f"Reviewing {video_names.get(clip.video_id, '')} "
                                 f"{fmt_clock(clip.start_s)}–{fmt_clock(clip.end_s)} (looping)")
        elif suggestions:
            self.current.setText("Press A, R, S or N (or pick a clip) to start reviewing")
        elif behavior is not None:
            self.current.setText("No suggestions yet: index a video and wait for the curves")
        else:
            self.current.setText("")
        for b in (self.accept_button, self.reject_button, self.skip_button):
            b.setEnabled(clip is not None or bool(suggestions))
