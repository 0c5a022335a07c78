"""The labelled bouts kept for learning checks (tests/learn/data/shared_events.boris) import as
they were marked, onto the shared videos they name."""
from __future__ import annotations

from pathlib import Path

from ethoscout.core.data.imports import parse_file

from ..conftest import SHARED

BORIS = Path(__file__).parent / "data" / "shared_events.boris"


def test_marked_bouts_parse_and_name_only_shared_media():
    parsed = parse_file(BORIS)
    bouts = parsed.bouts
    assert len(bouts) == 26
    media = {b.media for b in bouts}
    assert len(media) == 16 and all("/" not in m for m in media)  # names only, no local paths
    by_name = {(b.media, b.behavior): (b.start_s, b.end_s) for b in bouts}
    assert by_name[("mouse_reach_grasp_dlc_8s.avi", "reach")] == (1.4, 1.9)
    if (SHARED / "data").exists():
        found = {p.name for p in (SHARED / "data").rglob("*") if p.is_file()}
        assert media <= found
