"""Two-stage collection ranking: exact where it scores, the exhaustive ranking when it may."""
from __future__ import annotations

import json

import numpy as np
import torch

from ethoscout.core.model.cache import FeatureStore
from ethoscout.core.model.features import text_embeds
from ethoscout.core.model.query import QueryScorer
from ethoscout.core.model.two_stage import CollectionRanker


def drifting_store(folder, n: int, loaded, seed: int) -> FeatureStore:
    """A store whose window features drift along the video, laid out as the cache writes it."""
    rng = np.random.default_rng(seed)
    d, t = loaded.embed_dim, loaded.num_frames
    vc = loaded.model.config.vision_config
    p = (vc.image_size // vc.patch_size) ** 2
    folder.mkdir(parents=True)
    walk = lambda *shape: (np.cumsum(0.3 * rng.standard_normal((n, *shape)), axis=0)  # noqa: E731
                           + rng.standard_normal(shape)).astype(np.float16)
    np.save(folder / "frame_cls.npy", walk(t, d))
    np.save(folder / "img_features.npy", walk(p, d))
    (folder / "meta.json").write_text(json.dumps({"starts": list(range(n)), "ends": list(range(2, n + 2)),
                                                  "video_path": f"v{seed}.mp4", "video_name": f"v{seed}.mp4"}))
    return FeatureStore(folder)


def collection(tmp_path, loaded, sizes=(300, 500, 200)):
    return [drifting_store(tmp_path / f"s{i}", n, loaded, seed=i) for i, n in enumerate(sizes)]


def exhaustive(loaded, stores, texts):
    scorer = QueryScorer(loaded)
    return [scorer.score(s, texts).mean(axis=1) for s in stores]


TEXTS = ["a mouse rearing against the wall", "rearing"]


def test_candidates_get_the_exact_score(tiny_model, tmp_path):
    stores = collection(tmp_path, tiny_model)
    with torch.inference_mode():
        text = text_embeds(tiny_model.model, tiny_model.tokenizer, TEXTS)
    result = CollectionRanker(tiny_model).rank(stores, text, k=10, candidates=100, max_candidates=300, sample=64)
    truth = exhaustive(tiny_model, stores, TEXTS)
    n_exact = sum(int(m.sum()) for m in result.exact)
    assert 100 <= n_exact <= 300 + 64
    for got, want, mask in zip(result.per_store, truth, result.exact):
        np.testing.assert_allclose(got[mask], want[mask], atol=1e-5)
        assert got.shape == want.shape and np.isfinite(got).all()
    # the ranking is of exact scores only
    top = result.top(10)
    assert [s for *_, s in top] == sorted((s for *_, s in top), reverse=True)
    assert all(result.exact[si][w] for si, w, _ in top)


def test_everything_as_candidates_is_the_exhaustive_ranking(tiny_model, tmp_path):
    stores = collection(tmp_path, tiny_model)
    with torch.inference_mode():
        text = text_embeds(tiny_model.model, tiny_model.tokenizer, TEXTS[:1])
    result = CollectionRanker(tiny_model).rank(stores, text, k=20, candidates=1000, sample=32)
    truth = exhaustive(tiny_model, stores, TEXTS[:1])
    assert all(m.all() for m in result.exact)
    flat = np.concatenate(truth)
    offsets = np.cumsum([0] + [len(s) for s in stores])
    got = [offsets[si] + w for si, w, _ in result.top(20)]
    assert got == list(np.argsort(-flat, kind="stable")[:20])


def test_labelled_windows_are_always_exact(tiny_model, tmp_path):
    stores = collection(tmp_path, tiny_model, sizes=(120, 80))
    with torch.inference_mode():
        text = text_embeds(tiny_model.model, tiny_model.tokenizer, TEXTS[:1])
    always = [np.array([3, 4, 5]), np.array([], np.int64)]
    result = CollectionRanker(tiny_model).rank(stores, text, k=5, candidates=5, max_candidates=5, sample=8,
                                                always=always)
    assert result.exact[0][[3, 4, 5]].all()


def test_video_embeddings_are_kept_beside_the_store_for_the_next_process(tiny_model, tmp_path):
    [store] = collection(tmp_path, tiny_model, sizes=(120,))
    first = CollectionRanker(tiny_model).unit_video(store).numpy()
    saved = store.array(f"unit_video_{tiny_model.fingerprint}")
    np.testing.assert_array_equal(saved, first)
    np.testing.assert_allclose(np.linalg.norm(first, axis=1), 1.0, atol=1e-5)
    # a new ranker (a new process) reads the saved file instead of running the MIT again
    store.add_array(f"unit_video_{tiny_model.fingerprint}", np.roll(first, 1, axis=0))
    np.testing.assert_array_equal(CollectionRanker(tiny_model).unit_video(store).numpy(), np.roll(first, 1, axis=0))


def test_scorer_keeps_one_ranker_until_the_model_changes(tiny_model, tmp_path):
    [store] = collection(tmp_path, tiny_model, sizes=(50,))
    scorer = QueryScorer(tiny_model)
    ranker = scorer.ranker
    ranker.unit_video(store)
    assert scorer.ranker is ranker and ranker._video
    scorer.reset()  # an adapter switch
    assert not ranker._video and ranker._folded is None
