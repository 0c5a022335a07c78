"""A new text's curve fast: approximate over every window first, then exact, refined in place.

A query's cost is the prompt generator: per window, two cross-attention layers and two MLPs.
The first curve runs it exactly on a budget of evenly spaced windows only (anchors) and,
between anchors, interpolates the prompted text embedding linearly along the window index.
Every window keeps its own video embedding, so the curve keeps its window-to-window detail;
only the video-specific prompt is approximated, and it varies slowly where neighbouring
windows overlap. The exact pass then scores the other windows chunk by chunk (visible range
first when given) and replaces the approximation in place; anchors are not scored twice. The
final numbers are the exact path's (QueryScorer.score_rows, the same function
QueryScorer.score runs).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np
import torch
import torch.nn.functional as F

ANCHORS = 256  # prompt-generator runs for the first curve: ~1/14 of an hour's 3,600 windows
CHUNK = 512  # windows per exact step: each step is one refinement the caller can show


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
def progressive_scores(n: int, unit_video: torch.Tensor, prompted: Callable[[torch.Tensor], torch.Tensor],
                       exact: Callable[[torch.Tensor], torch.Tensor], anchors: int = ANCHORS,
                       chunk: int = CHUNK, first: tuple[int, int] | None = None) -> Iterator[PartialCurve]:
    """Yields the approximate curve of ``n`` windows, then one refinement per exact chunk; the
    last one is exact (``done``). unit_video (n, D); prompted(rows) -> the prompted texts
    (len(rows), K, D) and exact(rows) -> cosines (len(rows), K), rows an index tensor."""
    if n <= anchors:  # as cheap as the approximation: exact at once
        yield PartialCurve(exact(torch.arange(n)).float().cpu().numpy(), np.ones(n, bool))
        return
    rows = anchor_rows(n, anchors)
    at_anchors = prompted(torch.from_numpy(rows))  # (A, K, D)
    unit = F.normalize(interpolate_rows(at_anchors, rows, n), dim=-1)
    scores = torch.einsum("nd,nkd->nk", unit_video, unit).float().cpu().numpy()
    done = np.zeros(n, bool)
    done[rows] = True  # anchors carry their own prompt: exact up to float rounding
    yield PartialCurve(scores.copy(), done.copy())
    for lo, hi in exact_order(n, chunk, first):
        todo = lo + np.flatnonzero(~done[lo:hi])
        if len(todo) == 0:
            continue
        scores[todo] = exact(torch.from_numpy(todo)).float().cpu().numpy()
        done[todo] = True
        yield PartialCurve(scores.copy(), done.copy())


def progressive_query(scorer, store, texts: list[str], first: tuple[int, int] | None = None,
                      anchors: int = ANCHORS, chunk: int = CHUNK) -> Iterator[PartialCurve]:
    """progressive_scores over a QueryScorer's tensors for one store (N windows, K texts)."""
    from .scoring import prompt_text_raw

    held = scorer.window_tensors(store)  # kept on the CPU, patch features as cached
    text = scorer.text_tensor(texts)

    def prompted(rows: torch.Tensor) -> torch.Tensor:
        return prompt_text_raw(scorer.model, scorer.folded, text, *scorer.raw_inputs(held, rows))

    yield from progressive_scores(len(held), held.unit_video.to(scorer.loaded.device), prompted,
                                  lambda rows: scorer.score_rows(held, text, rows), anchors, chunk, first)
