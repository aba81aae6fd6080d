"""Compiled kernels of :mod:`agglomeration.behaviour.sourcing` (numba; see its docstring for the equations).

They trust their inputs' shapes: the Python wrappers in the submodel module check what a caller could get wrong."""

from __future__ import annotations

import math

import numpy as np

from agglomeration._jit import kernel


@kernel
def sort_cells(rows, sector, region, price, n_regions, n_sectors):
    """Counting sort of the live rows by (sector, region) cell c = sector x R + region.

    Returns (order, cprice, offset): ``order[offset[c]:offset[c + 1]]`` are the rows of cell c,
    ascending (stable); ``cprice`` their mill prices in the same order.  The cells of one sector are
    contiguous, so its CES weights p^(1 - sigma_s) are one power with a scalar exponent.
    """
    R = n_regions
    C = n_sectors * R
    n = rows.shape[0]
    offset = np.zeros(C + 1, np.int64)
    for q in range(n):
        i = rows[q]
        offset[sector[i] * R + region[i] + 1] += 1
    for c in range(C):
        offset[c + 1] += offset[c]
    fill = offset[:-1].copy()
    order = np.empty(n, np.int32)
    cprice = np.empty(n, np.float64)
    for q in range(n):
        i = rows[q]
        c = sector[i] * R + region[i]
        pos = fill[c]
        fill[c] = pos + 1
        order[pos] = i
        cprice[pos] = price[i]
    return order, cprice, offset


@kernel
def cum_guide(w, offset, width, order, lines):
    """Cumulate the weights ``w`` within each cell (in place) and build each cell's guide table.

    With ``lines`` (non-empty: every row's product lines) each weight is first multiplied by the lines of
    its row ``order[pos]`` (the product numpy's ``w *= lines[order]`` takes, without the gather); an
    empty ``lines`` leaves the weights as they are.  The guide is the indexed-search table of a cell of
    n_c firms: guide[offset[c] + b] = first position whose cumulated weight exceeds b / n_c of the cell
    total, so a draw u starts at entry floor(u n_c), next to its answer (O(1) expected steps).
    """
    guide = np.empty(w.shape[0], np.int32)
    with_lines = lines.shape[0] > 0
    for c in range(offset.shape[0] - 1):
        lo = offset[c]
        hi = offset[c + 1]
        acc = 0.0
        for pos in range(lo, hi):
            x = w[pos] * lines[order[pos]] if with_lines else w[pos]
            acc += x
            w[pos] = acc
        nb = (hi - lo + width - 1) // width
        j = lo
        for b in range(nb):
            thr = acc * (b / nb)
            while j < hi - 1 and w[j] <= thr:
                j += 1
            guide[lo + b] = j
    return guide


@kernel
def market_cum(cumw, offset, phi, tau, import_price, sigma, import_weight, n_regions):
    """Stage-1 cumulative weights cum[r_b, k, m] over source markets m (regions, then gateways).

    Weight of region m: A[m, k] phi_k[m, r_b]; of gateway g: import_weight[k] (p_imp[g, k]
    tau_k[R+g, r_b])^(1 - sigma_k).  Unnormalised: the total is cum[r_b, k, M - 1].
    """
    S = sigma.shape[0]
    R = n_regions
    G = import_price.shape[0]
    M = R + G
    cum = np.empty((R, S, M), np.float64)
    for rb in range(R):
        for k in range(S):
            acc = 0.0
            for m in range(R):
                c = k * R + m
                if offset[c + 1] > offset[c]:
                    acc += cumw[offset[c + 1] - 1] * phi[k, m, rb]
                cum[rb, k, m] = acc
            for g in range(G):
                if import_weight[k] > 0.0:
                    acc += import_weight[k] * (import_price[g, k] * tau[k, R + g, rb]) ** (
                        1.0 - sigma[k]
                    )
                cum[rb, k, R + g] = acc
    return cum


@kernel
def gap_positions(e, lam, last, n):
    """Positions of a Bernoulli(p) process on 0..n-1 after ``last``, from standard exponential draws.

    ceil(E / lam) with lam = -log(1 - p) is Geometric(p) on {1, 2, ...}: the gap to the next searching
    pair.  Returns (positions, last position, done); done when the process passed n - 1.
    """
    out = np.empty(e.shape[0], np.int64)
    cnt = 0
    cur = last
    for t in range(e.shape[0]):
        x = e[t] / lam
        if x >= n - cur:  # the gap is at least n - cur: past the end (also avoids overflow)
            return out[:cnt], cur, True
        gap = math.ceil(x)
        if gap < 1:
            gap = 1
        cur += gap
        if cur >= n:
            return out[:cnt], cur, True
        out[cnt] = cur
        cnt += 1
    return out[:cnt], cur, False


