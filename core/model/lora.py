"""LoRA adapters for X-CLIP, as plain peft folders.

Two target sets:
- the default leaves the vision tower alone: LoRA on the text tower, the multi-frame
  integration transformer (MIT), the prompt generator and the text projection. Everything the
  feature cache holds (frame_cls, img_features) comes from modules this set never touches, so
  the cache stays valid and an adapter keeps the base model's fingerprint;
- ``deep`` adds the vision tower (attention, MLP and cross-frame message layers) and the visual
  projection. Cached features then no longer match the model, so a deep adapter gets its own
  fingerprint (base fingerprint + adapter weights) and videos must be indexed again with it.

An adapter folder is what ``PeftModel.save_pretrained`` writes, plus ``ethoscout_adapter.json``
(ours: version, deep flag, base fingerprint, metrics); any program can load it with
``PeftModel.from_pretrained(XCLIPModel.from_pretrained(base), folder)``.
"""
from __future__ import annotations

import copy
import hashlib
import json
import os
import shutil
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

from ..errors import EthoscoutError
from ..fingerprint import fingerprint_file
from .checks import check_safetensors, read_json_object
from .loading import LoadedModel, to_device

META_FILE = "ethoscout_adapter.json"
WEIGHTS_FILE = "adapter_model.safetensors"

_TEXT_SIDE = (
    r"text_model\.encoder\.layers\.\d+\.(self_attn\.(q_proj|k_proj|v_proj|out_proj)|mlp\.(fc1|fc2))"
    r"|mit\.encoder\.layers\.\d+\.(self_attn\.(q_proj|k_proj|v_proj|out_proj)|mlp\.(fc1|fc2))"
    r"|prompts_generator\.decoder\.\d+\.(cross_attn\.(q_proj|k_proj|v_proj|proj)|mlp\.(0|3))"
    r"|text_projection"
)
_VISION_SIDE = (
    r"|vision_model\.encoder\.layers\.\d+\.(self_attn\.(q_proj|k_proj|v_proj|out_proj)|mlp\.(fc1|fc2)"
    r"|message_fc|message_attn\.(q_proj|k_proj|v_proj|out_proj))"
    r"|visual_projection"
)
# peft matches a string target with re.fullmatch against each module's full name.
TEXT_SIDE_TARGETS = f"^({_TEXT_SIDE})$"
DEEP_TARGETS = f"^({_TEXT_SIDE}{_VISION_SIDE})$"


class AdapterError(EthoscoutError):
    pass


def lora_config(deep: bool = False, r: int = 8, alpha: int = 16, dropout: float = 0.0):
    """A peft LoraConfig for X-CLIP (peft has no built-in X-CLIP mapping, so targets are a
    regex over module names)."""
    from peft import LoraConfig

    return LoraConfig(r=r, lora_alpha=alpha, lora_dropout=dropout, bias="none",
                      target_modules=DEEP_TARGETS if deep else TEXT_SIDE_TARGETS)


def is_deep(config) -> bool:
    targets = config.target_modules
    text = targets if isinstance(targets, str) else " ".join(sorted(targets or []))
    return "vision_model" in text or "visual_projection" in text


def attach_lora(loaded: LoadedModel, config, copy_model: bool = True) -> LoadedModel:
    """A LoadedModel whose ``.model`` is a trainable PeftModel around (a copy of) the base model.
    With ``copy_model`` the caller's model stays untouched (peft injects layers in place)."""
    from peft import get_peft_model

    base = copy.deepcopy(loaded.model) if copy_model else loaded.model
    peft_model = get_peft_model(base, config)
    return replace(loaded, model=peft_model, extra={**loaded.extra, "lora": {"deep": is_deep(config)}})


def adapter_fingerprint(base_fingerprint: str, folder: str | Path, deep: bool) -> str:
    """The cache fingerprint of a model with this adapter: the base's unless deep."""
    if not deep:
        return base_fingerprint
    h = hashlib.sha256(base_fingerprint.encode())
    h.update(fingerprint_file(Path(folder) / WEIGHTS_FILE).encode())
    return h.hexdigest()[:16]


@lru_cache(maxsize=64)
def _weights_fingerprint(base_fingerprint: str, adapter_folder: str) -> str:
    return adapter_fingerprint(base_fingerprint, adapter_folder, deep=True)


