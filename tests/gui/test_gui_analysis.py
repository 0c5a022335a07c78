"""Subjects in the window, the model's coding corrected on screen, and the Results panel (the
same core.analysis code as the CLI)."""
from __future__ import annotations

import csv

from PySide6.QtCore import Qt

from ethoscout.gui import commands as C

from .conftest import landed, wait_curves, wait_saved


def test_subjects_results_and_model_coding(qtbot, open_window, tmp_path, dialogs):
    w = open_window
    s = w.session
    bar, panel = w.analysis.subject_bar, w.analysis.results
    vid = s.current_video_id
    # A subject added in the bar becomes the current one; its key selects it again later.
    bar.entry.setFocus()
    bar.entry.setText("m1:1")
    qtbot.keyClick(bar.entry, Qt.Key.Key_Return)
    assert not bar.entry.hasFocus()  # the next keys are for coding, not the box
    wait_saved(qtbot, w)  # selected when it is stored
    assert "subject m1: new labels are its" in w.status.message.text()
    assert s.subject_name() == "m1" and bar.combo.currentText() == "m1  (1)"
    b = landed(qtbot, w, w.run(C.AddBehavior("a bright square")))
    s.add_manual_label(vid, b["id"], 0.5, 2.0)
    bar.combo.setCurrentIndex(0)
    bar.combo.activated.emit(0)  # No focal subject
    assert s.view.subject_id is None
    s.add_manual_label(vid, b["id"], 3.0, 3.5)
    wait_saved(qtbot, w)
    w.activateWindow()
    qtbot.keyClick(w, Qt.Key.Key_1)  # the subject's key
    assert s.subject_name() == "m1"
    labels = s.labels(vid)
    assert [(lab["subject"], round(lab["start_s"], 1)) for lab in labels] == [("m1", 0.5), (None, 3.0)]
    table = w.labels_table.table
    headers = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
    assert table.item(0, headers.index("Subject")).text() == "m1"

    # Results: a time budget computed off the GUI thread, shown, saved as CSV.
    panel.kind.setCurrentText("time budget")
    panel.compute_button.click()
    qtbot.waitUntil(lambda: panel.table_data is not None, timeout=10000)
    cols = list(panel.table_data.columns)
    cells = {(panel.table.item(r, cols.index("subject")).text(), panel.table.item(r, cols.index("behavior")).text()):
             panel.table.item(r, cols.index("total_s")).text() for r in range(panel.table.rowCount())}
    assert cells[("m1", "a bright square")].startswith("1.5") and ("No focal subject", "a bright square") in cells
    dialogs.save_files.append(str(tmp_path / "budget.csv"))
    panel.save_button.click()
    saved = list(csv.DictReader(open(tmp_path / "budget.csv")))
    assert {r["subject"] for r in saved} == {"m1", "No focal subject"}
    dialogs.save_files.append(str(tmp_path / "ethogram.svg"))
    panel.ethogram_button.click()
    qtbot.waitUntil(lambda: (tmp_path / "ethogram.svg").exists(), timeout=10000)
    assert "a bright square" in (tmp_path / "ethogram.svg").read_text()

    # The model's coding of the selected behaviour: predicted bouts on screen, corrected like labels.
    wait_curves(qtbot, w, b["id"])
    s.select_behavior(b["id"])
    panel.predict_button.click()
    predicted = [lab for lab in s.labels(vid) if lab["verdict"] == "predicted"]
    assert predicted and all(lab["annotator"] == "model v0" for lab in predicted)
    assert len(w.labels_table.label_ids()) == 2 + len(predicted)
    first = predicted[0]
    s.update_label(first["id"], verdict="accept")  # accept one
    for lab in predicted[1:]:
        s.delete_label(lab["id"])  # delete the rest
    wait_saved(qtbot, w)
    assert [lab["verdict"] for lab in s.labels(vid) if lab["annotator"] == "model v0"] == ["accept"]
    panel.threshold.setValue(1.0)  # adjustable: above every cosine score, no bout at all
    panel.predict_button.click()
    assert "0 bouts" in w.status.text_shown and "threshold 1, given" in w.status.text_shown
    assert [lab["verdict"] for lab in s.labels(vid) if lab["annotator"] == "model v0"] == ["accept"]

    # Agreement between the person ("") and the model's corrected coding.
    panel.set_choices(s.observers(), s.subjects)
    panel.kind.setCurrentText("agreement")
    panel.observer.setCurrentIndex(panel.observer.findData(""))
    panel.candidate.setCurrentIndex(panel.candidate.findData("model v0"))
    panel.table_data = None
    panel.compute_button.click()
    qtbot.waitUntil(lambda: panel.table_data is not None, timeout=10000)
    assert panel.table_data.rows[0]["behavior"] == "(all behaviours)" and "kappa" in panel.summary.text()


