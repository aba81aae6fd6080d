"""Firm-dynamics stylised facts: size-distribution tail, growth-rate shape, entry and exit.

Estimators and targets follow Axtell (2001, Science 293); Stanley et al. (1996, Nature 379);
Amaral et al. (1997, Physica A 244); Gabaix & Ibragimov (2011, JBES 29(1)); Clauset, Shalizi &
Newman (2009, SIAM Review 51(4)); Bartelsman, Scarpetta & Schivardi (2005, Industrial and Corporate
Change 14(3)).
The targets and acceptance bands are in docs/THEORY.md section 9.  Sizes are in any positive unit
(workers, output in CNY m); every estimate is scale-free.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from agglomeration.errors import InputError
from agglomeration.metrics._checks import as_array, same_shape

__all__ = [
    "EntryExit",
    "GrowthFit",
    "TailFit",
    "entry_exit_rates",
    "growth_rate_fit",
    "tail_exponent",
]

_METHODS = ("mle", "hill", "rank-1/2")


@dataclass(frozen=True)
class TailFit:
    """Pareto tail fit ``P(S > s) ~ s^-alpha`` (alpha is the CCDF / rank-size exponent; the density
    exponent is 1 + alpha).  ``se`` is the asymptotic standard error, ``xmin`` the lower cut-off,
    ``n_tail`` the observations used, ``ks`` the Kolmogorov-Smirnov distance between the tail's
    empirical CDF and the fitted Pareto CDF."""

    alpha: float
    se: float
    xmin: float
    n_tail: int
    method: str
    ks: float

    def ci(self, level: float = 0.95) -> tuple[float, float]:
        """Normal-approximation confidence interval ``alpha +- z se``."""
        from scipy import stats  # here, not at import: scipy.stats costs ~0.4 s at start-up

        q = stats.norm.ppf(0.5 + level / 2)
        return self.alpha - q * self.se, self.alpha + q * self.se


def _mle_alpha(tail: np.ndarray, xmin: float) -> float:
    return tail.size / np.sum(np.log(tail / xmin))


def _ks(tail: np.ndarray, xmin: float, alpha: float) -> float:
    t = np.sort(tail)
    m = t.size
    fit = 1.0 - (t / xmin) ** (-alpha)
    emp_hi = np.arange(1, m + 1) / m
    emp_lo = np.arange(0, m) / m
    return float(max(np.max(np.abs(emp_hi - fit)), np.max(np.abs(emp_lo - fit))))


def _choose_xmin(x: np.ndarray, min_tail: int, max_candidates: int = 400) -> float:
    """Clauset-Shalizi-Newman (2009): the xmin minimising the KS distance of the MLE fit."""
    xs = np.sort(x)
    cands = np.unique(xs[: xs.size - _min_keep(min_tail, xs.size) + 1])
    if cands.size > max_candidates:
        cands = np.unique(np.quantile(cands, np.linspace(0, 1, max_candidates), method="lower"))
    best, best_d = cands[0], np.inf
    for xm in cands:  # loop over candidate cut-offs (analysis-time, not per model step)
        tail = xs[xs >= xm]
        if tail.size < min_tail or np.all(tail == xm):
            continue
        d = _ks(tail, xm, _mle_alpha(tail, xm))
        if d < best_d:
            best, best_d = xm, d
    return float(best)


def _min_keep(min_tail: int, n: int) -> int:
    """Number of observations that must remain above a candidate xmin (at least 2)."""
    return max(2, min(min_tail, n))


def tail_exponent(
    sizes: Any,
    method: Literal["mle", "hill", "rank-1/2"] = "mle",
    xmin: float | None = None,
    k: int | None = None,
    min_tail: int = 50,
) -> TailFit:
    """Pareto tail exponent alpha of a size distribution, with its standard error.

    Methods (docs/THEORY.md section 9.4):

    * ``"mle"`` (continuous Pareto MLE / Hill with threshold xmin): ``alpha = n / sum ln(x_i/xmin)``
      over the n sizes >= xmin; ``se = alpha / sqrt(n)``.
    * ``"hill"`` (Hill 1975) with the k largest order statistics:
      ``alpha = [(1/k) sum_{i=1..k} ln X_(i) - ln X_(k+1)]^-1``, ``se = alpha / sqrt(k)``;
      ``xmin`` is then X_(k+1).  Default k = n_tail - 1 where n_tail is the count >= xmin.
    * ``"rank-1/2"`` (Gabaix & Ibragimov 2011, JBES 29(1):24-39): OLS of ``ln(rank - 1/2)`` on
      ``ln size`` over sizes >= xmin, alpha = -slope, ``se = alpha sqrt(2/n)`` (not the OLS s.e.).

    ``xmin=None`` chooses the cut-off by minimising the KS distance of the MLE fit (Clauset,
    Shalizi & Newman 2009, SIAM Review 51(4):661-703), keeping at least ``min_tail`` observations.
    Axtell (2001) finds alpha ~ 1.06 for US firms; with a few hundred firms alpha is only pinned to
    about +-0.15.

    Raises InputError for non-positive sizes, fewer than 3 observations in the tail, or a tail of
    identical sizes.
    """
    if method not in _METHODS:
        raise InputError(f"expected one of {_METHODS}, got {method!r}", field="method")
    x = as_array(sizes, "sizes", ndim=1, positive=True, allow_empty=False)
    if x.size < 3:
        raise InputError(f"need at least 3 sizes, got {x.size}", field="sizes")
    if xmin is None:
        if method == "hill" and k is not None:
            xmin = float(np.sort(x)[::-1][min(k, x.size - 1)])
        else:
            xmin = _choose_xmin(x, min_tail)
    elif not (np.isfinite(xmin) and xmin > 0):
        raise InputError(f"expected xmin > 0, got {xmin!r}", field="xmin")
    tail = x[x >= xmin]
    if tail.size < 3:
        raise InputError(f"only {tail.size} sizes >= xmin={xmin:g}; need at least 3", field="xmin")
    if np.all(tail == tail[0]):
        raise InputError(
            "all sizes in the tail are equal; the tail exponent is undefined", field="sizes"
        )

    if method == "mle":
        alpha = _mle_alpha(tail, xmin)
        n = tail.size
        se = alpha / np.sqrt(n)
    elif method == "hill":
        desc = np.sort(x)[::-1]
        if k is None:
            k = tail.size - 1
        if not (isinstance(k, int | np.integer) and 1 <= k < x.size):
            raise InputError(f"expected an integer k in [1, {x.size - 1}], got {k!r}", field="k")
        xmin = float(desc[k])
        logs = np.log(desc[:k])
        alpha = 1.0 / (logs.mean() - np.log(xmin))
        n = int(k)
        se = alpha / np.sqrt(n)
        tail = desc[:k]
    else:
        desc = np.sort(tail)[::-1]
        n = desc.size
        rank = np.arange(1, n + 1)
        slope = np.polyfit(np.log(desc), np.log(rank - 0.5), 1)[0]
        alpha = -slope
        se = alpha * np.sqrt(2.0 / n)
    ks = _ks(tail, xmin, alpha)
    return TailFit(float(alpha), float(se), float(xmin), int(n), method, ks)


@dataclass(frozen=True)
class GrowthFit:
    """Shape of log growth rates ``g = ln(S_t1 / S_t0)`` of surviving firms.

    ``loglik_laplace`` / ``loglik_normal``: maximised log-likelihoods (2 parameters each; Laplace
    wins in firm data, Stanley et al. 1996); ``laplace_location``, ``laplace_scale`` (b, so sd =
    b sqrt 2), ``mean``, ``sd``: ML parameters; ``excess_kurtosis`` (Laplace: 3, normal: 0);
    ``beta``: size-variance slope, sd(g | size) ~ size^-beta, from an OLS of ln sd(g) on ln mean
    size over ``n_bins`` size-quantile bins (firm data: 0.15-0.20); ``gibrat_slope``: OLS slope of
    g on ln S_t0 (Gibrat's law: ~0); ``n``: survivors used.
    """

    n: int
    mean: float
    sd: float
    laplace_location: float
    laplace_scale: float
    loglik_normal: float
    loglik_laplace: float
    excess_kurtosis: float
    beta: float
    gibrat_slope: float

    @property
    def laplace_preferred(self) -> bool:
        """True when the Laplace fit has the higher likelihood (same parameter count)."""
        return self.loglik_laplace > self.loglik_normal


def growth_rate_fit(sizes_t0: Any, sizes_t1: Any, n_bins: int = 10) -> GrowthFit:
    """Fit Laplace and normal distributions to firm log growth rates and measure size scaling.

    ::

        g_i = ln(S_i,t1 / S_i,t0)            for firms alive at both dates (both sizes > 0)
        normal:  logL = -n/2 ln(2 pi s^2) - n/2,  s^2 = mean (g - mean g)^2
        Laplace: logL = -n ln(2 b) - n,            m = median g, b = mean |g - m|
        sd(g | S) ~ S^-beta                       (Stanley et al. 1996; Amaral et al. 1997)

    ``sizes_t0`` and ``sizes_t1`` are aligned per firm (same shape, >= 0; a size of 0 marks a firm
    absent at that date and is excluded: entrants and exits).  ``beta`` is NaN when fewer than 3
    bins have at least 2 firms.  Raises InputError for fewer than 3 survivors or mismatched shapes.
    """
    s0 = as_array(sizes_t0, "sizes_t0", ndim=1, nonneg=True)
    s1 = as_array(sizes_t1, "sizes_t1", ndim=1, nonneg=True)
    same_shape(s0, s1, "sizes_t0", "sizes_t1")
    if not isinstance(n_bins, int | np.integer) or n_bins < 3:
        raise InputError(f"expected an integer >= 3, got {n_bins!r}", field="n_bins")
    alive = (s0 > 0) & (s1 > 0)
    if alive.sum() < 3:
        raise InputError(
            f"need at least 3 firms alive at both dates, got {int(alive.sum())}", field="sizes_t1"
        )
    ls0 = np.log(s0[alive])
    g = np.log(s1[alive]) - ls0
    n = g.size
    mean = float(g.mean())
    sd = float(g.std())
    med = float(np.median(g))
    b = float(np.mean(np.abs(g - med)))
    ll_norm = -n / 2 * np.log(2 * np.pi * sd**2) - n / 2 if sd > 0 else np.nan
    ll_lap = -n * np.log(2 * b) - n if b > 0 else np.nan
    from scipy import stats  # here, not at import: scipy.stats costs ~0.4 s at start-up

    kurt = float(stats.kurtosis(g, fisher=True, bias=True)) if sd > 0 else np.nan

    # Size-variance scaling over quantile bins of initial size.
    edges = np.quantile(ls0, np.linspace(0, 1, n_bins + 1))
    idx = np.clip(np.searchsorted(edges, ls0, side="right") - 1, 0, n_bins - 1)
    cnt = np.bincount(idx, minlength=n_bins)
    sum_g = np.bincount(idx, weights=g, minlength=n_bins)
    sum_g2 = np.bincount(idx, weights=g * g, minlength=n_bins)
    sum_s = np.bincount(idx, weights=np.exp(ls0), minlength=n_bins)
    ok = cnt >= 2
    beta = np.nan
    if ok.sum() >= 3:
        c = cnt[ok]
        var = (sum_g2[ok] - sum_g[ok] ** 2 / c) / (c - 1)
        good = var > 0
        if good.sum() >= 3:
            msize = (sum_s[ok] / c)[good]
            if np.ptp(np.log(msize)) > 0:
                beta = -float(np.polyfit(np.log(msize), 0.5 * np.log(var[good]), 1)[0])
    gib = float(np.polyfit(ls0, g, 1)[0]) if np.ptp(ls0) > 0 else np.nan
    return GrowthFit(n, mean, sd, med, b, float(ll_norm), float(ll_lap), kurt, beta, gib)


@dataclass(frozen=True)
class EntryExit:
    """Firm turnover between two dates: counts and rates relative to the firms alive at t0.

    ``entry_rate = entrants / n_t0``, ``exit_rate = exits / n_t0``, ``turnover = entry + exit``,
    ``net_growth = (n_t1 - n_t0) / n_t0``; rates are NaN when ``n_t0 = 0``.
    """

    n_t0: int
    n_t1: int
    entrants: int
    exits: int
    entry_rate: float
    exit_rate: float
    turnover: float
    net_growth: float


def entry_exit_rates(ids_t0: Any, ids_t1: Any) -> EntryExit:
    """Entry and exit rates from the ids of the firms alive at two dates.

    ``entry_t = entrants_t / N_{t-1}``, ``exit_t = exits_t / N_{t-1}`` (Bartelsman, Scarpetta &
    Schivardi 2005 report turnover ~20% a year, read as entry ~ exit ~ 8-10%; docs/THEORY.md 9.3).
    Entrants are ids in ``ids_t1`` not in ``ids_t0``; exits the reverse (a relocation keeps its id
    and is neither).  Rates are per interval between the two dates (one step = one quarter by
    default; compare dates four steps apart for annual rates).  Duplicate ids raise InputError.
    """
    a = np.asarray(ids_t0)
    b = np.asarray(ids_t1)
    for name, v in (("ids_t0", a), ("ids_t1", b)):
        if v.ndim != 1:
            raise InputError(f"expected a 1-D array of firm ids, got shape {v.shape}", field=name)
        if np.unique(v).size != v.size:
            raise InputError("firm ids must be unique", field=name)
    entrants = int(np.sum(~np.isin(b, a)))
    exits = int(np.sum(~np.isin(a, b)))
    n0, n1 = a.size, b.size
    if n0 == 0:
        return EntryExit(0, n1, entrants, exits, np.nan, np.nan, np.nan, np.nan)
    return EntryExit(
        n0, n1, entrants, exits, entrants / n0, exits / n0, (entrants + exits) / n0, (n1 - n0) / n0
    )
