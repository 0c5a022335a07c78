"""Untrained model vs each adapter, on labelled windows no adapter was trained on.

Protocol (docs/learning.md):
- held-out adapters: every adapter records the label ids it trained on. The evaluation set is
  the labelled windows covered only by labels outside the union of those sets (the held-out
  fold, plus labels added since). Every model, the untrained one included, is ranked on that
  same set, so the rows of the table are comparable;
- for a recipe rather than saved adapters, heldout.py cross-validates over folds grouped by
  video (a split by label id would let overlapping windows leak across folds).
A behaviour is ranked over the evaluation windows whose target for it is known (its accepted
and rejected windows and other behaviours' accepted windows); relevant = accepted.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .adapters import LearnError, load_version, project_stores
from .examples import LabelledWindows, labelled_windows
from .metrics import METRIC_NAMES, uplift
from .train import TrainOptions, rows_metrics, split_labels


@dataclass
class EvalReport:
    models: list[str]
    results: dict[str, dict]  # model -> {"per_behavior": {b: metrics}, "mean": metrics}
    windows: int
    protocol: str
    notes: list[str] = field(default_factory=list)


def window_scores(scorer, data: LabelledWindows, rows: np.ndarray) -> np.ndarray:
    """(len(rows), B) mean cosine over each behaviour's prompts, from the scorer."""
    prompts, owner = [], []
    for j, b in enumerate(data.behaviors):
        for p in b.get("prompts") or [b["name"]]:
            prompts.append(p)
            owner.append(j)
    owner = np.asarray(owner)
    out = np.zeros((len(rows), len(data.behaviors)))
    for si, store in enumerate(data.stores):
        mine = np.flatnonzero(data.store_index[rows] == si)
        if len(mine) == 0:
            continue
        s = scorer.score(store, prompts)[data.window_index[rows[mine]]]
        for j in range(len(data.behaviors)):
            out[mine, j] = s[:, owner == j].mean(axis=1)
    return out


def project_labelled_windows(project, loaded, narration_weight: float = 0.3) -> LabelledWindows:
    stores = project_stores(project, loaded)
    return labelled_windows(project.labels(), project.behaviors(), stores, narration_weight)


def evaluate_adapters(project, loaded, versions: list[int] | None = None) -> EvalReport:
    """The untrained model and each adapter (default: all non-deep ones) on the held-out set."""
    from ..model.query import QueryScorer

    rows_db = [a for a in project.adapters() if versions is None or a["version"] in versions]
    notes = []
    usable = []
    for a in rows_db:
        split = (a["metrics"] or {}).get("split") or {}
        if "train_label_ids" not in split:
            notes.append(f"v{a['version']}: no record of its training labels, left out")
            continue
        adapted = load_version(project, loaded, a["version"])
        if adapted.fingerprint != loaded.fingerprint:
            notes.append(f"v{a['version']}: adapts the vision tower; evaluate it after indexing with it")
            continue
        usable.append((a, adapted))
    data = project_labelled_windows(project, loaded)
    trained_on = set().union(*[set(a["metrics"]["split"]["train_label_ids"]) for a, _ in usable]) if usable else set()
    if not usable:
        opts = TrainOptions()
        _, rows, _, _ = split_labels(data, opts.folds, opts.holdout_fold, opts.seed)
    else:
        all_ids = set().union(*data.label_ids) if len(data) else set()
        rows = data.rows_only_in(all_ids - trained_on)
    if len(rows) == 0:
        raise LearnError(f"{project.folder}: no labelled window is held out from training; label more clips, "
                         "or use cross-validation (ethoscout eval --cv 4)")
    names = [b["name"] for b in data.behaviors]
    targets = data.targets[rows]
    results = {"untrained": rows_metrics(window_scores(QueryScorer(loaded), data, rows), targets, names)}
    models = ["untrained"]
    for a, adapted in usable:
        name = f"v{a['version']}"
        results[name] = rows_metrics(window_scores(QueryScorer(adapted), data, rows), targets, names)
        models.append(name)
    protocol = f"held-out labels: {len(rows)} windows not used to train any adapter listed"
    return EvalReport(models, results, int(len(rows)), protocol, notes)


def _fmt(v: float) -> str:
    return "   -  " if v is None or math.isnan(v) else f"{v:6.3f}"


def _pct(v: float) -> str:
    return "n/a" if math.isnan(v) else f"{v:+.0f}%"


def format_table(report: EvalReport) -> str:
    """behaviour x model rows of (Hit@1, Hit@5, Hit@10, NDCG@5, NDCG@10, AP), the means, and uplift."""
    behaviors = sorted({b for r in report.results.values() for b in r["per_behavior"]})
    mean_label = "mean (AP = mAP)"
    width = max([len(b) for b in behaviors] + [len(mean_label)])
    mwidth = max(len(m) for m in report.models)
    head = f"{'behaviour':<{width}}  {'model':<{mwidth}}  " + "  ".join(f"{m:>6}" for m in METRIC_NAMES)
    lines = [report.protocol, head, "-" * len(head)]
    for b in behaviors + [mean_label]:
        for i, model in enumerate(report.models):
            res = report.results[model]
            row = res["mean"] if b == mean_label else res["per_behavior"].get(b, {})
            label = b if i == 0 else ""
            lines.append(f"{label:<{width}}  {model:<{mwidth}}  " +
                         "  ".join(_fmt(row.get(m, math.nan)) for m in METRIC_NAMES))
    base = report.results[report.models[0]]["mean"]
    for model in report.models[1:]:
        mean = report.results[model]["mean"]
        parts = [f"{m if m != 'AP' else 'mAP'} {_pct(uplift(base.get(m, math.nan), mean.get(m, math.nan)))}"
                 for m in METRIC_NAMES]
        lines.append(f"uplift {model} vs {report.models[0]}: " + ", ".join(parts))
    lines.extend(f"note: {n}" for n in report.notes)
    return "\n".join(lines)
