"""Training cost: seconds per step and per round for 50 / 200 / 1,000 labelled windows.

A base-sized random X-CLIP (the shape of microsoft/xclip-base-patch32) and synthetic cached
features (speed does not depend on weight or feature values). Each configuration runs in a
fresh process, so the peak resident memory reported is that configuration's own. The
vision-LoRA (deep mode) row times one step on pixels for comparison.

    python bench/train_bench.py                 # table
    python bench/train_bench.py --sizes 200 --epochs 3
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

TOKENIZER = Path(__file__).resolve().parents[2] / "shared" / "models" / "clip-vit-base-patch32-tokenizer"
BEHAVIORS = ["mouse face grooming", "mouse rearing against the wall", "mouse walking", "mouse sitting still",
             "mouse scratching with a hind paw"]


class SyntheticStore:
    def __init__(self, n: int, t: int, p: int, d: int, seed: int):
        rng = np.random.default_rng(seed)
        self.frame_cls = rng.standard_normal((n, t, d)).astype(np.float16)
        self.img_features = rng.standard_normal((n, p, d)).astype(np.float16)
        self.starts = np.arange(n, dtype=float)
        self.ends = self.starts + 2.0
        self.meta = {"video_path": f"/synthetic/{seed}.mp4", "video_name": f"{seed}.mp4"}


def synthetic_data(n: int, loaded, seed: int = 0):
    from ethoscout.core.learn.examples import LabelledWindows

    cfg = loaded.model.config
    patches = (cfg.vision_config.image_size // cfg.vision_config.patch_size) ** 2
    store = SyntheticStore(n, loaded.num_frames, patches, loaded.embed_dim, seed)
    rng = np.random.default_rng(seed)
    b = len(BEHAVIORS)
    targets = np.zeros((n, b), dtype=np.int8)
    targets[np.arange(n), rng.integers(0, b, n)] = 1
    rejected = rng.random(n) < 0.3  # some windows are rejections instead
    targets[rejected] = -1
    targets[rejected, rng.integers(0, b, rejected.sum())] = 0
    behaviors = [{"id": i + 1, "name": t, "prompts": [t]} for i, t in enumerate(BEHAVIORS)]
    return LabelledWindows(behaviors, np.zeros(n, dtype=np.int64), np.arange(n), targets,
                           np.ones((n, b), np.float32), [{i + 1} for i in range(n)], [store])


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_one(model_dir: str, n: int, epochs: int, deep: bool) -> dict:
    import torch

    from ethoscout.core.learn.train import TrainOptions, train_lora
    from ethoscout.core.model.loading import load_xclip

    loaded = load_xclip(model_dir, device="cpu")
    data = synthetic_data(n, loaded)
    pixels = None
    batch = 64
    if deep:
        batch = 4
        size = loaded.model.config.vision_config.image_size
        pixels = np.random.default_rng(0).standard_normal((n, loaded.num_frames, 3, size, size)).astype(np.float16)
    opts = TrainOptions(epochs=epochs, folds=5, patience=10 ** 6, batch_size=batch, deep=deep)
    t0 = time.monotonic()
    result = train_lora(loaded, data, opts, pixels=pixels)
    total = time.monotonic() - t0
    return {"windows": n, "deep": deep, "epochs": len(result.history), "steps": result.steps,
            "batch": batch, "seconds": total, "setup_s": result.setup_s,
            "epoch_s": float(np.mean([h["seconds"] for h in result.history])),
            "step_s": float(np.median(result.step_seconds)),
            "peak_rss_mb": peak_rss_mb(), "threads": torch.get_num_threads()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="*", default=[50, 200, 1000])
    ap.add_argument("--epochs", type=int, default=3, help="epochs timed per size (a round is extrapolated)")
    ap.add_argument("--round-epochs", type=int, default=None, help="epochs of a default round (default: TrainOptions)")
    ap.add_argument("--deep-windows", type=int, default=8, help="windows for the vision-LoRA row (0: skip)")
    ap.add_argument("--model", default=None, help="a model folder (default: build a base-sized random one)")
    ap.add_argument("--one", nargs=3, metavar=("MODEL", "N", "DEEP"), help=argparse.SUPPRESS)
    ap.add_argument("--json", default=None, help="also write the figures to this JSON file")
    args = ap.parse_args()
    if args.one:
        model, n, deep = args.one
        print(json.dumps(run_one(model, int(n), 1 if deep == "1" else args.epochs, deep == "1")))
        return 0

    from ethoscout.core.learn.train import TrainOptions
    from ethoscout.core.model.random_init import build_random_xclip

    round_epochs = args.round_epochs or TrainOptions().epochs
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = args.model or str(build_random_xclip(Path(tmp) / "base", "base", tokenizer_dir=TOKENIZER))
        rows = []
        jobs = [(n, False) for n in args.sizes] + ([(args.deep_windows, True)] if args.deep_windows else [])
        for n, deep in jobs:
            cmd = [sys.executable, __file__, "--epochs", str(args.epochs), "--one", model_dir, str(n), "1" if deep else "0"]
            out = subprocess.run(cmd, capture_output=True, text=True)
            if out.returncode != 0:
                print(out.stderr[-2000:], file=sys.stderr)
                return 1
            row = json.loads(out.stdout.strip().splitlines()[-1])
            row["round_s"] = row["setup_s"] + row["epoch_s"] * round_epochs
            rows.append(row)
            print(f"done: {n} windows{' (vision LoRA)' if deep else ''}", file=sys.stderr)
    print(f"base-sized X-CLIP (random weights), CPU, {rows[0]['threads']} threads; "
          f"a round = {round_epochs} epochs (early stopping usually ends it sooner)")
    print(f"{'labelled windows':>17} {'mode':>12} {'batch':>6} {'s/step':>8} {'setup s':>8} {'s/epoch':>8} "
          f"{'s/round':>8} {'peak RSS MB':>12}")
    for r in rows:
        mode = "vision LoRA" if r["deep"] else "text side"
        rnd = f"{r['round_s']:8.1f}" if not r["deep"] else "       -"
        print(f"{r['windows']:>17} {mode:>12} {r['batch']:>6} {r['step_s']:8.2f} {r['setup_s']:8.1f} "
              f"{r['epoch_s']:8.2f} {rnd} {r['peak_rss_mb']:12.0f}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
