"""Exception types of the public API.

Every problem caused by a user's input (a scenario or experiment file, a data CSV, a command-line option,
a keyword argument) raises :class:`InputError`, whose message names the file, the field path and what was
expected.  The command line turns it into exit code 2 and a one-paragraph message, without a traceback.
Anything else is a bug or a runtime failure (exit code 1).
"""

from __future__ import annotations

from pathlib import Path


class AgglomerationError(Exception):
    """Base class of every error this package raises on purpose."""


class InputError(AgglomerationError, ValueError):
    """Invalid user input.

    Parameters
    ----------
    message:
        What is wrong and what was expected, e.g. ``"expected a number in [0, 1], got 1.5"``.
    file:
        The file the input came from (scenario, experiment, CSV), or ``None`` for command-line/API input.
    field:
        Dotted field path inside the file (``"policy.delegation.WZ"``), or a CSV column / row reference.
    """

    def __init__(self, message: str, *, file: str | Path | None = None, field: str | None = None):
        self.message = message
        self.file = str(file) if file is not None else None
        self.field = field
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = []
        if self.file:
            where.append(self.file)
        if self.field:
            where.append(self.field)
        prefix = ": ".join(where)
        return f"{prefix}: {self.message}" if prefix else self.message


class ResultStoreError(InputError):
    """A results directory that is not one, belongs to another experiment, or cannot be written."""
