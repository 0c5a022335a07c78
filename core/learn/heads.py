"""Instant heads: per behaviour, a regularised logistic regression over cached window features.

Feature sets (all from the cache, nothing decoded or encoded again):
- ``embedding``: the MIT video embedding (what the text prior compares against, so it follows
  the active adapter) and the patch features pooled over the frame, each L2-normalised;
- ``motion``: the weights-free motion descriptor (core/video/motion.py), log1p-compressed;
- ``both``: the two side by side.
Every column is standardised over all windows of the project (labels play no part, so a
standardisation never leaks a held-out label). A store indexed before motion existed has
zeros (the mean) in its motion columns.

The fit is Newton's method on an L2-penalised, class-balanced log loss, solved in the span of
the labelled rows (thin SVD), so it costs a few small matrix products however many columns
there are; a refit after one more answer takes milliseconds.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..video.motion import MOTION_ARRAY, MOTION_DIM

FEATURE_SETS = ("embedding", "motion", "both")
PENALTY = 1.0  # L2 weight on a mean log loss over standardised columns


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def _standardise(x: np.ndarray) -> np.ndarray:
    mean = x.mean(axis=0, keepdims=True)
    std = x.std(axis=0, keepdims=True)
    return ((x - mean) / np.where(std > 1e-8, std, 1.0)).astype(np.float32)


@dataclass
class ProjectWindows:
    """Every window of a list of stores, flattened in store order, with its head features."""

    stores: list
    offsets: np.ndarray  # (S+1,) first row of each store, then the total
    embedding: np.ndarray  # (N, De) standardised
    motion: np.ndarray  # (N, Dm) standardised
    has_motion: np.ndarray  # (S,) whether each store has motion descriptors
    video: np.ndarray  # (N, D) unit MIT embeddings (query by example)
    _both: np.ndarray | None = field(default=None, repr=False)

    @classmethod
    def build(cls, scorer, stores) -> "ProjectWindows":
        emb, mot, has, videos = [], [], [], []
        for s in stores:
            video = _unit(scorer.video_embeddings(s).astype(np.float32))
            pooled = _unit(np.asarray(s.img_features, dtype=np.float32).mean(axis=1))
            emb.append(np.concatenate([video, pooled], axis=1))
            videos.append(video)
            m = s.array(MOTION_ARRAY)
            has.append(m is not None)
            mot.append(np.log1p(np.maximum(np.asarray(m, dtype=np.float32), 0)) if m is not None else None)
        offsets = np.concatenate([[0], np.cumsum([len(s) for s in stores])]).astype(np.int64)
        motion = np.zeros((int(offsets[-1]), MOTION_DIM), np.float32)
        if any(has):
            known = np.concatenate([m for m in mot if m is not None])
            z = _standardise(known)
            at = 0
            for si, m in enumerate(mot):
                if m is not None:
                    motion[offsets[si]:offsets[si + 1]] = z[at:at + len(m)]
                    at += len(m)
        return cls(list(stores), offsets, _standardise(np.concatenate(emb)), motion, np.array(has),
                   np.concatenate(videos))

    def __len__(self) -> int:
        return int(self.offsets[-1])

    def features(self, name: str) -> np.ndarray:
        if name == "embedding":
            return self.embedding
        if name == "motion":
            return self.motion
        if name == "both":
            if self._both is None:
                self._both = np.concatenate([self.embedding, self.motion], axis=1)
            return self._both
        raise ValueError(f"unknown feature set {name!r}; use one of {', '.join(FEATURE_SETS)}")

    def rows(self, store_index: np.ndarray, window_index: np.ndarray) -> np.ndarray:
        return self.offsets[np.asarray(store_index)] + np.asarray(window_index)

    def store_of(self, rows: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.offsets, rows, side="right") - 1

    def per_store(self, values: np.ndarray) -> list[np.ndarray]:
        """(N,) -> one array per store."""
        return [values[a:b] for a, b in zip(self.offsets[:-1], self.offsets[1:])]

    def times(self) -> tuple[np.ndarray, np.ndarray]:
        return (np.concatenate([s.starts for s in self.stores]).astype(np.float64),
                np.concatenate([s.ends for s in self.stores]).astype(np.float64))


@dataclass
class LogisticHead:
    """w, b of a linear score x.w + b (log-odds of the behaviour)."""

    w: np.ndarray
    b: float

    def decision(self, x: np.ndarray) -> np.ndarray:
        return x @ self.w + self.b


def balanced_weights(y: np.ndarray, w: np.ndarray | None = None) -> np.ndarray:
    """Positives and negatives weigh the same in total (answers are rarely balanced)."""
    w = np.ones(len(y)) if w is None else np.asarray(w, dtype=np.float64)
    out = w.copy()
    for cls in (0, 1):
        m = y == cls
        if m.any():
            out[m] = w[m] / w[m].sum() * 0.5
    return out


def fit_logistic(x: np.ndarray, y: np.ndarray, weights: np.ndarray | None = None, penalty: float = PENALTY,
                 iterations: int = 25) -> LogisticHead:
    """L2-penalised logistic regression (intercept free), class-balanced. ``y`` 0/1."""
    y = np.asarray(y, dtype=np.float64)
    if not (y == 1).any() or not (y == 0).any():
        raise ValueError("a head needs at least one positive and one negative window")
    sw = balanced_weights(y, weights)
    x = np.asarray(x, dtype=np.float64)
    # w lies in the row space of x: w = V beta with x = U S V^T, so x w = (U S) beta. U and S
    # come from the small (n, n) Gram matrix, V^T = S^-1 U^T x: no SVD of the wide matrix.
    evals, u = np.linalg.eigh(x @ x.T)
    keep = evals > max(evals.max(initial=0), 1e-12) * 1e-10
    s, u = np.sqrt(evals[keep]), u[:, keep]
    vt = (u.T @ x) / s[:, None]
    z = u * s
    r = z.shape[1]
    beta, b = np.zeros(r), 0.0
    for _ in range(iterations):
        p = 1 / (1 + np.exp(-(z @ beta + b)))
        g = sw * (p - y)
        grad = np.concatenate([z.T @ g + penalty * beta, [g.sum()]])
        h = sw * p * (1 - p)
        hess = np.empty((r + 1, r + 1))
        hess[:r, :r] = (z * h[:, None]).T @ z + penalty * np.eye(r)
        hess[:r, r] = hess[r, :r] = z.T @ h
        hess[r, r] = h.sum() + 1e-9
        step = np.linalg.solve(hess, grad)
        beta -= step[:r]
        b -= step[r]
        if np.abs(step).max() < 1e-8:
            break
    return LogisticHead((vt.T @ beta).astype(np.float32), float(b))


def knn_scores(windows: ProjectWindows, pos_rows: np.ndarray) -> np.ndarray:
    """Query by example (as ``ethoscout similar``): cosine of every window's MIT embedding to
    the mean embedding of the positive rows."""
    return windows.video @ _unit(windows.video[pos_rows].mean(axis=0))
