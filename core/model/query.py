"""Scoring text queries against cached windows, fast enough to follow typing.

Per store the scorer keeps the unit MIT video embeddings (N, D; saved beside the store the
first time, so reopening a project does not run the MIT over every window again) and the
cached patch features (N, P, D), so a new query costs one text encoding plus the folded prompt
generator (scoring.py) over the windows; per text, its embedding.

Memory stays bounded: the tensors live on the CPU, only for the stores used most recently, up
to ``budget_bytes`` (least recently used out first; the store being scored always stays). The
patch features, nearly all of the bytes, are kept exactly as the cache holds them: float16 for
the default float16 cache (half of float32, and no rounding: they are float16 on disk),
float32 for a float32 cache, with each patch's mean and 1/std (scoring.patch_stats). Scoring
takes ``CHUNK`` windows at a time to the model's device in float32 and runs the raw path there
(scoring.cosine_scores_raw: the layer norm folded into the attention), so the numbers are those
of a float32 scorer. (Keeping normalised features in float16 instead would round them: on
random features that moved cosines by up to 4e-2.) Chunks are small enough that a chunk's
float32 copy stays in cache while both attention layers read it. An hour of video at 1 s
stride from a float16 cache costs about 189 MB with base-patch32:
3600 x (49 x 512 x 2 + 49 x 8 + 512 x 4) bytes.
"""
from __future__ import annotations

import os
import threading
from collections import OrderedDict

import numpy as np
import torch
import torch.nn.functional as F

from .cache import FeatureStore
from .features import as_tensor, text_embeds, video_embeds
from .loading import LoadedModel
from .lora import weights_fingerprint
from .scoring import FoldedPrompt, cosine_scores_raw, patch_stats

EMBED_CHUNK = 1024  # windows per MIT step when the video embeddings are first computed
CHUNK = 256  # windows per step: a float32 copy of ~25 MB at base size, read four times per query
DEFAULT_BUDGET_BYTES = 512 * 2**20  # about 2.5 hours of video at 1 s stride (base-patch32)
MAX_TEXTS = 4096  # text embeddings kept (2 KB each): typing makes many


class WindowTensors:
    """One store's per-window tensors, as kept between queries."""

    def __init__(self, unit_video: torch.Tensor, patches: torch.Tensor, eps: float):
        self.unit_video = unit_video  # (N, D) float32, unit length
        self.patches = patches  # (N, P, D) the cache's img_features, in its dtype
        self.mean, self.rstd = patch_stats(patches, eps)  # (N, P) float32 each

    @property
    def nbytes(self) -> int:
        return sum(t.element_size() * t.nelement() for t in (self.unit_video, self.patches, self.mean, self.rstd))

    def __len__(self) -> int:
        return len(self.unit_video)


@torch.inference_mode()
def unit_video_embeddings(loaded: LoadedModel, store: FeatureStore) -> torch.Tensor:
    """(N, D) unit MIT video embeddings of a store, float32 on the CPU: read from beside the
    store, else computed (the MIT over every window) and saved there for the next process. The
    file is named by every weight involved (an adapter's too: it changes the MIT)."""
    name = f"unit_video_{weights_fingerprint(loaded)}"
    saved = store.array(name)
    if saved is not None and saved.shape == (len(store), loaded.embed_dim):
        return torch.from_numpy(np.array(saved))
    dev = loaded.device
    parts = [F.normalize(video_embeds(loaded.model, as_tensor(store.frame_cls[i:i + EMBED_CHUNK], dev)), dim=-1).cpu()
             for i in range(0, len(store), EMBED_CHUNK)]
    unit = torch.cat(parts).float() if parts else torch.zeros(0, loaded.embed_dim)
    try:
        store.add_array(name, unit.numpy())
    except OSError:  # a read-only cache still scores; it computes again next time
        pass
    return unit


def store_key(store: FeatureStore) -> tuple[str, int]:
    """A store's identity: its folder, and when its arrays were written (a store indexed again
    into the same folder is another store)."""
    try:
        written = os.stat(store.folder / "meta.json").st_mtime_ns
    except OSError:
        written = 0
    return str(store.folder), written


