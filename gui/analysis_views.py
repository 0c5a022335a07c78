"""The subject selector (under the video), the Results panel and the synchronised videos (docks):
views over the session's subjects, ``ethoscout.core.analysis`` (the same code as ``ethoscout
analyse``) and its companion videos (``sync_views``).

Subject keys: a subject's key (set when it is added) selects it, unless the key already belongs
to a behaviour or to review and playback. Analyses run on the project's I/O thread; the
window stays responsive and shows the table when it arrives.
"""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QComboBox, QDialog, QDialogButtonBox,
                               QDoubleSpinBox, QHBoxLayout, QHeaderView, QLabel, QLineEdit,
                               QListWidget, QListWidgetItem, QPushButton, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)

from ethoscout.core.data.records import NO_FOCAL_SUBJECT
from ethoscout.core.errors import EthoscoutError

from .app.analysis import RESULT_KINDS
from .behaviors_panel import put_back
from .sync_views import SyncViews

EVERYONE = "everyone (accepted + manual)"
ALL_SUBJECTS = "all subjects"


def _observer_text(name: str) -> str:
    return name if name else "(no annotator)"


class SubjectBar(QWidget):
    """Subject: [combo]  [new subject…] — the animal new labels belong to."""

    chosen = Signal(object)  # subject id or None
    addRequested = Signal(str, str)  # name, key

    def __init__(self, parent=None):
        super().__init__(parent)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(6, 2, 6, 2)
        lay.addWidget(QLabel("Subject:", self))
        self.combo = QComboBox(self)
        self.combo.setMinimumWidth(180)
        self.combo.setToolTip("The animal the labels you make now belong to (its key selects it)")
        self.combo.activated.connect(lambda i: self.chosen.emit(self.combo.itemData(i)))
        lay.addWidget(self.combo)
        self.entry = QLineEdit(self)
        self.entry.setPlaceholderText("new subject, e.g. 'm3' or 'm3:3' with key 3 — Enter adds")
        self.entry.setMaximumWidth(320)
        self.entry.returnPressed.connect(self._add)
        lay.addWidget(self.entry)
        lay.addStretch(1)

    def _add(self) -> None:
        text = self.entry.text().strip()
        if not text:
            return
        name, _, key = text.rpartition(":") if ":" in text else (text, "", "")
        self.addRequested.emit(name.strip(), key.strip())  # cleared once the add is queued

    def give_back(self, name: str, key: str) -> bool:
        """A failed add's text, back in the entry (see ``put_back``)."""
        return put_back(self.entry, f"{name}:{key}" if key else name)

    def set_subjects(self, subjects: list[dict], current: int | None) -> None:
        self.combo.blockSignals(True)
        self.combo.clear()
        self.combo.addItem(NO_FOCAL_SUBJECT, None)
        for s in subjects:
            self.combo.addItem(f"{s['name']}  ({s['key']})" if s.get("key") else s["name"], s["id"])
        self.combo.setCurrentIndex(max(0, self.combo.findData(current)))
        self.combo.blockSignals(False)


