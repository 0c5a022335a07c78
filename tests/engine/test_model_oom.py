"""A GPU without room for the model gives the model-error path: one line saying what to do,
the model left whole, the model service still working."""
from __future__ import annotations

import pytest
import torch

from ethoscout.core.jobs import DONE, FAILED, ModelConfig, ModelService
from ethoscout.core.model.loading import ModelError, load_xclip, to_device


class FullGPU(torch.nn.Module):
    """Stands in for a GPU whose memory is taken: moving there fails as CUDA does."""

    def __init__(self):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(4))

    def to(self, *args, **kwargs):
        device = torch.device(args[0] if args else kwargs["device"])
        if device.type != "cpu":
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 1.50 GiB (GPU 0; 2.00 GiB free)")
        return super().to(*args, **kwargs)


def test_out_of_memory_becomes_one_line_saying_what_to_do():
    model = FullGPU()
    with pytest.raises(ModelError) as e:
        to_device(model, torch.device("cuda:0"), "/models/xclip")
    msg = str(e.value)
    assert "\n" not in msg and msg.startswith("/models/xclip: not enough free GPU memory on cuda:0")
    assert "--device cpu" in msg
    assert model.weight.device.type == "cpu" and torch.equal(model.weight.detach(), torch.ones(4))


def test_other_errors_are_not_called_out_of_memory():
    class Broken(torch.nn.Module):
        def to(self, *args, **kwargs):
            raise RuntimeError("CUDA error: an illegal memory access was encountered")

    with pytest.raises(RuntimeError, match="illegal memory access"):
        to_device(Broken(), torch.device("cuda:0"), "m")


def test_service_survives_an_adapter_that_does_not_fit(tiny_model_dir, tmp_path):
    def full_gpu(base, folder):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 MiB")

    good = ModelConfig(model=str(tiny_model_dir), device="cpu")
    svc = ModelService(good, adapter_loader=full_gpu)
    try:
        assert svc.submit(lambda ctx: ctx.model()).wait(60)
        svc.configure(ModelConfig(model=str(tiny_model_dir), device="cpu", adapter=str(tmp_path / "v1")))
        failed = svc.submit(lambda ctx: ctx.model())
        assert failed.wait(60) and failed.status == FAILED and failed.error_type == "ModelError"
        assert "OutOfMemoryError" in failed.error and "\n" not in failed.error
        after = svc.submit(lambda ctx: ctx.model().fingerprint)
        assert after.wait(60) and after.status == DONE and svc.config == good
    finally:
        assert svc.shutdown(10)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_real_gpu_too_small_for_the_model(tiny_model_dir):
    torch.cuda.empty_cache()
    torch.cuda.set_per_process_memory_fraction(1e-6)
    try:
        with pytest.raises(ModelError, match="not enough free GPU memory"):
            load_xclip(tiny_model_dir, device="cuda")
        assert load_xclip(tiny_model_dir, device="auto").device.type == "cpu"  # auto: the CPU instead
    finally:
        torch.cuda.set_per_process_memory_fraction(1.0)
