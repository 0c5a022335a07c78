"""Model → Choose model…: where the X-CLIP model comes from, asked in the window.

Three ways: download a checkpoint from the Hugging Face hub (its size shown first, then a
progress bar in MB with Cancel; into huggingface_hub's normal cache), a model folder on this
computer (air-gapped stations), or the demo model (random weights, built here, for trying the
program offline). Downloading, checking sizes and building run on worker threads; results come
back as queued Qt signals. The dialog only chooses: the window applies the choice.
"""
from __future__ import annotations

import threading

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (QButtonGroup, QComboBox, QDialog, QDialogButtonBox, QFileDialog, QGridLayout,
                               QHBoxLayout, QLabel, QLineEdit, QProgressBar, QPushButton, QRadioButton,
                               QVBoxLayout)

from ethoscout.core.errors import EthoscoutError
from ethoscout.core.model.hub import MODELS, cached_folder, download_model, offline_reason, plan_download
from ethoscout.core.model.loading import folder_problem
from ethoscout.core.model.random_init import DEMO_FOLDER, DEMO_NOTE, build_demo_model, demo_model_folder
from ethoscout.core.progress import CancelToken, Cancelled, format_bytes

HUB, FOLDER, DEMO = 0, 1, 2


class _Relay(QObject):
    """Carries results from worker threads to the dialog (queued across threads)."""

    progress = Signal(object)  # Progress (bytes)
    planned = Signal(str, object, str)  # repo id, DownloadPlan or None, error line
    finished = Signal(str, object, str)  # what, model string or None, error line ("" when cancelled)


def run_in_thread(fn, *args) -> threading.Thread:
    t = threading.Thread(target=fn, args=args, daemon=True, name="ethoscout-model-setup")
    t.start()
    return t