class ResultsPanel(QWidget):
    """Choose an analysis, compute it, read the table, save it as CSV or the ethogram as PNG/SVG."""

    computeRequested = Signal()
    saveRequested = Signal()
    ethogramRequested = Signal()
    predictRequested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.table_data = None
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        row = QHBoxLayout()
        self.kind = QComboBox(self)
        self.kind.addItems(list(RESULT_KINDS))
        self.kind.currentTextChanged.connect(self._kind_changed)
        row.addWidget(self.kind)
        self.observer = QComboBox(self)
        self.observer.setToolTip("Whose coding: everyone's accepted and manual labels, or one observer "
                                 "(a person, or the model's coding 'model vN')")
        row.addWidget(self.observer)
        self.candidate_label = QLabel("vs", self)
        row.addWidget(self.candidate_label)
        self.candidate = QComboBox(self)
        self.candidate.setToolTip("The observer compared with the first (agreement)")
        row.addWidget(self.candidate)
        self.subject = QComboBox(self)
        row.addWidget(self.subject)
        for combo in (self.kind, self.observer, self.candidate, self.subject):
            # long observer or subject names do not widen the dock: the list opens wide enough
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(10)
        lay.addLayout(row)
        row2 = QHBoxLayout()
        self.by_modifier = QCheckBox("per modifier", self)
        row2.addWidget(self.by_modifier)
        self.seconds_label = QLabel(self)
        row2.addWidget(self.seconds_label)
        self.seconds = QDoubleSpinBox(self)
        self.seconds.setRange(0.0, 1e6)
        self.seconds.setDecimals(2)
        self.seconds.setSuffix(" s")
        row2.addWidget(self.seconds)
        self.compute_button = QPushButton("Compute", self)
        self.compute_button.clicked.connect(self.computeRequested.emit)
        row2.addWidget(self.compute_button)
        row2.addStretch(1)
        lay.addLayout(row2)
        row2 = QHBoxLayout()  # what to do with the result: its own row, so a narrow dock fits
        self.save_button = QPushButton("Save CSV…", self)
        self.save_button.clicked.connect(self.saveRequested.emit)
        self.save_button.setEnabled(False)
        row2.addWidget(self.save_button)
        self.predict_button = QPushButton("Model coding", self)
        self.predict_button.setToolTip("Turn the selected behaviour's score curves into the coding of "
                                       "observer 'model vN' (threshold with the best F1 on your labels), "
                                       "to accept, trim or delete bout by bout")
        self.predict_button.clicked.connect(self.predictRequested.emit)
        row2.addWidget(self.predict_button)
        self.threshold = QDoubleSpinBox(self)
        self.threshold.setRange(-1.01, 1.0)  # cosine scores; the bottom value means "choose"
        self.threshold.setDecimals(3)
        self.threshold.setSingleStep(0.005)
        self.threshold.setValue(-1.01)
        self.threshold.setSpecialValueText("best F1")
        self.threshold.setToolTip("Score threshold of the model coding; 'best F1': chosen on your labels")
        row2.addWidget(self.threshold)
        self.ethogram_button = QPushButton("Save ethogram…", self)
        self.ethogram_button.setToolTip("The ethogram plot of this coding, as PNG, SVG or PDF")
        self.ethogram_button.clicked.connect(self.ethogramRequested.emit)
        row2.addWidget(self.ethogram_button)
        row2.addStretch(1)
        lay.addLayout(row2)
        self.summary = QLabel(self)
        lay.addWidget(self.summary)
        self.table = QTableWidget(0, 0, self)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        lay.addWidget(self.table, 1)
        self._kind_changed(self.kind.currentText())

    def _kind_changed(self, kind: str) -> None:
        agreement = kind == "agreement"
        self.candidate.setVisible(agreement)
        self.candidate_label.setVisible(agreement)
        self.by_modifier.setVisible(kind == "time budget")
        self.seconds.setVisible(kind != "time budget")
        self.seconds_label.setVisible(kind != "time budget")
        if kind == "transitions":
            self.seconds_label.setText("per interval (0: none)")
            self.seconds.setMinimum(0.0)
            self.seconds.setValue(0.0)
        elif agreement:
            self.seconds_label.setText("kappa resolution")
            self.seconds.setMinimum(0.01)
            self.seconds.setValue(1.0)

    def set_choices(self, observers: list[str], subjects: list[dict]) -> None:
        for box, first in ((self.observer, EVERYONE), (self.candidate, None)):
            keep = box.currentData()
            box.clear()
            if first:
                box.addItem(first, None)
            for name in observers:
                box.addItem(_observer_text(name), name)
            box.setCurrentIndex(max(0, box.findData(keep)))
        keep = self.subject.currentData()
        self.subject.clear()
        self.subject.addItem(ALL_SUBJECTS, None)
        self.subject.addItem(NO_FOCAL_SUBJECT, NO_FOCAL_SUBJECT)
        for s in subjects:
            self.subject.addItem(s["name"], s["name"])
        self.subject.setCurrentIndex(max(0, self.subject.findData(keep)))

    def options(self) -> dict:
        kind = self.kind.currentText()
        opts = {"observer": self.observer.currentData(), "subject": self.subject.currentData()}
        if kind == "time budget":
            opts["by_modifier"] = self.by_modifier.isChecked()
        elif kind == "transitions":
            opts["interval_s"] = self.seconds.value() or None
        else:
            opts["candidate"] = self.candidate.currentData()
            opts["resolution_s"] = self.seconds.value()
        return opts

    def show_table(self, table) -> None:
        self.table_data = table
        self.save_button.setEnabled(table is not None)
        if table is None:
            return
        self.summary.setText(f"{table.kind}: {table.summary}")
        self.table.setColumnCount(len(table.columns))
        self.table.setHorizontalHeaderLabels(list(table.columns))
        self.table.setRowCount(len(table.rows))
        for i, r in enumerate(table.rows):
            for j, c in enumerate(table.columns):
                v = r.get(c)
                text = "" if v is None else (f"{v:.4g}" if isinstance(v, float) else str(v))
                item = QTableWidgetItem(text)
                if isinstance(v, (int, float)):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(i, j, item)


