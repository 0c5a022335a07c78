"""Every analysis number against a small case computed by hand (comments show the sums)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from ethoscout.core.analysis.agreement import bout_table, cohen_kappa, kappa_table
from ethoscout.core.analysis.events import Coding, Event
from ethoscout.core.analysis.predict import VideoWindows, best_f1_threshold, bouts, window_targets
from ethoscout.core.analysis.time_budget import time_budget
from ethoscout.core.analysis.transitions import transitions

ETHOGRAM = ["groom", "sniff", "rear"]


def ev(video, behavior, start, end=None, subject="A", modifiers=""):
    point = end is None
    return Event(video, subject, behavior, start, start if point else end, "point" if point else "state", modifiers)


def coding(events, observed=None):
    return Coding(events, observed or {"v1": 20.0}, list(ETHOGRAM), {})


def test_time_budget_by_hand():
    c = coding([ev("v1", "groom", 0, 2, modifiers="side=left"), ev("v1", "groom", 5, 9, modifiers="side=right"),
                ev("v1", "sniff", 3), ev("v1", "groom", 1, 4, subject="B")])
    rows = {(r["subject"], r["behavior"]): r for r in time_budget(c)}
    g = rows[("A", "groom")]
    # durations 2 and 4: total 6, mean 3, sample SD sqrt(((2-3)^2 + (4-3)^2) / 1) = sqrt(2); 6 / 20 s = 30 %
    assert (g["count"], g["total_s"], g["mean_s"]) == (2, 6.0, 3.0)
    assert g["sd_s"] == pytest.approx(math.sqrt(2)) and g["percent_observed"] == pytest.approx(30.0)
    s = rows[("A", "sniff")]
    assert (s["type"], s["count"], s["total_s"], s["sd_s"], s["percent_observed"]) == ("point", 1, None, None, None)
    b = rows[("B", "groom")]
    assert (b["count"], b["total_s"], b["sd_s"], b["percent_observed"]) == (1, 3.0, None, 15.0)
    assert rows[("B", "rear")]["count"] == 0 and rows[("B", "rear")]["total_s"] == 0  # zeros are results
    by_mod = {(r["subject"], r["behavior"], r["modifiers"]): r for r in time_budget(c, by_modifier=True)}
    assert by_mod[("A", "groom", "side=left")]["total_s"] == 2.0
    assert by_mod[("A", "groom", "side=right")]["percent_observed"] == pytest.approx(20.0)


def test_transitions_by_hand():
    # v1: groom(0) sniff(3) groom(5) rear(10); v2: groom(1) groom(4)
    c = coding([ev("v1", "groom", 0, 2), ev("v1", "sniff", 3), ev("v1", "groom", 5, 9), ev("v1", "rear", 10, 11),
                ev("v2", "groom", 1, 2), ev("v2", "groom", 4, 6)], {"v1": 20.0, "v2": 10.0})
    rows = transitions(c, interval_s=5)
    get = lambda scope, video, a, b, start=None: next(  # noqa: E731
        r for r in rows if r["scope"] == scope and r["video"] == video and r["from"] == a and r["to"] == b
        and r["interval_start_s"] == start)
    assert get("observation", "v1", "groom", "sniff")["count"] == 1
    assert get("observation", "v1", "groom", "sniff")["probability"] == 0.5  # groom -> sniff, groom -> rear
    assert get("observation", "v1", "sniff", "groom")["probability"] == 1.0
    assert get("observation", "v1", "rear", "groom")["probability"] is None  # nothing follows rear
    # intervals of 5 s: a transition counts where its second event starts (3 -> [0,5), 5 -> [5,10), 10 -> [10,15))
    assert get("interval", "v1", "groom", "sniff", 0)["count"] == 1
    assert get("interval", "v1", "sniff", "groom", 5)["count"] == 1
    assert get("interval", "v1", "groom", "rear", 10)["count"] == 1
    assert get("interval", "v1", "groom", "rear", 0)["count"] == 0
    # mean over v1 (groom: 0, .5, .5) and v2 (groom: 1, 0, 0): .5, .25, .25; sniff only in v1
    assert get("mean", "", "groom", "groom")["probability"] == pytest.approx(0.5)
    assert get("mean", "", "groom", "sniff")["probability"] == pytest.approx(0.25)
    assert get("mean", "", "sniff", "groom")["probability"] == pytest.approx(1.0)
    assert get("mean", "", "groom", "rear")["count"] == pytest.approx(0.5)  # (1 + 0) / 2 observations


def test_kappa_by_hand():
    assert cohen_kappa(list("aabb"), list("aabb"))[0] == 1.0
    assert cohen_kappa(list("aaaa"), list("aaaa"))[0] is None  # chance agreement 1: undefined
    # 10 bins of 1 s. ref groom 0-4 -> G G G G N N N N N N; cand groom 0-3 and 5-6 -> G G G N N G N N N N
    # po = 8/10; pe = (4*4 + 6*6) / 100 = .52; kappa = (.8 - .52) / (1 - .52) = .58333
    ref = coding([ev("v1", "groom", 0, 4)], {"v1": 10.0})
    cand = coding([ev("v1", "groom", 0, 3), ev("v1", "groom", 5, 6)], {"v1": 10.0})
    rows = {r["behavior"]: r for r in kappa_table(ref, cand, 1.0)}
    overall = rows["(all behaviours)"]
    assert overall["observed_agreement"] == pytest.approx(0.8)
    assert overall["chance_agreement"] == pytest.approx(0.52)
    assert overall["kappa"] == pytest.approx(0.28 / 0.48) and overall["bins"] == 10
    assert rows["groom"]["kappa"] == pytest.approx(0.28 / 0.48)
    # at 2 s the centres are 1, 3, 5, 7, 9: ref G G N N N, cand G N G N N (3 is not inside [0, 3)): po 3/5
    rows2 = kappa_table(ref, cand, 2.0)
    assert rows2[0]["bins"] == 5 and rows2[0]["observed_agreement"] == pytest.approx(0.6)


def test_bout_precision_recall_by_hand():
    ref = coding([ev("v1", "groom", 0, 4), ev("v1", "groom", 10, 12), ev("v1", "sniff", 15)])
    cand = coding([ev("v1", "groom", 0, 3), ev("v1", "groom", 10.5, 14), ev("v1", "groom", 20, 21),
                   ev("v1", "sniff", 15.3), ev("v1", "groom", 0, 4, subject="B")])
    rows = {r["behavior"]: r for r in bout_table(ref, cand, iou_threshold=0.5)}
    g = rows["groom"]
    # IoU: [0,4] vs [0,3] = .75 (match); [10,12] vs [10.5,14] = 1.5 / 4 = .375 (no); B's bout: other subject
    assert (g["true_positives"], g["false_positives"], g["false_negatives"]) == (1, 3, 1)
    assert g["precision"] == pytest.approx(1 / 4) and g["recall"] == pytest.approx(1 / 2)
    assert g["f1"] == pytest.approx(2 / (2 + 3 + 1)) and g["mean_iou"] == pytest.approx(0.75)
    assert rows["sniff"]["true_positives"] == 1  # points within 0.5 s
    loose = {r["behavior"]: r for r in bout_table(ref, cand, iou_threshold=0.3)}
    assert loose["groom"]["true_positives"] == 2


def test_threshold_and_bouts_by_hand():
    starts = np.arange(10.0)
    w = VideoWindows("v1", starts, starts + 2, np.array([.1, .9, .8, .7, .2, .6, .1, .1, .1, .1]))
    labels = [{"verdict": "accept", "start_s": 2.0, "end_s": 5.0}, {"verdict": "reject", "start_s": 0, "end_s": 1.5}]
    targets = window_targets(w, labels)
    assert targets.tolist() == [0, 1, 1, 1, 0, 0, 0, 0, 0, 0]  # centres 1..10; 2, 3, 4 in [2, 5)
    t = best_f1_threshold(w.scores, targets)
    assert (t.value, t.f1, t.precision, t.recall) == (0.7, 1.0, 1.0, 1.0)
    # cells between centre midpoints: window 1 owns [1.5, 2.5] ... window 3 [3.5, 4.5]
    assert bouts(w, 0.7) == [(1.5, 4.5, pytest.approx(0.8))]
    assert bouts(w, 0.6) == [(1.5, 4.5, pytest.approx(0.8)), (5.5, 6.5, 0.6)]
    assert bouts(w, 0.6, max_gap_s=1.0) == [(1.5, 6.5, pytest.approx(0.75))]
    assert bouts(w, 0.7, min_duration_s=3.5) == []
    unknown = window_targets(w, [])
    assert (unknown == -1).all()  # no label of the behaviour in this video: nothing known
