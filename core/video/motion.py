"""Motion per window without any model weights: dense optical flow and frame differences.

Computed from the very frames the indexer decodes for the vision tower (224-px crops), so
indexing decodes nothing twice. For each pair of consecutive sampled frames of a window, OpenCV's
DIS optical flow on grey images gives a speed per pixel (pixels of the 224-px crop per second);
the pair is reduced to magnitude statistics, a 4x4 grid of mean speed, a magnitude-weighted
direction histogram and frame-difference figures. A window's descriptor is the mean over its
pairs, plus the peak and spread of the pairs' mean speed and the fraction of pairs in which
nothing moves (immobility). Overlapping windows share frame pairs; a small cache computes each
pair once.

``activity`` (the 99th percentile of speed: the fastest-moving 1% of the image, i.e. the animal
rather than the still background) drives the timeline's activity row and ``still_bouts``
(freezing / immobility by a threshold, no model at all).
"""
from __future__ import annotations

from collections import OrderedDict

import cv2
import numpy as np

MOTION_ARRAY = "motion_v1"  # cache array name; a new descriptor gets a new name (old stores refill)
GRID = 4
DIRECTIONS = 8
STILL_SPEED = 3.0  # px/s at 224 px: a pair whose 99th-percentile speed is below this is "still"
PRESETS = {"ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST, "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
           "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM}

_PAIR_COLUMNS = (["speed_mean", "speed_std", "speed_p50", "speed_p90", "speed_p99"]
                 + [f"grid_{r}{c}" for r in range(GRID) for c in range(GRID)]
                 + [f"direction_{k}" for k in range(DIRECTIONS)]
                 + ["diff_mean", "diff_changed"])
MOTION_COLUMNS = tuple(_PAIR_COLUMNS + ["speed_peak", "speed_temporal_std", "still_fraction"])
MOTION_DIM = len(MOTION_COLUMNS)
ACTIVITY = MOTION_COLUMNS.index("speed_p99")
STILL = MOTION_COLUMNS.index("still_fraction")
_P99 = _PAIR_COLUMNS.index("speed_p99")


def grey(frame: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY) if frame.ndim == 3 else frame


def pair_descriptor(flow_fn, a: np.ndarray, b: np.ndarray, dt: float) -> np.ndarray:
    """Figures of one pair of grey frames ``dt`` seconds apart (see _PAIR_COLUMNS)."""
    flow = flow_fn(a, b)
    mag, ang = cv2.cartToPolar(flow[..., 0], flow[..., 1])
    speed = mag / max(dt, 1e-6)
    sub = speed[::2, ::2].ravel()
    p50, p90, p99 = np.percentile(sub, (50, 90, 99))
    grid = cv2.resize(speed, (GRID, GRID), interpolation=cv2.INTER_AREA).ravel()
    bins = np.minimum((ang * (DIRECTIONS / (2 * np.pi))).astype(np.int32), DIRECTIONS - 1)
    hist = np.bincount(bins.ravel(), weights=mag.ravel(), minlength=DIRECTIONS)
    hist = hist / hist.sum() if hist.sum() > 1e-6 else np.zeros(DIRECTIONS)
    diff = cv2.absdiff(a, b).astype(np.float32) / 255.0
    return np.concatenate([[speed.mean(), speed.std(), p50, p90, p99], grid, hist,
                           [diff.mean(), float((diff > 0.06).mean())]]).astype(np.float32)


class MotionExtractor:
    """Per-window motion descriptor; call with a window's frames (T, H, W[, 3]) uint8 and
    their frame indices. ``times_s`` (every frame's presentation time) turns frame gaps into
    seconds."""

    def __init__(self, times_s: np.ndarray, preset: str = "ultrafast", cache_pairs: int = 64):
        self.times = np.asarray(times_s, dtype=np.float64)
        self._dis = cv2.DISOpticalFlow_create(PRESETS[preset])
        self._pairs: OrderedDict = OrderedDict()
        self._cache_pairs = cache_pairs

    def _flow(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return self._dis.calc(a, b, None)

    def _pair(self, i: int, j: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        key = (i, j)
        if key not in self._pairs:
            dt = float(self.times[j] - self.times[i]) if len(self.times) > j else 1.0
            self._pairs[key] = pair_descriptor(self._flow, grey(a), grey(b), dt)
            if len(self._pairs) > self._cache_pairs:
                self._pairs.popitem(last=False)
        return self._pairs[key]

    def __call__(self, frames: np.ndarray, frame_idx) -> np.ndarray:
        idx = [int(i) for i in frame_idx]
        pairs = [self._pair(idx[k], idx[k + 1], frames[k], frames[k + 1])
                 for k in range(len(idx) - 1) if idx[k + 1] > idx[k]]
        if not pairs:  # a single distinct frame: nothing can be said to move
            out = np.zeros(MOTION_DIM, np.float32)
            out[STILL] = 1.0
            return out
        p = np.stack(pairs)
        means = p[:, 0]
        return np.concatenate([p.mean(axis=0), [means.max(), means.std(),
                                                float((p[:, _P99] < STILL_SPEED).mean())]]).astype(np.float32)


def activity(motion: np.ndarray) -> np.ndarray:
    """(N,) how much moves in each window: the 99th-percentile speed, px/s at 224 px."""
    return np.asarray(motion[:, ACTIVITY], dtype=np.float64)


def still_bouts(starts: np.ndarray, ends: np.ndarray, motion: np.ndarray, threshold: float = STILL_SPEED,
                min_s: float = 2.0) -> list[tuple[float, float]]:
    """Immobility (freezing) bouts: runs of consecutive windows whose activity stays below
    ``threshold``, from the first one's start to the last one's end, at least ``min_s`` long."""
    still = np.concatenate([[False], activity(motion) < threshold, [False]])
    edges = np.flatnonzero(np.diff(still.astype(np.int8)))
    bouts = [(float(starts[a]), float(ends[b - 1])) for a, b in zip(edges[::2], edges[1::2])]
    return [b for b in bouts if b[1] - b[0] >= min_s - 1e-9]
