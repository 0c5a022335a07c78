"""The decoder thread delivers exactly what sequential decoding delivers, bounded and stoppable."""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from ethoscout.core import pipeline
from ethoscout.core.pipeline import DecodeThread, encode_batches, sequential_batches, window_batches
from ethoscout.core.video.preprocess import Preprocessor
from ethoscout.core.video.probe import VideoError, probe_video
from ethoscout.core.video.windows import WindowSpec, make_windows


@pytest.fixture
def clip(long_clip, tiny_model):
    info = probe_video(long_clip)
    windows = make_windows(info.pts_s, info.duration_s, WindowSpec(frames=tiny_model.num_frames))
    return info, windows, Preprocessor.from_config(tiny_model.preprocessor_config)


@pytest.mark.parametrize("start", [0, 3])
def test_threaded_batches_equal_sequential_ones(clip, start):
    info, windows, pre = clip
    expected = list(sequential_batches(info, windows, pre, 2, start_window=start))
    with DecodeThread(info, windows, pre, 2, start_window=start) as got:
        got = list(got)
    assert [b.first for b in got] == [b.first for b in expected] == list(range(start, len(windows), 2))
    for g, e in zip(got, expected):
        assert g.pixels.dtype == np.float32 and np.array_equal(g.pixels, e.pixels)


def test_decoder_error_reaches_the_consumer(clip, monkeypatch):
    info, windows, pre = clip

    def failing(*a, **k):
        yield 0, np.zeros((8, 32, 32, 3), np.uint8)
        raise VideoError(info.path, "corrupt or truncated video data near frame 12")

    monkeypatch.setattr(pipeline, "iter_windows", failing)
    source = DecodeThread(info, windows, pre, 1)
    seen = []
    with pytest.raises(VideoError, match="near frame 12"):
        for b in source:
            seen.append(b.first)
    source.close()
    assert seen == [0]
    assert not source._thread.is_alive()


def test_queue_is_bounded_and_close_stops_the_decoder(clip, monkeypatch):
    info, windows, pre = clip
    produced, closed = [], threading.Event()

    def endless(*a, **k):
        try:
            i = 0
            while True:
                produced.append(i)
                yield i, np.zeros((8, 32, 32, 3), np.uint8)
                i += 1
        finally:
            closed.set()

    monkeypatch.setattr(pipeline, "iter_windows", endless)
    source = DecodeThread(info, windows, pre, 1, depth=2)
    it = iter(source)
    next(it)
    time.sleep(0.3)  # a consumer that stalls: the decoder must wait, not run ahead
    assert len(produced) <= 1 + 2 + 1  # taken + queued + one in hand
    source.close()
    assert closed.is_set() and not source._thread.is_alive()


def test_encode_batches_stops_when_cancelled(clip):
    info, windows, pre = clip
    written = []

    class Backend:
        def encode(self, x):
            return x[:, :, 0, 0, :4], x[:, 0, 0, :3, :4]

    with window_batches(info, windows, pre, 2) as batches:
        done = encode_batches(batches, Backend(), lambda f: written.append(f.first),
                              cancelled=lambda: len(written) >= 2)
    assert done is False and written == [0, 2]
    with window_batches(info, windows, pre, 2, overlap=False) as batches:
        assert encode_batches(batches, Backend(), lambda f: written.append(f.first)) is True
