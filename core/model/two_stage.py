"""Ranking every window of a whole collection for a text in two stages.

Exhaustive scoring runs the prompt generator over every window's patch features (~50 KB a
window in float16: ~18 GB for 100 hours, too much to hold in memory and ~1/8 ms a window).
Instead:
1. prefilter: the cosine of each window's MIT video embedding (kept in memory, 2 KB a window,
   and beside the store on disk once computed, so a new process reads it instead of running
   the MIT over every window again) with a predicted prompted text. The prompt generator runs exactly on a random sample of
   windows; a least-squares fit there predicts the (unit) prompted text from the window's
   coordinates in the top principal directions of the collection's video embeddings, so each
   window's prompt costs one small matrix product instead of the prompt generator.
2. exact: the X-CLIP score (scoring.cosine_scores_raw, as QueryScorer computes it) of the best
   prefiltered windows, their patch features read from the memory-mapped stores. The sample tells how far prefilter and
   exact scores fall apart; a second round widens the candidates to every window that could
   still beat the K-th best exact score found by that margin.
Scores returned for windows outside the candidates are the prefilter's, mapped onto the exact
scale by a straight line fitted on the sample.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .features import as_tensor
from .query import store_key, unit_video_embeddings
from .scoring import FoldedPrompt, patch_stats, prompt_text_raw

SAMPLE = 640  # windows scored exactly to fit the prefilter (>= 8 per coordinate) and its error
RANK = 64  # principal directions of the video embeddings the prefilter's prompt depends on
PCA_WINDOWS = 20_000  # windows the principal directions are taken from
CANDIDATES = 1000  # first round of exact scores
MAX_CANDIDATES = 6000  # exact scores at most (the time budget)
MARGIN_QUANTILE = 0.99  # of |exact - fitted prefilter| on the sample
CHUNK = 256  # windows per exact step (as QueryScorer)
PREFILTER_CHUNK = 16384  # windows per prefilter step (bounds its float32 intermediates)


@dataclass
class CollectionScores:
    """Scores (mean cosine over the texts) of every window of a list of stores."""

    per_store: list[np.ndarray]  # (N_i,) exact at candidates, fitted prefilter elsewhere
    exact: list[np.ndarray]  # (N_i,) bool: which windows got the exact score
    margin: float  # prefilter error bound used (quantile on the sample)

    def top(self, k: int) -> list[tuple[int, int, float]]:
        """(store index, window, score) of the k best exactly scored windows."""
        rows = [(si, w, float(s[w])) for si, (s, e) in enumerate(zip(self.per_store, self.exact))
                for w in np.flatnonzero(e)]
        return sorted(rows, key=lambda r: -r[2])[:k]


class CollectionRanker:
    """Keeps unit MIT video embeddings per store (built once, from frame_cls) and ranks texts."""

    def __init__(self, loaded):
        self.loaded = loaded
        self._video: dict[tuple, torch.Tensor] = {}
        self._coords: dict[tuple, torch.Tensor] = {}  # the last collection's principal coordinates
        self._folded: FoldedPrompt | None = None

    def reset(self) -> None:
        """Forget what depends on the model (after its adapter changed)."""
        self._video.clear()
        self._coords.clear()
        self._folded = None

    @property
    def folded(self) -> FoldedPrompt:
        if self._folded is None:
            self._folded = FoldedPrompt(self.loaded.model)
        return self._folded

    def unit_video(self, store) -> torch.Tensor:
        """(N, D) unit MIT video embeddings of a store, kept in memory (query.unit_video_embeddings)."""
        key = store_key(store)
        if key not in self._video:
            self._video[key] = unit_video_embeddings(self.loaded, store).to(self.loaded.device)
        return self._video[key]

    def _patches(self, store, rows: np.ndarray):
        """Patch features of ``rows`` in float32 and their patch_stats, as QueryScorer takes them."""
        patches = as_tensor(store.img_features[rows], self.loaded.device)
        return (patches, *patch_stats(patches, self.folded.eps))

    @torch.inference_mode()
    def exact(self, store, rows: np.ndarray, text: torch.Tensor) -> np.ndarray:
        """Mean cosine over the texts of ``rows`` (sorted) of one store, read from its memory map."""
        prompted = self._prompted([store], np.array([0, len(store)]), rows, text)
        video = self.unit_video(store)[torch.from_numpy(rows).to(self.loaded.device)]
        return torch.einsum("nd,nkd->nk", video, prompted).mean(dim=1).float().cpu().numpy()

    @torch.inference_mode()
    def coordinates(self, stores, units: list[torch.Tensor], seed: int = 0):
        """(Z (N, r), mean (D,), basis (r, D)): the unit video embeddings' coordinates in their
        top-r principal directions (text-independent: computed once per collection, from a
        sample of windows)."""
        key = tuple(store_key(s) for s in stores)
        if key not in self._coords:
            video = torch.cat(units)
            rows = np.random.default_rng(seed).choice(len(video), size=min(len(video), PCA_WINDOWS), replace=False)
            mean = video[torch.from_numpy(rows)].mean(dim=0)
            basis = torch.linalg.svd(video[torch.from_numpy(rows)] - mean, full_matrices=False)[2][:RANK]
            coords = torch.cat([(video[i:i + PREFILTER_CHUNK] - mean) @ basis.T
                                for i in range(0, len(video), PREFILTER_CHUNK)])
            self._coords = {key: (coords, mean, basis)}
        return self._coords[key]

    def _prefilter(self, stores, units, picked: np.ndarray, prompted: torch.Tensor) -> np.ndarray:
        """Per window, mean over texts of <u_n, unit(p_n)>, where the prompted text
        p_n = c + A^T z_n is predicted from the window's principal coordinates z_n by least
        squares on the sample (``prompted`` (S, K, D) unit prompted texts at windows ``picked``).
        <u_n, c> is exact; in <u_n, A^T z_n> and in |p_n| the video embedding is taken as
        mean + basis^T z_n, so each window costs O(r^2) instead of O(r D)."""
        coords, mean, basis = self.coordinates(stores, units)
        r = min(coords.shape[1], max(0, len(picked) // 8 - 1))  # keep the fit well determined
        z_all, basis = coords[:, :r], basis[:r]
        design = torch.cat([torch.ones(len(picked), 1, device=coords.device), z_all[torch.from_numpy(picked)]], dim=1)
        fit = torch.linalg.lstsq(design, prompted.flatten(1)).solution.view(r + 1, *prompted.shape[1:])
        c, a = fit[0], fit[1:].permute(1, 0, 2)  # (K, D), (K, r, D)
        m_uz = a @ basis.T  # (K, r, r): z^T m z = <mean-free video, A^T z>
        a_mean, a_c, gram = a @ mean, torch.einsum("krd,kd->kr", a, c), a @ a.transpose(1, 2)
        out, start = [], 0
        for video in units:
            for i in range(0, len(video), PREFILTER_CHUNK):
                part = video[i:i + PREFILTER_CHUNK]
                z = z_all[start + i:start + i + len(part)]
                num = part @ c.T + z @ a_mean.T + _quadratic(z, m_uz)  # (n, K)
                norm2 = (c * c).sum(-1) + 2 * z @ a_c.T + _quadratic(z, gram)
                out.append((num / norm2.clamp_min(1e-12).sqrt()).mean(dim=1))
            start += len(video)
        return torch.cat(out).float().cpu().numpy()

    def _prompted(self, stores, offsets: np.ndarray, flat: np.ndarray, text: torch.Tensor) -> torch.Tensor:
        """Unit prompted texts (n, K, D) of windows ``flat`` (sorted, across stores), CHUNK at a
        time whichever stores they come from."""
        out = []
        for i in range(0, len(flat), CHUNK):
            parts = [self._patches(stores[si], rows) for si, rows in _split(flat[i:i + CHUNK], offsets)]
            patches, mean, rstd = (torch.cat(x) for x in zip(*parts))
            out.append(F.normalize(prompt_text_raw(self.loaded.model, self.folded, text, patches, mean, rstd), dim=-1))
        return torch.cat(out) if out else torch.zeros(0, *text.shape, device=self.loaded.device)

    @torch.inference_mode()
    def rank(self, stores, text: torch.Tensor, k: int = 100, candidates: int = CANDIDATES,
             max_candidates: int = MAX_CANDIDATES, sample: int = SAMPLE, seed: int = 0,
             always: list[np.ndarray] | None = None) -> CollectionScores:
        """text (K, D) embeddings. ``always``: per store, windows to score exactly regardless
        (e.g. labelled ones)."""
        sizes = np.array([len(s) for s in stores])
        offsets = np.concatenate([[0], np.cumsum(sizes)])
        total = int(offsets[-1])
        units = [self.unit_video(s) for s in stores]
        flat_exact = np.full(total, np.nan, np.float32)

        def unit_rows(flat: np.ndarray) -> torch.Tensor:
            return torch.cat([units[si][torch.from_numpy(rows)] for si, rows in _split(flat, offsets)])

        def score(flat: np.ndarray) -> torch.Tensor:
            """Exact scores of the windows ``flat`` not scored yet; their prompted texts."""
            flat = np.unique(flat)
            flat = flat[np.isnan(flat_exact[flat])]
            prompted = self._prompted(stores, offsets, flat, text)
            if len(flat):
                flat_exact[flat] = torch.einsum("nd,nkd->nk", unit_rows(flat), prompted).mean(dim=1).float().cpu().numpy()
            return prompted

        # the collection's prompted text, from a random sample of windows
        picked = np.sort(np.random.default_rng(seed).choice(total, size=min(sample, total), replace=False))
        approx = self._prefilter(stores, units, picked, score(picked))
        a, b = np.polyfit(approx[picked], flat_exact[picked], 1) if len(picked) > 2 else (1.0, 0.0)
        fitted = a * approx + b
        margin = float(np.quantile(np.abs(flat_exact[picked] - fitted[picked]), MARGIN_QUANTILE)) if len(picked) else 0.0

        reach = min(max_candidates, total)  # only the best max_candidates can ever be scored
        order = np.argpartition(-fitted, reach - 1)[:reach] if reach < total else np.arange(total)
        order = order[np.argsort(-fitted[order], kind="stable")]
        score(order[:candidates])
        if always is not None:
            score(np.concatenate([np.asarray(w, np.int64) + offsets[si] for si, w in enumerate(always)]))
        done = ~np.isnan(flat_exact)
        if done.sum() >= k:
            kth = np.sort(flat_exact[done])[-k]  # the true K-th best is at least this
            widen = int(np.searchsorted(-fitted[order], -(kth - margin), side="right"))
            score(order[:max(widen, candidates)])
        masks = [~np.isnan(flat_exact[offsets[si]:offsets[si + 1]]) for si in range(len(stores))]
        per_store = [np.where(m, flat_exact[offsets[si]:offsets[si + 1]], fitted[offsets[si]:offsets[si + 1]])
                     .astype(np.float32) for si, m in enumerate(masks)]
        return CollectionScores(per_store, masks, margin)


def _quadratic(z: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    """z_n^T m_k z_n for z (n, r), m (K, r, r) -> (n, K), as K matrix products."""
    return torch.stack([((z @ mk) * z).sum(-1) for mk in m], dim=1)


def _split(flat: np.ndarray, offsets: np.ndarray):
    """(store index, local rows) for sorted flat indices."""
    for si in np.flatnonzero(np.diff(np.searchsorted(flat, offsets)) > 0):
        yield si, flat[(flat >= offsets[si]) & (flat < offsets[si + 1])] - offsets[si]
