"""Timestamped narration and field notes (SRT, WebVTT, CSV) as weak video-text pairs.

Every cue becomes one bout of the single behaviour ``narration`` with the cue's words kept as
the label's ``text`` (and comment). One behaviour instead of one per distinct sentence keeps the
ethogram and the timeline readable, while training reads each label's own text as its prompt:
the narration-supervised fine-tuning recipe pairs each clip with its own sentence.
"""
from __future__ import annotations

import re

from .errors import ImportFormatError
from .records import BehaviorDef, Bout, Parsed, Rejected, clean, parse_seconds, read_table

NARRATION = "narration"
POINT_SPAN_S = 2.0  # a cue with only a start time covers this long
_ARROW = re.compile(r"^\s*(\S+)\s*-->\s*(\S+)")


def _behaviors() -> list[BehaviorDef]:
    return [BehaviorDef(NARRATION, "state", "timestamped narration or field notes",
                        prompts=["an animal doing what the narrator describes"])]


def _bout(where, media, start, end, text) -> Bout:
    return Bout(where, media, NARRATION, start, end, text=text, comment=text, source="narration")


def parse_subtitles(text: str, where: str, media: str) -> Parsed:
    """SRT and WebVTT: blocks of an optional id line, ``start --> end`` and text lines."""
    out = Parsed("webvtt" if text.lstrip("\ufeff").startswith("WEBVTT") else "srt", _behaviors())
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    i, cues = 0, 0
    while i < len(lines):
        m = _ARROW.match(lines[i])
        if not m:
            i += 1
            continue
        line_no = i + 1
        words = []
        i += 1
        while i < len(lines) and lines[i].strip():
            words.append(re.sub(r"<[^>]+>", "", lines[i]))  # drop VTT/SRT styling tags
            i += 1
        cues += 1
        try:
            start = parse_seconds(m.group(1), "start")
            end = parse_seconds(m.group(2), "end")
            if end <= start:
                raise ValueError(f"end {m.group(2)} is not after start {m.group(1)}")
            cue = clean(" ".join(words))
            if not cue:
                raise ValueError("cue has no text")
            out.bouts.append(_bout(f"line {line_no}", media, start, end, cue))
        except ValueError as e:
            out.rejected.append(Rejected(f"line {line_no}", str(e)))
    if not cues:
        raise ImportFormatError(where, "has no subtitle cues ('start --> end' lines)")
    return out


def looks_like_narration_table(rows: list[list[str]]) -> bool:
    header = [c.strip().lower() for c in rows[0]] if rows else []
    return "text" in header and ("time" in header or "start" in header)


def parse_table(text: str, where: str, media: str, delimiter: str | None = None) -> Parsed:
    """CSV/TSV with columns time,text or start,end,text (names case-insensitive)."""
    rows = read_table(text, where, delimiter)
    if not looks_like_narration_table(rows):
        raise ImportFormatError(where, "is not a narration table (needs columns time,text or "
                                       "start,end,text)")
    header = [c.strip().lower() for c in rows[0]]
    start_col = header.index("start") if "start" in header else header.index("time")
    end_col = header.index("end") if "end" in header else None
    text_col = header.index("text")
    out = Parsed("narration table", _behaviors())
    for n, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        where_row = f"line {n}"
        try:
            if len(row) <= max(start_col, text_col, end_col or 0):
                raise ValueError(f"has {len(row)} cells, the header {len(header)}")
            start = parse_seconds(row[start_col], "start")
            end = parse_seconds(row[end_col], "end") if end_col is not None else start + POINT_SPAN_S
            if end <= start:
                raise ValueError(f"end {row[end_col]} is not after start {row[start_col]}")
            cue = clean(row[text_col])
            if not cue:
                raise ValueError("text is empty")
            out.bouts.append(_bout(where_row, media, start, end, cue))
        except ValueError as e:
            out.rejected.append(Rejected(where_row, str(e)))
    return out
