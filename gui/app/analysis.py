"""Subjects and results: the subject new labels belong to, and the analyses of
``ethoscout.core.analysis`` (the same code as ``ethoscout analyse``) run on the project's I/O
thread, for the Results panel.

``view.subject_id`` is the subject that labels made in the window get (answers, bouts drawn
on the timeline, coding by key); None is "No focal subject". A state event coded by key keeps
the subject it started with.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ethoscout.core.data.errors import ProjectError
from ethoscout.core.jobs import DONE, Job

from .base import SessionBase
from .writes import PendingWrite

RESULT_KINDS = {"time budget": "time-budget", "transitions": "transitions", "agreement": "agreement"}


@dataclass
class ResultTable:
    kind: str  # a key of RESULT_KINDS
    columns: tuple[str, ...]
    rows: list[dict]
    summary: str = ""
    options: dict = field(default_factory=dict)


def compute(project, kind: str, observer: str | None = None, subject: str | None = None,
            video=None, candidate: str | None = None, interval_s: float | None = None,
            resolution_s: float = 1.0, iou: float = 0.5, by_modifier: bool = False) -> ResultTable:
    """One analysis as a table (runs anywhere: no Qt, no session)."""
    from ethoscout.core.analysis import agreement, time_budget, transitions
    from ethoscout.core.analysis.events import load_coding

    options = dict(observer=observer, subject=subject, video=video, candidate=candidate,
                   interval_s=interval_s, resolution_s=resolution_s, iou=iou, by_modifier=by_modifier)
    coding = load_coding(project, video=video, subject=subject, observer=observer)
    if kind == "time budget":
        rows = time_budget.time_budget(coding, by_modifier=by_modifier)
        return ResultTable(kind, time_budget.COLUMNS, rows,
                           f"{len(coding.events)} events, {coding.observed_s:.1f} s observed", options)
    if kind == "transitions":
        rows = [r for r in transitions.transitions(coding, interval_s) if r["count"]]
        return ResultTable(kind, transitions.COLUMNS, rows,
                           f"{sum(r['count'] for r in rows if r['scope'] == 'observation')} transitions "
                           "(pairs never seen are left out here, kept in the CSV)", options)
    if kind == "agreement":
        if candidate is None:
            raise ProjectError("agreement", "choose the observer to compare with")
        other = load_coding(project, video=video, subject=subject, observer=candidate)
        kappa = agreement.kappa_table(coding, other, resolution_s)
        bouts = agreement.bout_table(coding, other, iou)
        by_behavior = {r["behavior"]: r for r in bouts}
        rows = [{**k, **{c: by_behavior.get(k["behavior"], {}).get(c) for c in agreement.BOUT_COLUMNS[1:]}}
                for k in kappa]
        overall = kappa[0]["kappa"] if kappa else None
        return ResultTable(kind, (*agreement.KAPPA_COLUMNS, *agreement.BOUT_COLUMNS[1:]), rows,
                           "kappa " + ("undefined" if overall is None else f"{overall:.3f}"), options)
    raise ValueError(f"unknown analysis {kind!r}")


class AnalysisMixin(SessionBase):

    # ---- subjects --------------------------------------------------------------------------

    @property
    def subjects(self) -> list[dict]:
        return self.project.subjects() if self.project is not None else []

    def subject_name(self) -> str | None:
        sid = self.view.subject_id
        return None if sid is None else self._need_project().find_subject(int(sid))["name"]

    def select_subject(self, subject_id: int | None) -> None:
        if subject_id is not None:
            subject_id = self._need_project().find_subject(int(subject_id))["id"]
        self.view.subject_id = subject_id

    def add_subject(self, name: str, key: str | None = None, typed_in: str | None = None) -> PendingWrite:
        """Add a subject (queued; a stored name is selected). ``typed_in``: the field ``name``
        and ``key`` were typed in; they go back there if the add fails."""
        typed = (name, key or "")
        key = (key or "").strip() or None
        if key is not None:
            taken = self.reserved_keys().get(key.lower())
            clash = self.behavior_for_key(key)
            if taken or clash:
                raise ProjectError("subject key", f"“{key}” is already the key for "
                                                  f"“{taken or clash['name']}”")
        name = " ".join(str(name).split())
        if not name:
            raise ProjectError("subject", "a subject needs a name")

        def landed(s):
            self.events.emit("subjects")
            self.select_subject(s["id"])
            self.message("info", f"subject {s['name']}: new labels are its (Ctrl+Z undoes)")

        # queued with the other changes; it becomes the current subject when it lands
        return self._queue_write(f"add subject {name}", lambda project: project.add_subject(name, key=key),
                                 landed=landed, failed=self._give_back(typed_in, *typed))

    def subject_for_key(self, key: str) -> dict | None:
        key = (key or "").lower()
        return next((s for s in self.subjects if key and (s.get("key") or "").lower() == key), None)

    # ---- the model's coding ------------------------------------------------------------------

    def predict_coding(self, behavior_id: int, threshold: float | None = None,
                       min_duration_s: float = 1.0, max_gap_s: float = 0.5):
        """The behaviour's score curves (every video scored so far) as the coding of observer
        "model vN", to correct on the timeline and in the labels table; one undoable action."""
        from ethoscout.core.analysis.predict import VideoWindows, write_prediction_coding

        windows = [VideoWindows(vid, c.starts, c.ends, c.scores)
                   for vid, per_behavior in self.curves.items()
                   for bid, c in per_behavior.items() if bid == behavior_id and len(c.starts)]
        if not windows:
            raise ProjectError("model coding", "no score curve for this behaviour yet (index the videos "
                                               "and wait for its curves)")
        model = self.view.model
        report = write_prediction_coding(
            self._need_project(), behavior_id, windows, threshold, min_duration_s, max_gap_s,
            version=model.adapter_version if model else None, model_id=self.prefs.model)
        self.events.emit("labels")
        return report

    # ---- results ---------------------------------------------------------------------------

    def observers(self) -> list[str]:
        return self.project.annotators() if self.project is not None else []

    def compute_results(self, kind: str, on_done=None, **options) -> Job:
        """Run an analysis on the project's I/O thread; ``on_done(table or None, error)``."""
        project = self._need_project()

        def done(job: Job) -> None:
            if on_done is not None:
                on_done(job.result if job.status == DONE else None, job.error)

        return self._submit(self.scope.io, lambda ctx: compute(project, kind, **options),
                            label=f"{kind}", kind="io", on_done=done)

    def save_results(self, table: ResultTable, out: str | Path) -> Path:
        from ethoscout.core.analysis import tables

        if table.kind == "transitions":  # the file keeps every pair, zeros included
            table = compute(self._need_project(), table.kind, **table.options)
        return tables.write_rows(out, table.columns, table.rows)

    def export_ethogram(self, out: str | Path, observer: str | None = None, subject: str | None = None,
                        video=None, on_done=None) -> Job:
        """Plot the ethogram (PNG, SVG or PDF by the extension) on the project's I/O thread."""
        from ethoscout.core.analysis.ethogram import plot_ethogram
        from ethoscout.core.analysis.events import load_coding

        project = self._need_project()

        def work(ctx):
            coding = load_coding(project, video=video, subject=subject, observer=observer)
            return plot_ethogram(coding, out, title=project.folder.name)

        return self._submit(self.scope.io, work, label="ethogram", kind="io", on_done=on_done)
