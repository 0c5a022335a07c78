"""Vision backends: pixels (B, T, 3, H, W) -> cached features, as numpy.

Every backend has ``.name`` and ``.encode(pixels float32 (B, T, 3, H, W)) -> (frame_cls
(B, T, D), img_features (B, P, D))`` in float32.

Runtimes:
  torch / torch-fp32   XCLIPModel's own modules (what training uses)
  torch-bf16, -fp16    the same under autocast
  ort / ort-fp32       ONNX Runtime, fp32 graph (CUDA provider when present, else CPU)
  ort-int8             ONNX Runtime on CPU, dynamically quantised int8 weights
  ort-cuda             ONNX Runtime CUDA provider, fp32
  ort-fp16             ONNX Runtime CUDA provider, fp16 graph (float32 in and out)
  auto                 ort-fp16 with a GPU and onnxruntime's CUDA provider; torch-bf16 with a GPU
                       but no CUDA provider; ort-int8 on CPU. When the export fails it falls back
                       to torch with a one-line warning.
"""
from __future__ import annotations

import functools
import logging
import os

import numpy as np
import torch

from ..progress import ProgressFn, warmup
from .features import encode_windows
from .loading import LoadedModel

log = logging.getLogger(__name__)

RUNTIMES = ("auto", "torch", "torch-fp32", "torch-bf16", "torch-fp16",
            "ort", "ort-fp32", "ort-int8", "ort-cuda", "ort-fp16")


class TorchVisionBackend:
    def __init__(self, loaded: LoadedModel, dtype: torch.dtype = torch.float32):
        self.loaded = loaded
        self.dtype = dtype
        self.name = "torch-" + {torch.float32: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}[dtype]

    @torch.inference_mode()
    def encode(self, pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = torch.from_numpy(pixels).to(self.loaded.device)
        with torch.autocast(self.loaded.device.type, dtype=self.dtype, enabled=self.dtype != torch.float32):
            frame_cls, img = encode_windows(self.loaded.model, x)
        return frame_cls.float().cpu().numpy(), img.float().cpu().numpy()


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def inference_threads(cores: int | None = None) -> int:
    """Intra-op threads for CPU inference while a decoder thread runs beside it.

    Decoding 1080p H.264 needs about one core of its own; on small machines inference gets the
    rest, on big ones a couple are left for the decoder and the GUI.
    """
    cores = cores or cpu_count()
    return max(1, cores - 1) if cores <= 4 else cores - 2


def gpu_available(loaded: LoadedModel) -> bool:
    return loaded.device.type == "cuda" or torch.cuda.is_available()


def _ort_backend(loaded: LoadedModel, precision: str, cuda: bool, threads: int | None,
                 on_progress: ProgressFn | None = None):
    from .onnx_export import export
    from .ort_backend import OrtVisionBackend

    path = export(loaded, "vision", precision, on_progress=on_progress)
    name = f"ort-{'cuda-' if cuda else ''}{precision}"
    warmup(on_progress, f"optimising the {precision} graph for this machine ({'GPU' if cuda else 'CPU'})")
    return OrtVisionBackend(path, name, cuda=cuda, threads=None if cuda else threads)


def make_vision_backend(loaded: LoadedModel, runtime: str = "auto", threads: int | None = None,
                        on_progress: ProgressFn | None = None):
    """A backend for ``runtime`` (see the module docstring); ``threads`` caps CPU intra-op
    threads of ONNX Runtime sessions (default: ``inference_threads()``); ``on_progress``
    hears the warm-up steps (export, quantisation, graph optimisation)."""
    ort = functools.partial(_ort_backend, on_progress=on_progress)
    from .ort_backend import has_cuda_provider

    runtime = (runtime or "auto").lower()
    if runtime not in RUNTIMES:
        raise ValueError(f"unknown runtime {runtime!r}; use one of {', '.join(RUNTIMES)}")
    threads = threads or inference_threads()
    if runtime in ("torch", "torch-fp32"):
        return TorchVisionBackend(loaded)
    if runtime == "torch-bf16":
        return TorchVisionBackend(loaded, torch.bfloat16)
    if runtime == "torch-fp16":
        return TorchVisionBackend(loaded, torch.float16)
    cuda_provider = has_cuda_provider() and gpu_available(loaded)
    if runtime == "auto":
        if gpu_available(loaded) and not cuda_provider:
            return TorchVisionBackend(loaded, torch.bfloat16)  # a GPU beats any CPU runtime
        precision = "fp16" if cuda_provider else "int8"
        try:
            return ort(loaded, precision, cuda_provider, threads)
        except Exception as e:  # noqa: BLE001 - any failure here must not stop indexing
            fallback = TorchVisionBackend(loaded)
            log.warning("ONNX Runtime unavailable (%s); indexing with %s instead",
                        str(e).splitlines()[0] if str(e) else type(e).__name__, fallback.name)
            return fallback
    if runtime in ("ort-cuda", "ort-fp16") and not cuda_provider:
        raise ValueError(f"runtime {runtime!r} needs a CUDA GPU and the onnxruntime-gpu package; "
                         f"use ort-int8 or torch on this machine")
    if runtime == "ort-int8":
        return ort(loaded, "int8", False, threads)
    if runtime == "ort-fp16":
        return ort(loaded, "fp16", True, threads)
    return ort(loaded, "fp32", cuda_provider or runtime == "ort-cuda", threads)
