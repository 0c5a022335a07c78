"""Model → Choose model…: hub download with size, progress and cancel (the real huggingface_hub
client against a local stand-in hub), a folder on this computer, the demo model; offline mode;
no error box before a model was chosen."""
from __future__ import annotations

import pytest

from tests.install.hub_server import FakeHub

REPO = "test/xclip-tiny"


def dialog(qtbot, **kw):
    from ethoscout.gui.model_setup import ModelSetupDialog

    dlg = ModelSetupDialog(**kw)
    qtbot.addWidget(dlg)
    dlg.show()
    return dlg


def test_offline_mode_is_one_line_and_nothing_downloads(qtbot):
    from ethoscout.gui.model_setup import HUB

    dlg = dialog(qtbot, current="")
    assert dlg.choice() == HUB and dlg.hub_id.currentText() == "microsoft/xclip-base-patch32"
    assert dlg.offline.isVisible() and "HF_HUB_OFFLINE" in dlg.offline.text()
    dlg.use_button.click()
    assert dlg.result() == 0 and dlg.isVisible()
    assert "hf download microsoft/xclip-base-patch32" in dlg.status.text()
    assert not dlg.bar.isVisible()


def test_folder_is_checked_and_used(qtbot, tiny_model_dir, tmp_path):
    from ethoscout.gui.model_setup import FOLDER

    dlg = dialog(qtbot, current="")
    dlg.folder.setText(str(tmp_path))
    assert dlg.choice() == FOLDER
    dlg.use_button.click()
    assert "no config.json" in dlg.status.text() and dlg.isVisible()
    dlg.folder.setText(str(tiny_model_dir))
    dlg.use_button.click()
    assert dlg.result() == 1 and dlg.chosen() == str(tiny_model_dir)


def test_demo_model_is_built_and_labelled(qtbot, tmp_path, monkeypatch):
    from ethoscout.core.model.loading import folder_problem
    from ethoscout.core.model.random_init import DEMO_FOLDER

    monkeypatch.setenv("ETHOSCOUT_CACHE", str(tmp_path / "cache"))
    dlg = dialog(qtbot, current="", demo_size="tiny")
    assert "random weights, meaningless scores" in dlg.demo_radio.text()
    dlg.demo_radio.setChecked(True)
    dlg.use_button.click()
    assert not dlg.use_button.isEnabled()  # building: busy, not frozen
    qtbot.waitUntil(lambda: dlg.result() == 1, timeout=60000)
    folder = dlg.chosen()
    assert folder.endswith(DEMO_FOLDER) and folder_problem(folder) is None
    assert "random" in (tmp_path / "cache" / DEMO_FOLDER / "README.txt").read_text()


def test_hub_size_then_download_with_progress(qtbot, online, tiny_model_dir):
    from ethoscout.core.progress import format_bytes

    total = sum(p.stat().st_size for p in tiny_model_dir.iterdir() if p.is_file())
    with FakeHub(REPO, tiny_model_dir, chunk=64 * 1024, delay_s=0.001) as server:
        dlg = dialog(qtbot, current="", endpoint=server.endpoint)
        assert not dlg.offline.isVisible()
        dlg.hub_id.setCurrentText(REPO)
        qtbot.waitUntil(lambda: "to download" in dlg.hub_info.text(), timeout=20000)
        assert f"{format_bytes(total)} to download" in dlg.hub_info.text()
        formats = []
        dlg.bar.valueChanged.connect(lambda v: formats.append(dlg.bar.format()))
        dlg.use_button.click()
        assert dlg.cancel_button.isVisible()
        qtbot.waitUntil(lambda: dlg.result() == 1, timeout=60000)
    assert dlg.chosen() == REPO
    assert any(" of " in f and f.endswith(format_bytes(total)) or "/s" in f for f in formats)
    from ethoscout.core.model.hub import cached_folder

    assert cached_folder(REPO) is not None


def test_cancelled_download_says_so(qtbot, online, tiny_model_dir):
    with FakeHub(REPO, tiny_model_dir, chunk=8 * 1024, delay_s=0.01) as server:
        dlg = dialog(qtbot, current=REPO, endpoint=server.endpoint)
        dlg.use_button.click()
        qtbot.waitUntil(lambda: server.bytes_sent > 0, timeout=20000)
        dlg.cancel_button.click()
        qtbot.waitUntil(lambda: dlg.use_button.isEnabled(), timeout=30000)
    assert "download cancelled" in dlg.status.text() and dlg.result() == 0 and dlg.chosen() is None


