"""Query benchmarks, each next to today's path in the same run:
- a new text's first curve and exact curve (progressive path) vs one-shot QueryScorer.score;
- top-K over a whole collection, two-stage (prefilter + exact candidates) vs exhaustive exact
  scoring, with the two-stage ranking's recall@K against the exhaustive one.

    python bench/query_bench.py                       # 3,600 windows, base-sized random X-CLIP
    python bench/query_bench.py --collection 360000   # + a generated 100-hour collection (~18 GB)
    python bench/query_bench.py --skip-first-curve --real-collection   # shared videos, indexed once

Times are medians of ``--repeat`` interleaved rounds (a new text each call, so its encoding is
included). On a machine shared with other jobs, compare only figures from the same run.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    __package__ = "bench"

from bench.index_bench import SHARED, bench_model, table, write_store  # noqa: E402


def before_score(scorer, store, texts: list[str]) -> np.ndarray:
    """The query path before the layer norm was folded (main before issue 14): every patch
    normalised for every query (scoring.prompt_visual), 1,024 windows a step."""
    import torch

    from ethoscout.core.model.scoring import cosine_scores, prompt_visual

    held, m = scorer.window_tensors(store), scorer.model
    with torch.inference_mode():
        text = scorer.text_tensor(texts)
        return torch.cat([cosine_scores(m, held.unit_video[i:i + 1024], text,
                                        visual=prompt_visual(m, held.patches[i:i + 1024].float()))
                          for i in range(0, len(held), 1024)]).numpy()


def plain_linears(scorer, store, texts: list[str]) -> np.ndarray:
    """QueryScorer.score with its linears through F.linear (MKL on the CPU) instead of oneDNN."""
    from ethoscout.core.model import dense_linear

    was, dense_linear._onednn = dense_linear._onednn, False
    try:
        return scorer.score(store, texts)
    finally:
        dense_linear._onednn = was


def first_curve(loaded, n: int, repeat: int) -> dict:
    """ms to the first (approximate) curve and to the exact one, vs the one-shot paths."""
    from ethoscout.core.model.first_curve import progressive_query
    from ethoscout.core.model.query import QueryScorer

    counter = iter(range(10**6))
    times = {"before": [], "plain": [], "scorer": [], "first": [], "exact": []}
    errors = []
    with tempfile.TemporaryDirectory(prefix="ethoscout-bench-") as tmp:
        store = write_store(Path(tmp) / "s", n, loaded)
        scorer = QueryScorer(loaded)
        scorer.window_tensors(store)  # cached when the project opens
        scorer.score(store, ["warm-up"])
        for _ in range(repeat):  # a new text each call: its encoding is part of every time
            for name, run in (("before", lambda t: before_score(scorer, store, [t])),
                              ("plain", lambda t: plain_linears(scorer, store, [t])),
                              ("scorer", lambda t: scorer.score(store, [t]))):
                t = time.perf_counter()
                run(f"behaviour number {next(counter)}")
                times[name].append(time.perf_counter() - t)
            text = f"behaviour number {next(counter)}"
            t = time.perf_counter()
            steps = progressive_query(scorer, store, [text])
            first = next(steps)
            times["first"].append(time.perf_counter() - t)
            *_, last = steps
            times["exact"].append(time.perf_counter() - t)
            before = before_score(scorer, store, [text])
            floor = FLOOR_WINDOWS  # X-CLIP's own forward is slow: the same first windows for both
            errors.append((float(np.abs(last.scores - before).max()), float(np.abs(first.scores - last.scores).max()),
                           float(np.abs(xclip_forward(scorer, store, [text], floor) - before[:floor]).max()),
                           float(np.abs(last.scores[:floor] - before[:floor]).max())))
    med = {k: 1e3 * float(np.median(v)) for k, v in times.items()}
    return {"windows": n, **{f"{k}_ms": v for k, v in med.items()}, "final_max_diff": max(e[0] for e in errors),
            "first_max_diff": max(e[1] for e in errors), "floor_max_diff": max(e[2] for e in errors),
            "final_floor_diff": max(e[3] for e in errors)}


FLOOR_WINDOWS = 256


def xclip_forward(scorer, store, texts: list[str], n: int) -> np.ndarray:
    """The first ``n`` windows' scores as XCLIPModel's own prompt generator computes them (full
    key/value projections): how far two correct float32 orders of summation fall apart."""
    import torch

    from ethoscout.core.model.scoring import cosine_scores_reference

    held = scorer.window_tensors(store)
    with torch.inference_mode():
        return cosine_scores_reference(scorer.model, held.unit_video[:n], scorer.text_tensor(texts),
                                       held.patches[:n].float()).numpy()


def generated_collection(loaded, windows: int, per_store: int = 3600) -> list:
    """Stores of drifting random features (neighbouring windows alike, as overlapping windows
    are), base-sized, float16 as the cache writes them; generated once under the bench folder."""
    from ethoscout.core.model.cache import FeatureStore

    from bench.synthetic import bench_folder

    vc = loaded.model.config.vision_config
    p, d, t = (vc.image_size // vc.patch_size) ** 2, loaded.embed_dim, loaded.num_frames
    root = bench_folder() / f"collection_{windows}_{t}x{p}x{d}"  # features do not depend on weights
    stores = []
    for i in range(0, windows, per_store):
        n = min(per_store, windows - i)
        folder = root / f"store{i // per_store:04d}"
        if not (folder / "meta.json").exists():
            rng = np.random.default_rng(i)
            folder.mkdir(parents=True, exist_ok=True)
            for name, shape in (("frame_cls", (t, d)), ("img_features", (p, d))):
                out = np.lib.format.open_memmap(folder / f"{name}.npy", mode="w+", dtype=np.float16, shape=(n, *shape))
                level = rng.standard_normal(shape).astype(np.float32)
                for j in range(0, n, 256):
                    steps = 0.3 * rng.standard_normal((min(256, n - j), *shape)).astype(np.float32)
                    block = level + np.cumsum(steps, axis=0)
                    out[j:j + len(block)] = block
                    level = block[-1]
                out.flush()
                del out
            (folder / "meta.json").write_text(json.dumps({"starts": list(range(n)), "ends": list(range(2, n + 2)),
                                                          "video_path": f"gen{i}", "video_name": f"gen{i}"}))
        stores.append(FeatureStore(folder))
    return stores


def real_collection(loaded) -> list:
    """Every shared video, indexed once with ``loaded`` (ort-int8 where available)."""
    from ethoscout.core import engine

    from bench.synthetic import bench_folder

    project = bench_folder() / f"real_project_{loaded.fingerprint}"
    videos = sorted(p for p in (SHARED / "data" / "videos").glob("*") if p.suffix in (".mp4", ".avi"))
    engine.index_videos(project, videos, model=loaded)
    return engine.indexed_stores(project, loaded)


def collection_ranking(loaded, stores, k: int, repeat: int, candidates: list[int], **rank_kw) -> list[dict]:
    """Top-k windows for a new text: two-stage vs exhaustive exact, time and recall@k."""
    import torch

    from ethoscout.core.model.features import text_embeds
    from ethoscout.core.model.two_stage import CollectionRanker

    ranker = CollectionRanker(loaded)
    t = time.perf_counter()
    units = [ranker.unit_video(s) for s in stores]  # read from beside the stores after the first run
    ranker.coordinates(stores, units)  # text-independent, once per collection and process
    build_s = time.perf_counter() - t
    total = sum(len(s) for s in stores)
    offsets = np.cumsum([0] + [len(s) for s in stores])
    print(f"{len(stores)} stores, {total} windows; prefilter embeddings built in {build_s:.1f} s "
          f"({sum(v.numel() * v.element_size() for v in units) / 1e6:.0f} MB in memory)", flush=True)
    rows = []
    for r in range(repeat):
        text_s = ["a mouse rearing against the wall", "two animals fighting", "grooming its face",
                  "walking slowly", "resting"][r % 5]
        t = time.perf_counter()
        with torch.inference_mode():
            text = text_embeds(loaded.model, loaded.tokenizer, [text_s])
        flat = np.concatenate([ranker.exact(s, np.arange(len(s)), text) for s in stores])
        exhaustive_s = time.perf_counter() - t
        truth = set(np.argsort(-flat, kind="stable")[:k].tolist())
        for c in candidates:
            t = time.perf_counter()
            with torch.inference_mode():
                text = text_embeds(loaded.model, loaded.tokenizer, [text_s])
            result = ranker.rank(stores, text, k=k, candidates=c, seed=r, **rank_kw)
            two_stage_s = time.perf_counter() - t
            got = {int(offsets[si] + w) for si, w, _ in result.top(k)}
            rows.append({"round": r, "candidates": c, "exact_scored": int(sum(m.sum() for m in result.exact)),
                         "two_stage_s": two_stage_s, "exhaustive_s": exhaustive_s,
                         "recall": len(got & truth) / k, "margin": result.margin})
        print(f"round {r}: exhaustive {exhaustive_s:.1f} s; " + "; ".join(
            f"two-stage c={x['candidates']}: {x['two_stage_s']:.2f} s, recall@{k} {x['recall']:.2f}, "
            f"{x['exact_scored']} exact" for x in rows[-len(candidates):]), flush=True)
    return rows


def summarise(rows: list[dict], k: int) -> str:
    out = []
    for c in dict.fromkeys(r["candidates"] for r in rows):
        rs = [r for r in rows if r["candidates"] == c]
        out.append([c, float(np.median([r["exact_scored"] for r in rs])), float(np.median([r["exhaustive_s"] for r in rs])),
                    float(np.median([r["two_stage_s"] for r in rs])), float(np.median([r["recall"] for r in rs])),
                    float(min(r["recall"] for r in rs))])
    return table(["first candidates", "exact scored", "exhaustive s", "two-stage s", f"recall@{k} median",
                  f"recall@{k} min"], out)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python bench/query_bench.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--windows", default="3600", help="comma-separated store sizes")
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--model", default=None, help="X-CLIP folder (default: random base models)")
    p.add_argument("--prompt-init", default="transformers,xclip",
                   help="random models' prompt-generator init, comma-separated: transformers (its generic "
                        "init: a prompt ~100x the text) and/or xclip (X-CLIP's own: a small correction)")
    p.add_argument("--skip-first-curve", action="store_true")
    p.add_argument("--collection", type=int, default=0, help="windows in a generated collection (0: none)")
    p.add_argument("--real-collection", action="store_true", help="rank over the shared videos (indexed once)")
    p.add_argument("--k", type=int, default=100)
    p.add_argument("--candidates", default="1000", help="comma-separated first-round candidate counts (the ranker's default: 1000)")
    p.add_argument("--max-candidates", type=int, default=None, help="exact scores at most (default: the ranker's)")
    p.add_argument("--sample", type=int, default=None, help="windows sampled for the prefilter (default: the ranker's)")
    args = p.parse_args(argv)
    inits = [None] if args.model else args.prompt_init.split(",")
    for init in inits:
        loaded = bench_model(args.model, init or "transformers")
        print(f"\n# query bench: {loaded.name} on {loaded.device}", flush=True)
        run_model(loaded, args)
    return 0


def run_model(loaded, args) -> None:
    if not args.skip_first_curve:
        rows = [first_curve(loaded, int(n), args.repeat) for n in args.windows.split(",")]
        print("\n## a new text's curve: before (layer norm per query), QueryScorer.score (folded) one-shot with "
              "its linears through F.linear and through oneDNN, vs progressive (first approximate, then exact); "
              "diffs: final vs before, first vs final")
        print(table(["windows", "before ms", "scorer F.linear ms", "scorer ms", "first curve ms", "exact ms",
                     "final max |diff|", "first max |diff|", f"on the first {FLOOR_WINDOWS} windows: final vs before",
                     "X-CLIP forward vs before"],
                    [[r["windows"], r["before_ms"], r["plain_ms"], r["scorer_ms"], r["first_ms"], r["exact_ms"],
                      r["final_max_diff"],
                      r["first_max_diff"], r["final_floor_diff"], r["floor_max_diff"]] for r in rows]))
    candidates = [int(c) for c in args.candidates.split(",")]
    for label, make in (("real (shared videos)", real_collection if args.real_collection else None),
                        (f"generated ({args.collection} windows)",
                         (lambda m: generated_collection(m, args.collection)) if args.collection else None)):
        if make is None:
            continue
        print(f"\n## top-{args.k} over a collection, {label}: two-stage vs exhaustive exact", flush=True)
        kw = {k: v for k, v in (("max_candidates", args.max_candidates), ("sample", args.sample)) if v}
        rows = collection_ranking(loaded, make(loaded), args.k, args.repeat, candidates, **kw)
        print(summarise(rows, args.k))


if __name__ == "__main__":
    sys.exit(main())
