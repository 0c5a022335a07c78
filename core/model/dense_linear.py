"""Linear layers taken once as plain matrices, run through oneDNN on the CPU.

torch runs a float32 linear layer on the CPU through MKL, which on AMD processors takes its
AVX2 code: on a 2-core AMD EPYC (Zen 5), (3600 x 512) @ (512 x 2048) took 33 ms through MKL and
15 ms through oneDNN (torch.ops.mkldnn._linear_pointwise), the same numbers within float32
rounding (~3e-6). Scoring a new text runs the prompt generator's linears over every window, so
the scorer takes them through here. Anywhere else (a GPU, another dtype, a torch without oneDNN)
it is F.linear.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

_onednn = bool(torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_linear_pointwise"))


def linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """F.linear(x, weight, bias), through oneDNN for float32 on the CPU when no gradient is
    taken (the oneDNN op has no backward)."""
    global _onednn
    if _onednn and x.device.type == "cpu" and x.dtype == torch.float32 and not torch.is_grad_enabled():
        try:
            flat = x.reshape(-1, x.shape[-1]).contiguous()
            out = torch.ops.mkldnn._linear_pointwise(flat, weight, bias, "none", [], "")
            return out.view(*x.shape[:-1], out.shape[-1])
        except RuntimeError:  # a build whose oneDNN refuses it: the plain path from now on
            _onednn = False
    return F.linear(x, weight, bias)


class DenseLinear:
    """A linear layer's effective weight and bias (a LoRA update wrapped around it included),
    taken once per model state: call it like the layer."""

    def __init__(self, linear: torch.nn.Module):
        # in the caller's grad mode: training takes gradients through these (LoRA's included)
        p, in_features = next(linear.parameters()), linear.in_features
        bias = linear(torch.zeros(1, in_features, device=p.device, dtype=p.dtype))[0]
        self.weight = (linear(torch.eye(in_features, device=p.device, dtype=p.dtype)) - bias).T.contiguous()
        self.bias = bias.contiguous()

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return linear(x, self.weight, self.bias)
