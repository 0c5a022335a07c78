"""The player, the timeline (range and rows), the overview ruler, the Suggestions panel and the
clip being answered always show the same thing, along every path that used to tear them apart:
add a behaviour, reopen, click another video, answer, jump by suggestion, zoom and drag a bout.
Answers and bouts are stored with exactly the video and times on screen."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt

from ethoscout.gui import commands as C

from .conftest import db_rows, landed, wait_curves, wait_indexed, wait_saved
from .test_gui_behaviors import drag


def labels_in_db(folder):
    return db_rows(folder, "SELECT video_id, behavior_id, start_s, end_s, verdict FROM labels ORDER BY id")


def close(a, b, tol=1e-6):
    return a is not None and b is not None and all(abs(x - y) <= tol for x, y in zip(a, b))


def assert_in_sync(w):
    """Every view renders the session's single values."""
    s = w.session
    vid = s.view.video_id
    v = s.video(vid)
    d = float(v["duration_s"])
    # the player holds the current video
    assert w.playback.loaded == vid
    assert w.player.info is not None and str(w.player.info.path) == v["path"]
    # the timeline: the video's duration, the visible range on every row, the overview's scale
    assert w.timeline.duration == pytest.approx(d)
    vis = s.view.visible
    assert vis is not None and 0.0 <= vis[0] < vis[1] <= d + 1e-9
    assert close(w.timeline.visible_range(), vis, 1e-6)
    for bid, row in w.timeline.rows.items():
        assert close(row.view.viewRange()[0], vis, 1e-6), (bid, row.view.viewRange()[0], vis)
    assert close(w.timeline.overview_range(), (0.0, d), 1e-6)
    assert close(w.timeline.heat_range.getRegion(), vis, 1e-6)
    # rows draw this video's curves and bouts
    for bid, row in w.timeline.rows.items():
        if bid < 0:
            continue
        curve = s.curves.get(vid, {}).get(bid)
        y = w.timeline.curve_data(bid)[1]
        if curve is None:
            assert len(y) == 0
        else:
            np.testing.assert_allclose(y, curve.scores)
    shown = {b.label_id for row in w.timeline.rows.values() for b in row.bouts}
    assert shown == {lab["id"] for lab in s.labels(vid)}
    # the video list marks it
    cur = w.videos_panel.tree.currentItem()
    assert cur is not None and cur.data(0, Qt.ItemDataRole.UserRole) == vid
    # the clip under review: on this video, looping in the player, outlined, named in the panel
    clip = s.view.clip
    if clip is None:
        assert w.player.loop is None
        assert w.timeline._suggestion is None
        assert "Reviewing" not in w.suggestions_panel.current.text()
    else:
        assert clip.video_id == vid
        assert w.player.loop == (clip.start_s, clip.end_s)
        assert clip.start_s - 1e-6 <= w.player.time_s + 1.0 / v["fps"] and w.player.time_s <= clip.end_s
        assert w.timeline._suggestion == clip
        assert vis[0] <= clip.start_s and clip.end_s <= vis[1] + 1e-9
        text = w.suggestions_panel.current.text()
        assert text.startswith("Reviewing " + v["name"])
        assert clip.behavior_id == s.view.behavior_id


def click_video(qtbot, w, vid):
    tree = w.videos_panel.tree
    item = next(tree.topLevelItem(i) for i in range(tree.topLevelItemCount())
                if tree.topLevelItem(i).data(0, Qt.ItemDataRole.UserRole) == vid)
    qtbot.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=tree.visualItemRect(item).center())


def key(qtbot, w, k):
    w.activateWindow()
    qtbot.keyClick(w, k)
    wait_saved(qtbot, w)  # an answer is queued for the database; the views follow when it lands


