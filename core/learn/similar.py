"""Query by example: the windows nearest to a clip, by cosine of cached MIT video embeddings.

The clip's embedding is the mean of the (normalised) embeddings of the windows that lie at
least half inside it. Windows overlapping the clip itself are left out; the rest go through the
same non-maximum suppression as suggestions, so one event is one hit.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .adapters import LearnError
from .examples import store_for_video, windows_in_bout
from .suggest import Candidates, Suggestion


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def similar_windows(scorer, stores, video: str, start_s: float, end_s: float, n: int = 20) -> list[Suggestion]:
    store = store_for_video(stores, str(video), Path(str(video)).name)
    if store is None:
        raise LearnError(f"{video}: not an indexed video of this project")
    if end_s <= start_s:
        raise LearnError(f"{video}: clip end {end_s:g} s is not after its start {start_s:g} s")
    idx = windows_in_bout(store.starts, store.ends, start_s, end_s)
    if len(idx) == 0:
        raise LearnError(f"{video}: no indexed window lies in {start_s:g}–{end_s:g} s "
                         f"(the video's windows span 0–{store.ends[-1]:g} s)")
    query = _unit(_unit(scorer.video_embeddings(store)[idx]).mean(axis=0))
    sims = [_unit(scorer.video_embeddings(s)) @ query for s in stores]
    cands = Candidates.build(stores, sims)
    cands.exclude(next(i for i, s in enumerate(stores) if s is store), start_s, end_s)
    out = []
    for row in np.argsort(-cands.scores, kind="stable"):
        if len(out) >= n:
            break
        if cands.available[row]:
            out.append(cands.take(int(row), "similar", f"cosine {cands.scores[row]:.3f} to "
                                                       f"{store.meta.get('video_name')} {start_s:g}–{end_s:g} s"))
    return out
