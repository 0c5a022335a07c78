"""The window's activity row: per-window motion activity of one video and its still bouts,
read from the motion array the index pass stored (no model call, no decoding)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..jobs import PRIORITY_SCORE, job_priority, window_spec
from ..video.motion import MOTION_ARRAY, STILL_SPEED, activity, still_bouts


@dataclass
class ActivityData:
    fingerprint: str
    starts: np.ndarray
    ends: np.ndarray
    activity: np.ndarray  # px/s per window; empty when the store has no motion yet
    bouts: list[tuple[float, float]]  # immobility (freezing) bouts, seconds
    has_motion: bool


@job_priority(PRIORITY_SCORE)
def activity_job(ctx, project_folder: str, fingerprint: str, spec: dict | None = None,
                 threshold: float = STILL_SPEED, min_s: float = 2.0) -> ActivityData | None:
    """Activity of the video with this fingerprint for the current model and window spec;
    None when it has no complete store."""
    from ..engine import indexed_stores

    for store in indexed_stores(project_folder, ctx.model(), window_spec(ctx, spec)):
        if store.meta["video_fingerprint"] != fingerprint:
            continue
        motion = store.array(MOTION_ARRAY)
        starts, ends = np.asarray(store.starts, float), np.asarray(store.ends, float)
        if motion is None:
            return ActivityData(fingerprint, starts, ends, np.zeros(0), [], False)
        return ActivityData(fingerprint, starts, ends, activity(motion),
                            still_bouts(starts, ends, motion, threshold, min_s), True)
    return None
