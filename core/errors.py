"""The one error family the CLI and GUI show as a single line (no traceback)."""
from __future__ import annotations


class EthoscoutError(Exception):
    """Base class: ``str(err)`` is one line that names the file or thing and the problem."""
