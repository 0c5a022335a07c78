"""The command line: project, behavior, label, undo/redo, import, export."""
from __future__ import annotations

import csv

import pytest

from ethoscout.core.cli import main


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_workflow(tmp_path, videos, capsys):
    proj = tmp_path / "proj"
    assert run(capsys, "project", "init", proj)[0] == 0
    code, out, _ = run(capsys, "project", "add-video", "--project", proj, *videos.values())
    assert code == 0 and "a.mp4: 20.00 s, 500 frames" in out
    assert run(capsys, "behavior", "add", "--project", proj, "face groom", "--prompt",
               "a mouse grooming its face with its paws", "--key", "f")[0] == 0
    code, out, _ = run(capsys, "behavior", "list", "--project", proj)
    assert "face groom\tstate\tf" in out and "a mouse grooming its face with its paws" in out
    code, out, _ = run(capsys, "label", "--project", proj, "--video", "a.mp4", "--behavior", "face groom",
                       "--start", 12.4, "--end", 15.0, "--verdict", "accept")
    assert code == 0 and "frames 310–374" in out
    assert "undid: accept face groom 12.4–15.0 s" in run(capsys, "undo", "--project", proj)[1]
    assert "redid: accept face groom 12.4–15.0 s" in run(capsys, "redo", "--project", proj)[1]
    assert "nothing to redo" in run(capsys, "redo", "--project", proj)[1]
    out_file = tmp_path / "events.tsv"
    assert run(capsys, "export", "--project", proj, "--format", "boris-aggregated", "--out", out_file)[0] == 0
    rows = list(csv.reader(open(out_file), delimiter="\t"))
    assert rows[1][rows[0].index("Start (s)")] == "12.400"
    notes = tmp_path / "notes.srt"
    notes.write_text("1\n00:00:01,000 --> 00:00:02,000\nsniffing\n")
    code, out, _ = run(capsys, "import", "--project", proj, notes, "--video", "b.mp4")
    assert code == 0 and "imported 1 labels" in out
    code, out, err = run(capsys, "export", "--project", proj, "--format", "clips", "--out", tmp_path / "clips")
    assert code == 0 and "wrote 2 clips" in out, err


@pytest.mark.parametrize("argv,match", [
    (["behavior", "list", "--project", "{tmp}/nope"], "project folder not found"),
    (["label", "--project", "{proj}", "--video", "zzz.mp4", "--behavior", "x", "--start", "1", "--end", "2"],
     "no video 'zzz.mp4'"),
    (["label", "--project", "{proj}", "--video", "a.mp4", "--behavior", "x", "--start", "1", "--end", "2"],
     "no behaviour 'x'"),
    (["import", "--project", "{proj}", "{tmp}/missing.boris"], "missing.boris: file not found"),
])
def test_cli_errors_are_one_line_with_exit_code_1(tmp_path, videos, capsys, argv, match):
    proj = tmp_path / "proj"
    run(capsys, "project", "init", proj)
    run(capsys, "project", "add-video", "--project", proj, videos["a.mp4"])
    code, out, err = run(capsys, *[a.format(tmp=tmp_path, proj=proj) for a in argv])
    assert code == 1 and match in err
    assert err.count("\n") == 1 and err.startswith("ethoscout: error: ")
