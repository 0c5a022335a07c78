"""Answers during a long import, and large BORIS exports.

1. p50 / p99 / max commit time of one answer (``Project.add_label``) while `ethoscout import`
   writes a 100,000-row labels table in another process, next to the same figures with no
   import running (baseline, same run). Goal: p99 <= 200 ms, no answer refused.
2. ``export --format boris-tabular`` of the 100,000 imported labels, next to our own labels
   table of the same labels (baseline). Goal: <= 10 s.

    python bench/robust_bench.py               # 100,000 rows
    python bench/robust_bench.py --rows 20000  # quicker
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.data.db_helpers import write_video  # noqa: E402 - shared generators of the test suite
from tests.robust.generate import labels_csv, start_import  # noqa: E402

from ethoscout.core.data.export import export  # noqa: E402
from ethoscout.core.data.project import Project  # noqa: E402


def answer(project: Project, i: int) -> float:
    t0 = time.perf_counter()
    start = (i % 80) * 0.5
    project.add_label("answers.mp4", "rear", start, start + 0.4, "accept", comment=f"answer {i}")
    return (time.perf_counter() - t0) * 1000


def summary(ms: list[float]) -> str:
    q = statistics.quantiles(ms, n=100) if len(ms) > 1 else ms * 99
    return f"n={len(ms):5d}  p50 {q[49]:7.1f} ms  p99 {q[98]:7.1f} ms  max {max(ms):7.1f} ms"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000)
    args = ap.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="ethoscout-robust-bench-"))
    project = Project.create(folder / "proj")
    project.add_video(write_video(folder / "answers.mp4", 1000))  # 40 s
    project.add_video(write_video(folder / "imported.mp4", 1500))  # 60 s
    project.add_behavior("groom")
    project.add_behavior("rear")
    table = labels_csv(folder / "big.csv", args.rows, "imported.mp4", 60.0)
    print(f"{args.rows:,} rows to import; project in {folder}")

    idle = [answer(project, i) for i in range(200)]
    print(f"answer commit, nothing else running:   {summary(idle)}")

    t0 = time.perf_counter()
    child = start_import(table, project.folder)
    busy, refused, i = [], [], 0
    while child.poll() is None:
        try:
            busy.append(answer(project, 1000 + i))
        except Exception as e:  # noqa: BLE001 - counted and shown
            refused.append(str(e))
        i += 1
        time.sleep(0.02)  # a fast reviewer: ~40 answers a second
    out, err = child.communicate()
    seconds = time.perf_counter() - t0
    print(f"import: exit {child.returncode} in {seconds:.1f} s: {out.strip()[:120]}")
    print(f"answer commit, during the import:      {summary(busy)}  refused {len(refused)}")
    if refused:
        print("  first refusal:", refused[0])
    n = len(project.labels())
    for fmt, name in (("labels", "labels.csv"), ("boris-tabular", "tabular.tsv")):
        t0 = time.perf_counter()
        export(project, fmt, folder / name)
        print(f"export {fmt:<14} {n:,} labels: {time.perf_counter() - t0:6.2f} s")
    return 0 if child.returncode == 0 and not refused else 1


if __name__ == "__main__":
    sys.exit(main())
