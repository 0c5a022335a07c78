"""The training child process: progress lines, a registered active adapter, cancel and kill."""
from __future__ import annotations

import signal
import sqlite3
import subprocess

import numpy as np
import pytest
import torch

from ethoscout.core.engine import indexed_stores
from ethoscout.core.learn.adapters import active_scorer, reap_stale_runs, save_and_register, use_adapter
from ethoscout.core.learn.process import (EXIT_CANCELLED, build_train_spec, parse_event, run_training, train_command,
                                          write_spec)
from ethoscout.core.model.lora import attach_lora, lora_config
from ethoscout.core.model.query import QueryScorer

from .conftest import label_halves


def test_progress_lines_parse():
    ev = parse_event('{"event": "epoch", "step": 3, "total": 9, "epoch": 1, "loss": 0.5, "val_loss": 0.6, "eta_s": 12}')
    assert ev.event == "epoch" and ev.step == 3 and not ev.final and "ETA 12 s" in ev.describe()
    assert parse_event("Loading weights: 100%") is None and parse_event("{not json") is None
    assert parse_event(b'{"event": "done", "version": 2}').final
    with pytest.raises(ValueError):
        build_train_spec("x", epochs=1, learning_rate=3)


def test_train_process_registers_and_activates_an_adapter(synthetic_project, tiny_model):
    project = synthetic_project
    label_halves(project)
    events = []
    final = run_training(build_train_spec(project.folder, device="cpu", epochs=3, seed=0), events.append,
                         stderr=subprocess.DEVNULL)
    assert final.event == "done", final.data
    kinds = [e.event for e in events]
    assert kinds[0] == "start" and kinds.count("epoch") == 3 and kinds[-1] == "done"
    steps = [e.step for e in events if e.event == "epoch"]
    assert steps == sorted(steps) and events[1].eta_s is not None
    # every epoch reports held-out ranking metrics for the monitor
    epoch_aps = [e.data["val_metrics"]["AP"] for e in events if e.event == "epoch"]
    assert len(epoch_aps) == 3 and all(0.0 <= ap <= 1.0 for ap in epoch_aps)
    active = project.active_adapter()
    assert active["version"] == final.version == 1
    assert (project.folder / active["folder"] / "adapter_config.json").exists()
    assert active["metrics"]["split"]["train_label_ids"]
    run = project.training_runs()[-1]
    assert run["status"] == "done" and run["adapter_version"] == 1 and run["metrics"]["best_epoch"] >= 1
    # scoring now goes through the adapter: text side changes, vision cache reused
    store = indexed_stores(project.folder, tiny_model)[0]
    adapted = active_scorer(project, tiny_model)
    assert adapted.loaded.fingerprint == tiny_model.fingerprint
    base = QueryScorer(tiny_model).score(store, ["a bright square moving across the frame"])
    assert not np.allclose(adapted.score(store, ["a bright square moving across the frame"]), base, atol=1e-4)
    use_adapter(project, None)  # roll back
    assert np.allclose(active_scorer(project, tiny_model).score(store, ["a bright square moving across the frame"]), base)


def _previous_adapter(project, tiny_model):
    adapted = attach_lora(tiny_model, lora_config())
    with torch.no_grad():
        for n, p in adapted.model.named_parameters():
            if "lora_B" in n:
                p.fill_(0.01)
    return save_and_register(project, adapted.model, {"base_fingerprint": tiny_model.fingerprint}, "tiny", {})


def _start_long_run(project):
    label_halves(project)
    spec = build_train_spec(project.folder, device="cpu", epochs=100000, patience=100000, seed=0)
    proc = subprocess.Popen(train_command(write_spec(spec, project.folder / "spec.json")), stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    for line in proc.stdout:  # wait until training is under way
        ev = parse_event(line)
        if ev is not None and ev.event == "epoch":
            return proc
    pytest.fail("the training process never reported an epoch")


def test_sigkill_mid_run_leaves_database_and_active_adapter_intact(synthetic_project, tiny_model):
    project = synthetic_project
    previous = _previous_adapter(project, tiny_model)
    proc = _start_long_run(project)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert project.active_adapter()["version"] == previous["version"]
    assert [a["version"] for a in project.adapters()] == [previous["version"]]
    assert sorted(p.name for p in (project.folder / "adapters").iterdir() if not p.name.startswith(".")) == ["v1"]
    conn = sqlite3.connect(project.path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    assert project.training_runs()[-1]["status"] == "running"
    assert reap_stale_runs(project)  # the next run (or the GUI) marks the dead run as failed
    assert project.training_runs()[-1]["status"] == "failed"


def test_sigterm_cancels_and_keeps_the_previous_adapter(synthetic_project, tiny_model):
    project = synthetic_project
    previous = _previous_adapter(project, tiny_model)
    proc = _start_long_run(project)
    proc.send_signal(signal.SIGTERM)
    finals = [parse_event(line) for line in proc.stdout]
    assert proc.wait(timeout=60) == EXIT_CANCELLED
    final = [e for e in finals if e is not None][-1]
    assert final.event == "cancelled" and f"v{previous['version']} stays active" in final.message
    run = project.training_runs()[-1]
    assert run["status"] == "cancelled" and "stays active" in run["message"]
    assert project.active_adapter()["version"] == previous["version"]
    assert len(project.adapters()) == 1
