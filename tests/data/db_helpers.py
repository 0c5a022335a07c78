"""Helpers for the project-database tests: small real videos, the shared BORIS files."""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from ethoscout.core.data.project import Project

from ..conftest import SHARED
BORIS_DIR = SHARED / "data" / "boris"


def needs_boris_files():
    return pytest.mark.skipif(not BORIS_DIR.is_dir(),
                              reason=f"real BORIS files not found at {BORIS_DIR}")


def write_video(path: Path, frames: int, fps: float = 25.0, size=(64, 48)) -> Path:
    """A constant-rate MPEG-4 video whose frames differ (so clips have content)."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    frame = np.zeros((size[1], size[0], 3), np.uint8)
    for i in range(frames):
        frame[:] = (i * 7) % 255
        writer.write(frame)
    writer.release()
    return path


def write_vfr_video(path: Path, times_s: list[float]) -> Path:
    """A variable-frame-rate video: one frame at each of ``times_s`` (ms time base)."""
    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.time_base = Fraction(1, 1000)
        for i, t in enumerate(times_s):
            img = np.full((48, 64, 3), (i * 9) % 255, np.uint8)
            frame = av.VideoFrame.from_ndarray(img, format="rgb24").reformat(format="yuv420p")
            frame.pts = int(round(t * 1000))
            frame.time_base = stream.time_base
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def label_set(project: Project, digits: int = 6) -> list[tuple]:
    """Labels as comparable tuples (ids and timestamps left out)."""
    return sorted((lab["video"], lab["behavior"], lab["subject"] or "", round(lab["start_s"], digits),
                   round(lab["end_s"], digits), lab["verdict"]) for lab in project.labels())
