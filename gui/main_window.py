"""The main window: composes the views, wires their signals to commands, and renders the
session's view state and events into the views. Views never change data or hold state."""
from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QByteArray, Qt, QTimer, QUrl
from PySide6.QtGui import QDesktopServices, QKeySequence, QShortcut
from PySide6.QtWidgets import (QApplication, QDockWidget, QFrame, QMainWindow, QMessageBox, QScrollArea, QSplitter,
                               QVBoxLayout, QWidget)

from ethoscout.core.errors import EthoscoutError

from . import commands as C
from .actions import apply_shortcuts, build_actions, shortcuts_html
from .analysis_views import AnalysisViews
from .behaviors_panel import BehaviorsPanel
from .bridge import SessionSignals
from .dialogs import Dialogs
from .frame_server import FrameServer
from .labels_table import LabelsTable
from .model_setup import NO_MODEL_YET
from .player import Player
from .prefs import save_prefs
from .app import Session
from .review_playback import ReviewPlayback
from .settings_dialog import SettingsDialog
from .status_area import StatusArea
from .suggestions_panel import SuggestionsPanel
from .theme import app_icon, apply_theme
from .timeline import Timeline
from .training import TrainingMonitor, TrainingRunner, waiting_to_train
from .video_list import VideoList
from .video_view import TransportBar, VideoView

log = logging.getLogger(__name__)
EXPORTS = {"export_labels": "labels", "export_boris_aggregated": "boris-aggregated",
           "export_boris_tabular": "boris-tabular", "export_binary": "binary", "export_clips": "clips",
           "export_boris_project": "boris"}


def _scrollable(widget: QWidget) -> QScrollArea:
    """A panel in a scroll area: its row of controls scrolls instead of widening the window
    (tabbed beside the labels, the results and training panels made the window's minimum
    1,500-1,750 px wide, wider than a laptop's screen)."""
    area = QScrollArea()
    area.setWidget(widget)
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    return area


