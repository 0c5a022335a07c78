"""Decoding less, next to today's decoding in the same run.

For each clip: decode-only time of every window's frames (decode, resize/crop) when every frame
is decoded (today), when unwanted non-reference frames are skipped (exact, the default now), and
with the loop filter off as well (the inexact ``loop_filter=False`` window-spec option); then, for
that option, how far the cached features and the scores move (base-sized random X-CLIP).

    python bench/decode_bench.py [--repeat 3] [--feature-windows 6]
    python bench/decode_bench.py --threads [--repeat 2]   # decoder vs model threads, real video
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    __package__ = "bench"

from bench.index_bench import REAL_VIDEO, bench_model, table  # noqa: E402
from bench.synthetic import synthetic_1080p  # noqa: E402

MODES = {"every frame (today)": dict(skip_unwanted=False),
         "skip unwanted non-ref (exact)": dict(),
         "+ no loop filter (option)": dict(loop_filter=False)}


def decode_times(info, windows, pre, repeat: int) -> dict[str, float]:
    from dataclasses import replace

    from ethoscout.core.video.decode import iter_windows

    times: dict[str, list[float]] = {m: [] for m in MODES}
    for _ in range(repeat):
        for mode, kw in MODES.items():
            w = replace(windows, loop_filter=kw.get("loop_filter", True))
            t = time.perf_counter()
            for _ in iter_windows(info, w, pre.resize_crop, skip_unwanted=kw.get("skip_unwanted", True)):
                pass
            times[mode].append(time.perf_counter() - t)
    return {m: float(np.median(v)) for m, v in times.items()}


def feature_drift(loaded, info, windows, pre, n: int) -> dict:
    """Cosine of cached features (exact vs no loop filter) and score differences, n windows."""
    from dataclasses import replace

    import torch

    from ethoscout.core.model.features import encode_windows, text_embeds, video_embeds
    from ethoscout.core.model.scoring import cosine_scores
    from ethoscout.core.video.decode import iter_windows

    pick = np.linspace(0, len(windows) - 1, n).round().astype(int)
    sub = replace(windows, starts=windows.starts[pick], ends=windows.ends[pick], frames=windows.frames[pick])
    out = {}
    for name, lf in (("exact", True), ("nolf", False)):
        frames = np.stack([f for _, f in iter_windows(info, replace(sub, loop_filter=lf), pre.resize_crop)])
        with torch.inference_mode():
            out[name] = encode_windows(loaded.model, torch.from_numpy(pre.normalize(frames)))
    cos = lambda a, b: torch.nn.functional.cosine_similarity(a.flatten(1), b.flatten(1)).numpy()  # noqa: E731
    with torch.inference_mode():
        text = text_embeds(loaded.model, loaded.tokenizer, ["a mouse rearing", "a mouse grooming", "walking"])
        scores = {k: cosine_scores(loaded.model, video_embeds(loaded.model, v[0]), text, v[1]).numpy()
                  for k, v in out.items()}
    return {"frame_cls_cos_min": float(cos(out["exact"][0], out["nolf"][0]).min()),
            "img_features_cos_min": float(cos(out["exact"][1], out["nolf"][1]).min()),
            "score_max_diff": float(np.abs(scores["exact"] - scores["nolf"]).max()), "windows": n}


THREADS_VIDEO = REAL_VIDEO.parent / "spider_courtship_web_tracktor_39s.mp4"  # real 1080p60
THREAD_SETTINGS = ((0, None), (2, None), (1, None), (0, 2), (1, 2))  # (decoder, ORT); 0/None: defaults


def thread_settings(loaded, path: Path, repeat: int) -> list[list]:
    """Index time of ``path`` (ort-int8, the CPU default) by decoder threads x ORT intra-op
    threads, medians of ``repeat`` interleaved rounds; the first row is today's default."""
    import os
    import tempfile

    from ethoscout.core.engine import index_video
    from ethoscout.core.model.runtime import inference_threads, make_vision_backend
    from ethoscout.core.video import decode
    from ethoscout.core.video.probe import probe_video
    from ethoscout.core.video.windows import WindowSpec

    info = probe_video(path)
    spec = WindowSpec(frames=loaded.num_frames)
    backends = {t: make_vision_backend(loaded, "ort-int8", threads=t) for t in {t for _, t in THREAD_SETTINGS}}
    times: dict[tuple, list[float]] = {s: [] for s in THREAD_SETTINGS}
    default = decode.DECODE_THREADS
    try:
        for _ in range(repeat):
            for dec, ort in THREAD_SETTINGS:
                decode.DECODE_THREADS = dec
                with tempfile.TemporaryDirectory(prefix="ethoscout-bench-") as project:
                    t = time.perf_counter()
                    result = index_video(project, path, loaded, spec, backends[ort], info=info)
                    times[(dec, ort)].append(time.perf_counter() - t)
                assert result.status == "indexed", result
                print(f"  decoder {dec or 'auto'} x ORT {ort or inference_threads()}: {times[(dec, ort)][-1]:.1f} s "
                      f"(load {os.getloadavg()[0]:.1f})", flush=True)
    finally:
        decode.DECODE_THREADS = default
    base = float(np.median(times[THREAD_SETTINGS[0]]))
    return [[info.name, dec or "auto (cores+1)", ort or f"{inference_threads()} (default)", float(np.median(v)),
             base / float(np.median(v))] for (dec, ort), v in times.items()]


