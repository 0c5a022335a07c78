"""Locking between processes: reading never takes the write lock, writers wait (and say so)
instead of failing, and a long import neither blocks answers nor lands half-way."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ethoscout.core.data import dbfile
from ethoscout.core.data.imports import IMPORT_BATCH, import_file
from ethoscout.core.data.project import Project
from ethoscout.core.data.schema import SCHEMA_VERSION, migrate

from .conftest import cli
from .generate import labels_csv, start_import

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX process control")
CHILD = Path(__file__).with_name("lock_child.py")


def hold_lock(folder: Path, activity: str, seconds: float) -> subprocess.Popen:
    child = subprocess.Popen([sys.executable, str(CHILD), str(folder), activity, str(seconds)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "holding", child.stderr.read()
    return child


def test_reading_commands_never_take_the_write_lock(project, capsys, monkeypatch):
    monkeypatch.setattr(dbfile, "WRITE_WAIT_LIMIT_S", 0.5)  # a writer here would fail, not hang
    folder = project.folder
    project.close()
    holder = sqlite3.connect(folder / "project.sqlite", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        for args in (["behavior", "list"], ["project", "videos"], ["subject", "list"],
                     ["adapter", "list"], ["export", "--format", "labels", "--out", folder / "l.csv"]):
            r = cli(capsys, *args, "--project", folder)
            assert r.returncode == 0 and r.stderr == "", (args, r.stderr)
        assert len(Project.open(folder).labels()) == 1
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_a_writer_waits_for_another_process_and_says_which(project):
    child = hold_lock(project.folder, "import", 2.5)
    heard = []
    project.on_wait = heard.append
    label_id = project.add_label("a.mp4", "rear", 3.0, 4.0, "accept")  # waits, then commits
    assert child.wait(timeout=30) == 0
    assert project.label(label_id)["behavior"] == "rear"
    assert len(heard) == 1 and "waiting for another ethoscout process (import)" in heard[0]


def test_an_import_lands_as_one_undo_step_written_in_short_transactions(project, tmp_path):
    n = IMPORT_BATCH * 2 + 7
    before = len(project.labels())
    report = import_file(project, labels_csv(tmp_path / "l.csv", n, "a.mp4", 10.0))
    assert report.added == n
    batches = project._conn().execute("SELECT COUNT(*) FROM ops WHERE grp IS NOT NULL").fetchone()[0]
    assert batches >= 3  # definitions + labels in batches
    assert project.undo().startswith("import l.csv")
    assert len(project.labels()) == before
    assert project.redo().startswith("import l.csv")
    assert len(project.labels()) == before + n
    assert project._pending_groups() == {}


def test_a_rejected_import_leaves_nothing_not_even_its_behaviours(project, tmp_path):
    path = labels_csv(tmp_path / "l.csv", 50, "a.mp4", 10.0)
    text = path.read_text().replace("groom", "sniff").replace(",0.005,", ",-3,")
    path.write_text(text)
    before = (project.behaviors(), project.labels(), project.history())
    with pytest.raises(Exception, match="rejected, nothing imported"):
        import_file(project, path)
    assert (project.behaviors(), project.labels(), project.history()) == before


def test_answers_go_through_while_another_process_imports(project, tmp_path):
    """A labelling loop in this process while `ethoscout import` runs in another: every answer
    is committed, none refused, and the import is complete (100,000 rows: bench/robust_bench.py)."""
    n = 20_000
    path = labels_csv(tmp_path / "big.csv", n, "b.mp4", 5.0)
    before = len(project.labels())
    child = start_import(path, project.folder)
    answers, errors, t = [], [], 0.0
    while child.poll() is None:
        try:
            answers.append(project.add_label("a.mp4", "rear", t, t + 0.5, "accept", comment="loop"))
        except Exception as e:  # noqa: BLE001 - any refusal fails the test below
            errors.append(repr(e))
        t = (t + 0.25) % 9.0
    out, err = child.communicate()
    assert child.returncode == 0, err
    assert errors == []
    assert len(answers) > 5  # the loop really ran beside the import
    assert f"imported {n} labels" in out
    loop = [lab["id"] for lab in project.labels() if lab["comment"] == "loop"]
    assert sorted(loop) == sorted(answers)
    assert len(project.labels()) == before + n + len(answers)


def test_a_killed_import_is_taken_back_on_the_next_open(project, tmp_path):
    path = labels_csv(tmp_path / "big.csv", 20_000, "b.mp4", 5.0)
    before = (project.labels(), project.behaviors())
    folder = project.folder
    project.close()
    child = subprocess.Popen([sys.executable, "-m", "ethoscout.core.cli", "import", str(path),
                              "--project", str(folder)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    reader = sqlite3.connect(folder / "project.sqlite")
    deadline = time.monotonic() + 120
    while reader.execute("SELECT COUNT(*) FROM labels").fetchone()[0] <= len(before[0]):
        assert child.poll() is None and time.monotonic() < deadline, "import ended before it was killed"
        time.sleep(0.05)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    reader.close()
    again = Project.open(folder)
    assert (again.labels(), again.behaviors()) == before
    assert again._pending_groups() == {}
    assert again.undo().startswith("accept groom")  # the history is the one before the import
    again.close()


def test_migration_only_for_an_older_schema_and_after_a_backup(tmp_path):
    Project.create(tmp_path / "new").close()
    assert not list((tmp_path / "new").glob("*.bak"))
    Project.open(tmp_path / "new").close()
    assert not list((tmp_path / "new").glob("*.bak"))
    old = tmp_path / "old"
    old.mkdir()
    conn = sqlite3.connect(old / "project.sqlite", isolation_level=None)
    migrate(conn, "old", target=SCHEMA_VERSION - 1)
    conn.close()
    p = Project.open(old)
    assert p.schema_version == SCHEMA_VERSION
    [backup] = old.glob("*.bak")
    assert backup.name == f"project.sqlite.v{SCHEMA_VERSION - 1}.bak"
    conn = sqlite3.connect(backup)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION - 1
    conn.close()
    p.close()


def test_two_imports_at_once_both_land_whole(project, tmp_path):
    tables = [labels_csv(tmp_path / f"{name}.csv", 3000, video, duration)
              for name, video, duration in (("one", "a.mp4", 10.0), ("two", "b.mp4", 5.0))]
    before = len(project.labels())
    children = [start_import(t, project.folder) for t in tables]
    for child in children:
        out, err = child.communicate(timeout=600)
        assert child.returncode == 0 and "Traceback" not in err, err
    assert len(project.labels()) == before + 6000
    assert project.undo().startswith("import ") and project.undo().startswith("import ")
    assert len(project.labels()) == before


def test_an_opening_that_must_write_waits_says_so_and_can_be_stopped(tmp_path):
    from ethoscout.core.progress import Cancelled, CancelToken

    old = tmp_path / "old"
    old.mkdir()
    conn = sqlite3.connect(old / "project.sqlite", isolation_level=None)
    migrate(conn, "old", target=SCHEMA_VERSION - 1)  # opening migrates it, under the write lock
    conn.close()
    child = hold_lock(old, "import", 60)
    cancel, heard = CancelToken(), []

    def on_wait(text):
        heard.append(text)
        cancel.cancel()  # as a window's Cancel would, while it waits
    try:
        with pytest.raises(Cancelled):
            Project.open(old, on_wait=on_wait, cancel=cancel)
    finally:
        child.kill()
        child.wait()
    assert len(heard) == 1 and "waiting for another ethoscout process (import)" in heard[0]
    conn = sqlite3.connect(old / "project.sqlite")
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION - 1  # nothing changed
    conn.close()
    with Project.open(old) as again:  # and it opens once nobody else writes
        assert again.schema_version == SCHEMA_VERSION
