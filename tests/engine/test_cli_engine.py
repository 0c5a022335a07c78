"""`ethoscout index` and `ethoscout score` as a user runs them."""
from __future__ import annotations

import csv
import json
import subprocess
import sys

import pytest

from tests.conftest import SHARED_VIDEOS


def run(*args, timeout=180):
    """The CLI in a child process, exactly as a user starts it."""
    return subprocess.run([sys.executable, "-m", "ethoscout.core.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout)


def run_here(capsys, *args):
    """The same entry point in this process (no interpreter start-up per call)."""
    from ethoscout.core.cli import main

    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return subprocess.CompletedProcess(args, code, out.out, out.err)


def test_index_then_score_csv(tiny_model_dir, video_factory, tmp_path):
    a = video_factory("a.mp4", frames=45, fps=15, size=(70, 54))
    b = video_factory("b.avi", frames=20, fps=15)  # shorter than one window
    project = tmp_path / "proj"
    r = run("index", "--project", project, "--model", tiny_model_dir, a, b)
    assert r.returncode == 0, r.stderr
    assert "indexed: a.mp4 (2 windows)" in r.stdout and "indexed: b.avi (1 windows)" in r.stdout
    out = tmp_path / "scores.csv"
    # the project remembers its model and videos
    from ethoscout.core.data.project import Project

    assert sorted(v["name"] for v in Project.open(project).videos()) == ["a.mp4", "b.avi"]
    r = run("score", "--project", project, "--query", "mouse grooming its face",
            "--query", "mouse rearing", "--out", out)
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(out.open()))
    assert list(rows[0]) == ["video", "window", "start_s", "end_s", "mouse grooming its face", "mouse rearing"]
    assert {r["video"] for r in rows} == {"a.mp4", "b.avi"} and len(rows) == 3
    short = next(r for r in rows if r["video"] == "b.avi")
    assert float(short["end_s"]) == pytest.approx(20 / 15, abs=0.01)
    assert all(-1 <= float(r["mouse rearing"]) <= 1 for r in rows)


def test_python_functions_for_the_gui(tiny_model_dir, video_factory, tmp_path):
    from ethoscout.core import Project, index_videos, score_queries

    [r] = index_videos(tmp_path / "p", [video_factory("a.mp4", frames=45)], model=str(tiny_model_dir))
    assert r.status == "indexed" and [v["name"] for v in Project.open(tmp_path / "p").videos()] == ["a.mp4"]
    [scores] = score_queries(tmp_path / "p", ["a square"])
    assert scores.scores.shape == (len(r.store), 1)


@pytest.mark.skipif(not SHARED_VIDEOS.exists(), reason=f"{SHARED_VIDEOS} not available (set ETHOSCOUT_SHARED)")
def test_real_videos(tiny_model_dir, tmp_path):
    videos = [SHARED_VIDEOS / "mouse_reach_grasp_dlc_8s.avi", SHARED_VIDEOS / "horse_led_walk_trot_amadeus_13s.mp4"]
    r = run("index", "--project", tmp_path, "--model", tiny_model_dir, *videos)
    assert r.returncode == 0, r.stderr
    r = run("score", "--project", tmp_path, "--model", tiny_model_dir, "--query", "a horse trotting")
    rows = list(csv.DictReader(r.stdout.splitlines()))
    assert len(rows) == 7 + 11


def test_bad_inputs_fail_with_one_line_and_keep_caches(tiny_model_dir, video_factory, tmp_path, capsys):
    good = video_factory("good.mp4", frames=45)
    project = tmp_path / "proj"
    assert run_here(capsys, "index", "--project", project, "--model", tiny_model_dir, good).returncode == 0
    def files():  # SQLite's -wal/-shm come and go with connections
        return sorted(p.relative_to(project) for p in project.rglob("*") if not p.name.endswith(("-wal", "-shm")))

    before = files()
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00garbage" * 500)
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    cases = [
        (["index", "--project", project, "--model", tiny_model_dir, tmp_path / "missing.mp4"], "missing.mp4: file not found"),
        (["index", "--project", project, "--model", tiny_model_dir, junk], "junk.mp4: not a readable video"),
        (["index", "--project", project, "--model", tiny_model_dir, empty], "empty.mp4: not a readable video"),
        (["index", "--project", project, "--model", tmp_path / "nomodel", good], "model folder not found"),
        (["score", "--project", project, "--model", tiny_model_dir, "--query", "  "], "query is empty"),
        (["score", "--project", project, "--model", tiny_model_dir], "no query given"),
        (["score", "--project", tmp_path / "nowhere", "--query", "x"], "nowhere: project folder not found"),
    ]
    for args, message in cases:
        r = run_here(capsys, *args)
        assert r.returncode != 0, args
        errors = [line for line in r.stderr.splitlines() if line.startswith("ethoscout: error")]
        assert len(errors) == 1 and message in errors[0], r.stderr
    assert files() == before


def test_write_failure_is_one_line_and_keeps_earlier_work(tiny_model_dir, video_factory, tmp_path):
    """A disk that refuses writes (here: a file-size limit, the same failure path as a full
    disk) gives one clear line; the project database and the finished cache stay intact."""
    import resource
    import signal

    first = video_factory("first.mp4", frames=45)
    second = video_factory("second.mp4", frames=300, fps=15)
    project = tmp_path / "proj"
    assert run("index", "--project", project, "--model", tiny_model_dir, first).returncode == 0

    def limit_file_size():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # failing writes return EFBIG instead
        resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))

    r = subprocess.run([sys.executable, "-m", "ethoscout.core.cli", "index", "--project", str(project),
                        "--model", str(tiny_model_dir), "--runtime", "torch", str(second)],
                       capture_output=True, text=True, timeout=180, preexec_fn=limit_file_size)
    assert r.returncode == 1
    errors = [line for line in r.stderr.splitlines() if line.startswith("ethoscout: error")]
    assert len(errors) == 1 and ("File too large" in errors[0] or "disk full" in errors[0]), r.stderr
    assert "Traceback" not in r.stderr
    r = run("score", "--project", project, "--query", "a square")
    assert r.returncode == 0 and "first.mp4" in r.stdout


def test_window_options_keep_the_checkpoints_frame_count(video_factory, tmp_path, capsys):
    """`--span` alone changes the span; frames per window still come from the checkpoint."""
    from ethoscout.core.model.random_init import build_random_xclip

    model = build_random_xclip(tmp_path / "m4", "tiny", num_frames=4)
    project = tmp_path / "proj"
    r = run_here(capsys, "index", "--project", project, "--model", model, "--span", "1", "--stride", "0.5",
                 "--runtime", "torch", video_factory("a.mp4", frames=45, fps=15))
    assert r.returncode == 0, r.stderr
    [meta] = [p for p in project.glob("features/*/*/meta.json")]
    spec = json.loads(meta.read_text())["spec"]
    assert spec == {"span_s": 1.0, "stride_s": 0.5, "frames": 4, "scheme": "sparse"}
