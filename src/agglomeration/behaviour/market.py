"""Prices and market clearing: CES monopolistic competition with explicit supplier links.

Prices (submodel ``market``).  Firm i of sector s in region r has marginal cost

    c_i = w_r^beta_s * rent_r^gamma_s * prod_k G_ik^a_ks / (z_i theta_rs) * (1 + admin_r)

where theta_rs is a local productivity shifter (see model.py: by default it offsets the regional
differences in base wages and rents, which reflect local productivity) and G_ik is the delivered
price of input k from i's supplier (p_j tau_k[r_j, r] for a domestic supplier,
import price x tau for a gateway) and z_i = exp(log productivity).  The mill price is the CES markup
p_i = sigma_s / (sigma_s - 1) c_i.  Because suppliers' prices enter buyers' costs, prices are the fixed
point of a contraction (sum_k a_ks < 1), solved in logs (where the system is linear) by Gauss-Seidel
sweeps from last step's prices.

Revenue (same submodel, after the prices).  Final expenditure E[s, m] in every market m (regions,
then gateways) is spread over sellers through the CES price index
P1[s, m] = P^(1-sigma) = sum_r A[s, r] phi[s, r, m] + X[s, m], where
A[s, r] = sum of p_i^(1-sigma) over the (r, s) firms and X the foreign competitors at the gateways.
Firm i's final sales are F_i = p_i^(1-sigma) MP[s, r] with MP[s, r] = sum_m phi[s, r, m] E[s, m] / P1[s, m]
(aggregated by (region, sector) first: cost O(N + R M S)).  Intermediate demand flows through the
supplier links: buyer b pays its supplier for input k the value v_bk = a_ks (sigma_s - 1)/sigma_s /
(1 + admin_r) R_b (a Cobb-Douglas cost share of its variable cost).  Revenue solves R = F + B R by
Gauss-Seidel sweeps over the links grouped by supplier; purchases are then computed from the converged
revenues and sales are *defined* as F + received purchases, so "sales of suppliers = input purchases of
their buyers" holds exactly.

The sweeps are compiled loops over the firm table (:mod:`agglomeration.behaviour._market_kernels`): the
supplier of every (buyer, input) pair is read from ``FirmTable.supplier`` directly, so no pair-sized
array is built on the hot path (:class:`Pairs` remains for outputs: ``model.links_frame``).

All money in CNY million per step; prices relative to the domestic reference (import price index 1).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np
from pydantic import Field

from agglomeration.behaviour import _market_kernels as _k
from agglomeration.firms import NONE
from agglomeration.parameters import Section
from agglomeration.submodel import Submodel

if TYPE_CHECKING:  # pragma: no cover
    from agglomeration.scenario import Scenario
    from agglomeration.state import ModelState
    from agglomeration.world import World


@dataclass
class Pairs:
    """Every filled supplier slot of the live firms, flattened (buyer-major, inputs in io order).

    ``buyer``, ``k``: int arrays; ``a``: cost share a[k, s_buyer]; ``sup``: supplier codes; ``share``:
    the supplier's share of the buyer's spending on input k (1 for a single supplier).
    """

    buyer: np.ndarray
    k: np.ndarray
    a: np.ndarray
    sup: np.ndarray
    share: np.ndarray


def input_pairs(
    rows: np.ndarray,
    sector: np.ndarray,
    region: np.ndarray,
    supplier: np.ndarray,
    io: np.ndarray,
    shares: dict[str, np.ndarray],
    n_regions: int,
    n_markets: int,
) -> Pairs:
    """:class:`Pairs` of the live ``rows`` (O(links)); ``shares``: :func:`share_inputs` at the prices the
    expenditure shares are taken at."""
    inputs = input_lists(io)
    buyer, k, sup, a, share = _k.slot_links(
        np.asarray(rows, dtype=np.int64),
        sector,
        region,
        supplier,
        inputs.ptr,
        inputs.k,
        inputs.a,
        shares["cesw"],
        shares["phi_tab"],
        shares["imp_u"],
        n_markets,
        n_regions,
        NONE,
    )
    return Pairs(buyer=buyer, k=k, a=a, sup=sup, share=share)


@dataclass(frozen=True)
class InputLists:
    """The inputs of every sector as a CSR list: sector s uses input k[e] with cost share a[e] for
    e in ptr[s]:ptr[s+1] (only a[k, s] > 0, k ascending); ``total[s]`` = sum_k a[k, s].

    ``rank[s]``: position of sector s in an upstream-first order of the chain (see
    :func:`upstream_rank`), the order of the Gauss-Seidel sweeps.
    """

    ptr: np.ndarray
    k: np.ndarray
    a: np.ndarray
    total: np.ndarray
    rank: np.ndarray


def upstream_rank(io: np.ndarray) -> np.ndarray:
    """rank[s] of every sector in an upstream-first order: greedily place next the sector whose inputs
    from sectors not yet placed weigh least (ties: lowest index).

    For an acyclic chain this is a topological order; with cycles it keeps the feedback small.  Only the
    speed of the fixed-point sweeps depends on it, not their solution.
    """
    io = np.asarray(io, dtype=float)
    S = io.shape[0]
    left = list(range(S))
    rank = np.empty(S, dtype=np.int64)
    for pos in range(S):
        # weight of inputs each remaining sector still needs from remaining sectors (itself excluded)
        w = [sum(io[k, s] for k in left if k != s) for s in left]
        s = left[int(np.argmin(w))]
        rank[s] = pos
        left.remove(s)
    return rank


def input_lists(io: np.ndarray) -> InputLists:
    """:class:`InputLists` of an (S, S) input-output matrix io[k, s] (cost share of input k in sector s).

    Built once per distinct matrix and shared (read-only arrays): price solving and sourcing ask for
    it every step.
    """
    io = np.ascontiguousarray(io, dtype=float)
    return _input_lists(io.tobytes(), io.shape)


@functools.lru_cache(maxsize=16)
def _input_lists(data: bytes, shape: tuple[int, ...]) -> InputLists:
    io = np.frombuffer(data, dtype=float).reshape(shape)
    S = io.shape[0]
    need = io.T > 0  # (s, k)
    ptr = np.zeros(S + 1, dtype=np.int64)
    np.cumsum(need.sum(axis=1), out=ptr[1:])
    s_idx, k_idx = np.nonzero(need)
    lists = InputLists(
        ptr=ptr,
        k=k_idx.astype(np.int64),
        a=np.ascontiguousarray(io[k_idx, s_idx]),
        total=io.sum(axis=0),
        rank=upstream_rank(io),
    )
    for arr in (lists.ptr, lists.k, lists.a, lists.total, lists.rank):
        arr.setflags(write=False)
    return lists


def _sweep_order(
    rows: np.ndarray, sector: np.ndarray, rank: np.ndarray, n_sectors: int, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(order, the same as uint64, pos): ``_market_kernels.sweep_order``.  The kernels walk the uint64
    form (no negative-index test per access); numpy indexes with the int64 view, which it uses as is
    (a uint64 index array is converted to int64 on every gather and scatter)."""
    order_u, pos = _k.sweep_order(rows, sector, rank, n_sectors, n)
    return order_u.view(np.int64), order_u, pos


