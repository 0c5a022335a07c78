"""Deep mode's inputs: the labelled windows decoded again as normalised pixels (the vision tower
is trained too, so cached features can't stand in). Held in memory as float16."""
from __future__ import annotations

import numpy as np

from ..model.loading import LoadedModel
from ..video.decode import iter_windows
from ..video.preprocess import Preprocessor
from ..video.probe import probe_video
from ..video.windows import Windows
from .examples import LabelledWindows


def labelled_pixels(data: LabelledWindows, loaded: LoadedModel, cancel=None) -> np.ndarray:
    """(W, T, 3, H, W) float16, rows in ``data`` order."""
    pre = Preprocessor.from_config(loaded.preprocessor_config)
    out = None
    for si, store in enumerate(data.stores):
        rows = np.flatnonzero(data.store_index == si)
        if len(rows) == 0:
            continue
        info = probe_video(store.meta["video_path"])
        order = rows[np.argsort(data.window_index[rows])]
        wi = data.window_index[order]
        frames = np.asarray(store.meta["frames"], dtype=np.int64)[wi]
        windows = Windows(starts=store.starts[wi], ends=store.ends[wi], frames=frames)
        for k, stack in iter_windows(info, windows, pre.resize_crop):
            if cancel is not None:
                cancel.check()
            px = pre.normalize(stack[None])[0].astype(np.float16)
            if out is None:
                out = np.zeros((len(data),) + px.shape, dtype=np.float16)
            out[order[k]] = px
    return out
