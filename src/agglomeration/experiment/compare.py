"""Statistical comparison of the variants of a batch against a baseline variant.

Pure functions on pandas frames (the ``runs`` / ``series`` tables of the result store), so they are usable
on any table with the same columns and testable on synthetic data.

What is computed, per variant and metric (one *observation* = one successful run):

- ``n``, ``mean``, ``sd`` (sample standard deviation, ddof = 1), ``se`` = sd / sqrt(n), the 95 % t-based
  confidence interval of the mean (``ci_low``, ``ci_high``, ``half_width``) and, optionally, a percentile
  bootstrap interval (``boot_low``, ``boot_high``) from a seeded numpy Generator.
- Against the baseline variant: the difference ``variant - baseline`` of means and its 95 % CI.

  * **Paired** (common random numbers): when the runs of both variants share their ``seed`` values
    (replicate *r* of every variant uses the same seed stream), runs are matched by seed and the
    comparison uses the per-seed differences (a run whose twin failed is left out, with a note): paired t test (``scipy.stats.ttest_rel``), Wilcoxon
    signed-rank test (``scipy.stats.wilcoxon``) and the standardised mean difference d_z = mean(d) / sd(d).
  * **Unpaired** otherwise: Welch t test and Welch-Satterthwaite CI (``ttest_ind(equal_var=False)``),
    Mann-Whitney U (``mannwhitneyu``) and Cohen's d with the pooled standard deviation.

  Cliff's delta (P(X > Y) - P(X < Y) over all pairs of a variant run X and a baseline run Y) is reported in
  both cases as a distribution-free effect size; for paired data it still treats the runs as two samples.
- Holm step-down adjustment of the p values across all (variant, metric) comparisons of the table, done
  separately for the parametric (t) and the rank-based test family: ``p_t_holm``, ``p_rank_holm``.
- Replication advice: the CI half-width reached with the present replicates and the number of replicates
  needed for a requested precision.  Precision is *relative* by default (target half-width =
  ``precision * |mean|``, e.g. 0.01 = the mean known to +-1 %) or *absolute* (target half-width =
  ``precision`` in the metric's own unit).  The number needed is the smallest n >= 2 with
  t(0.975, n-1) * sd / sqrt(n) <= target, with sd estimated from the present runs.

Runs whose ``status`` is not a success (``failed``, ``error``, ...) are left out and counted in ``n_failed``.

Presentation-aware details (the metric registry, :mod:`agglomeration.metrics.registry`):

- Intervals stay on the metric's valid scale: the CI of the mean of a *share* is the t interval on the
  logit scale (delta method: logit(m) +- t se / (m (1 - m)), transformed back), so it stays inside
  [0, 1]; the CI of another bounded metric is intersected with its valid range (the intersection keeps
  the coverage, since the true mean lies in the range).  ``interval`` names the method per row.
- Differences of shares are also given in percentage points (``diff_pp``); the percent change
  ``diff_pct`` is given only for ratio-scale metrics (non-negative counts, money, indices) whose
  baseline mean is clearly above zero (its CI excludes 0) - a percent change of a share or of a base
  near zero is misleading.
- A metric that takes one value in every run (``firms_other = 0``) is left out of the tests and
  listed once in :attr:`Comparison.constant`.
- Effect sizes and t tests are NA (NaN) when undefined: fewer than two pairs, or differences without
  variation (a standard deviation below 1e-12 of the values' magnitude, which is rounding noise).
"""

from __future__ import annotations

import difflib
import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from agglomeration.errors import InputError
from agglomeration.metrics.registry import REGISTRY, MetricInfo, MetricRegistry

#: Columns of the ``runs`` table that are bookkeeping, not metrics.
RESERVED_COLUMNS = frozenset(
    {
        "run_id",
        "id",
        "variant",
        "replicate",
        "seed",
        "seed_entropy",
        "spawn_key",
        "status",
        "error",
        "traceback",
        "wall_time_s",
        "started",
        "finished",
        "start_time",
        "end_time",
        "host",
        "worker",
        "fingerprint",
        "scenario_fingerprint",
        "design_point",
        "point",
        "design_index",
        "sample_index",
        "step",
        "steps",
        "steps_run",
        "attempt",
        "pid",
        "finished_at",
        "seed_spawn_key",
    }
)

#: ``status`` values that mark a run as not usable.
FAILED_STATUSES = frozenset(
    {"failed", "error", "crashed", "timeout", "killed", "cancelled", "interrupted"}
)

CONFIDENCE = 0.95
#: Most bootstrap resamples accepted (the CI of a mean does not change visibly beyond ~10,000).
MAX_BOOTSTRAP = 100_000
#: Largest number of replicates the advice reports; beyond it the target counts as unreachable.
MAX_REPLICATES_ADVICE = 10**9
#: A standard deviation below this fraction of the values' magnitude is rounding noise, i.e. zero.
ZERO_SD_RTOL = 1e-12