def test_views_agree_along_every_desync_path(qtbot, window, pair_project):
    w = window
    s = w.session
    w.run(C.OpenProject(str(pair_project)))
    wait_indexed(qtbot, w)
    short, long_ = (v["id"] for v in s.videos)
    assert s.view.video_id == short
    assert_in_sync(w)

    # add a behaviour, review its first clip
    b = landed(qtbot, w, w.run(C.AddBehavior("a bright square")))
    wait_curves(qtbot, w, b["id"], video_id=short)
    wait_curves(qtbot, w, b["id"], video_id=long_)
    qtbot.waitUntil(lambda: bool(s.suggestions), timeout=10000)
    assert_in_sync(w)
    key(qtbot, w, Qt.Key.Key_N)
    assert s.view.clip is not None and labels_in_db(pair_project) == []
    assert_in_sync(w)

    # adding another behaviour while a clip plays: the panel and the player still agree
    b2 = landed(qtbot, w, w.run(C.AddBehavior("an animal sitting still")))
    assert_in_sync(w)
    wait_curves(qtbot, w, b2["id"], video_id=long_)
    assert_in_sync(w)
    w.behaviors_panel.list.setCurrentRow(0)
    assert s.view.behavior_id == b["id"]
    assert_in_sync(w)

    # click the other video: the review of the old clip ends; A first shows a clip of this video
    key(qtbot, w, Qt.Key.Key_N)
    assert s.view.clip is not None
    other = long_ if s.view.video_id == short else short
    click_video(qtbot, w, other)
    assert s.view.video_id == other and s.view.clip is None
    assert_in_sync(w)
    key(qtbot, w, Qt.Key.Key_A)
    assert labels_in_db(pair_project) == []  # nothing stored for a clip nobody saw
    shown = s.view.clip
    assert shown is not None and shown.video_id == other
    assert_in_sync(w)
    key(qtbot, w, Qt.Key.Key_A)
    assert labels_in_db(pair_project) == [(other, b["id"], shown.start_s, shown.end_s, "accept")]
    assert_in_sync(w)

    # jump by suggestion: pick a clip of the other video in the list
    here = s.view.video_id
    idx = next(i for i, sug in enumerate(s.suggestions) if sug.video_id != here)
    target = s.suggestions[idx]
    lst = w.suggestions_panel.list
    qtbot.mouseClick(lst.viewport(), Qt.MouseButton.LeftButton, pos=lst.visualItemRect(lst.item(idx)).center())
    assert s.view.clip == target and s.view.video_id == target.video_id
    assert_in_sync(w)
    assert close(w.timeline.overview_range(), (0.0, s.duration(target.video_id)))

    # answer on until the review jumps to the other video (the ranking mixes them), checking
    # after every answer that what was stored is what was on screen
    seen_videos = {s.view.video_id}
    for i in range(40):
        shown = s.view.clip
        if shown is None:
            break
        verdict = ("accept", "reject")[i % 2]
        key(qtbot, w, Qt.Key.Key_A if verdict == "accept" else Qt.Key.Key_R)
        assert labels_in_db(pair_project)[-1] == (shown.video_id, shown.behavior_id, shown.start_s,
                                                  shown.end_s, verdict)
        assert_in_sync(w)
        if s.view.clip is not None:
            seen_videos.add(s.view.clip.video_id)
        if len(seen_videos) == 2:
            break
    assert seen_videos == {short, long_}

    # reopen: the same video on screen, nothing under review until asked
    n = len(labels_in_db(pair_project))
    w.close_project()
    w.run(C.OpenProject(str(pair_project)))
    wait_indexed(qtbot, w)
    assert s.view.clip is None
    assert_in_sync(w)
    qtbot.waitUntil(lambda: bool(s.suggestions), timeout=20000)
    key(qtbot, w, Qt.Key.Key_R)
    assert len(labels_in_db(pair_project)) == n
    assert_in_sync(w)
    shown = s.view.clip
    key(qtbot, w, Qt.Key.Key_R)
    assert labels_in_db(pair_project)[-1] == (shown.video_id, shown.behavior_id, shown.start_s, shown.end_s,
                                              "reject")
    assert_in_sync(w)


def test_zoom_and_drag_a_bout_under_an_axis_label(qtbot, window, pair_project):
    """A bout dragged under the axis' 0:05–0:06 is stored as 5–6 s of the video on screen,
    snapped to frames, whatever video was shown before."""
    w = window
    s = w.session
    w.run(C.OpenProject(str(pair_project)))
    wait_indexed(qtbot, w)
    short, long_ = (v["id"] for v in s.videos)
    b = landed(qtbot, w, w.run(C.AddBehavior("a bright square")))
    wait_curves(qtbot, w, b["id"], video_id=long_)
    qtbot.waitUntil(lambda: bool(s.suggestions), timeout=10000)
    # review a clip on the short video, then move to the long one and zoom in
    s.review(next(x for x in s.suggestions if x.video_id == short))
    assert_in_sync(w)
    click_video(qtbot, w, long_)
    assert_in_sync(w)
    assert close(w.timeline.visible_range(), (0.0, 12.0), 1e-3)
    s.set_visible(4.0, 8.0)
    assert_in_sync(w)
    row = w.timeline.rows[b["id"]]
    axis = row.plot.getAxis("bottom")
    assert close(tuple(axis.range), (4.0, 8.0), 1e-6)  # the labels under the rows say 0:04 … 0:08
    vb = row.view
    view = w.timeline.glw.viewport()

    def at(t):
        return w.timeline.glw.mapFromScene(vb.mapViewToScene(QPointF(t, float(np.mean(vb.viewRange()[1])))))

    drag(view, at(5.0), at(6.0))
    wait_saved(qtbot, w)
    (lab,) = s.labels(long_)
    info = s.project.video_timing(long_)
    assert lab["video_id"] == long_ and lab["behavior_id"] == b["id"]
    for t, want in ((lab["start_s"], 5.0), (lab["end_s"], 6.0)):
        assert abs(t - want) <= 1.0 / 15 + 0.02
        assert t == info.time_of(info.frame_at(t))  # on a frame boundary, not 10.4365641…
    assert_in_sync(w)
    # Ctrl+0: the whole video on the axis and on every row
    w.actions_["zoom_fit"].trigger()
    assert close(s.view.visible, (0.0, 12.0), 1e-6)
    assert_in_sync(w)
    # a wheel zoom on the rows goes through the view state too
    vb.scaleBy(x=0.5)
    assert close(s.view.visible, w.timeline.visible_range(), 1e-6) and s.view.visible[1] - s.view.visible[0] < 7
    assert_in_sync(w)
    # the bout's edge dragged on the timeline moves the stored bout, snapped to a frame
    item = next(x for x in row.bouts if x.label_id == lab["id"])
    item.setRegion((lab["start_s"] - 0.52, lab["end_s"]))
    item.sigRegionChangeFinished.emit(item)
    wait_saved(qtbot, w)
    moved = s.project.label(lab["id"])
    assert moved["start_s"] == info.time_of(info.frame_at(lab["start_s"] - 0.52)) and moved["end_s"] == lab["end_s"]
    assert_in_sync(w)
