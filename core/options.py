"""Command-line values checked at the boundary, before any work or any write.

Each helper returns an argparse ``type=`` callable that turns the text into a value or refuses
it with the allowed range, so every command shares one wording and nothing starts on a value
that would make it allocate without end, divide by zero or save a useless result:

    p.add_argument("--stride", type=number(0.05, 3600, unit="s"), ...)
    p.add_argument("--batch-size", type=integer(1, 1024), ...)

``OneLineParser`` prints argparse's refusal as one line, ``ethoscout: error: argument
--stride: ...``, and exits 2 (the usage text stays behind ``--help``).
"""
from __future__ import annotations

import argparse
import math
import re

from .errors import EthoscoutError


class OneLineParser(argparse.ArgumentParser):
    """argparse without the usage block before an error: one line on stderr, exit status 2."""

    def error(self, message: str):
        self.exit(2, f"{self.prog.split()[0]}: error: {' '.join(message.split())}\n")


def _range_text(lo, hi, unit: str, lo_open: bool) -> str:
    u = f" {unit}" if unit else ""
    low = f"above {lo:g}" if lo_open else f"from {lo:g}"
    return f"{low}{u} to {hi:g}{u}" if hi is not None else f"{'above' if lo_open else 'at least'} {lo:g}{u}"


def number(lo: float, hi: float | None = None, *, unit: str = "", lo_open: bool = False):
    """A finite float in [lo, hi] (or (lo, hi] with ``lo_open``)."""
    allowed = _range_text(lo, hi, unit, lo_open)

    def parse(text: str) -> float:
        try:
            x = float(text)
        except ValueError:
            x = math.nan
        if not math.isfinite(x) or (x <= lo if lo_open else x < lo) or (hi is not None and x > hi):
            raise argparse.ArgumentTypeError(f"must be a number {allowed} (got {text!r})")
        return x

    parse.__name__ = "number"
    parse.lo, parse.hi = lo, hi  # so dialogs can bound their fields with the same range
    return parse


def integer(lo: int, hi: int | None = None, *, unit: str = ""):
    """A whole number in [lo, hi]."""
    allowed = _range_text(lo, hi, unit, False)

    def parse(text: str) -> int:
        try:
            x = int(text.strip())
        except ValueError:
            x = None
        if x is None or x < lo or (hi is not None and x > hi):
            raise argparse.ArgumentTypeError(f"must be a whole number {allowed} (got {text!r})")
        return x

    parse.__name__ = "integer"
    parse.lo, parse.hi = lo, hi
    return parse


_DEVICE = re.compile(r"^(auto|cpu|mps|cuda(:\d{1,2})?)$")


def device(text: str) -> str:
    """auto, cpu, mps, cuda or cuda:N."""
    value = text.strip().lower()
    if not _DEVICE.match(value):
        raise argparse.ArgumentTypeError(f"must be auto, cpu, cuda, cuda:N or mps (got {text!r})")
    return value


def text(what: str = "text", max_len: int = 1000):
    """Non-empty single-line text of bounded length (names, queries)."""
    def parse(value: str) -> str:
        clean = " ".join(value.split())
        if not clean:
            raise argparse.ArgumentTypeError(f"{what} is empty")
        if len(clean) > max_len:
            raise argparse.ArgumentTypeError(f"{what} is longer than {max_len} characters")
        return clean

    parse.__name__ = what
    return parse


class OptionError(EthoscoutError):
    """A value refused once the project or the model is known (``--frames`` against the
    checkpoint, ``--versions`` against the adapters): the CLI exits 2, as for argparse's own."""

    def __init__(self, option: str, problem: str):
        self.option = option
        super().__init__(f"{option}: {' '.join(problem.split())}")


# Ranges shared by commands that take the same option.
SPAN = number(0.1, 600, unit="s")
STRIDE = number(0.05, 3600, unit="s")
FRAMES = integer(0, 64)  # 0: the checkpoint's own count
BATCH = integer(1, 1024)
SEED = integer(0, 2**32 - 1)
COUNT = integer(1, 100_000)
TIME = number(0, 1e7, unit="s")
EPOCHS = integer(1, 100_000)
BEHAVIOUR_NAME = text("behaviour name", 200)

__all__ = ["OneLineParser", "number", "integer", "device", "text", "OptionError",
           "SPAN", "STRIDE", "FRAMES", "BATCH", "SEED", "COUNT", "TIME", "EPOCHS",
           "BEHAVIOUR_NAME"]
