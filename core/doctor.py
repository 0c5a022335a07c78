"""``ethoscout doctor``: is every piece the program needs here and working? One line each.

Checks Python, the torch build and its GPU, the ONNX Runtime providers that actually load
(not just those it lists), int8 inference on the CPU, PyAV's FFmpeg decoders, the Qt platform
plugin and the system libraries it lacks (named with the Debian/Ubuntu packages to install),
free disk and the model cache. A ``fail`` is a blocker: the command exits non-zero.

No Qt import here: the Qt check reads PySide6's platform plugin with ``ldd``, so it also runs
before the window is created (gui/launch.py) and where Qt would abort the process.
"""
from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .paths import cache_root

OK, INFO, WARN, FAIL = "ok", "info", "warn", "fail"

# Shared libraries Qt's platform plugins need from the system -> the Debian/Ubuntu package that
# ships them. Found with `ldd` on PySide6's libqxcb.so / libqwayland.so / libqoffscreen.so.
DEBIAN_PACKAGES = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxcb-xinerama.so.0": "libxcb-xinerama0",
    "libxcb-xinput.so.0": "libxcb-xinput0",
    "libxcb-glx.so.0": "libxcb-glx0",
    "libxcb.so.1": "libxcb1",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libX11.so.6": "libx11-6",
    "libXau.so.6": "libxau6",
    "libXdmcp.so.6": "libxdmcp6",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libGL.so.1": "libgl1",
    "libEGL.so.1": "libegl1",
    "libGLX.so.0": "libglx0",
    "libOpenGL.so.0": "libopengl0",
    "libGLdispatch.so.0": "libglvnd0",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0",
    "libdbus-1.so.3": "libdbus-1-3",
    "libexpat.so.1": "libexpat1",
    "libpng16.so.16": "libpng16-16",
    "libwayland-client.so.0": "libwayland-client0",
    "libwayland-cursor.so.0": "libwayland-cursor0",
    "libwayland-egl.so.1": "libwayland-egl1",
}
PLATFORM_PLUGINS = {"xcb": "libqxcb.so", "wayland": "libqwayland.so", "offscreen": "libqoffscreen.so",
                    "minimal": "libqminimal.so", "eglfs": "libqeglfs.so", "vnc": "libqvnc.so"}
VIDEO_DECODERS = ("h264", "hevc", "mpeg4", "mjpeg", "vp9", "av1")
MIN_FREE_GB, LOW_FREE_GB = 1.0, 5.0


@dataclass
class Finding:
    name: str
    status: str  # ok | info | warn | fail
    text: str

    def line(self) -> str:
        return f"{self.status:<4}  {self.name:<13} {self.text}"


# ---- Qt -------------------------------------------------------------------------------------


def pyside_folder() -> Path | None:
    """PySide6's package folder, found without importing it (no Qt in core)."""
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen and Path(frozen, "PySide6").is_dir():
        return Path(frozen, "PySide6")
    try:
        spec = importlib.util.find_spec("PySide6")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def qt_platforms(env: dict | None = None) -> list[str]:
    """The platform plugins Qt will try here, in order (QT_QPA_PLATFORM, else the session's)."""
    env = os.environ if env is None else env
    chosen = env.get("QT_QPA_PLATFORM", "").strip()
    if chosen:
        return [p.split(":")[0] for p in chosen.split(";") if p]
    if env.get("XDG_SESSION_TYPE") == "wayland" and env.get("WAYLAND_DISPLAY"):
        return ["wayland", "xcb"]
    return ["xcb"]


def platform_plugin(name: str, pyside: Path | None = None, env: dict | None = None) -> Path | None:
    """The plugin file Qt would load for platform ``name``: from QT_QPA_PLATFORM_PLUGIN_PATH
    when set (as Qt does), else PySide6's own."""
    env = os.environ if env is None else env
    file = PLATFORM_PLUGINS.get(name, f"libq{name}.so")
    folders = [Path(d) for d in env.get("QT_QPA_PLATFORM_PLUGIN_PATH", "").split(os.pathsep) if d]
    pyside = pyside or pyside_folder()
    if pyside is not None:
        folders += [pyside / "Qt" / "plugins" / "platforms", pyside / "plugins" / "platforms"]
    return next((f / file for f in folders if (f / file).exists()), None)


def missing_libraries(binary: Path, env: dict | None = None) -> list[str] | None:
    """Shared libraries ``binary`` needs that the dynamic loader can't find (``ldd``), in
    order; None when ``ldd`` is not there to ask."""
    ldd = shutil.which("ldd")
    if ldd is None:
        return None
    try:
        out = subprocess.run([ldd, str(binary)], capture_output=True, text=True, timeout=30,
                             env=dict(os.environ if env is None else env)).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    missing = []
    for m in re.finditer(r"^\s*(\S+)\s+=>\s+not found", out, re.MULTILINE):
        if m.group(1) not in missing:
            missing.append(m.group(1))
    return missing


