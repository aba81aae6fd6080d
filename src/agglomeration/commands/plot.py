"""Figures (PNG and PDF) from a batch result directory or from a single-run directory.

A batch directory (from `agglomeration batch`) gives: each metric over time with a line per condition
(variant, or variant x grid point: design points are never pooled) and its 95% confidence band; a
forest plot of the differences from the baseline (each metric on its own axis, shares in percentage
points); the location-quotient heat map, the region map and the supplier network of the reference
condition (named in the title); Sobol / Morris charts, and for lhs, sobol and morris designs response
plots (each metric against each parameter, binned means with 95% confidence intervals).  A run
directory (from `agglomeration run`) gives its six-panel overview, heat map, map and supplier network.
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


class _RunDirectory(dict):
    """The files of a run directory (timeseries.csv, regions.csv, links.parquet, summary.json) as the
    frames of a one-run result store."""

    def __init__(self, run_dir: Path):
        summary_file = run_dir / "summary.json"
        summary = (
            json.loads(summary_file.read_text(encoding="utf-8")) if summary_file.exists() else {}
        )
        name = str(summary.get("scenario") or run_dir.name)
        run = {"run_id": "run", "variant": name, "seed": summary.get("seed"), "status": "ok"}
        series = pd.read_csv(run_dir / "timeseries.csv").assign(run_id="run")
        super().__init__(runs=pd.DataFrame([run]), series=series)
        if (run_dir / "regions.csv").exists():
            self["regions"] = pd.read_csv(run_dir / "regions.csv").assign(run_id="run")
        else:
            self["regions"] = pd.DataFrame()
        if (run_dir / "links.parquet").exists():
            self["links"] = pd.read_parquet(run_dir / "links.parquet").assign(run_id="run")
        self.manifest = {"experiment": {"steps": summary.get("steps")}}
        self.summary = summary


def _recorded_scenario(run_dir: Path, summary: dict) -> Path | None:
    """The scenario file recorded in summary.json, relative to where `run` was started or the run."""
    for key in ("scenario_path", "scenario_file", "source", "scenario"):
        value = summary.get(key)
        if isinstance(value, str) and value.endswith(".toml"):
            for cand in (Path(value), run_dir / value, run_dir.parent / value):
                if cand.is_file():
                    return cand
    return None


def _check_metrics(metrics, frames, path) -> None:
    from agglomeration.experiment.compare import _did_you_mean, metric_columns

    if not metrics:
        return
    known = set(metric_columns(frames["runs"])) | set(metric_columns(frames["series"]))
    for m in metrics:
        if m not in known:
            raise InputError(
                f"unknown metric {m!r}{_did_you_mean(m, sorted(known))}",
                file=path,
                field="--metrics",
            )


def main(args: argparse.Namespace) -> int:
    """Write every figure the directory supports and list them."""
    from agglomeration.commands.compare import check_out_path, open_results, require_finished
    from agglomeration.report.figureset import map_data_for, write_figures
    from agglomeration.report.mapdata import map_data_from_scenario

    path = Path(args.path)
    if not path.is_dir():
        raise InputError(
            "expected a batch result or run directory", file=path, field="RESULTS_OR_RUN"
        )
    out = Path(args.out) if args.out else path / "figures"
    check_out_path(out, "--out", directory=True)
    if (path / "manifest.json").exists():
        results = open_results(path, purpose="plot")
        warning = require_finished(results, path, args.partial)
        if warning:
            sys.stderr.write(f"!! {warning}\n")
        variants = (
            list(pd.unique(results["runs"]["variant"].astype(str)))
            if "variant" in results["runs"]
            else []
        )
        if args.baseline and args.baseline not in variants:
            from agglomeration.experiment.compare import _did_you_mean

            raise InputError(
                f"unknown variant {args.baseline!r}{_did_you_mean(args.baseline, variants)}",
                file=path,
                field="--baseline",
            )
        baseline = args.baseline or (
            "baseline" if "baseline" in variants else (variants[0] if variants else None)
        )
        map_data = map_data_for(results.manifest, scenario=args.scenario, variant=baseline)
    elif (path / "timeseries.csv").exists():
        results = _RunDirectory(path)
        baseline = None
        scenario = args.scenario or _recorded_scenario(path, results.summary)
        if scenario is None:
            sys.stderr.write(
                "note: no scenario file found for the region coordinates (use --scenario); "
                "map and supplier network skipped\n"
            )
            map_data = None
        else:
            if not Path(scenario).is_file():
                raise InputError(
                    "scenario file not found (needed for the map)",
                    file=scenario,
                    field="--scenario",
                )
            from agglomeration.scenario import load_scenario

            map_data = map_data_from_scenario(load_scenario(scenario))
    else:
        raise InputError(
            "neither a batch result directory (manifest.json) nor a run directory (timeseries.csv)",
            file=path,
            field="RESULTS_OR_RUN",
        )
    _check_metrics(args.metrics, results, path)
    written = write_figures(
        results, out, map_data=map_data, metrics=args.metrics, baseline=baseline, source=str(path)
    )
    for p in written:
        sys.stdout.write(f"wrote {p}\n")
    return 0
