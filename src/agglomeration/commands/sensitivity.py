"""Global sensitivity indices of a batch run over a Sobol or Morris design, via SALib.

Sobol: first-order (S1) and total-order (ST) indices with 95% bootstrap confidence intervals.  Morris:
mu, mu* (with its CI) and sigma of the elementary effects.  One row per metric x parameter.  By default
the replicates of each design point are averaged first (indices of the expected output); --replicates
each analyses every replicate separately.  The stored SALib problem and sample matrix are used, so the
sampler and analyser always agree (calc_second_order, num_levels).  See docs/ANALYSIS.md.
"""

from __future__ import annotations

import argparse
import sys

from agglomeration.errors import InputError

#: Most bootstrap resamples: SALib holds a (points x resamples) index matrix in memory, so 10,000
#: resamples of a 2,048-point Sobol sample already take about 160 MB; more do not change a 95% CI.
MAX_RESAMPLES = 10_000
#: Bootstrap resamples by default; the same as agglomeration.experiment.sensitivity's (not imported
#: here so that parsing the command line does not load scipy; tests/commands/test_sensitivity_cli.py
#: keeps the two equal).
DEFAULT_RESAMPLES = 1_000


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``agglomeration sensitivity``."""
    parser.add_argument("results", help="result directory of a batch with a sobol or morris design")
    parser.add_argument("--method", choices=("sobol", "morris"), help="default: the design's kind")
    parser.add_argument("--metrics", nargs="+", metavar="METRIC", help="metrics (default: all)")
    parser.add_argument(
        "--replicates",
        choices=("mean", "each"),
        default="mean",
        help="average replicates per design point (default) or analyse each replicate",
    )
    parser.add_argument(
        "--resamples",
        type=int,
        default=DEFAULT_RESAMPLES,
        help=f"bootstrap resamples for CIs (1 to {MAX_RESAMPLES:,}; default {DEFAULT_RESAMPLES:,})",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of SALib's bootstrap")
    parser.add_argument("--format", choices=("csv", "parquet", "xlsx", "md", "tex"))
    parser.add_argument(
        "--out", help="write the table to this file (format from --format or suffix)"
    )


def design_of(results, source: str) -> dict:
    """The design mapping (kind, problem, sample, options) of a result store."""
    from agglomeration.experiment.sensitivity import design_from_manifest

    design = design_from_manifest(results.manifest, source=f"{source}/manifest.json")
    if design.get("sample") is None and "design" in results:
        frame = results["design"]
        names = list(design["problem"]["names"])
        if all(n in frame.columns for n in names):
            if "point" in frame.columns:
                frame = frame.sort_values("point")
            design["sample"] = frame[names].to_numpy(dtype=float)
    return design


def main(args: argparse.Namespace) -> int:
    """Compute and print / export the sensitivity table."""
    from agglomeration.commands.compare import check_table_out, open_results, writing
    from agglomeration.experiment.sensitivity import sensitivity
    from agglomeration.report.tables import export_table, to_markdown

    if not 1 <= args.resamples <= MAX_RESAMPLES:
        raise InputError(
            f"expected a positive number of resamples, at most {MAX_RESAMPLES:,}, got {args.resamples}",
            field="--resamples",
        )
    check_table_out(args.out, args.format)
    results = open_results(args.results, purpose="sensitivity")
    design = design_of(results, str(args.results))
    table = sensitivity(
        results["runs"],
        design,
        method=args.method,
        metrics=args.metrics,
        replicates=args.replicates,
        num_resamples=args.resamples,
        seed=args.seed,
        source=str(args.results),
    )
    kind = args.method or design["kind"]
    label = "Sobol indices (S1 first order, ST total order; _conf = 95% CI half-width)"
    if kind == "morris":
        label = "Morris elementary effects (mu, mu*, sigma; mu_star_conf = 95% CI half-width)"
    sys.stdout.write(f"{label}\n\n")
    show = [c for c in table.columns if not c.endswith(("_low", "_high"))]
    sys.stdout.write(to_markdown(table[show], digits=3))
    for note in missing_value_notes(results["runs"], table):
        sys.stdout.write(f"note: {note}\n")
    if args.out:
        with writing(args.out, "--out"):
            path = export_table(table, args.out, args.format)
        sys.stdout.write(f"wrote {path}\n")
    return 0


def missing_value_notes(runs, table) -> list[str]:
    """Why a metric's indices are blank: runs in which it is undefined (NaN; the indices need a value at
    every design point) or a metric that does not vary."""
    import numpy as np
    import pandas as pd

    from agglomeration.experiment.compare import successful_runs

    ok = successful_runs(runs)
    notes = []
    for metric in dict.fromkeys(table["metric"]):
        values = pd.to_numeric(ok[metric], errors="coerce") if metric in ok.columns else None
        if values is None or values.empty:
            continue
        if values.isna().any():
            notes.append(
                f"{metric} is undefined (NaN) in {int(values.isna().sum())} of {len(values)} runs "
                "(e.g. a region or sector without the flow it measures); its indices need a value at "
                "every design point and are left blank"
            )
        elif not np.ptp(values.to_numpy(dtype=float)) > 0:
            notes.append(
                f"{metric} does not vary across the runs: every elementary effect is 0 (mu, mu* and "
                "sigma 0)"
                if "mu_star" in table.columns  # Morris: the effects are defined, and 0
                else f"{metric} does not vary across the runs; its variance shares are undefined"
            )
    return notes
