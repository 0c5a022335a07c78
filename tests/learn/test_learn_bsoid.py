"""The whole loop on real mouse clips (B-SOiD examples): index, label, train, eval, suggest."""
from __future__ import annotations

import csv
import json

import pytest

from ethoscout.core.cli import main

from ..conftest import SHARED

CLIPS = SHARED / "data" / "bsoid_behavior_clips"


def test_full_loop_on_bsoid_clips(tmp_path, tiny_model, tiny_model_dir, capsys):
    labels_csv = CLIPS / "labels_from_repo_README.csv"
    if not labels_csv.exists():
        pytest.skip(f"bsoid_behavior_clips not available ({CLIPS} absent; set ETHOSCOUT_SHARED)")
    from ethoscout.core.data.project import Project
    from ethoscout.core.engine import index_videos

    rows = list(csv.DictReader(labels_csv.open()))
    videos = [CLIPS / r["file"] for r in rows]
    folder = tmp_path / "mice"
    results = index_videos(folder, videos, model=tiny_model)
    assert all(r.status in ("indexed", "cached") for r in results), [r.message for r in results]
    project = Project.open(folder)
    project.set_setting("model", str(tiny_model_dir))
    for r in rows:
        name = r["label_from_repo_README"]
        project.add_behavior(name, [f"a mouse: {name.lower()}"])
    for r in rows:  # up to three 2-second bouts per clip, accepted as the clip's behaviour
        v = project.find_video(r["file"])
        start = 0.0
        for _ in range(3):
            if start >= v["duration_s"] - 0.5:
                break
            project.add_label(v["id"], r["label_from_repo_README"], start, min(start + 2.0, v["duration_s"]), "accept")
            start += 2.0
    proj = str(folder)

    assert main(["train", "--project", proj, "--epochs", "3", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "adapter v1 saved" in out and "and active" in out
    assert project.active_adapter()["version"] == 1

    assert main(["eval", "--project", proj, "--versions"]) == 0
    table = capsys.readouterr().out
    assert "untrained" in table and "v1" in table and "mean (AP = mAP)" in table

    assert main(["suggest", "--project", proj, "--behavior", "Face groom", "--n", "5", "--json"]) == 0
    clips = json.loads(capsys.readouterr().out)
    assert clips and all(c["end"] > c["start"] for c in clips)
    face = project.find_video("face_groom_hstacked.mp4")
    for c in clips:  # nothing overlapping the labelled face-groom bouts
        if c["video"] == face["name"]:
            assert c["start"] >= min(6.0, face["duration_s"]) - 2.0 - 1e-6
    project.close()
