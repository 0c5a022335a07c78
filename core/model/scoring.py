"""Scores of windows against behaviour texts from cached features.

The fast path gives the same numbers as XCLIPModel (within float rounding) but never runs
the prompt generator's key/value projections over each window's patches: a query is one
vector per behaviour, so its attention logits are (W_k^T q) . v_p and its output is
W_v (sum_p a_p v_p). Projecting the query once and weighting the cached, normalised patch
features costs O(H*P*D) per window instead of O(P*D^2).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def effective_weight(linear: torch.nn.Module, dim: int) -> torch.Tensor:
    """W (out, in) of a bias-free linear layer, including any LoRA update wrapped around it."""
    eye = torch.eye(dim, device=next(linear.parameters()).device)
    return linear(eye).T


def _cross_attention(attn, query: torch.Tensor, visual: torch.Tensor) -> torch.Tensor:
    """attn(query, visual, visual) for queries (N or 1, K, D) and visual (N, P, D)."""
    h, hd = attn.num_heads, attn.head_dim
    d = h * hd
    wk = effective_weight(attn.k_proj, d).view(h, hd, d)
    wv = effective_weight(attn.v_proj, d).view(h, hd, d)
    q = attn.q_proj(query).unflatten(-1, (h, hd))  # (n, K, H, hd)
    qk = torch.einsum("nkhe,hed->nkhd", q, wk) * attn.scale  # query folded into key space
    logits = torch.einsum("nkhd,npd->nkhp", qk, visual) if qk.shape[0] > 1 else \
        torch.einsum("khd,npd->nkhp", qk[0], visual)
    weights = logits.softmax(dim=-1)
    ctx = torch.einsum("nkhp,npd->nkhd", weights, visual)  # weighted patch features
    out = torch.einsum("nkhd,hed->nkhe", ctx, wv).flatten(-2)  # value projection, once
    return attn.proj(out)


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
