"""The project's SQLite file: opening it, waiting for its write lock, and saying what is wrong
with it in one line.

- Every SQLite error leaves through ``explain``: a read-only file, a damaged file, a full disk
  or a lock held too long each get their real cause and what to do, naming the file.
- Writers never fail because another process writes: ``begin_write`` waits, and after a moment
  says so (``waiting for another ethoscout process (import)…``) through a callback. The other
  process's activity comes from ``announce``: a small file per process in ``.writers/``.
- Reading takes no write lock; the schema is migrated only when it is older than this program,
  after a backup copy of the file is made.
"""
from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import time
from pathlib import Path
from typing import Callable, Iterator

from ..progress import CancelToken
from .errors import ProjectError

log = logging.getLogger("ethoscout.data")

BUSY_STEP_S = 1.0  # a writer says it waits after this long (and SQLite's own busy timeout)
YIELD_S = 0.02  # a long writer's pause between transactions: waiting writers go first
WRITE_WAIT_LIMIT_S = 600.0  # then give up with a message naming who holds the lock
WRITERS_DIR = ".writers"

RECOVER_HINT = ("recover it with `sqlite3 {name} .recover | sqlite3 recovered.sqlite` and put "
                "recovered.sqlite in its place (keep the damaged file), or restore a backup copy "
                "({name}.v*.bak)")


class DatabaseLocked(ProjectError):
    """Another process holds the write lock (after SQLite's own short wait)."""


def explain(e: sqlite3.Error, path: Path) -> ProjectError:
    """One line naming the file, the real cause and what to do."""
    text = str(e)
    low = text.lower()
    name = Path(path).name
    if "locked" in low or "busy" in low:
        return DatabaseLocked(path, "is being written by another ethoscout process; try again when "
                                    "it has finished")
    if "readonly" in low or "read-only" in low:
        return ProjectError(path, "is read-only (the file, its folder or the disk refuses writes: "
                                  "check its permissions and `lsattr`, or copy the project folder "
                                  "somewhere writable); nothing was changed")
    if "not a database" in low or "encrypted" in low:
        return ProjectError(path, f"is not a readable project database ({text}); if it held your "
                                  "project, " + RECOVER_HINT.format(name=name))
    if "malformed" in low or "corrupt" in low:
        return ProjectError(path, f"is damaged ({text}); " + RECOVER_HINT.format(name=name))
    if "disk is full" in low or "database or disk is full" in low:
        return ProjectError(path, "the disk is full; free some space and try again (nothing "
                                  "committed before was lost)")
    if "unable to open" in low:
        return ProjectError(path, f"cannot be opened ({text}: is the folder there and readable?)")
    if "disk i/o" in low:
        return ProjectError(path, f"could not be written or read ({text}): is the disk full, or a "
                                  "quota or file-size limit reached? Nothing committed before was lost; "
                                  "free space and run again (if the drive keeps failing, copy the "
                                  "project folder to another disk)")
    return ProjectError(path, f"database error ({text})")


class _Cursor(sqlite3.Cursor):
    """A cursor whose errors name the file (a damaged page can surface while fetching)."""

    def _explained(self, call, *args):
        try:
            return call(*args)
        except sqlite3.IntegrityError:
            raise  # a refused change: callers turn it into their own message
        except sqlite3.Error as e:
            raise explain(e, self.connection.path) from None
        except OverflowError:
            raise ProjectError(self.connection.path, "a number is too large to store") from None

    def execute(self, *args):
        return self._explained(super().execute, *args)

    def executemany(self, *args):
        return self._explained(super().executemany, *args)

    def fetchone(self):
        return self._explained(super().fetchone)

    def fetchall(self):
        return self._explained(super().fetchall)

    def fetchmany(self, *args):
        return self._explained(super().fetchmany, *args)

    def __next__(self):
        return self._explained(super().__next__)


class Connection(sqlite3.Connection):
    """``sqlite3.Connection`` whose errors are ``ProjectError`` lines (IntegrityError aside)."""

    path: Path

    def cursor(self, factory=_Cursor):
        return super().cursor(factory)

    def execute(self, sql, params=()):
        return self.cursor().execute(sql, params)

    def executemany(self, sql, params):
        return self.cursor().executemany(sql, params)


