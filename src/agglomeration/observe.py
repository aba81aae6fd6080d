"""Observation of a running model: the per-step series, region x sector tables and supplier links.

All clustering and chain indicators come from :mod:`agglomeration.metrics` (one implementation); this
module only prepares their inputs from the model state.  The per-step series (:func:`series_row`) needs
two small aggregates, each computed by one compiled pass over the firm table (O(N), no temporaries):

* :func:`cell_totals`: firms, employment and revenue by (region, sector) cell, (R, S);
* :func:`link_totals`: purchase value of the current supplier links by (buyer region, source market),
  (R, M), read straight from ``FirmTable.supplier`` without building the (buyer, input) pair arrays.

The metrics are then evaluated on these (at most 13 x 17) matrices with their array-level forms
(:func:`agglomeration.metrics.sourcing_shares`, 2-D :func:`agglomeration.metrics.locational_gini`,
:func:`agglomeration.metrics.chain_coverage_matrix` with the Leontief inverse cached per IO table), so
one row costs about 3 ms at 100k firms instead of about 50 ms (pair arrays and pandas groupbys).
"""

from __future__ import annotations

import warnings
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from agglomeration import logistics_outcomes, metrics
from agglomeration._jit import kernel
from agglomeration.behaviour import market
from agglomeration.firms import NONE, FirmTable
from agglomeration.region_types import REGION_TYPES, zone_mask

#: series that are NaN until there is something to measure (no entrant has finished its first year)
UNDEFINED_UNTIL_OBSERVED = ("entrant_profit_ratio", "entrant_revenue_ratio")

if TYPE_CHECKING:  # pragma: no cover
    from agglomeration.state import ModelState
    from agglomeration.world import World


@kernel
def _cell_sums(alive, region, sector, w1, w2, n_regions, n_sectors):  # pragma: no cover - compiled
    """(3, R*S): live-firm counts and the sums of ``w1`` and ``w2`` by cell r*S + s.

    Rows are visited in ascending order, so every cell adds its firms in the order ``np.bincount``
    over ``alive_rows()`` does (identical sums).  Consecutive rows of one cell (the table is sorted
    by cell at initialisation) are accumulated in registers and written once per run.
    """
    out = np.zeros((3, n_regions * n_sectors))
    cur = -1
    c0 = 0.0
    c1 = 0.0
    c2 = 0.0
    for i in range(alive.shape[0]):
        if not alive[i]:
            continue
        c = region[i] * n_sectors + sector[i]
        if c != cur:
            if cur >= 0:
                out[0, cur] = c0
                out[1, cur] = c1
                out[2, cur] = c2
            cur = c
            c0 = out[0, c]
            c1 = out[1, c]
            c2 = out[2, c]
        c0 += 1.0
        c1 += w1[i]
        c2 += w2[i]
    if cur >= 0:
        out[0, cur] = c0
        out[1, cur] = c1
        out[2, cur] = c2
    return out


