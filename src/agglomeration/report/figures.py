"""Figure builders shared by ``agglomeration run``, ``agglomeration plot`` and the dashboard.

Every builder takes loaded frames in the result-store layout (``runs``, ``series``, ``regions``,
``links``, docs/ARCHITECTURE.md) and returns a :class:`matplotlib.figure.Figure`; nothing here reads
or writes files (:func:`agglomeration.report.style.save` does), so one builder draws a single run, a
batch and the dashboard's live model alike.  Labels, units and valid ranges come from the metric
registry; colours and fonts from :mod:`agglomeration.report.style`.

Design-aware: runs are grouped into *conditions* (:func:`conditions_of`): one per variant, or one per
variant and design point of a grid, so design points are never pooled.  For sampled designs (lhs,
sobol, morris) the time series show the spread over the design points (explicitly labelled, not as a
confidence interval) and :func:`response_figure` draws each metric against each parameter.

Builders: :func:`timeseries_figure` (one panel per metric, or several metrics per panel for a single
run), :func:`timeseries_facets_figure` (one panel per condition, for large grids),
:func:`forest_figure` (differences from the baseline, each metric on its own axis and unit),
:func:`lq_heatmap_figure`, :func:`response_figure`, :func:`sensitivity_figure`; the maps are in
:mod:`agglomeration.report.maps`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import matplotlib
import matplotlib.collections
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from agglomeration.errors import InputError
from agglomeration.experiment.compare import label_design_points, mean_intervals, successful_runs
from agglomeration.metrics.registry import REGISTRY, MetricRegistry
from agglomeration.report.style import (
    PAGE_WIDTH_IN,
    REFERENCE_COLOUR,
    REGION_TYPE_COLOURS,
    STYLE,
    ReadableFormatter,
    condition_colours,
    condition_styles,
    footer,
    readable_axis,
    scaled_unit,
    unit_power,
)

__all__ = [
    "DASHBOARD_PANELS",
    "FOREST_MAX_HEIGHT_IN",
    "FOREST_MAX_ROWS",
    "OVERVIEW_PANELS",
    "Conditions",
    "break_points_figure",
    "conditions_of",
    "discovery_figure",
    "forest_figure",
    "forest_metrics_per_page",
    "forest_variant_pages",
    "lq_heatmap_figure",
    "response_figure",
    "sensitivity_figure",
    "timeseries_facets_figure",
    "timeseries_figure",
]

#: Most conditions drawn as lines in one panel; more are drawn as facets.
MAX_LINES = 8
SAMPLED_KINDS = ("lhs", "sobol", "morris")
#: The six panels of a single run's overview (title, metrics sharing the panel's unit).
OVERVIEW_PANELS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Firms by region type", ("firms_ftz", "firms_connected", "firms_other", "firms")),
    ("Output by region type", ("output_ftz", "output_connected", "output_other", "output")),
    ("Firm dynamics", ("entries", "exits", "relocations")),
    ("Clustering", ("herfindahl_regions", "mean_locational_gini")),
    ("Supply chains", ("local_sourcing_share", "mean_chain_coverage", "import_share")),
    ("Reform replication", ("reforms_connected",)),
)
#: The dashboard's four live panels (one metric each, so no legend crowds its small panels).
DASHBOARD_PANELS: tuple[str, ...] = (
    "firms",
    "local_sourcing_share",
    "mean_chain_coverage",
    "mean_locational_gini",
)
_LINE_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9")
#: Markers of the metrics of a multi-metric panel (the total of per-type metrics is dashed instead).
_METRIC_MARKERS = ("o", "s", "^", "D", "v", "P")


# ------------------------------------------------------------------------------------------ conditions
@dataclass(frozen=True)
class Conditions:
    """Runs grouped into conditions (variant, or variant x design point of a grid).

    ``label`` maps run_id -> condition; ``order`` lists the conditions in experiment order; ``colours``
    gives each its fixed colour; ``reference`` is the baseline condition; ``sampled`` is True for
    lhs/sobol/morris designs (a condition then spans many design points); ``runs`` counts the runs of
    each condition.
    """

    label: pd.Series
    order: list[str]
    colours: dict[str, str]
    reference: str | None
    sampled: bool = False
    points: int = 1
    runs: dict[str, int] = field(default_factory=dict)

    def describe(self) -> str:
        """``"32 runs: 4 conditions x 8 runs"`` (for figure footers)."""
        total = sum(self.runs.values())
        counts = sorted(set(self.runs.values()))
        each = f"{counts[0]} runs" if len(counts) == 1 else f"{counts[0]}-{counts[-1]} runs"
        what = "variant" if self.sampled or self.points <= 1 else "condition"
        plural = "" if len(self.order) == 1 else "s"
        text = f"{total} runs: {len(self.order)} {what}{plural} x {each}"
        if self.sampled:
            text += f" over {self.points} design points"
        return text


def conditions_of(
    runs: pd.DataFrame | None,
    *,
    parameter_columns: Iterable[str] = (),
    design_kind: str = "",
    baseline: str | None = None,
) -> Conditions:
    """Group the successful runs of ``runs`` into conditions (see :class:`Conditions`).

    Without a runs table (a bare series) there is one condition, ``run``.  ``baseline`` names the
    reference variant (default ``baseline``, else the first); in a grid its first design point is the
    reference condition.
    """
    if runs is None or runs.empty or "variant" not in runs.columns:
        label = pd.Series(dtype=str)
        return Conditions(label, ["run"], {"run": REFERENCE_COLOUR}, "run", runs={"run": 1})
    ok = successful_runs(runs)
    sampled = design_kind in SAMPLED_KINDS
    labelled = ok if sampled else label_design_points(ok, parameter_columns)
    label = pd.Series(
        labelled["variant"].astype(str).to_numpy(), index=ok["run_id"].astype(str).to_numpy()
    )
    order = list(pd.unique(label))
    variants = list(pd.unique(ok["variant"].astype(str)))
    base = (
        baseline
        if baseline in variants
        else ("baseline" if "baseline" in variants else variants[0])
    )
    reference = next((c for c in order if c == base or c.startswith(f"{base} [")), order[0])
    points = int(ok["point"].nunique()) if "point" in ok.columns else 1
    counts = label.value_counts().reindex(order).astype(int).to_dict()
    return Conditions(
        label, order, condition_colours(order, reference), reference, sampled, points, counts
    )


# ------------------------------------------------------------------------------------------ helpers
def _step_axis(steps_per_year: int | None) -> tuple[float, str]:
    if steps_per_year == 4:
        return 1.0, "step (quarters)"
    if steps_per_year == 1:
        return 1.0, "step (years)"
    if steps_per_year:
        return 1.0, f"step (1/{steps_per_year} year)"
    return 1.0, "step"


def _panels(
    panels: Sequence[str | tuple[str, Sequence[str]]] | None,
    columns: Sequence[str],
    registry: MetricRegistry,
    single: bool,
) -> tuple[list[tuple[str, list[str]]], list[str]]:
    """Resolve panel specs against the series columns; drop constant and absent metrics."""
    if panels is None:
        panels = registry.primary(columns)
    out: list[tuple[str, list[str]]] = []
    for p in panels:
        if isinstance(p, str):
            title, metrics = registry.label(p), [p]
        else:
            title, metrics = p[0], list(p[1])
        metrics = [m for m in metrics if m in columns]
        if not metrics:
            continue
        if single or len(metrics) == 1:
            out.append((title if len(metrics) > 1 else registry.label(metrics[0]), metrics))
        else:
            out += [(registry.label(m), [m]) for m in metrics]
    return out, []


def _constant_columns(frame: pd.DataFrame, metrics: Iterable[str]) -> dict[str, float]:
    out = {}
    for m in metrics:
        x = pd.to_numeric(frame[m], errors="coerce").to_numpy(dtype=float)
        x = x[np.isfinite(x)]
        if x.size and np.ptp(x) <= 1e-12 * max(float(np.abs(x).max()), 1e-300):
            out[m] = float(x[0])
    return out


def _grid(fig: Figure, n: int, ncols: int) -> list:
    ncols = min(ncols, max(n, 1))
    nrows = math.ceil(n / ncols)
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax in axes[n:]:
        ax.set_visible(False)
    return list(axes[:n])


def _metric_colour(metric: str, k: int, panel_metrics: Sequence[str]) -> str:
    """Colour of a metric in a multi-metric panel: its region type's colour, black for the total of
    per-type metrics, else the line palette."""
    for typ, colour in REGION_TYPE_COLOURS.items():
        if metric.endswith(f"_{typ}"):
            return colour
    if any(m.startswith(f"{metric}_") for m in panel_metrics):
        return "#000000"
    return _LINE_COLOURS[k % len(_LINE_COLOURS)]


def _short_label(metric: str, panel_metrics: Sequence[str], registry: MetricRegistry) -> str:
    """Legend entry of a metric inside a multi-metric panel."""
    for typ in REGION_TYPE_COLOURS:
        if metric.endswith(f"_{typ}"):
            return {"ftz": "FTZ areas", "connected": "connected areas", "other": "other regions"}[
                typ
            ]
    if any(m.startswith(f"{metric}_") for m in panel_metrics):
        return "total"
    return registry.label(metric)


# ------------------------------------------------------------------------------------------ time series
def _condition_stats(data: pd.DataFrame, metric: str, sampled: bool, info: Any):
    """Per step: mean, lower and upper band (95 % CI of the mean as `compare` computes it: logit scale
    for shares, the valid range for the rest; or the 10-90 % range over runs when sampled)."""
    g = data.groupby("step")[metric]
    mean = g.mean()
    if sampled:
        return mean, g.quantile(0.1), g.quantile(0.9)
    lo, hi = mean_intervals(mean.to_numpy(), g.std().to_numpy(), g.count().to_numpy(), info)
    return mean, pd.Series(lo, index=mean.index), pd.Series(hi, index=mean.index)


def _with_conditions(series: pd.DataFrame, conds: Conditions) -> tuple[pd.DataFrame, list[str]]:
    """The series with a ``condition`` column, and the conditions present (in experiment order)."""
    data = series.copy()
    if len(conds.label):
        data["condition"] = data["run_id"].astype(str).map(conds.label)
        data = data.dropna(subset=["condition"])
    else:
        data["condition"] = conds.order[0]
    return data, [c for c in conds.order if (data["condition"] == c).any()]


def _resolve_panels(
    panels, data: pd.DataFrame, registry: MetricRegistry, single: bool, drop_constant: bool = True
):
    """(panels without constant metrics, the constant metrics and their values)."""
    columns = [c for c in data.columns if c not in ("run_id", "step", "condition")]
    resolved, _ = _panels(panels, columns, registry, single)
    constant = {}
    if drop_constant and data["step"].nunique() > 1:  # one row says nothing about being constant
        constant = _constant_columns(data, dict.fromkeys(m for _, ms in resolved for m in ms))
    resolved = [(t, [m for m in ms if m not in constant]) for t, ms in resolved]
    resolved = [(t, ms) for t, ms in resolved if ms]
    if not resolved:
        raise InputError("no varying metric to plot in the series", field="series")
    return resolved, constant


def _series_panel(ax, data, shown, ptitle, metrics, conds, registry, xlabel) -> None:
    """One panel: a line (and band) per condition, or per metric for a single condition.  Each
    condition (or metric) has its own line style and marker besides its colour, and its band's edges
    are drawn in that style, so overlapping bands stay apart in greyscale."""
    single = len(shown) == 1
    several_steps = data["step"].nunique() > 1
    info = registry.info(metrics[0])
    styles = condition_styles(shown, conds.reference)
    for k, metric in enumerate(metrics):
        scale = registry.info(metric).scale
        for cond in shown:
            mean, lo, hi = _condition_stats(
                data.loc[data["condition"] == cond], metric, conds.sampled, registry.info(metric)
            )
            by_metric = single and len(metrics) > 1
            colour = (
                _metric_colour(metric, k, metrics)
                if by_metric
                else conds.colours.get(cond, REFERENCE_COLOUR)
            )
            if by_metric:
                total = colour == "#000000"
                ls, marker = (
                    ("--", None) if total else ("-", _METRIC_MARKERS[k % len(_METRIC_MARKERS)])
                )
            else:
                ls, marker = styles[cond]
            x = mean.index.to_numpy()
            every = max(1, len(x) // 6)
            ax.plot(
                x, scale * mean.to_numpy(), color=colour, lw=1.4, ls=ls,
                label=_short_label(metric, metrics, registry) if single else cond,
                marker=marker if several_steps else (marker or "o"), ms=3.2, markevery=every,
            )  # fmt: skip
            if np.isfinite(lo.to_numpy()).any() and (hi - lo).abs().max() > 0:
                # the band's upper and lower edges in the condition's line style (greyscale,
                # colour-blind readers), drawn as lines: a polygon outline also closes the band with
                # vertical edges at the first and last step
                ax.fill_between(
                    x,
                    scale * lo.to_numpy(),
                    scale * hi.to_numpy(),
                    facecolor=matplotlib.colors.to_rgba(colour, 0.12),
                    lw=0,
                )
                ax.add_collection(
                    matplotlib.collections.LineCollection(
                        [np.column_stack([x, scale * e.to_numpy()]) for e in (lo, hi)],
                        colors=[matplotlib.colors.to_rgba(colour, 0.8)],
                        linestyles=ls,
                        linewidths=0.6,
                    )
                )
    unit = info.display_unit or ("index, 0-1" if info.high == 1.0 else "index")
    ax.set_ylabel(unit if ptitle == info.label or len(metrics) > 1 else info.axis_label())
    ax.set_xlabel(xlabel)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # steps are whole (no "2.5 quarters")
    ax.set_title(ptitle)
    if info.low == 0.0 and info.kind in ("count", "money", "share"):
        ax.set_ylim(bottom=0)
    if single and len(metrics) > 1:
        # headroom above the lines, so the legend ("best") finds room that covers no data
        lo, hi = ax.get_ylim()
        top = hi + (0.1 + 0.12 * len(metrics)) * (hi - lo)
        ax.set_ylim(lo, top)
        _no_ticks_beyond_bound(ax, [registry.info(m) for m in metrics], lo, top)
        ax.legend(frameon=False, fontsize=7)
    readable_axis(ax, "y", info.display_unit)


def _no_ticks_beyond_bound(ax, infos, lo: float, top: float) -> None:
    """No tick beyond the largest value the panel's metrics can take (a share's 100 %, an index's 1)
    when the legend's headroom extends the axis past it: a tick at 125 % reads as a possible value."""
    bounds = [i.high * i.scale for i in infos]
    if not all(np.isfinite(b) for b in bounds):
        return
    bound = max(bounds)
    if ax.get_yticks().max(initial=-np.inf) > bound:
        # nice ticks over [lo, bound] (so the bound's own tick is among them when it is a round value)
        ticks = MaxNLocator(nbins="auto", steps=[1, 2, 2.5, 5, 10]).tick_values(lo, bound)
        ax.set_yticks([t for t in ticks if lo <= t <= bound])
        ax.set_ylim(lo, top)


