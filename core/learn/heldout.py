"""Evaluation that can be trusted: k folds grouped by video (or session, or time block),
never by label, every method scored on the same held-out windows.

Windows 2 s long every 1 s share half their frames, so a split by label lets a held-out window
overlap a training one. Here the labelled windows are grouped (by video; by a session the user
names with a regular expression over file names; or by blocks of a video's time), whole groups
go to one fold, and a training window that shares any time with a held-out window of the same
video is dropped (purged). For each fold and behaviour the methods rank the fold's known windows
(accepted, rejected, other behaviours' accepted); the table gives, per method, the mean over
folds (± standard deviation) of the mean over behaviours of Hit@K, NDCG@K and AP (mAP).

Methods: zero-shot (text prior), query by example (cosine to the mean MIT embedding of the
training positives), heads on embeddings / motion / both, LoRA (a fresh adapter per fold,
optional: slow), fused (prior + head on both, alpha by inner cross-validation).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np

from .adapters import LearnError
from .examples import LabelledWindows
from .fusion import bout_groups, fit_fused, purge
from .heads import ProjectWindows, fit_logistic, knn_scores
from .metrics import METRIC_NAMES, average_metrics, ranking_metrics

METHODS = ("chance", "zero-shot", "query by example", "head: embedding", "head: motion", "head: both", "LoRA",
           "fused")
GROUPINGS = ("video", "session", "block")


@dataclass
class FoldTable:
    protocol: str
    methods: list[str]
    per_fold: dict[str, list[dict]]  # method -> one mean-metrics dict per fold
    behaviours: list[str]
    folds: int
    notes: list[str] = field(default_factory=list)

    def summary(self, method: str, metric: str) -> tuple[float, float]:
        vals = [f.get(metric, math.nan) for f in self.per_fold[method]]
        vals = [v for v in vals if not math.isnan(v)]
        if not vals:
            return math.nan, math.nan
        return float(np.mean(vals)), float(np.std(vals, ddof=1)) if len(vals) > 1 else 0.0

    def to_dict(self) -> dict:
        return {"protocol": self.protocol, "folds": self.folds, "behaviours": self.behaviours,
                "methods": {m: {k: self.summary(m, k) for k in METRIC_NAMES} for m in self.methods},
                "per_fold": self.per_fold, "notes": self.notes}


def window_groups(windows: ProjectWindows, rows: np.ndarray, by: str = "video", session: str | None = None,
                  block_s: float = 10.0) -> np.ndarray:
    """A group label per row: its video, its session (first match of ``session`` in the video
    file name, else the video) or its block of ``block_s`` seconds within the video."""
    store = windows.store_of(rows)
    if by == "video":
        return store
    if by == "session":
        if not session:
            raise LearnError("grouping by session needs --session REGEX (matched against video file names)")
        try:
            pattern = re.compile(session)
        except re.error as e:
            raise LearnError(f"--session {session!r}: not a regular expression ({e})") from None
        names = []
        for s in windows.stores:
            m = pattern.search(s.meta.get("video_name", ""))
            names.append(m.group(0) if m else f"\0{s.meta.get('video_name')}")
        codes = {n: i for i, n in enumerate(dict.fromkeys(names))}
        return np.array([codes[names[s]] for s in store])
    if by == "block":
        if block_s <= 0:
            raise LearnError(f"--block {block_s:g}: must be a positive number of seconds")
        starts, _ = windows.times()
        block = np.floor(starts[rows] / block_s).astype(np.int64)
        return store * 1_000_000 + block
    raise LearnError(f"unknown grouping {by!r}; use one of {', '.join(GROUPINGS)}")


def assign_folds(groups: np.ndarray, k: int, seed: int = 0) -> np.ndarray:
    """A fold per row, whole groups together, groups shuffled by the seed."""
    uniq = np.unique(groups)
    if len(uniq) < 2:
        raise LearnError("all labelled windows fall in one group; grouped folds need at least two "
                         "(label more videos, or group by block)")
    k = min(k, len(uniq))
    order = np.random.default_rng(seed).permutation(len(uniq))
    fold_of = dict(zip(uniq[order].tolist(), (np.arange(len(uniq)) % k).tolist()))
    return np.array([fold_of[g] for g in groups.tolist()])


def budget_rows(windows: ProjectWindows, rows: np.ndarray, y: np.ndarray, positives: int, negatives: int,
                rng: np.random.Generator) -> np.ndarray:
    """Indices of ``rows`` keeping only ``positives`` bouts of positives and ``negatives`` of
    negatives (a bout: a run of adjacent windows), chosen at random: what a user who answered
    that many clips has."""
    keep = []
    for cls, n in ((1, positives), (0, negatives)):
        idx = np.flatnonzero(y == cls)
        if len(idx) == 0:
            continue
        groups = bout_groups(windows, rows[idx])
        chosen = rng.permutation(np.unique(groups))[:n]
        keep.append(idx[np.isin(groups, chosen)])
    return np.sort(np.concatenate(keep)) if keep else np.zeros(0, np.int64)


def _scores(method: str, windows: ProjectWindows, prior: np.ndarray, train: np.ndarray, y: np.ndarray,
            w: np.ndarray) -> np.ndarray:
    """Scores of every window for one behaviour from training rows ``train`` (targets ``y``)."""
    n = len(windows)
    has_both = (y == 1).any() and (y == 0).any()
    if method == "zero-shot":
        return prior
    if method == "query by example":
        return knn_scores(windows, train[y == 1]) if (y == 1).any() else np.zeros(n)
    if method.startswith("head: "):
        if not has_both:
            return np.zeros(n)
        x = windows.features(method[len("head: "):])
        return fit_logistic(x[train], y, w).decision(x)
    if method == "fused":
        return fit_fused(windows, prior, train, y, w, "both").fused
    raise ValueError(method)


def subset(data: LabelledWindows, rows: np.ndarray, mask: np.ndarray | None = None) -> LabelledWindows:
    """Rows of ``data`` (targets outside ``mask`` (rows, B) set unknown)."""
    targets = data.targets[rows].copy()
    if mask is not None:
        targets[~mask] = -1
    return LabelledWindows(data.behaviors, data.store_index[rows], data.window_index[rows], targets,
                           data.weights[rows], [data.label_ids[i] for i in rows], data.stores)


def cross_evaluate(windows: ProjectWindows, data: LabelledWindows, priors: np.ndarray, folds: int = 5,
                   by: str = "video", session: str | None = None, block_s: float = 10.0, seed: int = 0,
                   budget: tuple[int, int] | None = None, lora=None, on_fold=None) -> FoldTable:
    """The table over grouped folds. ``data`` must use ``windows.stores``; ``priors`` (N, B) is
    the text prior of every window for each of data's behaviours. ``lora(train_data) -> (N, B)
    scores`` trains and scores a fresh adapter (None: no LoRA row). ``budget`` (positive bouts,
    negative bouts) per behaviour limits what each fold trains on."""
    if len(data) == 0:
        raise LearnError("no labelled window of an indexed video: import or label bouts first")
    rows = windows.rows(data.store_index, data.window_index)
    groups = window_groups(windows, rows, by, session, block_s)
    fold_of = assign_folds(groups, folds, seed)
    k = int(fold_of.max()) + 1
    starts, ends = windows.times()
    names = [b["name"] for b in data.behaviors]
    methods = [m for m in METHODS if m != "LoRA" or lora is not None]
    per_fold: dict[str, list[dict]] = {m: [] for m in methods}
    rng = np.random.default_rng(seed)
    used_folds = 0
    for f in range(k):
        test = np.flatnonzero(fold_of == f)
        train = np.flatnonzero(fold_of != f)
        train = train[np.isin(rows[train], purge(windows, starts, ends, rows[train], rows[test]))]
        per_method: dict[str, dict] = {m: {} for m in methods}
        mask = np.zeros((len(train), len(names)), bool)
        for c, name in enumerate(names):
            known_test = test[data.targets[test, c] >= 0]
            yt = data.targets[known_test, c] == 1
            if not yt.any():
                continue
            tr = train[data.targets[train, c] >= 0]
            y = data.targets[tr, c].astype(np.int8)
            if budget is not None:
                tr_idx = budget_rows(windows, rows[tr], y, budget[0], budget[1], rng)
                tr, y = tr[tr_idx], y[tr_idx]
            mask[np.isin(train, tr), c] = True
            w = data.weights[tr, c].astype(np.float64)
            for m in methods:
                if m == "LoRA":
                    continue
                if m == "chance":
                    s = np.zeros(len(known_test))
                else:
                    s = _scores(m, windows, priors[:, c], rows[tr], y, w)[rows[known_test]]
                per_method[m][name] = ranking_metrics(s, yt)
        if not per_method[methods[0]]:
            continue  # no behaviour has a positive in this fold
        if lora is not None:
            adapted = lora(subset(data, train, mask))
            for c, name in enumerate(names):
                if name in per_method["chance"]:
                    known_test = test[data.targets[test, c] >= 0]
                    per_method["LoRA"][name] = ranking_metrics(adapted[rows[known_test], c],
                                                               data.targets[known_test, c] == 1)
        for m in methods:
            per_fold[m].append(average_metrics(per_method[m]))
        used_folds += 1
        if on_fold is not None:
            on_fold(f, k)
    if not used_folds:
        raise LearnError("no fold has a held-out accepted window; label more bouts")
    what = {"video": "video", "session": f"session ({session})", "block": f"{block_s:g}-s block of a video"}[by]
    budget_txt = f"; each behaviour trains on {budget[0]} accepted + {budget[1]} rejected bouts" if budget else ""
    protocol = (f"{used_folds} folds grouped by {what} (overlapping training windows purged); "
                f"{len(data)} labelled windows, {len(names)} behaviours{budget_txt}")
    return FoldTable(protocol, methods, per_fold, names, used_folds)


def format_fold_table(table: FoldTable, metrics=METRIC_NAMES) -> str:
    def cell(method, metric):
        m, sd = table.summary(method, metric)
        return "      -     " if math.isnan(m) else f"{m:5.3f}±{sd:5.3f}"

    width = max(len(m) for m in table.methods)
    head = f"{'method':<{width}}  " + "  ".join(f"{('mAP' if k == 'AP' else k):>11}" for k in metrics) + "  uplift mAP"
    lines = [table.protocol, head, "-" * len(head)]
    base, _ = table.summary("zero-shot", "AP")
    for method in table.methods:
        ap, _ = table.summary(method, "AP")
        up = "" if method in ("chance", "zero-shot") or math.isnan(ap) or not base else f"{100 * (ap - base) / base:+.0f}%"
        lines.append(f"{method:<{width}}  " + "  ".join(cell(method, k) for k in metrics) + f"  {up:>10}")
    lines.append("mean ± sd over folds of the mean over behaviours; chance = every window scored alike")
    lines.extend(f"note: {n}" for n in table.notes)
    return "\n".join(lines)


def behaviour_priors(scorer, stores, behaviors: list[dict]) -> np.ndarray:
    """(N, B) text prior (mean cosine over each behaviour's prompts) of every window."""
    return np.stack([np.concatenate([scorer.score(s, b.get("prompts") or [b["name"]]).mean(axis=1) for s in stores])
                     for b in behaviors], axis=1)


def lora_scorer(loaded, behaviors: list[dict], stores, opts):
    """A LoRA row for ``cross_evaluate``: train a fresh adapter on a fold, score every window."""
    from ..model.query import QueryScorer
    from .train import train_lora

    def run(train_data: LabelledWindows) -> np.ndarray:
        result = train_lora(loaded, train_data, opts)
        return behaviour_priors(QueryScorer(result.loaded), stores, behaviors)
    return run


def evaluate_project(project, loaded, folds: int = 5, by: str = "video", session: str | None = None,
                     block_s: float = 10.0, seed: int = 0, budget: tuple[int, int] | None = None,
                     lora_opts=None, on_fold=None) -> FoldTable:
    """``cross_evaluate`` over a project's labels with the untrained model's text prior."""
    from ..model.query import QueryScorer
    from .adapters import project_stores
    from .examples import labelled_windows

    scorer = QueryScorer(loaded)
    stores = project_stores(project, loaded)
    windows = ProjectWindows.build(scorer, stores)
    data = labelled_windows(project.labels(), project.behaviors(), stores)
    if len(data) == 0:
        raise LearnError(f"{project.folder}: no label covers an indexed window; label or import bouts first")
    priors = behaviour_priors(scorer, stores, data.behaviors)
    lora = lora_scorer(loaded, data.behaviors, stores, lora_opts) if lora_opts is not None else None
    table = cross_evaluate(windows, data, priors, folds, by, session, block_s, seed, budget, lora, on_fold)
    if not windows.has_motion.all():
        table.notes.append(f"{int((~windows.has_motion).sum())} of {len(stores)} videos have no motion "
                           "descriptors yet (run `ethoscout index` again): their motion columns are zero")
    return table