@kernel
def _link_sums_counts(
    alive,
    region,
    sector,
    revenue,
    supplier,
    io,
    sigma,
    admin,
    cesw,
    phi_tab,
    imp_u,
    n_regions,
    n_markets,
):  # pragma: no cover - compiled
    """Purchase value of the supplier links by (buyer region, source market): (R, M), and by (buyer
    region, source market, input sector k): (R, M, S), both from one pass.

    For every live buyer b (sector s, region r), input k with ``io[k, s] > 0`` and supplier j in its
    slots: value = io[k, s] (sigma_s - 1) / sigma_s / (1 + admin_r) x revenue_b x w_j (w_j the
    supplier's expenditure share among the pair's suppliers, :func:`market.share_inputs` weights), CNY m
    per step, added to column = the supplier's region (code >= 0) or R + g (import via gateway g, code
    -1 - g).  Buyers ascending, inputs ascending, slots in order: the order of ``market.input_pairs``.
    The coefficients are tabulated once per (region, sector, input), with the same expression as
    :func:`current_pairs` (same bits).  The CES weights of a pair's suppliers are those of
    ``_market_kernels.pair_weights``, written out here: a call with array arguments per pair costs
    more than the whole pass (reference counts of every array argument).

    The same pass counts the supplier slots (third result, int64 (3,)): those of :func:`_slot_counts`,
    counted the same way (every input sector's slots of every live buyer, in table order); an input's
    slots are read once for both.
    """
    n_sec = io.shape[0]
    K = supplier.shape[2]
    M = n_markets
    G = n_markets - n_regions
    n_in = np.zeros(n_sec, dtype=np.int64)
    ks = np.zeros((n_sec, n_sec), dtype=np.int64)
    coef = np.zeros((n_regions, n_sec, n_sec))
    for s in range(n_sec):
        for k in range(n_sec):
            a = io[k, s]
            if a > 0.0:
                j = n_in[s]
                ks[s, j] = k
                for r in range(n_regions):
                    coef[r, s, j] = a * (sigma[s] - 1.0) / sigma[s] / (1.0 + admin[r])
                n_in[s] = j + 1
    out = np.zeros((n_regions, n_markets))
    out_k = np.zeros((n_regions, n_markets, n_sec))
    u = np.empty(K)
    has_buyer = np.zeros(supplier.shape[0], dtype=np.bool_)
    sectors = np.arange(n_sec, dtype=np.int64)
    filled = 0
    domestic = 0
    for b in range(alive.shape[0]):
        if not alive[b]:
            continue
        s = sector[b]
        r = region[b]
        rev = revenue[b]
        j = 0  # the next of the sector's inputs (ks[s, j] ascending)
        for kq in range(n_sec):
            # int64 also when interpreted (NUMBA_DISABLE_JIT): no uint8 index arithmetic
            k = sectors[kq]
            is_input = j < n_in[s] and ks[s, j] == k
            n = 0
            total = 0.0
            # the slot counts of _slot_counts; for an input also pair_weights(b, k, r, ...)
            for sl in range(K):
                code = supplier[b, k, sl]
                if code == NONE:
                    break
                filled += 1
                if code >= 0:
                    domestic += 1
                    has_buyer[code] = True
                if is_input:
                    if code >= 0:
                        w = cesw[code] * phi_tab[(k * M + region[code]) * M + r]
                    else:
                        w = imp_u[(k * G + (-1 - code)) * n_regions + r]
                    u[n] = w
                    total += w
                    n += 1
            if not is_input:
                continue
            for sl in range(n):
                code = supplier[b, k, sl]
                src = region[code] if code >= 0 else n_regions + (-1 - code)
                share = 1.0 if n == 1 else u[sl] / total
                v = coef[r, s, j] * share * rev
                out[r, src] += v
                out_k[r, src, k] += v
            j += 1
    counts = np.zeros(3, dtype=np.int64)
    counts[0] = filled
    counts[1] = domestic
    for i in range(supplier.shape[0]):
        if alive[i] and has_buyer[i]:
            counts[2] += 1
    return out, out_k, counts


@kernel
def _slot_counts(alive, supplier, none):  # pragma: no cover - compiled
    """(filled supplier slots of live buyers, of which domestic, live firms that supply at least one
    live buyer): one pass over the supplier table."""
    n, S, K = supplier.shape
    has_buyer = np.zeros(n, dtype=np.bool_)
    filled = 0
    domestic = 0
    for i in range(n):
        if not alive[i]:
            continue
        for k in range(S):
            for sl in range(K):
                j = supplier[i, k, sl]
                if j == none:
                    break
                filled += 1
                if j >= 0:
                    domestic += 1
                    has_buyer[j] = True
    suppliers = 0
    for i in range(n):
        if alive[i] and has_buyer[i]:
            suppliers += 1
    return filled, domestic, suppliers


def network_row(
    state: ModelState,
    world: World,
    counts: np.ndarray | None = None,
    firms_by_sector: np.ndarray | None = None,
) -> dict[str, float]:
    """Supplier-network counts of the current state: suppliers per firm (all and domestic) and the
    share of firms in input sectors (sectors other sectors buy from) with at least one domestic buyer.
    ``counts``: the slot counts of :func:`_slot_counts` when the caller has them (the series row
    takes them from its pass over the links, :func:`link_totals_and_counts`).  ``firms_by_sector``
    (S,): the live firms per sector when the caller has them (the series row: its
    :func:`cell_totals`), so the input firms are counted without gathering every row's sector."""
    t = state.firms
    if counts is None:
        filled, domestic, with_buyer = _slot_counts(t.alive, t.supplier, NONE)
    else:
        filled, domestic, with_buyer = (int(c) for c in counts)
    n = t.n_alive
    rows = t.alive_rows()
    is_input = (np.asarray(world.io) > 0).any(axis=1)  # sectors someone buys from
    if firms_by_sector is None:
        n_input_firms = int(is_input[t.sector[rows]].sum())
    else:  # whole-number counts (exact in float64)
        n_input_firms = int(np.asarray(firms_by_sector)[is_input].sum())
    nan = float("nan")
    return {
        "suppliers_per_firm": filled / n if n else nan,
        "domestic_suppliers_per_firm": domestic / n if n else nan,
        "input_firms_with_buyer_share": with_buyer / n_input_firms if n_input_firms else nan,
        "mean_lines": float(t.lines[rows].mean()) if n else nan,
    }


