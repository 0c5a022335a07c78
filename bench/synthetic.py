"""A camera-like 1080p30 H.264 test clip, generated once and kept in the temp folder.

Textured background, moving animals (blobs) and per-frame sensor noise: the noise keeps the
bitrate near a real camera's (~8 Mbit/s), which is what makes decoding expensive.
"""
from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np


def bench_folder() -> Path:
    folder = Path(tempfile.gettempdir()) / "ethoscout-bench"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def synthetic_1080p(seconds: int = 60, fps: int = 30, size=(1920, 1080), bitrate: int = 8_000_000,
                    folder: Path | None = None, gop_s: int = 2) -> Path:
    """``gop_s``: seconds between keyframes (cameras use 1-10 s; long GOPs make stepping back
    expensive)."""
    import av
    import cv2

    w, h = size
    path = (folder or bench_folder()) / f"synthetic_{h}p{fps}_{seconds}s_{bitrate // 1000}k_gop{gop_s}.mp4"
    if path.exists():
        return path
    rng = np.random.default_rng(0)
    background = cv2.GaussianBlur(rng.integers(40, 200, (h // 8, w // 8, 3), dtype=np.uint8), (0, 0), 2)
    background = cv2.resize(background, (w, h), interpolation=cv2.INTER_CUBIC)
    noise = [rng.integers(-6, 7, (h, w, 3), dtype=np.int16) for _ in range(7)]
    blobs = rng.uniform(0, 1, (4, 4))  # x, y, phase, speed
    tmp = path.with_suffix(".tmp.mp4")
    t0 = time.perf_counter()
    with av.open(str(tmp), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.bit_rate = bitrate
        stream.options = {"preset": "veryfast", "g": str(gop_s * fps), "sc_threshold": "0", "bf": "2", "profile": "high"}
        for i in range(seconds * fps):
            img = background.copy()
            for x, y, phase, speed in blobs:
                cx = int((x + 0.3 * np.sin(phase * 6 + i * speed * 0.05)) % 1 * w)
                cy = int((y + 0.3 * np.cos(phase * 6 + i * speed * 0.04)) % 1 * h)
                cv2.ellipse(img, (cx, cy), (90, 50), (i * 3 * speed) % 360, 0, 360, (35, 30, 25), -1)
            img = np.clip(img.astype(np.int16) + noise[i % len(noise)], 0, 255).astype(np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    tmp.replace(path)
    print(f"generated {path.name} ({path.stat().st_size / 1e6 / seconds * 8:.1f} Mbit/s) "
          f"in {time.perf_counter() - t0:.0f} s")
    return path
