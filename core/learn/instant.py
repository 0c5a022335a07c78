"""Fused per-behaviour scores for a project: the text prior plus a head refit from the labels.

Holds the project's window features (built once per scorer), so a refit after one more answer
costs only the head and the cross-validated weight (``refit``). Used by ``ethoscout score
--behavior``, suggestions and the GUI's curves.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..jobs import PRIORITY_SCORE, CurveData, job_priority
from .examples import labelled_windows
from .fusion import Fused, fit_fused
from .heads import ProjectWindows


class InstantScores:
    def __init__(self, project, scorer, stores=None, feature_set: str = "both",
                 windows: ProjectWindows | None = None):
        from .adapters import project_stores

        self.project = project
        self.scorer = scorer
        self.stores = list(stores) if stores is not None else project_stores(project, scorer.loaded)
        self.windows = windows if windows is not None else ProjectWindows.build(scorer, self.stores)
        self.feature_set = feature_set

    def prior(self, behavior: dict) -> np.ndarray:
        """(N,) mean cosine over the behaviour's prompts: today's score."""
        prompts = behavior.get("prompts") or [behavior["name"]]
        return np.concatenate([self.scorer.score(s, prompts).mean(axis=1) for s in self.stores])

    def labelled_rows(self, behavior: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Rows (into the flattened windows), 0/1 targets and weights of the behaviour's known
        windows: its accepted and rejected ones and other behaviours' accepted ones."""
        data = labelled_windows(self.project.labels(), self.project.behaviors(), self.stores)
        col = next((j for j, b in enumerate(data.behaviors) if b["id"] == behavior["id"]), None)
        if col is None or len(data) == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.int8), np.zeros(0)
        known = data.targets[:, col] >= 0
        rows = self.windows.rows(data.store_index[known], data.window_index[known])
        return rows, data.targets[known, col].astype(np.int8), data.weights[known, col].astype(np.float64)

    def refit(self, behavior) -> Fused:
        """Fused scores of a behaviour (a name or a project row) from all labels so far."""
        b = self.project.find_behavior(behavior) if not isinstance(behavior, dict) else behavior
        rows, y, w = self.labelled_rows(b)
        return fit_fused(self.windows, self.prior(b), rows, y, w, self.feature_set)

    def per_store(self, values: np.ndarray) -> list[np.ndarray]:
        return self.windows.per_store(values)


COMPONENTS = ("prior", "head")  # the parts of a fused score the window can show on demand


@dataclass
class FusedCurveData(CurveData):
    """CurveData of fused scores and, per component, the same (N, K) layout (NaN: no head yet)."""

    components: dict = field(default_factory=dict)


_WINDOWS: dict[tuple, ProjectWindows] = {}  # newest (scorer, stores) only: a refit reuses it


@job_priority(PRIORITY_SCORE)  # a refit after an answer goes ahead of indexing
def fused_score_job(ctx, project_folder: str, queries: dict, spec: dict | None = None) -> dict:
    """Like jobs.score_job for behaviours (``queries``: behaviour id -> prompts), but each
    column is the behaviour's fused score: its text prior until it has accepted and rejected
    windows, then prior + head (refit now from all labels). Returns {video fingerprint: CurveData}."""
    from ..data.project import Project
    from ..engine import indexed_stores
    from ..jobs import window_spec
    from ..progress import Progress

    scorer = ctx.scorer()
    stores = indexed_stores(project_folder, ctx.model(), window_spec(ctx, spec))
    key = (id(scorer), id(scorer.model), tuple(str(s.folder) for s in stores))
    if key not in _WINDOWS:
        _WINDOWS.clear()
        _WINDOWS[key] = ProjectWindows.build(scorer, stores)
    with Project.open(project_folder) as project:
        learner = InstantScores(project, scorer, stores, windows=_WINDOWS[key])
        by_id = {b["id"]: b for b in project.behaviors()}
        columns, parts, progress = [], {c: [] for c in COMPONENTS}, Progress("refitting", total=len(queries))
        for i, (bid, prompts) in enumerate(queries.items()):
            ctx.check()
            b = dict(by_id.get(bid) or {"id": bid, "name": str(bid)}, prompts=prompts)
            fused = learner.refit(b)
            columns.append(fused.fused)
            for c in COMPONENTS:
                v = fused.component(c)
                parts[c].append(np.full(len(fused.fused), np.nan) if v is None else v)
            progress.done = i + 1
            ctx.report(progress)
    out = {}
    for si, s in enumerate(stores):
        a, z = learner.windows.offsets[si], learner.windows.offsets[si + 1]
        scores = np.stack([c[a:z] for c in columns], axis=1) if columns else np.zeros((len(s), 0))
        fp = s.meta["video_fingerprint"]
        comps = {c: (np.stack([v[a:z] for v in parts[c]], axis=1) if columns else np.zeros((len(s), 0)))
                 .astype(np.float32) for c in COMPONENTS}
        out[fp] = FusedCurveData(fp, s.video_path, s.starts, s.ends, scores.astype(np.float32), list(queries),
                                 comps)
    return out
