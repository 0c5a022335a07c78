"""Which clips to ask the user about next (active learning).

For one behaviour, every window of every indexed video gets the scorer's score (mean cosine
over the behaviour's prompts). Windows that overlap a label of that behaviour are never
suggested. Three kinds of suggestion, as JAABA and SLEAP users expect:
- top: the highest scores (most likely examples);
- uncertain: scores nearest the decision boundary the labels so far imply (halfway between
  the mean score of accepted and of rejected windows), or the median score without both;
- diverse: the best window of videos (and then stretches of time) with the fewest labels.
Large projects are scored in two stages (two_stage_scores). Picks suppress their neighbours (non-maximum suppression in time): a top pick claims its whole
bout (the run of adjacent windows still scoring above halfway between the peak and the video's
median) and anything overlapping it, so one event is one suggestion.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from .examples import overlapping_windows, store_for_video, windows_in_bout

STRATEGIES = ("top", "uncertain", "mixed", "diverse")
MIX = {"top": 0.5, "uncertain": 0.3, "diverse": 0.2}
# From ~10 hours of video on, exhaustive scoring takes seconds and its per-window patch features
# no longer fit in memory: rank in two stages instead.
TWO_STAGE_WINDOWS = 36_000


@dataclass
class Suggestion:
    """A clip the GUI can loop (start..end of the best window) and the bout it stands for."""

    video: str
    video_path: str
    start: float
    end: float
    score: float
    strategy: str
    reason: str
    window: int
    bout_start: float
    bout_end: float

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Candidates:
    """All windows of the project, flattened, with their scores for one behaviour."""

    stores: list
    store: np.ndarray
    window: np.ndarray
    starts: np.ndarray
    ends: np.ndarray
    scores: np.ndarray
    available: np.ndarray  # not labelled, not yet suppressed

    @classmethod
    def build(cls, stores, per_store_scores: list[np.ndarray]) -> "Candidates":
        store = np.concatenate([np.full(len(s), i) for i, s in enumerate(stores)]).astype(np.int64)
        window = np.concatenate([np.arange(len(s)) for s in stores]).astype(np.int64)
        starts = np.concatenate([s.starts for s in stores]).astype(np.float64)
        ends = np.concatenate([s.ends for s in stores]).astype(np.float64)
        scores = np.concatenate(per_store_scores).astype(np.float64)
        return cls(list(stores), store, window, starts, ends, scores, np.ones(len(scores), bool))

    def rows_of(self, si: int) -> np.ndarray:
        return np.flatnonzero(self.store == si)

    def exclude(self, si: int, start_s: float, end_s: float) -> None:
        rows = self.rows_of(si)
        self.available[rows[overlapping_windows(self.starts[rows], self.ends[rows], start_s, end_s)]] = False

    def bout(self, row: int, floor: float | None) -> tuple[float, float]:
        """The run of adjacent windows around ``row`` scoring at least ``floor``."""
        rows = self.rows_of(self.store[row])
        k = int(np.searchsorted(rows, row))
        lo = hi = k
        if floor is not None:
            while lo > 0 and self.scores[rows[lo - 1]] >= floor and self.available[rows[lo - 1]]:
                lo -= 1
            while hi < len(rows) - 1 and self.scores[rows[hi + 1]] >= floor and self.available[rows[hi + 1]]:
                hi += 1
        return float(self.starts[rows[lo]]), float(self.ends[rows[hi]])

    def take(self, row: int, strategy: str, reason: str, floor: float | None = None) -> Suggestion:
        """Record a pick and suppress its bout and everything overlapping it."""
        bout_start, bout_end = self.bout(row, floor)
        si = int(self.store[row])
        self.exclude(si, bout_start, bout_end)
        meta = self.stores[si].meta
        return Suggestion(meta.get("video_name", ""), meta["video_path"], float(self.starts[row]),
                          float(self.ends[row]), float(self.scores[row]), strategy, reason,
                          int(self.window[row]), bout_start, bout_end)


def decision_boundary(cands: Candidates, labels: list[dict]) -> tuple[float, str]:
    """Halfway between accepted and rejected windows' mean scores, else the median score."""
    groups = {"accept": [], "reject": []}
    for lab in labels:
        kind = "reject" if lab["verdict"] == "reject" else "accept"
        store = store_for_video(cands.stores, lab.get("video_path"), lab.get("video"))
        if store is None:
            continue
        si = next(i for i, s in enumerate(cands.stores) if s is store)
        rows = cands.rows_of(si)
        idx = windows_in_bout(store.starts, store.ends, lab["start_s"], lab["end_s"])
        groups[kind].extend(cands.scores[rows[idx]].tolist())
    if groups["accept"] and groups["reject"]:
        a, r = float(np.mean(groups["accept"])), float(np.mean(groups["reject"]))
        return (a + r) / 2, f"between accepted ({a:.3f}) and rejected ({r:.3f})"
    return float(np.median(cands.scores)), "the median score (no accepted and rejected labels yet)"


def pick_top(cands: Candidates, n: int, out: list) -> None:
    medians = {si: float(np.median(cands.scores[cands.rows_of(si)])) for si in range(len(cands.stores))}
    for rank, row in enumerate(np.argsort(-cands.scores, kind="stable")):
        if len(out) >= n:
            return
        if cands.available[row]:
            floor = (cands.scores[row] + medians[int(cands.store[row])]) / 2
            out.append(cands.take(row, "top", f"top score {cands.scores[row]:.3f}", floor))


