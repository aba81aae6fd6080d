"""Observation (agglomeration.observe): the compiled per-step aggregates equal straightforward numpy
references, one series row equals the previous pandas implementation value by value, and the array
forms of the metrics equal their DataFrame / one-industry forms."""

from __future__ import annotations

import copy
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from _toy import toy_scenario, toy_world
from agglomeration import metrics, observe
from agglomeration.errors import InputError
from agglomeration.firms import NONE
from agglomeration.model import AgglomerationModel

BASELINE = Path(__file__).resolve().parents[1] / "scenarios" / "baseline.toml"


@pytest.fixture(scope="module")
def baseline_model():
    """The Chongqing baseline (13 regions, 4 gateways, 10 sectors, 3 chains), 3,000 firms, 4 steps:
    entry, exit, relocation and supplier switching have all happened, dead rows are in the table."""
    m = AgglomerationModel(str(BASELINE), firms__initial_count=3000, burn_in=0, replicate_seed=3)
    m.run(4)
    return m


@pytest.fixture(scope="module")
def toy_model():
    m = AgglomerationModel(toy_scenario(), replicate_seed=2, world=toy_world())
    m.run(6)
    return m


# ----------------------------------------------------------------------------- reference (old code)
def _ref_region_sector(model, column):
    t = model.firms
    rows = t.alive_rows()
    R, S = model.world.n_regions, model.world.n_sectors
    w = None if column is None else getattr(t, column)[rows]
    idx = t.region[rows] * S + t.sector[rows]
    return np.bincount(idx, weights=w, minlength=R * S).reshape(R, S).astype(float)


def _ref_link_values(model, with_input=False):
    """Value of every filled supplier slot of the live buyers, written out in Python: the buyer's
    spending on the input x the supplier's CES share among the pair's suppliers at current prices
    (``with_input``: the input sector of every slot too)."""
    w, t, st = model.world, model.firms, model.state
    R = w.n_regions
    phi, tau, pimp = st.costs.phi, st.costs.tau_inputs, st.import_price
    rb, src, value, kk = [], [], [], []
    for b in t.alive_rows():
        s, r = t.sector[b], t.region[b]
        spend = t.revenue[b] * (w.sigma[s] - 1.0) / w.sigma[s] / (1.0 + st.costs.admin[r])
        for k in np.flatnonzero(np.asarray(w.io)[:, s] > 0):
            codes = [int(j) for j in t.supplier[b, k] if j != NONE]
            u = [
                t.lines[j] * t.price[j] ** (1 - w.sigma[k]) * phi[k, t.region[j], r]
                if j >= 0
                else (pimp[-1 - j, k] * tau[k, R - 1 - j, r]) ** (1 - w.sigma[k])
                for j in codes
            ]
            for j, uj in zip(codes, u, strict=True):
                rb.append(r)
                src.append(t.region[j] if j >= 0 else R + (-1 - j))
                value.append(w.io[k, s] * spend * (uj / sum(u) if len(u) > 1 else 1.0))
                kk.append(k)
    if with_input:
        return np.array(rb, int), np.array(src, int), np.array(value), np.array(kk, int)
    return np.array(rb, int), np.array(src, int), np.array(value)


def _ref_aggregated_links(model):
    w = model.world
    rb, src, value = _ref_link_values(model)
    R, M = w.n_regions, w.n_markets
    agg = np.bincount(rb * M + src, weights=value, minlength=R * M).reshape(R, M)
    r, sm = np.nonzero(agg > 0)
    return pd.DataFrame(
        {
            "supplier": np.where(sm < R, 0, -1),
            "buyer_region": w.region_ids[r],
            "supplier_region": w.market_ids[sm],
            "value": agg[r, sm],
        }
    )


def _ref_lss(links, group=None):
    """The pandas groupby implementation of metrics.local_sourcing_share before the array form."""
    w = links["value"].to_numpy(dtype=float)
    dom = links["supplier"].to_numpy() != -1
    br = links["buyer_region"].to_numpy()
    sr = links["supplier_region"].to_numpy()
    if group is not None:
        in_b = pd.Index(group).get_indexer(br) >= 0
        in_s = (pd.Index(group).get_indexer(sr) >= 0) & dom
        den = w[in_b].sum()
        return float(w[in_b & in_s].sum() / den) if den > 0 else np.nan
    local = dom & (br == sr)
    den = pd.Series(w).groupby(br).sum()
    num = pd.Series(np.where(local, w, 0.0)).groupby(br).sum()
    return (num / den.where(den > 0)).astype(float)


