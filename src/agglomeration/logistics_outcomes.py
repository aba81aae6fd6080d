"""Logistics outcomes of a running model: trade flows, mode shares, corridor volumes, access indices.

Everything is computed from the model's own flows in the current state (CNY m per step):

* final sales of the firms of region r, sector s in market m: the final sales of the firms alive at the
  end of the step, by the region they are in then, ``F[s, r]``, split over markets as the market's CES
  result, ``F[s, r] phi[s, r, m] (E[s, m] / P1[s, m]) / MP[s, r]`` with ``MP[s, r] = sum_m phi[s, r, m]
  E[s, m] / P1[s, m]`` (``state.firms.final_sales``, ``state.market.P1``, ``state.expenditure_used``,
  ``state.costs.phi``): the same firms as the supplier links below and the firm tables of the step;
* final imports into region m through gateway g: the foreign competitors' part ``X_g[s, m] E / P1`` with
  ``X_g`` the gateway's share of ``state.costs.foreign`` (weights
  ``c_g (p_imp[g, s] tau[s, R+g, m])^(1-sigma)``, ``c_g`` the gateway's relative competitor mass,
  gateways.csv ``competitors``);
* intermediate purchases: buyer region, source market (a region or a gateway) and input sector from the
  supplier links (:func:`agglomeration.observe.link_totals_by_sector`).

Flows of shipped (manufacturing) sectors are split over the route options by the logit shares at the
current customs factors (``state.costs.route_choice``); tonnes = value / value density.  Both directions
of a region's trade with a destination count (exports and imports), as in customs statistics of trade by
mode.  Services trade has no mode.

Outcomes (:func:`logistics_metrics`, names in docs/METRICS.md):

* ``export_share`` (goods: total and by region; every sector): sales to international gateways / all
  sales [-];
* openness of the regions' goods trade (manufacturing, all regions together; :func:`openness_shares`):
  ``goods_outflow_share`` = sales to domestic gateways (the rest of China) / all sales,
  ``goods_import_share`` and ``goods_inflow_share`` = purchases (final and intermediate) from
  international / domestic gateways / all the regions' purchases of goods with a known origin (inputs
  bought outside the model at the reference price, with no supplier, are not counted) [-];
* ``mode_share_<destination>_<option>_value`` / ``_tonnes``: option shares of the regions' trade with a
  gateway (``eu``, ``asean``, ``ec``, ``dom``) or with each other (``regional``) [-];
* ``corridor_<tag>_value`` [CNY m per step], ``_kt`` [thousand tonnes per step], ``_teu`` [TEU per step
  at :data:`TEU_PAYLOAD_T` tonnes per TEU]: trade on the options whose route runs mainly on the links of a
  corridor tag (``cr_express``, ``lsc``, ``yangtze``, ``asean_road``);
* ``market_access_<region>`` [CNY m per step]: final sales a firm at its sector's price level in the
  last market (``price_level``) would
  make from the region, ``sum_s w_s pbar_s^(1-sigma_s) sum_m phi[s, r, m] E[s, m] / P1[s, m]`` (weights: the
  sectors' output shares).  A general-equilibrium index: trade costs that change for every region
  change P1 too, so dearer freight everywhere can raise it (docs/METRICS.md); the firm is a marginal
  entrant not counted in P1;
* ``delivered_cost_<region>`` [-]: trade-weighted mean freight cost (inclusive value, share of the goods'
  value) of the region's manufacturing shipments, outbound and inbound, other regions and gateways.

:func:`metric_descriptions` gives the label, unit, kind and valid range of each of them for a World (the
names depend on its regions, sectors, gateways, corridors and route options).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # pragma: no cover
    from agglomeration.state import ModelState
    from agglomeration.world import World

#: tonnes of cargo per TEU used to express corridor volumes in TEU (mixed manufactures)
TEU_PAYLOAD_T = 10.0
#: the name of inter-regional trade in the mode-share metrics
REGIONAL = "regional"
#: readable names of the corridor tags of the shipped links (scenarios/data/README.md); a tag of a
#: user's own links.csv is shown as written
CORRIDOR_NAMES = {
    "cr_express": "China-Europe Railway Express",
    "lsc": "New International Land-Sea Trade",
    "yangtze": "Yangtze",
    "asean_road": "road to ASEAN",
}


def trade_flows(state: ModelState, world: World, links: np.ndarray | None = None) -> np.ndarray:
    """(S, M, M) value of the flows from market o to market d by sector [CNY m per step].

    Rows are origins, columns destinations; only flows with a region at one end or both (final and
    intermediate sales of the regions' firms, final and intermediate imports through gateways) and
    sales within a region (the diagonal).  Zeros before the first market clearing.  ``links``: the
    (R, M, S) :func:`agglomeration.observe.link_totals_by_sector` of this state if already computed."""
    from agglomeration.behaviour.market import gateway_competition
    from agglomeration.observe import link_totals_by_sector, region_sector

    w = world
    R, M, S = w.n_regions, w.n_markets, w.n_sectors
    flows = np.zeros((S, M, M))
    mkt = state.market
    if mkt is None or state.expenditure_used is None or state.costs is None:
        return flows
    E = np.asarray(state.expenditure_used, dtype=float)
    P1 = np.asarray(mkt.P1, dtype=float)
    ratio = np.divide(E, P1, out=np.zeros_like(E), where=P1 > 0)  # (S, M)
    phi = state.costs.phi
    # final sales of the firms alive now (those that exited after the market cleared sold too, but their
    # links are gone: counting both from the same firms keeps flows and the firm tables of a step alike),
    # from the region each is in now, split over destinations as the market's CES shares
    # (R, S) sums over the live rows in ascending order, as np.bincount over them adds (same bits),
    # in one compiled pass without gathering the rows
    final = region_sector(state.firms, R, S, "final_sales")
    MP = np.einsum("srm,sm->sr", phi[:, :R, :], ratio)  # (S, R) final sales per unit CES weight
    scale = np.divide(final.T, MP, out=np.zeros_like(MP), where=MP > 0)
    flows[:, :R, :] = scale[:, :, None] * phi[:, :R, :] * ratio[:, None, :]
    G = w.n_gateways
    if G:
        x = gateway_competition(
            np.asarray(state.import_price, dtype=float),
            state.costs.tau,
            np.asarray(w.sigma, dtype=float),
            R,
            w.gateway_competitors,
        )[:, :, :R]  # (S, G, R)
        tot = x.sum(axis=1, keepdims=True)
        part = np.divide(x, tot, out=np.zeros_like(x), where=tot > 0)
        flows[:, R:, :R] += part * (state.costs.foreign[:, None, :R] * ratio[:, None, :R])
    if links is None:
        links = link_totals_by_sector(state, world)  # (R buyer, M source, S)
    flows[:, :, :R] += np.transpose(links, (2, 1, 0))
    return flows


def _choice(state: ModelState, world: World):
    rc = getattr(state.costs, "route_choice", None) if state.costs is not None else None
    if rc is None and world.routes is not None:
        factor = getattr(state.costs, "customs_factor", None) if state.costs is not None else None
        rc = world.route_choice(factor)
    return rc


def _groups(world: World) -> list[tuple[str, np.ndarray]]:
    """(name, (M, M) mask of the region <-> destination pairs) for every gateway and for regions."""
    R, M = world.n_regions, world.n_markets
    out = []
    reg = np.zeros((M, M), bool)
    reg[:R, :R] = True
    np.fill_diagonal(reg, False)
    out.append((REGIONAL, reg))
    for g, gid in enumerate(world.gateway_ids):
        m = np.zeros((M, M), bool)
        m[:R, R + g] = True
        m[R + g, :R] = True
        out.append((str(gid).lower(), m))
    return out


def _listed_options(world: World) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(destination name, (M, M) pair mask, option indices listed for it in option_constants.csv)."""
    listed = world.routes.weight > 0  # (M, M, O)
    out = []
    for name, mask in _groups(world):
        opts = np.flatnonzero(listed[mask].any(axis=0)) if mask.any() else np.array([], int)
        out.append((name, mask, opts))
    return out


def _option_flows(
    flows: np.ndarray, world: World, share: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(M, M, S, O) value [CNY m] and tonnes [t] of the shipped flows by route option."""
    vd = np.asarray(world.routes.value_density, dtype=float)
    shipped = np.asarray(world.routes.shipped, dtype=bool)
    v = np.transpose(flows, (1, 2, 0))[..., None] * share  # (M, M, S, O)
    v = np.where(shipped[None, None, :, None], v, 0.0)
    tonnes = v * 1e6 / np.where(shipped, vd, 1.0)[None, None, :, None]
    return v, tonnes


def _international(world: World) -> np.ndarray:
    """(M,) True for the markets reached through customs (every gateway in a world without routes)."""
    if world.routes is not None:
        return np.asarray(world.routes.international, dtype=bool)
    intl = np.zeros(world.n_markets, bool)
    intl[world.n_regions :] = True
    return intl


def export_shares(flows: np.ndarray, world: World) -> tuple[np.ndarray, np.ndarray, float]:
    """Export shares (sales to international gateways / all sales of the regions' firms): by sector (S,)
    and, over manufacturing (goods) only, by region (R,) and in total; nan where there are no sales."""
    R = world.n_regions
    intl = _international(world)
    sales = flows[:, :R, :]  # (S, R, M)
    exp = sales[:, :, intl]
    goods = np.asarray(world.sector_kind) == "manufacturing"
    with np.errstate(invalid="ignore", divide="ignore"):
        by_sector = exp.sum(axis=(1, 2)) / sales.sum(axis=(1, 2))
        by_region = exp[goods].sum(axis=(0, 2)) / sales[goods].sum(axis=(0, 2))
        g_sales = sales[goods].sum()
        total = float(exp[goods].sum() / g_sales) if g_sales > 0 else float("nan")
    return by_sector, by_region, total


def openness_shares(flows: np.ndarray, world: World) -> dict[str, float]:
    """Openness of the regions' manufacturing (goods) trade, all regions together [-]:
    ``goods_outflow_share`` (sales to domestic gateways / all sales; ``export_share`` is the
    international part), ``goods_import_share`` / ``goods_inflow_share`` (purchases from
    international / domestic gateways / all purchases by the regions).  Trade between the regions counts as neither.  nan without goods flows."""
    R = world.n_regions
    intl = _international(world)
    dom = np.zeros(world.n_markets, bool)
    dom[R:] = ~intl[R:]
    goods = np.asarray(world.sector_kind) == "manufacturing"
    sales = flows[goods][:, :R, :]  # (S_goods, R, M): the regions' firms' sales
    bought = flows[goods][:, :, :R]  # (S_goods, M, R): the regions' purchases by origin
    s_tot, b_tot = float(sales.sum()), float(bought.sum())
    return {
        "goods_outflow_share": _ratio(float(sales[:, :, dom].sum()), s_tot),
        "goods_import_share": _ratio(float(bought[:, intl, :].sum()), b_tot),
        "goods_inflow_share": _ratio(float(bought[:, dom, :].sum()), b_tot),
    }


def price_level(state: ModelState) -> np.ndarray:
    """(S,) the sector price levels of the last market (``state.market_price_level``; the import
    prices' level, ``state.domestic_price_level``, before any market was solved) [model units]."""
    level = state.market_price_level
    return state.domestic_price_level if level is None else level


def market_access(state: ModelState, world: World) -> np.ndarray:
    """(R,) market access [CNY m per step] (module docstring); nan before the first market clearing."""
    R = world.n_regions
    mkt = state.market
    if mkt is None or state.expenditure_used is None or state.costs is None:
        return np.full(R, np.nan)
    E = np.asarray(state.expenditure_used, dtype=float)
    ratio = np.divide(E, mkt.P1, out=np.zeros_like(E), where=mkt.P1 > 0)
    mp = np.einsum("srm,sm->sr", state.costs.phi[:, :R, :], ratio)  # (S, R)
    sig = np.asarray(world.sigma, dtype=float)
    level = np.asarray(price_level(state), dtype=float)
    if level.shape != sig.shape:
        level = np.ones_like(sig)
    out_s = np.bincount(
        state.firms.sector[state.firms.alive_rows()],
        weights=state.firms.revenue[state.firms.alive_rows()],
        minlength=world.n_sectors,
    )
    wts = out_s / out_s.sum() if out_s.sum() > 0 else np.full(len(sig), 1.0 / len(sig))
    return np.einsum("s,sr->r", wts * level ** (1.0 - sig), mp)


def delivered_cost(flows: np.ndarray, world: World, freight: np.ndarray) -> np.ndarray:
    """(R,) trade-weighted mean freight cost of each region's manufacturing shipments (out and in) [-]."""
    R = world.n_regions
    shipped = np.asarray(world.routes.shipped, dtype=bool)
    f = np.where(shipped[:, None, None], flows, 0.0).copy()
    for s in range(f.shape[0]):
        np.fill_diagonal(f[s], 0.0)
    num = (f * freight).sum(axis=0)  # (M, M)
    den = f.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (num[:R, :].sum(axis=1) + num[:, :R].sum(axis=0)) / (
            den[:R, :].sum(axis=1) + den[:, :R].sum(axis=0)
        )


def logistics_metrics(
    state: ModelState, world: World, *, series: bool = False, links: np.ndarray | None = None
) -> dict[str, float]:
    """The logistics outcomes of the module docstring as a flat dict of floats.

    ``series=True``: the compact set recorded every step (total export share and corridor volumes in
    kt); otherwise every outcome (headline metrics).  ``links``: as for :func:`trade_flows`."""
    w = world
    flows = trade_flows(state, world, links)
    by_sector, by_region, total = export_shares(flows, w)
    out: dict[str, float] = {"export_share": total}
    out.update(openness_shares(flows, w))
    rc = _choice(state, world)
    if rc is not None:
        v, tonnes = _option_flows(flows, w, rc.share)
        corr = w.routes.corridor
        for c, cid in enumerate(w.corridor_ids):
            on = corr == c
            out[f"corridor_{cid}_kt"] = float(tonnes[on].sum() / 1e3)
            if not series:
                out[f"corridor_{cid}_value"] = float(v[on].sum())
                out[f"corridor_{cid}_teu"] = float(tonnes[on].sum() / TEU_PAYLOAD_T)
    if series:
        return out
    for s, sid in enumerate(w.sector_ids):
        out[f"export_share_{sid}"] = float(by_sector[s])
    for r, rid in enumerate(w.region_ids):
        out[f"export_share_{rid}"] = float(by_region[r])
    if rc is not None:
        out.update(_mode_shares(v, tonnes, w))
    ma = market_access(state, world)
    for r, rid in enumerate(w.region_ids):
        out[f"market_access_{rid}"] = float(ma[r])
    if rc is not None:
        dc = delivered_cost(flows, w, rc.freight)
        for r, rid in enumerate(w.region_ids):
            out[f"delivered_cost_{rid}"] = float(dc[r])
    return out


def _mode_shares(v: np.ndarray, tonnes: np.ndarray, world: World) -> dict[str, float]:
    out: dict[str, float] = {}
    for name, mask, opts in _listed_options(world):
        val = v[mask].sum(axis=(0, 1))  # (O,)
        ton = tonnes[mask].sum(axis=(0, 1))
        for o in opts:
            oid = world.option_ids[o]
            out[f"mode_share_{name}_{oid}_value"] = (
                float(val[o] / val.sum()) if val.sum() > 0 else float("nan")
            )
            out[f"mode_share_{name}_{oid}_tonnes"] = (
                float(ton[o] / ton.sum()) if ton.sum() > 0 else float("nan")
            )
    return out


#: Columns of ``logistics.csv`` (:func:`logistics_table`): name -> meaning (docs/OUTPUTS.md).
TABLE_COLUMNS: dict[str, str] = {
    "kind": "mode (a route option's part of the trade with a destination group), corridor, region "
    "or sector",
    "key": "the destination group, corridor tag, region id or sector id",
    "option": "the route option (mode rows), else all",
    "metric": "mode rows: value, tonnes, value_share, tonnes_share; corridor rows: value, kt, teu "
    "(kt x 1,000 / 10 t per TEU); region rows: export_share, market_access, delivered_cost; sector "
    "rows: export_share",
    "value": "the number, in the row's unit",
    "unit": "its unit (CNY m per step, t per step, kt per step, TEU per step, share of value, - for "
    "shares)",
}


def logistics_table(state: ModelState, world: World) -> pd.DataFrame:
    """The per-run logistics table (``logistics.csv`` of ``agglomeration run``), long format.

    Columns: ``kind`` (``mode`` | ``corridor`` | ``region`` | ``sector``), ``key`` (destination group,
    corridor tag, region or sector id), ``option`` (route option, or ``all``), ``metric``, ``value``,
    ``unit``.  Mode rows give the value [CNY m per step], tonnes [t per step] and both shares of each
    option in the regions' trade with each destination; corridor rows value, kt and TEU; region rows the
    export share, market access and delivered cost; sector rows the export share."""
    w = world
    flows = trade_flows(state, world)
    by_sector, by_region, _ = export_shares(flows, w)
    rows: list[tuple[str, str, str, str, float, str]] = []
    rc = _choice(state, world)
    if rc is not None:
        v, tonnes = _option_flows(flows, w, rc.share)
        for name, mask, opts in _listed_options(w):
            val = v[mask].sum(axis=(0, 1))
            ton = tonnes[mask].sum(axis=(0, 1))
            for o in opts:
                oid = str(w.option_ids[o])
                rows += [
                    ("mode", name, oid, "value", float(val[o]), "CNY m per step"),
                    ("mode", name, oid, "tonnes", float(ton[o]), "t per step"),
                    ("mode", name, oid, "value_share", _ratio(val[o], val.sum()), "-"),
                    ("mode", name, oid, "tonnes_share", _ratio(ton[o], ton.sum()), "-"),
                ]
        for c, cid in enumerate(w.corridor_ids):
            on = w.routes.corridor == c
            t = float(tonnes[on].sum())
            rows += [
                ("corridor", str(cid), "all", "value", float(v[on].sum()), "CNY m per step"),
                ("corridor", str(cid), "all", "kt", t / 1e3, "kt per step"),
                ("corridor", str(cid), "all", "teu", t / TEU_PAYLOAD_T, "TEU per step"),
            ]
    ma = market_access(state, world)
    dc = delivered_cost(flows, w, rc.freight) if rc is not None else np.full(w.n_regions, np.nan)
    for r, rid in enumerate(w.region_ids):
        rows += [
            ("region", str(rid), "all", "export_share", float(by_region[r]), "-"),
            ("region", str(rid), "all", "market_access", float(ma[r]), "CNY m per step"),
            ("region", str(rid), "all", "delivered_cost", float(dc[r]), "share of value"),
        ]
    for s, sid in enumerate(w.sector_ids):
        rows.append(("sector", str(sid), "all", "export_share", float(by_sector[s]), "-"))
    return pd.DataFrame(rows, columns=["kind", "key", "option", "metric", "value", "unit"])


def _ratio(a: float, b: float) -> float:
    return float(a / b) if b > 0 else float("nan")


def metric_descriptions(world: World) -> dict[str, dict[str, object]]:
    """Presentation of every metric :func:`logistics_metrics` emits for ``world`` (same names): ``label``,
    ``unit``, ``kind`` (``share`` in [0, 1], ``money`` CNY m, ``count`` non-negative quantity, ``index``),
    ``low``, ``high`` and ``description`` (the fields of a metric-registry entry).  The names depend on
    the data (region, sector and gateway ids, corridor tags, route options), so they are built per world."""
    w = world
    out: dict[str, dict[str, object]] = {}

    def add(name: str, label: str, unit: str, kind: str, description: str) -> None:
        high = 1.0 if kind == "share" else float("inf")
        low = 0.0  # every logistics metric is non-negative
        out[name] = {
            "label": label,
            "unit": unit,
            "kind": kind,
            "low": low,
            "high": high,
            "description": description,
        }

    goods = "sales to international gateways / all sales"
    add(
        "export_share",
        "Goods export share",
        "",
        "share",
        "manufacturing sales of the regions' firms to international gateways / all their "
        "manufacturing sales",
    )
    for name, label, what in _OPENNESS:
        add(name, label, "", "share", what)
    routes = w.routes
    for cid in w.corridor_ids:
        what = (
            f"trade on the routes that use links tagged '{cid}' (where a route uses several tags, the "
            "one carrying most of its km); the whole route counts, however few of its km are on "
            "tagged links (docs/LOGISTICS.md, known limitation)"
        )
        cname = CORRIDOR_NAMES.get(str(cid), str(cid))
        add(f"corridor_{cid}_kt", f"{cname} corridor, volume", "kt per step", "count", what)
        add(f"corridor_{cid}_value", f"{cname} corridor, value", "CNY m per step", "money", what)
        add(f"corridor_{cid}_teu", f"{cname} corridor, TEU", "TEU per step", "count", what)
    for sid, sname in zip(w.sector_ids, w.sector_names, strict=True):
        add(f"export_share_{sid}", f"Export share, {sname}", "", "share", f"{goods} of the sector")
    for rid, rname in zip(w.region_ids, w.region_names, strict=True):
        add(
            f"export_share_{rid}",
            f"Goods export share, {rname}",
            "",
            "share",
            f"manufacturing {goods}",
        )
    if routes is not None:
        gname = dict(zip((str(g).lower() for g in w.gateway_ids), w.gateway_names, strict=True))
        for name, _, opts in _listed_options(w):
            dest = "between regions" if name == REGIONAL else f"with {gname[name]}"
            short = "between regions" if name == REGIONAL else f"with {_short(gname[name])}"
            for o in opts:
                oid, oname = str(routes.option_ids[o]), str(routes.option_names[o])
                for basis in ("value", "tonnes"):
                    add(
                        f"mode_share_{name}_{oid}_{basis}",
                        f"{_short(oname)}, share of trade {short} ({basis})",
                        "",
                        "share",
                        f"the share of route option {oname} in the regions' trade {dest} by "
                        f"{basis}",
                    )
    for rid, rname in zip(w.region_ids, w.region_names, strict=True):
        add(
            f"market_access_{rid}",
            f"Market access, {rname}",
            "CNY m per step",
            "money",
            "final sales a firm at its sector's price level in the last market would make from the region",
        )
    for rid, rname in zip(w.region_ids, w.region_names, strict=True):
        if routes is not None:
            add(
                f"delivered_cost_{rid}",
                f"Delivered freight cost, {rname}",
                "share of value",
                "index",
                "trade-weighted mean freight cost of the region's manufacturing shipments",
            )
    return out


def _short(name: str) -> str:
    """A place's or route option's name up to its first parenthesis, colon or "via" (a label's
    part; the description keeps the whole name): "Europe via the China-Europe Railway Express
    (Duisburg)" -> "Europe", "Rail incl. the China-Europe Railway Express" -> "Rail"."""
    return re.split(r" \(|: | via | incl\. ", name, maxsplit=1)[0].strip() or name


#: (name, label, description) of the openness shares (:func:`openness_shares`)
_OPENNESS: tuple[tuple[str, str, str], ...] = (
    (
        "goods_outflow_share",
        "Goods outflow share (rest of China)",
        "manufacturing sales of the regions' firms to domestic gateways (the rest of China) / all sales",
    ),
    (
        "goods_import_share",
        "Goods import share",
        "the regions' purchases of goods (final and intermediate) from international gateways / all",
    ),
    (
        "goods_inflow_share",
        "Goods inflow share (rest of China)",
        "the regions' purchases of goods (final and intermediate) from domestic gateways / all",
    ),
)

#: (name pattern, label template, unit, kind, description) of the logistics metric families, for a
#: metric name seen without its World (a stored batch): :func:`describe_metric_name`
METRIC_FAMILIES: tuple[tuple[str, str, str, str, str], ...] = (
    *((name, label, "", "share", what) for name, label, what in _OPENNESS),
    (
        r"export_share",
        "Goods export share",
        "",
        "share",
        "manufacturing sales of the regions' firms to international gateways / all their manufacturing "
        "sales (sales: final sales plus the sales along the end-of-step supplier links, as every "
        "trade flow; they differ from `output` where links changed after the market)",
    ),
    (
        r"export_share_(?P<key>.+)",
        "Goods export share, {key}",
        "",
        "share",
        "a sector's sales to international gateways / all its sales; a region's manufacturing "
        "exports / its manufacturing sales (NaN for a region without manufacturing firms); sales as "
        "for export_share",
    ),
    (
        r"mode_share_(?P<key>.+)_(?P<basis>value|tonnes)",
        "Route-option share {key} ({basis})",
        "",
        "share",
        "route option's share of the regions' trade with a destination",
    ),
    (
        r"corridor_(?P<key>.+)_kt",
        "Corridor {key}, volume",
        "kt per step",
        "count",
        "trade on the routes that use the corridor's tagged links (the whole route counts)",
    ),
    (
        r"corridor_(?P<key>.+)_value",
        "Corridor {key}, value",
        "CNY m per step",
        "money",
        "corridor trade",
    ),
    (r"corridor_(?P<key>.+)_teu", "Corridor {key}, TEU", "TEU per step", "count", "corridor trade"),
    (
        r"market_access_(?P<key>.+)",
        "Market access, {key}",
        "CNY m per step",
        "money",
        "final sales a firm at its sector's price level in the last market would make from the region",
    ),
    (
        r"delivered_cost_(?P<key>.+)",
        "Delivered freight cost, {key}",
        "share of value",
        "index",
        "trade-weighted mean freight cost of the region's manufacturing shipments",
    ),
)


def in_series(name: str) -> bool:
    """Whether a logistics metric is recorded every step (:func:`logistics_metrics` with
    ``series=True``: the total export share, the openness shares and the corridors' kt), not only at
    the end of the run."""
    if name in ("export_share", *(n for n, _, _ in _OPENNESS)):
        return True
    return re.fullmatch(r"corridor_.+_kt", name) is not None


def describe_metric_name(name: str) -> dict[str, object] | None:
    """The registry fields (as :func:`metric_descriptions`) of a logistics metric known only by its
    name (ids instead of names in the label), or None when ``name`` is not a logistics metric."""
    import re

    for pattern, label, unit, kind, description in METRIC_FAMILIES:
        match = re.fullmatch(pattern, name)
        if match:
            key = match.groupdict().get("key", "")
            return {
                "label": label.format(
                    key=key.replace("_", " "), basis=match.groupdict().get("basis")
                ),
                "unit": unit,
                "kind": kind,
                "low": 0.0,
                "high": 1.0 if kind == "share" else float("inf"),
                "description": description,
            }
    return None
