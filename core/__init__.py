"""ethoscout's engine, with no Qt: ``from ethoscout.core import index_videos, score_queries``.

The names load on first use, so importing a light part (``ethoscout.core.data``) does not
pull in torch.
"""
from __future__ import annotations

import importlib

_EXPORTS = {
    "index_videos": "engine", "score_queries": "engine", "indexed_stores": "engine",
    "Project": "data.project", "WindowSpec": "video.windows", "probe_video": "video.probe",
    "load_xclip": "model.loading", "EthoscoutError": "errors",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'ethoscout.core' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