def connect(path: Path) -> Connection:
    """Open (creating if missing) in autocommit mode, WAL, foreign keys on, full sync."""
    try:
        conn = sqlite3.connect(path, timeout=BUSY_STEP_S, isolation_level=None,
                               check_same_thread=False, factory=Connection)
    except sqlite3.Error as e:
        raise explain(e, path) from None
    conn.path = Path(path)
    # Text another program stored as invalid UTF-8 is shown with U+FFFD instead of stopping
    # every read of the project.
    conn.text_factory = _text
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_STEP_S * 1000)}")
        if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
            conn.execute("PRAGMA journal_mode = WAL")  # once, on a new file
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA synchronous = FULL")  # a committed answer survives power loss
    except BaseException:
        conn.close()
        raise
    return conn


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


def begin_write(conn: Connection, notify: Callable[[str], None] | None = None,
                limit_s: float | None = None, cancel: CancelToken | None = None) -> None:
    """``BEGIN IMMEDIATE``, waiting as long as another process writes (up to ``limit_s``,
    default ``WRITE_WAIT_LIMIT_S``, or until ``cancel`` is set: ``Cancelled``); after the
    first second ``notify`` hears who is writing.

    The wait polls every few milliseconds itself instead of SQLite's busy handler, whose
    sleeps grow to 100 ms: a long import yields between its batches (``YIELD_S``) and a
    waiting answer must be quick enough to take the lock in that gap."""
    limit_s = WRITE_WAIT_LIMIT_S if limit_s is None else limit_s
    start = time.monotonic()
    told = False
    pause = 0.0005
    conn.execute("PRAGMA busy_timeout = 0")
    try:
        while True:
            try:
                conn.execute("BEGIN IMMEDIATE")
                return
            except DatabaseLocked:
                waited = time.monotonic() - start
                if waited >= limit_s or (waited >= BUSY_STEP_S and not told):
                    names = ", ".join(writers(conn.path.parent))
                    if waited >= limit_s:
                        raise DatabaseLocked(conn.path, f"is still being written by {names or 'another ethoscout process'}"
                                                        f" after {waited:.0f} s; try again when it has finished") from None
                    (notify or log.warning)(f"{conn.path}: waiting for another ethoscout process"
                                            f"{f' ({names})' if names else ''}…")
                    told = True
                if cancel is not None:
                    cancel.check()
                time.sleep(pause)
                pause = min(pause * 2, 0.004)
    finally:
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_STEP_S * 1000)}")


@contextlib.contextmanager
def announce(folder: Path, activity: str) -> Iterator[None]:
    """Tell processes that wait for the write lock what this one is doing (``import``)."""
    marker = Path(folder) / WRITERS_DIR / str(os.getpid())
    try:
        marker.parent.mkdir(exist_ok=True)
        marker.write_text(activity)
    except OSError:
        marker = None  # a read-only folder: the wait message just says less
    try:
        yield
    finally:
        if marker is not None:
            marker.unlink(missing_ok=True)


def writers(folder: Path) -> list[str]:
    """Activities announced by other live processes (stale markers are removed)."""
    out = []
    with contextlib.suppress(OSError):
        for marker in (Path(folder) / WRITERS_DIR).iterdir():
            if not marker.name.isdigit() or int(marker.name) == os.getpid():
                continue
            if not alive(int(marker.name)):
                marker.unlink(missing_ok=True)
                continue
            with contextlib.suppress(OSError):
                out.append(marker.read_text()[:40] or "busy")
    return out


def alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def backup_copy(conn: Connection, version: int) -> Path:
    """A consistent copy of the database beside it, before a migration changes it."""
    target = conn.path.with_name(f"{conn.path.name}.v{version}.bak")
    dest = sqlite3.connect(target)
    try:
        conn.backup(dest)
    except sqlite3.Error as e:
        raise explain(e, conn.path) from None
    finally:
        dest.close()
    return target


def needs_migration(conn: Connection, target: int) -> int | None:
    """The schema version when it is older than ``target`` (read without any lock)."""
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    return version if version < target else None


__all__ = ["Connection", "DatabaseLocked", "connect", "begin_write", "announce", "writers",
           "explain", "backup_copy", "needs_migration", "BUSY_STEP_S"]
