"""The cached-feature recipe and the fast query path give XCLIPModel's own numbers."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from ethoscout.core import engine
from ethoscout.core.model.features import encode_windows, text_embeds, tokenize, video_embeds
from ethoscout.core.model.loading import ModelError, load_xclip
from ethoscout.core.model.scoring import (FoldedPrompt, cosine_scores, cosine_scores_raw, cosine_scores_reference,
                                          patch_stats)
from ethoscout.core.video.decode import iter_windows
from ethoscout.core.video.preprocess import Preprocessor
from ethoscout.core.video.probe import probe_video
from ethoscout.core.video.windows import WindowSpec, make_windows

TEXTS = ["a mouse grooming its face", "a bright square moving right", "nothing happens"]


def hf_cosine(model, tokenizer, pixels, texts):
    tok = tokenize(tokenizer, texts, "cpu")
    with torch.no_grad():
        out = model(pixel_values=pixels, **tok)
        return (out.logits_per_video / model.logit_scale.exp()).numpy()


def video_pixels(loaded, path):
    info = probe_video(path)
    pre = Preprocessor.from_config(loaded.preprocessor_config)
    w = make_windows(info.pts_s, info.duration_s, WindowSpec(frames=loaded.num_frames))
    frames = np.stack([f for _, f in iter_windows(info, w, pre.resize_crop)])
    return torch.from_numpy(pre.normalize(frames))


def test_scores_from_cached_tensors_equal_xclip(tiny_model, video_factory):
    m = tiny_model.model
    pixels = video_pixels(tiny_model, video_factory("v.mp4", frames=60, fps=15))
    expected = hf_cosine(m, tiny_model.tokenizer, pixels, TEXTS)
    with torch.no_grad():
        frame_cls, img = encode_windows(m, pixels)
        text = text_embeds(m, tiny_model.tokenizer, TEXTS)
        video = video_embeds(m, frame_cls)
        fast = cosine_scores(m, video, text, img).numpy()
        reference = cosine_scores_reference(m, video, text, img).numpy()
    assert fast.shape == (len(pixels), len(TEXTS))
    np.testing.assert_allclose(reference, expected, atol=1e-5)
    np.testing.assert_allclose(fast, expected, atol=1e-4)
    assert np.ptp(fast) > 1e-3  # not a constant: the comparison means something


def test_fast_path_equals_reference_on_many_windows(tiny_model):
    m = tiny_model.model
    torch.manual_seed(0)
    d = tiny_model.embed_dim
    video, img = torch.randn(500, d), torch.randn(500, 16, d)
    with torch.no_grad():
        text = text_embeds(m, tiny_model.tokenizer, TEXTS)
        np.testing.assert_allclose(cosine_scores(m, video, text, img).numpy(),
                                   cosine_scores_reference(m, video, text, img).numpy(), atol=1e-5)


def test_raw_path_folds_the_layer_norm_exactly(tiny_model):
    """The raw path (layer norm folded into the attention) gives the reference numbers, also
    with a layer norm that is not the identity at init (scale and shift random, patches with
    offsets), so each folded term is checked; one text and several."""
    import copy

    m = copy.deepcopy(tiny_model.model)
    torch.manual_seed(1)
    ln = m.prompts_generator.layernorm
    with torch.no_grad():
        ln.weight.copy_(1 + 0.5 * torch.randn_like(ln.weight))
        ln.bias.copy_(0.5 * torch.randn_like(ln.bias))
    d = tiny_model.embed_dim
    video, img = torch.randn(300, d), 3 + 2 * torch.randn(300, 16, d)
    with torch.no_grad():
        for texts in (TEXTS[:1], TEXTS):
            text = text_embeds(m, tiny_model.tokenizer, texts)
            mean, rstd = patch_stats(img, ln.eps, chunk=64)
            raw = cosine_scores_raw(m, FoldedPrompt(m), torch.nn.functional.normalize(video, dim=-1), text,
                                    img, mean, rstd)
            reference = cosine_scores_reference(m, video, text, img)
            np.testing.assert_allclose(raw.numpy(), reference.numpy(), atol=1e-5)
            assert np.ptp(reference.numpy()) > 1e-3


@pytest.mark.parametrize("dtype,tolerance", [("float32", 1e-4), ("float16", 5e-3)])
def test_engine_scores_from_cache(tiny_model, video_factory, tmp_path, dtype, tolerance):
    """End to end through the cache on disk. float16 (the default, half the disk) rounds the
    patch features; on random weights that moves cosines by a few 1e-4."""
    path = video_factory("v.mp4", frames=60, fps=15)
    engine.index_videos(tmp_path / "proj", [path], model=tiny_model, cache_dtype=dtype, runtime="torch")
    [scores] = engine.score_queries(tmp_path / "proj", TEXTS, model=tiny_model)
    expected = hf_cosine(tiny_model.model, tiny_model.tokenizer, video_pixels(tiny_model, path), TEXTS)
    np.testing.assert_allclose(scores.scores, expected, atol=tolerance)
    assert scores.video == "v.mp4" and len(scores.starts) == len(expected)


def test_missing_model_folder(tmp_path):
    with pytest.raises(ModelError, match="model folder not found") as e:
        load_xclip(tmp_path / "nope")
    assert "\n" not in str(e.value)


def test_folder_without_weights(tiny_model_dir, tmp_path):
    broken = tmp_path / "noweights"
    shutil.copytree(tiny_model_dir, broken)
    (broken / "model.safetensors").unlink()
    with pytest.raises(ModelError, match="no model.safetensors"):
        load_xclip(broken)


def test_unreadable_config(tiny_model_dir, tmp_path):
    broken = tmp_path / "badconfig"
    shutil.copytree(tiny_model_dir, broken)
    (broken / "config.json").write_text("{ not json")
    with pytest.raises(ModelError, match="config.json"):
        load_xclip(broken)


def test_not_an_xclip_folder(tiny_model_dir, tmp_path):
    other = tmp_path / "bert"
    shutil.copytree(tiny_model_dir, other)
    cfg = json.loads((other / "config.json").read_text())
    cfg["model_type"] = "bert"
    (other / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ModelError, match="not an X-CLIP"):
        load_xclip(other)


def test_offline_hub_id_says_how_to_get_weights(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelError) as e:
        load_xclip("microsoft/xclip-base-patch32-not-cached")
    msg = str(e.value)
    assert "\n" not in msg and "--model /path/to/folder" in msg and "download" in msg


def test_cuda_request_without_gpu():
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    from ethoscout.core.model.loading import pick_device

    with pytest.raises(ModelError, match="no CUDA"):
        pick_device("cuda")
    assert pick_device("auto").type == "cpu"
