"""The scorer's linears through oneDNN give F.linear's numbers, whatever the shape and dtype
(the scorer runs without gradients, where oneDNN is taken)."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from ethoscout.core.model import dense_linear
from ethoscout.core.model.dense_linear import linear


@pytest.mark.parametrize("shape", [(1, 64), (7, 64), (256, 64), (3, 5, 64)])
@pytest.mark.parametrize("with_bias", [True, False])
@torch.no_grad()
def test_linear_equals_f_linear(shape, with_bias):
    g = torch.Generator().manual_seed(len(shape) + shape[0])
    x, w = torch.randn(*shape, generator=g), torch.randn(32, 64, generator=g)
    b = torch.randn(32, generator=g) if with_bias else None
    out = linear(x, w, b)
    assert out.shape == (*shape[:-1], 32)
    assert torch.allclose(out, F.linear(x, w, b), rtol=1e-5, atol=1e-4)


@torch.no_grad()
def test_non_contiguous_input_and_other_dtypes():
    g = torch.Generator().manual_seed(0)
    x, w = torch.randn(64, 10, generator=g).T, torch.randn(8, 64, generator=g)  # x is a transposed view
    assert torch.allclose(linear(x, w), x @ w.T, atol=1e-4)
    x64, w64 = x.double(), w.double()  # not float32: the plain path
    assert linear(x64, w64).dtype == torch.float64
    assert torch.allclose(linear(x64, w64), x64 @ w64.T)


@torch.no_grad()
def test_both_paths_agree(monkeypatch):
    g = torch.Generator().manual_seed(1)
    x, w, b = torch.randn(300, 512, generator=g), torch.randn(2048, 512, generator=g), torch.randn(2048, generator=g)
    fast = linear(x, w, b)
    monkeypatch.setattr(dense_linear, "_onednn", False)
    assert torch.allclose(fast, linear(x, w, b), rtol=1e-5, atol=1e-3)


def test_gradients_take_the_plain_path():
    w = torch.randn(8, 16, requires_grad=True)
    grad, = torch.autograd.grad(linear(torch.randn(4, 16), w).sum(), w)
    assert grad.abs().sum() > 0
