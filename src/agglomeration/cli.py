"""The ``agglomeration`` command.

Each subcommand lives in :mod:`agglomeration.commands.<name>` and exposes ``add_arguments(parser)`` and
``main(args) -> int``; this module only dispatches, so subcommands are imported lazily (``agglomeration
validate`` does not pay for importing matplotlib).

Exit codes: 0 success, 2 invalid input (the message names file, field and expectation), 1 runtime failure,
130 interrupted (Ctrl-C), 143 stopped by SIGTERM (``batch``), 141 when the reader of the output closed the
pipe (``agglomeration ... | head``; nothing is printed about it).  A traceback is shown only with
``--debug``.  Messages go to stderr through the ``logging`` module (loggers named after the modules):
``--verbose`` shows debug messages, ``--quiet`` only warnings and errors (and no progress bars).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
import traceback

from agglomeration.errors import InputError, compact_warnings

#: exit code when stdout is a pipe whose reader went away (128 + SIGPIPE, as for other tools)
EXIT_BROKEN_PIPE = 141

#: subcommand name -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "validate": ("agglomeration.commands.validate", "check scenario / experiment files"),
    "run": ("agglomeration.commands.run", "run one scenario and write tables and figures"),
    "batch": ("agglomeration.commands.batch", "run an experiment (many scenarios x replicates)"),
    "compare": ("agglomeration.commands.compare", "compare variants of a finished batch"),
    "sensitivity": ("agglomeration.commands.sensitivity", "Sobol / Morris sensitivity indices"),
    "plot": ("agglomeration.commands.plot", "figures from a batch or a run directory"),
    "discover": (
        "agglomeration.commands.discover",
        "scenario discovery (PRIM, CART) and robustness",
    ),
    "calibrate": (
        "agglomeration.commands.calibrate",
        "calibrate parameters to observed moments (MSM)",
    ),
    "reproduce": ("agglomeration.commands.reproduce", "rerun a stored run and check it matches"),
    "dashboard": ("agglomeration.commands.dashboard", "interactive dashboard in the browser"),
}


class _Parser(argparse.ArgumentParser):
    """argparse exits with code 2 on bad options already; keep its message short."""


def _add_common(parser: argparse.ArgumentParser, default: object) -> None:
    """--debug, --verbose, --quiet: accepted before and after the subcommand."""
    parser.add_argument(
        "--debug", action="store_true", default=default, help="show tracebacks on errors"
    )
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "-v", "--verbose", action="store_true", default=default, help="show debug messages"
    )
    group.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        default=default,
        help="only warnings and errors; no progress bars",
    )


class _Formatter(logging.Formatter):
    """``message`` for info, ``warning: message`` / ``error: message`` above, ``debug: name: ...``."""

    def format(self, record: logging.LogRecord) -> str:
        msg = record.getMessage()
        if record.levelno >= logging.WARNING:
            return f"{record.levelname.lower()}: {msg}"
        if record.levelno < logging.INFO:
            return f"debug: {record.name}: {msg}"
        return msg


def configure_logging(verbose: bool = False, quiet: bool = False) -> None:
    """Send the package's log records to stderr at the level the options ask for."""
    level = logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO
    logger = logging.getLogger("agglomeration")
    for handler in list(logger.handlers):
        if getattr(handler, "_agglomeration_cli", False):
            logger.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Formatter())
    handler._agglomeration_cli = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
    # dask's own loggers speak at info level: only warnings unless --verbose
    logging.getLogger("distributed").setLevel(logging.INFO if verbose else logging.WARNING)


def build_parser() -> argparse.ArgumentParser:
    from agglomeration import __version__

    parser = _Parser(prog="agglomeration", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"agglomeration {__version__}")
    _add_common(parser, False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:  # a subcommand not built yet / optional extra missing
            if exc.name != module_name:
                raise
            continue
        p = sub.add_parser(
            name,
            help=help_text,
            description=(module.__doc__ or help_text).strip(),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        _add_common(p, argparse.SUPPRESS)  # SUPPRESS: do not reset what was given before COMMAND
        module.add_arguments(p)
        p.set_defaults(_handler=module.main)
    return parser


#: options that name a path to write or read: an empty string is a mistake, not "use the default"
_PATH_OPTIONS = ("out", "figures", "table_csv", "scenario_out")
#: of those, the ones that name a directory, by command
_DIRECTORY_OPTIONS = {
    "batch": ("out",),
    "run": ("out",),
    "plot": ("out",),
    "calibrate": ("out",),
    "discover": ("figures",),
}


def _check_common_values(args: argparse.Namespace) -> None:
    """Values every command treats alike: a path option given as an empty string (``--out ""``, which
    would otherwise fall back to the default directory) and a negative ``--seed`` are input errors."""
    for name in _PATH_OPTIONS:
        value = getattr(args, name, None)
        if isinstance(value, str) and not value.strip():
            flag = "--" + name.replace("_", "-")
            kind = "directory path" if name in _DIRECTORY_OPTIONS.get(args.command, ()) else "path"
            raise InputError(f"expected a {kind}, got an empty string", field=flag)
    seed = getattr(args, "seed", None)
    if isinstance(seed, int) and not isinstance(seed, bool) and not 0 <= seed < 2**63:
        raise InputError(f"expected a seed in [0, 2**63), got {seed}", field="--seed")


def _stdout_gone() -> int:
    """The reader of stdout went away (``| head``): stop quietly, also at interpreter exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    return EXIT_BROKEN_PIPE


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        configure_logging(
            bool(getattr(args, "verbose", False)), bool(getattr(args, "quiet", False))
        )
        if not debug:
            compact_warnings()
        if not getattr(args, "command", None):
            parser.print_help()
            return 2
        if isinstance(getattr(args, "metrics", None), list):  # --metrics a a: one metric, once
            args.metrics = list(dict.fromkeys(args.metrics))
        _check_common_values(args)
        code = int(args._handler(args) or 0)
        sys.stdout.flush()  # a closed pipe shows up here, not at interpreter exit
        return code
    except BrokenPipeError:
        return _stdout_gone()
    except InputError as exc:
        if debug:
            traceback.print_exc()
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if debug:
            traceback.print_exc()
        else:
            print(
                f"error: {type(exc).__name__}: {exc}\n(run again with --debug for the traceback)",
                file=sys.stderr,
            )
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
