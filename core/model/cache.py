"""Feature cache: one store per (video fingerprint, model fingerprint, window spec).

Layout under a project's features/ folder:
    <model fp>/<video fp>_<spec key>/meta.json, frame_cls.npy (N,T,D), img_features.npy (N,P,D)
Arrays are float16 .npy files (float32 on request: the half-precision rounding of patch
features moves a cosine by up to ~1e-3), memory-mapped for reading. Further per-window arrays (e.g. motion descriptors) are optional
float32 .npy files beside them, written with the store or added later (``add_array``) without
touching the others. A store is built in a
``.partial`` folder whose progress.json counts windows already flushed to disk; indexing
that is killed resumes from there, and the folder is renamed into place when complete.
Windows may arrive out of order (segments from a cluster): progress.json keeps the ranges
written, so a resumed run skips exactly those.

A store is found by its exact key, never by a part of a folder name: the video's current
fingerprint (a replaced file at the same path has another, and its old stores are stale), the
model, the window spec and the dtype (float16 and float32 stores of one video are two stores,
never both used). ``stale`` lists stores of fingerprints no longer current, for pruning.
"""
from __future__ import annotations

import errno
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import EthoscoutError

ARRAYS = ("frame_cls", "img_features")  # every store has these; other arrays are optional float32


def _write_json(path: Path, data: dict) -> None:
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w") as f:
        json.dump(data, f, indent=1)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


DTYPES = {"float16": np.float16, "float32": np.float32}
PARTIAL = ".partial"


class CacheError(EthoscoutError):
    """A store that cannot be written (full disk, read-only folder), in one line."""


def _reserve(path: Path, nbytes: int, fresh: bool) -> None:
    """Give a memory-mapped array file its disk blocks now. Written through a map, a sparse
    file on a full disk kills the process (SIGBUS) instead of raising an error; reserved, the
    shortage is an OSError here, before any work. Where the system cannot reserve, a new file's
    data is written as zeros (an existing one keeps its data)."""
    size = path.stat().st_size
    with open(path, "r+b") as f:
        try:
            os.posix_fallocate(f.fileno(), 0, size)
            return
        except AttributeError:  # no posix_fallocate (macOS, Windows)
            pass
        except OSError as e:
            if e.errno not in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS):
                raise
        if fresh:
            f.seek(size - nbytes)
            zeros = bytes(1 << 20)
            for left in range(nbytes, 0, -len(zeros)):
                f.write(zeros[:min(left, len(zeros))])
            f.flush()
            os.fsync(f.fileno())


def _space_error(folder: Path, meta: dict, need: int, err: OSError) -> CacheError:
    try:
        free = f", {shutil.disk_usage(folder).free / 1e6:.0f} MB free"
    except OSError:
        free = ""
    if err.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        sizes = f"{need / 1e6:.0f} MB needed{free}" if need else free.lstrip(", ")
        return CacheError(f"{folder}: not enough disk space for the features of {meta.get('video_name', 'a video')} "
                          f"({sizes}); free some space and index again")
    return CacheError(f"{folder}: the feature cache cannot be written ({err.strerror or err})")


def _merged(ranges: list[list[int]]) -> list[list[int]]:
    out: list[list[int]] = []
    for a, b in sorted(ranges):
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return out


@dataclass
class CacheKey:
    model_fingerprint: str
    video_fingerprint: str
    spec_key: str
    dtype: str = "float16"

    def folder(self, root: Path) -> Path:
        suffix = "" if self.dtype == "float16" else f"_{self.dtype}"
        return Path(root) / self.model_fingerprint / f"{self.video_fingerprint}_{self.spec_key}{suffix}"


