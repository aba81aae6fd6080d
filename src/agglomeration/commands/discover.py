"""Scenario discovery and robustness: where in the design space does a condition on the metrics hold?

Example: agglomeration discover results/lhs --where "connected_firm_share > 0.5"

Cases of interest are the design points (metrics averaged over their replicates; --replicates each:
every run) that satisfy --where (comparisons joined by and / or / not).  Reports the PRIM box (EMA
Workbench: the densest box with coverage >= --min-coverage, its restrictions with quasi-p values, and
the peeling trajectory), CART boxes (scikit-learn decision tree), feature scores (extra trees), and,
when the experiment declares levers (its variants, design parameters with role = "lever") and
uncertainties (the other design parameters) and every policy ran at every uncertainty point, each
policy's robustness: mean, 10th percentile, share of points satisfying the condition, and maximum and
mean regret (minimax regret ranks the policies).  Needs the 'discovery' extra
(pip install 'agglomeration[discovery]').  --out FILE writes the tables (FILE_trajectory, FILE_cart,
FILE_features, FILE_robustness next to it; sheets for .xlsx); --figures DIR draws the trade-off and the
box.  See docs/ANALYSIS.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from agglomeration.errors import InputError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``agglomeration discover``."""
    parser.add_argument("results", help="result directory of a batch with a design")
    parser.add_argument(
        "--where", required=True, help='condition on the metrics, e.g. "connected_firm_share > 0.5"'
    )
    parser.add_argument(
        "--metric", help="outcome ranked for robustness (default: the condition's first metric)"
    )
    parser.add_argument(
        "--better",
        choices=("higher", "lower"),
        help="whether higher or lower values of the outcome are better (default: as the condition "
        "bounds it; required for a --metric the condition does not bound)",
    )
    parser.add_argument(
        "--parameters",
        nargs="+",
        metavar="PARAM",
        help="design parameters to search (default: all)",
    )
    parser.add_argument(
        "--variant", help="only this variant's runs (default: all, with the variant as a factor)"
    )
    parser.add_argument(
        "--replicates",
        choices=("mean", "each"),
        default="mean",
        help="classify design points by their mean (default) or every run",
    )
    parser.add_argument(
        "--min-coverage",
        type=float,
        default=0.5,
        help="PRIM: the densest box with at least this coverage (default 0.5)",
    )
    parser.add_argument(
        "--mass-min",
        type=float,
        default=0.05,
        help="PRIM and CART: smallest box, as a share of the points (default 0.05)",
    )
    parser.add_argument("--max-depth", type=int, default=3, help="CART tree depth (default 3)")
    parser.add_argument("--seed", type=int, default=0, help="seed of CART and the feature scores")
    parser.add_argument("--partial", action="store_true", help="analyse an unfinished batch")
    parser.add_argument("--format", choices=("csv", "parquet", "xlsx", "md", "tex"))
    parser.add_argument(
        "--out", help="write the tables to this file (format from --format or suffix)"
    )
    parser.add_argument("--figures", metavar="DIR", help="draw the PRIM trade-off and box to DIR")


def main(args: argparse.Namespace) -> int:
    """Run the discovery and print / export its tables."""
    from agglomeration.commands.compare import (
        check_out_path,
        check_table_out,
        failed_runs_note,
        open_results,
        require_finished,
        writing,
    )
    from agglomeration.experiment.discovery import discover
    from agglomeration.report.tables import discovery_tables, export_tables, to_markdown

    if args.max_depth < 1 or args.max_depth > 10:
        raise InputError(
            f"expected a depth from 1 to 10, got {args.max_depth}", field="--max-depth"
        )
    check_table_out(args.out, args.format)
    check_out_path(args.figures, "--figures", directory=True)
    results = open_results(args.results, purpose="discover")
    warning = require_finished(results, args.results, args.partial)
    runs = results["runs"]
    failed = failed_runs_note(runs, args.results, results.manifest)
    if failed:
        warning = f"{warning}; {failed}" if warning else failed
    if args.variant:
        from agglomeration.experiment.compare import _did_you_mean

        variants = list(dict.fromkeys(runs["variant"].astype(str)))
        if args.variant not in variants:
            raise InputError(
                f"unknown variant {args.variant!r}{_did_you_mean(args.variant, variants)}",
                file=args.results,
                field="--variant",
            )
        runs = runs.loc[runs["variant"].astype(str) == args.variant]
    disc = discover(
        runs,
        args.where,
        manifest=results.manifest,
        parameters=args.parameters,
        metric=args.metric,
        better=args.better,
        replicates=args.replicates,
        min_coverage=args.min_coverage,
        mass_min=args.mass_min,
        max_depth=args.max_depth,
        seed=args.seed,
        source=str(args.results),
    )
    out = sys.stdout
    if warning:
        out.write(f"!! {warning}\n\n")
    text, numeric, captions = discovery_tables(disc)
    out.write(
        f"Scenario discovery: {disc.n_interest} of {disc.n_points} {disc.unit} satisfy "
        f"{disc.condition.text!r} (base rate {100 * disc.base_rate:.0f}%)\n\n"
    )
    for name in ("box", "trajectory", "cart", "features", "robustness"):
        if len(text[name]):
            out.write(f"{captions[name]}\n\n")
            out.write(to_markdown(text[name]))
            out.write("\n")
    for note in disc.notes:
        out.write(f"note: {note}\n")
    if args.out:
        from agglomeration.report.tables import Table

        tables = {n: Table(numeric[n], text[n], captions[n]) for n in numeric}
        with writing(args.out, "--out"):
            written = export_tables(tables, args.out, args.format)
        for path in written:
            out.write(f"wrote {path}\n")
    if args.figures:
        from agglomeration.report.figures import discovery_figure
        from agglomeration.report.style import save

        with writing(args.figures, "--figures"):
            drawn = save(
                discovery_figure(disc, note=f"{args.results}: {disc.n_points} {disc.unit}."),
                Path(args.figures),
                "discovery",
            )
        for path in drawn:
            out.write(f"wrote {path}\n")
    return 0
