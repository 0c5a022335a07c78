"""Our own labels table (CSV/TSV): the lossless export, and its reader for round trips.

Columns (one row per label, accepted, rejected and manual alike):
id, video, video_path, behavior, subject, start_s, end_s, start_frame, end_frame, verdict,
source, score, model_id, adapter_version, annotator, comment, text, modifiers, created, updated.
Times are written with full precision so a re-import gives the same floats. Modifiers are
written ``set=value; set=value,value`` (see ``modifiers``).
"""
from __future__ import annotations

from .errors import ImportFormatError
from .modifiers import format_text, parse_text
from .records import BehaviorDef, Bout, Parsed, Rejected, SubjectDef, clean, parse_seconds, read_table

LABEL_COLUMNS = ("id", "video", "video_path", "behavior", "subject", "start_s", "end_s",
                 "start_frame", "end_frame", "verdict", "source", "score", "model_id",
                 "adapter_version", "annotator", "comment", "text", "modifiers", "created", "updated")
REQUIRED = ("video", "behavior", "start_s", "end_s", "verdict")


def label_rows(labels: list[dict]):
    for lab in labels:
        row = dict(lab, modifiers=format_text(lab.get("modifiers") or {}))
        yield [row.get(c) for c in LABEL_COLUMNS]


def looks_like_labels_table(rows: list[list[str]]) -> bool:
    return bool(rows) and set(REQUIRED) <= {c.strip() for c in rows[0]}


def parse(text: str, where: str, delimiter: str | None = None) -> Parsed:
    rows = read_table(text, where, delimiter)
    if not looks_like_labels_table(rows):
        raise ImportFormatError(where, "is not an ethoscout labels table (needs columns "
                                       + ", ".join(REQUIRED) + ")")
    header = [c.strip() for c in rows[0]]
    out = Parsed("labels")
    behaviors: dict[str, dict[str, dict]] = {}  # behaviour -> set -> {values, multiple}
    subjects: dict[str, None] = {}
    for n, raw in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in raw):
            continue
        where_row = f"line {n}"
        try:
            if len(raw) != len(header):
                raise ValueError(f"has {len(raw)} cells, the header {len(header)}")
            row = dict(zip(header, raw))
            name = clean(row["behavior"])
            if not name:
                raise ValueError("behaviour is empty")
            start = parse_seconds(row["start_s"], "start")
            end = parse_seconds(row["end_s"], "end")
            if end <= start:
                raise ValueError(f"end {row['end_s']} is not after start {row['start_s']}")
            subject = clean(row.get("subject")) or None
            score = row.get("score", "").strip()
            version = row.get("adapter_version", "").strip()
            chosen = parse_text(row.get("modifiers", ""))
            sets = behaviors.setdefault(name, {})
            for set_name, values in chosen.items():
                seen = sets.setdefault(set_name, {"values": {}, "multiple": False})
                seen["values"].update(dict.fromkeys(values))
                seen["multiple"] |= len(values) > 1
            if subject:
                subjects[subject] = None
            out.bouts.append(Bout(
                where_row, row.get("video_path") or row["video"], name, start, end, subject,
                row.get("comment") or None, verdict=row["verdict"].strip(),
                source=(row.get("source") or "import").strip(), text=row.get("text") or None,
                score=float(score) if score else None,
                adapter_version=int(version) if version else None,
                model_id=row.get("model_id") or None, annotator=row.get("annotator") or None,
                modifiers=chosen))
        except (ValueError, KeyError) as e:  # ModifierError included
            out.rejected.append(Rejected(where_row, str(e)))
    # The table holds choices, not definitions: the sets are what was chosen.
    out.behaviors = [BehaviorDef(b, modifiers=[
        {"name": k, "kind": "multiple" if v["multiple"] else "single", "values": list(v["values"])}
        for k, v in sets.items()]) for b, sets in behaviors.items()]
    out.subjects = [SubjectDef(s) for s in subjects]
    return out
