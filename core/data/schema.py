"""The project database schema and its migrations.

``PRAGMA user_version`` holds the schema version. A new database is built by running every
migration from 0, so a fresh project and an upgraded old one have the same schema by
construction. Each migration runs inside one transaction together with the version bump.
"""
from __future__ import annotations

import sqlite3

from .errors import ProjectError

# "predicted": a bout of the model's coding not yet reviewed (accepting it makes it "accept").
VERDICTS = ("accept", "reject", "manual", "predicted")
SOURCES = ("suggestion", "manual", "import", "narration", "model")
KINDS = ("state", "point")
MODIFIER_KINDS = ("single", "multiple", "numeric")
RUN_STATUSES = ("running", "done", "failed", "cancelled")


def _in(values) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


# The values version 1 allowed (its CHECK constraints are frozen with it).
_V1_VERDICTS = ("accept", "reject", "manual")
_V1_SOURCES = ("suggestion", "manual", "import", "narration")

# Version 1: the first released layout (no subjects, labels without subject/comment/text).
_V1 = f"""
CREATE TABLE videos (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    duration_s REAL NOT NULL,
    fps REAL NOT NULL,
    frame_count INTEGER NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    codec TEXT,
    rotation INTEGER NOT NULL DEFAULT 0,
    vfr INTEGER NOT NULL DEFAULT 0,
    pts BLOB,  -- zlib-compressed float64 presentation times: frame indices without the file
    added TEXT NOT NULL
);
CREATE INDEX videos_name ON videos(name);
CREATE TABLE behaviors (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE COLLATE NOCASE,
    description TEXT,
    prompts TEXT NOT NULL DEFAULT '[]',
    key TEXT,
    colour TEXT,
    kind TEXT NOT NULL DEFAULT 'state' CHECK (kind IN {_in(KINDS)})
);
CREATE TABLE labels (
    id INTEGER PRIMARY KEY,
    video_id INTEGER NOT NULL REFERENCES videos(id),
    behavior_id INTEGER NOT NULL REFERENCES behaviors(id),
    start_s REAL NOT NULL,
    end_s REAL NOT NULL,
    start_frame INTEGER NOT NULL,
    end_frame INTEGER NOT NULL,
    verdict TEXT NOT NULL CHECK (verdict IN {_in(_V1_VERDICTS)}),
    source TEXT NOT NULL CHECK (source IN {_in(_V1_SOURCES)}),
    score REAL,
    model_id TEXT,
    adapter_version INTEGER,
    annotator TEXT,
    created TEXT NOT NULL,
    updated TEXT NOT NULL,
    CHECK (start_s >= 0 AND end_s > start_s)
);
CREATE INDEX labels_video ON labels(video_id, start_s);
CREATE INDEX labels_behavior ON labels(behavior_id);
CREATE TABLE training_runs (
    id INTEGER PRIMARY KEY,
    started TEXT NOT NULL,
    finished TEXT,
    status TEXT NOT NULL CHECK (status IN {_in(RUN_STATUSES)}),
    message TEXT,
    spec TEXT NOT NULL DEFAULT '{{}}',
    adapter_version INTEGER,
    metrics TEXT
);
CREATE TABLE adapters (
    version INTEGER PRIMARY KEY,
    folder TEXT NOT NULL,
    created TEXT NOT NULL,
    base_model TEXT,
    metrics TEXT NOT NULL DEFAULT '{{}}',
    active INTEGER NOT NULL DEFAULT 0 CHECK (active IN (0, 1))
);
-- At most one active adapter, enforced by the database itself.
CREATE UNIQUE INDEX adapters_one_active ON adapters(active) WHERE active = 1;
CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE ops (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    description TEXT NOT NULL,
    changes TEXT NOT NULL,
    undone INTEGER NOT NULL DEFAULT 0,
    created TEXT NOT NULL
);
"""

