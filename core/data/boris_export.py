"""Write a project as a BORIS project file (``.boris``, JSON) that BORIS opens and our importer
reads back to the same ethogram, subjects, modifiers and labels.

One MEDIA observation per video (id: the file stem), its events in BORIS's form
``[time, subject, behaviour code, modifiers, comment, frame index]``: a state bout is a START
and a STOP event with the same subject and modifiers, a point bout one event. Only events are
written (accepted and manual labels, or one observer's coding); rejections are ours.
Text prompts and colours, which BORIS has no place for, ride along under the top-level key
``"ethoscout"`` (BORIS ignores keys it doesn't know).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from .export import coding
from .fileio import atomic_write_text
from .modifiers import sets_to_boris_conf, to_boris
from .oplog import now_iso
from .project import Project

BORIS_FORMAT_VERSION = "7.0"
_DIGITS = 6  # times as written; the importer reads them back to the microsecond


def _observation(v: dict, labels: list[dict], behaviors: dict, observer: str | None) -> dict:
    events = []
    for lab in labels:
        b = behaviors[lab["behavior_id"]]
        mods = to_boris(b["modifiers"], lab["modifiers"])
        subject = lab["subject"] or ""
        comment = lab["comment"] or ""
        start = round(lab["start_s"], _DIGITS)
        if b["kind"] == "point":
            events.append((start, 1, [start, subject, b["name"], mods, comment, lab["start_frame"]]))
            continue
        end = round(lab["end_s"], _DIGITS)
        events.append((start, 1, [start, subject, b["name"], mods, comment, lab["start_frame"]]))
        # A STOP sorts before a START at the same instant, so back-to-back bouts pair right.
        events.append((end, 0, [end, subject, b["name"], mods, "", lab["end_frame"]]))
    events.sort(key=lambda e: (e[0], e[1]))
    obs = {
        "file": {"1": [v["path"]], **{str(i): [] for i in range(2, 9)}},
        "type": "MEDIA",
        "date": v["added"][:19],
        "description": "",
        "time offset": 0.0,
        "events": [e[2] for e in events],
        "observation time interval": [0, 0],
        "independent_variables": {},
        "visualize_spectrogram": False,
        "visualize_waveform": False,
        "close_behaviors_between_videos": False,
        "media_info": {"length": {v["path"]: v["duration_s"]}, "fps": {v["path"]: v["fps"]},
                       "hasVideo": {v["path"]: True}, "hasAudio": {v["path"]: False},
                       "offset": {"1": 0.0}},
    }
    if observer is not None:
        obs["observer"] = observer
    return obs


def boris_project(project: Project, video=None, observer: str | None = None) -> dict:
    behaviors = {b["id"]: b for b in project.behaviors()}
    by_video: dict[int, list[dict]] = {}
    for lab in coding(project, video, observer):
        by_video.setdefault(lab["video_id"], []).append(lab)
    videos = [project.find_video(video)] if video is not None else project.videos()
    observations: dict[str, dict] = {}
    for v in videos:
        obs_id = Path(v["name"]).stem
        n = 2
        while obs_id in observations:  # two videos with one stem in different folders
            obs_id = f"{Path(v['name']).stem} ({n})"
            n += 1
        observations[obs_id] = _observation(v, by_video.get(v["id"], []), behaviors, observer)
    return {
        "time_format": "s",
        "project_name": project.folder.name,
        "project_date": now_iso()[:19],
        "project_description": "",
        "project_format_version": BORIS_FORMAT_VERSION,
        "subjects_conf": {str(i): {"key": s["key"] or "", "name": s["name"],
                                   "description": s["description"] or ""}
                          for i, s in enumerate(project.subjects())},
        "behaviors_conf": {str(i): {
            "type": "Point event" if b["kind"] == "point" else "State event",
            "key": b["key"] or "", "code": b["name"], "description": b["description"] or "",
            "category": "", "modifiers": sets_to_boris_conf(b["modifiers"]), "excluded": "",
            "coding map": ""} for i, b in enumerate(behaviors.values())},
        "behavioral_categories": [],
        "independent_variables": {},
        "coding_map": {},
        "behaviors_coding_map": [],
        "converters": {},
        "observations": observations,
        "ethoscout": {"behaviors": {b["name"]: {"prompts": b["prompts"], "colour": b["colour"]}
                                    for b in behaviors.values()}},
    }


def export_boris_project(project: Project, out: str | os.PathLike, video=None,
                         observer: str | None = None) -> Path:
    """Write ``out`` (a ``.boris`` file) atomically."""
    return atomic_write_text(out, json.dumps(boris_project(project, video, observer), indent=1))