def log_delivered_table(tau: np.ndarray, import_price: np.ndarray, n_regions: int) -> np.ndarray:
    """Flat (S, M, M) table of log delivered prices at unit mill price, index (k M + source) M + buyer.

    Domestic sources: log tau_k[m, r]; gateway g: log(p_imp[g, k] tau_k[R + g, r]).  One log per table
    cell instead of one per link.
    """
    tau = np.ascontiguousarray(tau, dtype=float)
    cell = np.array(tau, copy=True)
    if import_price.shape[0]:
        cell[:, n_regions:, :] = import_price.T[:, :, None] * tau[:, n_regions:, :]
    return np.log(cell).reshape(-1)


@dataclass(frozen=True)
class PriceSystem:
    """The log-linear cost system of one step: x_q = const_q + sum_e val_e x_col_e over positions q.

    Position q is live row ``order[q]`` (rows sorted upstream sectors first, see
    :func:`upstream_rank`); ``pos`` maps rows to positions.  ``indptr``/``col``/``val``: the domestic
    supplier links of every buyer (CSR by buyer position; columns = supplier positions; values = cost
    shares a_ks); ``const``: log unit cost net of inputs, minus log productivity, plus the log markup
    and the constant log delivered-price terms (transport, imports, inputs bought outside at price 1).
    ``fixed_costs``: (the sector fixed costs f_s, every position's fixed cost at them: f_s x lines
    plus its relationship costs), added up in the same scan of the supplier slots; the accounts'
    cache of :attr:`MarketResult.fixed_costs` (None when the system was built without them).
    """

    order: np.ndarray
    pos: np.ndarray
    indptr: np.ndarray
    col: np.ndarray
    val: np.ndarray
    const: np.ndarray
    fixed_costs: tuple[np.ndarray, np.ndarray] | None = None


def share_inputs(
    price: np.ndarray,
    sector: np.ndarray,
    lines: np.ndarray,
    *,
    sigma: np.ndarray,
    phi: np.ndarray,
    tau: np.ndarray,
    import_price: np.ndarray,
    n_regions: int,
) -> dict[str, np.ndarray]:
    """What the CES expenditure shares over a buyer's suppliers need (see ``_market_kernels.pair_weights``):
    ``logp`` (n,) log mill prices, ``cesw`` (n,) lines x p^(1 - sigma_s), ``phi_tab`` the flat (S, M, M)
    trade freeness, ``imp_u`` the flat (S, G, R) CES weights (p_imp tau)^(1 - sigma_k) of imports."""
    sigma = np.asarray(sigma, dtype=float)
    logp = np.log(price)
    cesw = lines * np.exp((1.0 - sigma[sector]) * logp)
    G = import_price.shape[0]
    if G:
        delivered = import_price.T[:, :, None] * tau[:, n_regions:, :n_regions]  # (S, G, R)
        imp_u = delivered ** (1.0 - sigma[:, None, None])
    else:
        imp_u = np.zeros((len(sigma), 0, n_regions))
    return {
        "logp": logp,
        "cesw": cesw,
        "phi_tab": np.ascontiguousarray(phi, dtype=float).reshape(-1),
        "imp_u": np.ascontiguousarray(imp_u).reshape(-1),
    }


