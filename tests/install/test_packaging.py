"""Packaging scripts: syntax, and the per-user desktop install on a fake bundle."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = ["build.sh", "test_bundle.sh", "install-desktop.sh"]

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux packaging scripts")


@pytest.mark.parametrize("script", SCRIPTS)
def test_script_parses(script):
    r = subprocess.run(["bash", "-n", str(REPO / "packaging" / script)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_desktop_install_and_remove(tmp_path):
    bundle = tmp_path / "dist" / "ethoscout"
    (bundle / "_internal").mkdir(parents=True)
    exe = bundle / "ethoscout"
    exe.write_text("#!/bin/sh\necho bundle \"$@\"\n")
    exe.chmod(0o755)
    home = tmp_path / "home"
    env = {**os.environ, "HOME": str(home)}
    env.pop("XDG_DATA_HOME", None)
    script = REPO / "packaging" / "install-desktop.sh"
    r = subprocess.run(["bash", str(script), str(bundle)], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    opt = home / ".local" / "opt" / "ethoscout"
    entry = (home / ".local" / "share" / "applications" / "ethoscout.desktop").read_text()
    assert f"Exec={opt}/ethoscout %f" in entry and "Icon=ethoscout" in entry
    assert (home / ".local" / "share" / "icons" / "hicolor" / "scalable" / "apps" / "ethoscout.svg").exists()
    out = subprocess.run([str(home / ".local" / "bin" / "ethoscout"), "doctor"], capture_output=True, text=True)
    assert out.stdout.strip() == "bundle doctor"
    r = subprocess.run(["bash", str(script), "--remove"], capture_output=True, text=True, env=env)
    assert r.returncode == 0 and not opt.exists() and not (home / ".local" / "bin" / "ethoscout").exists()


def test_desktop_install_without_a_build_says_so(tmp_path):
    r = subprocess.run(["bash", str(REPO / "packaging" / "install-desktop.sh"), str(tmp_path / "none")],
                       capture_output=True, text=True, env={**os.environ, "HOME": str(tmp_path)})
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and "packaging/build.sh" in r.stderr