def _band_text(conds: Conditions, single: bool) -> str:
    if single:
        return ""
    if conds.sampled:
        return (
            "Lines: mean over runs; bands: 10-90% range over the runs (spread across design points, "
            "not a confidence interval)."
        )
    return (
        "Lines: mean over runs; bands: 95% confidence interval of the mean (t; shares on the logit "
        "scale), as in the compare tables."
    )


def timeseries_figure(
    series: pd.DataFrame,
    runs: pd.DataFrame | None = None,
    *,
    panels: Sequence[str | tuple[str, Sequence[str]]] | None = None,
    conditions: Conditions | None = None,
    registry: MetricRegistry = REGISTRY,
    steps_per_year: int | None = 4,
    ncols: int = 2,
    width: float = PAGE_WIDTH_IN,
    row_height: float = 2.3,
    title: str | None = None,
    note: str | None = None,
    drop_constant: bool = True,
) -> Figure:
    """Metrics over time.

    With several conditions each panel is one metric with a line per condition (mean over its runs)
    and a band: the 95 % confidence interval of the mean (t; logit scale for shares), or for a sampled design the 10-90 % range
    over its runs (the spread across design points, said in the caption).  With one condition (a single
    run) a panel may hold several metrics of one unit (``panels`` entries ``(title, [metrics])``, see
    :data:`OVERVIEW_PANELS`).  Metrics that are constant over the whole series are left out and named
    in the footer, together with ``note`` (which runs the figure summarises); ``drop_constant=False``
    keeps them (a live view whose panels must not come and go).
    """
    if series is None or series.empty or "step" not in series.columns:
        raise InputError("no per-step series to plot", field="series")
    conds = conditions or conditions_of(runs)
    data, shown = _with_conditions(series, conds)
    single = len(shown) == 1
    resolved, constant = _resolve_panels(panels, data, registry, single, drop_constant)
    _, xlabel = _step_axis(steps_per_year)
    nrows = math.ceil(len(resolved) / min(ncols, len(resolved)))
    legend_h = 0.0 if single else 0.22 * math.ceil(len(shown) / 3)
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(width, row_height * nrows + legend_h + 0.6))
        axes = _grid(fig, len(resolved), ncols)
        for ax, (ptitle, metrics) in zip(axes, resolved):
            _series_panel(ax, data, shown, ptitle, metrics, conds, registry, xlabel)
        if not single:
            styles = condition_styles(shown, conds.reference)
            handles = [
                Line2D(
                    [],
                    [],
                    color=conds.colours[c],
                    lw=1.6,
                    ls=styles[c][0],
                    marker=styles[c][1],
                    ms=3.5,
                )
                for c in shown
            ]
            fig.legend(
                handles,
                shown,
                loc="upper center",
                ncol=min(len(shown), 3),
                frameon=False,
                bbox_to_anchor=(0.5, 1.0),
            )
        top = 1 - (legend_h + 0.1 + (0.25 if title else 0.0)) / fig.get_figheight()
        if title:
            fig.suptitle(title, y=1 - 0.05 / fig.get_figheight(), va="top")
        fig.tight_layout(rect=(0, 0, 1, top))
        left_out = ", ".join(f"{registry.label(m)} = {v:g}" for m, v in constant.items())
        parts = (
            _band_text(conds, single),
            note,
            f"Constant, not drawn: {left_out}." if left_out else "",
        )
        footer(fig, " ".join(t for t in parts if t))
        return fig


