"""``ethoscout doctor`` and the launcher's Qt-library check, against the real PySide6 plugin,
the real dynamic loader (ldd) and real ONNX Runtime / PyAV / torch."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ethoscout.core import doctor

linux_ldd = pytest.mark.skipif(not sys.platform.startswith("linux") or shutil.which("ldd") is None,
                               reason="the Qt library check reads ELF plugins with ldd (Linux)")
FAKE = "libxcb-shapz.so.0"  # same length as libxcb-shape.so.0, which it replaces in a plugin copy


@pytest.fixture
def broken_plugin(tmp_path) -> tuple[Path, dict]:
    """A copy of PySide6's xcb plugin that needs a library no system has, and the environment
    (QT_QPA_PLATFORM_PLUGIN_PATH, as Qt reads it) that points Qt and the check at it."""
    pyside = doctor.pyside_folder()
    if pyside is None:
        pytest.skip("PySide6 not installed")
    real = doctor.platform_plugin("xcb", pyside, env={})
    data = real.read_bytes()
    assert data.count(b"libxcb-shape.so.0\0") == 1
    folder = tmp_path / "platforms"
    folder.mkdir()
    (folder / real.name).write_bytes(data.replace(b"libxcb-shape.so.0\0", FAKE.encode() + b"\0"))
    qt_lib = pyside / "Qt" / "lib"  # the copy's $ORIGIN-relative RUNPATH no longer finds Qt's own libraries
    env = {**os.environ, "QT_QPA_PLATFORM": "xcb", "QT_QPA_PLATFORM_PLUGIN_PATH": str(folder),
           "LD_LIBRARY_PATH": os.pathsep.join(filter(None, [str(qt_lib), os.environ.get("LD_LIBRARY_PATH")])),
           "DISPLAY": os.environ.get("DISPLAY", ":99")}
    return folder / real.name, env


@linux_ldd
def test_missing_system_library_is_named_with_its_package(broken_plugin):
    plugin, env = broken_plugin
    assert doctor.platform_plugin("xcb", env=env) == plugin
    missing = doctor.missing_libraries(plugin, env)
    assert FAKE in missing and "libxcb-shape.so.0" not in missing
    packages = {**doctor.DEBIAN_PACKAGES, FAKE: "libxcb-shapz0"}
    line = doctor.qt_problem(env, packages)
    assert "\n" not in line
    assert FAKE in line and "sudo apt install" in line and "libxcb-shapz0" in line
    # every other library the machine lacks is named too, with its Debian package
    for lib in missing:
        assert lib in line
        if lib in doctor.DEBIAN_PACKAGES:
            assert doctor.DEBIAN_PACKAGES[lib] in line


@linux_ldd
def test_a_library_found_on_the_library_path_is_no_longer_reported(broken_plugin, tmp_path):
    plugin, env = broken_plugin
    missing = doctor.missing_libraries(plugin, env)
    # Provide each missing soname (a copy of a real library under that name) on LD_LIBRARY_PATH.
    donor = next(Path(p) for p in ("/lib/x86_64-linux-gnu/libz.so.1", "/usr/lib/x86_64-linux-gnu/libz.so.1",
                                   "/lib64/libz.so.1", "/usr/lib64/libz.so.1") if Path(p).exists())
    provided = tmp_path / "provided"
    provided.mkdir()
    for lib in missing:
        shutil.copy(donor, provided / lib)
    env = {**env, "LD_LIBRARY_PATH": os.pathsep.join([str(provided), env["LD_LIBRARY_PATH"]])}
    assert doctor.missing_libraries(plugin, env) == []
    assert doctor.qt_problem(env) is None


@linux_ldd
def test_unknown_library_gets_a_search_hint_not_a_made_up_package(broken_plugin):
    _, env = broken_plugin
    line = doctor.qt_problem(env)
    assert f"find the packages for {FAKE}" in line or f", {FAKE}" in line


@linux_ldd
def test_launcher_prints_one_line_instead_of_qt_abort(broken_plugin):
    _, env = broken_plugin
    r = subprocess.run([sys.executable, "-c", "import sys; from ethoscout.gui.launch import main; sys.exit(main([]))"],
                       capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 1
    assert r.stderr.count("\n") == 1, r.stderr
    assert r.stderr.startswith("ethoscout: error: Qt's 'xcb' platform plugin needs system libraries")
    assert FAKE in r.stderr and "Aborted" not in r.stderr and "qt.qpa" not in r.stderr


def test_doctor_command_one_line_per_check_and_exit_code(tmp_path):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "ETHOSCOUT_CACHE": str(tmp_path / "cache"),
           "HF_HUB_CACHE": str(tmp_path / "hub"), "HF_HUB_OFFLINE": "1"}
    r = subprocess.run([sys.executable, "-m", "ethoscout.core.cli", "doctor"], capture_output=True, text=True,
                       timeout=300, env=env)
    lines = r.stdout.strip().splitlines()
    names = [line.split()[1] for line in lines]
    assert names == ["python", "torch", "onnxruntime", "int8", "video", "Qt", "disk", "models"]
    assert all(line.split()[0] in ("ok", "info", "warn", "fail") for line in lines)
    blockers = [line for line in lines if line.startswith("fail")]
    assert r.returncode == (1 if blockers else 0), r.stdout + r.stderr
    models = lines[-1]
    assert "no X-CLIP model cached" in models and "hf download microsoft/xclip-base-patch32" in models
    assert "offline mode (HF_HUB_OFFLINE" in models
    assert "Traceback" not in r.stderr


def test_doctor_fails_on_a_blocker(tmp_path):
    env = {**os.environ, "QT_QPA_PLATFORM": "no-such-platform", "HF_HUB_OFFLINE": "1"}
    r = subprocess.run([sys.executable, "-m", "ethoscout.core.cli", "doctor"], capture_output=True, text=True,
                       timeout=300, env=env)
    if not sys.platform.startswith("linux"):
        pytest.skip("the Qt plugin check is for Linux")
    qt = next(line for line in r.stdout.splitlines() if line.split()[1] == "Qt")
    assert qt.startswith("fail") and "no 'no-such-platform' platform plugin" in qt
    assert r.returncode == 1 and "blocker" in r.stderr


def test_both_onnxruntime_packages_installed_is_a_blocker(tmp_path, monkeypatch):
    """Two distributions writing the same onnxruntime package: found from their metadata."""
    import importlib.metadata as md

    site = tmp_path / "site"
    for dist in ("onnxruntime", "onnxruntime_gpu"):
        info = site / f"{dist}-1.0.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist.replace('_', '-')}\nVersion: 1.0\n")
    monkeypatch.syspath_prepend(str(site))
    md.distributions.cache_clear() if hasattr(md.distributions, "cache_clear") else None
    f = doctor.check_onnxruntime()
    assert f.status == doctor.FAIL and "both onnxruntime and onnxruntime-gpu" in f.text


def test_disk_check_reports_the_tightest_folder(tmp_path):
    f = doctor.check_disk([tmp_path / "not-yet" / "cache"])
    assert f.status in (doctor.OK, doctor.WARN, doctor.FAIL)
    assert str(tmp_path / "not-yet" / "cache") in f.text and "GB free" in f.text


def test_cached_model_is_listed(tmp_path, monkeypatch, tiny_model_dir):
    """A model in the hub cache layout (as `hf download` leaves it) is found by the models check."""
    snap = tmp_path / "hub" / "models--microsoft--xclip-base-patch32" / "snapshots" / ("a" * 40)
    shutil.copytree(tiny_model_dir, snap)
    (tmp_path / "hub" / "models--microsoft--xclip-base-patch32" / "refs").mkdir()
    (tmp_path / "hub" / "models--microsoft--xclip-base-patch32" / "refs" / "main").write_text("a" * 40)
    from ethoscout.core.model import hub

    found = hub.cached_models(tmp_path / "hub")
    assert [m.repo_id for m in found] == ["microsoft/xclip-base-patch32"]
    assert found[0].size_bytes > 0


def test_onnxruntime_markers_pick_exactly_one_build():
    """pyproject: onnxruntime-gpu where its wheels exist, onnxruntime elsewhere, never both."""
    import tomllib

    from packaging.markers import Marker

    deps = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())["project"]["dependencies"]
    gpu = Marker(next(d for d in deps if d.startswith("onnxruntime-gpu")).split(";", 1)[1])
    cpu = Marker(next(d for d in deps if d.startswith("onnxruntime>")).split(";", 1)[1])
    for platform, machine, want in [("linux", "x86_64", "gpu"), ("win32", "AMD64", "gpu"), ("linux", "aarch64", "cpu"),
                                    ("darwin", "arm64", "cpu"), ("darwin", "x86_64", "cpu"), ("win32", "ARM64", "cpu")]:
        env = {"sys_platform": platform, "platform_machine": machine}
        assert (gpu.evaluate(env), cpu.evaluate(env)) == (want == "gpu", want == "cpu"), (platform, machine)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="X display names are checked on Linux")
def test_x_display_that_does_not_answer_is_one_line(tmp_path):
    import socket

    num = 4000 + os.getpid() % 1000
    env = {"DISPLAY": f":{num}"}
    assert "no X server answers on DISPLAY" in doctor.x_display_problem(env)
    assert "not an X display name" in doctor.x_display_problem({"DISPLAY": "nonsense"})
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:  # an X server's socket, as far as connecting goes
        server.bind(f"\0/tmp/.X11-unix/X{num}")
        server.listen(1)
        assert doctor.x_display_problem(env) is None
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY")}
    r = subprocess.run([sys.executable, "-c", "import sys; from ethoscout.gui.launch import main; sys.exit(main([]))"],
                       capture_output=True, text=True, timeout=120, env={**env, "DISPLAY": f":{num}"})
    assert r.returncode == 1 and r.stderr.count("\n") == 1, r.stderr
    assert "no X server answers" in r.stderr and "xcb-cursor" not in r.stderr