@kernel
def collect(rows, sector, supplier, in_ptr, in_k, positions, cap, none_code):
    """The searching pairs of one scan over the links: pair positions in ``positions`` or supplier NONE.

    Pairs are enumerated buyer-major over ``rows`` (inputs of sector s in ``in_k[in_ptr[s]:in_ptr[s+1]]``
    order); ``positions`` ascending.  ``cap`` bounds the number found (positions + NONE pairs).  Returns
    (buyer row, input k, forced = the pair has no supplier) in pair order.
    """
    buyer, kk, forced, _ = _collect(
        rows, sector, supplier, in_ptr, in_k, positions, cap, none_code, False
    )
    return buyer, kk, forced


@kernel
def collect_slots(rows, sector, supplier, in_ptr, in_k, positions, cap, none_code):
    """:func:`collect`, and a copy of each found pair's supplier slots ((found, K) int32, the
    ``supplier[buyer, k, :]`` of the scan).

    The scan streams the supplier table in row order, so copying a pair's slots here costs little
    (about 0.4 ms at 100k firms); :func:`switch` then reads the compact copy instead of revisiting
    each buyer's row of the table (a cache miss per pair: the table is tens of MB at 100k firms; the
    switch took 13-14 ms, about 10 with the copy).  Nothing writes the table between the scan and the
    switch.
    """
    return _collect(rows, sector, supplier, in_ptr, in_k, positions, cap, none_code, True)


@kernel
def _collect(rows, sector, supplier, in_ptr, in_k, positions, cap, none_code, with_slots):
    """The scan of :func:`collect` and :func:`collect_slots` (slots (0, K) unless ``with_slots``)."""
    K = supplier.shape[2]
    buyer = np.empty(cap, np.int64)
    kk = np.empty(cap, np.int64)
    forced = np.empty(cap, np.bool_)
    slots = np.empty((cap if with_slots else 0, K), np.int32)
    npos = positions.shape[0]
    cnt = 0
    nxt = 0
    target = positions[0] if npos > 0 else -1
    q = 0
    for t in range(rows.shape[0]):
        i = rows[t]
        s = sector[i]
        for e in range(in_ptr[s], in_ptr[s + 1]):
            k = in_k[e]
            none = supplier[i, k, 0] == none_code
            hit = q == target
            if hit:
                nxt += 1
                target = positions[nxt] if nxt < npos else -1
            if none or hit:
                buyer[cnt] = i
                kk[cnt] = k
                forced[cnt] = none
                if with_slots:
                    for sl in range(K):
                        slots[cnt, sl] = supplier[i, k, sl]
                cnt += 1
            q += 1
    return buyer[:cnt], kk[:cnt], forced[:cnt], slots[: cnt if with_slots else 0]