class QueryScorer:
    def __init__(self, loaded: LoadedModel, budget_bytes: int = DEFAULT_BUDGET_BYTES):
        self.loaded = loaded
        self.budget_bytes = int(budget_bytes)
        self._stores: OrderedDict[tuple[str, int], WindowTensors] = OrderedDict()  # oldest use first
        self._texts: OrderedDict[str, torch.Tensor] = OrderedDict()
        self._folded: FoldedPrompt | None = None
        self._ranker = None
        self._local = threading.local()  # per thread: the float32 buffer a chunk is read into

    @property
    def ranker(self):
        """The two-stage collection ranker for this model, kept so that its in-memory video
        embeddings serve every later ranking."""
        if self._ranker is None:
            from .two_stage import CollectionRanker

            self._ranker = CollectionRanker(self.loaded)
        return self._ranker

    @property
    def folded(self) -> FoldedPrompt:
        """The prompt generator's folded projections for the model as it is now."""
        if self._folded is None:
            self._folded = FoldedPrompt(self.model)
        return self._folded

    @property
    def model(self):
        return self.loaded.model

    @property
    def nbytes(self) -> int:
        """Bytes of per-window tensors held now."""
        return sum(t.nbytes for t in self._stores.values())

    def bytes_for(self, store: FeatureStore) -> int:
        """Bytes the store's tensors take (held now or not)."""
        n, p, d = store.img_features.shape
        return n * (p * d * store.img_features.dtype.itemsize + p * 8 + self.loaded.embed_dim * 4)

    def held(self) -> list[str]:
        """Folders of the stores whose tensors are held, least recently used first."""
        return [folder for folder, _ in self._stores]

    def reset(self) -> None:
        """Forget derived tensors (after the model's adapter changed)."""
        self._stores.clear()
        self._texts.clear()
        self._folded = None
        if self._ranker is not None:
            self._ranker.reset()

    def release(self, store: FeatureStore | None = None) -> None:
        """Drop one store's tensors (a video closed or removed), or all of them."""
        if store is None:
            self._stores.clear()
        else:
            self._stores.pop(store_key(store), None)

    def _make_room(self, needed: int) -> None:
        while self._stores and self.nbytes + needed > self.budget_bytes:
            self._stores.popitem(last=False)

    def _compute(self, store: FeatureStore) -> WindowTensors:
        patches = torch.from_numpy(np.array(store.img_features))  # read into memory, dtype kept
        return WindowTensors(unit_video_embeddings(self.loaded, store), patches,
                             self.model.prompts_generator.layernorm.eps)

    def window_tensors(self, store: FeatureStore) -> WindowTensors:
        """The store's tensors (computed on first use), marked as most recently used."""
        key = store_key(store)
        held = self._stores.get(key)
        if held is not None:
            self._stores.move_to_end(key)
            return held
        held = self._compute(store)
        self._make_room(held.nbytes)
        self._stores[key] = held
        return held

    @torch.inference_mode()
    def text_tensor(self, texts: list[str]) -> torch.Tensor:
        missing = [t for t in dict.fromkeys(texts) if t not in self._texts]
        if missing:
            for t, e in zip(missing, text_embeds(self.model, self.loaded.tokenizer, missing)):
                self._texts[t] = e
        for t in texts:
            self._texts.move_to_end(t)
        while len(self._texts) > max(MAX_TEXTS, len(texts)):
            self._texts.popitem(last=False)
        return torch.stack([self._texts[t] for t in texts])

    def _float32(self, patches: torch.Tensor) -> torch.Tensor:
        """patches as float32 on the model's device, read into a buffer kept between chunks (a
        new 25 MB block for every chunk cost more in page faults than the conversion itself)."""
        dev = self.loaded.device
        if patches.dtype == torch.float32 and patches.device == dev:
            return patches
        buf = getattr(self._local, "buf", None)
        if buf is None or buf.device != dev or buf.shape[1:] != patches.shape[1:] or len(buf) < len(patches):
            buf = self._local.buf = torch.empty((max(CHUNK, len(patches)), *patches.shape[1:]), device=dev)
        return buf[:len(patches)].copy_(patches)

    def raw_inputs(self, held: WindowTensors, rows: slice | torch.Tensor) -> tuple[torch.Tensor, ...]:
        """The raw path's inputs for windows ``rows`` of ``held`` on the model's device: float32
        patch features (in the kept buffer), their means and 1/stds."""
        dev = self.loaded.device
        return self._float32(held.patches[rows]), held.mean[rows].to(dev), held.rstd[rows].to(dev)

    @torch.inference_mode()
    def score_rows(self, held: WindowTensors, text: torch.Tensor, rows: slice | torch.Tensor) -> torch.Tensor:
        """Exact cosines (n, K) of the windows ``rows`` (a slice or an index tensor) of ``held``,
        CHUNK windows at a time."""
        dev = self.loaded.device
        if isinstance(rows, slice):
            rows = range(len(held))[rows]
            pieces = [slice(r.start, r.stop, r.step) for r in (rows[i:i + CHUNK] for i in range(0, len(rows), CHUNK))]
        else:
            pieces = list(rows.split(CHUNK))
        out = [cosine_scores_raw(self.model, self.folded, held.unit_video[r].to(dev), text, *self.raw_inputs(held, r))
               for r in pieces]
        return torch.cat(out) if out else torch.zeros(0, len(text), device=dev)

    @torch.inference_mode()
    def score(self, store: FeatureStore, texts: list[str]) -> np.ndarray:
        """Cosine scores (N windows, K texts), as X-CLIP computes them."""
        held = self.window_tensors(store)
        return self.score_rows(held, self.text_tensor(texts), slice(None)).float().cpu().numpy()

    def video_embeddings(self, store: FeatureStore) -> np.ndarray:
        """(N, D) unit MIT embeddings, for query by example and the heads."""
        return self.window_tensors(store).unit_video.numpy()
