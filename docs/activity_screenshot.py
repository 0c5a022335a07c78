"""Screenshot of the timeline's activity row for docs/ (the window under a real X server):

    Xvfb :99 -screen 0 1600x1000x24 & DISPLAY=:99 python docs/activity_screenshot.py

A real video indexed with a small randomly initialised X-CLIP (the behaviour curve carries no
meaning); the activity row is the weights-free motion channel and means what it says.
"""
from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VIDEO = REPO.parent / "shared" / "data" / "videos" / "mouse_openfield_odortrail_dlc_78s.mp4"
sys.path.insert(0, str(REPO / "packaging"))
sys.path.insert(0, str(REPO / "docs"))
from screenshot import wait  # noqa: E402
from screenshots import demo_window, settle  # noqa: E402


def main() -> int:
    from ethoscout.gui import commands as C

    video = Path(sys.argv[1]) if len(sys.argv) > 1 else VIDEO
    app, window, tmp = demo_window("ethoscout-activity-", 1.0, 0.5)
    s = window.session
    window.run(C.NewProject(str(tmp / "activity")), ask=False)
    window.run(C.AddVideos([str(video)]), ask=False)
    wait(app, lambda: s.videos and all(st.state == "indexed" for st in s.video_status.values()),
         timeout=600, what="indexing")
    window.run(C.AddBehavior("walking", prompts=["a mouse walking around the arena"]), ask=False)
    vid = s.videos[0]["id"]
    wait(app, lambda: vid in s.scope.activity and s.curves.get(vid), timeout=300, what="activity and curves")
    settle(app, 1.5)
    out = REPO / "docs" / "activity-row.png"
    window.grab().save(str(out))
    a = s.scope.activity[vid]
    print("wrote", out, f"({len(a.activity)} windows, {len(a.bouts)} still bouts)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