def install_hint(missing: list[str], packages: dict[str, str] | None = None) -> str:
    """What to do about missing libraries: the apt command for those we know, the names of the rest."""
    table = DEBIAN_PACKAGES if packages is None else packages
    packages = list(dict.fromkeys(table[lib] for lib in missing if lib in table))
    qt_own = [lib for lib in missing if lib.startswith("libQt6") or lib.startswith("libpyside6")]
    unknown = [lib for lib in missing if lib not in table and lib not in qt_own]
    parts = []
    if packages:
        parts.append(f"install them with: sudo apt install {' '.join(packages)}")
    if qt_own:
        parts.append("PySide6 is incomplete: pip install --force-reinstall PySide6-Essentials")
    if unknown:
        parts.append(f"find the packages for {', '.join(unknown)} (Debian/Ubuntu: apt-file search NAME)")
    return "; ".join(parts)


def qt_problem(env: dict | None = None, packages: dict[str, str] | None = None) -> str | None:
    """One line saying why Qt can't open a window here (a missing platform plugin or system
    libraries, with the packages to install), or None when nothing stands in the way or it
    can't be told (not Linux, no ``ldd``). ``packages``: soname -> package (default
    DEBIAN_PACKAGES)."""
    if not sys.platform.startswith("linux"):
        return None
    pyside = pyside_folder()
    if pyside is None:
        return "PySide6 is not installed (pip install PySide6-Essentials); the headless commands work without it"
    problems = []
    for name in qt_platforms(env):
        plugin = platform_plugin(name, pyside, env)
        if plugin is None:
            problems.append(f"Qt has no '{name}' platform plugin in {pyside}")
            continue
        missing = missing_libraries(plugin, env)
        if not missing:
            return None  # this plugin loads (or ldd can't tell): Qt gets to decide
        problems.append(f"Qt's '{name}' platform plugin needs system libraries that are missing "
                        f"({', '.join(missing)}); {install_hint(missing, packages)}")
    return problems[0] if problems else None


def x_display_problem(env: dict | None = None) -> str | None:
    """One line when DISPLAY names an X server that does not answer (Qt would abort with a
    message about xcb-cursor instead), else None."""
    import socket

    env = os.environ if env is None else env
    display = env.get("DISPLAY", "")
    if not display or not sys.platform.startswith("linux"):
        return None
    m = re.fullmatch(r"(?P<host>[^:]*):(?P<num>\d+)(\.\d+)?", display)
    if m is None:
        return f"DISPLAY={display!r} is not an X display name such as :0 or localhost:10.0"
    host, num = m.group("host"), int(m.group("num"))
    if host in ("", "unix"):
        targets = [(socket.AF_UNIX, f"\0/tmp/.X11-unix/X{num}"), (socket.AF_UNIX, f"/tmp/.X11-unix/X{num}")]
    else:
        targets = [(socket.AF_INET, (host, 6000 + num))]
    for family, address in targets:
        try:
            with socket.socket(family, socket.SOCK_STREAM) as sock:
                sock.settimeout(3)
                sock.connect(address)
            return None
        except OSError:
            continue
    return (f"no X server answers on DISPLAY={display} (is the desktop session still running? over ssh, "
            f"connect with ssh -X); the headless commands work without one (ethoscout --help)")


