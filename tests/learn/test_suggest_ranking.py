"""Suggestions: one per bout (temporal NMS), labelled windows never suggested, strategies."""
from __future__ import annotations

import numpy as np
import pytest

from ethoscout.core.learn.suggest import rank_suggestions


class FakeStore:
    def __init__(self, name: str, n: int, span: float = 2.0, stride: float = 1.0):
        self.starts = np.arange(n) * stride
        self.ends = self.starts + span
        self.meta = {"video_path": f"/videos/{name}", "video_name": name}

    def __len__(self):
        return len(self.starts)


def bump(n, centre, height, width=1.0, base=0.1):
    x = np.arange(n)
    return base + height * np.exp(-0.5 * ((x - centre) / width) ** 2)


def label(video, start, end, verdict="accept"):
    return {"video_path": f"/videos/{video}", "video": video, "start_s": start, "end_s": end,
            "verdict": verdict, "source": "manual"}


def test_neighbouring_windows_of_one_event_are_one_suggestion():
    store = FakeStore("a.mp4", 40)
    scores = bump(40, 10, 0.5, width=1.5) + bump(40, 30, 0.3, width=1.5, base=0.0)
    out = rank_suggestions([store], [scores], [], n=2, strategy="top")
    assert [s.window for s in out] == [10, 30]
    # the event's run: windows 9..11 score above halfway between the peak and the median
    assert (out[0].bout_start, out[0].bout_end) == (9.0, 13.0)
    assert out[0].start == 10.0 and out[0].end == 12.0  # the clip to loop: the best window
    more = rank_suggestions([store], [scores], [], n=8, strategy="top")
    assert sum(1 for s in more if s.start < 13.0 and s.end > 9.0) == 1


def test_top_never_returns_overlapping_clips():
    store = FakeStore("a.mp4", 60)
    rng = np.random.default_rng(1)
    out = rank_suggestions([store], [rng.random(60)], [], n=15, strategy="top")
    spans = sorted((s.bout_start, s.bout_end) for s in out)
    for (a0, a1), (b0, b1) in zip(spans, spans[1:]):
        assert b0 >= a1 - 1e-9  # bouts don't overlap


def test_labelled_windows_are_excluded():
    store = FakeStore("a.mp4", 40)
    scores = bump(40, 10, 0.5) + bump(40, 30, 0.3, base=0.0)
    out = rank_suggestions([store], [scores], [label("a.mp4", 9.5, 12.5, "reject")], n=3, strategy="top")
    for s in out:
        assert s.end <= 9.5 + 1e-9 or s.start >= 12.5 - 1e-9, s
    assert out[0].window == 30


def test_uncertain_picks_the_boundary_between_accepted_and_rejected():
    store = FakeStore("a.mp4", 30)
    scores = np.linspace(0.0, 0.29, 30)  # window i scores i/100
    labels = [label("a.mp4", 27.0, 29.0, "accept"), label("a.mp4", 0.0, 2.0, "reject")]
    # accepted window 27 (0.27) and rejected window 0 (0.00): boundary 0.135 -> window 13 or 14
    out = rank_suggestions([store], [scores], labels, n=1, strategy="uncertain")
    assert out[0].window in (13, 14)
    assert "accepted" in out[0].reason


def test_uncertain_without_both_verdicts_uses_the_median():
    store = FakeStore("a.mp4", 31)
    scores = np.linspace(0.0, 0.3, 31)
    out = rank_suggestions([store], [scores], [], n=1, strategy="uncertain")
    assert out[0].window == 15


def test_diverse_reaches_videos_without_labels_first():
    stores = [FakeStore("a.mp4", 20), FakeStore("b.mp4", 20), FakeStore("c.mp4", 20)]
    scores = [bump(20, 5, 0.9), bump(20, 5, 0.2), bump(20, 12, 0.3)]
    labels = [label("a.mp4", 14.0, 16.0)]
    out = rank_suggestions(stores, scores, labels, n=2, strategy="diverse")
    assert {s.video for s in out} == {"b.mp4", "c.mp4"}
    top = rank_suggestions(stores, scores, labels, n=2, strategy="top")
    assert top[0].video == "a.mp4"


def test_mixed_has_every_kind_and_no_duplicates():
    stores = [FakeStore("a.mp4", 50), FakeStore("b.mp4", 50)]
    rng = np.random.default_rng(0)
    scores = [rng.random(50), rng.random(50) * 0.5]
    out = rank_suggestions(stores, scores, [], n=10, strategy="mixed")
    assert len(out) == 10
    assert {s.strategy for s in out} == {"top", "uncertain", "diverse"}
    keys = [(s.video, s.window) for s in out]
    assert len(set(keys)) == len(keys)
    assert any(s.video == "b.mp4" for s in out)


def test_unknown_strategy_is_refused():
    with pytest.raises(ValueError):
        rank_suggestions([FakeStore("a.mp4", 5)], [np.zeros(5)], [], strategy="best")
