"""Training from the window: a child process (QProcess) streaming JSON lines, and a monitor
that plots the loss per epoch and the held-out metrics of every adapter (one per round).

The spec, the child's command line and the event parser are core.learn's
(``core/learn/process.py``); nothing here imports torch.
"""
from __future__ import annotations

from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, Qt, QTimer, Signal
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QPushButton, QSpinBox, QTableWidget, QTableWidgetItem,
                               QVBoxLayout, QWidget, QHeaderView, QAbstractItemView)

from ethoscout.core import options

STOP_GRACE_MS = 15000  # after SIGTERM, how long the child may take to save nothing and exit


class TrainingRunner(QObject):
    """Runs one training child at a time. ``event(TrainEvent)`` for every line it reports,
    ``finished(TrainEvent)`` once with the final one (done, cancelled or failed)."""

    event = Signal(object)
    finished = Signal(object)
    started = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.proc: QProcess | None = None
        self._buffer = b""
        self._stderr = b""
        self._final = None
        self._cancel_requested = False
        self._spec_path: Path | None = None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.state() != QProcess.ProcessState.NotRunning

    def start(self, project_folder: str, model: str | None = None, device: str = "auto", **options) -> None:
        from ethoscout.core.learn.process import build_train_spec, train_command, write_spec

        if self.running:
            raise RuntimeError("a training run is already going")
        spec = build_train_spec(project_folder, model=model, device=device, activate=True, **options)
        self._spec_path = write_spec(spec)
        argv = train_command(self._spec_path)
        self._buffer, self._stderr, self._final = b"", b"", None
        self._cancel_requested = False
        if self.proc is not None:  # the previous run's process object, finished
            self.proc.deleteLater()
        self.proc = QProcess(self)
        env = QProcessEnvironment.systemEnvironment()
        env.insert("PYTHONUNBUFFERED", "1")
        self.proc.setProcessEnvironment(env)
        self.proc.readyReadStandardOutput.connect(self._read_stdout)
        self.proc.readyReadStandardError.connect(self._read_stderr)
        self.proc.finished.connect(self._done)
        self.proc.errorOccurred.connect(self._error)
        self.proc.start(argv[0], argv[1:])
        self.started.emit()

    def cancel(self) -> None:
        """SIGTERM: the child stops at its next step and reports ``cancelled``; killed if it
        doesn't exit in time."""
        if self.running:
            self._cancel_requested = True
            proc = self.proc
            proc.terminate()
            # the timer belongs to this run's process: it dies with it and never kills a later run
            QTimer.singleShot(STOP_GRACE_MS, proc, lambda: self._kill_if_running(proc))

    def stop_and_wait(self, ms: int = 10000) -> None:
        """For closing the window: stop the child and wait for it."""
        if self.running:
            self.proc.terminate()
            if not self.proc.waitForFinished(ms):
                self.proc.kill()
                self.proc.waitForFinished(2000)

    def _kill_if_running(self, proc: QProcess) -> None:
        if proc is self.proc and self.running:
            proc.kill()

    def _read_stdout(self) -> None:
        from ethoscout.core.learn.process import parse_event

        self._buffer += bytes(self.proc.readAllStandardOutput())
        *lines, self._buffer = self._buffer.split(b"\n")
        for line in lines:
            ev = parse_event(line)
            if ev is None:
                continue
            if ev.final:
                self._final = ev
            self.event.emit(ev)

    def _read_stderr(self) -> None:
        self._stderr = (self._stderr + bytes(self.proc.readAllStandardError()))[-4000:]

    def _error(self, err) -> None:
        if err == QProcess.ProcessError.FailedToStart:
            self._finish_with("failed", f"the training process could not start ({self.proc.errorString()})")

    def _done(self, code: int, _status) -> None:
        self._read_stdout()
        if self._final is None and self._cancel_requested:
            self._finish_with("cancelled", "stopped before training began; nothing changed")
        elif self._final is None:
            tail = self._stderr.decode("utf-8", "replace").strip().splitlines()
            why = tail[-1] if tail else f"exit status {code}"
            self._finish_with("failed", f"the training process ended without a result ({why})")
        else:
            self._emit_final(self._final)

    def _finish_with(self, kind: str, message: str) -> None:
        from ethoscout.core.learn.process import TrainEvent

        self._emit_final(TrainEvent(kind, {"message": message}))

    def _emit_final(self, ev) -> None:
        if self._spec_path is not None:
            self._spec_path.unlink(missing_ok=True)
            self._spec_path = None
        self.finished.emit(ev)


NO_TRAINING = "No training yet: answer some suggestions, then train."
HAS_ADAPTERS = "Adapters trained so far:"


def waiting_to_train(queued: int) -> str:
    """A training start waiting for the changes queued before it (the run learns from them)."""
    if not queued:
        return "training starts once the queued settings are saved"
    return f"training starts once the {queued} queued change{'s are' if queued != 1 else ' is'} saved"


