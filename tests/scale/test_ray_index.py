"""Indexing on a Ray cluster (a private 2-CPU one on 127.0.0.1, started here) gives the very
store local indexing gives, survives a killed worker and a killed driver."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"  # the test cluster listens on 127.0.0.1 only
pytest.importorskip("ray.data", reason="ray is not installed (pip install -e \".[ray]\")")

from ethoscout.core.data.project import Project  # noqa: E402
from ethoscout.core.engine import index_videos, score_queries  # noqa: E402
from ethoscout.core.scale.ray_index import index_videos_ray  # noqa: E402
from ethoscout.core.video.motion import MOTION_ARRAY  # noqa: E402
from tests.conftest import shared_video  # noqa: E402

VIDEOS = ("cockatoo_closeup_imageio_14s.mp4", "horse_led_walk_trot_amadeus_13s.mp4")
SMALL = dict(runtime="torch", batch_size=2)  # 2-window batches, segments of 2: many work units


@pytest.fixture(scope="module")
def cluster():
    import ray

    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    context = ray.init(num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1",
                       logging_level="ERROR", log_to_driver=False)
    yield context.address_info["gcs_address"]
    ray.shutdown()


@pytest.fixture(scope="module")
def videos():
    return [str(shared_video(n)) for n in VIDEOS]


@pytest.fixture(scope="module")
def local_stores(tmp_path_factory, tiny_model, videos):
    """The reference: both videos indexed locally, float32 stores (so 1e-6 means something)."""
    folder = tmp_path_factory.mktemp("local")
    results = index_videos(folder, videos, model=tiny_model, cache_dtype="float32", **SMALL)
    assert [r.status for r in results] == ["indexed", "indexed"]
    return folder, {r.path: r.store for r in results}


def assert_same_stores(results, reference):
    assert all(r.status == "indexed" for r in results), [r.message for r in results]
    for r in results:
        ref = reference[r.path]
        assert r.store.meta == ref.meta
        for name in ("frame_cls", "img_features", MOTION_ARRAY):
            np.testing.assert_allclose(r.store.array(name), ref.array(name), rtol=0, atol=1e-6, err_msg=name)


def our_workers(name: str):
    """Processes of this test's own Ray node whose command line shows ``name``."""
    import psutil
    import ray

    raylet = ray._private.worker._global_node.all_processes["raylet"][0].process.pid
    return [p for p in psutil.Process(raylet).children(recursive=True)
            if name in " ".join(p.cmdline())]


def test_features_and_scores_equal_local_indexing(cluster, tmp_path, tiny_model, videos, local_stores):
    local, ref = local_stores
    seen = []
    results = index_videos_ray(tmp_path / "ray", videos, model=tiny_model, segment_windows=2, cache_dtype="float32",
                               on_progress=lambda p: seen.append((p.done, p.total)), **SMALL)
    assert_same_stores(results, ref)
    # one progress bar over both videos, ending complete
    total = sum(len(s) for s in ref.values())
    assert {t for _, t in seen} == {total} and seen[-1][0] == total
    queries = ["a bird raising its crest", "a horse trotting"]
    for a, b in zip(score_queries(local, queries, model=tiny_model),
                    score_queries(tmp_path / "ray", queries, model=tiny_model)):
        np.testing.assert_allclose(a.scores, b.scores, rtol=0, atol=1e-6)
    with Project.open(tmp_path / "ray") as db:
        assert sorted(v["path"] for v in db.videos()) == sorted(str(Path(v).resolve()) for v in videos)
    # Nothing left to do the second time.
    again = index_videos_ray(tmp_path / "ray", videos, model=tiny_model, cache_dtype="float32", **SMALL)
    assert [r.status for r in again] == ["cached", "cached"]


def test_killed_worker_and_bad_file_cost_the_others_nothing(cluster, tmp_path, tiny_model, videos, local_stores):
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video at all")
    killed = []

    def kill_once(p):
        if not killed and p.done >= 2:
            procs = our_workers("Embedder")
            assert procs, "no embedding actor found"
            for proc in procs:
                proc.send_signal(signal.SIGKILL)
            killed.extend(procs)

    bad, good = index_videos_ray(tmp_path / "p", [str(broken), videos[1]], model=tiny_model, segment_windows=2,
                                 cache_dtype="float32", on_progress=kill_once, **SMALL)
    assert killed
    assert bad.status == "error" and "broken.mp4" in bad.message and "\n" not in bad.message
    assert_same_stores([good], local_stores[1])


def test_killed_driver_resumes(cluster, tmp_path, tiny_model_dir, tiny_model):
    # 128 s at 192 px: quick to decode, 127 windows, so the kill lands with work left
    video = str(shared_video("fly_single_egocentric_sleap_128s.mp4"))
    project = tmp_path / "p"
    cmd = [sys.executable, "-m", "ethoscout.core.cli", "index", "--project", str(project), "--model",
           str(tiny_model_dir), "--runtime", "torch", "--batch-size", "2", "--executor", "ray",
           "--address", cluster, "--segment-windows", "8", video]
    child = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline, written = time.monotonic() + 180, 0
    while time.monotonic() < deadline and child.poll() is None and not written:
        for f in project.glob("features/*/*.partial/progress.json"):
            written = max(written, json.loads(f.read_text())["done"])
        time.sleep(0.02)
    child.send_signal(signal.SIGKILL)
    _, err = child.communicate(timeout=60)
    assert written, f"the driver never wrote a segment: {err[-2000:]}"

    resumed = []
    [result] = index_videos_ray(project, [video], model=tiny_model, segment_windows=8,
                                on_progress=lambda p: resumed.append(p.first_done), **SMALL)
    assert resumed and resumed[0] >= written  # the killed run's segments were kept
    [ref] = index_videos(tmp_path / "local", [video], model=tiny_model, **SMALL)
    assert_same_stores([result], {ref.path: ref.store})


def test_cluster_listens_on_loopback_only(cluster):
    import psutil
    import ray

    @ray.remote
    def where():
        return ray.util.get_node_ip_address()

    assert ray.get(where.remote()) == "127.0.0.1"
    ours = {p.pid for p in our_workers("")} | {ray._private.worker._global_node.all_processes["raylet"][0].process.pid}
    bound = {c.laddr.ip for c in psutil.net_connections("inet") if c.status == psutil.CONN_LISTEN and c.pid in ours}
    assert bound and bound <= {"127.0.0.1", "::ffff:127.0.0.1"}, bound
