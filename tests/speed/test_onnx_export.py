"""The exported ONNX graphs compute what the torch code computes, and are cached per model."""
from __future__ import annotations

import dataclasses
import os

import numpy as np
import pytest
import torch

from ethoscout.core.model import onnx_export as ox
from ethoscout.core.model.features import encode_windows, text_embeds
from ethoscout.core.model.ort_backend import OrtTextEncoder, OrtVisionBackend


def pixels(model, batch, seed=0):
    vc = model.model.config.vision_config
    rng = np.random.default_rng(seed)
    return rng.standard_normal((batch, model.num_frames, 3, vc.image_size, vc.image_size)).astype(np.float32)


@pytest.mark.parametrize("batch", [1, 3, 5])  # the example batch at export time was 2: batch is dynamic
def test_vision_graph_matches_torch(tiny_model, batch):
    backend = OrtVisionBackend(ox.export(tiny_model, "vision", "fp32"), "ort-fp32")
    x = pixels(tiny_model, batch)
    frame_cls, img = backend.encode(x)
    ref_cls, ref_img = encode_windows(tiny_model.model, torch.from_numpy(x))
    assert frame_cls.shape == tuple(ref_cls.shape) and img.shape == tuple(ref_img.shape)
    assert frame_cls.dtype == np.float32
    np.testing.assert_allclose(frame_cls, ref_cls.numpy(), atol=1e-4)
    np.testing.assert_allclose(img, ref_img.numpy(), atol=1e-4)


def test_text_graph_matches_torch_for_any_count_and_length(tiny_model):
    encoder = OrtTextEncoder(ox.export(tiny_model, "text", "fp32"), tiny_model.tokenizer)
    for texts in (["rearing"], ["a mouse grooming its face with both paws", "sniffing", "a long pause then a jump"]):
        got = encoder.encode(texts)
        with torch.no_grad():
            ref = text_embeds(tiny_model.model, tiny_model.tokenizer, texts).numpy()
        np.testing.assert_allclose(got, ref, atol=1e-4)


@pytest.mark.parametrize("part", ["vision", "text"])
@pytest.mark.parametrize("precision,min_cosine", [("fp32", 0.999), ("fp16", 0.999), ("int8", 0.99)])
def test_every_precision_agrees_with_torch(tiny_model, part, precision, min_cosine):
    report = ox.check(tiny_model, ox.export(tiny_model, part, precision), part)
    assert report.min_cosine >= min_cosine, report


def test_int8_is_smaller_and_not_identical(tiny_model):
    """Guards against a quantiser that silently did nothing."""
    fp32, int8 = ox.export(tiny_model, "text", "fp32"), ox.export(tiny_model, "text", "int8")
    assert int8.stat().st_size < fp32.stat().st_size
    report = ox.check(tiny_model, int8, "text")
    assert report.max_abs["text_embeds"] > 1e-6


def test_exports_live_under_ethoscout_cache_keyed_by_fingerprint(tiny_model, onnx_cache):
    path = ox.export(tiny_model, "vision", "fp32")
    assert path.parent == onnx_cache / "onnx" / tiny_model.fingerprint
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]


def test_cached_export_is_reused(tiny_model, monkeypatch):
    path = ox.export(tiny_model, "vision", "int8")
    mtime = path.stat().st_mtime_ns

    def no_export(*a, **k):
        raise AssertionError("exported again although the graph is cached")

    monkeypatch.setattr(ox, "_export_fp32", no_export)
    monkeypatch.setattr(ox, "_quantize_int8", no_export)
    assert ox.export(tiny_model, "vision", "int8") == path
    assert path.stat().st_mtime_ns == mtime


def test_changed_model_gets_a_fresh_export(tiny_model):
    old = ox.export(tiny_model, "vision", "fp32")
    changed = dataclasses.replace(tiny_model, fingerprint=tiny_model.fingerprint + "-merged-lora")
    new = ox.export(changed, "vision", "fp32")
    assert new != old and new.exists() and old.exists()
    assert new.parent.name == changed.fingerprint


def test_failed_export_leaves_nothing_behind(tiny_model, monkeypatch):
    changed = dataclasses.replace(tiny_model, fingerprint="will-fail")

    def half_written(loaded, part, out):
        out.write_bytes(b"not a graph")
        raise ox.ExportError("exporter crashed")

    monkeypatch.setattr(ox, "_export_fp32", half_written)
    with pytest.raises(ox.ExportError):
        ox.export(changed, "vision", "fp32")
    folder = ox.onnx_folder("will-fail")
    assert not folder.exists() or not os.listdir(folder)


def test_graph_that_disagrees_with_torch_is_rejected(tiny_model, monkeypatch):
    changed = dataclasses.replace(tiny_model, fingerprint="disagrees")
    monkeypatch.setattr(ox, "check", lambda *a, **k: ox.Agreement({"frame_cls": 0.5}, {"frame_cls": 1.0}))
    with pytest.raises(ox.ExportError, match="disagrees with torch"):
        ox.export(changed, "vision", "fp32")
    assert not ox.graph_path(changed, "vision", "fp32").exists()
