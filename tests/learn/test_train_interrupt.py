"""run_training stops and reaps its child when the parent is interrupted."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ethoscout.core.learn.process import MODULE, build_train_spec, run_training

from .conftest import label_halves

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def training_children() -> list[tuple[int, str]]:
    """(pid, state) of this process's children running the training module, zombies included."""
    out = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
            cmdline = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if int(fields[1]) == os.getpid() and (MODULE in cmdline or fields[0] == "Z"):
            out.append((int(d.name), fields[0]))
    return out


@pytest.mark.parametrize("interruption", [KeyboardInterrupt, RuntimeError])
def test_interrupted_parent_stops_and_reaps_the_child(synthetic_project, interruption):
    project = synthetic_project
    label_halves(project)
    spec = build_train_spec(project.folder, device="cpu", epochs=100000, patience=100000, seed=0)

    def on_event(ev):
        if ev.event == "epoch":  # training is under way
            raise interruption("stop")

    assert not training_children()
    with pytest.raises(interruption):
        run_training(spec, on_event, stderr=subprocess.DEVNULL)
    assert not training_children()  # neither running on nor left as a zombie
    run = project.training_runs()[-1]
    assert run["status"] != "running" and project.active_adapter() is None
