"""The operation log behind unlimited undo and redo.

Every user action runs as one write transaction (``Action``) that records the row images it
changed: ``(table, id, before, after)``, ``before`` None for an insert, ``after`` None for a
delete. The list is stored as JSON in ``ops`` in the same transaction, so the log and the data
can never disagree, and undo survives restarts. Undo writes the ``before`` images back in reverse
order and marks the op undone; redo writes the ``after`` images again. A new action deletes the
undone tail (the redo history), like every editor.

A long import writes in many short transactions so that answers from other processes never
wait long; its ops share a group (``ops.grp``, the id of the group's first op) and undo and redo
treat a group as one step. A group still being written is skipped by undo (``skip_groups``).
"""
from __future__ import annotations

import base64
import json
import sqlite3
from datetime import datetime, timezone

UNDOABLE_TABLES = ("videos", "behaviors", "subjects", "labels")


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def _encode(row: dict | None) -> dict | None:
    if row is None:
        return None
    return {k: ({"b64": base64.b64encode(v).decode()} if isinstance(v, bytes) else v)
            for k, v in row.items()}


def _decode(row: dict | None) -> dict | None:
    if row is None:
        return None
    return {k: (base64.b64decode(v["b64"]) if isinstance(v, dict) and "b64" in v else v)
            for k, v in row.items()}


def fetch_row(conn: sqlite3.Connection, table: str, row_id: int) -> dict | None:
    cur = conn.execute(f"SELECT * FROM {table} WHERE id = ?", (row_id,))
    row = cur.fetchone()
    if row is None:
        return None
    return dict(zip([d[0] for d in cur.description], row))


class Action:
    """Writes of one user action, recorded for undo. Use ``Project.action(description)``."""

    def __init__(self, conn: sqlite3.Connection, description: str | None, group: int | None = None):
        self.conn = conn
        self.description = description
        self.group = group  # ops of one grouped action (a long import); None: no group
        self.changes: list[tuple[str, int, dict | None, dict | None]] = []

    def insert(self, table: str, values: dict) -> int:
        cols = list(values)
        cur = self.conn.execute(
            f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
            [values[c] for c in cols])
        row_id = int(cur.lastrowid)
        self._record(table, row_id, None, fetch_row(self.conn, table, row_id))
        return row_id

    def update(self, table: str, row_id: int, values: dict) -> None:
        before = fetch_row(self.conn, table, row_id)
        if not values or before is None:
            return
        sets = ", ".join(f"{c} = ?" for c in values)
        self.conn.execute(f"UPDATE {table} SET {sets} WHERE id = ?", [*values.values(), row_id])
        self._record(table, row_id, before, fetch_row(self.conn, table, row_id))

    def delete(self, table: str, row_id: int) -> None:
        before = fetch_row(self.conn, table, row_id)
        if before is None:
            return
        self.conn.execute(f"DELETE FROM {table} WHERE id = ?", (row_id,))
        self._record(table, row_id, before, None)

    def _record(self, table, row_id, before, after):
        if self.description is not None and table in UNDOABLE_TABLES:
            self.changes.append((table, row_id, before, after))

    def save(self) -> None:
        """Store the op (inside the still-open transaction) and drop the redo tail."""
        if self.description is None or not self.changes:
            return
        self.conn.execute("DELETE FROM ops WHERE undone = 1")
        payload = json.dumps([[t, i, _encode(b), _encode(a)] for t, i, b, a in self.changes])
        self.conn.execute("INSERT INTO ops (description, changes, undone, created, grp) "
                          "VALUES (?, ?, 0, ?, ?)",
                          (self.description, payload, now_iso(), self.group))


def _write_image(conn: sqlite3.Connection, table: str, row_id: int, image: dict | None) -> None:
    """Make row ``row_id`` of ``table`` equal ``image`` (None: absent)."""
    exists = conn.execute(f"SELECT 1 FROM {table} WHERE id = ?", (row_id,)).fetchone()
    if image is None:
        if exists:
            conn.execute(f"DELETE FROM {table} WHERE id = ?", (row_id,))
        return
    cols = [c for c in image if c != "id"]
    if exists:
        conn.execute(f"UPDATE {table} SET {', '.join(f'{c} = ?' for c in cols)} WHERE id = ?",
                     [image[c] for c in cols] + [row_id])
    else:
        conn.execute(f"INSERT INTO {table} (id, {', '.join(cols)}) "
                     f"VALUES (?, {', '.join('?' * len(cols))})", [row_id] + [image[c] for c in cols])


def _ops_of(conn: sqlite3.Connection, op_id: int, grp: int | None, undone: int, order: str):
    if grp is None:
        return conn.execute("SELECT id, changes FROM ops WHERE id = ?", (op_id,)).fetchall()
    return conn.execute(f"SELECT id, changes FROM ops WHERE grp = ? AND undone = ? ORDER BY id {order}",
                        (grp, undone)).fetchall()


def _skip(skip_groups) -> tuple[str, list]:
    groups = sorted(skip_groups or ())
    if not groups:
        return "", []
    return f" AND (grp IS NULL OR grp NOT IN ({', '.join('?' * len(groups))}))", groups


def undo_last(conn: sqlite3.Connection, skip_groups=()) -> str | None:
    """Undo the newest op (or op group) that is not undone (caller holds the write
    transaction)."""
    where, params = _skip(skip_groups)
    row = conn.execute("SELECT id, description, grp FROM ops WHERE undone = 0" + where +
                       " ORDER BY id DESC LIMIT 1", params).fetchone()
    if row is None:
        return None
    op_id, description, grp = row
    for oid, changes in _ops_of(conn, op_id, grp, 0, "DESC"):
        for table, row_id, before, _after in reversed(json.loads(changes)):
            _write_image(conn, table, row_id, _decode(before))
        conn.execute("UPDATE ops SET undone = 1 WHERE id = ?", (oid,))
    return description


def redo_next(conn: sqlite3.Connection) -> str | None:
    """Redo the oldest undone op or op group (caller holds the write transaction)."""
    row = conn.execute("SELECT id, grp FROM ops WHERE undone = 1 ORDER BY id ASC LIMIT 1").fetchone()
    if row is None:
        return None
    op_id, grp = row
    description = None
    for oid, changes in _ops_of(conn, op_id, grp, 1, "ASC"):
        for table, row_id, _before, after in json.loads(changes):
            _write_image(conn, table, row_id, _decode(after))
        conn.execute("UPDATE ops SET undone = 0 WHERE id = ?", (oid,))
        description = conn.execute("SELECT description FROM ops WHERE id = ?", (oid,)).fetchone()[0]
    return description


def discard_group(conn: sqlite3.Connection, grp: int) -> None:
    """Take back every op of an unfinished group and forget it (no redo): an import that
    failed or was killed half-way leaves nothing behind."""
    for oid, changes in conn.execute("SELECT id, changes FROM ops WHERE grp = ? AND undone = 0 "
                                     "ORDER BY id DESC", (grp,)).fetchall():
        for table, row_id, before, _after in reversed(json.loads(changes)):
            _write_image(conn, table, row_id, _decode(before))
    conn.execute("DELETE FROM ops WHERE grp = ?", (grp,))
