"""Commands drive a Session without any window or Qt event loop (scripts do this)."""
from __future__ import annotations

import sqlite3

from ethoscout.gui import commands as C
from ethoscout.gui.prefs import Prefs
from ethoscout.gui.app import CallQueue, Session

from .conftest import SPEC


def test_commands_without_a_window(indexed_project, tiny_model_dir, tmp_path):
    post = CallQueue()
    s = Session(prefs=Prefs(model=str(tiny_model_dir), device="cpu", span_s=SPEC["span_s"],
                            stride_s=SPEC["stride_s"]), post=post)
    seen = []
    s.events.on("labels", lambda: seen.append("labels"))
    try:
        C.OpenProject(str(indexed_project)).do(s)
        assert post.drain(lambda: all(st.state == "indexed" for st in s.video_status.values()))
        added = C.AddBehavior("a bright square").do(s)
        assert post.drain(lambda: s.current_suggestion is not None)
        b = added.result
        # the first key shows the clip and stores nothing: answers are for what is on screen
        first = C.Answer("accept").do(s)
        assert s.clip == first and s.current_video_id == first.video_id
        con = sqlite3.connect(indexed_project / "project.sqlite")
        assert con.execute("SELECT COUNT(*) FROM labels").fetchone() == (0,)
        C.Answer("accept").do(s)
        C.Answer("reject").do(s)  # queued in order; stored by the project's I/O worker
        assert post.drain(lambda: not s.pending_writes)
        got = con.execute("SELECT verdict, source, behavior_id, start_s FROM labels ORDER BY id").fetchall()
        assert got[0] == ("accept", "suggestion", b["id"], first.start_s) and got[1][0] == "reject"
        undo = C.Undo().do(s)
        assert post.drain(lambda: not s.pending_writes) and undo.result.startswith("reject a bright square")
        assert con.execute("SELECT COUNT(*) FROM labels").fetchone() == (1,)
        redo = C.Redo().do(s)
        assert post.drain(lambda: not s.pending_writes) and redo.result.startswith("reject")
        con.close()
        job = C.Export("boris-tabular", str(tmp_path / "events.tsv")).do(s)
        assert post.drain(lambda: job.finished) and job.status == "done", job.error
        assert "START" in (tmp_path / "events.tsv").read_text()
        assert seen.count("labels") >= 3  # answers landing together refresh the views once
    finally:
        assert s.shutdown(10)


def test_commands_change_only_what_they_declare(indexed_project, tiny_model_dir):
    """Every event a command emits while it runs is one it declares in ``changes``."""
    from ethoscout.gui.app.events import TOPICS

    post = CallQueue()
    s = Session(prefs=Prefs(model=str(tiny_model_dir), device="cpu", span_s=SPEC["span_s"],
                            stride_s=SPEC["stride_s"]), post=post)
    emitted: list[str] = []
    s.view.events.connect(lambda info: emitted.append(f"view.{info.signal.name}"))
    for topic in TOPICS:
        if topic not in ("message", "job"):  # status lines and job progress: any command may emit them
            s.events.on(topic, lambda *_a, t=topic: emitted.append(t))

    def run(cmd):
        emitted.clear()
        result = cmd.do(s)
        assert set(emitted) <= set(cmd.changes), (cmd.name, sorted(set(emitted) - set(cmd.changes)))
        return result

    try:
        run(C.OpenProject(str(indexed_project)))
        assert post.drain(lambda: all(st.state == "indexed" for st in s.video_status.values()))
        added = run(C.AddBehavior("a bright square", key="q"))
        assert post.drain(lambda: bool(s.suggestions))
        b = added.result
        run(C.NextSuggestion())
        run(C.Answer("accept"))
        assert {"writes", "view.clip"} <= set(emitted)  # the listeners do hear the command
        emitted.clear()
        assert post.drain(lambda: not s.pending_writes) and "labels" in emitted  # and the answer landing
        run(C.Answer("skip"))
        run(C.ChooseSuggestion(1))
        vid = s.view.video_id
        bout = run(C.MarkBout(vid, b["id"], 1.0, 2.0))
        assert post.drain(lambda: not s.pending_writes)
        lid = bout.result
        run(C.MoveBout(lid, 1.2, 2.4))
        run(C.EditLabel(lid, {"comment": "checked"}))
        run(C.Code(b["id"], 3.0))
        run(C.Code(b["id"], 4.0))
        run(C.DeleteLabels([lid]))
        run(C.Undo())
        run(C.Redo())
        run(C.EditBehavior(b["id"], {"prompts": ["a square", "a bright square"]}))
        run(C.DeleteBehavior(b["id"]))
        run(C.CloseProject())
    finally:
        assert s.shutdown(10)
