"""Suggestions of a large project come from two-stage ranking, equal to exhaustive when every
window fits the candidates."""
from __future__ import annotations

import numpy as np

from ethoscout.core.learn.adapters import active_scorer, project_stores
from ethoscout.core.learn.suggest import behavior_scores, suggest, two_stage_scores


def test_two_stage_suggestions_equal_exhaustive_ones_on_a_small_project(synthetic_project, tiny_model):
    project = synthetic_project
    flash0 = next(v for v in project.videos() if v["name"] == "flash_0.mp4")
    project.add_label(flash0["id"], "flash", 0.0, 3.0, "accept")
    scorer = active_scorer(project, tiny_model)
    exhaustive = suggest(project, scorer, "flash", n=6, strategy="top")
    two_stage = suggest(project, scorer, "flash", n=6, strategy="top", two_stage_from=0)
    assert [(s.video, s.window) for s in two_stage] == [(s.video, s.window) for s in exhaustive]
    np.testing.assert_allclose([s.score for s in two_stage], [s.score for s in exhaustive], atol=1e-5)


def test_two_stage_scores_are_exact_where_it_matters(synthetic_project, tiny_model):
    project = synthetic_project
    scorer = active_scorer(project, tiny_model)
    stores = project_stores(project, scorer.loaded)
    prompts = ["the whole frame flashing colours"]
    got = two_stage_scores(scorer, stores, prompts, [])
    want = behavior_scores(scorer, stores, prompts)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, atol=1e-5)  # a small project: every window is a candidate