def main(argv=None) -> int:
    from ethoscout.core.video.preprocess import Preprocessor
    from ethoscout.core.video.probe import probe_video
    from ethoscout.core.video.windows import WindowSpec, make_windows

    p = argparse.ArgumentParser(prog="python bench/decode_bench.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--seconds", type=int, default=20)
    p.add_argument("--gop", type=int, default=10, help="seconds between keyframes of the generated clip")
    p.add_argument("--feature-windows", type=int, default=6, help="0: skip the feature comparison")
    p.add_argument("--threads", action="store_true",
                   help="only: index time of a real 1080p video by decoder threads x model threads")
    args = p.parse_args(argv)
    loaded = bench_model(None)
    if args.threads:
        if not THREADS_VIDEO.exists():
            print(f"{THREADS_VIDEO}: not available (shared videos absent)")
            return 1
        rows = thread_settings(loaded, THREADS_VIDEO, args.repeat)
        print(f"\n## index time (ort-int8) by decoder x model threads, medians of {args.repeat} interleaved rounds")
        print(table(["clip", "decoder threads", "ORT threads", "index s", "speed-up"], rows))
        return 0
    pre = Preprocessor.from_config(loaded.preprocessor_config)
    clips = [synthetic_1080p(args.seconds, gop_s=args.gop)] + ([REAL_VIDEO] if REAL_VIDEO.exists() else [])
    rows, drift = [], []
    for clip in clips:
        info = probe_video(clip)
        windows = make_windows(info.pts_s, info.duration_s, WindowSpec(frames=loaded.num_frames))
        t = decode_times(info, windows, pre, args.repeat)
        base = t["every frame (today)"]
        rows += [[info.name, m, s, s * 3600 / info.duration_s, base / s] for m, s in t.items()]
        print(table(["clip", "decoding", "s", "s per hour", "speed-up"], rows[-len(t):]), flush=True)
        if args.feature_windows:
            drift.append([info.name, *feature_drift(loaded, info, windows, pre, args.feature_windows).values()])
            print(table(["clip", "frame_cls cos min", "img_features cos min", "score max |diff|", "windows"],
                        drift[-1:]), flush=True)
    print("\n## decode-only, medians of", args.repeat, "interleaved rounds")
    print(table(["clip", "decoding", "s", "s per hour", "speed-up"], rows))
    if drift:
        print("\n## loop filter off: features and scores vs exact decoding (random base X-CLIP)")
        print(table(["clip", "frame_cls cos min", "img_features cos min", "score max |diff|", "windows"], drift))
    return 0


if __name__ == "__main__":
    sys.exit(main())
