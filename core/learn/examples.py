"""From labelled bouts to labelled cached windows.

A label (bout) covers the cached windows that lie at least half inside it. A bout shorter than
half a window would cover none; it then takes the one window that overlaps it most, so every
answer counts.

Per labelled window and behaviour the target is
  1  the window is in an accepted (or manually marked) bout of the behaviour;
  0  it is in a rejected bout of the behaviour, or it is a positive of another behaviour and
     not of this one (behaviours of an ethogram are told apart from each other);
 -1  unknown (not used).
Answers from narration (source "narration") count with a lower weight.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

POSITIVE_VERDICTS = ("accept", "manual")
NEGATIVE_VERDICTS = ("reject",)
MIN_INSIDE = 0.5


def windows_in_bout(starts: np.ndarray, ends: np.ndarray, start_s: float, end_s: float,
                    min_inside: float = MIN_INSIDE) -> np.ndarray:
    """Indices of windows with at least ``min_inside`` of their length inside [start_s, end_s]."""
    overlap = np.clip(np.minimum(ends, end_s) - np.maximum(starts, start_s), 0, None)
    length = np.maximum(ends - starts, 1e-9)
    idx = np.flatnonzero(overlap / length >= min_inside - 1e-9)
    if len(idx) == 0 and overlap.max(initial=0) > 0:
        idx = np.array([int(np.argmax(overlap))])
    return idx


def overlapping_windows(starts: np.ndarray, ends: np.ndarray, start_s: float, end_s: float) -> np.ndarray:
    """Indices of windows that overlap [start_s, end_s] at all."""
    return np.flatnonzero((np.minimum(ends, end_s) - np.maximum(starts, start_s)) > 1e-6)


def _same_file(a: str, b: str) -> bool:
    try:
        return Path(a).resolve() == Path(b).resolve()
    except OSError:
        return a == b


def store_for_video(stores, video_path: str | None, video_name: str | None = None):
    """The store indexed from this video (by path, else by unique file name), or None."""
    for s in stores:
        if video_path and _same_file(s.meta["video_path"], video_path):
            return s
    if video_name:
        named = [s for s in stores if s.meta.get("video_name") == video_name]
        if len(named) == 1:
            return named[0]
    return None


def holdout_fold(label_id: int, folds: int, seed: int) -> int:
    """A label's fold, fixed by its id and the seed alone: labels added later never move a
    label between folds, so every adapter trained with the same seed and folds holds out the
    same old labels."""
    digest = hashlib.sha256(f"{seed}:{int(label_id)}".encode()).digest()
    return int.from_bytes(digest[:8], "little") % folds


@dataclass
class LabelledWindows:
    """Unique labelled windows and their targets over the behaviours that have labels."""

    behaviors: list[dict]  # project behaviour rows (with prompts), in column order
    store_index: np.ndarray  # (W,) index into ``stores``
    window_index: np.ndarray  # (W,) window index within its store
    targets: np.ndarray  # (W, B) 1, 0 or -1
    weights: np.ndarray  # (W, B) weight of each known target
    label_ids: list[set] = field(default_factory=list)  # (W,) ids of the labels covering it
    stores: list = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.window_index)

    def rows_only_in(self, label_ids) -> np.ndarray:
        """Windows every covering label of which is in ``label_ids``."""
        wanted = set(label_ids)
        return np.array([i for i, ids in enumerate(self.label_ids) if ids and ids <= wanted], dtype=np.int64)

    def features(self, name: str) -> np.ndarray:
        """Gathered cached arrays (W, ...) as float32, e.g. ``features("frame_cls")``."""
        out = None
        for si, store in enumerate(self.stores):
            rows = np.flatnonzero(self.store_index == si)
            if len(rows) == 0:
                continue
            arr = getattr(store, name)
            part = np.asarray(arr[np.sort(self.window_index[rows])], dtype=np.float32)
            order = np.argsort(np.argsort(self.window_index[rows]))
            if out is None:
                out = np.zeros((len(self),) + arr.shape[1:], dtype=np.float32)
            out[rows] = part[order]
        return out if out is not None else np.zeros((0,), dtype=np.float32)


def labelled_windows(labels: list[dict], behaviors: list[dict], stores, narration_weight: float = 0.3,
                     min_inside: float = MIN_INSIDE) -> LabelledWindows:
    """Map labels onto the cached windows of ``stores``. Labels of videos that aren't indexed
    are skipped. Columns are the behaviours with at least one label, in project order."""
    used = {lab["behavior_id"] for lab in labels}
    cols = [b for b in behaviors if b["id"] in used]
    col_of = {b["id"]: j for j, b in enumerate(cols)}
    row_of: dict[tuple[int, int], int] = {}
    rows_store, rows_window, covering = [], [], []
    pos: dict[tuple[int, int], float] = {}  # (row, col) -> weight
    neg: dict[tuple[int, int], float] = {}
    for lab in labels:
        store = store_for_video(stores, lab.get("video_path"), lab.get("video"))
        if store is None:
            continue
        si = next(i for i, s in enumerate(stores) if s is store)
        w = narration_weight if lab.get("source") == "narration" else 1.0
        for wi in windows_in_bout(store.starts, store.ends, lab["start_s"], lab["end_s"], min_inside):
            key = (si, int(wi))
            if key not in row_of:
                row_of[key] = len(rows_store)
                rows_store.append(si)
                rows_window.append(int(wi))
                covering.append(set())
            r = row_of[key]
            covering[r].add(lab["id"])
            c = col_of[lab["behavior_id"]]
            target = pos if lab["verdict"] in POSITIVE_VERDICTS else neg
            target[(r, c)] = max(target.get((r, c), 0.0), w)
    n, b = len(rows_store), len(cols)
    targets = np.full((n, b), -1, dtype=np.int8)
    weights = np.zeros((n, b), dtype=np.float32)
    positive_rows = {r for r, _ in pos}
    for r in positive_rows:  # a positive of one behaviour is an implied negative of the others
        for c in range(b):
            targets[r, c] = 0
            weights[r, c] = max(pw for (rr, _), pw in pos.items() if rr == r)
    for (r, c), w in neg.items():
        targets[r, c] = 0
        weights[r, c] = w
    for (r, c), w in pos.items():  # an accept wins over a reject of the same window
        targets[r, c] = 1
        weights[r, c] = w
    return LabelledWindows(cols, np.array(rows_store, dtype=np.int64), np.array(rows_window, dtype=np.int64),
                           targets, weights, covering, list(stores))
