"""Frame preprocessing that reproduces a checkpoint's own image processor.

Reads preprocessor_config.json (resize so the shortest edge is ``size``, centre crop,
rescale, normalise). Resizing uses OpenCV's area filter when shrinking, which matches the
antialiased PIL resize of transformers' processor closely at a fraction of the cost.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


def _edge(value, default: int) -> int:
    if value is None:
        return default
    if isinstance(value, dict):
        return int(value.get("shortest_edge") or min(value.get("height", default), value.get("width", default)))
    return int(value)


def _hw(value, default: int) -> tuple[int, int]:
    if value is None:
        return default, default
    if isinstance(value, dict):
        return int(value.get("height", default)), int(value.get("width", default))
    return int(value), int(value)


@dataclass(frozen=True)
class Preprocessor:
    shortest_edge: int = 224
    crop: tuple[int, int] = (224, 224)
    do_resize: bool = True
    do_center_crop: bool = True
    rescale: float = 1 / 255
    mean: tuple[float, float, float] = CLIP_MEAN
    std: tuple[float, float, float] = CLIP_STD

    @classmethod
    def from_config(cls, config: dict) -> "Preprocessor":
        return cls(
            shortest_edge=_edge(config.get("size"), 224),
            crop=_hw(config.get("crop_size"), 224),
            do_resize=bool(config.get("do_resize", True)),
            do_center_crop=bool(config.get("do_center_crop", True)),
            rescale=float(config.get("rescale_factor", 1 / 255)) if config.get("do_rescale", True) else 1.0,
            mean=tuple(config.get("image_mean", CLIP_MEAN)) if config.get("do_normalize", True) else (0.0,) * 3,
            std=tuple(config.get("image_std", CLIP_STD)) if config.get("do_normalize", True) else (1.0,) * 3,
        )

    def resize_size(self, width: int, height: int) -> tuple[int, int]:
        """(width, height) after the shortest-edge resize, rounded as transformers does."""
        if not self.do_resize:
            return width, height
        short, long = (width, height) if width <= height else (height, width)
        new_short, new_long = self.shortest_edge, int(self.shortest_edge * long / short)
        return (new_short, new_long) if width <= height else (new_long, new_short)

    def resize_crop(self, rgb: np.ndarray) -> np.ndarray:
        """One HxWx3 uint8 RGB frame -> crop_h x crop_w x 3 uint8."""
        h, w = rgb.shape[:2]
        nw, nh = self.resize_size(w, h)
        if (nw, nh) != (w, h):
            interp = cv2.INTER_AREA if nw * nh < w * h else cv2.INTER_LINEAR
            rgb = cv2.resize(rgb, (nw, nh), interpolation=interp)
        if not self.do_center_crop:
            return np.ascontiguousarray(rgb)
        ch, cw = self.crop
        h, w = rgb.shape[:2]
        if h < ch or w < cw:  # pad like transformers does for crops larger than the image
            pad = np.zeros((max(h, ch), max(w, cw), 3), rgb.dtype)
            top, left = (pad.shape[0] - h) // 2, (pad.shape[1] - w) // 2
            pad[top:top + h, left:left + w] = rgb
            rgb, h, w = pad, pad.shape[0], pad.shape[1]
        top, left = (h - ch) // 2, (w - cw) // 2
        return np.ascontiguousarray(rgb[top:top + ch, left:left + cw])

    def normalize(self, frames: np.ndarray) -> np.ndarray:
        """(..., H, W, 3) uint8 -> (..., 3, H, W) float32, normalised."""
        scale = np.asarray(self.std, np.float32) / np.float32(self.rescale)
        x = (frames.astype(np.float32) - np.asarray(self.mean, np.float32) / np.float32(self.rescale)) / scale
        return np.ascontiguousarray(np.moveaxis(x, -1, -3))
