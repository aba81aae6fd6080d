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


#: most characters of a file name in a message (longer ones are shortened in the middle)
FILE_LIMIT = 300


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
        # a hostile path or key (5,000 characters, a newline, an escape sequence) must not flood or
        # drive the terminal: both are shortened and their control characters escaped
        self.file = shorten(file, FILE_LIMIT) if file is not None else None
        self.field = shorten(field, 200) if field is not None else None
        super().__init__(self.__str__())

    def names_file(self, file: str | Path | None) -> bool:
        """Whether this error names ``file`` (given as to the constructor: a path, not shortened)."""
        return file is not None and self.file == shorten(file, FILE_LIMIT)

    def __str__(self) -> str:
        where = []
        if self.file:
            where.append(self.file)
        if self.field:
            where.append(self.field)
        prefix = ": ".join(where)
        return f"{prefix}: {self.message}" if prefix else self.message


class OverrideError(InputError):
    """Invalid input that came from a scenario override (``agglomeration run --set``, the overrides of
    ``load_scenario`` / ``Scenario.with_overrides``), not from the scenario file: it names no file.

    ``key`` is the override's dotted key as given; ``field`` the field the problem is in (the key, or a
    field below or above it)."""

    def __init__(self, message: str, *, key: str | None = None, field: str | None = None):
        self.key = key
        super().__init__(message, field=field if field is not None else key)


class DivergedError(InputError):
    """The model's economy ran away at settings the validators accept (its market revenues not finite,
    or final expenditure orders of magnitude above the exogenous demand): bad input like any other
    (exit code 2), naming the settings known to cause it (agglomeration.divergence)."""


def shorten(text: object, limit: int = 120) -> str:
    """``text`` for a message: at most ``limit`` characters, control characters escaped."""
    s = repr(str(text))[1:-1] if any(ord(c) < 32 or ord(c) == 127 for c in str(text)) else str(text)
    return (
        s
        if len(s) <= limit
        else f"{s[: limit // 2]}...{s[-limit // 2 + 3 :]} ({len(s)} characters)"
    )


def csv_line(index: int) -> int:
    """The line of a CSV file that holds its data record ``index`` (0-based), as error messages name
    it: lines count from 1 and the header is line 1, so record 0 is on line 2."""
    return index + 2


def describe_os_error(exc: BaseException) -> str:
    """An OSError's reason without the path it names (the path is reported separately)."""
    reason = getattr(exc, "strerror", None)
    return str(reason) if reason else shorten(exc, 160)


class ResultStoreError(InputError):
    """A results directory that is not one, belongs to another experiment, or cannot be written."""


def compact_warnings() -> None:
    """Print warnings as one line, ``warning: MESSAGE``, without the source file, line number and the
    line of code (which mean nothing to a user of the command line); the console script and the
    batch's worker processes use it (``--debug`` keeps Python's format in the console process)."""
    import warnings

    def one_line(message, category, filename, lineno, line=None) -> str:
        kind = "" if category is UserWarning else f"{category.__name__}: "
        return f"warning: {kind}{message}\n"

    warnings.formatwarning = one_line
