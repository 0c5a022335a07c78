"""Command-line front end of the project database (the GUI calls the same functions)."""
from __future__ import annotations

import sys
from pathlib import Path

from .. import options as opt
from .errors import ExportError
from .project import Project


def _progress_bar(desc: str):
    """A tqdm bar on stderr as a ``progress(done, total)`` callback."""
    from tqdm import tqdm

    bar = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, desc=desc, unit="item", file=sys.stderr, leave=False)
        bar.update(done - bar.n)
        if done >= total:
            bar.close()

    return progress


def _project(args) -> Project:
    return Project.open(args.project)


def cmd_init(args) -> int:
    p = Project.create(args.folder)
    print(f"created project {p.folder}")
    return 0


def cmd_add_video(args) -> int:
    with _project(args) as p:
        for path in args.videos:
            v = p.add_video(path)
            vfr = ", variable frame rate" if v["vfr"] else ""
            print(f"{v['name']}: {v['duration_s']:.2f} s, {v['frame_count']} frames, "
                  f"{v['fps']:.3f} fps, {v['width']}x{v['height']}{vfr}")
    return 0


def cmd_list_videos(args) -> int:
    with _project(args) as p:
        for v in p.videos():
            print(f"{v['id']}\t{v['name']}\t{v['duration_s']:.2f} s\t{v['path']}")
    return 0


def _modifier_sets(args) -> list[dict]:
    """--modifier-set NAME=a,b (one value) and --multi-modifier-set NAME=a,b (several)."""
    sets = []
    for kind, specs in (("single", args.modifier_set), ("multiple", args.multi_modifier_set)):
        for spec in specs or []:
            name, _, values = spec.partition("=")
            sets.append({"name": name, "kind": kind,
                         "values": [v.strip() for v in values.split(",") if v.strip()]})
    return sets


def cmd_behavior_add(args) -> int:
    with _project(args) as p:
        b = p.add_behavior(args.name, prompts=args.prompt or None, key=args.key,
                           colour=args.colour, kind=args.type, description=args.description,
                           modifiers=_modifier_sets(args))
        print(f"added behaviour {b['name']!r} ({b['kind']}, key {b['key'] or '-'})")
    return 0


def cmd_behavior_list(args) -> int:
    with _project(args) as p:
        for b in p.behaviors():
            sets = "; ".join(f"{m['name']}({m['kind']})={','.join(m['values'])}"
                             for m in b["modifiers"])
            print(f"{b['name']}\t{b['kind']}\t{b['key'] or '-'}\t{b['colour'] or '-'}\t"
                  + " | ".join(b["prompts"]) + (f"\tmodifiers: {sets}" if sets else ""))
    return 0


def cmd_behavior_delete(args) -> int:
    with _project(args) as p:
        n = p.delete_behavior(args.name)
        print(f"deleted behaviour {args.name!r} and {n} labels (undo restores them)")
    return 0


def cmd_label(args) -> int:
    with _project(args) as p:
        if args.subject:
            p.find_subject(args.subject)  # a typo must not create an animal, as for behaviours
        label_id = p.add_label(args.video, args.behavior, args.start, args.end, args.verdict,
                               subject=args.subject, annotator=args.annotator,
                               comment=args.comment, modifiers="; ".join(args.modifier or []))
        lab = p.label(label_id)
        print(f"label {label_id}: {lab['verdict']} {lab['behavior']} {lab['start_s']:.3f}–"
              f"{lab['end_s']:.3f} s (frames {lab['start_frame']}–{lab['end_frame']})")
    return 0


def cmd_subject_add(args) -> int:
    with _project(args) as p:
        s = p.add_subject(args.name, description=args.description, key=args.key)
        print(f"subject {s['name']!r}")
    return 0


def cmd_subject_list(args) -> int:
    with _project(args) as p:
        for s in p.subjects():
            print(f"{s['name']}\t{s['key'] or '-'}\t{s['description'] or ''}")
    return 0


def cmd_undo(args) -> int:
    with _project(args) as p:
        done = p.undo()
        print(f"undid: {done}" if done else "nothing to undo")
    return 0


def cmd_redo(args) -> int:
    with _project(args) as p:
        done = p.redo()
        print(f"redid: {done}" if done else "nothing to redo")
    return 0


def cmd_import(args) -> int:
    from .imports import import_file

    with _project(args) as p:
        report = import_file(p, args.file, video=args.video, fmt=args.format,
                             partial=args.skip_bad_rows, add_missing_videos=args.add_videos,
                             progress=_progress_bar("import"))
        print(report.summary())
        for r in report.rejected:
            print(f"  rejected {r}", file=sys.stderr)
    return 0


def cmd_export(args) -> int:
    from .export import FORMATS, export

    if args.format not in FORMATS:
        raise ExportError(args.out, f"unknown export format {args.format!r}")
    with _project(args) as p:
        options = {"progress": _progress_bar("clips")} if args.format == "clips" else {}
        result = export(p, args.format, args.out, video=args.video, observer=args.observer,
                        **options)
        if isinstance(result, list):
            print(f"wrote {len(result)} files to {Path(args.out)}")
        elif hasattr(result, "manifest"):
            print(f"wrote {len(result.clips)} clips ({result.encoder}) and {result.manifest}")
        else:
            print(f"wrote {result}")
    return 0


