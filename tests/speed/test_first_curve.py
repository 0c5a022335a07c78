"""The first-curve path: approximate everywhere at once, then exactly today's numbers."""
from __future__ import annotations

import copy

import numpy as np
import torch

from ethoscout.core import engine
from ethoscout.core.model.features import text_embeds
from ethoscout.core.model.first_curve import anchor_rows, interpolate_rows, progressive_query, progressive_scores
from ethoscout.core.model.query import QueryScorer
from ethoscout.core.model.scoring import cosine_scores, prompt_text, prompt_visual

TEXTS = ["a mouse grooming its face", "a bright square moving right"]


def smooth_windows(n: int, d: int, p: int, seed: int = 0):
    """Window features that drift along the video, as overlapping windows' features do."""
    g = torch.Generator().manual_seed(seed)
    walk = torch.cumsum(0.2 * torch.randn(n, p, d, generator=g), dim=0) + torch.randn(1, p, d, generator=g)
    video = torch.cumsum(0.2 * torch.randn(n, d, generator=g), dim=0) + torch.randn(1, d, generator=g)
    return video, walk


def progressive(m, video, text, img, **kw):
    """progressive_scores over in-memory windows, exact by scoring.cosine_scores."""
    return progressive_scores(len(video), torch.nn.functional.normalize(video, dim=-1),
                              lambda rows: prompt_text(m, text, prompt_visual(m, img[rows])),
                              lambda rows: cosine_scores(m, video[rows], text, img[rows]), **kw)


def test_final_curve_equals_the_exact_path_and_anchors_are_exact_first(tiny_model):
    m = tiny_model.model
    video, img = smooth_windows(300, tiny_model.embed_dim, 16)
    with torch.inference_mode():
        text = text_embeds(m, tiny_model.tokenizer, TEXTS)
        visual = prompt_visual(m, img)
        exact = cosine_scores(m, video, text, visual=visual).numpy()
        steps = list(progressive(m, video, text, img, anchors=40, chunk=64))
    first, last = steps[0], steps[-1]
    rows = anchor_rows(300, 40)
    assert first.exact.sum() == len(rows) and not first.done
    np.testing.assert_allclose(first.scores[rows], exact[rows], atol=1e-5)
    assert last.done and len(steps) == 1 + 5  # one refinement per chunk of 64
    np.testing.assert_allclose(last.scores, exact, atol=1e-5)
    # in place: each step keeps what was exact and adds a chunk; anchors kept, not scored again
    assert all(np.all(b.exact >= a.exact) and b.exact.sum() > a.exact.sum() for a, b in zip(steps, steps[1:]))
    assert all(np.array_equal(s.scores[rows], first.scores[rows]) for s in steps)


def test_only_the_prompt_is_interpolated(tiny_model):
    """Without video-specific prompting (alpha = 0) the first curve is already exact: every
    window keeps its own video embedding. (How close it is otherwise depends on trained weights;
    random ones say nothing about that.)"""
    m = copy.deepcopy(tiny_model.model)
    with torch.no_grad():
        m.prompts_generator.alpha.zero_()
    video, img = smooth_windows(200, tiny_model.embed_dim, 16, seed=3)
    with torch.inference_mode():
        text = text_embeds(m, tiny_model.tokenizer, TEXTS)
        visual = prompt_visual(m, img)
        first = next(progressive(m, video, text, img, anchors=10))
        np.testing.assert_allclose(first.scores, cosine_scores(m, video, text, visual=visual).numpy(), atol=1e-5)
    assert first.exact.sum() == 10


def test_visible_range_is_refined_first(tiny_model):
    m = tiny_model.model
    video, img = smooth_windows(256, tiny_model.embed_dim, 16, seed=1)
    with torch.inference_mode():
        text = text_embeds(m, tiny_model.tokenizer, TEXTS[:1])
        steps = list(progressive(m, video, text, img, anchors=16, chunk=64, first=(150, 170)))
    assert steps[1].exact[128:192].all() and not steps[1].exact[:128].all()


def test_few_windows_are_exact_at_once(tiny_model):
    m = tiny_model.model
    video, img = smooth_windows(20, tiny_model.embed_dim, 16, seed=2)
    with torch.inference_mode():
        text = text_embeds(m, tiny_model.tokenizer, TEXTS)
        visual = prompt_visual(m, img)
        [only] = progressive(m, video, text, img, anchors=40)
        np.testing.assert_allclose(only.scores, cosine_scores(m, video, text, visual=visual).numpy(), atol=1e-6)
    assert only.done


def test_interpolation_is_linear_between_rows():
    values = torch.tensor([[0.0], [10.0], [30.0]])
    out = interpolate_rows(values, np.array([0, 5, 9]), 10)
    np.testing.assert_allclose(out[:, 0].numpy(), [0, 2, 4, 6, 8, 10, 15, 20, 25, 30])


def test_progressive_query_on_a_real_store_ends_with_the_scorers_numbers(tiny_model, video_factory, tmp_path):
    path = video_factory("v.mp4", frames=150, fps=15)
    engine.index_videos(tmp_path / "proj", [path], model=tiny_model, runtime="torch")
    [store] = engine.indexed_stores(tmp_path / "proj", tiny_model)
    scorer = QueryScorer(tiny_model)
    steps = list(progressive_query(scorer, store, TEXTS, anchors=3, chunk=4))
    assert len(steps) > 2 and not steps[0].done and steps[-1].done
    np.testing.assert_allclose(steps[-1].scores, scorer.score(store, TEXTS), atol=1e-4)