@kernel
def draw(
    rb, kk, exclude, u, cum, order, cprice, cumw, guide, width, offset, tau, import_price, none_code
):
    """One CES candidate per request (buyer region ``rb``, input ``kk``) and its delivered price.

    ``u`` (2, Q) uniforms in [0, 1): row 0 picks the market, row 1 the firm (inverse CDF: the first
    category whose cumulated weight exceeds u x total).  ``exclude``: the buyer's own row (drawing it
    gives no candidate), -1 for none.  Markets: count of cumulated weights <= u x total (M compares,
    no branches); firms: the cell's guide table bounds the answer to a few positions, searched without
    branches (O(1) expected).  Returns (code, delivered price): a row, ``-1 - g`` for gateway g, or
    ``none_code`` (price inf).
    """
    Q = kk.shape[0]
    R = cum.shape[0]
    M = cum.shape[2]
    out = np.empty(Q, np.int64)
    g_c = np.empty(Q, np.float64)
    for t in range(Q):
        r = rb[t]
        k = kk[t]
        tot = cum[r, k, M - 1]
        out[t] = none_code
        g_c[t] = np.inf
        if not tot > 0.0:
            continue
        x = u[0, t] * tot
        m = 0
        for mm in range(M):
            m += cum[r, k, mm] <= x
        if m == M:  # rounding (u x total == total): the last market with positive weight
            m = M - 1
            while m > 0 and cum[r, k, m - 1] == tot:
                m -= 1
        if m >= R:
            out[t] = -1 - (m - R)
            g_c[t] = import_price[m - R, k] * tau[k, m, r]
            continue
        c = k * R + m
        lo = offset[c]
        hi = offset[c + 1]
        if hi <= lo:
            continue
        u1 = u[1, t]
        y = u1 * cumw[hi - 1]
        nb = (hi - lo + width - 1) // width
        b = min(int(u1 * nb), nb - 1)
        a = guide[lo + b]  # the answer lies in [guide[b], guide[b + 1]]
        e = guide[lo + b + 1] if b + 1 < nb else hi - 1
        if (
            e - a < 16
        ):  # branch-free search of a 16-wide window (probes past the cell clamp to its end)
            last = hi - 1
            a = a + 8 if cumw[min(a + 7, last)] <= y else a
            a = a + 4 if cumw[min(a + 3, last)] <= y else a
            a = a + 2 if cumw[min(a + 1, last)] <= y else a
            a = a + 1 if cumw[min(a, last)] <= y else a
            a = min(a, last)
        # exact whatever the window or rounding: step to the first position with cumw > y
        while a > lo and cumw[a - 1] > y:
            a -= 1
        while a < hi - 1 and cumw[a] <= y:
            a += 1
        j = order[a]
        if j != exclude[t]:
            out[t] = j
            g_c[t] = cprice[a] * tau[k, m, r]
    return out, g_c


@kernel
def slot_value(pi, eta, share):
    """Operating profit lost when a supplier with expenditure share ``share`` leaves the bundle:
    pi (1 - (1 - share)^eta), eta = a_ks (sigma_s - 1) / (sigma_k - 1) [CNY m per step]."""
    if share >= 1.0:
        return pi
    return pi * (1.0 - (1.0 - share) ** eta)


