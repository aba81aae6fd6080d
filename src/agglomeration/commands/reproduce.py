"""Rerun one stored run of a batch (or the run of an `agglomeration run` output) and check that it
matches bit for bit.

RESULTS is a directory written by `agglomeration batch` or by `agglomeration run`.  The run is chosen
with --run (a run id from the runs table, or a unique prefix of one); the default is the first
successful run in plan order.  The run is recomputed in this process from the experiment (or scenario),
seed and overrides recorded in manifest.json, and every stored table of the run (runs, series, regions,
links, firms) is compared with the rerun, column by column (floats by their bits).  Nothing is written
into RESULTS.  A result directory is data: a model class other than the package's own is imported only
with --trust-model.

Exit codes: 0 "match"; 1 different (the first difference is printed: table, column, row, both values);
2 invalid input (not a result directory, unknown or failed run, scenario file missing, untrusted model).
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register RESULTS, --run and --scenario."""
    parser.add_argument(
        "results", metavar="RESULTS", help="result directory of a batch, or a run output directory"
    )
    parser.add_argument(
        "--run", metavar="RUN_ID", help="run id or unique prefix (default: first successful run)"
    )
    parser.add_argument(
        "--scenario",
        metavar="FILE",
        help="base scenario file, when RESULTS was moved away from it (its content must be unchanged)",
    )
    parser.add_argument(
        "--trust-model",
        action="store_true",
        help="allow importing the model class named in manifest.json (other than the package's own)",
    )


def main(args: argparse.Namespace) -> int:
    """Rerun, print one line ``match: ...`` or ``DIFFERENT: ...``; exit 0 on match, 1 otherwise."""
    from agglomeration.experiment.reproduce import reproduce_run

    report = reproduce_run(
        args.results, args.run, scenario=args.scenario, trust_model=args.trust_model
    )
    print(report.summary())
    return 0 if report.match else 1
