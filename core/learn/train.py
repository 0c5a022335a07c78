"""LoRA training on cached window features (in-process; train_process.py runs it as a child).

Per step, for a batch of labelled windows:
  s (n, B)  = mean over each behaviour's prompts of the X-CLIP cosine (the scorer's own fast
              path, so training and scoring compute the same function);
  contrastive term: softmax over the labelled behaviours of logit_scale * s, target = the
              window's accepted behaviours (windows with at least one);
  binary term: per behaviour, BCE on logit_scale * (s - bias_b) against accept 1 / reject 0 /
              another behaviour's positive 0, positives and negatives of each behaviour
              weighted equally. bias_b is fixed: the untrained model's mean score of the
              behaviour over the training windows, so a behaviour with only rejections still
              moves its rejected windows down instead of moving a threshold.
Weights: narration answers count ``narration_weight``. Validation: the labelled bouts of one
fold (by label id, see examples.holdout_fold); early stopping on the validation loss, the best
epoch's weights kept. Everything is seeded.
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import EthoscoutError
from ..model.features import as_tensor, text_embeds, video_embeds
from ..model.loading import LoadedModel
from ..model.lora import attach_lora, encode_windows_trainable, lora_config, restore_state, trainable_state
from ..model.scoring import cosine_scores
from ..progress import CancelToken
from .examples import LabelledWindows, holdout_fold
from .metrics import average_metrics, ranking_metrics


class TrainingError(EthoscoutError):
    pass


@dataclass
class TrainOptions:
    epochs: int = 40
    lr: float = 1e-3  # 3e-3 overfit the prompts on a few answers (docs/learning.md, LoRA ablation)
    rank: int = 8
    alpha: int = 16
    batch_size: int = 64
    patience: int = 6
    folds: int = 4  # labelled bouts are split into this many folds by label id ...
    holdout_fold: int = 0  # ... and this one is held out (validation, then evaluation)
    seed: int = 0
    narration_weight: float = 0.3
    bce_weight: float = 1.0
    deep: bool = False
    max_seconds: float | None = None  # stop (keeping the best epoch so far) after this long
    purge_overlap: bool = True  # drop training windows that share time with validation ones

    @classmethod
    def from_dict(cls, d: dict) -> "TrainOptions":
        known = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class StepReport:
    step: int
    total: int
    epoch: int
    loss: float
    val_loss: float | None = None
    val_metrics: dict | None = None
    elapsed_s: float = 0.0
    epoch_end: bool = False

    @property
    def eta_s(self) -> float | None:
        return self.elapsed_s / self.step * (self.total - self.step) if self.step else None


@dataclass
class TrainResult:
    loaded: LoadedModel  # .model is the trained PeftModel
    behaviors: list[str]
    biases: list[float]
    train_label_ids: list[int]
    val_label_ids: list[int]
    best_epoch: int
    history: list[dict] = field(default_factory=list)
    val_metrics: dict = field(default_factory=dict)  # {"base": {...}, "adapter": {...}} on validation windows
    stopped: str = "epochs"  # epochs | early | time
    seconds: float = 0.0
    steps: int = 0
    setup_s: float = 0.0  # before the first step: base scores, copying the model, attaching LoRA
    step_seconds: list[float] = field(default_factory=list)  # forward + backward + update, per step


def split_labels(data: LabelledWindows, folds: int, fold: int, seed: int,
                 purge_overlap: bool = True) -> tuple[np.ndarray, np.ndarray, set, set]:
    """Training and validation rows. A window covered by any training label trains; validation
    keeps only windows covered by held-out labels alone (no window is in both), and a training
    window that shares time with a validation window of the same video is left out: windows
    overlap, and a shared half would leak the validation answer into training (early stopping
    then trusts a score that only measures memory)."""
    all_ids = set().union(*data.label_ids) if len(data) else set()
    val_ids = {i for i in all_ids if folds > 1 and holdout_fold(i, folds, seed) == fold}
    train_ids = all_ids - val_ids
    val_rows = data.rows_only_in(val_ids)
    train_rows = np.setdiff1d(np.arange(len(data)), val_rows)
    if purge_overlap and len(val_rows) and data.stores:
        train_rows = train_rows[~overlaps_any(data, train_rows, val_rows)]
    return train_rows, val_rows, train_ids, val_ids


def overlaps_any(data: LabelledWindows, rows: np.ndarray, others: np.ndarray) -> np.ndarray:
    """(len(rows),) whether each row shares time with any of ``others`` in the same video."""
    out = np.zeros(len(rows), bool)
    for si in np.unique(data.store_index[others]):
        store = data.stores[si]
        mine = np.flatnonzero(data.store_index[rows] == si)
        if len(mine) == 0:
            continue
        a = data.window_index[rows[mine]]
        b = data.window_index[others[data.store_index[others] == si]]
        s, e = store.starts, store.ends
        inter = np.minimum(e[a][:, None], e[b][None, :]) - np.maximum(s[a][:, None], s[b][None, :])
        out[mine] = (inter > 1e-6).any(axis=1)
    return out


class WindowBatcher:
    """Window inputs for a set of rows: cached features, or (deep mode) pixels through the
    vision tower with gradients."""

    def __init__(self, data: LabelledWindows, device, pixels: np.ndarray | None = None):
        self.device = device
        self.pixels = pixels
        if pixels is None:
            self.frame_cls = as_tensor(data.features("frame_cls"), device)
            self.img = as_tensor(data.features("img_features"), device)

    def inputs(self, model, rows: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        idx = torch.as_tensor(rows, dtype=torch.long)
        if self.pixels is None:
            return self.frame_cls[idx.to(self.frame_cls.device)], self.img[idx.to(self.img.device)]
        px = torch.from_numpy(np.asarray(self.pixels[rows], dtype=np.float32)).to(self.device)
        return encode_windows_trainable(model, px)


def prompt_matrix(behaviors: list[dict]) -> tuple[list[str], torch.Tensor]:
    """All prompts and the (K, B) matrix that averages each behaviour's prompts."""
    prompts, cols = [], []
    for j, b in enumerate(behaviors):
        ps = b.get("prompts") or [b["name"]]
        prompts.extend(ps)
        cols.extend([j] * len(ps))
    avg = torch.zeros(len(prompts), len(behaviors))
    for k, j in enumerate(cols):
        avg[k, j] = 1.0
    return prompts, avg / avg.sum(0, keepdim=True)


