"""Indexing and query benchmark: decode-only, model-only per backend, full index per backend,
query latency (naive HF path vs the fast path), peak memory.

    python -m bench            # full suite (~10 min on a 2-core laptop-class CPU)
    python -m bench --quick    # shorter clip, two backends (~3 min)
    python bench/index_bench.py --help

Uses a randomly initialised base-sized X-CLIP (speed does not depend on weight values), a
generated camera-like 1080p30 H.264 clip and, when present, a real clip from
../shared/data/videos. Clips are short; per-hour figures are extrapolated linearly (indexing
time is linear in video length at a fixed window spec).
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

if __package__ in (None, ""):  # run as a script: make ``bench`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    __package__ = "bench"

from bench.measure import PeakRss, best_of, rss_mb  # noqa: E402
from bench.synthetic import bench_folder, synthetic_1080p  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
TOKENIZER = SHARED / "models" / "clip-vit-base-patch32-tokenizer"
REAL_VIDEO = SHARED / "data" / "videos" / "mouse_openfield_odortrail_dlc_78s.mp4"
CPU_BACKENDS = ["torch-fp32", "torch-bf16", "ort-fp32", "ort-int8"]
GPU_BACKENDS = ["ort-cuda", "ort-fp16"]
QUERY_SIZES = (100, 1000, 3600)


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="20 s clip, model-only for all backends, index with two")
    p.add_argument("--seconds", type=int, default=None, help="length of the generated 1080p clip (default 40, quick 20)")
    p.add_argument("--backends", default=None, help="comma-separated runtimes for model-only timing")
    p.add_argument("--index-backends", default=None, help="comma-separated runtimes for full index timing")
    p.add_argument("--model", default=None, help="X-CLIP folder (default: a random base model, built once)")
    p.add_argument("--real", default=str(REAL_VIDEO), help="a real video to index too ('' to skip)")
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--skip-decoders", action="store_true", help="skip the PyAV vs OpenCV comparison")
    p.add_argument("--json", default=None, help="also write the results to this JSON file")
    return p.parse_args(argv)


def machine() -> str:
    from ethoscout.core.model.ort_backend import available_providers
    from ethoscout.core.model.runtime import cpu_count

    cpu = platform.processor() or platform.machine()
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import torch

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return f"{cpu}, {cpu_count()} cores, {gpu}; ORT providers {available_providers()}"


def bench_model(folder: str | None, prompt_init: str = "transformers"):
    """A model folder, or a random base-sized X-CLIP (``prompt_init``: see build_random_xclip)."""
    from ethoscout.core.model.loading import load_xclip
    from ethoscout.core.model.random_init import build_random_xclip

    if folder is None:
        path = bench_folder() / ("xclip-base-random" + ("" if prompt_init == "transformers" else f"-{prompt_init}-prompt"))
        if not (path / "model.safetensors").exists():
            build_random_xclip(path, "base", tokenizer_dir=TOKENIZER if TOKENIZER.exists() else None,
                               prompt_init=prompt_init)
        folder = str(path)
    return load_xclip(folder, device="auto")


def prepare(path: Path, loaded):
    from ethoscout.core.video.preprocess import Preprocessor
    from ethoscout.core.video.probe import probe_video
    from ethoscout.core.video.windows import WindowSpec, make_windows

    t = time.perf_counter()
    info = probe_video(path)
    probe_s = time.perf_counter() - t
    spec = WindowSpec(frames=loaded.num_frames)
    return info, spec, make_windows(info.pts_s, info.duration_s, spec), \
        Preprocessor.from_config(loaded.preprocessor_config), probe_s


def decode_only(info, windows, pre, batch_size: int) -> float:
    """Decode, resize/crop and normalise every window, no model: the floor for indexing."""
    from ethoscout.core.pipeline import sequential_batches

    t = time.perf_counter()
    for _ in sequential_batches(info, windows, pre, batch_size):
        pass
    return time.perf_counter() - t


def decoder_comparison(info, windows, pre) -> dict[str, float]:
    """Seconds to deliver every sampled frame resized/cropped: PyAV vs OpenCV grab()/retrieve()."""
    import cv2

    from ethoscout.core.video.decode import iter_frames

    wanted = np.unique(windows.frames)
    out = {}
    t = time.perf_counter()
    for _ in iter_frames(info, wanted, pre.resize_crop):
        pass
    out["pyav-auto-threads"] = time.perf_counter() - t
    want, t = set(wanted.tolist()), time.perf_counter()
    cap, i = cv2.VideoCapture(info.path), 0
    while cap.grab():
        if i in want:
            pre.resize_crop(cv2.cvtColor(cap.retrieve()[1], cv2.COLOR_BGR2RGB))
        i += 1
    cap.release()
    out["opencv-grab-retrieve"] = time.perf_counter() - t
    return out


def make_backend(loaded, runtime: str, threads: int | None = None):
    from ethoscout.core.model.runtime import make_vision_backend

    t = time.perf_counter()
    backend = make_vision_backend(loaded, runtime, threads=threads)
    return backend, time.perf_counter() - t


def model_only(backend, loaded, batch_size: int, budget_s: float) -> float:
    """Windows per second of ``backend.encode`` alone, on normalised random pixels."""
    vc = loaded.model.config.vision_config
    x = np.random.default_rng(0).standard_normal(
        (batch_size, loaded.num_frames, 3, vc.image_size, vc.image_size)).astype(np.float32)
    backend.encode(x)  # warm-up: allocations, kernel selection
    done, t = 0, time.perf_counter()
    while done < 2 * batch_size or time.perf_counter() - t < budget_s:
        backend.encode(x)
        done += batch_size
    return done / (time.perf_counter() - t)


def full_index(path: Path, info, loaded, spec, backend, batch_size: int) -> tuple[float, float]:
    from ethoscout.core.engine import index_video

    with tempfile.TemporaryDirectory(prefix="ethoscout-bench-") as project, PeakRss() as mem:
        t = time.perf_counter()
        result = index_video(project, path, loaded, spec, backend, batch_size=batch_size, info=info)
        elapsed = time.perf_counter() - t
    assert result.status == "indexed", result
    return elapsed, mem.peak


def write_store(folder: Path, n: int, loaded) -> "object":
    """A feature store of ``n`` random windows, laid out as the cache writes it."""
    from ethoscout.core.model.cache import FeatureStore

    rng = np.random.default_rng(1)
    vc = loaded.model.config.vision_config
    p = (vc.image_size // vc.patch_size) ** 2
    d = loaded.embed_dim
    folder.mkdir(parents=True, exist_ok=True)
    np.save(folder / "frame_cls.npy", rng.standard_normal((n, loaded.num_frames, d)).astype(np.float16))
    np.save(folder / "img_features.npy", rng.standard_normal((n, p, d)).astype(np.float16))
    (folder / "meta.json").write_text(json.dumps({"starts": list(range(n)), "ends": list(range(2, n + 2)),
                                                  "video_path": "random", "video_name": "random"}))
    return FeatureStore(folder)


def query_latency(loaded, sizes=QUERY_SIZES) -> list[dict]:
    """A new behaviour text against N cached windows: the HF-equivalent path vs QueryScorer."""
    import torch

    from ethoscout.core.model.features import text_embeds
    from ethoscout.core.model.query import QueryScorer
    from ethoscout.core.model.scoring import cosine_scores, cosine_scores_reference

    rows = []
    counter = iter(range(10**6))
    with tempfile.TemporaryDirectory(prefix="ethoscout-bench-") as tmp:
        for n in sizes:
            store = write_store(Path(tmp) / f"s{n}", n, loaded)
            scorer = QueryScorer(loaded)
            held = scorer.window_tensors(store)  # cached when the project opens
            video, img = held.unit_video, held.patches.float()  # cosines normalise it anyway
            text = scorer.text_tensor(["a mouse rearing against the wall"])

            def fast():
                scorer.score(store, [f"behaviour number {next(counter)}"])

            @torch.inference_mode()
            def naive():
                t = text_embeds(loaded.model, loaded.tokenizer, [f"behaviour number {next(counter)}"])
                cosine_scores_reference(loaded.model, video, t, img)

            @torch.inference_mode()
            def text_only():
                text_embeds(loaded.model, loaded.tokenizer, [f"behaviour number {next(counter)}"])

            @torch.inference_mode()
            def prompt_mlp():  # the prompt generator's per-window MLPs alone, for the breakdown
                h = text.unsqueeze(0).expand(n, -1, -1)
                for layer in loaded.model.prompts_generator.decoder:
                    layer.mlp(layer.norm3(h))

            @torch.inference_mode()
            def fast_scoring():
                cosine_scores(loaded.model, video, text, img)

            repeat = 3 if n <= 1000 else 2
            rows.append({"windows": n, "naive_ms": 1e3 * best_of(naive, repeat), "fast_ms": 1e3 * best_of(fast, repeat),
                         "text_ms": 1e3 * best_of(text_only, repeat),
                         "fast_scoring_ms": 1e3 * best_of(fast_scoring, repeat),
                         "prompt_mlp_ms": 1e3 * best_of(prompt_mlp, repeat)})
            rows[-1]["speedup"] = rows[-1]["naive_ms"] / rows[-1]["fast_ms"]
    return rows


def table(headers: list[str], rows: list[list]) -> str:
    def fmt(c) -> str:
        if not isinstance(c, float):
            return str(c)
        return f"{c:.0f}" if abs(c) >= 100 or c == 0 else f"{c:.3g}" if abs(c) >= 0.01 else f"{c:.1e}"

    cells = [[str(h) for h in headers]] + [[fmt(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |" for r in cells]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def bench_video(label: str, path: Path, loaded, args, backends: dict, speeds: dict, index_runtimes: list[str],
                results: dict) -> None:
    info, spec, windows, pre, probe_s = prepare(path, loaded)
    n = len(windows)
    per_hour = 3600 / info.duration_s
    print(f"\n## {label}: {info.name}, {info.width}x{info.height} {info.codec}, {info.duration_s:.1f} s, "
          f"{n} windows ({spec.key()}); probe {probe_s:.2f} s", flush=True)
    if not args.skip_decoders:
        dec = decoder_comparison(info, windows, pre)
        print("decoders (sampled frames, resized+cropped), s per hour of video: " +
              ", ".join(f"{k} {v * per_hour:.0f}" for k, v in dec.items()), flush=True)
        results.setdefault("decoders", {})[label] = {k: v * per_hour for k, v in dec.items()}
    decode_s = decode_only(info, windows, pre, args.batch_size)
    print(f"decode-only: {decode_s:.1f} s = {n / decode_s:.1f} windows/s = {decode_s * per_hour:.0f} s per hour",
          flush=True)
    rows = []
    for runtime in index_runtimes:
        backend = backends[runtime]
        index_s, peak = full_index(path, info, loaded, spec, backend, args.batch_size)
        model_s = n / speeds[runtime]
        rows.append([runtime, index_s, n / index_s, index_s * per_hour, index_s / decode_s,
                     index_s / (decode_s + model_s), peak])
        print(f"index {runtime}: {index_s:.1f} s ({n / index_s:.2f} windows/s, {index_s * per_hour:.0f} s/h); "
              f"decode {decode_s:.1f} + model {model_s:.1f} s; peak RSS {peak:.0f} MB", flush=True)
    print(table(["backend", "index s", "windows/s", "s per hour", "÷ decode-only", "÷ (decode+model)", "peak RSS MB"],
                rows))
    results["videos"][label] = {"name": info.name, "size": [info.width, info.height], "duration_s": info.duration_s,
                                "windows": n, "decode_only_s": decode_s, "decode_s_per_hour": decode_s * per_hour,
                                "index": {r[0]: dict(zip(["s", "windows_per_s", "s_per_hour", "over_decode",
                                                          "over_decode_plus_model", "peak_rss_mb"], r[1:]))
                                          for r in rows}}


def main(argv=None) -> int:
    import torch

    from ethoscout.core.model.ort_backend import has_cuda_provider
    from ethoscout.core.model.runtime import cpu_count, inference_threads

    args = parse_args(argv)
    seconds = args.seconds or (20 if args.quick else 40)
    gpu = torch.cuda.is_available() and has_cuda_provider()
    model_runtimes = args.backends.split(",") if args.backends else CPU_BACKENDS + (GPU_BACKENDS if gpu else [])
    default_index = (["torch-fp32", "ort-int8"] if args.quick else model_runtimes)
    if gpu:
        default_index = ["ort-fp16"] + [r for r in default_index if r != "ort-fp16"]
    index_runtimes = args.index_backends.split(",") if args.index_backends else default_index
    results = {"machine": machine(), "seconds": seconds, "videos": {}}
    print(f"# ethoscout bench on {results['machine']}", flush=True)
    start = time.perf_counter()

    loaded = bench_model(args.model)
    print(f"model {loaded.name} on {loaded.device} (fingerprint {loaded.fingerprint}); "
          f"inference threads while decoding: {inference_threads()} of {cpu_count()}", flush=True)
    clip = synthetic_1080p(seconds)

    # Model-only: each backend with the whole machine, as it would run without a decoder beside it.
    backends, speeds, rows = {}, {}, []
    for runtime in dict.fromkeys(model_runtimes + index_runtimes):
        try:
            full, setup_s = make_backend(loaded, runtime, threads=cpu_count())
        except Exception as e:  # noqa: BLE001 - report and go on with the others
            print(f"{runtime}: unavailable ({str(e).splitlines()[0]})")
            continue
        speeds[runtime] = model_only(full, loaded, args.batch_size, 4 if args.quick else 8)
        # Indexing uses the default thread budget (a core left to the decoder on small machines).
        backends[runtime] = full if runtime.startswith("torch") else make_backend(loaded, runtime)[0]
        rows.append([runtime, full.name, speeds[runtime], 3599 / speeds[runtime], setup_s])
        print(f"model-only {runtime}: {speeds[runtime]:.2f} windows/s (first use incl. export {setup_s:.1f} s)",
              flush=True)
    print(table(["runtime", "backend", "windows/s", "s per hour", "setup s"], rows))
    results["model_only"] = {r[0]: {"windows_per_s": r[2], "s_per_hour": r[3], "setup_s": r[4]} for r in rows}
    index_runtimes = [r for r in index_runtimes if r in backends]

    bench_video("1080p30 H.264 (generated)", clip, loaded, args, backends, speeds, index_runtimes, results)
    if args.real and Path(args.real).exists():
        real_runtimes = index_runtimes[-1:] if args.quick else [r for r in index_runtimes if r.startswith("ort")][-1:]
        bench_video("real", Path(args.real), loaded, args, backends, speeds, real_runtimes or index_runtimes[:1],
                    results)
    elif args.real:
        print(f"\n(real video {args.real} not found; skipped)")

    print("\n## query latency: one new behaviour text against N cached windows (CPU torch)", flush=True)
    q = query_latency(loaded)
    print(table(["windows", "naive HF ms", "fast ms", "speed-up", "text encode ms", "fast scoring ms",
                 "prompt MLPs ms"],
                [[r["windows"], r["naive_ms"], r["fast_ms"], r["speedup"], r["text_ms"], r["fast_scoring_ms"],
                  r["prompt_mlp_ms"]] for r in q]))
    results["query"] = q
    results["peak_rss_mb"] = max(rss_mb(), *(v["index"][k]["peak_rss_mb"] for v in results["videos"].values()
                                           for k in v["index"]))
    results["total_s"] = time.perf_counter() - start
    print(f"\npeak RSS {results['peak_rss_mb']:.0f} MB; bench took {results['total_s']:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
