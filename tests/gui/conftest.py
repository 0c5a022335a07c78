"""Fixtures for the desktop app's tests: a window on a temporary project with the tiny random
model, isolated preferences, and scripted dialogs."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")


class ScriptedDialogs:
    """Answers the questions a command would ask, from lists the test fills in."""

    def __init__(self):
        self.folders: list[str] = []
        self.files: list[list[str]] = []
        self.save_files: list[str] = []
        self.confirmations: list[bool] = []
        self.model_errors: list[str] = []
        self.errors: list[str] = []
        self.behavior_edits: list[dict] = []
        self.modifier_choices: list[dict | None] = []

    def choose_folder(self, title, create=False, start=""):
        return self.folders.pop(0) if self.folders else None

    def choose_files(self, title, filters):
        return self.files.pop(0) if self.files else []

    def choose_save_file(self, title, start):
        return self.save_files.pop(0) if self.save_files else None

    def confirm(self, title, text):
        return self.confirmations.pop(0) if self.confirmations else True

    def error(self, title, text):
        self.errors.append(text)

    def edit_behavior(self, behavior):
        return self.behavior_edits.pop(0) if self.behavior_edits else None

    def choose_modifiers(self, behavior):
        return self.modifier_choices.pop(0) if self.modifier_choices else {}

    def model_error(self, message, open_settings):
        self.model_errors.append(message)


@pytest.fixture
def dialogs():
    return ScriptedDialogs()


@pytest.fixture
def settings(tmp_path):
    from PySide6.QtCore import QSettings

    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def prefs(tiny_model_dir):
    from ethoscout.gui.prefs import Prefs

    # span 1 s, stride 0.5 s: a few windows even on a 4 s synthetic clip
    return Prefs(model=str(tiny_model_dir), device="cpu", span_s=1.0, stride_s=0.5)


@pytest.fixture
def make_window(qtbot, settings, dialogs, prefs):
    """make_window(prefs=None) -> MainWindow; closed (and its threads stopped) after the test."""
    from ethoscout.gui.bridge import GuiPoster
    from ethoscout.gui.main_window import MainWindow
    from ethoscout.gui.app import Session

    made = []

    def make(p=None):
        poster = GuiPoster()
        session = Session(prefs=p or prefs, post=poster)
        w = MainWindow(session, settings=settings, dialogs=dialogs)
        poster.setParent(w)
        qtbot.addWidget(w)
        w.resize(1280, 800)
        w.show()
        qtbot.waitExposed(w)
        w.activateWindow()
        made.append(w)
        return w

    yield make
    for w in made:
        w.close()


@pytest.fixture
def window(make_window):
    return make_window()


@pytest.fixture
def project_dir(tmp_path) -> Path:
    return tmp_path / "project"


def wait_indexed(qtbot, window, video_ids=None, timeout=60000):
    s = window.session

    def done():
        ids = video_ids or [v["id"] for v in s.videos]
        assert ids and all(s.video_status[i].state in ("indexed", "error") for i in ids)
    qtbot.waitUntil(done, timeout=timeout)


def wait_curves(qtbot, window, behavior_id, video_id=None, timeout=30000):
    s = window.session

    def done():
        vid = video_id if video_id is not None else s.current_video_id
        assert behavior_id in s.curves.get(vid, {})
    qtbot.waitUntil(done, timeout=timeout)


def wait_saved(qtbot, window, timeout=10000):
    """Until the answers and bouts queued for the database have landed (and the views followed)."""
    qtbot.waitUntil(lambda: not window.session.pending_writes, timeout=timeout)


def landed(qtbot, window, pending, timeout=10000):
    """What a queued change stored (a new behaviour's row) once it and those before it landed."""
    assert pending is not None
    wait_saved(qtbot, window, timeout)
    assert pending.job.status == "done", pending.job.error
    return pending.result


SPEC = dict(span_s=1.0, stride_s=0.5, frames=8, scheme="sparse")


@pytest.fixture(scope="session")
def indexed_template(tmp_path_factory, tiny_model):
    """A project with one synthetic 6 s video already indexed with the tiny model (built once;
    tests copy it)."""
    from ethoscout.core.data.project import Project
    from ethoscout.core.engine import index_videos
    from ethoscout.core.video.windows import WindowSpec

    from tests.conftest import write_video

    root = tmp_path_factory.mktemp("indexed")
    video = write_video(root / "arena.avi", frames=90, fps=15.0, fourcc="MJPG")
    folder = root / "template"
    with Project.create(folder) as p:
        p.add_video(video)
        p.set_setting("model", str(tiny_model.folder))
        p.set_setting("window_spec", SPEC)
    results = index_videos(folder, [video], model=tiny_model, spec=WindowSpec(**SPEC))
    assert results[0].status == "indexed"
    return folder


def copy_project(template: Path, folder: Path) -> Path:
    import shutil

    shutil.copytree(template, folder)
    return folder


def db_rows(project_folder: Path, sql: str, params=()) -> list[tuple]:
    """Rows as another connection sees them (what is committed)."""
    import sqlite3

    con = sqlite3.connect(project_folder / "project.sqlite")
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


@pytest.fixture
def indexed_project(indexed_template, tmp_path):
    return copy_project(indexed_template, tmp_path / "indexed-project")


@pytest.fixture
def open_window(window, indexed_project, qtbot):
    """A window with the indexed project open, the video loaded and its state checked."""
    from ethoscout.gui import commands as C

    window.run(C.OpenProject(str(indexed_project)))
    wait_indexed(qtbot, window)
    return window


@pytest.fixture(scope="session")
def pair_template(tmp_path_factory, tiny_model):
    """A project with two indexed videos of different lengths (6 s and 12 s at 15 fps) and a
    LoRA adapter v1 (untrained, text side) registered and active; built once."""
    from ethoscout.core.data.project import Project
    from ethoscout.core.engine import index_videos
    from ethoscout.core.learn.adapters import save_and_register
    from ethoscout.core.model.lora import attach_lora, lora_config
    from ethoscout.core.video.windows import WindowSpec

    from tests.conftest import write_video

    root = tmp_path_factory.mktemp("pair")
    short = write_video(root / "short_arena.avi", frames=90, fps=15.0, fourcc="MJPG")
    long = write_video(root / "long_home_cage_recording.avi", frames=180, fps=15.0, fourcc="MJPG",
                       size=(80, 60), pattern="still")
    folder = root / "template"
    with Project.create(folder) as p:
        p.add_video(short)
        p.add_video(long)
        p.set_setting("model", str(tiny_model.folder))
        p.set_setting("window_spec", SPEC)
    results = index_videos(folder, [short, long], model=tiny_model, spec=WindowSpec(**SPEC))
    assert [r.status for r in results] == ["indexed", "indexed"]
    with Project.open(folder) as p:
        adapted = attach_lora(tiny_model, lora_config())
        save_and_register(p, adapted.model, {"base_fingerprint": tiny_model.fingerprint},
                          str(tiny_model.folder), {}, activate=True)
    return folder


@pytest.fixture
def pair_project(pair_template, tmp_path):
    return copy_project(pair_template, tmp_path / "pair-project")
