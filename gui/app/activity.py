"""The activity row's state: per-window motion activity of the video on screen and its still
(immobility / freezing) bouts, read from the video's store on the model service (the store's
place depends on the loaded model), never on the GUI thread."""
from __future__ import annotations

from ethoscout.core.jobs import DONE, Job
from ethoscout.core.learn.activity import activity_job

from .base import SessionBase
from .state import VideoStatus

NO_MOTION_HINT = "re-index to add motion"


class ActivityMixin(SessionBase):

    def _watch_activity(self) -> None:
        self.view.events.video_id.connect(lambda _new, _old: self.refresh_activity())
        self.events.on("index_done", lambda vid: self.refresh_activity() if vid == self.view.video_id else None)
        self.events.on("video_status", self._activity_status)

    def _activity_status(self, vid) -> None:
        """The current video became indexed (e.g. the cache status came in after opening)."""
        cur = self.view.video_id
        if self.scope is not None and cur is not None and vid in (None, cur) \
                and cur not in self.scope.activity \
                and self.video_status.get(cur, VideoStatus()).state == "indexed":
            self.refresh_activity()

    def refresh_activity(self) -> Job | None:
        """Read the current video's activity (replaces a queued request); the ``activity`` event
        (only ever from the job's callback) when ``scope.activity`` has it. A video without a
        complete store has no entry."""
        v = self.current_video
        if self.scope is None or v is None or \
                self.video_status.get(v["id"], VideoStatus()).state != "indexed":
            return None  # the row shows its hint (views render it on every video change)
        vid, fp = v["id"], v["fingerprint"]

        def done(job):
            if job.status != DONE:
                return
            if job.result is None:
                self.scope.activity.pop(vid, None)
            else:
                self.scope.activity[vid] = job.result
            self.events.emit("activity")

        return self._submit(self.service, activity_job, self.scope.folder, fp, self.prefs.spec(),
                            label="reading activity", kind="status", on_done=done, key="activity")

    def activity_hint(self, video_id: int | None) -> str:
        """What the activity row says instead of a curve ("" when it has one)."""
        if video_id is None or self.scope is None:
            return ""
        a = self.scope.activity.get(video_id)
        if a is None:
            return "index the video to see its activity"
        return "" if a.has_motion else NO_MOTION_HINT
