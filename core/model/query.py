"""Scoring text queries against cached windows, fast enough to follow typing.

Per store the scorer keeps, in memory, the MIT video embeddings and the prompt generator's
normalised patch features in float32; per text, its embedding. A new query then costs one text encoding plus the folded
prompt generator (scoring.py) over the windows.
"""
from __future__ import annotations

import numpy as np
import torch

from .cache import FeatureStore
from .features import as_tensor, text_embeds, video_embeds
from .loading import LoadedModel
from .scoring import cosine_scores, prompt_visual

CHUNK = 2048  # windows per step: bounds the (N, K, H, D) intermediates


class QueryScorer:
    def __init__(self, loaded: LoadedModel):
        self.loaded = loaded
        self._stores: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
        self._texts: dict[str, torch.Tensor] = {}

    @property
    def model(self):
        return self.loaded.model

    def reset(self) -> None:
        """Forget derived tensors (after the model's adapter changed)."""
        self._stores.clear()
        self._texts.clear()

    @torch.inference_mode()
    def window_tensors(self, store: FeatureStore) -> tuple[torch.Tensor, torch.Tensor]:
        key = str(store.folder)
        if key not in self._stores:
            dev = self.loaded.device
            frame_cls = as_tensor(store.frame_cls, dev)
            video = torch.cat([video_embeds(self.model, frame_cls[i:i + CHUNK])
                               for i in range(0, len(frame_cls), CHUNK)])
            visual = torch.cat([prompt_visual(self.model, as_tensor(store.img_features[i:i + CHUNK], dev))
                                for i in range(0, len(store), CHUNK)])
            self._stores[key] = (video, visual)
        return self._stores[key]

    @torch.inference_mode()
    def text_tensor(self, texts: list[str]) -> torch.Tensor:
        missing = [t for t in dict.fromkeys(texts) if t not in self._texts]
        if missing:
            for t, e in zip(missing, text_embeds(self.model, self.loaded.tokenizer, missing)):
                self._texts[t] = e
        return torch.stack([self._texts[t] for t in texts])

    @torch.inference_mode()
    def score(self, store: FeatureStore, texts: list[str]) -> np.ndarray:
        """Cosine scores (N windows, K texts), as X-CLIP computes them."""
        video, visual = self.window_tensors(store)
        text = self.text_tensor(texts)
        out = [cosine_scores(self.model, video[i:i + CHUNK], text, visual=visual[i:i + CHUNK])
               for i in range(0, len(video), CHUNK)]
        return torch.cat(out).float().cpu().numpy()

    def video_embeddings(self, store: FeatureStore) -> np.ndarray:
        """(N, D) MIT embeddings, for query by example."""
        return self.window_tensors(store)[0].float().cpu().numpy()
