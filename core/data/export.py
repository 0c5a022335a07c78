"""Exports that other tools read unchanged.

- ``labels``: our own lossless table (see ``labels_table``), every verdict.
- ``boris-aggregated``: BORIS 9.x "aggregated events", one row per bout.
- ``boris-tabular``: BORIS 9.x "tabular events", one row per START / STOP / POINT.
- ``boris``: a BORIS project file (``boris_export``): ethogram, subjects, modifiers, events.
- ``binary``: one row per video frame, one 0/1 column per behaviour (BORIS "binary table";
  SimBA and A-SOiD read this layout).
- ``write_window_scores``: per-window model scores, called by the engine.

Only accepted and manual labels are events in BORIS and binary exports: rejections are our
negatives for training, not observations. Tables are TSV or CSV by the output's extension,
cells that a spreadsheet would evaluate are quoted, and every file is written to a temporary
name and renamed into place.
"""
from __future__ import annotations

import os
import re
from collections import defaultdict
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from .errors import ExportError
from .fileio import fmt_time, write_table
from .labels_table import LABEL_COLUMNS, label_rows
from .modifiers import to_boris
from .project import Project
from .records import NO_FOCAL_SUBJECT

FORMATS = ("labels", "boris-aggregated", "boris-tabular", "boris", "binary", "clips")
EVENT_VERDICTS = ("accept", "manual")

AGGREGATED_COLUMNS = (
    "Observation id", "Observation date", "Description", "Observation type", "Source",
    "Time offset (s)", "Coding duration", "Media duration (s)", "FPS (frame/s)", "Subject",
    "Observation duration by subject by observation", "Behavior", "Behavioral category",
    "Modifiers", "Behavior type", "Start (s)", "Stop (s)", "Duration (s)", "Media file name",
    "Image index start", "Image index stop", "Image file path start", "Image file path stop",
    "Comment start", "Comment stop")

TABULAR_COLUMNS = (
    "Observation id", "Observation date", "Description", "Observation duration",
    "Observation type", "Source", "Time offset (s)", "Media duration (s)", "FPS", "Subject",
    "Behavior", "Behavioral category", "Modifiers", "Behavior type", "Time", "Media file name",
    "Image index", "Image file path", "Comment")


def export_labels(project: Project, out: str | os.PathLike, video=None, behavior=None,
                  verdict=None) -> Path:
    labels = project.labels(video=video, behavior=behavior, verdict=verdict)
    return write_table(out, LABEL_COLUMNS, label_rows(labels))


def coding(project: Project, video=None, observer: str | None = None) -> list[dict]:
    """The events of a coding: accepted and manual labels of every observer, or, with
    ``observer`` (an annotator name, "" for labels without one), that observer's events
    including the model's bouts not yet reviewed."""
    if observer is None:
        return project.labels(video=video, verdict=list(EVENT_VERDICTS))
    return project.labels(video=video, verdict=[*EVENT_VERDICTS, "predicted"], annotator=observer)


def _observations(project: Project, video, observer: str | None = None
                  ) -> dict[int, tuple[dict, list[dict]]]:
    """Events grouped per video: one BORIS observation per video. Each label gets its
    behaviour's ``kind`` and its modifiers in BORIS's text (``boris_modifiers``)."""
    behaviors = {b["id"]: b for b in project.behaviors()}
    groups: dict[int, tuple[dict, list[dict]]] = {}
    for lab in coding(project, video, observer):
        b = behaviors[lab["behavior_id"]]
        lab["kind"] = b["kind"]
        lab["boris_modifiers"] = to_boris(b["modifiers"], lab["modifiers"])
        if lab["video_id"] not in groups:
            groups[lab["video_id"]] = (project.video(lab["video_id"]), [])
        groups[lab["video_id"]][1].append(lab)
    return groups


def _observation_id(v: dict) -> str:
    return Path(v["name"]).stem


def _obs_date(v: dict) -> str:
    return v["added"][:19].replace("T", " ")


def _coding_duration(labels: list[dict]) -> str:
    return fmt_time(max(x["end_s"] for x in labels) - min(x["start_s"] for x in labels))


