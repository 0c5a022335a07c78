"""CLI: ``ethoscout analyse time-budget|ethogram|transitions|agreement`` and ``ethoscout predict``."""
from __future__ import annotations

from pathlib import Path

from .. import options as opt
from ..data.errors import ExportError

ANALYSES = ("time-budget", "ethogram", "transitions", "agreement")


def _coding(project, args, observer=None):
    from .events import load_coding

    return load_coding(project, video=args.video, subject=args.subject,
                       observer=args.observer if observer is None else observer)


def run_analyse(args) -> int:
    from ..data.project import Project
    from . import agreement, tables, time_budget, transitions
    from .ethogram import plot_ethogram

    out = Path(args.out)
    with Project.open(args.project) as project:
        if args.analysis == "time-budget":
            rows = time_budget.time_budget(_coding(project, args), by_modifier=args.by_modifier)
            tables.write_rows(out, time_budget.COLUMNS, rows)
            print(f"wrote {out}: {len(rows)} subject x behaviour rows")
        elif args.analysis == "ethogram":
            coding = _coding(project, args)
            plot_ethogram(coding, out, title=args.title)
            print(f"wrote {out}: {len(coding.events)} events in {len(coding.observed)} videos")
        elif args.analysis == "transitions":
            rows = transitions.transitions(_coding(project, args), args.interval)
            tables.write_rows(out, transitions.COLUMNS, rows)
            print(f"wrote {out}: {sum(r['count'] for r in rows if r['scope'] == 'observation')} "
                  "transitions")
        else:
            if args.reference is None or args.candidate is None:
                raise ExportError(out, "agreement needs --reference and --candidate observers "
                                       f"(this project's: {', '.join(map(repr, project.annotators()))})")
            ref = _coding(project, args, args.reference)
            cand = _coding(project, args, args.candidate)
            kappa = agreement.kappa_table(ref, cand, args.resolution)
            bouts = agreement.bout_table(ref, cand, args.iou)
            bouts_out = out.with_name(f"{out.stem}-bouts{out.suffix}")
            tables.write_rows(out, agreement.KAPPA_COLUMNS, kappa)
            tables.write_rows(bouts_out, agreement.BOUT_COLUMNS, bouts)
            overall = kappa[0]["kappa"] if kappa else None
            shown = "undefined" if overall is None else f"{overall:.3f}"
            print(f"wrote {out} (Cohen's kappa {shown} at {args.resolution:g} s) and {bouts_out}")
    return 0


def run_predict(args) -> int:
    from ..data.project import Project
    from ..learn.adapters import active_scorer, load_project_model, project_stores
    from ..learn.suggest import behavior_scores
    from .predict import VideoWindows, write_prediction_coding

    with Project.open(args.project) as project:
        b = project.find_behavior(args.behavior)
        scorer = active_scorer(project, load_project_model(project, args.model, args.device))
        known = {v["path"] for v in project.videos()}
        stores = [s for s in project_stores(project, scorer.loaded) if s.meta["video_path"] in known]
        scores = behavior_scores(scorer, stores, b["prompts"] or [b["name"]])
        windows = [VideoWindows(s.meta["video_path"], s.starts, s.ends, sc)
                   for s, sc in zip(stores, scores)]
        active = project.active_adapter()
        report = write_prediction_coding(
            project, b, windows, threshold=args.threshold, min_duration_s=args.min_duration,
            max_gap_s=args.max_gap, version=active["version"] if active else None,
            model_id=scorer.loaded.name)
        print(report.summary())
    return 0


def register(sub) -> None:
    p = sub.add_parser("analyse", help="time budget, ethogram plot, transition matrix or "
                                       "observer agreement, as CSV / PNG / SVG")
    p.add_argument("analysis", choices=ANALYSES, help="which analysis")
    p.add_argument("--project", required=True, help="project folder")
    p.add_argument("--out", required=True,
                   help="output file: .csv or .tsv for tables, .png, .svg or .pdf for the ethogram")
    p.add_argument("--video", help="only this video (default: every coded video)")
    p.add_argument("--subject", help="only this subject ('No focal subject' for events without "
                                     "one; default: every subject)")
    p.add_argument("--observer", help="only this observer's coding, e.g. 'model v2' (default: "
                                      "everyone's accepted and manual labels)")
    p.add_argument("--by-modifier", action="store_true",
                   help="time budget: one row per modifier combination too (default: off)")
    p.add_argument("--interval", type=opt.number(0.001, 1e7, unit="s"), default=None,
                   help="transitions: also per time interval of this many seconds (default: none)")
    p.add_argument("--reference", help="agreement: the reference observer ('' for labels "
                                       "without an annotator; default: none)")
    p.add_argument("--candidate", help="agreement: the observer compared with it, e.g. 'model v2' (default: none)")
    p.add_argument("--resolution", type=opt.number(0.001, 3600, unit="s"), default=1.0,
                   help="agreement: kappa time resolution in seconds (default: 1.0)")
    p.add_argument("--iou", type=opt.number(0, 1, lo_open=True), default=0.5,
                   help="agreement: bouts match at this intersection over union (default: 0.5)")
    p.add_argument("--title", help="ethogram: a title (default: none)")
    p.set_defaults(func=run_analyse)

    p = sub.add_parser("predict", help="turn the model's scores for a behaviour into a coding "
                                       "('model vN') to correct")
    p.add_argument("--project", required=True, help="project folder")
    p.add_argument("--behavior", required=True, help="behaviour name")
    p.add_argument("--threshold", type=opt.number(-1e6, 1e6), default=None,
                   help="score threshold (default: the one with the best F1 on the labels)")
    p.add_argument("--min-duration", type=opt.TIME, default=1.0,
                   help="drop bouts shorter than this many seconds (default: 1.0)")
    p.add_argument("--max-gap", type=opt.TIME, default=0.5,
                   help="merge bouts closer than this many seconds (default: 0.5)")
    p.add_argument("--model", default=None, help="hub id or model folder (default: the project's)")
    p.add_argument("--device", type=opt.device, default="auto", help="auto, cpu, cuda, cuda:1 ... (default: auto)")
    p.set_defaults(func=run_predict)


__all__ = ["register"]