def behavior_scores(model, tokenizer, prompts, avg, frame_cls, img) -> torch.Tensor:
    """(n, B) mean cosine over each behaviour's prompts."""
    text = text_embeds(model, tokenizer, prompts)
    video = video_embeds(model, frame_cls)
    return cosine_scores(model, video, text, img) @ avg.to(text.device)


def loss_fn(scores: torch.Tensor, targets: torch.Tensor, weights: torch.Tensor, biases: torch.Tensor,
            scale: float, bce_weight: float) -> torch.Tensor:
    logits = scale * scores
    pos = (targets == 1).float()
    terms = []
    has_pos = pos.sum(1) > 0
    if scores.shape[1] > 1 and has_pos.any():
        dist = pos[has_pos] / pos[has_pos].sum(1, keepdim=True)
        row_w = (weights * pos).max(1).values[has_pos]
        ce = -(dist * F.log_softmax(logits[has_pos], dim=1)).sum(1)
        terms.append((ce * row_w).sum() / row_w.sum())
    if bce_weight > 0:
        known = targets >= 0
        bce = F.binary_cross_entropy_with_logits(scale * (scores - biases), pos, reduction="none")
        per_behavior = []
        for c in range(scores.shape[1]):
            parts = []
            for cls in (1, 0):
                m = known[:, c] & (targets[:, c] == cls)
                if m.any():
                    w = weights[m, c]
                    parts.append((bce[m, c] * w).sum() / w.sum())
            if parts:
                per_behavior.append(sum(parts) / len(parts))
        if per_behavior:
            terms.append(bce_weight * torch.stack(per_behavior).mean())
    if not terms:
        return scores.sum() * 0.0
    return sum(terms)


def rows_metrics(scores: np.ndarray, targets: np.ndarray, names: list[str]) -> dict:
    """Per-behaviour ranking metrics over windows with a known target, plus their mean."""
    per = {}
    for c, name in enumerate(names):
        known = targets[:, c] >= 0
        if (targets[known, c] == 1).any():
            per[name] = ranking_metrics(scores[known, c], targets[known, c] == 1)
    return {"per_behavior": per, "mean": average_metrics(per)}


def seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed % (2 ** 32))