class ModelSetupDialog(QDialog):
    def __init__(self, current: str = "", parent=None, endpoint: str | None = None, demo_size: str = "base"):
        super().__init__(parent)
        self.setWindowTitle("Choose a model")
        self.setMinimumWidth(620)
        self.endpoint = endpoint  # None: the hub huggingface_hub is configured for
        self.demo_size = demo_size
        self._chosen: str | None = None
        self._cancel: CancelToken | None = None
        self._busy = False
        self._plans: dict[str, object] = {}
        self.relay = _Relay(self)
        self.relay.progress.connect(self._on_progress, Qt.ConnectionType.QueuedConnection)
        self.relay.planned.connect(self._on_planned, Qt.ConnectionType.QueuedConnection)
        self.relay.finished.connect(self._on_finished, Qt.ConnectionType.QueuedConnection)

        intro = QLabel("ethoscout scores your videos with an X-CLIP video–text model. "
                       "Choose where the model comes from; you can change it later (Model → Choose model…).")
        intro.setWordWrap(True)
        self.group = QButtonGroup(self)
        self.hub_radio = QRadioButton("Download from the Hugging Face hub")
        self.folder_radio = QRadioButton("A model folder on this computer")
        self.demo_radio = QRadioButton(f"Demo model ({DEMO_NOTE.split('(', 1)[1]}")
        for i, r in enumerate((self.hub_radio, self.folder_radio, self.demo_radio)):
            self.group.addButton(r, i)

        # hub
        self.hub_id = QComboBox()
        self.hub_id.setEditable(True)
        for m in MODELS:
            self.hub_id.addItem(m.repo_id)
            self.hub_id.setItemData(self.hub_id.count() - 1, m.label, Qt.ItemDataRole.ToolTipRole)
        self.hub_id.setToolTip("Any X-CLIP checkpoint id on the hub; the list holds Microsoft's")
        self.hub_info = QLabel("")
        self.hub_info.setObjectName("hubInfo")
        self.hub_info.setWordWrap(True)
        self.offline = QLabel(offline_reason() or "")
        self.offline.setObjectName("offline")
        self.offline.setWordWrap(True)
        self.offline.setVisible(bool(offline_reason()))
        self.bar = QProgressBar()
        self.bar.setTextVisible(True)
        self.bar.hide()
        self.cancel_button = QPushButton("Cancel download")
        self.cancel_button.hide()
        self.cancel_button.clicked.connect(self.cancel_work)
        bar_row = QHBoxLayout()
        bar_row.addWidget(self.bar, 1)
        bar_row.addWidget(self.cancel_button)

        # folder
        self.folder = QLineEdit()
        self.folder.setPlaceholderText("a folder with config.json, model.safetensors and tokenizer files")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder, 1)
        folder_row.addWidget(browse)

        # demo
        demo_text = QLabel("Built here in seconds, for trying the program without a download. Its weights are "
                           "random: the curves and suggestions it gives mean nothing about behaviour.")
        demo_text.setWordWrap(True)

        grid = QGridLayout()
        grid.setColumnMinimumWidth(0, 22)
        grid.addWidget(self.hub_radio, 0, 0, 1, 2)
        grid.addWidget(self.hub_id, 1, 1)
        grid.addWidget(self.hub_info, 2, 1)
        grid.addWidget(self.offline, 3, 1)
        grid.addLayout(bar_row, 4, 1)
        grid.addWidget(self.folder_radio, 5, 0, 1, 2)
        grid.addLayout(folder_row, 6, 1)
        grid.addWidget(self.demo_radio, 7, 0, 1, 2)
        grid.addWidget(demo_text, 8, 1)

        self.status = QLabel("")
        self.status.setObjectName("setupStatus")
        self.status.setWordWrap(True)
        self.buttons = QDialogButtonBox()
        self.use_button = self.buttons.addButton("Use this model", QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.buttons.accepted.connect(self.use)
        self.buttons.rejected.connect(self.reject)

        lay = QVBoxLayout(self)
        lay.addWidget(intro)
        lay.addLayout(grid)
        lay.addWidget(self.status)
        lay.addWidget(self.buttons)

        self._plan_timer = QTimer(self)
        self._plan_timer.setSingleShot(True)
        self._plan_timer.setInterval(400)  # typing an id asks the hub once, when typing pauses
        self._plan_timer.timeout.connect(self._ask_size)
        self.hub_id.currentTextChanged.connect(lambda _: self._hub_id_changed())
        self.folder.textChanged.connect(lambda _: self.folder_radio.setChecked(True))
        self._preselect(current)

    # ---- state -------------------------------------------------------------------------------

    def _preselect(self, current: str) -> None:
        from pathlib import Path

        if current and Path(current).name == DEMO_FOLDER:
            self.demo_radio.setChecked(True)
        elif current and (Path(current).expanduser().exists() or current.startswith(("/", ".", "~"))):
            self.folder.setText(current)
            self.folder_radio.setChecked(True)
        else:
            if current:
                self.hub_id.setCurrentText(current)
            self.hub_radio.setChecked(True)
        self._hub_id_changed()

    def choice(self) -> int:
        return self.group.checkedId()

    def chosen(self) -> str | None:
        """The model to use (a hub id or a folder), once the dialog was accepted."""
        return self._chosen

    def _set_busy(self, busy: bool, what: str = "") -> None:
        self._busy = busy
        self.use_button.setEnabled(not busy)
        for r in self.group.buttons():
            r.setEnabled(not busy)
        self.hub_id.setEnabled(not busy)
        self.bar.setVisible(busy)
        self.cancel_button.setVisible(busy and what == "download")
        if busy and what != "download":
            self.bar.setRange(0, 0)  # busy indicator: building has no byte count
            self.bar.setFormat("")

    def say(self, text: str) -> None:
        self.status.setText(text)

    # ---- hub ----------------------------------------------------------------------------------

    def _hub_id_changed(self) -> None:
        repo = self.hub_id.currentText().strip()
        label = next((m.label for m in MODELS if m.repo_id == repo), "")
        if repo and cached_folder(repo) is not None:
            self.hub_info.setText(f"{label}; already on this computer".lstrip("; "))
            return
        if offline_reason() or not repo:
            self.hub_info.setText(label)
            return
        plan = self._plans.get(repo)
        if plan is None:
            self.hub_info.setText(f"{label}; asking the hub for its size…".lstrip("; "))
            self._plan_timer.start()
        else:
            self._show_plan(repo, plan)

    def _ask_size(self) -> None:
        repo = self.hub_id.currentText().strip()

        def work():
            try:
                self.relay.planned.emit(repo, plan_download(repo, endpoint=self.endpoint), "")
            except EthoscoutError as e:
                self.relay.planned.emit(repo, None, getattr(e, "reason", str(e)))
        run_in_thread(work)

    def _on_planned(self, repo: str, plan, error: str) -> None:
        if plan is not None:
            self._plans[repo] = plan
        if repo != self.hub_id.currentText().strip():
            return  # the user moved on to another id
        if plan is None:
            label = next((m.label for m in MODELS if m.repo_id == repo), "")
            self.hub_info.setText(f"{label + chr(10) if label else ''}{error[0].upper()}{error[1:]}. Without a "
                                  f"network: a model folder copied from a machine that has it (`hf download "
                                  f"{repo}` there), or the demo model.")
        else:
            self._show_plan(repo, plan)

    def _show_plan(self, repo: str, plan) -> None:
        label = next((m.label for m in MODELS if m.repo_id == repo), "")
        size = (f"{format_bytes(plan.total)} to download" if plan.to_fetch >= plan.total
                else f"{format_bytes(plan.total)}, {format_bytes(plan.to_fetch)} of it still to download")
        self.hub_info.setText(f"{label}; {size}, kept in huggingface_hub's cache".lstrip("; "))

    def start_download(self) -> None:
        repo = self.hub_id.currentText().strip()
        if not repo:
            self.say("type a hub id, e.g. microsoft/xclip-base-patch32")
            return
        offline = offline_reason()
        if offline:
            self.say(f"{repo} is not on this computer and {offline}. `hf download {repo}` on a machine that "
                     f"is online fills the cache to copy here.")
            return
        self._cancel = CancelToken()
        token = self._cancel
        self._set_busy(True, "download")
        self.bar.setRange(0, 1000)
        self.bar.setValue(0)
        self.bar.setFormat("starting…")
        self.say(f"downloading {repo}…")

        def work():
            try:
                download_model(repo, on_progress=self.relay.progress.emit, cancel=token, endpoint=self.endpoint)
                self.relay.finished.emit("download", repo, "")
            except Cancelled:
                self.relay.finished.emit("download", None, "")
            except EthoscoutError as e:
                self.relay.finished.emit("download", None, str(e))
        run_in_thread(work)

    def _on_progress(self, p) -> None:
        if not self._busy:
            return
        frac = p.done / p.total if p.total else 0.0
        self.bar.setValue(int(1000 * frac))
        rate = f", {format_bytes(p.rate)}/s" if p.rate > 0 and p.done > p.first_done else ""
        self.bar.setFormat(f"{format_bytes(p.done)} of {format_bytes(p.total)}{rate}")

    # ---- folder and demo --------------------------------------------------------------------------

    def _browse(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Model folder", self.folder.text() or "")
        if path:
            self.folder.setText(path)

    def build_demo(self) -> None:
        self._set_busy(True, "demo")
        self.say(f"building the {DEMO_NOTE} in {demo_model_folder()}…")
        size = self.demo_size

        def work():
            try:
                folder = build_demo_model(size=size)
                self.relay.finished.emit("demo", str(folder), "")
            except Exception as e:  # noqa: BLE001 - a full disk, a broken torch: one line
                self.relay.finished.emit("demo", None, f"the demo model could not be built ({type(e).__name__}: "
                                                       f"{str(e).splitlines()[0] if str(e) else ''})")
        run_in_thread(work)

    # ---- finishing ------------------------------------------------------------------------------

    def use(self) -> None:
        """Use this model: at once for a folder or a cached checkpoint; after the download or
        the build otherwise."""
        which = self.choice()
        if which == FOLDER:
            path = self.folder.text().strip()
            problem = folder_problem(path) if path else "choose a model folder (Browse…)"
            if problem:
                self.say(problem)
                return
            self._accept_with(path)
        elif which == DEMO:
            self.build_demo()
        else:
            repo = self.hub_id.currentText().strip()
            if repo and cached_folder(repo) is not None:
                self._accept_with(repo)
            else:
                self.start_download()

    def _on_finished(self, what: str, model, error: str) -> None:
        self._set_busy(False)
        self._cancel = None
        if model is not None:
            self._accept_with(model)
        elif error:
            self.say(error)
        else:
            self.say("download cancelled; files that finished stay in the cache and are not fetched again")

    def _accept_with(self, model: str) -> None:
        self._chosen = model
        self.accept()

    def cancel_work(self) -> None:
        if self._cancel is not None:
            self._cancel.cancel()
            self.say("cancelling…")

    def reject(self) -> None:
        self.cancel_work()  # closing the dialog stops a download
        super().reject()



NO_MODEL_YET = ("no model chosen yet: Model → Choose model… downloads one, uses a model folder on this "
                "computer, or builds a demo model to try the program")


def open_model_setup(window) -> ModelSetupDialog:
    """Show the setup dialog over ``window`` (window-modal, no nested event loop); a model
    chosen there is applied as a settings change and remembered as the user's choice."""
    from dataclasses import replace

    old = getattr(window, "_model_setup", None)
    if old is not None and old.isVisible():
        old.raise_()
        return old
    session = window.session
    dlg = ModelSetupDialog(session.prefs.model, window)

    def done(result: int) -> None:
        model = dlg.chosen()
        if not result or not model:
            return
        same = model == session.prefs.model
        window.apply_prefs(replace(session.prefs, model=model, model_confirmed=True))
        if same:  # the same id, now downloaded: load it again instead of keeping the failure
            session.switch_model(model, session.prefs.device)
        if DEMO_FOLDER in model:
            window.status.show_message("info", f"using the {DEMO_NOTE}: try the program with it, "
                                               "but don't read anything into its scores")

    dlg.finished.connect(done)
    dlg.open()
    window._model_setup = dlg
    return dlg


def first_run_model_setup(window) -> ModelSetupDialog | None:
    """On a first start (no model chosen, the default not on this computer) offer the setup; a
    project being opened is waited for first, since its own model counts as chosen."""
    if window.session.opening is not None:  # until its outcome reached the window
        QTimer.singleShot(100, lambda: first_run_model_setup(window))
        return None
    prefs = window.session.prefs
    if prefs.model_chosen or cached_folder(prefs.model) is not None:
        return None
    window.status.show_message("info", NO_MODEL_YET)
    return open_model_setup(window)


class SystemCheckDialog(QDialog):
    """Help → System check: ``ethoscout doctor``'s lines, computed off the GUI thread."""

    class _Done(QObject):
        done = Signal(object)

    def __init__(self, parent=None):
        from PySide6.QtGui import QFontDatabase
        from PySide6.QtWidgets import QPlainTextEdit

        super().__init__(parent)
        self.setWindowTitle("System check")
        self.resize(900, 360)
        self.text = QPlainTextEdit("checking…")
        self.text.setReadOnly(True)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        box = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        box.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(self.text, 1)
        lay.addWidget(self.summary)
        lay.addWidget(box)
        self.findings: list | None = None
        self._relay = self._Done(self)
        self._relay.done.connect(self._show, Qt.ConnectionType.QueuedConnection)

        def work():
            from ethoscout.core.doctor import run_checks

            self._relay.done.emit(run_checks())
        run_in_thread(work)

    def _show(self, findings) -> None:
        self.findings = findings
        self.text.setPlainText("\n".join(f.line() for f in findings))
        blockers = [f.name for f in findings if f.status == "fail"]
        self.summary.setText(f"Blocked by: {', '.join(blockers)} (see the lines marked fail)" if blockers
                             else "Nothing blocks ethoscout here. The same check: ethoscout doctor")


def show_system_check(window) -> SystemCheckDialog:
    dlg = SystemCheckDialog(window)
    dlg.setModal(False)
    dlg.show()
    window._system_check = dlg
    return dlg
