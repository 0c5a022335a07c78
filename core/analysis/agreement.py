"""Agreement between two codings (two observers, or a person and the model).

- Cohen's kappa at a time resolution: each video is cut into bins of ``resolution_s``; a bin's
  category is the set of (subject, behaviour) pairs whose state covers the bin's centre, or
  whose point event falls in the bin (BORIS's kappa compares such combinations). Kappa =
  (po - pe) / (1 - pe) with pe from the two coders' category frequencies; also per behaviour
  (present / absent in the bin). Undefined (empty) when pe = 1.
- Bouts: per behaviour, bouts of the candidate coding are matched one-to-one to bouts of the
  reference of the same video and subject, highest intersection-over-union first, when IoU >=
  the threshold (point events: when within ``point_tolerance_s``). Unmatched candidates are
  false positives, unmatched reference bouts false negatives.
"""
from __future__ import annotations

import math
from collections import Counter

import numpy as np

from .events import Coding, Event

KAPPA_COLUMNS = ("behavior", "kappa", "observed_agreement", "chance_agreement", "bins",
                 "resolution_s")
BOUT_COLUMNS = ("behavior", "reference_bouts", "candidate_bouts", "true_positives",
                "false_positives", "false_negatives", "precision", "recall", "f1", "mean_iou",
                "iou_threshold")
ALL = "(all behaviours)"


def cohen_kappa(a: list, b: list) -> tuple[float | None, float, float]:
    """(kappa, observed agreement, chance agreement) of two equally long category lists."""
    if len(a) != len(b) or not a:
        raise ValueError("kappa needs two category lists of the same, non-zero length")
    n = len(a)
    po = sum(x == y for x, y in zip(a, b)) / n
    ca, cb = Counter(a), Counter(b)
    pe = sum(ca[k] * cb.get(k, 0) for k in ca) / (n * n)
    kappa = None if math.isclose(pe, 1.0) else (po - pe) / (1 - pe)
    return kappa, po, pe


def bin_categories(events: list[Event], duration_s: float, resolution_s: float) -> list[frozenset]:
    n = max(1, int(math.ceil(duration_s / resolution_s - 1e-9)))
    centres = (np.arange(n) + 0.5) * resolution_s
    bins: list[set] = [set() for _ in range(n)]
    for e in events:
        key = (e.subject, e.behavior)
        if e.kind == "point":
            k = min(n - 1, int(e.start // resolution_s))
            bins[k].add(key)
            continue
        first, last = np.searchsorted(centres, [e.start, e.end], side="left")
        for k in range(first, last):
            bins[k].add(key)
    return [frozenset(x) for x in bins]


def kappa_table(reference: Coding, candidate: Coding, resolution_s: float = 1.0) -> list[dict]:
    if resolution_s <= 0:
        raise ValueError("the time resolution must be positive")
    videos = sorted(set(reference.observed) | set(candidate.observed))
    a: list[frozenset] = []
    b: list[frozenset] = []
    for v in videos:
        duration = max(reference.observed.get(v, 0.0), candidate.observed.get(v, 0.0))
        a += bin_categories([e for e in reference.events if e.video == v], duration, resolution_s)
        b += bin_categories([e for e in candidate.events if e.video == v], duration, resolution_s)
    if not a:
        return []
    rows = [_kappa_row(ALL, a, b, resolution_s)]
    used = {e.behavior for e in reference.events} | {e.behavior for e in candidate.events}
    for behavior in [x for x in reference.behaviors if x in used] + sorted(used - set(reference.behaviors)):
        rows.append(_kappa_row(behavior, [any(k[1] == behavior for k in x) for x in a],
                               [any(k[1] == behavior for k in x) for x in b], resolution_s))
    return rows


def _kappa_row(name, a, b, resolution_s) -> dict:
    kappa, po, pe = cohen_kappa(a, b)
    return {"behavior": name, "kappa": kappa, "observed_agreement": po, "chance_agreement": pe,
            "bins": len(a), "resolution_s": resolution_s}


def iou(a: Event, b: Event) -> float:
    inter = min(a.end, b.end) - max(a.start, b.start)
    union = max(a.end, b.end) - min(a.start, b.start)
    return max(0.0, inter) / union if union > 0 else 0.0


def match_bouts(reference: list[Event], candidate: list[Event], iou_threshold: float = 0.5,
                point_tolerance_s: float = 0.5) -> list[tuple[Event, Event, float]]:
    """One-to-one matches (reference, candidate, overlap) of the same video and subject."""
    pairs = []
    for i, r in enumerate(reference):
        for j, c in enumerate(candidate):
            if (r.video, r.subject) != (c.video, c.subject):
                continue
            if r.kind == "point" or c.kind == "point":
                gap = abs(r.start - c.start)
                if gap <= point_tolerance_s:
                    pairs.append((1.0 - gap / (point_tolerance_s + 1e-9), i, j))  # nearest first
                continue
            o = iou(r, c)
            if o >= iou_threshold and o > 0:
                pairs.append((o, i, j))
    pairs.sort(key=lambda p: (-p[0], p[1], p[2]))
    used_r, used_c, out = set(), set(), []
    for o, i, j in pairs:
        if i in used_r or j in used_c:
            continue
        used_r.add(i)
        used_c.add(j)
        out.append((reference[i], candidate[j], iou(reference[i], candidate[j])
                    if reference[i].kind == candidate[j].kind == "state" else 1.0))
    return out


def bout_table(reference: Coding, candidate: Coding, iou_threshold: float = 0.5,
               point_tolerance_s: float = 0.5) -> list[dict]:
    if not 0 < iou_threshold <= 1:
        raise ValueError("the IoU threshold must be in (0, 1]")
    used = {e.behavior for e in reference.events} | {e.behavior for e in candidate.events}
    rows = []
    for behavior in [x for x in reference.behaviors if x in used] + sorted(used - set(reference.behaviors)):
        ref = [e for e in reference.events if e.behavior == behavior]
        cand = [e for e in candidate.events if e.behavior == behavior]
        matches = match_bouts(ref, cand, iou_threshold, point_tolerance_s)
        tp = len(matches)
        fp, fn = len(cand) - tp, len(ref) - tp
        precision = tp / (tp + fp) if tp + fp else None
        recall = tp / (tp + fn) if tp + fn else None
        f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else None
        rows.append({"behavior": behavior, "reference_bouts": len(ref), "candidate_bouts": len(cand),
                     "true_positives": tp, "false_positives": fp, "false_negatives": fn,
                     "precision": precision, "recall": recall, "f1": f1,
                     "mean_iou": sum(m[2] for m in matches) / tp if tp else None,
                     "iou_threshold": iou_threshold})
    return rows
