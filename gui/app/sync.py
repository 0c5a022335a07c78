"""Synchronised videos: an observation filmed by several cameras is shown side by side, up to
four videos (the one in the player plus three companions), each companion with a time offset
adjustable live.

Convention: a companion's time = the player's time + its offset (s). A companion camera that
started 2 s after the main one has offset -2. The frame shown is the one on screen at that
time, from the companion's own presentation timestamps (never time × fps); outside the
companion's length nothing is shown. The grouping is remembered per main video in the project
settings (``sync``, queued with the other changes), so reopening the project shows the same views.
"""
from __future__ import annotations

from ethoscout.core.data.errors import ProjectError

from .base import SessionBase

MAX_COMPANIONS = 3
SETTING = "sync"


class SyncMixin(SessionBase):

    def companions(self, video_id: int | None = None) -> list[tuple[int, float]]:
        """[(companion video id, offset s)] of ``video_id`` (default: the one in the player)."""
        vid = self.view.video_id if video_id is None else video_id
        if self.project is None or vid is None:
            return []
        groups = self._setting(SETTING, {}) or {}
        known = {v["id"] for v in self.videos}
        return [(int(c), float(o)) for c, o in groups.get(str(vid), []) if int(c) in known]

    def set_companions(self, pairs: list[tuple[int, float]], video_id: int | None = None) -> None:
        vid = self.view.video_id if video_id is None else video_id
        if vid is None:
            raise ProjectError("synchronised videos", "show a video first")
        clean: list[tuple[int, float]] = []
        for c, offset in pairs:
            c = int(self._need_project().find_video(int(c))["id"])
            if c == vid or c in {x for x, _ in clean}:
                continue
            clean.append((c, float(offset)))
        if len(clean) > MAX_COMPANIONS:
            raise ProjectError("synchronised videos",
                               f"at most {MAX_COMPANIONS + 1} videos side by side ({len(clean) + 1} asked)")
        groups = dict(self._setting(SETTING, {}) or {})
        groups[str(vid)] = [[c, o] for c, o in clean]
        self._queue_setting(SETTING, groups, f"the synchronised-videos setting of {self.video(vid)['name']}",
                            failed=lambda: self.events.emit("sync"))  # the stored ones are shown again
        self.events.emit("sync")

    def add_companion(self, companion_id: int, offset_s: float = 0.0) -> None:
        self.set_companions([*self.companions(), (companion_id, offset_s)])

    def remove_companion(self, companion_id: int) -> None:
        self.set_companions([(c, o) for c, o in self.companions() if c != companion_id])

    def set_offset(self, companion_id: int, offset_s: float) -> None:
        self.set_companions([(c, float(offset_s) if c == companion_id else o)
                             for c, o in self.companions()])

    def companion_frame(self, companion_id: int, offset_s: float, t: float) -> int | None:
        """The companion's frame on screen at player time ``t`` (None outside its length)."""
        info = self._need_project().video_timing(companion_id)
        tc = t + offset_s
        if tc < 0 or tc >= info.duration_s:
            return None
        return info.frame_at(tc)
