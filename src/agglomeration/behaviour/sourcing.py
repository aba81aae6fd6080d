"""Supplier choice (chain formation; submodels ``sourcing`` and ``link_repair``): sticky links sampled from the CES demand system.

A (buyer, input) pair is a live firm i and an input sector k with a positive cost share io[k, sector_i];
its suppliers are the ``behaviour.sourcing.max_suppliers`` slots ``table.supplier[i, k, :]`` (a domestic
firm's row, ``-1 - g`` an import through gateway g, or NONE), over which the buyer splits its spending
on k by CES weights; a search may replace a supplier, add one in a free slot or drop one whose
relationship cost exceeds what it saves (docs/ODD.md section 7.4).  Below, "its supplier" is the slot a
search concerns.  Each pair keeps its suppliers.  With probability ``search_p`` per step (raised by the
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
draw uses two uniforms (market, firm).  With ``solver.random_streams = "by_purpose"`` the search
decisions and the candidates' uniforms are keyed by (buyer's permanent id, input) instead (one draw of
O(largest id x inputs) numbers per step, generated in chunks: memory O(pairs)), so paired runs search
the same pairs with the same numbers.
The loops are compiled kernels (:func:`agglomeration._jit.kernel`); every random number comes from the
generator the step passes (the model's, or the submodel's of that step by purpose), so the same seed
gives the same links.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
from pydantic import Field

from agglomeration import random_streams
from agglomeration.behaviour import _sourcing_kernels as _k
from agglomeration.behaviour.market import input_lists, share_inputs
from agglomeration.firms import NONE
from agglomeration.parameters import Section
from agglomeration.submodel import Submodel

if TYPE_CHECKING:  # pragma: no cover
    from agglomeration.firms import FirmTable
    from agglomeration.scenario import Scenario
    from agglomeration.state import ModelState
    from agglomeration.world import World

_NONE = int(NONE)
#: firms per guide-table bucket of a cell (the draw steps ~width / 2 positions from its bucket start)
_GUIDE_WIDTH = 8


# --------------------------------------------------------------------------------------------- kernels


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
        pos, last, done = _k.gap_positions(rng.standard_exponential(size), lam, last, n)
        chunks.append(pos)
        if done:
            break
    return chunks[0] if len(chunks) == 1 else np.concatenate(chunks)


class _Cells(NamedTuple):
    """The live firms by (sector, region) cell, for the stage-2 draws (see :func:`_k.sort_cells`)."""

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
    lines: np.ndarray | None = None,
) -> _Cells:
    """Sort the live rows by cell and cumulate their CES weights lines x p^(1 - sigma_s) (O(N))."""
    S = len(sigma)
    order, cprice, offset = _k.sort_cells(rows, sector, region, price, n_regions, S)
    w = np.empty_like(cprice)
    for s in range(S):  # one power per sector (its cells are contiguous), scalar exponent
        lo, hi = offset[s * n_regions], offset[(s + 1) * n_regions]
        np.power(cprice[lo:hi], 1.0 - sigma[s], out=w[lo:hi])
    # x lines (when given) in the cumulating pass: the same products, no gathered temporary
    no_lines = np.zeros(0, np.int32)
    guide = _k.cum_guide(w, offset, _GUIDE_WIDTH, order, no_lines if lines is None else lines)
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
    import_weight: float | np.ndarray,
    u: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """CES candidates (codes) and their delivered prices for requests (buyer region, input k).

    ``u`` (2, len(k)): the uniforms of each request (market, then firm within the market's cell);
    default: drawn from ``rng``, 2 x len(k) of them.
    """
    R = tau.shape[1] - import_price.shape[0]
    cum = _k.market_cum(cells.cumw, cells.offset, phi, tau, import_price, sigma, import_weight, R)
    u = rng.random((2, len(k))) if u is None else np.ascontiguousarray(u, dtype=np.float64)
    return _k.draw(
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
    import_weight: float | np.ndarray,
    switching_cost: np.ndarray | None = None,
) -> int:
    """Validate the shapes of the sourcing inputs (O(S M^2)); return the number of regions R."""
    S = table.n_sectors
    if io.shape != (S, S):
        raise ValueError(f"io must have shape ({S}, {S}), got {io.shape}")
    if sigma.shape != (S,):
        raise ValueError(f"sigma must have shape ({S},), got {sigma.shape}")
    if import_price.ndim != 2 or import_price.shape[1] != S:
        raise ValueError(f"import_price must have shape (G, {S}), got {import_price.shape}")
    if tau.ndim != 3 or tau.shape[0] != S or tau.shape[1] != tau.shape[2]:
        raise ValueError(f"tau must have shape ({S}, M, M), got {tau.shape}")
    if phi.shape != tau.shape:
        raise ValueError(f"phi must have the shape of tau {tau.shape}, got {phi.shape}")
    R = tau.shape[1] - import_price.shape[0]
    if R < 1:
        raise ValueError(
            f"tau has {tau.shape[1]} markets for {import_price.shape[0]} gateways: no region"
        )
    w = np.asarray(import_weight, dtype=float)
    if w.ndim > 1 or (w.ndim == 1 and w.shape != (S,)) or not np.all(np.isfinite(w) & (w >= 0)):
        raise ValueError(f"import_weight must be finite and >= 0, a number or ({S},), got {w}")
    if switching_cost is not None and switching_cost.shape != (R,):
        raise ValueError(f"switching_cost must have shape ({R},), got {switching_cost.shape}")
    return R


def _weights(import_weight: float | np.ndarray, n_sectors: int) -> np.ndarray:
    """Import weights per input sector (S,) from a number or an array."""
    return np.ascontiguousarray(np.broadcast_to(np.asarray(import_weight, float), (n_sectors,)))


def _f64(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float64)


class _PairKeys(NamedTuple):
    """How (buyer, input) pairs are keyed (``solver.random_streams = "by_purpose"``): the pair (fid, k)
    has the key fid x J + j, j being k's position in the buyer sector's input list and J the most
    inputs of any sector, and its d-th number of a call asking n per pair is the (n x key + d)-th
    uniform of the call's generator (random_streams.draw_at), whatever other firms exist."""

    n_inputs: int  # J, the key's stride
    position: np.ndarray  # (S, S) position of input k in sector s's input list (-1: not an input)


def _pair_keys(inputs: Any) -> _PairKeys:
    """The keying of the pairs of an input-output structure (``market.input_lists``)."""
    S = len(inputs.ptr) - 1
    n_in = np.diff(inputs.ptr)
    position = np.full((S, S), -1, dtype=np.int64)
    for s in range(S):
        position[s, inputs.k[inputs.ptr[s] : inputs.ptr[s + 1]]] = np.arange(n_in[s])
    return _PairKeys(max(int(n_in.max()) if S else 0, 1), position)


def _pair_index(table: FirmTable, keys: _PairKeys, buyer: np.ndarray, k: np.ndarray) -> np.ndarray:
    """The keys fid x J + j of the pairs (buyer rows, inputs k); every k must be an input of its
    buyer's sector and every buyer have its permanent id."""
    j = keys.position[table.sector[buyer], k]
    if len(j) and int(j.min()) < 0:
        raise ValueError(
            "keyed supplier draws asked for a (buyer, input) pair whose input is not an input of the buyer's sector"
        )
    fid = table.fid[buyer]
    if len(fid) and int(fid.min()) < 0:
        raise ValueError("keyed supplier draws need the firms' permanent ids (fid >= 0)")
    return fid * keys.n_inputs + j


def _keyed_uniforms(rng: np.random.Generator, key: np.ndarray, n_draws: int) -> np.ndarray:
    """(len(key), n_draws) uniforms: the pair with key q gets numbers n_draws x q + 0 .. n_draws - 1
    of ``rng`` (one call; O(n_draws x largest key) numbers, O(n_draws x len(key)) memory)."""
    idx = (n_draws * np.asarray(key, dtype=np.int64)[:, None] + np.arange(n_draws)).ravel()
    return random_streams.draw_at(rng.random, idx).reshape(len(key), n_draws)


class _SearchDraws(NamedTuple):
    """A keyed search's draws: every pair's three uniforms (search, candidate market, candidate firm),
    pairs enumerated buyer-major over the search's rows with inputs in io order (as
    ``_sourcing_kernels.collect`` scans them)."""

    u: np.ndarray  # (pairs, 3)
    first: np.ndarray  # (len(rows),) the enumeration index of each row's first pair
    position: np.ndarray  # _PairKeys.position: input k's place in sector s's list


def _keyed_search(
    table: FirmTable,
    rows: np.ndarray,
    inputs: Any,
    rng: np.random.Generator,
    search_p: float,
) -> tuple[np.ndarray, _SearchDraws]:
    """The keyed draws of a search over ``rows`` (ascending): the positions of the searching pairs
    (purpose-0 uniform below ``search_p``) and the draws their candidates are looked up in."""
    keys = _pair_keys(inputs)
    sector = table.sector[rows]
    cnt = np.diff(inputs.ptr)[sector]
    first = np.cumsum(cnt) - cnt
    j = np.arange(int(cnt.sum())) - np.repeat(first, cnt)
    k = inputs.k[np.repeat(inputs.ptr[sector], cnt) + j]
    u = _keyed_uniforms(rng, _pair_index(table, keys, np.repeat(rows, cnt), k), 3)
    return np.flatnonzero(u[:, 0] < search_p), _SearchDraws(u, first, keys.position)


def _keyed_candidate_uniforms(
    table: FirmTable, rows: np.ndarray, draws: _SearchDraws, buyer: np.ndarray, k: np.ndarray
) -> np.ndarray:
    """(2, len(buyer)) the candidate uniforms (purposes 1 and 2) of the pairs (buyer, k) found by the
    scan, looked up in the search's keyed ``draws`` by their place in the enumeration."""
    at = np.searchsorted(rows, buyer)
    if len(at) and not np.array_equal(rows[np.minimum(at, len(rows) - 1)], buyer):
        raise ValueError("keyed supplier search needs ascending rows that hold every buyer")
    enum = draws.first[at] + draws.position[table.sector[buyer], k]
    return np.ascontiguousarray(draws.u[enum, 1:3].T)


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
    import_weight: float | np.ndarray,
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
        import_weight=_weights(import_weight, len(sigma)),
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
    import_weight: float | np.ndarray,
    relationship_cost: np.ndarray | None = None,
    keyed: bool = False,
) -> tuple[int, int, int]:
    """Supplier search of one step; write ``table.supplier``; return (switches, additions, drops).

    ``rows``: live rows, ascending.  Every (buyer, input) pair searches with probability ``search_p``
    [1/step] (pairs without supplier always do), draws one CES candidate and takes the best of adding
    it, replacing its least valuable supplier with it (when cheaper delivered by more than
    ``switching_cost[r_b]``, relative, (R,)) or dropping that supplier (see
    ``_sourcing_kernels.switch``); pairs without supplier take the candidate (not counted).  ``io`` (S, S)
    cost shares io[k, s]; ``sigma`` (S,); ``phi``, ``tau`` (S, M, M) with M = R + G markets;
    ``import_price`` (G, S) [model price units]; ``import_weight`` [firms per gateway];
    ``relationship_cost`` (S, M, R) per supplier and step by buyer sector, source market and buyer
    region [CNY m per step] (None: 0).  Cost O(N + Q K) for Q searching pairs.  ``keyed``
    (``solver.random_streams = "by_purpose"``): which pairs search and their candidates' uniforms are
    keyed by (the buyer's permanent id, input) (:class:`_PairKeys`; O(3 J x largest id) numbers, O(3 x
    pairs) memory) instead of drawn in the order of the pairs.
    """
    if not 0.0 <= search_p <= 1.0:
        raise ValueError(f"search_p must be in [0, 1], got {search_p}")
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
        return 0, 0, 0
    S = table.n_sectors
    M = tau.shape[1]
    sigma = _f64(sigma)
    cells = _build_cells(rows, table.sector, table.region, table.price, sigma, R, table.lines)
    inputs = input_lists(io)
    in_ptr, in_k = inputs.ptr, inputs.k
    n_pairs = int(np.diff(cells.offset).reshape(S, R).sum(axis=1) @ np.diff(in_ptr))
    if keyed:
        positions, draws = _keyed_search(table, rows, inputs, rng, float(search_p))
    else:
        positions = _bernoulli_positions(rng, n_pairs, float(search_p))
    # capacity: the searching positions plus every pair (a bound on the NONE pairs; only the pairs
    # found are written, so the untouched part of the buffer costs no memory traffic)
    # the scan also copies the found pairs' slots, which the switch reads (not the table's rows)
    buyer, kk, forced, slots = _k.collect_slots(
        rows, table.sector, table.supplier, in_ptr, in_k, positions, len(positions) + n_pairs, _NONE
    )
    if len(kk) == 0:
        return 0, 0, 0
    tau = _f64(tau)
    phi = _f64(phi)
    import_price = _f64(import_price)
    cand, g_c = _candidates(
        cells,
        table.region[buyer].astype(np.int64),
        kk,
        buyer,
        rng,
        sigma=sigma,
        phi=phi,
        tau=tau,
        import_price=import_price,
        import_weight=_weights(import_weight, len(sigma)),
        u=_keyed_candidate_uniforms(table, rows, draws, buyer, kk) if keyed else None,
    )
    shares = share_inputs(
        table.price,
        table.sector,
        table.lines,
        sigma=sigma,
        phi=phi,
        tau=tau,
        import_price=import_price,
        n_regions=R,
    )
    rel = np.zeros((S, M, R)) if relationship_cost is None else _f64(relationship_cost)
    if rel.shape != (S, M, R):
        raise ValueError(f"relationship_cost must have shape ({S}, {M}, {R}), got {rel.shape}")
    n_sw, n_add, n_drop = _k.switch(
        buyer,
        kk,
        slots,
        forced,
        cand,
        g_c,
        table.supplier,
        table.price,
        table.region,
        table.sector,
        table.revenue,
        tau,
        import_price,
        _f64(switching_cost),
        _f64(io),
        sigma,
        shares["cesw"],
        shares["phi_tab"],
        shares["imp_u"],
        rel.reshape(-1),
        _NONE,
    )
    return int(n_sw), int(n_add), int(n_drop)


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
    import_weight: float | np.ndarray,
    keyed: bool = False,
) -> int:
    """Give every live (buyer, input) pair without a supplier a CES-sampled one; return how many got one.

    Same candidate draw as :func:`search_and_switch`; a pair with no candidate (no reachable domestic firm
    and ``import_weight`` 0, or it drew its own buyer) imports through the gateway with the lowest
    delivered import price p_imp[g, k] tau_k[R + g, r_b] when the world has gateways (else stays NONE).
    One scan of the links (no random numbers) when nothing is missing; O(N + Q) for Q missing pairs
    (keyed: O(2 J x largest id) draws).
    ``keyed``: the candidates' uniforms keyed by (buyer's permanent id, input), as in
    :func:`search_and_switch`.
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
    # one scan collects the pairs without a supplier; capacity: a bound on the pairs (rows x the most
    # inputs of a sector; no gather of the rows' sectors to count them exactly: only the pairs found
    # are written, so the untouched part of the buffer costs no memory traffic)
    cap = len(rows) * int(np.diff(in_ptr).max())
    buyer, kk, _ = _k.collect(
        rows, table.sector, table.supplier, in_ptr, in_k, np.zeros(0, np.int64), cap, _NONE
    )
    if len(kk) == 0:
        return 0
    sigma = _f64(sigma)
    tau = _f64(tau)
    import_price = _f64(import_price)
    cells = _build_cells(rows, table.sector, table.region, table.price, sigma, R, table.lines)
    region = table.region
    u = None
    if keyed:
        u = np.ascontiguousarray(
            _keyed_uniforms(rng, _pair_index(table, _pair_keys(inputs), buyer, kk), 2).T
        )
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
        import_weight=_weights(import_weight, len(sigma)),
        u=u,
    )
    return int(_k.fill(buyer, kk, cand, table.supplier, region, tau, import_price, R, _NONE))


# ------------------------------------------------------------------------------------------ submodels
class SourcingParams(Section):
    """``[behaviour.sourcing]``: supplier search and switching."""

    enabled: bool = Field(
        True,
        description="firms search for cheaper suppliers (false: links change only when a supplier exits)",
        json_schema_extra={"source": "switch"},
    )
    search_probability: float = Field(
        0.10,
        ge=0.0,
        le=1.0,
        description="per-step probability that a (buyer, input) pair reviews its suppliers, before the information-sharing boost [1/step]",
        json_schema_extra={
            "source": "assumption: a review every ~2.5 years (every ~1.7 years with the boost at the baseline information sharing of 0.5); plausible 0.05-0.25 per quarter"
        },
    )
    switching_cost: float = Field(
        0.05,
        ge=0.0,
        le=10.0,
        description="relative delivered-price gain needed to switch supplier [-]",
        json_schema_extra={
            "source": "assumption: 5 % gain needed to switch (relationship-specific costs); plausible 0-0.2"
        },
    )
    information_search_boost: float = Field(
        1.0,
        ge=0.0,
        le=100.0,
        description="search probability is multiplied by (1 + boost x policy.information_sharing) [-]",
        json_schema_extra={
            "source": "assumption: information sharing at level 1 doubles search (plausible 0-2; no direct evidence)"
        },
    )
    max_suppliers: int = Field(
        4,
        ge=1,
        le=64,
        description="supplier slots per (buyer, input): the most suppliers a firm keeps for one input "
        "[suppliers]",
        json_schema_extra={
            "source": "estimate (memory: 4 bytes per slot and input): large buyers hold several suppliers "
            "per input (Bernard, Moxnes & Saito 2019); the relationship cost decides how many"
        },
    )
    relationship_cost: float = Field(
        0.2,
        ge=0.0,
        le=100.0,
        description="cost of keeping one supplier, per step, in units of the buyer's sector fixed cost, "
        "for a supplier in the buyer's own region; it rises with distance (relationship_distance_"
        "elasticity) [-]",
        json_schema_extra={
            "source": "estimate (plausible 0.05-0.5): chosen by hand so that buyers keep about two suppliers per input (Bernard, Moxnes & Saito 2019 report several per input); not formally calibrated (docs/VALIDATION.md reports the suppliers per firm)"
        },
    )
    relationship_distance_elasticity: float = Field(
        0.3,
        ge=0.0,
        le=3.0,
        description="elasticity of the relationship cost to (1 + km / 100) between the supplier's and "
        "the buyer's location [-]; at most 3 (from about 4 a gateway supplier 3,000 km away costs "
        "31^e times the fixed cost and the economy diverges: agglomeration.divergence)",
        json_schema_extra={
            "source": "estimate (range 0-1): link formation falls with distance and travel time "
            "(Bernard, Moxnes & Saito 2019)"
        },
    )
    import_weight: float = Field(
        1.0,
        ge=0.0,
        le=1e9,
        description="number-equivalent of import sources per gateway in supplier search, per 1,000 "
        "initial firms, for input sectors without sectors.csv foreign_suppliers (0 = no imported "
        "inputs unless no domestic supplier exists) [firms per 1,000 firms]",
        json_schema_extra={
            "source": "assumption: one import source per gateway per 1,000 domestic firms (plausible 0.2-5; sectors.csv foreign_suppliers overrides it where import shares are known)"
        },
    )


#: initial firms per unit of the foreign-supplier weights: ``foreign_suppliers`` (sectors.csv) and
#: ``import_weight`` count foreign sources per gateway per this many initial domestic firms [firms]
FOREIGN_SUPPLIERS_PER = 1000


def import_weights(world: World, scenario: Scenario) -> np.ndarray:
    """(S,) number-equivalent of foreign sources of each input per gateway in the CES supplier search:
    sectors.csv ``foreign_suppliers`` (else ``behaviour.sourcing.import_weight``) per
    :data:`FOREIGN_SUPPLIERS_PER` initial firms, times the scenario's ``firms.initial_count`` (the
    domestic candidates' weight grows with the number of firms, so the import shares do not depend on
    the model's scale; an empty start uses the weights as they are)."""
    n0 = int(scenario.firms.initial_count)
    scale = n0 / FOREIGN_SUPPLIERS_PER if n0 > 0 else 1.0
    return world.import_weights(scenario.behaviour.sourcing.import_weight) * scale