@kernel
def _production_sums(
    alive, region, sector, revenue, price, input_cost, log_z, n_regions, n_sectors
):  # pragma: no cover - compiled
    """(3, R*S): sums over live firms by cell r*S + s of input purchases, revenue x log(price) (rows with
    a positive price) and log productivity; rows ascending, as :func:`_cell_sums`."""
    out = np.zeros((3, n_regions * n_sectors))
    for i in range(alive.shape[0]):
        if not alive[i]:
            continue
        c = region[i] * n_sectors + sector[i]
        out[0, c] += input_cost[i]
        if price[i] > 0.0:
            out[1, c] += revenue[i] * np.log(price[i])
        out[2, c] += log_z[i]
    return out


def region_sector(
    table: FirmTable, n_regions: int, n_sectors: int, column: str | None
) -> np.ndarray:
    """(R, S) sum of a FirmTable column over live firms by (region, sector); ``None`` counts firms.

    Units are the column's (firms for ``None``).  One compiled pass over the table.
    """
    t = table
    R, S = n_regions, n_sectors
    if column is None:
        w = t.revenue
    else:
        col = getattr(t, column, None) if isinstance(column, str) else None
        if col is None or np.ndim(col) != 1:
            raise ValueError(f"expected None or a 1-D FirmTable column name, got {column!r}")
        w = np.asarray(col, dtype=float)
    out = _cell_sums(t.alive, t.region, t.sector, w, w, R, S)
    return out[0 if column is None else 1].reshape(R, S)


def cell_totals(state: ModelState, world: World) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Firms, employment (workers) and revenue (CNY m per step) of live firms by (region, sector).

    Three (R, S) float arrays from one compiled pass over the firm table; each equals
    ``region_sector(state.firms, R, S, None / "employment" / "revenue")``.
    """
    t = state.firms
    R, S = world.n_regions, world.n_sectors
    out = _cell_sums(t.alive, t.region, t.sector, t.employment, t.revenue, R, S)
    return out[0].reshape(R, S), out[1].reshape(R, S), out[2].reshape(R, S)


def link_totals(state: ModelState, world: World) -> np.ndarray:
    """(R, M) value of the current supplier links (CNY m per step) by buyer region and source market.

    Columns 0..R-1 are domestic suppliers' regions, R + g imports through gateway g.  A link's value
    is the buyer's spending on that input at its latest revenue, the ``value`` of :func:`link_values`
    (coefficient io[k, s] (sigma_s - 1) / sigma_s / (1 + admin_r) of :func:`current_pairs`), summed
    in one compiled pass over ``FirmTable.supplier`` without building pair arrays.
    """
    return link_totals_both(state, world)[0]


def link_totals_by_sector(state: ModelState, world: World) -> np.ndarray:
    """(R, M, S) value of the current supplier links (CNY m per step) by buyer region, source market and
    input sector: :func:`link_totals` with the input sector kept (its sum over the last axis, up to the
    order of the additions).  One compiled pass over ``FirmTable.supplier`` (every filled slot, weighted
    by the supplier's expenditure share among the pair's suppliers)."""
    return link_totals_both(state, world)[1]


def link_totals_both(state: ModelState, world: World) -> tuple[np.ndarray, np.ndarray]:
    """(:func:`link_totals`, :func:`link_totals_by_sector`) from one compiled pass over the links (the
    series row needs both)."""
    out, out_k, _ = link_totals_and_counts(state, world)
    return out, out_k


def link_totals_and_counts(
    state: ModelState, world: World
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(:func:`link_totals`, :func:`link_totals_by_sector`, the slot counts of :func:`network_row`)
    from one compiled pass over the links (the series row needs all three)."""
    w = world
    t = state.firms
    shares = _shares_now(state, world)
    # the kernel looks up every supplier's region at random: a one-byte copy (1 MB at 1M firms) stays
    # in cache where the int32 column does not (about 2x faster at 1M firms, 1.3x at 100k)
    region = t.region.astype(np.uint8) if w.n_regions <= 255 else t.region
    return _link_sums_counts(
        t.alive,
        region,
        t.sector,
        t.revenue,
        t.supplier,
        np.ascontiguousarray(w.io, dtype=float),
        np.ascontiguousarray(w.sigma, dtype=float),
        np.ascontiguousarray(state.costs.admin, dtype=float),
        shares["cesw"],
        shares["phi_tab"],
        shares["imp_u"],
        w.n_regions,
        w.n_markets,
    )


def _shares_now(state: ModelState, world: World) -> dict[str, np.ndarray]:
    """Inputs of the buyers' expenditure shares over their suppliers at the current prices."""
    t = state.firms
    return market.share_inputs(
        t.price,
        t.sector,
        t.lines,
        sigma=world.sigma,
        phi=state.costs.phi,
        tau=state.costs.tau_inputs,
        import_price=state.import_price,
        n_regions=world.n_regions,
    )


