"""Time windows over a video and the frames sampled from each (AnimalMotionCLIP's schemes).

- sparse: T frames spread evenly over the whole span (the centre of T equal segments);
- dense: T consecutive frames at the native rate, centred in the span;
- semi-dense: T frames every other frame, centred in the span.
Frames are chosen by presentation time, so variable-frame-rate files sample correctly.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

SCHEMES = ("sparse", "dense", "semi-dense")


@dataclass(frozen=True)
class WindowSpec:
    span_s: float = 2.0
    stride_s: float = 1.0
    frames: int = 8  # 0: the checkpoint's own frame count, filled in when a model is known
    scheme: str = "sparse"
    # False: decode without H.264/HEVC deblocking (faster, not the exact frames; own cache key)
    loop_filter: bool = True

    def __post_init__(self):
        if not (math.isfinite(self.span_s) and math.isfinite(self.stride_s)
                and self.span_s > 0 and self.stride_s > 0):
            raise ValueError("window span and stride must be positive seconds")
        if self.frames < 0:
            raise ValueError("frames per window must be at least 1 (or 0 for the checkpoint's)")
        if self.scheme not in SCHEMES:
            raise ValueError(f"unknown sampling scheme {self.scheme!r}; use one of {', '.join(SCHEMES)}")

    def key(self) -> str:
        """Stable short name used in cache folder names."""
        return f"s{self.span_s:g}_t{self.stride_s:g}_f{self.frames}_{self.scheme}" + ("" if self.loop_filter else "_nolf")

    def to_dict(self) -> dict:
        d = asdict(self)
        if self.loop_filter:  # the default stays out: settings and stores written before read the same
            del d["loop_filter"]
        return d


@dataclass(frozen=True, eq=False)
class Windows:
    starts: np.ndarray  # (N,) seconds
    ends: np.ndarray  # (N,) seconds
    frames: np.ndarray  # (N, T) frame indices, non-decreasing within a window
    loop_filter: bool = True  # the spec's decoding option

    def __len__(self) -> int:
        return len(self.starts)


def window_times(duration_s: float, spec: WindowSpec) -> tuple[np.ndarray, np.ndarray]:
    """Window starts at multiples of the stride; a video shorter than one span gives one window."""
    n = int(np.floor((duration_s - spec.span_s) / spec.stride_s + 1e-9)) + 1
    if n < 1:
        return np.array([0.0]), np.array([float(duration_s)])
    starts = np.arange(n) * spec.stride_s
    return starts, starts + spec.span_s


def sample_times(start: float, end: float, spec: WindowSpec, frame_interval: float) -> np.ndarray:
    t = spec.frames
    if spec.scheme == "sparse":
        seg = (end - start) / t
        return start + seg * (np.arange(t) + 0.5)
    step = frame_interval * (1 if spec.scheme == "dense" else 2)
    centre = (start + end) / 2
    return centre + (np.arange(t) - (t - 1) / 2) * step


def make_windows(pts_s: np.ndarray, duration_s: float, spec: WindowSpec) -> Windows:
    """Windows for a video given every frame's presentation time."""
    starts, ends = window_times(duration_s, spec)
    interval = float(np.median(np.diff(pts_s))) if len(pts_s) > 1 else duration_s
    times = np.stack([sample_times(s, e, spec, interval) for s, e in zip(starts, ends)])
    # The frame on screen at each sample time, clipped to the video.
    idx = np.searchsorted(pts_s, times + 1e-6, side="right") - 1
    idx = np.clip(idx, 0, len(pts_s) - 1)
    return Windows(starts=starts, ends=ends, frames=idx.astype(np.int64), loop_filter=spec.loop_filter)