def timeseries_facets_figure(
    series: pd.DataFrame,
    metric: str,
    conditions: Conditions,
    *,
    registry: MetricRegistry = REGISTRY,
    steps_per_year: int | None = 4,
    ncols: int = 4,
    note: str | None = None,
) -> Figure:
    """One metric over time with one small panel per condition (shared y axis): for grids with more
    conditions than one panel can show as lines."""
    data = series.assign(condition=series["run_id"].astype(str).map(conditions.label)).dropna(
        subset=["condition"]
    )
    shown = [c for c in conditions.order if (data["condition"] == c).any()]
    info = registry.info(metric)
    _, xlabel = _step_axis(steps_per_year)
    nrows = math.ceil(len(shown) / ncols)
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(PAGE_WIDTH_IN, 1.5 * nrows + 0.9))
        axes = fig.subplots(nrows, ncols, squeeze=False, sharex=True, sharey=True).ravel()
        for ax in axes[len(shown) :]:
            ax.set_visible(False)
        for ax, cond in zip(axes, shown):
            mean, lo, hi = _condition_stats(
                data.loc[data["condition"] == cond], metric, False, info
            )
            x = mean.index.to_numpy()
            colour = conditions.colours[cond]
            ax.plot(x, info.scale * mean.to_numpy(), color=colour, lw=1.3)
            ax.fill_between(
                x,
                info.scale * lo.to_numpy(),
                info.scale * hi.to_numpy(),
                color=colour,
                alpha=0.2,
                lw=0,
            )
            ax.set_title(cond, fontsize=7)
            ax.tick_params(labelbottom=True)  # also under panels whose lower neighbour is empty
        axes[0].xaxis.set_major_locator(MaxNLocator(integer=True))  # shared by every panel
        fig.supxlabel(xlabel, fontsize=8)
        ylabel = info.axis_label()
        unit = info.display_unit if info.display_unit and info.display_unit in ylabel else None
        power = unit_power(max(abs(v) for v in axes[0].get_ylim()), unit)
        if power:
            ylabel = ylabel.replace(info.display_unit, scaled_unit(info.display_unit, power), 1)
        for ax in axes:  # shared y: one formatter each, the same scale
            ax.yaxis.set_major_formatter(ReadableFormatter(1000.0**power))
        fig.supylabel(ylabel, fontsize=8)
        fig.suptitle(f"{info.label} by condition", fontsize=9.5)
        fig.tight_layout()
        footer(
            fig,
            " ".join(
                t
                for t in (
                    "Mean over runs with 95% t confidence interval (shares on the logit scale).",
                    note,
                )
                if t
            ),
        )
        return fig


