"""Retrieval metrics for one ranked list of windows: Hit@K, NDCG@K, average precision.

Relevance is binary (the window lies in an accepted bout of the behaviour). Tied scores are
handled as the expectation over every order of the tied items (McSherry & Najork, ECIR 2008),
so a model that gives everything the same score earns exactly what a random order earns, and
the result never depends on input order. A list without a relevant item has no Hit@K, NDCG or
AP: those return NaN and averages skip them (``nanmean``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass
class TieGroup:
    before: int  # items ranked above the group
    size: int
    relevant: int
    relevant_before: int  # relevant items ranked above the group


def tie_groups(scores, relevant) -> list[TieGroup]:
    """Groups of equal scores, best first."""
    scores = np.asarray(scores, dtype=np.float64)
    relevant = np.asarray(relevant, dtype=bool)
    if scores.shape != relevant.shape:
        raise ValueError("scores and relevance must have the same length")
    order = np.argsort(-scores, kind="stable")
    s, r = scores[order], relevant[order]
    groups, i, rel_before = [], 0, 0
    while i < len(s):
        j = i
        while j < len(s) and s[j] == s[i]:
            j += 1
        rel = int(r[i:j].sum())
        groups.append(TieGroup(i, j - i, rel, rel_before))
        rel_before += rel
        i = j
    return groups


def hit_at_k(scores, relevant, k: int) -> float:
    """Probability that at least one relevant item is in the top k."""
    groups = tie_groups(scores, relevant)
    if not any(g.relevant for g in groups):
        return math.nan
    for g in groups:
        if g.before >= k:
            return 0.0
        if g.relevant:
            slots = min(k - g.before, g.size)  # positions of this group inside the top k
            return 1.0 - math.comb(g.size - g.relevant, slots) / math.comb(g.size, slots)
    return 0.0


def ndcg_at_k(scores, relevant, k: int) -> float:
    """Normalised discounted cumulative gain over the top k (binary gains, log2 discount)."""
    groups = tie_groups(scores, relevant)
    total_rel = sum(g.relevant for g in groups)
    if total_rel == 0:
        return math.nan
    dcg = 0.0
    for g in groups:
        for pos in range(g.before + 1, min(g.before + g.size, k) + 1):
            dcg += (g.relevant / g.size) / math.log2(pos + 1)
    ideal = sum(1.0 / math.log2(pos + 1) for pos in range(1, min(total_rel, k) + 1))
    return dcg / ideal


def average_precision(scores, relevant) -> float:
    """Mean over relevant items of the precision at their rank (expected over tie orders)."""
    groups = tie_groups(scores, relevant)
    total_rel = sum(g.relevant for g in groups)
    if total_rel == 0:
        return math.nan
    total = 0.0
    for g in groups:
        if not g.relevant:
            continue
        for j in range(1, g.size + 1):  # j-th place inside the group
            others = (j - 1) * (g.relevant - 1) / (g.size - 1) if g.size > 1 else 0.0
            total += (g.relevant / g.size) * (g.relevant_before + 1 + others) / (g.before + j)
    return total / total_rel


def nanmean(values) -> float:
    vals = [v for v in values if v is not None and not math.isnan(v)]
    return float(np.mean(vals)) if vals else math.nan


METRIC_NAMES = ("Hit@1", "Hit@5", "Hit@10", "NDCG@5", "NDCG@10", "AP")


def ranking_metrics(scores, relevant) -> dict[str, float]:
    """The table's columns for one behaviour."""
    return {
        "Hit@1": hit_at_k(scores, relevant, 1),
        "Hit@5": hit_at_k(scores, relevant, 5),
        "Hit@10": hit_at_k(scores, relevant, 10),
        "NDCG@5": ndcg_at_k(scores, relevant, 5),
        "NDCG@10": ndcg_at_k(scores, relevant, 10),
        "AP": average_precision(scores, relevant),
    }


def average_metrics(per_behavior: dict[str, dict[str, float]]) -> dict[str, float]:
    """Mean over behaviours of each metric (the AP mean is mAP)."""
    names = sorted({m for row in per_behavior.values() for m in row}, key=lambda m: (m not in METRIC_NAMES, METRIC_NAMES.index(m) if m in METRIC_NAMES else 0, m))
    return {m: nanmean(row.get(m, math.nan) for row in per_behavior.values()) for m in names}


def uplift(base: float, new: float) -> float:
    """Relative change in percent (NaN when the base is 0 or missing)."""
    if base is None or new is None or math.isnan(base) or math.isnan(new) or base == 0:
        return math.nan
    return 100.0 * (new - base) / base
