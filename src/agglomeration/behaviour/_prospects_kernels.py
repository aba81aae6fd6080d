"""Compiled kernels of :mod:`agglomeration.behaviour.prospects` (numba; see its docstring for the equations).

The sums of the belief updates by sector, each in one pass over the firms instead of a masked gather
and a ``np.bincount`` per sum.  Every sum adds its terms in the order of the rows, as ``np.bincount``
does, so the results are the same bits.  They trust their inputs' shapes."""

from __future__ import annotations

import numpy as np

from agglomeration._jit import kernel


@kernel
def learning_sums(order, sector, region, age, revenue, final_sales, wp, mpi, young_age):
    """(S, 4) sums by sector over the firms ``order`` (by position): intermediate sales
    max(revenue - final sales, 0) and the structural base wp x mpi[region, sector], first of the firms
    aged ``young_age`` or more (columns 0, 1), then of the younger ones (columns 2, 3)."""
    out = np.zeros((mpi.shape[1], 4))
    for q in range(order.shape[0]):
        i = order[q]
        s = sector[i]
        x = revenue[i] - final_sales[i]
        inter = x if (x >= 0.0 or x != x) else 0.0  # np.maximum(x, 0.0): NaN propagates
        base = wp[q] * mpi[region[i], s]
        c = 2 if age[i] < young_age else 0
        out[s, c] += inter
        out[s, c + 1] += base
    return out


@kernel
def correction_sums(
    rows,
    sector,
    age,
    revenue,
    expected_revenue,
    first_year_revenue,
    structural,
    established,
    by_age,
    first_year_steps,
    lo,
    hi,
):
    """Realised and forecast revenue by sector over the incumbents ``rows`` (``structural`` by
    position in ``rows``): (first year (S, 2): realised mean revenue of the firms whose first year just
    ended, their entry forecasts; established (S, 2): revenue of the firms past their first year and
    established[s] x structural; by age class (S, A, 2): the same for the firms with lo[a] <= age <
    hi[a], at by_age[s, a])."""
    S = established.shape[0]
    A = lo.shape[0]
    first = np.zeros((S, 2))
    est = np.zeros((S, 2))
    cls = np.zeros((S, A, 2))
    T = first_year_steps
    for q in range(rows.shape[0]):
        i = rows[q]
        s = sector[i]
        a = age[i]
        if a == T and np.isfinite(expected_revenue[i]):
            first[s, 0] += first_year_revenue[i] / T
            first[s, 1] += expected_revenue[i]
        rev = revenue[i]
        if a >= T:
            est[s, 0] += rev
            est[s, 1] += established[s] * structural[q]
        for c in range(A):
            if a >= lo[c] and a < hi[c]:
                cls[s, c, 0] += rev
                cls[s, c, 1] += by_age[s, c] * structural[q]
    return first, est, cls


@kernel
def growth_exponent(rows, sector, log_z, sigma):
    """(sigma_s - 1) x log productivity of every row of ``rows``: the exponent of the firms' CES
    weight growth in :func:`agglomeration.behaviour.prospects.correct` (the same subtraction and
    product as its numpy form; the exponential stays in numpy)."""
    out = np.empty(rows.shape[0], np.float64)
    for q in range(rows.shape[0]):
        i = rows[q]
        out[q] = (sigma[sector[i]] - 1.0) * log_z[i]
    return out


@kernel
def structural_revenue(rows, sector, region, lines, growth, revenue):
    """lines x ``growth`` x the structural forecast ``revenue[region, sector]`` (R, S) of every row of
    ``rows``, multiplied in that order (as the numpy form: (lines x growth) x revenue)."""
    out = np.empty(rows.shape[0], np.float64)
    for q in range(rows.shape[0]):
        i = rows[q]
        out[q] = (lines[i] * growth[q]) * revenue[region[i], sector[i]]
    return out


@kernel
def price_log_operands(order, price, lines):
    """(price, max(lines, 1) as float) of every position's row ``order[q]``: the arguments of the two
    logs of :func:`agglomeration.behaviour.prospects.expected_log_input_prices` (the logs stay
    numpy's; numpy takes the log of integer lines as the log of the same float64 values)."""
    nl = order.shape[0]
    p = np.empty(nl, np.float64)
    ln = np.empty(nl, np.float64)
    for q in range(nl):
        i = order[q]
        p[q] = price[i]
        L = lines[i]
        ln[q] = L if L > 1 else 1
    return p, ln


@kernel
def weighted_log_price_sums(order, sector, sigma, log_price, log_lines, wp, cell, n_cells):
    """(n_cells,) sums by cell, in position order, of wp x (log p - log L / (sigma_s - 1)) over the
    positions with wp > 0 (0 for the others: ``np.where(wp > 0, wp x logp, 0)``), as the numpy form
    of :func:`agglomeration.behaviour.prospects.expected_log_input_prices` adds them with
    ``np.bincount`` (same bits)."""
    out = np.zeros(n_cells, np.float64)
    for q in range(order.shape[0]):
        logp = log_price[q] - log_lines[q] / (sigma[sector[order[q]]] - 1.0)
        w = wp[q]
        out[cell[q]] += w * logp if w > 0 else 0.0
    return out
