"""Which clips to show the user next, for one behaviour.

``suggest_clips`` is the one call the desktop app makes. It ranks the score curves the session
already holds with ``ethoscout.core.learn.suggest.rank_suggestions`` (no rescoring, so the next
clip is there at once after an answer). ``rank_windows`` is the fallback when core.learn is
absent: highest score first, windows overlapping an answered bout or a better window left out,
every fourth pick near the median score. Numpy only, no model.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Suggestion:
    video_id: int
    behavior_id: int
    start_s: float
    end_s: float
    score: float
    strategy: str = "top"  # top | uncertain | diverse
    reason: str = ""  # why it was picked, in words

    def key(self) -> tuple:
        return (self.video_id, self.behavior_id, round(self.start_s, 3), round(self.end_s, 3))


def _overlap(a0, a1, b0, b1) -> float:
    inter = max(0.0, min(a1, b1) - max(a0, b0))
    return inter / max(1e-9, min(a1 - a0, b1 - b0))


def rank_windows(curves: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]], behavior_id: int,
                 answered: list[tuple[int, float, float]], limit: int = 50,
                 max_overlap: float = 0.5, uncertain_every: int = 4,
                 skip: set | None = None) -> list[Suggestion]:
    """``curves``: {video id: (starts, ends, scores)} for the behaviour; ``answered``: (video id,
    start, end) of bouts already labelled for it. Returns at most ``limit`` suggestions."""
    cand = []
    for vid, (starts, ends, scores) in curves.items():
        for i in range(len(scores)):
            if np.isfinite(scores[i]):
                cand.append((float(scores[i]), vid, float(starts[i]), float(ends[i])))
    if not cand:
        return []
    cand.sort(key=lambda c: -c[0])
    median = float(np.median([c[0] for c in cand]))
    by_uncertainty = sorted(cand, key=lambda c: abs(c[0] - median))
    taken: dict[int, list[tuple[float, float]]] = {}
    for vid, a, b in answered:
        taken.setdefault(vid, []).append((a, b))
    skip = skip or set()
    out: list[Suggestion] = []
    tops, unsure = iter(cand), iter(by_uncertainty)

    def pick(source, reason) -> bool:
        for score, vid, a, b in source:
            if any(_overlap(a, b, x, y) > max_overlap for x, y in taken.get(vid, [])):
                continue
            s = Suggestion(vid, behavior_id, a, b, score, reason,
                           "best score" if reason == "top" else "near the middle of the scores")
            if s.key() in skip:
                continue
            taken.setdefault(vid, []).append((a, b))
            out.append(s)
            return True
        return False

    while len(out) < limit:
        uncertain_turn = uncertain_every and (len(out) + 1) % uncertain_every == 0
        if uncertain_turn:
            if not pick(unsure, "uncertain") and not pick(tops, "top"):
                break
        elif not pick(tops, "top") and not pick(unsure, "uncertain"):
            break
    return out


class _CurveStore:
    """What core.learn's ranking reads from a feature store, built from a score curve."""

    def __init__(self, video: dict, starts: np.ndarray, ends: np.ndarray):
        self.meta = {"video_path": video["path"], "video_name": video["name"]}
        self.starts = np.asarray(starts, float)
        self.ends = np.asarray(ends, float)

    def __len__(self) -> int:
        return len(self.starts)


def suggest_clips(curves: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]], behavior_id: int,
                  labels: list[dict], videos: dict[int, dict], limit: int = 30,
                  skip: set | None = None) -> list[Suggestion]:
    """The ranking the app uses: core.learn's (top, uncertain near the boundary the answers
    imply, diverse across videos), else ``rank_windows``. ``labels`` are the behaviour's labels
    (rows of Project.labels); ``videos`` maps video id to its row."""
    skip = skip or set()
    try:
        from ethoscout.core.learn.suggest import rank_suggestions
    except ImportError:  # core.learn not installed: the simple ranking
        answered = [(lab["video_id"], lab["start_s"], lab["end_s"]) for lab in labels]
        return rank_windows(curves, behavior_id, answered, limit=limit, skip=skip)
    ids = [vid for vid in curves if vid in videos and len(curves[vid][2])]
    if not ids:
        return []
    stores = [_CurveStore(videos[vid], curves[vid][0], curves[vid][1]) for vid in ids]
    by_path = {videos[vid]["path"]: vid for vid in ids}
    picks = rank_suggestions(stores, [np.asarray(curves[vid][2], float) for vid in ids], labels,
                             n=limit + len(skip))
    out = []
    for p in picks:
        vid = by_path.get(p.video_path)
        if vid is None:
            continue
        s = Suggestion(vid, behavior_id, float(p.start), float(p.end), float(p.score),
                       p.strategy, p.reason)
        if s.key() not in skip:
            out.append(s)
    return out[:limit]
