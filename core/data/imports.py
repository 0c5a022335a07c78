"""Import labels from other tools into a project: all-or-nothing, one undoable action.

``import_file(project, path)`` detects the format (``.boris`` project, BORIS tabular or
aggregated export in 9.x or 7.x layout, our labels table, SRT/WebVTT/CSV narration), parses it
into neutral records, matches media files to project videos by file name and writes everything
in short transactions recorded as one undo step (``undo`` removes the whole import).

Rows that fail (unknown video, unpaired START/STOP, negative or reversed times, times past the
video's end) are collected with their line. By default any rejected row aborts the import with
``ImportRejectedError`` (nothing imported, the report attached); ``partial=True`` imports the
good rows and returns the report.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from . import boris, labels_table, narration
from .errors import DataError, ImportFormatError, ImportRejectedError
from .modifiers import ModifierError, from_boris, merge_sets
from .project import Project
from .dbfile import YIELD_S
from .oplog import now_iso
from .records import Parsed, Rejected, SubjectDef, media_name, read_table

MAX_IMPORT_BYTES = 256 * 1024 * 1024
FORMATS = ("auto", "boris", "boris-table", "labels", "narration")


@dataclass
class ImportReport:
    file: str
    format: str
    added: int = 0
    duplicates: int = 0
    behaviors_created: list[str] = field(default_factory=list)
    subjects_created: list[str] = field(default_factory=list)
    videos_added: list[str] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)

    def summary(self) -> str:
        parts = [f"{self.file}: imported {self.added} labels ({self.format})"]
        if self.duplicates:
            parts.append(f"{self.duplicates} already present")
        if self.behaviors_created:
            parts.append(f"new behaviours: {', '.join(self.behaviors_created)}")
        if self.videos_added:
            parts.append(f"videos added: {', '.join(self.videos_added)}")
        if self.rejected:
            parts.append(f"{len(self.rejected)} rows rejected")
        return "; ".join(parts)


def read_text(path: Path, max_bytes: int = MAX_IMPORT_BYTES) -> str:
    """The file as text, or a one-line error for missing, huge or binary files."""
    if not path.is_file():
        raise ImportFormatError(path, "file not found")
    size = path.stat().st_size
    if size > max_bytes:
        raise ImportFormatError(path, f"is too large to import ({size / 1e6:.0f} MB; "
                                      f"limit {max_bytes / 1e6:.0f} MB)")
    data = path.read_bytes()
    if not data.strip():
        raise ImportFormatError(path, "is empty")
    if b"\x00" in data[:65536]:
        raise ImportFormatError(path, "is a binary file, not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ImportFormatError(path, f"is not UTF-8 text (byte {e.start})") from None


def parse_file(path: str | os.PathLike, video=None, fmt: str = "auto",
               max_bytes: int = MAX_IMPORT_BYTES) -> Parsed:
    """Parse without touching a project; ``video`` names the target video for narration."""
    p = Path(path)
    if fmt not in FORMATS:
        raise ImportFormatError(p, f"unknown import format {fmt!r} (one of {', '.join(FORMATS)})")
    text = read_text(p, max_bytes)
    suffix = p.suffix.lower()
    where = str(p)
    if fmt == "boris" or (fmt == "auto" and suffix in (".boris", ".json")):
        return boris.parse_project(text, where)
    if suffix in (".srt", ".vtt") and fmt in ("auto", "narration"):
        return narration.parse_subtitles(text, where, _need_video(p, video))
    delimiter = "\t" if suffix in (".tsv", ".tab") else None
    rows = read_table(text, where, delimiter)
    if fmt == "labels" or (fmt == "auto" and labels_table.looks_like_labels_table(rows)):
        return labels_table.parse(text, where, delimiter)
    if fmt == "boris-table" or (fmt == "auto" and boris.looks_like_boris_table(rows)):
        return boris.parse_table(text, where, delimiter)
    if fmt == "narration" or (fmt == "auto" and narration.looks_like_narration_table(rows)):
        return narration.parse_table(text, where, _need_video(p, video), delimiter)
    raise ImportFormatError(p, "format not recognised (expected a .boris project, a BORIS "
                               "events export, an ethoscout labels table, or SRT/VTT/CSV narration)")


def _need_video(path: Path, video) -> str:
    if video is None:
        raise ImportFormatError(path, "narration needs a target video (--video)")
    return str(video)


def import_file(project: Project, path: str | os.PathLike, video=None, fmt: str = "auto",
                partial: bool = False, add_missing_videos: bool = False,
                progress: Callable[[int, int], None] | None = None,
                max_bytes: int = MAX_IMPORT_BYTES) -> ImportReport:
    p = Path(path)
    if video is not None:
        video = project.find_video(video)["path"]
    parsed = parse_file(p, video, fmt, max_bytes)
    return apply(project, parsed, p, partial=partial, add_missing_videos=add_missing_videos,
                 progress=progress)


IMPORT_BATCH = 500  # labels per transaction at most, and at most BATCH_SECONDS of writing:
BATCH_SECONDS = 0.05  # an answer from another process waits no longer than one batch


def apply(project: Project, parsed: Parsed, path: Path, partial: bool = False,
          add_missing_videos: bool = False,
          progress: Callable[[int, int], None] | None = None) -> ImportReport:
    """Write parsed records into ``project`` as one undoable action.

    The ethogram, subjects and videos go first, then every label is checked without holding
    the write lock, then the labels are written in short transactions of ``IMPORT_BATCH``
    grouped into one undo step (``Project.grouped_action``): other processes can record
    answers throughout, and a failed or killed import is taken back whole."""
    report = ImportReport(str(path), parsed.format, rejected=list(parsed.rejected))
    if not parsed.bouts and not parsed.behaviors and not parsed.rejected:
        raise ImportFormatError(path, "contains nothing to import")
    with project.grouped_action(f"import {path.name}") as group:
        with group.step():
            known, subjects, videos = _write_definitions(project, parsed, path, report, add_missing_videos)
        steps = 2 * len(parsed.bouts) or 1  # checking, then writing
        rows = _check_labels(project, parsed, report, known, subjects, videos,
                             progress and (lambda n: progress(n, steps)))
        report.rejected.sort(key=_line_order)
        if report.rejected and not partial:
            raise _rejected_error(path, parsed, report)  # takes the definitions back too
        done = 0
        while done < len(rows):
            with group.step() as act:
                deadline = time.monotonic() + BATCH_SECONDS
                for values in rows[done:done + IMPORT_BATCH]:
                    act.insert("labels", values)
                    done += 1
                    if time.monotonic() > deadline:  # a loaded machine: hold the lock no longer
                        break
            time.sleep(YIELD_S)  # a waiting answer takes the lock now
            if progress:
                progress(len(parsed.bouts) + done, steps)
        report.added = len(rows)
        group.description = f"import {path.name} ({report.added} labels)"
    if progress:
        progress(steps, steps)
    return report


def _write_definitions(project: Project, parsed: Parsed, path: Path, report: ImportReport,
                       add_missing_videos: bool) -> tuple[dict, dict, dict]:
    """Behaviours, subjects and videos the labels need (the group's first step)."""
    known = {b["name"].lower(): b for b in project.behaviors()}
    for b in parsed.behaviors:
        old = known.get(b.name.lower())
        if old is not None:
            merged = merge_sets(old["modifiers"], b.modifiers or [])
            if merged != old["modifiers"]:  # the file knows modifier values we lack
                known[b.name.lower()] = project.update_behavior(old["id"], modifiers=merged)
            continue
        used_keys = {x["key"] for x in project.behaviors() if x["key"]}
        known[b.name.lower()] = project.add_behavior(
            b.name, prompts=b.prompts or [b.name], kind=b.kind, description=b.description,
            key=b.key if b.key and b.key not in used_keys else None, colour=b.colour,
            modifiers=b.modifiers or [])
        report.behaviors_created.append(b.name)
    subjects = {s["name"].lower(): s["id"] for s in project.subjects()}
    declared = {s.name.lower(): s for s in parsed.subjects}
    for bout in parsed.bouts:  # a subject named only in an event is added too
        if bout.subject and bout.subject.lower() not in declared:
            declared[bout.subject.lower()] = SubjectDef(bout.subject)
    for key, s in declared.items():
        if key not in subjects:
            subjects[key] = project.add_subject(s.name, s.description, s.key)["id"]
            report.subjects_created.append(s.name)
    videos: dict[str, dict | Rejected] = {}
    for bout in parsed.bouts:
        if bout.media not in videos:
            videos[bout.media] = _match_video(project, bout.media, path, add_missing_videos, report)
    return known, subjects, videos


def _check_labels(project: Project, parsed: Parsed, report: ImportReport, known: dict,
                  subjects: dict, videos: dict, progress) -> list[dict]:
    """Rows ready to insert, each checked as ``add_label`` checks an answer; rejected and
    duplicate rows are counted in ``report``. Reads only."""
    existing = {_identity(lab) for lab in project.labels()}
    rows: list[dict] = []
    now = now_iso()
    for n, bout in enumerate(parsed.bouts):
        if progress and n % 1000 == 0:
            progress(n)
        v = videos[bout.media]
        if isinstance(v, Rejected):
            report.rejected.append(Rejected(bout.where, v.reason))
            continue
        try:
            start, end = _bout_span(project, v, bout)
            identity = (v["id"], bout.behavior.lower(), (bout.subject or "").lower(),
                        round(start, 3), round(end, 3), bout.verdict)
            if identity in existing:
                report.duplicates += 1
                continue
            chosen = bout.modifiers
            if isinstance(chosen, str):  # BORIS's positional text
                try:
                    chosen = from_boris((known.get(bout.behavior.lower()) or {}).get("modifiers", []),
                                        chosen)
                except ModifierError as e:
                    raise _RowError(str(e)) from None
            subject = subjects[bout.subject.lower()] if bout.subject else None
            values = project._label_values(v, bout.behavior, start, end, bout.verdict, bout.source,
                                           bout.score, bout.adapter_version, subject, bout.annotator,
                                           bout.comment, bout.model_id, bout.text, chosen)
            rows.append({**values, "created": now, "updated": now})
            existing.add(identity)
        except DataError as e:
            report.rejected.append(Rejected(bout.where, e.problem))
        except (_RowError, TypeError, ValueError) as e:
            report.rejected.append(Rejected(bout.where, str(e)))
    return rows


class _RowError(ValueError):
    pass


def _identity(lab: dict) -> tuple:
    return (lab["video_id"], lab["behavior"].lower(), (lab["subject"] or "").lower(),
            round(lab["start_s"], 3), round(lab["end_s"], 3), lab["verdict"])


def _bout_span(project: Project, video: dict, bout) -> tuple[float, float]:
    """Start and end for a label: a point event lasts one frame; narration cues that run past
    the last frame are cut at the video's end."""
    start, end = bout.start_s, bout.end_s
    if end is None:
        timing = project.video_timing(video)
        frame = timing.frame_at(start)
        end = timing.time_of(frame + 1) if frame + 1 < timing.frame_count else video["duration_s"]
        if end <= start:
            end = min(start + 1.0 / max(video["fps"], 1.0), video["duration_s"])
    elif bout.source == "narration" and start < video["duration_s"] < end:
        end = video["duration_s"]
    return start, end


def _match_video(project: Project, media: str, import_path: Path, add_missing: bool,
                 report: ImportReport) -> dict | Rejected:
    name = media_name(media)
    for candidate in (media, name):
        try:
            return project.find_video(candidate)
        except DataError as e:
            if "ambiguous" in e.problem:
                return Rejected("", e.problem)
    if add_missing:
        for f in (Path(media), import_path.parent / name):
            if f.is_file():
                try:
                    v = project.add_video(f)  # joins the import's action: undone with it
                except DataError as e:
                    return Rejected("", e.problem)
                report.videos_added.append(v["name"])
                return v
    return Rejected("", f"unknown video {name!r} (not in this project)")


def _line_order(r: Rejected):
    digits = "".join(c for c in r.where if c.isdigit())
    return (0, int(digits)) if r.where.startswith("line ") and digits else (1, r.where)


def _rejected_error(path: Path, parsed: Parsed, report: ImportReport) -> ImportRejectedError:
    total = len(parsed.bouts) + len(parsed.rejected)
    shown = "; ".join(str(r) for r in report.rejected[:3])
    more = f"; and {len(report.rejected) - 3} more" if len(report.rejected) > 3 else ""
    return ImportRejectedError(
        path, f"{len(report.rejected)} of {total} rows rejected, nothing imported ({shown}{more}); "
              "fix them or import the rest with --skip-bad-rows", report)
