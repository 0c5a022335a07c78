"""core/model/query.py: the scorer keeps per-window tensors for the videos in use only, least
recently used out first, within a byte budget, in float16 for a float16 cache."""
from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from ethoscout.core import engine
from ethoscout.core.model.query import QueryScorer
from ethoscout.core.video.windows import WindowSpec

TEXTS = ["a bright square moving", "a dark frame"]


@pytest.fixture(scope="module")
def stores(tiny_model, tmp_path_factory):
    from tests.conftest import write_video

    root = tmp_path_factory.mktemp("scorer-memory")
    videos = [write_video(root / f"v{i}.mp4", frames=60 + 15 * i, pattern=p)
              for i, p in enumerate(["moving", "still", "flash"])]
    results = engine.index_videos(root / "proj", videos, model=tiny_model, runtime="torch")
    return [r.store for r in results]


def per_window_bytes(loaded, store, patch_bytes=2):
    d, p = loaded.embed_dim, store.img_features.shape[1]
    return p * d * patch_bytes + p * 2 * 4 + d * 4  # patches, their mean and 1/std, unit video


def test_float16_cache_keeps_float16_patch_features(tiny_model, stores):
    scorer = QueryScorer(tiny_model)
    held = scorer.window_tensors(stores[0])
    assert held.patches.dtype == torch.float16 and held.patches.device.type == "cpu"
    np.testing.assert_array_equal(held.patches.numpy(), stores[0].img_features)  # no rounding
    assert scorer.nbytes == len(stores[0]) * per_window_bytes(tiny_model, stores[0])


def test_least_recently_used_videos_leave_first_within_the_budget(tiny_model, stores):
    a, b, c = stores
    sizes = [len(s) * per_window_bytes(tiny_model, s) for s in stores]
    scorer = QueryScorer(tiny_model, budget_bytes=sizes[0] + sizes[1] + sizes[2] - 1)
    first = {id(s): scorer.score(s, TEXTS) for s in (a, b)}
    scorer.score(a, TEXTS)  # a is now used more recently than b
    scorer.score(c, TEXTS)  # no room for all three: b goes
    assert scorer.held() == [str(a.folder), str(c.folder)]
    assert scorer.nbytes <= scorer.budget_bytes
    np.testing.assert_array_equal(scorer.score(b, TEXTS), first[id(b)])  # recomputed, same numbers
    assert scorer.held() == [str(c.folder), str(b.folder)]


def test_the_store_in_use_stays_even_over_budget(tiny_model, stores):
    scorer = QueryScorer(tiny_model, budget_bytes=1)
    for s in stores:
        assert scorer.score(s, TEXTS).shape == (len(s), len(TEXTS))
        assert scorer.held() == [str(s.folder)]


def test_a_store_written_again_is_not_served_from_memory(tiny_model, stores, tmp_path):
    import shutil

    from ethoscout.core.model.cache import FeatureStore

    folder = tmp_path / "store"
    shutil.copytree(stores[0].folder, folder)
    scorer = QueryScorer(tiny_model)
    before = scorer.score(FeatureStore(folder), TEXTS)
    img = np.load(folder / "img_features.npy")
    np.save(folder / "img_features.npy", img[::-1].copy())  # the same folder, other features
    os.utime(folder / "meta.json", ns=(1, os.stat(folder / "meta.json").st_mtime_ns + 10**9))
    after = scorer.score(FeatureStore(folder), TEXTS)
    assert not np.allclose(before, after)


def test_float32_cache_keeps_its_precision(tiny_model, video_factory, tmp_path):
    path = video_factory("v.mp4", frames=45)
    [r] = engine.index_videos(tmp_path, [path], model=tiny_model, cache_dtype="float32", runtime="torch",
                              spec=WindowSpec(frames=8))
    assert QueryScorer(tiny_model).window_tensors(r.store).patches.dtype == torch.float32


def test_model_service_applies_the_budget(tiny_model_dir, stores):
    from ethoscout.core.jobs import ModelConfig, ModelService

    svc = ModelService(ModelConfig(model=str(tiny_model_dir), device="cpu"), scorer_budget=123)
    try:
        svc.set_scorer_budget(4567)
        job = svc.submit(lambda ctx: ctx.scorer().budget_bytes)
        assert job.wait(60) and job.result == 4567
    finally:
        assert svc.shutdown(10)


def test_warm_up_prepares_the_video_on_screen_first_within_the_budget(tiny_model_dir, tiny_model, stores):
    from ethoscout.core.jobs import ModelConfig, ModelService, warm_scorer_job

    project = stores[0].folder.parents[2]
    sizes = [QueryScorer(tiny_model).bytes_for(s) for s in stores]
    assert sizes[0] == len(stores[0]) * per_window_bytes(tiny_model, stores[0])
    svc = ModelService(ModelConfig(model=str(tiny_model_dir), device="cpu"), scorer_budget=sizes[2] + sizes[0])
    try:
        wanted = [s.meta["video_fingerprint"] for s in (stores[2], stores[0], stores[1])]
        job = svc.submit(warm_scorer_job, str(project), None, wanted)
        assert job.wait(60) and job.result == len(stores[2]) + len(stores[0]), job.error
        held = svc.submit(lambda ctx: ctx.scorer().held())
        assert held.wait(10) and held.result == [str(stores[2].folder), str(stores[0].folder)]
    finally:
        assert svc.shutdown(10)


def test_kept_tensors_give_the_float32_numbers(tiny_model, stores):
    """Kept as cached and normalised per chunk in float32: no rounding beyond the cache's."""
    from ethoscout.core.model.features import as_tensor, text_embeds, video_embeds
    from ethoscout.core.model.scoring import cosine_scores

    store = stores[0]
    with torch.inference_mode():
        m = tiny_model.model
        expected = cosine_scores(m, video_embeds(m, as_tensor(store.frame_cls, "cpu")),
                                 text_embeds(m, tiny_model.tokenizer, TEXTS),
                                 img_features=as_tensor(store.img_features, "cpu")).numpy()
    np.testing.assert_allclose(QueryScorer(tiny_model).score(store, TEXTS), expected, atol=1e-6)
