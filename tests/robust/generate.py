"""Generated inputs for the robustness suite and bench: large label tables and malformed files."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from ethoscout.core.data.fileio import write_table
from ethoscout.core.data.labels_table import LABEL_COLUMNS


def labels_rows(n: int, video: str, duration_s: float, behaviors=("groom", "rear")):
    """``n`` distinct labels spread over a video (distinct to the millisecond, so none is a
    duplicate of another)."""
    slots = int((duration_s - 0.5) * 1000)
    for i in range(n):
        start = (i % slots) / 1000
        end = start + 0.1 + (i // slots) * 0.001
        row = dict.fromkeys(LABEL_COLUMNS, "")
        row.update(video=video, behavior=behaviors[i % len(behaviors)], start_s=f"{start:.3f}",
                   end_s=f"{end:.3f}", verdict="accept", source="import", comment=f"row {i}")
        yield [row[c] for c in LABEL_COLUMNS]


def labels_csv(path: Path, n: int, video: str, duration_s: float) -> Path:
    return write_table(path, LABEL_COLUMNS, labels_rows(n, video, duration_s))


def start_import(table: Path, project_folder: Path) -> subprocess.Popen:
    """`ethoscout import` of ``table`` in another process, output captured."""
    return subprocess.Popen([sys.executable, "-m", "ethoscout.core.cli", "import", str(table),
                             "--project", str(project_folder)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