def current_pairs(state: ModelState, world: World) -> tuple[market.Pairs, np.ndarray]:
    """Every filled supplier slot of the live firms and the revenue coefficient of its purchases
    (io share x (sigma - 1)/sigma / (1 + admin) x the supplier's expenditure share, at current prices)."""
    t = state.firms
    pairs = market.input_pairs(
        t.alive_rows(),
        t.sector,
        t.region,
        t.supplier,
        world.io,
        _shares_now(state, world),
        world.n_regions,
        world.n_markets,
    )
    sb = t.sector[pairs.buyer]
    coef = (
        pairs.a
        * (world.sigma[sb] - 1.0)
        / world.sigma[sb]
        / (1.0 + state.costs.admin[t.region[pairs.buyer]])
    ) * pairs.share
    return pairs, coef


def link_values(state: ModelState, world: World) -> pd.DataFrame:
    """Current supplier links (one row per filled supplier slot of a live buyer, :data:`LINK_COLUMNS`).

    value = the buyer's spending on that input at its latest revenue (CNY m per step); delivered_cost =
    supplier mill price x iceberg cost (relative to the domestic reference price).
    """
    w = world
    t = state.firms
    pairs, coef = current_pairs(state, world)
    sup = pairs.sup
    keep = sup != NONE
    buyer = pairs.buyer[keep]
    k = pairs.k[keep]
    sup = sup[keep].astype(np.int64)
    value = coef[keep] * t.revenue[buyer]
    R = w.n_regions
    dom = sup >= 0
    src_market = np.where(dom, t.region[np.maximum(sup, 0)], R + (-1 - sup))
    rb = t.region[buyer]
    tau = state.costs.tau_inputs
    pimp = state.import_price
    mill = np.where(dom, t.price[np.maximum(sup, 0)], 0.0)
    if w.n_gateways:
        gi = np.where(dom, 0, -1 - sup)
        mill = np.where(dom, mill, pimp[gi, k])
    delivered = mill * tau[k, src_market, rb]
    market_ids = w.market_ids
    return pd.DataFrame(
        {
            "buyer": t.fid[buyer],
            "supplier": np.where(dom, t.fid[np.maximum(sup, 0)], -1),
            "buyer_region": w.region_ids[rb],
            "supplier_region": market_ids[src_market],
            "input_sector": w.sector_ids[k],
            "value": value,
            "delivered_cost": delivered,
            "distance_km": w.distance_km[src_market, rb],
        }
    )


#: cumulative demographic counts per region type since the observed run started (demography_by_type)
DEMOGRAPHY = ("firms_start", "entries_total", "exits_total", "relocations_in", "relocations_out")


def demography_by_type(state: ModelState, world: World) -> dict[str, float]:
    """Per region type t, counts since the observed run started [firms]: ``firms_start_t`` (live firms
    then), ``entries_total_t``, ``exits_total_t``, ``relocations_in_t`` (from regions of another type)
    and ``relocations_out_t`` (to regions of another type).  Exactly firms_t = firms_start_t +
    entries_total_t - exits_total_t + relocations_in_t - relocations_out_t (the accounting identity of
    the creation-vs-reallocation decomposition, agglomeration.experiment.decomposition).  Also
    ``entries_total`` and ``exits_total`` over every region (the sums over the types): whether a lever
    creates firms is a question about total entry, not about one group's share of it."""
    rtype = np.asarray(world.region_type)
    R = world.n_regions
    od = state.relocations_od if state.relocations_od.shape == (R, R) else np.zeros((R, R))
    start = state.firms_start_by_region if len(state.firms_start_by_region) == R else np.zeros(R)
    exits = state.exits_by_region if len(state.exits_by_region) == R else np.zeros(R)
    out: dict[str, float] = {}
    for typ in REGION_TYPES:
        m = rtype == typ
        out[f"firms_start_{typ}"] = float(start[m].sum())
        out[f"entries_total_{typ}"] = float(state.entries_by_region[m].sum())
        out[f"exits_total_{typ}"] = float(exits[m].sum())
        out[f"relocations_in_{typ}"] = float(od[np.ix_(~m, m)].sum())
        out[f"relocations_out_{typ}"] = float(od[np.ix_(m, ~m)].sum())
    out["entries_total"] = float(state.entries_by_region.sum())
    out["exits_total"] = float(exits.sum())
    return out


