"""A project: a folder with ``project.sqlite`` beside ``features/``, ``adapters/``, ``exports/``.

Every change a user makes is one SQLite transaction, committed before the call returns, and
recorded in the operation log (see ``oplog``) so it can be undone and redone across restarts.

Threads and processes: each thread gets its own connection, opened lazily on first use, so
one ``Project`` object may be shared by the GUI thread and worker threads; a training child
process opens its own ``Project``. The database runs in WAL mode (readers never block the
writer and reading never takes the write lock); every write takes the write lock up front
(``BEGIN IMMEDIATE``) and waits for it as long as another process writes, saying so through
``on_wait`` (see ``dbfile``). Long imports write in short transactions grouped into one undo
step (``grouped_action``), so an answer never waits behind them.
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import re
import socket
import sqlite3
import threading
import zlib
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import sqlite_utils

from ..video.probe import VideoInfo, probe_video
from ..progress import CancelToken
from .dbfile import alive, announce, backup_copy, begin_write, connect
from .errors import ProjectError
from .modifiers import ModifierError, normalise_choice, normalise_sets
from .oplog import Action, discard_group, now_iso, redo_next, undo_last
from .schema import KINDS, RUN_STATUSES, SCHEMA_VERSION, SOURCES, VERDICTS, migrate, schema_version

DB_NAME = "project.sqlite"
SUBFOLDERS = ("features", "adapters", "exports")
PENDING_GROUPS = "ops.pending_groups"  # setting: grouped actions still being written
PALETTE = ("#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6",
           "#bfef45", "#fabed4", "#469990", "#9a6324", "#800000", "#808000", "#000075")
_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


def describe_bout(verdict: str, behavior: str, start_s: float, end_s: float) -> str:
    return f"{verdict} {behavior} {start_s:.1f}–{end_s:.1f} s"


def _finite(value, what: str, where: str) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ProjectError(where, f"{what} {value!r} is not a number") from None
    if not math.isfinite(x):
        raise ProjectError(where, f"{what} {value!r} is not a finite number")
    return x


class Project:
    """Open with ``Project.open(folder)`` or make one with ``Project.create(folder)``."""

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder).resolve()
        self.path = self.folder / DB_NAME
        self._local = threading.local()
        self._conns: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._timing_cache: dict[tuple[int, str], VideoInfo] = {}
        # Hears "waiting for another ethoscout process (import)…" (default: a logged warning).
        self.on_wait: Callable[[str], None] | None = None
        self._cancel: CancelToken | None = None  # while opening: stops its wait for the write lock

    # ---- opening ---------------------------------------------------------------------------

    @classmethod
    def create(cls, folder: str | os.PathLike) -> "Project":
        folder = Path(folder)
        if (folder / DB_NAME).exists():
            raise ProjectError(folder, "is already an ethoscout project")
        if folder.exists() and not folder.is_dir():
            raise ProjectError(folder, "exists and is not a folder")
        try:
            for sub in SUBFOLDERS:
                (folder / sub).mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise ProjectError(folder, f"cannot create project folder ({e.strerror})") from None
        project = cls(folder)
        project._conn()  # creates and migrates the database
        return project

    @classmethod
    def open(cls, folder: str | os.PathLike, on_wait: Callable[[str], None] | None = None,
             cancel: CancelToken | None = None) -> "Project":
        """Open an existing project. Opening writes only to migrate an older schema or to take
        back a killed import, and may then wait for another process's write lock: ``on_wait``
        hears it, ``cancel`` stops the wait (``Cancelled``, nothing changed, nothing left open)."""
        folder = Path(folder)
        if not folder.is_dir():
            raise ProjectError(folder, "project folder not found")
        if not (folder / DB_NAME).is_file():
            raise ProjectError(folder, f"is not an ethoscout project (no {DB_NAME}); "
                                       "create one with 'ethoscout project init'")
        project = cls(folder)
        project.on_wait, project._cancel = on_wait, cancel
        try:
            project._conn()
            project._discard_interrupted()
        except BaseException:
            project.close()
            raise
        finally:
            project._cancel = None
        for sub in SUBFOLDERS:
            with contextlib.suppress(OSError):  # a read-only project can still be read
                (project.folder / sub).mkdir(exist_ok=True)
        return project

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            return conn
        conn = connect(self.path)  # autocommit: transactions are begun and ended in action()
        try:
            self._migrate(conn)
        except BaseException:
            conn.close()
            raise
        with self._lock:
            self._conns.append(conn)
        self._local.conn = conn
        return conn

    def _migrate(self, conn) -> None:
        """Migrate only an older schema (reading takes no write lock), after a backup copy."""
        version = schema_version(conn)
        if version > SCHEMA_VERSION:
            raise ProjectError(self.path, f"was written by a newer ethoscout (schema {version}, "
                                          f"this version reads up to {SCHEMA_VERSION}); update ethoscout")
        if version == SCHEMA_VERSION:
            return
        if version > 0:
            backup_copy(conn, version)
        with announce(self.folder, "migration"):
            migrate(conn, str(self.path), begin=self._begin_write)

    def _begin_write(self, conn) -> None:
        begin_write(conn, self.on_wait, cancel=self._cancel)

    @property
    def db(self) -> sqlite_utils.Database:
        """sqlite-utils view of this thread's connection, for reading (write through methods)."""
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = sqlite_utils.Database(self._conn(), execute_plugins=False)
        return db

    @property
    def schema_version(self) -> int:
        return schema_version(self._conn())

    def close(self) -> None:
        """Close every connection this object opened (in any thread)."""
        with self._lock:
            conns, self._conns = self._conns, []
        for conn in conns:
            with contextlib.suppress(sqlite3.Error):
                conn.close()
        self._local = threading.local()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _query(self, sql: str, params=()) -> list[dict]:
        cur = self._conn().execute(sql, params)
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, row)) for row in cur.fetchall()]

    # ---- transactions ----------------------------------------------------------------------

    @contextlib.contextmanager
    def action(self, description: str | None, group: int | None = None) -> Iterator[Action]:
        """One user action = one transaction (and one undoable op when ``description`` is
        given; ``group`` joins it to a grouped action). Nested calls join the outer action
        through a savepoint, so a failed inner step leaves the outer action intact."""
        conn = self._conn()
        outer = getattr(self._local, "action", None)
        if outer is not None:
            mark = len(outer.changes)
            conn.execute("SAVEPOINT nested")
            try:
                yield outer
            except BaseException:
                conn.execute("ROLLBACK TO nested")
                conn.execute("RELEASE nested")
                del outer.changes[mark:]
                raise
            conn.execute("RELEASE nested")
            return
        act = Action(conn, description, group)
        self._begin_write(conn)
        self._local.action = act
        try:
            yield act
            act.save()
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        finally:
            self._local.action = None

    def _write(self, fn, description: str | None = None):
        """Run ``fn(action)`` in one write transaction; a constraint the checks above missed
        becomes a one-line error instead of a traceback."""
        try:
            with self.action(description) as act:
                return fn(act)
        except sqlite3.IntegrityError as e:
            raise ProjectError(self.path, f"change refused by the database ({e})") from None

    @contextlib.contextmanager
    def grouped_action(self, description: str, activity: str = "import") -> Iterator["ActionGroup"]:
        """A long action written in many short transactions (``group.step()``), undone and
        redone as one. Until it ends, undo skips it; when it fails (or the process dies) its
        steps are taken back, so it lands whole or not at all."""
        group = ActionGroup(self, description)
        with announce(self.folder, activity):
            try:
                yield group
            except BaseException:
                if group.number is not None:
                    self._discard_group(group.number)
                raise
            group.finish()

    def _pending_groups(self) -> dict:
        return self.get_setting(PENDING_GROUPS, {}) or {}

    def _set_pending(self, conn, pending: dict) -> None:
        if not pending:  # none left: no trace of them
            conn.execute("DELETE FROM settings WHERE key = ?", (PENDING_GROUPS,))
            return
        conn.execute("INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE "
                     "SET value = excluded.value", (PENDING_GROUPS, json.dumps(pending)))

    def _discard_group(self, number: int) -> None:
        conn = self._conn()
        self._begin_write(conn)
        try:
            discard_group(conn, number)
            pending = self._pending_groups()
            pending.pop(str(number), None)
            self._set_pending(conn, pending)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def _discard_interrupted(self) -> None:
        """Take back grouped actions whose process died on this machine (a killed import).
        Costs one read when there are none."""
        host = socket.gethostname()
        for number, owner in self._pending_groups().items():
            if owner.get("host") == host and not alive(int(owner.get("pid", 0))):
                with contextlib.suppress(ProjectError, sqlite3.IntegrityError):
                    self._discard_group(int(number))  # read-only or since built upon: keep it

    # ---- undo / redo -----------------------------------------------------------------------

    def undo(self) -> str | None:
        """Undo the last action; returns its description, or None when there is nothing.
        An import still being written (by any process) is not undone half-way."""
        return self._replay(lambda conn: undo_last(conn, [int(g) for g in self._pending_groups()]))

    def redo(self) -> str | None:
        return self._replay(redo_next)

    def _replay(self, step) -> str | None:
        conn = self._conn()
        self._begin_write(conn)
        try:
            result = step(conn)
            conn.execute("COMMIT")
        except sqlite3.IntegrityError as e:
            conn.execute("ROLLBACK")
            raise ProjectError(self.path, f"cannot replay the change history ({e})") from None
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return result

    def can_undo(self) -> bool:
        return bool(self._conn().execute("SELECT 1 FROM ops WHERE undone = 0 LIMIT 1").fetchone())

    def can_redo(self) -> bool:
        return bool(self._conn().execute("SELECT 1 FROM ops WHERE undone = 1 LIMIT 1").fetchone())

    def history(self) -> list[dict]:
        """The op log, oldest first: id, description, undone, created."""
        return self._query("SELECT id, description, undone, created FROM ops ORDER BY id")

    # ---- videos ----------------------------------------------------------------------------

    def add_video(self, path: str | os.PathLike, info: VideoInfo | None = None) -> dict:
        """Add a video (probed now unless ``info`` is given); adding it again refreshes its
        metadata, and frame indices of its labels when the file changed."""
        info = info or probe_video(path)
        values = {
            "path": info.path, "name": Path(info.path).name, "fingerprint": info.fingerprint,
            "duration_s": info.duration_s, "fps": info.fps, "frame_count": info.frame_count,
            "width": info.width, "height": info.height, "codec": info.codec,
            "rotation": info.rotation, "vfr": int(info.vfr),
            "pts": zlib.compress(np.asarray(info.pts_s, dtype=np.float64).tobytes()),
        }

        def write(act: Action) -> int:
            old = self._query("SELECT * FROM videos WHERE path = ?", (info.path,))
            if not old:
                return act.insert("videos", {**values, "added": now_iso()})
            vid = old[0]["id"]
            if old[0]["fingerprint"] != info.fingerprint or old[0]["pts"] != values["pts"]:
                act.update("videos", vid, values)
                self._timing_cache.pop((vid, old[0]["fingerprint"]), None)
                for lab in self._query("SELECT id, start_s, end_s FROM labels WHERE video_id = ?",
                                       (vid,)):
                    end = min(lab["end_s"], info.duration_s)
                    start = min(lab["start_s"], max(0.0, end - 1e-3))
                    sf, ef = _frames(info, start, end)
                    act.update("labels", lab["id"], {"start_s": start, "end_s": end,
                                                     "start_frame": sf, "end_frame": ef})
            return vid

        vid = self._write(write)
        return self.video(vid)

    def _video_public(self, row: dict) -> dict:
        row = dict(row)
        row.pop("pts", None)
        row["vfr"] = bool(row["vfr"])
        return row

    def videos(self) -> list[dict]:
        return [self._video_public(r) for r in self._query("SELECT * FROM videos ORDER BY id")]

    def video(self, video_id: int) -> dict:
        rows = self._query("SELECT * FROM videos WHERE id = ?", (video_id,))
        if not rows:
            raise ProjectError(self.path, f"no video with id {video_id}")
        return self._video_public(rows[0])

    def find_video(self, path_or_name) -> dict:
        """A project video by id, row, path or file name; error when unknown or ambiguous."""
        if isinstance(path_or_name, dict):
            return self.video(path_or_name["id"])
        if isinstance(path_or_name, (int, np.integer)):
            return self.video(int(path_or_name))
        text = str(path_or_name)
        p = Path(text)
        rows = self._query("SELECT * FROM videos WHERE path = ?", (str(p.resolve()),))
        if not rows:
            rows = self._query("SELECT * FROM videos WHERE name = ?", (p.name,))
        if not rows:
            rows = self._query("SELECT * FROM videos WHERE name = ? COLLATE NOCASE", (p.name,))
        if not rows:
            raise ProjectError(self.path, f"no video {text!r} in this project "
                                          "(add it with 'ethoscout project add-video')")
        if len(rows) > 1:
            raise ProjectError(self.path, f"video name {p.name!r} is ambiguous "
                                          f"({len(rows)} videos); give its full path")
        return self._video_public(rows[0])

    def video_timing(self, video) -> VideoInfo:
        """VideoInfo rebuilt from the database (no file access): frame_at/time_of work even
        when the video's drive is not mounted."""
        v = self.find_video(video)
        key = (v["id"], v["fingerprint"])
        info = self._timing_cache.get(key)
        if info is None:
            blob = self._conn().execute("SELECT pts FROM videos WHERE id = ?",
                                        (v["id"],)).fetchone()[0]
            pts = np.frombuffer(zlib.decompress(blob), dtype=np.float64).copy()
            info = VideoInfo(path=v["path"], fingerprint=v["fingerprint"],
                             frame_count=v["frame_count"], fps=v["fps"],
                             duration_s=v["duration_s"], width=v["width"], height=v["height"],
                             codec=v["codec"] or "", rotation=v["rotation"], vfr=v["vfr"],
                             pts_s=pts)
            self._timing_cache[key] = info
        return info

    # ---- behaviours and subjects ------------------------------------------------------------

    def _behavior_public(self, row: dict) -> dict:
        row = dict(row)
        row["prompts"] = json.loads(row["prompts"] or "[]")
        row["modifiers"] = json.loads(row.get("modifiers") or "[]")
        return row

    def behaviors(self) -> list[dict]:
        return [self._behavior_public(r) for r in self._query("SELECT * FROM behaviors ORDER BY id")]

    def find_behavior(self, name_or_id) -> dict:
        if isinstance(name_or_id, dict):
            name_or_id = name_or_id["id"]
        if isinstance(name_or_id, (int, np.integer)):
            rows = self._query("SELECT * FROM behaviors WHERE id = ?", (int(name_or_id),))
        else:
            rows = self._query("SELECT * FROM behaviors WHERE name = ?", (str(name_or_id).strip(),))
        if not rows:
            raise ProjectError(self.path, f"no behaviour {name_or_id!r} in this project "
                                          "(add it with 'ethoscout behavior add')")
        return self._behavior_public(rows[0])

    def _behavior_values(self, name=None, prompts=None, key=None, colour=None, kind=None,
                         description=None, exclude_id=None, modifiers=None) -> dict:
        values: dict = {}
        if name is not None:
            name = " ".join(str(name).split())
            if not name:
                raise ProjectError(self.path, "a behaviour needs a name")
            clash = self._query("SELECT id FROM behaviors WHERE name = ?", (name,))
            if clash and clash[0]["id"] != exclude_id:
                raise ProjectError(self.path, f"behaviour {name!r} already exists")
            values["name"] = name
        if prompts is not None:
            if isinstance(prompts, str):
                prompts = [prompts]
            prompts = [" ".join(str(p).split()) for p in prompts]
            prompts = [p for p in prompts if p]
            if not prompts:
                raise ProjectError(self.path, f"behaviour {name!r} needs at least one text prompt")
            values["prompts"] = json.dumps(prompts)
        if key is not None:
            key = str(key)
            if key:
                clash = self._query("SELECT id, name FROM behaviors WHERE key = ?", (key,))
                if clash and clash[0]["id"] != exclude_id:
                    raise ProjectError(self.path, f"key {key!r} is already used by behaviour "
                                                  f"{clash[0]['name']!r}")
            values["key"] = key or None
        if colour is not None:
            if colour and not _COLOUR.match(colour):
                raise ProjectError(self.path, f"colour {colour!r} is not of the form #rrggbb")
            values["colour"] = colour or None
        if kind is not None:
            if kind not in KINDS:
                raise ProjectError(self.path, f"behaviour type {kind!r} is not one of {', '.join(KINDS)}")
            values["kind"] = kind
        if description is not None:
            values["description"] = str(description)
        if modifiers is not None:
            try:
                values["modifiers"] = json.dumps(normalise_sets(modifiers))
            except (ModifierError, json.JSONDecodeError) as e:
                raise ProjectError(self.path, f"behaviour {name or ''!r}: {e}") from None
        return values

    def add_behavior(self, name: str, prompts: list[str] | str | None = None, key: str | None = None,
                     colour: str | None = None, kind: str = "state",
                     description: str | None = None, modifiers: list[dict] | None = None) -> dict:
        """Add a behaviour; ``prompts`` defaults to its name; ``modifiers`` are its modifier
        sets ``[{"name", "kind": single|multiple|numeric, "values"}]``."""
        def write(act: Action) -> int:
            values = self._behavior_values(name, prompts if prompts else [name], key, colour,
                                           kind, description, modifiers=modifiers)
            if "colour" not in values:
                n = self._conn().execute("SELECT COUNT(*) FROM behaviors").fetchone()[0]
                values["colour"] = PALETTE[n % len(PALETTE)]
            return act.insert("behaviors", values)

        return self.find_behavior(self._write(write, f"add behaviour {' '.join(str(name).split())}"))

    def update_behavior(self, name_or_id, *, name=None, prompts=None, key=None, colour=None,
                        kind=None, description=None, modifiers=None) -> dict:
        b = self.find_behavior(name_or_id)

        def write(act: Action) -> None:
            values = self._behavior_values(name, prompts, key, colour, kind, description,
                                           exclude_id=b["id"], modifiers=modifiers)
            act.update("behaviors", b["id"], values)

        self._write(write, f"edit behaviour {b['name']}")
        return self.find_behavior(b["id"])

    def delete_behavior(self, name_or_id) -> int:
        """Delete a behaviour and its labels (one undoable action); returns labels deleted."""
        b = self.find_behavior(name_or_id)

        def write(act: Action) -> int:
            ids = [r["id"] for r in self._query("SELECT id FROM labels WHERE behavior_id = ?",
                                                (b["id"],))]
            for i in ids:
                act.delete("labels", i)
            act.delete("behaviors", b["id"])
            return len(ids)

        return self._write(write, f"delete behaviour {b['name']}")

    def subjects(self) -> list[dict]:
        return self._query("SELECT * FROM subjects ORDER BY id")

    def find_subject(self, name_or_id) -> dict:
        col = "id" if isinstance(name_or_id, (int, np.integer)) else "name"
        rows = self._query(f"SELECT * FROM subjects WHERE {col} = ?", (name_or_id,))
        if not rows:
            raise ProjectError(self.path, f"no subject {name_or_id!r} in this project "
                                          "(add it with 'ethoscout subject add')")
        return rows[0]

    def add_subject(self, name: str, description: str | None = None, key: str | None = None) -> dict:
        """Add a subject (an individual animal); returns the existing one if the name is taken."""
        name = " ".join(str(name).split())
        if not name:
            raise ProjectError(self.path, "a subject needs a name")

        def write(act: Action) -> int:
            rows = self._query("SELECT id FROM subjects WHERE name = ?", (name,))
            if rows:
                return rows[0]["id"]
            return act.insert("subjects", {"name": name, "description": description, "key": key})

        return self.find_subject(self._write(write, f"add subject {name}"))

    # ---- labels ----------------------------------------------------------------------------

    def _label_values(self, video, behavior, start_s, end_s, verdict, source, score,
                      adapter_version, subject, annotator, comment, model_id, text,
                      modifiers=None, check_modifiers=True) -> dict:
        v = self.find_video(video)
        b = self.find_behavior(behavior)
        where = f"{self.path.name} label"
        start = _finite(start_s, "start", where)
        end = _finite(end_s, "end", where)
        if verdict not in VERDICTS:
            raise ProjectError(where, f"verdict {verdict!r} is not one of {', '.join(VERDICTS)}")
        if source not in SOURCES:
            raise ProjectError(where, f"source {source!r} is not one of {', '.join(SOURCES)}")
        duration = v["duration_s"]
        tolerance = max(0.01, 1.0 / v["fps"]) if v["fps"] else 0.01
        if start < 0:
            raise ProjectError(where, f"start {start:.3f} s is negative")
        if end <= start:
            raise ProjectError(where, f"end {end:.3f} s is not after start {start:.3f} s")
        if end > duration + tolerance:
            raise ProjectError(where, f"end {end:.3f} s is past the end of {v['name']} "
                                      f"({duration:.3f} s)")
        if start >= duration:
            raise ProjectError(where, f"start {start:.3f} s is past the end of {v['name']} "
                                      f"({duration:.3f} s)")
        end = min(end, duration)
        start_frame, end_frame = _frames(self.video_timing(v), start, end)
        values = {
            "video_id": v["id"], "behavior_id": b["id"], "start_s": start, "end_s": end,
            "start_frame": start_frame, "end_frame": end_frame, "verdict": verdict,
            "source": source, "annotator": annotator, "comment": comment, "text": text,
            "model_id": model_id,
            "score": None if score is None else _finite(score, "score", where),
            "adapter_version": None if adapter_version is None else _version(adapter_version, where),
            "modifiers": self._modifier_values(b, modifiers, where) if check_modifiers
            else json.dumps(modifiers or {}),
        }
        if subject not in (None, ""):
            values["subject_id"] = self._subject_id(subject)
        else:
            values["subject_id"] = None
        return values

    @staticmethod
    def _modifier_values(behavior: dict, chosen, where: str) -> str:
        try:
            return json.dumps(normalise_choice(behavior["modifiers"], chosen))
        except (ModifierError, json.JSONDecodeError) as e:
            raise ProjectError(where, f"{behavior['name']}: {e}") from None

    def _subject_id(self, subject) -> int:
        if isinstance(subject, (int, np.integer)):
            return self.find_subject(int(subject))["id"]
        return self.add_subject(str(subject))["id"]  # joins the current action

    def add_label(self, video, behavior, start_s: float, end_s: float, verdict: str,
                  source: str = "manual", score: float | None = None,
                  adapter_version: int | None = None, subject=None, annotator: str | None = None,
                  comment: str | None = None, model_id: str | None = None,
                  text: str | None = None, modifiers=None) -> int:
        """Record one answer; committed before this returns. ``video`` and ``behavior`` may be
        ids, rows, or a path/file name and a behaviour name. Unknown subjects are added.
        ``modifiers``: ``{set name: value or [values]}`` from the behaviour's modifier sets."""
        self.find_video(video)
        b = self.find_behavior(behavior)

        def write(act: Action) -> int:
            values = self._label_values(video, b, start_s, end_s, verdict, source, score,
                                        adapter_version, subject, annotator, comment,
                                        model_id, text, modifiers)
            now = now_iso()
            return act.insert("labels", {**values, "created": now, "updated": now})

        return self._write(write, describe_bout(verdict, b["name"], float(start_s), float(end_s)))

    _LABEL_FIELDS = ("video", "behavior", "start_s", "end_s", "verdict", "source", "score",
                     "adapter_version", "subject", "annotator", "comment", "model_id", "text",
                     "modifiers")

    def update_label(self, label_id: int, **fields) -> dict:
        unknown = set(fields) - set(self._LABEL_FIELDS)
        if unknown:
            raise ProjectError(self.path, f"labels have no field {sorted(unknown)[0]!r}")
        old = self.label(label_id)

        def write(act: Action) -> None:
            merged = {k: old[k] for k in self._LABEL_FIELDS if k not in ("video",)}
            merged["video"] = old["video_id"]
            merged["behavior"] = old["behavior_id"]
            merged["subject"] = old["subject_id"]
            merged.update(fields)
            # Choices made before their behaviour's sets changed stay as they are until edited.
            values = self._label_values(**merged, check_modifiers="modifiers" in fields
                                        or "behavior" in fields)
            before = {**old, "modifiers": json.dumps(old["modifiers"])}
            changed = {k: v for k, v in values.items() if before.get(k) != v}
            if changed:
                act.update("labels", label_id, {**changed, "updated": now_iso()})

        what = ", ".join(f"{k} {v}" for k, v in fields.items())
        self._write(write, f"edit {old['behavior']} {old['start_s']:.1f}–{old['end_s']:.1f} s: {what}")
        return self.label(label_id)

    def delete_label(self, label_id: int) -> None:
        old = self.label(label_id)
        self._write(lambda act: act.delete("labels", label_id),
                    "delete " + describe_bout(old["verdict"], old["behavior"], old["start_s"],
                                              old["end_s"]))

    _LABEL_SELECT = """
        SELECT l.*, v.name AS video, v.path AS video_path, b.name AS behavior,
               s.name AS subject
        FROM labels l JOIN videos v ON v.id = l.video_id JOIN behaviors b ON b.id = l.behavior_id
        LEFT JOIN subjects s ON s.id = l.subject_id"""

    def _labels_query(self, sql: str, params=()) -> list[dict]:
        rows = self._query(sql, params)
        for r in rows:
            r["modifiers"] = json.loads(r["modifiers"] or "{}")
        return rows

    def label(self, label_id: int) -> dict:
        rows = self._labels_query(self._LABEL_SELECT + " WHERE l.id = ?", (label_id,))
        if not rows:
            raise ProjectError(self.path, f"no label with id {label_id}")
        return rows[0]

    def labels(self, video=None, behavior=None, verdict: str | list[str] | None = None,
               subject=None, source: str | None = None, annotator=None) -> list[dict]:
        """Labels with video, video_path, behavior and subject names joined in, ordered by
        video, start time and id. The model's unreviewed bouts (verdict "predicted") are left
        out unless ``verdict`` names them: they are neither answers nor training data.
        ``annotator``: one observer's labels ("" for labels without an annotator)."""
        where, params = [], []
        if verdict is None:
            where.append("l.verdict != 'predicted'")
        if annotator is not None:
            where.append("COALESCE(l.annotator, '') = ?")
            params.append(str(annotator))
        if video is not None:
            where.append("l.video_id = ?")
            params.append(self.find_video(video)["id"])
        if behavior is not None:
            where.append("l.behavior_id = ?")
            params.append(self.find_behavior(behavior)["id"])
        if verdict is not None:
            verdicts = [verdict] if isinstance(verdict, str) else list(verdict)
            where.append(f"l.verdict IN ({', '.join('?' * len(verdicts))})")
            params.extend(verdicts)
        if subject is not None:
            where.append("l.subject_id = ?")
            params.append(self.find_subject(subject)["id"])
        if source is not None:
            where.append("l.source = ?")
            params.append(source)
        sql = self._LABEL_SELECT + (" WHERE " + " AND ".join(where) if where else "")
        return self._labels_query(sql + " ORDER BY l.video_id, l.start_s, l.id", params)

    def annotators(self) -> list[str]:
        """Every observer who coded in this project ("" for labels without an annotator)."""
        return [r[0] for r in self._conn().execute(
            "SELECT DISTINCT COALESCE(annotator, '') FROM labels ORDER BY 1")]

    # ---- settings --------------------------------------------------------------------------

    def get_setting(self, key: str, default=None):
        row = self._conn().execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return default if row is None else json.loads(row[0])

    def set_setting(self, key: str, value) -> None:
        payload = json.dumps(value)
        self._write(lambda act: act.conn.execute(
            "INSERT INTO settings (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, payload)))

    # ---- adapters and training runs ---------------------------------------------------------

    def _adapter_public(self, row: dict) -> dict:
        row = dict(row)
        row["metrics"] = json.loads(row["metrics"] or "{}")
        row["active"] = bool(row["active"])
        return row

    def register_adapter(self, version: int, folder: str | os.PathLike, base_model: str | None,
                         metrics: dict | None = None) -> dict:
        """Record adapter ``version`` stored in ``folder`` (kept relative to the project)."""
        p = Path(folder)
        if p.is_absolute():
            try:
                p = p.resolve().relative_to(self.folder)
            except ValueError:
                raise ProjectError(folder, "adapter folder is outside the project folder") from None
        version = int(version)

        def write(act: Action) -> None:
            if act.conn.execute("SELECT 1 FROM adapters WHERE version = ?", (version,)).fetchone():
                raise ProjectError(self.path, f"adapter version {version} already exists")
            act.conn.execute(
                "INSERT INTO adapters (version, folder, created, base_model, metrics, active) "
                "VALUES (?, ?, ?, ?, ?, 0)",
                (version, p.as_posix(), now_iso(), base_model, json.dumps(metrics or {})))

        self._write(write)
        return self.adapter(version)

    def adapter(self, version: int) -> dict:
        rows = self._query("SELECT * FROM adapters WHERE version = ?", (int(version),))
        if not rows:
            raise ProjectError(self.path, f"no adapter version {version}")
        return self._adapter_public(rows[0])

    def adapters(self) -> list[dict]:
        return [self._adapter_public(r) for r in self._query("SELECT * FROM adapters ORDER BY version")]

    def active_adapter(self) -> dict | None:
        rows = self._query("SELECT * FROM adapters WHERE active = 1")
        return self._adapter_public(rows[0]) if rows else None

    def set_active_adapter(self, version: int | None) -> None:
        """Make ``version`` the one active adapter (None: use the base model)."""
        if version is not None:
            self.adapter(version)

        def write(act: Action) -> None:
            act.conn.execute("UPDATE adapters SET active = 0 WHERE active = 1")
            if version is not None:
                act.conn.execute("UPDATE adapters SET active = 1 WHERE version = ?", (int(version),))

        self._write(write)

    def next_adapter_version(self) -> int:
        return int(self._conn().execute("SELECT COALESCE(MAX(version), 0) + 1 FROM adapters")
                   .fetchone()[0])

    def start_training_run(self, spec: dict) -> int:
        def write(act: Action) -> int:
            cur = act.conn.execute("INSERT INTO training_runs (started, status, spec) "
                                   "VALUES (?, 'running', ?)", (now_iso(), json.dumps(spec)))
            return int(cur.lastrowid)

        return self._write(write)

    def finish_training_run(self, run_id: int, status: str, message: str | None = None,
                            adapter_version: int | None = None, metrics: dict | None = None) -> None:
        if status not in RUN_STATUSES or status == "running":
            raise ProjectError(self.path, f"a run can't finish with status {status!r}")

        def write(act: Action) -> None:
            cur = act.conn.execute(
                "UPDATE training_runs SET finished = ?, status = ?, message = ?, "
                "adapter_version = ?, metrics = ? WHERE id = ?",
                (now_iso(), status, message, adapter_version,
                 None if metrics is None else json.dumps(metrics), int(run_id)))
            if cur.rowcount == 0:
                raise ProjectError(self.path, f"no training run with id {run_id}")

        self._write(write)

    def training_runs(self) -> list[dict]:
        rows = self._query("SELECT * FROM training_runs ORDER BY id")
        for r in rows:
            r["spec"] = json.loads(r["spec"] or "{}")
            r["metrics"] = None if r["metrics"] is None else json.loads(r["metrics"])
        return rows


def _version(value, where: str) -> int:
    try:
        v = int(value)
    except (TypeError, ValueError):
        raise ProjectError(where, f"adapter version {value!r} is not a whole number") from None
    if not 0 <= v < 2**31:
        raise ProjectError(where, f"adapter version {value!r} is out of range")
    return v


class ActionGroup:
    """Steps of one grouped action (see ``Project.grouped_action``)."""

    def __init__(self, project: Project, description: str):
        self.project = project
        self.description = description
        self.number: int | None = None

    @contextlib.contextmanager
    def step(self) -> Iterator[Action]:
        """One short transaction of the group; the first registers the group as pending."""
        p = self.project
        first = self.number is None
        with p.action(self.description, group=self.number) as act:
            if first:
                # Unique among stored ops and groups still being written (whose first step
                # may have stored no op yet): two imports at once must not share a number.
                pending = p._pending_groups()
                used = int(act.conn.execute("SELECT COALESCE(MAX(grp), 0) FROM ops").fetchone()[0])
                act.group = max([used, *map(int, pending)]) + 1
                pending[str(act.group)] = {"pid": os.getpid(), "host": socket.gethostname(),
                                           "what": self.description}
                p._set_pending(act.conn, pending)
            yield act
        if first:
            self.number = act.group

    def finish(self) -> None:
        """The group is complete: undo may take it back now, under its final description."""
        if self.number is None:
            return
        p = self.project
        with p.action(None) as act:
            act.conn.execute("UPDATE ops SET description = ? WHERE id = (SELECT MAX(id) FROM ops "
                             "WHERE grp = ?)", (self.description, self.number))
            pending = p._pending_groups()
            pending.pop(str(self.number), None)
            p._set_pending(act.conn, pending)


def _frames(info: VideoInfo, start_s: float, end_s: float) -> tuple[int, int]:
    """First frame on screen at ``start_s`` and last frame that starts before ``end_s``
    (inclusive), from the video's presentation times."""
    first = info.frame_at(start_s)
    last = info.frame_at(end_s - 2e-6)
    return first, max(first, last)


__all__ = ["Project", "describe_bout"]
