"""Behaviours: type a sentence to add one (its curve previews while you type); edit prompts,
key and colour; select one to review its suggestions."""
from __future__ import annotations

from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (QColorDialog, QComboBox, QDialog, QDialogButtonBox, QFormLayout, QHBoxLayout,
                               QLineEdit, QListWidget, QListWidgetItem, QPlainTextEdit, QPushButton,
                               QVBoxLayout, QWidget)

from ethoscout.core.data.modifiers import sets_to_text

PREVIEW_DEBOUNCE_MS = 150  # a first curve takes ~40 ms (3,600 windows), so a short pause is enough


def put_back(entry: QLineEdit, text: str) -> bool:
    """Put the text of an add that failed back into ``entry``, unless the user typed something
    else there since; True when it is there."""
    if " ".join(entry.text().split()) not in ("", " ".join(text.split())):
        return False
    entry.setText(text)
    return True


def swatch(colour: str, size: int = 14) -> QIcon:
    pm = QPixmap(size, size)
    pm.fill(QColor(colour or "#888888"))
    return QIcon(pm)


class BehaviorsPanel(QWidget):
    addRequested = Signal(str)
    previewChanged = Signal(str)  # debounced typed text
    selected = Signal(int)
    editRequested = Signal(int)
    deleteRequested = Signal(int)
    escapePressed = Signal()  # in the entry: drop the typed text (never "cancel running work")

    def __init__(self, parent=None):
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        self.entry = QLineEdit(self)
        self.entry.setPlaceholderText("Describe a behaviour, e.g. “mouse rearing against the wall” (Enter adds)")
        self.entry.setClearButtonEnabled(True)
        self.entry.textEdited.connect(self._typed)
        self.entry.returnPressed.connect(self._add)
        self.entry.installEventFilter(self)
        add = QPushButton("Add", self)
        add.clicked.connect(self._add)
        row = QHBoxLayout()
        row.addWidget(self.entry, 1)
        row.addWidget(add)
        lay.addLayout(row)
        self.list = QListWidget(self)
        self.list.currentItemChanged.connect(self._current_changed)
        self.list.itemDoubleClicked.connect(lambda it: self.editRequested.emit(it.data(Qt.ItemDataRole.UserRole)))
        lay.addWidget(self.list, 1)
        buttons = QHBoxLayout()
        self.edit_button = QPushButton("Edit…", self)
        self.edit_button.clicked.connect(lambda: self._emit_current(self.editRequested))
        self.delete_button = QPushButton("Delete", self)
        self.delete_button.clicked.connect(lambda: self._emit_current(self.deleteRequested))
        buttons.addWidget(self.edit_button)
        buttons.addWidget(self.delete_button)
        buttons.addStretch(1)
        lay.addLayout(buttons)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(PREVIEW_DEBOUNCE_MS)
        self._debounce.timeout.connect(lambda: self.previewChanged.emit(self.entry.text()))
        self._updating = False

    def eventFilter(self, obj, event):  # noqa: N802
        """Esc while typing belongs to the entry (the window's Esc cancels running work)."""
        if obj is self.entry and event.type() in (QEvent.Type.ShortcutOverride, QEvent.Type.KeyPress) \
                and event.key() == Qt.Key.Key_Escape:
            event.accept()
            if event.type() == QEvent.Type.KeyPress:
                self.escapePressed.emit()
            return True
        return super().eventFilter(obj, event)

    def _typed(self, _text: str) -> None:
        self._debounce.start()

    def _add(self) -> None:
        text = " ".join(self.entry.text().split())
        if text:
            self._debounce.stop()
            self.addRequested.emit(text)

    def give_back(self, text: str) -> bool:
        """A failed add's text, back in the entry (see ``put_back``); its curve previews again."""
        if not put_back(self.entry, text):
            return False
        self._debounce.start()
        return True

    def clear_entry(self) -> None:
        self.entry.clear()
        self._debounce.stop()

    def _emit_current(self, signal) -> None:
        it = self.list.currentItem()
        if it is not None:
            signal.emit(it.data(Qt.ItemDataRole.UserRole))

    def _current_changed(self, cur, _prev) -> None:
        if cur is not None and not self._updating:
            self.selected.emit(cur.data(Qt.ItemDataRole.UserRole))

    def set_current(self, behavior_id: int | None) -> None:
        self._updating = True
        try:
            for i in range(self.list.count()):
                if self.list.item(i).data(Qt.ItemDataRole.UserRole) == behavior_id:
                    self.list.setCurrentRow(i)
                    break
        finally:
            self._updating = False

    def set_behaviors(self, behaviors: list[dict], counts: dict | None = None, current: int | None = None) -> None:
        """``counts``: {behaviour id: (accepted, rejected, manual)}."""
        self._updating = True
        try:
            self.list.clear()
            for b in behaviors:
                acc, rej, man = (counts or {}).get(b["id"], (0, 0, 0))
                key = f"  [{b['key']}]" if b.get("key") else ""
                key += "  · point" if b.get("kind") == "point" else ""
                text = f"{b['name']}{key}\n    ✓ {acc}   ✗ {rej}   ✎ {man}"
                it = QListWidgetItem(swatch(b.get("colour")), text)
                it.setData(Qt.ItemDataRole.UserRole, b["id"])
                prompts = b.get("prompts") or [b["name"]]
                it.setToolTip("Prompts:\n" + "\n".join(f"• {p}" for p in prompts))
                self.list.addItem(it)
                if b["id"] == current:
                    self.list.setCurrentItem(it)
        finally:
            self._updating = False
        has = bool(behaviors)
        self.edit_button.setEnabled(has)
        self.delete_button.setEnabled(has)