def price_system(
    rows: np.ndarray,
    sector: np.ndarray,
    region: np.ndarray,
    log_z: np.ndarray,
    supplier: np.ndarray,
    inputs: InputLists,
    *,
    price: np.ndarray,
    lines: np.ndarray,
    sigma: np.ndarray,
    labour_share: np.ndarray,
    land_share: np.ndarray,
    wage: np.ndarray,
    rent: np.ndarray,
    admin: np.ndarray,
    tau: np.ndarray,
    phi: np.ndarray,
    import_price: np.ndarray,
    local_tfp: np.ndarray | None = None,
    fixed_cost: np.ndarray | None = None,
    relationship_cost: np.ndarray | None = None,
) -> PriceSystem:
    """Build the :class:`PriceSystem` of the live ``rows`` (one scan of the supplier table).

    ``price`` are the mill prices at the start of the step (they set the expenditure shares over each
    buyer's suppliers), ``lines`` every firm's product lines.  ``local_tfp`` (R, S): log of a region x
    sector productivity shifter dividing marginal cost (0 if None).  Wages and rents relative to their
    reference level.  With ``fixed_cost`` (S,) and ``relationship_cost`` (S, M, R) (see
    :func:`agglomeration.behaviour.accounts.firm_fixed_costs`) the scan also adds up the firms' fixed
    costs (``PriceSystem.fixed_costs``).
    """
    R = len(wage)
    S = len(sigma)
    sigma = np.asarray(sigma, dtype=float)
    order, order_u, pos = _sweep_order(rows, sector, inputs.rank, S, len(sector))
    cell = (
        np.outer(np.log(wage), labour_share)
        + np.outer(np.log(rent), land_share)
        + np.log1p(admin)[:, None]
        + np.log(sigma / (sigma - 1.0))[None, :]
    )  # (R, S) log unit cost net of inputs and productivity, plus the log markup
    if local_tfp is not None:
        cell = cell - local_tfp
    log_tab = log_delivered_table(tau, import_price, R)
    shares = share_inputs(
        price, sector, lines, sigma=sigma, phi=phi, tau=tau, import_price=import_price, n_regions=R
    )
    with_fixed = fixed_cost is not None and relationship_cost is not None
    if with_fixed:
        f_s = np.array(fixed_cost, dtype=float, copy=True)
        rel = np.ascontiguousarray(relationship_cost, dtype=float).reshape(-1)
        if relationship_cost.shape != (S, tau.shape[1], R):
            raise ValueError(
                f"relationship_cost must have shape ({S}, {tau.shape[1]}, {R}), "
                f"got {relationship_cost.shape}"
            )
    else:
        f_s, rel = np.zeros(S), np.zeros(S * tau.shape[1] * R)
    indptr, col, val, const, fixed = _k.price_system(
        order_u,
        pos,
        sector,
        region,
        supplier,
        inputs.ptr,
        inputs.k,
        inputs.a,
        log_tab,
        tau.shape[1],
        R,
        np.ascontiguousarray(cell).reshape(-1),
        log_z,
        sigma,
        lines,
        shares["cesw"],
        shares["logp"],
        shares["phi_tab"],
        shares["imp_u"],
        NONE,
        f_s,
        rel,
    )
    return PriceSystem(
        order, pos, indptr, col, val, const, fixed_costs=(f_s, fixed) if with_fixed else None
    )


def solve_prices(
    rows: np.ndarray,
    sector: np.ndarray,
    region: np.ndarray,
    log_z: np.ndarray,
    price: np.ndarray,
    supplier: np.ndarray,
    inputs: InputLists,
    *,
    iterations: int,
    tol: float = 1e-10,
    system: PriceSystem | None = None,
    **unit_cost: np.ndarray | None,
) -> tuple[np.ndarray, int]:
    """Mill prices of all rows at the fixed point of the cost system, and the number of sweeps used.

    In logs the cost system is linear: log p_i = base_i + sum_k a_ks log G_ik, with G_ik the delivered
    price of input k (supplier's log mill price + log iceberg cost).  It is solved by Gauss-Seidel sweeps
    from last step's prices until no log price moves by ``tol`` or more (at most ``iterations`` sweeps).
    Dead rows keep their old value.  ``unit_cost``: the keyword arguments of :func:`price_system`
    (lines, sigma, labour_share, land_share, wage, rent, admin, tau, phi, import_price, local_tfp),
    unless the ``system`` is given already built.
    """
    if system is None:
        system = price_system(
            rows, sector, region, log_z, supplier, inputs, price=price, **unit_cost
        )
    order = system.order
    x = np.log(price[order])  # by position
    sweeps = _k.solve_log_prices(
        system.indptr, system.col, system.val, system.const, x, tol, iterations
    )
    p = price.copy()
    p[order] = np.exp(x)
    return p, int(sweeps)


