"""Supplier choice (chain formation, DESIGN 3.2 step 4): sticky links sampled from the CES demand system.

Each (buyer, input sector) pair keeps its supplier.  With probability ``search_p`` per step (raised by the
information-sharing policy) it draws one candidate; pairs without a supplier (new firms, buyers of exited
firms) always draw.  The candidate is sampled with probability proportional to its CES share
(p_j tau_k[r_j, r_b])^(1 - sigma_k), in two vectorised inverse-CDF stages:

1. the source market m (a region, or a gateway = imports) with weight A[k, m] phi_k[m, r_b]
   (A = sum of p^(1-sigma) of the (m, k) firms; a gateway weighs ``import_weight`` x (p_imp tau)^(1-sigma));
2. a firm within (m, k) with weight p_j^(1 - sigma_k).

A searching buyer switches if the candidate's delivered price is lower than the current one by more than
the switching cost (relative); a pair without supplier takes the candidate.  Cost O(N + Q log N) for Q
draws: counting sorts by cell, one binary search per draw.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from agglomeration.firms import NONE

if TYPE_CHECKING:  # pragma: no cover
    from agglomeration.behaviour.market import Pairs
    from agglomeration.firms import FirmTable


def _sample_rows(cdf_rows: np.ndarray, row: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Inverse-CDF sampling in many categorical rows at once.

    ``cdf_rows`` (n_rows, K) normalised cumulative weights (last column 1, or all 0 for an empty row);
    returns the category of each draw, -1 for empty rows.
    """
    n_rows, K = cdf_rows.shape
    flat = (cdf_rows + np.arange(n_rows)[:, None]).ravel()
    pos = np.searchsorted(flat, row + u * (1.0 - 1e-12), side="right")
    cat = pos - row * K
    ok = (cat >= 0) & (cat < K) & (cdf_rows[row, -1] > 0)
    return np.where(ok, np.clip(cat, 0, K - 1), -1)


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
    """One CES-share candidate supplier code per (buyer region, input sector) request (NONE if none)."""
    S = len(sigma)
    R = phi.shape[1] - import_price.shape[0]
    G = import_price.shape[0]
    M = R + G
    out = np.full(len(k), NONE, dtype=np.int64)
    if len(k) == 0:
        return out
    # stage 1: source market, one categorical row per (buyer region, k)
    s_live = sector[rows]
    w_live = price[rows] ** (1.0 - sigma[s_live])
    A = np.bincount(region[rows] * S + s_live, weights=w_live, minlength=R * S).reshape(R, S)
    W = np.empty((R, S, M))
    W[:, :, :R] = (A.T[:, :, None] * phi[:, :R, :R]).transpose(2, 0, 1)  # [r_b, k, m]
    if G:
        t = tau[:, R:, :R] * import_price.T[:, :, None]  # (S, G, R)
        W[:, :, R:] = import_weight * (t ** (1.0 - sigma[:, None, None])).transpose(2, 0, 1)
    tot = W.sum(axis=2, keepdims=True)
    cdf = np.divide(np.cumsum(W, axis=2), tot, out=np.zeros_like(W), where=tot > 0).reshape(
        R * S, M
    )
    cdf[:, -1] = np.where(tot.ravel() > 0, 1.0, 0.0)
    row = buyer_region * S + k
    m = _sample_rows(cdf, row, rng.random(len(k)))
    imp = m >= R
    out[imp] = -1 - (m[imp] - R)
    dom = np.flatnonzero((m >= 0) & (m < R))
    if len(dom) == 0:
        return out
    # stage 2: a firm inside (m, k), weight p^(1-sigma)
    # firms sorted by (region, sector) cell: a stable counting sort (radix sort of a small-int key) and
    # the cell offsets from bincount, so no binary search over the firms is needed to find a cell
    key = region[rows] * S + s_live
    key_dt = np.int16 if R * S < 2**15 else np.int64
    order = np.argsort(key.astype(key_dt), kind="stable")
    cw = np.cumsum(w_live[order])
    offset = np.zeros(R * S + 1, dtype=np.int64)
    np.cumsum(np.bincount(key, minlength=R * S), out=offset[1:])
    groups = m[dom] * S + k[dom]
    start = offset[groups]
    end = offset[groups + 1]
    base = np.where(start > 0, cw[np.maximum(start - 1, 0)], 0.0)
    total = cw[np.maximum(end - 1, 0)] - base
    target = base + rng.random(len(dom)) * total
    # search the draws cell by cell (each cell's slice of cw stays in cache); same result as one search
    by_cell = np.argsort(groups.astype(key_dt), kind="stable")
    found = np.empty(len(dom), dtype=np.int64)
    found[by_cell] = np.searchsorted(cw, target[by_cell], side="right")
    pos = np.clip(found, start, np.maximum(end - 1, start))
    valid = end > start
    out[dom[valid]] = rows[order[pos[valid]]]
    return out


def update_suppliers(
    table: FirmTable,
    pairs: Pairs,
    delivered_now: np.ndarray,
    rng: np.random.Generator,
    *,
    search_p: float,
    switching_cost: np.ndarray,
    rows: np.ndarray,
    sigma: np.ndarray,
    phi: np.ndarray,
    tau: np.ndarray,
    import_price: np.ndarray,
    import_weight: float,
    forced_only: bool = False,
) -> int:
    """Search and switch suppliers in ``table.supplier``; return the number of links changed.

    ``pairs``/``delivered_now``: the live (buyer, input) pairs and their current delivered prices.
    ``switching_cost`` (R,) relative gain required, by buyer region.  ``forced_only``: only pairs without a
    supplier draw (used after entry and exit, and when sourcing is switched off).
    """
    region = table.region
    sup = pairs.sup
    forced = sup == NONE
    if forced_only or search_p <= 0:
        search = forced
    else:
        search = forced | (rng.random(len(sup)) < search_p)
    idx = np.flatnonzero(search)
    if len(idx) == 0:
        return 0
    buyer = pairs.buyer[idx]
    kk = pairs.k[idx]
    rb = region[buyer]
    cand = sample_candidates(
        rb,
        kk,
        rng,
        rows=rows,
        sector=table.sector,
        region=region,
        price=table.price,
        sigma=sigma,
        phi=phi,
        tau=tau,
        import_price=import_price,
        import_weight=import_weight,
    )
    # never one's own supplier
    cand = np.where(cand == buyer, NONE, cand)
    has = cand != NONE
    R = len(switching_cost)
    g_c = np.full(len(idx), np.inf)
    d = has & (cand >= 0)
    cd = cand[d]
    g_c[d] = table.price[cd] * tau[kk[d], region[cd], rb[d]]
    im = has & (cand < 0)
    gw = -1 - cand[im]
    g_c[im] = import_price[gw, kk[im]] * tau[kk[im], R + gw, rb[im]]
    g_now = delivered_now[idx]
    take = has & (forced[idx] | (g_c < g_now * (1.0 - switching_cost[rb])))
    if not np.any(take):
        return 0
    table.supplier[buyer[take], kk[take]] = cand[take].astype(np.int32)
    pairs.sup[idx[take]] = cand[take].astype(np.int32)
    return int(np.count_nonzero(take & ~forced[idx]))
