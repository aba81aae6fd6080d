"""Supplier choice (chain formation, DESIGN 3.2 step 4): sticky links sampled from the CES demand system.

A (buyer, input) pair is a live firm i and an input sector k with a positive cost share io[k, sector_i];
its supplier is ``table.supplier[i, k]`` (a domestic firm's row, ``-1 - g`` an import through gateway g,
or NONE).  Each pair keeps its supplier.  With probability ``search_p`` per step (raised by the
information-sharing policy) it draws one candidate; pairs without a supplier (new firms, buyers of exited
firms) always draw.  The candidate is sampled with probability proportional to its CES share
(p_j tau_k[r_j, r_b])^(1 - sigma_k), in two inverse-CDF stages:

1. the source market m (a region, or a gateway = imports) with weight A[k, m] phi_k[m, r_b]
   (A[k, m] = sum of p^(1-sigma_k) over the live sector-k firms of region m; gateway g weighs
   ``import_weight`` x (p_imp[g, k] tau_k[R + g, r_b])^(1-sigma_k));
2. a firm within (m, k) with weight p_j^(1 - sigma_k).

A buyer never sources from itself (drawing itself counts as no candidate).  A searching pair switches if
the candidate's delivered price (p tau_k[source, r_b]; imports p_imp[g, k] tau_k[R + g, r_b]) is below the
current one times (1 - switching cost of the buyer's region); a pair without supplier takes the candidate.
After entry and exit, :func:`repair_links` gives every pair without a supplier a candidate; if there is none
(no domestic firm reachable and ``import_weight`` 0, or the buyer drew itself) and the world has gateways,
the pair imports through the gateway with the lowest delivered import price.

Cost per call: O(N) to sort the live firms by (sector, region) cell (counting sort) with their CES
weights cumulated per cell, one scan of the supplier links, and O(1) expected per candidate draw (a
guide table per cell starts the inverse-CDF search next to its answer): O(N + Q) for Q draws.  Which
pairs search is drawn as geometric gaps between searching-pair positions (pairs enumerated buyer-major
over the live rows, inputs in io order), so the random stream holds O(Q) numbers, not one per pair; each
draw uses two uniforms (market, firm).  The loops are compiled kernels (:func:`agglomeration._jit.kernel`);
every random number comes from the model's generator, so the same seed gives the same links.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from agglomeration._jit import kernel
from agglomeration.behaviour.market import input_lists
from agglomeration.errors import InputError
from agglomeration.firms import NONE

if TYPE_CHECKING:  # pragma: no cover
    from agglomeration.firms import FirmTable

_NONE = int(NONE)
#: firms per guide-table bucket of a cell (the draw steps ~width / 2 positions from its bucket start)
_GUIDE_WIDTH = 8


# --------------------------------------------------------------------------------------------- kernels
@kernel
def _sort_cells(rows, sector, region, price, n_regions, n_sectors):
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
def _cum_guide(w, offset, width):
    """Cumulate the weights ``w`` within each cell (in place) and build each cell's guide table.

    The guide is the indexed-search table of a cell of n_c firms: guide[offset[c] + b] = first position
    whose cumulated weight exceeds b / n_c of the cell total, so a draw u starts at entry floor(u n_c),
    next to its answer (O(1) expected steps).
    """
    guide = np.empty(w.shape[0], np.int32)
    for c in range(offset.shape[0] - 1):
        lo = offset[c]
        hi = offset[c + 1]
        acc = 0.0
        for pos in range(lo, hi):
            acc += w[pos]
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
def _market_cum(cumw, offset, phi, tau, import_price, sigma, import_weight, n_regions):
    """Stage-1 cumulative weights cum[r_b, k, m] over source markets m (regions, then gateways).

    Weight of region m: A[m, k] phi_k[m, r_b]; of gateway g: import_weight (p_imp[g, k] tau_k[R+g, r_b])
    ^(1 - sigma_k).  Unnormalised: the total is cum[r_b, k, M - 1].
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
                if import_weight > 0.0:
                    acc += import_weight * (import_price[g, k] * tau[k, R + g, rb]) ** (
                        1.0 - sigma[k]
                    )
                cum[rb, k, R + g] = acc
    return cum


@kernel
def _gap_positions(e, lam, last, n):
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
def _count_none(rows, sector, supplier, in_ptr, in_k, none_code):
    """Number of live (buyer, input) pairs whose supplier is NONE (one scan over the links)."""
    cnt = 0
    for t in range(rows.shape[0]):
        i = rows[t]
        s = sector[i]
        for e in range(in_ptr[s], in_ptr[s + 1]):
            if supplier[i, in_k[e]] == none_code:
                cnt += 1
    return cnt


