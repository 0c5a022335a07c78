"""What runs on the cluster: the decode stage as Ray Data tasks, the embed stage as an actor
pool. Both are the local indexer's own stages (core/pipeline.py); this module only moves their
inputs and outputs through Ray's object store.

A row is one batch of one video: {"video": index, "first": window, "count": windows,
"payload": pickled arrays, "error": ""}. Decode rows carry the batch's uint8 frames (224-px
crops, never full frames) and its per-window products; embed rows carry only the features, in
the store's dtype. A video a worker can't read becomes a row with "error" set, so the other
videos go on.
"""
from __future__ import annotations

import os
import pickle
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import EthoscoutError
from ..fingerprint import fingerprint_file
from ..pipeline import Batch, decode_batches, embed, index_products, prepare
from ..video.preprocess import Preprocessor
from ..video.probe import VideoInfo
from ..video.windows import Windows

STORE_DTYPES = {"float16": np.float16, "float32": np.float32}
FEATURE_ARRAYS = ("frame_cls", "img_features")  # cast to the store's dtype before travelling


@dataclass
class VideoJob:
    """What a decode task needs to know about a video (one object in the store per video)."""
    info: VideoInfo
    windows: Windows
    pre: Preprocessor
    batch_size: int


def row(video: int, first: int, count: int, arrays: dict | None = None, error: str = "") -> dict:
    payload = pickle.dumps(arrays, protocol=pickle.HIGHEST_PROTOCOL) if arrays is not None else b""
    return {"video": video, "first": first, "count": count, "payload": payload, "error": error}


def check_same_file(info: VideoInfo) -> None:
    """A worker must read the very file the driver probed (same path on every node)."""
    where = os.uname().nodename
    try:
        fp = fingerprint_file(info.path)
    except OSError as e:
        raise EthoscoutError(f"{info.path}: not readable on worker {where} ({e.strerror or e}); "
                             f"every node needs the videos at the same path") from None
    if fp != info.fingerprint:
        raise EthoscoutError(f"{info.path}: differs on worker {where} from the file the driver probed")


_jobs: dict[str, VideoJob] = {}  # per worker process: videos already fetched from the store


def decode_segment(item: dict, videos: list) -> list[dict]:
    """The decode stage for one segment (Ray Data flat_map): its batches as rows."""
    import ray

    vi, start, stop = int(item["video"]), int(item["start"]), int(item["stop"])
    ref = videos[vi]
    job = _jobs.get(ref.hex())
    if job is None:
        if len(_jobs) > 8:
            _jobs.clear()
        job = _jobs[ref.hex()] = ray.get(ref)
    try:
        check_same_file(job.info)
        return [row(vi, b.first, len(b), {"frames": b.frames, **b.extras})
                for b in decode_batches(job.info, job.windows, job.pre, job.batch_size, start, stop,
                                        per_window=index_products(job.info))]
    except EthoscoutError as e:  # VideoError included: this video fails, the others go on
        return [row(vi, start, 0, error=str(e))]


def pack_model(folder: Path) -> dict[str, bytes]:
    """A model folder's files (weights, config, tokenizer) to ship to workers, which may share
    no filesystem with the driver."""
    return {p.name: p.read_bytes() for p in sorted(Path(folder).iterdir())
            if p.is_file() and not p.name.endswith(".bin")}


def unpack_model(fetch, fingerprint: str) -> Path:
    """The shipped model as a folder on this node, fetched (``fetch()``: name -> bytes) and
    written once per node and fingerprint."""
    root = Path(tempfile.gettempdir()) / "ethoscout-models"
    final = root / fingerprint
    if (final / "config.json").exists():
        return final
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{fingerprint}.", dir=root))
    for name, data in fetch().items():
        (tmp / name).write_bytes(data)
    try:
        os.replace(tmp, final)
    except OSError:  # another actor on this node got there first
        shutil.rmtree(tmp, ignore_errors=True)
    return final


class Embedder:
    """The embed stage as a Ray Data actor: loads the model once, encodes batches with the
    runtime local indexing would choose on this node."""

    def __init__(self, model_ref, fingerprint: str, runtime: str, threads: int, cache_dtype: str):
        import ray
        import torch

        from ..model.loading import load_xclip
        from ..model.runtime import make_vision_backend

        torch.set_num_threads(threads)
        folder = unpack_model(lambda: ray.get(model_ref), fingerprint)
        self.loaded = load_xclip(folder, device="auto")
        self.backend = make_vision_backend(self.loaded, runtime, threads=threads)
        self.pre = Preprocessor.from_config(self.loaded.preprocessor_config)
        self.dtype = STORE_DTYPES[cache_dtype]

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        payloads = []
        for first, payload, error in zip(batch["first"], batch["payload"], batch["error"]):
            if error:
                payloads.append(b"")
                continue
            arrays = pickle.loads(payload)
            frames = arrays.pop("frames")
            features = embed(self.backend, prepare(self.pre, Batch(int(first), frames, extras=arrays)))
            out = {k: v.astype(self.dtype) if k in FEATURE_ARRAYS else v for k, v in features.arrays.items()}
            payloads.append(pickle.dumps(out, protocol=pickle.HIGHEST_PROTOCOL))
        return {"video": batch["video"], "first": batch["first"], "count": batch["count"],
                "payload": np.array(payloads, dtype=object), "error": batch["error"]}
