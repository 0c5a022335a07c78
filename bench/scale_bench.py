"""Indexing throughput, local vs Ray on this machine (1 and 2 embedding actors), and Ray's
overhead; per-actor throughput is what docs/scale.md extrapolates from.

    python bench/scale_bench.py                 # base-sized random X-CLIP, two real videos
    python bench/scale_bench.py --model tiny    # the test model: decode-bound, shows overhead only

Every run indexes the same videos into a fresh project with the same runtime and batch size, in
one process, one after another (the baseline is measured in the same run). Wall-clock time
includes everything: for Ray, starting worker processes, shipping the model and loading it in
each actor (a fixed cost per run), then the stream. "- local s" is that difference: the fixed
part stays the same however long the archive, so the overhead in percent is only meaningful
for runs much longer than it. (Rows come back to the driver in bursts, so a rate between the
first and the last row says nothing on a short run: it is not reported.)
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make ``bench`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    __package__ = "bench"

from bench.index_bench import TOKENIZER, bench_model, machine  # noqa: E402

SHARED_VIDEOS = Path(__file__).resolve().parents[2] / "shared" / "data" / "videos"
VIDEOS = ("mice_triplet_mabe_amadeus_60s.mp4", "cockatoo_closeup_imageio_14s.mp4")


def timed(run) -> dict:
    t0 = time.perf_counter()
    results = run()
    wall = time.perf_counter() - t0
    assert all(r.status == "indexed" for r in results), [r.message for r in results]
    windows = sum(len(r.store) for r in results)
    return {"windows": windows, "wall_s": round(wall, 2), "win_s": round(windows / wall, 3)}


def local_index(folder: Path, videos, loaded, args) -> dict:
    from ethoscout.core.engine import index_videos

    return timed(lambda: index_videos(folder, videos, model=loaded, runtime=args.runtime,
                                      batch_size=args.batch_size))


def ray_index(folder: Path, videos, loaded, args, workers: int, threads: int) -> dict:
    from ethoscout.core.scale.ray_index import index_videos_ray

    return timed(lambda: index_videos_ray(folder, videos, model=loaded, runtime=args.runtime,
                                          batch_size=args.batch_size, workers=workers, threads=threads,
                                          segment_windows=args.segment_windows))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="base", help="base (random, base-sized), tiny, or an X-CLIP folder")
    p.add_argument("--runtime", default="torch", help="the runtime for every run (default torch)")
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--segment-windows", type=int, default=8)
    p.add_argument("--cpus", type=int, default=3, help="logical CPUs of the private Ray (default 3: two "
                                                        "1-thread actors plus one decoder fit)")
    p.add_argument("--videos", default=",".join(VIDEOS), help="comma-separated names in ../shared/data/videos")
    p.add_argument("--json", default=None, help="also write the results here")
    args = p.parse_args(argv)

    import ray

    from ethoscout.core.model.loading import load_xclip
    from ethoscout.core.model.random_init import build_random_xclip
    from ethoscout.core.model.runtime import cpu_count
    from ethoscout.core.scale.ray_index import connect

    videos = [str(SHARED_VIDEOS / n) for n in args.videos.split(",") if (SHARED_VIDEOS / n).exists()]
    if not videos:
        print(f"no videos in {SHARED_VIDEOS}", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="scale-bench-") as tmp:
        tmp = Path(tmp)
        if args.model == "base":
            loaded = bench_model(None)
        elif args.model == "tiny":
            loaded = load_xclip(build_random_xclip(tmp / "tiny", "tiny", TOKENIZER if TOKENIZER.exists() else None),
                                device="cpu")
        else:
            loaded = load_xclip(args.model, device="cpu")
        cores = cpu_count()
        rows = {"local (all cores)": local_index(tmp / "local", videos, loaded, args)}
        t = time.perf_counter()
        connect(None, num_cpus=args.cpus)
        start_s = time.perf_counter() - t
        rows[f"ray 1 actor x {cores} threads"] = ray_index(tmp / "r1c", videos, loaded, args, 1, cores)
        rows["ray 1 actor x 1 thread"] = ray_index(tmp / "r1", videos, loaded, args, 1, 1)
        rows["ray 2 actors x 1 thread"] = ray_index(tmp / "r2", videos, loaded, args, 2, 1)
        ray.shutdown()
    base = rows["local (all cores)"]
    print(f"# scale bench: {machine()}; model {args.model}, runtime {args.runtime}, batch {args.batch_size}, "
          f"segments of {args.segment_windows} windows; Ray private, {args.cpus} logical CPUs, start {start_s:.1f} s")
    print(f"{'run':28} {'windows':>7} {'wall s':>8} {'windows/s':>9} {'- local s':>9} {'vs local':>8}")
    for name, r in rows.items():
        extra = r["wall_s"] - base["wall_s"]
        print(f"{name:28} {r['windows']:>7} {r['wall_s']:>8} {r['win_s']:>9} {extra:>9.1f} "
              f"{r['wall_s'] / base['wall_s']:>7.2f}x")
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": machine(), "ray_start_s": start_s, "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    sys.exit(main())