# Version 2: subjects (animals), and per-label subject, comment and free text (narration).
_V2 = """
CREATE TABLE subjects (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE COLLATE NOCASE,
    description TEXT,
    key TEXT
);
ALTER TABLE labels ADD COLUMN subject_id INTEGER REFERENCES subjects(id);
ALTER TABLE labels ADD COLUMN comment TEXT;
ALTER TABLE labels ADD COLUMN text TEXT;
"""

# Version 3: modifiers (per behaviour: JSON list of sets {name, kind, values}; per label: JSON
# object set name -> chosen values) and the model's coding (verdict "predicted", source "model").
# SQLite can't change a CHECK constraint in place, so labels is rebuilt with the same rows.
_LABEL_COLUMNS_V2 = ("id, video_id, behavior_id, start_s, end_s, start_frame, end_frame, verdict, "
                     "source, score, model_id, adapter_version, annotator, created, updated, "
                     "subject_id, comment, text")
_V3 = f"""
ALTER TABLE behaviors ADD COLUMN modifiers TEXT NOT NULL DEFAULT '[]';
CREATE TABLE labels_v3 (
    id INTEGER PRIMARY KEY,
    video_id INTEGER NOT NULL REFERENCES videos(id),
    behavior_id INTEGER NOT NULL REFERENCES behaviors(id),
    start_s REAL NOT NULL,
    end_s REAL NOT NULL,
    start_frame INTEGER NOT NULL,
    end_frame INTEGER NOT NULL,
    verdict TEXT NOT NULL CHECK (verdict IN {_in(VERDICTS)}),
    source TEXT NOT NULL CHECK (source IN {_in(SOURCES)}),
    score REAL,
    model_id TEXT,
    adapter_version INTEGER,
    annotator TEXT,
    created TEXT NOT NULL,
    updated TEXT NOT NULL,
    subject_id INTEGER REFERENCES subjects(id),
    comment TEXT,
    text TEXT,
    modifiers TEXT NOT NULL DEFAULT '{{}}',
    CHECK (start_s >= 0 AND end_s > start_s)
);
INSERT INTO labels_v3 ({_LABEL_COLUMNS_V2}) SELECT {_LABEL_COLUMNS_V2} FROM labels;
DROP TABLE labels;
ALTER TABLE labels_v3 RENAME TO labels;
CREATE INDEX labels_video ON labels(video_id, start_s);
CREATE INDEX labels_behavior ON labels(behavior_id);
CREATE INDEX labels_annotator ON labels(annotator);
"""

# Version 4: op groups, so that an import written in many short transactions is one undo step.
_V4 = """
ALTER TABLE ops ADD COLUMN grp INTEGER;
CREATE INDEX ops_grp ON ops(grp) WHERE grp IS NOT NULL;
"""

MIGRATIONS: list[str] = [_V1, _V2, _V3, _V4]  # MIGRATIONS[i] takes version i to i + 1
SCHEMA_VERSION = len(MIGRATIONS)


def schema_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection, where: str, target: int = SCHEMA_VERSION, begin=None) -> int:
    """Bring the database to ``target``; returns the version it had before. ``conn`` must be in
    autocommit mode (isolation_level=None); ``begin(conn)`` takes the write lock (default
    ``BEGIN IMMEDIATE``)."""
    # Re-read the version inside a write lock: two processes opening an old project at once
    # must not both run the same migration.
    if begin is None:
        conn.execute("BEGIN IMMEDIATE")
    else:
        begin(conn)
    try:
        before = schema_version(conn)
        if before > SCHEMA_VERSION:
            raise ProjectError(where, f"was written by a newer ethoscout (schema {before}, "
                                      f"this version reads up to {SCHEMA_VERSION}); update ethoscout")
        for version in range(before, target):
            for statement in _statements(MIGRATIONS[version]):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {version + 1}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return before


def _statements(script: str) -> list[str]:
    """Split a migration script into statements (executescript would commit our transaction)."""
    out, current = [], []
    for line in script.splitlines():
        if line.strip().startswith("--"):
            continue
        current.append(line)
        if sqlite3.complete_statement("\n".join(current)):
            out.append("\n".join(current).strip())
            current = []
    return [s for s in out if s]
