"""Compiled loops of the price and revenue fixed points (see :mod:`agglomeration.behaviour.market`).

Each kernel walks the live rows of the firm table and, for each row, the inputs of its sector
(``in_ptr``/``in_k``/``in_a``: a CSR list over sectors of the input sectors k with a positive cost share
a[k, s]) and the suppliers in the slots of each input (``supplier[i, k, slot]``: >= 0 a domestic firm's
row, ``-1 - g`` an import through gateway g, ``NONE`` an empty slot; no supplier at all = bought outside
the model at the reference price 1).  The only
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
def pair_weights(i, k, rb, supplier, region, cesw, phi_tab, imp_u, n_markets, n_regions, none, u):
    """CES weights u of the suppliers in the slots of pair (buyer row i, input k), buyer region rb.

    Domestic supplier j in region m: ``cesw[j]`` (lines x p^(1 - sigma_k)) x phi_k[m, rb] (``phi_tab``
    flat (S, M, M)); import through gateway g: ``imp_u`` flat (S, G, R) = (p_imp tau)^(1 - sigma_k).
    Fills ``u[:n]`` and returns (n filled slots, their total U).

    The kernels that run every step (:func:`price_system`, :func:`link_lists`, the sourcing switch, the
    observation's link sums) write this loop out instead of calling it: a call with array arguments
    costs a reference-count round trip per array, about eight times the loop itself, once per
    (buyer, input) pair.  The written-out loops do the same arithmetic in the same order (same bits).
    """
    K = supplier.shape[2]
    M = n_markets
    G = n_markets - n_regions
    n = 0
    total = 0.0
    for sl in range(K):
        j = supplier[i, k, sl]
        if j == none:
            break
        if j >= 0:
            w = cesw[j] * phi_tab[(k * M + region[j]) * M + rb]
        else:
            w = imp_u[(k * G + (-1 - j)) * n_regions + rb]
        u[n] = w
        total += w
        n += 1
    return n, total


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
    sigma,
    lines,
    cesw,
    logp,
    phi_tab,
    imp_u,
    none,
    fixed_cost,
    rel_tab,
):
    """Linear system of log mill prices x_q = const_q + sum_e val_e x_col_e over positions q: position q
    is live row ``order[q]``, ``pos`` maps rows back to positions.

    ``log_tab`` is the flat (S, M, M) table of log delivered prices at unit mill price (index
    (k M + source market) M + buyer region): log tau for domestic sources, log(p_imp tau) for gateways.
    ``cell_cost`` (R * S, by cell r S + s): log unit cost net of inputs and productivity plus the log
    markup; each row's base is cell_cost - ``log_z`` (log productivity).

    A buyer's input k is a CES bundle of the suppliers in its slots with the expenditure shares w_j = u_j
    / U set at the start of the step (u: :func:`pair_weights` at the prices ``logp`` the table holds
    then).  Within the step the bundle's log price index is log G = log G0 + sum_j w_j (x_j - logp_j)
    (Cobb-Douglas in the suppliers at those shares; log G0 = log U / (1 - sigma_k) the CES index at the
    start prices, so it carries the variety gain), linear in the suppliers' log prices x.  One supplier:
    log G = x_j + log tau + log(lines_j) / (1 - sigma_k), exactly.  Imports enter the constant; an
    input without supplier is bought outside at price 1 (log 0).

    The same scan adds up every buyer's fixed cost per step (the accounts need it, and a pass of its
    own walked the slots again): f_s x lines plus the relationship cost of each supplier in its slots
    (``fixed_cost`` (S,) the sector fixed costs f_s, ``rel_tab`` flat (S buyer sector, M, R) as in
    ``_accounts_kernels.fixed_costs_kernel``, the same additions in the same order).  Returns (indptr
    (uint64), col (uint32 supplier positions), val (a_ks w_j), const, fixed (by position)).
    """
    nl = order.shape[0]
    M = n_markets
    G = n_markets - n_regions
    n_rows = pos.shape[0]
    K = supplier.shape[2]
    pairs = 0  # (buyer, input) slots: an upper bound of the domestic links, so one scan suffices
    for q in range(nl):
        s = sector[order[q]]
        pairs += (in_ptr[s + 1] - in_ptr[s]) * K
    indptr = np.empty(nl + 1, np.uint64)
    col = np.empty(pairs, np.uint32)
    val = np.empty(pairs, np.float64)
    const = np.empty(nl, np.float64)
    fixed = np.empty(nl, np.float64)
    u = np.empty(K, np.float64)
    # log(lines) of the small line counts, tabulated (the same log of the same number: same bits)
    log_lines = np.zeros(64, np.float64)
    for L in range(1, 64):
        log_lines[L] = np.log(L)
    p = 0
    indptr[0] = 0
    S = in_ptr.shape[0] - 1
    for q in range(nl):
        i = order[q]
        s = sector[i]
        rb = region[i]
        acc = cell_cost[rb * S + s] - log_z[i]
        fc = fixed_cost[s] * lines[i]
        rel_s = s * M
        for e in range(in_ptr[s], in_ptr[s + 1]):
            k = in_k[e]
            a = in_a[e]
            j0 = supplier[i, k, 0]
            if j0 == none:
                continue  # bought outside at price 1, log 1 = 0
            if j0 >= n_rows:
                raise IndexError("supplier code beyond the firm table (stale links?)")
            if K == 1 or supplier[i, k, 1] == none:  # one supplier: exact
                if j0 >= 0:
                    m0 = region[j0]
                    acc += a * log_tab[(k * M + m0) * M + rb]
                    L0 = lines[j0]
                    if L0 != 1:
                        lg = log_lines[L0] if L0 > 0 and L0 < 64 else np.log(L0)
                        acc += a * lg / (1.0 - sigma[k])
                    col[p] = pos[j0]
                    val[p] = a
                    p += 1
                else:
                    m0 = n_regions - 1 - j0
                    acc += a * log_tab[(k * M + m0) * M + rb]
                fc += rel_tab[(rel_s + m0) * n_regions + rb]
                continue
            # the CES weights of the pair's suppliers: pair_weights written out (see its docstring)
            n = 0
            total = 0.0
            for sl in range(K):
                jc = supplier[i, k, sl]
                if jc == none:
                    break
                if jc >= 0:
                    mc = region[jc]
                    uw = cesw[jc] * phi_tab[(k * M + mc) * M + rb]
                else:
                    mc = n_regions + (-1 - jc)
                    uw = imp_u[(k * G + (-1 - jc)) * n_regions + rb]
                fc += rel_tab[(rel_s + mc) * n_regions + rb]
                u[n] = uw
                total += uw
                n += 1
            acc += a * np.log(total) / (1.0 - sigma[k])
            for sl in range(n):
                j = supplier[i, k, sl]
                if j >= 0:
                    if j >= n_rows:
                        raise IndexError("supplier code beyond the firm table (stale links?)")
                    w = a * u[sl] / total
                    acc -= w * logp[j]
                    col[p] = pos[j]
                    val[p] = w
                    p += 1
        const[q] = acc
        fixed[q] = fc
        indptr[q + 1] = p
    return indptr, col[:p], val[:p], const, fixed


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
def link_lists(
    order,
    pos,
    sector,
    region,
    supplier,
    in_ptr,
    in_k,
    in_a,
    cesw,
    phi_tab,
    imp_u,
    n_markets,
    n_regions,
    none,
):
    """The domestic supplier links of every live row as CSR by buyer position: (indptr (uint64), col
    (uint32 supplier positions), val (a_ks w_j)), the link part of :func:`price_system`."""
    nl = order.shape[0]
    G = n_markets - n_regions
    n_rows = pos.shape[0]
    K = supplier.shape[2]
    pairs = 0
    for q in range(nl):
        s = sector[order[q]]
        pairs += (in_ptr[s + 1] - in_ptr[s]) * K
    indptr = np.empty(nl + 1, np.uint64)
    col = np.empty(pairs, np.uint32)
    val = np.empty(pairs, np.float64)
    u = np.empty(K, np.float64)
    p = 0
    indptr[0] = 0
    for q in range(nl):
        i = order[q]
        s = sector[i]
        rb = region[i]
        for e in range(in_ptr[s], in_ptr[s + 1]):
            k = in_k[e]
            j0 = supplier[i, k, 0]
            if j0 == none:
                continue
            if K == 1 or supplier[i, k, 1] == none:  # one supplier: all of the input
                if j0 >= 0:
                    if j0 >= n_rows:
                        raise IndexError("supplier code beyond the firm table (stale links?)")
                    col[p] = pos[j0]
                    val[p] = in_a[e]
                    p += 1
                continue
            # the CES weights of the pair's suppliers: pair_weights written out (see its docstring)
            n = 0
            total = 0.0
            for sl in range(K):
                jc = supplier[i, k, sl]
                if jc == none:
                    break
                if jc >= 0:
                    uw = cesw[jc] * phi_tab[(k * n_markets + region[jc]) * n_markets + rb]
                else:
                    uw = imp_u[(k * G + (-1 - jc)) * n_regions + rb]
                u[n] = uw
                total += uw
                n += 1
            for sl in range(n):
                j = supplier[i, k, sl]
                if j >= 0:
                    if j >= n_rows:
                        raise IndexError("supplier code beyond the firm table (stale links?)")
                    col[p] = pos[j]
                    val[p] = in_a[e] * u[sl] / total
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
def power_operands(order, sector, price, sigma):
    """(price[order[q]], 1 - sigma[sector[order[q]]]) by position: the base and exponent of the CES
    weights p^(1 - sigma_s) of :func:`agglomeration.behaviour.market.price_indices` (the power itself
    stays numpy's), gathered in one pass."""
    nl = order.shape[0]
    base = np.empty(nl, np.float64)
    expo = np.empty(nl, np.float64)
    for q in range(nl):
        i = order[q]
        base[q] = price[i]
        expo[q] = 1.0 - sigma[sector[i]]
    return base, expo


@kernel
def weights_and_cells(order, sector, region, wp, lines, n_regions, n_sectors):
    """In one pass by position: the CES weights ``wp`` times the firm's product lines (in place; an
    empty ``lines`` leaves them), each firm's cell r S + s, and the (R S,) sums of the weights by cell
    in position order (the sums ``np.bincount`` adds, same bits).  Returns (cell, sums)."""
    nl = order.shape[0]
    S = n_sectors
    cell = np.empty(nl, np.int64)
    sums = np.zeros(n_regions * S, np.float64)
    with_lines = lines.shape[0] > 0
    for q in range(nl):
        i = order[q]
        if with_lines:
            wp[q] = wp[q] * lines[i]
        c = np.int64(region[i]) * S + sector[i]
        cell[q] = c
        sums[c] += wp[q]
    return cell, sums


@kernel
def buyer_factors(order, sector, region, factor_rs, n_sectors):
    """``factor_rs[region S + sector]`` of every position (the buyers' revenue factors), one pass."""
    nl = order.shape[0]
    out = np.empty(nl, np.float64)
    for q in range(nl):
        i = order[q]
        out[q] = factor_rs[np.int64(region[i]) * n_sectors + sector[i]]
    return out


@kernel
def final_sales_by_position(wp, mp_cell, cell):
    """Final sales by position: ``wp[q] x mp_cell[cell[q]]`` (CES weight x market potential of the
    firm's cell r S + s), the product :func:`agglomeration.behaviour.market.clear_markets` took as a
    numpy gather and multiply (the same product, so the same bits), in one pass without the gathered
    temporary."""
    out = np.empty(wp.shape[0], np.float64)
    for q in range(wp.shape[0]):
        out[q] = wp[q] * mp_cell[cell[q]]
    return out


@kernel
def scatter_sales(order, final_pos, inter_pos, rev_pos, n):
    """The market's per-row results from its per-position ones, in one pass over the live positions:
    final sales, revenue = final + intermediate sales (the same addition as the numpy form) and the
    revenue iterate, each (n,) with 0 for the rows not in ``order`` (dead rows).  Replaces three
    zero-filled arrays written by three numpy scatters and the temporary of the sum."""
    final = np.zeros(n, np.float64)
    revenue = np.zeros(n, np.float64)
    rev = np.zeros(n, np.float64)
    for q in range(order.shape[0]):
        i = order[q]
        f = final_pos[q]
        final[i] = f
        revenue[i] = f + inter_pos[q]
        rev[i] = rev_pos[q]
    return final, revenue, rev


@kernel
def intermediate_gap(order, revenue, final, received_pos):
    """max over the live positions q (row ``order[q]``) of |(revenue - final sales) - received_pos[q]|:
    the largest gap between a firm's intermediate sales and the purchases its buyers make from it.

    The same differences as the numpy form over every row (dead rows add |0 - 0| = 0, and every term
    is >= 0, so starting from 0 gives the same maximum); a NaN term makes the result NaN, as
    ``np.max`` does."""
    m = 0.0
    for q in range(order.shape[0]):
        i = order[q]
        x = abs((revenue[i] - final[i]) - received_pos[q])
        if m == m and (x > m or x != x):
            m = x
    return m


@kernel
def buyer_side_purchases(indptr, col, val, fac, rev, total_a, received):
    """Walk the links from the buyers (by position): add each purchase val x fac_b x rev_b to
    ``received[supplier position]``.

    Returns (total purchases sum_b fac_b rev_b total_a_b, purchases from outside the model: imports and
    unsourced inputs = total - domestic).  An independent traversal of the links from the supplier-side
    push of :func:`solve_revenue`, so comparing the two checks "sales of suppliers = purchases of their
    buyers".
    """
    total = 0.0
    domestic = 0.0
    for q in range(indptr.shape[0] - 1):
        v = fac[q] * rev[q]
        total += v * total_a[q]
        for e in range(indptr[q], indptr[q + 1]):
            x = val[e] * v
            received[col[e]] += x
            domestic += x
    return total, total - domestic


@kernel
def slot_links(
    rows,
    sector,
    region,
    supplier,
    in_ptr,
    in_k,
    in_a,
    cesw,
    phi_tab,
    imp_u,
    n_markets,
    n_regions,
    none,
):
    """Every filled supplier slot of the live ``rows``, buyer-major, inputs in list order, slots in order:
    (buyer row, input k, supplier code, cost share a_ks, expenditure share w of the supplier among the
    pair's suppliers at the prices behind ``cesw``)."""
    K = supplier.shape[2]
    cnt = 0
    for q in range(rows.shape[0]):
        i = rows[q]
        s = sector[i]
        for e in range(in_ptr[s], in_ptr[s + 1]):
            for sl in range(K):
                if supplier[i, in_k[e], sl] == none:
                    break
                cnt += 1
    buyer = np.empty(cnt, np.int64)
    kk = np.empty(cnt, np.int64)
    code = np.empty(cnt, np.int64)
    a_out = np.empty(cnt, np.float64)
    share = np.empty(cnt, np.float64)
    u = np.empty(K, np.float64)
    c = 0
    for q in range(rows.shape[0]):
        i = rows[q]
        s = sector[i]
        rb = region[i]
        for e in range(in_ptr[s], in_ptr[s + 1]):
            k = in_k[e]
            n, total = pair_weights(
                i, k, rb, supplier, region, cesw, phi_tab, imp_u, n_markets, n_regions, none, u
            )
            for sl in range(n):
                buyer[c] = i
                kk[c] = k
                code[c] = supplier[i, k, sl]
                a_out[c] = in_a[e]
                share[c] = 1.0 if n == 1 else u[sl] / total
                c += 1
    return buyer, kk, code, a_out, share
