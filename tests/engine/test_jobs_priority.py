"""core/jobs.py: priorities, yielding between chunks, cancel semantics, configuration races and
all-or-nothing model switching."""
from __future__ import annotations

import json
import threading

import numpy as np
import pytest

from ethoscout.core.jobs import (CANCELLED, DONE, FAILED, PRIORITY_BACKGROUND, PRIORITY_INTERACTIVE,
                                 PRIORITY_SCORE, ModelConfig, ModelService, index_video_job,
                                 score_job)
from ethoscout.core.model.random_init import build_random_xclip


def blocked(queue):
    """A running job that holds the worker until the returned event is set."""
    gate, started = threading.Event(), threading.Event()
    job = queue.submit(lambda ctx: started.set() or gate.wait(10))
    assert started.wait(5)
    return job, gate


def test_higher_priority_runs_first_fifo_within_a_priority(q):
    order = []
    blocker, gate = blocked(q)
    jobs = [q.submit(lambda ctx, n=n: order.append(n), priority=p, name=n)
            for n, p in [("index a", PRIORITY_BACKGROUND), ("rescore 1", PRIORITY_SCORE),
                         ("preview 1", PRIORITY_INTERACTIVE), ("index b", PRIORITY_BACKGROUND),
                         ("rescore 2", PRIORITY_SCORE), ("preview 2", PRIORITY_INTERACTIVE)]]
    assert [j.name for j in q.jobs()[1:]] == ["preview 1", "preview 2", "rescore 1", "rescore 2",
                                              "index a", "index b"]
    gate.set()
    assert all(j.wait(5) for j in jobs) and blocker.wait(5)
    assert order == ["preview 1", "preview 2", "rescore 1", "rescore 2", "index a", "index b"]


def test_job_helpers_choose_their_priority(q):
    blocker, gate = blocked(q)
    jobs = [q.submit(index_video_job, "p", "v"), q.submit(score_job, "p", {})]
    assert [j.priority for j in jobs] == [PRIORITY_BACKGROUND, PRIORITY_SCORE]
    assert q.submit(score_job, "p", {}, priority=PRIORITY_INTERACTIVE).priority == PRIORITY_INTERACTIVE
    q.cancel_all()
    gate.set()


def test_long_job_yields_between_chunks_and_resumes(q):
    """An urgent job submitted while a long one runs finishes before the long one, which then
    completes every chunk exactly once."""
    events = []
    first_chunk = threading.Event()
    go_on = threading.Event()

    def long(ctx):
        for i in range(6):
            events.append(("chunk", i))
            if i == 0:
                first_chunk.set()
                assert go_on.wait(5)
            ctx.yield_to_urgent()
        return "all chunks"

    background = q.submit(long, priority=PRIORITY_BACKGROUND)
    assert first_chunk.wait(5)
    same_level = q.submit(lambda ctx: events.append("same level"), priority=PRIORITY_BACKGROUND)
    urgent = q.submit(lambda ctx: events.append("urgent"), priority=PRIORITY_INTERACTIVE)
    assert [j.status for j in q.jobs()[:1]] == ["running"]
    go_on.set()
    assert background.wait(5) and urgent.wait(5) and same_level.wait(5)
    assert events.index("urgent") == 1  # right after the chunk that was running
    assert [e for e in events if e != "urgent"][:6] == [("chunk", i) for i in range(6)]
    assert events[-1] == "same level"  # equal priority waits its turn
    assert background.status == DONE and background.result == "all chunks"


def test_yield_only_on_the_worker_thread(q):
    job = q.submit(lambda ctx: ctx)
    assert job.wait(5)
    with pytest.raises(RuntimeError, match="worker thread"):
        job.result.yield_to_urgent()


def test_a_cancelled_job_ends_cancelled_even_when_its_work_finished(q):
    def finishes_anyway(ctx):
        ctx.job.cancel()  # the user cancels while the last item is being finished
        return "finished"

    job = q.submit(finishes_anyway)
    assert job.wait(5)
    assert job.status == CANCELLED and job.result == "finished"  # finished work is still there


# ---- the model service ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def other_model_dir(tmp_path_factory, tiny_model_dir):
    from tests.conftest import TOKENIZER_DIR

    tok = TOKENIZER_DIR if TOKENIZER_DIR.exists() else None
    return build_random_xclip(tmp_path_factory.mktemp("other-xclip"), "tiny", tokenizer_dir=tok,
                              num_frames=8, seed=11)


def run(svc, fn, *args, **kw):
    job = svc.submit(fn, *args, **kw)
    assert job.wait(60)
    return job


def test_configure_during_a_job_does_not_change_its_model(tiny_model_dir, other_model_dir):
    svc = ModelService(ModelConfig(model=str(tiny_model_dir), device="cpu"))
    try:
        first = run(svc, lambda ctx: ctx.model().fingerprint)
        inside, go_on = threading.Event(), threading.Event()

        def reads_twice(ctx):
            a = ctx.model().fingerprint
            inside.set()
            assert go_on.wait(10)
            return a, ctx.model().fingerprint, ctx.scorer().loaded.fingerprint

        job = svc.submit(reads_twice)
        assert inside.wait(30)
        svc.configure(ModelConfig(model=str(other_model_dir), device="cpu"))  # from this thread
        go_on.set()
        assert job.wait(60) and job.status == DONE, job.error
        assert job.result == (first.result,) * 3
        after = run(svc, lambda ctx: ctx.model().fingerprint)
        assert after.status == DONE and after.result != first.result  # the next job switches
    finally:
        assert svc.shutdown(10)