def train_lora(loaded: LoadedModel, data: LabelledWindows, opts: TrainOptions,
               on_step: Callable[[StepReport], None] | None = None, cancel: CancelToken | None = None,
               pixels: np.ndarray | None = None) -> TrainResult:
    """Train a fresh LoRA adapter on ``data``; the caller's model is not modified."""
    if len(data) == 0:
        raise TrainingError("no labelled window to learn from: label some clips of indexed videos first")
    if not (data.targets == 1).any() and not (data.targets == 0).any():
        raise TrainingError("the labels cover no cached window")
    if opts.deep and pixels is None:
        raise TrainingError("deep mode needs the labelled windows' pixels")
    seed_everything(opts.seed)
    started = time.monotonic()
    train_rows, val_rows, train_ids, val_ids = split_labels(data, opts.folds, opts.holdout_fold, opts.seed,
                                                               opts.purge_overlap)
    if len(train_rows) == 0:
        raise TrainingError(f"all {len(val_ids)} labels fell into the held-out fold; label more clips "
                            "(or train with folds=1)")
    names = [b["name"] for b in data.behaviors]
    prompts, avg = prompt_matrix(data.behaviors)
    device = loaded.device
    batcher = WindowBatcher(data, device, pixels)
    targets = torch.as_tensor(data.targets.astype(np.int64), device=device)
    weights = torch.as_tensor(data.weights, device=device)

    def evaluate(model, rows) -> np.ndarray:
        out = []
        with torch.no_grad():
            for i in range(0, len(rows), 256):
                fc, img = batcher.inputs(model, rows[i:i + 256])
                out.append(behavior_scores(model, loaded.tokenizer, prompts, avg, fc, img))
        return torch.cat(out) if out else torch.zeros(0, len(names), device=device)

    base_model = loaded.model
    base_train_scores = evaluate(base_model, train_rows)
    bt, tt = base_train_scores.cpu().numpy(), data.targets[train_rows]
    biases = torch.tensor([float(bt[tt[:, c] >= 0, c].mean()) if (tt[:, c] >= 0).any() else float(bt[:, c].mean())
                           for c in range(len(names))], device=device)
    base_val = evaluate(base_model, val_rows).cpu().numpy() if len(val_rows) else None

    adapted = attach_lora(loaded, lora_config(deep=opts.deep, r=opts.rank, alpha=opts.alpha))
    model = adapted.model
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=opts.lr, weight_decay=0.0)
    scale = float(base_model.logit_scale.exp().item())
    gen = torch.Generator().manual_seed(opts.seed)
    steps_per_epoch = max(1, math.ceil(len(train_rows) / opts.batch_size))
    total = steps_per_epoch * opts.epochs

    def validate(model) -> tuple[float | None, dict | None]:
        """Held-out loss and mean ranking metrics (the monitor plots both per epoch)."""
        if not len(val_rows):
            return None, None
        s = evaluate(model, val_rows)
        vi = torch.as_tensor(val_rows, device=device)
        loss = float(loss_fn(s, targets[vi], weights[vi], biases, scale, opts.bce_weight))
        return loss, rows_metrics(s.cpu().numpy(), data.targets[val_rows], names)["mean"]

    best_state, best_loss, best_epoch, bad = trainable_state(model), math.inf, 0, 0
    history, step, stopped, step_seconds = [], 0, "epochs", []
    setup_s = time.monotonic() - started
    for epoch in range(1, opts.epochs + 1):
        epoch_started = time.monotonic()
        model.train()
        order = train_rows[torch.randperm(len(train_rows), generator=gen).numpy()]
        losses = []
        for i in range(0, len(order), opts.batch_size):
            if cancel is not None:
                cancel.check()
            rows = order[i:i + opts.batch_size]
            step_started = time.monotonic()
            fc, img = batcher.inputs(model, rows)
            ri = torch.as_tensor(rows, device=device)
            s = behavior_scores(model, loaded.tokenizer, prompts, avg, fc, img)
            loss = loss_fn(s, targets[ri], weights[ri], biases, scale, opts.bce_weight)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            step_seconds.append(time.monotonic() - step_started)
            step += 1
            losses.append(loss.item())
            if on_step is not None and i + opts.batch_size < len(order):
                on_step(StepReport(step, total, epoch, losses[-1], elapsed_s=time.monotonic() - started))
        model.eval()
        vloss, vmetrics = validate(model)
        row = {"epoch": epoch, "loss": float(np.mean(losses)), "val_loss": vloss, "val_metrics": vmetrics,
               "seconds": round(time.monotonic() - epoch_started, 3)}
        history.append(row)
        monitor = vloss if vloss is not None else row["loss"]
        if monitor < best_loss - 1e-5:
            best_loss, best_epoch, bad = monitor, epoch, 0
            best_state = trainable_state(model)
        else:
            bad += 1
        if on_step is not None:
            on_step(StepReport(step, total, epoch, row["loss"], vloss, vmetrics,
                               elapsed_s=time.monotonic() - started, epoch_end=True))
        if vloss is not None and bad >= opts.patience:
            stopped = "early"
            break
        if opts.max_seconds is not None and time.monotonic() - started > opts.max_seconds:
            stopped = "time"
            break
    restore_state(model, best_state)
    model.eval()
    val_metrics = {}
    if base_val is not None:
        adapted_val = evaluate(model, val_rows).cpu().numpy()
        vt = data.targets[val_rows]
        val_metrics = {"base": rows_metrics(base_val, vt, names), "adapter": rows_metrics(adapted_val, vt, names),
                       "windows": int(len(val_rows))}
    return TrainResult(adapted, names, [float(b) for b in biases.cpu()], sorted(train_ids), sorted(val_ids),
                       best_epoch, history, val_metrics, stopped, time.monotonic() - started, step,
                       setup_s, step_seconds)
