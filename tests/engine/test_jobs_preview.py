"""core/jobs.py preview_job: the typed text's curve step by step (approximate, visible range
refined first, exact last), equal to score_job's curve; a cancelled preview reports no more."""
from __future__ import annotations

import numpy as np
import pytest

from ethoscout.core.jobs import (CANCELLED, DONE, ModelConfig, ModelService, PreviewProgress, index_video_job,
                                 preview_job, score_job, visible_rows)

SPEC = {"span_s": 1.0, "stride_s": 0.5}
TEXT = "a bright square moving right"
TUNING = {"anchors": 4, "chunk": 4}  # a few windows still give several steps


@pytest.fixture(scope="module")
def indexed(tmp_path_factory, tiny_model_dir):
    """(service, project folder, video fingerprint) with one 10 s video indexed (19 windows)."""
    from tests.conftest import write_video

    folder = tmp_path_factory.mktemp("preview")
    video = write_video(folder / "clip.mp4", frames=150)
    svc = ModelService(ModelConfig(model=str(tiny_model_dir), device="cpu", runtime="torch"))
    project = str(folder / "proj")
    job = svc.submit(index_video_job, project, str(video), SPEC)
    assert job.wait(120) and job.status == DONE, job.error
    yield svc, project, job.result.store
    assert svc.shutdown(10)


def run(svc, fn, *args, **kw):
    job = svc.submit(fn, *args, **kw)
    assert job.wait(60)
    return job


def test_visible_rows():
    starts = np.arange(10) * 0.5
    ends = starts + 1.0
    assert visible_rows(starts, ends, None) is None
    assert visible_rows(starts, ends, (2.0, 3.0)) == (3, 6)  # 1.5-2.5 .. 2.5-3.5; touching ones not
    assert visible_rows(starts, ends, (3.0, 2.0)) == (3, 6)
    assert visible_rows(starts, ends, (0.0, 100.0)) == (0, 10)
    assert visible_rows(starts, ends, (10.0, 12.0)) is None


def test_preview_steps_end_exact_and_equal_score_job(indexed):
    svc, project, store = indexed
    fp, n = store.meta["video_fingerprint"], len(store)
    assert n > 3 * TUNING["chunk"]
    visible = (float(store.starts[-5]), float(store.ends[-4]))  # near the end: not first in order
    lo, hi = visible_rows(store.starts, store.ends, visible)
    steps: list[PreviewProgress] = []
    job = run(svc, preview_job, project, TEXT, fp, SPEC, visible, **TUNING,
              on_progress=lambda job, p: steps.append(p) if isinstance(p, PreviewProgress) else None)
    assert job.status == DONE, job.error

    assert len(steps) >= 3 and all(s.curve.scores.shape == (n, 1) for s in steps)
    assert not steps[0].exact.all() and steps[-1].exact.all() and steps[-1].done == steps[-1].total == n
    # refined in place: each step keeps what was exact and adds windows
    assert all(b.exact[a.exact].all() and b.done > a.done for a, b in zip(steps, steps[1:]))
    # the visible windows are exact while earlier ones are still approximate
    assert any(s.exact[lo:hi].all() and not s.exact[:lo].all() for s in steps)
    # each step is its own snapshot: later refinements do not change what was reported
    assert not np.array_equal(steps[0].curve.scores, steps[-1].curve.scores)
    np.testing.assert_array_equal(job.result.scores, steps[-1].curve.scores)

    exact = run(svc, score_job, project, {"typed": [TEXT]}, SPEC, [fp])
    assert exact.status == DONE, exact.error
    np.testing.assert_allclose(job.result.scores, exact.result[fp].scores, atol=1e-5)
    np.testing.assert_array_equal(job.result.starts, exact.result[fp].starts)


def test_unindexed_video_gives_no_curve(indexed):
    svc, project, _ = indexed
    job = run(svc, preview_job, project, TEXT, "no-such-fingerprint", SPEC)
    assert job.status == DONE and job.result is None


def test_cancelled_preview_reports_no_further_step(indexed):
    svc, project, store = indexed
    steps = []

    def on_progress(job, p):  # on the worker thread: a newer text arrives after the first step
        if isinstance(p, PreviewProgress):
            steps.append(p)
            job.cancel()

    job = run(svc, preview_job, project, "a square", store.meta["video_fingerprint"], SPEC, **TUNING,
              on_progress=on_progress)
    assert job.status == CANCELLED and len(steps) == 1 and not steps[0].exact.all()
