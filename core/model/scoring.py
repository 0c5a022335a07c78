"""Scores of windows against behaviour texts from cached features.

The fast path gives the same numbers as XCLIPModel (within float rounding) but never runs
the prompt generator's key/value projections over each window's patches: a query is one
vector per behaviour, so its attention logits are (W_k^T q) . v_p and its output is
W_v (sum_p a_p v_p). Projecting the query once and weighting the cached, normalised patch
features costs O(H*P*D) per window instead of O(P*D^2).

The raw path (``cosine_scores_raw``) goes one step further for scoring many windows: the
prompt generator's layer norm of each patch is folded into the attention too, so it reads the
cached patch features as they are plus two numbers per patch (mean and 1/std, ``patch_stats``,
computed once per store) instead of normalising ~90 M numbers an hour for every query:
  logits_p = g . LN(v_p) = rstd_p (g*gamma . v_p - mean_p sum(g*gamma)) + g . beta
(the last term is the same for every patch, so softmax drops it) and
  sum_p a_p LN(v_p) = gamma * (sum_p a_p rstd_p v_p - sum_p a_p rstd_p mean_p) + beta.
Same numbers as the exact path up to float rounding (~1e-5), in less time.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .dense_linear import DenseLinear, linear


def _cross_attention(attn, query: torch.Tensor, visual: torch.Tensor) -> torch.Tensor:
    """attn(query, visual, visual) for queries (N or 1, K, D) and visual (N, P, D)."""
    h, hd = attn.num_heads, attn.head_dim
    d = h * hd
    wk = DenseLinear(attn.k_proj).weight.view(h, hd, d)
    wv = DenseLinear(attn.v_proj).weight.view(h, hd, d)
    q = attn.q_proj(query).unflatten(-1, (h, hd))  # (n, K, H, hd)
    qk = torch.einsum("nkhe,hed->nkhd", q, wk) * attn.scale  # query folded into key space
    logits = torch.einsum("nkhd,npd->nkhp", qk, visual) if qk.shape[0] > 1 else \
        torch.einsum("khd,npd->nkhp", qk[0], visual)
    weights = logits.softmax(dim=-1)
    ctx = torch.einsum("nkhp,npd->nkhd", weights, visual)  # weighted patch features
    out = torch.einsum("nkhd,hed->nkhe", ctx, wv).flatten(-2)  # value projection, once
    return attn.proj(out)


@dataclass
class FoldedLayer:
    layer: torch.nn.Module  # a PromptGeneratorLayer: its norms, query and output projections, MLP
    wk: torch.Tensor  # (H, hd, D) key projection * scale * gamma
    wv_t: torch.Tensor  # (H, D, hd) value projection * gamma, transposed
    wv_sum: torch.Tensor  # (H, hd) sum_d (value projection * gamma): takes the patch mean off
    wv_beta: torch.Tensor  # (H, hd) value projection of the layer norm's shift
    q_proj: DenseLinear  # the layer's other linears, as matrices (oneDNN on the CPU)
    proj: DenseLinear
    fc1: DenseLinear
    fc2: DenseLinear


class FoldedPrompt:
    """The prompt generator's key/value projections as matrices per head with its patch layer
    norm folded in, taken once per model state (LoRA included: an adapter switch needs a new
    one), for the raw path."""

    def __init__(self, model):
        gen = model.prompts_generator
        gamma, beta, self.eps = gen.layernorm.weight, gen.layernorm.bias, gen.layernorm.eps
        self.layers: list[FoldedLayer] = []
        with torch.inference_mode():
            for layer in gen.decoder:
                a = layer.cross_attn
                d = a.num_heads * a.head_dim
                wk = DenseLinear(a.k_proj).weight.view(a.num_heads, a.head_dim, d) * a.scale
                wv = DenseLinear(a.v_proj).weight.view(a.num_heads, a.head_dim, d)
                wv_gamma = wv * gamma  # the layer norm's scale and shift folded into the values
                fc1, fc2 = layer.mlp[0], layer.mlp[-1]  # (Linear, activation, Dropout, Linear)
                self.layers.append(FoldedLayer(layer, wk * gamma, wv_gamma.transpose(1, 2).contiguous(),
                                               wv_gamma.sum(-1), wv @ beta, DenseLinear(a.q_proj),
                                               DenseLinear(a.proj), DenseLinear(fc1), DenseLinear(fc2)))


@torch.inference_mode()
def patch_stats(patches: torch.Tensor, eps: float, chunk: int = 256) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and 1/std over the feature axis of patches (N, P, D), float32, as LayerNorm takes them."""
    means, rstds = [], []
    for i in range(0, len(patches), chunk):
        var, mean = torch.var_mean(patches[i:i + chunk].float(), dim=-1, correction=0)
        means.append(mean)
        rstds.append(torch.rsqrt(var + eps))
    if not means:
        return torch.zeros(patches.shape[:2]), torch.zeros(patches.shape[:2])
    return torch.cat(means), torch.cat(rstds)


