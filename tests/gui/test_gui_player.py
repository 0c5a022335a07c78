"""Playback: frame steps land on the exact frame (by presentation timestamp), jumps, speed,
seeking from the timeline, and decoding that never blocks the window."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt

from ethoscout.core.video.reader import FrameReader
from ethoscout.gui import commands as C
from ethoscout.gui.frames import DisplayReader

from .conftest import wait_indexed


def qimage_array(img) -> np.ndarray:
    img = img.convertToFormat(img.Format.Format_RGB888)
    h, w = img.height(), img.width()
    buf = np.frombuffer(img.constBits(), np.uint8, count=img.bytesPerLine() * h).reshape(h, img.bytesPerLine())
    return buf[:, : w * 3].reshape(h, w, 3).copy()


def shown(qtbot, w, index):
    qtbot.waitUntil(lambda: w.video_view.index == index, timeout=5000)
    return qimage_array(w.video_view.image)


def test_gui_frame_steps_are_exact(qtbot, window, project_dir, video_factory):
    w = window
    clip = video_factory("steps.avi", frames=40, fps=12.5)
    w.run(C.NewProject(str(project_dir)))
    w.run(C.AddVideos([str(clip)], index=False))
    qtbot.waitUntil(lambda: w.player.info is not None, timeout=10000)
    reference = FrameReader(str(clip))
    w.activateWindow()
    for _ in range(5):
        qtbot.keyClick(w, Qt.Key.Key_Right)
    assert w.player.index == 5
    np.testing.assert_array_equal(shown(qtbot, w, 5), reference.read(5))
    qtbot.keyClick(w, Qt.Key.Key_Left)
    qtbot.keyClick(w, Qt.Key.Key_Left)
    assert w.player.index == 3
    np.testing.assert_array_equal(shown(qtbot, w, 3), reference.read(3))
    # the readout names the frame and its presentation time
    text = w.transport.position.text()
    assert "frame 3 / 39" in text and "00:00.240" in text
    # Shift+→ jumps 1 s: the frame on screen at 0.24 + 1.0 s
    qtbot.keyClick(w, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    assert w.player.index == reference.info.frame_at(1.24)
    qtbot.keyClick(w, Qt.Key.Key_Left, Qt.KeyboardModifier.ControlModifier)  # −10 s clamps at 0
    assert w.player.index == 0
    qtbot.keyClick(w, Qt.Key.Key_Right, Qt.KeyboardModifier.ControlModifier)  # +10 s clamps at the end
    assert w.player.index == 39
    np.testing.assert_array_equal(shown(qtbot, w, 39), reference.read(39))
    reference.close()


def test_gui_playback_speed_and_timeline_seek(qtbot, open_window):
    w = open_window
    p = w.player
    info = p.info
    assert info is not None and info.frame_count == 90
    # seek by clicking on the overview: the time maps to the frame on screen then
    w.timeline.seekRequested.emit(2.5)
    assert p.index == info.frame_at(2.5)
    for _ in range(10):
        p.faster()
    assert p.speed == 8.0 and w.transport.speed.currentText() == "8×"
    for _ in range(20):
        p.slower()
    assert p.speed == 0.1
    p.set_speed(4.0)
    p.seek_frame(0)
    w.activateWindow()
    qtbot.keyClick(w, Qt.Key.Key_Space)
    assert p.playing
    qtbot.waitUntil(lambda: p.index > 30, timeout=5000)  # 4× over a 15 fps clip
    qtbot.keyClick(w, Qt.Key.Key_Space)
    assert not p.playing
    # the playhead follows
    assert abs(w.timeline.rows and 0 or w.timeline.heat_playhead.value() - p.time_s) < 1e-9


def test_gui_decoding_latest_request_wins(qtbot, open_window):
    """Scrubbing fires many requests; the decoder serves the newest and skips the rest."""
    w = open_window
    served_before = w.server.served
    for i in range(0, 90, 3):
        w.player.seek_frame(i)
    w.player.seek_frame(77)
    qtbot.waitUntil(lambda: w.video_view.index == 77, timeout=5000)
    assert w.server.served - served_before < 31  # stale requests were dropped


def write_long_gop(path, frames=60, size=(96, 64), gop=250):
    """H.264 with one keyframe for the whole clip: stepping back means decoding from frame 0."""
    import av

    with av.open(str(path), "w") as out:
        st = out.add_stream("libx264", rate=15, options={
            "x264-params": f"keyint={gop}:min-keyint={gop}:scenecut=0:bframes=2"})
        st.width, st.height, st.pix_fmt = size[0], size[1], "yuv420p"
        st.codec_context.gop_size = gop
        for i in range(frames):
            img = np.full((size[1], size[0], 3), 40, np.uint8)
            img[:, (i * 2) % size[0]] = 255
            img[-4:, :] = (i * 4) % 256
            for pkt in st.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(pkt)
        for pkt in st.encode():
            out.mux(pkt)
    return path


def test_display_reader_back_steps_hit_the_cache(tmp_path):
    clip = write_long_gop(tmp_path / "gop.mp4")
    r = DisplayReader(str(clip))
    ref = FrameReader(str(clip))
    r.read(50)  # a jump: decodes from the keyframe and keeps the frames it passed
    misses = r.misses
    for i in range(49, 30, -1):
        np.testing.assert_array_equal(r.read(i, keep_run=True), ref.read(i))
    assert r.misses == misses  # even the first step back after the jump is a cache hit
    r.clear_cache()
    r.read(59, keep_run=False)
    assert not r.cached(10)
    assert r.prefetch_back(59, window=60)  # idle time fills in the frames before
    hits = r.hits
    np.testing.assert_array_equal(r.read(10, keep_run=True), ref.read(10))
    assert r.hits == hits + 1
    r.close()
    ref.close()


def test_a_jump_skips_unkept_non_reference_frames_and_stays_exact(tmp_path):
    """Frames before the kept run that no other frame refers to (B-frames here) are never
    reconstructed; the frames shown and kept are those of a decode of every frame."""
    clip = write_long_gop(tmp_path / "long.mp4", frames=200)
    with DisplayReader(str(clip)) as r, FrameReader(str(clip)) as every:
        img = r.read(190)  # keeps 70..189 as decoded; 0..69 only as far as references need
        np.testing.assert_array_equal(img, every.read(190))
        assert r.decoded < every.decoded == 191
        for i in (189, 150, 100, 71, 70):
            assert r.cached(i)
            np.testing.assert_array_equal(r.read(i), every.read(i))
        assert not r.cached(69)


def test_gui_indexing_progress_shows_in_list_and_status(qtbot, window, project_dir, video_factory):
    w = window
    clip = video_factory("long.mp4", frames=300, fps=15.0)
    w.run(C.NewProject(str(project_dir)))
    w.run(C.AddVideos([str(clip)]))
    states = set()

    def seen():
        if w.session.videos:
            vid = w.session.videos[0]["id"]
            states.add(w.videos_panel.state_text(vid))
            if w.status.work.text():
                states.add("status:" + w.status.work.text())
        return w.session.videos and w.session.video_status[w.session.videos[0]["id"]].state == "indexed"

    qtbot.waitUntil(lambda: bool(seen()), timeout=60000)  # polls the views while indexing runs
    wait_indexed(qtbot, w)
    assert any(s.startswith("indexing ") and s.endswith("%") for s in states), states
    assert any(s.startswith("status:indexing long.mp4") and "/s" in s for s in states), states
    assert w.videos_panel.state_text(w.session.videos[0]["id"]) == "indexed"


def test_display_reader_keeps_runs_within_its_memory_budget(tmp_path):
    clip = write_long_gop(tmp_path / "gop.mp4")
    ref = FrameReader(str(clip))
    one = DisplayReader(str(clip)).read(0).nbytes
    r = DisplayReader(str(clip), cache_bytes=12 * one)
    r.read(59)  # passes 59 frames, keeps the ones nearest the playhead that fit
    assert r.cache.bytes <= 12 * one and r.cached(58) and not r.cached(10)
    assert r.convert_back(59, count=3) == 3 and r.convert_back(59, count=3) == 0  # scaled now
    assert all(r.cache.converted(i) for i in (58, 57, 56))
    r.read(40)  # a jump back: the frames around the new playhead push out the far ones
    assert r.cache.bytes <= 12 * one and r.cached(39) and not r.cached(58)
    for i in (39, 38):
        np.testing.assert_array_equal(r.read(i), ref.read(i))
    r.close()
    ref.close()


def wide_long_gop(path):
    """Wider than the display size (scaled on the way), two GOPs: keyframes at 0 and 30."""
    return write_long_gop(path, frames=60, size=(1408, 96), gop=30)


def test_step_back_right_after_a_jump_is_served_from_the_cache(qtbot, tmp_path):
    """Through the real frame server: the second decoder readies the frames before the one
    shown at once (display size; the previous GOP when near its start), so steps back after a
    jump decode nothing, and each frame shown is exactly that frame index."""
    from ethoscout.gui.frame_server import FrameServer

    clip = wide_long_gop(tmp_path / "wide.mp4")
    exact = {}
    with DisplayReader(str(clip)) as fresh:
        assert fresh.size == (1280, 88)
        for i in range(60):
            with DisplayReader(str(clip)) as one:  # a fresh exact decode of each frame index
                exact[i] = one.read(i, keep_run=False)
    server = FrameServer()
    got = {}
    server.frameReady.connect(lambda i, img, ms: got.__setitem__(i, qimage_array(img)))
    server.open(str(clip))

    def show(i, back=False):
        got.pop(i, None)
        server.request(i, back)
        qtbot.waitUntil(lambda: i in got, timeout=10000)
        np.testing.assert_array_equal(got[i], exact[i])

    try:
        show(50)  # a jump into the second GOP
        cache = server._reader.cache
        qtbot.waitUntil(lambda: all(cache.converted(i) for i in range(42, 50)), timeout=10000)
        misses = server._reader.misses
        for i in range(49, 40, -1):
            show(i, back=True)
        assert server._reader.misses == misses
        show(33)  # a jump just after a keyframe: the GOP before is decoded in the background
        qtbot.waitUntil(lambda: all(i in cache for i in range(20, 33)), timeout=10000)
        misses = server._reader.misses
        for i in range(32, 20, -1):  # across the keyframe at 30 into the previous GOP
            show(i, back=True)
        assert server._reader.misses == misses
    finally:
        server.stop()


def test_frames_before_are_readied_once_moving_forward_pauses(qtbot, tmp_path):
    """Moving forward (playback, steps) leaves the frames behind alone until the user pauses;
    then they are scaled to display size, and stepping back only looks them up."""
    from ethoscout.gui.frame_server import FrameServer

    clip = wide_long_gop(tmp_path / "wide.mp4")
    server = FrameServer()
    got = {}
    server.frameReady.connect(lambda i, img, ms: got.__setitem__(i, qimage_array(img)))
    server.open(str(clip))
    try:
        for i in (20, 45):  # a jump, then a move forward: 21..44 decoded on the way, kept as decoded
            server.request(i)
            qtbot.waitUntil(lambda: i in got, timeout=10000)
        cache = server._reader.cache
        qtbot.waitUntil(lambda: all(cache.converted(i) for i in range(37, 45)), timeout=10000)
        misses = server._reader.misses
        with DisplayReader(str(clip)) as fresh:
            for i in range(44, 36, -1):
                got.pop(i, None)
                server.request(i, True)
                qtbot.waitUntil(lambda: i in got, timeout=10000)
                np.testing.assert_array_equal(got[i], fresh.read(i, keep_run=False))
        assert server._reader.misses == misses
    finally:
        server.stop()


def three_gops(path):
    """Wider than the display size (shrunk on the way), keyframes at 0, 30 and 60."""
    return write_long_gop(path, frames=90, size=(1408, 96), gop=30)


def exact_frames(clip, indices) -> dict:
    """Each frame index decoded on its own by a fresh reader: what the screen must show."""
    out = {}
    for i in indices:
        with DisplayReader(str(clip)) as one:
            out[i] = one.read(i, keep_run=False)
    return out


def test_fill_back_readies_the_gops_before_and_resumes_after_a_cancel(tmp_path):
    """The filler keeps a depth of frames before the playhead, run after run across keyframes,
    shrunk to display size; cancelled mid-run, it goes on where it stopped (no second seek)."""
    clip = three_gops(tmp_path / "gops.mp4")
    exact = exact_frames(clip, range(63))
    with DisplayReader(str(clip)) as r:
        filler = r.sibling()
        r.read(63)  # a jump just past the keyframe at 60: keeps 60..62 as decoded
        assert r.cache.held_before(63) == 3
        start = filler.decoded
        filler.fill_back(63, abort=lambda: filler.decoded - start >= 10, depth=50)  # a jump elsewhere
        assert 59 not in r.cache and 30 in r.cache  # the run of the GOP before was cut short
        filler.fill_back(63, depth=50)
        assert filler.decoded - start == 60  # 30..59 once (resumed), then 0..29
        assert r.cache.held_before(63) == 63
        assert all(r.cache.shrunk(i) for i in range(63))  # the jump's run shrunk too
        for i in range(62, -1, -1):
            np.testing.assert_array_equal(r.read(i), exact[i])
        assert r.misses == 1  # only the jump decoded
        filler.close()


def test_holding_back_across_keyframes_shows_exact_frames_within_budget(qtbot, tmp_path):
    """Holding the back key after a jump just past a keyframe, through the real frame server:
    every frame shown, across two keyframes, is exactly that frame index's own decode, and the
    frames kept stay within a budget smaller than the depth the filler aims for."""
    from ethoscout.gui.frame_server import FrameServer
    from ethoscout.gui.frames import BACK_DEPTH

    clip = three_gops(tmp_path / "gops.mp4")
    exact = exact_frames(clip, range(64))
    budget = 40 * exact[0].nbytes  # 40 frames in RGB, ~80 shrunk
    server = FrameServer(cache_bytes=budget)
    got = {}
    server.frameReady.connect(lambda i, img, ms: got.__setitem__(i, qimage_array(img)))
    server.open(str(clip))
    try:
        for jump in (63, 35):  # the second jump cancels the filler's work for the first
            got.pop(jump, None)
            server.request(jump)
            qtbot.waitUntil(lambda: jump in got, timeout=10000)
            cache = server._reader.cache
            assert server._reader.back_depth() < BACK_DEPTH
            for i in range(jump - 1, -1, -1):  # one step as soon as the last one is shown
                server.request(i, True)
                qtbot.waitUntil(lambda: i in got, timeout=10000)
                np.testing.assert_array_equal(got.pop(i), exact[i], err_msg=f"frame {i}")
                assert cache.bytes <= budget
    finally:
        server.stop()
