"""Labels onto cached windows: the 50% rule, targets, weights, the held-out fold."""
from __future__ import annotations

import numpy as np

from ethoscout.core.learn.examples import holdout_fold, labelled_windows, windows_in_bout
from ethoscout.core.learn.train import split_labels


def test_a_window_counts_when_half_of_it_is_inside_the_bout():
    starts = np.arange(6, dtype=float)
    ends = starts + 2.0
    assert windows_in_bout(starts, ends, 1.0, 4.0).tolist() == [0, 1, 2, 3]  # 0: 1 of 2 s inside
    assert windows_in_bout(starts, ends, 1.2, 4.0).tolist() == [1, 2, 3]  # 3: [3, 5], 1 s inside
    # shorter than half a window: the one window that overlaps most
    assert windows_in_bout(starts, ends, 3.1, 3.4).tolist() == [2]
    assert windows_in_bout(starts, ends, 30.0, 31.0).tolist() == []


class Store:
    def __init__(self, name, n):
        self.starts = np.arange(n, dtype=float)
        self.ends = self.starts + 2.0
        self.meta = {"video_path": f"/v/{name}", "video_name": name}


def lab(i, video, behavior_id, start, end, verdict="accept", source="manual"):
    return {"id": i, "video_path": f"/v/{video}", "video": video, "behavior_id": behavior_id,
            "start_s": start, "end_s": end, "verdict": verdict, "source": source}


def test_targets_and_weights():
    behaviors = [{"id": 1, "name": "groom", "prompts": ["groom"]}, {"id": 2, "name": "rear", "prompts": ["rear"]},
                 {"id": 3, "name": "never labelled", "prompts": ["x"]}]
    stores = [Store("a.mp4", 10), Store("b.mp4", 10)]
    labels = [lab(1, "a.mp4", 1, 0, 2), lab(2, "a.mp4", 2, 5, 7, "reject"),
              lab(3, "b.mp4", 2, 3, 5, source="narration"), lab(4, "missing.mp4", 1, 0, 2)]
    data = labelled_windows(labels, behaviors, stores, narration_weight=0.25)
    assert [b["name"] for b in data.behaviors] == ["groom", "rear"]  # only labelled behaviours
    rows = {(int(s), int(w)): i for i, (s, w) in enumerate(zip(data.store_index, data.window_index))}
    groom = rows[(0, 0)]
    assert data.targets[groom].tolist() == [1, 0]  # a positive of groom is a negative of rear
    reject = rows[(0, 5)]
    assert data.targets[reject].tolist() == [-1, 0]
    narrated = rows[(1, 3)]
    assert data.targets[narrated].tolist() == [0, 1]
    assert np.allclose(data.weights[narrated], 0.25)
    assert len(data) == 2 + 3 + 3  # the label of the video that isn't indexed is skipped


def test_holdout_fold_is_stable_and_windows_never_leak():
    assert [holdout_fold(i, 4, 0) for i in range(1, 50)] == [holdout_fold(i, 4, 0) for i in range(1, 50)]
    assert len({holdout_fold(i, 4, 0) for i in range(1, 50)}) == 4
    behaviors = [{"id": 1, "name": "groom", "prompts": ["groom"]}]
    stores = [Store("a.mp4", 40)]
    labels = [lab(i, "a.mp4", 1, 2.0 * i, 2.0 * i + 3.0) for i in range(1, 18)]  # overlapping bouts
    data = labelled_windows(labels, behaviors, stores)
    train, val, train_ids, val_ids = split_labels(data, 4, 0, 0)
    assert len(val) and len(train) and not set(train) & set(val)
    for r in val:
        assert data.label_ids[r] <= val_ids  # held-out windows are covered by held-out labels only
