"""Rerun one stored run of a batch from its manifest and check that it matches bit for bit.

RESULTS is a directory written by `agglomeration batch`.  The run is chosen with --run (a run id from
the runs table, or a unique prefix of one); the default is the first successful run in plan order.  The
run is recomputed in this process from the experiment, seed and scenario recorded in manifest.json, and
every stored table of the run (runs, series, regions, links, firms) is compared with the rerun, column
by column (floats by their bits).  Nothing is written into RESULTS.

Exit codes: 0 "match"; 1 different (the first difference is printed: table, column, row, both values);
2 invalid input (not a result directory, unknown or failed run, scenario file missing).
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register RESULTS, --run and --scenario."""
    parser.add_argument("results", metavar="RESULTS", help="result directory of a batch")
    parser.add_argument(
        "--run", metavar="RUN_ID", help="run id or unique prefix (default: first successful run)"
    )
    parser.add_argument(
        "--scenario",
        metavar="FILE",
        help="base scenario file, when RESULTS was moved away from it (its content must be unchanged)",
    )


def main(args: argparse.Namespace) -> int:
    """Rerun, print one line ``match: ...`` or ``DIFFERENT: ...``; exit 0 on match, 1 otherwise."""
    from agglomeration.experiment.reproduce import reproduce_run

    report = reproduce_run(args.results, args.run, scenario=args.scenario)
    print(report.summary())
    return 0 if report.match else 1
