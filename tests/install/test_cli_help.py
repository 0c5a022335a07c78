"""Every command-line option explains itself and says its default in --help."""
from __future__ import annotations

import argparse

from ethoscout.core.cli import build_parser


def all_parsers(parser: argparse.ArgumentParser, path: str = "ethoscout"):
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from all_parsers(sub, f"{path} {name}")


def test_every_option_has_help_with_its_default():
    missing = []
    for path, parser in all_parsers(build_parser()):
        formatter = parser._get_formatter()
        for action in parser._actions:
            if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
                continue
            name = "/".join(action.option_strings) or action.dest
            text = formatter._get_help_string(action) if action.help else ""
            if not text:
                missing.append(f"{path} {name}: no help")
            elif action.option_strings and not action.required and action.nargs != 0 and "default" not in text:
                missing.append(f"{path} {name}: help does not say the default")
    assert not missing, "\n".join(missing)


def test_help_text_shows_the_value_of_a_default(capsys):
    parser = build_parser()
    try:
        parser.parse_args(["index", "--help"])
    except SystemExit:
        pass
    out = capsys.readouterr().out
    assert "(default: 4)" in out  # --batch-size
    assert out.count("default") >= 6