def pick_uncertain(cands: Candidates, n: int, boundary: float, why: str, out: list) -> None:
    for row in np.argsort(np.abs(cands.scores - boundary), kind="stable"):
        if len(out) >= n:
            return
        if cands.available[row]:
            out.append(cands.take(row, "uncertain", f"score {cands.scores[row]:.3f} near the boundary "
                                                    f"{boundary:.3f}, {why}"))


def pick_diverse(cands: Candidates, n: int, labels: list[dict], out: list, rng: np.random.Generator) -> None:
    """Round-robin over videos, fewest labels (then fewest picks) first, best window each."""
    label_count = np.zeros(len(cands.stores))
    for lab in labels:
        store = store_for_video(cands.stores, lab.get("video_path"), lab.get("video"))
        if store is not None:
            label_count[next(i for i, s in enumerate(cands.stores) if s is store)] += 1
    for s in out:
        si = next((i for i, st in enumerate(cands.stores) if st.meta["video_path"] == s.video_path), None)
        if si is not None:
            label_count[si] += 0.5
    tiebreak = rng.permutation(len(cands.stores))
    floor = float(np.median(cands.scores))
    while len(out) < n:
        order = sorted(range(len(cands.stores)), key=lambda si: (label_count[si], tiebreak[si]))
        picked = False
        for si in order:
            rows = cands.rows_of(si)
            rows = rows[cands.available[rows] & (cands.scores[rows] >= floor)]
            if len(rows) == 0:
                continue
            row = rows[np.argmax(cands.scores[rows])]
            where = "no label of this behaviour in this video yet" if label_count[si] == 0 else \
                "another part of a less-labelled video"
            out.append(cands.take(int(row), "diverse", f"score {cands.scores[row]:.3f}; {where}"))
            label_count[si] += 1
            picked = True
            break
        if not picked:
            return


def rank_suggestions(stores, per_store_scores: list[np.ndarray], labels: list[dict], n: int = 20,
                     strategy: str = "mixed", seed: int = 0) -> list[Suggestion]:
    """Suggestions from precomputed scores (one (N,) array per store) and the behaviour's labels."""
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}; use one of {', '.join(STRATEGIES)}")
    cands = Candidates.build(stores, per_store_scores)
    boundary, why = decision_boundary(cands, labels)
    for lab in labels:
        store = store_for_video(stores, lab.get("video_path"), lab.get("video"))
        if store is not None:
            cands.exclude(next(i for i, s in enumerate(stores) if s is store), lab["start_s"], lab["end_s"])
    out: list[Suggestion] = []
    rng = np.random.default_rng(seed)
    if strategy == "top":
        pick_top(cands, n, out)
    elif strategy == "uncertain":
        pick_uncertain(cands, n, boundary, why, out)
    elif strategy == "diverse":
        pick_diverse(cands, n, labels, out, rng)
    else:
        n_top = int(round(n * MIX["top"]))
        n_unc = int(round(n * MIX["uncertain"]))
        pick_top(cands, n_top, out)
        pick_uncertain(cands, n_top + n_unc, boundary, why, out)
        pick_diverse(cands, n, labels, out, rng)
        pick_top(cands, n, out)  # fill up when a kind ran out
    return out


def behavior_scores(scorer, stores, prompts: list[str]) -> list[np.ndarray]:
    """Per store, (N,) mean cosine over the prompts."""
    return [scorer.score(s, prompts).mean(axis=1) for s in stores]


def two_stage_scores(scorer, stores, prompts: list[str], labels: list[dict], seed: int = 0) -> list[np.ndarray]:
    """Like behavior_scores for collections too large to score exhaustively: exact for the
    windows a prefilter ranks best and for labelled ones, the prefilter's estimate elsewhere
    (core.model.two_stage). Top picks come from the exact scores."""
    always = [np.zeros(0, np.int64) for _ in stores]
    for lab in labels:
        store = store_for_video(stores, lab.get("video_path"), lab.get("video"))
        if store is not None:
            si = next(i for i, s in enumerate(stores) if s is store)
            always[si] = np.union1d(always[si], overlapping_windows(store.starts, store.ends,
                                                                     lab["start_s"], lab["end_s"]))
    return scorer.ranker.rank(stores, scorer.text_tensor(prompts), seed=seed, always=always).per_store


def suggest(project, scorer, behavior, n: int = 20, strategy: str = "mixed", stores=None,
            seed: int = 0, two_stage_from: int = TWO_STAGE_WINDOWS) -> list[Suggestion]:
    """Ranked suggestions for ``behavior`` across every indexed video of the project; projects of
    ``two_stage_from`` windows or more are ranked in two stages."""
    from .adapters import project_stores

    b = project.find_behavior(behavior)
    stores = stores if stores is not None else project_stores(project, scorer.loaded)
    prompts = b["prompts"] or [b["name"]]
    labels = project.labels(behavior=b["id"])
    if sum(len(s) for s in stores) >= two_stage_from:
        scores = two_stage_scores(scorer, stores, prompts, labels, seed)
    else:
        scores = behavior_scores(scorer, stores, prompts)
    return rank_suggestions(stores, scores, labels, n, strategy, seed)
