"""A project database that is read-only, damaged or holds text another program wrote: one line
that names the file, the cause and what to do, never a traceback."""
from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

from ethoscout.core.data.project import Project

from .conftest import cli, one_error_line


def _make_read_only(folder: Path):
    db = folder / "project.sqlite"
    if os.geteuid() == 0:  # root writes through permissions: use the immutable attribute
        if not shutil.which("chattr") or subprocess.run(["chattr", "+i", str(db)]).returncode != 0:
            pytest.skip("running as root without chattr: no way to make a file read-only")
        return lambda: subprocess.run(["chattr", "-i", str(db)])
    db.chmod(0o444)
    return lambda: db.chmod(0o644)


def test_a_read_only_project_reads_and_refuses_writes_in_one_line(project, capsys):
    folder = project.folder
    project.close()
    undo = _make_read_only(folder)
    try:
        r = cli(capsys, "behavior", "list", "--project", folder)
        assert r.returncode == 0 and "groom" in r.stdout, r.stderr
        r = cli(capsys, "export", "--format", "labels", "--out", folder / "exports" / "l.csv", "--project", folder)
        assert r.returncode == 0, r.stderr
        r = cli(capsys, "label", "--project", folder, "--video", "a.mp4", "--behavior", "rear",
                "--start", "3", "--end", "4")
        line = one_error_line(r)
        assert "project.sqlite" in line and "read-only" in line
    finally:
        undo()
    assert len(Project.open(folder).labels()) == 1


def _corrupt(folder: Path) -> None:
    """Overwrite every page after the schema page with junk (the file keeps its size)."""
    db = folder / "project.sqlite"
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    page = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    data = bytearray(db.read_bytes())
    for start in range(page, len(data), page):
        data[start:start + page] = bytes((start // page * 37 + i) % 251 for i in range(page))
    db.write_bytes(bytes(data))


def test_a_damaged_database_says_how_to_recover(project, capsys):
    folder = project.folder
    project.close()
    _corrupt(folder)
    for args in (["behavior", "list"], ["export", "--format", "labels", "--out", folder / "x.csv"],
                 ["label", "--video", "a.mp4", "--behavior", "rear", "--start", "3", "--end", "4"],
                 ["undo"]):
        line = one_error_line(cli(capsys, *args, "--project", folder))
        assert "project.sqlite" in line and (".recover" in line or "not a readable" in line), line


def test_a_file_that_is_not_a_database(tmp_path, capsys):
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "project.sqlite").write_bytes(b"SQLite format 3\x00" + os.urandom(5000))
    line = one_error_line(cli(capsys, "behavior", "list", "--project", folder))
    assert "project.sqlite" in line


def test_invalid_utf8_written_by_another_program_is_still_readable(project, capsys, tmp_path):
    conn = sqlite3.connect(project.path)
    conn.execute("UPDATE labels SET comment = CAST(x'fffe41' AS TEXT)")
    conn.execute("UPDATE behaviors SET description = CAST(x'c3' AS TEXT) WHERE name = 'rear'")
    conn.commit()
    conn.close()
    folder = project.folder
    project.close()
    r = cli(capsys, "export", "--format", "labels", "--out", tmp_path / "l.csv", "--project", folder)
    assert r.returncode == 0, r.stderr
    assert "\ufffd\ufffdA" in (tmp_path / "l.csv").read_text(encoding="utf-8")
    r = cli(capsys, "behavior", "list", "--project", folder)
    assert r.returncode == 0 and "rear" in r.stdout
