"""Every question the app asks the user, in one replaceable object (tests use a scripted one)."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

MODEL_HELP = (
    "Playback, manual labelling and export keep working without a model.\n\n"
    "Choose model… (also in the Model menu) downloads one with a progress bar, uses a model folder "
    "on this computer (copied from a machine that has it, e.g. with `hf download "
    "microsoft/xclip-base-patch32`), or builds a demo model with random weights to try the program."
)


class Dialogs:
    def __init__(self, parent: QWidget | None = None):
        self.parent = parent
        self._model_box: QMessageBox | None = None

    def choose_folder(self, title: str, create: bool = False, start: str = "") -> str | None:
        if create:
            path, _ = QFileDialog.getSaveFileName(self.parent, title, start or str(Path.home() / "ethoscout-project"))
        else:
            path = QFileDialog.getExistingDirectory(self.parent, title, start or str(Path.home()))
        return path or None

    def choose_files(self, title: str, filters: str) -> list[str]:
        paths, _ = QFileDialog.getOpenFileNames(self.parent, title, str(Path.home()), filters)
        return list(paths)

    def choose_save_file(self, title: str, start: str) -> str | None:
        path, _ = QFileDialog.getSaveFileName(self.parent, title, start)
        return path or None

    def confirm(self, title: str, text: str) -> bool:
        return QMessageBox.question(self.parent, title, text) == QMessageBox.StandardButton.Yes

    def error(self, title: str, text: str) -> None:
        QMessageBox.warning(self.parent, title, text)

    def edit_behavior(self, behavior: dict) -> dict | None:
        from .behaviors_panel import BehaviorEditor

        dlg = BehaviorEditor(behavior, self.parent)
        return dlg.changes() if dlg.exec() else None

    def choose_modifiers(self, behavior: dict) -> dict | None:
        """The modifiers of an event that starts now; None when cancelled."""
        from .analysis_views import ModifierChooser

        dlg = ModifierChooser(behavior, self.parent)
        return dlg.choice() if dlg.exec() else None

    def model_error(self, message: str, choose_model) -> None:
        """Non-blocking: the rest of the app keeps working while it is shown."""
        if self._model_box is not None:
            self._model_box.close()
        box = QMessageBox(QMessageBox.Icon.Warning, "The model could not be loaded",
                          message, QMessageBox.StandardButton.Close, self.parent)
        box.setInformativeText(MODEL_HELP)
        choose = box.addButton("Choose model…", QMessageBox.ButtonRole.ActionRole)
        choose.clicked.connect(choose_model)
        box.setModal(False)
        box.show()
        self._model_box = box
