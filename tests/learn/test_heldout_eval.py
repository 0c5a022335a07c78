"""Grouped evaluation: whole videos (or blocks) per fold, overlapping training windows purged,
every method on the same held-out windows."""
from __future__ import annotations

import json

import numpy as np
import pytest

from ethoscout.core.cli import main
from ethoscout.core.learn.examples import labelled_windows
from ethoscout.core.learn.fusion import purge
from ethoscout.core.learn.heads import ProjectWindows
from ethoscout.core.learn.heldout import assign_folds, window_groups
from ethoscout.core.learn.adapters import LearnError, project_stores
from ethoscout.core.model.query import QueryScorer

from .conftest import label_halves


def test_folds_hold_whole_videos_and_blocks_purge_overlaps(synthetic_project, tiny_model):
    label_halves(synthetic_project)
    scorer = QueryScorer(tiny_model)
    stores = project_stores(synthetic_project, tiny_model)
    windows = ProjectWindows.build(scorer, stores)
    data = labelled_windows(synthetic_project.labels(), synthetic_project.behaviors(), stores)
    rows = windows.rows(data.store_index, data.window_index)
    folds = assign_folds(window_groups(windows, rows, "video"), 4, seed=1)
    store = windows.store_of(rows)
    for si in np.unique(store):
        assert len(np.unique(folds[store == si])) == 1  # a video never straddles folds
    blocks = window_groups(windows, rows, "block", block_s=3.0)
    fold = assign_folds(blocks, 3)
    starts, ends = windows.times()
    test, train = rows[fold == 0], rows[fold != 0]
    kept = purge(windows, starts, ends, train, test)
    assert len(kept) < len(train)  # 2-s windows every 1 s straddle 3-s blocks
    for r in kept:
        same = test[windows.store_of(test) == windows.store_of(np.array([r]))[0]]
        assert np.all((np.minimum(ends[r], ends[same]) - np.maximum(starts[r], starts[same])) <= 1e-6)
    names = window_groups(windows, rows, "session", session=r"^[a-z]+")  # pattern name = session
    assert len(np.unique(names)) == 3
    with pytest.raises(LearnError, match="regular expression"):
        window_groups(windows, rows, "session", session="(")


def test_eval_prints_every_method_with_mean_and_sd(synthetic_project, capsys, tmp_path):
    label_halves(synthetic_project)
    out = tmp_path / "eval.json"
    assert main(["eval", "--project", str(synthetic_project.folder), "--cv", "3", "--json", str(out)]) == 0
    table = capsys.readouterr().out
    for method in ("chance", "zero-shot", "query by example", "head: embedding", "head: motion", "head: both",
                   "fused"):
        assert method in table
    assert "3 folds grouped by video" in table and "±" in table and "NDCG@10" in table
    result = json.loads(out.read_text())
    m = result["methods"]
    assert result["folds"] == 3
    # moving / still / flash are told apart by motion and by the picture on videos never trained on
    assert m["head: both"]["AP"][0] > m["chance"]["AP"][0] + 0.2
    assert m["fused"]["AP"][0] >= min(m["zero-shot"]["AP"][0], m["head: both"]["AP"][0]) - 0.05


def test_eval_with_a_budget_and_lora_row(synthetic_project, capsys):
    label_halves(synthetic_project)
    assert main(["eval", "--project", str(synthetic_project.folder), "--cv", "3", "--budget", "2", "2",
                 "--lora", "--epochs", "2"]) == 0
    table = capsys.readouterr().out
    assert "LoRA" in table and "2 accepted + 2 rejected bouts" in table


def test_simulated_oracle_writes_learning_curves(synthetic_project, capsys, tmp_path):
    label_halves(synthetic_project)
    out = tmp_path / "curves"
    assert main(["eval", "--project", str(synthetic_project.folder), "--simulate", "--cv", "3", "--rounds", "3",
                 "--per-round", "2", "--strategies", "top", "random", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "oracle replay" in text and "3 folds grouped by video" in text
    rows = (out / "learning_curve.csv").read_text().splitlines()
    assert rows[0].startswith("strategy,answers_per_behaviour,mAP_mean")
    assert len(rows) == 1 + 2 * 4  # two strategies, rounds 0..3
    from ethoscout.core.learn.simulate import SIM_STRATEGIES
    assert "random" in SIM_STRATEGIES
    curve = {int(r.split(",")[1]): float(r.split(",")[2]) for r in rows[1:] if r.startswith("top")}
    assert curve[6] > curve[0]  # answers help on videos never answered about
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return
    assert (out / "learning_curve.png").stat().st_size > 1000
