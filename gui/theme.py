"""Style sheets and the app icon from resources/."""
from __future__ import annotations

from importlib import resources

from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import QApplication


def resource_text(name: str) -> str:
    try:
        return resources.files("ethoscout.resources").joinpath(name).read_text()
    except (FileNotFoundError, ModuleNotFoundError, OSError):
        return ""


def app_icon() -> QIcon:
    try:
        data = resources.files("ethoscout.resources").joinpath("icon.svg").read_bytes()
    except (FileNotFoundError, ModuleNotFoundError, OSError):
        return QIcon()
    pm = QPixmap()
    pm.loadFromData(data, "SVG")
    return QIcon(pm)


def apply_theme(app: QApplication, theme: str) -> None:
    app.setStyle("Fusion")
    app.setStyleSheet(resource_text("dark.qss" if theme == "dark" else "light.qss"))
