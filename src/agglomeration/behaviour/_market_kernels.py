"""Compiled loops of the price and revenue fixed points (see :mod:`agglomeration.behaviour.market`).

Each kernel walks the live rows of the firm table and, for each row, the inputs of its sector
(``in_ptr``/``in_k``/``in_a``: a CSR list over sectors of the input sectors k with a positive cost share
a[k, s]) and the supplier of each input (``supplier[i, k]``: >= 0 a domestic firm's row, ``-1 - g`` an
import through gateway g, ``NONE`` bought outside the model at the reference price 1).  The only
link-sized arrays are one CSR list of every buyer's domestic suppliers (by position in the sweep order),
shared by the price and revenue fixed points.

The fixed points are solved by Gauss-Seidel sweeps (each row uses the values already updated in the same
sweep): the same fixed point as Jacobi iteration, reached in fewer sweeps.  The sweep order follows the
input-output chain (:func:`sweep_order`): prices upstream sectors first, revenues downstream first, so
most of a sweep already sees this sweep's values.  Prices gather from the suppliers; revenues are pushed
from the buyers to their suppliers (:func:`solve_revenue`), so the links never need to be regrouped by
supplier.  Sweeps are sequential and in a fixed order, so results are deterministic.

Index arrays walked per link (``col``, ``indptr``, the sweep order) are unsigned: numba then
skips the negative-index wraparound test on every access (~1.5x faster sweeps).
"""

from __future__ import annotations

import numpy as np

from agglomeration._jit import kernel
from agglomeration.firms import NONE


@kernel
def sweep_order(rows, sector, rank, n_sectors, n):
    """(order, pos): the live ``rows`` sorted by the rank of their sector (stable counting sort; uint64
    rows), and the position of every row in that order (n,; uint32, dead rows 0)."""
    count = np.zeros(n_sectors + 1, np.int64)
    for q in range(rows.shape[0]):
        count[rank[sector[rows[q]]] + 1] += 1
    for s in range(n_sectors):
        count[s + 1] += count[s]
    out = np.empty(rows.shape[0], np.uint64)
    pos = np.zeros(n, np.uint32)
    for q in range(rows.shape[0]):
        i = rows[q]
        c = rank[sector[i]]
        out[count[c]] = i
        pos[i] = count[c]
        count[c] += 1
    return out, pos


@kernel
def price_system(
    order,
    pos,
    sector,
    region,
    supplier,
    in_ptr,
    in_k,
    in_a,
    log_tab,
    n_markets,
    n_regions,
    cell_cost,
    log_z,
):
    """Linear system of log mill prices x_q = const_q + sum_e val_e x_col_e over positions q: position q
    is live row ``order[q]``, ``pos`` maps rows back to positions.

    ``log_tab`` is the flat (S, M, M) table of log delivered prices at unit mill price (index
    (k M + source market) M + buyer region): log tau for domestic sources, log(p_imp tau) for gateways.
    ``cell_cost`` (R * S, by cell r S + s): log unit cost net of inputs and productivity plus the log
    markup; each row's base is cell_cost - ``log_z`` (log productivity).  Returns (indptr (uint64), col
    (uint32 supplier positions), val (cost shares a_ks), const = base + the constant log delivered-price terms
    of every input: transport costs, imports, and 0 for inputs bought outside at price 1).
    """
    nl = order.shape[0]
    M = n_markets
    n_rows = pos.shape[0]
    pairs = 0  # (buyer, input) pairs: an upper bound of the domestic links, so one scan suffices
    for q in range(nl):
        s = sector[order[q]]
        pairs += in_ptr[s + 1] - in_ptr[s]
    indptr = np.empty(nl + 1, np.uint64)
    col = np.empty(pairs, np.uint32)
    val = np.empty(pairs, np.float64)
    const = np.empty(nl, np.float64)
    p = 0
    indptr[0] = 0
    S = in_ptr.shape[0] - 1
    for q in range(nl):
        i = order[q]
        s = sector[i]
        rb = region[i]
        acc = cell_cost[rb * S + s] - log_z[i]
        for e in range(in_ptr[s], in_ptr[s + 1]):
            k = in_k[e]
            a = in_a[e]
            j = supplier[i, k]
            if j >= 0:
                if j >= n_rows:
                    raise IndexError("supplier code beyond the firm table (stale links?)")
                acc += a * log_tab[(k * M + region[j]) * M + rb]
                col[p] = pos[j]
                val[p] = a
                p += 1
            elif j != NONE:
                acc += a * log_tab[(k * M + n_regions - 1 - j) * M + rb]
            # NONE: bought outside at price 1, log 1 = 0
        const[q] = acc
        indptr[q + 1] = p
    return indptr, col[:p], val[:p], const


