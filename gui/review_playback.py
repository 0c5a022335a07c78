"""The player as a view of the app's state: it shows ``view.video_id`` and loops ``view.clip``.

Nothing here decides what is on screen; the session's view state does. Seeks the user makes
(timeline clicks, label double-clicks, frame keys while a clip loops) end the review through
the session, so A and R can never answer a clip that is not playing.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject

from .app import Session
from .player import Player
from .video_view import VideoView


class ReviewPlayback(QObject):
    def __init__(self, session: Session, player: Player, video_view: VideoView, parent=None):
        super().__init__(parent)
        self.session = session
        self.player = player
        self.video_view = video_view
        self.loaded: int | None = None  # the video the player holds
        ev = session.view.events
        ev.video_id.connect(self._video_changed)
        ev.clip.connect(self._clip_changed)
        player.positionChanged.connect(self._position)

    def disconnect_all(self) -> None:
        ev = self.session.view.events
        ev.video_id.disconnect(self._video_changed)
        ev.clip.disconnect(self._clip_changed)

    def _video_changed(self, vid, _old=None) -> None:
        self.load(vid)

    def load(self, vid) -> None:
        s = self.session
        self.loaded = vid
        self.player.set_loop(None)
        if vid is None or s.project is None:
            self.player.set_video(None)
            if s.project is not None:
                self.video_view.clear("Drop video files here, or File → Add videos (Ctrl+I)")
            return
        v = s.video(vid)
        info = s.project.video_timing(vid)
        self.video_view.rotation = v.get("rotation") or 0
        if Path(v["path"]).exists():
            self.player.set_video(info)
        else:
            self.player.set_video(None)
            self.player.info = info  # timing still known: the timeline and labels keep working
            self.video_view.clear(f"{v['path']}\nfile not found (moved, or the drive is not mounted)")

    def _clip_changed(self, clip, _old=None) -> None:
        if clip is None:
            self.player.set_loop(None)
            return
        if clip.video_id != self.loaded:  # the session shows the clip's video first; be safe
            self.load(clip.video_id)
        self.player.set_loop(clip.start_s, clip.end_s, play=True)

    def seek(self, t: float, video_id: int | None = None) -> None:
        """A seek by the user: the review (if any) ends, the playhead moves there."""
        s = self.session
        s.stop_review()
        if video_id is not None and video_id != s.view.video_id:
            s.show_video(video_id)
        self.player.seek_time(t)

    def _position(self, _index: int, t: float) -> None:
        self.session.follow(t)
