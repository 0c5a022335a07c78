"""The CLI commands on the synthetic project: suggest, similar, eval, adapter list/use."""
from __future__ import annotations

import json


from ethoscout.core.cli import main
from ethoscout.core.learn.adapters import save_and_register
from ethoscout.core.learn.evaluate import project_labelled_windows
from ethoscout.core.learn.train import TrainOptions, train_lora

from .conftest import label_halves


def test_suggest_similar_eval_and_rollback(synthetic_project, tiny_model, capsys):
    project = synthetic_project
    proj = str(project.folder)
    flash0 = next(v for v in project.videos() if v["name"] == "flash_0.mp4")
    project.add_label(flash0["id"], "flash", 0.0, 3.0, "accept")

    assert main(["suggest", "--project", proj, "--behavior", "flash", "--n", "6", "--json"]) == 0
    clips = json.loads(capsys.readouterr().out)
    assert 1 <= len(clips) <= 6
    for c in clips:
        assert set(c) >= {"video", "start", "end", "score", "strategy", "reason"}
        if c["video"] == "flash_0.mp4":
            assert c["start"] >= 3.0 - 1e-9  # the labelled bout is never suggested again

    assert main(["similar", "--project", proj, "--video", "flash_0.mp4", "--start", "0", "--end", "3",
                 "--n", "4", "--json"]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert hits and all(not (h["video"] == "flash_0.mp4" and h["start"] < 3.0 - 1e-6) for h in hits)

    label_halves(project)
    data = project_labelled_windows(project, tiny_model)
    result = train_lora(tiny_model, data, TrainOptions(epochs=2, seed=0, lr=5e-3))
    split = {"train_label_ids": result.train_label_ids, "val_label_ids": result.val_label_ids}
    save_and_register(project, result.loaded.model, {"base_fingerprint": tiny_model.fingerprint, "split": split},
                      str(tiny_model.folder), {"split": split, "validation": result.val_metrics})

    assert main(["eval", "--project", proj, "--versions"]) == 0
    table = capsys.readouterr().out
    assert "untrained" in table and "v1" in table and "uplift v1 vs untrained: Hit@1" in table
    assert sum(name in table for name in ("moving", "still", "flash")) >= 2  # behaviours with held-out positives

    assert main(["adapter", "list", "--project", proj]) == 0
    assert "*       1" in capsys.readouterr().out
    assert main(["adapter", "use", "none", "--project", proj]) == 0
    assert project.active_adapter() is None
    assert main(["adapter", "use", "v1", "--project", proj]) == 0
    assert project.active_adapter()["version"] == 1
    assert main(["adapter", "use", "7", "--project", proj]) == 1
    assert "no adapter version 7" in capsys.readouterr().err


def test_unknown_behaviour_and_missing_model_are_one_line_errors(synthetic_project, capsys, tmp_path):
    assert main(["suggest", "--project", str(synthetic_project.folder), "--behavior", "yawning"]) == 1
    err = capsys.readouterr().err.strip()
    assert "yawning" in err and len(err.splitlines()) == 1
    from ethoscout.core.data.project import Project

    Project.create(tmp_path / "empty").close()
    assert main(["train", "--project", str(tmp_path / "empty")]) == 1
    assert "no model recorded" in capsys.readouterr().err
