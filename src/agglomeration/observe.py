"""Observation of a running model: the per-step series, region x sector tables and supplier links.

All clustering and chain indicators come from :mod:`agglomeration.metrics` (one implementation); this
module only prepares their inputs from the model state, aggregating by (region, sector) or
(buyer region, source market) with ``np.bincount`` first so per-step observation stays O(N).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from agglomeration import metrics
from agglomeration.firms import NONE

REGION_TYPES = ("ftz", "connected", "other")


def region_sector(model, column: str | None) -> np.ndarray:
    """(R, S) sum of a FirmTable column over live firms by (region, sector); ``None`` counts firms."""
    t = model.firms
    rows = t.alive_rows()
    R, S = model.world.n_regions, model.world.n_sectors
    w = None if column is None else getattr(t, column)[rows]
    idx = t.region[rows] * S + t.sector[rows]
    return np.bincount(idx, weights=w, minlength=R * S).reshape(R, S).astype(float)


def link_values(model) -> pd.DataFrame:
    """Current supplier links (one row per live buyer x input sector with a supplier).

    value = the buyer's spending on that input at its latest revenue (CNY m per step); delivered_cost =
    supplier mill price x iceberg cost (relative to the domestic reference price).
    """
    w = model.world
    t = model.firms
    pairs, coef = model.current_pairs()
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
    tau = model.tau_eff
    pimp = model.import_price
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


def _aggregated_links(model) -> pd.DataFrame:
    """Link values summed by (buyer region, source market): the input the sourcing metrics need."""
    w = model.world
    t = model.firms
    pairs, coef = model.current_pairs()
    sup = pairs.sup.astype(np.int64)
    keep = sup != NONE
    R, M = w.n_regions, w.n_markets
    buyer = pairs.buyer[keep]
    sup = sup[keep]
    value = coef[keep] * t.revenue[buyer]
    dom = sup >= 0
    src = np.where(dom, t.region[np.maximum(sup, 0)], R + (-1 - sup))
    agg = np.bincount(t.region[buyer] * M + src, weights=value, minlength=R * M).reshape(R, M)
    rb, sm = np.nonzero(agg > 0)
    ids = w.market_ids
    return pd.DataFrame(
        {
            "supplier": np.where(sm < R, 0, -1),
            "buyer_region": w.region_ids[rb],
            "supplier_region": ids[sm],
            "value": agg[rb, sm],
        }
    )


def series_row(model) -> dict[str, float]:
    """Model-level metrics of the current state (one DataCollector row)."""
    w = model.world
    rtype = np.asarray(w.region_type)
    n_rs = region_sector(model, None)
    emp_rs = region_sector(model, "employment")
    out_rs = region_sector(model, "revenue")
    t = model.firms
    rows = t.alive_rows()
    row: dict[str, float] = {"step": int(model.t)}
    row["firms"] = float(n_rs.sum())
    row["employment"] = float(emp_rs.sum())
    row["output"] = float(out_rs.sum())
    for typ in REGION_TYPES:
        m = rtype == typ
        row[f"firms_{typ}"] = float(n_rs[m].sum())
        row[f"employment_{typ}"] = float(emp_rs[m].sum())
        row[f"output_{typ}"] = float(out_rs[m].sum())
    row["entries"] = float(model.counts["entries"])
    row["exits"] = float(model.counts["exits"])
    row["relocations"] = float(model.counts["relocations"])
    row["supplier_switches"] = float(model.counts["switches"])
    row["mean_log_productivity"] = (
        float(np.mean(t.log_productivity[rows])) if len(rows) else float("nan")
    )
    row["mean_wage"] = float(np.mean(model.wage))
    firms_r = n_rs.sum(axis=1)
    row["herfindahl_regions"] = metrics.herfindahl(firms_r) if firms_r.sum() > 0 else float("nan")
    total_emp = emp_rs.sum(axis=1)
    ginis = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for s in range(w.n_sectors):
            if emp_rs[:, s].sum() > 0:
                ginis.append(metrics.locational_gini(emp_rs[:, s], total_emp))
    row["mean_locational_gini"] = float(np.nanmean(ginis)) if ginis else float("nan")
    links = _aggregated_links(model)
    if len(links):
        lss = metrics.local_sourcing_share(links)
        tot = links.groupby("buyer_region")["value"].sum()
        row["local_sourcing_share"] = float((lss * tot).sum() / tot.sum())
        zone = [str(x) for x in w.region_ids[np.isin(rtype, ("ftz", "connected"))]]
        row["network_sourcing_share"] = (
            float(metrics.local_sourcing_share(links, group=zone)) if zone else float("nan")
        )
        row["import_share"] = float(
            links.loc[links["supplier"] == -1, "value"].sum() / links["value"].sum()
        )
    else:
        row["local_sourcing_share"] = row["network_sourcing_share"] = float("nan")
        row["import_share"] = float("nan")
    row["mean_chain_coverage"] = _mean_chain_coverage(model, n_rs)
    row["reforms_connected"] = (
        float(model.policy.adopted[rtype == "connected"].sum(axis=1).mean())
        if np.any(rtype == "connected")
        else 0.0
    )
    return row


def _mean_chain_coverage(model, n_rs: np.ndarray) -> float:
    """Mean over FTZ and connected areas and chains of the coefficient-weighted chain coverage."""
    w = model.world
    if not w.chains:
        return float("nan")
    cov = metrics.chain_coverage(n_rs, w.io, {k: list(v) for k, v in w.chains.items()})
    zone = np.isin(np.asarray(w.region_type), ("ftz", "connected"))
    vals = cov.to_numpy()[zone] if zone.any() else cov.to_numpy()
    return float(np.nanmean(vals)) if np.isfinite(vals).any() else float("nan")


def region_table(model) -> pd.DataFrame:
    """Long region x sector table: region, region_type, sector, firms, employment, output, lq."""
    w = model.world
    n_rs = region_sector(model, None)
    emp_rs = region_sector(model, "employment")
    out_rs = region_sector(model, "revenue")
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


def firms_frame(model) -> pd.DataFrame:
    """The live FirmTable rows with ids instead of indices."""
    w = model.world
    t = model.firms
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
        }
    )


def headline_metrics(model) -> dict[str, float]:
    """Final metrics a batch stores per run: the last series row plus chain leadership facts."""
    row = series_row(model)
    row.pop("step", None)
    w = model.world
    n_rs = region_sector(model, None)
    rtype = np.asarray(w.region_type)
    ftz = rtype == "ftz"
    if w.chains and ftz.any():
        lead = []
        for idx in w.chains.values():
            per_region = n_rs[:, list(idx)].sum(axis=1)
            lead.append(float(ftz[int(np.argmax(per_region))]))
        row["ftz_leads_chains_share"] = float(np.mean(lead))
    firms0 = max(model.initial_firms, 1)
    row["firms_relative_to_initial"] = row["firms"] / firms0
    zone = np.isin(rtype, ("ftz", "connected"))
    row["zone_firm_share"] = float(n_rs[zone].sum() / max(n_rs.sum(), 1))
    row["connected_firm_share"] = float(n_rs[rtype == "connected"].sum() / max(n_rs.sum(), 1))
    return {k: float(v) for k, v in row.items()}
