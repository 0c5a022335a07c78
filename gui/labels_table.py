"""Every label of the project (or of the current video): edit start, end, verdict and comment in
place, delete with the Delete key, double-click a row to jump there."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QComboBox, QHBoxLayout, QHeaderView,
                               QPushButton, QStyledItemDelegate, QTableWidget, QTableWidgetItem,
                               QVBoxLayout, QWidget)

from ethoscout.core.data.modifiers import format_text

COLUMNS = ("Behaviour", "Start (s)", "End (s)", "Verdict", "Source", "Score", "Adapter", "Video", "Comment",
           "Subject", "Modifiers", "Observer")
EDITABLE = {1: "start_s", 2: "end_s", 3: "verdict", 8: "comment"}
VERDICTS = ("accept", "reject", "manual")


class VerdictDelegate(QStyledItemDelegate):
    def createEditor(self, parent, option, index):  # noqa: N802
        box = QComboBox(parent)
        box.addItems(VERDICTS)
        return box

    def setEditorData(self, editor, index):  # noqa: N802
        editor.setCurrentText(index.data())

    def setModelData(self, editor, model, index):  # noqa: N802
        model.setData(index, editor.currentText())


class LabelsTable(QWidget):
    edited = Signal(int, str, object)  # label id, field, value
    deleteRequested = Signal(list)  # label ids
    seekRequested = Signal(int, float)  # video id, time
    filterChanged = Signal(bool)  # current video only

    def __init__(self, parent=None):
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        top = QHBoxLayout()
        self.only_current = QCheckBox("Current video only", self)
        self.only_current.setChecked(True)
        self.only_current.toggled.connect(self.filterChanged.emit)
        top.addWidget(self.only_current)
        top.addStretch(1)
        self.delete_button = QPushButton("Delete selected", self)
        self.delete_button.clicked.connect(self._delete_selected)
        top.addWidget(self.delete_button)
        lay.addLayout(top)
        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked
                                   | QAbstractItemView.EditTrigger.EditKeyPressed)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setItemDelegateForColumn(3, VerdictDelegate(self.table))
        self.table.itemChanged.connect(self._item_changed)
        self.table.cellDoubleClicked.connect(self._double_clicked)
        lay.addWidget(self.table)
        delete = QAction("Delete selected labels", self.table)
        delete.setShortcuts([QKeySequence(QKeySequence.StandardKey.Delete), QKeySequence(Qt.Key.Key_Backspace)])
        delete.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        delete.triggered.connect(self._delete_selected)
        self.table.addAction(delete)
        self._rows: list[dict] = []
        self._filling = False

    def set_labels(self, labels: list[dict]) -> None:
        self._filling = True
        try:
            self._rows = list(labels)
            self.table.setRowCount(len(labels))
            for r, lab in enumerate(labels):
                values = (lab["behavior"], f"{lab['start_s']:.3f}", f"{lab['end_s']:.3f}",
                          lab["verdict"], lab["source"],
                          "" if lab.get("score") is None else f"{lab['score']:.3f}",
                          "" if lab.get("adapter_version") is None else f"v{lab['adapter_version']}",
                          lab["video"], lab.get("comment") or "", lab.get("subject") or "",
                          format_text(lab.get("modifiers") or {}), lab.get("annotator") or "")
                for c, v in enumerate(values):
                    it = QTableWidgetItem(str(v))
                    if c not in EDITABLE:
                        it.setFlags(it.flags() & ~Qt.ItemFlag.ItemIsEditable)
                    it.setData(Qt.ItemDataRole.UserRole, lab["id"])
                    self.table.setItem(r, c, it)
            self.table.resizeColumnsToContents()
        finally:
            self._filling = False

    def label_ids(self) -> list[int]:
        return [lab["id"] for lab in self._rows]

    def selected_ids(self) -> list[int]:
        rows = sorted({i.row() for i in self.table.selectedIndexes()})
        return [self._rows[r]["id"] for r in rows if r < len(self._rows)]

    def _delete_selected(self) -> None:
        ids = self.selected_ids()
        if ids:
            self.deleteRequested.emit(ids)

    def _double_clicked(self, row: int, col: int) -> None:
        if col not in EDITABLE and row < len(self._rows):
            lab = self._rows[row]
            self.seekRequested.emit(lab["video_id"], lab["start_s"])

    def _item_changed(self, item: QTableWidgetItem) -> None:
        if self._filling:
            return
        field = EDITABLE.get(item.column())
        if field is None:
            return
        lid = item.data(Qt.ItemDataRole.UserRole)
        text = item.text().strip()
        value: object = text
        if field in ("start_s", "end_s"):
            try:
                value = float(text)
            except ValueError:
                value = text  # the project refuses it with a clear message
        self.edited.emit(lid, field, value)
