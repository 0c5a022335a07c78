"""Our own labels table (CSV/TSV): the lossless export, and its reader for round trips.

Columns (one row per label, accepted, rejected and manual alike):
id, video, video_path, behavior, subject, start_s, end_s, start_frame, end_frame, verdict,
source, score, model_id, adapter_version, annotator, comment, text, created, updated.
Times are written with full precision so a re-import gives the same floats.
"""
from __future__ import annotations

from .errors import ImportFormatError
from .records import BehaviorDef, Bout, Parsed, Rejected, SubjectDef, clean, parse_seconds, read_table

LABEL_COLUMNS = ("id", "video", "video_path", "behavior", "subject", "start_s", "end_s",
                 "start_frame", "end_frame", "verdict", "source", "score", "model_id",
                 "adapter_version", "annotator", "comment", "text", "created", "updated")
REQUIRED = ("video", "behavior", "start_s", "end_s", "verdict")


def label_rows(labels: list[dict]):
    for lab in labels:
        yield [lab.get(c) for c in LABEL_COLUMNS]


def looks_like_labels_table(rows: list[list[str]]) -> bool:
    return bool(rows) and set(REQUIRED) <= {c.strip() for c in rows[0]}


def parse(text: str, where: str, delimiter: str | None = None) -> Parsed:
    rows = read_table(text, where, delimiter)
    if not looks_like_labels_table(rows):
        raise ImportFormatError(where, "is not an ethoscout labels table (needs columns "
                                       + ", ".join(REQUIRED) + ")")
    header = [c.strip() for c in rows[0]]
    out = Parsed("labels")
    behaviors: dict[str, None] = {}
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
            behaviors[name] = None
            if subject:
                subjects[subject] = None
            out.bouts.append(Bout(
                where_row, row.get("video_path") or row["video"], name, start, end, subject,
                row.get("comment") or None, verdict=row["verdict"].strip(),
                source=(row.get("source") or "import").strip(), text=row.get("text") or None,
                score=float(score) if score else None,
                adapter_version=int(version) if version else None,
                model_id=row.get("model_id") or None, annotator=row.get("annotator") or None))
        except (ValueError, KeyError) as e:
            out.rejected.append(Rejected(where_row, str(e)))
    out.behaviors = [BehaviorDef(b) for b in behaviors]
    out.subjects = [SubjectDef(s) for s in subjects]
    return out
