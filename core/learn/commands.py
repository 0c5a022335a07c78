"""CLI: ``ethoscout suggest``, ``train``, ``eval``, ``activity``, ``similar`` and ``adapter list|use``."""
from __future__ import annotations

import json
import sys

from .. import options as opt
from .suggest import STRATEGIES


def _open(args):
    from ..data.project import Project

    return Project.open(args.project)


def _loaded(project, args):
    from .adapters import load_project_model

    return load_project_model(project, args.model, args.device)


def _print_clips(clips, as_json: bool) -> None:
    if as_json:
        json.dump([c.to_dict() for c in clips], sys.stdout, indent=1)
        print()
        return
    print(f"{'#':>3}  {'video':<28} {'start':>8} {'end':>8} {'score':>7}  {'kind':<9} reason")
    for i, c in enumerate(clips, 1):
        print(f"{i:>3}  {c.video[:28]:<28} {c.start:8.2f} {c.end:8.2f} {c.score:7.3f}  {c.strategy:<9} {c.reason}")


def run_suggest(args) -> int:
    from .adapters import active_scorer
    from .suggest import suggest

    project = _open(args)
    scorer = active_scorer(project, _loaded(project, args))
    clips = suggest(project, scorer, args.behavior, n=args.n, strategy=args.strategy, seed=args.seed)
    _print_clips(clips, args.json)
    return 0


def run_similar(args) -> int:
    from .adapters import active_scorer, project_stores
    from .similar import similar_windows

    project = _open(args)
    scorer = active_scorer(project, _loaded(project, args))
    clips = similar_windows(scorer, project_stores(project, scorer.loaded), args.video, args.start, args.end, args.n)
    _print_clips(clips, args.json)
    return 0


def run_train(args) -> int:
    from tqdm import tqdm

    from .process import build_train_spec, run_training
    from ..progress import CancelToken

    project = _open(args)
    options = {k: v for k, v in {"epochs": args.epochs, "lr": args.lr, "seed": args.seed, "rank": args.rank,
                                  "deep": args.deep, "max_seconds": args.max_seconds,
                                  "batch_size": args.batch_size}.items() if v is not None}
    spec = build_train_spec(project.folder, args.model, args.device, activate=not args.no_activate, **options)
    bar = None

    def on_event(ev) -> None:
        nonlocal bar
        if ev.event in ("step", "epoch"):
            if bar is None:
                bar = tqdm(total=ev.total, desc="training", unit="step", file=sys.stderr, dynamic_ncols=True)
            bar.update(ev.step - bar.n)
            post = {"loss": f"{ev.loss:.4f}"}
            if ev.data.get("val_loss") is not None:
                post["val"] = f"{ev.val_loss:.4f}"
            bar.set_postfix(post, refresh=False)
        elif ev.event in ("start", "info"):
            print(ev.data.get("message") or f"training on {ev.windows} labelled windows of "
                  f"{', '.join(ev.behaviors)}", file=sys.stderr)

    cancel = CancelToken()
    try:
        final = run_training(spec, on_event, cancel)
    except KeyboardInterrupt:
        cancel.cancel()
        raise
    finally:
        if bar is not None:
            bar.close()
    if final.event == "done":
        print(final.describe())
        val = (final.data.get("metrics") or {}).get("validation") or {}
        if val:
            b, a = val["base"]["mean"], val["adapter"]["mean"]
            print(f"validation ({val['windows']} windows): mAP {b.get('AP', float('nan')):.3f} -> "
                  f"{a.get('AP', float('nan')):.3f}, Hit@5 {b.get('Hit@5', float('nan')):.3f} -> "
                  f"{a.get('Hit@5', float('nan')):.3f}")
        if not final.data.get("active"):
            v = final.data.get("version")
            print(f"not active yet: select it with `ethoscout adapter use {v} --project {args.project}`"
                  + (" --reindex" if args.deep else ""))
        return 0
    print(f"ethoscout: training {final.event}: {final.describe()}", file=sys.stderr)
    return 130 if final.event == "cancelled" else 1