def _sourcing_arguments(state: ModelState, world: World, scenario: Scenario) -> dict[str, Any]:
    """The keyword arguments search and repair share: the CES sampling weights of candidates."""
    weights = import_weights(world, scenario)
    return {
        "io": world.io,
        "sigma": world.sigma,
        "phi": state.costs.phi,
        "tau": state.costs.tau_inputs,
        "import_price": state.import_price,
        "import_weight": weights if world.n_gateways else np.zeros(world.n_sectors),
    }


#: distance factors computed in this process, by (distances, exponent); see :func:`distance_factor`
_distance_factors: dict[tuple, np.ndarray] = {}


def distance_factor(world: World, scenario: Scenario) -> np.ndarray:
    """(M, R) relative cost of a supplier relationship by source market and buyer region:
    (1 + km / 100)^relationship_distance_elasticity, km from ``World.distance_km``.

    Kept per process by the distances' bytes and the exponent (the fixed-cost calibration asks for it
    twice per pass of the income loop, about 1,500 times per model); a caller gets its own copy."""
    R = world.n_regions
    km = np.asarray(world.distance_km, dtype=float)[:, :R]
    elasticity = scenario.behaviour.sourcing.relationship_distance_elasticity
    key = (km.tobytes(), km.shape, elasticity)
    factor = _distance_factors.get(key)
    if factor is None:
        if len(_distance_factors) >= 16:
            _distance_factors.clear()
        factor = _distance_factors[key] = (1.0 + km / 100.0) ** elasticity
    return factor.copy()


