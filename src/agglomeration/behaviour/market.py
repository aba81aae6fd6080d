"""Prices and market clearing: CES monopolistic competition with explicit supplier links.

Prices (DESIGN 3.2 step 2).  Firm i of sector s in region r has marginal cost

    c_i = w_r^beta_s * rent_r^gamma_s * prod_k G_ik^a_ks / (z_i theta_rs) * (1 + admin_r)

where theta_rs is a local productivity shifter (see model.py: by default it offsets the regional
differences in base wages and rents, which reflect local productivity) and G_ik is the delivered price of input k from i's supplier (p_j tau_k[r_j, r] for a domestic supplier,
import price x tau for a gateway) and z_i = exp(log productivity).  The mill price is the CES markup
p_i = sigma_s / (sigma_s - 1) c_i.  Because suppliers' prices enter buyers' costs, prices are the fixed
point of a contraction (sum_k a_ks < 1), solved by iterating from last step's prices.

Revenue (step 3).  Final expenditure E[s, m] in every market m (regions, then gateways) is spread over
sellers through the CES price index P1[s, m] = P^(1-sigma) = sum_r A[s, r] phi[s, r, m] + X[s, m], where
A[s, r] = sum of p_i^(1-sigma) over the (r, s) firms and X the foreign competitors at the gateways.
Firm i's final sales are F_i = p_i^(1-sigma) MP[s, r] with MP[s, r] = sum_m phi[s, r, m] E[s, m] / P1[s, m]
(aggregated by (region, sector) first: cost O(N + R M S)).  Intermediate demand flows through the
supplier links: buyer b pays its supplier for input k the value v_bk = a_ks (sigma_s - 1)/sigma_s /
(1 + admin_r) R_b (a Cobb-Douglas cost share of its variable cost).  Revenue solves
R = F + B' v(R) by Jacobi iterations of ``np.bincount``; purchases are then computed from the converged
revenues and sales are *defined* as F + received purchases, so "sales of suppliers = input purchases of
their buyers" holds exactly.

All money in CNY million per step; prices relative to the domestic reference (import price index 1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

from agglomeration.firms import NONE


@dataclass
class Pairs:
    """The (buyer row, input sector) pairs whose input share is positive, flattened.

    ``buyer``, ``k``: int arrays; ``a``: cost share a[k, s_buyer]; ``sup``: supplier codes (view copy).
    """

    buyer: np.ndarray
    k: np.ndarray
    a: np.ndarray
    sup: np.ndarray


def input_pairs(
    sector: np.ndarray, supplier: np.ndarray, io: np.ndarray, rows: np.ndarray
) -> Pairs:
    """All (buyer, input) pairs of the live ``rows`` with a positive cost share, buyer-major (O(N S_in))."""
    S = io.shape[0]
    need = io.T > 0  # (s, k)
    n_in = need.sum(axis=1)  # inputs per sector
    k_flat = np.nonzero(need)[1]  # input sectors, grouped by buyer sector
    start = np.concatenate([[0], np.cumsum(n_in)[:-1]]) if S else np.zeros(0, int)
    s_rows = sector[rows]
    cnt = n_in[s_rows]
    buyer = np.repeat(rows, cnt)
    total = int(cnt.sum())
    first = np.repeat(np.cumsum(cnt) - cnt, cnt)
    k = k_flat[np.repeat(start[s_rows], cnt) + (np.arange(total) - first)]
    sb = np.repeat(s_rows, cnt)
    idx = np.int32 if len(sector) < 2**31 - 1 else np.int64
    # 1-d gathers through flat indices (cheaper than 2-d fancy indexing; same elements)
    a = np.ascontiguousarray(io).reshape(-1)[k * S + sb]
    sup = np.ascontiguousarray(supplier).reshape(-1)[buyer * supplier.shape[1] + k]
    return Pairs(buyer=buyer.astype(idx), k=k.astype(idx), a=a, sup=sup)


def delivered_prices(
    pairs: Pairs,
    price: np.ndarray,
    region: np.ndarray,
    tau: np.ndarray,
    import_price: np.ndarray,
    n_regions: int,
) -> np.ndarray:
    """Delivered price G of every pair: supplier mill price x iceberg cost to the buyer's region.

    Unsourced pairs (supplier :data:`NONE`) pay the reference price 1 (bought outside the model).
    """
    sup = pairs.sup
    k = pairs.k
    M = tau.shape[1]
    dom = sup >= 0
    supc = np.where(dom, sup, 0)
    src = region[supc].astype(np.int64)  # source market: supplier's region, or R + gateway (below)
    mill = price[supc]
    imp = np.flatnonzero(~dom & (sup != NONE))  # few pairs: patch imports by index
    if len(imp):
        gw = -1 - sup[imp].astype(np.int64)
        src[imp] = n_regions + gw
        mill[imp] = import_price[gw, k[imp]]
    flat = (k * M + src) * M + region[pairs.buyer]
    g = mill * np.ascontiguousarray(tau).reshape(-1)[flat]
    g[sup == NONE] = 1.0
    return g


def _log_delivered_at_unit_prices(
    pairs: Pairs, region: np.ndarray, tau: np.ndarray, import_price: np.ndarray, n_regions: int
) -> np.ndarray:
    """log of :func:`delivered_prices` with all mill prices 1, by lookup in a (S, M, M) table of logs.

    The table holds log(1.0 * tau) for domestic sources and log(p_imp x tau) for gateways: the same
    products as :func:`delivered_prices`, so the values are bit-identical, with one log per table cell
    instead of one per pair.
    """
    tau = np.ascontiguousarray(tau, dtype=float)
    M = tau.shape[1]
    cell = np.array(tau, copy=True)
    G = import_price.shape[0]
    if G:
        cell[:, n_regions:, :] = import_price.T[:, :, None] * tau[:, n_regions:, :]
    log_tab = np.log(cell).reshape(-1)
    sup = pairs.sup
    dom = sup >= 0
    src = region[np.where(dom, sup, 0)].astype(np.int64)
    imp = np.flatnonzero(~dom & (sup != NONE))
    if len(imp):
        src[imp] = n_regions - 1 - sup[imp].astype(np.int64)
    out = log_tab[(pairs.k * M + src) * M + region[pairs.buyer]]
    out[sup == NONE] = 0.0
    return out


def solve_prices(
    rows: np.ndarray,
    sector: np.ndarray,
    region: np.ndarray,
    log_z: np.ndarray,
    price: np.ndarray,
    pairs: Pairs,
    *,
    sigma: np.ndarray,
    labour_share: np.ndarray,
    land_share: np.ndarray,
    wage: np.ndarray,
    rent: np.ndarray,
    admin: np.ndarray,
    tau: np.ndarray,
    import_price: np.ndarray,
    iterations: int,
    local_tfp: np.ndarray | None = None,
    tol: float = 1e-10,
) -> np.ndarray:
    """Mill prices of all rows (dead rows keep their old value) at the fixed point of the cost system.

    ``local_tfp`` (R, S): log of a region x sector productivity shifter dividing marginal cost (0 if None).
    """
    s = sector[rows]
    r = region[rows]
    base = (
        labour_share[s] * np.log(wage[r])
        + land_share[s] * np.log(rent[r])
        + np.log1p(admin[r])
        - log_z[rows]
        + np.log(sigma[s] / (sigma[s] - 1.0))
    )
    if local_tfp is not None:
        base = base - local_tfp[r, s]
    p = price.copy()
    n = len(price)
    R = len(wage)
    # constant part of each pair's log delivered price; suppliers' log mill prices are added per pass
    sup = pairs.sup
    dom = np.flatnonzero(sup >= 0)
    sup_dom = sup[dom]
    log_const = _log_delivered_at_unit_prices(pairs, region, tau, import_price, R)
    pos = np.full(n, -1, dtype=np.int64)
    pos[rows] = np.arange(len(rows))
    buyer_pos = pos[pairs.buyer]
    a = pairs.a
    a_dom = a[dom]
    fixed_inputs = np.bincount(buyer_pos, weights=a * log_const, minlength=len(rows))
    # sparse (live rows x all rows) matrix of input shares: one CSR mat-vec per pass
    # built directly from the row pointers (pairs are buyer-major; no COO round trip), then each row's
    # columns sorted: the canonical matrix the COO constructor gives, so the mat-vec sums are unchanged
    bp_dom = buyer_pos[dom]
    if len(bp_dom) > 1 and np.any(bp_dom[1:] < bp_dom[:-1]):
        order = np.argsort(bp_dom, kind="stable")
        bp_dom, sup_dom, a_dom = bp_dom[order], sup_dom[order], a_dom[order]
    indptr = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum(np.bincount(bp_dom, minlength=len(rows)), out=indptr[1:])
    # suppliers are live firms, so the columns can be their positions among the live rows: the passes
    # then run on the compact vector of live log prices (no gather/scatter through ``rows`` per pass);
    # positions are increasing in the row, so each row's column order and sums are unchanged
    col = pos[sup_dom]
    live_cols = not np.any(col < 0)
    A_mat = sparse.csr_matrix(
        (a_dom, col if live_cols else sup_dom, indptr),
        shape=(len(rows), len(rows) if live_cols else n),
    )
    A_mat.sort_indices()
    const = base + fixed_inputs  # the same left-to-right sum as base + fixed_inputs + A @ x
    logp = np.log(p)
    x = logp[rows]
    for _ in range(iterations):
        new = const + A_mat @ (x if live_cols else logp)
        d = new - x
        delta = float(np.maximum(d.max(), -d.min())) if len(rows) else 0.0  # max |d|
        x = new
        if not live_cols:
            logp[rows] = new
        if delta < tol:
            break
    p[rows] = np.exp(x)
    return p


def price_aggregates(
    rows: np.ndarray,
    sector: np.ndarray,
    region: np.ndarray,
    price: np.ndarray,
    sigma: np.ndarray,
    n_regions: int,
) -> np.ndarray:
    """A[s, r] = sum of p_i^(1 - sigma_s) over live firms of sector s in region r."""
    S = len(sigma)
    s = sector[rows]
    w = price[rows] ** (1.0 - sigma[s])
    a = np.bincount(region[rows] * S + s, weights=w, minlength=n_regions * S)
    return a.reshape(n_regions, S).T.copy()


def external_competition(
    import_price: np.ndarray, tau: np.ndarray, sigma: np.ndarray, n_regions: int, weight: float
) -> np.ndarray:
    """X[s, m]: CES weight of foreign competitors (``weight`` per gateway) in market m."""
    G = import_price.shape[0]
    if G == 0 or weight == 0:
        return np.zeros((len(sigma), tau.shape[1]))
    # (S, G, M): (p_imp[g, s] tau[s, R+g, m])^(1-sigma)
    t = tau[:, n_regions:, :] * import_price.T[:, :, None]
    return weight * np.sum(t ** (1.0 - sigma[:, None, None]), axis=1)


def price_index_power(A: np.ndarray, phi: np.ndarray, X: np.ndarray, n_regions: int) -> np.ndarray:
    """P1[s, m] = P_sm^(1 - sigma) = sum_r A[s, r] phi[s, r, m] + X[s, m]."""
    return np.einsum("sr,srm->sm", A, phi[:, :n_regions, :]) + X


def market_potential(E: np.ndarray, P1: np.ndarray, phi: np.ndarray, n_regions: int) -> np.ndarray:
    """MP[s, r] = sum_m phi[s, r, m] E[s, m] / P1[s, m] (markets with P1 = 0 contribute nothing)."""
    ratio = np.divide(E, P1, out=np.zeros_like(E), where=P1 > 0)
    return np.einsum("srm,sm->sr", phi[:, :n_regions, :], ratio)


@dataclass
class MarketResult:
    """Outcome of market clearing for one step (arrays over table rows; pair arrays over pairs)."""

    final_sales: np.ndarray  # (n,) CNY m
    revenue: np.ndarray  # (n,) CNY m = final sales + intermediate sales
    purchases: np.ndarray  # (pairs,) value paid by the buyer for the pair's input, CNY m
    final_imports: float  # final expenditure captured by foreign competitors, CNY m
    P1: np.ndarray  # (S, M) CES price index power
    A: np.ndarray  # (S, R)
    iterations: int


def link_operator(
    pairs: Pairs,
    sector: np.ndarray,
    region: np.ndarray,
    sigma: np.ndarray,
    admin: np.ndarray,
    n: int,
) -> tuple[np.ndarray, sparse.csc_matrix]:
    """(coef, B): coef[pair] = a_ks (sigma_s - 1)/sigma_s / (1 + admin_r) of the buyer, and the (n, n)
    matrix B[j, b] = coefficient of buyer b's revenue paid to domestic supplier j.

    B is stored column-major (CSC, one column per buyer): the pairs are buyer-major already, so the
    matrix is built in O(pairs) without a sort, and ``B @ x`` adds each supplier's entries in ascending
    buyer order, exactly as a canonical CSR matrix or ``np.bincount`` over the pairs would (bit-identical).
    """
    buyer = pairs.buyer
    sb = sector[buyer]
    coef = pairs.a * (sigma[sb] - 1.0) / sigma[sb] / (1.0 + admin[region[buyer]])
    dom = pairs.sup >= 0
    b_dom, s_dom, c_dom = buyer[dom], pairs.sup[dom], coef[dom]
    if len(b_dom) > 1 and np.any(b_dom[1:] < b_dom[:-1]):  # pairs not buyer-major: order them
        order = np.argsort(b_dom, kind="stable")
        b_dom, s_dom, c_dom = b_dom[order], s_dom[order], c_dom[order]
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(b_dom, minlength=n), out=indptr[1:])
    B = sparse.csc_matrix((c_dom, s_dom, indptr), shape=(n, n))
    return coef, B


def clear_markets(
    rows: np.ndarray,
    sector: np.ndarray,
    region: np.ndarray,
    price: np.ndarray,
    pairs: Pairs,
    *,
    E: np.ndarray,
    sigma: np.ndarray,
    phi: np.ndarray,
    X: np.ndarray,
    admin: np.ndarray,
    iterations: int,
    revenue0: np.ndarray | None = None,
    links: tuple[np.ndarray, sparse.csc_matrix] | None = None,
    tol: float = 1e-11,
) -> MarketResult:
    """Final and intermediate sales of every live firm for given prices, links and final expenditure.

    ``links``: the (coef, B) pair of :func:`link_operator` when the caller reuses it across calls.
    """
    n = len(price)
    R = len(admin)
    S = len(sigma)
    s = sector[rows]
    r = region[rows]
    # p^(1 - sigma) once, for the aggregates (as price_aggregates computes them) and the final sales
    wp = price[rows] ** (1.0 - sigma[s])
    A = np.bincount(r * S + s, weights=wp, minlength=R * S).reshape(R, S).T.copy()
    P1 = price_index_power(A, phi, X, R)
    MP = market_potential(E, P1, phi, R)
    F = np.zeros(n)
    F[rows] = wp * MP[s, r]
    sold_domestic = np.einsum("sr,srm->sm", A, phi[:, :R, :]) * np.divide(
        E, P1, out=np.zeros_like(E), where=P1 > 0
    )
    final_imports = float(E.sum() - sold_domestic.sum())
    # intermediate demand through the links
    coef, B = links if links is not None else link_operator(pairs, sector, region, sigma, admin, n)
    rev = F.copy() if revenue0 is None else np.maximum(revenue0, F)
    it = 0
    for it in range(1, iterations + 1):  # noqa: B007
        new = F + B @ rev
        d = new - rev
        # max |new| and max |new - rev| from max and min (no |.| temporaries; NaN propagates)
        scale = max(float(np.maximum(new.max(), -new.min())), 1e-300) if n else 1.0
        done = float(np.maximum(d.max(), -d.min())) <= tol * scale if n else True
        rev = new
        if done:
            break
    purchases = coef * rev[pairs.buyer]
    # received purchases of each supplier = B @ rev (the same products added in the same buyer order as
    # np.bincount(sup_dom, weights=purchases[dom]), so bit-identical, without the scattered gather)
    revenue = F + B @ rev
    return MarketResult(
        final_sales=F,
        revenue=revenue,
        purchases=purchases,
        final_imports=final_imports,
        P1=P1,
        A=A,
        iterations=it,
    )


def intermediate_demand(
    pairs: Pairs, purchases: np.ndarray, region: np.ndarray, n_sectors: int, n_regions: int
) -> np.ndarray:
    """I[k, r]: value of input k bought by firms located in region r (domestic and imported), CNY m."""
    idx = region[pairs.buyer] * n_sectors + pairs.k
    return (
        np.bincount(idx, weights=purchases, minlength=n_regions * n_sectors)
        .reshape(n_regions, n_sectors)
        .T.copy()
    )
