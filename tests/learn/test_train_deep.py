"""Deep mode: LoRA in the vision tower trains on pixels, gets its own fingerprint and needs
the videos indexed again before it is used."""
from __future__ import annotations

import pytest

from ethoscout.core.engine import indexed_stores
from ethoscout.core.learn.adapters import LearnError, active_scorer, save_and_register, use_adapter
from ethoscout.core.learn.evaluate import project_labelled_windows
from ethoscout.core.learn.pixels import labelled_pixels
from ethoscout.core.learn.train import TrainOptions, train_lora


def test_deep_adapter_trains_on_pixels_and_requires_reindexing(synthetic_project, tiny_model):
    project = synthetic_project
    for v in project.videos()[::3]:
        project.add_label(v["id"], v["name"].split("_")[0], 0.0, 3.0, "accept")
    data = project_labelled_windows(project, tiny_model)
    pixels = labelled_pixels(data, tiny_model)
    assert pixels.shape[:3] == (len(data), tiny_model.num_frames, 3)
    result = train_lora(tiny_model, data, TrainOptions(epochs=2, folds=1, deep=True, batch_size=4), pixels=pixels)
    assert any("vision_model" in n and "lora_" in n for n, p in result.loaded.model.named_parameters() if p.requires_grad)
    row = save_and_register(project, result.loaded.model, {"deep": True, "base_fingerprint": tiny_model.fingerprint},
                            str(tiny_model.folder), {"deep": True}, activate=False)
    with pytest.raises(LearnError, match="--reindex"):
        use_adapter(project, row["version"], tiny_model)
    assert project.active_adapter() is None
    use_adapter(project, row["version"], tiny_model, reindex=True)
    scorer = active_scorer(project, tiny_model)
    assert scorer.loaded.fingerprint != tiny_model.fingerprint
    stores = indexed_stores(project.folder, scorer.loaded)
    assert len(stores) == len(project.videos())
    assert scorer.score(stores[0], ["a bright square moving across the frame"]).shape == (len(stores[0]), 1)
