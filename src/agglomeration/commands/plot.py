"""Figures (PNG and PDF) from a batch result directory or from a single-run directory.

A batch directory (from `agglomeration batch`) gives: each metric over time with a line per condition
(variant, or variant x grid point: design points are never pooled) and its 95% confidence band; a
forest plot of the differences from the baseline (each metric on its own axis, shares in percentage
points); the location-quotient heat map, the region map and the supplier network of the reference
condition (named in the title); Sobol / Morris charts, and for lhs, sobol and morris designs response
plots (each metric against each parameter, binned means with 95% confidence intervals).  A run
directory (from `agglomeration run`) gives its six-panel overview, heat map, map, supplier network and
route-option shares by destination (the figures `run` itself draws); it must be complete and intact (its _COMPLETE.json checksums match).
Every figure's footer says which runs it summarises.  Figures go to --out (default:
RESULTS_OR_RUN/figures).  An unfinished batch is refused unless --partial is given.  See
docs/ANALYSIS.md.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

from agglomeration.errors import InputError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``agglomeration plot``."""
    parser.add_argument("path", metavar="RESULTS_OR_RUN", help="batch result or run directory")
    parser.add_argument("--out", help="figure directory (default: RESULTS_OR_RUN/figures)")
    parser.add_argument(
        "--metrics", nargs="+", metavar="METRIC", help="metrics to draw (default: the primary ones)"
    )
    parser.add_argument(
        "--baseline", help="reference variant (default: 'baseline', else the first)"
    )
    parser.add_argument(
        "--scenario", help="scenario file for region coordinates (default: recorded)"
    )
    parser.add_argument(
        "--partial", action="store_true", help="draw an unfinished batch (its finished runs only)"
    )


def _check_metrics(metrics, frames, path) -> None:
    from agglomeration.experiment.compare import _did_you_mean, metric_columns

    if not metrics:
        return
    in_series = set(metric_columns(frames["series"]))
    known = set(metric_columns(frames["runs"])) | in_series
    for m in metrics:
        if m not in known:
            raise InputError(
                f"unknown metric {m!r}{_did_you_mean(m, sorted(known))}",
                file=path,
                field="--metrics",
            )
    final_only = [m for m in metrics if m not in in_series]
    if final_only:  # drawn where final values are (forest, response), not over time
        sys.stderr.write(
            f"note: {', '.join(final_only)}: final metric(s) without a series, left out of the "
            "figures over time (docs/OUTPUTS.md)\n"
        )


def _manifest_kind(path: Path) -> str | None:
    """``kind`` recorded in ``path/manifest.json`` ("batch" / "run"); None when unreadable."""
    try:
        data = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data.get("kind") if isinstance(data, dict) else None


def _check_run_output(path: Path) -> None:
    """A run directory must be complete and intact (:func:`agglomeration.runone.check_run_output`):
    InputError (exit 2) naming what is missing or changed otherwise."""
    from agglomeration.runone import check_run_output

    problems = check_run_output(path)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise InputError(
            f"not a complete, intact run output: {problems[0]}{more}; run the scenario again with "
            "`agglomeration run`",
            file=path,
            field="RESULTS_OR_RUN",
        )


def _baseline(results, path: Path, requested: str | None) -> str | None:
    """The reference variant: ``--baseline`` (checked), else 'baseline', else the first."""
    variants = (
        list(pd.unique(results["runs"]["variant"].astype(str)))
        if "variant" in results["runs"]
        else []
    )
    if requested and requested not in variants:
        from agglomeration.experiment.compare import _did_you_mean

        raise InputError(
            f"unknown variant {requested!r}{_did_you_mean(requested, variants)}",
            file=path,
            field="--baseline",
        )
    return requested or (
        "baseline" if "baseline" in variants else (variants[0] if variants else None)
    )


def main(args: argparse.Namespace) -> int:
    """Write every figure the directory supports and list them."""
    from agglomeration.commands.compare import (
        check_out_path,
        open_results,
        require_finished,
        writing,
    )
    from agglomeration.report.figureset import map_data_for, write_figures

    path = Path(args.path)
    if not path.is_dir():
        raise InputError(
            "expected a batch result or run directory", file=path, field="RESULTS_OR_RUN"
        )
    out = Path(args.out) if args.out else path / "figures"
    check_out_path(out, "--out", directory=True)
    has_manifest = (path / "manifest.json").exists()
    if not has_manifest and not (path / "timeseries.csv").exists():
        raise InputError(
            "neither a batch result directory nor a run directory (no manifest.json)",
            file=path,
            field="RESULTS_OR_RUN",
        )
    if not has_manifest or _manifest_kind(path) == "run":
        _check_run_output(path)
        if args.partial:
            raise InputError(
                "a run directory is complete; --partial is for a batch that has not finished",
                file=path,
                field="--partial",
            )
    results = open_results(path, purpose="plot", allow_run=True)
    warning = require_finished(results, path, args.partial)
    if warning:
        sys.stderr.write(f"!! {warning}\n")
    baseline = _baseline(results, path, args.baseline)
    map_data = map_data_for(results.manifest, scenario=args.scenario, variant=baseline)
    if map_data is None:
        sys.stderr.write(
            "note: the scenario file the results record is not found (give it with --scenario); "
            "map and supplier network skipped\n"
        )
    _check_metrics(args.metrics, results, path)
    with writing(out, "--out"):
        written = write_figures(
            results,
            out,
            map_data=map_data,
            metrics=args.metrics,
            baseline=baseline,
            source=str(path),
        )
    for p in written:
        sys.stdout.write(f"wrote {p}\n")
    return 0
