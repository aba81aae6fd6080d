"""Identification diagnostics and the uncertainty of the estimates.

**Sweeps.** Around the optimum theta*, each parameter in turn is moved over ``sweep_points`` values in
``theta*_p +- sweep_span x (upper - lower)`` (clipped to its bounds) with the others held at theta*, with
the same replicates and seeds as the search (common random numbers).  They show how every moment moves
with every parameter (the profile plots) and give the Jacobian G of the moments: the least-squares slope
of each moment's replicate mean on the parameter over the sweep (theta* included).

**Standard errors** are the MSM sandwich (the curvature of the objective, Gourieroux & Monfort 1996)::

    V = (G' W G)^-1 G' W Omega W G (G' W G)^-1,   W = diag(1 / (se_k^2 + s_k^2 / S)),
    Omega = diag(se_k^2 + s_k^2 / S)

i.e. (G' W G)^-1 with these inverse-variance weights: the target standard errors plus the seed noise of
the simulated means (the factor (1 + 1/S) of simulation estimators).  A parameter that moves no moment
has an infinite standard error (it is not identified); the normal-prior penalty is left out of V.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from agglomeration.calibration.targets import Moment, Targets

__all__ = ["identification_table", "jacobian", "sandwich", "sweep_candidates"]

#: a parameter whose 95% interval covers more than this share of its range is "weakly identified"
WEAK_SHARE = 0.5


def sweep_candidates(targets: Targets, best: dict[str, float]) -> dict[str, dict[str, float]]:
    """Variant name -> parameter values of the one-at-a-time sweeps around ``best``: ``sweep_points``
    values per parameter, half on each side at equal steps up to ``sweep_span x range`` (clipped to the
    bounds; the optimum itself is left out: the search evaluated it with the same seeds)."""
    s = targets.search
    out: dict[str, dict[str, float]] = {}
    side = max(1, s.sweep_points // 2)
    for i, (path, par) in enumerate(targets.parameters.items()):
        lo, hi = par.bounds
        half = s.sweep_span * (hi - lo)
        steps = np.arange(1, side + 1) * half / side
        grid = np.concatenate([best[path] - steps[::-1], best[path] + steps])
        grid = np.unique(np.clip(grid, lo, hi))
        if par.integer:
            grid = np.unique(np.round(grid))
        for j, v in enumerate(grid):
            if math.isclose(float(v), best[path], rel_tol=1e-12, abs_tol=1e-12):
                continue
            out[f"p{i}-{j}"] = {**best, path: float(v)}
    return out


def _number(value: Any) -> float:
    """A summary cell as a float: None (not computed) is NaN, 0 stays 0 (replicates that agree)."""
    return float("nan") if value is None else float(value)


def sweep_frame(
    targets: Targets, best: dict[str, float], best_summary: dict[str, Any], summary: pd.DataFrame
) -> pd.DataFrame:
    """Long table of the sweeps: parameter, value, moment, mean, se, observed, target se (the optimum
    included as a point of every parameter's sweep)."""
    cand = sweep_candidates(targets, best)
    rows = []
    by_variant = summary.set_index("variant")
    for i, path in enumerate(targets.parameters):
        points = [(best[path], best_summary)]
        points += [
            (vals[path], by_variant.loc[name].to_dict())
            for name, vals in cand.items()
            if name.startswith(f"p{i}-") and name in by_variant.index
        ]
        for value, row in points:
            for m in targets.moments:
                rows.append(
                    {
                        "parameter": path,
                        "value": float(value),
                        "moment": m.name,
                        "mean": float(row.get(m.name, np.nan)),
                        "se": _number(row.get(f"{m.name}__se")),
                        "sd": _number(row.get(f"{m.name}__sd")),
                        "n": float(row.get("n", np.nan)),
                        "observed": m.observed,
                        "target_se": m.target_se,
                    }
                )
    return pd.DataFrame(rows).sort_values(["parameter", "moment", "value"], kind="stable")


def jacobian(targets: Targets, sweeps: pd.DataFrame) -> pd.DataFrame:
    """G: moments x parameters, the least-squares slope of each moment's mean on each parameter over
    its sweep (data units per parameter unit)."""
    g = pd.DataFrame(
        index=[m.name for m in targets.moments], columns=list(targets.parameters), dtype=float
    )
    for (path, moment), d in sweeps.groupby(["parameter", "moment"]):
        d = d[np.isfinite(d["mean"])]
        if len(d) >= 2 and d["value"].nunique() >= 2:
            g.loc[moment, path] = float(np.polyfit(d["value"], d["mean"], 1)[0])
    return g


def sandwich(
    targets: Targets, g: pd.DataFrame, best_summary: dict[str, Any]
) -> tuple[pd.DataFrame, float]:
    """Covariance matrix of the estimates (parameters x parameters; inf on the diagonal of a parameter
    that moves no moment) and the condition number of G'WG."""
    names = list(targets.parameters)
    n = float(best_summary.get("n", 1.0))
    var = []
    for m in targets.moments:
        sd = best_summary.get(f"{m.name}__sd")
        sd = float(sd) if sd is not None and math.isfinite(float(sd)) else 0.0
        var.append(m.target_se**2 + sd * sd / max(n, 1.0))
    w = np.diag(1.0 / np.asarray(var))
    omega = np.diag(np.asarray(var))
    G = np.nan_to_num(g.to_numpy(dtype=float))
    info = G.T @ w @ G
    cond = float(np.linalg.cond(info)) if info.size else float("nan")
    dead = np.all(np.abs(G) == 0.0, axis=0)
    cov = np.full((len(names), len(names)), np.nan)
    live = ~dead
    if live.any():
        sub = info[np.ix_(live, live)]
        try:
            inv = np.linalg.inv(sub) if np.isfinite(np.linalg.cond(sub)) else np.linalg.pinv(sub)
        except np.linalg.LinAlgError:
            inv = np.linalg.pinv(sub)
        meat = G[:, live].T @ w @ omega @ w @ G[:, live]
        cov[np.ix_(live, live)] = inv @ meat @ inv
    for i in np.flatnonzero(dead):
        cov[i, i] = np.inf
    return pd.DataFrame(cov, index=names, columns=names), cond


def parameter_table(
    targets: Targets,
    best: dict[str, float],
    start: dict[str, float],
    cov: pd.DataFrame,
) -> pd.DataFrame:
    """Estimate, standard error, 95% interval (clipped to the bounds), bounds, start, identification."""
    rows = []
    for path, par in targets.parameters.items():
        lo, hi = par.bounds
        se = float(np.sqrt(cov.loc[path, path])) if cov.loc[path, path] >= 0 else float("nan")
        est = float(best[path])
        ci_lo, ci_hi = est - 1.96 * se, est + 1.96 * se
        width = (min(ci_hi, hi) - max(ci_lo, lo)) / (hi - lo) if math.isfinite(se) else 1.0
        status = (
            "not identified"
            if not math.isfinite(se)
            else ("weak" if width > WEAK_SHARE else "identified")
        )
        rows.append(
            {
                "parameter": path,
                "estimate": est,
                "se": se,
                "ci_low": max(ci_lo, lo) if math.isfinite(se) else lo,
                "ci_high": min(ci_hi, hi) if math.isfinite(se) else hi,
                "lower_bound": lo,
                "upper_bound": hi,
                "start": start[path],
                "prior": par.prior,
                "identification": status,
                "at_bound": bool(math.isclose(est, lo) or math.isclose(est, hi)),
            }
        )
    return pd.DataFrame(rows)


def identification_table(
    targets: Targets, g: pd.DataFrame, sweeps: pd.DataFrame | None = None
) -> pd.DataFrame:
    """How far each moment moves across each parameter's sweep, in target standard errors:
    ``slope x sweep width / se_k`` (|value| >= 1: the moment informs the parameter).  The width is
    the range of values the sweep took (``sweeps``: :func:`sweep_frame`), narrower than
    ``2 x sweep_span x range`` where a bound clipped it (that nominal width without ``sweeps``)."""
    out = pd.DataFrame(index=g.index, columns=g.columns, dtype=float)
    for path, par in targets.parameters.items():
        width = 2 * targets.search.sweep_span * (par.bounds[1] - par.bounds[0])
        if sweeps is not None:
            values = sweeps.loc[sweeps["parameter"] == path, "value"]
            if len(values):
                width = float(values.max() - values.min())
        for m in targets.moments:
            out.loc[m.name, path] = float(g.loc[m.name, path]) * width / m.target_se
    out.index.name = "moment"
    return out


def moment_fit(
    targets: Targets, best_summary: dict[str, Any], moments: tuple[Moment, ...] | None = None
) -> pd.DataFrame:
    """Target vs simulated mean at the optimum: 95% interval of the simulated mean (t with S - 1
    degrees of freedom), t-statistic against the combined standard error, share of the distance
    (``moments``: the fitted ones by default; the held-out ones for the out-of-sample table)."""
    from scipy import stats

    n = float(best_summary.get("n", 1.0))
    tq = float(stats.t.ppf(0.975, n - 1)) if n > 1 else float("nan")
    rows = []
    for m in targets.moments if moments is None else moments:
        mean = float(best_summary.get(m.name, np.nan))
        sd = best_summary.get(f"{m.name}__sd")
        sd = float(sd) if sd is not None else float("nan")
        sim_se = sd / math.sqrt(n) if n > 1 and math.isfinite(sd) else float("nan")
        comb = math.sqrt(m.target_se**2 + (sim_se**2 if math.isfinite(sim_se) else 0.0))
        t = (mean - m.observed) / comb
        rows.append(
            {
                "moment": m.name,
                "statistic": m.describe()
                + (f" / {m.denominator.describe()}" if m.denominator else ""),
                "observed": m.observed,
                "target_se": m.target_se,
                "simulated": mean,
                "sim_ci_low": mean - tq * sim_se,
                "sim_ci_high": mean + tq * sim_se,
                "sim_se": sim_se,
                "t_stat": t,
                "contribution": t * t,
                "year": str(m.year),
                "units": m.units,
                "source": m.source,
            }
        )
    df = pd.DataFrame(rows)
    total = df["contribution"].sum()
    df["share_of_distance"] = df["contribution"] / total if total > 0 else np.nan
    return df


def selection_bootstrap(
    targets: Targets,
    values: pd.DataFrame,
    params: dict[str, dict[str, float]],
    draws: int,
    seed: int,
) -> pd.DataFrame:
    """Seed bootstrap of the search's choice, without new runs: the replicates are resampled with
    replacement (the same draw for every candidate, as the common random numbers pair them), every
    evaluated candidate's distance is recomputed and the best one chosen again.  Returns one row per
    draw: the chosen candidate and its parameters.  It measures how much the optimum depends on the
    seeds (the selection noise of a rough objective), not the uncertainty of the data.

    ``values``: per-run moments (variant, replicate, one column per moment) of the candidates
    ``params`` (variant -> parameter values) with the same replicates each."""
    names = [m.name for m in targets.moments]
    variants = [v for v in params if v in set(values["variant"])]
    table = values[values["variant"].isin(variants)].pivot_table(
        index=["variant", "replicate"], values=names
    )
    reps = sorted(values["replicate"].unique())
    full = table.reindex(pd.MultiIndex.from_product([variants, reps]))
    arr = full[names].to_numpy(dtype=float).reshape(len(variants), len(reps), len(names))
    keep = ~np.isnan(arr).any(axis=(1, 2))  # candidates with every replicate
    arr, variants = arr[keep], [v for v, k in zip(variants, keep, strict=True) if k]
    obs = np.array([m.observed for m in targets.moments])
    se2 = np.array([m.target_se**2 for m in targets.moments])
    penalty = np.array(
        [sum(p.penalty(params[v][k]) for k, p in targets.parameters.items()) for v in variants]
    )
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0xB007]))
    n = len(reps)
    rows = []
    for _ in range(draws):
        x = arr[:, rng.integers(0, n, n), :]
        var = x.var(axis=1, ddof=1) / n if n > 1 else np.zeros_like(x[:, 0, :])
        dist = (((x.mean(axis=1) - obs) ** 2) / (se2 + var)).sum(axis=1) + penalty
        best = variants[int(np.argmin(dist))]
        rows.append({"variant": best, **params[best]})
    return pd.DataFrame(rows)
