"""Building the application: QApplication, preferences, the session and its Qt bridge, the window."""
from __future__ import annotations

import os
import sys

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication


from .bridge import GuiPoster
from .main_window import MainWindow
from .prefs import load_prefs
from .app import Session
from .theme import app_icon, apply_theme

ORG, APP = "ethoscout", "ethoscout"


def make_app(argv: list[str] | None = None) -> QApplication:
    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv[:1])
    app.setOrganizationName(ORG)
    app.setApplicationName(APP)
    app.setApplicationDisplayName("ethoscout")
    app.setWindowIcon(app_icon())
    return app


def make_window(settings=None, dialogs=None, session: Session | None = None) -> MainWindow:
    """The main window with its session (the model service starts idle; the model loads on
    the first job that needs it). ``settings``: a QSettings (default: the user's)."""
    settings = settings if settings is not None else QSettings(ORG, APP)
    prefs = load_prefs(settings)
    poster = GuiPoster()
    session = session or Session(prefs=prefs, post=poster)
    window = MainWindow(session, settings=settings, dialogs=dialogs)
    poster.setParent(window)
    app = QApplication.instance()
    if app is not None:
        apply_theme(app, session.prefs.theme)
    return window


def run(project: str | None = None, argv: list[str] | None = None) -> int:
    app = make_app(argv)
    window = make_window()
    window.show()
    if project:
        window.open_project(project)
    from .model_setup import first_run_model_setup

    QTimer.singleShot(0, lambda: first_run_model_setup(window))
    smoke_ms = os.environ.get("ETHOSCOUT_SMOKE_QUIT_MS")
    if smoke_ms:  # packaging check: show the window, say so, quit
        def report_and_quit():
            print(f"window shown: {window.windowTitle()} {window.width()}x{window.height()}", flush=True)
            window.close()
            app.quit()
        QTimer.singleShot(int(smoke_ms), report_and_quit)
    return app.exec()
