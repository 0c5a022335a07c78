"""Shortcuts remappable and remembered; the console script runs the CLI without Qt."""
from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence

from ethoscout.gui.actions import shortcuts_html
from ethoscout.gui.launch import is_cli, main
from ethoscout.gui.prefs import DEFAULT_SHORTCUTS, DictStore, Prefs, load_prefs, save_prefs

from .conftest import landed, wait_curves, wait_saved


def test_gui_remapped_shortcut_works_and_is_remembered(qtbot, open_window, make_window, settings):
    from ethoscout.gui import commands as C

    w = open_window
    b = landed(qtbot, w, w.run(C.AddBehavior("square")))
    wait_curves(qtbot, w, b["id"])
    qtbot.waitUntil(lambda: w.session.current_suggestion is not None, timeout=10000)
    w.next_suggestion()  # review starts: the first clip plays
    w.apply_prefs(replace(w.session.prefs, shortcuts={"accept": "Y"}))
    assert w.actions_["accept"].shortcut() == QKeySequence("Y")
    assert "<b>Y</b></td><td>Accept the suggestion" in shortcuts_html(w.session.prefs)
    w.activateWindow()
    qtbot.keyClick(w, Qt.Key.Key_A)  # the old key does nothing now
    assert not w.session.pending_writes and w.session.labels() == []
    qtbot.keyClick(w, Qt.Key.Key_Y)
    wait_saved(qtbot, w)
    assert [lab["verdict"] for lab in w.session.labels()] == ["accept"]
    w.close()
    settings.sync()
    again = load_prefs(settings)
    assert again.shortcut("accept") == "Y" and again.shortcut("reject") == "R"
    assert again.model == w.session.prefs.model
    w2 = make_window(again)
    assert w2.actions_["accept"].shortcut() == QKeySequence("Y")


def test_prefs_roundtrip_and_checks():
    p = Prefs(model="/models/xclip", device="cuda", span_s=3.0, stride_s=1.5, frames=16, theme="light",
              shortcuts={"skip": "K"}, recent_projects=["/a", "/b"])
    store = DictStore()
    save_prefs(store, p)
    assert load_prefs(store) == p
    assert Prefs(shortcuts={"accept": "R"}).check() == [
        "shortcut R is used by both 'Accept the suggestion' and 'Reject the suggestion'"]
    assert Prefs(span_s=0).check() and Prefs(model=" ").check() and Prefs().check() == []
    # every action has a default key and a description for the Help listing
    assert all(k and what for k, what in DEFAULT_SHORTCUTS.values())


def test_launch_dispatch(tmp_path):
    assert not is_cli([]) and not is_cli([str(tmp_path)])
    assert is_cli(["--help"]) and is_cli(["index"]) and is_cli(["project"])
    assert main([str(tmp_path / "no-such-project")]) == 2


def test_launch_cli_runs_without_qt(tmp_path):
    code = ("import sys\n"
            "from ethoscout.gui.launch import main\n"
            f"rc = main(['project', 'init', {str(tmp_path / 'p')!r}])\n"
            "print('QT', any(m.startswith('PySide6') for m in sys.modules))\n"
            "sys.exit(rc)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "QT False" in out.stdout
    assert (tmp_path / "p" / "project.sqlite").exists()
    help_ = subprocess.run([sys.executable, "-c", "from ethoscout.gui.launch import main; main(['--help'])"],
                           capture_output=True, text=True, timeout=120)
    assert help_.returncode == 0 and "index" in help_.stdout and "desktop app" in help_.stdout


def test_many_signal_emits_do_not_exhaust_singletons():
    """PySide6 6.12.0 drops a reference to True per emit (pyproject.toml excludes it); the
    installed Qt must let a long session emit freely."""
    import sys

    from PySide6.QtCore import QObject, Signal

    class Ticker(QObject):
        tick = Signal(int)

    t = Ticker()
    seen = []
    t.tick.connect(seen.append)
    before = sys.getrefcount(True)
    for i in range(20000):  # far more than True's references in a fresh interpreter
        t.tick.emit(i)
    assert len(seen) == 20000
    assert sys.getrefcount(True) >= before - 10


def test_no_display_gives_one_line_instead_of_a_qt_abort(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    r = subprocess.run([sys.executable, "-c", "import sys; from ethoscout.gui.launch import main; sys.exit(main([]))"],
                       capture_output=True, text=True, timeout=120, env=env)
    if not sys.platform.startswith("linux"):
        pytest.skip("the display check is for Linux")
    assert r.returncode == 1
    assert r.stderr.count("\n") == 1 and "no display" in r.stderr


def test_settings_fields_use_the_command_line_ranges(qtbot):
    """The dialog's window fields take exactly the CLI's --span/--stride/--frames ranges, and a
    bad value (a device the CLI refuses, prefs edited by hand) is refused with one line naming
    the field and the allowed range, and the dialog stays open with the prefs unchanged."""
    from ethoscout.core import options
    from ethoscout.gui.settings_dialog import SettingsDialog

    prefs = Prefs()
    dlg = SettingsDialog(prefs)
    qtbot.addWidget(dlg)
    for box, rng in ((dlg.span, options.SPAN), (dlg.stride, options.STRIDE), (dlg.frames, options.FRAMES)):
        assert (box.minimum(), box.maximum()) == (rng.lo, rng.hi)
    dlg.stride.setValue(1e9)  # clamped by the field, never beyond the CLI's limit
    assert dlg.stride.value() == options.STRIDE.hi
    dlg.device.setCurrentText("gpu9")
    dlg._accept()
    assert dlg.result() == 0 and dlg.problems.text().startswith("device: must be auto, cpu")
    assert prefs.device == "auto"
    assert Prefs(span_s=601).check() == ["window span: must be a number from 0.1 s to 600 s (got '601')"]
    from ethoscout.gui.training import TrainingMonitor
    panel = TrainingMonitor()
    qtbot.addWidget(panel)
    assert (panel.epochs.minimum(), panel.epochs.maximum()) == (options.EPOCHS.lo, options.EPOCHS.hi)
    assert Prefs(frames=65).check() == ["frames per window: must be a whole number from 0 to 64 (got '65')"]
