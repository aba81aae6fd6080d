"""Publication figures of batch results and single runs (matplotlib, Agg backend, PNG + PDF).

Every function takes pandas frames in the result-store layout (docs/ARCHITECTURE.md), writes
``<out_dir>/<stem>.png`` (200 dpi) and ``<out_dir>/<stem>.pdf`` and returns the two paths.  Figures are
sized for a journal page (7 in wide), with fonts of at least 8 pt, axes labelled with units, and colours
from a colour-blind-safe palette (Okabe-Ito / tab10).

Figures:

- :func:`plot_timeseries` - metric time series per variant: mean across replicates with a 95 % t
  confidence band.
- :func:`plot_forest` - differences from the baseline with 95 % CIs (in % of the baseline mean, so metrics
  of different units share one axis; the CI is scaled by |baseline mean| and ignores its uncertainty).
- :func:`plot_lq_heatmap` - location quotients, region x sector (mean over the runs of one variant).
- :func:`plot_region_map` - regions at their lon/lat, a pie of firm composition by sector (area ~ firms)
  and the logistics network.
- :func:`plot_supplier_network` - supplier links between firms, firms grouped around their region's
  position (networkx drawing with positions from region coordinates).
- :func:`plot_sensitivity` - Sobol S1/ST or Morris mu*/sigma bars with CI whiskers.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.collections import LineCollection

from agglomeration.errors import InputError
from agglomeration.experiment.compare import t_interval

PAGE_WIDTH_IN = 7.0
STYLE = {
    "font.size": 9,
    "axes.titlesize": 9,
    "axes.labelsize": 9,
    "legend.fontsize": 8,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "savefig.bbox": "tight",
    "pdf.fonttype": 42,
}
#: Okabe-Ito colour-blind-safe palette, then tab10 for more categories.
PALETTE = [
    "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000",
    *plt.get_cmap("tab10").colors,
]  # fmt: skip

#: Known metric units (the model's headline metrics); others fall back to :func:`metric_unit`'s patterns.
METRIC_UNITS: dict[str, str] = {
    "entries": "firms per step",
    "exits": "firms per step",
    "relocations": "firms per step",
    "supplier_switches": "links per step",
    "mean_log_productivity": "log productivity",
    "mean_wage": "CNY m per worker-step",
    "herfindahl_regions": "index, 0-1",
    "mean_locational_gini": "index, 0-1",
    "mean_chain_coverage": "index, 0-1",
    "reforms_connected": "reforms adopted",
    "firms_relative_to_initial": "ratio to initial",
    "mean_delivered_cost": "yuan per tonne",
}

_PATTERNS = [
    (r"(share|fraction|coverage|density)$", "share, 0-1"),
    (r"^firms|^n_firms|_firms$", "firms"),
    (r"^employment", "workers"),
    (r"^(output|sales|revenue|profit|gdp)", "CNY m per step"),
    (r"_km$|distance", "km"),
    (r"_hours?$|_h$", "hours"),
    (r"rate$", "per step"),
    (r"cost", "yuan per tonne"),
    (r"^(n_|num_)|_count$|links$", "count"),
    (
        r"(gini|hoover|krugman|herfindahl|hhi|moran|gamma|lq|index|delta|exponent|alpha|clustering)",
        "dimensionless",
    ),
]


def metric_unit(name: str) -> str:
    """Unit of a metric for axis labels (dimensionless indices say so)."""
    if name in METRIC_UNITS:
        return METRIC_UNITS[name]
    for pattern, unit in _PATTERNS:
        if re.search(pattern, name):
            return unit
    return "model units"


def metric_label(name: str, unit: str | None = None) -> str:
    """``"local sourcing share (share, 0-1)"`` from ``"local_sourcing_share"``."""
    return f"{name.replace('_', ' ')} ({unit or metric_unit(name)})"


def _save(fig, out_dir: str | Path, stem: str) -> list[Path]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / f"{stem}.png", out / f"{stem}.pdf"]
    fig.savefig(paths[0], dpi=200)
    fig.savefig(paths[1])
    plt.close(fig)
    return paths


def _grid(n: int, ncols: int = 2, row_height: float = 2.4):
    ncols = min(ncols, max(n, 1))
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(PAGE_WIDTH_IN, row_height * nrows + 0.6), squeeze=False
    )
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    return fig, axes.ravel()[:n]


def _step_label(steps_per_year: int | None) -> str:
    if steps_per_year == 4:
        return "step (quarters)"
    if steps_per_year == 1:
        return "step (years)"
    if steps_per_year:
        return f"step (1/{steps_per_year} year)"
    return "step"


def plot_timeseries(
    series: pd.DataFrame,
    runs: pd.DataFrame | None,
    out_dir: str | Path,
    *,
    metrics: Sequence[str] | None = None,
    steps_per_year: int | None = 4,
    max_variants: int = 8,
    per_page: int = 6,
    stem: str = "timeseries",
) -> list[Path]:
    """Mean of each metric over the replicates of each variant per step, with 95 % t-CI bands.

    ``runs`` provides the ``variant`` of each ``run_id``; without it (a single run) every series is drawn
    as one line.  At most ``max_variants`` variants are drawn (in order of appearance).  With more than
    ``per_page`` metrics the panels are split over several figures ``<stem>_1``, ``<stem>_2``, ...
    """
    from agglomeration.experiment.compare import metric_columns

    if series is None or series.empty:
        raise InputError("no per-step series to plot", field="series")
    if runs is not None and "variant" in runs.columns and "run_id" in series.columns:
        data = series.merge(runs[["run_id", "variant"]], on="run_id", how="inner")
    else:
        data = series.assign(variant="run")
    data["variant"] = data["variant"].astype(str)
    metrics = list(metrics) if metrics else metric_columns(series)
    metrics = [m for m in metrics if m in data.columns and m != "run_id"]
    if not metrics:
        raise InputError("the series table has no metric columns", field="series")
    variants = list(pd.unique(data["variant"]))[:max_variants]
    stats_ = data.loc[data["variant"].isin(variants)].groupby(["variant", "step"])[metrics]
    mean, sd, n = stats_.mean(), stats_.std(), stats_.count()
    pages = [metrics[i : i + per_page] for i in range(0, len(metrics), per_page)]
    written: list[Path] = []
    for k, page in enumerate(pages, start=1):
        name = stem if len(pages) == 1 else f"{stem}_{k}"
        written += _timeseries_page(mean, sd, n, page, variants, steps_per_year, out_dir, name)
    return written


def _timeseries_page(mean, sd, n, metrics, variants, steps_per_year, out_dir, stem) -> list[Path]:
    with plt.rc_context(STYLE):
        fig, axes = _grid(len(metrics))
        for ax, metric in zip(axes, metrics):
            for k, variant in enumerate(variants):
                m = mean.loc[variant, metric]
                x = m.index.to_numpy()
                ax.plot(x, m.to_numpy(), color=PALETTE[k % len(PALETTE)], lw=1.4, label=variant)
                half = t_interval(m.to_numpy(), sd.loc[variant, metric], n.loc[variant, metric])
                if np.isfinite(half).any():
                    ax.fill_between(
                        x, m - half, m + half, color=PALETTE[k % len(PALETTE)], alpha=0.2, lw=0
                    )
            ax.set_xlabel(_step_label(steps_per_year))
            ax.set_ylabel(metric_label(metric), wrap=True)
            ax.set_title(metric.replace("_", " "))
        handles, labels = axes[0].get_legend_handles_labels()
        if len(variants) > 1:
            fig.legend(
                handles,
                labels,
                loc="upper center",
                ncol=min(len(labels), 4),
                frameon=False,
                bbox_to_anchor=(0.5, 1.0),
            )
            fig.tight_layout(rect=(0, 0, 1, 1 - 0.3 / fig.get_figheight()))
            fig.text(
                0.5, -0.005, "lines: mean over replicates; bands: 95% t confidence interval",
                ha="center", va="top", fontsize=8,
            )  # fmt: skip
        else:
            fig.tight_layout()
        return _save(fig, out_dir, stem)


def plot_forest(
    comparisons: pd.DataFrame,
    out_dir: str | Path,
    *,
    stem: str = "forest",
    relative: bool = True,
    per_page: int = 12,
) -> list[Path]:
    """Forest plot: difference of each variant from the baseline per metric, with its 95 % CI.

    ``comparisons`` is :attr:`Comparison.comparisons`.  ``relative=True`` plots % of the baseline mean
    so metrics with different units share one axis; metrics whose baseline mean is 0 cannot be shown
    that way and are listed under the plot.  More than ``per_page`` metrics are split over several
    figures ``<stem>_1``, ``<stem>_2``, ...
    """
    if comparisons.empty:
        raise InputError("no comparisons to plot (only one variant?)", field="variants")
    c = comparisons.copy()
    if relative:
        scale = 100.0 / c["baseline_mean"].abs().where(c["baseline_mean"] != 0)
        c["x"], c["lo"], c["hi"] = (
            c["diff"] * scale,
            c["diff_ci_low"] * scale,
            c["diff_ci_high"] * scale,
        )
        xlabel = f"difference from {c['baseline'].iloc[0]} (% of baseline mean)"
    else:
        c["x"], c["lo"], c["hi"] = c["diff"], c["diff_ci_low"], c["diff_ci_high"]
        xlabel = f"difference from {c['baseline'].iloc[0]} (metric units)"
    shown = c.groupby("metric", sort=False)["x"].transform(lambda x: np.isfinite(x).any())
    dropped = list(pd.unique(c.loc[~shown, "metric"]))
    c = c.loc[shown]
    if c.empty:
        raise InputError("no metric with a finite difference to plot", field="metrics")
    metrics = list(pd.unique(c["metric"]))
    pages = [metrics[i : i + per_page] for i in range(0, len(metrics), per_page)]
    written: list[Path] = []
    for k, page in enumerate(pages, start=1):
        note = ""
        if dropped and k == len(pages):
            why = "baseline mean is 0" if relative else "no finite difference"
            note = f"Not shown ({why}): {', '.join(m.replace('_', ' ') for m in dropped)}."
        name = stem if len(pages) == 1 else f"{stem}_{k}"
        written += _forest_page(
            c.loc[c["metric"].isin(page)], xlabel, note, relative, out_dir, name
        )
    return written


def _forest_page(c, xlabel, note, relative, out_dir, stem) -> list[Path]:
    metrics = list(pd.unique(c["metric"]))
    variants = list(pd.unique(c["variant"]))
    nv = len(variants)
    gap = 0.6 if nv > 1 else 0.0  # space between metric groups (none for a single variant)
    height = max(2.0, 0.2 * len(c) + 0.12 * gap * len(metrics) / 0.6 + 1.1)
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(PAGE_WIDTH_IN, height))
        ticks, labels = [], []
        y = 0.0
        for metric in metrics:
            rows = c.loc[c["metric"] == metric].set_index("variant")
            for k, variant in enumerate(variants):
                if variant not in rows.index:
                    continue
                r = rows.loc[variant]
                col = PALETTE[k % len(PALETTE)]
                if not np.isfinite(r["x"]):
                    ax.text(0, y, "  n/a: baseline mean is 0" if relative else "  n/a", color=col,
                            va="center", ha="left", fontsize=7.5)  # fmt: skip
                    y -= 1
                    continue
                xerr = np.array([[r["x"] - r["lo"]], [r["hi"] - r["x"]]])
                ax.errorbar(
                    r["x"], y, xerr=np.abs(xerr), fmt="o", color=col, ms=4, capsize=2,
                    label=variant if metric == metrics[0] else None,
                )  # fmt: skip
                y -= 1
            ticks.append(y + (min(nv, len(rows)) + 1) / 2)
            if nv == 1:
                ticks[-1] = y + 1
            labels.append(metric.replace("_", " "))
            y -= gap
            if metric != metrics[-1] and nv > 1:
                ax.axhline(y + 0.3, color="0.85", lw=0.6)
        ax.axvline(0, color="0.4", lw=0.8, ls="--")
        ax.set_yticks(ticks, labels)
        ax.set_xlabel(xlabel)
        ax.spines["left"].set_visible(False)
        ax.tick_params(axis="y", length=0)
        ax.legend(frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.22 * 2.4 / height),
                  ncol=min(nv, 4))  # fmt: skip
        ax.set_title("Difference from baseline with 95% confidence interval")
        fig.tight_layout()
        if note:
            fig.text(0.01, 0.0, note, fontsize=7.5, color="0.3", va="top", ha="left", wrap=True)
        return _save(fig, out_dir, stem)


def mean_region_table(regions: pd.DataFrame, runs: pd.DataFrame | None, variant: str | None):
    """Mean of firms/employment/output/lq per (region, sector) over the runs of ``variant``."""
    data = regions
    if runs is not None and variant is not None and "run_id" in regions.columns:
        ids = runs.loc[runs["variant"].astype(str) == variant, "run_id"]
        data = regions.loc[regions["run_id"].isin(ids)]
    cols = [c for c in ("firms", "employment", "output", "lq") if c in data.columns]
    return data.groupby(["region", "sector"], sort=False)[cols].mean().reset_index()


def plot_lq_heatmap(
    regions: pd.DataFrame,
    out_dir: str | Path,
    *,
    runs: pd.DataFrame | None = None,
    variant: str | None = None,
    stem: str = "lq_heatmap",
) -> list[Path]:
    """Heat map of location quotients (region x sector); LQ > 1 = the sector is over-represented.

    A diverging colour scale centred at LQ = 1 on a log2 axis (LQ 0.5 and 2 are equally far from 1).
    """
    table = mean_region_table(regions, runs, variant)
    if "lq" not in table.columns:
        raise InputError("the regions table has no 'lq' column", field="regions.lq")
    pivot = table.pivot(index="region", columns="sector", values="lq")
    pivot = pivot.reindex(
        index=list(pd.unique(table["region"])), columns=list(pd.unique(table["sector"]))
    )
    values = pivot.to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        logv = np.log2(np.where(values > 0, values, np.nan))
    # colour range: up to LQ 1/8 .. 8 (log2 +-3); beyond that the colour saturates (arrows on the bar)
    lim = max(1.0, min(3.0, float(np.nanmax(np.abs(logv))) if np.isfinite(logv).any() else 1.0))
    extend = "both" if np.isfinite(logv).any() and np.nanmax(np.abs(logv)) > lim else "neither"
    nr, ns = values.shape
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(min(PAGE_WIDTH_IN, 1.6 + 0.55 * ns), 1.0 + 0.32 * nr))
        cmap = plt.get_cmap("RdBu_r").with_extremes(bad="0.85")
        im = ax.imshow(np.ma.masked_invalid(logv), cmap=cmap, vmin=-lim, vmax=lim, aspect="auto")
        ax.set_xticks(range(ns), [str(s) for s in pivot.columns], rotation=45, ha="right")
        ax.set_yticks(range(nr), [str(r) for r in pivot.index])
        ax.set_xlabel("sector")
        ax.set_ylabel("region")
        if nr * ns <= 400:
            for i in range(nr):
                for j in range(ns):
                    v = values[i, j]
                    if np.isfinite(v):
                        dark = abs(logv[i, j]) > 0.6 * lim if np.isfinite(logv[i, j]) else False
                        ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=6.5,
                                color="white" if dark else "black")  # fmt: skip
        cb = fig.colorbar(im, ax=ax, shrink=0.9, extend=extend)
        ticks = np.arange(-math.floor(lim), math.floor(lim) + 1)
        cb.set_ticks(ticks, labels=[f"{2.0**t:g}" if t >= 0 else f"1/{2.0**-t:g}" for t in ticks])
        cb.set_label("location quotient (log2 scale, dimensionless)")
        title = "Location quotients"
        if variant:
            title += f", {variant} (mean over runs)"
        ax.set_title(title)
        if np.any(values == 0) or np.isnan(values).any():
            ax.set_xlabel("sector\n(grey cells: no firms of the sector in the region)")
        ax.spines[:].set_visible(False)
        fig.tight_layout()
        return _save(fig, out_dir, stem)


def _geo_axes(ax, lon: np.ndarray, lat: np.ndarray, pad: float = 0.25) -> None:
    ax.set_xlim(lon.min() - pad, lon.max() + pad)
    ax.set_ylim(lat.min() - pad, lat.max() + pad)
    ax.set_aspect(1 / math.cos(math.radians(float(np.mean(lat)))))
    ax.set_xlabel("longitude (degrees E)")
    ax.set_ylabel("latitude (degrees N)")


def plot_region_map(
    regions: pd.DataFrame,
    coords: pd.DataFrame,
    out_dir: str | Path,
    *,
    logistics: pd.DataFrame | None = None,
    runs: pd.DataFrame | None = None,
    variant: str | None = None,
    stem: str = "region_map",
) -> list[Path]:
    """Map of the regions: a pie of firms by sector at each region (pie area proportional to firms) and
    the logistics network (``logistics`` with columns ``from``, ``to`` and optional ``mode``).

    ``coords`` has columns ``region``, ``lon``, ``lat`` (and optional ``type``: ftz/connected/other).
    """
    table = mean_region_table(regions, runs, variant)
    coords = coords.set_index("region")
    missing = sorted(set(table["region"]) - set(coords.index))
    if missing:
        raise InputError(
            f"no coordinates for regions {', '.join(map(str, missing))}", field="regions"
        )
    sectors = list(pd.unique(table["sector"]))
    firms = table.pivot(index="region", columns="sector", values="firms").reindex(columns=sectors)
    firms = firms.fillna(0.0)
    lon = coords.loc[firms.index, "lon"].to_numpy(dtype=float)
    lat = coords.loc[firms.index, "lat"].to_numpy(dtype=float)
    total = firms.sum(axis=1).to_numpy()
    colours = {s: PALETTE[k % len(PALETTE)] for k, s in enumerate(sectors)}
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(PAGE_WIDTH_IN, 5.2))
        allx = coords["lon"].to_numpy(dtype=float)
        ally = coords["lat"].to_numpy(dtype=float)
        _geo_axes(ax, allx, ally, pad=0.4)
        mode_styles = {}
        if logistics is not None and not logistics.empty:
            ok = logistics["from"].isin(coords.index) & logistics["to"].isin(coords.index)
            lg = logistics.loc[ok]
            modes = (
                lg["mode"].astype(str)
                if "mode" in lg.columns
                else pd.Series("link", index=lg.index)
            )
            styles = {"road": ("0.55", "-"), "rail": ("#7f3b08", "--"), "water": ("#2166ac", ":"),
                      "river": ("#2166ac", ":")}  # fmt: skip
            for mode in pd.unique(modes):
                sel = lg.loc[modes == mode]
                seg = np.stack(
                    [
                        coords.loc[sel["from"], ["lon", "lat"]].to_numpy(dtype=float),
                        coords.loc[sel["to"], ["lon", "lat"]].to_numpy(dtype=float),
                    ],
                    axis=1,
                )
                col, ls = styles.get(mode, ("0.4", "-"))
                ax.add_collection(LineCollection(seg, colors=col, linestyles=ls, lw=1.0, zorder=1))
                mode_styles[mode] = (col, ls)
        fig.canvas.draw()  # fix the aspect so pies can be placed in inches
        # pie radius in inches, area proportional to firms; the largest pie is 0.24 in
        radius_in = 0.24 * np.sqrt(total / total.max()) if total.max() > 0 else np.zeros_like(total)
        radius_in = np.maximum(radius_in, 0.06)
        to_in = fig.dpi_scale_trans.inverted()
        true_in = to_in.transform(ax.transData.transform(np.column_stack([lon, lat])))
        placed_in = spread_circles(true_in[:, 0], true_in[:, 1], radius_in + 0.03)
        to_axes = ax.transAxes.inverted()
        fig_to_disp = fig.dpi_scale_trans
        ax_w, ax_h = (
            to_in.transform(ax.transAxes.transform([(0, 0), (1, 1)]))[1]
            - to_in.transform(ax.transAxes.transform([(0, 0)]))[0]
        )
        for i, region in enumerate(firms.index):
            moved = np.hypot(*(placed_in[i] - true_in[i])) > 0.02
            if moved:  # leader line from the true location to the displaced pie
                end_data = ax.transData.inverted().transform(fig_to_disp.transform(placed_in[i]))
                ax.plot([lon[i], end_data[0]], [lat[i], end_data[1]], color="0.3", lw=0.6, zorder=2)
            ax.plot(lon[i], lat[i], "o", color="0.2", ms=2.5, zorder=2)
            if total[i] <= 0:
                continue
            cx, cy = to_axes.transform(fig_to_disp.transform(placed_in[i]))
            rw, rh = radius_in[i] / ax_w, radius_in[i] / ax_h
            sub = ax.inset_axes([cx - rw, cy - rh, 2 * rw, 2 * rh], zorder=3)
            sub.pie(firms.loc[region].to_numpy(), colors=[colours[s] for s in sectors],
                    wedgeprops={"linewidth": 0.3, "edgecolor": "white", "alpha": 0.92})  # fmt: skip
            sub.set_aspect("equal")
            sub.axis("off")
            kind = str(coords.loc[region, "type"]) if "type" in coords.columns else ""
            weight = "bold" if kind.lower().startswith("ftz") else "normal"
            label_at = ax.transData.inverted().transform(fig_to_disp.transform(placed_in[i]))
            ax.annotate(str(region), label_at, xytext=(0, -(radius_in[i] * 72) - 1),
                        textcoords="offset points", ha="center", va="top", fontsize=7.5,
                        fontweight=weight, zorder=4,
                        bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.7})  # fmt: skip
        from matplotlib.lines import Line2D
        from matplotlib.patches import Patch

        handles = [Patch(color=colours[s], label=str(s)) for s in sectors]
        handles += [
            Line2D([], [], color=c, ls=ls, label=f"{m} link") for m, (c, ls) in mode_styles.items()
        ]
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False,
                  title="sector / network")  # fmt: skip
        title = f"Firms by sector (pie area ~ firms; largest {total.max():.0f})"
        if (np.hypot(*(placed_in - true_in).T) > 0.02).any():
            ax.text(0.0, -0.12, "Pies moved apart to avoid overlap; thin lines lead to the true "
                    "location (dot).", transform=ax.transAxes, fontsize=7.5, color="0.3", va="top")  # fmt: skip
        if variant:
            title += f" - {variant}, mean over runs"
        ax.set_title(title)
        return _save(fig, out_dir, stem)


def spread_circles(
    x: np.ndarray, y: np.ndarray, r: np.ndarray, *, iterations: int = 400, anchor: float = 0.02
) -> np.ndarray:
    """Move circles (centres x, y; radii r, same units) apart until they do not overlap.

    Each iteration pushes every overlapping pair apart by half their overlap along the line joining them
    and pulls each circle back towards its true position by ``anchor`` x its displacement, so circles
    stay as close to their true location as possible.  Deterministic; O(iterations * n^2) with n = number
    of regions (small).  Returns the new centres, shape (n, 2).
    """
    true = np.column_stack([x, y]).astype(float)
    pos = true.copy()
    r = np.broadcast_to(np.asarray(r, dtype=float), (len(pos),))
    need = r[:, None] + r[None, :]
    np.fill_diagonal(need, 0.0)
    n = len(pos)
    # coincident points: separate deterministically along a small spiral first
    pos += 1e-6 * np.column_stack([np.cos(np.arange(n)), np.sin(np.arange(n))])
    for _ in range(iterations):
        delta = pos[:, None, :] - pos[None, :, :]
        dist = np.hypot(delta[..., 0], delta[..., 1])
        np.fill_diagonal(dist, np.inf)
        overlap = np.clip(need - dist, 0.0, None)
        if not (overlap > 1e-9).any():
            break
        push = (overlap / (2 * dist))[..., None] * delta
        pos += push.sum(axis=1)
        pos -= anchor * (pos - true)
    return pos


def region_layout(
    nodes: pd.DataFrame, coords: pd.DataFrame, spacing_deg: float = 0.012
) -> dict[object, tuple[float, float]]:
    """Positions of firm nodes grouped around their region (sunflower spiral around the region point).

    ``nodes`` has columns ``node`` and ``region``; ``spacing_deg`` is the spacing between neighbours.
    """
    c = coords.set_index("region")
    rank = nodes.groupby("region").cumcount().to_numpy()
    golden = math.pi * (3 - math.sqrt(5))
    rad = spacing_deg * np.sqrt(rank + 0.5)
    ang = rank * golden
    x = c.loc[nodes["region"], "lon"].to_numpy(dtype=float) + rad * np.cos(ang)
    y = c.loc[nodes["region"], "lat"].to_numpy(dtype=float) + rad * np.sin(ang)
    return dict(zip(nodes["node"], zip(x, y)))


def plot_supplier_network(
    links: pd.DataFrame,
    coords: pd.DataFrame,
    out_dir: str | Path,
    *,
    max_links: int = 4000,
    stem: str = "supplier_network",
) -> list[Path]:
    """Supplier links between firms, each firm drawn in a cluster around its region's location.

    Inter-regional links are dark, intra-regional ones light.  Imports (``supplier == -1``, supplier
    region = a gateway) are counted in the title, not drawn.  With more than ``max_links`` domestic links,
    the ``max_links`` of largest value are drawn (stated in the title).
    """
    import networkx as nx

    need = {"buyer", "supplier", "buyer_region", "supplier_region"}
    if not need <= set(links.columns):
        raise InputError(f"the links table needs columns {', '.join(sorted(need))}", field="links")
    regions_known = set(coords["region"])
    dom = links.loc[(links["supplier"] >= 0) & links["supplier_region"].isin(regions_known)]
    dom = dom.loc[dom["buyer_region"].isin(regions_known) & (dom["buyer"] != dom["supplier"])]
    n_imports = int((links["supplier"] < 0).sum())
    n_dom = len(dom)
    if n_dom > max_links:
        key = "value" if "value" in dom.columns else None
        dom = dom.nlargest(max_links, key) if key else dom.head(max_links)
    nodes = pd.concat(
        [
            dom[["buyer", "buyer_region"]].set_axis(["node", "region"], axis=1),
            dom[["supplier", "supplier_region"]].set_axis(["node", "region"], axis=1),
        ]
    ).drop_duplicates("node")
    nodes = nodes.sort_values(["region", "node"], kind="stable")
    graph = nx.from_pandas_edgelist(dom, source="supplier", target="buyer", create_using=nx.DiGraph)
    # group radius ~ sqrt(firms); the largest group is 0.12 degrees across; groups moved apart
    counts = nodes["region"].value_counts().reindex(coords["region"]).fillna(0).to_numpy()
    spacing = 0.12 / math.sqrt(max(counts.max(), 1))
    cos0 = math.cos(math.radians(float(coords["lat"].mean())))
    gx = coords["lon"].to_numpy(dtype=float) * cos0
    gy = coords["lat"].to_numpy(dtype=float)
    placed = spread_circles(gx, gy, spacing * np.sqrt(counts + 1) + 0.01)
    moved = np.hypot(placed[:, 0] - gx, placed[:, 1] - gy) > 0.005
    centres = coords.assign(lon=placed[:, 0] / cos0, lat=placed[:, 1])
    pos = region_layout(nodes, centres, spacing_deg=spacing)
    inter = (dom["buyer_region"] != dom["supplier_region"]).to_numpy()
    edges = list(zip(dom["supplier"], dom["buyer"]))
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(PAGE_WIDTH_IN, 5.2))
        _geo_axes(ax, coords["lon"].to_numpy(dtype=float), coords["lat"].to_numpy(dtype=float), 0.3)
        intra_edges = [e for e, x in zip(edges, inter) if not x]
        inter_edges = [e for e, x in zip(edges, inter) if x]
        nx.draw_networkx_edges(graph, pos, edgelist=inter_edges, ax=ax, edge_color="#D55E00",
                               alpha=0.25, width=0.4, arrows=False)  # fmt: skip
        nx.draw_networkx_edges(graph, pos, edgelist=intra_edges, ax=ax, edge_color="#0072B2",
                               alpha=0.8, width=0.6, arrows=False)  # fmt: skip
        nx.draw_networkx_nodes(graph, pos, nodelist=list(nodes["node"]), ax=ax, node_size=1.2,
                               node_color="0.25", alpha=0.7, linewidths=0)  # fmt: skip
        ax.scatter(coords["lon"], coords["lat"], s=10, marker="x", color="0.2", zorder=3, lw=0.8)
        for i, row in enumerate(centres.itertuples(index=False)):
            if moved[i]:
                ax.plot([coords["lon"].iloc[i], row.lon], [coords["lat"].iloc[i], row.lat],
                        color="0.3", lw=0.6, ls=":", zorder=3)  # fmt: skip
            r_deg = spacing * math.sqrt(counts[i] + 1)
            ax.annotate(str(row.region), (row.lon + r_deg / cos0, row.lat + r_deg), xytext=(1, 1),
                        textcoords="offset points", fontsize=7.5, fontweight="bold", zorder=4,
                        bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.7})  # fmt: skip
        if moved.any():
            ax.text(0.0, -0.12, "Firm groups moved apart to avoid overlap; dotted lines lead to the "
                    "region's true location (x).", transform=ax.transAxes, fontsize=7.5,
                    color="0.3", va="top")  # fmt: skip
        ax.tick_params(left=True, bottom=True, labelleft=True, labelbottom=True)
        ax.set_axis_on()
        from matplotlib.lines import Line2D

        ax.legend(
            handles=[
                Line2D([], [], color="#0072B2", label=f"within a region ({100 * (1 - inter.mean()):.0f}%)"),
                Line2D([], [], color="#D55E00", label=f"between regions ({100 * inter.mean():.0f}%)"),
            ],
            loc="upper left", frameon=False, title="supplier link",
        )  # fmt: skip
        shown = f"{len(dom)} largest of {n_dom}" if n_dom > len(dom) else f"{n_dom}"
        ax.set_title(
            f"Supplier network: {shown} domestic links, {graph.number_of_nodes()} firms "
            f"(+{n_imports} import links via gateways, not drawn)"
        )
        fig.tight_layout()
        return _save(fig, out_dir, stem)


def plot_sensitivity(
    table: pd.DataFrame, out_dir: str | Path, *, stem: str = "sensitivity", per_page: int = 6
) -> list[Path]:
    """Bar charts of Sobol S1/ST (or Morris mu*/sigma) per parameter with CI whiskers, one panel per
    metric (and variant, if the table has several).  ``table`` is the output of
    :func:`agglomeration.experiment.sensitivity.sensitivity` (the per-replicate form is averaged over
    replicates first).  Metrics whose indices are all undefined (a constant output) are listed under the
    plot; more than ``per_page`` panels are split over ``<stem>_1``, ``<stem>_2``, ..."""
    if table.empty:
        raise InputError("empty sensitivity table", field="sensitivity")
    sobol = "S1" in table.columns
    table = table.copy()
    if "variant" in table.columns and table["variant"].nunique() > 1:
        table["metric"] = table["variant"].astype(str) + ": " + table["metric"].astype(str)
    if "replicate" in table.columns:
        num = [c for c in table.select_dtypes("number").columns if c != "replicate"]
        table = table.groupby(["metric", "parameter"], sort=False)[num].mean().reset_index()
    main_col = "ST" if sobol else "mu_star"
    defined = table.groupby("metric", sort=False)[main_col].transform(
        lambda x: np.isfinite(x).any()
    )
    dropped = list(pd.unique(table.loc[~defined, "metric"]))
    table = table.loc[defined]
    if table.empty:
        raise InputError("every metric is constant over the design: no indices", field="metrics")
    metrics = list(pd.unique(table["metric"]))
    pages = [metrics[i : i + per_page] for i in range(0, len(metrics), per_page)]
    written: list[Path] = []
    for k, page in enumerate(pages, start=1):
        note = ""
        if dropped and k == len(pages):
            note = "Not shown (constant output, indices undefined): " + ", ".join(dropped) + "."
        name = stem if len(pages) == 1 else f"{stem}_{k}"
        written += _sensitivity_page(
            table.loc[table["metric"].isin(page)], page, sobol, note, out_dir, name
        )
    return written


def _sensitivity_page(table, metrics, sobol, note, out_dir, stem) -> list[Path]:
    params = list(pd.unique(table["parameter"]))
    # a dotted prefix shared by every parameter ("behaviour.") goes into the axis label
    heads = {str(p).rpartition(".")[0] for p in params}
    prefix = next(iter(heads)) + "." if len(heads) == 1 and next(iter(heads)) else ""
    shown = [str(p)[len(prefix) :] for p in params]
    with plt.rc_context(STYLE):
        fig, axes = _grid(len(metrics), ncols=2, row_height=0.35 * len(params) + 1.2)
        for ax, metric in zip(axes, metrics):
            t = table.loc[table["metric"] == metric].set_index("parameter").reindex(params)
            y = np.arange(len(params))
            h = 0.38
            if sobol:
                bars = [("S1", "first order S1", PALETTE[0]), ("ST", "total order ST", PALETTE[1])]
                for k, (col, label, colour) in enumerate(bars):
                    ax.barh(y + (k - 0.5) * h, t[col], height=h, color=colour, label=label,
                            xerr=t[f"{col}_conf"].abs(), capsize=2,
                            error_kw={"elinewidth": 0.8, "ecolor": "0.2"})  # fmt: skip
                ax.set_xlabel("Sobol index (share of output variance)")
                ax.axvline(0, color="0.3", lw=0.6)
            else:
                ax.barh(y - h / 2, t["mu_star"], height=h, color=PALETTE[0], label="mu*",
                        xerr=t["mu_star_conf"].abs(), capsize=2,
                        error_kw={"elinewidth": 0.8, "ecolor": "0.2"})  # fmt: skip
                ax.barh(y + h / 2, t["sigma"], height=h, color=PALETTE[1], label="sigma")
                ax.set_xlabel(f"elementary effect ({metric_unit(metric)} per parameter range)")
            ax.set_yticks(y, shown)
            ax.invert_yaxis()
            if prefix:
                ax.set_ylabel(f"parameter ({prefix}*)")
            ax.set_title(metric.replace("_", " "))
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="upper center", ncol=2, frameon=False,
                   bbox_to_anchor=(0.5, 1.0))  # fmt: skip
        fig.tight_layout(rect=(0, 0, 1, 1 - 0.3 / fig.get_figheight()))
        caption = "whiskers: 95% bootstrap confidence interval (SALib)"
        if not sobol:
            caption = "whiskers: 95% bootstrap confidence interval of mu* (SALib)"
        if note:
            caption += "\n" + note
        fig.text(0.5, -0.005, caption, ha="center", va="top", fontsize=8, wrap=True)
        return _save(fig, out_dir, stem)


def coords_frame(region_ids, lon, lat, types=None) -> pd.DataFrame:
    """Coordinates frame (``region``, ``lon``, ``lat``, ``type``) from World-style arrays."""
    df = pd.DataFrame(
        {"region": list(region_ids), "lon": np.asarray(lon, float), "lat": np.asarray(lat, float)}
    )
    if types is not None:
        df["type"] = list(types)
    return df


def scenario_geography(scenario) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Region coordinates (``region, lon, lat, type``) and region-to-region logistics links
    (``from, to, mode``) of a Scenario (``scenario.data.regions`` / ``scenario.data.links``)."""
    regs = scenario.data.regions
    coords = coords_frame(
        [r.region_id for r in regs],
        [r.lon for r in regs],
        [r.lat for r in regs],
        [r.type for r in regs],
    )
    ids = set(coords["region"])
    links = [
        (lk.origin, lk.dest, lk.mode)
        for lk in scenario.data.links
        if lk.origin in ids and lk.dest in ids
    ]
    return coords, pd.DataFrame(links, columns=["from", "to", "mode"])
