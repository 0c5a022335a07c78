"""Transition matrices: how often behaviour A is followed by behaviour B.

A subject's sequence in one video is its events ordered by start time (state and point events
alike, as BORIS's behavioural sequences); each consecutive pair is one transition, a behaviour
followed by itself included. Probabilities are the counts divided by their row total (empty
where a behaviour is never followed by anything).

Three scopes, one table (long format: one row per from x to):
- ``observation``: per video x subject;
- ``interval``: per video x subject x time interval, a transition counted in the interval where
  the second event starts;
- ``mean``: per subject, the average over its observations of the probability matrices (a row
  averaged over the observations where that behaviour is followed by something) and of the
  counts (over all its observations).
"""
from __future__ import annotations

import math
import warnings
from collections import defaultdict

import numpy as np

from .events import Coding

COLUMNS = ("scope", "video", "subject", "interval_start_s", "interval_end_s", "from", "to",
           "count", "probability")


def sequences(coding: Coding) -> dict[tuple[str, str], list]:
    """(video, subject) -> events in start order."""
    out: dict[tuple[str, str], list] = defaultdict(list)
    for e in sorted(coding.events, key=lambda e: (e.video, e.subject, e.start, e.end, e.behavior)):
        out[(e.video, e.subject)].append(e)
    return dict(out)


def count_matrix(events, behaviors: list[str], interval_s: float | None = None,
                 interval: int | None = None) -> np.ndarray:
    index = {b: i for i, b in enumerate(behaviors)}
    m = np.zeros((len(behaviors), len(behaviors)), dtype=np.int64)
    for a, b in zip(events, events[1:]):
        if interval_s is not None and int(b.start // interval_s) != interval:
            continue
        m[index[a.behavior], index[b.behavior]] += 1
    return m


def probabilities(counts: np.ndarray) -> np.ndarray:
    totals = counts.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, counts / np.maximum(totals, 1), np.nan)


def _rows(scope, video, subject, start, end, behaviors, counts, probs) -> list[dict]:
    return [{"scope": scope, "video": video, "subject": subject, "interval_start_s": start,
             "interval_end_s": end, "from": a, "to": b, "count": counts[i, j],
             "probability": None if math.isnan(probs[i, j]) else float(probs[i, j])}
            for i, a in enumerate(behaviors) for j, b in enumerate(behaviors)]


def transitions(coding: Coding, interval_s: float | None = None) -> list[dict]:
    used = {e.behavior for e in coding.events}
    behaviors = [b for b in coding.behaviors if b in used] + sorted(used - set(coding.behaviors))
    rows: list[dict] = []
    per_subject: dict[str, list[tuple[np.ndarray, np.ndarray]]] = defaultdict(list)
    for (video, subject), events in sequences(coding).items():
        counts = count_matrix(events, behaviors)
        probs = probabilities(counts)
        per_subject[subject].append((counts, probs))
        rows += _rows("observation", video, subject, None, None, behaviors, counts, probs)
        if interval_s:
            last = max(e.start for e in events)
            for k in range(int(last // interval_s) + 1):
                c = count_matrix(events, behaviors, interval_s, k)
                rows += _rows("interval", video, subject, k * interval_s, (k + 1) * interval_s,
                              behaviors, c, probabilities(c))
    for subject, mats in sorted(per_subject.items()):
        counts = np.mean([c for c, _ in mats], axis=0)
        stack = np.stack([p for _, p in mats])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a row nothing ever follows
            probs = np.nanmean(stack, axis=0)
        rows += _rows("mean", "", subject, None, None, behaviors, counts, probs)
    return rows