class MainWindow(QMainWindow):
    def __init__(self, session: Session, settings=None, dialogs=None):
        super().__init__()
        self.session = session
        self.settings = settings  # QSettings (or a stand-in) for preferences and window layout
        self.dialogs = dialogs or Dialogs(self)
        self.signals = SessionSignals(session, self)
        self.setWindowTitle("ethoscout")
        self.setWindowIcon(app_icon())
        self.setAcceptDrops(True)
        self.resize(1440, 900)
        dark = session.prefs.theme == "dark"
        self._closing = False
        self._code_shortcuts: list = []
        self._model_error_shown = ""

        # views
        self.server = FrameServer(self)
        self.player = Player(self.server, self)
        self.video_view = VideoView()
        self.playback = ReviewPlayback(session, self.player, self.video_view, self)
        self.transport = TransportBar()
        self.timeline = Timeline(dark=dark)
        self.videos_panel = VideoList()
        self.behaviors_panel = BehaviorsPanel()
        self.suggestions_panel = SuggestionsPanel()
        self.labels_table = LabelsTable()
        self.training = TrainingMonitor(dark=dark)
        self.runner = TrainingRunner(self)
        self._train_wait = None  # a training start waiting for the queued changes (writes.AfterWrites)
        self.status = StatusArea()
        self.statusBar().addWidget(self.status, 1)

        top = QWidget()
        tl = QVBoxLayout(top)
        tl.setContentsMargins(0, 0, 0, 0)
        tl.setSpacing(0)
        tl.addWidget(self.video_view, 1)
        tl.addWidget(self.transport)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(top)
        self.splitter.addWidget(self.timeline)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.setCentralWidget(self.splitter)
        self.docks = {}
        self._dock("Videos", self.videos_panel, Qt.DockWidgetArea.LeftDockWidgetArea)
        self._dock("Behaviours", self.behaviors_panel, Qt.DockWidgetArea.LeftDockWidgetArea)
        self._dock("Suggestions", self.suggestions_panel, Qt.DockWidgetArea.RightDockWidgetArea)
        self._dock("Labels", self.labels_table, Qt.DockWidgetArea.RightDockWidgetArea)
        self._dock("Training", self.training, Qt.DockWidgetArea.RightDockWidgetArea, scroll=True)
        self.tabifyDockWidget(self.docks["Labels"], self.docks["Training"])
        self.docks["Labels"].raise_()
        self.resizeDocks([self.docks["Videos"], self.docks["Suggestions"]], [300, 380], Qt.Orientation.Horizontal)

        self.analysis = AnalysisViews(self, tl)  # subject bar under the video, Results dock
        # the text of an add that fails when it lands goes back where it was typed
        session.text_fields.update(behaviour=self.behaviors_panel.give_back,
                                   subject=self.analysis.subject_bar.give_back)
        self.actions_ = build_actions(self, self._handlers(), session.prefs)
        self.actions_["show_components"].setCheckable(True)
        self._wire()
        self._restore_layout()
        self._refresh_recent()
        self.refresh_all()

    # ---- construction ----------------------------------------------------------------------

    def _dock(self, title: str, widget: QWidget, area, scroll: bool = False) -> QDockWidget:
        d = QDockWidget(title, self)
        d.setObjectName(f"dock_{title}")
        d.setWidget(_scrollable(widget) if scroll else widget)
        d.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable | QDockWidget.DockWidgetFeature.DockWidgetFloatable
                      | QDockWidget.DockWidgetFeature.DockWidgetClosable)
        self.addDockWidget(area, d)
        self.docks[title] = d
        return d

    def _handlers(self) -> dict:
        p = self.player
        h = {
            "new_project": lambda: self.run(C.NewProject()),
            "open_project": lambda: self.open_project(),
            "add_videos": lambda: self.run(C.AddVideos()),
            "close_project": self.close_project,
            "quit": self.close,
            "undo": lambda: self.run(C.Undo()),
            "redo": lambda: self.run(C.Redo()),
            "delete_labels": lambda: self._delete_labels(self.labels_table.selected_ids()),
            "settings": self.open_settings,
            "choose_model": self.choose_model,
            "system_check": self.system_check,
            "play_pause": p.toggle,
            "step_forward": lambda: p.step(1),
            "step_back": lambda: p.step(-1),
            "jump_forward_1s": lambda: p.jump(1.0),
            "jump_back_1s": lambda: p.jump(-1.0),
            "jump_forward_10s": lambda: p.jump(10.0),
            "jump_back_10s": lambda: p.jump(-10.0),
            "speed_up": p.faster,
            "speed_down": p.slower,
            "zoom_fit": self.session.zoom_fit,
            "add_behavior": self._focus_behavior_entry,
            "add_ethogram": lambda: self.run(C.AddEthogram()),
            "accept": lambda: self.answer("accept"),
            "reject": lambda: self.answer("reject"),
            "skip": lambda: self.answer("skip"),
            "next_suggestion": self.next_suggestion,
            "index": lambda: self.run(C.IndexVideos()),
            "cancel_jobs": self.cancel_work,
            "train": lambda: self.start_training(self.training.epochs.value()),
            "stop_training": self.stop_training,
            "shortcuts_help": self.show_shortcuts,
            "user_guide": self.show_guide,
            "show_components": lambda: self.session.show_components(self.actions_["show_components"].isChecked()),
            "about": self.show_about,
        }
        for name, fmt in EXPORTS.items():
            h[name] = lambda fmt=fmt: self.run(C.Export(fmt))
        return h

    def _wire(self) -> None:
        s = self.signals
        s.project.connect(self.refresh_all)
        s.videos.connect(self._videos_changed)
        s.videoStatus.connect(self._video_status)
        s.behaviors.connect(self._behaviors_changed)
        s.labels.connect(self._labels_changed)
        s.curves.connect(self._curves_changed)
        s.preview.connect(self._preview_changed)
        s.activity.connect(self._activity_changed)
        s.suggestions.connect(self._suggestions_changed)
        s.modelError.connect(self._model_error)
        s.message.connect(self.status.show_message)
        s.job.connect(lambda job, label, p: self.status.show_jobs(self.session.jobs(), job, label, p))
        s.adapter.connect(lambda v: self._adapters_changed())
        s.writes.connect(self._writes_changed)
        for signal, handler in self._view_links():
            signal.connect(handler)

        self.server.frameReady.connect(lambda i, img, ms: self.video_view.set_frame(i, img))
        self.server.failed.connect(lambda msg: self.status.show_message("error", msg))
        self.player.positionChanged.connect(self._position)
        self.player.playingChanged.connect(self.transport.set_playing)
        self.player.speedChanged.connect(self.transport.set_speed)
        self.transport.playClicked.connect(self.player.toggle)
        self.transport.stepClicked.connect(self.player.step)
        self.transport.jumpClicked.connect(self.player.jump)
        self.transport.speedChosen.connect(self.player.set_speed)

        self.timeline.seekRequested.connect(self.playback.seek)
        self.timeline.boutMarked.connect(self._mark_bout)
        self.timeline.boutMoved.connect(self._move_bout)
        self.timeline.rangeChanged.connect(self.session.set_visible)
        self.videos_panel.selected.connect(self.session.show_video)
        self.videos_panel.indexRequested.connect(lambda: self.run(C.IndexVideos()))
        self.videos_panel.addRequested.connect(lambda: self.run(C.AddVideos()))
        bp = self.behaviors_panel
        bp.addRequested.connect(self._add_behavior)
        bp.previewChanged.connect(self.session.set_preview)
        bp.selected.connect(self.session.select_behavior)
        bp.editRequested.connect(lambda bid: self.run(C.EditBehavior(bid)))
        bp.escapePressed.connect(self._behavior_entry_escape)
        bp.deleteRequested.connect(lambda bid: self.run(C.DeleteBehavior(bid)))
        sp = self.suggestions_panel
        sp.answered.connect(self.answer)
        sp.chosen.connect(self._choose_suggestion)
        lt = self.labels_table
        lt.edited.connect(self._edit_label)
        lt.deleteRequested.connect(self._delete_labels)
        lt.seekRequested.connect(lambda vid, t: self.playback.seek(t, vid))
        lt.filterChanged.connect(lambda _: self._labels_changed())
        self.status.cancelRequested.connect(self.cancel_work)
        self.training.trainRequested.connect(self.start_training)
        self.training.stopRequested.connect(self.stop_training)
        self.training.useRequested.connect(lambda v: self.run(C.UseAdapter(v)))
        self.runner.started.connect(self.training.run_started)
        self.runner.event.connect(self.training.on_event)
        self.runner.finished.connect(self._training_finished)

    # ---- running commands ------------------------------------------------------------------

    def run(self, command: C.Command, ask: bool = True):
        """Execute a command; a known error becomes a message, never a crash."""
        return self.try_run(command, ask)[1]

    def try_run(self, command: C.Command, ask: bool = True) -> tuple[bool, object]:
        """(succeeded, result) of a command."""
        try:
            return True, command.execute(self.session, self.dialogs if ask else None)
        except EthoscoutError as e:
            self.status.show_message("error", str(e))
        except Exception as e:  # a bug: report it and keep the window alive
            log.exception("%s failed", command.name)
            self.status.show_message("error", f"{command.name} failed: {type(e).__name__}: {e}")
        return False, None

    # ---- reflecting the session ------------------------------------------------------------

    def refresh_all(self) -> None:
        s = self.session
        title = f"ethoscout — {s.project.folder.name}" if s.project else "ethoscout"
        self.setWindowTitle(title)
        has = s.project is not None
        for name in ("add_videos", "close_project", "index", "train", "undo", "redo", "add_ethogram", *EXPORTS):
            if name in self.actions_:
                self.actions_[name].setEnabled(has)
        self.videos_panel.setEnabled(has)
        self.behaviors_panel.setEnabled(has)
        self._videos_changed()
        self._behaviors_changed()
        self._adapters_changed()
        self._refresh_recent()
        self._video_shown(s.view.video_id)
        self.timeline.set_range(*(s.view.visible or (None, None)))
        if not has:
            self.video_view.clear("Open a project (Ctrl+O) or create one (Ctrl+N),\nthen drop video files here")

    def _videos_changed(self) -> None:
        s = self.session
        self.videos_panel.set_videos(s.videos, s.video_status, s.view.video_id)

    def _video_status(self, vid) -> None:
        if vid is None:
            self.videos_panel.set_videos(self.session.videos, self.session.video_status, self.session.view.video_id)
        else:
            self.videos_panel.set_status(vid, self.session.video_status[vid])

    def _video_shown(self, vid, _old=None) -> None:
        """The view state shows another video: the player has loaded it (ReviewPlayback);
        the timeline, the overview and the lists follow."""
        s = self.session
        self.timeline.set_video(s.duration(vid) if vid is not None else None)
        self._curves_changed()
        self._activity_changed()
        self._preview_changed()
        self._labels_changed()
        self._suggestions_changed()
        self.videos_panel.set_current(vid)
        self._position(self.player.index, self.player.time_s)

    def _visible_changed(self, rng, _old=None) -> None:
        self.timeline.set_range(*(rng or (None, None)))

    def _clip_changed(self, clip, _old=None) -> None:
        self._suggestions_changed()

    def _behavior_selected(self, bid, _old=None) -> None:
        self.behaviors_panel.set_current(bid)
        self._components_changed()
        self._suggestions_changed()

    def _model_changed(self, _choice, _old=None) -> None:
        self._adapters_changed()

    def _coding_changed(self, coding, _old=None) -> None:
        self.timeline.set_open_events(coding)
        if coding:
            names = ", ".join(f"{self.session.behavior(b)['name']} since {t:.3f} s" for b, t in coding)
            self.status.show_message("info", f"coding: {names} (press its key again to stop)")

    def _behaviors_changed(self) -> None:
        s = self.session
        self.behaviors_panel.set_behaviors(s.behaviors, self._label_counts(), s.view.behavior_id)
        self.timeline.set_behaviors(s.behaviors)
        self._install_coding_keys()
        self._curves_changed()
        self._labels_changed()
        self._suggestions_changed()

    def _label_counts(self) -> dict:
        counts: dict[int, list[int]] = {}
        for lab in self.session.labels():
            if lab["verdict"] == "predicted":  # the model's coding, not an answer yet
                continue
            c = counts.setdefault(lab["behavior_id"], [0, 0, 0])
            c[("accept", "reject", "manual").index(lab["verdict"])] += 1
        return {k: tuple(v) for k, v in counts.items()}

    def _labels_changed(self) -> None:
        s = self.session
        if s.project is None:
            self.labels_table.set_labels([])
            self.timeline.set_labels([])
            return
        vid = s.view.video_id
        self.timeline.set_labels(s.labels(vid) if vid is not None else [])
        only = self.labels_table.only_current.isChecked()
        self.labels_table.set_labels(s.labels(vid) if only and vid is not None else s.labels())
        self.behaviors_panel.set_behaviors(s.behaviors, self._label_counts(), s.view.behavior_id)
        self.actions_["undo"].setEnabled(s.project.can_undo())
        self.actions_["redo"].setEnabled(s.project.can_redo())

    def _writes_changed(self) -> None:
        s = self.session
        self.status.show_writes(s.write_wait, len(s.pending_writes), [w.what for w in s.after_writes_waiting])
        if self._train_wait is not None:
            self.training.run_waiting(waiting_to_train(self._train_wait.waiting))
        if any(w.kind == "change" for w in s.pending_writes):  # an undo now takes back the change just made
            self.actions_["undo"].setEnabled(True)

    def _curves_changed(self) -> None:
        vid = self.session.view.video_id
        self.timeline.set_curves(self.session.curves.get(vid, {}) if vid is not None else {})
        self._components_changed()

    def _components_changed(self, *_a) -> None:
        s = self.session
        self.actions_["show_components"].setChecked(s.view.components)
        bid = s.view.behavior_id
        self.timeline.set_components(bid, s.components_of(s.view.video_id, bid) if s.view.components else {})

    def _activity_changed(self) -> None:
        s = self.session
        vid = s.view.video_id
        data = s.scope.activity.get(vid) if s.scope is not None and vid is not None else None
        self.timeline.set_activity(data, s.activity_hint(vid))

    def _preview_changed(self) -> None:
        s = self.session
        vid = s.view.video_id
        self.timeline.set_preview(s.preview_text, s.preview.get(vid) if vid is not None else None, s.preview_exact)

    def _suggestions_changed(self) -> None:
        s = self.session
        b = None
        if s.view.behavior_id is not None:
            try:
                b = s.behavior(s.view.behavior_id)
            except EthoscoutError:
                b = None
        names = {v["id"]: v["name"] for v in s.videos}
        self.suggestions_panel.set_suggestions(b, s.suggestions, names, s.adapter_version, clip=s.view.clip)
        clip = s.view.clip
        self.timeline.set_suggestion(clip if clip is not None and clip.video_id == s.view.video_id else None)

    def _adapters_changed(self) -> None:
        self.training.set_adapters(self.session.adapters())
        self._suggestions_changed()

    def _model_error(self, message: str) -> None:
        if not message:  # the model works again: take the old error off the status bar
            if self.status.level == "error" and self.status.text_shown == self._model_error_shown:
                self.status.show_message("info", "the model is loaded")
            self._model_error_shown = ""
            return
        self._model_error_shown = message
        if not self.session.prefs.model_chosen:  # nothing chosen yet: offer the setup, no error box
            self.status.show_message("info", NO_MODEL_YET)
            return
        self.status.show_message("error", message)
        self.dialogs.model_error(message, self.choose_model)

    def _position(self, index: int, t: float) -> None:
        info = self.player.info
        if info is None:
            self.transport.set_position(0, 0.0, 0, 0.0)
            return
        self.transport.set_position(index, t, info.frame_count, info.duration_s, info.vfr)
        self.timeline.set_playhead(t)

    # ---- user actions ----------------------------------------------------------------------

    def answer(self, verdict: str) -> None:
        """A / R / S: the clip on screen is answered (queued for the database in order, so the
        next one plays at once); with none on screen, the next clip is shown and nothing is stored."""
        s = self.session
        clip = s.view.clip
        if clip is None and s.next_clip() is None:
            self.status.show_message("info", "no suggestion to review: select a behaviour with a score curve")
            return
        ok, _ = self.try_run(C.Answer(verdict))
        if not ok:
            return
        if clip is None:
            self.status.show_message("info", "reviewing: A accepts, R rejects, S skips the clip that plays")
        elif verdict != "skip":
            name = s.behavior(clip.behavior_id)["name"]
            self.status.show_message("info", f"{verdict}ed {name} {clip.start_s:.1f}–{clip.end_s:.1f} s "
                                             "(Ctrl+Z undoes)")

    def next_suggestion(self) -> None:
        self.run(C.NextSuggestion())

    def _choose_suggestion(self, index: int) -> None:
        self.run(C.ChooseSuggestion(index))

    def _add_behavior(self, text: str) -> None:
        if self.run(C.AddBehavior(text, typed_in="behaviour")) is not None:
            self.behaviors_panel.clear_entry()
            # the new behaviour's suggestions come next: A, R, S and N must reach the review, not
            # type into the box (Ctrl+B or a click goes back to it for the next behaviour)
            self.behaviors_panel.entry.clearFocus()

    def _focus_behavior_entry(self) -> None:
        self.docks["Behaviours"].raise_()
        self.behaviors_panel.entry.setFocus()

    def _mark_bout(self, bid: int, a: float, b: float) -> None:
        vid = self.session.view.video_id
        if vid is None:
            return
        d = self.session.duration(vid)
        a, b = max(0.0, a), min(d, b)
        if b - a < 0.02:
            return
        pending = self.run(C.MarkBout(vid, bid, a, b))
        if pending is not None:
            self._said_stored("marked", bid, pending)

    def _move_bout(self, label_id: int, a: float, b: float) -> None:
        ok, _ = self.try_run(C.MoveBout(label_id, a, b))
        if not ok:  # refused: draw the stored bout again
            QTimer.singleShot(0, self._labels_changed)

    def _install_coding_keys(self) -> None:
        """One shortcut per behaviour key (checked against the review keys when set)."""
        for sc in self._code_shortcuts:
            sc.setParent(None)
            sc.deleteLater()
        self._code_shortcuts = []
        for b in self.session.behaviors:
            key = (b.get("key") or "").strip()
            if len(key) != 1 or key.lower() in self.session.reserved_keys():
                continue
            sc = QShortcut(QKeySequence(key.upper()), self)
            sc.setContext(Qt.ShortcutContext.WindowShortcut)
            sc.activated.connect(lambda bid=b["id"]: self.code_key(bid))
            self._code_shortcuts.append(sc)

    def code_key(self, behavior_id: int) -> None:
        """A behaviour's key: a point event, or the start / stop of a state event, at the
        frame on screen."""
        if self.player.info is None:
            self.status.show_message("info", "no video on screen to code")
            return
        pending = self.run(C.Code(behavior_id, self.player.time_s))
        if pending is not None:
            self._said_stored("coded", behavior_id, pending)

    def _said_stored(self, verb: str, behavior_id: int, pending) -> None:
        """A bout queued for the database: its frame-snapped times, as they are stored."""
        a, b = pending.times
        self.status.show_message("info", f"{verb} {self.session.behavior(behavior_id)['name']} "
                                         f"{a:.3f}–{b:.3f} s (Ctrl+Z undoes)")

    def _edit_label(self, label_id: int, field: str, value) -> None:
        ok, _ = self.try_run(C.EditLabel(label_id, {field: value}))
        if not ok:  # refused: show the stored value again
            QTimer.singleShot(0, self._labels_changed)

    def _delete_labels(self, ids: list) -> None:
        if ids and self.run(C.DeleteLabels(list(ids))) is not None:  # queued; a failure says so
            n = len(ids)
            self.status.show_message("info", f"deleted {n} label(s); Ctrl+Z brings them back"
                                     + (" in one step" if n > 1 else ""))

    def cancel_work(self) -> None:
        waiting = len(self.session.after_writes_waiting)
        n = self.session.cancel_all()
        if waiting and n == waiting:
            return  # only starts waiting for the queued changes (training, a switch), which said so
        if n:
            self.status.show_message("info", "stopping; finished work is kept and indexing resumes where it stopped")
        else:
            self.status.show_message("info", "nothing is running")

    def _behavior_entry_escape(self) -> None:
        """Esc in the behaviour box: drop the typed text and its preview, nothing else."""
        self.behaviors_panel.clear_entry()
        self.session.clear_preview()

    def open_project(self, folder: str | None = None) -> None:
        """The menu's, a recent project's, a dropped folder's: opened in the background (see
        ``Session.open_project_in_background``), the project open now usable until then."""
        self.run(C.OpenProject(folder, background=True))

    def close_project(self) -> None:
        n = len(self.session.pending_writes)
        if n:  # closing stores them first (seconds at most, unless another process writes)
            self.status.show_message("info", f"saving {n} queued change{'s' if n != 1 else ''} before closing…")
            self.status.repaint()
        self.run(C.CloseProject())
        self.refresh_all()

    def start_training(self, epochs: int = 40) -> None:
        s = self.session
        if s.project is None:
            return
        if self.runner.running or self._train_wait is not None:
            self.status.show_message("info", "a training run is already going" if self._train_wait is None
                                     else waiting_to_train(self._train_wait.waiting))
            return
        # the run learns from the answers just given: it starts once they are stored, and the
        # window goes on meanwhile (another process may hold the project's write lock)
        try:
            self._train_wait = s.after_writes("training", lambda: self._train_now(epochs), self._training_not_started)
        except EthoscoutError as e:  # the project is being switched
            self.status.show_message("error", str(e))
            return
        if self._train_wait is not None:
            text = waiting_to_train(self._train_wait.waiting)
            self.training.run_waiting(text)
            self.status.show_message("info", text)

    def _train_now(self, epochs: int) -> None:
        s = self.session
        if not s.project.labels():
            self._training_not_started("error", "nothing to learn from yet: accept or reject some suggestions first")
            return
        try:
            self.runner.start(str(s.project.folder), model=s.prefs.model, device=s.prefs.device, epochs=int(epochs))
        except (EthoscoutError, ValueError, RuntimeError, ImportError) as e:
            self._training_not_started("error", f"training could not start: {e}")
            return
        self._train_wait = None
        self.docks["Training"].raise_()
        self.status.show_message("info", "training in the background; keep reviewing meanwhile")

    def _training_not_started(self, level: str, why: str) -> None:
        if self._train_wait is not None:
            self._train_wait = None
            self.training.wait_ended(why)
        self.status.show_message(level, why)

    def stop_training(self) -> None:
        """Stop: a start still waiting for the queued changes is dropped, a run is stopped."""
        if self._train_wait is None or not self.session.cancel_after_writes(self._train_wait):
            self.runner.cancel()

    def _training_finished(self, ev) -> None:
        self.training.run_finished(ev)
        if ev.event == "done":
            version = ev.data.get("version")
            self.status.show_message("info", f"adapter v{version} ready; rescoring with it")
            if ev.data.get("active"):
                self.run(C.UseAdapter(version))
            self._adapters_changed()
        elif ev.event == "failed":
            self.status.show_message("error", ev.describe())
        else:
            self.status.show_message("info", ev.describe())

    def choose_model(self) -> None:
        """Model > Choose model...: the setup dialog; its choice applies like a settings change."""
        from .model_setup import open_model_setup

        open_model_setup(self)

    def system_check(self) -> None:
        from .model_setup import show_system_check

        show_system_check(self)

    def open_settings(self) -> None:
        dlg = SettingsDialog(self.session.prefs, self)
        if dlg.exec():
            self.apply_prefs(dlg.prefs())

    def apply_prefs(self, prefs) -> None:
        old_theme = self.session.prefs.theme
        self.session.apply_prefs(prefs)
        apply_shortcuts(self.actions_, self.session.prefs)
        if prefs.theme != old_theme and QApplication.instance() is not None:
            apply_theme(QApplication.instance(), prefs.theme)
        if self.settings is not None:
            save_prefs(self.settings, self.session.prefs)

    def show_shortcuts(self) -> None:
        box = QMessageBox(QMessageBox.Icon.NoIcon, "Keyboard shortcuts", "", QMessageBox.StandardButton.Close, self)
        box.setTextFormat(Qt.TextFormat.RichText)
        box.setText(shortcuts_html(self.session.prefs))
        box.setModal(False)
        box.show()

    def show_guide(self) -> None:
        guide = Path(__file__).resolve().parents[1] / "docs" / "gui.md"
        if guide.exists():
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(guide)))
        else:
            self.show_shortcuts()

    def show_about(self) -> None:
        QMessageBox.about(self, "About ethoscout",
                          "<b>ethoscout</b><br>Find animal behaviours in hours of video: type a behaviour, see its "
                          "X-CLIP score along the timeline, review the best clips with one key, and let a LoRA "
                          "adapter learn from your answers.")

    def _refresh_recent(self) -> None:
        menu = getattr(self, "recent_menu", None)
        if menu is None:
            return
        menu.clear()
        for folder in self.session.prefs.recent_projects:
            act = menu.addAction(folder)
            act.triggered.connect(lambda _=False, f=folder: self.open_project(f))
        menu.setEnabled(bool(self.session.prefs.recent_projects))

    # ---- drag and drop ---------------------------------------------------------------------

    def _dropped_paths(self, event) -> list[str]:
        md = event.mimeData()
        return [u.toLocalFile() for u in md.urls() if u.isLocalFile()] if md.hasUrls() else []

    def dragEnterEvent(self, event):  # noqa: N802
        paths = self._dropped_paths(event)
        if any(C.is_video_file(p) or (Path(p) / "project.sqlite").exists() for p in paths):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event):  # noqa: N802
        paths = self._dropped_paths(event)
        event.acceptProposedAction()
        self.drop_paths(paths)

    def drop_paths(self, paths: list[str]) -> None:
        projects = [p for p in paths if (Path(p) / "project.sqlite").exists()]
        if projects:
            self.open_project(projects[0])
            return
        videos = [p for p in paths if C.is_video_file(p)]
        if not videos:
            self.status.show_message("error", "nothing to add: drop video files (.mp4, .avi, .mov, …) "
                                              "or a project folder")
            return
        if self.session.project is None:
            self.status.show_message("error", "open or create a project first (File → New project), "
                                              "then drop the videos again")
            return
        self.run(C.AddVideos(paths=videos))

    # ---- layout and closing ----------------------------------------------------------------

    def _view_links(self) -> list:
        """(view-state signal, handler): what the window renders of each single value."""
        view = self.session.view.events
        return [(view.video_id, self._video_shown), (view.visible, self._visible_changed),
                (view.clip, self._clip_changed), (view.behavior_id, self._behavior_selected),
                (view.model, self._model_changed), (view.coding, self._coding_changed),
                (view.components, self._components_changed)]

    def _disconnect_view(self) -> None:
        for signal, handler in self._view_links():
            signal.disconnect(handler)

    def _restore_layout(self) -> None:
        if self.settings is None:
            return
        geo = self.settings.value("window/geometry", None)
        state = self.settings.value("window/state", None)
        if isinstance(geo, QByteArray):
            self.restoreGeometry(geo)
        if isinstance(state, QByteArray):
            self.restoreState(state)

    def closeEvent(self, event):  # noqa: N802
        """Stop everything cleanly: finished work is kept; indexing resumes next time."""
        if self._closing:
            event.accept()
            return
        self._closing = True
        self.playback.disconnect_all()
        self._disconnect_view()
        self.player.pause()
        self.runner.stop_and_wait()
        self.session.shutdown(timeout=10.0)
        self.server.stop()
        self.analysis.stop()
        if self.settings is not None:
            self.settings.setValue("window/geometry", self.saveGeometry())
            self.settings.setValue("window/state", self.saveState())
            save_prefs(self.settings, self.session.prefs)
        event.accept()
