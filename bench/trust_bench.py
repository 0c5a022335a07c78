"""The model queue and the scorer's memory, each against its old behaviour in the same run.

``python -m bench.trust_bench [--seconds 30] [--hours 3] [--skip-preview] [--skip-memory]``

1. Preview latency while an index job runs: a long video is being indexed on the model service
   when a typed text's preview is submitted (after the index's second batch). Submitted at the
   index's own priority, the preview waits first-in first-out, as the queue did before; at
   PRIORITY_INTERACTIVE it runs at the index's next batch boundary. The same index runs in both
   modes and its features are compared.
2. Scorer memory for an hour of video (3,600 windows at 1 s stride, base-patch32 shapes, a
   synthetic float16 store as the cache writes it): bytes of kept tensors and the resident
   memory they add, for the old scorer (float32 tensors of every store, kept forever: the code
   before this change, reproduced below) and the new one (float16 patch features, LRU within a
   budget); then ``--hours`` such videos scored in turn. Each variant runs in its own process so
   resident memory is its alone.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    __package__ = "bench"

from .index_bench import bench_model, machine, table, write_store  # noqa: E402
from .measure import PeakRss, rss_mb  # noqa: E402
from .synthetic import bench_folder, synthetic_1080p  # noqa: E402

WINDOWS_PER_HOUR = 3600


# ---- 1. preview latency while indexing -----------------------------------------------------


def preview_while_indexing(seconds: int, runtime: str, batch_size: int) -> list[dict]:
    from ethoscout.core.jobs import (DONE, PRIORITY_BACKGROUND, PRIORITY_INTERACTIVE, ModelConfig,
                                     ModelService, index_video_job, score_job)

    loaded = bench_model(None)
    long_video = synthetic_1080p(seconds=seconds, size=(640, 360))
    short_video = synthetic_1080p(seconds=12, size=(640, 360))
    svc = ModelService(ModelConfig(model=str(loaded.folder), device="cpu", runtime=runtime))
    del loaded  # the service loads its own copy
    rows = []
    texts = (f"an animal doing behaviour {i}" for i in range(10**6))
    with tempfile.TemporaryDirectory(prefix="ethoscout-bench-") as tmp:
        project = str(Path(tmp) / "proj")
        first = svc.submit(index_video_job, project, str(short_video), None, batch_size)
        assert first.wait(3600) and first.status == DONE, first.error
        warm = svc.submit(score_job, project, {"t": [next(texts)]}, priority=PRIORITY_INTERACTIVE)
        assert warm.wait(600) and warm.status == DONE, warm.error  # window tensors now kept

        t = time.perf_counter()
        alone = svc.submit(score_job, project, {"t": [next(texts)]}, priority=PRIORITY_INTERACTIVE)
        assert alone.wait(600)
        alone_s = time.perf_counter() - t

        features = {}
        for mode, priority in (("FIFO (before)", PRIORITY_BACKGROUND),
                               ("priority (after)", PRIORITY_INTERACTIVE)):
            preview: dict = {}

            def on_progress(job, p, priority=priority, preview=preview):
                if p.done >= 2 * batch_size and "job" not in preview:
                    preview["submitted"] = time.perf_counter()
                    preview["at"] = p.done
                    preview["job"] = svc.submit(
                        score_job, project, {"typed": [next(texts)]}, priority=priority,
                        on_done=lambda j: preview.__setitem__("done", time.perf_counter()))

            t = time.perf_counter()
            index = svc.submit(index_video_job, project, str(long_video), None, batch_size,
                               on_progress=on_progress)
            assert index.wait(3600) and index.status == DONE, index.error
            index_s = time.perf_counter() - t
            assert preview["job"].wait(600) and preview["job"].status == DONE, preview["job"].error
            store = index.result.store
            features[mode] = (np.array(store.frame_cls), np.array(store.img_features))
            rows.append({"mode": mode, "preview_s": preview["done"] - preview["submitted"],
                         "submitted_at": f"{preview['at']}/{len(store)}", "index_s": index_s,
                         "preview_alone_s": alone_s})
            shutil.rmtree(store.folder)  # the next mode indexes the same video from scratch
        a, b = features.values()
        same = all(np.array_equal(x, y) for x, y in zip(a, b))
        for r in rows:
            r["features_identical"] = same
    assert svc.shutdown(30)
    return rows


# ---- 2. scorer memory --------------------------------------------------------------------


class OldQueryScorer:
    """The scorer's storage before this change, kept here to measure against: float32 MIT
    embeddings and patch features on the model's device, for every store ever scored."""

    CHUNK = 2048

    def __init__(self, loaded):
        self.loaded = loaded
        self._stores = {}

    @property
    def nbytes(self) -> int:
        return sum(t.element_size() * t.nelement() for pair in self._stores.values() for t in pair)

    def window_tensors(self, store):
        import torch

        from ethoscout.core.model.features import as_tensor, video_embeds
        from ethoscout.core.model.scoring import prompt_visual

        key = str(store.folder)
        if key not in self._stores:
            with torch.inference_mode():
                dev, model, c = self.loaded.device, self.loaded.model, self.CHUNK
                frame_cls = as_tensor(store.frame_cls, dev)
                video = torch.cat([video_embeds(model, frame_cls[i:i + c]) for i in range(0, len(frame_cls), c)])
                visual = torch.cat([prompt_visual(model, as_tensor(store.img_features[i:i + c], dev))
                                    for i in range(0, len(store), c)])
            self._stores[key] = (video, visual)
        return self._stores[key]

    def score(self, store, texts):
        import torch

        from ethoscout.core.model.features import text_embeds
        from ethoscout.core.model.scoring import cosine_scores

        video, visual = self.window_tensors(store)
        with torch.inference_mode():
            text = text_embeds(self.loaded.model, self.loaded.tokenizer, texts)
            c = self.CHUNK
            out = [cosine_scores(self.loaded.model, video[i:i + c], text, visual=visual[i:i + c])
                   for i in range(0, len(video), c)]
            return torch.cat(out).float().cpu().numpy()


