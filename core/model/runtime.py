"""Vision backends: pixels (B, T, 3, H, W) -> cached features, as numpy.

``torch`` runs XCLIPModel's own modules (fp32, or bf16/fp16 autocast). Faster runtimes plug in
here with the same ``encode`` signature.
"""
from __future__ import annotations

import numpy as np
import torch

from .features import encode_windows
from .loading import LoadedModel

RUNTIMES = ("auto", "torch", "torch-bf16")


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


def make_vision_backend(loaded: LoadedModel, runtime: str = "auto"):
    if runtime in ("auto", "torch", "torch-fp32"):
        return TorchVisionBackend(loaded)
    if runtime == "torch-bf16":
        return TorchVisionBackend(loaded, torch.bfloat16)
    raise ValueError(f"unknown runtime {runtime!r}; use one of {', '.join(RUNTIMES)}")
