"""Every numeric or named CLI option is checked before any work: one line naming the option and
the allowed range, exit status 2, and the project exactly as it was."""
from __future__ import annotations

import argparse

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import cli, one_error_line, snapshot

BAD_NUMBERS = ["0", "-1", "nan", "inf", "-inf", "1e-9", "1e308", "abc", "", "0x10"]
BAD_COUNTS = ["0", "-1", "-3", "100000000", "1.5", "nan", "abc", ""]

# (command words, option, bad values); the command words are complete apart from the option.
CASES = [
    (["index", "VIDEO"], "--span", BAD_NUMBERS),
    (["index", "VIDEO"], "--stride", BAD_NUMBERS),
    (["index", "VIDEO"], "--frames", ["-3", "100000", "65", "nan", "2.5"]),
    (["index", "VIDEO"], "--batch-size", BAD_COUNTS),
    (["index", "VIDEO"], "--runtime", ["bogus", "", "ort-int9"]),
    (["index", "VIDEO"], "--device", ["gpu0", "cuda:x", ""]),
    (["score", "--query", "x"], "--span", ["nan", "-1"]),
    (["train"], "--epochs", ["0", "-1", "nan"]),
    (["train"], "--lr", ["nan", "-1", "0", "inf", "2"]),
    (["train"], "--rank", ["0", "-1", "1000"]),
    (["train"], "--batch-size", ["0", "-1"]),
    (["train"], "--max-seconds", ["-1", "nan", "0", "inf"]),
    (["train"], "--seed", ["-1", "x"]),
    (["suggest", "--behavior", "groom"], "--n", ["0", "-1", "1e9"]),
    (["eval"], "--cv", ["0", "1", "-2"]),
    (["eval"], "--versions", ["0", "-1", "x"]),
    (["similar", "--video", "a.mp4", "--end", "2"], "--start", ["nan", "-1", "inf"]),
    (["label", "--video", "a.mp4", "--behavior", "groom", "--end", "3"], "--start", ["nan", "inf", "-1e308"]),
    (["behavior", "add"], "NAME", ["", "   "]),
]


def _argv(words, option, value, project):
    words = [str(w) for w in words]
    if option == "NAME":
        return [*words, value, "--project", project]
    return [*words, "--project", project, f"{option}={value}"]


@pytest.mark.parametrize("words,option,values", CASES, ids=[f"{c[0][0]}{c[1]}" for c in CASES])
def test_bad_option_values_are_refused_before_any_work(project, capsys, words, option, values):
    words = [str(project.folder / "nothing.mp4") if w == "VIDEO" else w for w in words]
    before = snapshot(project.folder)
    for value in values:
        r = cli(capsys, *_argv(words, option, value, project.folder))
        line = one_error_line(r)
        assert r.returncode == 2, (option, value, line)
        if option != "NAME":
            assert option in line, line
    assert snapshot(project.folder) == before


def test_label_refuses_an_unknown_subject_like_an_unknown_behaviour(project, capsys):
    before = snapshot(project.folder)
    for extra in (["--subject", "ghost", "--behavior", "groom"], ["--behavior", "ghost"]):
        r = cli(capsys, "label", "--project", project.folder, "--video", "a.mp4", "--start", "1",
                "--end", "2", *extra)
        assert "ghost" in one_error_line(r)
    assert snapshot(project.folder) == before
    r = cli(capsys, "label", "--project", project.folder, "--video", "a.mp4", "--behavior", "groom",
            "--start", "1", "--end", "2", "--subject", "m1")
    assert r.returncode == 0, r.stderr


def test_eval_refuses_an_adapter_version_that_does_not_exist(project, capsys):
    before = snapshot(project.folder)
    r = cli(capsys, "eval", "--project", project.folder, "--versions", "99", "--model", project.folder / "none")
    line = one_error_line(r)
    assert r.returncode == 2 and "--versions" in line and "99" in line
    assert snapshot(project.folder) == before


def test_frames_the_checkpoint_cannot_take_are_refused_before_decoding(tiny_model_dir, video_factory,
                                                                      tmp_path, capsys):
    folder = tmp_path / "new"
    r = cli(capsys, "index", "--project", folder, "--model", tiny_model_dir, "--frames", "12",
            video_factory("a.mp4", frames=30))
    line = one_error_line(r)
    assert r.returncode == 2 and "--frames" in line and "8" in line
    assert not (folder / "project.sqlite").exists()  # a failed index leaves no project behind


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(option=st.sampled_from(["--span", "--stride", "--frames", "--batch-size"]),
       value=st.one_of(st.text(max_size=12), st.floats().map(repr), st.integers().map(str)))
def test_any_text_for_a_window_option_is_a_value_or_a_one_line_refusal(option, value):
    """Random text never gets past the parser as a value outside the range, and never raises."""
    from ethoscout.core.cli import build_parser
    from ethoscout.core.options import BATCH, FRAMES, SPAN, STRIDE

    check = {"--span": SPAN, "--stride": STRIDE, "--frames": FRAMES, "--batch-size": BATCH}[option]
    try:
        parsed = check(value)
    except argparse.ArgumentTypeError as e:  # the only refusal allowed: it names the range
        assert "must be a whole number" in str(e) or "must be a number" in str(e)
        return
    args = build_parser().parse_args(["index", "--project", "p", "v.mp4", f"{option}={value}"])
    got = getattr(args, option.lstrip("-").replace("-", "_"))
    assert got == parsed and got == got  # never nan
    assert (0 < got <= 3600) if option in ("--span", "--stride") else (0 <= got <= 1024)
