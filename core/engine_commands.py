"""CLI: ``ethoscout index``, ``ethoscout score``, ``ethoscout cache prune`` and ``ethoscout random-model``."""
from __future__ import annotations

import sys
from pathlib import Path

from . import options as opt
from .model.loading import DEFAULT_MODEL
from .model.runtime import RUNTIMES
from .video.windows import SCHEMES, WindowSpec


def add_model_args(p, model_help: str = "hub id or local folder of an X-CLIP checkpoint") -> None:
    p.add_argument("--model", default=None, help=f"{model_help} (default: the project's, else {DEFAULT_MODEL})")
    p.add_argument("--device", type=opt.device, default="auto", help="auto (CUDA when present), cpu, cuda, cuda:1 ...")


def add_spec_args(p) -> None:
    p.add_argument("--span", type=opt.SPAN, default=None, help="window length in seconds (default 2)")
    p.add_argument("--stride", type=opt.STRIDE, default=None, help="seconds between window starts (default 1)")
    p.add_argument("--frames", type=opt.FRAMES, default=None,
                   help="frames per window: the checkpoint's own count (default, or 0)")
    p.add_argument("--scheme", choices=SCHEMES, default=None, help="frame sampling in a window (default sparse)")


def spec_from_args(args) -> WindowSpec | None:
    """The window spec given on the command line; None (the project's, else the defaults)
    when no option was given."""
    given = {"span_s": args.span, "stride_s": args.stride, "frames": args.frames, "scheme": args.scheme}
    given = {k: v for k, v in given.items() if v is not None}
    return WindowSpec(**{"frames": 0, **given}) if given else None


def tqdm_progress():
    """A progress callback: a line per warm-up step, a byte bar for a model download, one bar
    per video; ``update.close()`` ends every bar so a message printed afterwards gets its own line."""
    from tqdm import tqdm

    from .progress import DOWNLOAD, WARMUP

    bars = {}

    def close() -> None:
        for bar in bars.values():
            bar.close()

    def update(p):
        if p.task == WARMUP:
            print(f"{p.item} ...", file=sys.stderr, flush=True)
            return
        if p.task == DOWNLOAD:
            bar = bars.get(("download", p.item))
            if bar is None:
                bar = bars[("download", p.item)] = tqdm(total=p.total, initial=p.done, desc=f"downloading {p.item}",
                                                        unit="B", unit_scale=True, file=sys.stderr, dynamic_ncols=True)
            bar.update(p.done - bar.n)
            if p.done >= p.total:
                bar.close()
            return
        bar = bars.get(p.item)
        if bar is None:
            bar = bars[p.item] = tqdm(total=p.total, initial=p.done, desc=p.item[:30], unit="win",
                                      file=sys.stderr, dynamic_ncols=True)
        bar.update(p.done - bar.n)
        if p.done >= p.total:
            bar.close()
    update.close = close
    return update


def run_index(args) -> int:
    from .engine import index_videos, project_model
    from .video.lists import expand_videos

    if args.executor != "ray" and (args.address or args.workers or args.segment_windows != 64):
        raise opt.OptionError("--address/--workers/--segment-windows", "only with --executor ray")
    videos = expand_videos(args.videos)
    progress = tqdm_progress()
    common = dict(model=project_model(args.project, args.model), spec=spec_from_args(args),
                  runtime=args.runtime, batch_size=args.batch_size, on_progress=progress, on_warmup=progress)
    try:
        if args.executor == "ray":
            from .scale.ray_index import index_videos_ray

            results = index_videos_ray(args.project, videos, address=args.address, workers=args.workers,
                                       segment_windows=args.segment_windows, **common)
        else:
            results = index_videos(args.project, videos, device=args.device, **common)
    finally:
        progress.close()
    failed = []
    for r in results:
        if r.status == "error":
            failed.append(r)
            print(f"ethoscout: error: {r.message}", file=sys.stderr)
        else:
            n = len(r.store) if r.store else 0
            print(f"{r.status}: {Path(r.path).name} ({n} windows)")
    if failed and len(results) > 1:
        print(f"ethoscout: {len(failed)} of {len(results)} videos failed: "
              f"{', '.join(Path(r.path).name for r in failed)}", file=sys.stderr)
    return 1 if failed else 0