class AnalysisViews:
    """Builds the subject bar and the Results dock into a MainWindow and wires them to its
    session (the window keeps one instance)."""

    def __init__(self, window, layout):
        self.w = window
        self.session = window.session
        self.subject_bar = SubjectBar()
        layout.addWidget(self.subject_bar)
        self.results = ResultsPanel()
        window._dock("Results", self.results, Qt.DockWidgetArea.RightDockWidgetArea, scroll=True)
        window.tabifyDockWidget(window.docks["Labels"], window.docks["Results"])
        self.sync = SyncViews(self.session, window.player, window.status)
        window._dock("Synchronised videos", self.sync, Qt.DockWidgetArea.RightDockWidgetArea, scroll=True)
        window.tabifyDockWidget(window.docks["Labels"], window.docks["Synchronised videos"])
        window.docks["Labels"].raise_()
        self._shortcuts: list[QShortcut] = []
        s = window.signals
        for signal in (s.project, s.labels, s.behaviors):
            signal.connect(self.refresh)
        self.session.events.on("subjects", self.refresh)
        self.session.view.events.subject_id.connect(lambda new, old: self.refresh())
        self.subject_bar.chosen.connect(self._choose)
        self.subject_bar.addRequested.connect(self._add)
        self.results.computeRequested.connect(self.compute)
        self.results.saveRequested.connect(self.save)
        self.results.ethogramRequested.connect(self.save_ethogram)
        self.results.predictRequested.connect(self.predict)
        self.refresh()

    def stop(self) -> None:
        """The window closes: the companion views' decoder threads stop."""
        self.sync.stop()

    def _guard(self, fn, *args):
        try:
            return fn(*args)
        except EthoscoutError as e:
            self.w.status.show_message("error", str(e))
        return None

    def _choose(self, subject_id) -> None:
        self._guard(self.session.select_subject, subject_id)

    def _add(self, name: str, key: str) -> None:
        if self._guard(self.session.add_subject, name, key, "subject") is not None:  # selected when it lands
            self.subject_bar.entry.clear()
            self.subject_bar.entry.clearFocus()  # the next keys (A, R, a subject's key) are for coding

    def refresh(self, *_args) -> None:
        has_project = self.session.project is not None
        self.subject_bar.setEnabled(has_project)
        self.results.setEnabled(has_project)
        subjects = self.session.subjects
        self.subject_bar.set_subjects(subjects, self.session.view.subject_id)
        self.results.set_choices(self.session.observers(), subjects)
        self._install_keys(subjects)

    def _install_keys(self, subjects: list[dict]) -> None:
        for sc in self._shortcuts:
            sc.setParent(None)
            sc.deleteLater()
        self._shortcuts = []
        reserved = self.session.reserved_keys()
        for subj in subjects:
            key = (subj.get("key") or "").strip()
            if len(key) != 1 or key.lower() in reserved or self.session.behavior_for_key(key):
                continue
            sc = QShortcut(QKeySequence(key.upper()), self.w)
            sc.setContext(Qt.ShortcutContext.WindowShortcut)
            sc.activated.connect(lambda sid=subj["id"]: self._choose(sid))
            self._shortcuts.append(sc)

    def compute(self) -> None:
        if self.session.project is None:
            return
        kind = self.results.kind.currentText()
        opts = self.results.options()
        if kind == "agreement" and opts.get("candidate") is None:
            self.w.status.show_message("error", "agreement: choose the observer to compare with")
            return
        self.results.summary.setText(f"computing {kind}…")
        self.session.compute_results(kind, on_done=lambda table, error: self.results.show_table(table),
                                     **opts)

    def predict(self) -> None:
        bid = self.session.view.behavior_id
        if bid is None:
            self.w.status.show_message("error", "select a behaviour first (its curves become the coding)")
            return
        t = self.results.threshold
        report = self._guard(self.session.predict_coding, bid,
                             None if t.value() == t.minimum() else t.value())
        if report is not None:
            self.w.status.show_message("info", report.summary() + " (Ctrl+Z undoes)")

    def save(self) -> None:
        table = self.results.table_data
        if table is None:
            return
        start = str(self.session.project.folder / "exports" / f"{table.kind.replace(' ', '_')}.csv")
        out = self.w.dialogs.choose_save_file("Save results (CSV or TSV)", start)
        if out and self._guard(self.session.save_results, table, out) is not None:
            self.w.status.show_message("info", f"saved {table.kind} to {out}")

    def save_ethogram(self) -> None:
        if self.session.project is None:
            return
        start = str(self.session.project.folder / "exports" / "ethogram.png")
        out = self.w.dialogs.choose_save_file("Save the ethogram (PNG, SVG or PDF)", start)
        if not out:
            return
        opts = self.results.options()

        def done(job) -> None:
            if job.status == "done":
                self.w.status.show_message("info", f"saved the ethogram to {out}")

        self.session.export_ethogram(out, observer=opts["observer"], subject=opts["subject"], on_done=done)