def _ref_gini(e_i, e_r):
    """The one-industry locational Gini before the (R, S) form."""
    s, x = e_i / e_i.sum(), e_r / e_r.sum()
    lq = np.where(x > 0, s / np.where(x > 0, x, 1.0), 0.0)
    order = np.argsort(lq, kind="stable")
    X = np.concatenate([[0.0], np.cumsum(x[order])])
    Y = np.concatenate([[0.0], np.cumsum(s[order])])
    return float(1.0 - np.sum(np.diff(X) * (Y[1:] + Y[:-1])))


def _ref_chain_coverage(n_rs, io, chains):
    L = np.linalg.inv(np.eye(io.shape[0]) - io)
    out = []
    for stages in chains.values():
        pos = np.asarray(stages)
        t = pos[-1]
        up = np.unique(pos[pos != t])
        w = L[up, t]
        up, w = up[w > 0], w[w > 0]
        out.append((n_rs[:, up] >= 1).astype(float) @ w / w.sum() if w.sum() > 0 else np.nan)
    return np.column_stack(out)


def _ref_trade_flows(model):
    """(S, M, M) flows origin -> destination [CNY m per step] from their definitions, cell by cell: final
    sales of the firms alive now split over markets as phi E / P1, final imports of each gateway (its part of the foreign
    competitors' CES weight), intermediate purchases of every (buyer, input) pair."""
    w, st = model.world, model.state
    R, G, M, S = w.n_regions, w.n_gateways, w.n_markets, w.n_sectors
    flows = np.zeros((S, M, M))
    E, mkt, c = st.expenditure_used, st.market, st.costs
    t = model.firms
    final = np.zeros((S, R))  # final sales of the firms alive now, by sector and current region
    for i in t.alive_rows():
        final[t.sector[i], t.region[i]] += t.final_sales[i]
    for s in range(S):
        sig = w.sigma[s]
        demand_all = [E[s, d] / mkt.P1[s, d] if mkt.P1[s, d] > 0 else 0.0 for d in range(M)]
        for o in range(R):
            mp = sum(c.phi[s, o, d] * demand_all[d] for d in range(M))
            for d in range(M):
                if mp > 0:
                    flows[s, o, d] += final[s, o] * c.phi[s, o, d] * demand_all[d] / mp
        for d in range(M):
            if mkt.P1[s, d] <= 0:
                continue
            demand = demand_all[d]
            if d < R and G:
                x = [
                    w.gateway_competitors[g]
                    * (st.import_price[g, s] * c.tau[s, R + g, d]) ** (1.0 - sig)
                    for g in range(G)
                ]
                for g in range(G):
                    flows[s, R + g, d] += x[g] / sum(x) * c.foreign[s, d] * demand
    rb, src, value, k = _ref_link_values(model, with_input=True)
    for b, o, v, kk in zip(rb, src, value, k, strict=True):
        flows[kk, o, b] += v
    return flows


def _ref_logistics_series(model):
    """The logistics keys of the series row from their definitions (docs/METRICS.md, "Logistics"):
    export_share = goods sales of the regions' firms to international gateways / all their goods
    sales; corridor_<tag>_kt = thousand tonnes (value / value density) of the shipped flows on the route
    options whose route runs mainly on the corridor's links, split by the options' logit shares."""
    w = model.world
    R = w.n_regions
    flows = _ref_trade_flows(model)
    intl = np.arange(w.n_markets) >= R if w.routes is None else w.routes.international
    goods = np.asarray(w.sector_kind) == "manufacturing"
    sales = flows[goods][:, :R, :]
    total = sales.sum()
    row = {"export_share": float(sales[:, :, intl].sum() / total) if total > 0 else np.nan}
    # openness: sales to domestic gateways; purchases by the regions from each kind of gateway
    bought = flows[goods][:, :, :R]
    dom = (np.arange(w.n_markets) >= R) & ~np.asarray(intl, bool)
    frac = lambda a, b: float(a / b) if b > 0 else np.nan  # noqa: E731
    row["goods_outflow_share"] = frac(sales[:, :, dom].sum(), total)
    row["goods_import_share"] = frac(bought[:, np.asarray(intl, bool), :].sum(), bought.sum())
    row["goods_inflow_share"] = frac(bought[:, dom, :].sum(), bought.sum())
    if w.routes is None:
        return row
    share = model.state.costs.route_choice.share  # (M, M, S, O) at the reforms' customs factors
    for c, tag in enumerate(w.corridor_ids):
        kt = 0.0
        for o, d, s, opt in zip(*np.nonzero(w.routes.corridor == c), strict=True):
            if w.routes.shipped[s]:
                kt += flows[s, o, d] * share[o, d, s, opt] * 1e6 / w.routes.value_density[s] / 1e3
        row[f"corridor_{tag}_kt"] = kt
    return row


