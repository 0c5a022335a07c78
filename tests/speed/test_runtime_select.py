"""Runtime selection: what each name gives, what auto picks, and the fallback to torch."""
from __future__ import annotations

import logging

import numpy as np
import pytest
import torch

from ethoscout.core.model import onnx_export as ox
from ethoscout.core.model import runtime as rt
from ethoscout.core.model.ort_backend import has_cuda_provider

CUDA = torch.cuda.is_available() and has_cuda_provider()


def pixels(model, batch=2, seed=3):
    vc = model.model.config.vision_config
    return np.random.default_rng(seed).standard_normal(
        (batch, model.num_frames, 3, vc.image_size, vc.image_size)).astype(np.float32)


@pytest.mark.parametrize("runtime,name", [("torch", "torch-fp32"), ("torch-bf16", "torch-bf16"),
                                          ("ort-int8", "ort-int8")])
def test_runtime_names(tiny_model, runtime, name):
    assert rt.make_vision_backend(tiny_model, runtime).name == name


@pytest.mark.skipif(CUDA, reason="checks the CPU choice")
def test_auto_on_cpu_is_int8_onnxruntime(tiny_model):
    assert rt.make_vision_backend(tiny_model, "auto").name == "ort-int8"
    assert rt.make_vision_backend(tiny_model, "ort").name == "ort-fp32"


@pytest.mark.skipif(CUDA, reason="needs a machine without CUDA")
@pytest.mark.parametrize("runtime", ["ort-cuda", "ort-fp16"])
def test_gpu_runtimes_refuse_clearly_without_cuda(tiny_model, runtime):
    with pytest.raises(ValueError, match="needs a CUDA GPU"):
        rt.make_vision_backend(tiny_model, runtime)


def test_unknown_runtime(tiny_model):
    with pytest.raises(ValueError, match="unknown runtime 'tensorrt'"):
        rt.make_vision_backend(tiny_model, "tensorrt")


def test_auto_falls_back_to_torch_with_one_warning(tiny_model, monkeypatch, caplog):
    def broken(*a, **k):
        raise ox.ExportError("tiny: could not export the vision tower to ONNX (unsupported op)")

    monkeypatch.setattr(ox, "export", broken)
    with caplog.at_level(logging.WARNING):
        backend = rt.make_vision_backend(tiny_model, "auto")
    assert backend.name == "torch-fp32"
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "\n" not in warnings[0].getMessage()
    assert "unsupported op" in warnings[0].getMessage()


def test_explicit_ort_does_not_hide_export_failures(tiny_model, monkeypatch):
    def broken(*a, **k):
        raise ox.ExportError("no")

    monkeypatch.setattr(ox, "export", broken)
    with pytest.raises(ox.ExportError):
        rt.make_vision_backend(tiny_model, "ort-int8")


@pytest.mark.parametrize("runtime,atol", [("ort-fp32", 1e-4), ("ort-int8", 0.1)])
def test_backends_agree_with_torch(tiny_model, runtime, atol):
    """Stated tolerances: fp32 within 1e-4 absolute; int8 within 0.1 absolute and cosine >= 0.99."""
    x = pixels(tiny_model)
    ref = rt.make_vision_backend(tiny_model, "torch").encode(x)
    got = rt.make_vision_backend(tiny_model, runtime).encode(x)
    for g, r in zip(got, ref):
        assert g.shape == r.shape and g.dtype == np.float32
        np.testing.assert_allclose(g, r, atol=atol)
        assert ox.row_cosine(g, r) >= 0.99


def test_inference_threads_leave_the_decoder_a_core():
    assert rt.inference_threads(1) == 1
    assert rt.inference_threads(2) == 1
    assert rt.inference_threads(4) == 3
    assert rt.inference_threads(16) == 14


def test_ort_session_uses_the_thread_budget(tiny_model):
    backend = rt.make_vision_backend(tiny_model, "ort-fp32", threads=1)
    assert backend.session.get_session_options().intra_op_num_threads == 1


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.skipif(not CUDA, reason="needs onnxruntime-gpu's CUDA provider")
@pytest.mark.parametrize("runtime", ["auto", "ort-fp16", "ort-cuda"])
def test_cuda_runtimes_agree_with_torch(tiny_model, runtime):
    backend = rt.make_vision_backend(tiny_model, runtime)
    assert "cuda" in backend.name
    x = pixels(tiny_model)
    ref = rt.make_vision_backend(tiny_model, "torch").encode(x)
    for g, r in zip(backend.encode(x), ref):
        assert ox.row_cosine(g, r) >= 0.999
