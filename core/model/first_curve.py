"""A new text's curve fast: approximate over every window first, then exact, refined in place.

A query's cost is the prompt generator (scoring.prompt_text): per window, two cross-attention
layers and two MLPs. The first curve runs it exactly on a budget of evenly spaced windows only
(anchors) and, between anchors, interpolates the prompted text embedding linearly along the
window index. Every window keeps its own video embedding, so the curve keeps its window-to-window
detail; only the video-specific prompt is approximated, and it varies slowly where neighbouring
windows overlap. The exact pass then runs scoring.cosine_scores chunk by chunk (visible range
first when given) and replaces the approximation in place: its final numbers are the exact path's.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np
import torch
import torch.nn.functional as F

from .scoring import cosine_scores, prompt_text

ANCHORS = 450  # prompt-generator runs for the first curve: ~1/8 of an hour's 3,600 windows
CHUNK = 1024  # windows per exact step: each step is one refinement the caller can show


@dataclass
class PartialCurve:
    scores: np.ndarray  # (N, K) cosines; exact where ``exact`` is set, interpolated elsewhere
    exact: np.ndarray  # (N,) bool

    @property
    def done(self) -> bool:
        return bool(self.exact.all())


def anchor_rows(n: int, budget: int = ANCHORS) -> np.ndarray:
    """Evenly spaced window rows, first and last included, at most ``budget`` of them."""
    return np.unique(np.linspace(0, n - 1, budget).round().astype(np.int64))


def interpolate_rows(values: torch.Tensor, rows: np.ndarray, n: int) -> torch.Tensor:
    """values (A, ...) known at sorted ``rows`` -> (n, ...) linear along the row index."""
    pos = np.arange(n)
    right = np.clip(np.searchsorted(rows, pos), 1, max(len(rows) - 1, 1))
    left = right - 1
    if len(rows) == 1:
        return values[np.zeros(n, np.int64)]
    span = (rows[right] - rows[left]).astype(np.float32)
    w = torch.from_numpy(np.clip((pos - rows[left]) / span, 0.0, 1.0).astype(np.float32))
    w = w.to(values.device).view(-1, *([1] * (values.dim() - 1)))
    return torch.lerp(values[left], values[right], w)


def exact_order(n: int, chunk: int, first: tuple[int, int] | None) -> list[tuple[int, int]]:
    """Chunks covering 0..n, those overlapping rows ``first`` = (start, stop) first."""
    spans = [(i, min(i + chunk, n)) for i in range(0, n, chunk)]
    if first is None:
        return spans
    lo, hi = first
    return sorted(spans, key=lambda s: not (s[0] < hi and s[1] > lo))


@torch.inference_mode()
def progressive_scores(model, video: torch.Tensor, text: torch.Tensor, visual: torch.Tensor,
                       anchors: int = ANCHORS, chunk: int = CHUNK,
                       first: tuple[int, int] | None = None) -> Iterator[PartialCurve]:
    """video (N, D), text (K, D), visual = prompt_visual(...) (N, P, D). Yields the approximate
    curve, then one refinement per exact chunk; the last one is exact (``done``)."""
    n = len(video)
    if n <= anchors:  # as cheap as the approximation: exact at once
        scores = cosine_scores(model, video.float(), text, visual=visual.float()).cpu().numpy()
        yield PartialCurve(scores, np.ones(n, bool))
        return
    rows = anchor_rows(n, anchors)
    at_anchors = prompt_text(model, text, visual[torch.from_numpy(rows)].float())  # (A, K, D)
    prompted = interpolate_rows(at_anchors, rows, n)
    unit_video = F.normalize(video.float(), dim=-1)
    scores = torch.einsum("nd,nkd->nk", unit_video, F.normalize(prompted, dim=-1)).cpu().numpy()
    exact = np.zeros(n, bool)
    exact[rows] = True  # anchors carry their own prompt: exact up to float rounding
    yield PartialCurve(scores.copy(), exact.copy())
    for lo, hi in exact_order(n, chunk, first):
        if exact[lo:hi].all():
            continue
        scores[lo:hi] = cosine_scores(model, video[lo:hi].float(), text, visual=visual[lo:hi].float()).cpu().numpy()
        exact[lo:hi] = True
        yield PartialCurve(scores.copy(), exact.copy())


def progressive_query(scorer, store, texts: list[str], first: tuple[int, int] | None = None,
                      anchors: int = ANCHORS, chunk: int = CHUNK) -> Iterator[PartialCurve]:
    """progressive_scores over a QueryScorer's tensors for one store (N windows, K texts)."""
    held = scorer.window_tensors(store)  # kept on the CPU, patch features as cached
    dev = scorer.loaded.device
    video = held.video.to(dev)
    visual = held.visual(0, len(held), scorer.model, dev)
    text = scorer.text_tensor(texts)
    yield from progressive_scores(scorer.model, video, text, visual, anchors, chunk, first)