def _ref_series_row(model):
    """series_row as it was before the compiled aggregates (pandas links frame, per-sector Gini)."""
    w = model.world
    rtype = np.asarray(w.region_type)
    n_rs = _ref_region_sector(model, None)
    emp_rs = _ref_region_sector(model, "employment")
    out_rs = _ref_region_sector(model, "revenue")
    t = model.firms
    rows = t.alive_rows()
    row = {"step": int(model.t)}
    row["firms"] = float(n_rs.sum())
    row["employment"] = float(emp_rs.sum())
    row["output"] = float(out_rs.sum())
    for typ in observe.REGION_TYPES:
        m = rtype == typ
        row[f"firms_{typ}"] = float(n_rs[m].sum())
        row[f"employment_{typ}"] = float(emp_rs[m].sum())
        row[f"output_{typ}"] = float(out_rs[m].sum())
    for key in model.counters:
        row[key] = float(model.state.counts.get(key, 0.0))
    # cumulative demography by region type: checked by the accounting identity
    # (tests/behaviour/test_delegation_channels.py), here only its place in the row
    row.update(observe.demography_by_type(model.state, model.world))
    row["mean_log_productivity"] = float(np.mean(t.log_productivity[rows])) if len(rows) else np.nan
    row["mean_wage"] = float(np.mean(model.state.wage))
    firms_r = n_rs.sum(axis=1)
    row["herfindahl_regions"] = (
        float(np.sum((firms_r / firms_r.sum()) ** 2)) if firms_r.sum() > 0 else np.nan
    )
    total_emp = emp_rs.sum(axis=1)
    ginis = [
        _ref_gini(emp_rs[:, s], total_emp) for s in range(w.n_sectors) if emp_rs[:, s].sum() > 0
    ]
    row["mean_locational_gini"] = float(np.nanmean(ginis)) if ginis else np.nan
    links = _ref_aggregated_links(model)
    if len(links):
        lss = _ref_lss(links)
        tot = links.groupby("buyer_region")["value"].sum()
        row["local_sourcing_share"] = float((lss * tot).sum() / tot.sum())
        zone = [str(x) for x in w.region_ids[np.isin(rtype, ("ftz", "connected"))]]
        row["network_sourcing_share"] = float(_ref_lss(links, group=zone)) if zone else np.nan
        # imports: international gateways only (from the gateway data; DOM is the rest of China)
        intl = (
            np.ones(w.n_gateways, bool)
            if w.routes is None
            else w.routes.international[w.n_regions :]
        )
        foreign = w.market_ids[w.n_regions :][intl]
        row["import_share"] = float(
            links.loc[links["supplier_region"].isin(foreign), "value"].sum() / links["value"].sum()
        )
    else:
        row["local_sourcing_share"] = row["network_sourcing_share"] = np.nan
        row["import_share"] = np.nan
    cov = _ref_chain_coverage(n_rs, w.io, w.chains)
    zone = np.isin(rtype, ("ftz", "connected"))
    vals = cov[zone] if zone.any() else cov
    row["mean_chain_coverage"] = float(np.nanmean(vals)) if np.isfinite(vals).any() else np.nan
    row["reforms_connected"] = (
        float(model.state.policy.adopted[rtype == "connected"].sum(axis=1).mean())
        if np.any(rtype == "connected")
        else 0.0
    )
    # the supplier network, counted in numpy
    filled = t.supplier[rows] != NONE
    n = len(rows)
    row["suppliers_per_firm"] = filled.sum() / n if n else np.nan
    row["domestic_suppliers_per_firm"] = (t.supplier[rows] >= 0).sum() / n if n else np.nan
    sup = t.supplier[rows]
    has_buyer = np.isin(rows, sup[sup >= 0])
    is_input = (np.asarray(w.io) > 0).any(axis=1)[t.sector[rows]]
    row["input_firms_with_buyer_share"] = (
        has_buyer.sum() / is_input.sum() if is_input.sum() else np.nan
    )
    row["mean_lines"] = float(t.lines[rows].mean()) if n else np.nan
    row["entrant_profit_ratio"], row["entrant_revenue_ratio"] = model.state.entrants.ratios()
    row.update(_ref_logistics_series(model))  # added with the logistics outcomes (0.2.0)
    row.update(_ref_labour_row(model))
    return row