def series_row(state: ModelState, world: World, counters: tuple[str, ...] = ()) -> dict[str, float]:
    """Model-level metrics of the current state (one DataCollector row).

    Counts in firms, employment in workers, output in CNY m per step; shares, Gini, Herfindahl and
    coverage are unit-free; ``counters`` (from the schedule) are this step's counts reported by the
    submodels.  Compiled passes over the firm table (:func:`cell_totals`, :func:`link_totals_and_counts`
    for the sourcing shares, the logistics flows and the slot counts, the production sums), then
    metrics on the small (R, S) and (R, M) matrices.
    """
    w = world
    rtype = np.asarray(w.region_type)
    n_rs, emp_rs, out_rs = cell_totals(state, world)
    t = state.firms
    row: dict[str, float] = {"step": int(state.t)}
    row["firms"] = float(n_rs.sum())
    row["employment"] = float(emp_rs.sum())
    row["output"] = float(out_rs.sum())
    for typ in REGION_TYPES:
        m = rtype == typ
        row[f"firms_{typ}"] = float(n_rs[m].sum())
        row[f"employment_{typ}"] = float(emp_rs[m].sum())
        row[f"output_{typ}"] = float(out_rs[m].sum())
    for name in counters:
        row[name] = float(state.counts.get(name, 0.0))
    row.update(demography_by_type(state, world))
    row["mean_log_productivity"] = (
        float(np.mean(t.log_productivity[t.alive])) if row["firms"] > 0 else float("nan")
    )
    row["mean_wage"] = float(np.mean(state.wage))
    firms_r = n_rs.sum(axis=1)
    row["herfindahl_regions"] = metrics.herfindahl(firms_r) if firms_r.sum() > 0 else float("nan")
    row["mean_locational_gini"] = _mean_locational_gini(emp_rs)
    # one pass over the links for the sums by source and by input sector and the slot counts
    links, links_by_sector, slot_counts = link_totals_and_counts(state, world)
    row.update(_sourcing_row(world, links))
    row["mean_chain_coverage"] = _mean_chain_coverage(world, n_rs)
    row["reforms_connected"] = (
        float(state.policy.adopted[rtype == "connected"].sum(axis=1).mean())
        if np.any(rtype == "connected")
        else 0.0
    )
    row.update(network_row(state, world, slot_counts, n_rs.sum(axis=0)))
    row["entrant_profit_ratio"], row["entrant_revenue_ratio"] = state.entrants.ratios()
    row.update(
        logistics_outcomes.logistics_metrics(state, world, series=True, links=links_by_sector)
    )
    row.update(_labour_row(state, world, (n_rs, emp_rs, out_rs)))
    return row


# ------------------------------------------------------------------- wages, prices, productivity
def _labour_arrays(state: ModelState, world: World, cells: tuple | None = None) -> dict[str, Any]:
    """Per-region wages, prices, employment, value added and productivity, and the economy's producer
    price index (see :func:`labour_accounts`); ``cells`` = :func:`cell_totals` if already computed.
    Sets the price bases at their first finite observation (``state.cpi_base``, ``state.ppi_base``)."""
    from agglomeration.behaviour.prospects import consumer_price_index

    w, t = world, state.firms
    R, S = w.n_regions, w.n_sectors
    n_rs, emp_rs, rev_rs = cells if cells is not None else cell_totals(state, world)
    prod = _production_sums(
        t.alive, t.region, t.sector, t.revenue, t.price, t.input_cost, t.log_productivity, R, S
    )
    cpi = (
        np.full(R, np.nan)
        if state.market is None
        else consumer_price_index(state.market.P1, w.sigma, w.final_share, R)
    )
    rev_s = rev_rs.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        level = np.exp(prod[1].reshape(R, S).sum(axis=0) / rev_s)  # revenue-weighted, by sector
    if state.cpi_base is None:
        state.cpi_base, state.ppi_base = np.full(R, np.nan), np.full(S, np.nan)
    # a price level is relative to its first finite observation (a sector's first firms)
    state.cpi_base = np.where(np.isfinite(state.cpi_base), state.cpi_base, cpi)
    state.ppi_base = np.where(np.isfinite(state.ppi_base), state.ppi_base, level)
    with np.errstate(invalid="ignore", divide="ignore"):
        cpi, ppi_s = cpi / state.cpi_base, level / state.ppi_base
    ok = np.isfinite(ppi_s) & (rev_s > 0)
    ppi = (
        float(np.exp(np.sum(rev_s[ok] * np.log(ppi_s[ok])) / rev_s[ok].sum()))
        if ok.any()
        else np.nan
    )
    n = n_rs.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        lz = prod[2].reshape(R, S).sum(axis=1) / n
    return {
        "cpi": cpi,
        "ppi_sector": ppi_s,
        "ppi": ppi,
        "employment": emp_rs.sum(axis=1),
        "value_added": rev_rs.sum(axis=1) - prod[0].reshape(R, S).sum(axis=1),
        "mean_log_productivity": lz,
    }


