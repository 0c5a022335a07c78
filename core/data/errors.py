"""Errors the user can cause with project data; each message is one line naming the file and
the problem (the CLI and GUI show ``str(err)`` as is)."""
from __future__ import annotations

import os

from ..errors import EthoscoutError


def one_line(text: str) -> str:
    return " ".join(str(text).split())


class DataError(EthoscoutError):
    """Base of every project-data error."""

    def __init__(self, where: str | os.PathLike, problem: str):
        self.where = str(where)
        self.problem = one_line(problem)
        super().__init__(f"{self.where}: {self.problem}")


class ProjectError(DataError):
    """Not a project, a newer schema, an unknown video or behaviour, a bad label."""


class ImportFormatError(DataError):
    """A file an importer can't read at all (wrong format, truncated, binary, too big)."""


class ImportRejectedError(DataError):
    """Rows failed validation and the import was all-or-nothing: nothing was imported.
    ``report`` lists every rejected row."""

    def __init__(self, where, problem, report):
        self.report = report
        super().__init__(where, problem)


class ExportError(DataError):
    """An export that can't be written (bad target, unknown format, nothing to export)."""