def _ref_labour_row(model):
    """Wages, prices and productivity from the firms frame (pandas) and the state's price bases."""
    from agglomeration.behaviour.prospects import consumer_price_index

    w, st = model.world, model.state
    f = model.firms_frame()
    nan = float("nan")
    emp_r = f.groupby("region")["employment"].sum().reindex(w.region_ids, fill_value=0.0).to_numpy()
    tot = emp_r.sum()
    cpi_r = consumer_price_index(st.market.P1, w.sigma, w.final_share, w.n_regions) / st.cpi_base
    inc = np.asarray(w.immobile_income, dtype=float)
    f["rlogp"] = f["output"] * np.log(f["price"])
    g = f.groupby("sector")[["output", "rlogp"]].sum().reindex(w.sector_ids)
    ppi_s = np.exp(g["rlogp"] / g["output"]).to_numpy() / st.ppi_base
    ok = np.isfinite(ppi_s) & (g["output"].to_numpy() > 0)
    rev = g["output"].to_numpy()[ok]
    ppi = float(np.exp(np.sum(rev * np.log(ppi_s[ok])) / rev.sum())) if ok.any() else nan
    lp = float((f["output"] - f["input_cost"]).sum() / tot) if tot > 0 else nan
    exo = np.concatenate([w.immobile_income, w.gateway_demand])
    if len(st.demand_index):
        exo = exo * st.demand_index
    return {
        "wage": float((st.wage * emp_r).sum() / tot) if tot > 0 else nan,
        "real_wage": float((st.wage / cpi_r * emp_r).sum() / tot) if tot > 0 else nan,
        "cpi": float(np.exp(np.sum(inc * np.log(cpi_r)) / inc.sum())),
        "ppi": ppi,
        "labour_productivity": lp,
        "real_labour_productivity": lp / ppi,
        "mean_rent": float(np.mean(st.rent)),
        "outside_wage_index": float(st.outside_wage),
        "exogenous_income": float(exo.sum()),
    }


def _assert_rows_equal(new, ref):
    assert list(new) == list(ref)  # same keys in the same order (DataCollector columns)
    for key, want in ref.items():
        got = new[key]
        if np.isnan(want):
            assert np.isnan(got), key
        else:
            assert got == pytest.approx(want, rel=1e-12, abs=0.0), key


# ------------------------------------------------------------------------------ compiled aggregates
@pytest.mark.parametrize("which", ["baseline_model", "toy_model"])
def test_cell_totals_equal_bincount_exactly(which, request):
    m = request.getfixturevalue(which)
    assert m.firms.n_alive < m.firms.n  # dead rows are present and must be skipped
    n_rs, emp_rs, out_rs = observe.cell_totals(m.state, m.world)
    np.testing.assert_array_equal(n_rs, _ref_region_sector(m, None))
    np.testing.assert_array_equal(emp_rs, _ref_region_sector(m, "employment"))
    np.testing.assert_array_equal(out_rs, _ref_region_sector(m, "revenue"))
    for col in (None, "employment", "revenue", "land_use", "age"):
        np.testing.assert_array_equal(
            observe.region_sector(m.firms, m.world.n_regions, m.world.n_sectors, col),
            _ref_region_sector(m, col),
        )
    assert n_rs.sum() == m.firms.n_alive


def test_region_sector_rejects_unknown_columns(toy_model):
    for bad in ("no_such_column", "supplier", 3):
        with pytest.raises(ValueError, match="column"):
            observe.region_sector(
                toy_model.firms, toy_model.world.n_regions, toy_model.world.n_sectors, bad
            )


