"""Regions, gateways and the multimodal logistics network with generalised transport costs.

Places are regions (markets with firms), gateways (external markets) and transit hubs (e.g. Qinzhou
port).  Each place offers some modes (``road``, ``rail``, ``river``, ``sea``, ``air``).  The graph solved by
:class:`LogisticsNetwork` has one node per (place, mode) plus a door-out and a door-in node per market, so
that every mode change is charged:

* door -> (p, m) and (p, m) -> door: the mode's fee per shipment end [yuan/t] + value of time x handling
  hours;
* (p, m1) -> (p, m2): transshipment, the mean of both modes' transshipment fees and hours;
* link (a, b, m), both directions: tariff [yuan/t-km] x km + extra cost [yuan/t] + value of time x
  (km / speed + extra hours).

The least generalised cost between markets (yuan per tonne) is found with
:func:`scipy.sparse.csgraph.dijkstra`, one solve per sector because the value of time (yuan per
tonne-hour = value density x time cost per day / 24) differs by sector.  Trade with an international
gateway also pays customs dwell at both ends (value of time x hours).

Iceberg costs: ``tau = 1 + gen_cost / value_density + distance_decay * ln(1 + km / 100)`` for
manufacturing (freight as an ad-valorem share plus a non-freight distance cost that grows with the log of
the distance, so 300 km cost 1.39 x decay and 11,000 km 4.7 x decay); services are not shipped and use
``tau = 1 + distance_decay * ln(1 + km / 100)``.  ``km`` here is the shortest road distance (the
shortest distance over any mode where no road reaches), which does not depend on the chosen route, so a
cheaper or faster network can only lower tau.
Trade freeness ``phi = tau ** (1 - sigma)``.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components, dijkstra

from agglomeration.economy import SectorRecord
from agglomeration.errors import InputError
from agglomeration.region_types import PATTERN as REGION_TYPE_PATTERN
from agglomeration.region_types import REGION_TYPES

MODE_PATTERN = r"^[a-z][a-z0-9_]*$"


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _split_modes(value: object) -> object:
    if isinstance(value, str):
        return tuple(m.strip() for m in value.split(";") if m.strip())
    return value


class RegionRecord(_Record):
    """One row of ``regions.csv``."""

    region_id: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$", description="region id, e.g. 'LJ'")
    name: str = Field(min_length=1, description="human-readable name")
    type: str = Field(pattern=REGION_TYPE_PATTERN, description=" | ".join(REGION_TYPES))
    lon: float = Field(ge=-180, le=180, description="longitude [deg WGS84]")
    lat: float = Field(ge=-90, le=90, description="latitude [deg WGS84]")
    land_capacity: float = Field(gt=0, le=1e5, description="industrial land [km2]")
    base_wage: float = Field(ge=1e-4, le=10, description="wage [CNY m per worker-step]")
    base_rent: float = Field(ge=0, le=1e5, description="land rent [CNY m per km2-step]")
    immobile_income: float = Field(
        ge=0, le=1e9, description="households' expenditure base [CNY m per step]"
    )
    delegation: float = Field(ge=0, le=1, description="initial delegation level [-]")
    customs_hours: float = Field(ge=0, le=1e4, description="customs dwell at the region's hub [h]")
    modes: tuple[str, ...] = Field(
        min_length=1, description="modes with a terminal here, ';'-separated"
    )
    provenance: str = Field(min_length=1, description="'source: ...' and/or 'estimate: ...'")

    _modes = field_validator("modes", mode="before")(_split_modes)


class GatewayRecord(_Record):
    """One row of ``gateways.csv``: an external market reached through the network."""

    gateway_id: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$", description="gateway id")
    name: str = Field(min_length=1, description="human-readable name")
    international: bool = Field(description="true if trade through it pays customs")
    lon: float = Field(ge=-180, le=180, description="longitude [deg]")
    lat: float = Field(ge=-90, le=90, description="latitude [deg]")
    demand: float = Field(ge=0, le=1e9, description="external final demand [CNY m per step]")
    import_price_manufacturing: float = Field(ge=0.01, le=100, description="import price index [-]")
    import_price_service: float = Field(ge=0.01, le=100, description="import price index [-]")
    customs_hours: float = Field(ge=0, le=1e4, description="customs dwell on the far side [h]")
    modes: tuple[str, ...] = Field(min_length=1, description="modes reaching it, ';'-separated")
    provenance: str = Field(min_length=1, description="'source: ...' and/or 'estimate: ...'")

    _modes = field_validator("modes", mode="before")(_split_modes)


class HubRecord(_Record):
    """One row of ``hubs.csv``: a transit-only place (no firms, no demand), e.g. a seaport."""

    hub_id: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$", description="hub id")
    name: str = Field(min_length=1, description="human-readable name")
    lon: float = Field(ge=-180, le=180, description="longitude [deg]")
    lat: float = Field(ge=-90, le=90, description="latitude [deg]")
    modes: tuple[str, ...] = Field(min_length=1, description="modes with a terminal, ';'-separated")
    provenance: str = Field(min_length=1, description="'source: ...' and/or 'estimate: ...'")

    _modes = field_validator("modes", mode="before")(_split_modes)


class ModeRecord(_Record):
    """One row of ``modes.csv``: cost and speed of a transport mode."""

    mode: str = Field(pattern=MODE_PATTERN, description="mode name")
    tariff: float = Field(ge=0, le=1e4, description="line-haul tariff [yuan per tonne-km]")
    speed: float = Field(gt=0, le=1e4, description="average speed incl. stops [km/h]")
    end_fee: float = Field(ge=0, le=1e6, description="fee per shipment end (load/unload) [yuan/t]")
    end_hours: float = Field(ge=0, le=1e4, description="handling time per shipment end [h]")
    transship_fee: float = Field(
        ge=0, le=1e6, description="fee to change to/from this mode [yuan/t]"
    )
    transship_hours: float = Field(ge=0, le=1e4, description="time to change to/from this mode [h]")
    provenance: str = Field(min_length=1, description="'source: ...' and/or 'estimate: ...'")


class LinkRecord(_Record):
    """One row of ``links.csv``: an undirected link between two places by one mode."""

    origin: str = Field(alias="from", min_length=1, description="place id")
    dest: str = Field(alias="to", min_length=1, description="place id")
    mode: str = Field(pattern=MODE_PATTERN, description="mode name")
    distance_km: float = Field(gt=0, le=1e5, description="length [km]")
    extra_cost: float = Field(
        0.0, ge=0, le=1e6, description="extra money cost, e.g. borders [yuan/t]"
    )
    extra_hours: float = Field(0.0, ge=0, le=1e5, description="extra time, e.g. locks, borders [h]")
    provenance: str = Field("estimate: added by scenario", min_length=1, description="provenance")

    @property
    def key(self) -> tuple[str, str, str]:
        """Undirected identity (sorted places, mode)."""
        a, b = sorted((self.origin, self.dest))
        return (a, b, self.mode)


@dataclass(frozen=True)
class Route:
    """The least-generalised-cost route between two markets for one sector."""

    origin: str
    dest: str
    sector: str
    cost: float  # generalised cost incl. customs [yuan/t]
    money: float  # money part: tariffs, fees, extra costs [yuan/t]
    hours: float  # time in transit incl. handling, transshipment, customs [h]
    km: float  # length [km]
    legs: tuple[tuple[str, str, str, float], ...]  # (from place, to place, mode, km)

    @property
    def modes(self) -> tuple[str, ...]:
        """Modes used, in order (consecutive duplicates merged)."""
        out: list[str] = []
        for _, _, m, _ in self.legs:
            if not out or out[-1] != m:
                out.append(m)
        return tuple(out)

    @property
    def places(self) -> tuple[str, ...]:
        """Places visited, in order."""
        if not self.legs:
            return (self.origin,)
        return (self.legs[0][0], *(leg[1] for leg in self.legs))


class LogisticsNetwork:
    """Multimodal network over places; least generalised costs between markets, per sector.

    Parameters
    ----------
    markets:
        ids of the markets (regions then gateways) in World order; ``international`` flags which of them
        are international gateways (customs dwell is charged on trade with them).
    places_modes:
        every place id (markets and transit hubs) -> modes with a terminal there.
    modes, links, sectors:
        validated records.  ``customs_hours`` (M,) per market [h].
    """

    def __init__(
        self,
        markets: Sequence[str],
        places_modes: dict[str, Sequence[str]],
        modes: Sequence[ModeRecord],
        links: Sequence[LinkRecord],
        sectors: Sequence[SectorRecord],
        *,
        customs_hours: Sequence[float] | None = None,
        international: Sequence[bool] | None = None,
        n_regions: int | None = None,
        file: str | None = None,
    ):
        self.markets = tuple(markets)
        self.sectors = tuple(sectors)
        self.sector_ids = tuple(s.sector_id for s in sectors)
        self.n_regions = len(self.markets) if n_regions is None else n_regions
        M = len(self.markets)
        self.customs_hours = (
            np.zeros(M) if customs_hours is None else np.asarray(customs_hours, float)
        )
        self.international = (
            np.zeros(M, bool) if international is None else np.asarray(international, bool)
        )
        self.mode_table = {m.mode: m for m in modes}
        self.mode_names = tuple(self.mode_table)
        for p in self.markets:
            if p not in places_modes:
                raise InputError(f"market {p!r} is not a place of the network", file=file)
        # --- nodes
        self._node: dict[tuple[str, str], int] = {}
        self.node_labels: list[tuple[str, str]] = []
        for p, ms in places_modes.items():
            for m in ms:
                if m not in self.mode_table:
                    raise InputError(
                        f"place {p!r} lists unknown mode {m!r}; known modes: "
                        + ", ".join(self.mode_names),
                        file=file,
                        field=f"{p}.modes",
                    )
                self._add_node((p, m))
        for p in self.markets:
            self._add_node((p, "<out>"))
            self._add_node((p, "<in>"))
        # --- edges as (u, v, money, hours, km, mode index or -1)
        self.links = tuple(links)
        edges: list[tuple[int, int, float, float, float, int]] = []
        midx = {m: i for i, m in enumerate(self.mode_names)}
        for p in self.markets:
            for m in places_modes[p]:
                rec = self.mode_table[m]
                edges.append(
                    (
                        self._node[(p, "<out>")],
                        self._node[(p, m)],
                        rec.end_fee,
                        rec.end_hours,
                        0.0,
                        -1,
                    )
                )
                edges.append(
                    (
                        self._node[(p, m)],
                        self._node[(p, "<in>")],
                        rec.end_fee,
                        rec.end_hours,
                        0.0,
                        -1,
                    )
                )
        for p, ms in places_modes.items():
            for m1 in ms:
                for m2 in ms:
                    if m1 != m2:
                        r1, r2 = self.mode_table[m1], self.mode_table[m2]
                        fee = 0.5 * (r1.transship_fee + r2.transship_fee)
                        hrs = 0.5 * (r1.transship_hours + r2.transship_hours)
                        edges.append((self._node[(p, m1)], self._node[(p, m2)], fee, hrs, 0.0, -1))
        for i, link in enumerate(self.links):
            for a, b in ((link.origin, link.dest), (link.dest, link.origin)):
                for end in (a, b):
                    if end not in places_modes:
                        raise InputError(
                            f"link {link.origin}-{link.dest} ({link.mode}) names unknown place {end!r}",
                            file=file,
                            field=f"links[{i}]",
                        )
                    if (end, link.mode) not in self._node:
                        raise InputError(
                            f"link {link.origin}-{link.dest} ({link.mode}) needs a {link.mode} terminal "
                            f"at {end!r}, which has modes {', '.join(places_modes[end])}",
                            file=file,
                            field=f"links[{i}]",
                        )
                rec = self.mode_table[link.mode]
                money = rec.tariff * link.distance_km + link.extra_cost
                hours = link.distance_km / rec.speed + link.extra_hours
                edges.append(
                    (
                        self._node[(a, link.mode)],
                        self._node[(b, link.mode)],
                        money,
                        hours,
                        link.distance_km,
                        midx[link.mode],
                    )
                )
        e = np.array(edges, dtype=float).reshape(-1, 6)
        self._eu, self._ev = e[:, 0].astype(int), e[:, 1].astype(int)
        self._emoney, self._ehours, self._ekm = e[:, 2], e[:, 3], e[:, 4]
        self._emode = e[:, 5].astype(int)
        self._solve(file)

    def _add_node(self, label: tuple[str, str]) -> None:
        if label not in self._node:
            self._node[label] = len(self.node_labels)
            self.node_labels.append(label)

    # ------------------------------------------------------------------ solve
    def _solve(self, file: str | None) -> None:
        M, S, K = len(self.markets), len(self.sectors), len(self.mode_names)
        n = len(self.node_labels)
        outs = np.array([self._node[(p, "<out>")] for p in self.markets])
        ins = np.array([self._node[(p, "<in>")] for p in self.markets])
        self.vot = np.array([s.value_of_time for s in self.sectors])  # yuan per tonne-hour
        self._check_connected(outs, ins, file)
        self.gen_cost = np.zeros((M, M, S))
        self.money = np.zeros((M, M, S))
        self.hours = np.zeros((M, M, S))
        self.route_km = np.zeros((M, M, S))
        self.mode_km = np.zeros((M, M, S, K))
        self._paths: dict[tuple[int, int, int], tuple[int, ...]] = {}
        # edge lookup for path accounting (cheapest parallel edge per sector)
        for s in range(S):
            w = self._emoney + self.vot[s] * self._ehours
            # explicit zeros in a scipy sparse matrix are edges for csgraph (no epsilon needed)
            order = np.lexsort((w, self._ev, self._eu))
            first = np.ones(len(order), bool)
            first[1:] = (self._eu[order][1:] != self._eu[order][:-1]) | (
                self._ev[order][1:] != self._ev[order][:-1]
            )
            keep = order[first]
            graph = csr_matrix((w[keep], (self._eu[keep], self._ev[keep])), shape=(n, n))
            edge_of = {(int(self._eu[k]), int(self._ev[k])): int(k) for k in keep}
            dist, pred = dijkstra(graph, directed=True, indices=outs, return_predecessors=True)
            for i in range(M):
                for j in range(M):
                    if i == j:
                        continue
                    if not np.isfinite(dist[i, ins[j]]):
                        self._raise_unreachable(i, j, file)
                    path = [int(ins[j])]
                    while path[-1] != outs[i]:
                        path.append(int(pred[i, path[-1]]))
                    path.reverse()
                    self._paths[(i, j, s)] = tuple(path)
                    ks = [edge_of[(u, v)] for u, v in itertools.pairwise(path)]
                    self.money[i, j, s] = self._emoney[ks].sum()
                    self.hours[i, j, s] = self._ehours[ks].sum()
                    self.route_km[i, j, s] = self._ekm[ks].sum()
                    for k in ks:
                        if self._emode[k] >= 0:
                            self.mode_km[i, j, s, self._emode[k]] += self._ekm[k]
            # customs dwell on trade with an international gateway: both ends' hours
            intl = self.international[:, None] | self.international[None, :]
            customs = (self.customs_hours[:, None] + self.customs_hours[None, :]) * intl
            np.fill_diagonal(customs, 0.0)
            self.hours[:, :, s] += customs
            self.gen_cost[:, :, s] = self.money[:, :, s] + self.vot[s] * self.hours[:, :, s]
        # shortest road km (services); any-mode shortest km where road does not reach
        self.road_km = self._shortest_km(outs, ins, only_mode="road")
        any_km = self._shortest_km(outs, ins, only_mode=None)
        self.road_km = np.where(np.isfinite(self.road_km), self.road_km, any_km)

    def _shortest_km(self, outs: np.ndarray, ins: np.ndarray, only_mode: str | None) -> np.ndarray:
        n = len(self.node_labels)
        mode_ok = np.ones(len(self._eu), bool)
        if only_mode is not None:
            allowed = self.mode_names.index(only_mode) if only_mode in self.mode_names else -2
            labels = self.node_labels
            mode_ok = np.array(
                [
                    labels[u][1] in (only_mode, "<out>", "<in>")
                    and labels[v][1] in (only_mode, "<out>", "<in>")
                    for u, v in zip(self._eu, self._ev)
                ]
            ) & ((self._emode == allowed) | (self._emode == -1))
        w = self._ekm[mode_ok]
        graph = csr_matrix((w, (self._eu[mode_ok], self._ev[mode_ok])), shape=(n, n))
        dist = dijkstra(graph, directed=True, indices=outs)
        km = dist[:, ins]
        km[km < 1e-3] = 0.0
        np.fill_diagonal(km, 0.0)
        return km

    def _check_connected(self, outs: np.ndarray, ins: np.ndarray, file: str | None) -> None:
        """Name the markets outside the component that holds most markets (weak connectivity)."""
        n = len(self.node_labels)
        graph = csr_matrix((np.ones(len(self._eu)), (self._eu, self._ev)), shape=(n, n))
        _, comp = connected_components(graph, directed=True, connection="weak")
        labels = comp[outs]
        main = np.bincount(labels).argmax()
        cut = [self.markets[i] for i in np.flatnonzero(labels != main)]
        if cut:
            raise InputError(
                f"unreachable in the logistics graph: {', '.join(cut)} (no link of a mode with a "
                "terminal there connects it to the other places)",
                file=file,
                field="logistics.links",
            )

    def _raise_unreachable(self, i: int, j: int, file: str | None) -> None:
        # name the place that cannot be reached from anywhere / cannot reach anywhere
        a, b = self.markets[i], self.markets[j]
        raise InputError(
            f"{b!r} is unreachable from {a!r} in the logistics graph: give {b!r} (or {a!r}) a link "
            "of a mode it has a terminal for",
            file=file,
            field=f"logistics.links ({b})",
        )

    # --------------------------------------------------------------- inspect
    def _idx(self, market: str) -> int:
        try:
            return self.markets.index(market)
        except ValueError:
            raise InputError(
                f"unknown region or gateway {market!r}; known: {', '.join(self.markets)}"
            ) from None

    def _sidx(self, sector: str | int) -> int:
        if isinstance(sector, (int, np.integer)):
            return int(sector)
        try:
            return self.sector_ids.index(sector)
        except ValueError:
            raise InputError(
                f"unknown sector {sector!r}; known: {', '.join(self.sector_ids)}"
            ) from None

    def route(
        self, origin: str, dest: str, sector: str | int, modes: Sequence[str] | None = None
    ) -> Route:
        """The chosen route from ``origin`` to ``dest`` for ``sector`` with its legs and costs.

        With ``modes`` (e.g. ``("road",)``) the route is re-solved on the network restricted to those
        modes (what a shipper limited to them would pay); customs dwell is included as usual.
        """
        if modes is not None:
            return self._restricted(origin, dest, sector, tuple(modes))
        i, j, s = self._idx(origin), self._idx(dest), self._sidx(sector)
        sid = self.sector_ids[s]
        if i == j:
            return Route(origin, dest, sid, 0.0, 0.0, 0.0, 0.0, ())
        path = self._paths[(i, j, s)]
        legs = []
        for u, v in itertools.pairwise(path):
            (pu, mu), (pv, mv) = self.node_labels[u], self.node_labels[v]
            if pu != pv and mu == mv:
                km = min(
                    lk.distance_km
                    for lk in self.links
                    if lk.mode == mu and {lk.origin, lk.dest} == {pu, pv}
                )
                legs.append((pu, pv, mu, km))
        return Route(
            origin,
            dest,
            sid,
            float(self.gen_cost[i, j, s]),
            float(self.money[i, j, s]),
            float(self.hours[i, j, s]),
            float(self.route_km[i, j, s]),
            tuple(legs),
        )

    def _restricted(
        self, origin: str, dest: str, sector: str | int, modes: tuple[str, ...]
    ) -> Route:
        unknown = [m for m in modes if m not in self.mode_table]
        if unknown:
            raise InputError(f"unknown mode(s) {unknown}; known: {', '.join(self.mode_names)}")
        i, j, s = self._idx(origin), self._idx(dest), self._sidx(sector)
        keep_modes = {self.mode_names.index(m) for m in modes}
        places = {}
        for p, m in self.node_labels:
            if m in modes or m in ("<out>", "<in>"):
                places.setdefault(p, []).append(m)
        sub_places = {p: tuple(m for m in ms if m in modes) for p, ms in places.items()}
        sub_links = [lk for lk in self.links if self.mode_names.index(lk.mode) in keep_modes]
        try:
            sub = LogisticsNetwork(
                [origin, dest],
                {p: ms for p, ms in sub_places.items() if ms},
                [self.mode_table[m] for m in modes],
                sub_links,
                [self.sectors[s]],
                customs_hours=self.customs_hours[[i, j]],
                international=self.international[[i, j]],
            )
        except InputError as exc:
            raise InputError(
                f"{dest!r} cannot be reached from {origin!r} by {'/'.join(modes)} only: {exc.message}"
            ) from None
        return sub.route(origin, dest, 0)

    def mode_shares(self, sector: str | int, weights: np.ndarray | None = None) -> dict[str, float]:
        """Share of tonne-km by mode over all market pairs for ``sector``.

        ``weights`` (M, M) are tonnes shipped between markets (default 1 for every off-diagonal pair).
        """
        s = self._sidx(sector)
        M = len(self.markets)
        w = np.ones((M, M)) - np.eye(M) if weights is None else np.asarray(weights, float)
        tkm = np.einsum("ij,ijk->k", w, self.mode_km[:, :, s, :])
        total = tkm.sum()
        return {
            m: float(tkm[k] / total) if total > 0 else 0.0 for k, m in enumerate(self.mode_names)
        }

    def distance_matrix(self) -> np.ndarray:
        """(M, M) km along the chosen route of the median-value-density manufacturing sector."""
        manu = [i for i, s in enumerate(self.sectors) if s.kind == "manufacturing"]
        if not manu:
            return self.road_km.copy()
        vd = [self.sectors[i].value_density for i in manu]
        ref = manu[int(np.argsort(vd)[len(vd) // 2])]
        return self.route_km[:, :, ref].copy()

    def iceberg(self) -> tuple[np.ndarray, np.ndarray]:
        """Iceberg cost ``tau`` (S, M, M) >= 1 and trade freeness ``phi`` = tau^(1-sigma)."""
        S, M = len(self.sectors), len(self.markets)
        tau = np.ones((S, M, M))
        for s, rec in enumerate(self.sectors):
            distance = rec.distance_decay * np.log1p(self.road_km / 100.0)
            if rec.kind == "manufacturing":
                tau[s] = 1.0 + self.gen_cost[:, :, s] / rec.value_density + distance
            else:
                tau[s] = 1.0 + distance
            np.fill_diagonal(tau[s], 1.0)
        sigma = np.array([s.sigma for s in self.sectors])
        phi = tau ** (1.0 - sigma[:, None, None])
        return tau, phi
