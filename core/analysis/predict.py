"""The model's scores as a coding: per behaviour, windows scoring at or above a threshold become
bouts of an observer named "model vN" (N: the adapter version, 0 for the base model), which a
person then corrects like any coding (accept, trim, delete) instead of coding from scratch.

- Threshold: by default the one that maximises F1 on the labels, at window level. A window is
  positive when its centre lies in an accepted or manual bout of the behaviour, negative when
  it lies in a rejected one or anywhere else in a video where the behaviour was coded; other
  windows are unknown and left out.
- Bouts: each window owns the stretch between the midpoints to its neighbours' centres (so
  overlapping windows don't double up); runs at or above the threshold are bouts, bouts closer
  than ``max_gap_s`` are merged, bouts shorter than ``min_duration_s`` dropped.
- Writing: one undoable action; the observer's unreviewed bouts of that behaviour are replaced,
  reviewed ones (accepted or trimmed) are kept and new bouts overlapping them are not added.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..data.errors import ProjectError
from ..data.project import Project

POSITIVE = ("accept", "manual")


def model_observer(version: int | None) -> str:
    return f"model v{int(version or 0)}"


@dataclass
class VideoWindows:
    video: str  # project video name or path
    starts: np.ndarray
    ends: np.ndarray
    scores: np.ndarray  # (N,) for the behaviour


@dataclass
class Threshold:
    value: float
    f1: float | None = None
    precision: float | None = None
    recall: float | None = None
    positives: int = 0
    negatives: int = 0
    chosen: str = "given"  # given | best F1


@dataclass
class PredictionReport:
    behavior: str
    observer: str
    threshold: Threshold
    added: int = 0
    replaced: int = 0
    kept_reviewed: int = 0
    bouts: list[tuple[str, float, float, float]] = field(default_factory=list)

    def summary(self) -> str:
        t = self.threshold
        how = (f"best F1 {t.f1:.3f} on {t.positives} positive / {t.negatives} negative windows"
               if t.chosen == "best F1" else "given")
        return (f"{self.behavior}: {self.added} bouts as observer {self.observer!r} "
                f"(threshold {t.value:.4g}, {how}; replaced {self.replaced} unreviewed, "
                f"kept {self.kept_reviewed} reviewed)")


def _cells(starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    centres = (starts + ends) / 2
    mids = (centres[1:] + centres[:-1]) / 2
    return np.concatenate([[starts[0]], mids]), np.concatenate([mids, [ends[-1]]])


def window_targets(w: VideoWindows, labels: list[dict]) -> np.ndarray:
    """1 / 0 / -1 (unknown) per window from this video's labels of the behaviour."""
    centres = (w.starts + w.ends) / 2
    target = np.full(len(centres), -1, dtype=np.int8)
    positives = [lab for lab in labels if lab["verdict"] in POSITIVE]
    if positives:
        target[:] = 0
    for lab in labels:
        inside = (centres >= lab["start_s"]) & (centres < lab["end_s"])
        if lab["verdict"] == "reject":
            target[inside & (target != 1)] = 0
    for lab in positives:
        target[(centres >= lab["start_s"]) & (centres < lab["end_s"])] = 1
    return target


def best_f1_threshold(scores: np.ndarray, targets: np.ndarray) -> Threshold:
    known = targets >= 0
    s, t = scores[known].astype(np.float64), targets[known]
    n_pos, n_neg = int((t == 1).sum()), int((t == 0).sum())
    if n_pos == 0:
        raise ValueError("no labelled positives")
    order = np.argsort(-s, kind="stable")
    s, t = s[order], t[order]
    tp = np.cumsum(t == 1)
    fp = np.cumsum(t == 0)
    last = np.r_[s[1:] != s[:-1], True]  # a threshold includes every tie
    tp, fp, cand = tp[last], fp[last], s[last]
    f1 = 2 * tp / (tp + fp + n_pos)
    k = int(np.argmax(f1))
    return Threshold(float(cand[k]), float(f1[k]), float(tp[k] / (tp[k] + fp[k])),
                     float(tp[k] / n_pos), n_pos, n_neg, "best F1")


def bouts(w: VideoWindows, threshold: float, min_duration_s: float = 0.0,
          max_gap_s: float = 0.0) -> list[tuple[float, float, float]]:
    """(start, end, mean score) of the runs at or above ``threshold``."""
    if len(w.starts) == 0:
        return []
    lo, hi = _cells(np.asarray(w.starts, float), np.asarray(w.ends, float))
    above = np.asarray(w.scores) >= threshold
    runs: list[list] = []
    for i in np.flatnonzero(above):
        if runs and lo[i] - runs[-1][1] <= max_gap_s + 1e-9:  # touching or a short gap
            runs[-1][1], runs[-1][2] = hi[i], i
            runs[-1][3].append(w.scores[i])
        else:
            runs.append([lo[i], hi[i], i, [w.scores[i]]])
    return [(float(a), float(b), float(np.mean(sc))) for a, b, _i, sc in runs
            if b - a >= min_duration_s - 1e-9]


def choose_threshold(project: Project, behavior, windows: list[VideoWindows]) -> Threshold:
    b = project.find_behavior(behavior)
    scores, targets = [], []
    for w in windows:
        labels = project.labels(video=w.video, behavior=b["id"])
        scores.append(np.asarray(w.scores, float))
        targets.append(window_targets(w, labels))
    try:
        return best_f1_threshold(np.concatenate(scores), np.concatenate(targets))
    except ValueError:
        raise ProjectError(project.path, f"no window of an indexed video lies in an accepted "
                                         f"{b['name']!r} bout to choose a threshold from; label a "
                                         "few bouts first or give the threshold") from None


def write_prediction_coding(project: Project, behavior, windows: list[VideoWindows],
                            threshold: float | None = None, min_duration_s: float = 1.0,
                            max_gap_s: float = 0.5, version: int | None = None,
                            model_id: str | None = None) -> PredictionReport:
    b = project.find_behavior(behavior)
    chosen = (Threshold(float(threshold)) if threshold is not None
              else choose_threshold(project, b, windows))
    observer = model_observer(version)
    report = PredictionReport(b["name"], observer, chosen)
    with project.action(f"predict {b['name']} ({observer})") as act:
        for w in windows:
            v = project.find_video(w.video)
            mine = project.labels(video=v["id"], behavior=b["id"], annotator=observer,
                                  verdict=[*POSITIVE, "predicted"])
            reviewed = [lab for lab in mine if lab["verdict"] != "predicted"]
            for lab in mine:
                if lab["verdict"] == "predicted":
                    project.delete_label(lab["id"])
                    report.replaced += 1
            report.kept_reviewed += len(reviewed)
            for start, end, score in bouts(w, chosen.value, min_duration_s, max_gap_s):
                end = min(end, v["duration_s"])
                if end <= start or any(lab["start_s"] < end and start < lab["end_s"] for lab in reviewed):
                    continue
                project.add_label(v["id"], b["id"], start, end, "predicted", source="model",
                                  score=score, adapter_version=version, annotator=observer,
                                  model_id=model_id)
                report.bouts.append((v["name"], start, end, score))
                report.added += 1
        act.description = f"predict {b['name']} ({observer}): {report.added} bouts"
    return report