def check_qt() -> Finding:
    problem = qt_problem()
    if problem:
        return Finding("Qt", FAIL, problem)
    from importlib import metadata

    version = next((metadata.version(d) for d in ("PySide6-Essentials", "PySide6")
                    if _installed(d)), "?")
    platforms = qt_platforms()
    where = "" if sys.platform.startswith("linux") else f" ({sys.platform})"
    display = ""
    if sys.platform.startswith("linux") and platforms[0] in ("xcb", "wayland") and not (
            os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        display = "; no display in this session (the window needs a desktop session)"
    elif platforms[0] == "xcb" and x_display_problem():
        display = f"; {x_display_problem()}"
    return Finding("Qt", OK, f"PySide6 {version}, platform plugin '{platforms[0]}' loadable{where}{display}")


def _installed(dist: str) -> bool:
    from importlib import metadata

    try:
        metadata.version(dist)
        return True
    except metadata.PackageNotFoundError:
        return False


# ---- Python, torch, ONNX Runtime ------------------------------------------------------------------


def check_python() -> Finding:
    v = sys.version_info
    text = f"{v.major}.{v.minor}.{v.micro} ({sys.executable})"
    if v < (3, 10):
        return Finding("python", FAIL, f"{text}: ethoscout needs Python 3.10 or newer")
    return Finding("python", OK, text)


def check_torch() -> Finding:
    try:
        import torch
    except Exception as e:  # noqa: BLE001 - a broken install can raise anything on import
        return Finding("torch", FAIL, f"cannot be imported ({_first_line(e)}); pip install torch==2.13.0 "
                                      f"--index-url https://download.pytorch.org/whl/cpu")
    build = f"CUDA {torch.version.cuda} build" if torch.version.cuda else "CPU build"
    if torch.cuda.is_available():
        names = ", ".join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count()))
        return Finding("torch", OK, f"{torch.__version__}, {build}, GPU: {names}")
    if torch.version.cuda:
        return Finding("torch", WARN, f"{torch.__version__}, {build}, but no GPU is visible (driver missing "
                                      f"or too old? nvidia-smi tells); running on the CPU")
    return Finding("torch", OK, f"{torch.__version__}, {build}; models run on the CPU")


def _identity_graph() -> bytes:
    import onnx
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "doctor", [x], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model.SerializeToString()


def check_onnxruntime() -> Finding:
    try:
        import onnxruntime as ort
    except Exception as e:  # noqa: BLE001
        return Finding("onnxruntime", WARN, f"cannot be imported ({_first_line(e)}); indexing falls back to "
                                            f"torch (slower on CPU): pip install onnxruntime")
    dists = [d for d in ("onnxruntime", "onnxruntime-gpu") if _installed(d)]
    if len(dists) > 1:
        return Finding("onnxruntime", FAIL, "both onnxruntime and onnxruntime-gpu are installed and overwrite each "
                                            "other's files; pip uninstall -y onnxruntime onnxruntime-gpu, then "
                                            "pip install onnxruntime-gpu (or onnxruntime on machines without CUDA)")
    ort.set_default_logger_severity(4)  # a failing provider explains itself below, in one line
    working = []
    for provider in ("CPUExecutionProvider", "CUDAExecutionProvider"):
        if provider not in ort.get_available_providers():
            continue
        try:
            sess = ort.InferenceSession(_identity_graph(), providers=[provider])
            if sess.get_providers()[0] == provider:
                working.append(provider.replace("ExecutionProvider", ""))
        except Exception:  # noqa: BLE001 - a provider that can't start is reported, not raised
            pass
    listed = [p.replace("ExecutionProvider", "") for p in ort.get_available_providers()]
    text = f"{ort.__version__} ({dists[0] if dists else '?'}); providers that run: {', '.join(working) or 'none'}"
    if "CUDA" in listed and "CUDA" not in working:
        from .model.ort_backend import cuda_provider_problem

        problem = cuda_provider_problem()
        text += f"; CUDA listed but does not start ({problem or 'no GPU visible'})"
        if not _gpu_visible():
            return Finding("onnxruntime", INFO, text + "; not needed without a GPU")
        return Finding("onnxruntime", WARN, text + "; GPU indexing uses torch instead (for ONNX Runtime on "
                                                   "the GPU: pip install \"onnxruntime-gpu[cuda,cudnn]\")")
    if "CPU" not in working:
        return Finding("onnxruntime", WARN, text + "; indexing falls back to torch")
    return Finding("onnxruntime", OK, text)


def _gpu_visible() -> bool:
    try:
        import torch

        return torch.cuda.is_available()
    except Exception:  # noqa: BLE001
        return False


def check_int8() -> Finding:
    """Dynamic int8 quantisation and an int8 session on the CPU (the CPU indexing runtime)."""
    import tempfile

    try:
        import numpy as np
        import onnx
        import onnxruntime as ort
        from onnx import TensorProto, helper, numpy_helper
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except Exception as e:  # noqa: BLE001
        return Finding("int8 on CPU", WARN, f"unavailable ({_first_line(e)}); indexing uses torch on the CPU")
    rng = np.random.default_rng(0)
    w = rng.standard_normal((64, 32)).astype(np.float32)
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 64])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 32])
    graph = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], "int8", [x], [y],
                              [numpy_helper.from_array(w, "w")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    import logging

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # the quantiser's generic advice is not for users
    try:
        with tempfile.TemporaryDirectory() as tmp:
            src, dst = Path(tmp, "f.onnx"), Path(tmp, "q.onnx")
            onnx.save(model, str(src))
            quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8)
            inp = rng.standard_normal((2, 64)).astype(np.float32)
            got = ort.InferenceSession(str(dst), providers=["CPUExecutionProvider"]).run(None, {"x": inp})[0]
    except Exception as e:  # noqa: BLE001
        return Finding("int8 on CPU", WARN, f"quantised inference failed ({_first_line(e)}); use --runtime torch")
    finally:
        root.setLevel(level)
    ref = inp @ w
    cos = float((got * ref).sum() / (np.linalg.norm(got) * np.linalg.norm(ref)))
    if cos < 0.99:
        return Finding("int8 on CPU", WARN, f"int8 results disagree with float (cosine {cos:.3f}); use --runtime torch")
    return Finding("int8 on CPU", OK, f"quantised MatMul matches float (cosine {cos:.4f})")


