"""Components on demand: View → Score components draws the selected behaviour's text prior and
head (the parts of its fused score) as thin curves on its row."""
from __future__ import annotations

import numpy as np

from tests.gui.test_gui_review import add_scored_behavior


def _affine_of(drawn: np.ndarray, values: np.ndarray) -> bool:
    return len(drawn) == len(values) and np.corrcoef(drawn, values)[0, 1] > 1 - 1e-6


def test_components_on_demand_follow_the_answers(qtbot, open_window):
    w = open_window
    s = w.session
    b = add_scored_behavior(qtbot, w, review=False)
    s.select_behavior(b["id"])
    assert w.timeline.component_data() == {}  # off by default

    w.actions_["show_components"].trigger()
    assert s.view.components and w.actions_["show_components"].isChecked()
    parts = s.components_of(s.view.video_id, b["id"])
    drawn = w.timeline.component_data()
    assert set(drawn) == {"prior"}  # no head before accepted and rejected clips
    fused = s.curves[s.view.video_id][b["id"]]
    np.testing.assert_allclose(parts["prior"].scores, fused.scores, atol=1e-6)  # fused == prior then
    assert _affine_of(drawn["prior"][1], parts["prior"].scores)

    w.answer("accept")  # shows the first clip
    w.answer("accept")
    w.answer("reject")

    def head_drawn():
        d = w.timeline.component_data()
        assert "head" in d
        assert _affine_of(d["head"][1], s.components_of(s.view.video_id, b["id"])["head"].scores)
    qtbot.waitUntil(head_drawn, timeout=30000)

    w.actions_["show_components"].trigger()
    assert not s.view.components and w.timeline.component_data() == {}