def memory_child(variant: str, model_folder: str, store_folders: list[str], queue) -> None:
    """In its own process: keep the tensors of the first store, then score every store in turn."""
    import gc

    import torch

    from ethoscout.core.model.cache import FeatureStore
    from ethoscout.core.model.loading import load_xclip
    from ethoscout.core.model.query import QueryScorer

    torch.set_num_threads(2)
    loaded = load_xclip(model_folder, device="cpu")
    scorer = OldQueryScorer(loaded) if variant == "old" else QueryScorer(loaded)
    text = ["a mouse rearing against the wall"]
    gc.collect()
    base = rss_mb()
    store = FeatureStore(Path(store_folders[0]))
    with PeakRss() as peak:
        scorer.window_tensors(store)
    del store
    gc.collect()
    one_hour = {"tensor_mb": scorer.nbytes / 1e6, "rss_mb": rss_mb() - base, "peak_mb": peak.peak - base}
    store = FeatureStore(Path(store_folders[0]))
    scorer.score(store, ["warm-up"])
    times = []
    for i in range(3):
        t = time.perf_counter()
        scorer.score(store, [f"{text[0]} {i}"])
        times.append(time.perf_counter() - t)
    final = scorer.score(store, text)
    del store
    with PeakRss() as peak_all:
        for folder in store_folders:
            s = FeatureStore(Path(folder))
            scorer.score(s, text)
            del s
    gc.collect()
    queue.put({"variant": variant, **one_hour, "query_ms": 1e3 * statistics.median(times),
               "all_tensor_mb": scorer.nbytes / 1e6, "all_rss_mb": rss_mb() - base,
               "all_peak_mb": peak_all.peak - base, "scores": final.tolist()})


def scorer_memory(hours: int) -> list[dict]:
    loaded = bench_model(None)
    model_folder = str(loaded.folder)
    root = bench_folder() / "hour-stores"
    folders = []
    for h in range(hours):
        folder = root / f"hour{h}"
        if not (folder / "meta.json").exists():
            write_store(folder, WINDOWS_PER_HOUR, loaded)
        folders.append(str(folder))
    del loaded
    ctx = multiprocessing.get_context("spawn")
    rows = []
    for variant in ("old", "new"):
        q = ctx.Queue()
        p = ctx.Process(target=memory_child, args=(variant, model_folder, folders, q))
        p.start()
        rows.append(q.get(timeout=3600))
        p.join()
    old, new = (np.array(r.pop("scores")) for r in rows)
    for r in rows:
        r["max_score_diff_vs_old"] = float(np.abs(new - old).max())
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.trust_bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=int, default=30, help="length of the video indexed while a preview comes")
    p.add_argument("--runtime", default="torch-fp32", help="vision runtime of the index job")
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--hours", type=int, default=3, help="hour-long videos scored in turn for the budget figure")
    p.add_argument("--skip-preview", action="store_true")
    p.add_argument("--skip-memory", action="store_true")
    p.add_argument("--json", default=None, help="write the figures here too")
    args = p.parse_args(argv)
    print(f"machine: {machine()}")
    out = {}
    if not args.skip_preview:
        rows = preview_while_indexing(args.seconds, args.runtime, args.batch_size)
        out["preview"] = rows
        print(f"\n## preview of a typed text while a {args.seconds}-s video is indexed ({args.runtime}, "
              f"batches of {args.batch_size}); preview alone on an idle queue: {rows[0]['preview_alone_s']:.2f} s")
        print(table(["queue", "preview latency s", "submitted at window", "index s", "features identical"],
                    [[r["mode"], f"{r['preview_s']:.2f}", r["submitted_at"], f"{r['index_s']:.1f}",
                      r["features_identical"]] for r in rows]))
    if not args.skip_memory:
        rows = scorer_memory(args.hours)
        out["memory"] = rows
        print(f"\n## scorer memory: one hour = {WINDOWS_PER_HOUR} windows (base-patch32 shapes, float16 store); "
              f"then {args.hours} such hours scored in turn")
        print(table(["scorer", "1 h tensors MB", "1 h RSS MB", "1 h peak MB", "query ms (1 h)",
                     f"{args.hours} h tensors MB", f"{args.hours} h RSS MB", "max |score diff| vs old"],
                    [[r["variant"], f"{r['tensor_mb']:.0f}", f"{r['rss_mb']:.0f}", f"{r['peak_mb']:.0f}",
                      f"{r['query_ms']:.0f}", f"{r['all_tensor_mb']:.0f}", f"{r['all_rss_mb']:.0f}",
                      f"{r['max_score_diff_vs_old']:.1e}"] for r in rows]))
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
