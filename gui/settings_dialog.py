"""Settings: model (hub id or local folder), device, window span/stride/frames, theme, and
every keyboard shortcut."""
from __future__ import annotations

from dataclasses import replace

from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFileDialog,
                               QFormLayout, QHBoxLayout, QHeaderView, QKeySequenceEdit, QLabel, QLineEdit,
                               QPushButton, QSpinBox, QTableWidget, QTableWidgetItem, QTabWidget,
                               QVBoxLayout, QWidget)

from ethoscout.core import options
from .prefs import DEFAULT_SHORTCUTS, SCHEMES, THEMES, Prefs


class SettingsDialog(QDialog):
    def __init__(self, prefs: Prefs, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.resize(560, 520)
        self._prefs = prefs
        tabs = QTabWidget(self)
        tabs.addTab(self._model_tab(prefs), "Model")
        tabs.addTab(self._shortcut_tab(prefs), "Shortcuts")
        self.problems = QLabel("", self)
        self.problems.setObjectName("problems")
        self.problems.setWordWrap(True)
        box = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        box.accepted.connect(self._accept)
        box.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(tabs)
        lay.addWidget(self.problems)
        lay.addWidget(box)

    def _model_tab(self, p: Prefs) -> QWidget:
        w = QWidget()
        form = QFormLayout(w)
        self.model = QLineEdit(p.model)
        self.model.setToolTip("A hub id (microsoft/xclip-base-patch32, downloaded once) or a local model folder")
        browse = QPushButton("Folder…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.model, 1)
        row.addWidget(browse)
        form.addRow("Model", row)
        self.device = QComboBox()
        self.device.setEditable(True)
        self.device.addItems(["auto", "cpu", "cuda", "cuda:1", "mps"])
        self.device.setCurrentText(p.device)
        form.addRow("Device", self.device)
        self.span = QDoubleSpinBox()
        self.span.setRange(options.SPAN.lo, options.SPAN.hi)
        self.span.setSingleStep(0.5)
        self.span.setSuffix(" s")
        self.span.setValue(p.span_s)
        form.addRow("Window span", self.span)
        self.stride = QDoubleSpinBox()
        self.stride.setRange(options.STRIDE.lo, options.STRIDE.hi)
        self.stride.setSingleStep(0.5)
        self.stride.setSuffix(" s")
        self.stride.setValue(p.stride_s)
        form.addRow("Window stride", self.stride)
        self.frames = QSpinBox()
        self.frames.setRange(options.FRAMES.lo, options.FRAMES.hi)
        self.frames.setSpecialValueText("the model's own")
        self.frames.setValue(p.frames)
        form.addRow("Frames per window", self.frames)
        self.scheme = QComboBox()
        self.scheme.addItems(SCHEMES)
        self.scheme.setCurrentText(p.scheme)
        form.addRow("Frame sampling", self.scheme)
        self.theme = QComboBox()
        self.theme.addItems(THEMES)
        self.theme.setCurrentText(p.theme)
        form.addRow("Theme", self.theme)
        note = QLabel("Changing the model or the windows needs the videos indexed again "
                      "(the old index is kept and used again if you switch back).")
        note.setWordWrap(True)
        form.addRow(note)
        return w

    def _shortcut_tab(self, p: Prefs) -> QWidget:
        w = QWidget()
        lay = QVBoxLayout(w)
        self.keys = QTableWidget(len(DEFAULT_SHORTCUTS), 2)
        self.keys.setHorizontalHeaderLabels(["Action", "Shortcut"])
        self.keys.verticalHeader().setVisible(False)
        self.keys.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self._editors: dict[str, QKeySequenceEdit] = {}
        for r, (action, (_default, what)) in enumerate(DEFAULT_SHORTCUTS.items()):
            self.keys.setItem(r, 0, QTableWidgetItem(what))
            ed = QKeySequenceEdit(QKeySequence(p.shortcut(action)))
            self.keys.setCellWidget(r, 1, ed)
            self._editors[action] = ed
        lay.addWidget(self.keys)
        reset = QPushButton("Restore defaults")
        reset.clicked.connect(self._reset_keys)
        lay.addWidget(reset)
        return w

    def _browse(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Model folder (config.json + model.safetensors)")
        if path:
            self.model.setText(path)

    def _reset_keys(self) -> None:
        for action, ed in self._editors.items():
            ed.setKeySequence(QKeySequence(DEFAULT_SHORTCUTS[action][0]))

    def prefs(self) -> Prefs:
        shortcuts = {}
        for action, ed in self._editors.items():
            seq = ed.keySequence().toString(QKeySequence.SequenceFormat.PortableText)
            if seq != DEFAULT_SHORTCUTS[action][0]:
                shortcuts[action] = seq
        return replace(self._prefs, model=self.model.text().strip(), device=self.device.currentText().strip() or "auto",
                       span_s=self.span.value(), stride_s=self.stride.value(), frames=self.frames.value(),
                       scheme=self.scheme.currentText(), theme=self.theme.currentText(), shortcuts=shortcuts)

    def _accept(self) -> None:
        problems = self.prefs().check()
        if problems:
            self.problems.setText("\n".join(problems))
            return
        self.accept()
