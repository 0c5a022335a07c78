"""The typed text's curve: shown step by step (approximate first, refined in place) until it is
exactly the scored curve; a newer text's curve is never overwritten by an older text's step."""
from __future__ import annotations

import numpy as np

from ethoscout.core.jobs import PreviewProgress, preview_job, score_job
from ethoscout.gui.timeline import PREVIEW_ID

TUNING = {"anchors": 3, "chunk": 3}  # the 6 s clip's 11 windows in several steps


def drawn_previews(w) -> list[tuple[str, np.ndarray]]:
    """(typed text, y) of every preview the timeline draws from now on."""
    seen = []

    def record():
        if PREVIEW_ID in w.timeline.rows:
            y = w.timeline.curve_data(PREVIEW_ID)[1]
            if len(y):
                seen.append((w.session.preview_text, y.copy()))
    w.signals.preview.connect(record)  # after the window's own slot: sees what it drew
    return seen


def run_on_service(s, fn, *args, **kw):
    job = s.service.submit(fn, *args, **kw)
    assert job.wait(60) and job.status == "done", job.error
    return job


def steps_of(s, text: str) -> list[np.ndarray]:
    """Every curve the preview of ``text`` reports, computed again on the same service."""
    v = s.current_video
    steps = []
    run_on_service(s, preview_job, s.scope.folder, text, v["fingerprint"], s.prefs.spec(), s.view.visible,
                   **TUNING, on_progress=lambda job, p: steps.append(p.curve.scores[:, 0].copy())
                   if isinstance(p, PreviewProgress) else None)
    return steps


def exact_curve(s, text: str) -> np.ndarray:
    fp = s.current_video["fingerprint"]
    return run_on_service(s, score_job, s.scope.folder, {"typed": [text]}, s.prefs.spec(), [fp]).result[fp].scores[:, 0]


def preview_idle(s) -> bool:
    return not any(t.kind == "preview" for t in s.tracked.values())


def test_typed_text_curve_refines_to_the_exact_curve(qtbot, open_window):
    w = open_window
    s = w.session
    s.preview_tuning = TUNING
    seen = drawn_previews(w)
    entry = w.behaviors_panel.entry
    entry.setFocus()
    qtbot.keyClicks(entry, "a square moving")
    qtbot.waitUntil(lambda: s.preview_text == "a square moving" and preview_idle(s)
                    and PREVIEW_ID in w.timeline.rows, timeout=20000)
    exact = exact_curve(s, "a square moving")
    x, y = w.timeline.curve_data(PREVIEW_ID)
    assert len(y) == len(exact) > 2 * TUNING["chunk"]
    np.testing.assert_allclose(y, exact, atol=1e-5)
    np.testing.assert_allclose(x, s.preview[s.current_video_id].centres)
    # the approximate curve came first, then refinements, each drawn
    assert len(seen) >= 3 and all(t == "a square moving" for t, _ in seen)
    assert not np.allclose(seen[0][1], exact, atol=1e-5)
    np.testing.assert_allclose(seen[-1][1], exact, atol=1e-5)


def test_older_texts_steps_never_replace_a_newer_texts_curve(qtbot, open_window):
    w = open_window
    s = w.session
    s.preview_tuning = TUNING
    first, second = "a square moving", "an empty arena"
    job = s.set_preview(first)
    # all of the first text's steps are computed and waiting to be delivered to the window ...
    assert job.wait(30) and job.status == "done"
    seen = drawn_previews(w)
    # ... when the second text arrives (as the debounced entry would send it)
    w.behaviors_panel.entry.setText(second)
    s.set_preview(second)
    exact = exact_curve(s, second)
    qtbot.waitUntil(lambda: preview_idle(s), timeout=20000)
    qtbot.wait(100)  # anything still queued would be drawn by now
    olds, news = steps_of(s, first), steps_of(s, second)
    assert len(olds) >= 3 and not np.allclose(olds[-1], news[-1])
    for text, y in seen:
        assert text == second
        assert not any(np.allclose(y, old, atol=1e-6) for old in olds), "a step of the older text was drawn"
        assert any(np.allclose(y, new, atol=1e-6) for new in news)
    assert len(seen) == len(news)  # each of the newer text's steps drawn once, nothing else
    np.testing.assert_allclose(w.timeline.curve_data(PREVIEW_ID)[1], exact, atol=1e-5)


def test_new_words_rename_the_preview_row_in_place(qtbot, open_window):
    """Other words keep the same timeline row (renamed, new curve), so a keystroke does not
    rebuild every row; the title says when the curve is still approximate; clearing the text
    removes the row."""
    w = open_window
    s = w.session
    s.preview_tuning = TUNING
    titles = []
    w.signals.preview.connect(lambda: titles.append(w.timeline.rows[PREVIEW_ID].title.text)
                              if PREVIEW_ID in w.timeline.rows else None)
    s.set_preview("a square moving")
    qtbot.waitUntil(lambda: preview_idle(s) and PREVIEW_ID in w.timeline.rows, timeout=20000)
    row = w.timeline.rows[PREVIEW_ID]
    # the approximate steps say so in the row's title; the exact curve does not
    assert "approximate" in titles[0] and "approximate" not in titles[-1] and "a square moving" in titles[-1]
    s.set_preview("an empty arena")
    qtbot.waitUntil(lambda: preview_idle(s), timeout=20000)
    qtbot.wait(50)
    assert w.timeline.rows[PREVIEW_ID] is row
    assert "an empty arena" in row.title.text and "a square moving" not in row.title.text
    assert "approximate" not in row.title.text
    np.testing.assert_allclose(w.timeline.curve_data(PREVIEW_ID)[1], exact_curve(s, "an empty arena"), atol=1e-5)
    s.clear_preview()
    qtbot.waitUntil(lambda: PREVIEW_ID not in w.timeline.rows, timeout=5000)
