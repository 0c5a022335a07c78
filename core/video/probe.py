"""Probe a video container: timing, size, rotation and a content fingerprint.

Presentation timestamps come from demuxing packets (no decoding), so probing an hour of
footage takes seconds. Frame indices everywhere in ethoscout are positions in the sorted
PTS list, never ``time * fps``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import av
import numpy as np

from ..errors import EthoscoutError
from ..fingerprint import fingerprint_file


class VideoError(EthoscoutError):
    """A video that can't be used; the message is one line naming the file and the problem."""

    def __init__(self, path: str | os.PathLike, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


@dataclass(frozen=True, eq=False)
class VideoInfo:
    path: str
    fingerprint: str
    frame_count: int
    fps: float  # average rate: frame_count / duration
    duration_s: float
    width: int
    height: int
    codec: str
    rotation: int  # degrees clockwise the picture must be turned for display
    vfr: bool  # variable frame rate: frame intervals differ by more than rounding
    pts_s: np.ndarray = field(repr=False)  # presentation time of every frame, sorted

    @property
    def name(self) -> str:
        return Path(self.path).name

    def frame_at(self, t: float) -> int:
        """Index of the frame on screen at time ``t`` (the last one starting at or before it)."""
        i = int(np.searchsorted(self.pts_s, t + 1e-6, side="right")) - 1
        return min(max(i, 0), self.frame_count - 1)

    def time_of(self, index: int) -> float:
        return float(self.pts_s[index])


def open_container(path: str | os.PathLike):
    """Open a file with PyAV, turning every failure into a one-line VideoError."""
    p = Path(path)
    if not p.exists():
        raise VideoError(p, "file not found")
    if p.is_dir():
        raise VideoError(p, "is a folder, not a video file")
    try:
        container = av.open(str(p))
    except av.error.FFmpegError as e:
        raise VideoError(p, f"not a readable video ({_reason(e)})") from None
    if not container.streams.video:
        container.close()
        raise VideoError(p, "contains no video stream")
    return container


def prime_decoder(container, stream) -> None:
    """Decode the file's first frame before any seek. Some encoders state their version in
    the first frame only (x264's SEI), and FFmpeg picks its workarounds for that version from
    it: a decoder that starts at a later keyframe without it can decode garbage. Here, next to
    open_container, because every reader that seeks needs it (decoding, display, clip export)."""
    try:
        next(container.decode(stream), None)
    except av.error.FFmpegError:
        pass  # a damaged start: the seek after it is still the best we can do


def _reason(e: Exception) -> str:
    return (getattr(e, "strerror", None) or str(e)).strip().splitlines()[0]


def _rotation(stream) -> int:
    rot = stream.metadata.get("rotate") if stream.metadata else None
    if rot is not None:
        try:
            return int(float(rot)) % 360
        except ValueError:
            return 0
    # Newer FFmpeg keeps rotation as a display matrix in side data.
    for sd in getattr(stream, "side_data", {}) or {}:
        if "DISPLAYMATRIX" in str(sd).upper():
            try:
                return int(round(-float(stream.side_data[sd]))) % 360
            except (TypeError, ValueError):
                return 0
    return 0


def probe_video(path: str | os.PathLike) -> VideoInfo:
    p = Path(path)
    container = open_container(p)
    try:
        stream = container.streams.video[0]
        tb = float(stream.time_base)
        pts = []
        try:
            for packet in container.demux(stream):
                if packet.pts is not None and packet.size > 0:
                    pts.append(packet.pts)
        except av.error.FFmpegError as e:
            if not pts:
                raise VideoError(p, f"corrupt video data ({_reason(e)})") from None
            # A truncated tail: keep the frames we could read.
        if not pts:
            raise VideoError(p, "has zero frames")
        start = stream.start_time if stream.start_time is not None else min(pts)
        pts_s = (np.unique(np.asarray(pts, dtype=np.int64)) - start) * tb
        n = len(pts_s)
        if n > 1:
            deltas = np.diff(pts_s)
            median = float(np.median(deltas))
            last = median
            # Rounding of a constant rate to the time base gives jitter of one tick.
            vfr = bool(np.ptp(deltas) > max(2.5 * tb, 0.02 * median))
        else:
            last = 1.0 / float(stream.average_rate or 25)
            vfr = False
        duration = float(pts_s[-1] + last)
        ctx = stream.codec_context
        return VideoInfo(
            path=str(p.resolve()),
            fingerprint=fingerprint_file(p),
            frame_count=n,
            fps=n / duration if duration > 0 else float(stream.average_rate or 0),
            duration_s=duration,
            width=int(ctx.width),
            height=int(ctx.height),
            codec=str(ctx.name),
            rotation=_rotation(stream),
            vfr=vfr,
            pts_s=pts_s.astype(np.float64),
        )
    finally:
        container.close()
