"""A full disk while the feature cache is written: one line naming the folder, no half-written
store left, the process alive. (Written through a memory map, a sparse file on a full disk
killed the process with SIGBUS, with no message and nothing saved.)"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from ethoscout.core.model.cache import StoreWriter

WRITE = """
import os, sys
import numpy as np
from pathlib import Path
if sys.argv[2] == "no-fallocate":  # a system that cannot reserve blocks (macOS, Windows)
    del os.posix_fallocate
from ethoscout.core.model.cache import CacheError, StoreWriter
n = 200
try:
    w = StoreWriter(Path(sys.argv[1]) / "model" / "video_spec", {"video_name": "v.mp4", "starts": list(range(n))},
                    {"frame_cls": (n, 8, 512), "img_features": (n, 49, 512)})
    for i in range(0, n, 10):
        w.write(i, frame_cls=np.ones((10, 8, 512), np.float16), img_features=np.ones((10, 49, 512), np.float16))
except CacheError as e:
    print(e)
    sys.exit(3)
print("written")
"""


@pytest.fixture
def small_disk(tmp_path):
    """A real 4 MB file system (tmpfs), where a store of 11.7 MB cannot fit."""
    mount = tmp_path / "small"
    mount.mkdir()
    if os.name != "posix" or os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("needs root and mount(8) to make a small file system")
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({made.stderr.strip() or made.returncode})")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], capture_output=True)


@pytest.mark.parametrize("system", ["fallocate", "no-fallocate"])
def test_a_store_that_does_not_fit_is_one_error_and_leaves_nothing(small_disk, system):
    run = subprocess.run([sys.executable, "-c", WRITE, str(small_disk), system], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 3, (run.returncode, run.stdout, run.stderr)  # SIGBUS was -7
    line = run.stdout.strip()
    assert "\n" not in line and str(small_disk / "model") in line and "not enough disk space" in line, line
    assert "v.mp4" in line and "MB needed" in line
    assert not any(small_disk.rglob("*.partial")) and shutil.disk_usage(small_disk).used < 1 << 20


def test_reserved_store_reads_back(tmp_path, monkeypatch):
    """Reserved by writing zeros (no posix_fallocate): the arrays keep their header and shape."""
    monkeypatch.delattr(os, "posix_fallocate", raising=False)
    w = StoreWriter(tmp_path / "m" / "v", {"video_name": "v.mp4", "starts": [0, 1, 2], "ends": [2, 3, 4]},
                    {"frame_cls": (3, 2, 4), "img_features": (3, 5, 4)})
    w.write(0, frame_cls=np.full((3, 2, 4), 2, np.float16), img_features=np.full((3, 5, 4), 3, np.float16))
    store = w.finish()
    assert store.frame_cls.shape == (3, 2, 4) and float(store.img_features[2, 4, 3]) == 3.0
