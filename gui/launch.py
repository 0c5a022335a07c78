"""``ethoscout``: the desktop app, or a headless command.

    ethoscout                      open the window
    ethoscout PROJECT_DIR          open the window with that project
    ethoscout index --project ...  any CLI sub-command (see ethoscout --help); Qt is not imported

Qt is imported only when the window opens, so the CLI works where PySide6 is missing.
"""
from __future__ import annotations

import sys
from pathlib import Path

TRAIN_MODULE = "ethoscout.core.learn.train_process"


def cli_commands() -> set[str]:
    import argparse

    from ethoscout.core.cli import build_parser

    parser = build_parser()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return set(action.choices)
    return set()


def is_cli(args: list[str]) -> bool:
    """A sub-command or -h/--help; a folder (a project) or nothing opens the window."""
    if not args:
        return False
    first = args[0]
    if first in ("-h", "--help"):
        return True
    if first.startswith("-") or Path(first).is_dir():
        return False
    return first in cli_commands()


def no_display_reason() -> str | None:
    """Why the window can't open here (Linux without a display), else None; Qt itself would
    abort the process instead of saying so."""
    import os

    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return None
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return None
    return ("there is no display to open the window on (neither DISPLAY nor WAYLAND_DISPLAY is set); "
            "run it in a desktop session, or use the headless commands (ethoscout --help)")


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    # A frozen bundle has no Python to run ``-m``: its own executable runs the training child.
    if len(args) >= 2 and args[0] == "-m" and args[1] == TRAIN_MODULE:
        from ethoscout.core.learn.train_process import main as train_main
        return train_main(args[2:])
    if is_cli(args):
        from ethoscout.core.cli import main as cli_main
        return cli_main(args)
    if len(args) > 1 or (args and not Path(args[0]).is_dir()):
        print(f"ethoscout: {args[0]!r} is neither a project folder nor a command\n"
              "usage: ethoscout [PROJECT_DIR] | ethoscout COMMAND ... (ethoscout --help lists commands)",
              file=sys.stderr)
        return 2
    from ethoscout.core.doctor import qt_platforms, qt_problem, x_display_problem

    # Qt aborts the process with a generic message (about xcb-cursor, whatever the cause) when
    # its platform plugin can't start: name the missing system libraries and their packages,
    # or the X server that does not answer, instead.
    reason = (no_display_reason() or qt_problem()
              or (x_display_problem() if qt_platforms()[0] == "xcb" else None))
    if reason:
        print(f"ethoscout: error: {reason}", file=sys.stderr)
        return 1
    try:
        from .application import run
    except ImportError as e:
        print(f"ethoscout: the desktop app needs PySide6 and pyqtgraph ({e}); "
              "the headless commands work without them (ethoscout --help)", file=sys.stderr)
        return 1
    return run(args[0] if args else None, [sys.argv[0]])


if __name__ == "__main__":
    sys.exit(main())
