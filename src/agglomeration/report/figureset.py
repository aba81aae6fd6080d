"""Every figure a result store supports, written in one call: :func:`write_figures`.

This is the entry point of ``agglomeration plot`` (a batch, or a run directory) and of
``agglomeration run`` (whose output directory is a one-run result store): it takes the loaded frames
(:func:`agglomeration.experiment.store.load_results`, or any mapping with ``runs``, ``series``,
``regions`` and optionally ``links`` and a ``manifest`` attribute) and decides what to draw:

- one run: the six-panel overview of its series (firms and output by region type, firm dynamics,
  clustering, supply chains, reforms), the location-quotient heat map, the region map with the supplier
  flows between regions, the supplier network (when links were kept) and the route-option shares of
  the regions' trade by destination (``mode_shares``, from the run's logistics table);
- a batch: one panel per metric with a line per condition (variant, or variant x grid point; facets when
  a grid has more than 8 points), the forest plot of the differences from the baseline, the heat map,
  map and supplier network of the reference condition (named in the title), Sobol / Morris charts for
  such designs, and response plots (metric against each parameter) for lhs, sobol and morris designs.

Every figure's footer says which runs it summarises.  Figures are PNG (200 dpi) and PDF by default.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from agglomeration.errors import InputError
from agglomeration.experiment.compare import (
    compare,
    metric_columns,
    parameter_columns_from_manifest,
    successful_runs,
)
from agglomeration.metrics.registry import MetricRegistry, registry_for
from agglomeration.report.figures import (
    MAX_LINES,
    OVERVIEW_PANELS,
    Conditions,
    conditions_of,
    forest_figure,
    forest_metrics_per_page,
    forest_variant_pages,
    lq_heatmap_figure,
    response_figure,
    sensitivity_figure,
    timeseries_facets_figure,
    timeseries_figure,
)
from agglomeration.report.mapdata import MapData, map_data_from_scenario
from agglomeration.report.maps import region_map_figure, supplier_network_figure
from agglomeration.report.style import PAGE_WIDTH_IN, save

log = logging.getLogger(__name__)

__all__ = ["map_data_for", "reference_runs", "write_figures"]

#: Metrics per page of the time series and of the forest plot.
PER_PAGE = 6


def map_data_for(
    manifest: Mapping[str, Any] | None,
    *,
    scenario: str | Path | None = None,
    variant: str | None = None,
) -> MapData | None:
    """Map data of the scenario a result store was run on: ``scenario`` if given, else the
    experiment's base scenario with the overrides of ``variant`` (the baseline); None when neither
    names a readable file (maps are then skipped)."""
    from agglomeration.scenario import load_scenario

    experiment = (manifest or {}).get("experiment") or {}
    path = scenario or experiment.get("scenario")
    if not path:
        return None
    path = Path(path)
    if not path.is_file():
        if scenario is not None:
            raise InputError(
                "scenario file not found (needed for the map)", file=path, field="--scenario"
            )
        return None
    overrides = dict(experiment.get("overrides") or {})
    for v in experiment.get("variants") or []:
        if isinstance(v, Mapping) and v.get("name") == variant:
            overrides.update(v.get("overrides") or {})
    return map_data_from_scenario(load_scenario(path, overrides or None))


def reference_runs(runs: pd.DataFrame, conds: Conditions) -> tuple[list[str], str]:
    """Run ids of the reference condition and a phrase naming them.  For a sampled design only the
    reference variant's first design point is used (a map pooled over design points would mix
    parameter settings)."""
    ok = successful_runs(runs)
    ids = (
        [str(r) for r in conds.label.index[conds.label == conds.reference]]
        if len(conds.label)
        else list(ok["run_id"].astype(str))
    )
    what = str(conds.reference)
    if conds.sampled and "point" in ok.columns:
        sub = ok.loc[ok["run_id"].astype(str).isin(ids)]
        first = sub["point"].min()
        ids = list(sub.loc[sub["point"] == first, "run_id"].astype(str))
        what = f"{conds.reference}, design point {first}"
    n = len(ids)
    return ids, f"{what} ({'one run' if n == 1 else f'mean over {n} runs'})"


def _run_phrase(runs: pd.DataFrame, run_id: str) -> str:
    row = runs.loc[runs["run_id"].astype(str) == run_id].iloc[0]
    parts = [str(row.get("variant", "run"))]
    for key in ("replicate", "seed"):
        # a batch's replicate seeds are 19-digit draws: the run id names the run in a title
        if key in row.index and pd.notna(row[key]) and len(str(row[key])) <= 6:
            parts.append(f"{key} {row[key]}")
    return ", ".join(parts) + ("" if run_id == "run" else f" (run {run_id[:8]})")


def _pages(items: Sequence[str], size: int) -> list[list[str]]:
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


def _stem(base: str, k: int, n: int) -> str:
    return base if n == 1 else f"{base}_{k}"


def _time_series(results, runs, conds, metrics, registry, spy, note, out, formats) -> list[Path]:
    series = results["series"]
    if series is None or series.empty or "step" not in series.columns:
        return []
    written: list[Path] = []
    cols = metric_columns(series)
    chosen = [m for m in metrics if m in cols] if metrics else registry.primary(cols)
    if metrics and not chosen:
        return []  # only final metrics asked for: nothing to draw over time
    if len(runs) == 1:
        fig = timeseries_figure(
            series,
            runs,
            panels=chosen if metrics else OVERVIEW_PANELS,  # --metrics: one panel each
            conditions=conds,
            registry=registry,
            steps_per_year=spy,
            ncols=3,
            width=PAGE_WIDTH_IN * 1.45,
            note=note,
        )
        return save(fig, out, "timeseries", formats)
    if len(conds.order) > MAX_LINES and not conds.sampled:
        for m in chosen:
            written += save(
                timeseries_facets_figure(
                    series, m, conds, registry=registry, steps_per_year=spy, note=note
                ),
                out,
                f"timeseries_{m}",
                formats,
            )
        return written
    pages = _pages(chosen, PER_PAGE)
    for k, page in enumerate(pages, start=1):
        fig = timeseries_figure(
            series,
            runs,
            panels=page,
            conditions=conds,
            registry=registry,
            steps_per_year=spy,
            note=note,
        )
        written += save(fig, out, _stem("timeseries", k, len(pages)), formats)
    return written


def _forest(runs, conds, metrics, params, registry, note, out, formats) -> list[Path]:
    if len(conds.order) < 2:
        return []
    final = metric_columns(runs, params)
    chosen = [m for m in metrics if m in final] if metrics else None
    if metrics and not chosen:
        return []
    kind = "lhs" if conds.sampled else ""  # sampled: variants over the design's distribution
    try:
        cmp = compare(
            runs,
            baseline=conds.reference,
            metrics=chosen,
            parameter_columns=params,
            registry=registry,
            design_kind=kind,
        )
    except InputError as exc:
        if exc.field != "metrics" or "nothing to compare" not in exc.message:
            raise
        # the chosen metrics take one value in every run: their time series are drawn, but a
        # forest of differences that are all zero says nothing (it raised after the series were
        # written, leaving half a figure set)
        log.warning("no forest plot: %s", exc.message)
        return []
    written: list[Path] = []
    # more variants than a page holds: over several pages; then as many metrics as fit one page's
    # height with a row per variant
    variants = list(pd.unique(cmp.comparisons["variant"]))
    variant_pages = forest_variant_pages(variants)
    per_page = min(PER_PAGE + 2, forest_metrics_per_page(max(map(len, variant_pages))))
    pages = [(m, v) for m in _pages(cmp.metrics, per_page) for v in variant_pages]
    for k, (page, shown) in enumerate(pages, start=1):
        rows = cmp.comparisons.loc[
            cmp.comparisons["metric"].isin(page) & cmp.comparisons["variant"].isin(shown)
        ]
        text = note + (" Paired by seed (common random numbers)." if rows["paired"].all() else "")
        if conds.sampled:
            text += f" Each variant over its {conds.points} design points."
        if len(variant_pages) > 1:
            first = variants.index(shown[0]) + 1
            text += f" Variants {first}-{first + len(shown) - 1} of {len(variants)}."
        fig = forest_figure(
            rows,
            colours=conds.colours,
            registry=registry,
            note=text,
            order=variants,
            shared=cmp.comparisons if len(variant_pages) > 1 else None,
        )
        written += save(fig, out, _stem("forest", k, len(pages)), formats)
    return written


def _geography(results, runs, conds, map_data, note, out, formats) -> list[Path]:
    written: list[Path] = []
    regions = results["regions"]
    ids, phrase = reference_runs(runs, conds)
    if regions is not None and not regions.empty and "lq" in regions.columns:
        written += save(
            lq_heatmap_figure(
                regions, run_ids=ids, title=f"Location quotients, {phrase}", note=note
            ),
            out,
            "lq_heatmap",
            formats,
        )
        if map_data is not None:
            # supplier flows only for a single run: averaged over runs they hide the network
            links = results["links"] if "links" in results and len(ids) == 1 else None
            fig = region_map_figure(
                regions,
                map_data,
                run_ids=ids,
                links=links,
                title=f"Firms by sector and the logistics network, {phrase}",
                note=note,
            )
            written += save(fig, out, "region_map", formats)
    if "links" in results and map_data is not None:
        links = results["links"]
        base = runs.loc[runs["run_id"].astype(str).isin(ids)]
        if "replicate" in base.columns:
            base = base.sort_values("replicate")
        run_id = next(
            (str(r) for r in base["run_id"] if (links["run_id"].astype(str) == str(r)).any()), None
        )
        if run_id is not None:
            fig = supplier_network_figure(
                links.loc[links["run_id"].astype(str) == run_id],
                map_data,
                title=f"Supplier network, {_run_phrase(runs, run_id)}",
            )
            written += save(fig, out, "supplier_network", formats)
    return written


def _logistics(results, runs, map_data, note, out, formats) -> list[Path]:
    """The mode-share figure of a one-run store (its ``logistics`` table), labelled from the map data."""
    if "logistics" not in results or len(runs) != 1:
        return []
    from agglomeration.report.logistics_figures import figure_labels, mode_share_figure

    table = results["logistics"]
    steps = runs["steps"].iloc[0] if "steps" in runs.columns else None
    title = "Route-option shares of the regions' trade by destination"
    if steps is not None and pd.notna(steps):
        title += f", step {int(steps)}"
    labels = figure_labels(map_data) if map_data is not None else {}
    fig = mode_share_figure(table, title=title, note=note, **labels)
    return [] if fig is None else save(fig, out, "mode_shares", formats)


def _design_figures(
    results, runs, conds, metrics, params, registry, note, out, formats, source
) -> list[Path]:
    manifest = getattr(results, "manifest", None) or {}
    kind = str((manifest.get("design") or {}).get("kind", ""))
    written: list[Path] = []
    final = metric_columns(runs, params)
    chosen = [m for m in metrics if m in final] if metrics else registry.primary(final)
    if kind in ("sobol", "morris"):
        from agglomeration.commands.sensitivity import design_of
        from agglomeration.experiment.sensitivity import sensitivity

        table = sensitivity(
            results["runs"], design_of(results, source), metrics=chosen, source=source
        )
        written += save(
            sensitivity_figure(table, registry=registry, note=note), out, "sensitivity", formats
        )
    if conds.sampled:
        for m in chosen:
            fig = response_figure(runs, params, m, conditions=conds, registry=registry, note=note)
            written += save(fig, out, f"response_{m}", formats)
    return written


def write_figures(
    results: Mapping[str, pd.DataFrame],
    out_dir: str | Path,
    *,
    map_data: MapData | None = None,
    metrics: Sequence[str] | None = None,
    baseline: str | None = None,
    source: str | None = None,
    steps_per_year: int | None = 4,
    formats: Sequence[str] = ("png", "pdf"),
    registry: MetricRegistry | None = None,
) -> list[Path]:
    """Write every figure ``results`` supports to ``out_dir`` (see the module docstring); returns the
    paths written.  ``metrics`` chooses the metrics drawn (default: the primary metrics);
    ``map_data`` enables the maps (:func:`map_data_for`); ``source`` names the store in footers."""
    manifest = getattr(results, "manifest", None) or {}
    registry = registry or registry_for(manifest)
    runs = successful_runs(results["runs"])
    if runs.empty:
        raise InputError("the results hold no successful runs", file=source, field="runs")
    params = parameter_columns_from_manifest(manifest)
    kind = str((manifest.get("design") or {}).get("kind", ""))
    conds = conditions_of(runs, parameter_columns=params, design_kind=kind, baseline=baseline)
    steps = (manifest.get("experiment") or {}).get("steps")
    note = (
        f"{source + ': ' if source else ''}{conds.describe()}{f'; {steps} steps' if steps else ''}."
    )
    if len(runs) == 1:
        note = f"{source + ': ' if source else ''}one run ({_run_phrase(runs, str(runs['run_id'].iloc[0]))})."
    out = Path(out_dir)
    written = _time_series(
        results, runs, conds, metrics, registry, steps_per_year, note, out, formats
    )
    written += _forest(runs, conds, metrics, params, registry, note, out, formats)
    written += _geography(results, runs, conds, map_data, note, out, formats)
    written += _logistics(results, runs, map_data, note, out, formats)
    written += _design_figures(
        results, runs, conds, metrics, params, registry, note, out, formats, source or str(out)
    )
    return written
