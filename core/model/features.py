"""The X-CLIP recipe split in two: the vision tower once per window (cached), the rest per query.

Per window the cache keeps
  frame_cls    (T, D): visual_projection(post_layernorm(CLS token)) per frame
  img_features (P, D): prompts_visual_projection(prompts_visual_layernorm(patch tokens)),
                       averaged over frames
which is everything XCLIPModel.forward needs from the pixels.
"""
from __future__ import annotations

import numpy as np
import torch


@torch.no_grad()
def encode_windows(model, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """pixels (B, T, 3, H, W) normalised -> frame_cls (B, T, D), img_features (B, P, D)."""
    b, t = pixels.shape[:2]
    out = model.vision_model(pixel_values=pixels.flatten(0, 1))
    frame_cls = model.visual_projection(out.pooler_output).view(b, t, -1)
    patches = model.prompts_visual_layernorm(out.last_hidden_state[:, 1:, :])
    patches = patches @ model.prompts_visual_projection
    img_features = patches.view(b, t, patches.shape[1], -1).mean(dim=1)
    return frame_cls, img_features


def tokenize(tokenizer, texts: list[str], device) -> dict:
    enc = tokenizer(list(texts), padding=True, truncation=True, max_length=77, return_tensors="pt")
    return {k: v.to(device) for k, v in enc.items()}


def text_embeds(model, tokenizer, texts: list[str]) -> torch.Tensor:
    """(K, D) projected text features before video-specific prompting (grad follows the
    caller's mode, so training can use it too)."""
    device = next(model.parameters()).device
    out = model.get_text_features(**tokenize(tokenizer, texts, device))
    return getattr(out, "pooler_output", out)


def video_embeds(model, frame_cls: torch.Tensor) -> torch.Tensor:
    """(N, T, D) -> (N, D): the multi-frame integration transformer (MIT)."""
    return model.mit(frame_cls).pooler_output


def as_tensor(a, device, dtype=torch.float32) -> torch.Tensor:
    if isinstance(a, torch.Tensor):
        return a.to(device=device, dtype=dtype)
    # a copy: cached arrays are read-only memory maps in float16
    return torch.from_numpy(np.array(a, dtype=np.float32)).to(device=device, dtype=dtype)
