"""X-CLIP checkpoints on the Hugging Face hub: the ones we offer, which are cached here, and a
download with byte progress, a size known beforehand, and cancel.

Downloads go through huggingface_hub into its normal cache (``~/.cache/huggingface/hub``): files
that finished are kept and not fetched again, huggingface_hub itself resumes a file whose
connection dropped, ``hf download`` fills the same cache, and ``HF_HUB_OFFLINE=1`` (no network
at all) is respected: then nothing is downloaded and we say so in one line.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..errors import EthoscoutError
from ..progress import DOWNLOAD, CancelToken, Progress
# Only what loading needs: config, safetensors weights, tokenizer and preprocessing files.
NEEDED_FILES = ["config.json", "*.safetensors", "*.json", "*.txt", "vocab*", "merges*"]


@dataclass(frozen=True)
class HubModel:
    repo_id: str
    label: str


MODELS = (
    HubModel("microsoft/xclip-base-patch32", "base, 8 frames per window (default; fastest)"),
    HubModel("microsoft/xclip-base-patch32-16-frames", "base, 16 frames per window"),
    HubModel("microsoft/xclip-base-patch16", "base, finer 16-pixel patches, 8 frames (about 4x slower)"),
    HubModel("microsoft/xclip-base-patch16-16-frames", "base, 16-pixel patches, 16 frames"),
    HubModel("microsoft/xclip-large-patch14", "large, 8 frames (a GPU is advised)"),
    HubModel("microsoft/xclip-large-patch14-16-frames", "large, 16 frames (a GPU is advised)"),
)


class DownloadError(EthoscoutError):
    def __init__(self, message: str, reason: str = ""):
        super().__init__(message)
        self.reason = reason or message  # the cause alone, for the window's shorter wording


def offline_reason() -> str | None:
    """One line when huggingface_hub is in offline mode (HF_HUB_OFFLINE), else None."""
    from huggingface_hub import constants

    flag = os.environ.get("HF_HUB_OFFLINE", "").strip().lower()
    if flag in ("1", "true", "yes", "on") or constants.HF_HUB_OFFLINE:
        return ("offline mode (HF_HUB_OFFLINE is set): nothing is downloaded; use a cached model, "
                "a local folder or the demo model")
    return None


def download_hint(repo_id: str) -> str:
    return (f"download it once on a machine that is online (`hf download {repo_id}`) and copy "
            f"~/.cache/huggingface/hub here, or use a local model folder (Model > Choose model... in the "
            f"window, --model /path/to/folder on the command line)")


@dataclass
class CachedModel:
    repo_id: str
    folder: Path  # the snapshot: config.json, weights, tokenizer
    size_bytes: int


def cached_folder(repo_id: str) -> Path | None:
    """The cached snapshot of ``repo_id`` with safetensors weights, without any network."""
    from huggingface_hub import snapshot_download

    try:
        folder = Path(snapshot_download(repo_id, allow_patterns=NEEDED_FILES, local_files_only=True))
    except Exception:  # noqa: BLE001 - not cached (or a broken cache entry): not usable
        return None
    return folder if (folder / "config.json").exists() and any(folder.glob("*.safetensors")) else None


def cached_models(cache_dir: str | Path | None = None) -> list[CachedModel]:
    """X-CLIP checkpoints complete in the hub cache (ours and any other ``*xclip*`` repo)."""
    from huggingface_hub import scan_cache_dir

    try:
        info = scan_cache_dir(cache_dir)
    except Exception:  # noqa: BLE001 - no cache folder yet, or one we can't read
        return []
    known = {m.repo_id for m in MODELS}
    out = []
    for repo in sorted(info.repos, key=lambda r: r.repo_id):
        if repo.repo_type != "model" or (repo.repo_id not in known and "xclip" not in repo.repo_id.lower()):
            continue
        for rev in sorted(repo.revisions, key=lambda r: r.last_modified, reverse=True):
            names = {f.file_name for f in rev.files}
            if "config.json" in names and any(n.endswith(".safetensors") for n in names):
                out.append(CachedModel(repo.repo_id, Path(rev.snapshot_path), repo.size_on_disk))
                break
    return out


@dataclass
class DownloadPlan:
    repo_id: str
    files: dict[str, int]  # file name -> size in bytes
    to_fetch: int  # bytes not yet in the cache

    @property
    def total(self) -> int:
        return sum(self.files.values())


def _one_line(e: BaseException) -> str:
    text = str(e).strip()
    return f"{type(e).__name__}: {text.splitlines()[0]}" if text else type(e).__name__


def plan_download(repo_id: str, endpoint: str | None = None) -> DownloadPlan:
    """The files a download of ``repo_id`` fetches and their sizes (asks the hub, downloads nothing)."""
    from huggingface_hub import HfApi, snapshot_download
    from huggingface_hub.errors import RepositoryNotFoundError

    offline = offline_reason()
    if offline:
        raise DownloadError(f"{repo_id}: not downloaded: {offline}")
    try:
        HfApi(endpoint=endpoint).model_info(repo_id)  # a dry run hides "no such repository"
        infos = snapshot_download(repo_id, allow_patterns=NEEDED_FILES, endpoint=endpoint, dry_run=True,
                                  tqdm_class=_progress_bar_class(lambda n: None, None))
    except RepositoryNotFoundError:
        raise DownloadError(f"{repo_id}: no such model on the hub (check the id, e.g. "
                            f"{MODELS[0].repo_id})", "no such model on the hub") from None
    except Exception as e:  # noqa: BLE001 - network errors come in many types
        reason = f"the hub could not be reached ({_one_line(e)})"
        raise DownloadError(f"{repo_id}: {reason}; {download_hint(repo_id)}", reason) from None
    files = {i.filename: int(i.file_size or 0) for i in infos}
    if not any(name.endswith(".safetensors") for name in files):
        raise DownloadError(f"{repo_id}: the hub has no safetensors weights for this model (only these "
                            f"are loaded, for safety); choose another model")
    return DownloadPlan(repo_id, files, sum(int(i.file_size or 0) for i in infos if i.will_download))


def _progress_bar_class(report: Callable[[int], None], cancel: CancelToken | None):
    """A tqdm class for huggingface_hub that shows nothing itself: byte counts go to ``report``
    and every update checks ``cancel`` (raising Cancelled stops the download)."""
    from tqdm import tqdm

    class Bar(tqdm):
        def __init__(self, *args, **kwargs):
            kwargs.pop("name", None)
            kwargs["disable"] = True
            self._counts_bytes = kwargs.get("unit") == "B" and not str(kwargs.get("desc", "")).startswith("Downloading")
            super().__init__(*args, **kwargs)

        def update(self, n=1):
            if cancel is not None:
                cancel.check()
            if self._counts_bytes and n:
                report(int(n))
            return super().update(n)

    return Bar


def download_model(repo_id: str, on_progress: Callable[[Progress], None] | None = None,
                   cancel: CancelToken | None = None, endpoint: str | None = None) -> Path:
    """Download ``repo_id`` into the hub cache (resuming a partial download) and return its
    snapshot folder. Progress is in bytes (``Progress(task="downloading", total=bytes)``)."""
    import threading

    from huggingface_hub import snapshot_download

    from ..progress import Cancelled

    plan = plan_download(repo_id, endpoint)
    progress = Progress(DOWNLOAD, total=plan.total, done=plan.total - plan.to_fetch, item=repo_id)
    progress.first_done = progress.done
    lock = threading.Lock()

    def add(n: int) -> None:
        with lock:
            progress.done = min(progress.total, progress.done + n)
            if on_progress is not None:
                on_progress(progress)

    if on_progress is not None:
        on_progress(progress)
    try:
        folder = snapshot_download(repo_id, allow_patterns=NEEDED_FILES, endpoint=endpoint,
                                   tqdm_class=_progress_bar_class(add, cancel), max_workers=4)
    except Cancelled:
        raise
    except Exception as e:  # noqa: BLE001
        raise DownloadError(f"{repo_id}: the download stopped ({_one_line(e)}); start it again to resume, "
                            f"or {download_hint(repo_id)}") from None
    if cancel is not None:
        cancel.check()
    progress.done = progress.total
    if on_progress is not None:
        on_progress(progress)
    return Path(folder)
