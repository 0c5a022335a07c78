"""The window opens a project, adds and indexes videos, and shows a behaviour's curve."""
from __future__ import annotations

import numpy as np

from ethoscout.gui import commands as C

from tests.conftest import shared_video

from .conftest import landed, wait_curves, wait_indexed


def test_gui_index_and_curve(qtbot, window, project_dir, video_factory):
    w = window
    w.run(C.NewProject(str(project_dir)))
    assert w.session.project is not None
    clip = video_factory("moving.mp4", frames=60, fps=15.0)
    w.run(C.AddVideos([str(clip)]))
    qtbot.waitUntil(lambda: len(w.session.videos) == 1, timeout=20000)
    wait_indexed(qtbot, w)
    vid = w.session.videos[0]["id"]
    assert w.session.video_status[vid].state == "indexed"
    assert w.videos_panel.state_text(vid) == "indexed"
    b = landed(qtbot, w, w.run(C.AddBehavior("a bright square moving right")))
    wait_curves(qtbot, w, b["id"])
    x, y = w.timeline.curve_data(b["id"])
    curve = w.session.curves[vid][b["id"]]
    assert len(x) == len(curve.scores) > 1
    np.testing.assert_allclose(y, curve.scores)


def test_gui_real_and_synthetic_videos(qtbot, window, project_dir, video_factory):
    """A real recording (H.264 AVI) and a synthetic clip: indexed, curves for both, exact frames."""
    from ethoscout.core.video.reader import FrameReader

    real = shared_video("mouse_reach_grasp_dlc_8s.avi")
    synthetic = video_factory("synthetic.mp4", frames=45)
    w = window
    w.run(C.NewProject(str(project_dir)))
    w.run(C.AddVideos([str(real), str(synthetic)]))
    qtbot.waitUntil(lambda: len(w.session.videos) == 2, timeout=20000)
    wait_indexed(qtbot, w, timeout=90000)
    assert all(st.state == "indexed" for st in w.session.video_status.values())
    b = landed(qtbot, w, w.run(C.AddBehavior("a mouse reaching for a pellet", prompts=["a mouse reaching for a pellet",
                                                                      "a paw grasping food"])))
    real_id = next(v["id"] for v in w.session.videos if v["name"] == real.name)
    syn_id = next(v["id"] for v in w.session.videos if v["name"] == "synthetic.mp4")
    wait_curves(qtbot, w, b["id"], video_id=real_id)
    wait_curves(qtbot, w, b["id"], video_id=syn_id)
    w.session.select_video(real_id)
    x, y = w.timeline.curve_data(b["id"])
    curve = w.session.curves[real_id][b["id"]]
    np.testing.assert_allclose(y, curve.scores)
    assert x[-1] < w.session.video(real_id)["duration_s"] and w.timeline.duration > 8.0
    # suggestions span both videos' windows
    assert {s.video_id for s in w.session.suggestions} <= {real_id, syn_id} and w.session.suggestions
    # frame stepping in the real file lands on the exact frame
    w.player.seek_frame(100)
    w.player.step(1)
    qtbot.waitUntil(lambda: w.video_view.index == 101, timeout=5000)
    with FrameReader(str(real)) as ref:
        expected = ref.read(101)
    img = w.video_view.image.convertToFormat(w.video_view.image.Format.Format_RGB888)
    h, width = img.height(), img.width()
    got = np.frombuffer(img.constBits(), np.uint8, count=img.bytesPerLine() * h).reshape(h, -1)[:, :width * 3]
    np.testing.assert_array_equal(got.reshape(h, width, 3), expected)


def test_window_fits_a_laptop_screen(qtbot, open_window):
    """With a project open and every dock (results and training tabbed beside the labels), the
    window can be made as narrow as a 1366 x 768 laptop screen: a panel's wide row of controls
    scrolls instead of widening the window."""
    hint = open_window.minimumSizeHint()
    assert hint.width() <= 1366 and hint.height() <= 700, hint
    long_path = "/data/" + "field-season-2026/" * 12 + "nest-camera-04.mp4"
    open_window.status.show_message("error", f"{long_path}: the file ends before its last frame")
    assert open_window.minimumSizeHint().width() == hint.width()  # cut at the edge, whole in the tooltip
    assert long_path in open_window.status.message.toolTip()
    # with no work running the message has the status bar to itself, not half of it
    qtbot.waitUntil(lambda: open_window.status.message.width() > 0.7 * open_window.status.width())
    open_window.resize(1366, 740)
    qtbot.waitUntil(lambda: open_window.width() <= 1366)
    results = open_window.docks["Results"]
    assert results.widget().widget() is open_window.analysis.results  # inside its scroll area
