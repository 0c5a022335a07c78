"""Write analysis rows as CSV/TSV (numbers rounded for reading, empty cells for "not
defined"), through the same safe, atomic writer as every export."""
from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from ..data.fileio import write_table


def cell(value, digits: int = 6):
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return round(value, digits)
    return value


def write_rows(out: str | os.PathLike, columns, rows: list[dict]) -> Path:
    return write_table(out, columns, ([cell(r.get(c)) for c in columns] for r in rows))
