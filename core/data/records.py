"""Neutral records that every importer's parser produces, before anything touches a project.

Parsers (``boris``, ``narration``, ``labels_csv``) turn a file into a ``Parsed``: behaviours,
subjects and bouts, plus rows they could not understand (``Rejected``). ``imports`` then
matches videos and writes everything in one undoable action.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import PureWindowsPath

from .errors import ImportFormatError

NO_FOCAL_SUBJECT = "No focal subject"
MAX_SECONDS = 1e7  # 115 days: a larger time is a typo or an attack, and overflows frame maths  # BORIS's name for "no subject"


@dataclass
class BehaviorDef:
    name: str
    kind: str = "state"  # state | point
    description: str | None = None
    key: str | None = None
    prompts: list[str] | None = None
    modifiers: list[dict] | None = None  # modifier sets, see ``modifiers``
    colour: str | None = None


@dataclass
class SubjectDef:
    name: str
    description: str | None = None
    key: str | None = None


@dataclass
class Bout:
    where: str  # "line 12" or "observation 'x' event 3": shown in reports
    media: str  # file name or path as the file wrote it
    behavior: str
    start_s: float
    end_s: float | None  # None: a point event (one frame long once imported)
    subject: str | None = None
    comment: str | None = None
    verdict: str = "accept"
    source: str = "import"
    text: str | None = None
    score: float | None = None
    adapter_version: int | None = None
    model_id: str | None = None
    annotator: str | None = None
    # A mapping set -> values, or BORIS's positional text ("m1|n2") resolved against the
    # behaviour's sets when written.
    modifiers: dict | str | None = None


@dataclass
class Rejected:
    where: str
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}"


@dataclass
class Parsed:
    format: str
    behaviors: list[BehaviorDef] = field(default_factory=list)
    subjects: list[SubjectDef] = field(default_factory=list)
    bouts: list[Bout] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)


def media_name(path_text: str) -> str:
    """File name from a path written on any system (BORIS files travel between OSes)."""
    return PureWindowsPath(str(path_text).strip()).name


def subject_or_none(text) -> str | None:
    text = (text or "").strip()
    return None if text in ("", NO_FOCAL_SUBJECT) else text


def unescape_cell(text: str) -> str:
    """Undo the CSV-injection quote our exporters add (``'=x`` was ``=x``)."""
    if len(text) > 1 and text[0] == "'" and text.lstrip("'")[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return text[1:]
    return text


def parse_seconds(text, what: str) -> float:
    """Seconds from ``12.5``, ``1:02.5`` or ``00:01:02,500``; ValueError with a reason."""
    s = str(text).strip().replace(",", ".")
    if not s or s.upper() == "NA":
        raise ValueError(f"{what} is empty")
    parts = s.split(":")
    if len(parts) > 3:
        raise ValueError(f"{what} {text!r} is not a time")
    try:
        value = 0.0
        for p in parts:
            value = value * 60 + float(p)
    except ValueError:
        raise ValueError(f"{what} {text!r} is not a time") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"{what} {text!r} is not a finite time")
    if value < 0 or s.startswith("-"):
        raise ValueError(f"{what} {text!r} is negative")
    if value > MAX_SECONDS:
        raise ValueError(f"{what} {text!r} is later than any video ({MAX_SECONDS:.0e} s)")
    return value


def read_table(text: str, where: str, delimiter: str | None = None) -> list[list[str]]:
    """Rows of a CSV/TSV text; the delimiter is guessed from the first line when not given."""
    if delimiter is None:
        first = text.split("\n", 1)[0]
        delimiter = "\t" if first.count("\t") > first.count(",") else ","
    try:
        return [[unescape_cell(c) for c in row]
                for row in csv.reader(io.StringIO(text), delimiter=delimiter, strict=True)]
    except csv.Error as e:
        raise ImportFormatError(where, f"is not a readable table ({e})") from None


_SPACES = re.compile(r"\s+")


def clean(text) -> str:
    return _SPACES.sub(" ", str(text or "")).strip()