def test_a_job_may_switch_the_model_itself(tiny_model_dir, other_model_dir):
    """configure() inside a job (on the worker) applies to that job at once."""
    svc = ModelService(ModelConfig(model=str(tiny_model_dir), device="cpu"))
    try:
        first = run(svc, lambda ctx: ctx.model().fingerprint).result

        def switch(ctx):
            ctx.queue.configure(ModelConfig(model=str(other_model_dir), device="cpu"))
            return ctx.model().fingerprint

        switched = run(svc, switch)
        assert switched.status == DONE and switched.result != first
        assert svc.applied_config.model == str(other_model_dir)
    finally:
        assert svc.shutdown(10)


def broken_adapter(folder):
    folder.mkdir()
    (folder / "adapter_config.json").write_text(json.dumps({"peft_type": "LORA", "r": "not a number"}))
    (folder / "adapter_model.safetensors").write_bytes(b"not safetensors")
    return folder


def test_failed_switch_rolls_back_and_everything_still_works(tmp_path, tiny_model_dir, video_factory):
    good = ModelConfig(model=str(tiny_model_dir), device="cpu")
    svc = ModelService(good)
    try:
        project, spec = str(tmp_path / "proj"), {"span_s": 1.0, "stride_s": 0.5}
        idx = run(svc, index_video_job, project, str(video_factory("a.mp4", frames=45)), spec)
        assert idx.status == DONE, idx.error
        before = run(svc, score_job, project, {1: ["a square"]}, spec)
        info = dict(svc.model_info)

        for bad in (ModelConfig(model=str(tiny_model_dir), device="cpu",
                                adapter=str(broken_adapter(tmp_path / "v9"))),
                    ModelConfig(model=str(tmp_path / "no-such-model"), device="cpu")):
            svc.configure(bad)
            failed = run(svc, score_job, project, {1: ["a square"]}, spec)
            assert failed.status == FAILED and failed.error_type == "ModelError"
            assert "\n" not in failed.error and ("v9" in failed.error or "no-such-model" in failed.error)
            assert svc.model_error == failed.error
            assert svc.config == good and svc.applied_config == good  # rolled back as a whole
            again = run(svc, score_job, project, {1: ["a square"]}, spec)
            assert again.status == DONE, again.error
            np.testing.assert_array_equal(next(iter(again.result.values())).scores,
                                          next(iter(before.result.values())).scores)
            assert svc.model_info == info
            idx2 = run(svc, index_video_job, project, str(video_factory("b.mp4", frames=30)), spec)
            assert idx2.status == DONE, idx2.error
    finally:
        assert svc.shutdown(10)


def test_preview_runs_while_a_long_index_is_in_progress(tmp_path, tiny_model, tiny_model_dir, video_factory):
    """A preview submitted during indexing finishes before the index does; the index then goes
    on and gives the same features as an index that ran alone."""
    svc = ModelService(ModelConfig(model=str(tiny_model_dir), device="cpu", runtime="torch"))
    project, spec = str(tmp_path / "proj"), {"span_s": 1.0, "stride_s": 0.5}
    try:
        assert run(svc, index_video_job, project, str(video_factory("short.mp4", frames=30)), spec).status == DONE
        long_video = str(video_factory("long.mp4", frames=150))
        previews, seen_done = [], []

        def on_progress(job, p):  # on the worker thread, between batches of the index
            if p.done >= 2 and not previews:
                previews.append(svc.submit(score_job, project, {"typed": ["a square"]}, spec,
                                           priority=PRIORITY_INTERACTIVE))
            elif previews:
                seen_done.append((p.done, previews[0].finished))

        index = svc.submit(index_video_job, project, long_video, spec, batch_size=2, on_progress=on_progress)
        assert index.wait(120) and index.status == DONE, index.error
        preview = previews[0]
        assert preview.status == DONE, preview.error
        assert seen_done and seen_done[0][1] and seen_done[0][0] < len(index.result.store)
        assert list(preview.result) and all(len(c.scores) for c in preview.result.values())
    finally:
        assert svc.shutdown(10)
    from ethoscout.core.engine import index_video
    from ethoscout.core.model.runtime import make_vision_backend
    from ethoscout.core.video.windows import WindowSpec

    alone = index_video(tmp_path / "alone", long_video, tiny_model, WindowSpec(1.0, 0.5, 8),
                        make_vision_backend(tiny_model, "torch"), batch_size=2)
    np.testing.assert_array_equal(index.result.store.frame_cls, alone.store.frame_cls)
    np.testing.assert_array_equal(index.result.store.img_features, alone.store.img_features)