def prompt_text_raw(model, folded: FoldedPrompt, text: torch.Tensor, patches: torch.Tensor,
                    mean: torch.Tensor, rstd: torch.Tensor) -> torch.Tensor:
    """prompt_text from raw patch features (n, P, D) float32 and their patch_stats -> (n, K, D)."""
    n, _, d = patches.shape
    k = text.shape[0]
    mean, rstd = mean.unsqueeze(1), rstd.unsqueeze(1)  # (n, 1, P) against (n, K*H, P)
    hidden = text.unsqueeze(0)
    for f in folded.layers:
        layer, attn = f.layer, f.layer.cross_attn
        h = attn.num_heads
        q = f.q_proj(layer.norm1(hidden)).unflatten(-1, (h, attn.head_dim))  # (1 or n, K, H, hd)
        # query in patch space, per head: (H, m*K, hd) @ (H, hd, D) (a batched product; einsum's own
        # plan for this is several times slower on CPU)
        g = torch.bmm(q.permute(2, 0, 1, 3).reshape(h, -1, attn.head_dim), f.wk)
        g = g.view(h, q.shape[0], k, d).permute(1, 2, 0, 3).reshape(q.shape[0], k * h, d)
        if g.shape[0] == 1:  # the same query for every window: one matrix product
            raw = linear(patches.reshape(-1, d), g[0]).view(n, -1, k * h).transpose(1, 2)
        else:
            raw = torch.bmm(g, patches.transpose(1, 2))  # (n, K*H, P)
        weights = (rstd * (raw - mean * g.sum(-1, keepdim=True))).softmax(-1) * rstd
        # values: W_v sum_p a_p LN(v_p) = (W_v*gamma) sum_p a'_p v_p - (sum_p a'_p mean_p) W_v gamma 1 + W_v beta
        ctx = torch.bmm(weights, patches).view(n * k, h, d).transpose(0, 1)  # (H, n*K, D)
        out = torch.bmm(ctx, f.wv_t) - (weights * mean).sum(-1).view(n * k, h).T.unsqueeze(-1) * f.wv_sum.unsqueeze(1)
        out = (out + f.wv_beta.unsqueeze(1)).transpose(0, 1).reshape(n, k, d)
        hidden = hidden + f.proj(out)
        hidden = hidden + f.fc2(layer.mlp[1](f.fc1(layer.norm3(hidden))))
    return text.unsqueeze(0) + model.prompts_generator.alpha * hidden


def cosine_scores_raw(model, folded: FoldedPrompt, unit_video: torch.Tensor, text: torch.Tensor,
                      patches: torch.Tensor, mean: torch.Tensor, rstd: torch.Tensor) -> torch.Tensor:
    """cosine_scores from unit video embeddings (n, D) and raw patches -> (n, K)."""
    prompted = prompt_text_raw(model, folded, text, patches, mean, rstd)
    return torch.einsum("nd,nkd->nk", unit_video, F.normalize(prompted, dim=-1))


def prompt_visual(model, img_features: torch.Tensor) -> torch.Tensor:
    """The prompt generator's normalised view of the patch features: per window, not per
    query, so a scorer computes it once per video."""
    return model.prompts_generator.layernorm(img_features)


def prompt_text(model, text: torch.Tensor, visual: torch.Tensor) -> torch.Tensor:
    """Video-specific prompting: text (K, D), visual = prompt_visual(...) (N, P, D) -> (N, K, D)."""
    gen = model.prompts_generator
    hidden = text.unsqueeze(0)  # (1, K, D), broadcast over windows until it differs
    for layer in gen.decoder:
        hidden = hidden + _cross_attention(layer.cross_attn, layer.norm1(hidden), visual)
        hidden = hidden + layer.mlp(layer.norm3(hidden))
    return text.unsqueeze(0) + gen.alpha * hidden


def cosine_scores(model, video: torch.Tensor, text: torch.Tensor, img_features: torch.Tensor | None = None,
                  visual: torch.Tensor | None = None) -> torch.Tensor:
    """video (N, D) MIT embeddings, text (K, D), and img_features (N, P, D) or their
    prompt_visual() -> cosine (N, K)."""
    if visual is None:
        visual = prompt_visual(model, img_features)
    prompted = prompt_text(model, text, visual)
    return torch.einsum("nd,nkd->nk", F.normalize(video, dim=-1), F.normalize(prompted, dim=-1))


def cosine_scores_reference(model, video: torch.Tensor, text: torch.Tensor, img_features: torch.Tensor) -> torch.Tensor:
    """The same as XCLIPModel.forward computes it (full key/value projections per window)."""
    prompted = text.unsqueeze(0).expand(video.shape[0], -1, -1)
    prompted = prompted + model.prompts_generator(prompted, img_features)
    return torch.einsum("nd,nkd->nk", F.normalize(video, dim=-1), F.normalize(prompted, dim=-1))
