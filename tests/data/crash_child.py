"""Child process for the crash tests: label as fast as possible, print each id once committed.

Usage: python crash_child.py PROJECT_FOLDER TAG
"""
import sys

from ethoscout.core.data.project import Project

project = Project.open(sys.argv[1])
tag = sys.argv[2]
print("ready", flush=True)
i = 0
while True:
    start = (i * 0.37) % 18
    label_id = project.add_label("a.mp4", "rear", start, start + 1.0, "accept", comment=f"{tag}-{i}")
    if i % 3 == 0:
        project.update_label(label_id, verdict="reject")
    print(label_id, flush=True)  # printed only after the commit returned
    i += 1
    if len(sys.argv) > 3 and i >= int(sys.argv[3]):
        break