def test_no_error_box_before_a_model_was_chosen(qtbot, make_window, dialogs, project_dir, video_factory):
    """The default model, never chosen, not on this machine: the status offers the setup."""
    from ethoscout.gui import commands as C
    from ethoscout.gui.model_setup import NO_MODEL_YET
    from ethoscout.gui.prefs import Prefs

    w = make_window(Prefs(device="cpu", span_s=1.0, stride_s=0.5))
    assert not w.session.prefs.model_chosen
    w.run(C.NewProject(str(project_dir)))
    w.run(C.AddVideos([str(video_factory("clip.avi", frames=30))]))
    qtbot.waitUntil(lambda: bool(w.session.model_error), timeout=30000)
    qtbot.wait(200)
    assert dialogs.model_errors == []
    assert w.status.text_shown == NO_MODEL_YET


def test_choosing_a_model_in_the_window_applies_it(qtbot, make_window, tiny_model_dir, tmp_path):
    from ethoscout.gui.model_setup import open_model_setup
    from ethoscout.gui.prefs import Prefs

    w = make_window(Prefs(device="cpu", span_s=1.0, stride_s=0.5))
    assert any(a.text() == "C&hoose model…" for a in w.actions_.values())
    dlg = open_model_setup(w)
    dlg.folder.setText(str(tiny_model_dir))
    dlg.use_button.click()
    qtbot.waitUntil(lambda: w.session.prefs.model == str(tiny_model_dir), timeout=30000)
    assert w.session.prefs.model_confirmed and w.session.prefs.model_chosen


def test_system_check_lists_every_check(qtbot, make_window):
    w = make_window()
    w.actions_["system_check"].trigger()
    dlg = w._system_check
    qtbot.waitUntil(lambda: dlg.findings is not None, timeout=120000)
    names = [f.name for f in dlg.findings]
    assert names[:2] == ["python", "torch"] and "Qt" in names
    assert dlg.text.toPlainText().count("\n") == len(names) - 1


def test_warmup_shows_in_the_status_bar(qtbot, make_window, project_dir, video_factory, tmp_path, monkeypatch):
    """Loading the model and the first ONNX export say what is happening while they run."""
    from ethoscout.gui import commands as C

    monkeypatch.setenv("ETHOSCOUT_CACHE", str(tmp_path / "cache"))  # the export runs for real
    w = make_window()
    shown = []
    original = w.status.work.setText
    monkeypatch.setattr(w.status.work, "setText", lambda text: (shown.append(text), original(text)))
    w.run(C.NewProject(str(project_dir)))
    w.run(C.AddVideos([str(video_factory("clip.avi", frames=30))]))
    qtbot.waitUntil(lambda: len(w.session.videos) == 1, timeout=20000)
    vid = w.session.videos[0]["id"]
    qtbot.waitUntil(lambda: w.session.video_status[vid].state == "indexed", timeout=120000)
    warm = [t for t in shown if t.startswith("warming up")]
    assert any("loading" in t and "weights" in t for t in warm), shown
    assert any("exporting the vision tower to ONNX" in t for t in warm)


def test_a_first_start_with_a_project_uses_its_model_without_asking(qtbot, make_window, indexed_project,
                                                                     tiny_model_dir):
    """`ethoscout FOLDER` on a first start: the project opens in the background, and its own model
    counts as chosen, so the setup is not offered over it."""
    from ethoscout.core.data.project import Project
    from ethoscout.gui.model_setup import first_run_model_setup
    from ethoscout.gui.prefs import Prefs

    p = Project.open(indexed_project)
    p.set_setting("model", str(tiny_model_dir))
    p.close()
    w = make_window(Prefs(device="cpu", span_s=1.0, stride_s=0.5))
    assert not w.session.prefs.model_chosen
    w.open_project(str(indexed_project))
    assert first_run_model_setup(w) is None  # not while the project opens
    qtbot.waitUntil(lambda: w.session.project is not None, timeout=30000)
    qtbot.wait(300)
    assert getattr(w, "_model_setup", None) is None and w.session.prefs.model == str(tiny_model_dir)
    assert f"opened {indexed_project.name}" in w.status.message.text()
