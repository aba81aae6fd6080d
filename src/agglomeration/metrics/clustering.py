"""Spatial concentration and specialisation indices of industries across regions.

Pure functions: employment (or firm counts, or output) in, numbers out.  Formulas follow the
primary source named in each function's docstring (full references: docs/THEORY.md section 11)
and the R package REAT (Wieland, v3.0.3), whose documented examples the tests reproduce
(docs/METRICS.md, "Worked examples").

Notation (units: any non-negative activity measure, usually workers; every index is unit-free and
invariant to rescaling the measure):

* ``e_ir`` employment of industry i in region r; ``s_r = e_ir / e_i`` the region's share of the
  industry; ``x_r = e_r / e`` the region's share of total activity.

Degenerate inputs: negative, non-finite or mismatched inputs raise
:class:`agglomeration.errors.InputError` (``field`` = the argument name).  Indices that are
*undefined* for valid data (an industry with no employment, all activity in one region, a single
plant) return ``NaN``, as documented per function, so a model can record them every step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from agglomeration.errors import InputError
from agglomeration.metrics._checks import as_array, as_index, same_shape

__all__ = [
    "EGTest",
    "coagglomeration",
    "ellison_glaeser",
    "ellison_glaeser_test",
    "herfindahl",
    "hoover",
    "krugman_specialisation",
    "location_quotients",
    "locational_gini",
    "lq_gini",
    "maurel_sedillot",
    "sector_concentration",
]


def _shares(v: np.ndarray) -> np.ndarray:
    """``v / v.sum()``, or all-NaN when the total is zero."""
    total = v.sum()
    if total <= 0:
        return np.full(v.shape, np.nan)
    return v / total


def location_quotients(emp: Any) -> Any:
    """Location quotients of every region x sector cell.

    ``LQ_ir = (e_ir / e_r) / (e_i / e)`` (Florence; REAT ``locq``; BEA/IMPLAN use the same
    definition).  LQ > 1: region r is over-represented in sector i.  Unit-free.

    Parameters
    ----------
    emp:
        2-D regions x sectors employment (>= 0).  A DataFrame returns a DataFrame with the same
        index and columns.

    Returns
    -------
    Array (or DataFrame) of the same shape.  Cells of a region with no employment or of a sector
    with no employment are NaN (0/0); all NaN if total employment is zero.
    """
    arr = as_array(emp, "emp", ndim=2, nonneg=True)
    e_r = arr.sum(axis=1, keepdims=True)
    e_i = arr.sum(axis=0, keepdims=True)
    e = arr.sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        lq = (arr * e) / (e_r * e_i)
    lq = np.where((e_r > 0) & (e_i > 0), lq, np.nan)
    if isinstance(emp, pd.DataFrame):
        return pd.DataFrame(lq, index=emp.index, columns=emp.columns)
    return lq


def _industry_inputs(plant_emp: Any, plant_region: Any, region_emp: Any):
    z = as_array(plant_emp, "plant_emp", ndim=1, nonneg=True)
    xr = as_array(region_emp, "region_emp", ndim=1, nonneg=True, allow_empty=False)
    reg = as_index(plant_region, "plant_region", xr.size)
    if reg.shape != z.shape:
        raise InputError(
            f"shape {reg.shape} does not match plant_emp shape {z.shape}", field="plant_region"
        )
    s = _shares(np.bincount(reg, weights=z, minlength=xr.size))
    x = _shares(xr)
    zk = _shares(z)
    return s, x, zk


@dataclass(frozen=True)
class EGTest:
    """Ellison-Glaeser index with its test against the dartboard (random location) null.

    Attributes: ``gamma`` (EG index), ``G`` (raw concentration sum (s_r - x_r)^2), ``H`` (plant
    Herfindahl), ``expected_G`` = (1 - sum x^2) H and ``var_G`` under the null, ``z`` =
    (G - expected_G) / sqrt(var_G), ``p_value`` one-sided upper tail 1 - Phi(z) (the alternative
    is localisation).  All NaN where gamma is undefined.
    """

    gamma: float
    G: float
    H: float
    expected_G: float
    var_G: float
    z: float
    p_value: float


def ellison_glaeser_test(plant_emp: Any, plant_region: Any, region_emp: Any) -> EGTest:
    """Ellison-Glaeser (1997) gamma of one industry and its z-statistic under random location.

    ::

        z_k = plant k's share of industry employment,   H = sum_k z_k^2
        G   = sum_r (s_r - x_r)^2
        gamma = [G - (1 - sum_r x_r^2) H] / [(1 - sum_r x_r^2)(1 - H)]
        E[G | dartboard] = (1 - sum x^2) H
        Var(G) = 2 { H^2 [sum x^2 - 2 sum x^3 + (sum x^2)^2]
                     - sum_k z_k^4 [sum x^2 - 4 sum x^3 + 3 (sum x^2)^2] }

    Source: Ellison & Glaeser (1997), J. Political Economy 105(5):889-927; variance as in REAT
    ``ellison.a``.  Unit-free.

    Parameters
    ----------
    plant_emp: (K,) employment of the industry's plants (firms), >= 0.
    plant_region: (K,) integer region index of each plant, in [0, R).
    region_emp: (R,) total employment (all industries) of every region, >= 0.

    Returns NaN fields when the industry has no employment, when H = 1 (one plant) or when all
    activity is in one region (sum x^2 = 1).
    """
    s, x, zk = _industry_inputs(plant_emp, plant_region, region_emp)
    nan = EGTest(*(np.nan,) * 7)
    if np.isnan(s).any() or np.isnan(x).any():
        return nan
    sx2 = float(np.sum(x**2))
    sx3 = float(np.sum(x**3))
    H = float(np.sum(zk**2))
    G = float(np.sum((s - x) ** 2))
    if sx2 >= 1.0 - 1e-12 or H >= 1.0 - 1e-12:
        return EGTest(np.nan, G, H, np.nan, np.nan, np.nan, np.nan)
    gamma = (G - (1 - sx2) * H) / ((1 - sx2) * (1 - H))
    eG = (1 - sx2) * H
    var = 2 * (H**2 * (sx2 - 2 * sx3 + sx2**2) - np.sum(zk**4) * (sx2 - 4 * sx3 + 3 * sx2**2))
    z = (G - eG) / np.sqrt(var) if var > 0 else np.nan
    from scipy import stats  # here, not at import: scipy.stats costs ~0.4 s at start-up

    p = float(stats.norm.sf(z)) if np.isfinite(z) else np.nan
    return EGTest(float(gamma), G, H, float(eG), float(var), float(z), p)


def ellison_glaeser(plant_emp: Any, plant_region: Any, region_emp: Any) -> float:
    """Ellison-Glaeser (1997) gamma of one industry (see :func:`ellison_glaeser_test`).

    gamma = 0 under the dartboard null, < 0 dispersion, > 0 localisation; EG's ad-hoc benchmarks
    are 0.02 ("not very localised") and 0.05 ("highly localised").  NaN when undefined (no
    industry employment, one plant, one region).
    """
    return ellison_glaeser_test(plant_emp, plant_region, region_emp).gamma


def maurel_sedillot(plant_emp: Any, plant_region: Any, region_emp: Any) -> float:
    """Maurel-Sedillot (1999) concentration index of one industry.

    ::

        G_MS  = (sum_r s_r^2 - sum_r x_r^2) / (1 - sum_r x_r^2)
        gamma_MS = (G_MS - H) / (1 - H)

    Source: Maurel & Sedillot (1999), Regional Science and Urban Economics 29(5):575-604.  Same
    inputs and NaN cases as :func:`ellison_glaeser`.  With few regions it can differ strongly from
    gamma_EG (REAT example: -0.4358 vs +0.0599).
    """
    s, x, zk = _industry_inputs(plant_emp, plant_region, region_emp)
    if np.isnan(s).any() or np.isnan(x).any():
        return np.nan
    sx2 = float(np.sum(x**2))
    H = float(np.sum(zk**2))
    if sx2 >= 1.0 - 1e-12 or H >= 1.0 - 1e-12:
        return np.nan
    g_ms = (np.sum(s**2) - sx2) / (1 - sx2)
    return float((g_ms - H) / (1 - H))


def herfindahl(shares: Any, normalised: bool = False) -> float:
    """Herfindahl index of an industry's regional distribution.

    ``H = sum_r s_r^2`` with ``s = shares / sum(shares)`` (levels such as employment are accepted
    and normalised).  ``H`` is 1/R for equal shares and 1 when everything is in one region.
    ``normalised=True`` returns ``H* = (H - 1/R) / (1 - 1/R)`` in [0, 1] (NaN for R = 1).
    Source: the Herfindahl-Hirschman index (Hirschman 1945; Herfindahl 1950) applied to regional
    shares.  NaN when the total is zero.
    """
    v = as_array(shares, "shares", ndim=1, nonneg=True, allow_empty=False)
    s = _shares(v)
    h = float(np.sum(s**2))
    if not normalised:
        return h
    R = v.size
    if R == 1:
        return np.nan
    return (h - 1 / R) / (1 - 1 / R)


def _industry_total(industry_emp: Any, total_emp: Any) -> tuple[np.ndarray, np.ndarray]:
    e_i = as_array(industry_emp, "industry_emp", ndim=1, nonneg=True, allow_empty=False)
    e_r = as_array(total_emp, "total_emp", ndim=1, nonneg=True, allow_empty=False)
    same_shape(e_i, e_r, "industry_emp", "total_emp")
    return e_i, e_r


def hoover(industry_emp: Any, total_emp: Any) -> float:
    """Hoover (dissimilarity) index ``0.5 * sum_r |s_r - x_r|`` in [0, 1).

    ``s_r`` = region share of the industry, ``x_r`` = region share of total employment
    (Hoover 1936, Review of Economics and Statistics 18).  NaN when either total is zero.
    """
    e_i, e_r = _industry_total(industry_emp, total_emp)
    return float(0.5 * np.sum(np.abs(_shares(e_i) - _shares(e_r))))


def _check_lq_defined(e_i: np.ndarray, e_r: np.ndarray) -> None:
    if np.any((e_i > 0) & (e_r == 0)):
        raise InputError(
            "a region has industry employment but zero total employment (infinite LQ); "
            "total_emp must include the industry",
            field="total_emp",
        )


def locational_gini(industry_emp: Any, total_emp: Any) -> float | np.ndarray:
    """Locational Gini, employment-weighted Lorenz-curve version (Krugman 1991, Geography and Trade;
    Audretsch & Feldman 1996, AER 86(3)).

    Regions are ranked by LQ ascending; ``X_k`` is the cumulative share of total employment and
    ``Y_k`` the cumulative share of the industry.  ``Gini = 1 - sum_k (X_k - X_{k-1})(Y_k + Y_{k-1})``,
    i.e. twice the area between the Lorenz curve and the diagonal.  0 when the industry mirrors
    total activity; approaches 1 (never reaches it) when the industry concentrates in a small
    region.  Regions are weighted by their size, unlike REAT's ``gini.conc`` (see :func:`lq_gini`),
    which is the unweighted Gini of the regional LQs: on REAT's example the two give 0.3725 and
    0.4069, on the four-region toy 0.64 and 0.6314 (docs/METRICS.md, "Worked examples").

    ``industry_emp`` is (R,) for one industry (returns a float) or (R, S) for S industries at once
    (returns an (S,) array, each entry equal to the one-industry call on that column).  NaN when the
    industry or total employment is zero.  InputError if a region has industry employment but no
    total employment.
    """
    e_i = as_array(industry_emp, "industry_emp", ndim=(1, 2), nonneg=True, allow_empty=False)
    e_r = as_array(total_emp, "total_emp", ndim=1, nonneg=True, allow_empty=False)
    same_shape(e_i[:, 0] if e_i.ndim == 2 else e_i, e_r, "industry_emp", "total_emp")
    _check_lq_defined(e_i, e_r[:, None] if e_i.ndim == 2 else e_r)
    x = _shares(e_r)
    rows = np.ascontiguousarray(np.atleast_2d(e_i.T))  # one industry per contiguous row: the sums
    # below then run along rows exactly as on a 1-D array (same pairwise order, same bits)
    g = np.full(rows.shape[0], np.nan)
    if not np.isnan(x).any():
        total = rows.sum(axis=1)
        ok = total > 0
        s = rows[ok] / total[ok, None]
        with np.errstate(invalid="ignore", divide="ignore"):
            lq = np.where(x > 0, s / np.where(x > 0, x, 1.0), 0.0)
        order = np.argsort(lq, axis=1, kind="stable")
        zero = np.zeros((len(s), 1))
        X = np.concatenate([zero, np.cumsum(x[order], axis=1)], axis=1)
        Y = np.concatenate([zero, np.cumsum(np.take_along_axis(s, order, axis=1), axis=1)], axis=1)
        g[ok] = 1.0 - np.sum(np.diff(X, axis=1) * (Y[:, 1:] + Y[:, :-1]), axis=1)
    return float(g[0]) if e_i.ndim == 1 else g


def lq_gini(industry_emp: Any, total_emp: Any) -> float:
    """Unweighted Gini of the regional location quotients (REAT ``gini.conc``).

    ``G = 2 / (n^2 mean(C)) * sum_{k=1..n} k (C_(k) - mean(C))`` with ``C_(k)`` the LQs sorted
    ascending.  Source: REAT v3.0.3 ``gini.conc``; REAT's example gives 0.4068966.  Provided
    for comparison with REAT-based studies; :func:`locational_gini` is the project's default.
    NaN when the industry or total employment is zero.
    """
    e_i, e_r = _industry_total(industry_emp, total_emp)
    _check_lq_defined(e_i, e_r)
    s, x = _shares(e_i), _shares(e_r)
    if np.isnan(s).any() or np.isnan(x).any():
        return np.nan
    with np.errstate(invalid="ignore", divide="ignore"):
        c = np.sort(np.where(x > 0, s / np.where(x > 0, x, 1.0), 0.0))
    n = c.size
    k = np.arange(1, n + 1)
    return float(2.0 / (n**2 * c.mean()) * np.sum(k * (c - c.mean())))


def krugman_specialisation(region_a_by_sector: Any, region_b_by_sector: Any) -> float:
    """Krugman (1991) specialisation (dissimilarity) index of two regions' sector structures.

    ``K = sum_i |e_ia / e_a - e_ib / e_b|`` in [0, 2]: 0 identical structures, 2 no sector in
    common.  Region b may be a comparison region or the rest of the country.  Source: Krugman
    (1991) Geography and Trade; REAT ``krugman.spec``.  NaN when either region has no employment.
    """
    a = as_array(region_a_by_sector, "region_a_by_sector", ndim=1, nonneg=True, allow_empty=False)
    b = as_array(region_b_by_sector, "region_b_by_sector", ndim=1, nonneg=True, allow_empty=False)
    same_shape(a, b, "region_a_by_sector", "region_b_by_sector")
    return float(np.sum(np.abs(_shares(a) - _shares(b))))


def coagglomeration(
    emp_a: Any,
    emp_b: Any,
    total_emp: Any,
    h_a: float | None = None,
    h_b: float | None = None,
) -> float:
    """Pairwise coagglomeration index of industries a and b (Ellison, Glaeser & Kerr 2010).

    ``gamma^c_ab = sum_r (s_ra - x_r)(s_rb - x_r) / (1 - sum_r x_r^2)``

    Source: Ellison, Glaeser & Kerr (2010) AER 100(3):1195-1213, derived from the EG (1997)
    multi-industry index ``[G_U/(1-sum x^2) - H_U - sum_j gamma_j w_j^2 (1-H_j)] / (1 - sum_j w_j^2)``.
    For a pair of industries the plant Herfindahls ``h_a``, ``h_b`` cancel exactly in that formula
    (the tests check the identity), so they are optional; when given they are validated (in
    [0, 1]) for compatibility with the EG group form.  > 0: the industries co-locate beyond what
    total activity explains (expected for IO-linked pairs).

    Parameters: (R,) regional employment of each industry and (R,) total employment.  NaN when an
    industry or the total is zero or when all activity is in one region.
    """
    ea = as_array(emp_a, "emp_a", ndim=1, nonneg=True, allow_empty=False)
    eb = as_array(emp_b, "emp_b", ndim=1, nonneg=True, allow_empty=False)
    et = as_array(total_emp, "total_emp", ndim=1, nonneg=True, allow_empty=False)
    same_shape(ea, eb, "emp_a", "emp_b")
    same_shape(ea, et, "emp_a", "total_emp")
    for name, h in (("h_a", h_a), ("h_b", h_b)):
        if h is not None and not (np.isfinite(h) and 0.0 <= h <= 1.0):
            raise InputError(f"expected a plant Herfindahl in [0, 1], got {h!r}", field=name)
    sa, sb, x = _shares(ea), _shares(eb), _shares(et)
    if np.isnan(sa).any() or np.isnan(sb).any() or np.isnan(x).any():
        return np.nan
    sx2 = float(np.sum(x**2))
    if sx2 >= 1.0 - 1e-12:
        return np.nan
    return float(np.sum((sa - x) * (sb - x)) / (1 - sx2))


def sector_concentration(
    firm_emp: Any,
    firm_region: Any,
    firm_sector: Any,
    n_regions: int | None = None,
    n_sectors: int | None = None,
) -> pd.DataFrame:
    """All concentration indices of every sector at once, from a firm table (vectorised).

    For the model's DataCollector: one pass of ``np.bincount`` over firms, no Python loop over firms
    or sectors.  Region totals ``e_r`` are the employment of all firms in the region.  For each
    sector s the columns equal the single-industry functions applied to that sector's firms:

    ``employment``, ``firms``, ``H`` (plant Herfindahl), ``G`` (sum (s_r - x_r)^2), ``gamma_eg``
    (:func:`ellison_glaeser`), ``gamma_ms`` (:func:`maurel_sedillot`), ``hoover``
    (:func:`hoover`), ``locational_gini`` (:func:`locational_gini`), ``herfindahl`` (regional
    shares, :func:`herfindahl`).  Undefined cells are NaN (sectors without employment; gamma when a
    sector has one firm or all employment is in one region).

    Parameters
    ----------
    firm_emp: (N,) employment per firm, >= 0.
    firm_region, firm_sector: (N,) integer region / sector index of each firm.
    n_regions, n_sectors: number of regions / sectors (default: max index + 1).
    """
    e = as_array(firm_emp, "firm_emp", ndim=1, nonneg=True)
    if n_regions is None:
        n_regions = int(np.max(firm_region)) + 1 if len(e) else 1
    if n_sectors is None:
        n_sectors = int(np.max(firm_sector)) + 1 if len(e) else 0
    reg = as_index(firm_region, "firm_region", n_regions)
    sec = as_index(firm_sector, "firm_sector", max(n_sectors, 1) if len(e) else 1)
    for name, v in (("firm_region", reg), ("firm_sector", sec)):
        if v.shape != e.shape:
            raise InputError(f"shape {v.shape} does not match firm_emp shape {e.shape}", field=name)
    R, S = n_regions, n_sectors
    emp_rs = (
        np.bincount(reg * S + sec, weights=e, minlength=R * S).reshape(R, S)
        if S
        else np.zeros((R, 0))
    )
    e_s = emp_rs.sum(axis=0)
    e_r = emp_rs.sum(axis=1)
    firms = np.bincount(sec, minlength=S)[:S].astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        z2 = np.bincount(sec, weights=e**2, minlength=S)[:S] / e_s**2
        s = emp_rs / e_s
        x = e_r / e_r.sum() if e_r.sum() > 0 else np.full(R, np.nan)
        sx2 = float(np.sum(x**2))
        G = np.sum((s - x[:, None]) ** 2, axis=0)
        ok = (e_s > 0) & (z2 < 1 - 1e-12) & (sx2 < 1 - 1e-12)
        gamma = np.where(ok, (G - (1 - sx2) * z2) / ((1 - sx2) * (1 - z2)), np.nan)
        g_ms = (np.sum(s**2, axis=0) - sx2) / (1 - sx2)
        gamma_ms = np.where(ok, (g_ms - z2) / (1 - z2), np.nan)
        hoov = 0.5 * np.sum(np.abs(s - x[:, None]), axis=0)
        lq = np.where(x[:, None] > 0, s / np.where(x > 0, x, 1.0)[:, None], 0.0)
        order = np.argsort(lq, axis=0, kind="stable")
        X = np.vstack([np.zeros((1, S)), np.cumsum(x[order], axis=0)])
        Y = np.vstack([np.zeros((1, S)), np.cumsum(np.take_along_axis(s, order, axis=0), axis=0)])
        gini = 1.0 - np.sum(np.diff(X, axis=0) * (Y[1:] + Y[:-1]), axis=0)
        herf = np.sum(s**2, axis=0)
    defined = e_s > 0
    out = pd.DataFrame(
        {
            "employment": e_s,
            "firms": firms,
            "H": np.where(defined, z2, np.nan),
            "G": np.where(defined, G, np.nan),
            "gamma_eg": gamma,
            "gamma_ms": gamma_ms,
            "hoover": np.where(defined, hoov, np.nan),
            "locational_gini": np.where(defined, gini, np.nan),
            "herfindahl": np.where(defined, herf, np.nan),
        }
    )
    out.index.name = "sector"
    return out
