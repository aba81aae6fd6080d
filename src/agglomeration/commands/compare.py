"""Compare the variants of a finished batch against a baseline variant, with proper statistics.

For each variant and metric: n, mean, standard deviation and 95% t confidence interval (plus a bootstrap
interval with --bootstrap N).  Against the baseline: the difference and its 95% CI; paired t and Wilcoxon
signed-rank tests when the replicates share seeds (common random numbers), Welch t and Mann-Whitney U
otherwise; effect sizes (Cohen's d, or d_z when paired, and Cliff's delta); Holm-adjusted p values across
all comparisons.  Replication advice: the CI half-width reached, and with --precision P the replicates
needed for a half-width of P x |mean| (relative, the default) or P in the metric's unit (--absolute).

Prints one row per variant and metric and the replication advice.  --out FILE writes the publication
(wide: one row per metric) table to FILE
and the long tables next to it (FILE_comparisons, FILE_summary, FILE_advice; one sheet each for .xlsx).
--table-csv FILE writes the per-step series in the BehaviorSpace "table" layout (one row per run x step,
parameters as columns).  See docs/ANALYSIS.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from agglomeration.errors import InputError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``agglomeration compare``."""
    parser.add_argument("results", help="result directory written by `agglomeration batch`")
    parser.add_argument(
        "--baseline", help="reference variant (default: 'baseline', else the first)"
    )
    parser.add_argument("--metrics", nargs="+", metavar="METRIC", help="metrics (default: all)")
    parser.add_argument(
        "--at-step",
        type=int,
        metavar="T",
        help="compare the series at step T, not the final metrics",
    )
    parser.add_argument(
        "--precision",
        type=float,
        metavar="P",
        help="requested CI half-width for the replication advice (relative to |mean|, e.g. 0.01)",
    )
    parser.add_argument(
        "--absolute", action="store_true", help="--precision is in the metric's unit, not relative"
    )
    parser.add_argument(
        "--bootstrap",
        type=int,
        default=0,
        metavar="N",
        help="bootstrap resamples for a CI (0 = none)",
    )
    parser.add_argument(
        "--unpaired", action="store_true", help="never pair runs by seed (Welch / Mann-Whitney)"
    )
    parser.add_argument("--format", choices=("csv", "parquet", "xlsx", "md", "tex"))
    parser.add_argument(
        "--out", help="write the tables to this file (format from --format or suffix)"
    )
    parser.add_argument("--table-csv", metavar="FILE", help="write the BehaviorSpace-layout CSV")


def check_out_path(path: str | Path | None, field: str, *, directory: bool = False) -> None:
    """Refuse an output path that cannot be used, *before* anything is computed or written.

    A file output must not be an existing directory; a directory output must not be an existing
    file; and the nearest existing ancestor must be a directory (else nothing can be created there).
    """
    if not path:
        return
    p = Path(path)
    if p.exists() and p.is_dir() != directory:
        want, got = ("a directory", "an existing file") if directory else ("a file", "a directory")
        raise InputError(f"expected {want}, got {got}", file=str(p), field=field)
    ancestor = next((a for a in p.parents if a.exists()), None)
    if ancestor is not None and not ancestor.is_dir():
        raise InputError(f"{ancestor} is a file, not a directory", file=str(p), field=field)


def open_results(path: str | Path, *, purpose: str = "this command"):
    """``load_results(path)`` with a clear InputError for a single-run or missing directory."""
    p = Path(path)
    if not p.exists():
        raise InputError("no such directory", file=p, field="RESULTS")
    if p.is_dir() and (p / "timeseries.csv").exists() and not (p / "manifest.json").exists():
        raise InputError(
            f"this is a single-run directory (from `agglomeration run`); {purpose} needs a batch "
            "result directory (from `agglomeration batch`)",
            file=p,
            field="RESULTS",
        )
    from agglomeration.experiment.store import load_results

    return load_results(p)


def parameter_columns(results) -> list[str]:
    """Design-parameter names recorded in a result store's manifest."""
    from agglomeration.experiment.compare import parameter_columns_from_manifest

    return parameter_columns_from_manifest(getattr(results, "manifest", None))


