"""ONNX Runtime sessions for the exported towers (see onnx_export.py).

Sessions are built with an explicit intra-op thread count and without spinning worker threads:
when decoding runs beside inference on a few cores, spinning threads burn the cycles the
decoder needs (on 2 cores that made overlapped indexing slower than doing one after the other).
"""
from __future__ import annotations

import functools
import os

import numpy as np

CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"


def available_providers() -> list[str]:
    try:
        import onnxruntime as ort
    except ImportError:
        return []
    return list(ort.get_available_providers())


def has_cuda_provider() -> bool:
    """The CUDA provider is listed and its libraries load (onnxruntime-gpu lists it even on
    machines without the CUDA and cuDNN libraries it needs)."""
    return CUDA in available_providers() and cuda_provider_problem() is None


@functools.lru_cache(maxsize=1)
def cuda_provider_problem() -> str | None:
    """Why ONNX Runtime's CUDA provider can't be loaded here (its shared library, or a CUDA or
    cuDNN library that one needs), else None."""
    try:
        import onnxruntime as ort
    except ImportError:
        return "onnxruntime is not installed"
    if CUDA not in ort.get_available_providers():
        return "this onnxruntime build has no CUDA provider (pip install onnxruntime-gpu)"
    import ctypes
    from pathlib import Path

    try:  # torch's CUDA wheels bring the CUDA libraries; loading torch first makes them findable
        import torch  # noqa: F401
    except ImportError:
        pass
    lib = next(iter(sorted((Path(ort.__file__).parent / "capi").glob("*onnxruntime_providers_cuda*"))), None)
    if lib is None:
        return None
    try:
        ctypes.CDLL(str(lib))
    except OSError as e:
        text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        return text.replace(f"{lib}: ", "")
    return None


def session_options(threads: int | None = None):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.inter_op_num_threads = 1
    if threads:
        so.intra_op_num_threads = int(threads)
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    so.log_severity_level = 3  # warnings about unused initialisers etc. are noise to users
    return so


def make_session(path: str | os.PathLike, cuda: bool = False, threads: int | None = None):
    import onnxruntime as ort

    providers = [CUDA, CPU] if cuda else [CPU]
    sess = ort.InferenceSession(str(path), sess_options=session_options(threads), providers=providers)
    if cuda and sess.get_providers()[0] != CUDA:
        raise RuntimeError("onnxruntime could not start its CUDA provider (check the CUDA/cuDNN libraries)")
    return sess


class OrtVisionBackend:
    """``encode(pixels (B, T, 3, H, W) float32) -> (frame_cls (B, T, D), img_features (B, P, D))``."""

    def __init__(self, path: str | os.PathLike, name: str, cuda: bool = False, threads: int | None = None):
        self.path = str(path)
        self.name = name
        self.threads = threads
        self.session = make_session(path, cuda, threads)

    def encode(self, pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        frame_cls, img = self.session.run(None, {"pixels": np.ascontiguousarray(pixels, dtype=np.float32)})
        return frame_cls.astype(np.float32, copy=False), img.astype(np.float32, copy=False)


class OrtTextEncoder:
    """Token ids -> (K, D) text embeddings, the same as ``features.text_embeds``."""

    def __init__(self, path: str | os.PathLike, tokenizer, cuda: bool = False, threads: int | None = None):
        self.tokenizer = tokenizer
        self.session = make_session(path, cuda, threads)

    def encode(self, texts: list[str]) -> np.ndarray:
        enc = self.tokenizer(list(texts), padding=True, truncation=True, max_length=77, return_tensors="np")
        feeds = {"input_ids": enc["input_ids"].astype(np.int64),
                 "attention_mask": enc["attention_mask"].astype(np.int64)}
        return self.session.run(None, feeds)[0].astype(np.float32, copy=False)
