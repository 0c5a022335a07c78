"""Timing and memory helpers for the benchmarks."""
from __future__ import annotations

import os
import threading
import time


def rss_mb() -> float:
    """Resident memory of this process now, in MB."""
    try:
        import psutil

        return psutil.Process().memory_info().rss / 1e6
    except ImportError:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


class PeakRss:
    """Samples the resident memory every 50 ms while a block runs; ``peak`` is its maximum."""

    def __init__(self):
        self.peak = rss_mb()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self):
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, rss_mb())

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_mb())


def best_of(fn, repeat: int = 3) -> float:
    """Fastest of ``repeat`` timed calls (after one warm-up call)."""
    fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)