@kernel
def _collect(rows, sector, supplier, in_ptr, in_k, positions, cap, none_code):
    """The searching pairs of one scan over the links: pair positions in ``positions`` or supplier NONE.

    Pairs are enumerated buyer-major over ``rows`` (inputs of sector s in ``in_k[in_ptr[s]:in_ptr[s+1]]``
    order); ``positions`` ascending.  ``cap`` bounds the number found (positions + NONE pairs).  Returns
    (buyer row, input k, forced = supplier is NONE) in pair order.
    """
    buyer = np.empty(cap, np.int64)
    kk = np.empty(cap, np.int64)
    forced = np.empty(cap, np.bool_)
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
            none = supplier[i, k] == none_code
            hit = q == target
            if hit:
                nxt += 1
                target = positions[nxt] if nxt < npos else -1
            if none or hit:
                buyer[cnt] = i
                kk[cnt] = k
                forced[cnt] = none
                cnt += 1
            q += 1
    return buyer[:cnt], kk[:cnt], forced[:cnt]


@kernel
def _draw(
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
def _switch(
    buyer, kk, forced, cand, g_c, supplier, price, region, tau, import_price, switching_cost
):
    """Apply the switching rule to the searching pairs; write ``supplier``; return the links switched.

    ``cand``/``g_c``: candidate code and delivered price (inf: no candidate).  A pair without supplier
    (forced) takes any candidate; a searching pair takes it if g_c < its current delivered price x
    (1 - switching_cost[r_b]).  Forced fills are not counted.
    """
    R = switching_cost.shape[0]
    n_sw = 0
    for t in range(kk.shape[0]):
        if g_c[t] == np.inf:
            continue
        i = buyer[t]
        k = kk[t]
        if forced[t]:
            supplier[i, k] = cand[t]
            continue
        r = region[i]
        j = supplier[i, k]  # current delivered price: domestic row j or gateway -1 - j
        if j >= 0:
            g_now = price[j] * tau[k, region[j], r]
        else:
            g_now = import_price[-1 - j, k] * tau[k, R - 1 - j, r]
        if g_c[t] < g_now * (1.0 - switching_cost[r]):
            supplier[i, k] = cand[t]
            n_sw += 1
    return n_sw


@kernel
def _fill(buyer, kk, cand, supplier, region, tau, import_price, n_regions, none_code):
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
        supplier[i, k] = c
        n += 1
    return n


# ------------------------------------------------------------------------------------------- helpers
def _bernoulli_positions(rng: np.random.Generator, n: int, p: float) -> np.ndarray:
    """Sorted positions in 0..n-1, each included independently with probability ``p``.

    Geometric gaps from standard exponential draws, drawn in chunks of the expected count plus six
    standard deviations (usually one chunk), so the stream holds ~n p numbers instead of n.
    """
    if n <= 0 or p <= 0.0:
        return np.zeros(0, dtype=np.int64)
    if p >= 1.0:
        return np.arange(n, dtype=np.int64)
    lam = -math.log1p(-p)
    chunks = []
    last = -1
    while True:
        mean = (n - 1 - last) * p
        size = int(mean + 6.0 * math.sqrt(mean) + 16)
        pos, last, done = _gap_positions(rng.standard_exponential(size), lam, last, n)
        chunks.append(pos)
        if done:
            break
    return chunks[0] if len(chunks) == 1 else np.concatenate(chunks)


class _Cells(NamedTuple):
    """The live firms by (sector, region) cell, for the stage-2 draws (see :func:`_sort_cells`)."""

    order: np.ndarray  # rows, cell-major
    price: np.ndarray  # their mill prices
    cumw: np.ndarray  # p^(1 - sigma) cumulated within each cell
    guide: np.ndarray  # indexed-search table of each cell
    offset: np.ndarray  # (S R + 1,) cell c = sector x R + region is order[offset[c]:offset[c + 1]]


def _build_cells(
    rows: np.ndarray,
    sector: np.ndarray,
    region: np.ndarray,
    price: np.ndarray,
    sigma: np.ndarray,
    n_regions: int,
) -> _Cells:
    """Sort the live rows by cell and cumulate their CES weights p^(1 - sigma_s) (O(N))."""
    S = len(sigma)
    order, cprice, offset = _sort_cells(rows, sector, region, price, n_regions, S)
    w = np.empty_like(cprice)
    for s in range(S):  # one power per sector (its cells are contiguous), scalar exponent
        lo, hi = offset[s * n_regions], offset[(s + 1) * n_regions]
        np.power(cprice[lo:hi], 1.0 - sigma[s], out=w[lo:hi])
    guide = _cum_guide(w, offset, _GUIDE_WIDTH)
    return _Cells(order, cprice, w, guide, offset)


def _candidates(
    cells: _Cells,
    rb: np.ndarray,
    k: np.ndarray,
    exclude: np.ndarray,
    rng: np.random.Generator,
    *,
    sigma: np.ndarray,
    phi: np.ndarray,
    tau: np.ndarray,
    import_price: np.ndarray,
    import_weight: float,
) -> tuple[np.ndarray, np.ndarray]:
    """CES candidates (codes) and their delivered prices for requests (buyer region, input k).

    Draws 2 x len(k) uniforms from ``rng`` (market, then firm within the market's cell).
    """
    R = tau.shape[1] - import_price.shape[0]
    cum = _market_cum(cells.cumw, cells.offset, phi, tau, import_price, sigma, import_weight, R)
    u = rng.random((2, len(k)))
    return _draw(
        rb,
        k,
        exclude,
        u,
        cum,
        cells.order,
        cells.price,
        cells.cumw,
        cells.guide,
        _GUIDE_WIDTH,
        cells.offset,
        tau,
        import_price,
        _NONE,
    )


def _check(
    table: FirmTable,
    *,
    io: np.ndarray,
    sigma: np.ndarray,
    phi: np.ndarray,
    tau: np.ndarray,
    import_price: np.ndarray,
    import_weight: float,
    switching_cost: np.ndarray | None = None,
) -> int:
    """Validate the shapes of the sourcing inputs (O(S M^2)); return the number of regions R."""
    S = table.n_sectors
    if io.shape != (S, S):
        raise InputError(f"io must have shape ({S}, {S}), got {io.shape}", field="io")
    if sigma.shape != (S,):
        raise InputError(f"sigma must have shape ({S},), got {sigma.shape}", field="sigma")
    if import_price.ndim != 2 or import_price.shape[1] != S:
        raise InputError(
            f"import_price must have shape (G, {S}), got {import_price.shape}", field="import_price"
        )
    if tau.ndim != 3 or tau.shape[0] != S or tau.shape[1] != tau.shape[2]:
        raise InputError(f"tau must have shape ({S}, M, M), got {tau.shape}", field="tau")
    if phi.shape != tau.shape:
        raise InputError(
            f"phi must have the shape of tau {tau.shape}, got {phi.shape}", field="phi"
        )
    R = tau.shape[1] - import_price.shape[0]
    if R < 1:
        raise InputError(
            f"tau has {tau.shape[1]} markets for {import_price.shape[0]} gateways: no region",
            field="tau",
        )
    if not (math.isfinite(import_weight) and import_weight >= 0.0):
        raise InputError(
            f"import_weight must be finite and >= 0, got {import_weight}", field="import_weight"
        )
    if switching_cost is not None and switching_cost.shape != (R,):
        raise InputError(
            f"switching_cost must have shape ({R},), got {switching_cost.shape}",
            field="switching_cost",
        )
    return R


def _f64(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float64)


# -------------------------------------------------------------------------------------------- public
def sample_candidates(
    buyer_region: np.ndarray,
    k: np.ndarray,
    rng: np.random.Generator,
    *,
    rows: np.ndarray,
    sector: np.ndarray,
    region: np.ndarray,
    price: np.ndarray,
    sigma: np.ndarray,
    phi: np.ndarray,
    tau: np.ndarray,
    import_price: np.ndarray,
    import_weight: float,
) -> np.ndarray:
    """One CES-share candidate supplier code per (buyer region, input sector) request (NONE if none).

    ``rows``: the live rows the domestic candidates come from.  Codes: a row (>= 0), ``-1 - g`` an import
    through gateway g, NONE when no source has positive weight.  Uses 2 x len(k) uniforms of ``rng``.
    """
    G = import_price.shape[0]
    R = phi.shape[1] - G
    k = np.asarray(k, dtype=np.int64)
    if len(k) == 0:
        return np.full(0, NONE, dtype=np.int64)
    sigma = _f64(sigma)
    cells = _build_cells(np.asarray(rows, dtype=np.int64), sector, region, _f64(price), sigma, R)
    cand, _ = _candidates(
        cells,
        np.asarray(buyer_region, dtype=np.int64),
        k,
        np.full(len(k), -1, dtype=np.int64),
        rng,
        sigma=sigma,
        phi=_f64(phi),
        tau=_f64(tau),
        import_price=_f64(import_price),
        import_weight=float(import_weight),
    )
    return cand


def search_and_switch(
    table: FirmTable,
    rows: np.ndarray,
    rng: np.random.Generator,
    *,
    search_p: float,
    switching_cost: np.ndarray,
    io: np.ndarray,
    sigma: np.ndarray,
    phi: np.ndarray,
    tau: np.ndarray,
    import_price: np.ndarray,
    import_weight: float,
) -> int:
    """Supplier search of one step; write ``table.supplier``; return the number of links switched.

    ``rows``: live rows, ascending.  Every (buyer, input) pair searches with probability ``search_p``
    [1/step] (pairs without supplier always do) and switches to its CES candidate if that is cheaper
    delivered by more than ``switching_cost[r_b]`` (relative, (R,)); pairs without supplier take the
    candidate (not counted).  ``io`` (S, S) cost shares io[k, s]; ``sigma`` (S,); ``phi``, ``tau``
    (S, M, M) with M = R + G markets; ``import_price`` (G, S) [model price units]; ``import_weight``
    [firms per gateway].  Cost O(N + Q) for Q searching pairs.
    """
    if not 0.0 <= search_p <= 1.0:
        raise InputError(f"search_p must be in [0, 1], got {search_p}", field="search_p")
    R = _check(
        table,
        io=io,
        sigma=sigma,
        phi=phi,
        tau=tau,
        import_price=import_price,
        import_weight=import_weight,
        switching_cost=switching_cost,
    )
    rows = np.asarray(rows, dtype=np.int64)
    if len(rows) == 0:
        return 0
    S = table.n_sectors
    sigma = _f64(sigma)
    cells = _build_cells(rows, table.sector, table.region, table.price, sigma, R)
    inputs = input_lists(io)
    in_ptr, in_k = inputs.ptr, inputs.k
    n_pairs = int(np.diff(cells.offset).reshape(S, R).sum(axis=1) @ np.diff(in_ptr))
    positions = _bernoulli_positions(rng, n_pairs, float(search_p))
    # capacity: the searching positions plus every pair (a bound on the NONE pairs; only the pairs
    # found are written, so the untouched part of the buffer costs no memory traffic)
    buyer, kk, forced = _collect(
        rows, table.sector, table.supplier, in_ptr, in_k, positions, len(positions) + n_pairs, _NONE
    )
    if len(kk) == 0:
        return 0
    tau = _f64(tau)
    import_price = _f64(import_price)
    cand, g_c = _candidates(
        cells,
        table.region[buyer].astype(np.int64),
        kk,
        buyer,
        rng,
        sigma=sigma,
        phi=_f64(phi),
        tau=tau,
        import_price=import_price,
        import_weight=float(import_weight),
    )
    return int(
        _switch(
            buyer,
            kk,
            forced,
            cand,
            g_c,
            table.supplier,
            table.price,
            table.region,
            tau,
            import_price,
            _f64(switching_cost),
        )
    )


def repair_links(
    table: FirmTable,
    rows: np.ndarray,
    rng: np.random.Generator,
    *,
    io: np.ndarray,
    sigma: np.ndarray,
    phi: np.ndarray,
    tau: np.ndarray,
    import_price: np.ndarray,
    import_weight: float,
) -> int:
    """Give every live (buyer, input) pair without a supplier a CES-sampled one; return how many got one.

    Same candidate draw as :func:`search_and_switch`; a pair with no candidate (no reachable domestic firm
    and ``import_weight`` 0, or it drew its own buyer) imports through the gateway with the lowest
    delivered import price p_imp[g, k] tau_k[R + g, r_b] when the world has gateways (else stays NONE).
    One scan of the links (no random numbers) when nothing is missing; O(N + Q) for Q missing pairs.
    """
    R = _check(
        table,
        io=io,
        sigma=sigma,
        phi=phi,
        tau=tau,
        import_price=import_price,
        import_weight=import_weight,
    )
    rows = np.asarray(rows, dtype=np.int64)
    if len(rows) == 0:
        return 0
    inputs = input_lists(io)
    in_ptr, in_k = inputs.ptr, inputs.k
    n_none = _count_none(rows, table.sector, table.supplier, in_ptr, in_k, _NONE)
    if n_none == 0:
        return 0
    buyer, kk, _ = _collect(
        rows, table.sector, table.supplier, in_ptr, in_k, np.zeros(0, np.int64), n_none, _NONE
    )
    sigma = _f64(sigma)
    tau = _f64(tau)
    import_price = _f64(import_price)
    cells = _build_cells(rows, table.sector, table.region, table.price, sigma, R)
    region = table.region
    cand, _ = _candidates(
        cells,
        region[buyer].astype(np.int64),
        kk,
        buyer,
        rng,
        sigma=sigma,
        phi=_f64(phi),
        tau=tau,
        import_price=import_price,
        import_weight=float(import_weight),
    )
    return int(_fill(buyer, kk, cand, table.supplier, region, tau, import_price, R, _NONE))