def run_eval(args) -> int:
    from .evaluate import evaluate_adapters, format_table
    from .heldout import evaluate_project, format_fold_table
    from .train import TrainOptions

    project = _open(args)
    known = {a["version"] for a in project.adapters()}
    missing = sorted(set(args.versions or ()) - known)
    if missing:
        have = ", ".join(map(str, sorted(known))) or "none yet"
        raise opt.OptionError("--versions", f"no adapter version {missing[0]} in this project (versions: {have})")
    loaded = _loaded(project, args)
    if args.versions is not None:
        print(format_table(evaluate_adapters(project, loaded, args.versions or None)))
        return 0
    lora = TrainOptions(epochs=args.epochs or 20, seed=args.seed) if args.lora or args.lora_every else None
    if args.simulate:
        from .simulate import simulate_project

        curves, written = simulate_project(
            project, loaded, args.out, strategies=args.strategies or None, rounds=args.rounds,
            per_round=args.per_round, folds=args.cv or 5, by=args.group_by, session=args.session,
            block_s=args.block, seed=args.seed, lora_every=args.lora_every or 0, lora_opts=lora,
            on_round=lambda f, s, r: print(f"fold {f + 1} {s}: round {r + 1}/{args.rounds}", file=sys.stderr))
        print(curves.format())
        print("wrote " + ", ".join(str(p) for p in written))
        return 0
    table = evaluate_project(project, loaded, folds=args.cv or 5, by=args.group_by, session=args.session,
                             block_s=args.block, seed=args.seed, budget=tuple(args.budget) if args.budget else None,
                             lora_opts=lora, on_fold=lambda f, k: print(f"fold {f + 1}/{k} done", file=sys.stderr))
    print(format_fold_table(table))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(table.to_dict(), f, indent=1)
    return 0


def run_activity(args) -> int:
    from ..data.fileio import write_table
    from ..video.motion import MOTION_ARRAY, activity, still_bouts
    from .adapters import project_stores

    project = _open(args)
    stores = project_stores(project, _loaded(project, args))
    rows, missing = [], []
    for s in stores:
        motion = s.array(MOTION_ARRAY)
        name = s.meta.get("video_name", "")
        if motion is None:
            missing.append(name)
            continue
        bouts = still_bouts(s.starts, s.ends, motion, args.threshold, args.min_duration)
        total = sum(e - b for b, e in bouts)
        print(f"{name}: {len(bouts)} still bouts, {total:.1f} s of {float(s.ends[-1]):.1f} s"
              + "".join(f"\n  {b:8.2f} {e:8.2f}" for b, e in bouts))
        act = activity(motion)
        rows.extend([name, f"{a:.3f}", f"{b:.3f}", f"{v:.3f}", int(v < args.threshold)]
                    for a, b, v in zip(s.starts, s.ends, act))
    if missing:
        print(f"no motion descriptors yet for {', '.join(missing)}: run `ethoscout index` on them again",
              file=sys.stderr)
    if args.out:
        write_table(args.out, ["video", "start_s", "end_s", "activity_px_s", "still"], rows)
        print(f"wrote {len(rows)} windows to {args.out}")
    return 0


def run_adapter_list(args) -> int:
    project = _open(args)
    rows = project.adapters()
    if not rows:
        print("no adapters yet; the base model is in use (train one with `ethoscout train`)")
        return 0
    print(f"{'':1} {'version':>7}  {'created':<20} {'val mAP':>15}  {'deep':<4}  folder")
    for a in rows:
        val = (a["metrics"] or {}).get("validation") or {}
        m = f"{val['base']['mean'].get('AP', float('nan')):.3f}->{val['adapter']['mean'].get('AP', float('nan')):.3f}" \
            if val else "-"
        deep = "yes" if (a["metrics"] or {}).get("deep") else ""
        print(f"{'*' if a['active'] else ' '} {a['version']:>7}  {a['created'][:19]:<20} {m:>15}  {deep:<4}  {a['folder']}")
    if project.active_adapter() is None:
        print("(no adapter active: the base model is in use)")
    return 0