class FeatureStore:
    """A complete store, read-only, memory-mapped."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.meta = json.loads((self.folder / "meta.json").read_text())
        self.frame_cls = np.load(self.folder / "frame_cls.npy", mmap_mode="r")
        self.img_features = np.load(self.folder / "img_features.npy", mmap_mode="r")
        self.starts = np.asarray(self.meta["starts"])
        self.ends = np.asarray(self.meta["ends"])

    def __len__(self) -> int:
        return len(self.starts)

    def array(self, name: str) -> np.ndarray | None:
        """An optional per-window array (memory-mapped), or None when the store lacks it."""
        path = self.folder / f"{name}.npy"
        return np.load(path, mmap_mode="r") if path.exists() else None

    def add_array(self, name: str, values: np.ndarray) -> None:
        """Add (or replace) an optional array, atomically: readers see the old file or the new."""
        if len(values) != len(self):
            raise ValueError(f"{name}: {len(values)} rows for a store of {len(self)} windows")
        tmp = self.folder / f".{name}.tmp.npy"
        try:
            np.save(tmp, np.asarray(values, dtype=np.float32))
            os.replace(tmp, self.folder / f"{name}.npy")
        except OSError:  # a full disk: no half-written file left behind
            tmp.unlink(missing_ok=True)
            raise

    @property
    def video_path(self) -> str:
        return self.meta["video_path"]


class StoreWriter:
    """Fills a store window by window; resumable; atomic completion."""

    def __init__(self, final: Path, meta: dict, shapes: dict[str, tuple[int, ...]], dtype: str = "float16"):
        self.final = final
        self.partial = final.with_name(final.name + PARTIAL)
        self.meta = meta
        progress = self.partial / "progress.json"
        same = progress.exists() and json.loads((self.partial / "meta.json").read_text()) == meta \
            and all((self.partial / f"{name}.npy").exists() for name in shapes) \
            if (self.partial / "meta.json").exists() else False
        dtypes = {name: np.dtype(DTYPES[dtype] if name in ARRAYS else np.float32) for name in shapes}
        nbytes = {name: int(np.prod(shapes[name])) * dtypes[name].itemsize for name in shapes}
        try:
            if not same:
                shutil.rmtree(self.partial, ignore_errors=True)
                self.partial.mkdir(parents=True)
            for name in shapes:
                path = self.partial / f"{name}.npy"
                if not same:
                    np.lib.format.open_memmap(path, mode="w+", dtype=dtypes[name], shape=shapes[name]).flush()
                _reserve(path, nbytes[name], fresh=not same)
            if not same:
                _write_json(self.partial / "meta.json", meta)
                _write_json(progress, {"done": 0})
        except OSError as e:
            if not same:  # nothing of value in it yet, and its files may be most of the disk
                shutil.rmtree(self.partial, ignore_errors=True)
            raise _space_error(final.parent, meta, sum(nbytes.values()), e) from e
        saved = json.loads(progress.read_text())
        # Files written before ranges were kept hold only a prefix count.
        self.ranges: list[list[int]] = saved.get("ranges", [[0, saved["done"]]] if saved["done"] else [])
        self._arrays = {name: np.load(self.partial / f"{name}.npy", mmap_mode="r+") for name in shapes}

    @property
    def total(self) -> int:
        return len(self.meta["starts"])

    @property
    def done(self) -> int:
        """Windows written without a gap from the first one (where sequential indexing resumes)."""
        return self.ranges[0][1] if self.ranges and self.ranges[0][0] == 0 else 0

    @property
    def written(self) -> int:
        return sum(b - a for a, b in self.ranges)

    def has(self, start: int, stop: int) -> bool:
        """True when windows [start, stop) are all on disk."""
        return any(a <= start and stop <= b for a, b in self.ranges)

    def write(self, start: int, **arrays: np.ndarray) -> None:
        """Write rows [start, start+len) and record them as done only once they are on disk."""
        n = len(arrays[ARRAYS[0]])
        for name, a in arrays.items():
            self._arrays[name][start:start + n] = a
            self._arrays[name].flush()
        ranges = _merged([*self.ranges, [start, start + n]])
        try:
            _write_json(self.partial / "progress.json", {"done": sum(b - a for a, b in ranges), "ranges": ranges})
        except OSError as e:  # the windows before are kept: indexing again resumes after them
            raise _space_error(self.final.parent, self.meta, 0, e) from e
        self.ranges = ranges

    def finish(self) -> FeatureStore:
        if not self.has(0, self.total):
            raise RuntimeError("store is not complete")
        self._arrays.clear()
        os.remove(self.partial / "progress.json")
        if self.final.exists():
            shutil.rmtree(self.final)
        os.replace(self.partial, self.final)
        return FeatureStore(self.final)


class FeatureCache:
    def __init__(self, root: str | Path):
        self.root = Path(root)

    def get(self, key: CacheKey) -> FeatureStore | None:
        folder = key.folder(self.root)
        return FeatureStore(folder) if (folder / "meta.json").exists() else None

    def writer(self, key: CacheKey, meta: dict, shapes: dict[str, tuple[int, ...]]) -> StoreWriter:
        return StoreWriter(key.folder(self.root), meta, shapes, key.dtype)

    def partial(self, key: CacheKey) -> tuple[int, int] | None:
        """(windows done, windows in all) of a resumable run of ``key``, or None."""
        folder = key.folder(self.root)
        folder = folder.with_name(folder.name + PARTIAL)
        try:
            done = json.loads((folder / "progress.json").read_text())["done"]
            total = len(json.loads((folder / "meta.json").read_text())["starts"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return done, total

    def stores(self, model_fingerprint: str, spec_key: str, video_fingerprints: list[str] | None = None,
               dtype: str = "float16") -> list[FeatureStore]:
        """Complete stores of a model, window spec and dtype: one per video fingerprint given,
        in that order (the project's videos as they are now), skipping those not indexed.
        Without fingerprints, every such store, except that of several stores indexed from
        one path only the newest counts (the file was replaced since)."""
        if video_fingerprints is not None:
            found = (self.get(CacheKey(model_fingerprint, fp, spec_key, dtype)) for fp in video_fingerprints)
            return [s for s in found if s is not None]
        newest: dict[str, tuple[float, FeatureStore]] = {}
        for folder, meta in self._complete(self.root / model_fingerprint):
            key = CacheKey(model_fingerprint, str(meta.get("video_fingerprint")), spec_key, dtype)
            if key.folder(self.root) != folder:  # the whole name, not a part of it
                continue
            written = (folder / "meta.json").stat().st_mtime
            path = str(meta.get("video_path"))
            if path not in newest or written >= newest[path][0]:
                newest[path] = (written, FeatureStore(folder))
        return [s for _, s in sorted(newest.values(), key=lambda ws: ws[0])]

    @staticmethod
    def _complete(base: Path):
        """(folder, meta) of each complete store directly under ``base``."""
        for d in sorted(base.iterdir()) if base.is_dir() else []:
            if d.name.endswith(PARTIAL):
                continue
            try:
                yield d, json.loads((d / "meta.json").read_text())
            except (OSError, ValueError):
                continue

    def stale(self, current: set[str], paths: set[str] | None = None) -> list[Path]:
        """Store folders (complete or partial, of any model, spec and dtype) whose video
        fingerprint is not in ``current``; with ``paths``, only those indexed from one of them."""
        out = []
        for base in sorted(self.root.iterdir()) if self.root.is_dir() else []:
            for d in sorted(base.iterdir()) if base.is_dir() else []:
                try:
                    meta = json.loads((d / "meta.json").read_text())
                except (OSError, ValueError):
                    continue
                if meta.get("video_fingerprint") in current:
                    continue
                if paths is not None and meta.get("video_path") not in paths:
                    continue
                out.append(d)
        return out

    def remove(self, folders: list[Path]) -> int:
        """Delete store folders; returns the bytes freed."""
        freed = 0
        for d in folders:
            freed += sum(f.stat().st_size for f in d.rglob("*") if f.is_file())
            shutil.rmtree(d, ignore_errors=True)
        return freed
