"""Write tests/learn/data/shared_events.boris: the labelled bouts the learning benchmark and
tests use, on the shared videos (annotations only; the media stay in ../shared/data).

- the 11 B-SOiD clips, each labelled over its whole length with its cluster's name
  (labels_from_repo_README.csv);
- events marked by eye on five shared videos (../shared/data/README.md's list, checked against
  the footage; approximate to about half a second).
Run again to regenerate: python bench/learn_labels.py
"""
from __future__ import annotations

import csv
import json
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
OUT = REPO / "tests" / "learn" / "data" / "shared_events.boris"

# video, behaviour, start, end (seconds)
EVENTS = [
    ("fly_pair_centered_sleap_73s.mp4", "fly following", 0.0, 63.5),
    ("fly_pair_centered_sleap_73s.mp4", "fly wing extension", 63.5, 72.5),
    ("fly_pair_centered_sleap_73s.mp4", "fly mounting attempt", 72.5, 73.3),
    ("mice_triplet_mabe_amadeus_60s.mp4", "mice huddle", 0.0, 39.0),
    ("mice_triplet_mabe_amadeus_60s.mp4", "mouse leaves the group", 39.0, 44.0),
    ("mice_triplet_mabe_amadeus_60s.mp4", "mice approach and contact", 44.0, 60.0),
    ("mouse_reach_grasp_dlc_8s.avi", "paw lift", 1.1, 1.4),
    ("mouse_reach_grasp_dlc_8s.avi", "reach", 1.4, 1.9),
    ("mouse_reach_grasp_dlc_8s.avi", "grasp and hold", 2.2, 7.4),
    ("mouse_reach_grasp_dlc_8s.avi", "lick", 3.3, 5.7),
    ("mouse_reach_grasp_dlc_8s.avi", "release", 7.6, 8.0),
    ("horse_led_walk_trot_amadeus_13s.mp4", "horse walk", 1.5, 8.5),
    ("horse_led_walk_trot_amadeus_13s.mp4", "horse trot", 9.0, 12.0),
    ("spider_courtship_web_tracktor_39s.mp4", "spider approach", 0.0, 33.0),
    ("spider_courtship_web_tracktor_39s.mp4", "person in view", 33.0, 39.2),
]
PROMPTS = {"fly following": "a fly following another fly", "fly wing extension": "a fly extending one wing",
           "fly mounting attempt": "a fly mounting another fly", "mice huddle": "mice huddled together in a corner",
           "mouse leaves the group": "a mouse leaving the group", "mice approach and contact": "mice touching each other",
           "paw lift": "a mouse lifting its paw", "reach": "a mouse reaching for food", "grasp and hold":
           "a mouse holding food in its paw", "lick": "a mouse licking", "release": "a mouse releasing food",
           "horse walk": "a horse walking", "horse trot": "a horse trotting", "spider approach":
           "a spider approaching another spider on a web", "person in view": "a person walking by"}


def main() -> int:
    sys.path.insert(0, str(REPO))
    from ethoscout.core.data.boris_export import export_boris_project
    from ethoscout.core.data.project import Project

    clips = DATA / "bsoid_behavior_clips"
    with tempfile.TemporaryDirectory() as tmp:
        project = Project.create(Path(tmp) / "p")
        for row in csv.DictReader((clips / "labels_from_repo_README.csv").open()):
            name = row["label_from_repo_README"]
            if not any(b["name"] == name for b in project.behaviors()):
                project.add_behavior(name, [f"a mouse: {name.lower()}"])
            v = project.add_video(clips / row["file"])
            project.add_label(v["id"], name, 0.0, v["duration_s"], "manual")
        for video, behaviour, start, end in EVENTS:
            if not any(b["name"] == behaviour for b in project.behaviors()):
                project.add_behavior(behaviour, [PROMPTS[behaviour]])
            v = project.add_video(DATA / "videos" / video)
            project.add_label(v["id"], behaviour, start, min(end, v["duration_s"]), "manual")
        OUT.parent.mkdir(parents=True, exist_ok=True)
        export_boris_project(project, OUT)
        # media by file name only: the file says nothing about where this machine keeps them
        text = OUT.read_text()
        for folder in (clips, DATA / "videos"):
            text = text.replace(json.dumps(str(folder) + "/")[1:-1], "")
        OUT.write_text(text)
        print(f"wrote {len(project.labels())} bouts on {len(project.videos())} videos to {OUT}")
        project.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
