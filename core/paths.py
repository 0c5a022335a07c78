"""Where ethoscout keeps files of its own outside projects."""
from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    """``$ETHOSCOUT_CACHE``, default ``~/.cache/ethoscout``: ONNX exports, the demo model."""
    env = os.environ.get("ETHOSCOUT_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "ethoscout"