def test_modifiers_defined_in_the_editor_and_chosen_when_an_event_starts(qtbot, open_window, dialogs):
    w = open_window
    s = w.session
    vid = s.current_video_id
    b = landed(qtbot, w, w.run(C.AddBehavior("a bright square")))
    dialogs.behavior_edits.append({"modifiers": "posture: upright, hunched\nside (several): left, right"})
    w.run(C.EditBehavior(b["id"]))
    wait_saved(qtbot, w)
    assert [m["kind"] for m in s.behavior(b["id"])["modifiers"]] == ["single", "multiple"]
    dialogs.behavior_edits.append({"modifiers": "posture:"})
    assert not w.try_run(C.EditBehavior(b["id"]))[0]  # refused in one line, nothing changed
    assert len(s.behavior(b["id"])["modifiers"]) == 2

    dialogs.modifier_choices += [{"posture": ["hunched"], "side": ["left", "right"]}]
    assert w.run(C.Code(b["id"], 1.0)) is None  # the bout starts; its modifiers are chosen now
    assert w.run(C.Code(b["id"], 2.5)) is not None  # stops without asking again
    wait_saved(qtbot, w)
    lab = [x for x in s.labels(vid) if x["behavior_id"] == b["id"]][0]
    assert lab["modifiers"] == {"posture": ["hunched"], "side": ["left", "right"]}
    dialogs.modifier_choices.append(None)  # cancelled: nothing starts
    assert w.run(C.Code(b["id"], 3.0)) is None and s.view.coding == ()
    table = w.labels_table.table
    headers = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
    assert table.item(0, headers.index("Modifiers")).text() == "posture=hunched; side=left,right"


def test_synchronised_videos_show_the_offset_corrected_frame(qtbot, window, pair_project):
    from .conftest import wait_indexed

    w = window
    w.run(C.OpenProject(str(pair_project)))
    wait_indexed(qtbot, w)
    s = w.session
    short, long = sorted(s.videos, key=lambda v: v["duration_s"])
    s.show_video(short["id"])
    sync = w.analysis.sync
    assert sync.choice.findData(long["id"]) >= 0
    sync.choice.setCurrentIndex(sync.choice.findData(long["id"]))
    sync.add_button.click()
    (pane,) = sync.panes
    assert pane.video_id == long["id"] and s.companions() == [(long["id"], 0.0)]
    timing = s.project.video_timing(long["id"])

    def shows(t_player, offset):
        expected = timing.frame_at(t_player + offset)
        qtbot.waitUntil(lambda: pane.view.index == expected, timeout=10000)
        return expected

    pane.offset.setValue(1.5)  # live: this camera's time = player time + 1.5 s
    assert s.companions() == [(long["id"], 1.5)]
    w.player.seek_time(2.0)
    shows(w.player.time_s, 1.5)
    w.player.step(1)
    shows(w.player.time_s, 1.5)
    w.player.play()
    qtbot.wait(400)
    w.player.pause()
    shows(w.player.time_s, 1.5)
    pane.offset.setValue(-3.0)  # before the companion starts: nothing shown
    qtbot.waitUntil(lambda: pane.view.index == -1 and pane.wanted is None, timeout=5000)
    w.player.seek_time(4.0)
    assert shows(w.player.time_s, -3.0) == timing.frame_at(w.player.time_s - 3.0)
    wait_saved(qtbot, w)  # stored on the write queue
    assert s.project.get_setting("sync") == {str(short["id"]): [[long["id"], -3.0]]}  # remembered
    pane.remove.click()
    assert sync.panes == [] and s.companions() == []
