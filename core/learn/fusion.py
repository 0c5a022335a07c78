"""The score a user sees: the text prior fused with the behaviour's instant head.

Without both an accepted and a rejected (or other-behaviour) window, the fused score IS the
text prior (mean cosine over the behaviour's prompts), unchanged. With them, each component is
standardised over all windows of the project and the fused score is

    alpha * z(prior) + (1 - alpha) * z(head log-odds)

with alpha picked from a grid by cross-validation over the labels (stacking): the head is refit
without each fold of labelled bouts, the fold's windows get the refit head's scores, and the
alpha whose pooled ranking of those out-of-fold windows has the best average precision wins
(alpha 1 = prior alone, 0 = head alone, so a component that does not help gets no weight).
Folds group whole bouts (runs of adjacent labelled windows), or whole videos when the labels
span several, and a training window that overlaps a held-out one in time is left out (purged):
overlapping windows share frames and would leak.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .heads import PENALTY, ProjectWindows, fit_logistic
from .metrics import average_precision

ALPHAS = np.round(np.linspace(0.0, 1.0, 11), 2)
MAX_FOLDS = 5


def zscore(x: np.ndarray) -> np.ndarray:
    sd = float(np.std(x))
    return (x - float(np.mean(x))) / (sd if sd > 1e-12 else 1.0)


@dataclass
class Fused:
    prior: np.ndarray  # (N,) the text prior, as scored today
    fused: np.ndarray  # (N,) what curves and suggestions use
    head: np.ndarray | None = None  # (N,) head log-odds (None: no head, fused == prior)
    alpha: float | None = None  # weight of the prior
    folds: int = 0  # cross-validation folds behind alpha (0: default weight)

    def component(self, name: str) -> np.ndarray | None:
        return {"prior": self.prior, "head": self.head, "fused": self.fused}[name]


def bout_groups(windows: ProjectWindows, rows: np.ndarray) -> np.ndarray:
    """A group per video when the rows span at least 3 videos, else per run of adjacent rows."""
    store = windows.store_of(rows)
    if len(np.unique(store)) >= 3:
        return store
    order = np.argsort(rows, kind="stable")
    group = np.zeros(len(rows), np.int64)
    g = 0
    for k in range(1, len(order)):
        a, b = rows[order[k - 1]], rows[order[k]]
        if b != a + 1 or store[order[k]] != store[order[k - 1]]:
            g += 1
        group[order[k]] = g
    return group


def purge(windows: ProjectWindows, starts: np.ndarray, ends: np.ndarray, train: np.ndarray,
          test: np.ndarray) -> np.ndarray:
    """Training rows that share no time with a test row of the same video."""
    keep = np.ones(len(train), bool)
    st_train, st_test = windows.store_of(train), windows.store_of(test)
    for si in np.unique(st_test):
        t = test[st_test == si]
        mine = np.flatnonzero(st_train == si)
        if len(mine) == 0:
            continue
        r = train[mine]
        overlap = (np.minimum(ends[r][:, None], ends[t][None, :]) -
                   np.maximum(starts[r][:, None], starts[t][None, :])) > 1e-6
        keep[mine[overlap.any(axis=1)]] = False
    return train[keep]


def group_folds(groups: np.ndarray, k: int = MAX_FOLDS) -> list[np.ndarray]:
    """Indices per fold; whole groups, interleaved in order of first appearance."""
    uniq = list(dict.fromkeys(groups.tolist()))
    k = min(k, len(uniq))
    fold_of = {g: i % k for i, g in enumerate(uniq)} if k else {}
    return [np.flatnonzero(np.array([fold_of[g] == f for g in groups.tolist()])) for f in range(k)]


def reference_rows(n: int, size: int = 1024) -> slice:
    """An even spread of rows (a view, no copy) on which a fold head's scores are standardised:
    all rows of a small project, a sample of a big one (the same scale at a fraction of the cost)."""
    return slice(None, None, max(1, n // size))


def out_of_fold_head(windows: ProjectWindows, x: np.ndarray, rows: np.ndarray, y: np.ndarray,
                     weights: np.ndarray | None, groups: np.ndarray, penalty: float) -> tuple[np.ndarray, np.ndarray]:
    """(indices into rows that got a held-out score, their z-scored head scores)."""
    starts, ends = windows.times()
    got, scores = [], []
    for test_idx in group_folds(groups):
        train_idx = np.setdiff1d(np.arange(len(rows)), test_idx)
        kept = purge(windows, starts, ends, rows[train_idx], rows[test_idx])
        train_idx = train_idx[np.isin(rows[train_idx], kept)]
        if not ((y[train_idx] == 1).any() and (y[train_idx] == 0).any()):
            continue
        head = fit_logistic(x[rows[train_idx]], y[train_idx],
                            None if weights is None else weights[train_idx], penalty)
        ref = head.decision(x[reference_rows(len(x))])  # the scale of the fold head's scores
        mean, sd = float(ref.mean()), float(ref.std()) or 1.0
        got.append(test_idx)
        scores.append((head.decision(x[rows[test_idx]]) - mean) / sd)
    if not got:
        return np.zeros(0, np.int64), np.zeros(0)
    return np.concatenate(got), np.concatenate(scores)


def choose_alpha(z_prior: np.ndarray, oof_idx: np.ndarray, oof_head: np.ndarray, y: np.ndarray) -> float:
    """The grid alpha with the best pooled out-of-fold average precision (ties: more prior)."""
    yy = y[oof_idx] == 1
    best, best_ap = 0.5, -1.0
    for a in ALPHAS:
        ap = average_precision(a * z_prior[oof_idx] + (1 - a) * oof_head, yy)
        if ap >= best_ap - 1e-12:
            best, best_ap = float(a), ap
    return best


def fit_fused(windows: ProjectWindows, prior: np.ndarray, rows: np.ndarray, y: np.ndarray,
              weights: np.ndarray | None = None, feature_set: str = "both", penalty: float = PENALTY,
              alpha: float | None = None) -> Fused:
    """Fused scores over all windows from labelled ``rows`` (targets ``y`` 0/1). ``alpha``
    fixes the prior's weight instead of cross-validating it."""
    prior = np.asarray(prior)
    rows = np.asarray(rows, dtype=np.int64)
    y = np.asarray(y)
    if not ((y == 1).any() and (y == 0).any()):
        return Fused(prior, prior.copy())
    x = windows.features(feature_set)
    head = fit_logistic(x[rows], y, weights, penalty).decision(x)
    z_prior, z_head = zscore(prior), zscore(head)
    folds = 0
    if alpha is None:
        oof_idx, oof_head = out_of_fold_head(windows, x, rows, y, weights, bout_groups(windows, rows), penalty)
        has_both = len(oof_idx) and (y[oof_idx] == 1).any() and (y[oof_idx] == 0).any()
        alpha = choose_alpha(z_prior[rows], oof_idx, oof_head, y) if has_both else 0.5
        folds = len(group_folds(bout_groups(windows, rows))) if has_both else 0
    return Fused(prior, alpha * z_prior + (1 - alpha) * z_head, head, float(alpha), folds)
