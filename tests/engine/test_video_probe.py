"""Probing: timing from presentation timestamps, VFR flag, and one-line errors for bad files."""
from __future__ import annotations

import fractions

import av
import numpy as np
import pytest

from ethoscout.core.video.probe import VideoError, probe_video
from tests.conftest import shared_video


def write_vfr(path, intervals_ms):
    out = av.open(str(path), "w")
    s = out.add_stream("libx264" if "libx264" in av.codecs_available else "mpeg4", rate=30)
    s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
    ms = fractions.Fraction(1, 1000)
    s.codec_context.time_base = ms
    s.time_base = ms
    t = 0
    for i, dt in enumerate(intervals_ms):
        f = av.VideoFrame.from_ndarray(np.full((48, 64, 3), i * 4 % 256, np.uint8), format="rgb24")
        f.pts, f.time_base = t, ms
        t += dt
        for p in s.encode(f):
            out.mux(p)
    for p in s.encode():
        out.mux(p)
    out.close()
    return path


def test_synthetic_mp4_timing(video_factory):
    info = probe_video(video_factory("a.mp4", frames=45, fps=15, size=(66, 50)))
    assert info.frame_count == 45
    assert info.fps == pytest.approx(15, rel=1e-3)
    assert info.duration_s == pytest.approx(3.0, abs=1e-3)
    assert (info.width, info.height) == (66, 50)
    assert not info.vfr
    assert np.all(np.diff(info.pts_s) > 0)
    assert info.frame_at(info.pts_s[10]) == 10
    assert info.frame_at(info.pts_s[10] + 0.5 / 15) == 10


def test_avi_container(video_factory):
    info = probe_video(video_factory("a.avi", frames=30, fps=10))
    assert info.frame_count == 30 and info.codec == "mjpeg"


def test_variable_frame_rate_is_flagged(tmp_path):
    info = probe_video(write_vfr(tmp_path / "vfr.mp4", [33] * 30 + [100] * 30))
    assert info.vfr
    assert info.frame_count == 60
    # frame indices come from timestamps, not time * fps
    assert info.frame_at(3.0) == 30 + int((3.0 - 30 * 0.033) / 0.1)


def test_real_avi_and_mp4():
    avi = probe_video(shared_video("mouse_reach_grasp_dlc_8s.avi"))
    assert avi.frame_count == 256 and not avi.vfr
    mp4 = probe_video(shared_video("spider_courtship_web_tracktor_39s.mp4"))
    assert (mp4.width, mp4.height, mp4.frame_count) == (1920, 1080, 2352)
    assert mp4.fps == pytest.approx(60, rel=1e-3)


def test_fingerprint_changes_with_content(video_factory):
    a = probe_video(video_factory("a.mp4", pattern="moving"))
    b = probe_video(video_factory("b.mp4", pattern="still"))
    assert a.fingerprint != b.fingerprint
    assert probe_video(a.path).fingerprint == a.fingerprint


@pytest.mark.parametrize("content,problem", [
    (None, "file not found"),
    (b"", "not a readable video"),
    (b"this is a text file, not a video\n" * 20, "not a readable video"),
    (bytes(range(256)) * 40, "not a readable video"),
])
def test_bad_files_give_one_line_errors(tmp_path, content, problem):
    p = tmp_path / "bad.mp4"
    if content is not None:
        p.write_bytes(content)
    with pytest.raises(VideoError) as e:
        probe_video(p)
    msg = str(e.value)
    assert "\n" not in msg and str(p) in msg and problem in msg


def test_truncated_mp4_is_rejected_clearly(tmp_path, video_factory):
    src = video_factory("full.mp4", frames=60).read_bytes()
    p = tmp_path / "cut.mp4"
    p.write_bytes(src[: len(src) // 3])
    with pytest.raises(VideoError) as e:
        probe_video(p)
    assert str(p) in str(e.value)


def test_truncated_avi_keeps_the_frames_it_has(tmp_path, video_factory):
    src = video_factory("full.avi", frames=60).read_bytes()
    p = tmp_path / "cut.avi"
    p.write_bytes(src[: len(src) // 2])
    info = probe_video(p)
    assert 0 < info.frame_count < 60


@pytest.mark.parametrize("name,fourcc,problem", [("z.avi", "MJPG", "has zero frames"),
                                                  ("z.mp4", "mp4v", "contains no video stream")])
def test_zero_frames(tmp_path, name, fourcc, problem):
    import cv2

    p = tmp_path / name
    cv2.VideoWriter(str(p), cv2.VideoWriter_fourcc(*fourcc), 25, (32, 32)).release()
    with pytest.raises(VideoError, match=problem) as e:
        probe_video(p)
    assert str(p) in str(e.value)
