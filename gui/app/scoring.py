"""Scoring: behaviour curves on every indexed video, and the curve of text being typed."""
from __future__ import annotations

import numpy as np

from ethoscout.core.jobs import DONE, Job, preview_job
from ethoscout.core.learn.instant import fused_score_job

from .base import SessionBase
from .state import Curve, VideoStatus


def _curve(data, col: int) -> Curve:
    return Curve(np.asarray(data.starts, float), np.asarray(data.ends, float), np.asarray(data.scores[:, col], float))


class ScoringMixin(SessionBase):
    # progressive_query's anchors/chunk for the typed text's curve; None: its defaults (tests
    # set a few windows per step so that a short clip still shows several steps)
    preview_tuning: dict | None = None

    def _indexed_fingerprints(self) -> dict[str, int]:
        return {v["fingerprint"]: v["id"] for v in self.videos
                if self.video_status.get(v["id"], VideoStatus()).state == "indexed"}

    def refresh_scores(self) -> Job | None:
        """Score every behaviour on every indexed video (replaces a queued request): the text
        prior fused with a head refit from the behaviour's labels (the prior alone until it
        has accepted and rejected clips)."""
        if self.scope is None or not self.behaviors or not self._indexed_fingerprints():
            return None
        queries = {b["id"]: b["prompts"] or [b["name"]] for b in self.behaviors}

        def done(job):
            if job.status != DONE:
                return
            fps = {v["fingerprint"]: v["id"] for v in self.videos}
            for fp, data in job.result.items():
                vid = fps.get(fp)
                if vid is None:
                    continue
                per = self.curves.setdefault(vid, {})
                parts = self.scope.components.setdefault(vid, {})
                for col, bid in enumerate(data.keys):
                    per[bid] = _curve(data, col)
                    parts[bid] = {name: Curve(per[bid].starts, per[bid].ends, np.asarray(c[:, col], float))
                                  for name, c in getattr(data, "components", {}).items()}
            self.events.emit("curves")
            self.refresh_suggestions()

        return self._submit(self.service, fused_score_job, str(self.scope.folder), queries, self.prefs.spec(),
                            label="scoring behaviours", kind="score", on_done=done, key="score")

    def show_components(self, on: bool) -> None:
        """Show (or hide) the selected behaviour's fused-score components on its row."""
        self.view.components = bool(on)

    def components_of(self, video_id: int | None, behavior_id: int | None) -> dict:
        """{component name: Curve} of a behaviour's fused score on a video ({} if none)."""
        if self.scope is None or video_id is None or behavior_id is None:
            return {}
        return self.scope.components.get(video_id, {}).get(behavior_id, {})

    def set_preview(self, text: str) -> Job | None:
        """Score typed text on the current video (the caller debounces keystrokes). The curve
        shows at once approximately (the visible range refined first) and is refined in place
        until exact; a newer text cancels this one, whose late steps are then dropped."""
        self.preview_text = text
        text = " ".join(text.split())
        seq = self._supersede_preview()
        v = self.current_video
        if not text or self.scope is None or v is None or \
                self.video_status.get(v["id"], VideoStatus()).state != "indexed":
            if self.preview:
                self.preview.clear()
            self.events.emit("preview")
            return None
        vid = v["id"]

        def show(data, exact: bool) -> None:
            # only the latest request's steps, and only while its text is still the one typed
            if data is None or seq != self._preview_seq or self.preview_text.split() != text.split():
                return
            self.preview.clear()
            self.preview[vid] = _curve(data, 0)
            self.preview_exact = exact
            self.events.emit("preview")

        def step(job, p):  # the last step is the exact curve; warm-up steps carry none
            done = getattr(p, "exact", None)
            show(getattr(p, "curve", None), done is not None and bool(done.all()))

        return self._submit(self.service, preview_job, self.scope.folder, text, v["fingerprint"],
                            self.prefs.spec(), self.view.visible, **(self.preview_tuning or {}),
                            label="scoring typed text", kind="preview", on_progress=step, key="preview")

    def _supersede_preview(self) -> int:
        """Stop the typed-text requests made so far (queued or running) and return the number
        of the next one: curves of older requests are no longer shown."""
        self._preview_seq += 1
        self.service.cancel_where(lambda job: job.key == "preview")
        return self._preview_seq

    def clear_preview(self) -> None:
        self.preview_text = ""
        self._supersede_preview()
        if self.preview:
            self.preview.clear()
        self.events.emit("preview")