def external_competition(
    import_price: np.ndarray,
    tau: np.ndarray,
    sigma: np.ndarray,
    n_regions: int,
    weight: float,
    relative: np.ndarray | None = None,
) -> np.ndarray:
    """X[s, m]: CES weight of foreign competitors in market m: ``weight`` x ``relative[g]`` (G,; the
    gateways' ``competitors`` column, default 1) number-equivalents of competitors at each gateway g,
    each priced at p_imp[g, s] tau[s, R+g, m]."""
    G = import_price.shape[0]
    if G == 0 or weight == 0:
        return np.zeros((len(sigma), tau.shape[1]))
    return weight * np.sum(
        gateway_competition(import_price, tau, sigma, n_regions, relative), axis=1
    )


def gateway_competition(
    import_price: np.ndarray,
    tau: np.ndarray,
    sigma: np.ndarray,
    n_regions: int,
    relative: np.ndarray | None = None,
) -> np.ndarray:
    """(S, G, M) CES weight per unit of ``external_competitors`` of gateway g's foreign competitors in
    market m: ``relative[g] (p_imp[g, s] tau[s, R+g, m])^(1-sigma)`` [-] (each gateway's part of
    :func:`external_competition`, also what splits the imports over the gateways)."""
    G = import_price.shape[0]
    rel = np.ones(G) if relative is None else np.asarray(relative, dtype=float)
    t = tau[:, n_regions:, :] * import_price.T[:, :, None]
    return rel[None, :, None] * t ** (1.0 - sigma[:, None, None])


def price_index_power(A: np.ndarray, phi: np.ndarray, X: np.ndarray, n_regions: int) -> np.ndarray:
    """P1[s, m] = P_sm^(1 - sigma) = sum_r A[s, r] phi[s, r, m] + X[s, m]."""
    return np.einsum("sr,srm->sm", A, phi[:, :n_regions, :]) + X


def market_potential(E: np.ndarray, P1: np.ndarray, phi: np.ndarray, n_regions: int) -> np.ndarray:
    """MP[s, r] = sum_m phi[s, r, m] E[s, m] / P1[s, m] (markets with P1 = 0 contribute nothing)."""
    ratio = np.divide(E, P1, out=np.zeros_like(E), where=P1 > 0)
    return np.einsum("srm,sm->sr", phi[:, :n_regions, :], ratio)


@dataclass
class MarketResult:
    """Outcome of market clearing for one step (arrays over table rows)."""

    final_sales: np.ndarray  # (n,) CNY m
    revenue: np.ndarray  # (n,) CNY m = final sales + intermediate sales
    rev_iterate: np.ndarray  # (n,) the converged revenue iterate the input purchases are priced at
    input_cost_rate: (
        np.ndarray
    )  # (R * S,) input purchases per unit of rev_iterate, by buyer cell r S + s
    final_imports: float  # final expenditure captured by foreign competitors, CNY m
    P1: np.ndarray  # (S, M) CES price index power
    A: np.ndarray  # (S, R)
    iterations: int
    order: np.ndarray  # the live rows the market was cleared for, in sweep order
    cell: np.ndarray  # their (region, sector) cell r S + s, by position in ``order``
    rev_pos: np.ndarray  # rev_iterate by position
    inter_pos: np.ndarray  # intermediate sales B rev_iterate by position (revenue = final + this)
    wp: np.ndarray  # CES weights lines x p^(1 - sigma) by position
    #: the accounts' cache (:func:`agglomeration.behaviour.accounts.book`): the sector fixed costs
    #: f_s and the firms' fixed costs at them and at the links this market was cleared with (f_s x
    #: lines + relationship costs, by position in ``order``); None until the accounts first need them
    fixed_costs: tuple[np.ndarray, np.ndarray] | None = field(
        default=None, repr=False, compare=False
    )

    def input_cost(self) -> np.ndarray:
        """(n,) input purchases of every row, CNY m (all inputs: domestic, imported, outside)."""
        out = np.zeros(len(self.revenue))
        out[self.order] = self.input_cost_rate[self.cell] * self.rev_iterate[self.order]
        return out


