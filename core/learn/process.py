"""Training as a child process: the spec it reads, the command that starts it, and the JSON
lines it writes on stdout (one object per line).

Events, each with "event" and "time":
  start     run_id, windows, train_windows, val_windows, behaviors, total (steps planned)
  step      step, total, epoch, loss, eta_s      (every optimiser step but the last of an epoch)
  epoch     step, total, epoch, loss, val_loss, val_metrics ({"Hit@5": .., "AP": ..} means), eta_s
  done      version, folder, active, metrics
  cancelled message                (SIGTERM/SIGINT; the previous adapter stays active)
  failed    message                (one line; the previous adapter stays active)
Exit status: 0 done, 1 failed, 2 unreadable spec, 3 cancelled.

The GUI starts ``train_command(path)`` with QProcess and feeds each stdout line to
``parse_event``; the CLI uses ``run_training`` (subprocess), which does the same.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..progress import CancelToken
from .train import TrainOptions

MODULE = "ethoscout.core.learn.train_process"
EXIT_DONE, EXIT_FAILED, EXIT_BAD_SPEC, EXIT_CANCELLED = 0, 1, 2, 3
FINAL_EVENTS = ("done", "cancelled", "failed")


def build_train_spec(project: str | os.PathLike, model: str | None = None, device: str = "auto",
                     activate: bool = True, **options) -> dict:
    """Everything a run needs, as plain JSON. ``options`` are TrainOptions fields (epochs, lr,
    seed, deep, ...); ``model`` defaults to the project's model at run time."""
    unknown = set(options) - set(TrainOptions.__dataclass_fields__)
    if unknown:
        raise ValueError(f"unknown training option {sorted(unknown)[0]!r}")
    return {"project": str(Path(project).resolve()), "model": model, "device": device,
            "activate": activate, "options": TrainOptions(**options).to_dict()}


def write_spec(spec: dict, path: str | os.PathLike | None = None) -> Path:
    if path is None:
        _remove_stale_specs()
        fd, name = tempfile.mkstemp(prefix="ethoscout-train-", suffix=".json")
        os.close(fd)
        path = name
    path = Path(path)
    path.write_text(json.dumps(spec, indent=1))
    return path


def _remove_stale_specs(older_than_s: float = 300.0) -> None:
    """Specs left by runs whose parent was killed (a child reads its spec once, at start)."""
    import time

    for f in Path(tempfile.gettempdir()).glob("ethoscout-train-*.json"):
        try:
            if time.time() - f.stat().st_mtime > older_than_s:
                f.unlink()
        except OSError:
            continue


def train_command(spec_path: str | os.PathLike) -> list[str]:
    """argv of the child process (program first)."""
    return [sys.executable, "-m", MODULE, str(spec_path)]


@dataclass
class TrainEvent:
    event: str
    data: dict = field(default_factory=dict)

    def __getattr__(self, name):
        try:
            return self.__dict__["data"][name]
        except KeyError:
            raise AttributeError(name) from None

    @property
    def final(self) -> bool:
        return self.event in FINAL_EVENTS

    def describe(self) -> str:
        d = self.data
        if self.event in ("step", "epoch"):
            eta = f", ETA {d['eta_s']:.0f} s" if d.get("eta_s") is not None else ""
            val = f", val {d['val_loss']:.4f}" if d.get("val_loss") is not None else ""
            ap = (d.get("val_metrics") or {}).get("AP")
            val += f", held-out mAP {ap:.3f}" if isinstance(ap, (int, float)) and ap == ap else ""
            return f"epoch {d.get('epoch')} step {d.get('step')}/{d.get('total')}: loss {d.get('loss', 0):.4f}{val}{eta}"
        if self.event == "done":
            return f"adapter v{d.get('version')} saved to {d.get('folder')}" + (" and active" if d.get("active") else "")
        return d.get("message") or self.event


def parse_event(line: str | bytes) -> TrainEvent | None:
    """A TrainEvent from one stdout line; None for anything that isn't one (stray prints)."""
    if isinstance(line, bytes):
        line = line.decode("utf-8", "replace")
    line = line.strip()
    if not line.startswith("{"):
        return None
    try:
        obj = json.loads(line)
    except ValueError:
        return None
    if not isinstance(obj, dict) or "event" not in obj:
        return None
    return TrainEvent(str(obj.pop("event")), obj)


def stop_child(proc: subprocess.Popen, grace_s: float = 15.0) -> int:
    """End a training child and reap it: SIGTERM first (it stops at its next step, reports
    ``cancelled`` and leaves the previous adapter active), SIGKILL when it has not ended after
    ``grace_s``. Returns its exit status; a child that already ended is only reaped."""
    try:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                return proc.wait(grace_s)
            except subprocess.TimeoutExpired:
                pass
    finally:
        if proc.poll() is None:  # out of patience, or interrupted again while waiting
            proc.kill()
            proc.wait()
    return proc.returncode


def run_training(spec: dict, on_event: Callable[[TrainEvent], None] | None = None,
                 cancel: CancelToken | None = None, stderr=None, grace_s: float = 15.0) -> TrainEvent:
    """Run a training child to the end and return its final event. Cancelling the token sends
    SIGTERM; the child stops at its next step and reports ``cancelled``. If this process is
    interrupted (Ctrl-C, an error in ``on_event``) the child is stopped and reaped before the
    exception goes on: no training keeps running, or lingers as a zombie, behind it."""
    import threading

    path = write_spec(spec)
    proc = None
    finished = threading.Event()
    try:
        proc = subprocess.Popen(train_command(path), stdout=subprocess.PIPE, stderr=stderr,
                                text=True, bufsize=1)
        final = None

        def watch():
            while not finished.wait(0.2):
                if cancel is not None and cancel.cancelled and proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
                    return

        threading.Thread(target=watch, daemon=True).start()
        for line in proc.stdout:
            ev = parse_event(line)
            if ev is None:
                continue
            if on_event is not None:
                on_event(ev)
            if ev.final:
                final = ev
        rc = proc.wait()
        if final is None:
            final = TrainEvent("failed", {"message": f"the training process ended without a result (exit status {rc})",
                                          "exit_status": rc})
        return final
    finally:
        finished.set()
        if proc is not None:
            stop_child(proc, grace_s)
            proc.stdout.close()
        path.unlink(missing_ok=True)
