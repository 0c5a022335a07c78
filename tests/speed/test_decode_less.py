"""Decoding less: skipping unwanted non-reference frames gives the very same frames; skipping
the loop filter is an inexact option of its own."""
from __future__ import annotations

import numpy as np
import pytest

from ethoscout.core.video.decode import DecodeStats, iter_frames, iter_windows
from ethoscout.core.video.probe import probe_video
from ethoscout.core.video.windows import WindowSpec, make_windows


def write_bframes_clip(path, frames=90, size=(160, 96), fps=15):
    """H.264 with B-frames (most of them non-reference) and textured, moving content."""
    import av

    rng = np.random.default_rng(0)
    background = rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    with av.open(str(path), "w") as out:
        st = out.add_stream("libx264", rate=fps, options={
            "x264-params": "keyint=30:min-keyint=30:scenecut=0:bframes=3:b-pyramid=none"})
        st.width, st.height, st.pix_fmt = size[0], size[1], "yuv420p"
        for i in range(frames):
            img = np.roll(background, 3 * i, axis=1)
            img[:, (i * 5) % size[0]] = 255
            for pkt in st.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(pkt)
        for pkt in st.encode():
            out.mux(pkt)
    return path


def frames_of(info, wanted, **kw):
    stats = DecodeStats()
    got = dict(iter_frames(info, wanted, lambda x: x, stats=stats, **kw))
    return got, stats.frames


@pytest.mark.parametrize("first", [0, 37])
def test_skipping_unwanted_frames_gives_the_same_frames(tmp_path, first):
    info = probe_video(write_bframes_clip(tmp_path / "b.mp4"))
    wanted = np.array([1, 2, 9, 13, 14, 40, 41, 47, 62, 75, 88])
    exact, decoded_all = frames_of(info, wanted, first=first, skip_unwanted=False)
    fast, decoded_fewer = frames_of(info, wanted, first=first)
    assert sorted(fast) == sorted(exact) == [int(i) for i in wanted if i >= first]
    for i in exact:
        np.testing.assert_array_equal(fast[i], exact[i])
    assert decoded_fewer < decoded_all  # non-reference B-frames were never decoded


def test_windows_come_out_the_same_when_frames_are_skipped(tmp_path):
    info = probe_video(write_bframes_clip(tmp_path / "b.mp4", frames=120))
    windows = make_windows(info.pts_s, info.duration_s, WindowSpec(frames=4))
    fast = list(iter_windows(info, windows, lambda x: x))
    exact = list(iter_windows(info, windows, lambda x: x, skip_unwanted=False))
    assert [w for w, _ in fast] == [w for w, _ in exact] == list(range(len(windows)))
    for (_, a), (_, b) in zip(fast, exact):
        np.testing.assert_array_equal(a, b)


def test_loop_filter_is_a_spec_option_with_its_own_cache_key():
    exact, rough = WindowSpec(), WindowSpec(loop_filter=False)
    assert exact.key() == "s2_t1_f8_sparse" and rough.key() != exact.key()
    assert WindowSpec(**rough.to_dict()) == rough


def test_loop_filter_off_is_close_but_not_the_same(tmp_path):
    info = probe_video(write_bframes_clip(tmp_path / "b.mp4"))
    wanted = np.arange(0, 90, 7)
    exact, _ = frames_of(info, wanted)
    rough, _ = frames_of(info, wanted, loop_filter=False)
    diffs = [np.abs(rough[i].astype(int) - exact[i].astype(int)).mean() for i in exact]
    assert max(diffs) > 0  # the option does something
    assert np.mean(diffs) < 8  # and frames stay recognisably the same
