"""Training on a few labels of visibly different clips beats the untrained model on held-out
windows, and does so reproducibly."""
from __future__ import annotations

import numpy as np
import pytest

from ethoscout.core.learn.evaluate import project_labelled_windows
from ethoscout.core.learn.train import TrainOptions, TrainingError, train_lora

from .conftest import label_halves


@pytest.fixture
def labelled(synthetic_project, tiny_model):
    label_halves(synthetic_project)
    return synthetic_project, project_labelled_windows(synthetic_project, tiny_model)


def test_training_raises_held_out_retrieval(labelled, tiny_model):
    _, data = labelled
    opts = TrainOptions(epochs=10, seed=0, folds=4, lr=5e-3, patience=4)
    result = train_lora(tiny_model, data, opts)
    base, trained = result.val_metrics["base"]["mean"], result.val_metrics["adapter"]["mean"]
    assert result.val_metrics["windows"] >= 10
    assert trained["AP"] > base["AP"] + 0.1, (base, trained)
    assert trained["NDCG@5"] > base["NDCG@5"]
    assert trained["Hit@1"] >= base["Hit@1"]
    assert set(result.val_label_ids).isdisjoint(result.train_label_ids)
    # the same seed gives the same run
    again = train_lora(tiny_model, data, opts)
    assert np.allclose([h["loss"] for h in again.history], [h["loss"] for h in result.history])
    assert again.val_metrics["adapter"]["mean"]["AP"] == pytest.approx(trained["AP"])


def test_a_behaviour_with_only_rejections_still_learns(synthetic_project, tiny_model):
    for v in synthetic_project.videos():
        if not v["name"].startswith("flash"):
            synthetic_project.add_label(v["id"], "flash", 0.0, v["duration_s"], "reject")
    data = project_labelled_windows(synthetic_project, tiny_model)
    result = train_lora(tiny_model, data, TrainOptions(epochs=3, seed=0, folds=1))
    assert result.history[0]["loss"] > 0
    assert result.history[-1]["loss"] < result.history[0]["loss"]


def test_no_labels_is_a_clear_error(synthetic_project, tiny_model):
    data = project_labelled_windows(synthetic_project, tiny_model)
    with pytest.raises(TrainingError, match="label some clips"):
        train_lora(tiny_model, data, TrainOptions(epochs=1))
