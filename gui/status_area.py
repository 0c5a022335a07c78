"""The status bar: what is running (count, rate, ETA) with a progress bar and a Cancel button,
the last message, and why the changes just made are not stored yet (another process writes)."""
from __future__ import annotations

from types import SimpleNamespace

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QSizePolicy, QWidget

from ethoscout.core.progress import DOWNLOAD, WARMUP_TASKS, format_bytes


def describe(progress) -> str:
    if progress is None:
        return ""
    if progress.task == DOWNLOAD:
        eta = f", ETA {int(progress.eta_s) // 60}:{int(progress.eta_s) % 60:02d}" if progress.eta_s else ""
        return (f"downloading {progress.item} — {format_bytes(progress.done)} of {format_bytes(progress.total)}"
                f" ({format_bytes(progress.rate)}/s{eta})")
    if progress.total <= 0:
        return f"{progress.task} {progress.item}".strip()
    rate = progress.rate
    eta = progress.eta_s
    parts = [f"{progress.done}/{progress.total}"]
    if rate > 0:
        parts.append(f"{rate:.1f}/s")
    if eta is not None and progress.done < progress.total:
        m, s = divmod(int(eta + 0.5), 60)
        parts.append(f"ETA {m}:{s:02d}")
    return f"{progress.task} {progress.item} — " + ", ".join(parts)


class StatusArea(QWidget):
    cancelRequested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(4, 0, 4, 0)
        self.message = QLabel("", self)
        self.message.setObjectName("statusMessage")
        lay.addWidget(self.message, 1)
        self.waiting = QLabel("", self)
        self.waiting.setObjectName("statusWaiting")
        lay.addWidget(self.waiting)
        self.work = QLabel("", self)
        lay.addWidget(self.work, 1)
        for label in (self.message, self.work):
            # a long line (a file's path, a video's name) is cut at the window's edge, whole in its
            # tooltip, rather than widening the window past the screen
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.bar = QProgressBar(self)
        self.bar.setFixedWidth(180)
        self.bar.setTextVisible(True)
        lay.addWidget(self.bar)
        self.cancel = QPushButton("Cancel", self)
        self.cancel.setToolTip("Stop running work (Esc); finished parts are kept")
        self.cancel.clicked.connect(self.cancelRequested.emit)
        lay.addWidget(self.cancel)
        self.show_jobs([])
        self.show_writes("", 0)

    level = ""
    text_shown = ""

    def show_message(self, level: str, text: str) -> None:
        self.level, self.text_shown = level, text
        prefix = {"error": "⚠ ", "warning": "⚠ "}.get(level, "")
        self.message.setText(prefix + text)
        self.message.setProperty("level", level)
        self.message.setToolTip(text)
        self.message.style().unpolish(self.message)
        self.message.style().polish(self.message)

    def show_writes(self, wait: str, queued: int, after: list[str] = ()) -> None:
        """``wait``: why the queued changes are not stored yet ("" hides this); ``queued``: how
        many there are (they are stored in order once the other process lets go); ``after``:
        what starts once they are stored ("training")."""
        self.waiting.setVisible(bool(wait))
        if wait:
            then = f"; then {' and '.join(after)} starts (Esc cancels)" if after else ""
            self.waiting.setText(f"{wait} {queued} change{'s' if queued != 1 else ''} queued{then}")
            self.waiting.setToolTip("Your answers are queued and are saved, in the order given, as soon "
                                    "as the other process lets go of the project database.")

    def show_jobs(self, tracked: list, job=None, label: str = "", progress=None) -> None:
        """``tracked``: Session.Tracked entries, running first; ``job``, ``label``, ``progress``: the
        job whose event this is and its progress at that event (a job warming the model up is shown
        even when it is not tracked)."""
        def progress_of(t):
            return progress if t.job is job and progress is not None else t.job.progress

        # indexing and file work, and any job while the model warms up (its first use takes a while)
        def warming(t) -> bool:
            p = progress_of(t)
            return p is not None and p.task in WARMUP_TASKS

        # a step reported by a job that has finished since is still shown: its "done" event follows
        if job is not None and (progress is not None or not job.finished) and all(t.job is not job for t in tracked):
            tracked = [SimpleNamespace(job=job, label=label, kind="model"), *tracked]
        visible = [t for t in tracked if t.kind in ("index", "io") or warming(t)]
        if not visible:
            self.work.setText("")
            self.work.hide()  # the message gets the whole width
            self.bar.hide()
            self.cancel.hide()
            return
        # the model's warm-up is what everything else waits for: it is shown first
        t = next((t for t in visible if warming(t)), None) or next(
            (t for t in visible if t.job.status == "running"), visible[0])
        more = f"  (+{len(visible) - 1} queued)" if len(visible) > 1 else ""
        p = progress_of(t)
        self.work.setText((describe(p) if p is not None else t.label + " …") + more)
        self.work.setToolTip(self.work.text())
        self.work.show()
        self.bar.show()
        self.cancel.show()
        if p is not None and p.total > 0:
            self.bar.setRange(0, 1000)
            self.bar.setValue(int(1000 * p.fraction))
            self.bar.setFormat(f"{p.fraction:.0%}")
        else:
            self.bar.setRange(0, 0)  # busy
