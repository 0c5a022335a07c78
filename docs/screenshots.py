"""Screenshots of the review loop for docs/ (the window under a real X server):

    Xvfb :91 -screen 0 1600x1000x24 & DISPLAY=:91 python docs/screenshots.py

- review_two_videos.png: reviewing suggestions that span two real videos, the clip under review
  on the second one (player, timeline, overview and Suggestions panel on the same clip);
- coding_by_key.png: behaviours with keys, state and point events coded at the frame on screen,
  one state event still open;
- training_monitor.png: the Training tab after a real training run on the answers.

A small randomly initialised X-CLIP scores the videos (no weights are downloaded): the curves
carry no meaning; the screenshots show the window.
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VIDEOS = REPO.parent / "shared" / "data" / "videos"
TOKENIZER = REPO.parent / "shared" / "models" / "clip-vit-base-patch32-tokenizer"
sys.path.insert(0, str(REPO / "packaging"))
from screenshot import wait  # noqa: E402  (the same wait as the README screenshot)


def settle(app, seconds=0.6):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.02)


def demo_window(prefix: str, span_s: float, stride_s: float):
    """(app, window, tmp): the window on screen with a tiny random X-CLIP and its own settings
    file in a fresh temporary folder."""
    from PySide6.QtCore import QSettings

    from ethoscout.core.model.random_init import build_random_xclip
    from ethoscout.gui.application import make_app, make_window
    from ethoscout.gui.prefs import Prefs

    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    model = build_random_xclip(tmp / "model", "tiny", tokenizer_dir=TOKENIZER if TOKENIZER.exists() else None)
    app = make_app([sys.argv[0]])
    window = make_window(settings=QSettings(str(tmp / "settings.ini"), QSettings.Format.IniFormat))
    window.apply_prefs(Prefs(model=str(model), device="cpu", span_s=span_s, stride_s=stride_s))
    window.resize(1600, 960)
    window.show()
    return app, window, tmp


def main() -> int:
    from ethoscout.gui import commands as C

    app, window, tmp = demo_window("ethoscout-shots-", 2.0, 1.0)
    s = window.session
    videos = [VIDEOS / "mouse_circular_arena_vame_30s.mp4", VIDEOS / "mice_triplet_mabe_amadeus_60s.mp4"]
    window.run(C.NewProject(str(tmp / "two-videos")), ask=False)
    window.run(C.AddVideos([str(v) for v in videos]), ask=False)
    wait(app, lambda: len(s.videos) == 2 and all(st.state == "indexed" for st in s.video_status.values()),
         timeout=300, what="indexing")
    window.run(C.AddBehavior("rearing", prompts=["a mouse rearing up on its hind legs"], key="e"), ask=False)
    window.run(C.AddBehavior("sniffing", prompts=["a mouse sniffing another mouse"], key="f"), ask=False)
    window.run(C.AddBehavior("jump", prompts=["a mouse jumping"], key="j", kind="point"), ask=False)
    wait(app, lambda: all(b["id"] in s.curves.get(v["id"], {}) for b in s.behaviors for v in s.videos),
         timeout=300, what="curves")
    s.select_behavior(s.behaviors[1]["id"])
    settle(app)
    # review: answer on the first video, then on the second, and leave a clip of it under review
    first_video, second_video = (v["id"] for v in s.videos)
    window.answer("accept")  # shows the first clip
    answered_second = 0
    for i in range(40):
        if s.clip is None or answered_second >= 3:
            break
        answered_second += s.clip.video_id == second_video
        window.answer(("accept", "reject")[i % 2])
        settle(app, 0.1)
    if s.clip is None or s.clip.video_id != second_video:
        s.review(next(x for x in s.suggestions if x.video_id == second_video))
    c = s.clip
    s.set_visible(c.start_s - 12, c.end_s + 12)
    settle(app, 1.5)
    out = REPO / "docs"
    window.grab().save(str(out / "review_two_videos.png"))

    # coding by key on the second video
    s.stop_review()
    window.player.pause()
    info = window.player.info
    for frame, key in ((300, "f"), (420, "f"), (520, "j"), (700, "e"), (790, "e"), (900, "j"), (1000, "f")):
        window.player.seek_frame(frame)
        settle(app, 0.1)
        window.code_key(s.behavior_for_key(key)["id"])
    window.player.seek_frame(1090)  # the open "sniffing" event runs to the playhead
    s.set_visible(info.time_of(250), info.time_of(1150))
    window.docks["Labels"].raise_()
    settle(app, 1.0)
    window.grab().save(str(out / "coding_by_key.png"))

    # a real training run on the answers
    finished = []
    window.runner.finished.connect(finished.append)
    window.start_training(epochs=12)
    wait(app, lambda: bool(finished), timeout=600, what="training")
    wait(app, lambda: s.view.model is not None and s.view.model.adapter_version is not None, what="adapter")
    window.docks["Training"].raise_()
    settle(app, 1.5)
    window.grab().save(str(out / "training_monitor.png"))
    print("wrote", ", ".join(str(out / n) for n in ("review_two_videos.png", "coding_by_key.png",
                                                     "training_monitor.png")))
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
