"""core/jobs.py: the Qt-free job queue and the model service."""
from __future__ import annotations

import threading
import time

import pytest

from ethoscout.core.errors import EthoscoutError
from ethoscout.core.jobs import (CANCELLED, DONE, FAILED, JobQueue, ModelConfig, ModelService,
                                 cache_status_job, index_video_job, score_job)
from ethoscout.core.progress import Progress


def test_jobs_run_in_order_on_one_thread(q):
    seen = []

    def work(ctx, n):
        seen.append((n, threading.current_thread().name))
        return n * 2

    jobs = [q.submit(work, i) for i in range(5)]
    assert all(j.wait(5) for j in jobs)
    assert [j.result for j in jobs] == [0, 2, 4, 6, 8]
    assert [n for n, _ in seen] == [0, 1, 2, 3, 4]
    assert {t for _, t in seen} == {"test-jobs"}
    assert all(j.status == DONE for j in jobs)


def test_jobs_same_key_latest_wins(q):
    gate = threading.Event()
    ran = []
    blocker = q.submit(lambda ctx: gate.wait(5))
    first = q.submit(lambda ctx: ran.append("first"), key="score")
    second = q.submit(lambda ctx: ran.append("second"), key="score")
    assert first.wait(1) and first.status == CANCELLED  # replaced before it started
    gate.set()
    assert second.wait(5) and blocker.wait(5)
    assert ran == ["second"]


def test_jobs_cancel_running_job_and_report_progress(q):
    started = threading.Event()
    reports = []

    def long(ctx):
        p = Progress("counting", total=1000)
        for i in range(1000):
            ctx.check()
            p.done = i + 1
            ctx.report(p)
            started.set()
            time.sleep(0.002)
        return "finished"

    job = q.submit(long, on_progress=lambda j, p: reports.append(p.done))
    assert started.wait(5)
    job.cancel()
    assert job.wait(5)
    assert job.status == CANCELLED and job.result is None
    assert 0 < len(reports) < 1000


def test_jobs_errors_become_one_line_messages(q):
    def bad_input(ctx):
        raise EthoscoutError("clip.mp4: not a readable video")

    def bug(ctx):
        raise KeyError("oops")

    a, b = q.submit(bad_input, name="index clip"), q.submit(bug, name="scoring")
    after = q.submit(lambda ctx: "still alive")
    assert a.wait(5) and b.wait(5) and after.wait(5)
    assert (a.status, a.error, a.error_type) == (FAILED, "clip.mp4: not a readable video", "EthoscoutError")
    assert b.status == FAILED and b.error.startswith("scoring failed: KeyError")
    assert after.result == "still alive"


def test_jobs_done_callback_and_shutdown_cancels_queued():
    queue = JobQueue("test-shutdown")
    gate = threading.Event()
    done = []
    running = queue.submit(lambda ctx: [ctx.check() or gate.wait(0.01) for _ in range(500)] and None,
                           on_done=lambda j: done.append(("running", j.status)))
    queued = queue.submit(lambda ctx: "never", on_done=lambda j: done.append(("queued", j.status)))
    time.sleep(0.05)
    t0 = time.monotonic()
    assert queue.shutdown(5)
    assert time.monotonic() - t0 < 2
    assert ("queued", CANCELLED) in done and ("running", CANCELLED) in done
    assert running.finished and queued.finished
    with pytest.raises(RuntimeError):
        queue.submit(lambda ctx: None)


def test_model_service_owns_the_model_and_reports_load_errors(tmp_path, tiny_model_dir, video_factory):
    svc = ModelService(ModelConfig(model=str(tmp_path / "no-such-model"), device="cpu"))
    try:
        bad = svc.submit(lambda ctx: ctx.model())
        assert bad.wait(30)
        assert bad.status == FAILED and bad.error_type == "ModelError"
        assert "model folder not found" in bad.error and svc.model_error == bad.error

        svc.configure(ModelConfig(model=str(tiny_model_dir), device="cpu"))
        clip = video_factory("a.mp4", frames=45)
        spec = {"span_s": 1.0, "stride_s": 0.5}
        idx = svc.submit(index_video_job, str(tmp_path / "proj"), str(clip), spec)
        assert idx.wait(60) and idx.status == DONE, idx.error
        assert idx.result.status == "indexed"
        status = svc.submit(cache_status_job, str(tmp_path / "proj"), spec)
        assert status.wait(30) and list(status.result.values()) == [1.0]
        scored = svc.submit(score_job, str(tmp_path / "proj"), {7: ["a square", "a moving square"], 9: ["dark"]}, spec)
        assert scored.wait(30) and scored.status == DONE, scored.error
        (data,) = scored.result.values()
        assert data.keys == [7, 9] and data.scores.shape == (len(idx.result.store), 2)
        name = svc.submit(lambda ctx: threading.current_thread().name)
        assert name.wait(5) and name.result == "ethoscout-model"
        assert svc.model_info["num_frames"] == 8
    finally:
        assert svc.shutdown(10)