@dataclass(frozen=True)
class RevenueLinks:
    """The domestic supplier links of the live firms, for the revenue fixed point.

    By position q (live row ``order[q]``, upstream sectors first): the suppliers of buyer q are the
    positions ``col[indptr[q]:indptr[q+1]]`` with cost shares ``val``; buyer q pays each of them
    val x ``fac[q]`` x its revenue, fac = (sigma_s - 1)/sigma_s / (1 + admin_r) of the buyer's cell
    (``factor_rs`` (R * S) by cell r S + s).
    """

    indptr: np.ndarray
    col: np.ndarray
    val: np.ndarray
    fac: np.ndarray
    factor_rs: np.ndarray
    rows: np.ndarray
    sector: np.ndarray
    region: np.ndarray
    supplier: np.ndarray
    inputs: InputLists
    order: np.ndarray


def revenue_links(
    rows: np.ndarray,
    sector: np.ndarray,
    region: np.ndarray,
    supplier: np.ndarray,
    inputs: InputLists,
    *,
    sigma: np.ndarray,
    admin: np.ndarray,
    system: PriceSystem | None = None,
    shares: dict[str, np.ndarray] | None = None,
    n_markets: int | None = None,
) -> RevenueLinks:
    """:class:`RevenueLinks` of the live ``rows``: the step's :class:`PriceSystem` links (same rows and
    suppliers; its values a_ks w_j are the buyers' expenditure shares) with the buyers' revenue factors.

    Without a ``system`` the links are built from the table: ``shares`` (:func:`share_inputs`) and
    ``n_markets`` give the expenditure shares; without them every pair must have one supplier at most.
    """
    sigma = np.asarray(sigma, dtype=float)
    factor_rs = ((sigma - 1.0) / sigma)[None, :] / (1.0 + np.asarray(admin, dtype=float))[:, None]
    factor_rs = np.ascontiguousarray(factor_rs).reshape(-1)
    if system is not None:
        order, indptr, col, val = system.order, system.indptr, system.col, system.val
    else:
        R = len(factor_rs) // len(sigma)
        order, order_u, pos = _sweep_order(rows, sector, inputs.rank, len(sigma), len(sector))
        if shares is None:
            if supplier.shape[2] > 1 and np.any(supplier[rows, :, 1] != NONE):
                raise ValueError("revenue_links: several suppliers per input need `shares`")
            shares = {"cesw": np.ones(len(sector)), "phi_tab": np.ones(1), "imp_u": np.ones(1)}
            n_markets = R
        indptr, col, val = _k.link_lists(
            order_u,
            pos,
            sector,
            region,
            supplier,
            inputs.ptr,
            inputs.k,
            inputs.a,
            shares["cesw"],
            shares["phi_tab"],
            shares["imp_u"],
            int(n_markets),
            R,
            NONE,
        )
    fac = _k.buyer_factors(order, sector, region, factor_rs, len(sigma))
    return RevenueLinks(
        indptr, col, val, fac, factor_rs, rows, sector, region, supplier, inputs, order
    )


@dataclass(frozen=True)
class PriceIndices:
    """CES weights and price indices at one set of prices (unchanged across the within-step income loop).

    ``wp`` and ``cell`` are by position in ``RevenueLinks.order``: lines x p^(1 - sigma) and the (region, sector)
    cell r S + s of each live firm; ``A`` (S, R) the cell sums of wp; ``P1`` (S, M) the CES price index
    powers of every market.
    """

    wp: np.ndarray
    cell: np.ndarray
    A: np.ndarray
    P1: np.ndarray
    #: :func:`clear_markets`' domestic weights sum_r A[s, r] phi[s, r, m] with the ``phi`` they were
    #: computed for (the same in every pass of the income loop)
    memo: dict = field(default_factory=dict, repr=False, compare=False)


def price_indices(
    links: RevenueLinks,
    price: np.ndarray,
    *,
    sigma: np.ndarray,
    phi: np.ndarray,
    X: np.ndarray,
    lines: np.ndarray | None = None,
) -> PriceIndices:
    """:class:`PriceIndices` of the live firms of ``links`` at ``price`` (O(N + R S M)); a firm's CES
    weight is lines x p^(1 - sigma) (each product line is a variety; ``lines`` None = one each)."""
    S = len(sigma)
    R = len(links.factor_rs) // S
    order = links.order
    # gathers, x lines, cells and cell sums compiled (the same operations); the power stays numpy's
    base, expo = _k.power_operands(order, links.sector, price, np.asarray(sigma, dtype=float))
    wp = base**expo
    cell, sums = _k.weights_and_cells(
        order,
        links.sector,
        links.region,
        wp,
        np.zeros(0, np.int32) if lines is None else lines,
        R,
        S,
    )
    A = sums.reshape(R, S).T.copy()
    return PriceIndices(wp=wp, cell=cell, A=A, P1=price_index_power(A, phi, X, R))