def weights_fingerprint(loaded) -> str:
    """The identity of every weight the model computes with, an adapter's included (unlike the
    cache fingerprint, which a text-side adapter keeps: it changes the MIT and prompts, not the
    cached features). Adapter folders are never overwritten, so their hash is kept."""
    adapter = loaded.extra.get("adapter")
    return _weights_fingerprint(loaded.fingerprint, adapter["folder"]) if adapter else loaded.fingerprint


def read_adapter_meta(folder: str | Path) -> dict:
    """Our metadata of an adapter folder, after checking that its files are complete. An
    adapter without it can't be checked against its base model, so it is refused."""
    folder = Path(folder)
    if not (folder / "adapter_config.json").exists():
        raise AdapterError(f"{folder}: not an adapter folder (no adapter_config.json)")
    if not (folder / META_FILE).exists():
        raise AdapterError(f"{folder}: no {META_FILE}, so nothing says which model it was trained on; "
                           "use an adapter folder written by ethoscout")
    try:
        read_json_object(folder / "adapter_config.json", "adapter config")
        if (folder / WEIGHTS_FILE).exists():
            check_safetensors(folder / WEIGHTS_FILE)
        return read_json_object(folder / META_FILE, "adapter metadata")
    except OSError as e:
        raise AdapterError(f"{e.filename or folder}: unreadable ({e.strerror or e})") from None
    except ValueError as e:
        raise AdapterError(str(e)) from None


def load_adapter(loaded: LoadedModel, folder: str | Path, merge: bool = False) -> LoadedModel:
    """The base model with the adapter in ``folder`` applied, for scoring (eval mode). The
    caller's ``loaded`` stays the plain base model. ``merge`` folds the LoRA weights into the
    linear layers (same scores, no LoRA overhead)."""
    from peft import PeftConfig, PeftModel

    folder = Path(folder)
    meta = read_adapter_meta(folder)
    base_fp = meta.get("base_fingerprint")
    if base_fp and base_fp != loaded.fingerprint:
        raise AdapterError(f"{folder}: adapter was trained on another model (fingerprint {base_fp}, "
                           f"this model is {loaded.fingerprint}); load it with the model it was trained on")
    try:
        config = PeftConfig.from_pretrained(folder)
        model = PeftModel.from_pretrained(copy.deepcopy(loaded.model), folder, is_trainable=False)
    except Exception as e:  # noqa: BLE001 - peft and safetensors raise many types for a bad folder
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise AdapterError(f"{folder}: could not load the adapter ({first[:300]})") from None
    model = to_device(model.eval(), loaded.device, folder)
    if merge:
        model = model.merge_and_unload().eval()
    deep = is_deep(config)
    return replace(loaded, model=model, fingerprint=adapter_fingerprint(loaded.fingerprint, folder, deep),
                   extra={**loaded.extra, "adapter": {"folder": str(folder), "deep": deep,
                                                      "version": meta.get("version")}})


def save_adapter(model, folder: str | Path, meta: dict | None = None) -> Path:
    """Write a peft folder (plus our metadata) under a temporary name beside ``folder`` and
    rename it into place, so a reader never sees half an adapter."""
    folder = Path(folder)
    if folder.exists():
        raise AdapterError(f"{folder}: already exists; adapters are never overwritten")
    tmp = folder.with_name(f".{folder.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.parent.mkdir(parents=True, exist_ok=True)
    try:
        model.save_pretrained(tmp, safe_serialization=True)
        meta = dict(meta or {})
        meta.setdefault("deep", is_deep(model.peft_config["default"]))
        with open(tmp / META_FILE, "w") as f:
            json.dump(meta, f, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return folder


def trainable_state(model) -> dict:
    """Copies of the LoRA tensors (for keeping the best epoch)."""
    return {k: v.detach().clone() for k, v in model.named_parameters() if v.requires_grad}


def restore_state(model, state: dict) -> None:
    params = dict(model.named_parameters())
    for k, v in state.items():
        params[k].data.copy_(v)


def encode_windows_trainable(model, pixels):
    """The cache recipe (features.encode_windows) with gradients, for deep-mode training:
    pixels (B, T, 3, H, W) -> frame_cls (B, T, D), img_features (B, P, D)."""
    from .features import encode_windows

    return encode_windows.__wrapped__(model, pixels)
