"""The decode / embed / assemble stages run segment by segment, in any order, build the same
store (features and motion) as local indexing; a half-built store knows which segments it holds."""
from __future__ import annotations

import numpy as np

from ethoscout.core.engine import feature_cache, index_video, resolve_spec
from ethoscout.core.model.runtime import make_vision_backend
from ethoscout.core.pipeline import (Assembler, decode_batches, embed, index_products, plan_segments, prepare,
                                     store_key)
from ethoscout.core.video.preprocess import Preprocessor
from ethoscout.core.video.motion import MOTION_ARRAY
from ethoscout.core.video.probe import probe_video
from ethoscout.core.video.windows import make_windows


def test_plan_segments_align_to_batches_and_skip_done():
    segs = plan_segments(23, size=10, batch_size=4)
    assert [(s.start, s.stop) for s in segs] == [(0, 8), (8, 16), (16, 23)]
    assert [(s.start, s.stop) for s in plan_segments(23, 10, 4, done=lambda a, b: a == 8)] == [(0, 8), (16, 23)]
    assert [len(s) for s in plan_segments(5, size=1, batch_size=2)] == [2, 2, 1]


def test_segments_out_of_order_equal_local_index(tmp_path, long_clip, tiny_model):
    spec = resolve_spec(None, tiny_model)
    backend = make_vision_backend(tiny_model, "torch")
    local = index_video(tmp_path / "local", long_clip, tiny_model, spec, backend, batch_size=2)

    info = probe_video(long_clip)
    windows = make_windows(info.pts_s, info.duration_s, spec)
    pre = Preprocessor.from_config(tiny_model.preprocessor_config)
    cache = feature_cache(tmp_path / "staged")
    key = store_key(tiny_model, info, spec)
    segments = plan_segments(len(windows), size=4, batch_size=2)
    assert len(segments) == 3

    def run(segs):
        store_in = Assembler(cache, key, info, windows, tiny_model, spec, pre)
        for seg in segs:
            for batch in decode_batches(info, windows, pre, 2, seg.start, seg.stop, per_window=index_products(info)):
                assert seg.start <= batch.first and batch.first + len(batch) <= seg.stop
                assert batch.frames.dtype == np.uint8
                store_in.add(embed(backend, prepare(pre, batch)))
        return store_in

    # The last segment first, then a stop: a new run sees exactly what is on disk.
    partial = run([segments[2]])
    assert partial.done == 0 and partial.written == len(segments[2]) and not partial.complete
    again = Assembler(cache, key, info, windows, tiny_model, spec, pre)
    assert [s for s in segments if not again.has(s.start, s.stop)] == segments[:2]
    rest = run(segments[:2])
    assert rest.complete and rest.done == len(windows)
    store = rest.finish()
    assert store.meta == local.store.meta
    assert np.array_equal(np.asarray(store.frame_cls), np.asarray(local.store.frame_cls))
    assert np.array_equal(np.asarray(store.img_features), np.asarray(local.store.img_features))
    assert np.array_equal(store.array(MOTION_ARRAY), local.store.array(MOTION_ARRAY))