def clear_markets(
    rows: np.ndarray,
    sector: np.ndarray,
    region: np.ndarray,
    price: np.ndarray,
    links: RevenueLinks,
    *,
    E: np.ndarray,
    sigma: np.ndarray,
    phi: np.ndarray,
    X: np.ndarray,
    iterations: int,
    revenue0: np.ndarray | None = None,
    final0: np.ndarray | None = None,
    indices: PriceIndices | None = None,
    previous: MarketResult | None = None,
    tol: float = 1e-11,
) -> MarketResult:
    """Final and intermediate sales of every live firm for given prices, links and final expenditure.

    Revenue solves R = F + B R (B: the links' revenue shares) by Gauss-Seidel sweeps from ``revenue0``
    (default: F), shifted by the change of final sales since ``final0`` (the final sales ``revenue0``
    was computed with, if given), until no revenue moves by more than ``tol`` x max revenue (at most
    ``iterations`` sweeps).  The recorded revenue is then F + B R at the converged iterate R, and every
    buyer's input purchases are priced at that same iterate, so sales of suppliers = purchases of their
    buyers.  ``indices``: :func:`price_indices` when the caller reuses them across calls at unchanged
    prices.  ``previous``: the result of clearing the same ``links`` before (the within-step income
    loop); the sweeps then start from its revenues, whose intermediate sales are known already (this
    replaces ``revenue0``/``final0``).  ``rows`` (the live rows) must be those ``links`` were built for.
    """
    n = len(price)
    R = len(links.factor_rs) // len(sigma)
    if indices is None:
        indices = price_indices(links, price, sigma=sigma, phi=phi, X=X)
    A, P1 = indices.A, indices.P1
    # market_potential(E, P1, phi, R), its ratio E / P1 also the domestic share's (computed once)
    ratio = np.divide(E, P1, out=np.zeros_like(E), where=P1 > 0)
    MP = np.einsum("srm,sm->sr", phi[:, :R, :], ratio)
    order = links.order
    # final sales by position: wp x MP of the firm's cell (one compiled pass, no gathered temporary)
    F_pos = _k.final_sales_by_position(
        indices.wp, np.ascontiguousarray(MP.T).reshape(-1), indices.cell
    )
    kept = indices.memo.get("domestic")
    if kept is None or kept[0] is not phi:
        kept = indices.memo["domestic"] = (phi, np.einsum("sr,srm->sm", A, phi[:, :R, :]))
    sold_domestic = kept[1] * ratio
    final_imports = float(E.sum() - sold_domestic.sum())
    if previous is not None and previous.order is order:
        rev_pos = previous.rev_pos.copy()
        acc = F_pos + previous.inter_pos  # = F + B rev at the starting revenues
    else:
        if revenue0 is None:
            rev_pos = F_pos.copy()
        else:
            guess = revenue0[order] if final0 is None else revenue0[order] + (F_pos - final0[order])
            rev_pos = np.maximum(guess, F_pos)
        acc = F_pos.copy()
        _k.push_purchases(links.indptr, links.col, links.val, links.fac, rev_pos, acc)
    sweeps = _k.solve_revenue(
        links.indptr, links.col, links.val, links.fac, acc, rev_pos, tol, iterations
    )
    inter = np.zeros(len(order))  # intermediate sales at the converged iterate, pushed afresh
    _k.push_purchases(links.indptr, links.col, links.val, links.fac, rev_pos, inter)
    # by row: final sales, revenue = F + inter and the iterate (one compiled pass, not three scatters)
    F, revenue, rev = _k.scatter_sales(order, F_pos, inter, rev_pos, n)
    rate = links.factor_rs * np.concatenate((links.inputs.total,) * R)  # np.tile, cheaper (1-D)
    return MarketResult(
        final_sales=F,
        revenue=revenue,
        rev_iterate=rev,
        input_cost_rate=rate,
        final_imports=final_imports,
        P1=P1,
        A=A,
        iterations=int(sweeps),
        order=order,
        cell=indices.cell,
        rev_pos=rev_pos,
        inter_pos=inter,
        wp=indices.wp,
    )