def register(subparsers) -> None:
    from .export import FORMATS as EXPORT_FORMATS
    from .imports import FORMATS as IMPORT_FORMATS
    from .schema import KINDS, VERDICTS

    def with_project(parser):
        parser.add_argument("--project", required=True, help="project folder")
        return parser

    project = subparsers.add_parser("project", help="create a project, add videos")
    psub = project.add_subparsers(dest="project_command", metavar="ACTION", required=True)
    init = psub.add_parser("init", help="create a project folder")
    init.add_argument("folder", help="project folder to create")
    init.set_defaults(func=cmd_init)
    add = with_project(psub.add_parser("add-video", help="add (or refresh) video files"))
    add.add_argument("videos", nargs="+", help="video files")
    add.set_defaults(func=cmd_add_video)
    lv = with_project(psub.add_parser("videos", help="list the project's videos"))
    lv.set_defaults(func=cmd_list_videos)

    behavior = subparsers.add_parser("behavior", help="define behaviours (the ethogram)")
    bsub = behavior.add_subparsers(dest="behavior_command", metavar="ACTION", required=True)
    badd = with_project(bsub.add_parser("add", help="add a behaviour"))
    badd.add_argument("name", type=opt.BEHAVIOUR_NAME, help="behaviour name")
    badd.add_argument("--prompt", action="append",
                      help="text the model scores (repeat for several; default: the name)")
    badd.add_argument("--key", help="keyboard shortcut (default: none)")
    badd.add_argument("--colour", help="#rrggbb (default: one picked from a palette)")
    badd.add_argument("--type", choices=KINDS, default="state", help="state (has a duration) or point (an instant)")
    badd.add_argument("--description", help="free text (default: none)")
    badd.add_argument("--modifier-set", action="append", metavar="NAME=A,B",
                      help="a modifier set the coder picks one value of (repeat for several "
                           "sets; default: none)")
    badd.add_argument("--multi-modifier-set", action="append", metavar="NAME=A,B",
                      help="a modifier set the coder may pick several values of (default: none)")
    badd.set_defaults(func=cmd_behavior_add)
    with_project(bsub.add_parser("list", help="list behaviours")).set_defaults(func=cmd_behavior_list)
    bdel = with_project(bsub.add_parser("delete", help="delete a behaviour and its labels"))
    bdel.add_argument("name", help="behaviour name")
    bdel.set_defaults(func=cmd_behavior_delete)

    subject = subparsers.add_parser("subject", help="the animals a label can name")
    ssub = subject.add_subparsers(dest="subject_command", metavar="ACTION", required=True)
    sadd = with_project(ssub.add_parser("add", help="add a subject"))
    sadd.add_argument("name", type=opt.text("subject name", 200), help="subject name")
    sadd.add_argument("--key", help="keyboard shortcut (default: none)")
    sadd.add_argument("--description", help="free text (default: none)")
    sadd.set_defaults(func=cmd_subject_add)
    with_project(ssub.add_parser("list", help="list subjects")).set_defaults(func=cmd_subject_list)

    label = with_project(subparsers.add_parser("label", help="record one answer"))
    label.add_argument("--video", required=True, help="project video path or file name")
    label.add_argument("--behavior", required=True, help="behaviour name")
    label.add_argument("--start", type=opt.TIME, required=True, help="seconds")
    label.add_argument("--end", type=opt.TIME, required=True, help="seconds")
    label.add_argument("--verdict", choices=VERDICTS, default="manual", help="what the answer says")
    label.add_argument("--subject", help="a subject of the project, see `ethoscout subject list` (default: none)")
    label.add_argument("--annotator", help="who answered (default: none)")
    label.add_argument("--comment", help="free text (default: none)")
    label.add_argument("--modifier", action="append", metavar="SET=VALUE",
                       help="a modifier choice (repeat; several values: SET=a,b; default: none)")
    label.set_defaults(func=cmd_label)

    with_project(subparsers.add_parser("undo", help="undo the last change")).set_defaults(func=cmd_undo)
    with_project(subparsers.add_parser("redo", help="redo the last undone change")).set_defaults(func=cmd_redo)

    imp = with_project(subparsers.add_parser(
        "import", help="import BORIS projects/exports, labels tables or narration"))
    imp.add_argument("file", help="file to import")
    imp.add_argument("--video", help="target video for narration (SRT/VTT/CSV; default: the one the file names)")
    imp.add_argument("--format", choices=IMPORT_FORMATS, default="auto", help="file format (auto: from the name and content)")
    imp.add_argument("--skip-bad-rows", action="store_true",
                     help="import the good rows and list the rejected ones")
    imp.add_argument("--add-videos", action="store_true",
                     help="add media files the import names when they exist on disk")
    imp.set_defaults(func=cmd_import)

    exp = with_project(subparsers.add_parser("export", help="export labels"))
    exp.add_argument("--format", required=True, choices=EXPORT_FORMATS, help="output format")
    exp.add_argument("--out", required=True, help="file (.csv or .tsv) or folder (binary, clips)")
    exp.add_argument("--video", help="only this video (default: all)")
    exp.add_argument("--observer", help="only this observer's coding (an annotator name, e.g. "
                                        "'model v2'; '' for labels without one; default: "
                                        "everyone's accepted and manual labels)")
    exp.set_defaults(func=cmd_export)


__all__ = ["register"]