@kernel
def solve_log_prices(indptr, col, val, const, x, tol, max_sweeps):
    """Gauss-Seidel sweeps of x_q = const_q + sum a x_col over the positions until max |change| < tol.

    ``x`` (by position) holds log mill prices and is updated in place; returns the number of sweeps.  A
    NaN never counts as converged.
    """
    nl = const.shape[0]
    sweeps = 0
    while sweeps < max_sweeps:
        sweeps += 1
        delta = 0.0
        for q in range(nl):
            acc = const[q]
            for e in range(indptr[q], indptr[q + 1]):
                acc += val[e] * x[col[e]]
            d = abs(acc - x[q])
            if not d <= delta:  # also propagates NaN
                delta = d
            x[q] = acc
        if delta < tol:
            break
    return sweeps


@kernel
def link_lists(order, pos, sector, supplier, in_ptr, in_k, in_a):
    """The domestic supplier links of every live row as CSR by buyer position: (indptr (uint64), col
    (uint32 supplier positions), val (cost shares a_ks)), the link part of :func:`price_system`."""
    nl = order.shape[0]
    n_rows = pos.shape[0]
    pairs = 0
    for q in range(nl):
        s = sector[order[q]]
        pairs += in_ptr[s + 1] - in_ptr[s]
    indptr = np.empty(nl + 1, np.uint64)
    col = np.empty(pairs, np.uint32)
    val = np.empty(pairs, np.float64)
    p = 0
    indptr[0] = 0
    for q in range(nl):
        i = order[q]
        s = sector[i]
        for e in range(in_ptr[s], in_ptr[s + 1]):
            j = supplier[i, in_k[e]]
            if j >= 0:
                if j >= n_rows:
                    raise IndexError("supplier code beyond the firm table (stale links?)")
                col[p] = pos[j]
                val[p] = in_a[e]
                p += 1
        indptr[q + 1] = p
    return indptr, col[:p], val[:p]


@kernel
def push_purchases(indptr, col, val, fac, rev, out):
    """out[j] += sum over buyers b of j of a_kb fac_b rev_b: every buyer (by position) pushes its
    purchases to its suppliers' positions (``out`` preset to final sales gives total sales)."""
    for q in range(indptr.shape[0] - 1):
        w = fac[q] * rev[q]
        if w != 0.0:
            for e in range(indptr[q], indptr[q + 1]):
                out[col[e]] += val[e] * w


@kernel
def solve_revenue(indptr, col, val, fac, acc, rev, tol, max_sweeps):
    """Gauss-Seidel sweeps of R = F + B R, pushed from the buyers, downstream sectors first.

    On entry ``acc`` = F + B ``rev`` (by position).  A sweep visits the positions backwards; position q
    takes R_q := acc_q, which already holds this sweep's new revenues of the buyers visited before it
    (the Gauss-Seidel update), and pushes the change to its suppliers: acc_j += a fac_q (R_q new - old).
    Stops when max |change| <= tol x max |R| (at most ``max_sweeps``); returns the number of sweeps.
    Pushing from the buyers needs no supplier-major copy of the links.
    """
    nl = acc.shape[0]
    sweeps = 0
    while sweeps < max_sweeps:
        sweeps += 1
        delta = 0.0
        scale = 0.0
        for q in range(nl - 1, -1, -1):
            new = acc[q]
            d = new - rev[q]
            rev[q] = new
            ad = abs(d)
            if not ad <= delta:  # also propagates NaN
                delta = ad
            a = abs(new)
            if not a <= scale:
                scale = a
            if d != 0.0:
                w = fac[q] * d
                for e in range(indptr[q], indptr[q + 1]):
                    acc[col[e]] += val[e] * w
        if delta <= tol * max(scale, 1e-300):
            break
    return sweeps


@kernel
def buyer_side_purchases(
    rows, sector, region, supplier, in_ptr, in_k, in_a, factor_rs, n_sectors, rev, received
):
    """Walk the links from the buyers: add each purchase coef x rev_b to ``received[supplier]``.

    Returns (total purchases, purchases from outside the model: imports and unsourced inputs).  An
    independent traversal of the links from the one :func:`sales` makes, so comparing the two checks
    the accounting identity "sales of suppliers = purchases of their buyers".
    """
    total = 0.0
    outside = 0.0
    n_rows = received.shape[0]
    for q in range(rows.shape[0]):
        i = rows[q]
        s = sector[i]
        v = factor_rs[region[i] * n_sectors + s] * rev[i]
        for e in range(in_ptr[s], in_ptr[s + 1]):
            p = in_a[e] * v
            total += p
            j = supplier[i, in_k[e]]
            if j >= 0:
                if j >= n_rows:
                    raise IndexError("supplier code beyond the firm table (stale links?)")
                received[j] += p
            else:
                outside += p
    return total, outside
