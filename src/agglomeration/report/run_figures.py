"""Time-series figure of one run's headline metrics (``timeseries.png`` of ``agglomeration run``).

Six panels over steps (x axis in years when ``steps_per_year`` is known): firms by region type; output by
region type (CNY m per step); entries, exits and relocations per step; clustering (Herfindahl of regional
firm shares, mean locational Gini); chains (local sourcing share, mean chain coverage); reforms adopted per
connected area.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

TYPE_COLORS = {"ftz": "#d62728", "connected": "#1f77b4", "other": "#7f7f7f"}


def timeseries_figure(
    series: pd.DataFrame, steps_per_year: int | None = None, title: str | None = None
):
    """Return a matplotlib Figure with the six panels described in the module docstring."""
    from matplotlib.figure import Figure

    df = series.sort_values("step")
    x = df["step"] / steps_per_year if steps_per_year else df["step"]
    xlabel = "years" if steps_per_year else "step"
    fig = Figure(figsize=(12, 7), layout="constrained")
    axes = fig.subplots(2, 3).ravel()

    def by_type(ax, prefix: str, ylabel: str) -> None:
        for typ, color in TYPE_COLORS.items():
            col = f"{prefix}_{typ}"
            if col in df and df[col].abs().sum() > 0:
                ax.plot(x, df[col], color=color, label=typ)
        if prefix in df:
            ax.plot(x, df[prefix], color="black", lw=1, ls="--", label="total")
        ax.set_ylabel(ylabel)
        ax.set_ylim(bottom=0)
        ax.legend(fontsize=7, frameon=False)

    by_type(axes[0], "firms", "live firms")
    axes[0].set_title("Firms by region type", fontsize=9)
    by_type(axes[1], "output", "output [CNY m / step]")
    axes[1].set_title("Output by region type", fontsize=9)
    ax = axes[2]
    for col, color in (("entries", "#2ca02c"), ("exits", "#d62728"), ("relocations", "#9467bd")):
        if col in df:
            ax.plot(x.iloc[1:], df[col].iloc[1:], color=color, label=col, lw=1)
    ax.set_ylabel("firms per step")
    ax.set_title("Firm dynamics", fontsize=9)
    ax.legend(fontsize=7, frameon=False)
    ax = axes[3]
    for col, label in (
        ("herfindahl_regions", "Herfindahl of regional firm shares"),
        ("mean_locational_gini", "mean locational Gini"),
    ):
        if col in df:
            ax.plot(x, df[col], label=label)
    ax.set_ylim(0, 1)
    ax.set_ylabel("index [0-1]")
    ax.set_title("Clustering", fontsize=9)
    ax.legend(fontsize=7, frameon=False)
    ax = axes[4]
    for col, label in (
        ("local_sourcing_share", "local sourcing share (value)"),
        ("mean_chain_coverage", "chain coverage, zone mean"),
        ("import_share", "imported input share"),
    ):
        if col in df:
            ax.plot(x, df[col], label=label)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("share [0-1]")
    ax.set_title("Supply chains", fontsize=9)
    ax.legend(fontsize=7, frameon=False)
    ax = axes[5]
    if "reforms_connected" in df:
        ax.plot(x, df["reforms_connected"], color="#8c564b")
    ax.set_ylabel("reforms adopted (mean per connected area)")
    ax.set_title("Reform replication", fontsize=9)
    for a in axes:
        a.set_xlabel(xlabel)
        a.grid(alpha=0.3)
    if title:
        fig.suptitle(title, fontsize=11)
    return fig


def save_timeseries_figure(series: pd.DataFrame, path: str | Path, model: Any = None) -> Path:
    """Write :func:`timeseries_figure` to ``path`` (PNG, 150 dpi)."""
    spy = getattr(getattr(getattr(model, "spec", None), "behaviour", None), "steps_per_year", None)
    name = getattr(getattr(model, "spec", None), "name", None)
    fig = timeseries_figure(series, steps_per_year=spy, title=f"Scenario {name}" if name else None)
    path = Path(path)
    fig.savefig(path, dpi=150)
    return path