def relationship_costs(state: ModelState, world: World, scenario: Scenario) -> np.ndarray:
    """(S, M, R) cost of one supplier relationship per step [CNY m]: relationship_cost x the buyer
    sector's fixed cost x the distance factor (:func:`distance_factor`)."""
    p = scenario.behaviour.sourcing
    decay = distance_factor(world, scenario)
    return p.relationship_cost * state.fixed_cost[:, None, None] * decay[None, :, :]


def relationship_units(state: ModelState, world: World, scenario: Scenario, rows: np.ndarray):
    """(len(rows),) each firm's relationship cost in units of relationship_cost x f_s: the sum of the
    distance factors of its suppliers."""
    t = state.firms
    inputs = input_lists(world.io)
    return _k.relationship_units(
        np.asarray(rows, dtype=np.int64),
        t.sector,
        t.region,
        t.supplier,
        inputs.ptr,
        inputs.k,
        np.ascontiguousarray(distance_factor(world, scenario)),
        world.n_regions,
        _NONE,
    )


def fill_suppliers(state: ModelState, world: World, scenario: Scenario, rng: np.random.Generator):
    """Let every pair search once per free slot (search probability 1, no switching cost): at
    initialisation large buyers reach the supplier sets their spending supports."""
    for _ in range(scenario.behaviour.sourcing.max_suppliers - 1):
        search_and_switch(
            state.firms,
            state.firms.alive_rows(),
            rng,
            search_p=1.0,
            switching_cost=np.zeros(world.n_regions),
            relationship_cost=relationship_costs(state, world, scenario),
            **_sourcing_arguments(state, world, scenario),
        )


