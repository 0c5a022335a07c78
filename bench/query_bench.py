"""Query benchmarks: a new text's first curve and exact curve (progressive path) next to today's
one-shot QueryScorer.score, in the same run.

    python bench/query_bench.py                # 3,600 windows, base-sized random X-CLIP
    python bench/query_bench.py --windows 3600 --repeat 5

Times are medians of ``--repeat`` interleaved rounds (a new text each call, so its encoding is
included). On a machine shared with other jobs, compare only figures from the same run.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    __package__ = "bench"

from bench.index_bench import bench_model, table, write_store  # noqa: E402


def first_curve(loaded, n: int, repeat: int) -> dict:
    """ms to the first (approximate) curve and to the exact one, vs today's QueryScorer.score."""
    from ethoscout.core.model.first_curve import progressive_query
    from ethoscout.core.model.query import QueryScorer

    counter = iter(range(10**6))
    times = {"today": [], "first": [], "exact": []}
    errors = []
    with tempfile.TemporaryDirectory(prefix="ethoscout-bench-") as tmp:
        store = write_store(Path(tmp) / "s", n, loaded)
        scorer = QueryScorer(loaded)
        scorer.window_tensors(store)  # cached when the project opens
        scorer.score(store, ["warm-up"])
        for _ in range(repeat):
            t = time.perf_counter()
            today = scorer.score(store, [f"behaviour number {next(counter)}"])
            times["today"].append(time.perf_counter() - t)
            text = f"behaviour number {next(counter)}"
            t = time.perf_counter()
            steps = progressive_query(scorer, store, [text])
            first = next(steps)
            times["first"].append(time.perf_counter() - t)
            *_, last = steps
            times["exact"].append(time.perf_counter() - t)
            exact = scorer.score(store, [text])
            errors.append((float(np.abs(last.scores - exact).max()), float(np.abs(first.scores - exact).max())))
            del today
    med = {k: 1e3 * float(np.median(v)) for k, v in times.items()}
    return {"windows": n, "today_ms": med["today"], "first_ms": med["first"], "exact_ms": med["exact"],
            "final_max_diff": max(e[0] for e in errors), "first_max_diff": max(e[1] for e in errors)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python bench/query_bench.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--windows", default="3600", help="comma-separated store sizes")
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--model", default=None, help="X-CLIP folder (default: a random base model)")
    args = p.parse_args(argv)
    loaded = bench_model(args.model)
    print(f"# query bench: {loaded.name} on {loaded.device}", flush=True)
    rows = [first_curve(loaded, int(n), args.repeat) for n in args.windows.split(",")]
    print("\n## a new text's curve: today's QueryScorer.score vs progressive (first approximate, then exact)")
    print(table(["windows", "today ms", "first curve ms", "exact ms", "final max |diff|", "first max |diff|"],
                [[r["windows"], r["today_ms"], r["first_ms"], r["exact_ms"], r["final_max_diff"],
                  r["first_max_diff"]] for r in rows]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