# ---- video, disk, models ------------------------------------------------------------------


def check_video() -> Finding:
    try:
        import av
    except Exception as e:  # noqa: BLE001
        return Finding("video", FAIL, f"PyAV cannot be imported ({_first_line(e)}); pip install av")
    missing = []
    for name in VIDEO_DECODERS:
        try:
            av.codec.Codec(name, "r")
        except Exception:  # noqa: BLE001 - an unknown codec raises UnknownCodecError
            missing.append(name)
    lav = ".".join(str(n) for n in av.library_versions.get("libavcodec", ()))
    text = f"PyAV {av.__version__}, libavcodec {lav}; decoders: " + ", ".join(
        n for n in VIDEO_DECODERS if n not in missing)
    try:
        import cv2

        text += f"; OpenCV {cv2.__version__}"
    except Exception as e:  # noqa: BLE001
        return Finding("video", FAIL, f"{text}; OpenCV cannot be imported ({_first_line(e)})")
    if {"h264", "mpeg4"} & set(missing):
        return Finding("video", FAIL, f"{text}; missing {', '.join(missing)}: most camera files won't open")
    if missing:
        return Finding("video", WARN, f"{text}; missing {', '.join(missing)}")
    return Finding("video", OK, text)


def hub_cache() -> Path:
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def _existing_parent(p: Path) -> Path:
    while not p.exists() and p != p.parent:
        p = p.parent
    return p


def check_disk(folders: list[Path] | None = None) -> Finding:
    folders = folders or [cache_root(), hub_cache()]
    worst = None
    for folder in folders:
        free = shutil.disk_usage(_existing_parent(folder)).free / 2 ** 30
        if worst is None or free < worst[1]:
            worst = (folder, free)
    folder, free = worst
    text = f"{free:.1f} GB free for {folder}"
    if free < MIN_FREE_GB:
        return Finding("disk", FAIL, f"{text}: a model and its feature caches need a few GB; free some space")
    if free < LOW_FREE_GB:
        return Finding("disk", WARN, f"{text}: tight for a model download and feature caches")
    return Finding("disk", OK, text)


def check_models() -> Finding:
    from .model.hub import MODELS, cached_models, offline_reason

    cached = cached_models()
    offline = offline_reason()
    mode = f"; {offline}" if offline else ""
    if cached:
        listed = ", ".join(f"{m.repo_id} ({m.size_bytes / 2 ** 20:.0f} MB)" for m in cached)
        return Finding("models", OK, f"cached in {hub_cache()}: {listed}{mode}")
    return Finding("models", INFO, f"no X-CLIP model cached in {hub_cache()}; choose or download one in the window "
                                   f"(Model > Choose model...) or run `hf download {MODELS[0].repo_id}`{mode}")


CHECKS: tuple[Callable[[], Finding], ...] = (check_python, check_torch, check_onnxruntime, check_int8,
                                             check_video, check_qt, check_disk, check_models)


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


def run_checks(checks=CHECKS) -> list[Finding]:
    out = []
    for check in checks:
        name = check.__name__.removeprefix("check_")
        try:
            out.append(check())
        except Exception as e:  # noqa: BLE001 - a broken check must not hide the others
            out.append(Finding(name, WARN, f"could not be checked ({type(e).__name__}: {_first_line(e)})"))
    return out


def run_doctor(args) -> int:
    findings = run_checks()
    for f in findings:
        print(f.line(), flush=True)
    blockers = [f for f in findings if f.status == FAIL]
    if blockers:
        print(f"{len(blockers)} blocker(s): fix the line(s) marked fail", file=sys.stderr)
        return 1
    return 0


def register(sub) -> None:
    p = sub.add_parser("doctor", help="check this installation: Python, torch and GPU, ONNX Runtime, video "
                                      "decoders, Qt system libraries, disk, model cache (exit 1 on a blocker)")
    p.set_defaults(func=run_doctor)
