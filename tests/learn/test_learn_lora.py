"""LoRA adapters: targets, scoring through the fast path, plain peft folders."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from ethoscout.core.model.cache import FeatureStore
from ethoscout.core.model.dense_linear import DenseLinear
from ethoscout.core.model.features import text_embeds, video_embeds
from ethoscout.core.model.lora import (AdapterError, attach_lora, load_adapter, lora_config, read_adapter_meta,
                                       save_adapter)
from ethoscout.core.model.query import QueryScorer
from ethoscout.core.model.scoring import cosine_scores, cosine_scores_reference


def randomised(loaded, deep=False, seed=1):
    """An adapter whose LoRA update is non-zero (peft starts B at zero)."""
    adapted = attach_lora(loaded, lora_config(deep=deep))
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in adapted.model.named_parameters():
            if "lora_B" in name:
                p.copy_(torch.randn(p.shape, generator=g) * 0.5)
    adapted.model.eval()
    return adapted


def wrapped_names(model):
    return {n.rsplit(".base_layer", 1)[0] for n, _ in model.named_modules() if n.endswith("base_layer")}


def test_default_targets_leave_the_vision_tower_alone(tiny_model):
    names = wrapped_names(attach_lora(tiny_model, lora_config()).model)
    assert not [n for n in names if "vision_model" in n or "visual_projection" in n]
    for part in ("text_model", "mit.", "prompts_generator", "text_projection"):
        assert any(part in n for n in names), part
    assert any(n.endswith("cross_attn.k_proj") for n in names)
    deep = wrapped_names(attach_lora(tiny_model, lora_config(deep=True)).model)
    assert any("vision_model" in n for n in deep) and names < deep


def test_attach_keeps_the_callers_model_plain(tiny_model):
    attach_lora(tiny_model, lora_config())
    assert not wrapped_names(tiny_model.model)


def test_dense_linear_includes_the_lora_update(tiny_model):
    adapted = randomised(tiny_model)
    decoder = adapted.model.base_model.model.prompts_generator.decoder[0]
    for layer in (decoder.cross_attn.k_proj, decoder.mlp[0]):  # bias-free, and with a bias
        a, b = layer.lora_A["default"].weight, layer.lora_B["default"].weight
        expected = layer.base_layer.weight + layer.scaling["default"] * (b @ a)
        dense = DenseLinear(layer)
        assert torch.allclose(dense.weight, expected, atol=1e-5)
        assert not torch.allclose(expected, layer.base_layer.weight, atol=1e-3)
        bias = layer.base_layer.bias if layer.base_layer.bias is not None else torch.zeros(len(expected))
        assert torch.allclose(dense.bias, bias, atol=1e-6)
        x = torch.randn(3, 5, layer.in_features, generator=torch.Generator().manual_seed(0))
        assert torch.allclose(dense(x), layer(x), atol=1e-5)
        b.requires_grad_(True)  # training takes gradients through it to the adapter
        grad, = torch.autograd.grad(DenseLinear(layer)(x).sum(), b)
        assert grad.abs().sum() > 0


def _features(n=5, t=8, p=16, d=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, t, d, generator=g), torch.randn(n, p, d, generator=g)


def test_fast_scoring_with_an_adapter_matches_the_full_forward(tiny_model):
    adapted = randomised(tiny_model)
    m = adapted.model
    frame_cls, img = _features()
    with torch.no_grad():
        text = text_embeds(m, tiny_model.tokenizer, ["a mouse grooming", "rearing"])
        video = video_embeds(m, frame_cls)
        fast = cosine_scores(m, video, text, img)
        ref = cosine_scores_reference(m, video, text, img)
        base = cosine_scores(tiny_model.model, video_embeds(tiny_model.model, frame_cls),
                             text_embeds(tiny_model.model, tiny_model.tokenizer, ["a mouse grooming", "rearing"]), img)
    assert torch.allclose(fast, ref, atol=1e-5)
    assert not torch.allclose(fast, base, atol=1e-3)  # the adapter changes the scores


def test_adapter_folder_is_plain_peft_and_scores_the_same(tiny_model, tiny_model_dir, tmp_path):
    from peft import PeftModel
    from transformers import XCLIPModel

    adapted = randomised(tiny_model)
    folder = save_adapter(adapted.model, tmp_path / "adapters" / "v1", {"version": 1,
                                                                         "base_fingerprint": tiny_model.fingerprint})
    assert (folder / "adapter_config.json").exists() and (folder / "adapter_model.safetensors").exists()
    assert not list(folder.parent.glob(".*tmp*"))  # no temporary left behind
    assert read_adapter_meta(folder)["version"] == 1

    outside = PeftModel.from_pretrained(XCLIPModel.from_pretrained(tiny_model_dir), folder).eval()
    ours = load_adapter(tiny_model, folder)
    assert ours.fingerprint == tiny_model.fingerprint  # vision cache stays valid
    frame_cls, img = _features(seed=3)
    with torch.no_grad():
        texts = ["a mouse grooming"]
        a = cosine_scores(outside, video_embeds(outside, frame_cls), text_embeds(outside, tiny_model.tokenizer, texts), img)
        b = cosine_scores(ours.model, video_embeds(ours.model, frame_cls),
                          text_embeds(ours.model, tiny_model.tokenizer, texts), img)
        c = cosine_scores(adapted.model, video_embeds(adapted.model, frame_cls),
                          text_embeds(adapted.model, tiny_model.tokenizer, texts), img)
    assert torch.allclose(a, b, atol=1e-5) and torch.allclose(b, c, atol=1e-5)
    merged = load_adapter(tiny_model, folder, merge=True)
    with torch.no_grad():
        d = cosine_scores(merged.model, video_embeds(merged.model, frame_cls),
                          text_embeds(merged.model, tiny_model.tokenizer, texts), img)
    assert torch.allclose(b, d, atol=1e-4)
    with pytest.raises(AdapterError):
        save_adapter(adapted.model, folder)  # versions are never overwritten


def test_deep_adapter_gets_its_own_fingerprint(tiny_model, tmp_path):
    folder = save_adapter(randomised(tiny_model, deep=True).model, tmp_path / "v2", {"version": 2})
    assert read_adapter_meta(folder)["deep"] is True
    assert load_adapter(tiny_model, folder).fingerprint != tiny_model.fingerprint


def test_adapter_of_another_model_is_refused(tiny_model, tmp_path):
    folder = save_adapter(randomised(tiny_model).model, tmp_path / "v1", {"base_fingerprint": "0123456789abcdef"})
    with pytest.raises(AdapterError, match="another model"):
        load_adapter(tiny_model, folder)


def test_query_scorer_uses_the_adapter(tiny_model, tmp_path):
    """Also when the base model's video embeddings were saved beside the store first: the
    adapter changes the MIT, so it must not read them."""
    frame_cls, img_features = (x.numpy().astype(np.float16) for x in _features(seed=5))
    store_dir = tmp_path / "store"
    store_dir.mkdir()
    np.save(store_dir / "frame_cls.npy", frame_cls)
    np.save(store_dir / "img_features.npy", img_features)
    (store_dir / "meta.json").write_text(json.dumps({"starts": list(range(5)), "ends": list(range(2, 7)),
                                                     "video_path": "v.mp4", "video_name": "v.mp4"}))
    store = FeatureStore(store_dir)
    folder = save_adapter(randomised(tiny_model).model, tmp_path / "v1", {})
    base = QueryScorer(tiny_model).score(store, ["grooming"])
    loaded = load_adapter(tiny_model, folder)
    adapted = QueryScorer(loaded).score(store, ["grooming"])
    assert base.shape == adapted.shape == (5, 1)
    assert not np.allclose(base, adapted, atol=1e-3)
    assert len(list(store_dir.glob("unit_video_*.npy"))) == 2  # one per set of weights
    with torch.no_grad():  # the scorer's folded path is the adapted model's own forward
        m = loaded.model
        expected = cosine_scores_reference(m, video_embeds(m, torch.from_numpy(frame_cls).float()),
                                           text_embeds(m, loaded.tokenizer, ["grooming"]),
                                           torch.from_numpy(img_features).float())
    np.testing.assert_allclose(adapted, expected.numpy(), atol=1e-4)
