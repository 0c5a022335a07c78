"""Which clips to show the user next, for one behaviour.

``suggest_clips`` is the one call the desktop app makes. It ranks the score curves the session
already holds with ``ethoscout.core.learn.suggest.rank_suggestions`` (no rescoring, so the next
clip is there at once after an answer). Numpy only, no model.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ethoscout.core.learn.suggest import rank_suggestions


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
    imply, diverse across videos). ``labels`` are the behaviour's labels (rows of
    Project.labels); ``videos`` maps video id to its row."""
    skip = skip or set()
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