class BehaviorEditor(QDialog):
    """Name, prompts (one per line; the score is their mean), key and colour."""

    def __init__(self, behavior: dict, parent=None):
        super().__init__(parent)
        self.setWindowTitle(f"Edit behaviour — {behavior['name']}")
        self.resize(460, 300)
        form = QFormLayout(self)
        self.name = QLineEdit(behavior["name"])
        self.prompts = QPlainTextEdit("\n".join(behavior.get("prompts") or [behavior["name"]]))
        self.prompts.setToolTip("One sentence per line; the behaviour's score is the mean over them")
        self.key = QLineEdit(behavior.get("key") or "")
        self.key.setMaxLength(1)
        self.key.setToolTip("One key for coding by key (BORIS-style); not a review or playback key "
                            "(A, R, S, N, [, ]); leave empty for none")
        self.kind = QComboBox()
        self.kind.addItem("State event (key starts, key again stops)", "state")
        self.kind.addItem("Point event (key marks one instant)", "point")
        self.kind.setCurrentIndex(max(0, self.kind.findData(behavior.get("kind") or "state")))
        self.colour = behavior.get("colour") or "#888888"
        self.colour_button = QPushButton(self.colour)
        self.colour_button.setIcon(swatch(self.colour))
        self.colour_button.clicked.connect(self._pick_colour)
        form.addRow("Name", self.name)
        form.addRow("Prompts", self.prompts)
        form.addRow("Key", self.key)
        form.addRow("Type", self.kind)
        form.addRow("Colour", self.colour_button)
        self.modifiers = QPlainTextEdit(sets_to_text(behavior.get("modifiers") or []))
        self.modifiers.setPlaceholderText("posture: upright, hunched\nside (several): left, right\nspeed (number)")
        self.modifiers.setToolTip("Modifier sets, one per line, chosen when an event of this behaviour "
                                  "starts: one value, several with '(several)', or a number")
        self.modifiers.setMaximumHeight(80)
        form.addRow("Modifiers", self.modifiers)
        box = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        box.accepted.connect(self.accept)
        box.rejected.connect(self.reject)
        form.addRow(box)
        self._original = behavior

    def _pick_colour(self) -> None:
        c = QColorDialog.getColor(QColor(self.colour), self, "Behaviour colour")
        if c.isValid():
            self.colour = c.name()
            self.colour_button.setText(self.colour)
            self.colour_button.setIcon(swatch(self.colour))

    def changes(self) -> dict:
        """Only the fields that changed."""
        b = self._original
        out = {}
        name = " ".join(self.name.text().split())
        if name and name != b["name"]:
            out["name"] = name
        prompts = [" ".join(p.split()) for p in self.prompts.toPlainText().splitlines() if p.strip()]
        if prompts and prompts != (b.get("prompts") or []):
            out["prompts"] = prompts
        key = self.key.text().strip()
        if key != (b.get("key") or ""):
            out["key"] = key
        if self.colour != (b.get("colour") or "#888888"):
            out["colour"] = self.colour
        if self.kind.currentData() != (b.get("kind") or "state"):
            out["kind"] = self.kind.currentData()
        mods = self.modifiers.toPlainText().strip()
        if mods != sets_to_text(b.get("modifiers") or []):
            out["modifiers"] = mods  # the text form; the session parses and checks it
        return out