def price_indices(state: ModelState, world: World) -> tuple[np.ndarray, np.ndarray, float]:
    """(R,) consumer price index of each region, (S,) producer price index of each sector and the
    economy's producer price index (sectors aggregated with revenue weights), all relative to their
    first finite observation (kept in ``state.cpi_base`` / ``state.ppi_base``; for a model, the
    initial state).

    CPI_r = prod_s P_rs^final_share_s from this step's CES price indices
    (:func:`agglomeration.behaviour.prospects.consumer_price_index`); the producer price level of a
    sector is the revenue-weighted geometric mean of its live firms' prices.  NaN where undefined (no
    market yet, a sector without firms so far).
    """
    a = _labour_arrays(state, world)
    return a["cpi"], a["ppi_sector"], a["ppi"]


def labour_accounts(state: ModelState, world: World) -> pd.DataFrame:
    """One row per region: wage and rent (CNY m per worker- / km2-step), CPI (index, first observation
    = 1), real wage (wage / CPI), employment (workers), value added (revenue - input purchases, CNY m
    per step), labour productivity (value added per worker, nominal and at the producer prices of the
    first observation), the mean log productivity of the live firms and the nominal demand index.
    ``frame.attrs["ppi"]`` is the economy's producer price index.  Two compiled passes over the firms.
    """
    w = world
    R = w.n_regions
    a = _labour_arrays(state, world)
    idx = state.demand_index[:R] if len(state.demand_index) else np.ones(R)
    emp, va = a["employment"], a["value_added"]
    with np.errstate(invalid="ignore", divide="ignore"):
        frame = pd.DataFrame(
            {
                "region": w.region_ids,
                "wage": state.wage,
                "rent": state.rent,
                "cpi": a["cpi"],
                "real_wage": state.wage / a["cpi"],
                "employment": emp,
                "value_added": va,
                "labour_productivity": va / emp,
                "real_labour_productivity": va / emp / a["ppi"],
                "mean_log_productivity": a["mean_log_productivity"],
                "demand_index": idx,
            }
        )
    frame.attrs["ppi"] = a["ppi"]
    return frame


def _exogenous(state: ModelState, world: World) -> np.ndarray:
    from agglomeration.behaviour.growth import exogenous_income

    y, d = exogenous_income(state, world)
    return np.concatenate([y, d])


def _labour_row(state: ModelState, world: World, cells: tuple) -> dict[str, float]:
    """Economy-wide wages, prices and productivity (model series; see :func:`labour_accounts`)."""
    a = _labour_arrays(state, world, cells)
    emp = a["employment"]
    tot = emp.sum()
    weights = np.asarray(world.immobile_income, dtype=float)
    cpi = a["cpi"]
    ok = np.isfinite(cpi) & (weights > 0)
    nan = float("nan")
    with np.errstate(invalid="ignore", divide="ignore"):
        row = {
            "wage": float((state.wage * emp).sum() / tot) if tot > 0 else nan,
            "real_wage": float((state.wage / cpi * emp).sum() / tot) if tot > 0 else nan,
            "cpi": float(np.exp(np.sum(weights[ok] * np.log(cpi[ok])) / weights[ok].sum()))
            if ok.any()
            else nan,
            "ppi": float(a["ppi"]),
            "labour_productivity": float(a["value_added"].sum() / tot) if tot > 0 else nan,
        }
    row["real_labour_productivity"] = row["labour_productivity"] / row["ppi"]
    row["mean_rent"] = float(np.mean(state.rent))
    row["outside_wage_index"] = float(state.outside_wage)
    row["exogenous_income"] = float(np.sum(_exogenous(state, world)))
    return row


def _mean_locational_gini(emp_rs: np.ndarray) -> float:
    """Mean over sectors with employment of the sector's locational Gini across regions."""
    has = emp_rs.sum(axis=0) > 0
    if not has.any():
        return float("nan")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ginis = metrics.locational_gini(emp_rs[:, has], emp_rs.sum(axis=1))
        return float(np.nanmean(ginis))


def _sourcing_row(world: World, agg: np.ndarray) -> dict[str, float]:
    """local, network (FTZ + connected areas) and import (international gateways) shares of the link
    values ``agg`` (R, M)."""
    w = world
    R = w.n_regions
    nan = float("nan")
    if not np.any(agg > 0):
        return {"local_sourcing_share": nan, "network_sourcing_share": nan, "import_share": nan}
    rtype = np.asarray(w.region_type)
    tot = agg.sum(axis=1)
    buys = tot > 0
    lss = metrics.sourcing_shares(agg)
    zone = zone_mask(rtype)
    vals = agg[agg > 0]  # row-major, as the aggregated links frame listed them
    # imports: through an international gateway (the domestic gateway, the rest of China, is not)
    international = np.concatenate([np.zeros(R, bool), w.gateway_international])
    imports = international[np.nonzero(agg > 0)[1]]
    return {
        "local_sourcing_share": float((lss[buys] * tot[buys]).sum() / tot[buys].sum()),
        "network_sourcing_share": float(metrics.sourcing_shares(agg, group=zone))
        if zone.any()
        else nan,
        "import_share": float(vals[imports].sum() / vals.sum()),
    }