def run_score(args) -> int:
    import csv

    import numpy as np

    from .errors import EthoscoutError
    from .data.fileio import safe_cell, write_table
    from .data.project import Project
    from .engine import (VideoScores, as_loaded, check_project_folder, check_queries, project_model,
                         score_queries, score_table)
    from .learn.adapters import active_scorer, project_stores
    from .model.query import QueryScorer

    queries = check_queries(args.query) if args.query or not args.behavior else []
    check_project_folder(args.project)  # before loading a model
    is_project = (Path(args.project) / "project.sqlite").exists()
    if args.behavior and not is_project:
        raise EthoscoutError(f"{args.project}: --behavior needs a project database (behaviours and labels); "
                             "this folder has none")
    # Scores follow the project's active adapter, as suggestions do.
    loaded = as_loaded(project_model(args.project, args.model), args.device, tqdm_progress())
    project = Project.open(args.project) if is_project else None
    scorer = active_scorer(project, loaded) if is_project else QueryScorer(loaded)
    results = score_queries(args.project, queries, model=scorer, spec=spec_from_args(args)) if queries else []
    columns = list(queries)
    if args.behavior:
        from .learn.instant import InstantScores

        behaviors = [project.find_behavior(name) for name in args.behavior]
        stores = [r.store for r in results] or project_stores(project, scorer.loaded, spec_from_args(args))
        learner = InstantScores(project, scorer, stores)
        fused = [learner.per_store(learner.refit(b).fused) for b in behaviors]
        if not results:
            results = [VideoScores(s.meta["video_name"], s.starts, s.ends, np.zeros((len(s), 0)), s) for s in stores]
        for i, r in enumerate(results):
            r.scores = np.concatenate([r.scores, np.stack([f[i] for f in fused], axis=1)], axis=1)
        columns += [b["name"] for b in behaviors]
    header, rows = score_table(results, columns)
    if args.out in (None, "-"):
        out = csv.writer(sys.stdout, lineterminator="\n")
        for row in [header, *rows]:
            out.writerow([safe_cell(v) for v in row])
    else:
        write_table(args.out, header, rows)
        print(f"wrote {sum(len(r.starts) for r in results)} windows x {len(columns)} columns to {args.out}")
    return 0


def run_cache_prune(args) -> int:
    from .engine import check_project_folder, prune_stale_stores

    check_project_folder(args.project)
    removed, freed = prune_stale_stores(args.project)
    print(f"removed {removed} stale feature store(s), {freed / 2**20:.1f} MB "
          "(videos no longer in the project, or replaced since they were indexed)")
    return 0


def run_random_model(args) -> int:
    from .model.random_init import build_random_xclip

    folder = build_random_xclip(args.out, args.size, tokenizer_dir=args.tokenizer, num_frames=args.frames)
    print(f"wrote a randomly initialised X-CLIP ({args.size}) to {folder}; its scores carry no meaning")
    return 0


def register(sub) -> None:
    p = sub.add_parser("index", help="decode videos and cache X-CLIP features per time window")
    p.add_argument("--project", required=True, help="project folder (created if missing)")
    p.add_argument("videos", nargs="+", metavar="VIDEOS",
                   help="video files, folders of videos, or text files listing one video path a line")
    add_model_args(p)
    add_spec_args(p)
    p.add_argument("--runtime", type=str.lower, choices=RUNTIMES, default="auto", metavar="RUNTIME",
                   help=f"one of {', '.join(RUNTIMES)} (default auto)")
    p.add_argument("--batch-size", type=opt.BATCH, default=4, help="windows per model call")
    p.add_argument("--executor", choices=("local", "ray"), default="local",
                   help="local (this process, default) or ray (a Ray cluster; pip install \"ethoscout[ray]\")")
    p.add_argument("--address", default=None,
                   help="with --executor ray: auto (the cluster this machine joined), ray://HOST:10001, "
                        "or HOST:PORT (default: a private Ray on this machine)")
    p.add_argument("--workers", type=opt.integer(1, 10_000), default=None,
                   help="with --executor ray: embedding actors (default: one per GPU, else half the CPUs)")
    p.add_argument("--segment-windows", type=opt.integer(1, 100_000), default=64,
                   help="with --executor ray: windows per decode task (default 64)")
    p.set_defaults(func=run_index)

    p = sub.add_parser("score", help="score behaviour texts against every indexed window")
    p.add_argument("--project", required=True, help="project folder with indexed videos")
    p.add_argument("--query", action="append", default=[], type=opt.text("query"),
                   help="a behaviour in words (repeatable; no default: give at least one)")
    p.add_argument("--behavior", action="append", default=[], type=opt.text("behavior"),
                   help="a project behaviour (repeatable): its fused score, the text prior plus a head "
                        "learnt from its labels (the prior alone until it has accepted and rejected clips; default: none)")
    p.add_argument("--out", default=None, help="CSV file (default: standard output)")
    add_model_args(p)
    add_spec_args(p)
    p.set_defaults(func=run_score)

    p = sub.add_parser("cache", help="manage the feature cache of a project")
    actions = p.add_subparsers(dest="cache_action", metavar="ACTION", required=True)
    p = actions.add_parser("prune", help="delete cached features of videos no longer in the project or "
                                         "replaced since they were indexed")
    p.add_argument("--project", required=True, help="project folder")
    p.set_defaults(func=run_cache_prune)

    p = sub.add_parser("random-model", help="write a randomly initialised X-CLIP folder (for trying the "
                                            "program offline; its scores mean nothing)")
    p.add_argument("out", help="folder to write (created if missing)")
    p.add_argument("--size", choices=["tiny", "base"], default="tiny",
                   help="tiny (fast tests) or base (the shape of xclip-base-patch32)")
    p.add_argument("--frames", type=opt.integer(1, 64), default=8, help="frames per window")
    p.add_argument("--tokenizer", default=None,
                   help="folder with CLIP tokenizer files to copy in (default: a minimal byte-level tokenizer)")
    p.set_defaults(func=run_random_model)