def _did_you_mean(name: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _failed_mask(runs: pd.DataFrame) -> pd.Series:
    status = runs["status"].astype("string").str.lower().fillna("")
    return status.isin(FAILED_STATUSES)


def successful_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """Rows of ``runs`` that finished successfully (all rows when there is no ``status`` column)."""
    return runs if "status" not in runs.columns else runs.loc[~_failed_mask(runs)]


def failed_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """Rows of ``runs`` that failed or were interrupted (the complement of :func:`successful_runs`)."""
    return runs.iloc[0:0] if "status" not in runs.columns else runs.loc[_failed_mask(runs)]


def metric_columns(frame: pd.DataFrame, parameter_columns: Iterable[str] = ()) -> list[str]:
    """Numeric columns of a runs/series frame that hold metrics.

    Excludes the bookkeeping columns (:data:`RESERVED_COLUMNS`), the design-point ``parameter_columns``
    and dotted override paths (``policy.delegation.WZ``), which are parameters by construction.
    """
    skip = set(RESERVED_COLUMNS) | set(parameter_columns)
    out = []
    for col in frame.columns:
        name = str(col)
        if name in skip or "." in name:
            continue
        if pd.api.types.is_numeric_dtype(frame[col]) and not pd.api.types.is_bool_dtype(frame[col]):
            out.append(name)
    return out


def _with_zone_shares(at: pd.DataFrame) -> pd.DataFrame:
    """``at`` (series rows) with the final metrics' firm shares of the zone network and of the
    connected areas (``observe.headline_metrics``) derived from the series' firm counts by region
    type, the same ratios, where the series has the counts but not the shares."""
    if "firms" not in at.columns:
        return at
    total = np.maximum(at["firms"].to_numpy(dtype=float), 1.0)
    extra = {}
    if "firms_connected" in at.columns and "connected_firm_share" not in at.columns:
        extra["connected_firm_share"] = at["firms_connected"].to_numpy(dtype=float) / total
    if {"firms_ftz", "firms_connected"} <= set(at.columns) and "zone_firm_share" not in at.columns:
        zone = at["firms_ftz"].to_numpy(dtype=float) + at["firms_connected"].to_numpy(dtype=float)
        extra["zone_firm_share"] = zone / total
    return at.assign(**extra) if extra else at


def _with_run_totals(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` (runs or series rows) with ``entries_total`` / ``exits_total`` over every region
    (``observe.demography_by_type``) derived as the sums of their per-type columns where a store of an
    earlier version has those but not the totals (the same sums, so old and new stores compare alike)."""
    from agglomeration.region_types import REGION_TYPES

    extra = {}
    for stem in ("entries_total", "exits_total"):
        parts = [f"{stem}_{t}" for t in REGION_TYPES]
        if stem not in frame.columns and set(parts) <= set(frame.columns):
            extra[stem] = frame[parts].sum(axis=1, skipna=False)
    return frame.assign(**extra) if extra else frame


def observations(
    runs: pd.DataFrame,
    *,
    series: pd.DataFrame | None = None,
    at_step: int | None = None,
    metrics: Sequence[str] | None = None,
    parameter_columns: Iterable[str] = (),
    source: str = "runs",
) -> tuple[pd.DataFrame, list[str]]:
    """One row per successful run with the columns ``run_id, variant, seed, replicate`` and the metrics.

    With ``at_step`` the metric values are taken from ``series`` at that step instead of the final metrics
    of ``runs``.  Returns the frame and the list of metric names.  Unknown metrics, a missing ``variant``
    column or a step that was not recorded raise :class:`InputError`.
    """
    if "variant" not in runs.columns:
        raise InputError("the runs table has no 'variant' column", file=source, field="runs")
    ok = successful_runs(runs)
    keys = [c for c in ("run_id", "variant", "seed", "replicate", "point") if c in ok.columns]
    if at_step is None:
        ok = _with_run_totals(ok)
        table, table_name = ok, "runs"
        available = metric_columns(ok, parameter_columns)
    else:
        if series is None or series.empty:
            raise InputError(
                "--at-step needs the per-step series table, but the results hold none",
                file=source,
                field="series",
            )
        steps = series["step"].to_numpy()
        if not np.any(steps == at_step):
            raise InputError(
                f"step {at_step} was not recorded; recorded steps run from {int(steps.min())} to "
                f"{int(steps.max())} ({np.unique(steps).size} distinct)",
                file=source,
                field="series.step",
            )
        at = _with_run_totals(_with_zone_shares(series.loc[series["step"] == at_step]))
        available = metric_columns(at, parameter_columns)
        table = ok[keys].merge(at[["run_id", *available]], on="run_id", how="inner")
        table_name = f"series (step {at_step})"
    if metrics is None:
        chosen = available
    else:
        chosen = list(metrics)
        for m in chosen:
            if m not in available:
                raise InputError(
                    f"unknown metric {m!r} in the {table_name} table{_did_you_mean(m, available)}; "
                    f"available: {', '.join(available)}",
                    file=source,
                    field="metrics",
                )
    if not chosen:
        raise InputError(f"no numeric metric columns in the {table_name} table", file=source)
    obs = table[keys + chosen].reset_index(drop=True)
    return obs, chosen


def label_design_points(runs: pd.DataFrame, parameter_columns: Iterable[str] = ()) -> pd.DataFrame:
    """Runs with ``variant`` relabelled per design point when a variant spans several points.

    In a grid (or sampled) design every variant is run at several design points; pooling them would mix
    different parameter settings, so each (variant, point) becomes its own group, labelled
    ``"variant [param=value, ...]"`` (:func:`short_parameter_names`; values to 4 significant digits, more
    where two values of the design would read alike) or
    ``"variant [point i]"`` when the parameter columns are unknown.  Runs with one point per variant are
    returned unchanged.
    """
    if "point" not in runs.columns or "variant" not in runs.columns:
        return runs
    if runs.groupby("variant")["point"].nunique().max() <= 1:
        return runs
    params = [c for c in dict.fromkeys(parameter_columns) if c in runs.columns]
    if not params:
        params = [c for c in runs.columns if "." in str(c)]
    short = short_parameter_names(params)
    if params:
        values = [_value_texts(runs[c]) for c in params]
        text = [", ".join(f"{n}={v}" for n, v in zip(short, row)) for row in zip(*values)]
    else:
        text = [f"point {p}" for p in runs["point"]]
    out = runs.copy()
    out["variant"] = [f"{v} [{t}]" for v, t in zip(runs["variant"].astype(str), text)]
    return out


def short_parameter_names(params: Sequence[str]) -> list[str]:
    """Concise, distinct names of dotted parameter paths for condition labels: the last component
    (``rail``), the last two where those collide (``tariff_multiplier.rail``,
    ``handling_fee.rail``), else the whole path."""
    for depth in (1, 2):
        short = [".".join(str(c).split(".")[-depth:]) for c in params]
        if len(set(short)) == len(short):
            return short
    return [str(c) for c in params]


def _value_texts(values: pd.Series) -> list[str]:
    """The values of one parameter as label text: 4 significant digits, more where that would make
    two different values of the design read alike (0.12341 and 0.12344)."""
    items = list(values)
    distinct = {v for v in items if isinstance(v, float) and v == v}
    digits = next(
        (d for d in (4, 6, 8, 10, 12) if len({f"{v:.{d}g}" for v in distinct}) == len(distinct)),
        17,
    )
    return [f"{v:.{digits}g}" if isinstance(v, float) else str(v) for v in items]


def t_interval(mean: np.ndarray, sd: np.ndarray, n: np.ndarray, confidence: float = CONFIDENCE):
    """Half-width of the t-based confidence interval of a mean (NaN for n < 2)."""
    n = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        tcrit = np.where(n >= 2, stats.t.ppf(0.5 + confidence / 2, np.maximum(n - 1, 1)), np.nan)
        return tcrit * np.asarray(sd, dtype=float) / np.sqrt(n)


def bootstrap_ci(
    x: np.ndarray, *, resamples: int = 2000, confidence: float = CONFIDENCE, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of ``x`` (vectorised; seeded via SeedSequence)."""
    x = np.asarray(x, dtype=float)
    if x.size < 2:
        return math.nan, math.nan
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    # resample in chunks of at most ~4 M draws so memory stays bounded (32 MB) for any sizes
    chunk = max(1, 4_000_000 // x.size)
    means = np.empty(resamples)
    for start in range(0, resamples, chunk):
        stop = min(start + chunk, resamples)
        idx = rng.integers(0, x.size, size=(stop - start, x.size))
        means[start:stop] = x[idx].mean(axis=1)
    alpha = 1 - confidence
    lo, hi = np.quantile(means, [alpha / 2, 1 - alpha / 2])
    return float(lo), float(hi)


def cliffs_delta(x: np.ndarray, y: np.ndarray) -> float:
    """Cliff's delta = P(X > Y) - P(X < Y) over all pairs, in O((n + m) log m) via sorting."""
    x = np.asarray(x, dtype=float)
    y = np.sort(np.asarray(y, dtype=float))
    if x.size == 0 or y.size == 0:
        return math.nan
    less = np.searchsorted(y, x, side="left")  # y < x
    greater = y.size - np.searchsorted(y, x, side="right")  # y > x
    return float((less.sum() - greater.sum()) / (x.size * y.size))


def holm(pvalues: Sequence[float] | np.ndarray) -> np.ndarray:
    """Holm step-down adjusted p values; NaN entries stay NaN and do not count in the family size."""
    p = np.asarray(pvalues, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(~np.isnan(p))
    m = ok.size
    if m == 0:
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    scaled = (m - np.arange(m)) * p[order]
    out[order] = np.minimum(np.maximum.accumulate(scaled), 1.0)
    return out


def _pairable(base: pd.DataFrame, var: pd.DataFrame) -> bool:
    """Common random numbers: pair keys (the seed, or design point and seed in a sampled design) unique
    within each variant, and at least 2 (and at least half of the smaller variant's runs) shared.  Runs
    without a partner (e.g. a failed twin) are left out of a paired comparison; independent seed
    streams share no seed and are compared unpaired."""
    key = "pair" if "pair" in base.columns else "seed"
    if key not in base.columns or base[key].isna().any() or var[key].isna().any():
        return False
    bs, vs = base[key], var[key]
    if not (bs.is_unique and vs.is_unique):
        return False
    common = len(set(bs) & set(vs))
    return common >= 2 and 2 * common >= min(len(bs), len(vs))


def _quiet(fn, *args, **kwargs) -> float:
    """p value of a scipy test, NaN when the test is undefined (e.g. all differences zero)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return float(fn(*args, **kwargs).pvalue)
        except ValueError:
            return math.nan


def _negligible(sd: float, *values: np.ndarray) -> bool:
    """Whether a standard deviation is zero up to rounding (relative to the values' magnitude)."""
    if not np.isfinite(sd):
        return True
    scale = max((float(np.nanmax(np.abs(v))) for v in values if v.size), default=0.0)
    return sd <= ZERO_SD_RTOL * max(scale, 1e-300)


def compare_pair(
    baseline: np.ndarray,
    variant: np.ndarray,
    *,
    paired: bool,
    confidence: float = CONFIDENCE,
) -> dict[str, float | bool]:
    """Difference ``variant - baseline`` with its CI, two tests and two effect sizes.

    For ``paired=True`` the arrays must be aligned (element i of both from the same seed).  When the
    differences (paired) or both samples (unpaired) do not vary, the tests and the standardised effect
    are undefined and returned as NaN, and the CI is the difference itself (``undefined`` says why).
    """
    b = np.asarray(baseline, dtype=float)
    v = np.asarray(variant, dtype=float)
    q = 0.5 + confidence / 2
    why = ""
    with np.errstate(invalid="ignore", divide="ignore"):
        if paired:
            d = v - b
            n = d.size
            diff = d.mean() if n else math.nan
            sd_d = d.std(ddof=1) if n > 1 else math.nan
            flat = n > 1 and _negligible(sd_d, b, v)
            if n < 2:
                why = "fewer than 2 pairs"
                half, p_t, p_rank, effect = math.nan, math.nan, math.nan, math.nan
            elif flat:
                why = "the paired differences do not vary"
                half, p_t, p_rank, effect = 0.0, math.nan, math.nan, math.nan
            else:
                half = stats.t.ppf(q, n - 1) * sd_d / math.sqrt(n)
                p_t = _quiet(stats.ttest_rel, v, b)
                p_rank = _quiet(stats.wilcoxon, v, b) if np.any(d != 0) else math.nan
                effect = diff / sd_d
            effect_kind = "d_z"
            t_test, rank_test = "paired t", "Wilcoxon signed-rank"
        else:
            nb, nv = b.size, v.size
            diff = v.mean() - b.mean() if nb and nv else math.nan
            vb = b.var(ddof=1) if nb > 1 else math.nan
            vv = v.var(ddof=1) if nv > 1 else math.nan
            se2 = vb / nb + vv / nv if nb and nv else math.nan
            pooled = (
                math.sqrt(((nb - 1) * vb + (nv - 1) * vv) / (nb + nv - 2))
                if nb > 1 and nv > 1
                else math.nan
            )
            if min(nb, nv) < 2:
                why = "fewer than 2 runs in a group"
                half, p_t, p_rank, effect = math.nan, math.nan, math.nan, math.nan
            elif _negligible(pooled, b, v):
                why = "the runs do not vary within either group"
                half, p_t, effect = 0.0, math.nan, math.nan
                p_rank = _quiet(stats.mannwhitneyu, v, b, alternative="two-sided")
            else:
                df = se2**2 / ((vb / nb) ** 2 / (nb - 1) + (vv / nv) ** 2 / (nv - 1))
                half = stats.t.ppf(q, df) * math.sqrt(se2)
                p_t = _quiet(stats.ttest_ind, v, b, equal_var=False)
                p_rank = _quiet(stats.mannwhitneyu, v, b, alternative="two-sided")
                effect = diff / pooled
            effect_kind = "Cohen's d"
            t_test, rank_test = "Welch t", "Mann-Whitney U"
    return {
        "paired": paired,
        "diff": float(diff),
        "diff_ci_low": float(diff - half),
        "diff_ci_high": float(diff + half),
        "t_test": t_test,
        "p_t": p_t,
        "rank_test": rank_test,
        "p_rank": p_rank,
        "effect_kind": effect_kind,
        "effect": float(effect),
        "cliffs_delta": cliffs_delta(v, b),
        "undefined": why,
    }


def replicates_needed(sd: float, target_half_width: float, confidence: float = CONFIDENCE) -> float:
    """Smallest n >= 2 with t(q, n-1) * sd / sqrt(n) <= target (NaN if sd or target is not usable;
    ``inf`` when it would exceed :data:`MAX_REPLICATES_ADVICE`)."""
    if not (np.isfinite(sd) and np.isfinite(target_half_width)) or target_half_width <= 0:
        return math.nan
    if sd == 0:
        return 2.0
    q = 0.5 + confidence / 2
    with np.errstate(over="ignore"):
        normal_n = (stats.norm.ppf(q) * sd / target_half_width) ** 2
    if not normal_n <= MAX_REPLICATES_ADVICE:  # also inf / nan from an absurd precision
        return math.inf
    n = max(2, math.ceil(normal_n))

    def ok(m: int) -> bool:
        return stats.t.ppf(q, m - 1) * sd / math.sqrt(m) <= target_half_width

    # the t quantile exceeds z, so the normal-theory n is a lower bound: double, then bisect.
    if ok(n):
        return float(n)
    lo, hi = n, 2 * n
    while not ok(hi):
        lo, hi = hi, 2 * hi
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if ok(mid) else (mid, hi)
    n = hi
    return float(n)


def mean_intervals(
    mean: np.ndarray,
    sd: np.ndarray,
    n: np.ndarray,
    info: MetricInfo,
    confidence: float = CONFIDENCE,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`mean_interval` for arrays of means (the bands and whiskers of the figures, so they
    agree with the tables): ``(low, high)``, NaN where the interval is undefined."""
    out = [
        mean_interval(float(m), float(s), float(k), info, confidence)[:2]
        for m, s, k in zip(np.asarray(mean, float), np.asarray(sd, float), np.asarray(n, float))
    ]
    if not out:
        return np.array([], float), np.array([], float)
    lo, hi = zip(*out)
    return np.array(lo, float), np.array(hi, float)


def mean_interval(
    mean: float, sd: float, n: float, info: MetricInfo, confidence: float = CONFIDENCE
) -> tuple[float, float, str]:
    """CI of a mean on the metric's valid scale: ``(low, high, method)``.

    Shares: the t interval on the logit scale (delta method), transformed back, so it lies in [0, 1];
    other metrics: the t interval intersected with the valid range ``[info.low, info.high]``.
    """
    half = float(t_interval(np.array([mean]), np.array([sd]), np.array([n]), confidence)[0])
    if not np.isfinite(half):
        return math.nan, math.nan, "t"
    if info.is_share:
        if half == 0 or not 0 < mean < 1:
            return info.clip(mean - half), info.clip(mean + half), "logit t"
        h = half / (mean * (1 - mean))
        centre = math.log(mean / (1 - mean))
        return (
            float(1 / (1 + math.exp(-(centre - h)))),
            float(1 / (1 + math.exp(-(centre + h)))),
            "logit t",
        )
    lo, hi = mean - half, mean + half
    if lo < info.low or hi > info.high:
        return info.clip(lo), info.clip(hi), "t, limited to the valid range"
    return lo, hi, "t"


def constant_metrics(obs: pd.DataFrame, metrics: Iterable[str]) -> dict[str, float]:
    """Metrics that take one value (up to rounding) in every row of ``obs``: name -> that value."""
    out: dict[str, float] = {}
    for m in metrics:
        x = pd.to_numeric(obs[m], errors="coerce").to_numpy(dtype=float)
        x = x[np.isfinite(x)]
        if x.size == 0:
            out[m] = math.nan
        elif np.ptp(x) <= ZERO_SD_RTOL * max(float(np.abs(x).max()), 1e-300):
            out[m] = float(x[0])
    return out


def constant_listing(constant: Mapping[str, float]) -> str:
    """``constant`` as text: ``name = value``, or ``name (no value in any run)`` for NaN."""
    return ", ".join(
        f"{m} (no value in any run)" if math.isnan(v) else f"{m} = {v:g}"
        for m, v in constant.items()
    )


@dataclass
class Comparison:
    """Result of :func:`compare`: three long tables and the settings that produced them.

    ``constant`` maps the metrics left out because they take one value in every run to that value;
    ``registry`` gives labels, units and kinds for presenting the tables (:mod:`agglomeration.report.tables`).
    """

    summary: pd.DataFrame
    comparisons: pd.DataFrame
    advice: pd.DataFrame
    baseline: str
    metrics: list[str]
    at_step: int | None = None
    notes: list[str] = field(default_factory=list)
    constant: dict[str, float] = field(default_factory=dict)
    registry: MetricRegistry = REGISTRY
    #: the variants whose runs are the baseline's, seed by seed (:func:`identical_to_baseline`)
    identical: dict[str, bool] = field(default_factory=dict)

    @property
    def family_size(self) -> int:
        """Number of t tests in the Holm family (comparisons with a defined p value)."""
        return int(self.comparisons["p_t"].notna().sum()) if not self.comparisons.empty else 0

    def table(self, *, numeric: bool = False) -> pd.DataFrame:
        """The publication table (one row per metric and variant; see
        :func:`agglomeration.report.tables.comparison_table`)."""
        from agglomeration.report.tables import comparison_table

        return comparison_table(self, numeric=numeric)

    def wide(self, digits: int = 3) -> pd.DataFrame:
        """The publication table as text (kept for scripts written against 0.1; same as :meth:`table`)."""
        return self.table()


def _choose_metrics(
    obs: pd.DataFrame, chosen: list[str], explicit: bool, registry: MetricRegistry, source: str
) -> tuple[list[str], dict[str, float]]:
    """Drop constant metrics from ``chosen``; without an explicit choice keep the primary ones."""
    constant = constant_metrics(obs, chosen)
    varying = [m for m in chosen if m not in constant]
    if not explicit:
        varying = registry.primary(varying)
    if not varying:
        raise InputError(
            "every chosen metric takes one value in every run that has a value, or has none "
            f"({constant_listing(constant)}): nothing to compare",
            file=source,
            field="metrics",
        )
    return varying, constant


def _summary(
    obs: pd.DataFrame,
    chosen: list[str],
    variants: list[str],
    failed: pd.Series,
    registry: MetricRegistry,
    confidence: float,
    bootstrap: int,
    seed: int,
) -> pd.DataFrame:
    long = obs.melt(
        id_vars=[c for c in ("run_id", "variant", "seed", "replicate") if c in obs.columns],
        value_vars=chosen,
        var_name="metric",
    )
    long = long.dropna(subset=["value"])
    g = long.groupby(["variant", "metric"], sort=False)["value"]
    summary = g.agg(n="count", mean="mean", sd="std")
    # a variant whose runs all failed, or a metric without a value in a variant's runs, keeps its row
    # (n = 0, with n_failed) instead of vanishing from the summary
    every = pd.MultiIndex.from_product([variants, chosen], names=["variant", "metric"])
    summary = summary.reindex(summary.index.union(every, sort=False)).reset_index()
    summary["n"] = summary["n"].fillna(0).astype(int)
    summary["se"] = summary["sd"] / np.sqrt(summary["n"])
    summary["half_width"] = t_interval(summary["mean"], summary["sd"], summary["n"], confidence)
    ci = [
        mean_interval(m, sd, n, registry.info(metric), confidence)
        for m, sd, n, metric in zip(summary["mean"], summary["sd"], summary["n"], summary["metric"])
    ]
    summary["ci_low"] = [c[0] for c in ci]
    summary["ci_high"] = [c[1] for c in ci]
    summary["interval"] = [c[2] for c in ci]
    summary["n_failed"] = summary["variant"].map(failed).fillna(0).astype(int)
    if bootstrap:
        boot = {
            key: bootstrap_ci(
                vals.to_numpy(), resamples=bootstrap, confidence=confidence, seed=seed
            )
            for key, vals in g
        }
        keys = list(zip(summary["variant"], summary["metric"]))
        none = (math.nan, math.nan)
        summary["boot_low"] = [boot.get(k, none)[0] for k in keys]
        summary["boot_high"] = [boot.get(k, none)[1] for k in keys]
    order = {v: i for i, v in enumerate(variants)}
    morder = {m: i for i, m in enumerate(chosen)}
    return summary.sort_values(
        ["variant", "metric"], key=lambda s: s.map(order if s.name == "variant" else morder)
    ).reset_index(drop=True)


def _comparisons(
    obs: pd.DataFrame,
    chosen: list[str],
    variants: list[str],
    baseline: str,
    paired: bool | None,
    confidence: float,
    source: str,
    notes: list[str],
) -> pd.DataFrame:
    rows = []
    base_obs = obs.loc[obs["variant"] == baseline]
    for variant in variants:
        if variant == baseline:
            continue
        var_obs = obs.loc[obs["variant"] == variant]
        is_paired = _pairable(base_obs, var_obs) if paired is None else paired
        if paired and not _pairable(base_obs, var_obs):
            raise InputError(
                f"cannot pair {variant!r} with {baseline!r}: their runs do not share the same seeds",
                file=source,
                field="paired",
            )
        if is_paired:
            merged = base_obs.merge(var_obs, on="pair", suffixes=("_b", "_v"))
            unmatched = len(base_obs) + len(var_obs) - 2 * len(merged)
            if unmatched:
                notes.append(
                    f"{variant}: {unmatched} run(s) without a same-seed partner left out of the "
                    "paired comparison"
                )
        for metric in chosen:
            if is_paired:
                pair = merged[[f"{metric}_b", f"{metric}_v"]].dropna()
                b, v = pair.iloc[:, 0].to_numpy(), pair.iloc[:, 1].to_numpy()
            else:
                b = base_obs[metric].dropna().to_numpy()
                v = var_obs[metric].dropna().to_numpy()
            res = compare_pair(b, v, paired=is_paired, confidence=confidence)
            if res["undefined"]:
                notes.append(f"{variant} / {metric}: {res['undefined']}; no test, effect size NA")
            rows.append(
                {"variant": variant, "baseline": baseline, "metric": metric, "n_baseline": b.size,
                 "n_variant": v.size, **res}
            )  # fmt: skip
    return pd.DataFrame(
        rows,
        columns=[
            "variant", "baseline", "metric", "n_baseline", "n_variant", "paired", "diff",
            "diff_ci_low", "diff_ci_high", "t_test", "p_t", "rank_test", "p_rank", "effect_kind",
            "effect", "cliffs_delta", "undefined",
        ],
    )  # fmt: skip


def _relative_differences(
    comparisons: pd.DataFrame, summary: pd.DataFrame, baseline: str, registry: MetricRegistry
) -> pd.DataFrame:
    """Add ``kind``, ``baseline_mean``, ``diff_pp`` (shares) and ``diff_pct`` (ratio scale, baseline
    clearly above 0) with their CIs; differences of shares are limited to [-1, 1]."""
    c = comparisons
    base = summary.loc[summary["variant"] == baseline].set_index("metric")
    info = {m: registry.info(m) for m in pd.unique(c["metric"])}
    c["kind"] = c["metric"].map(lambda m: info[m].kind)
    c["baseline_mean"] = c["metric"].map(base["mean"]).astype(float)
    share = c["kind"].eq("share").to_numpy()
    for col in ("diff_ci_low", "diff_ci_high"):
        c[col] = np.where(share, c[col].clip(-1.0, 1.0), c[col])
    base_low = c["metric"].map(base["ci_low"]).astype(float)
    ratio = c["metric"].map(lambda m: info[m].ratio_scale).astype(bool) & (base_low > 0)
    pairs = (("diff", ""), ("diff_ci_low", "_low"), ("diff_ci_high", "_high"))
    for src, dst in pairs:
        c[f"diff_pp{dst}"] = np.where(share, 100.0 * c[src], np.nan)
    for src, dst in pairs:
        with np.errstate(divide="ignore", invalid="ignore"):
            c[f"diff_pct{dst}"] = np.where(ratio, 100.0 * c[src] / c["baseline_mean"], np.nan)
    return c


def _check_options(
    precision: float | None, precision_kind: str, confidence: float, bootstrap: Any, source: str
) -> None:
    """InputError for an option of :func:`compare` out of its range."""
    if precision is not None and not (precision > 0 and math.isfinite(precision)):
        raise InputError(
            f"expected a positive number, got {precision}", file=source, field="precision"
        )
    if precision_kind not in ("relative", "absolute"):
        raise InputError(
            f"expected 'relative' or 'absolute', got {precision_kind!r}", field="precision_kind"
        )
    if not 0 < confidence < 1:
        raise InputError(f"expected a level in (0, 1), got {confidence}", field="confidence")
    if (
        isinstance(bootstrap, bool)
        or not isinstance(bootstrap, int | np.integer)
        or not 0 <= bootstrap <= MAX_BOOTSTRAP
    ):
        raise InputError(
            f"expected a number of resamples >= 0 and at most {MAX_BOOTSTRAP:,}, got {bootstrap!r}",
            file=source,
            field="bootstrap",
        )


def _stopped_early(runs: pd.DataFrame) -> str | None:
    """A note when successful runs ended before their ``steps`` (a ``[stop]`` condition held): their
    final values are at different steps, so a paired difference mixes steps."""
    if not {"steps_run", "steps"} <= set(runs.columns):
        return None
    ok = successful_runs(runs)
    ran = pd.to_numeric(ok["steps_run"], errors="coerce")
    short = ran < pd.to_numeric(ok["steps"], errors="coerce")
    if not short.any():
        return None
    return (
        f"{int(short.sum())} of {len(ok)} runs stopped early (a [stop] condition held; steps_run "
        f"{int(ran.min())}-{int(ran.max())}): their final values are at different steps, and so are "
        "the differences paired with them; `--at-step T` compares every run at step T"
    )


def compare(
    runs: pd.DataFrame,
    *,
    baseline: str | None = None,
    metrics: Sequence[str] | Literal["all"] | None = None,
    series: pd.DataFrame | None = None,
    at_step: int | None = None,
    precision: float | None = None,
    precision_kind: Literal["relative", "absolute"] = "relative",
    bootstrap: int = 0,
    paired: bool | None = None,
    parameter_columns: Iterable[str] = (),
    confidence: float = CONFIDENCE,
    seed: int = 0,
    source: str = "runs",
    registry: MetricRegistry = REGISTRY,
    design_kind: str = "",
) -> Comparison:
    """Compare every variant of ``runs`` with ``baseline`` on each metric.

    Parameters
    ----------
    runs:
        The result store's ``runs`` table (needs ``variant``; ``seed`` enables pairing; ``status`` filters).
    baseline:
        Name of the reference variant; default ``"baseline"`` if present, else the first variant in order
        of appearance.  When a variant spans several design points, each point is its own group (see
        :func:`label_design_points`) and ``baseline`` must name one of those labels.
    metrics:
        Metric columns to compare (the Holm family).  Default: the registry's primary metrics present
        (:meth:`MetricRegistry.primary`); ``"all"``: every metric.  Metrics that take one value in every
        run are always left out (listed in :attr:`Comparison.constant`).
    series, at_step:
        Use the per-step ``series`` table at step ``at_step`` instead of the final metrics.
    precision, precision_kind:
        Requested CI half-width for the replication advice, relative to |mean| or absolute (metric unit).
    bootstrap:
        Number of bootstrap resamples for a percentile CI of each mean (0 = none; at most
        :data:`MAX_BOOTSTRAP`).
    paired:
        Force paired (True) or unpaired (False) tests; default: paired when seeds are shared.
    parameter_columns:
        Design-point columns to exclude from the automatic metric choice.
    registry:
        Metric kinds and valid ranges (intervals on the valid scale; percentage points for shares).
    design_kind:
        The design of the batch.  For a sampled design (``lhs``, ``sobol``, ``morris``) a variant is one
        group over all its design points (its mean is the mean over the design's distribution, said in
        the notes) and runs are paired by design point and seed; for a grid every point is its own group.
    """
    _check_options(precision, precision_kind, confidence, bootstrap, source)
    explicit = metrics is not None and metrics != "all"
    sampled = design_kind in ("lhs", "sobol", "morris")
    if not sampled:
        runs = label_design_points(runs, parameter_columns)
    obs, chosen = observations(
        runs,
        series=series,
        at_step=at_step,
        metrics=list(dict.fromkeys(metrics)) if explicit else None,  # type: ignore[arg-type]
        parameter_columns=parameter_columns,
        source=source,
    )
    chosen, constant = _choose_metrics(obs, chosen, explicit or metrics == "all", registry, source)
    variants = list(pd.unique(runs["variant"].astype(str)))
    obs["variant"] = obs["variant"].astype(str)
    if "seed" in obs.columns:
        obs["pair"] = obs["seed"].astype("string")
        if sampled and "point" in obs.columns:
            obs["pair"] = obs["point"].astype("string") + ":" + obs["pair"]
    if baseline is None:
        baseline = "baseline" if "baseline" in variants else variants[0]
    elif baseline not in variants:
        raise InputError(
            f"unknown variant {baseline!r}{_did_you_mean(baseline, variants)}; "
            f"variants: {', '.join(variants)}",
            file=source,
            field="baseline",
        )
    failed = runs.groupby(runs["variant"].astype(str)).size() - obs.groupby(
        "variant"
    ).size().reindex(variants).fillna(0)
    summary = _summary(obs, chosen, variants, failed, registry, confidence, bootstrap, seed)
    notes: list[str] = []
    early = _stopped_early(runs) if at_step is None else None
    if early:
        notes.append(early)
    if sampled and "point" in obs.columns:
        notes.append(
            f"{design_kind} design: each variant's mean is over its {obs['point'].nunique()} design "
            "points (the design's distribution); runs are paired by design point and seed"
        )
    comparisons = _comparisons(obs, chosen, variants, baseline, paired, confidence, source, notes)
    comparisons["p_t_holm"] = holm(comparisons["p_t"].to_numpy())
    comparisons["p_rank_holm"] = holm(comparisons["p_rank"].to_numpy())
    comparisons = _relative_differences(comparisons, summary, baseline, registry)
    advice = replication_advice(summary, precision, precision_kind, confidence)
    everything, _ = observations(
        runs, series=series, at_step=at_step, parameter_columns=parameter_columns, source=source
    )
    identical = identical_to_baseline(runs, everything, baseline, sampled=sampled)
    return Comparison(
        summary,
        comparisons,
        advice,
        baseline,
        chosen,
        at_step,
        notes,
        constant,
        registry,
        identical,
    )


def identical_to_baseline(
    runs: pd.DataFrame, obs: pd.DataFrame, baseline: str, *, sampled: bool = False
) -> dict[str, bool]:
    """The variants whose runs are the baseline's, seed by seed, so every difference is zero.

    A variant counts when its successful runs and the baseline's pair one to one by seed (and design
    point in a sampled design) and each pair either runs the same resolved scenario (the runs'
    ``scenario_fingerprint``) for the same steps - identical by construction, value True - or agrees
    in every metric of ``obs`` (an override that sets a value the runs already had) - value False.
    """
    if "seed" not in obs.columns or "run_id" not in obs.columns:
        return {}
    keys = ["point", "seed"] if sampled and "point" in obs.columns else ["seed"]
    metrics = [
        c for c in obs.columns if c not in {"run_id", "variant", "replicate", "point", *keys}
    ]
    extra = [c for c in ("scenario_fingerprint", "steps") if c in runs.columns]
    table = obs.merge(runs[["run_id", *extra]].drop_duplicates("run_id"), on="run_id", how="left")
    table = table.assign(variant=table["variant"].astype(str))
    base = table.loc[table["variant"] == baseline].set_index(keys)
    if base.empty or base.index.has_duplicates:
        return {}
    out: dict[str, bool] = {}
    for name, var in table.loc[table["variant"] != baseline].groupby("variant", sort=False):
        var = var.set_index(keys)
        if var.index.has_duplicates or set(var.index) != set(base.index):
            continue
        twin = base.loc[var.index]
        same_runs = len(extra) == 2 and all(
            (var[c].astype(str).to_numpy() == twin[c].astype(str).to_numpy()).all() for c in extra
        )
        left, right = var[metrics], twin[metrics]
        same_values = bool(((left == right) | (left.isna() & right.isna())).all().all())
        if same_runs or same_values:
            out[str(name)] = same_runs
    return out


def replication_advice(
    summary: pd.DataFrame,
    precision: float | None,
    precision_kind: Literal["relative", "absolute"] = "relative",
    confidence: float = CONFIDENCE,
) -> pd.DataFrame:
    """Per variant and metric: replicates so far, CI half-width reached (absolute and relative to |mean|)
    and, if ``precision`` is given, the target half-width and the replicates needed to reach it."""
    adv = summary[["variant", "metric", "n", "mean", "sd", "half_width"]].copy()
    with np.errstate(invalid="ignore", divide="ignore"):
        adv["relative_half_width"] = adv["half_width"] / adv["mean"].abs()
    if precision is not None:
        if precision_kind == "relative":
            adv["target_half_width"] = precision * adv["mean"].abs()
        else:
            adv["target_half_width"] = float(precision)
        adv["precision_kind"] = precision_kind
        adv["replicates_needed"] = [
            replicates_needed(s, t, confidence) for s, t in zip(adv["sd"], adv["target_half_width"])
        ]
        adv["reached"] = adv["half_width"] <= adv["target_half_width"]
    return adv


def parameter_columns_from_manifest(manifest: Mapping | None) -> list[str]:
    """Names of design parameters found anywhere in a manifest (``problem.names``, ``parameters``)."""
    names: list[str] = []

    def walk(node, key=None):
        if isinstance(node, Mapping):
            for k, v in node.items():
                if k == "names" and isinstance(v, list) and all(isinstance(x, str) for x in v):
                    names.extend(v)
                elif k in ("parameters", "overrides") and isinstance(v, Mapping):
                    names.extend(str(x) for x in v)
                elif k == "parameters" and isinstance(v, list):
                    for item in v:
                        if isinstance(item, Mapping) and "name" in item:
                            names.append(str(item["name"]))
                        elif isinstance(item, str):
                            names.append(item)
                walk(v, k)
        elif isinstance(node, list):
            for item in node:
                walk(item, key)

    walk(manifest or {})
    return list(dict.fromkeys(names))
