"""Checks of model and adapter files before any library reads them, so that a truncated
download, an empty or hand-edited file gives one line naming the file and the problem instead
of a traceback from deep inside safetensors, transformers or peft."""
from __future__ import annotations

import json
import math
import struct
from pathlib import Path

MAX_HEADER_BYTES = 100 * 1024 * 1024  # safetensors' own limit for the JSON header


def check_safetensors(path: Path) -> None:
    """Raise ``ValueError`` (one line) unless ``path`` is a complete safetensors file: an
    8-byte header length, a JSON header of that length, and every tensor inside the file."""
    path = Path(path)
    size = path.stat().st_size
    if size < 8:
        raise ValueError(f"{path}: {'empty' if size == 0 else 'truncated'} weights file ({size} bytes); "
                         "download or copy it again")
    with path.open("rb") as f:
        (header_len,) = struct.unpack("<Q", f.read(8))
        if header_len > MAX_HEADER_BYTES or 8 + header_len > size:
            raise ValueError(f"{path}: not a valid safetensors file (header of {header_len} bytes in a "
                             f"{size}-byte file); download or copy it again")
        raw = f.read(header_len)
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        raise ValueError(f"{path}: not a valid safetensors file (unreadable header); "
                         "download or copy it again") from None
    if not isinstance(header, dict):
        raise ValueError(f"{path}: not a valid safetensors file (header is not a table of tensors)")
    data = size - 8 - header_len
    for name, info in header.items():
        if name == "__metadata__":
            continue
        offsets = info.get("data_offsets") if isinstance(info, dict) else None
        if (not isinstance(offsets, list) or len(offsets) != 2
                or not all(isinstance(o, int) for o in offsets) or not 0 <= offsets[0] <= offsets[1]):
            raise ValueError(f"{path}: not a valid safetensors file (tensor {name[:60]!r} has no valid offsets)")
        if offsets[1] > data:
            raise ValueError(f"{path}: truncated weights file (tensor {name[:60]!r} ends at byte "
                             f"{offsets[1]}, the file holds {data}); download or copy it again")


def read_json_object(path: Path, what: str) -> dict:
    """A JSON file that must hold an object (a config), or ``ValueError`` naming the file."""
    path = Path(path)
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ValueError(f"{path}: {what} is not UTF-8 text") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: {what} is not valid JSON ({e.msg} at line {e.lineno})") from None
    if not isinstance(value, dict):
        raise ValueError(f"{path}: {what} holds {type(value).__name__}, not a JSON object")
    return value


def _positive_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= 4096


def _size_ok(value) -> bool:
    if value is None or _positive_int(value):
        return True
    return isinstance(value, dict) and bool(value) and all(
        _positive_int(v) for k, v in value.items() if k in ("shortest_edge", "height", "width"))


def _triple(value, positive: bool) -> bool:
    return (isinstance(value, (list, tuple)) and len(value) == 3
            and all(isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)
                    and (x > 0 or not positive) for x in value))


def check_preprocessor(config: dict, path: Path) -> None:
    """The image preprocessing fields we read, with sane values (``ValueError`` otherwise)."""
    problems = []
    for key in ("size", "crop_size"):
        if not _size_ok(config.get(key)):
            problems.append(f"{key} {config.get(key)!r} is not a positive size")
    for key, positive in (("image_mean", False), ("image_std", True)):
        if key in config and not _triple(config[key], positive):
            problems.append(f"{key} {config[key]!r} is not three {'positive ' if positive else ''}numbers")
    factor = config.get("rescale_factor", 1 / 255)
    if not (isinstance(factor, (int, float)) and not isinstance(factor, bool)
            and math.isfinite(factor) and factor > 0):
        problems.append(f"rescale_factor {factor!r} is not a positive number")
    if problems:
        raise ValueError(f"{path}: invalid preprocessing config ({'; '.join(problems)})")


__all__ = ["check_safetensors", "read_json_object", "check_preprocessor"]
