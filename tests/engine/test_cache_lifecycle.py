"""core/model/cache.py lifecycle: a video's current store only, found by its exact key; stale
stores ignored and pruned; float16 and float32 stores kept apart; learning uses the current store."""
from __future__ import annotations

import os
import shutil

import numpy as np
import pytest

from ethoscout.core import engine
from ethoscout.core.cli import main as cli
from ethoscout.core.data.project import Project
from ethoscout.core.learn.adapters import project_stores
from ethoscout.core.learn.examples import labelled_windows
from ethoscout.core.video.probe import probe_video


def all_store_folders(project):
    return sorted(p.parent for p in (project / "features").rglob("meta.json") if not p.parent.name.endswith(".partial"))


@pytest.fixture
def replaced(tiny_model, video_factory, tmp_path):
    """A project whose one video was replaced at the same path and indexed again; a copy of
    the old store is put back, as a stale store left by an older version or another run."""
    folder = tmp_path / "proj"
    path = video_factory("v.mp4", frames=60, pattern="moving")
    [old] = engine.index_videos(folder, [path], model=tiny_model, runtime="torch")
    kept = tmp_path / "old-store"
    shutil.copytree(old.store.folder, kept)
    video_factory("v.mp4", frames=75, pattern="flash")  # same path, new content and length
    [new] = engine.index_videos(folder, [path], model=tiny_model, runtime="torch")
    assert new.status == "indexed" and new.info.fingerprint != old.info.fingerprint
    assert not old.store.folder.exists()  # indexing the new file removed the old file's store
    shutil.copytree(kept, old.store.folder)
    return folder, path, old, new


def test_only_the_current_fingerprint_is_used(replaced, tiny_model):
    folder, path, old, new = replaced
    [store] = engine.indexed_stores(folder, tiny_model)
    assert store.meta["video_fingerprint"] == probe_video(path).fingerprint == new.info.fingerprint
    assert store.folder == new.store.folder and len(store) != len(old.store)
    [scores] = engine.score_queries(folder, ["a flash"], model=tiny_model)
    assert len(scores.starts) == len(new.store)
    assert engine.index_status(folder, tiny_model) == {new.info.fingerprint: 1.0}


def test_training_eval_and_suggest_see_the_current_store(replaced, tiny_model):
    folder, path, old, new = replaced
    with Project.open(folder) as project:
        behaviour = project.add_behavior("flash", ["the frame flashing"])
        project.add_label(project.videos()[0]["id"], behaviour["id"], 0.0, 4.0, "accept")
        stores = project_stores(project, tiny_model)  # what train, eval, suggest and similar list
        assert [s.folder for s in stores] == [new.store.folder]
        data = labelled_windows(project.labels(), project.behaviors(), stores)
        assert len(data) > 0
        np.testing.assert_array_equal(data.features("frame_cls")[0],
                                      np.asarray(new.store.frame_cls[data.window_index[0]], np.float32))


def test_prune_command_removes_stale_stores(replaced, tiny_model, capsys):
    folder, path, old, new = replaced
    assert old.store.folder in all_store_folders(folder)
    assert cli(["cache", "prune", "--project", str(folder)]) == 0
    assert "removed 1 stale feature store" in capsys.readouterr().out
    assert all_store_folders(folder) == [new.store.folder]
    assert len(engine.indexed_stores(folder, tiny_model)) == 1


def test_float16_and_float32_stores_are_kept_apart(tiny_model, video_factory, tmp_path):
    folder = tmp_path / "proj"
    path = video_factory("v.mp4", frames=45)
    [half] = engine.index_videos(folder, [path], model=tiny_model, runtime="torch")
    assert [s.folder for s in engine.indexed_stores(folder, tiny_model)] == [half.store.folder]
    [full] = engine.index_videos(folder, [path], model=tiny_model, runtime="torch", cache_dtype="float32")
    assert full.status == "indexed" and full.store.folder != half.store.folder
    # the project now asks for float32: exactly one store per video, never both
    assert [s.folder for s in engine.indexed_stores(folder, tiny_model)] == [full.store.folder]
    assert [s.folder for s in engine.indexed_stores(folder, tiny_model, dtype="float16")] == [half.store.folder]
    assert full.store.img_features.dtype == np.float32


def test_store_lookup_needs_the_whole_folder_name(tiny_model, video_factory, tmp_path):
    """Without a project database: a copy of a store under another name is not a store of the
    video, and of two stores indexed from one path only the newer counts."""
    folder = tmp_path / "bare"
    spec = engine.resolve_spec(None, tiny_model)
    path = video_factory("v.mp4", frames=45, pattern="moving")
    first = engine.index_video(folder, path, tiny_model, spec)
    shutil.copytree(first.store.folder, first.store.folder.with_name("backup of " + first.store.folder.name))
    shutil.copytree(first.store.folder, first.store.folder.with_name(first.store.folder.name + "_float32"))
    cache = engine.feature_cache(folder)
    assert [s.folder for s in cache.stores(tiny_model.fingerprint, spec.key())] == [first.store.folder]
    kept = tmp_path / "kept"
    shutil.copytree(first.store.folder, kept)
    video_factory("v.mp4", frames=60, pattern="flash")
    second = engine.index_video(folder, path, tiny_model, spec)
    shutil.copytree(kept, first.store.folder)  # the old store back, written earlier than the new
    os.utime(first.store.folder / "meta.json", (1, 1))
    assert [s.folder for s in cache.stores(tiny_model.fingerprint, spec.key())] == [second.store.folder]
