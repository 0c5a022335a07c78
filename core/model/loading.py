"""Load an X-CLIP checkpoint (hub id or local folder) together with its tokenizer and
preprocessing config, on the right device, with a fingerprint for caches.

Weights load only as safetensors. When the weights can't be reached the error says how to
get them, in one line.
"""
from __future__ import annotations

import hashlib
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ..errors import EthoscoutError
from ..fingerprint import fingerprint_file
from ..progress import CancelToken, ProgressFn, warmup
from .checks import check_preprocessor, check_safetensors, read_json_object

HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+|[A-Za-z0-9][\w.-]*")
DEFAULT_MODEL = "microsoft/xclip-base-patch32"
WEIGHT_FILES = ("model.safetensors",)


log = logging.getLogger(__name__)


class ModelError(EthoscoutError):
    pass


def is_out_of_memory(e: BaseException) -> bool:
    return isinstance(e, torch.OutOfMemoryError) or (isinstance(e, RuntimeError) and "out of memory" in str(e))


def to_device(model: torch.nn.Module, device: torch.device, what: str | os.PathLike) -> torch.nn.Module:
    """``model.to(device)``; a GPU without room for it gives a ModelError that says what to do,
    and the parts already moved are given back (the model stays whole on the CPU)."""
    try:
        return model.to(device)
    except RuntimeError as e:
        if not is_out_of_memory(e):
            raise
        model.to("cpu")
        if device.type == "cuda":
            torch.cuda.empty_cache()
        raise ModelError(f"{what}: not enough free GPU memory on {device} for this model; close other "
                         "programs using the GPU, pick a smaller checkpoint, or use --device cpu") from None


def pick_device(device: str = "auto") -> torch.device:
    if device in (None, "", "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        d = torch.device(device)
    except RuntimeError:
        raise ModelError(f"unknown device {device!r}; use auto, cpu or cuda[:N]") from None
    if d.type == "cuda" and not torch.cuda.is_available():
        raise ModelError(f"device {device!r} asked for, but this torch build sees no CUDA GPU; use --device cpu")
    return d


def resolve_folder(name_or_path: str | os.PathLike, on_progress: ProgressFn | None = None,
                   cancel: CancelToken | None = None) -> Path:
    """A local folder as given, or the hub snapshot (from the local cache first, else
    downloaded with byte progress; see hub.py)."""
    from .hub import DownloadError, cached_folder, download_model, download_hint, offline_reason

    text = str(name_or_path)
    p = Path(text).expanduser()
    if p.exists() or not HUB_ID.fullmatch(text):
        if not p.is_dir():
            raise ModelError(f"{p}: model folder not found; choose a folder with config.json and model.safetensors")
        return p
    cached = cached_folder(text)
    if cached is not None:
        return cached
    offline = offline_reason()
    if offline:
        raise ModelError(f"{text}: weights are not on this machine and {offline}; {download_hint(text)}")
    try:
        return download_model(text, on_progress, cancel)
    except DownloadError as e:
        raise ModelError(str(e)) from None


def read_checkpoint_configs(folder: Path) -> tuple[dict, dict]:
    """A checkpoint folder's model config and preprocessing config, after checking that the
    folder is complete and readable; ModelError (one line) otherwise."""
    if not (folder / "config.json").exists():
        raise ModelError(f"{folder}: no config.json; this is not an X-CLIP model folder")
    if not any(folder.glob("*.safetensors")):
        found = [p.name for p in folder.glob("*.bin")]
        hint = " (only .bin files, which are not loaded for safety; convert them to safetensors)" if found else ""
        raise ModelError(f"{folder}: no model.safetensors weights{hint}; point --model at a complete model folder")
    pp_path = folder / "preprocessor_config.json"
    try:
        config = read_json_object(folder / "config.json", "model config")
        for weights in sorted(folder.glob("*.safetensors")):
            check_safetensors(weights)
        pp = read_json_object(pp_path, "preprocessing config") if pp_path.exists() else {}
        check_preprocessor(pp, pp_path)
    except OSError as e:
        raise ModelError(f"{e.filename or folder}: unreadable ({e.strerror or e})") from None
    except ValueError as e:
        raise ModelError(str(e)) from None
    if config.get("model_type") != "xclip":
        raise ModelError(f"{folder}: model_type is {config.get('model_type')!r}, not an X-CLIP checkpoint")
    return config, pp


def folder_problem(folder: str | os.PathLike) -> str | None:
    """One line saying why ``folder`` is not a loadable X-CLIP checkpoint, else None."""
    folder = Path(folder)
    if not folder.is_dir():
        return f"{folder}: model folder not found"
    try:
        read_checkpoint_configs(folder)
    except ModelError as e:
        return str(e)
    return None


def folder_fingerprint(folder: Path) -> str:
    """Changes whenever the config or any weight file changes."""
    h = hashlib.sha256()
    for name in ["config.json", *sorted(p.name for p in folder.glob("*.safetensors"))]:
        f = folder / name
        if f.exists():
            h.update(name.encode())
            h.update(fingerprint_file(f).encode())
    return h.hexdigest()[:16]


@dataclass
class LoadedModel:
    """The model, always returned with its tokenizer and preprocessing config."""

    name: str
    folder: Path
    model: "torch.nn.Module"  # XCLIPModel, eval mode
    tokenizer: object
    preprocessor_config: dict
    device: torch.device
    fingerprint: str
    num_frames: int
    extra: dict = field(default_factory=dict)

    @property
    def embed_dim(self) -> int:
        return self.model.config.projection_dim


def load_xclip(name_or_path: str | os.PathLike = DEFAULT_MODEL, device: str = "auto",
               on_progress: ProgressFn | None = None, cancel: CancelToken | None = None) -> LoadedModel:
    """``on_progress`` hears each step (a download in bytes, then loading) as it starts."""
    from transformers import AutoTokenizer, XCLIPModel
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # our own progress reporting speaks for long work

    folder = resolve_folder(name_or_path, on_progress, cancel)
    _, pp = read_checkpoint_configs(folder)
    dev = pick_device(device)
    warmup(on_progress, f"loading {Path(str(name_or_path)).name} weights")
    try:
        model = XCLIPModel.from_pretrained(folder, use_safetensors=True, local_files_only=True)
        tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    except Exception as e:  # noqa: BLE001 - a config or file the library can't read, any type
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise ModelError(f"{folder}: could not load the model ({first[:300]})") from None
    if dev.type != "cpu":
        warmup(on_progress, f"moving the model to {dev}")
    try:
        model = to_device(model.eval(), dev, folder)
    except ModelError:
        if device not in (None, "", "auto"):
            raise
        # "auto" means the GPU when it can hold the model: here it can't, so the CPU
        log.warning("%s: not enough free GPU memory; running on the CPU", folder)
        dev = torch.device("cpu")
    return LoadedModel(
        name=str(name_or_path), folder=folder, model=model, tokenizer=tokenizer,
        preprocessor_config=pp, device=dev, fingerprint=folder_fingerprint(folder),
        num_frames=int(model.config.vision_config.num_frames),
    )
