"""Small file helpers shared by exporters: atomic writes and spreadsheet-safe cells."""
from __future__ import annotations

import csv
import io
import itertools
import os
import tempfile
from pathlib import Path
from typing import Iterable, Sequence

from .errors import ExportError

# A cell starting with one of these is run as a formula by Excel/LibreOffice (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


_RISKY_FIRST = frozenset("=+-@\t\r'")


def safe_cell(value) -> str:
    """Text for one cell: numbers unchanged (so -1.5 stays a number for pandas and R), other
    text that a spreadsheet would evaluate prefixed with a single quote."""
    if type(value) is str and (not value or value[0] not in _RISKY_FIRST):
        return value  # the common case, first: exports call this for every cell
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, (int, float)):
        return repr(value) if isinstance(value, float) else str(value)
    text = str(value)
    # Text already starting with quotes before a formula character gets one more, so that
    # our importer's unescape (one quote off) gives back exactly what was written.
    if text.lstrip("'").startswith(_FORMULA_START) and not _is_number(text):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def delimiter_for(path: str | os.PathLike) -> str:
    """Tab for .tsv/.txt, comma otherwise."""
    return "\t" if Path(path).suffix.lower() in (".tsv", ".txt", ".tab") else ","


def _read_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _read_umask()  # once, at import: os.umask is process-wide and not thread-safe


def as_if_created(path: str | os.PathLike) -> None:
    """Give a file made by ``mkstemp`` (mode 0600) the mode a plain new file would get."""
    os.chmod(path, 0o666 & ~_UMASK)


def remove_stale_temps(folder: Path, pattern: str, older_than_s: float = 60.0) -> None:
    """Delete temporary files an interrupted export left in ``folder`` (only old ones: a
    running export's temporary file is fresh)."""
    import time

    for f in Path(folder).glob(pattern):
        try:
            if time.time() - f.stat().st_mtime > older_than_s:
                f.unlink()
        except OSError:
            continue


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write to a temporary file beside ``path`` and rename it into place, so a crash leaves
    either the old file or the new one, never a truncated one."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    target = Path(path)
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise ExportError(target, f"folder {parent} does not exist")
    remove_stale_temps(parent, f".{target.name}.*.tmp")  # left by a killed export
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        as_if_created(tmp)  # mkstemp's 0600 would hide exports from colleagues
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def write_table(path: str | os.PathLike, header: Sequence[str], rows: Iterable[Sequence],
                delimiter: str | None = None) -> Path:
    """Write a header and rows as CSV/TSV (by extension unless given), every cell made safe."""
    buf = io.StringIO()
    delimiter = delimiter or delimiter_for(path)
    writer = csv.writer(buf, delimiter=delimiter, lineterminator="\n")
    # csv quotes a cell holding "\n" but not a lone "\r" (not in our line terminator), which
    # no reader then parses: such rows are written fully quoted.
    quoted = csv.writer(buf, delimiter=delimiter, lineterminator="\n", quoting=csv.QUOTE_ALL)
    for row in itertools.chain([header], rows):
        cells = [safe_cell(v) for v in row]
        (quoted if "\r" in "".join(cells) else writer).writerow(cells)
    return atomic_write_text(path, buf.getvalue())



def fmt_time(t: float | None) -> str:
    """Seconds to 3 decimals, as BORIS writes them."""
    return "" if t is None else f"{t:.3f}"
