"""A coding as the analyses see it: events (bouts and points) of one observer, or of everyone's
accepted and manual labels, with the time each video was observed.

Observed time is the length of every video the coding covers (a video with at least one event
of this coding, or the one video asked for): an uncoded video is not observation time.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..data.errors import ProjectError
from ..data.export import coding as coding_labels
from ..data.modifiers import format_text
from ..data.project import Project
from ..data.records import NO_FOCAL_SUBJECT


@dataclass(frozen=True)
class Event:
    video: str
    subject: str  # NO_FOCAL_SUBJECT when the label has none
    behavior: str
    start: float
    end: float  # == start for a point event
    kind: str = "state"  # state | point
    modifiers: str = ""  # "set=value; set=value,value" ("" when none chosen)

    @property
    def duration(self) -> float:
        return 0.0 if self.kind == "point" else self.end - self.start


@dataclass
class Coding:
    events: list[Event]
    observed: dict[str, float]  # video -> seconds observed
    behaviors: list[str] = field(default_factory=list)  # ethogram order
    colours: dict[str, str] = field(default_factory=dict)
    observer: str | None = None

    @property
    def observed_s(self) -> float:
        return float(sum(self.observed.values()))

    def subjects(self) -> list[str]:
        return sorted({e.subject for e in self.events}, key=lambda s: (s != NO_FOCAL_SUBJECT, s))

    def videos(self) -> list[str]:
        return list(self.observed)


def load_coding(project: Project, video=None, subject: str | None = None,
                observer: str | None = None) -> Coding:
    """Events of ``observer`` (None: everyone's accepted and manual labels; "" the labels
    without an annotator; "model v2" the model's coding), optionally of one video and subject
    ("No focal subject" for events without one)."""
    behaviors = project.behaviors()
    kinds = {b["id"]: b["kind"] for b in behaviors}
    if subject is not None and subject != NO_FOCAL_SUBJECT:
        subject = project.find_subject(subject)["name"]
    if observer is not None and observer not in project.annotators():
        known = ", ".join(repr(a) for a in project.annotators()) or "none"
        raise ProjectError(project.path, f"no observer {observer!r} in this project (observers: {known})")
    events, observed = [], {}
    if video is not None:
        v = project.find_video(video)
        observed[v["name"]] = v["duration_s"]
    durations = {v["id"]: (v["name"], v["duration_s"]) for v in project.videos()}
    for lab in coding_labels(project, video, observer):
        name, duration = durations[lab["video_id"]]
        observed[name] = duration
        who = lab["subject"] or NO_FOCAL_SUBJECT
        if subject is not None and who != subject:
            continue
        kind = kinds[lab["behavior_id"]]
        events.append(Event(name, who, lab["behavior"], lab["start_s"],
                            lab["start_s"] if kind == "point" else lab["end_s"], kind,
                            format_text(lab["modifiers"])))
    events.sort(key=lambda e: (e.video, e.start, e.behavior))
    return Coding(events, observed, [b["name"] for b in behaviors],
                  {b["name"]: b["colour"] or "#808080" for b in behaviors}, observer)
