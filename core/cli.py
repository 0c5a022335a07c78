"""Headless commands: ``ethoscout <command> ...``.

Each area registers its own sub-commands (``register(subparsers)``) and handles its own
arguments; this module only assembles them and turns known errors into one-line messages.
"""
from __future__ import annotations

import argparse
import sys
import warnings

from .errors import EthoscoutError

COMMAND_MODULES = (
    "ethoscout.core.engine_commands",
    "ethoscout.core.data.commands",
    "ethoscout.core.learn.commands",
)


def build_parser() -> argparse.ArgumentParser:
    import importlib

    parser = argparse.ArgumentParser(
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
    return parser


def main(argv: list[str] | None = None) -> int:
    # Library deprecation notices are for developers, not for someone scoring videos.
    warnings.filterwarnings("ignore", category=FutureWarning)
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except EthoscoutError as e:
        print(f"ethoscout: error: {e}", file=sys.stderr)
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
