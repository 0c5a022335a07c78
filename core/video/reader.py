"""Frame-accurate random access by index or by time, exact by presentation timestamp.

For display and tests, not for indexing (see decode.py). Stepping forward decodes on from the
current position; any other jump seeks to the keyframe before the target and decodes forward
to the exact frame. Frames before ``skip_before`` that no later frame refers to are not even
reconstructed (MP4/MOV/Matroska, where every frame carries its own timestamp): a jump far into
a long GOP decodes a third to half fewer frames, the same ones exactly.
"""
from __future__ import annotations

import av
import numpy as np

from .decode import frames_by_pts, index_frames, pts_exact
from .probe import VideoError, VideoInfo, open_container, prime_decoder, probe_video

# Decoding forward this many frames is cheaper than a seek plus a GOP's worth of decoding.
FORWARD_LIMIT = 48


class FrameReader:
    def __init__(self, info_or_path: VideoInfo | str):
        self.info = info_or_path if isinstance(info_or_path, VideoInfo) else probe_video(info_or_path)
        self._container = open_container(self.info.path)
        self._stream = self._container.streams.video[0]
        self._stream.thread_type = "SLICE"  # frame threading delays the first frame after a seek
        self._tb = float(self._stream.time_base)
        self._start = self._stream.start_time or 0
        self._frames = None  # decoder generator
        self._pos = -1  # index of the last frame decoded
        self._primed = False
        self._by_pts = pts_exact(self._container)
        self.skip_before = -1  # frames before this index: non-reference ones are skipped
        self.decoded = 0  # frames the decoder returned

    def close(self) -> None:
        self._container.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def read_at(self, t: float) -> tuple[int, np.ndarray]:
        """The frame on screen at time t (seconds): (index, HxWx3 RGB uint8)."""
        i = self.info.frame_at(t)
        return i, self.read(i)

    def check_index(self, index: int) -> None:
        if not 0 <= index < self.info.frame_count:
            raise VideoError(self.info.path, f"frame {index} is outside 0..{self.info.frame_count - 1}")

    def read(self, index: int) -> np.ndarray:
        self.check_index(index)
        if not self.can_decode_forward_to(index):
            self.seek(index)
        return self.convert(self.decode_to(index))

    @property
    def position(self) -> int:
        """Index of the last frame decoded (-1 right after a seek or before any read)."""
        return self._pos

    def can_decode_forward_to(self, index: int, limit: int = FORWARD_LIMIT) -> bool:
        """True when decoding on from the current position reaches ``index`` within ``limit``
        frames (cheaper than a seek)."""
        return self._frames is not None and self._pos < index <= self._pos + limit

    def decode_to(self, index: int, on_passed=None, abort=None):
        """Decode forward to frame ``index`` and return it (a PyAV frame). ``on_passed(i, frame)``
        sees each frame decoded before it; ``abort()`` returning True stops early (None)."""
        try:
            while True:
                if abort is not None and abort():
                    return None
                i, frame = next(self._frames)
                self.decoded += 1
                self._pos = i
                if i >= index:
                    return frame
                if on_passed is not None:
                    on_passed(i, frame)
        except StopIteration:
            self._frames = None
            raise VideoError(self.info.path, f"frame {index} could not be decoded (file ends early)") from None
        except av.error.FFmpegError as e:
            self._frames = None
            raise VideoError(self.info.path, f"corrupt data near frame {index} ({str(e).splitlines()[0]})") from None

    def convert(self, frame) -> np.ndarray:
        """A decoded frame as HxWx3 RGB uint8 (subclasses may scale it)."""
        return frame.to_ndarray(format="rgb24")

    def seek(self, index: int) -> None:
        """Position the decoder at the keyframe before ``index``."""
        if not self._primed:
            prime_decoder(self._container, self._stream)
            self._primed = True
        target = int(round(self.info.time_of(index) / self._tb)) + self._start
        self._container.seek(target, stream=self._stream, backward=True, any_frame=False)
        if self._by_pts:
            self._frames = frames_by_pts(self._container, self.info, lambda i: i >= self.skip_before,
                                         self._start, self._tb)
        else:  # decode-order timestamps (AVI): placed by counting, so every frame decoded
            self._frames = index_frames(self._container.decode(self._stream), self.info, self._start, self._tb)
        self._pos = -1
