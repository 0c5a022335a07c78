"""index_video through the pipeline: same features as the sequential path, resumable after a
cancel, and end to end with ONNX Runtime."""
from __future__ import annotations

import json

import numpy as np

from ethoscout.core import engine
from ethoscout.core.engine import index_video, index_videos, resolve_spec, score_queries
from ethoscout.core.model.runtime import make_vision_backend
from ethoscout.core.pipeline import sequential_batches
from ethoscout.core.progress import CancelToken
from ethoscout.core.video.preprocess import Preprocessor
from ethoscout.core.video.probe import probe_video
from ethoscout.core.video.windows import make_windows


def sequential_features(path, loaded, spec, backend, batch_size):
    """The reference: decode everything in this thread, then encode batch by batch."""
    info = probe_video(path)
    windows = make_windows(info.pts_s, info.duration_s, spec)
    pre = Preprocessor.from_config(loaded.preprocessor_config)
    outs = [backend.encode(b.pixels) for b in sequential_batches(info, windows, pre, batch_size)]
    return (np.concatenate([o[0] for o in outs]).astype(np.float16),
            np.concatenate([o[1] for o in outs]).astype(np.float16))


def test_pipeline_features_are_bit_identical_to_sequential(tmp_path, long_clip, tiny_model):
    spec = resolve_spec(None, tiny_model)
    backend = make_vision_backend(tiny_model, "torch")
    result = index_video(tmp_path / "p", long_clip, tiny_model, spec, backend, batch_size=3)
    assert result.status == "indexed"
    frame_cls, img = sequential_features(long_clip, tiny_model, spec, backend, 3)
    assert np.array_equal(np.asarray(result.store.frame_cls), frame_cls)
    assert np.array_equal(np.asarray(result.store.img_features), img)


def test_cancel_mid_video_then_resume(tmp_path, long_clip, tiny_model):
    spec = resolve_spec(None, tiny_model)
    backend = make_vision_backend(tiny_model, "torch")
    cancel, seen = CancelToken(), []

    def on_progress(p):
        seen.append(p.done)
        if p.done >= 4:
            cancel.cancel()

    first = index_video(tmp_path / "p", long_clip, tiny_model, spec, backend, batch_size=2,
                        on_progress=on_progress, cancel=cancel)
    n = 9
    assert first.status == "cancelled" and "resumes next time" in first.message
    partial = next((tmp_path / "p" / engine.FEATURES_DIR).rglob("*.partial"))
    done = json.loads((partial / "progress.json").read_text())["done"]
    assert 4 <= done < n and seen[-1] == done

    resumed = []
    second = index_video(tmp_path / "p", long_clip, tiny_model, spec, backend, batch_size=2,
                         on_progress=lambda p: resumed.append((p.first_done, p.done)))
    assert second.status == "indexed" and len(second.store) == n
    assert resumed[0] == (done, done) and resumed[-1][1] == n
    fresh = index_video(tmp_path / "q", long_clip, tiny_model, spec, backend, batch_size=2)
    assert np.array_equal(np.asarray(second.store.img_features), np.asarray(fresh.store.img_features))
    assert np.array_equal(np.asarray(second.store.frame_cls), np.asarray(fresh.store.frame_cls))


def test_cancel_before_start_writes_nothing_and_stops(tmp_path, long_clip, tiny_model):
    cancel = CancelToken()
    cancel.cancel()
    spec = resolve_spec(None, tiny_model)
    r = index_video(tmp_path / "p", long_clip, tiny_model, spec, make_vision_backend(tiny_model, "torch"),
                    cancel=cancel)
    assert r.status == "cancelled" and "0/9" in r.message


def test_index_with_onnx_runtime_end_to_end(tmp_path, video_factory, tiny_model):
    clip = video_factory("mouse.mp4", frames=90, fps=15.0)
    [ort_result] = index_videos(tmp_path / "ort", [clip], model=tiny_model, runtime="ort")
    [torch_result] = index_videos(tmp_path / "torch", [clip], model=tiny_model, runtime="torch")
    assert ort_result.status == torch_result.status == "indexed"
    queries = ["a mouse rearing", "grooming"]
    [ort_scores] = score_queries(tmp_path / "ort", queries, model=tiny_model)
    [torch_scores] = score_queries(tmp_path / "torch", queries, model=tiny_model)
    assert ort_scores.scores.shape == (len(ort_result.store), 2)
    # Stated tolerance: ORT fp32 features, stored as float16 like torch's, give cosine scores
    # within 2e-3 of torch's.
    np.testing.assert_allclose(ort_scores.scores, torch_scores.scores, atol=2e-3)


def test_int8_scores_close_to_torch(tmp_path, video_factory, tiny_model):
    clip = video_factory("mouse.mp4", frames=90, fps=15.0)
    [a] = index_videos(tmp_path / "int8", [clip], model=tiny_model, runtime="ort-int8")
    [b] = index_videos(tmp_path / "torch", [clip], model=tiny_model, runtime="torch")
    sa = score_queries(tmp_path / "int8", ["rearing", "walking"], model=tiny_model)[0].scores
    sb = score_queries(tmp_path / "torch", ["rearing", "walking"], model=tiny_model)[0].scores
    # Stated tolerance for int8: cosine scores within 0.05 of torch's.
    np.testing.assert_allclose(sa, sb, atol=0.05)
