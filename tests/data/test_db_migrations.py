"""Schema versions: every earlier version migrates to the current one without losing data."""
from __future__ import annotations

import sqlite3

import pytest

from ethoscout.core.data import schema
from ethoscout.core.data.project import DB_NAME, Project
from ethoscout.core.errors import EthoscoutError


def make_old_project(folder, version: int) -> None:
    """A project as an older ethoscout wrote it: only the first ``version`` migrations."""
    folder.mkdir()
    conn = sqlite3.connect(folder / DB_NAME, isolation_level=None)
    schema.migrate(conn, "old", target=version)
    if version >= 1:
        conn.execute("INSERT INTO videos (id, path, name, fingerprint, duration_s, fps, frame_count, "
                     "width, height, vfr, added) VALUES (1, '/x/a.mp4', 'a.mp4', 'f', 20, 25, 500, "
                     "64, 48, 0, '2024-01-01')")
        conn.execute("INSERT INTO behaviors (id, name, prompts) VALUES (1, 'rear', '[\"rearing\"]')")
        conn.execute("INSERT INTO labels (video_id, behavior_id, start_s, end_s, start_frame, "
                     "end_frame, verdict, source, created, updated) VALUES "
                     "(1, 1, 1.0, 2.0, 25, 49, 'accept', 'manual', 't', 't')")
    conn.close()


def schema_sql(conn) -> list[str]:
    return sorted(r[0] for r in conn.execute("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL"))


@pytest.mark.parametrize("version", range(schema.SCHEMA_VERSION))
def test_each_earlier_version_migrates(tmp_path, version):
    make_old_project(tmp_path / "old", version)
    p = Project.open(tmp_path / "old")
    assert p.schema_version == schema.SCHEMA_VERSION
    fresh = Project.create(tmp_path / "fresh")
    assert schema_sql(p._conn()) == schema_sql(fresh._conn())
    if version >= 1:
        lab = p.labels()[0]
        assert (lab["behavior"], lab["start_s"], lab["subject"], lab["comment"]) == ("rear", 1.0, None, None)
        p.add_subject("m1")  # a v2 table
        assert p.find_behavior("rear")["prompts"] == ["rearing"]


def test_v1_to_v2_adds_subjects_and_comments(tmp_path):
    make_old_project(tmp_path / "old", 1)
    conn = sqlite3.connect(tmp_path / "old" / DB_NAME)
    cols = {r[1] for r in conn.execute("PRAGMA table_info(labels)")}
    assert "comment" not in cols and "subject_id" not in cols
    assert "subjects" not in {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    conn.close()
    p = Project.open(tmp_path / "old")
    cols = {r[1] for r in p._conn().execute("PRAGMA table_info(labels)")}
    assert {"comment", "subject_id", "text"} <= cols


def test_newer_schema_is_refused(tmp_path):
    Project.create(tmp_path / "p").close()
    conn = sqlite3.connect(tmp_path / "p" / DB_NAME)
    conn.execute(f"PRAGMA user_version = {schema.SCHEMA_VERSION + 5}")
    conn.close()
    with pytest.raises(EthoscoutError, match="newer ethoscout"):
        Project.open(tmp_path / "p")


def test_failed_migration_leaves_old_version(tmp_path, monkeypatch):
    make_old_project(tmp_path / "old", 1)
    monkeypatch.setattr(schema, "MIGRATIONS", [schema.MIGRATIONS[0], schema.MIGRATIONS[1] + "\nNOT SQL;"])
    with pytest.raises(EthoscoutError):
        Project.open(tmp_path / "old")
    conn = sqlite3.connect(tmp_path / "old" / DB_NAME)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    assert "subjects" not in {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