@lru_cache(maxsize=8)
def _total_requirements(io_bytes: bytes, n_sectors: int) -> np.ndarray:
    """Leontief inverse of a World's IO table, cached by content (the table is fixed for a World and
    the inversion is most of the cost of evaluating chain coverage every step)."""
    io = np.frombuffer(io_bytes, dtype=float).reshape(n_sectors, n_sectors)
    L = metrics.leontief_inverse(io)
    L.setflags(write=False)  # shared by every caller with the same table
    return L


def _mean_chain_coverage(world: World, n_rs: np.ndarray) -> float:
    """Mean over FTZ and connected areas and chains of the coefficient-weighted chain coverage
    (:func:`metrics.chain_coverage` with total requirements, evaluated by its array form)."""
    w = world
    if not w.chains:
        return float("nan")
    io = np.ascontiguousarray(w.io, dtype=float)
    weights = _total_requirements(io.tobytes(), io.shape[0])
    cov = metrics.chain_coverage_matrix(n_rs, weights, list(w.chains.values()))
    zone = zone_mask(w.region_type)
    vals = cov[zone] if zone.any() else cov
    return float(np.nanmean(vals)) if np.isfinite(vals).any() else float("nan")


#: When a run's tables are taken (docs/OUTPUTS.md): at the end of a step, after every submodel.
TIMING = (
    "Every table describes the end of a step.  Flows (output, sales, employment, input cost, profit) "
    "are those of the step's market and accounts; states (region, productivity, lines, age, equity, "
    "the supplier links, wages, rents and the policy-dependent costs) are those after the rest of "
    "the step: sourcing, learning, product lines, factor prices, policy, entry, relocation, exit and "
    "link repair.  So a firm that relocated this step is listed in its new region with the output it "
    "sold from the old one; an entrant is listed with zero flows (and its provisional price) until its first "
    "market; a firm that exited in the step is not listed, and its sales are not in the totals, "
    "which are therefore the survivors' part of the market (`output` of the series is less than the "
    "market's sales by the exits' sales); and employment x wage is not the wage bill (wages moved "
    "after production).  Link values (the surviving buyers' spending at their sales of the step) and "
    "trade flows (the survivors' sales) are split over the end-of-step links, regions and trade "
    "costs.  Step 0 is the start of the observed "
    "run (the state the burn-in left; the per-step counts are 0); in a run that continues a shared "
    "start (an experiment's lever variants, `agglomeration run --lever`) the firms' state at step 0 "
    "is the shared one, while the link-valued metrics (trade flows, sourcing shares, link values) "
    "already use the run's own costs: its trade costs and the administrative burden its policy sets."
)

#: Columns of ``firms.parquet`` / ``parts/firms`` (:func:`firms_frame`): name -> meaning [unit].
FIRM_COLUMNS: dict[str, str] = {
    "fid": "permanent firm id, never reused [-]",
    "sector": "sector id (scenarios/data sectors.csv) [-]",
    "region": "region id where the firm is at the end of the step (regions.csv) [-]",
    "productivity": "productivity exp(z) after this step's learning [-]",
    "price": "mill price set in this step's market (an entrant's: its provisional price, entry.provisional_prices) [domestic "
    "reference price = 1]",
    "output": "sales revenue, final + intermediate, in this step's market [CNY m per step]; its "
    "intermediate part is the buyers' spending at that market, so it differs from the firm's values in "
    "links.parquet where the links or the buyers changed after the market (the timing above)",
    "final_sales": "sales to final demand (the regions' households and the gateways) [CNY m per step]",
    "employment": "workers employed in this step's production [workers]",
    "land_use": "industrial land used in this step's production, land_share x variable cost / rent "
    "[km2]; the land share stands for all property services while the rent is that of bare industrial "
    "land, so a region's total exceeds its land_capacity (regions.csv), about 19 times in the baseline (docs/ODD.md, "
    "Known limitations)",
    "input_cost": "purchases of intermediate inputs in this step's market, including imported and "
    "unsourced inputs (bought outside the model at the reference price) [CNY m per step]",
    "profit": "profit after fixed costs in this step's accounts [CNY m per step]",
    "equity": "equity buffer at the end of the step [CNY m]",
    "age": "steps since entry [steps]",
    "losses": "consecutive loss-making steps [steps]",
    "lines": "product lines (varieties) at the end of the step [-]",
}

