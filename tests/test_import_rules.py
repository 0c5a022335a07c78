"""core must work where Qt is not installed: importing it loads no Qt module."""
from __future__ import annotations

import subprocess
import sys


def test_core_imports_without_qt():
    code = ("import sys, ethoscout.core, ethoscout.core.engine, ethoscout.core.cli; "
            "import importlib.util as u\n"
            "for name in ['ethoscout.core.jobs', 'ethoscout.core.data.project', 'ethoscout.core.learn.suggest']:\n"
            "    if u.find_spec(name): __import__(name)\n"
            "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6', 'pyqtgraph', 'superqt')"
            " or m.startswith('ethoscout.gui')]\n"
            "print(bad); sys.exit(1 if bad else 0)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
