"""Global sensitivity indices (Sobol, Morris) of stored batch results, computed with SALib.

The batch stores, for a ``sobol`` or ``morris`` design, the SALib ``problem`` dict (``names``, ``bounds``,
``num_vars``, optional ``groups``) and the sample matrix ``X`` (one row per design point, in SALib's
order).  Every design point was run ``replicates`` times.  To analyse, each sample row needs one output
value ``Y[i]``; this module rebuilds ``Y`` from the ``runs`` table:

1. Runs are matched to sample rows by a design-point index column if the runs table has one
   (``design_point``/``point``/``design_index``/``sample_index``), otherwise by their parameter values
   (columns named as ``problem["names"]``, compared after scaling each parameter by its bound width, with
   tolerance 1e-6).  Value matching also handles duplicate sample rows (frequent in Morris designs): a
   run id is a hash of parameters and seed, so duplicate points are run once and shared.
2. ``replicates="mean"`` (default): Y[i] is the mean of the metric over the replicates of point i, so the
   indices describe the *expected* model output; the replicate noise is averaged out (and any remaining
   noise inflates the total-order indices slightly).  ``replicates="each"``: the analysis is repeated
   for every replicate separately (Y[i] = the run with that replicate number); the long table then has
   a ``replicate`` column and the spread across replicates shows how much stochasticity moves the indices.

A design point with no successful run makes the analysis impossible (SALib needs the full matrix): this
raises :class:`InputError` naming how many points are missing, so the user can resume the batch.

Outputs are long tables, one row per metric x parameter:

- Sobol: ``S1``, ``S1_conf``, ``ST``, ``ST_conf`` (``_conf`` = half-width of SALib's bootstrap CI at
  the confidence level) plus ``S1_low/S1_high/ST_low/ST_high``.  A metric that is constant over the
  design has no variance to apportion: its indices are NaN.
- Morris: ``mu``, ``mu_star``, ``mu_star_conf``, ``sigma`` (in the metric's unit per unit of the
  normalised parameter range, as SALib computes them).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from agglomeration.errors import InputError
from agglomeration.experiment.compare import _did_you_mean, metric_columns, successful_runs

POINT_COLUMNS = ("design_point", "point", "design_index", "sample_index")
#: Most bootstrap resamples (SALib keeps a points x resamples index matrix in memory).
MAX_RESAMPLES = 10_000
#: Bootstrap resamples of the indices' confidence intervals unless asked otherwise (the command line's
#: default too, so a table from Python and one from `agglomeration sensitivity` have the same CIs).
DEFAULT_RESAMPLES = 1_000
MATCH_TOLERANCE = 1e-6


def _salib_seed(seed: int | None) -> int | None:
    """SALib's Sobol analyser treats seed 0 as "unseeded" (``if seed:``), so seed s is passed as s + 1;
    the bootstrap CIs are then reproducible for every seed, 0 included."""
    return None if seed is None else int(seed) + 1


def _problem_names(problem: Mapping[str, Any]) -> list[str]:
    return [str(n) for n in problem["names"]]


def _design_size(problem: Mapping[str, Any]) -> int:
    """Number of factors SALib counts: the number of distinct groups if groups are given."""
    groups = problem.get("groups")
    if groups:
        return len(dict.fromkeys(groups))
    return int(problem.get("num_vars", len(problem["names"])))


def infer_second_order(problem: Mapping[str, Any], n_rows: int) -> bool:
    """Whether a Saltelli/Sobol sample of ``n_rows`` rows was drawn with ``calc_second_order``.

    SALib draws N(2D + 2) rows with second order and N(D + 2) without; the sampler and the analyser must
    agree or the indices are silently wrong (SALib#172), so this is checked rather than assumed.  When
    both readings divide ``n_rows``, the one giving a power-of-two N (what SALib's sampler wants) wins.
    """
    d = _design_size(problem)
    with_second = n_rows % (2 * d + 2) == 0
    without = n_rows % (d + 2) == 0
    if with_second and not without:
        return True
    if without and not with_second:
        return False
    if with_second and without:
        # SALib's Sobol sampler wants N a power of two: prefer the reading that gives one
        pow2 = [n_rows // k & (n_rows // k - 1) == 0 for k in (2 * d + 2, d + 2)]
        if pow2[0] != pow2[1]:
            return pow2[0]
        raise InputError(
            f"cannot tell from {n_rows} sample rows and {d} factors whether the Sobol design has "
            "second-order terms; the manifest must record calc_second_order",
            field="design.calc_second_order",
        )
    raise InputError(
        f"{n_rows} sample rows is not N(D+2) or N(2D+2) for D = {d} factors: not a Sobol design",
        field="design.sample",
    )


def match_runs_to_sample(
    runs: pd.DataFrame, problem: Mapping[str, Any], sample: np.ndarray, *, source: str = "runs"
) -> np.ndarray:
    """Index of the sample row of each run (``-1`` for runs that belong to no sample row)."""
    sample = np.asarray(sample, dtype=float)
    point_col = next((c for c in POINT_COLUMNS if c in runs.columns), None)
    if point_col is not None:
        idx = runs[point_col].to_numpy(dtype=np.int64)
        idx = np.where((idx >= 0) & (idx < sample.shape[0]), idx, -1)
        return idx
    names = _problem_names(problem)
    missing = [n for n in names if n not in runs.columns]
    if missing:
        raise InputError(
            f"the runs table has no column for design parameter(s) {', '.join(missing)}, and no "
            f"design-point index column ({', '.join(POINT_COLUMNS)})",
            file=source,
            field="runs",
        )
    bounds = np.asarray(problem["bounds"], dtype=float)
    lo = bounds[:, 0]
    width = np.where(bounds[:, 1] > bounds[:, 0], bounds[:, 1] - bounds[:, 0], 1.0)
    xs = (sample - lo) / width
    xr = (runs[names].to_numpy(dtype=float) - lo) / width
    dist, idx = cKDTree(xs).query(xr, k=1)
    return np.where(dist <= MATCH_TOLERANCE * math.sqrt(len(names)), idx, -1)


def outputs_per_point(
    runs: pd.DataFrame,
    problem: Mapping[str, Any],
    sample: np.ndarray,
    metrics: Sequence[str],
    *,
    replicates: Literal["mean", "each"] = "mean",
    source: str = "runs",
) -> dict[Any, np.ndarray]:
    """Output matrix per replicate key: ``{"mean": Y}`` or ``{r: Y_r}``, Y of shape (n_rows, n_metrics).

    Duplicate sample rows (identical parameter vectors) share the runs of their point.
    """
    sample = np.asarray(sample, dtype=float)
    ok = successful_runs(runs)
    point = match_runs_to_sample(ok, problem, sample, source=source)
    unmatched = int((point < 0).sum())
    if unmatched == len(ok) and len(ok) > 0:
        raise InputError(
            "no run matches a row of the stored sample matrix (are these the results of this design?)",
            file=source,
            field="runs",
        )
    # canonical point for duplicates: first sample row with the same (rounded, scaled) parameters
    key = np.round(sample / MATCH_TOLERANCE).astype(np.int64) if sample.size else sample
    _, first, inverse = np.unique(key, axis=0, return_index=True, return_inverse=True)
    canon = first[inverse.ravel()]
    values = ok[list(metrics)].to_numpy(dtype=float)
    keep = point >= 0
    cpoint = canon[point[keep]]
    values = values[keep]
    n = sample.shape[0]
    groups: dict[Any, np.ndarray] = {}
    if replicates == "mean":
        groups["mean"] = np.ones(cpoint.size, dtype=bool)
    elif replicates == "each":
        if "replicate" not in ok.columns:
            raise InputError("the runs table has no 'replicate' column", file=source, field="runs")
        rep = ok["replicate"].to_numpy()[keep]
        for r in np.unique(rep):
            groups[r.item() if hasattr(r, "item") else r] = rep == r
    else:
        raise InputError(f"expected 'mean' or 'each', got {replicates!r}", field="replicates")
    out: dict[Any, np.ndarray] = {}
    for label, mask in groups.items():
        counts = np.bincount(cpoint[mask], minlength=n).astype(float)
        sums = np.stack(
            [
                np.bincount(cpoint[mask], weights=values[mask, j], minlength=n)
                for j in range(len(metrics))
            ],
            axis=1,
        )
        counts_c = counts[canon]
        missing = int((counts_c == 0).sum())
        if missing:
            raise InputError(
                f"{missing} of {n} design points have no successful run"
                + ("" if label == "mean" else f" for replicate {label}")
                + "; resume the batch (agglomeration batch --resume) before the sensitivity analysis",
                file=source,
                field="runs",
            )
        out[label] = sums[canon] / counts_c[:, None]
    return out


def sobol_indices(
    runs: pd.DataFrame,
    problem: Mapping[str, Any],
    sample: np.ndarray,
    metrics: Sequence[str],
    *,
    calc_second_order: bool | None = None,
    replicates: Literal["mean", "each"] = "mean",
    num_resamples: int = DEFAULT_RESAMPLES,
    conf_level: float = 0.95,
    seed: int | None = 0,
    source: str = "runs",
) -> pd.DataFrame:
    """First and total order Sobol indices with bootstrap CIs (SALib ``analyze.sobol``) per metric."""
    from SALib.analyze import sobol as sobol_analyze

    sample = np.asarray(sample, dtype=float)
    if calc_second_order is None:
        calc_second_order = infer_second_order(problem, sample.shape[0])
    ys = outputs_per_point(runs, problem, sample, metrics, replicates=replicates, source=source)
    names = (
        list(dict.fromkeys(problem["groups"])) if problem.get("groups") else _problem_names(problem)
    )
    frames = []
    for label, y in ys.items():
        for j, metric in enumerate(metrics):
            with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
                warnings.simplefilter("ignore")
                res = sobol_analyze.analyze(
                    dict(problem),
                    y[:, j],
                    calc_second_order=calc_second_order,
                    num_resamples=num_resamples,
                    conf_level=conf_level,
                    seed=_salib_seed(seed),
                )
            if not np.ptp(y[:, j]) > 0:  # constant output: variance shares are undefined
                res = {k: np.full(len(names), np.nan) for k in ("S1", "S1_conf", "ST", "ST_conf")}
            f = pd.DataFrame(
                {
                    "metric": metric,
                    "parameter": names,
                    "S1": res["S1"],
                    "S1_conf": res["S1_conf"],
                    "ST": res["ST"],
                    "ST_conf": res["ST_conf"],
                }
            )
            if label != "mean":
                f.insert(0, "replicate", label)
            frames.append(f)
    out = pd.concat(frames, ignore_index=True)
    for k in ("S1", "ST"):
        out[f"{k}_low"] = out[k] - out[f"{k}_conf"]
        out[f"{k}_high"] = out[k] + out[f"{k}_conf"]
    return out


def morris_indices(
    runs: pd.DataFrame,
    problem: Mapping[str, Any],
    sample: np.ndarray,
    metrics: Sequence[str],
    *,
    num_levels: int = 4,
    replicates: Literal["mean", "each"] = "mean",
    num_resamples: int = DEFAULT_RESAMPLES,
    conf_level: float = 0.95,
    seed: int | None = 0,
    source: str = "runs",
) -> pd.DataFrame:
    """Morris elementary-effect statistics mu, mu*, sigma (SALib ``analyze.morris``) per metric."""
    from SALib.analyze import morris as morris_analyze

    sample = np.asarray(sample, dtype=float)
    ys = outputs_per_point(runs, problem, sample, metrics, replicates=replicates, source=source)
    frames = []
    for label, y in ys.items():
        for j, metric in enumerate(metrics):
            with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
                warnings.simplefilter("ignore")
                res = morris_analyze.analyze(
                    dict(problem),
                    sample,
                    y[:, j],
                    num_resamples=num_resamples,
                    conf_level=conf_level,
                    num_levels=num_levels,
                    seed=_salib_seed(seed),
                )
            f = pd.DataFrame(
                {
                    "metric": metric,
                    "parameter": list(res["names"]),
                    "mu": np.asarray(res["mu"], dtype=float),
                    "mu_star": np.asarray(res["mu_star"], dtype=float),
                    "mu_star_conf": np.asarray(res["mu_star_conf"], dtype=float),
                    "sigma": np.asarray(res["sigma"], dtype=float),
                }
            )
            if label != "mean":
                f.insert(0, "replicate", label)
            frames.append(f)
    return pd.concat(frames, ignore_index=True)


def sample_from_runs(
    runs: pd.DataFrame,
    problem: Mapping[str, Any],
    n_points: int | None = None,
    *,
    source: str = "runs",
) -> np.ndarray:
    """Rebuild the sample matrix from the runs table: row ``i`` = the parameter values of design point
    ``i`` (needs a design-point index column; every point from 0 to ``n_points - 1`` must have a run)."""
    point_col = next((c for c in POINT_COLUMNS if c in runs.columns), None)
    names = _problem_names(problem)
    if point_col is None or any(n not in runs.columns for n in names):
        raise InputError(
            "the results store no sample matrix, and the runs table lacks the design-point column "
            f"({'/'.join(POINT_COLUMNS)}) or parameter columns ({', '.join(names)}) to rebuild it",
            file=source,
            field="runs",
        )
    pts = runs[[point_col, *names]].drop_duplicates(point_col).set_index(point_col).sort_index()
    n = int(n_points) if n_points is not None else int(pts.index.max()) + 1
    pts = pts.reindex(range(n))
    missing = int(pts[names[0]].isna().sum())
    if missing:
        raise InputError(
            f"{missing} of {n} design points have no run; resume the batch (agglomeration batch "
            "--resume) before the sensitivity analysis",
            file=source,
            field="runs",
        )
    return pts.to_numpy(dtype=float)


def design_from_manifest(manifest: Mapping[str, Any], *, source: str = "manifest.json") -> dict:
    """The design entry of a result-store manifest as the mapping :func:`sensitivity` takes.

    Looks for a mapping with ``kind`` and ``salib_problem`` (or ``problem``) anywhere in the manifest;
    ``options`` (``calc_second_order``, ``num_levels``) and an optional ``sample`` are carried over.
    """

    def find(node):
        if isinstance(node, Mapping):
            if "kind" in node and ("salib_problem" in node or "problem" in node):
                return node
            for v in node.values():
                hit = find(v)
                if hit is not None:
                    return hit
        elif isinstance(node, list):
            for v in node:
                hit = find(v)
                if hit is not None:
                    return hit
        return None

    entry = find(manifest)
    if entry is None:
        raise InputError(
            "the manifest records no design; sensitivity indices need a batch with a [design] of kind "
            "'sobol' or 'morris'",
            file=source,
            field="design",
        )
    problem = entry.get("salib_problem") or entry.get("problem")
    kind = str(entry.get("kind", ""))
    if not problem or kind not in ("sobol", "morris"):
        raise InputError(
            f"the results come from a {kind!r} design; Sobol or Morris indices need a 'sobol' or "
            "'morris' design",
            file=source,
            field="design.kind",
        )
    options = dict(entry.get("options") or {})
    return {
        "kind": kind,
        "problem": dict(problem),
        "sample": entry.get("sample"),
        "n_points": entry.get("n_points"),
        "calc_second_order": options.get("calc_second_order", entry.get("calc_second_order")),
        "num_levels": options.get("num_levels", entry.get("num_levels", 4)),
    }


def sensitivity(
    runs: pd.DataFrame,
    design: Mapping[str, Any],
    *,
    method: Literal["sobol", "morris"] | None = None,
    metrics: Sequence[str] | None = None,
    replicates: Literal["mean", "each"] = "mean",
    num_resamples: int = DEFAULT_RESAMPLES,
    conf_level: float = 0.95,
    seed: int | None = 0,
    source: str = "runs",
) -> pd.DataFrame:
    """Sensitivity table of ``runs`` for a stored design.

    ``design`` is a mapping with ``kind`` ("sobol"/"morris"), ``problem`` (SALib problem dict),
    ``sample`` (matrix, rows in SALib order) and optionally ``calc_second_order`` / ``num_levels``.
    ``method`` defaults to the design's kind and must agree with it (a Morris sample cannot give Sobol
    indices and vice versa).  With several variants (each run over the whole design) every variant is
    analysed separately and the table gets a ``variant`` column.
    """
    if isinstance(num_resamples, bool) or not 1 <= int(num_resamples) <= MAX_RESAMPLES:
        raise InputError(
            f"expected a positive number of resamples, at most {MAX_RESAMPLES:,}, got {num_resamples!r}",
            file=source,
            field="resamples",
        )
    kind = str(design.get("kind", "")).lower()
    if method is None:
        method = kind  # type: ignore[assignment]
    if method not in ("sobol", "morris"):
        raise InputError(
            f"the results come from a {kind or 'unknown'!s} design; Sobol or Morris indices need a "
            "'sobol' or 'morris' design",
            file=source,
            field="design.kind",
        )
    if kind and kind != method:
        raise InputError(
            f"--method {method} needs a {method} design, but these results come from a {kind} design",
            file=source,
            field="design.kind",
        )
    problem = design["problem"]
    if design.get("sample") is not None:
        sample = np.asarray(design["sample"], dtype=float)
    else:
        sample = sample_from_runs(runs, problem, design.get("n_points"), source=source)
    available = metric_columns(successful_runs(runs), _problem_names(problem))
    if metrics is None:
        metrics = available
    for m in metrics:
        if m not in available:
            raise InputError(
                f"unknown metric {m!r}{_did_you_mean(m, available)}; available: {', '.join(available)}",
                file=source,
                field="metrics",
            )
    if not metrics:
        raise InputError("no numeric metric columns in the runs table", file=source, field="runs")
    common = dict(
        replicates=replicates,
        num_resamples=num_resamples,
        conf_level=conf_level,
        seed=seed,
        source=source,
    )
    variants = list(pd.unique(runs["variant"].astype(str))) if "variant" in runs.columns else [None]
    frames = []
    for variant in variants:
        sub = runs if variant is None else runs.loc[runs["variant"].astype(str) == variant]
        if method == "sobol":
            f = sobol_indices(
                sub, problem, sample, list(metrics),
                calc_second_order=design.get("calc_second_order"), **common,
            )  # fmt: skip
        else:
            f = morris_indices(
                sub, problem, sample, list(metrics), num_levels=int(design.get("num_levels") or 4),
                **common,
            )  # fmt: skip
        if len(variants) > 1:
            f.insert(0, "variant", variant)
        frames.append(f)
    return pd.concat(frames, ignore_index=True)