#: Columns of ``links.parquet`` / ``parts/links`` (:func:`link_values`): name -> meaning [unit].
LINK_COLUMNS: dict[str, str] = {
    "buyer": "buyer's firm id (firms.parquet fid) [-]",
    "supplier": "supplier's firm id; -1 for an import source at a gateway [-]",
    "buyer_region": "buyer's region id at the end of the step [-]",
    "supplier_region": "supplier's region id, or the gateway id of an import source [-]",
    "input_sector": "sector id of the input bought over the link [-]",
    "value": "the buyer's spending over this link at its output of this step's market, at the "
    "end-of-step links, CES shares and administrative burden: a buyer's values add up to its "
    "input_cost less its unsourced inputs, times (1 + the burden at the market) / (1 + the "
    "burden now) (they differ only where a reform changed the burden of the buyer's region in the "
    "step, or the buyer relocated) [CNY m per step]",
    "delivered_cost": "supplier's mill price times the iceberg trade cost from the supplier's "
    "region or gateway to the buyer's region [domestic reference price = 1]",
    "distance_km": "great-circle distance between the two markets' centroids, the distance of the "
    "gravity friction (0 within a region) [km]",
}

#: Columns of ``regions.csv`` / ``parts/regions`` (:func:`region_table`): name -> meaning [unit].
REGION_COLUMNS: dict[str, str] = {
    "region": "region id [-]",
    "region_type": "ftz, connected or other [-]",
    "sector": "sector id [-]",
    "firms": "live firms in the region and sector at the end of the step [firms]",
    "employment": "their employment in this step's production [workers]",
    "output": "their sales revenue in this step's market [CNY m per step]",
    "lq": "employment location quotient (e_rs / e_r) / (e_s / e) [-]; NaN for a region or sector "
    "without employment",
}


def region_table(state: ModelState, world: World) -> pd.DataFrame:
    """Long region x sector table: region, region_type, sector, firms, employment, output, lq."""
    w = world
    n_rs, emp_rs, out_rs = cell_totals(state, world)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lq = metrics.location_quotients(emp_rs)
    R, S = n_rs.shape
    return pd.DataFrame(
        {
            "region": np.repeat(w.region_ids, S),
            "region_type": np.repeat(w.region_type, S),
            "sector": np.tile(w.sector_ids, R),
            "firms": n_rs.ravel().astype(np.int64),
            "employment": emp_rs.ravel(),
            "output": out_rs.ravel(),
            "lq": np.asarray(lq, dtype=float).ravel(),
        }
    )


def firms_frame(state: ModelState, world: World) -> pd.DataFrame:
    """The live FirmTable rows with ids instead of indices."""
    w = world
    t = state.firms
    rows = t.alive_rows()
    return pd.DataFrame(
        {
            "fid": t.fid[rows],
            "sector": w.sector_ids[t.sector[rows]],
            "region": w.region_ids[t.region[rows]],
            "productivity": np.exp(t.log_productivity[rows]),
            "price": t.price[rows],
            "output": t.revenue[rows],
            "final_sales": t.final_sales[rows],
            "employment": t.employment[rows],
            "land_use": t.land_use[rows],
            "input_cost": t.input_cost[rows],
            "profit": t.profit[rows],
            "equity": t.equity[rows],
            "age": t.age[rows],
            "losses": t.losses[rows],
            "lines": t.lines[rows],
        }
    )


def headline_metrics(
    state: ModelState, world: World, counters: tuple[str, ...] = ()
) -> dict[str, float]:
    """Final metrics a batch stores per run: the last series row plus chain leadership facts."""
    row = series_row(state, world, counters)
    row.pop("step", None)
    nan = float("nan")
    w = world
    n_rs = region_sector(state.firms, w.n_regions, w.n_sectors, None)
    rtype = np.asarray(w.region_type)
    ftz = rtype == "ftz"
    if w.chains and ftz.any():
        lead = []
        for idx in w.chains.values():
            per_region = n_rs[:, list(idx)].sum(axis=1)
            # a chain without firms has no largest region (argmax of zeros named the first)
            if per_region.any():
                # a tie counts for the share of the tied regions that are FTZ areas (argmax gave
                # it to the first listed, and the FTZ areas are listed first)
                lead.append(float(ftz[per_region == per_region.max()].mean()))
        row["ftz_leads_chains_share"] = float(np.mean(lead)) if lead else nan
    # undefined (NaN) without initial firms: max(initial, 1) read the live firms as the ratio
    firms0 = state.initial_firms
    row["firms_relative_to_initial"] = row["firms"] / firms0 if firms0 > 0 else nan
    zone = zone_mask(rtype)
    row["zone_firm_share"] = float(n_rs[zone].sum() / max(n_rs.sum(), 1))
    row["connected_firm_share"] = float(n_rs[rtype == "connected"].sum() / max(n_rs.sum(), 1))
    row.update(logistics_outcomes.logistics_metrics(state, world))
    return {k: float(v) for k, v in row.items()}