def run_adapter_use(args) -> int:
    from .adapters import LearnError, use_adapter

    project = _open(args)
    if args.version.lower() in ("none", "base"):
        use_adapter(project, None)
        print("using the base model (no adapter)")
        return 0
    try:
        version = int(args.version.lstrip("vV"))
    except ValueError:
        raise LearnError(f"{args.version!r}: not an adapter version; give a number (see `ethoscout adapter list`) "
                         "or none") from None
    loaded = _loaded(project, args) if args.reindex or _is_deep(project, version) else None
    use_adapter(project, version, loaded, reindex=args.reindex)
    print(f"using adapter v{version}")
    return 0


def _is_deep(project, version: int) -> bool:
    from ..model.lora import read_adapter_meta
    from .adapters import adapter_folder

    return bool(read_adapter_meta(adapter_folder(project, project.adapter(version))).get("deep"))


def _common(p, model: bool = True) -> None:
    p.add_argument("--project", required=True, help="project folder")
    if model:
        p.add_argument("--model", default=None, help="hub id or model folder (default: the project's)")
        p.add_argument("--device", type=opt.device, default="auto", help="auto, cpu, cuda, cuda:1 ...")


EPOCHS = opt.EPOCHS


def register(sub) -> None:
    p = sub.add_parser("suggest", help="clips to review next for a behaviour (active learning)")
    _common(p)
    p.add_argument("--behavior", required=True, help="behaviour name")
    p.add_argument("--n", type=opt.integer(1, 10_000), default=20, help="how many clips (default 20)")
    p.add_argument("--strategy", choices=STRATEGIES, default="mixed",
                   help="top scores, uncertain ones, diverse ones, or a mix (default)")
    p.add_argument("--seed", type=opt.SEED, default=0, help="random seed for the diverse and mixed strategies")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=run_suggest)

    p = sub.add_parser("train", help="train a new adapter version from all labels so far")
    _common(p)
    p.add_argument("--epochs", type=EPOCHS, default=None,
                   help="most epochs (default 40; stops early when held-out scores stop improving)")
    p.add_argument("--lr", type=opt.number(0, 1, lo_open=True), default=None, help="learning rate (default 1e-3)")
    p.add_argument("--rank", type=opt.integer(1, 256), default=None, help="LoRA rank (default 8)")
    p.add_argument("--batch-size", type=opt.BATCH, default=None, help="windows per step (default 64)")
    p.add_argument("--seed", type=opt.SEED, default=None, help="random seed (default 0)")
    p.add_argument("--max-seconds", type=opt.number(0, 1e6, unit="s", lo_open=True), default=None,
                   help="stop after this long, keeping the best epoch (default: no limit)")
    p.add_argument("--deep", action="store_true",
                   help="also adapt the vision tower (GPU advised; videos must be indexed again)")
    p.add_argument("--no-activate", action="store_true", help="register the adapter without selecting it")
    p.set_defaults(func=run_train)

    p = sub.add_parser("eval", help="retrieval on held-out videos: zero-shot, query by example, heads, LoRA, "
                                    "fused; k folds grouped by video, mean ± sd")
    _common(p)
    p.add_argument("--cv", type=opt.integer(2, 100), default=None, metavar="K",
                   help="number of folds (default 5; fewer when there are fewer groups)")
    p.add_argument("--group-by", choices=("video", "session", "block"), default="video",
                   help="what a fold holds whole: video (default), session (--session) or block (--block)")
    p.add_argument("--session", default=None, metavar="REGEX",
                   help="with --group-by session: the part of a video file name naming its session, e.g. 'day\\d+' (default: none)")
    p.add_argument("--block", type=opt.number(0, 1e6, unit="s", lo_open=True), default=10.0,
                   help="with --group-by block: seconds per block of a video (default 10)")
    p.add_argument("--budget", type=opt.integer(1, 10_000), nargs=2, metavar=("ACCEPTED", "REJECTED"),
                   default=None, help="train each fold on only this many accepted and rejected bouts per "
                                      "behaviour (default: all)")
    p.add_argument("--lora", action="store_true", help="add a LoRA row: a fresh adapter trained per fold (slow)")
    p.add_argument("--epochs", type=EPOCHS, default=None, help="epochs per fold with --lora (default 20)")
    p.add_argument("--versions", type=opt.integer(1, 1_000_000), nargs="*", default=None,
                   help="instead: the untrained model vs these adapter versions (none listed: all) on labels "
                        "they did not train on (default: the grouped-fold table)")
    p.add_argument("--json", default=None, metavar="FILE", help="also write the table as JSON (default: no file)")
    p.add_argument("--seed", type=opt.SEED, default=0, help="random seed of the folds")
    sim = p.add_argument_group("simulation (--simulate): an oracle answers the app's suggestions from the labels")
    sim.add_argument("--simulate", action="store_true",
                     help="replay this fully labelled project round by round and write learning curves")
    sim.add_argument("--rounds", type=opt.integer(1, 1000), default=10, help="rounds (default 10)")
    sim.add_argument("--per-round", type=opt.integer(1, 1000), default=2,
                     help="answers per behaviour per round (default 2)")
    sim.add_argument("--strategies", nargs="+", choices=(*STRATEGIES, "random"), default=None,
                     help="suggestion strategies to compare (default: all, random as the baseline)")
    sim.add_argument("--lora-every", type=opt.integer(1, 1000), default=None, metavar="M",
                     help="retrain LoRA every M rounds (default: never; slow)")
    sim.add_argument("--out", default="learning_curve", help="folder for learning_curve.csv and .png "
                                                              "(default ./learning_curve)")
    p.set_defaults(func=run_eval)

    p = sub.add_parser("activity", help="how much moves per window (optical flow, no model) and immobility "
                                        "(freezing) bouts found by a threshold")
    _common(p)
    p.add_argument("--threshold", type=opt.number(0, 1e6, unit="px/s"), default=3.0,
                   help="a window is still when its 99th-percentile speed (px/s at 224 px) is below this "
                        "(default 3)")
    p.add_argument("--min-duration", type=opt.number(0, 1e6, unit="s"), default=2.0,
                   help="shortest still bout to report, seconds (default 2)")
    p.add_argument("--out", default=None, help="CSV of every window's activity (default: no file)")
    p.set_defaults(func=run_activity)

    p = sub.add_parser("similar", help="windows that look like a clip (query by example)")
    _common(p)
    p.add_argument("--video", required=True, help="video path or file name")
    p.add_argument("--start", type=opt.TIME, required=True, help="clip start, seconds")
    p.add_argument("--end", type=opt.TIME, required=True, help="clip end, seconds")
    p.add_argument("--n", type=opt.integer(1, 10_000), default=20, help="how many clips")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=run_similar)

    p = sub.add_parser("adapter", help="list adapter versions or select one (roll back)")
    asub = p.add_subparsers(dest="adapter_command", metavar="ACTION", required=True)
    lp = asub.add_parser("list", help="adapter versions with their validation metrics")
    _common(lp, model=False)
    lp.set_defaults(func=run_adapter_list)
    up = asub.add_parser("use", help="select an adapter version, or none for the base model")
    up.add_argument("version", help="a version number (e.g. 3 or v3), or none")
    _common(up)
    up.add_argument("--reindex", action="store_true", help="index the videos again (needed by deep adapters)")
    up.set_defaults(func=run_adapter_use)
