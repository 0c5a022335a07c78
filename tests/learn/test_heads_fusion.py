"""Instant heads learn separable behaviours; fusion is the text prior, exactly, until labels
of both kinds exist."""
from __future__ import annotations

import numpy as np
import pytest

from ethoscout.core.engine import score_queries
from ethoscout.core.learn.fusion import fit_fused
from ethoscout.core.learn.heads import FEATURE_SETS, fit_logistic, knn_scores
from ethoscout.core.learn.instant import InstantScores
from ethoscout.core.learn.metrics import average_precision
from ethoscout.core.model.query import QueryScorer


def test_logistic_head_separates_a_separable_problem():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 300))
    y = (x[:, 7] > 0).astype(int)
    x[:, 7] += np.where(y == 1, 2.0, -2.0)
    head = fit_logistic(x[:20], y[:20])
    assert average_precision(head.decision(x[20:]), y[20:] == 1) > 0.9 > y[20:].mean()
    with pytest.raises(ValueError, match="positive and one negative"):
        fit_logistic(x[:5], np.ones(5))


def _train_test(learner, name):
    """Rows of videos _0 and _1 train, rows of _2 test; target = the video's pattern."""
    w = learner.windows
    store_names = [s.meta["video_name"] for s in learner.stores]
    train, test = [], []
    for si, n in enumerate(store_names):
        rows = np.arange(w.offsets[si], w.offsets[si + 1])
        (test if n.split("_")[1].startswith("2") else train).append(rows)
    pattern = np.concatenate([[n.split("_")[0]] * (w.offsets[si + 1] - w.offsets[si])
                              for si, n in enumerate(store_names)])
    train, test = np.concatenate(train), np.concatenate(test)
    return train, test, (pattern == name).astype(int)


@pytest.mark.parametrize("feature_set,behavior", [("motion", "moving"), ("motion", "still"),
                                                  ("embedding", "flash"), ("both", "moving"),
                                                  ("both", "flash")])
def test_each_head_learns_a_separable_behaviour_on_unseen_videos(synthetic_project, tiny_model, feature_set,
                                                                 behavior):
    learner = InstantScores(synthetic_project, QueryScorer(tiny_model))
    train, test, y = _train_test(learner, behavior)
    x = learner.windows.features(feature_set)
    head = fit_logistic(x[train], y[train])
    ap = average_precision(head.decision(x[test]), y[test] == 1)
    chance = y[test].mean()
    assert ap > 0.9 > chance, (feature_set, behavior, ap)


def test_query_by_example_ranks_its_own_kind_first(synthetic_project, tiny_model):
    learner = InstantScores(synthetic_project, QueryScorer(tiny_model))
    train, test, y = _train_test(learner, "flash")
    s = knn_scores(learner.windows, train[y[train] == 1])
    assert average_precision(s[test], y[test] == 1) > y[test].mean()


def test_fusion_is_the_text_prior_until_both_kinds_of_answer(synthetic_project, tiny_model):
    scorer = QueryScorer(tiny_model)
    learner = InstantScores(synthetic_project, scorer)
    today = score_queries(synthetic_project.folder, ["a bright square moving across the frame"], model=scorer)
    expected = np.concatenate([r.scores[:, 0] for r in today])
    fused = learner.refit("moving")
    assert fused.head is None and np.allclose(fused.fused, expected, atol=1e-6, rtol=0)
    moving0 = next(v for v in synthetic_project.videos() if v["name"] == "moving_0.mp4")
    synthetic_project.add_label(moving0["id"], "moving", 0.0, 3.0, "accept")
    fused = learner.refit("moving")  # accepts only: still the prior, exactly
    assert fused.head is None and np.array_equal(fused.fused, fused.prior)
    assert np.allclose(fused.prior, expected, atol=1e-6, rtol=0)


def test_fused_weights_follow_the_better_component(synthetic_project, tiny_model):
    learner = InstantScores(synthetic_project, QueryScorer(tiny_model))
    for v in synthetic_project.videos():
        if v["name"].endswith(("_0.mp4", "_1.mp4")):
            verdict = "accept" if v["name"].startswith("moving") else "reject"
            synthetic_project.add_label(v["id"], "moving", 0.0, v["duration_s"], verdict)
    fused = learner.refit("moving")
    assert fused.head is not None and fused.folds >= 3
    train, test, y = _train_test(learner, "moving")
    assert average_precision(fused.fused[test], y[test] == 1) >= average_precision(fused.prior[test], y[test] == 1)
    # a prior that is pure noise gets little weight when the head separates the answers
    rng = np.random.default_rng(0)
    rows, yy, w = learner.labelled_rows(synthetic_project.find_behavior("moving"))
    noisy = fit_fused(learner.windows, rng.normal(size=len(learner.windows)), rows, yy, w, "motion")
    assert noisy.alpha <= 0.3
    assert set(FEATURE_SETS) == {"embedding", "motion", "both"}


def test_score_command_writes_a_fused_column_per_behaviour(synthetic_project, capsys):
    import csv
    import io

    from ethoscout.core.cli import main

    proj = str(synthetic_project.folder)
    for v in synthetic_project.videos():
        if v["name"].endswith("_0.mp4"):
            synthetic_project.add_label(v["id"], v["name"].split("_")[0], 0.0, v["duration_s"], "accept")
    assert main(["score", "--project", proj, "--query", "a square", "--behavior", "flash",
                 "--behavior", "still"]) == 0
    table = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert table[0][-3:] == ["a square", "flash", "still"]
    assert len(table) - 1 == sum(1 for _ in table[1:]) > 10
    assert main(["score", "--project", proj, "--behavior", "moving"]) == 0
    only = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert only[0][-1] == "moving" and len(only) == len(table)
    assert main(["score", "--project", proj, "--behavior", "yawning"]) == 1
    assert "yawning" in capsys.readouterr().err
