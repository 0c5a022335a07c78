"""Screenshots of Model → Choose model… for the docs, in the real window under Xvfb.

    Xvfb :95 -screen 0 1400x900x24 &
    DISPLAY=:95 python packaging/screenshot_model_setup.py           # writes docs/model_setup*.png

Two states: this machine as it is (no network: the hub can't be reached, the dialog says what
to do instead), and a download in progress from a local stand-in hub serving a tiny random
model under the visibly fake id test/xclip-tiny (progress bar, size, Cancel). Dialogs are
separate X windows, so each is grabbed with `xwd -id`.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def grab(window_id: int, out: Path) -> None:
    xwd = out.with_suffix(".xwd")
    subprocess.run(["xwd", "-id", str(window_id), "-out", str(xwd)], check=True)
    subprocess.run([sys.executable, str(REPO / "packaging" / "xwd2png.py"), str(xwd), str(out)], check=True)
    xwd.unlink()
    print(f"wrote {out}")


def shoot(out: Path, repo: str | None = None, endpoint: str | None = None, wait_ms: int = 6000) -> None:
    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from ethoscout.gui.application import make_app, make_window
    from ethoscout.gui.model_setup import open_model_setup

    app = make_app([sys.argv[0]])
    settings = QSettings(str(Path(tempfile.mkdtemp()) / "settings.ini"), QSettings.Format.IniFormat)
    window = make_window(settings=settings)
    window.show()
    dlg = open_model_setup(window)
    if repo:
        dlg.endpoint = endpoint
        dlg.hub_id.setCurrentText(repo)
        QTimer.singleShot(wait_ms // 2, dlg.use_button.click)

    def done():
        QApplication.processEvents()
        grab(int(dlg.winId()), out)
        dlg.reject()
        window.close()
        app.quit()
    QTimer.singleShot(wait_ms, done)
    app.exec()


def main() -> None:
    os.environ.pop("QT_QPA_PLATFORM", None)
    which = sys.argv[1] if len(sys.argv) > 1 else "all"
    if which in ("all", "offline"):
        shoot(REPO / "docs" / "model_setup.png")
    if which in ("all", "download"):
        from ethoscout.core.model.random_init import build_random_xclip
        from tests.install.hub_server import FakeHub

        tmp = Path(tempfile.mkdtemp())
        os.environ["HF_HUB_CACHE"] = str(tmp / "hub")
        tokenizer = REPO.parent / "shared" / "models" / "clip-vit-base-patch32-tokenizer"
        folder = build_random_xclip(tmp / "model", "tiny", tokenizer_dir=tokenizer if tokenizer.is_dir() else None)
        with FakeHub("test/xclip-tiny", folder, chunk=16 * 1024, delay_s=0.05) as server:
            shoot(REPO / "docs" / "model_setup_download.png", "test/xclip-tiny", server.endpoint, wait_ms=12000)


if __name__ == "__main__":
    # one process per screenshot: a QApplication can't be made twice
    if len(sys.argv) > 1:
        main()
    else:
        for state in ("offline", "download"):
            subprocess.run([sys.executable, __file__, state], check=True)