@pytest.mark.parametrize("which", ["baseline_model", "toy_model"])
def test_link_totals_equal_bincount_over_input_pairs_exactly(which, request):
    m = request.getfixturevalue(which)
    w = m.world
    rb, src, value = _ref_link_values(m)
    ref = np.bincount(rb * w.n_markets + src, weights=value, minlength=w.n_regions * w.n_markets)
    agg = observe.link_totals(m.state, m.world)
    assert agg.shape == (w.n_regions, w.n_markets)
    np.testing.assert_allclose(agg, ref.reshape(w.n_regions, w.n_markets), rtol=1e-12, atol=0)
    t = m.firms  # the int32 region column (worlds of more than 255 regions) gives the same sums
    shares = observe._shares_now(m.state, m.world)
    args = (
        t.sector,
        t.revenue,
        t.supplier,
        w.io,
        w.sigma,
        m.state.costs.admin,
        shares["cesw"],
        shares["phi_tab"],
        shares["imp_u"],
        w.n_regions,
        w.n_markets,
    )
    int32_total, int32_by_sector, _ = observe._link_sums_counts(t.alive, t.region, *args)
    np.testing.assert_array_equal(int32_total, agg)
    np.testing.assert_array_equal(int32_by_sector, observe.link_totals_by_sector(m.state, m.world))
    if which == "baseline_model":
        assert (agg[:, w.n_regions :] > 0).any()  # imports are in the gateway columns


