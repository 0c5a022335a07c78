"""Sequential decoding of exactly the frames a set of windows needs.

The indexing path never seeks: packets are decoded once, in order (frame threading on), and
only sampled frames are converted, resized and cropped, right away, so memory holds at most the
frames of windows still waiting for a later frame.

Decoding less, exactly: a packet whose frame no window samples is sent to the decoder with
``skip_frame = NONREF``, so a non-reference frame (most B-frames) is never reconstructed, while
reference frames, which later frames need, still are. That needs every frame placed by its own
timestamp, which MP4/MOV/Matroska give; other containers (AVI hands out decode-order stamps)
decode every frame. ``loop_filter=False`` (a window-spec option with its own cache key, off by
default) also skips H.264/HEVC deblocking: frames shrunk to 224 px hardly differ, but they do.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import av
import numpy as np

from .probe import VideoError, VideoInfo, open_container, prime_decoder
from .windows import Windows

FrameFn = Callable[[np.ndarray], np.ndarray]


def _counted(frames, stats: DecodeStats):
    for frame in frames:
        stats.frames += 1
        yield frame


def index_frames(frames, info: VideoInfo, start_pts: int, tb: float) -> Iterator[tuple[int, object]]:
    """Pair decoded frames with their frame index.

    The first frame after opening or seeking is placed by its timestamp; later ones by
    counting, because some containers (AVI with B-frames) hand out decode-order timestamps
    while the decoder returns frames in presentation order.
    """
    i = None
    for frame in frames:
        if i is None:
            i = info.frame_at((frame.pts - start_pts) * tb) if frame.pts is not None else 0
        else:
            i += 1
        yield i, frame


# Decoder threads for indexing (frame + slice threading); 0: FFmpeg's choice, one per core plus
# one. Inference runs beside it (core/model/runtime.inference_threads); bench/decode_bench.py
# --threads measures the pair on a real video.
DECODE_THREADS = 0
PTS_EXACT_FORMATS = ("mp4", "mov", "matroska")  # demuxers whose packets carry presentation stamps


@dataclass
class DecodeStats:
    frames: int = 0  # frames the decoder returned (skipped ones never come out)


def frames_by_pts(container, info: VideoInfo, wanted: Callable[[int], bool], start_pts: int, tb: float,
                  stats: DecodeStats | None = None) -> Iterator[tuple[int, object]]:
    """(index, frame) placed by timestamp (PTS_EXACT_FORMATS only); packets of frames not
    ``wanted(index)`` go in with skip_frame NONREF (reconstructed only if later frames need them)."""
    stream = container.streams.video[0]
    ctx = stream.codec_context
    i = -1
    for packet in container.demux(stream):
        if packet.pts is not None and packet.size:
            ctx.skip_frame = "DEFAULT" if wanted(info.frame_at((packet.pts - start_pts) * tb)) else "NONREF"
        for frame in packet.decode():
            if stats is not None:
                stats.frames += 1
            i = info.frame_at((frame.pts - start_pts) * tb) if frame.pts is not None else i + 1
            yield i, frame


def pts_exact(container) -> bool:
    return any(f in container.format.name for f in PTS_EXACT_FORMATS)


def iter_frames(info: VideoInfo, wanted: np.ndarray, transform: FrameFn, first: int = 0,
                skip_unwanted: bool = True, loop_filter: bool = True,
                stats: DecodeStats | None = None) -> Iterator[tuple[int, np.ndarray]]:
    """Yield (frame index, transform(rgb)) for each index in sorted ``wanted`` >= ``first``.

    Seeks once (to the keyframe before ``first``) when resuming, then decodes sequentially.
    ``skip_unwanted``: leave out non-reference frames not wanted (same frames, less work).
    """
    wanted = wanted[wanted >= first]
    if len(wanted) == 0:
        return
    want = set(int(i) for i in wanted)
    last_wanted = int(wanted[-1])
    stats = stats if stats is not None else DecodeStats()
    container = open_container(info.path)
    try:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        stream.codec_context.thread_count = DECODE_THREADS
        if not loop_filter:
            stream.codec_context.options = {"skip_loop_filter": "all"}
        tb = float(stream.time_base)
        start_pts = stream.start_time or 0
        if first > 0:
            prime_decoder(container, stream)
            target = int(round(info.time_of(int(wanted[0])) / tb)) + start_pts
            container.seek(target, stream=stream, backward=True, any_frame=False)
        if skip_unwanted and pts_exact(container):
            frames = frames_by_pts(container, info, want.__contains__, start_pts, tb, stats)
        else:
            frames = index_frames(_counted(container.decode(stream), stats), info, start_pts, tb)
        i = -1
        try:
            for i, frame in frames:
                if i in want:
                    want.discard(i)
                    yield i, transform(frame.to_ndarray(format="rgb24"))
                if i >= last_wanted or not want:
                    break
        except av.error.FFmpegError as e:
            raise VideoError(info.path, f"corrupt or truncated video data near frame {i + 1} "
                                        f"({str(e).splitlines()[0]})") from None
    finally:
        container.close()


def iter_windows(info: VideoInfo, windows: Windows, transform: FrameFn, start_window: int = 0,
                 skip_unwanted: bool = True) -> Iterator[tuple[int, np.ndarray]]:
    """Yield (window index, stacked frames (T, ...)) in order, from ``start_window`` on.

    Frames the file fails to deliver at its very end (a cut-off last GOP) are replaced by the
    nearest frame decoded before them, so every window is produced.
    """
    n = len(windows)
    if start_window >= n:
        return
    wanted = np.unique(windows.frames[start_window:])
    kept: dict[int, np.ndarray] = {}
    w = start_window

    def ready(wi: int, have_upto: int) -> bool:
        return int(windows.frames[wi].max()) <= have_upto

    def emit(wi: int) -> np.ndarray:
        out = []
        for f in windows.frames[wi]:
            f = int(f)
            if f not in kept:  # missing at the end of a damaged file
                f = max((k for k in kept if k <= f), default=min(kept))
            out.append(kept[f])
        return np.stack(out)

    upto = -1
    for i, arr in iter_frames(info, wanted, transform, first=int(wanted[0]), skip_unwanted=skip_unwanted,
                              loop_filter=windows.loop_filter):
        kept[i] = arr
        upto = i
        while w < n and ready(w, upto):
            yield w, emit(w)
            w += 1
            lowest = int(windows.frames[w].min()) if w < n else upto + 1
            for k in [k for k in kept if k < lowest]:
                del kept[k]
    if w < n and not kept:
        raise VideoError(info.path, "no frame could be decoded")
    while w < n:
        yield w, emit(w)
        w += 1
