"""``python -m ethoscout.core.learn.train_process SPEC.json``: one training run.

Reads the spec (process.build_train_spec), records a training run in the project database,
trains a LoRA adapter from every label so far, writes it as ``adapters/vN`` (temporary name,
then renamed), registers it with its metrics and makes it active. JSON lines on stdout say how
far it got (process.py lists the events). SIGTERM or SIGINT stops it at the next step. A run
that fails or is cancelled changes nothing but its own training_runs row: the previous adapter
stays active. A run killed outright leaves a 'running' row, marked failed by the next run.
"""
from __future__ import annotations

import json
import os
import signal
import sys
import time
import traceback
from pathlib import Path

from ..errors import EthoscoutError
from ..progress import CancelToken, Cancelled
from .process import EXIT_BAD_SPEC, EXIT_CANCELLED, EXIT_DONE, EXIT_FAILED


def emit(event: str, **data) -> None:
    sys.stdout.write(json.dumps({"event": event, "time": time.time(), **data}, default=float) + "\n")
    sys.stdout.flush()


def install_cancel_handlers(cancel: CancelToken) -> None:
    def handler(signum, frame):
        cancel.cancel()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def run(spec: dict, cancel: CancelToken) -> int:
    from ..data.project import Project
    from .adapters import reap_stale_runs, remove_stale_temporaries

    project = Project.open(spec["project"])
    reap_stale_runs(project)
    remove_stale_temporaries(project)
    previous = project.active_adapter()
    keep = f"adapter v{previous['version']} stays active" if previous else "the base model stays in use"
    run_id = project.start_training_run({**spec, "pid": os.getpid()})
    try:
        row, result = train_and_save(project, spec, run_id, cancel)
    except Cancelled:
        message = f"cancelled; {keep}"
        project.finish_training_run(run_id, "cancelled", message)
        emit("cancelled", run_id=run_id, message=message)
        return EXIT_CANCELLED
    except EthoscoutError as e:
        message = f"{e}; {keep}"
        project.finish_training_run(run_id, "failed", message)
        emit("failed", run_id=run_id, message=message)
        return EXIT_FAILED
    except Exception as e:  # a bug or a resource problem: still one line for the user
        log = _save_traceback(spec)
        message = (f"training failed ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}); "
                   f"{keep}; details in {log}")
        project.finish_training_run(run_id, "failed", message)
        emit("failed", run_id=run_id, message=message)
        return EXIT_FAILED
    project.finish_training_run(run_id, "done", adapter_version=row["version"], metrics=row["metrics"])
    emit("done", run_id=run_id, version=row["version"], folder=str(project.folder / row["folder"]),
         active=row["active"], metrics=row["metrics"], stopped=result.stopped, seconds=result.seconds)
    return EXIT_DONE


def train_and_save(project, spec: dict, run_id: int, cancel: CancelToken):
    from .adapters import load_project_model, project_model_name, project_stores, save_and_register
    from .examples import labelled_windows
    from .train import TrainOptions, train_lora

    opts = TrainOptions.from_dict(spec.get("options") or {})
    model_name = project_model_name(project, spec.get("model"))
    loaded = load_project_model(project, spec.get("model"), spec.get("device") or "auto")
    cancel.check()
    stores = project_stores(project, loaded)
    data = labelled_windows(project.labels(), project.behaviors(), stores, opts.narration_weight)
    pixels = None
    if opts.deep:
        from .pixels import labelled_pixels

        emit("info", message=f"decoding {len(data)} labelled windows for deep mode")
        pixels = labelled_pixels(data, loaded, cancel)

    def on_step(r) -> None:
        kind = "epoch" if r.epoch_end else "step"
        emit(kind, run_id=run_id, step=r.step, total=r.total, epoch=r.epoch, loss=r.loss,
             val_loss=r.val_loss, val_metrics=r.val_metrics, eta_s=r.eta_s)

    emit("start", run_id=run_id, windows=len(data), behaviors=[b["name"] for b in data.behaviors],
         deep=opts.deep)
    result = train_lora(loaded, data, opts, on_step=on_step, cancel=cancel, pixels=pixels)
    cancel.check()
    split = {"scheme": "label-id hash", "folds": opts.folds, "holdout_fold": opts.holdout_fold,
             "seed": opts.seed, "train_label_ids": result.train_label_ids,
             "val_label_ids": result.val_label_ids}
    metrics = {"validation": result.val_metrics, "best_epoch": result.best_epoch, "stopped": result.stopped,
               "steps": result.steps, "seconds": round(result.seconds, 2), "history": result.history,
               "split": split, "labelled_windows": len(data), "deep": opts.deep}
    meta = {"deep": opts.deep, "base_model": model_name, "base_fingerprint": loaded.fingerprint,
            "behaviors": result.behaviors, "biases": result.biases, "options": opts.to_dict(), "split": split}
    row = save_and_register(project, result.loaded.model, meta, model_name, metrics,
                            activate=bool(spec.get("activate", True)) and not opts.deep)
    return row, result


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    cancel = CancelToken()
    install_cancel_handlers(cancel)
    if len(argv) != 1:
        emit("failed", message="usage: python -m ethoscout.core.learn.train_process SPEC.json")
        return EXIT_BAD_SPEC
    try:
        with open(argv[0]) as f:
            spec = json.load(f)
        spec["project"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        emit("failed", message=f"{argv[0]}: unreadable training spec ({type(e).__name__}: {e})")
        return EXIT_BAD_SPEC
    try:
        return run(spec, cancel)
    except EthoscoutError as e:  # the project itself could not be opened
        emit("failed", message=str(e))
        return EXIT_FAILED
    except Exception as e:  # noqa: BLE001 - the parent shows one line; the details go to a log
        log = _save_traceback(spec)
        first = str(e).splitlines()[0] if str(e) else ""
        emit("failed", message=f"training failed ({type(e).__name__}: {first[:200]}); details in {log}")
        return EXIT_FAILED


def _save_traceback(spec: dict) -> str:
    """The child's traceback in the project's adapters folder (else the temp folder)."""
    import tempfile

    text = traceback.format_exc()
    for folder in (Path(str(spec.get("project", ""))) / "adapters", Path(tempfile.gettempdir())):
        try:
            path = folder / "training-error.log"
            path.write_text(text)
            return str(path)
        except OSError:
            continue
    return "(no writable folder for the log)"


if __name__ == "__main__":
    sys.exit(main())
