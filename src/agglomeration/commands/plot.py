"""Figures (PNG and PDF) from a batch result directory or from a single-run directory.

A batch directory (from `agglomeration batch`) gives: metric time series per variant with 95% confidence
bands, a forest plot of the differences from the baseline, the location-quotient heat map and the regional
map of the baseline (mean over its runs), the supplier network of one baseline run (when links were kept),
and sensitivity bar charts for a Sobol or Morris design.  A run directory (from `agglomeration run`:
timeseries.csv, regions.csv, links.parquet) gives its time series, heat map, map and supplier network.
Figures go to --out (default: RESULTS_OR_RUN/figures).  See docs/ANALYSIS.md.
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
    parser.add_argument("--metrics", nargs="+", metavar="METRIC", help="series metrics to draw")
    parser.add_argument(
        "--baseline", help="reference variant (default: 'baseline', else the first)"
    )
    parser.add_argument(
        "--scenario", help="scenario file for region coordinates (default: recorded)"
    )


def _geography(scenario_path: str | Path | None, overrides: dict | None = None):
    """(coords, logistics, steps_per_year) from a scenario file; (None, None, 4) without one."""
    if not scenario_path:
        return None, None, 4
    from agglomeration.report.plots import scenario_geography
    from agglomeration.scenario import load_scenario

    path = Path(scenario_path)
    if not path.is_file():
        raise InputError(
            "scenario file not found (needed for the map)", file=path, field="--scenario"
        )
    scenario = load_scenario(path, overrides or None)
    coords, logistics = scenario_geography(scenario)
    return coords, logistics, int(getattr(scenario.behaviour, "steps_per_year", 4) or 4)


def _run_figures(run_dir: Path, out: Path, args: argparse.Namespace) -> list[Path]:
    from agglomeration.report import plots

    written: list[Path] = []
    scenario_path = args.scenario
    summary_file = run_dir / "summary.json"
    if scenario_path is None and summary_file.exists():
        summary = json.loads(summary_file.read_text(encoding="utf-8"))
        for key in ("scenario_path", "scenario_file", "source", "scenario"):
            value = summary.get(key)
            if isinstance(value, str) and value.endswith(".toml"):
                # recorded relative to where `agglomeration run` was started: try there, then here
                for cand in (Path(value), run_dir / value, run_dir.parent / value):
                    if cand.is_file():
                        scenario_path = cand
                        break
                break
    if scenario_path is None:
        sys.stderr.write(
            "note: no scenario file found for the region coordinates (use --scenario); "
            "map and supplier network skipped\n"
        )
    coords, logistics, spy = _geography(scenario_path)
    series = pd.read_csv(run_dir / "timeseries.csv")
    written += plots.plot_timeseries(series, None, out, metrics=args.metrics, steps_per_year=spy)
    if (run_dir / "regions.csv").exists():
        regions = pd.read_csv(run_dir / "regions.csv")
        written += plots.plot_lq_heatmap(regions, out)
        if coords is not None:
            written += plots.plot_region_map(regions, coords, out, logistics=logistics)
    if (run_dir / "links.parquet").exists() and coords is not None:
        links = pd.read_parquet(run_dir / "links.parquet")
        written += plots.plot_supplier_network(links, coords, out)
    return written


def _batch_figures(path: Path, out: Path, args: argparse.Namespace) -> list[Path]:
    from agglomeration.commands.compare import open_results, parameter_columns
    from agglomeration.experiment.compare import (
        _did_you_mean,
        compare,
        metric_columns,
        successful_runs,
    )
    from agglomeration.report import plots

    results = open_results(path, purpose="plot")
    runs = successful_runs(results["runs"])
    if runs.empty:
        raise InputError("the result directory holds no successful runs", file=path, field="runs")
    variants = list(pd.unique(runs["variant"].astype(str)))
    baseline = args.baseline or ("baseline" if "baseline" in variants else variants[0])
    if baseline not in variants:
        raise InputError(
            f"unknown variant {baseline!r}{_did_you_mean(baseline, variants)}",
            file=path,
            field="--baseline",
        )
    written: list[Path] = []
    experiment = results.manifest.get("experiment") or {}
    overrides = {}
    for v in experiment.get("variants") or []:
        if isinstance(v, dict) and v.get("name") == baseline:
            overrides = dict(v.get("overrides") or {})
    overrides = {**(experiment.get("overrides") or {}), **overrides}
    coords, logistics, spy = _geography(args.scenario or experiment.get("scenario"), overrides)
    series = results["series"]
    params = parameter_columns(results)
    run_metrics = metric_columns(runs, params)
    final_metrics = None
    if args.metrics:
        known = set(run_metrics) | set(metric_columns(series))
        for m in args.metrics:
            if m not in known:
                raise InputError(
                    f"unknown metric {m!r}{_did_you_mean(m, sorted(known))}",
                    file=path,
                    field="--metrics",
                )
        final_metrics = [m for m in args.metrics if m in run_metrics] or None
    if not series.empty and "step" in series.columns:
        written += plots.plot_timeseries(
            series, runs, out, metrics=args.metrics, steps_per_year=spy
        )
    if len(variants) > 1:
        cmp = compare(runs, baseline=baseline, metrics=final_metrics, parameter_columns=params)
        written += plots.plot_forest(cmp.comparisons, out)
    regions = results["regions"]
    if not regions.empty and "lq" in regions.columns:
        written += plots.plot_lq_heatmap(regions, out, runs=runs, variant=baseline)
        if coords is not None:
            written += plots.plot_region_map(
                regions, coords, out, logistics=logistics, runs=runs, variant=baseline
            )
    if "links" in results and coords is not None:
        links = results["links"]
        base_runs = runs.loc[runs["variant"].astype(str) == baseline]
        if "replicate" in base_runs.columns:
            base_runs = base_runs.sort_values("replicate")
        run_id = next((r for r in base_runs["run_id"] if (links["run_id"] == r).any()), None)
        if run_id is not None:
            written += plots.plot_supplier_network(
                links.loc[links["run_id"] == run_id], coords, out
            )
    kind = str((results.manifest.get("design") or {}).get("kind", ""))
    if kind in ("sobol", "morris"):
        from agglomeration.commands.sensitivity import design_of
        from agglomeration.experiment.sensitivity import sensitivity

        table = sensitivity(
            results["runs"], design_of(results, str(path)), metrics=final_metrics, source=str(path)
        )
        written += plots.plot_sensitivity(table, out)
    return written


def main(args: argparse.Namespace) -> int:
    """Write every figure the directory supports and list them."""
    path = Path(args.path)
    if not path.is_dir():
        raise InputError(
            "expected a batch result or run directory", file=path, field="RESULTS_OR_RUN"
        )
    out = Path(args.out) if args.out else path / "figures"
    from agglomeration.commands.compare import check_out_path

    check_out_path(out, "--out", directory=True)
    if (path / "manifest.json").exists():
        written = _batch_figures(path, out, args)
    elif (path / "timeseries.csv").exists():
        written = _run_figures(path, out, args)
    else:
        raise InputError(
            "neither a batch result directory (manifest.json) nor a run directory (timeseries.csv)",
            file=path,
            field="RESULTS_OR_RUN",
        )
    for p in written:
        sys.stdout.write(f"wrote {p}\n")
    return 0
