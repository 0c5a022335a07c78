"""Model download (through the real huggingface_hub client against a local stand-in hub),
offline mode, and the warm-up steps reported before the first result."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from ethoscout.core.model import hub
from ethoscout.core.progress import DOWNLOAD, WARMUP, CancelToken, Cancelled

from .hub_server import FakeHub

REPO = "test/xclip-tiny"


def test_download_reports_bytes_and_lands_in_the_hub_cache(online, tiny_model_dir):
    sizes = {p.name: p.stat().st_size for p in tiny_model_dir.iterdir() if p.is_file()}
    with FakeHub(REPO, tiny_model_dir) as server:
        plan = hub.plan_download(REPO, endpoint=server.endpoint)
        assert plan.total == sum(sizes.values()) and plan.to_fetch == plan.total
        seen = []
        folder = hub.download_model(REPO, on_progress=lambda p: seen.append((p.task, p.done, p.total)),
                                    endpoint=server.endpoint)
    assert {t for t, _, _ in seen} == {DOWNLOAD}
    done = [d for _, d, _ in seen]
    assert done == sorted(done) and done[0] == 0 and done[-1] == plan.total
    assert len(set(done)) > 2  # progress moved in steps, not only at the end
    assert folder.is_relative_to(online) and (folder / "model.safetensors").stat().st_size == sizes["model.safetensors"]
    assert hub.cached_folder(REPO) == folder
    # a second time nothing is fetched
    with FakeHub(REPO, tiny_model_dir) as server:
        assert hub.plan_download(REPO, endpoint=server.endpoint).to_fetch == 0
        hub.download_model(REPO, endpoint=server.endpoint)
        assert not [r for r in server.requests if r.startswith("GET") and "/resolve/" in r]


def test_cancelled_download_stops_early_and_a_new_one_completes(online, tiny_model_dir):
    token = CancelToken()

    def cancel_once_bytes_arrive(p):
        if p.done > 0:
            token.cancel()

    total = sum(p.stat().st_size for p in tiny_model_dir.iterdir() if p.is_file())
    with FakeHub(REPO, tiny_model_dir, chunk=16 * 1024, delay_s=0.002) as server:
        with pytest.raises(Cancelled):
            hub.download_model(REPO, on_progress=cancel_once_bytes_arrive, cancel=token, endpoint=server.endpoint)
        assert hub.cached_folder(REPO) is None
        assert server.bytes_sent < total  # it stopped before everything arrived
        got = []
        hub.download_model(REPO, on_progress=lambda p: got.append(p.done), endpoint=server.endpoint)
    assert got[-1] == total and hub.cached_folder(REPO) is not None


def test_unreachable_hub_is_one_line_naming_hf_download(online):
    with pytest.raises(hub.DownloadError) as e:
        hub.plan_download("microsoft/xclip-base-patch32", endpoint="http://127.0.0.1:9")
    text = str(e.value)
    assert "\n" not in text and "could not be reached" in text
    assert "`hf download microsoft/xclip-base-patch32`" in text and "huggingface-cli" not in text


def test_missing_repo_and_bin_only_repo(online, tiny_model_dir, tmp_path):
    with FakeHub(REPO, tiny_model_dir) as server:
        with pytest.raises(hub.DownloadError, match="no such model on the hub"):
            hub.plan_download("test/nothing-here", endpoint=server.endpoint)
    bin_only = tmp_path / "bin-only"
    bin_only.mkdir()
    (bin_only / "config.json").write_text("{}")
    (bin_only / "pytorch_model.bin").write_bytes(b"\0" * 10)
    with FakeHub(REPO, bin_only) as server:
        with pytest.raises(hub.DownloadError, match="no safetensors weights"):
            hub.plan_download(REPO, endpoint=server.endpoint)


def test_offline_mode_is_said_in_one_line():
    # the suite runs with HF_HUB_OFFLINE=1 (tests/conftest.py), as a field station would
    assert os.environ.get("HF_HUB_OFFLINE") == "1"
    line = hub.offline_reason()
    assert line and "HF_HUB_OFFLINE" in line and "\n" not in line
    with pytest.raises(hub.DownloadError, match="offline mode"):
        hub.plan_download("microsoft/xclip-base-patch32")
    from ethoscout.core.model.loading import ModelError, load_xclip

    with pytest.raises(ModelError) as e:
        load_xclip("microsoft/xclip-base-patch32-not-cached")
    assert "offline mode" in str(e.value) and "hf download" in str(e.value)


def test_warmup_steps_are_reported_before_indexing(tiny_model, video_factory, tmp_path, monkeypatch):
    from ethoscout.core import engine

    monkeypatch.setenv("ETHOSCOUT_CACHE", str(tmp_path / "cache"))  # no ONNX export yet
    steps, windows = [], []
    engine.index_videos(tmp_path / "p", [video_factory("v.mp4", frames=45)], model=tiny_model, runtime="ort-int8",
                        on_progress=lambda p: windows.append(p.task), on_warmup=lambda p: steps.append((p.task, p.item)))
    assert {t for t, _ in steps} == {WARMUP} and WARMUP not in windows
    items = [i for _, i in steps]
    order = ["exporting the vision tower to ONNX", "quantising the vision graph to int8",
             "optimising the int8 graph"]
    at = [next(n for n, i in enumerate(items) if i.startswith(o)) for o in order]
    assert at == sorted(at)
    # exported once: the next run only optimises the cached graph for this machine
    steps.clear()
    engine.index_videos(tmp_path / "q", [video_factory("w.mp4", frames=45)], model=tiny_model, runtime="ort-int8",
                        on_warmup=lambda p: steps.append(p.item))
    assert len(steps) == 1 and steps[0].startswith("optimising")


def test_model_service_reports_loading_as_job_progress(tiny_model_dir):
    from ethoscout.core.jobs import ModelConfig, ModelService

    svc = ModelService(ModelConfig(model=str(tiny_model_dir), device="cpu"))
    seen = []
    job = svc.submit(lambda ctx: ctx.model().num_frames, on_progress=lambda j, p: seen.append((p.task, p.item)))
    assert job.wait(120) and job.result == 8
    assert (WARMUP, f"loading {tiny_model_dir.name} weights") in seen
    svc.shutdown(10)


def test_cli_index_prints_warmup_steps(tiny_model_dir, video_factory, tmp_path):
    env = {**os.environ, "ETHOSCOUT_CACHE": str(tmp_path / "cache")}
    r = subprocess.run([sys.executable, "-m", "ethoscout.core.cli", "index", "--project", str(tmp_path / "p"),
                        "--model", str(tiny_model_dir), "--runtime", "ort-int8", str(video_factory("v.mp4", frames=30))],
                       capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode == 0, r.stderr
    assert f"loading {tiny_model_dir.name} weights ..." in r.stderr
    assert "exporting the vision tower to ONNX (once per model) ..." in r.stderr
    assert "Traceback" not in r.stderr