# ------------------------------------------------------------------------------------------ forest
#: Tallest forest plot [inches] (a journal page less its caption); :func:`forest_metrics_per_page` pages
#: the metrics and :func:`forest_variant_pages` the variants so each figure stays within it.
FOREST_MAX_HEIGHT_IN = 9.0
#: Height of one variant's row [inches]: the comfortable value, and the least (7.5 pt labels still
#: one line apart) used when many rows must fit on a page.
FOREST_ROW_IN, FOREST_MIN_ROW_IN = 0.26, 0.15
#: Height of a forest panel besides its rows (title, x ticks and label) [inches].
_FOREST_PANEL_IN = 0.62


def forest_metrics_per_page(n_variants: int) -> int:
    """How many metrics one forest figure holds for ``n_variants`` rows per metric, so its height
    stays within :data:`FOREST_MAX_HEIGHT_IN` (at least one)."""
    panel = FOREST_MIN_ROW_IN * max(n_variants, 1) + _FOREST_PANEL_IN
    return max(1, int((FOREST_MAX_HEIGHT_IN - 0.9) // panel))


#: Most variants one forest panel holds within :data:`FOREST_MAX_HEIGHT_IN` (rows at their least).
FOREST_MAX_ROWS = int((FOREST_MAX_HEIGHT_IN - 0.9 - _FOREST_PANEL_IN) // FOREST_MIN_ROW_IN)


def forest_variant_pages(variants: Sequence[str]) -> list[list[str]]:
    """``variants`` in order, split into as few pages as keep every forest panel within
    :data:`FOREST_MAX_ROWS` rows, of near-equal size (one page when they fit): a design with more
    variants than a page holds is drawn over several figures instead of one taller than a page."""
    items = list(variants)
    n_pages = max(1, -(-len(items) // FOREST_MAX_ROWS))
    size = -(-len(items) // n_pages) if items else 0
    return [items[i : i + size] for i in range(0, len(items), size)] if items else [[]]


def forest_figure(
    comparisons: pd.DataFrame,
    *,
    colours: Mapping[str, str] | None = None,
    registry: MetricRegistry = REGISTRY,
    note: str | None = None,
    order: Sequence[str] | None = None,
    shared: pd.DataFrame | None = None,
) -> Figure:
    """Differences from the baseline with 95 % CIs: one panel per metric, each on its own axis and unit
    (shares in percentage points), one row per variant in its fixed colour and marker.

    ``comparisons`` is :attr:`agglomeration.experiment.compare.Comparison.comparisons`; rows whose
    difference is undefined are marked ``n/a``.  Tick labels are plain numbers with thousands
    separators (large differences in a unit 1,000 times larger, said in the axis label).  Rows shrink
    from 0.26 to 0.15 inch when many must fit; the figure is at most :data:`FOREST_MAX_HEIGHT_IN` tall
    unless a single metric has more rows than that holds (page the metrics with
    :func:`forest_metrics_per_page` and the variants with :func:`forest_variant_pages`).  ``order``:
    every variant of the comparison in order, when ``comparisons`` holds one page of them (markers
    follow a variant's place in it, as on the other pages and in the time series); ``shared``: the
    comparisons of all pages, whose range each metric's x axis spans, so pages read on one scale.
    """
    if comparisons.empty:
        raise InputError("no comparisons to plot (only one variant?)", field="variants")
    metrics = list(pd.unique(comparisons["metric"]))
    variants = list(pd.unique(comparisons["variant"]))
    colours = dict(colours or condition_colours(variants))
    baseline = str(comparisons["baseline"].iloc[0])
    # the markers of the time series (whose first condition is the baseline)
    styled = [baseline, *(order if order is not None else variants)]
    markers = {v: m for v, (_, m) in condition_styles(styled, baseline).items()}
    budget = FOREST_MAX_HEIGHT_IN - 0.9 - _FOREST_PANEL_IN * len(metrics)
    row = min(FOREST_ROW_IN, max(FOREST_MIN_ROW_IN, budget / (len(metrics) * len(variants))))
    heights = [row * len(variants) + _FOREST_PANEL_IN for _ in metrics]
    label_size = 7.5 if row >= 0.2 else 7.0
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(PAGE_WIDTH_IN, sum(heights) + 0.9))
        axes = fig.subplots(
            len(metrics), 1, squeeze=False, gridspec_kw={"height_ratios": heights}
        ).ravel()
        for ax, metric in zip(axes, metrics):
            info = registry.info(metric)
            rows = comparisons.loc[comparisons["metric"] == metric].set_index("variant")
            y = np.arange(len(variants))[::-1]
            for yi, variant in zip(y, variants):
                if variant not in rows.index:
                    continue
                r = rows.loc[variant]
                x, lo, hi = (
                    info.scale * float(r[c]) for c in ("diff", "diff_ci_low", "diff_ci_high")
                )
                colour = colours.get(variant, REFERENCE_COLOUR)
                if not np.isfinite(x):
                    ax.text(0, yi, " n/a", color=colour, va="center", fontsize=label_size)
                    continue
                err = [[max(x - lo, 0.0)], [max(hi - x, 0.0)]] if np.isfinite(lo) else None
                ax.errorbar(
                    x, yi, xerr=err, fmt=markers.get(variant, "o"), color=colour,
                    ms=4 if row >= 0.2 else 3.2, capsize=2, lw=1.2,
                )  # fmt: skip
            ax.axvline(0, color="0.45", lw=0.8, ls="--")
            ax.set_yticks(y, variants, fontsize=label_size)
            ax.set_ylim(-0.7, len(variants) - 0.3)
            ax.set_title(info.label, loc="left", fontsize=8.5)
            unit = info.difference_unit
            ax.set_xlabel(
                f"difference ({unit})" if unit else "difference", fontsize=7.5, labelpad=1
            )
            ax.tick_params(axis="x", labelsize=7.5)
            ax.spines["left"].set_visible(False)
            ax.tick_params(axis="y", length=0)
            if shared is not None:
                ax.set_xlim(_forest_range(shared, metric, info.scale))
            readable_axis(ax, "x", unit or None)
        fig.suptitle(f"Difference from {baseline} with 95% confidence interval", fontsize=9.5)
        fig.tight_layout(h_pad=0.6, rect=(0, 0, 1, 1 - 0.15 / fig.get_figheight()))
        footer(fig, note)
        return fig


def _forest_range(comparisons: pd.DataFrame, metric: str, scale: float) -> tuple[float, float]:
    """The x range of ``metric``'s panel over every row of ``comparisons`` (0 included, 5 % margin)."""
    rows = comparisons.loc[comparisons["metric"] == metric]
    values = scale * rows[["diff", "diff_ci_low", "diff_ci_high"]].to_numpy(dtype=float)
    values = values[np.isfinite(values)]
    lo = min(0.0, float(values.min())) if values.size else 0.0
    hi = max(0.0, float(values.max())) if values.size else 0.0
    pad = 0.05 * (hi - lo) or 1.0
    return lo - pad, hi + pad


# ------------------------------------------------------------------------------------------ LQ heat map
def mean_region_table(regions: pd.DataFrame, run_ids: Iterable[str] | None = None) -> pd.DataFrame:
    """Mean of firms/employment/output/lq per (region, sector) over the runs ``run_ids`` (all runs
    when None)."""
    data = regions
    if run_ids is not None and "run_id" in regions.columns:
        data = regions.loc[regions["run_id"].astype(str).isin({str(r) for r in run_ids})]
    cols = [c for c in ("firms", "employment", "output", "lq") if c in data.columns]
    return data.groupby(["region", "sector"], sort=False)[cols].mean().reset_index()


def lq_heatmap_figure(
    regions: pd.DataFrame,
    *,
    run_ids: Iterable[str] | None = None,
    title: str = "Location quotients",
    note: str | None = None,
) -> Figure:
    """Location quotients, region x sector (mean over ``run_ids``), on a log2 scale centred at 1 (LQ 0.5
    and 2 equally far from 1); grey cells have no firms of the sector in the region."""
    table = mean_region_table(regions, run_ids)
    if "lq" not in table.columns or table.empty:
        raise InputError("the regions table has no 'lq' column", field="regions.lq")
    pivot = table.pivot(index="region", columns="sector", values="lq")
    pivot = pivot.reindex(
        index=list(pd.unique(table["region"])), columns=list(pd.unique(table["sector"]))
    )
    values = pivot.to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        logv = np.log2(np.where(values > 0, values, np.nan))
    finite = np.isfinite(logv).any()
    lim = max(1.0, min(3.0, float(np.nanmax(np.abs(logv))) if finite else 1.0))
    extend = "both" if finite and np.nanmax(np.abs(logv)) > lim else "neither"
    nr, ns = values.shape
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(min(PAGE_WIDTH_IN, 1.8 + 0.55 * ns), 1.3 + 0.3 * nr))
        ax = fig.subplots()
        cmap = matplotlib.colormaps["RdBu_r"].with_extremes(bad="0.85")
        im = ax.imshow(np.ma.masked_invalid(logv), cmap=cmap, vmin=-lim, vmax=lim, aspect="auto")
        ax.set_xticks(range(ns), [str(s) for s in pivot.columns], rotation=45, ha="right")
        ax.set_yticks(range(nr), [str(r) for r in pivot.index])
        ax.set_xlabel("sector")
        ax.set_ylabel("region")
        if nr * ns <= 400:
            for i in range(nr):
                for j in range(ns):
                    v = values[i, j]
                    if np.isfinite(v) and v > 0:  # grey cells (no firms) stay blank
                        dark = np.isfinite(logv[i, j]) and abs(logv[i, j]) > 0.6 * lim
                        ax.text(
                            j,
                            i,
                            f"{v:.2f}" if v >= 0.005 else "<0.01",
                            ha="center",
                            va="center",
                            fontsize=6.5,
                            color="white" if dark else "black",
                        )
        cb = fig.colorbar(im, ax=ax, shrink=0.9, extend=extend)
        ticks = np.arange(-math.floor(lim), math.floor(lim) + 1)
        cb.set_ticks(ticks, labels=[f"{2.0**t:g}" if t >= 0 else f"1/{2.0**-t:g}" for t in ticks])
        cb.set_label("location quotient (log2 scale)")
        ax.set_title(title)
        ax.spines[:].set_visible(False)
        fig.tight_layout()
        grey = (
            "Grey cells: no firms of the sector in the region."
            if not np.isfinite(values).all() or (values == 0).any()
            else ""
        )
        footer(fig, " ".join(t for t in (note, grey) if t))
        return fig


# ------------------------------------------------------------------------------------------ response plots
def _binned(x: np.ndarray, y: np.ndarray, bins: int, info: Any) -> pd.DataFrame:
    """Means of y (in the metric's own units) with their 95 % CIs as `compare` computes them, in
    quantile bins of x (bin centre = mean x of the bin)."""
    edges = np.unique(np.quantile(x, np.linspace(0, 1, bins + 1)))
    if edges.size < 2:
        return pd.DataFrame(columns=["x", "mean", "lo", "hi"])
    k = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, edges.size - 2)
    frame = (
        pd.DataFrame({"k": k, "x": x, "y": y})
        .groupby("k")
        .agg(x=("x", "mean"), mean=("y", "mean"), sd=("y", "std"), n=("y", "count"))
    )
    lo, hi = mean_intervals(
        frame["mean"].to_numpy(), frame["sd"].to_numpy(), frame["n"].to_numpy(), info
    )
    return frame.assign(lo=lo, hi=hi)


def response_figure(
    runs: pd.DataFrame,
    parameters: Sequence[str],
    metric: str,
    *,
    conditions: Conditions | None = None,
    registry: MetricRegistry = REGISTRY,
    bins: int = 8,
    note: str | None = None,
) -> Figure:
    """A metric (final value of each run) against each design parameter: the runs as dots and the mean
    in quantile bins of the parameter with its 95 % t CI (logit scale for shares), one colour per variant.  For sampled designs
    (lhs, sobol, morris), where a line per design point would be meaningless."""
    ok = successful_runs(runs)
    conds = conditions or conditions_of(ok, design_kind="lhs")
    info = registry.info(metric)
    params = [p for p in parameters if p in ok.columns]
    if not params:
        raise InputError("the runs table has none of the design parameters", field="parameters")
    n_bins = max(2, min(bins, len(ok) // (4 * max(len(conds.order), 1)) or 2))
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(PAGE_WIDTH_IN, 2.2 * math.ceil(len(params) / 3) + 0.8))
        axes = _grid(fig, len(params), 3)
        styles = condition_styles(conds.order, conds.reference)
        for ax, p in zip(axes, params):
            for cond in conds.order:
                ids = conds.label.index[conds.label == cond] if len(conds.label) else ok["run_id"]
                sub = ok.loc[ok["run_id"].astype(str).isin(set(map(str, ids)))]
                x = pd.to_numeric(sub[p], errors="coerce").to_numpy(dtype=float)
                y = pd.to_numeric(sub[metric], errors="coerce").to_numpy(dtype=float)
                keep = np.isfinite(x) & np.isfinite(y)
                colour = conds.colours.get(cond, REFERENCE_COLOUR)
                ax.scatter(x[keep], info.scale * y[keep], s=5, color=colour, alpha=0.35, lw=0)
                b = _binned(x[keep], y[keep], n_bins, info)
                if len(b):
                    b = b.assign(**{c: info.scale * b[c] for c in ("mean", "lo", "hi")})
                    ax.errorbar(
                        b["x"],
                        b["mean"],
                        yerr=[b["mean"] - b["lo"], b["hi"] - b["mean"]],
                        color=colour,
                        lw=1.3,
                        ls=styles[cond][0],
                        marker=styles[cond][1],
                        ms=3,
                        capsize=2,
                        label=cond,
                    )
            ax.set_xlabel(str(p).rsplit(".", 1)[-1])
            if ax is axes[0] or list(axes).index(ax) % 3 == 0:
                ax.set_ylabel(info.axis_label())
            ax.yaxis.set_major_formatter(ReadableFormatter())  # separators, no "1e6" offset
        several = len(conds.order) > 1
        fig.suptitle(f"{info.label} against the design parameters", y=0.995, va="top")
        if several:
            handles, labels = axes[0].get_legend_handles_labels()
            fig.legend(
                handles,
                labels,
                loc="upper center",
                ncol=min(len(labels), 4),
                frameon=False,
                bbox_to_anchor=(0.5, 1 - 0.3 / fig.get_figheight()),
            )
        top = 1 - (0.55 if several else 0.3) / fig.get_figheight()
        fig.tight_layout(rect=(0, 0, 1, top))
        footer(
            fig,
            " ".join(
                t
                for t in (
                    f"Dots: runs; lines: mean in {n_bins} quantile bins of the parameter with 95% t confidence interval (shares on the logit scale).",
                    note,
                )
                if t
            ),
        )
        return fig


# ------------------------------------------------------------------------------------------ sensitivity
def _sensitivity_bars(
    ax, t: pd.DataFrame, y: np.ndarray, sobol: bool, registry: MetricRegistry
) -> None:
    """Sobol S1/ST or Morris mu*/sigma bars of one panel."""
    h = 0.38
    if sobol:
        for k, (col, label, colour) in enumerate(
            (("S1", "first order S1", "#0072B2"), ("ST", "total order ST", "#D55E00"))
        ):
            ax.barh(
                y + (k - 0.5) * h,
                t[col],
                height=h,
                color=colour,
                label=label,
                xerr=t[f"{col}_conf"].abs(),
                capsize=2,
                error_kw={"elinewidth": 0.8, "ecolor": "0.2"},
            )
        ax.set_xlabel("Sobol index (share of output variance)")
        ax.axvline(0, color="0.3", lw=0.6)
    else:
        metric = str(t["metric"].dropna().iloc[0])
        ax.barh(
            y - h / 2,
            t["mu_star"],
            height=h,
            color="#0072B2",
            label="mu*",
            xerr=t["mu_star_conf"].abs(),
            capsize=2,
            error_kw={"elinewidth": 0.8, "ecolor": "0.2"},
        )
        ax.barh(y + h / 2, t["sigma"], height=h, color="#D55E00", label="sigma")
        unit = registry.info(metric).unit
        ax.set_xlabel(f"elementary effect ({unit + ' ' if unit else ''}per parameter range)")


def sensitivity_figure(
    table: pd.DataFrame, *, registry: MetricRegistry = REGISTRY, note: str | None = None
) -> Figure:
    """Sobol S1/ST (or Morris mu*/sigma) per parameter with CI whiskers, one panel per metric (and
    variant).  ``table`` is :func:`agglomeration.experiment.sensitivity.sensitivity`'s output (a
    per-replicate table is averaged over replicates); metrics with undefined indices are listed."""
    if table.empty:
        raise InputError("empty sensitivity table", field="sensitivity")
    sobol = "S1" in table.columns
    table = table.copy()
    table["panel"] = table["metric"].map(registry.label)
    if "variant" in table.columns and table["variant"].nunique() > 1:
        table["panel"] = table["variant"].astype(str) + ": " + table["panel"]
    if "replicate" in table.columns:
        num = [c for c in table.select_dtypes("number").columns if c != "replicate"]
        table = (
            table.groupby(["panel", "metric", "parameter"], sort=False)[num].mean().reset_index()
        )
    main = "ST" if sobol else "mu_star"
    defined = table.groupby("panel", sort=False)[main].transform(lambda x: np.isfinite(x).any())
    dropped = list(pd.unique(table.loc[~defined, "panel"]))
    table = table.loc[defined]
    if table.empty:
        raise InputError(
            "no metric has defined indices: each is constant over the design or undefined (NaN) in "
            f"some run ({', '.join(map(str, dropped))})",
            field="metrics",
        )
    panels = list(pd.unique(table["panel"]))
    params = list(pd.unique(table["parameter"]))
    heads = {str(p).rpartition(".")[0] for p in params}
    prefix = next(iter(heads)) + "." if len(heads) == 1 and next(iter(heads)) else ""
    shown = [str(p)[len(prefix) :] for p in params]
    with matplotlib.rc_context(STYLE):
        fig = Figure(
            figsize=(PAGE_WIDTH_IN, (0.32 * len(params) + 1.1) * math.ceil(len(panels) / 2) + 0.7)
        )
        axes = _grid(fig, len(panels), 2)
        for ax, panel in zip(axes, panels):
            t = table.loc[table["panel"] == panel].set_index("parameter").reindex(params)
            y = np.arange(len(params))
            _sensitivity_bars(ax, t, y, sobol, registry)
            ax.set_yticks(y, shown)
            ax.invert_yaxis()
            if prefix:
                ax.set_ylabel(f"parameter ({prefix}*)")
            ax.set_title(panel)
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(
            handles, labels, loc="upper center", ncol=2, frameon=False, bbox_to_anchor=(0.5, 1.0)
        )
        fig.tight_layout(rect=(0, 0, 1, 1 - 0.3 / fig.get_figheight()))
        caption = (
            "Whiskers: 95% bootstrap confidence interval (SALib)"
            + ("" if sobol else " of mu*")
            + "."
        )
        if dropped:
            caption += (
                " Not shown (constant output, indices undefined): " + ", ".join(dropped) + "."
            )
        footer(fig, " ".join(t for t in (caption, note) if t))
        return fig


# ------------------------------------------------------------------------------------------ discovery
def discovery_figure(disc, *, note: str | None = None) -> Figure:
    """PRIM's peeling trajectory (coverage against density, coloured by the number of restricted
    parameters; the reported box circled) and the reported box's restrictions as bars over each
    parameter's design range."""
    traj = disc.trajectory
    box = disc.prim_box.loc[disc.prim_box["levels"] == ""]
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(PAGE_WIDTH_IN, 2.9 + 0.25 * max(len(box) - 4, 0)))
        ax1, ax2 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.1, 1]})
        sc = ax1.scatter(
            traj["coverage"], traj["density"], c=traj["restricted"], cmap="viridis", s=14
        )
        chosen = traj.loc[traj["chosen"]]
        ax1.scatter(
            chosen["coverage"],
            chosen["density"],
            s=90,
            facecolor="none",
            edgecolor="#D55E00",
            lw=1.5,
            label="reported box",
        )
        ax1.set_xlabel("coverage")
        ax1.set_ylabel("density")
        ax1.set_title("PRIM peeling trajectory")
        ax1.legend(frameon=False, loc="best")
        fig.colorbar(sc, ax=ax1, label="restricted parameters")
        y = np.arange(len(box))
        for yi, r in zip(y, box.itertuples(index=False)):
            span = (r.design_high - r.design_low) or 1.0
            ax2.barh(yi, 1.0, color="0.9", height=0.5)
            ax2.barh(
                yi,
                (r.high - r.low) / span,
                left=(r.low - r.design_low) / span,
                color="#0072B2",
                height=0.5,
            )
            ax2.text(1.02, yi, f"{r.low:.3g} to {r.high:.3g}", va="center", fontsize=7)
        ax2.set_yticks(y, [str(p).rsplit(".", 1)[-1] for p in box["parameter"]])
        levels = disc.prim_box.loc[disc.prim_box["levels"] != ""]
        ax2.set_xlim(0, 1.45)
        ax2.set_xticks([0, 0.5, 1], ["low", "", "high"])
        # categorical restrictions (e.g. variant: baseline) under the axis label, one line each
        ax2.set_xlabel(
            "\n".join(
                ["position in the design range"]
                + [f"{r.parameter}: {r.levels}" for r in levels.itertuples(index=False)]
            )
        )
        ax2.set_title(
            f"Box: {100 * disc.prim_stats['coverage']:.0f}% coverage, {100 * disc.prim_stats['density']:.0f}% density"
        )
        ax2.invert_yaxis()
        fig.suptitle(f"Where {disc.condition.text}", fontsize=9.5)
        fig.tight_layout()
        footer(fig, note)
        return fig


