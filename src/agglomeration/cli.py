"""The ``agglomeration`` command.

Each subcommand lives in :mod:`agglomeration.commands.<name>` and exposes ``add_arguments(parser)`` and
``main(args) -> int``; this module only dispatches, so subcommands are imported lazily (``agglomeration
validate`` does not pay for importing matplotlib).

Exit codes: 0 success, 2 invalid input (the message names file, field and expectation), 1 runtime failure.
A traceback is shown only with ``--debug``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback

from agglomeration.errors import InputError

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
    "reproduce": ("agglomeration.commands.reproduce", "rerun a stored run and check it matches"),
    "dashboard": ("agglomeration.commands.dashboard", "interactive dashboard in the browser"),
}


class _Parser(argparse.ArgumentParser):
    """argparse exits with code 2 on bad options already; keep its message short."""


def build_parser() -> argparse.ArgumentParser:
    from agglomeration import __version__

    parser = _Parser(prog="agglomeration", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"agglomeration {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:  # a subcommand not built yet / optional extra missing
            if exc.name != module_name:
                raise
            continue
        p = sub.add_parser(name, help=help_text, description=(module.__doc__ or help_text).strip())
        p.add_argument("--debug", action="store_true", help="show tracebacks on errors")
        module.add_arguments(p)
        p.set_defaults(_handler=module.main)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if not getattr(args, "command", None):
            parser.print_help()
            return 2
        return int(args._handler(args) or 0)
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