def link_flows(links: RevenueLinks, rev_iterate: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Purchases walked from the buyers' side at the revenue iterate.

    Returns (received (n,): purchases each domestic supplier receives, total purchases, purchases from
    outside the model: imports and unsourced inputs), CNY m.
    """
    order = links.order
    received_pos, total, outside = link_flows_by_position(links, rev_iterate[order])
    received = np.zeros(len(links.sector))
    received[order] = received_pos
    return received, total, outside


def link_flows_by_position(
    links: RevenueLinks, rev_pos: np.ndarray
) -> tuple[np.ndarray, float, float]:
    """:func:`link_flows` by position in ``links.order``: the revenue iterate ``rev_pos`` and the
    purchases received by position (no gather and scatter over the table's rows)."""
    order = links.order
    received_pos = np.zeros(len(order))
    total_a = links.inputs.total[links.sector[order]]
    total, outside = _k.buyer_side_purchases(
        links.indptr, links.col, links.val, links.fac, rev_pos, total_a, received_pos
    )
    return received_pos, float(total), float(outside)


def intermediate_demand(mkt: MarketResult, links: RevenueLinks, io: np.ndarray) -> np.ndarray:
    """I[k, r]: value of input k bought by firms located in region r (domestic and imported), CNY m.

    I[k, r] = sum_s a_ks (sigma_s - 1)/sigma_s/(1 + admin_r) x (revenue iterate summed over cell (r, s)):
    the purchases of every (buyer, input) pair, aggregated by cell first (O(N + R S^2)).
    """
    S = io.shape[0]
    R = len(links.factor_rs) // S
    # rev_pos is rev_iterate[order] (by position), stored: no gather
    rc = np.bincount(mkt.cell, weights=mkt.rev_pos, minlength=R * S)
    w = (links.factor_rs * rc).reshape(R, S)
    return np.asarray(io, dtype=float) @ w.T


# ------------------------------------------------------------------------------------------- submodel
class MarketParams(Section):
    """``[behaviour.market]``: demand closure and production (see docs/ODD.md)."""

    external_competitors: float = Field(
        20.0,
        ge=0.0,
        le=1e9,
        description="number-equivalent of foreign competitors of each sector located at each gateway "
        "(times the gateway's relative mass, gateways.csv `competitors`), priced at the gateway import "
        "price; they compete in every market's CES index [firms]",
        json_schema_extra={
            "source": "assumption: foreign rivals worth a few dozen domestic firms per gateway (plausible 5-100); calibrate to import shares"
        },
    )
    import_prices: Literal["relative", "absolute"] = Field(
        "relative",
        description="'relative': gateway import prices are multiples of the sector's domestic price "
        "level in the last market (foreign technology keeps pace); 'absolute': the data prices in "
        "model units",
        json_schema_extra={
            "source": "foreign technology keeps pace with domestic technology, so the data's relative import prices stay meaningful as domestic productivity changes"
        },
    )
    local_productivity: Literal["offset_factor_prices", "none"] = Field(
        "offset_factor_prices",
        description="region x sector productivity shifter theta_rs: 'offset_factor_prices' = base wage and rent "
        "differences reflect local productivity (log theta_rs = beta_s log(w_r/mean w) + gamma_s log(q_r/mean q), "
        "so only their changes act as congestion); 'none' = theta = 1 (theory benchmarks)",
        json_schema_extra={
            "source": "wage/rent gaps in the data reflect productivity (quantitative spatial economics practice)"
        },
    )
    factor_income_local: bool = Field(
        True,
        description="wages and land rents paid by firms are spent in their region on top of immobile "
        "income; false = immobile income already contains all labour income (FE/FC benchmarks)",
        json_schema_extra={
            "source": "wages and rents are spent where earned; off in theory benchmarks"
        },
    )
    profit_spending: Literal["local", "owners"] = Field(
        "local",
        description="where profits are spent: 'local' = in the firm's region (footloose entrepreneur), "
        "'owners' = by region shares of immobile income (footloose capital)",
        json_schema_extra={
            "source": "local: footloose-entrepreneur closure; 'owners' for footloose capital"
        },
    )


def unit_cost_inputs(state: ModelState, world: World) -> dict[str, np.ndarray | None]:
    """The arguments of the Cobb-Douglas unit cost shared by price solving and entry prospects: sector
    shares, factor prices relative to their reference level, admin cost, effective iceberg costs, import
    prices and the regional productivity shifter."""
    return {
        "sigma": world.sigma,
        "labour_share": world.labour_share,
        "land_share": world.land_share,
        "wage": state.wage / state.wage_ref,
        "rent": state.rent / state.rent_ref,
        "admin": state.costs.admin,
        "tau": state.costs.tau_inputs,
        "import_price": state.import_price,
        "local_tfp": state.local_tfp,
    }


def solve(state: ModelState, world: World, scenario: Scenario) -> PriceSystem:
    """Set the prices of all live firms to the fixed point of the cost system; return the step's cost
    system, whose links the revenue fixed point reuses (and whose fixed costs the accounts do)."""
    from agglomeration.behaviour.sourcing import relationship_costs

    t = state.firms
    rows = t.alive_rows()
    inputs = input_lists(world.io)
    system = price_system(
        rows,
        t.sector,
        t.region,
        t.log_productivity,
        t.supplier,
        inputs,
        price=t.price,
        lines=t.lines,
        phi=state.costs.phi,
        fixed_cost=state.fixed_cost,
        relationship_cost=relationship_costs(state, world, scenario),
        **unit_cost_inputs(state, world),
    )
    t.price[:], _ = solve_prices(
        rows,
        t.sector,
        t.region,
        t.log_productivity,
        t.price,
        t.supplier,
        inputs,
        iterations=scenario.solver.price_iterations,
        system=system,
    )
    state.market_price_level = price_level(state, world, rows)
    return system


def price_level(state: ModelState, world: World, rows: np.ndarray) -> np.ndarray:
    """(S,) the geometric mean of the mill prices of ``rows`` by sector [model units]; a sector
    without firms keeps ``state.domestic_price_level``."""
    t = state.firms
    s = t.sector[rows]
    n = np.bincount(s, minlength=world.n_sectors)
    logp = np.bincount(s, weights=np.log(t.price[rows]), minlength=world.n_sectors)
    return np.where(n > 0, np.exp(logp / np.maximum(n, 1)), state.domestic_price_level)


def _clear(
    state: ModelState,
    world: World,
    scenario: Scenario,
    links: RevenueLinks,
    indices: PriceIndices,
    previous: MarketResult | None,
) -> MarketResult:
    """Clear markets at the current prices and ``state.expenditure``; store sales in the table."""
    t = state.firms
    mkt = clear_markets(
        links.rows,
        t.sector,
        t.region,
        t.price,
        links,
        E=state.expenditure,
        sigma=world.sigma,
        phi=state.costs.phi,
        X=state.costs.foreign,
        iterations=max(scenario.solver.price_iterations, 50),
        revenue0=t.revenue,
        final0=t.final_sales,
        indices=indices,
        previous=previous,
    )
    t.revenue[:] = mkt.revenue
    t.final_sales[:] = mkt.final_sales
    return mkt


def _all_close(x: np.ndarray, y: np.ndarray, rtol: float) -> bool:
    """``np.allclose(x, y, rtol=rtol, atol=0.0)`` for float arrays of one shape: numpy's own test,
    |x - y| <= atol + rtol |y| where y is finite, or x == y (NaN never close), without its argument
    handling, which cost more than the test in the income loop."""
    with np.errstate(invalid="ignore"):
        close = (np.abs(x - y) <= 0.0 + rtol * np.abs(y)) & np.isfinite(y) | (x == y)
    return bool(close.all())


def prices_and_markets(
    state: ModelState,
    world: World,
    scenario: Scenario,
    max_passes: int | None = None,
    calibrate: bool = False,
    rtol: float = 1e-9,
) -> tuple[MarketResult, RevenueLinks]:
    """Prices, then market clearing with final expenditure consistent with this step's incomes.

    Final expenditure depends on this step's wages, rents and paid-out profits, which depend on sales:
    a Gauss-Seidel loop (market -> accounts without side effects -> expenditure) runs up to
    ``solver.income_iterations`` times.  Without it, incomes lag one step behind location and relocating
    firms overshoot (the discrete-time cycles of NEG models).  ``calibrate`` re-sets the fixed costs in
    every pass (initialisation, see :func:`agglomeration.behaviour.accounts.calibrate_fixed_costs`).
    """
    from agglomeration.behaviour import accounts

    t = state.firms
    system = solve(state, world, scenario)
    rows = t.alive_rows()
    links = revenue_links(
        rows,
        t.sector,
        t.region,
        t.supplier,
        input_lists(world.io),
        sigma=world.sigma,
        admin=state.costs.admin,
        system=system,
    )
    # prices are fixed from here on: CES weights and price indices once for the income loop
    indices = price_indices(
        links, t.price, sigma=world.sigma, phi=state.costs.phi, X=state.costs.foreign, lines=t.lines
    )
    n_iter = scenario.solver.income_iterations if max_passes is None else max_passes
    mkt = None
    units = None
    for it in range(n_iter):
        # the accounts' cache carries over between passes over the same links (the previous result
        # itself is not kept alive: its per-firm arrays would raise the peak memory); the first pass
        # takes the fixed costs the price system added up
        carried = (
            (mkt.order, mkt.fixed_costs) if mkt is not None else (system.order, system.fixed_costs)
        )
        mkt = _clear(state, world, scenario, links, indices, previous=mkt)
        if carried[0] is mkt.order:
            mkt.fixed_costs = carried[1]
        if calibrate:
            if units is None:  # lines and links do not change between passes
                units = accounts.fixed_cost_units(state, world, scenario)
            accounts.calibrate_fixed_costs(state, world, scenario, units)
        if it == n_iter - 1:
            break  # keep the expenditure this market result was computed with
        E_new = accounts.expenditure(
            accounts.book(state, world, scenario, mkt, write=False), world, scenario
        )
        if _all_close(E_new, state.expenditure, rtol):
            break
        state.expenditure = E_new
    return mkt, links


def step(state: ModelState, world: World, scenario: Scenario, rng: np.random.Generator) -> None:
    """Solve prices and clear markets (with the within-step income loop); a runaway economy stops the
    run with a clear error (agglomeration.divergence)."""
    from agglomeration.divergence import check_economy

    state.market, state.links = prices_and_markets(state, world, scenario)
    check_economy(state, world, scenario)


SUBMODEL = Submodel(
    name="market",
    step=step,
    summary="prices (fixed point of the cost system through the supplier links) and market clearing "
    "(final demand through CES indices, intermediate demand through the links), with the within-step "
    "income loop",
    params=MarketParams,
    legacy={
        "external_competitors": "external_competitors",
        "import_prices": "import_prices",
        "local_productivity": "local_productivity",
        "factor_income_local": "factor_income_local",
        "profit_spending": "profit_spending",
    },
)