# ------------------------------------------------------------------------------------------ validation
def break_points_figure(
    rows: Iterable[tuple[float, float, float, float]],
    *,
    tolerance: float = 0.02,
    title: str = "FE break points: simulation vs theory",
    note: str | None = None,
) -> Figure:
    """Simulated against analytic break points (``rows``: sigma, mu, analytic phi_B, simulated break
    point).  Left: the points on the diagonal with the +-``tolerance`` acceptance band; right: the
    difference (simulated - analytic) of each pair on its own row, where deviations of 0.001 are
    visible (the numbers belong in the table beside the figure).  Each (sigma, mu) pair has its own colour and marker and is named in the legend and on
    the rows, never by annotations next to points that may lie on top of each other."""
    data = [tuple(float(v) for v in r) for r in rows]
    if not data:
        raise InputError("no break points to plot", field="rows")
    names = [f"sigma={s:g}, mu={m:g}" for s, m, _, _ in data]
    colours = condition_colours(names)
    markers = {n: m for n, (_, m) in condition_styles(names).items()}
    ana = np.array([a for _, _, a, _ in data])
    sim = np.array([b for _, _, _, b in data])
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(PAGE_WIDTH_IN, 3.3 + 0.12 * max(len(data) - 4, 0)))
        ax1, ax2 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.15, 1]})
        lo = min(ana.min(), sim.min()) - 0.05
        hi = max(ana.max(), sim.max()) + 0.05
        g = np.linspace(lo, hi, 10)
        band = {"facecolor": "0.92", "edgecolor": "0.72", "hatch": "//", "lw": 0}
        ax1.fill_between(
            g, g - tolerance, g + tolerance, label=f"±{tolerance:g} acceptance", **band
        )
        ax1.plot(g, g, color="0.2", lw=0.8, label="simulated = analytic")
        for n, x, y in zip(names, ana, sim):
            ax1.plot(x, y, ls="", marker=markers[n], color=colours[n], ms=6, mec="white", mew=0.6,
                     label=n)  # fmt: skip
        ax1.set_xlim(lo, hi)
        ax1.set_ylim(lo, hi)
        ax1.set_aspect("equal")
        ax1.set_xlabel("analytic break point φ_B")
        ax1.set_ylabel("simulated break point")
        ax1.legend(fontsize=7, loc="upper left", frameon=False, handlelength=1.6)
        ax1.set_title("Simulated against analytic")
        y = np.arange(len(data))[::-1]
        ax2.axvspan(-tolerance, tolerance, label=f"±{tolerance:g} acceptance", **band)
        ax2.axvline(0, color="0.2", lw=0.8)
        for n, yi, d in zip(names, y, sim - ana):
            ax2.plot(d, yi, ls="", marker=markers[n], color=colours[n], ms=6, mec="white", mew=0.6)
        ax2.set_yticks(y, names, fontsize=7.5)
        ax2.set_ylim(-0.7, len(data) - 0.3)
        ax2.set_xlim(-1.6 * tolerance, 1.6 * tolerance)
        ax2.set_xlabel("simulated - analytic")
        ax2.set_title("Difference")
        ax2.tick_params(axis="y", length=0)
        ax2.spines["left"].set_visible(False)
        fig.suptitle(title, fontsize=9.5)
        fig.tight_layout()
        footer(fig, note)
        return fig
