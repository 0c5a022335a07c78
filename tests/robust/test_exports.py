"""Exports: per-frame tables for many videos (same file names too), files that follow the
umask, leftovers of killed exports cleaned, round trips that keep every character, and
BORIS tabular exports that grow linearly (100,000 labels: bench/robust_bench.py)."""
from __future__ import annotations

import os
import time

from ethoscout.core.data.export import export
from ethoscout.core.data.imports import import_file
from ethoscout.core.data.project import Project

from ..data.db_helpers import write_video
from .conftest import cli


def test_binary_export_of_several_videos_with_the_same_file_name(project, tmp_path, capsys):
    other = tmp_path / "elsewhere"
    other.mkdir()
    project.add_video(write_video(other / "a.mp4", 50))
    project.add_label(3, "rear", 0.5, 1.0, "accept")
    r = cli(capsys, "export", "--format", "binary", "--out", tmp_path / "bin", "--project", project.folder)
    assert r.returncode == 0, r.stderr
    files = sorted(p.name for p in (tmp_path / "bin").iterdir())
    assert len(files) == 3 and "b.csv" in files and len(set(files)) == 3
    rows = {f: (tmp_path / "bin" / f).read_text().splitlines() for f in files}
    assert sorted(len(lines) - 1 for lines in rows.values()) == [50, 125, 250]  # one row per frame


def _left_by_a_killed_export(path):
    path.write_bytes(b"")
    old = time.time() - 3600
    os.utime(path, (old, old))
    return path


def _new_file_mode() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask  # what any new file gets (mkstemp alone gives 0600)


def test_exported_files_follow_the_umask_and_stale_temporaries_go(project, tmp_path):
    out = tmp_path / "exports"
    out.mkdir()
    stale = _left_by_a_killed_export(out / ".labels.csv.abc123.tmp")
    fresh = out / ".labels.csv.def456.tmp"  # another export running right now
    fresh.write_bytes(b"")
    path = export(project, "labels", out / "labels.csv")
    assert path.stat().st_mode & 0o777 == _new_file_mode()
    assert not stale.exists() and fresh.exists()


def test_clip_files_follow_the_umask_and_killed_clip_exports_are_cleaned(project, tmp_path):
    out = tmp_path / "clips"
    out.mkdir()
    leftover = _left_by_a_killed_export(out / ".a_groom_000001.x1y2z3.mp4")
    result = export(project, "clips", out)
    assert result.clips and not leftover.exists()
    assert {clip.stat().st_mode & 0o777 for clip in result.clips} == {_new_file_mode()}


def test_round_trip_keeps_lone_cr_and_leading_quotes(project, tmp_path):
    project.add_behavior("'=quoted")
    project.add_behavior("+plus")
    texts = ["\r", "a\rb", "'=1+1", "=SUM(A1)", "''@x", "-", "'", "\t tab", "x\r\ny"]
    for i, text in enumerate(texts):
        project.add_label("a.mp4", "'=quoted" if i % 2 else "+plus", i * 0.5, i * 0.5 + 0.4, "accept",
                          comment=text)
    path = export(project, "labels", tmp_path / "l.csv")
    again = Project.create(tmp_path / "again")
    for v in project.videos():
        again.add_video(v["path"])
    report = import_file(again, path)
    assert report.added == len(project.labels())
    got = sorted((lab["behavior"], lab["comment"] or "") for lab in again.labels())
    want = sorted((lab["behavior"], lab["comment"] or "") for lab in project.labels())
    assert got == want
