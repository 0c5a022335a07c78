"""Learning benchmark (issue goals): held-out retrieval per method over grouped folds, learning
curves from a simulated oracle, the LoRA ablation, the cost of the motion channel and of a head
refit, and the zero-label identity.

    python bench/learn_bench.py [--size tiny|base] [--work /tmp/learn-bench] [--figures docs/figures]
                                [--skip lora,simulate,...]

Models are randomly initialised (no weights can be downloaded here): zero-shot numbers are
chance by construction; what the figures show is whether the learning machinery learns from
answers on videos it never saw, and what it costs. Projects (indexed once, kept in --work):
- panels: the 11 B-SOiD clips cut into their three side-by-side examples (33 videos, 11
  behaviours, 3 examples each, labelled as in tests/learn/data/shared_events.boris); folds hold
  whole videos, so every held-out example is an animal and bout never trained on;
- events: the bouts marked by eye on five shared videos (same file; 15 behaviours, several per
  video); each behaviour lives in one video, so folds hold 10-s blocks of a video (purged):
  within-video generalisation only;
- synthetic: 12 generated videos (a moving square, a still square, colour flashes; 4 each);
  folds hold whole videos.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
DATA = REPO.parent / "shared" / "data"
TOKENIZER = REPO.parent / "shared" / "models" / "clip-vit-base-patch32-tokenizer"
BORIS = REPO / "tests" / "learn" / "data" / "shared_events.boris"


def log(*a):
    print(*a, flush=True)


def model(work: Path, size: str):
    from ethoscout.core.model.loading import load_xclip
    from ethoscout.core.model.random_init import build_random_xclip

    folder = work / f"xclip-{size}"
    if not (folder / "config.json").exists():
        build_random_xclip(folder, size, tokenizer_dir=TOKENIZER if TOKENIZER.exists() else None, num_frames=8)
    return load_xclip(folder, device="cpu")


def cut_panels(work: Path) -> list[tuple[str, Path]]:
    """(behaviour, video) for each of the three examples side by side in each B-SOiD clip."""
    import csv

    import cv2

    out = []
    folder = work / "bsoid-panels"
    folder.mkdir(parents=True, exist_ok=True)
    clips = DATA / "bsoid_behavior_clips"
    for row in csv.DictReader((clips / "labels_from_repo_README.csv").open()):
        src = clips / row["file"]
        targets = [folder / f"{src.stem.replace('_hstacked', '')}_{k}.mp4" for k in range(3)]
        if not all(t.exists() for t in targets):
            cap = cv2.VideoCapture(str(src))
            fps, w, h = cap.get(cv2.CAP_PROP_FPS), int(cap.get(3)), int(cap.get(4))
            writers = [cv2.VideoWriter(str(t), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w // 3, h)) for t in targets]
            while True:
                ok, frame = cap.read()
                if not ok:
                    break
                for k, wr in enumerate(writers):
                    wr.write(np.ascontiguousarray(frame[:, k * (w // 3):(k + 1) * (w // 3)]))
            for wr in writers:
                wr.release()
        out.extend((row["label_from_repo_README"], t) for t in targets)
    return out


def panels_project(work: Path, loaded):
    from ethoscout.core.data.project import Project
    from ethoscout.core.engine import index_videos

    folder = work / f"panels-{loaded.name.split('-')[-1]}"
    if (folder / "project.sqlite").exists() and Project.open(folder).labels():
        return Project.open(folder)
    panels = cut_panels(work)
    t = time.perf_counter()
    index_videos(folder, [p for _, p in panels], model=loaded)
    log(f"indexed {len(panels)} B-SOiD examples in {time.perf_counter() - t:.0f} s")
    project = Project.open(folder)
    for name, path in panels:
        if not any(b["name"] == name for b in project.behaviors()):
            project.add_behavior(name, [f"a mouse: {name.lower()}"])
        v = project.find_video(path.name)
        project.add_label(v["id"], name, 0.0, v["duration_s"], "manual")
    return project


def events_project(work: Path, loaded):
    from ethoscout.core.data.imports import import_file
    from ethoscout.core.data.project import Project
    from ethoscout.core.engine import index_videos

    folder = work / f"events-{loaded.name.split('-')[-1]}"
    if (folder / "project.sqlite").exists() and Project.open(folder).labels():
        return Project.open(folder)
    videos = [
        DATA / "videos" / n for n in ("fly_pair_centered_sleap_73s.mp4", "mice_triplet_mabe_amadeus_60s.mp4",
                                      "mouse_reach_grasp_dlc_8s.avi", "horse_led_walk_trot_amadeus_13s.mp4",
                                      "spider_courtship_web_tracktor_39s.mp4")]
    t = time.perf_counter()
    index_videos(folder, videos, model=loaded)
    log(f"indexed the shared videos in {time.perf_counter() - t:.0f} s")
    project = Project.open(folder)
    import_file(project, BORIS, partial=True)  # the B-SOiD clips' bouts are left out: evaluated as panels
    return project


def synthetic_project(work: Path, loaded):
    from ethoscout.core.data.project import Project
    from ethoscout.core.engine import index_videos
    from tests.conftest import write_video

    folder = work / f"synthetic-{loaded.name.split('-')[-1]}"
    if (folder / "project.sqlite").exists():
        return Project.open(folder)
    vids = []
    for pattern, prompt in (("moving", "a bright square moving"), ("still", "a bright square standing still"),
                            ("flash", "the frame flashing colours")):
        for i in range(4):
            vids.append((pattern, prompt, write_video(work / f"{pattern}_{i}.mp4", frames=90 + 30 * i, pattern=pattern)))
    index_videos(folder, [v for _, _, v in vids], model=loaded)
    project = Project.open(folder)
    for pattern, prompt, _ in vids[::4]:
        project.add_behavior(pattern, [prompt])
    for pattern, _, path in vids:
        v = project.find_video(path.name)
        project.add_label(v["id"], pattern, 0.0, v["duration_s"], "manual")
    return project


def motion_cost(work: Path, loaded) -> dict:
    """Motion descriptors alone vs the whole index pass of one real video (fresh cache)."""
    import shutil

    from ethoscout.core.engine import index_video, resolve_spec
    from ethoscout.core.video.decode import iter_windows
    from ethoscout.core.video.motion import MotionExtractor
    from ethoscout.core.video.preprocess import Preprocessor
    from ethoscout.core.video.probe import probe_video
    from ethoscout.core.video.windows import make_windows

    video = DATA / "videos" / "mice_triplet_mabe_amadeus_60s.mp4"
    info = probe_video(video)
    spec = resolve_spec(None, loaded)
    windows = make_windows(info.pts_s, info.duration_s, spec)
    pre = Preprocessor.from_config(loaded.preprocessor_config)
    frames = list(iter_windows(info, windows, pre.resize_crop))
    out = {"video": video.name, "windows": len(windows)}
    for preset in ("ultrafast", "fast", "medium"):
        ex = MotionExtractor(info.pts_s, preset=preset)
        t = time.perf_counter()
        for wi, f in frames:
            ex(f, windows.frames[wi])
        out[f"motion_{preset}_s"] = time.perf_counter() - t
    folder = work / "motion-cost"
    shutil.rmtree(folder, ignore_errors=True)
    t = time.perf_counter()
    index_video(folder, video, loaded, spec, info=info)
    out["index_s"] = time.perf_counter() - t
    out["motion_share"] = out["motion_ultrafast_s"] / out["index_s"]
    return out


def refit_cost(n: int = 3600, labels: int = 40) -> dict:
    """Head refit + fused rescoring of n windows (1,024 embedding + motion columns)."""
    from ethoscout.core.learn.fusion import fit_fused
    from ethoscout.core.learn.heads import ProjectWindows
    from ethoscout.core.video.motion import MOTION_DIM

    class Store:
        def __init__(self, k):
            self.starts = np.arange(k, dtype=float)
            self.ends = self.starts + 2

        def __len__(self):
            return len(self.starts)

    rng = np.random.default_rng(0)
    stores = [Store(n // 4) for _ in range(4)]
    w = ProjectWindows(stores, np.arange(5) * (n // 4), rng.normal(size=(n, 1024)).astype(np.float32),
                       rng.normal(size=(n, MOTION_DIM)).astype(np.float32), np.ones(4, bool),
                       rng.normal(size=(n, 512)).astype(np.float32))
    prior = rng.normal(size=n)
    rows = np.concatenate([np.arange(s, s + 5) for s in range(0, n, n // 8)])[:labels]
    y = (np.arange(len(rows)) // 5 % 2).astype(int)
    times = []
    for _ in range(7):
        t = time.perf_counter()
        fused = fit_fused(w, prior, rows, y, None, "both")
        w.per_store(fused.fused)
        times.append(time.perf_counter() - t)
    return {"windows": n, "labelled windows": int(len(rows)), "median_ms": 1000 * statistics.median(times),
            "threads": os.environ.get("OMP_NUM_THREADS", "default")}


def zero_label_identity(project, loaded) -> float:
    from ethoscout.core.engine import score_queries
    from ethoscout.core.learn.instant import InstantScores
    from ethoscout.core.model.query import QueryScorer

    scorer = QueryScorer(loaded)
    b = project.behaviors()[0]
    prompts = b["prompts"] or [b["name"]]
    today = np.concatenate([r.scores.mean(axis=1) for r in score_queries(project.folder, prompts, model=scorer)])
    learner = InstantScores(project, scorer)
    # the same behaviour without labels: remove none, use a fresh behaviour with its prompts
    fresh = project.add_behavior(f"{b['name']} (unlabelled copy)", prompts) \
        if not any(x["name"] == f"{b['name']} (unlabelled copy)" for x in project.behaviors()) \
        else project.find_behavior(f"{b['name']} (unlabelled copy)")
    return float(np.abs(learner.refit(fresh).fused - today).max())


def evaluation(project, loaded, by: str, block_s: float, budget, folds: int = 5) -> dict:
    from ethoscout.core.learn.heldout import evaluate_project, format_fold_table

    table = evaluate_project(project, loaded, folds=folds, by=by, block_s=block_s, budget=budget)
    log(format_fold_table(table))
    return table.to_dict()


def lora_ablation(project, loaded, by: str, block_s: float, budget) -> dict:
    """The LoRA row under training variants (same folds, same data)."""
    from ethoscout.core.learn.adapters import project_stores
    from ethoscout.core.learn.examples import labelled_windows
    from ethoscout.core.learn.heads import ProjectWindows
    from ethoscout.core.learn.heldout import behaviour_priors, cross_evaluate, lora_scorer
    from ethoscout.core.learn.train import TrainOptions
    from ethoscout.core.model.query import QueryScorer

    scorer = QueryScorer(loaded)
    stores = project_stores(project, loaded)
    windows = ProjectWindows.build(scorer, stores)
    data = labelled_windows(project.labels(), project.behaviors(), stores)
    priors = behaviour_priors(scorer, stores, data.behaviors)
    variants = {
        "before: val fold 1/4 by label, overlaps kept": TrainOptions(purge_overlap=False, epochs=20),
        "val fold 1/4, overlaps purged (default)": TrainOptions(epochs=20),
        "no validation split, 10 epochs": TrainOptions(folds=1, epochs=10),
        "no validation split, 10 epochs, lr 1e-3": TrainOptions(folds=1, epochs=10, lr=1e-3),
        "contrastive term only (no binary term)": TrainOptions(bce_weight=0.0, epochs=20),
        "val fold 1/4 purged, lr 1e-3": TrainOptions(epochs=20, lr=1e-3),
        "no validation split, 20 epochs, lr 1e-3": TrainOptions(folds=1, epochs=20, lr=1e-3),
    }
    only = os.environ.get("LEARN_BENCH_LORA")  # variant names to run, separated by ";"
    if only:
        variants = {k: v for k, v in variants.items() if k in only.split(";")}
    out = {}
    for name, opts in variants.items():
        t = time.perf_counter()
        table = cross_evaluate(windows, data, priors, 3, by, None, block_s, 0, budget,
                               lora_scorer(loaded, data.behaviors, stores, opts))
        ap, sd = table.summary("LoRA", "AP")
        z, zsd = table.summary("zero-shot", "AP")
        h5, _ = table.summary("LoRA", "Hit@5")
        out[name] = {"mAP": ap, "sd": sd, "Hit@5": h5, "zero-shot mAP": z, "seconds": time.perf_counter() - t}
        log(f"  LoRA {name:<42} mAP {ap:.3f} ± {sd:.3f}  Hit@5 {h5:.3f}  (zero-shot {z:.3f} ± {zsd:.3f}) "
            f"{out[name]['seconds']:.0f} s")
    return out


def simulation(project, loaded, by: str, block_s: float, figures: Path, tag: str, rounds: int, per_round: int) -> dict:
    from ethoscout.core.learn.simulate import simulate_project

    t = time.perf_counter()
    curves, written = simulate_project(project, loaded, figures / f"learning_curve_{tag}", rounds=rounds,
                                       per_round=per_round, folds=5, by=by, block_s=block_s)
    log(curves.format())
    log(f"  ({time.perf_counter() - t:.0f} s) wrote {', '.join(map(str, written))}")
    res = {s: {"answers": curves.answers, "mAP": curves.mean_sd(s)[0].tolist(), "sd": curves.mean_sd(s)[1].tolist()}
           for s in curves.per_fold}
    return res


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", choices=["tiny", "base"], default="tiny")
    ap.add_argument("--work", default="/tmp/learn-bench")
    ap.add_argument("--figures", default=str(REPO / "docs" / "figures"))
    ap.add_argument("--skip", default="", help="comma list of parts to skip: motion,refit,eval,lora,simulate")
    ap.add_argument("--projects", default="panels,events,synthetic", help="comma list of projects to evaluate")
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--per-round", type=int, default=4)
    args = ap.parse_args()
    if not (DATA / "bsoid_behavior_clips").exists():
        print("needs ../shared/data (bsoid clips and videos)")
        return 1
    skip = set(filter(None, args.skip.split(",")))
    work, figures = Path(args.work), Path(args.figures)
    work.mkdir(parents=True, exist_ok=True)
    figures.mkdir(parents=True, exist_ok=True)
    loaded = model(work, args.size)
    results: dict = {"size": args.size}
    if "motion" not in skip:
        results["motion_cost"] = motion_cost(work, loaded)
        log("motion cost:", json.dumps(results["motion_cost"]))
    if "refit" not in skip:
        results["refit"] = refit_cost()
        log("head refit + rescoring:", json.dumps(results["refit"]))
    if {"eval", "lora", "simulate"} <= skip:
        return finish(results, work, args.size)
    panels = panels_project(work, loaded)
    events = events_project(work, loaded)
    synth = synthetic_project(work, loaded)
    results["zero_label_max_abs_diff"] = zero_label_identity(synth, loaded)
    log("zero labels: max |fused - today| =", results["zero_label_max_abs_diff"])
    setups = {"panels": (panels, "video", 0.0), "events": (events, "block", 10.0),
              "synthetic": (synth, "video", 0.0)}
    for tag, (project, by, block) in setups.items():
        if tag not in args.projects.split(","):
            continue
        if "eval" not in skip:
            log(f"\n== {tag}: all labels")
            results[f"eval_{tag}_all"] = evaluation(project, loaded, by, block or 10.0, None)
            log(f"\n== {tag}: 2 accepted + 2 rejected bouts per behaviour")
            results[f"eval_{tag}_2x2"] = evaluation(project, loaded, by, block or 10.0, (2, 2))
        if "lora" not in skip and tag == "panels":
            log(f"\n== {tag}: LoRA ablation (2 + 2 bouts)")
            results[f"lora_{tag}"] = lora_ablation(project, loaded, by, block or 10.0, (2, 2))
        if "simulate" not in skip:
            log(f"\n== {tag}: simulated oracle")
            results[f"simulate_{tag}"] = simulation(project, loaded, by, block or 10.0, figures, f"{tag}_{args.size}",
                                                    args.rounds, args.per_round)
    return finish(results, work, args.size)


def finish(results: dict, work: Path, size: str) -> int:
    out = work / f"learn_bench_{size}_{'_'.join(sorted(k.split('_')[0] for k in results if k != 'size'))[:60]}.json"
    out.write_text(json.dumps(results, indent=1, default=float))
    log(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
