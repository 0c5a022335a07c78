"""Headless commands: ``ethoscout <command> ...``.

Each area registers its own sub-commands (``register(subparsers)``) and handles its own
arguments; this module only assembles them and turns known errors into one-line messages.
"""
from __future__ import annotations

import argparse
import sqlite3
import sys
import warnings

from .errors import EthoscoutError
from .options import OneLineParser, OptionError

COMMAND_MODULES = (
    "ethoscout.core.engine_commands",
    "ethoscout.core.data.commands",
    "ethoscout.core.learn.commands",
    "ethoscout.core.analysis.commands",
    "ethoscout.core.doctor",
)


class DefaultsHelpFormatter(argparse.HelpFormatter):
    """Every option's help ends with its default, unless the help already says it."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        flag = action.nargs == 0  # store_true and friends: off unless given
        if (action.option_strings and not action.required and not flag and "default" not in text
                and action.default not in (None, [], argparse.SUPPRESS)):
            text += " (default: %(default)s)"
        return text


def with_defaults_in_help(parser: argparse.ArgumentParser) -> None:
    """Apply DefaultsHelpFormatter to a parser and all its sub-command parsers."""
    parser.formatter_class = DefaultsHelpFormatter
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                with_defaults_in_help(sub)


def build_parser() -> OneLineParser:
    import importlib

    parser = OneLineParser(
        prog="ethoscout",
        description="Find animal behaviours in video with X-CLIP. "
        "Run without a command (or with a project folder) to open the desktop app.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name != name:
                raise
            continue  # an area not built yet
        module.register(sub)
    with_defaults_in_help(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    # Library deprecation notices are for developers, not for someone scoring videos.
    warnings.filterwarnings("ignore", category=FutureWarning)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help, or a refused value (one line already printed)
        return e.code if isinstance(e.code, int) else 2
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except OptionError as e:  # a value refused once the project or model is known
        print(f"ethoscout: error: argument {e}", file=sys.stderr)
        return 2
    except EthoscoutError as e:
        print(f"ethoscout: error: {e}", file=sys.stderr)
        return 1
    except sqlite3.Error as e:  # one the project layer did not name (it names its own)
        print(f"ethoscout: error: project database: {' '.join(str(e).split())}", file=sys.stderr)
        return 1
    except OSError as e:  # a full disk, a read-only folder, a file over a size limit
        where = e.filename or "a file"
        print(f"ethoscout: error: {where}: {e.strerror or e}; nothing finished before was lost",
              file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("ethoscout: interrupted; finished work is saved, run the command again to resume",
              file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