def _subject(lab: dict) -> str:
    return lab["subject"] or NO_FOCAL_SUBJECT


def aggregated_rows(project: Project, video=None, observer: str | None = None) -> list[list]:
    rows = []
    for v, labels in _observations(project, video, observer).values():
        by_subject = defaultdict(float)
        for lab in labels:
            if lab["kind"] == "state":
                by_subject[_subject(lab)] += lab["end_s"] - lab["start_s"]
        labels = sorted(labels, key=lambda x: (_subject(x), x["behavior"], x["start_s"], x["id"]))
        coded = _coding_duration(labels)  # once per observation: per row made exports quadratic
        obs_id, obs_date = _observation_id(v), _obs_date(v)
        for lab in labels:
            point = lab["kind"] == "point"
            stop = lab["start_s"] if point else lab["end_s"]
            rows.append([
                obs_id, obs_date, "", "Media file", f"player #1:{v['name']}",
                "0.000", coded, fmt_time(v["duration_s"]), fmt_time(v["fps"]),
                _subject(lab), fmt_time(by_subject[_subject(lab)]), lab["behavior"],
                "Not defined", lab["boris_modifiers"], "POINT" if point else "STATE", fmt_time(lab["start_s"]),
                fmt_time(stop), "NA" if point else fmt_time(stop - lab["start_s"]), v["name"],
                lab["start_frame"], lab["start_frame"] if point else lab["end_frame"], "NA", "NA",
                lab["comment"] or "", ""])
    return rows


def tabular_rows(project: Project, video=None, observer: str | None = None) -> list[list]:
    rows = []
    for v, labels in _observations(project, video, observer).values():
        events = []
        for lab in labels:
            if lab["kind"] == "point":
                events.append((lab["start_s"], 1, "POINT", lab["start_frame"], lab))
            else:
                events.append((lab["start_s"], 1, "START", lab["start_frame"], lab))
                # STOP sorts before a START at the same time, as BORIS writes them.
                events.append((lab["end_s"], 0, "STOP", lab["end_frame"], lab))
        events.sort(key=lambda e: (e[0], e[1], e[4]["id"]))
        # The observation's own cells once: per row they cost more than the events.
        head = [_observation_id(v), _obs_date(v), "", _coding_duration(labels), "Media file(s)",
                f"player #1:{v['name']}", "0.000", fmt_time(v["duration_s"]), fmt_time(v["fps"])]
        for t, _order, status, frame, lab in events:
            rows.append([
                *head, _subject(lab), lab["behavior"], "", lab["boris_modifiers"], status, fmt_time(t),
                v["name"], frame, "NA",
                (lab["comment"] or "") if status != "STOP" else ""])
    return rows


def export_boris_aggregated(project: Project, out: str | os.PathLike, video=None,
                            observer: str | None = None) -> Path:
    return write_table(out, AGGREGATED_COLUMNS, aggregated_rows(project, video, observer))


def export_boris_tabular(project: Project, out: str | os.PathLike, video=None,
                         observer: str | None = None) -> Path:
    return write_table(out, TABULAR_COLUMNS, tabular_rows(project, video, observer))


