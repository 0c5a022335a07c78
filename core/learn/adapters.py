"""A project's adapters: where they live, which one is active, and a scorer that uses it.

Adapters are peft folders under ``<project>/adapters/vN``, registered in the project database
with their metrics. Selecting one (or none, to roll back to the base model) is one database
change; scoring then recomputes text embeddings and reuses the vision cache. A deep adapter
(vision tower adapted) needs the videos indexed again with it.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from ..engine import index_videos, indexed_stores, project_spec
from ..errors import EthoscoutError
from ..model.loading import LoadedModel, load_xclip
from ..model.lora import AdapterError, load_adapter, read_adapter_meta, save_adapter
from ..model.query import QueryScorer
from ..video.windows import WindowSpec

ADAPTERS_DIR = "adapters"
_LOADED: dict[tuple, LoadedModel] = {}  # (base model id, folder, mtime) -> adapted model, newest only


class LearnError(EthoscoutError):
    pass


def project_model_name(project, override: str | None = None) -> str:
    """The model of the project (setting "model"), or the one given on the command line."""
    name = override or project.get_setting("model")
    if not name:
        raise LearnError(f"{project.folder}: no model recorded for this project; pass --model "
                         "(a hub id or model folder)")
    return str(name)


def load_project_model(project, override: str | None = None, device: str = "auto") -> LoadedModel:
    return load_xclip(project_model_name(project, override), device=device)


def project_stores(project, loaded: LoadedModel, spec: WindowSpec | None = None) -> list:
    stores = indexed_stores(project, loaded, project_spec(project, spec))
    adapter = loaded.extra.get("adapter") or {}
    if not stores and adapter.get("deep"):
        v = adapter.get("version")
        raise LearnError(f"{project.folder}: adapter v{v} adapts the vision tower and the videos are not indexed "
                         f"with it yet; run `ethoscout adapter use {v} --reindex`")
    if not stores:
        raise LearnError(f"{project.folder}: no video is indexed with this model and window spec; "
                         "run `ethoscout index` first")
    return stores


def adapter_dir(project, version: int) -> Path:
    return project.folder / ADAPTERS_DIR / f"v{int(version)}"


def adapter_folder(project, row: dict) -> Path:
    """The adapter's folder, which must lie inside the project (a row edited to point
    elsewhere would load weights from anywhere)."""
    folder = (project.folder / row["folder"]).resolve()
    if not folder.is_relative_to(project.folder.resolve()):
        raise AdapterError(f"{project.path}: adapter v{row['version']} points outside the project "
                           f"({row['folder']}); refusing to load it")
    return folder


def load_version(project, loaded: LoadedModel, version: int) -> LoadedModel:
    """The base model with adapter ``version`` applied (cached for the newest request)."""
    row = project.adapter(version)
    folder = adapter_folder(project, row)
    if not folder.is_dir():
        raise AdapterError(f"{folder}: adapter v{version} is registered but its folder is missing")
    key = (id(loaded.model), str(folder), (folder / "adapter_model.safetensors").stat().st_mtime_ns)
    if key not in _LOADED:
        _LOADED.clear()
        _LOADED[key] = load_adapter(loaded, folder)
    return _LOADED[key]


def active_model(project, loaded: LoadedModel) -> LoadedModel:
    row = project.active_adapter()
    return loaded if row is None else load_version(project, loaded, row["version"])


def active_scorer(project, loaded: LoadedModel) -> QueryScorer:
    """A scorer for the project's active adapter (the base model when none is active)."""
    return QueryScorer(active_model(project, loaded))


def needs_reindex(project, adapted: LoadedModel, spec: WindowSpec | None = None) -> bool:
    """True when the model's fingerprint has no cached video yet (a deep adapter)."""
    return not indexed_stores(project, adapted, project_spec(project, spec))


def use_adapter(project, version: int | None, loaded: LoadedModel | None = None,
                reindex: bool = False, on_progress=None) -> dict | None:
    """Select adapter ``version`` (None: the base model). A deep adapter is selected only when
    the videos are indexed with it, or ``reindex`` asks to index them now."""
    if version is None:
        project.set_active_adapter(None)
        return None
    row = project.adapter(version)
    meta = read_adapter_meta(adapter_folder(project, row))
    if meta.get("deep"):
        if loaded is None:
            raise LearnError(f"adapter v{version} adapts the vision tower; a model is needed to check its index")
        adapted = load_version(project, loaded, version)
        if needs_reindex(project, adapted):
            if not reindex:
                raise LearnError(f"adapter v{version} adapts the vision tower, so the videos must be indexed "
                                 "again with it; run `ethoscout adapter use "
                                 f"{version} --reindex` (slow: the vision tower runs over every window)")
            reindex_videos(project, adapted, on_progress=on_progress)
    project.set_active_adapter(version)
    return project.adapter(version)


def reindex_videos(project, adapted: LoadedModel, on_progress=None) -> list:
    paths = [v["path"] for v in project.videos()]
    if not paths:
        raise LearnError(f"{project.folder}: the project lists no videos to index")
    results = index_videos(project.folder, paths, model=adapted, spec=project_spec(project, None),
                           on_progress=on_progress)
    bad = [r for r in results if r.status == "error"]
    if bad:
        raise LearnError(f"{bad[0].path}: could not index with the adapter ({bad[0].message})")
    return results


def new_version_folder(project) -> tuple[int, Path]:
    """The next free version number and its folder (skipping folders left by a killed run)."""
    version = project.next_adapter_version()
    while adapter_dir(project, version).exists():
        version += 1
    return version, adapter_dir(project, version)


def save_and_register(project, model, meta: dict, base_model: str, metrics: dict,
                      activate: bool = True) -> dict:
    """Write the adapter folder atomically, register it, and (optionally) make it active.
    The active adapter changes only after the folder and its row are complete."""
    version, folder = new_version_folder(project)
    save_adapter(model, folder, {**meta, "version": version})
    try:
        project.register_adapter(version, folder, base_model, metrics)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    if activate:
        project.set_active_adapter(version)
    return project.adapter(version)


def remove_stale_temporaries(project) -> list[str]:
    """Temporary adapter folders of runs whose process is gone."""
    removed = []
    root = project.folder / ADAPTERS_DIR
    for d in root.glob(".*.tmp-*") if root.is_dir() else []:
        pid = d.name.rsplit("-", 1)[-1]
        if pid.isdigit() and pid_alive(int(pid)):
            continue
        shutil.rmtree(d, ignore_errors=True)
        removed.append(d.name)
    return removed


def pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie (killed child not yet reaped by its parent) is not alive
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def reap_stale_runs(project) -> list[int]:
    """Mark runs still 'running' whose process has died (killed, power loss) as failed."""
    reaped = []
    for run in project.training_runs():
        if run["status"] != "running":
            continue
        pid = run["spec"].get("pid")
        if pid is None or not pid_alive(int(pid)):
            project.finish_training_run(run["id"], "failed", "the training process ended without reporting "
                                                            "(killed or crashed); the previous adapter stayed active")
            reaped.append(run["id"])
    return reaped