@kernel
def switch(
    buyer,
    kk,
    slots,
    forced,
    cand,
    g_c,
    supplier,
    price,
    region,
    sector,
    revenue,
    tau,
    import_price,
    switching_cost,
    io,
    sigma,
    cesw,
    phi_tab,
    imp_u,
    rel_tab,
    none_code,
):
    """Apply the sourcing decisions of the searching pairs; write ``supplier``.

    ``slots`` (Q, K): each pair's supplier slots as they are in ``supplier`` on entry
    (:func:`collect_slots`); the decisions read them there (each pair is listed once and only its own
    slots are written, so the copy stays equal to the table's slots until the pair's own write).
    ``cand``/``g_c``: candidate code and delivered price (inf: no candidate).  A pair without supplier
    (forced) takes any candidate.  Otherwise the buyer (operating profit pi = R / sigma_s) compares, in
    CNY m per step, (a) adding the candidate to a free slot: pi ((1 + u_c / U)^eta - 1) - f_c; (b)
    replacing its least valuable supplier w by the candidate when the candidate's delivered price is
    below w's by the switching cost: pi (((U - u_w + u_c) / U)^eta - 1) - (f_c - f_w); (c) dropping w
    (two suppliers or more): f_w - v_w.  u are CES weights (lines x delivered price^(1 - sigma_k)), U
    their sum over the pair's suppliers, eta = a_ks (sigma_s - 1)/(sigma_k - 1), v_w the profit w
    contributes (:func:`slot_value`), f the relationship cost of a supplier in that market
    (``rel_tab`` flat (S buyer sector, M, R) [CNY m per step]).  The best positive action is taken.
    Returns (switches, additions, drops); forced fills are not counted.
    """
    R = switching_cost.shape[0]
    K = supplier.shape[2]
    M = tau.shape[1]
    G = M - R
    u = np.empty(K, np.float64)
    n_sw = 0
    n_add = 0
    n_drop = 0
    for t in range(kk.shape[0]):
        i = buyer[t]
        k = kk[t]
        c = cand[t]
        has_cand = g_c[t] != np.inf
        if forced[t]:
            if has_cand:
                supplier[i, k, 0] = c
            continue
        r = region[i]
        s = sector[i]
        # the CES weights of the pair's suppliers: pair_weights written out (see its docstring)
        n = 0
        total = 0.0
        for sl in range(K):
            jc = slots[t, sl]
            if jc == none_code:
                break
            if jc >= 0:
                uw = cesw[jc] * phi_tab[(k * M + region[jc]) * M + r]
            else:
                uw = imp_u[(k * G + (-1 - jc)) * R + r]
            u[n] = uw
            total += uw
            n += 1
        if not total > 0.0:  # its suppliers deliver nothing (no lines left, about to exit): replace
            if has_cand:
                supplier[i, k, 0] = c
            continue
        pi = revenue[i] / sigma[s]
        eta = io[k, s] * (sigma[s] - 1.0) / (sigma[k] - 1.0)
        # the least valuable supplier net of its relationship cost
        w = 0
        best_net = np.inf
        for sl in range(n):
            j = slots[t, sl]
            m = region[j] if j >= 0 else R + (-1 - j)
            net = slot_value(pi, eta, u[sl] / total) - rel_tab[(s * M + m) * R + r]
            if net < best_net:
                best_net = net
                w = sl
        jw = slots[t, w]
        mw = region[jw] if jw >= 0 else R + (-1 - jw)
        f_w = rel_tab[(s * M + mw) * R + r]
        action = 0  # 1 add, 2 replace, 3 drop
        gain = 0.0
        if n >= 2 and best_net < 0.0:
            action = 3
            gain = -best_net
        if has_cand:
            dup = False
            for sl in range(n):
                if slots[t, sl] == c:
                    dup = True
            if not dup:
                if c >= 0:
                    mc = region[c]
                    u_c = cesw[c] * phi_tab[(k * M + mc) * M + r]
                else:
                    mc = R + (-1 - c)
                    u_c = imp_u[(k * (M - R) + (-1 - c)) * R + r]
                f_c = rel_tab[(s * M + mc) * R + r]
                if n < K:
                    g_add = pi * ((1.0 + u_c / total) ** eta - 1.0) - f_c
                    if g_add > gain:
                        action = 1
                        gain = g_add
                if jw >= 0:
                    g_now = price[jw] * tau[k, region[jw], r]
                else:
                    g_now = import_price[-1 - jw, k] * tau[k, R - 1 - jw, r]
                if g_c[t] < g_now * (1.0 - switching_cost[r]):
                    g_rep = pi * (((total - u[w] + u_c) / total) ** eta - 1.0) - (f_c - f_w)
                    # a cheaper candidate replaces w unless it costs more to keep than it brings
                    if g_rep > gain or (action == 0 and g_rep >= 0.0):
                        action = 2
                        gain = g_rep
        if action == 1:
            supplier[i, k, n] = c
            n_add += 1
        elif action == 2:
            supplier[i, k, w] = c
            n_sw += 1
        elif action == 3:
            for sl in range(w, n - 1):
                supplier[i, k, sl] = slots[t, sl + 1]
            supplier[i, k, n - 1] = none_code
            n_drop += 1
    return n_sw, n_add, n_drop


@kernel
def fill(buyer, kk, cand, supplier, region, tau, import_price, n_regions, none_code):
    """Write the repair candidates; a pair without one imports through the cheapest gateway (if any).

    Returns the number of pairs given a supplier.
    """
    G = import_price.shape[0]
    R = n_regions
    n = 0
    for t in range(kk.shape[0]):
        i = buyer[t]
        k = kk[t]
        c = cand[t]
        if c == none_code:
            if G == 0:
                continue
            r = region[i]
            best = 0
            cost = import_price[0, k] * tau[k, R, r]
            for g in range(1, G):
                x = import_price[g, k] * tau[k, R + g, r]
                if x < cost:
                    cost = x
                    best = g
            c = -1 - best
        supplier[i, k, 0] = c
        n += 1
    return n


@kernel
def relationship_units(rows, sector, region, supplier, in_ptr, in_k, decay, n_regions, none_code):
    """Per row of ``rows``: sum over its suppliers of ``decay[m, r]`` ((M, R): the distance factor of
    a supplier in market m for a buyer in region r), i.e. its relationship cost in units of
    relationship_cost x f_s."""
    K = supplier.shape[2]
    out = np.zeros(rows.shape[0])
    for q in range(rows.shape[0]):
        i = rows[q]
        s = sector[i]
        r = region[i]
        acc = 0.0
        for e in range(in_ptr[s], in_ptr[s + 1]):
            for sl in range(K):
                j = supplier[i, in_k[e], sl]
                if j == none_code:
                    break
                m = region[j] if j >= 0 else n_regions + (-1 - j)
                acc += decay[m, r]
        out[q] = acc
    return out
