"""The time-series figure of one live run (``timeseries.png`` of ``agglomeration run``).

A thin adapter: the figure is :func:`agglomeration.report.figures.timeseries_figure` with the six
panels of :data:`agglomeration.report.figures.OVERVIEW_PANELS` (firms and output by region type, firm
dynamics, clustering, supply chains, reforms), the same builder ``agglomeration plot`` uses for a run
directory.  Kept so that ``agglomeration run`` draws with the shared builders until it writes a one-run
result store and calls :func:`agglomeration.report.figureset.write_figures` directly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from agglomeration.report.figures import OVERVIEW_PANELS
from agglomeration.report.figures import timeseries_figure as _timeseries
from agglomeration.report.style import PAGE_WIDTH_IN


def timeseries_figure(
    series: pd.DataFrame, steps_per_year: int | None = None, title: str | None = None
) -> Figure:
    """The six-panel overview of one run's series (``model.series_frame()``)."""
    frame = series.assign(run_id="run") if "run_id" not in series.columns else series
    return _timeseries(
        frame,
        panels=OVERVIEW_PANELS,
        steps_per_year=steps_per_year,
        ncols=3,
        width=PAGE_WIDTH_IN * 1.45,
        title=title,
    )


def save_timeseries_figure(series: pd.DataFrame, path: str | Path, model: Any = None) -> Path:
    """Write :func:`timeseries_figure` of a live model's series to ``path`` (PNG, 150 dpi)."""
    spec = getattr(model, "spec", None)
    spy = getattr(getattr(spec, "behaviour", None), "steps_per_year", None)
    name = getattr(spec, "name", None)
    title = f"Scenario {name}, seed {getattr(model, 'seed_used', '?')}" if name else None
    fig = timeseries_figure(series, steps_per_year=spy, title=title)
    path = Path(path)
    fig.savefig(path, dpi=150, bbox_inches="tight")
    return path
