"""Simulated moments: the value of every target's statistic in every run of a result store.

:func:`run_moments` turns the frames of a result store (``runs``, ``series``, ``regions``; see
:func:`agglomeration.experiment.store.load_results`) into one row per run and one column per moment, in
data units (``scale x statistic [/ denominator]``).  :func:`summarise` gives the mean over replicates and
the standard error of that mean (the seed noise) per candidate.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from agglomeration.calibration.targets import Moment, Statistic, Targets

log = logging.getLogger(__name__)

#: moments already reported as undefined in a candidate's or particle's runs (one warning each per
#: process, not one per candidate)
UNDEFINED_WARNED: set[str] = set()


def warn_undefined(name: str, value: float) -> None:
    """Say once per process that moment ``name`` came out undefined (``value``: NaN or inf) in a
    candidate's runs (e.g. a share of a region or sector that has none of the flow), which makes the
    candidate's distance infinite: it is rejected, not fitted."""
    if name in UNDEFINED_WARNED:
        return
    UNDEFINED_WARNED.add(name)
    log.warning(
        "moment %r is undefined (%s) in a candidate's runs (e.g. a share of a region or sector that "
        "has none of the flow): its distance is infinite and the candidate is rejected",
        name,
        value,
    )


__all__ = ["run_moments", "summarise"]


def _series_stat(st: Statistic, series: pd.DataFrame, steps_per_year: int) -> pd.Series:
    t0, t1 = st.window  # type: ignore[misc]
    win = series[(series["step"] >= t0) & (series["step"] <= t1)].sort_values(["run_id", "step"])
    grouped = win.groupby("run_id", sort=False)[st.metric]
    how = st.aggregate or "mean"
    if how == "growth":
        first, last = grouped.first(), grouped.last()
        with np.errstate(divide="ignore", invalid="ignore"):
            return (last / first) ** (steps_per_year / (t1 - t0)) - 1.0
    return getattr(grouped, how)()


def _region_stat(st: Statistic, regions: pd.DataFrame) -> pd.Series:
    mask = pd.Series(True, index=regions.index)
    if st.region is not None:
        mask &= regions["region"].isin(st.region)
    if st.region_type is not None:
        mask &= regions["region_type"].isin(st.region_type)
    if st.sector is not None:
        mask &= regions["sector"].isin(st.sector)
    ids = regions["run_id"].unique()
    return regions[mask].groupby("run_id")[st.metric].sum().reindex(ids, fill_value=0.0)


def _statistic(
    st: Statistic, column: str, frames: dict[str, pd.DataFrame], steps_per_year: int
) -> pd.Series:
    runs = frames["runs"].set_index("run_id")
    if st.function is not None:
        return runs[column].astype(float)
    if st.window is not None:
        return _series_stat(st, frames["series"], steps_per_year)
    if st.selected:
        return _region_stat(st, frames["regions"])
    name = st.metric if st.metric in runs.columns else f"metric_{st.metric}"
    return runs[name].astype(float)


def moment_values(m: Moment, frames: dict[str, pd.DataFrame], steps_per_year: int) -> pd.Series:
    """One moment in data units for every ok run (index run_id)."""
    num = _statistic(m.statistic(), m.reporter, frames, steps_per_year)
    value = num.astype(float)
    if m.denominator is not None:
        den = _statistic(m.denominator, f"{m.reporter}__den", frames, steps_per_year)
        with np.errstate(divide="ignore", invalid="ignore"):
            value = value / den.reindex(value.index).astype(float)
    return m.scale * value


def run_moments(
    targets: Targets,
    frames: dict[str, Any],
    steps_per_year: int,
    moments: tuple[Moment, ...] | None = None,
) -> pd.DataFrame:
    """One row per ok run: ``run_id``, ``variant``, ``replicate``, then one column per moment
    (``moments``: the targets' fitted moments by default, e.g. ``targets.holdout`` instead)."""
    runs = frames["runs"]
    ok = runs[runs["status"] == "ok"]
    tables = {
        "runs": ok,
        "series": frames.get("series", pd.DataFrame(columns=["run_id", "step"])),
        "regions": frames.get("regions", pd.DataFrame(columns=["run_id"])),
    }
    out = ok[["run_id", "variant", "replicate"]].set_index("run_id").copy()
    for m in targets.moments if moments is None else moments:
        out[m.name] = moment_values(m, tables, steps_per_year).reindex(out.index)
    return out.reset_index()


def summarise(values: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """Per candidate (``variant``): replicates ``n``, and for every moment its mean and the standard
    error of the mean over replicates (``<name>__se``; NaN with one replicate)."""
    rows = []
    for variant, g in values.groupby("variant", sort=False):
        row: dict[str, Any] = {"variant": variant, "n": len(g)}
        for name in names:
            x = g[name].to_numpy(dtype=float)
            row[name] = float(np.mean(x)) if len(x) else np.nan
            row[f"{name}__sd"] = float(np.std(x, ddof=1)) if len(x) > 1 else np.nan
            row[f"{name}__se"] = row[f"{name}__sd"] / np.sqrt(len(x)) if len(x) > 1 else np.nan
        rows.append(row)
    return pd.DataFrame(rows)