def step(state: ModelState, world: World, scenario: Scenario, rng: np.random.Generator):
    """Supplier search of the incumbents: add, replace or drop suppliers."""
    p = scenario.behaviour.sourcing
    if not p.enabled:
        return None
    p_search = min(
        1.0,
        p.search_probability
        * (1.0 + p.information_search_boost * scenario.policy.information_sharing),
    )
    switches, additions, drops = search_and_switch(
        state.firms,
        state.incumbents,
        rng,
        search_p=p_search,
        switching_cost=state.costs.switching_cost,
        relationship_cost=relationship_costs(state, world, scenario),
        keyed=random_streams.by_purpose(scenario, state),
        **_sourcing_arguments(state, world, scenario),
    )
    return {
        "supplier_switches": switches,
        "supplier_additions": additions,
        "supplier_drops": drops,
    }


def repair_step(
    state: ModelState,
    world: World,
    scenario: Scenario,
    rng: np.random.Generator,
    *,
    keyed: bool | None = None,
) -> None:
    """Every live (buyer, input) pair without a supplier (entrants, buyers of exited firms) gets one.

    ``keyed``: draw the candidates by (firm, input) key (None: as ``solver.random_streams`` says; the
    initialisation passes False, so the start is the same in both settings)."""
    repair_links(
        state.firms,
        state.firms.alive_rows(),
        rng,
        keyed=random_streams.by_purpose(scenario, state) if keyed is None else keyed,
        **_sourcing_arguments(state, world, scenario),
    )


SUBMODEL = Submodel(
    name="sourcing",
    step=step,
    summary="supplier search: add, replace or drop suppliers (candidates sampled from the CES demand "
    "system; a supplier is kept while its variety gain exceeds its relationship cost)",
    params=SourcingParams,
    counters=("supplier_switches", "supplier_additions", "supplier_drops"),
    legacy={
        "sourcing_enabled": "enabled",
        "search_probability": "search_probability",
        "switching_cost": "switching_cost",
        "information_search_boost": "information_search_boost",
        "import_weight": "import_weight",
    },
)

REPAIR = Submodel(
    name="link_repair",
    step=repair_step,
    summary="buyers without a supplier for an input (entrants, buyers of exited firms) draw one",
)
