"""The timeline's activity row: the motion activity the index pass stored, for the video on
screen, with still bouts shaded; a store without motion shows a hint, not an error."""
from __future__ import annotations

import numpy as np
import pytest

from tests.gui.conftest import SPEC, wait_indexed


@pytest.fixture(scope="module")
def still_and_moving(tmp_path_factory, tiny_model):
    from ethoscout.core.data.project import Project
    from ethoscout.core.engine import index_videos
    from ethoscout.core.video.windows import WindowSpec

    from tests.conftest import write_video

    root = tmp_path_factory.mktemp("activity")
    videos = [write_video(root / f"{kind}.avi", frames=90, fps=15.0, fourcc="MJPG", pattern=kind)
              for kind in ("moving", "still")]
    folder = root / "project"
    with Project.create(folder) as p:
        for v in videos:
            p.add_video(v)
        p.set_setting("model", str(tiny_model.folder))
        p.set_setting("window_spec", SPEC)
    assert all(r.status == "indexed" for r in index_videos(folder, videos, model=tiny_model, spec=WindowSpec(**SPEC)))
    return folder


def _stores(folder, tiny_model):
    from ethoscout.core.engine import indexed_stores
    from ethoscout.core.video.windows import WindowSpec

    return {s.meta["video_name"]: s for s in indexed_stores(folder, tiny_model, WindowSpec(**SPEC))}


def _expected(store):
    from ethoscout.core.video.motion import MOTION_ARRAY, activity, still_bouts

    motion = store.array(MOTION_ARRAY)
    return ((store.starts + store.ends) / 2, activity(motion), still_bouts(store.starts, store.ends, motion))


def _wait_row(qtbot, window, store):
    x_want, y_want, bouts_want = _expected(store)

    def shows():
        x, y, bouts = window.timeline.activity_data()
        assert len(y) == len(y_want) and np.allclose(x, x_want) and np.allclose(y, y_want, atol=1e-4)
        assert np.allclose(np.reshape(bouts, (-1, 2)), np.reshape(bouts_want, (-1, 2)))
    qtbot.waitUntil(shows, timeout=30000)
    return bouts_want


def test_activity_row_shows_the_store_and_follows_the_video(window, still_and_moving, tiny_model, qtbot, tmp_path):
    import shutil

    from ethoscout.gui import commands as C

    folder = shutil.copytree(still_and_moving, tmp_path / "p")
    window.run(C.OpenProject(str(folder)))
    wait_indexed(qtbot, window)
    s = window.session
    stores = _stores(folder, tiny_model)
    names = {v["id"]: v["name"] for v in s.videos}
    first = s.view.video_id
    moving_bouts = _wait_row(qtbot, window, stores[names[first]])
    assert window.timeline.activity_hint() == ""

    other = next(v for v in names if v != first)
    s.show_video(other)
    still_bouts = _wait_row(qtbot, window, stores[names[other]])
    by_name = {names[first]: moving_bouts, names[other]: still_bouts}
    assert by_name["still.avi"] and not by_name["moving.avi"]  # the still square is one long bout
    assert s.scope.activity[other].has_motion

    s.show_video(first)
    _wait_row(qtbot, window, stores[names[first]])


def test_store_without_motion_shows_a_hint(window, indexed_project, tiny_model, qtbot, dialogs):
    from ethoscout.core.video.motion import MOTION_ARRAY
    from ethoscout.gui import commands as C
    from ethoscout.gui.app.activity import NO_MOTION_HINT

    for store in _stores(indexed_project, tiny_model).values():
        (store.folder / f"{MOTION_ARRAY}.npy").unlink()  # as indexed before motion existed
    window.run(C.OpenProject(str(indexed_project)))
    wait_indexed(qtbot, window)
    qtbot.waitUntil(lambda: window.timeline.activity_hint() == NO_MOTION_HINT, timeout=30000)
    x, y, bouts = window.timeline.activity_data()
    assert len(y) == 0 and bouts == []
    assert not dialogs.errors