@pytest.mark.parametrize("which", ["baseline_model", "toy_model"])
def test_link_totals_by_sector_equal_bincount_over_input_pairs_exactly(which, request):
    """The (buyer region, source market, input sector) pass of the logistics flows: the pair-array
    reference cell by cell, and link_totals once the input sector is summed out."""
    m = request.getfixturevalue(which)
    w = m.world
    R, M, S = w.n_regions, w.n_markets, w.n_sectors
    rb, src, value, k = _ref_link_values(m, with_input=True)
    ref = np.bincount((rb * M + src) * S + k, weights=value, minlength=R * M * S)
    got = observe.link_totals_by_sector(m.state, m.world)
    np.testing.assert_allclose(got, ref.reshape(R, M, S), rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(got.sum(axis=2), observe.link_totals(m.state, m.world), rtol=1e-12)
    assert (got.sum(axis=(0, 1)) > 0).sum() > 1  # more than one input sector is bought
    total, by_sector = observe.link_totals_both(m.state, m.world)  # the series row's single pass
    np.testing.assert_array_equal(total, observe.link_totals(m.state, m.world))
    np.testing.assert_array_equal(by_sector, got)
    total, by_sector, counts = observe.link_totals_and_counts(m.state, m.world)
    np.testing.assert_array_equal(total, observe.link_totals(m.state, m.world))
    np.testing.assert_array_equal(by_sector, got)
    t = m.firms  # the slot counts of the same pass are those of the separate pass
    assert tuple(int(c) for c in counts) == observe._slot_counts(t.alive, t.supplier, NONE)
    assert counts[0] >= counts[1] > 0 and counts[2] > 0
    assert observe.network_row(m.state, w, counts) == observe.network_row(m.state, w)
    n_rs = observe.cell_totals(m.state, w)[0]  # the series row's firms by sector: the same row
    assert observe.network_row(m.state, w, counts, n_rs.sum(axis=0)) == observe.network_row(
        m.state, w
    )


def test_link_totals_science_invariant(baseline_model):
    """Every needed input is sourced after a step, so a region's link value is the intermediate
    spending of its firms: sum_b R_b (sigma_s - 1) / sigma_s / (1 + admin_r) sum_k a[k, s]."""
    m = baseline_model
    w, t = m.world, m.firms
    rows = t.alive_rows()
    s, r = t.sector[rows], t.region[rows]
    spend = t.revenue[rows] * (w.sigma[s] - 1.0) / w.sigma[s] / (1.0 + m.state.costs.admin[r])
    spend *= np.asarray(w.io).sum(axis=0)[s]
    want = np.bincount(r, weights=spend, minlength=w.n_regions)
    np.testing.assert_allclose(observe.link_totals(m.state, m.world).sum(axis=1), want, rtol=1e-12)


def test_link_totals_follow_supplier_codes(toy_model):
    """An import code moves the link's value to the gateway column, NONE drops it, an exited buyer's
    links do not count; the kernel agrees with the pair-array reference in every case."""
    m = copy.deepcopy(toy_model)
    t, w = m.firms, m.world
    R = w.n_regions
    before = observe.link_totals(m.state, m.world)
    rows = t.alive_rows()
    b = rows[t.sector[rows] == 2][0]  # an assembler (buys inputs 0 and 1)
    r = t.region[b]

    def check():
        rb, src, value = _ref_link_values(m)
        ref = np.bincount(rb * w.n_markets + src, weights=value, minlength=before.size)
        got = observe.link_totals(m.state, m.world)
        np.testing.assert_allclose(got.ravel(), ref, rtol=1e-12, atol=1e-300)
        return got

    t.supplier[b, 0] = [-1] + [NONE] * (t.slots - 1)  # import through gateway 0
    imp = check()
    assert imp[r, R] > before[r, R]
    assert imp[r].sum() == pytest.approx(before[r].sum(), rel=1e-12)
    t.supplier[b, 0] = NONE  # unsourced: the input's value leaves the matrix
    lost = check()
    assert lost[r].sum() < before[r].sum()
    t.kill(np.array([b]))  # an exited buyer buys nothing
    dead = check()
    assert dead[r].sum() < lost[r].sum()


# ---------------------------------------------------------------------------------- the series row
@pytest.mark.parametrize("which", ["baseline_model", "toy_model"])
def test_series_row_equals_previous_implementation(which, request):
    m = request.getfixturevalue(which)
    _assert_rows_equal(observe.series_row(m.state, m.world, m.counters), _ref_series_row(m))


def test_series_row_every_step_equals_previous_implementation():
    m = AgglomerationModel(str(BASELINE), firms__initial_count=1500, replicate_seed=11)
    _assert_rows_equal(
        observe.series_row(m.state, m.world, m.counters), _ref_series_row(m)
    )  # initial state
    for _ in range(5):
        m.step()
        _assert_rows_equal(observe.series_row(m.state, m.world, m.counters), _ref_series_row(m))


def test_series_row_of_an_empty_model_is_nan_not_an_error():
    m = AgglomerationModel(
        toy_scenario(firms={"initial_count": 0}), replicate_seed=1, world=toy_world()
    )
    row = observe.series_row(m.state, m.world, m.counters)
    assert row["firms"] == 0.0
    for key in (
        "mean_log_productivity",
        "herfindahl_regions",
        "mean_locational_gini",
        "local_sourcing_share",
        "network_sourcing_share",
        "import_share",
        "export_share",  # no goods sales: undefined, not 0
    ):
        assert np.isnan(row[key]), key
    _assert_rows_equal(row, _ref_series_row(m))


def test_outputs_use_the_same_aggregates(baseline_model):
    m = baseline_model
    n_rs, _, out_rs = observe.cell_totals(m.state, m.world)
    tab = observe.region_table(m.state, m.world)
    np.testing.assert_array_equal(tab["firms"].to_numpy(), n_rs.ravel().astype(np.int64))
    np.testing.assert_array_equal(tab["output"].to_numpy(), out_rs.ravel())
    links = observe.link_values(
        m.state, m.world
    )  # the per-link frame adds up to the aggregated matrix
    w = m.world
    by = links.groupby(["buyer_region", "supplier_region"])["value"].sum()
    agg = observe.link_totals(m.state, m.world)
    for (br, sr), v in by.items():
        i = list(w.region_ids).index(br)
        j = list(w.market_ids).index(sr)
        assert agg[i, j] == pytest.approx(v, rel=1e-12)
    head = observe.headline_metrics(m.state, m.world, m.counters)
    assert head["firms"] == observe.series_row(m.state, m.world, m.counters)["firms"]


# ------------------------------------------------------------------- array forms of the metrics
def _random_links(rng, n):
    regions = np.array(["A", "B", "C", "D"])
    imp = rng.random(n) < 0.2
    return pd.DataFrame(
        {
            "supplier": np.where(imp, -1, rng.integers(0, 50, n)),
            "buyer_region": rng.choice(regions, n),
            "supplier_region": np.where(imp, rng.choice(["G1", "A"], n), rng.choice(regions, n)),
            "value": rng.exponential(1.0, n) * (rng.random(n) < 0.9),
        }
    )


@pytest.mark.parametrize("seed", range(5))
def test_local_sourcing_share_equals_groupby_reference(seed):
    links = _random_links(np.random.default_rng(seed), 200)
    got = metrics.local_sourcing_share(links)
    want = _ref_lss(links)
    assert list(got.index) == list(want.index)
    np.testing.assert_allclose(got.to_numpy(), want.to_numpy(), rtol=1e-12)
    for group in (["A", "B"], ["C"], ["A", "Z"], ["Z"]):
        g, r = metrics.local_sourcing_share(links, group=group), _ref_lss(links, group=group)
        assert (np.isnan(g) and np.isnan(r)) or g == pytest.approx(r, rel=1e-12)


def test_sourcing_shares_hand_matrix_and_errors():
    # buyers A, B; sources A, B, imports: A buys 6 locally of 8, B 4 of 7
    v = np.array([[6.0, 2.0, 0.0], [0.0, 4.0, 3.0]])
    np.testing.assert_allclose(metrics.sourcing_shares(v), [6 / 8, 4 / 7])
    assert metrics.sourcing_shares(v, group=np.array([True, True])) == pytest.approx(12 / 15)
    assert metrics.sourcing_shares(v, group=np.array([True, False])) == pytest.approx(6 / 8)
    assert np.isnan(metrics.sourcing_shares(np.zeros((2, 3)))).all()
    assert np.isnan(metrics.sourcing_shares(np.zeros((2, 3)), group=np.array([True, False])))
    with pytest.raises(InputError, match="values"):
        metrics.sourcing_shares(np.ones((3, 2)))
    with pytest.raises(InputError, match="values"):
        metrics.sourcing_shares(-v)
    with pytest.raises(InputError, match="group"):
        metrics.sourcing_shares(v, group=np.array([1, 0]))


def test_locational_gini_matrix_equals_one_industry_calls_bit_for_bit():
    rng = np.random.default_rng(4)
    emp = rng.exponential(1.0, (13, 10)) * (rng.random((13, 10)) < 0.7)
    emp[:, 3] = 0.0  # an industry with no employment -> NaN
    total = emp.sum(axis=1) + 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g = metrics.locational_gini(emp, total)
    assert g.shape == (10,) and np.isnan(g[3])
    for s in range(10):
        if s != 3:
            assert g[s] == metrics.locational_gini(emp[:, s], total)  # identical bits
            assert g[s] == pytest.approx(_ref_gini(emp[:, s], total), rel=1e-12)
    with pytest.raises(InputError):
        metrics.locational_gini(emp, total[:-1])
    with pytest.raises(InputError):
        metrics.locational_gini(emp, np.where(np.arange(13) == 0, 0.0, total))


def test_chain_coverage_matrix_equals_chain_coverage(baseline_model):
    w = baseline_model.world
    n_rs = observe.cell_totals(baseline_model.state, baseline_model.world)[0]
    n_rs[2, :] = 0.0  # a region without firms: coverage 0
    frame = metrics.chain_coverage(n_rs, w.io, {k: list(v) for k, v in w.chains.items()})
    L = metrics.leontief_inverse(w.io)
    mat = metrics.chain_coverage_matrix(n_rs, L, list(w.chains.values()))
    np.testing.assert_array_equal(mat, frame.to_numpy())
    np.testing.assert_allclose(mat, _ref_chain_coverage(n_rs, w.io, w.chains), rtol=1e-12)
    assert (mat[2] == 0).all() and ((mat >= 0) & (mat <= 1)).all()
    with pytest.raises(InputError, match="weights"):
        metrics.chain_coverage_matrix(n_rs, L[:3, :3], [[0, 1]])
    with pytest.raises(InputError, match=r"chains\[0\]"):
        metrics.chain_coverage_matrix(n_rs, L, [[0, 99]])


def test_headline_shares_of_an_empty_economy_are_nan_not_ftz_leadership():
    # without firms no chain has a largest region (argmax of zeros named the first region, an FTZ
    # area, so every chain counted as FTZ-led), and the firm ratio has no denominator
    m = AgglomerationModel(str(BASELINE), firms__initial_count=0, burn_in=0, replicate_seed=1)
    head = observe.headline_metrics(m.state, m.world, m.counters)
    assert head["firms"] == 0.0
    for key in ("ftz_leads_chains_share", "firms_relative_to_initial"):
        assert np.isnan(head[key]), key


# ------------------------------------------------------------------------ output columns (OUTPUTS.md)
def test_every_column_a_run_writes_is_documented(baseline_model):
    """docs/OUTPUTS.md is generated from these declarations: a column the frames write without an entry
    (or an entry for a column they no longer write) fails here."""
    from agglomeration import logistics_outcomes

    m = baseline_model
    assert list(observe.firms_frame(m.state, m.world).columns) == list(observe.FIRM_COLUMNS)
    assert list(observe.link_values(m.state, m.world).columns) == list(observe.LINK_COLUMNS)
    assert list(observe.region_table(m.state, m.world).columns) == list(observe.REGION_COLUMNS)
    table = logistics_outcomes.logistics_table(m.state, m.world)
    assert list(table.columns) == list(logistics_outcomes.TABLE_COLUMNS)
    # the metrics: tests/metrics/test_registry.py checks that every one has a registry entry


def test_link_values_add_up_to_the_buyers_input_cost():
    """Without reforms or relocations in the step, a buyer's link values are its input cost less its
    unsourced inputs (docs/OUTPUTS.md, links.parquet ``value``)."""
    m = AgglomerationModel(
        str(BASELINE),
        firms__initial_count=300,
        burn_in=0,
        replicate_seed=5,
        policy__enabled=False,
        behaviour__relocation__enabled=False,
    )
    m.run(3)
    st, w = m.state, m.world
    t = st.firms
    links = observe.link_values(st, w).groupby("buyer")["value"].sum()
    rows = t.alive_rows()
    sector = t.sector[rows]
    sourced = (t.supplier[rows] != NONE).any(axis=2)  # (n, S): inputs with a supplier
    io = np.asarray(w.io, dtype=float)  # (k, s)
    share = (io[:, sector].T * sourced).sum(axis=1) / io[:, sector].sum(axis=0)
    expected = pd.Series(t.input_cost[rows] * share, index=t.fid[rows])
    buyers = expected.index[t.revenue[rows] > 0]
    assert len(buyers) > 200
    got = links.reindex(buyers, fill_value=0.0)
    np.testing.assert_allclose(got.to_numpy(), expected[buyers].to_numpy(), rtol=1e-9)


def test_run_totals_of_entry_and_exit_add_up_the_steps_and_the_region_types(baseline_model):
    """``entries_total`` / ``exits_total`` (every region, since the observed run started) are the sums of
    the per-step ``entries`` / ``exits`` of the observed steps and of the per-type run totals, and the
    firm count follows from them: firms = start + entries - exits."""
    s = baseline_model.series_frame()
    types = ("ftz", "connected", "other")
    for stem in ("entries", "exits"):
        np.testing.assert_array_equal(s[f"{stem}_total"], s[stem].cumsum())
        by_type = sum(s[f"{stem}_total_{t}"] for t in types)
        np.testing.assert_array_equal(s[f"{stem}_total"], by_type)
    start = sum(s[f"firms_start_{t}"] for t in types)
    np.testing.assert_array_equal(s["firms"], start + s["entries_total"] - s["exits_total"])
    assert s["entries_total"].iloc[-1] > 0 and s["exits_total"].iloc[-1] > 0


def test_a_tie_for_a_chains_largest_region_is_shared_not_given_to_the_first_listed(monkeypatch):
    """argmax gave a tie to the first region listed, and the FTZ areas are listed first."""
    m = AgglomerationModel(str(BASELINE), firms__initial_count=0, burn_in=0, replicate_seed=1)
    w = m.world
    ftz = np.flatnonzero(np.asarray(w.region_type) == "ftz")[0]
    other = np.flatnonzero(np.asarray(w.region_type) != "ftz")[-1]
    n_rs = np.zeros((w.n_regions, w.n_sectors))
    for idx in w.chains.values():
        n_rs[[ftz, other], idx[0]] = 5.0  # one FTZ area and one other region tie
    monkeypatch.setattr(observe, "region_sector", lambda *a, **k: n_rs)
    head = observe.headline_metrics(m.state, m.world, m.counters)
    assert head["ftz_leads_chains_share"] == pytest.approx(0.5)


def test_the_final_only_metrics_are_what_the_headline_adds_to_the_series(baseline_model):
    """Stop conditions read the series: parameters refuses FINAL_ONLY and the logistics metrics
    outside in_series, so those lists must be exactly what headline_metrics adds."""
    from agglomeration.logistics_outcomes import describe_metric_name, in_series
    from agglomeration.metrics.registry import FINAL_ONLY

    m = baseline_model
    series = set(observe.series_row(m.state, m.world, m.counters))
    added = set(observe.headline_metrics(m.state, m.world, m.counters)) - series
    logistics = {k for k in added if describe_metric_name(k) is not None and k not in FINAL_ONLY}
    assert added - logistics == set(FINAL_ONLY)
    assert logistics and not any(in_series(k) for k in logistics)
    assert all(
        in_series(k) for k in series if k.startswith(("corridor_", "export_share", "goods_"))
    )