def readable_table(result) -> pd.DataFrame:
    """Terminal table: per-variant means, then one row per (metric, variant) comparison."""
    fmt = "{:.3g}".format
    rows = []
    summary = result.summary.set_index(["variant", "metric"])
    comps = result.comparisons.set_index(["variant", "metric"])
    for metric in result.metrics:
        for variant in summary.index.get_level_values(0).unique():
            if (variant, metric) not in summary.index:
                continue
            s = summary.loc[(variant, metric)]
            row = {
                "metric": metric,
                "variant": variant,
                "n": int(s["n"]),
                "mean [95% CI]": f"{fmt(s['mean'])} [{fmt(s['ci_low'])}, {fmt(s['ci_high'])}]",
            }
            if (variant, metric) in comps.index:
                c = comps.loc[(variant, metric)]
                row["diff [95% CI]"] = (
                    f"{fmt(c['diff'])} [{fmt(c['diff_ci_low'])}, {fmt(c['diff_ci_high'])}]"
                )
                row["p (Holm)"] = _p(c["p_t_holm"])
                row["p rank (Holm)"] = _p(c["p_rank_holm"])
                row["effect"] = "" if pd.isna(c["effect"]) else f"{c['effect']:.2f}"
                row["delta"] = "" if pd.isna(c["cliffs_delta"]) else f"{c['cliffs_delta']:.2f}"
            else:
                row["diff [95% CI]"] = "(baseline)"
            rows.append(row)
    return pd.DataFrame(rows).fillna("")


def _p(p: float) -> str:
    if pd.isna(p):
        return "NA"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def main(args: argparse.Namespace) -> int:
    """Run the comparison and print / export its tables."""
    from agglomeration.experiment.compare import compare
    from agglomeration.report.tables import behaviorspace_table, export_tables, to_markdown

    check_out_path(args.out, "--out")
    check_out_path(args.table_csv, "--table-csv")
    results = open_results(args.results, purpose="compare")
    runs = results["runs"]
    if runs.empty or "variant" not in runs.columns:
        raise InputError(
            "the result directory holds no finished runs", file=args.results, field="runs"
        )
    params = parameter_columns(results)
    series = results["series"] if args.at_step is not None else None
    result = compare(
        runs,
        baseline=args.baseline,
        metrics=args.metrics,
        series=series,
        at_step=args.at_step,
        precision=args.precision,
        precision_kind="absolute" if args.absolute else "relative",
        bootstrap=args.bootstrap,
        paired=False if args.unpaired else None,
        parameter_columns=params,
        source=str(args.results),
    )
    where = f"at step {args.at_step}" if args.at_step is not None else "final metrics"
    out = sys.stdout
    out.write(f"Comparison against '{result.baseline}' ({where}; 95% confidence intervals)\n\n")
    out.write(to_markdown(readable_table(result)))
    if not result.comparisons.empty:
        kinds = sorted(set(result.comparisons["t_test"]) | set(result.comparisons["rank_test"]))
        out.write(
            f"\ntests: {', '.join(kinds)}; p values Holm-adjusted over all rows; "
            "effect: d_z (paired) or Cohen's d; delta: Cliff's delta.\n"
        )
    adv = result.advice
    cols = ["variant", "metric", "n", "half_width", "relative_half_width"]
    if args.precision is not None:
        cols += ["target_half_width", "replicates_needed"]
    out.write(
        "\nReplication advice (95% CI half-width reached; replicates needed for the target)\n\n"
    )
    adv = adv[cols].copy()
    if "replicates_needed" in adv.columns:
        adv["replicates_needed"] = adv["replicates_needed"].round().astype("Int64")
    out.write(to_markdown(adv, digits=3))
    for note in result.notes:
        out.write(f"note: {note}\n")
    if args.out:
        tables = {
            "wide": result.wide(),
            "comparisons": result.comparisons,
            "summary": result.summary,
            "advice": result.advice,
        }
        for path in export_tables(tables, args.out, args.format):
            out.write(f"wrote {path}\n")
    elif args.format:
        raise InputError("--format needs --out FILE", field="--format")
    if args.table_csv:
        table = behaviorspace_table(runs, results["series"], params)
        Path(args.table_csv).parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(args.table_csv, index=False)
        out.write(f"wrote {args.table_csv} ({len(table)} rows)\n")
    return 0