def binary_table(project: Project, video) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(behaviour names, frame times, 0/1 matrix frames x behaviours) for one video: a frame
    is 1 when an accepted or manual label of that behaviour covers it."""
    v = project.find_video(video)
    timing = project.video_timing(v)
    behaviors = project.behaviors()
    column = {b["id"]: k for k, b in enumerate(behaviors)}
    table = np.zeros((timing.frame_count, len(behaviors)), dtype=np.uint8)
    for lab in project.labels(video=v["id"], verdict=list(EVENT_VERDICTS)):
        table[lab["start_frame"]: lab["end_frame"] + 1, column[lab["behavior_id"]]] = 1
    return [b["name"] for b in behaviors], timing.pts_s, table


def export_binary(project: Project, out: str | os.PathLike, video=None) -> list[Path]:
    """One table per video. ``out`` is a .csv/.tsv file when one video is exported, otherwise a
    folder that receives ``<video stem>.csv`` per video."""
    out = Path(out)
    videos = [project.find_video(video)] if video is not None else project.videos()
    if not videos:
        raise ExportError(out, "the project has no videos")
    single_file = out.suffix.lower() in (".csv", ".tsv", ".txt")
    if single_file and len(videos) > 1:
        raise ExportError(out, f"{len(videos)} videos need a folder, not one file "
                               "(or choose one with --video)")
    if not single_file:
        out.mkdir(parents=True, exist_ok=True)
    written = []
    stems = [Path(v["name"]).stem for v in videos]
    for v, stem in zip(videos, stems):
        names, times, table = binary_table(project, v)
        if stems.count(stem) > 1:  # a.mp4 and a.avi, or two a.mp4 in different folders
            stem = f"{stem}_{v['id']}"
        target = out if single_file else out / f"{stem}.csv"
        rows = ([i, f"{t:.3f}", *map(int, row)] for i, (t, row) in enumerate(zip(times, table)))
        written.append(write_table(target, ["frame", "time", *names], rows))
    return written


def window_score_rows(video_name: str, start_s: Sequence[float], end_s: Sequence[float], scores,
                      queries: Sequence[str], window_index: Sequence[int] | None = None,
                      path: str | os.PathLike = "scores") -> Iterator[list]:
    """Rows of the per-window scores table for one video (columns: SCORE_COLUMNS + queries).
    ``scores`` is (windows, queries)."""
    starts = np.asarray(start_s, dtype=np.float64).reshape(-1)
    ends = np.asarray(end_s, dtype=np.float64).reshape(-1)
    s = np.asarray(scores, dtype=np.float64)
    n = len(starts)
    if s.ndim == 1 and len(queries) == 1:
        s = s.reshape(-1, 1)
    if len(ends) != n or s.shape != (n, len(queries)):
        raise ExportError(path, f"scores shape {s.shape} does not match {n} windows x "
                                f"{len(queries)} queries (ends: {len(ends)})")
    index = np.arange(n) if window_index is None else np.asarray(window_index).reshape(-1)
    if len(index) != n:
        raise ExportError(path, f"{len(index)} window indices for {n} windows")
    return ([video_name, int(i), f"{a:.3f}", f"{b:.3f}", *(f"{x:.6g}" for x in row)]
            for i, a, b, row in zip(index, starts, ends, s))


SCORE_COLUMNS = ["video", "window", "start_s", "end_s"]


def write_window_scores(path: str | os.PathLike, video_name: str, start_s: Sequence[float],
                        end_s: Sequence[float], scores, queries: Sequence[str],
                        window_index: Sequence[int] | None = None) -> Path:
    """Per-window scores of one video: columns video, window, start_s, end_s, then one per query."""
    rows = window_score_rows(video_name, start_s, end_s, scores, queries, window_index, path)
    return write_table(path, [*SCORE_COLUMNS, *queries], rows)


def export(project: Project, fmt: str, out: str | os.PathLike, video=None,
           observer: str | None = None, **options):
    """Dispatch by format name (the CLI's ``--format``). ``observer`` picks one coding (an
    annotator, e.g. "model v3") for the BORIS formats and the labels table."""
    if fmt == "labels":
        return (export_labels(project, out, video=video) if observer is None else
                write_table(out, LABEL_COLUMNS, label_rows(coding(project, video, observer))))
    if fmt == "boris-aggregated":
        return export_boris_aggregated(project, out, video=video, observer=observer)
    if fmt == "boris-tabular":
        return export_boris_tabular(project, out, video=video, observer=observer)
    if fmt == "boris":
        from .boris_export import export_boris_project
        return export_boris_project(project, out, video=video, observer=observer)
    if fmt == "binary":
        return export_binary(project, out, video=video)
    if fmt == "clips":
        from .clips import export_clips
        return export_clips(project, out, video=video, **options)
    raise ExportError(out, f"unknown export format {fmt!r} (one of {', '.join(FORMATS)})")


_SLUG = re.compile(r"[^A-Za-z0-9]+")


def slug(text: str) -> str:
    return _SLUG.sub("-", text).strip("-").lower() or "x"