def short_path(path, parts: int = 2) -> str:
    p = Path(path)
    return str(Path(*p.parts[-parts:])) if len(p.parts) > parts else str(p)


def legend_html(entries) -> str:
    return "&nbsp;&nbsp;".join(f"<span style='color:{c}'>━</span>&nbsp;{name}" for c, name in entries)


def adapters_summary(adapters: list[dict]) -> str:
    if not adapters:
        return NO_TRAINING
    active = next((a for a in adapters if a.get("active")), None)
    versions = ", ".join(f"v{a['version']}" for a in adapters)
    now = f"v{active['version']} is in use" if active else "the base model is in use"
    return f"{HAS_ADAPTERS} {versions}; {now}. Train again after more answers."


def metric_summary(metrics: dict) -> dict[str, float]:
    """Mean held-out metrics of an adapter: {"hits@5": ..., ...} (adapter side)."""
    v = (metrics or {}).get("validation") or {}
    mean = (v.get("adapter") or {}).get("mean") or {}
    return {k: float(x) for k, x in mean.items() if isinstance(x, (int, float))}


class TrainingMonitor(QWidget):
    """Loss per epoch of the running (or last) run, held-out metrics per adapter version."""

    trainRequested = Signal(int)  # epochs
    stopRequested = Signal()
    useRequested = Signal(object)  # adapter version or None (base model)

    def __init__(self, parent=None, dark: bool = True):
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        top = QHBoxLayout()
        self.train_button = QPushButton("Train on answers", self)
        self.train_button.setToolTip("Fit a LoRA adapter to every label so far (Ctrl+T); runs in the background")
        self.train_button.clicked.connect(lambda: self.trainRequested.emit(self.epochs.value()))
        self.stop_button = QPushButton("Stop", self)
        self.stop_button.clicked.connect(self.stopRequested.emit)
        self.stop_button.setEnabled(False)
        self.epochs = QSpinBox(self)
        self.epochs.setRange(options.EPOCHS.lo, options.EPOCHS.hi)  # the CLI's --epochs range
        self.epochs.setValue(40)
        self.epochs.setPrefix("epochs ")
        top.addWidget(self.train_button)
        top.addWidget(self.stop_button)
        top.addWidget(self.epochs)
        top.addStretch(1)
        lay.addLayout(top)
        # the status on its own line, paths shortened: a long path no longer wraps per folder
        self.status = QLabel(NO_TRAINING, self)
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.status)
        plots = QHBoxLayout()
        bg = "#1b1d21" if dark else "#fafafa"
        self.loss_plot = pg.PlotWidget(background=bg, title="loss and mAP per epoch")
        self.loss_plot.setLabel("bottom", "epoch")
        self.loss_plot.setMinimumSize(200, 180)
        self.train_curve = self.loss_plot.plot([], [], pen=pg.mkPen("#4fa3ff", width=2), symbol="o",
                                               symbolSize=4, name="train")
        self.val_curve = self.loss_plot.plot([], [], pen=pg.mkPen("#ff9f43", width=2), symbol="o",
                                             symbolSize=4, name="held-out")
        self.map_curve = self.loss_plot.plot([], [], pen=pg.mkPen("#2ecc71", width=2, style=Qt.PenStyle.DashLine),
                                             symbol="t", symbolSize=5, name="held-out mAP")
        self.metric_plot = pg.PlotWidget(background=bg, title="held-out metrics per round")
        self.metric_plot.setLabel("bottom", "adapter version")
        self.metric_plot.setMinimumSize(200, 180)
        self.metric_plot.setYRange(0.0, 1.0, padding=0.02)  # metrics lie in [0, 1]
        self.metric_plot.enableAutoRange(y=False)
        self.metric_plot.setLimits(yMin=-0.02, yMax=1.02)
        # legends as text above the plots, never over the curves
        self.loss_legend = QLabel(legend_html((("#4fa3ff", "train loss"), ("#ff9f43", "held-out loss"),
                                               ("#2ecc71", "held-out mAP"))), self)
        self.metric_legend = QLabel("", self)
        for label in (self.loss_legend, self.metric_legend):
            label.setWordWrap(True)  # never wider than the panel
        legends = QHBoxLayout()
        legends.addWidget(self.loss_legend, 1)
        legends.addWidget(self.metric_legend, 1)
        lay.addLayout(legends)
        plots.addWidget(self.loss_plot)
        plots.addWidget(self.metric_plot)
        lay.addLayout(plots, 1)
        self.table = QTableWidget(0, 4, self)
        self.table.setHorizontalHeaderLabels(["Adapter", "Active", "Created", "Held-out metrics"])
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.table.horizontalHeader()
        for c in (0, 1, 2):
            header.setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)  # the long one last, elided, full in its tooltip
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.setMinimumHeight(90)
        self.table.setMaximumHeight(160)
        lay.addWidget(self.table)
        row = QHBoxLayout()
        use = QPushButton("Use selected adapter", self)
        use.clicked.connect(self._use_selected)
        base = QPushButton("Use base model", self)
        base.clicked.connect(lambda: self.useRequested.emit(None))
        self.use_button, self.base_button = use, base
        row.addWidget(use)
        row.addWidget(base)
        row.addStretch(1)
        lay.addLayout(row)
        self._epochs: list[tuple[int, float, float | None, float | None]] = []
        self._versions: list[int] = []
        self._metric_items: list = []

    # ---- a run -----------------------------------------------------------------------------

    def run_started(self) -> None:
        self._epochs.clear()
        self._redraw_loss()
        self.status.setText("starting the training process …")
        self.train_button.setEnabled(False)
        self.stop_button.setEnabled(True)

    def run_waiting(self, text: str) -> None:
        """A start waiting for the queued changes: Stop drops it."""
        self.status.setText(text + " …")
        self.status.setToolTip("")
        self.train_button.setEnabled(False)
        self.stop_button.setEnabled(True)

    def wait_ended(self, text: str) -> None:
        """The waiting start will not run (cancelled, a change not saved, the project closed)."""
        self.status.setText(text)
        self.train_button.setEnabled(True)
        self.stop_button.setEnabled(False)

    def on_event(self, ev) -> None:
        d = ev.data
        if ev.event == "epoch":
            ap = (d.get("val_metrics") or {}).get("AP")
            self._epochs.append((int(d.get("epoch", len(self._epochs) + 1)), float(d.get("loss", 0.0)),
                                 None if d.get("val_loss") is None else float(d["val_loss"]),
                                 float(ap) if isinstance(ap, (int, float)) and ap == ap else None))
            self._redraw_loss()
        if ev.event == "start":
            self.status.setText(f"training on {d.get('windows', '?')} labelled windows of "
                                f"{len(d.get('behaviors') or [])} behaviour(s) …")
        elif ev.event in ("step", "epoch", "info", "done", "cancelled", "failed"):
            self._say(ev)

    def run_finished(self, ev) -> None:
        self.train_button.setEnabled(True)
        self.stop_button.setEnabled(False)
        self._say(ev)

    def _say(self, ev) -> None:
        """One event in the status line; a folder is shown by its last parts (full in the tooltip)."""
        text = ev.describe()
        folder = (ev.data or {}).get("folder")
        if folder:
            text = text.replace(str(folder), short_path(folder))
        self.status.setText(text)
        self.status.setToolTip(ev.describe())

    def _redraw_loss(self) -> None:
        ep = [e[0] for e in self._epochs]
        self.train_curve.setData(ep, [e[1] for e in self._epochs])
        for curve, col in ((self.val_curve, 2), (self.map_curve, 3)):
            pts = [(e[0], e[col]) for e in self._epochs if e[col] is not None]
            curve.setData([p[0] for p in pts], [p[1] for p in pts])

    # ---- adapters --------------------------------------------------------------------------

    def set_adapters(self, adapters: list[dict]) -> None:
        self._versions = [a["version"] for a in adapters]
        if (self.train_button.isEnabled() and self.status.text() in (NO_TRAINING, "")) or \
                self.status.text().startswith(HAS_ADAPTERS):
            self.status.setText(adapters_summary(adapters))
        self.table.setRowCount(len(adapters))
        series: dict[str, list[tuple[int, float]]] = {}
        for r, a in enumerate(adapters):
            summary = metric_summary(a.get("metrics") or {})
            for k, v in summary.items():
                series.setdefault(k, []).append((a["version"], v))
            text = ", ".join(f"{k} {v:.3f}" for k, v in summary.items()) or "—"
            for c, v in enumerate((f"v{a['version']}", "✓" if a.get("active") else "",
                                   (a.get("created") or "")[:16].replace("T", " "), text)):
                item = QTableWidgetItem(v)
                item.setToolTip(v)
                self.table.setItem(r, c, item)
        for item in self._metric_items:
            self.metric_plot.removeItem(item)
        self._metric_items.clear()
        colours = ("#4fa3ff", "#ff9f43", "#59c76b", "#e056fd", "#f6e58d")
        shown = sorted(series.items())[:5]
        for i, (name, pts) in enumerate(shown):
            item = self.metric_plot.plot([p[0] for p in pts], [p[1] for p in pts], name=name, symbol="o",
                                         symbolSize=6, symbolBrush=colours[i % len(colours)],
                                         symbolPen=colours[i % len(colours)],
                                         pen=pg.mkPen(colours[i % len(colours)], width=2))
            self._metric_items.append(item)
        self.metric_legend.setText(legend_html([(colours[i % len(colours)], name)
                                                for i, (name, _) in enumerate(shown)]))

    def _use_selected(self) -> None:
        rows = sorted({i.row() for i in self.table.selectedIndexes()})
        if rows and rows[0] < len(self._versions):
            self.useRequested.emit(self._versions[rows[0]])