class ModifierChooser(QDialog):
    """The modifiers of a behaviour's event, chosen when it starts: one list per set (one value,
    or none, for a single set; any for a several set; a number typed in)."""

    def __init__(self, behavior: dict, parent=None):
        super().__init__(parent)
        self.setWindowTitle(f"Modifiers — {behavior['name']}")
        self.sets = behavior["modifiers"]
        lay = QVBoxLayout(self)
        row = QHBoxLayout()
        self.widgets = []
        for s in self.sets:
            col = QVBoxLayout()
            col.addWidget(QLabel(f"<b>{s['name']}</b>", self))
            if s["kind"] == "numeric":
                w = QLineEdit(self)
                w.setPlaceholderText("a number (empty: none)")
            else:
                w = QListWidget(self)
                for v in s["values"]:
                    item = QListWidgetItem(v, w)
                    if s["kind"] == "multiple":
                        item.setCheckState(Qt.CheckState.Unchecked)
                w.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
            col.addWidget(w)
            if s["kind"] == "numeric":
                col.addStretch(1)  # keep the name above the field, as for the lists
            row.addLayout(col)
            self.widgets.append(w)
        lay.addLayout(row)
        box = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        box.accepted.connect(self.accept)
        box.rejected.connect(self.reject)
        lay.addWidget(box)

    def choice(self) -> dict:
        out = {}
        for s, w in zip(self.sets, self.widgets):
            if s["kind"] == "numeric":
                values = [w.text().strip()] if w.text().strip() else []
            elif s["kind"] == "multiple":
                values = [w.item(i).text() for i in range(w.count())
                          if w.item(i).checkState() == Qt.CheckState.Checked]
            else:
                values = [i.text() for i in w.selectedItems()]
            if values:
                out[s["name"]] = values
        return out
