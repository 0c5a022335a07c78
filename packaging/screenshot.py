"""Build a demo state in the real window and save a screenshot (docs/screenshot.png).

    xvfb-run -s "-screen 0 1600x1000x24" python packaging/screenshot.py [--video PATH] [--out PNG]

A temporary project with a real video, indexed with a small randomly initialised X-CLIP
(no weights are downloaded; its curves carry no meaning, the window is what is shown), a few
behaviours, answered suggestions and a hand-marked bout.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_VIDEO = REPO.parent / "shared" / "data" / "videos" / "mouse_circular_arena_vame_30s.mp4"
TOKENIZER = REPO.parent / "shared" / "models" / "clip-vit-base-patch32-tokenizer"
BEHAVIOURS = [
    ("rearing", ["a mouse rearing up on its hind legs", "a mouse standing upright against the wall"]),
    ("grooming", ["a mouse grooming its face with its paws"]),
    ("walking along the wall", ["a mouse walking along the arena wall"]),
    ("resting", ["a mouse sitting still in the arena"]),
]


def wait(app, cond, timeout=120.0, what="work"):
    end = time.monotonic() + timeout
    while not cond():
        app.processEvents()
        time.sleep(0.01)
        if time.monotonic() > end:
            raise TimeoutError(f"timed out waiting for {what}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--video", default=str(DEFAULT_VIDEO))
    ap.add_argument("--out", default=str(REPO / "docs" / "screenshot.png"))
    ap.add_argument("--size", default="1600x960")
    ap.add_argument("--keep", action="store_true", help="keep the window open afterwards")
    args = ap.parse_args(argv)

    from PySide6.QtCore import QSettings

    from ethoscout.core.model.random_init import build_random_xclip
    from ethoscout.gui import commands as C
    from ethoscout.gui.application import make_app, make_window
    from ethoscout.gui.prefs import Prefs

    tmp = Path(tempfile.mkdtemp(prefix="ethoscout-demo-"))
    model = build_random_xclip(tmp / "model", "tiny", tokenizer_dir=TOKENIZER if TOKENIZER.exists() else None)
    app = make_app([sys.argv[0]])
    settings = QSettings(str(tmp / "settings.ini"), QSettings.Format.IniFormat)
    window = make_window(settings=settings)
    window.apply_prefs(Prefs(model=str(model), device="cpu", span_s=2.0, stride_s=0.5))
    w, h = (int(x) for x in args.size.split("x"))
    window.resize(w, h)
    window.show()
    s = window.session
    window.run(C.NewProject(str(tmp / "demo-project")), ask=False)
    window.run(C.AddVideos([args.video]), ask=False)
    wait(app, lambda: s.videos and s.video_status[s.videos[0]["id"]].state == "indexed", what="indexing")
    for name, prompts in BEHAVIOURS:
        window.run(C.AddBehavior(name, prompts=prompts), ask=False)
    first = s.behaviors[0]["id"]
    wait(app, lambda: all(b["id"] in s.curves.get(s.videos[0]["id"], {}) for b in s.behaviors), what="curves")
    s.select_behavior(first)
    window.behaviors_panel.set_behaviors(s.behaviors, window._label_counts(), first)
    for verdict in ("accept", "reject", "accept", "skip", "reject"):
        window.answer(verdict)
        app.processEvents()
    vid = s.videos[0]["id"]
    window.run(C.MarkBout(vid, s.behaviors[1]["id"], 4.0, 6.5), ask=False)
    window.run(C.MarkBout(vid, s.behaviors[3]["id"], 20.0, 24.0), ask=False)
    if s.clip is None:
        window.next_suggestion()  # a clip under review, as after pressing N
    window.player.pause()
    wait(app, lambda: window.video_view.image is not None, what="a frame")
    window.behaviors_panel.entry.setText("a mouse sniffing the floor")
    for _ in range(30):
        app.processEvents()
        time.sleep(0.02)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    window.grab().save(str(out))
    print(f"wrote {out} ({out.stat().st_size // 1024} KiB)")
    if args.keep:
        return app.exec()
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
