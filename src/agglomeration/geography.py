"""Regions, gateways and the multimodal logistics network: route options, mode choice, trade costs.

Places are regions (markets with firms), gateways (external markets) and transit hubs (e.g. Qinzhou
port).  Each place offers some modes (``road``, ``rail``, ``river``, ``sea``, ``air``).  The graph solved by
:class:`LogisticsNetwork` has one node per (place, mode) plus a door-out and a door-in node per market, so
that every mode change is charged:

* door -> (p, m) and (p, m) -> door: the mode's fee per shipment end [yuan/t] + handling hours;
* (p, m1) -> (p, m2): transshipment, the mean of both modes' transshipment fees and hours;
* link (a, b, m), both directions: tariff [yuan/t-km] x km + extra cost [yuan/t], km / speed + extra hours.

**Route options** (``route_options.csv``).  An option is a corridor or mode family: the modes it may use
and the links it must use (any link of its main mode, or any link tagged with its corridor, e.g. the
Land-Sea Corridor via Qinzhou).  For every origin, destination, shipped sector and option the route is the
least generalised-cost path (money + value of time x hours) on the graph restricted to the option's modes
that uses at least one of its required links (a two-layer graph: a required link moves the search from
layer 0 to layer 1; :func:`scipy.sparse.csgraph.dijkstra`).  So options never duplicate each other and an
option's cost moves continuously with tariffs, speeds and links.  An option with feeder modes (e.g. road
for rail) is routed as feeder leg, line haul, feeder leg, with no place visited twice, at most
``max_feeder_share`` of its km on feeders and at most ``max_circuity`` x the great-circle km: the
cheapest of several searched routes that meets these rules (a heuristic; :meth:`LogisticsNetwork.
_solve_with_feeders`), so its cost can jump when a price moves the searched routes.

**Mode choice and the freight cost.**  The ad-valorem generalised cost of option o for sector s is
``c_o = money_o / value_density_s + time_cost_per_day_s x (hours_o + customs hours) / 24`` (Hummels and
Schaur 2013 value time as a share of the goods' value per day).  Shippers choose among the options by a
logit in the log of that cost (cost shocks proportional to the cost, as in Fréchet route choice, Allen and
Arkolakis 2022): ``share_o = pi_o c_o^-theta / sum_k pi_k c_k^-theta``, where ``pi_o = exp(asc_o)`` are the
alternative-specific constants of the destination (``option_constants.csv``), normalised to sum to 1 over
the options listed for that destination.  The inclusive value

    f = (sum_o pi_o c_o^-theta)^(-1/theta)

is the freight cost of the pair (share of the goods' value): it is never below the cheapest option's cost,
equals the common cost when every option costs the same, and falls when any option gets cheaper or a new
option appears.

**Iceberg costs.**  ``tau = (1 + f) x (max(D, D0) / D0)^delta_s`` for shipped (manufacturing) sectors and
``tau = (max(D, D0) / D0)^delta_s`` for services, with ``D`` the great-circle distance between the markets
[km], ``D0`` = ``logistics.distance_scale_km`` and ``delta_s`` the sector's ``distance_elasticity``.  The
second factor is the non-freight friction of distance (information, search, contracting: Head and Mayer
2014) that the gravity calibration needs; it does not depend on the network, so every logistics lever
acts through ``f``.  Trade freeness ``phi = tau ** (1 - sigma)``.  Customs dwell (hours at both ends of a
pair with an international gateway) is part of every option's hours; :meth:`RouteOptions.evaluate`
recomputes tau and phi for per-region customs factors without solving any route.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components, dijkstra

from agglomeration.economy import SectorRecord, suggest
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
    internal_km: float = Field(
        0.0,
        ge=0,
        le=1e5,
        description="internal distance of the gateway's market, the mean distance of trade within it "
        "[km] (its own competitors' distance friction; optional column, 0 = none)",
    )
    competitors: float = Field(
        1.0,
        ge=0,
        le=1e9,
        description="relative mass of foreign competitors located at the gateway, times "
        "behaviour.market.external_competitors [-] (optional column; 1 when absent)",
    )
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
    corridor: str = Field(
        "",
        pattern=r"^([a-z][a-z0-9_]*)?$",
        description="corridor tag, e.g. 'cr_express', 'lsc', 'yangtze' (empty: none)",
    )
    provenance: str = Field("estimate: added by scenario", min_length=1, description="provenance")

    @property
    def key(self) -> tuple[str, str, str]:
        """Undirected identity (sorted places, mode)."""
        a, b = sorted((self.origin, self.dest))
        return (a, b, self.mode)


class RouteOptionRecord(_Record):
    """One row of ``route_options.csv``: a corridor or mode family shippers choose among."""

    option_id: str = Field(pattern=MODE_PATTERN, description="option id, e.g. 'rail'")
    name: str = Field(min_length=1, description="human-readable name")
    modes: tuple[str, ...] = Field(
        min_length=1, description="modes the route may use, ';'-separated (feeder legs included)"
    )
    main_mode: str = Field(pattern=MODE_PATTERN, description="the option's characteristic mode")
    feeder_modes: tuple[str, ...] = Field(
        (),
        description="modes of the option used only for first and last legs, ';'-separated: their "
        "links must join two regions (or carry the option's corridor tag), and a route with more "
        "than logistics.max_feeder_share of its km on them is not offered (empty: none)",
    )
    corridor: str = Field(
        "",
        pattern=r"^([a-z][a-z0-9_]*)?$",
        description="if set, the route must use a link of this corridor tag instead of any link "
        "of main_mode",
    )
    provenance: str = Field(min_length=1, description="'source: ...' and/or 'estimate: ...'")

    _modes = field_validator("modes", "feeder_modes", mode="before")(_split_modes)


class OptionConstantRecord(_Record):
    """One row of ``option_constants.csv``: the alternative-specific constant of an option for the
    trade of the regions with one destination (a gateway id, or ``regions`` for inter-regional trade)."""

    option_id: str = Field(pattern=MODE_PATTERN, description="option id of route_options.csv")
    destination: str = Field(
        pattern=r"^[A-Za-z][A-Za-z0-9_]*$", description="gateway id or 'regions'"
    )
    asc: float = Field(
        ge=-50, le=50, description="alternative-specific constant (log of the prior weight) [-]"
    )
    provenance: str = Field(min_length=1, description="'source: ...' and/or 'estimate: ...'")


#: the destination key of inter-regional trade in option_constants.csv
REGIONS_KEY = "regions"
#: mean Earth radius [km] (IUGG), for great-circle distances
EARTH_RADIUS_KM = 6371.0088


def great_circle_km(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """(M, M) great-circle distances [km] between points given in degrees (haversine)."""
    lo = np.radians(np.asarray(lon, dtype=float))
    la = np.radians(np.asarray(lat, dtype=float))
    dlo = lo[:, None] - lo[None, :]
    dla = la[:, None] - la[None, :]
    h = np.sin(dla / 2) ** 2 + np.cos(la[:, None]) * np.cos(la[None, :]) * np.sin(dlo / 2) ** 2
    d = 2.0 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))
    np.fill_diagonal(d, 0.0)
    return d


def inclusive_cost(
    cost: np.ndarray, weight: np.ndarray, theta: float
) -> tuple[np.ndarray, np.ndarray]:
    """Freight cost f = (sum_o w_o c_o^-theta)^(-1/theta) and logit shares w_o c_o^-theta / sum.

    ``cost`` (..., O) ad-valorem costs >= 0 (inf where the option is unavailable), ``weight`` (..., O)
    prior weights >= 0 (0: the option is not considered).  Where some considered option is free (c = 0)
    f = 0 and the free options share by weight.  Where no option is available f = inf, shares 0.
    """
    cost = np.asarray(cost, dtype=float)
    weight = np.broadcast_to(np.asarray(weight, dtype=float), cost.shape)
    ok = np.isfinite(cost) & (weight > 0)
    free = ok & (cost <= 0.0)
    pos = ok & ~free
    with np.errstate(divide="ignore", invalid="ignore"):
        lt = np.where(
            pos,
            np.log(np.where(pos, weight, 1.0)) - theta * np.log(np.where(pos, cost, 1.0)),
            -np.inf,
        )
        top = lt.max(axis=-1, keepdims=True)
        top = np.where(np.isfinite(top), top, 0.0)
        z = np.exp(lt - top)
        total = z.sum(axis=-1, keepdims=True)
        log_sum = top + np.log(total)
        f = np.exp(-log_sum[..., 0] / theta)
        share = np.where(total > 0, z / total, 0.0)
    any_free = free.any(axis=-1)
    if any_free.any():
        wf = np.where(free, weight, 0.0)
        sf = wf / np.where(any_free, wf.sum(axis=-1), 1.0)[..., None]
        share = np.where(any_free[..., None], sf, share)
        f = np.where(any_free, 0.0, f)
    f = np.where(ok.any(axis=-1), f, np.inf)
    return f, share


@dataclass(frozen=True)
class TradeCosts:
    """Trade costs for given customs factors (:meth:`RouteOptions.evaluate`)."""

    #: (S, M, M) iceberg cost >= 1 and trade freeness tau^(1 - sigma)
    tau: np.ndarray
    phi: np.ndarray
    #: (S, M, M) freight cost: the inclusive value over route options [share of value] (0 for services)
    freight: np.ndarray
    #: (M, M, S, O) ad-valorem generalised cost of each option [share of value] (inf: unavailable)
    cost: np.ndarray
    #: (M, M, S, O) logit shares of the options (0 for services and on the diagonal)
    share: np.ndarray


@dataclass(frozen=True, eq=False)
class RouteOptions:
    """The solved route options of a world and everything needed to price them again.

    Shapes: M markets (regions first), S sectors, O options, K modes, C corridors.  Money in yuan per
    tonne, time in hours, distance in km.  Options of services and of the diagonal are unavailable.
    """

    option_ids: np.ndarray  # (O,)
    option_names: np.ndarray  # (O,)
    option_main_mode: np.ndarray  # (O,)
    mode_names: np.ndarray  # (K,)
    corridor_ids: np.ndarray  # (C,)
    money: np.ndarray  # (M, M, S, O) tariffs, fees, extra costs [yuan/t]
    hours: np.ndarray  # (M, M, S, O) transit, handling, transshipment, extra hours; no customs [h]
    km: np.ndarray  # (M, M, S, O) route length [km]
    mode_km: np.ndarray  # (M, M, S, O, K) km by mode [km]
    corridor: np.ndarray  # (M, M, S, O) int: the corridor carrying most of the route's km, -1 none
    available: np.ndarray  # (M, M, S, O) bool
    weight: np.ndarray  # (M, M, O) prior weights exp(asc), normalised per destination
    theta: float  # route-choice elasticity [-]
    value_density: np.ndarray  # (S,) [yuan/t] (nan: not shipped)
    time_cost: np.ndarray  # (S,) [share of value per day]
    shipped: np.ndarray  # (S,) bool
    distance_friction: np.ndarray  # (S, M, M) (max(D, D0)/D0)^delta [-]
    sigma: np.ndarray  # (S,)
    customs_hours: np.ndarray  # (M,) [h]
    international: np.ndarray  # (M,) bool
    n_regions: int
    _base: dict = field(default_factory=dict, repr=False)

    @property
    def n_options(self) -> int:
        """O, the number of route options."""
        return len(self.option_ids)

    def customs_pair_hours(self, customs_factor: np.ndarray | None = None) -> np.ndarray:
        """(M, M) customs dwell of a shipment between two markets [h]: both ends' hours where either end is
        an international gateway; the regions' hours scaled by ``customs_factor`` (R,)."""
        hours = np.asarray(self.customs_hours, dtype=float).copy()
        if customs_factor is not None:
            hours[: self.n_regions] *= np.asarray(customs_factor, dtype=float)
        intl = self.international[:, None] | self.international[None, :]
        out = (hours[:, None] + hours[None, :]) * intl
        np.fill_diagonal(out, 0.0)
        return out

    def evaluate(self, customs_factor: np.ndarray | None = None) -> TradeCosts:
        """Option costs, logit shares, freight costs and (tau, phi) for per-region customs factors (R,)
        (None: the data).  O(M^2 S O); no route is solved again."""
        key = None if customs_factor is None else np.asarray(customs_factor, float).tobytes()
        if key is None or not np.any(np.asarray(customs_factor) != 1.0):
            if "base" in self._base:
                return self._base["base"]
            key = None
        customs = self.customs_pair_hours(customs_factor)
        vd = np.where(self.shipped, self.value_density, 1.0)
        hours = self.hours + customs[:, :, None, None]
        cost = (
            self.money / vd[None, None, :, None]
            + self.time_cost[None, None, :, None] * hours / 24.0
        )
        cost = np.where(self.available, cost, np.inf)
        w = np.broadcast_to(self.weight[:, :, None, :], cost.shape)
        f, share = inclusive_cost(cost, w, self.theta)
        M = cost.shape[0]
        diag = np.eye(M, dtype=bool)
        f = np.where(diag[:, :, None] | ~self.shipped[None, None, :], 0.0, f)
        share = np.where((diag[:, :, None] | ~self.shipped[None, None, :])[..., None], 0.0, share)
        freight = np.moveaxis(f, 2, 0)  # (S, M, M)
        if not np.all(np.isfinite(freight)):
            raise ValueError("a market pair of a shipped sector has no route option")
        tau = (1.0 + freight) * self.distance_friction
        for s in range(tau.shape[0]):  # within a market: its internal distance friction (1 if none)
            np.fill_diagonal(tau[s], np.diagonal(self.distance_friction[s]))
        phi = tau ** (1.0 - np.asarray(self.sigma, dtype=float)[:, None, None])
        out = TradeCosts(tau=tau, phi=phi, freight=freight, cost=cost, share=share)
        if key is None:
            self._base["base"] = out
        return out


@dataclass(frozen=True)
class Route:
    """One route option between two markets for one sector, with its legs and costs."""

    origin: str
    dest: str
    sector: str
    cost: float  # generalised cost incl. customs [yuan/t]
    money: float  # money part: tariffs, fees, extra costs [yuan/t]
    hours: float  # time in transit incl. handling, transshipment, customs [h]
    km: float  # length [km]
    legs: tuple[tuple[str, str, str, float], ...]  # (from place, to place, mode, km)
    option: str = ""  # route option id
    share: float = 1.0  # logit share of the option [-]

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


def route_option_problem(
    o: RouteOptionRecord, mode_names: Sequence[str], corridors: Sequence[str]
) -> tuple[str, str] | None:
    """The first problem of a route option against the network's modes and the links' corridor tags:
    (the field within the record, or "" for the record, and a message), or None."""
    for m in (*o.modes, o.main_mode, *o.feeder_modes):
        if m not in mode_names:
            return (
                "",
                f"unknown mode {m!r}{suggest(m, mode_names)} (modes: {', '.join(mode_names)})",
            )
    if o.main_mode not in o.modes:
        return "main_mode", (
            f"main_mode {o.main_mode!r} is not among the option's modes {';'.join(o.modes)}"
        )
    bad = [m for m in o.feeder_modes if m not in o.modes or m == o.main_mode]
    if bad:
        return "feeder_modes", (
            f"feeder mode(s) {';'.join(bad)} must be among the option's modes "
            f"{';'.join(o.modes)} and differ from its main_mode {o.main_mode!r}"
        )
    if o.corridor and o.corridor not in corridors:
        return "corridor", (
            f"no link is tagged with corridor {o.corridor!r}{suggest(o.corridor, corridors)} "
            f"(corridor tags of the links: {', '.join(corridors) or 'none'})"
        )
    return None


#: the option used when a network is built without route options: the least-cost path over every mode
LEAST_COST = "least_cost"

#: penalties on feeder km under which the routes of an option with feeder modes are searched, in units
#: of the feeder mode's generalised cost per km at the sector's value of time (a search device, not a
#: cost: the route's cost is its own money and time)
FEEDER_PENALTIES = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0)
_LEXICOGRAPHIC = 1e6  # weight per feeder km when searching for the fewest feeder km


@dataclass(frozen=True)
class _EdgeIndex:
    """Which edge joins (u, v) on a layered graph of ``size`` nodes, as sorted keys u * size + v (a
    dense size x size table would cost tens of MB per tree)."""

    keys: np.ndarray
    eids: np.ndarray
    size: int

    def __call__(self, u: np.ndarray | int, v: np.ndarray | int) -> np.ndarray:
        pos = np.searchsorted(self.keys, np.asarray(u, np.int64) * self.size + v)
        return self.eids[pos]


@dataclass(frozen=True)
class _Trees:
    """Shortest-path trees of one option at one value of time: ``trees`` (predecessors, edge index), and
    per market pair the tree its route is in (``choice``) and its end node (``target``)."""

    trees: list[tuple[np.ndarray, _EdgeIndex] | None]
    choice: np.ndarray
    target: np.ndarray


class LogisticsNetwork:
    """Multimodal network over places; route options, mode choice and trade costs per sector.

    Parameters
    ----------
    markets:
        ids of the markets (regions then gateways) in World order; ``international`` flags which of them
        are international gateways (customs dwell is charged on trade with them).
    places_modes:
        every place id (markets and transit hubs) -> modes with a terminal there.
    modes, links, sectors:
        validated records.  ``customs_hours`` (M,) per market [h].
    options, constants:
        route options and their constants (None: one option, the least-cost path over every mode).
    coords:
        (M, 2) longitude, latitude of the markets [deg] (None: all at 0, no distance friction).
    choice_elasticity, distance_scale_km:
        theta of the route logit [-] and D0 of the distance friction [km].
    max_feeder_share, max_circuity:
        rules for the routes of options with feeder modes (:meth:`_solve_with_feeders`): at most this
        share of a route's km on the option's feeder modes [-], and at most this ratio of its km to
        the great-circle km between the two markets [-] (where the markets have coordinates).
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
        options: Sequence[RouteOptionRecord] | None = None,
        constants: Sequence[OptionConstantRecord] | None = None,
        coords: np.ndarray | None = None,
        choice_elasticity: float = 2.0,
        distance_scale_km: float = 10.0,
        max_feeder_share: float = 1.0,
        max_circuity: float = math.inf,
        internal_km: Sequence[float] | None = None,
        file: str | None = None,
    ):
        self.markets = tuple(markets)
        self.sectors = tuple(sectors)
        self.sector_ids = tuple(s.sector_id for s in sectors)
        self.n_regions = len(self.markets) if n_regions is None else n_regions
        self.file = file
        M = len(self.markets)
        self.customs_hours = (
            np.zeros(M) if customs_hours is None else np.asarray(customs_hours, float)
        )
        self.international = (
            np.zeros(M, bool) if international is None else np.asarray(international, bool)
        )
        self.mode_table = {m.mode: m for m in modes}
        self.mode_names = tuple(self.mode_table)
        self.theta = float(choice_elasticity)
        self.distance_scale_km = float(distance_scale_km)
        self.max_feeder_share = float(max_feeder_share)
        self.max_circuity = float(max_circuity)
        xy = np.zeros((M, 2)) if coords is None else np.asarray(coords, float).reshape(M, 2)
        self.great_circle = great_circle_km(xy[:, 0], xy[:, 1])
        self.internal_km = np.zeros(M) if internal_km is None else np.asarray(internal_km, float)
        for p in self.markets:
            if p not in places_modes:
                raise InputError(f"market {p!r} is not a place of the network", file=file)
        self.places_modes = {p: tuple(ms) for p, ms in places_modes.items()}
        self._build_nodes()
        self.links = tuple(links)
        self.corridor_ids = tuple(sorted({lk.corridor for lk in self.links if lk.corridor}))
        self._build_edges()
        self.options = self._options(options)
        self._check_connected()
        self._solve()
        self.weight = self._weights(constants)
        self.routes = self._route_options()
        self._check_options()

    # ------------------------------------------------------------------ graph
    def _add_node(self, label: tuple[str, str]) -> None:
        if label not in self._node:
            self._node[label] = len(self.node_labels)
            self.node_labels.append(label)

    def _build_nodes(self) -> None:
        self._node: dict[tuple[str, str], int] = {}
        self.node_labels: list[tuple[str, str]] = []
        for p, ms in self.places_modes.items():
            for m in ms:
                if m not in self.mode_table:
                    raise InputError(
                        f"place {p!r} lists unknown mode {m!r}; known modes: "
                        + ", ".join(self.mode_names),
                        file=self.file,
                        field=f"{p}.modes",
                    )
                self._add_node((p, m))
        for p in self.markets:
            self._add_node((p, "<out>"))
            self._add_node((p, "<in>"))
        self.outs = np.array([self._node[(p, "<out>")] for p in self.markets])
        self.ins = np.array([self._node[(p, "<in>")] for p in self.markets])

    def _build_edges(self) -> None:
        """Edges (u, v) with money [yuan/t], hours, km, mode index (-1: door/transshipment), the link's
        corridor index (-1 none) and the modes at both ends (for option restrictions)."""
        rows: list[tuple[int, int, float, float, float, int, int, int, int]] = []
        midx = {m: i for i, m in enumerate(self.mode_names)}
        cidx = {c: i for i, c in enumerate(self.corridor_ids)}
        for p in self.markets:
            for m in self.places_modes[p]:
                rec = self.mode_table[m]
                k = midx[m]
                rows.append(
                    (
                        self._node[(p, "<out>")],
                        self._node[(p, m)],
                        rec.end_fee,
                        rec.end_hours,
                        0.0,
                        -1,
                        -1,
                        k,
                        k,
                    )
                )
                rows.append(
                    (
                        self._node[(p, m)],
                        self._node[(p, "<in>")],
                        rec.end_fee,
                        rec.end_hours,
                        0.0,
                        -1,
                        -1,
                        k,
                        k,
                    )
                )
        for p, ms in self.places_modes.items():
            for m1 in ms:
                for m2 in ms:
                    if m1 != m2:
                        r1, r2 = self.mode_table[m1], self.mode_table[m2]
                        fee = 0.5 * (r1.transship_fee + r2.transship_fee)
                        hrs = 0.5 * (r1.transship_hours + r2.transship_hours)
                        rows.append(
                            (
                                self._node[(p, m1)],
                                self._node[(p, m2)],
                                fee,
                                hrs,
                                0.0,
                                -1,
                                -1,
                                midx[m1],
                                midx[m2],
                            )
                        )
        for i, link in enumerate(self.links):
            self._check_link(i, link)
            rec = self.mode_table[link.mode]
            money = rec.tariff * link.distance_km + link.extra_cost
            hours = link.distance_km / rec.speed + link.extra_hours
            k = midx[link.mode]
            c = cidx.get(link.corridor, -1)
            for a, b in ((link.origin, link.dest), (link.dest, link.origin)):
                rows.append(
                    (
                        self._node[(a, link.mode)],
                        self._node[(b, link.mode)],
                        money,
                        hours,
                        link.distance_km,
                        k,
                        c,
                        k,
                        k,
                    )
                )
        e = np.array(rows, dtype=float).reshape(-1, 9)
        self._eu, self._ev = e[:, 0].astype(int), e[:, 1].astype(int)
        self._emoney, self._ehours, self._ekm = e[:, 2], e[:, 3], e[:, 4]
        self._emode = e[:, 5].astype(int)
        self._ecorr = e[:, 6].astype(int)
        regions = set(self.markets[: self.n_regions])
        in_regions = np.array([p in regions for p, _ in self.node_labels])
        self._eregional = in_regions[self._eu] & in_regions[self._ev]  # both ends in regions
        self._eend = e[:, 7:9].astype(int)

    def _check_link(self, i: int, link: LinkRecord) -> None:
        for end in (link.origin, link.dest):
            if end not in self.places_modes:
                raise InputError(
                    f"link {link.origin}-{link.dest} ({link.mode}) names unknown place {end!r}",
                    file=self.file,
                    field=f"links[{i}]",
                )
            if (end, link.mode) not in self._node:
                raise InputError(
                    f"link {link.origin}-{link.dest} ({link.mode}) needs a {link.mode} terminal "
                    f"at {end!r}, which has modes {', '.join(self.places_modes[end])}",
                    file=self.file,
                    field=f"links[{i}]",
                )

    def _options(
        self, options: Sequence[RouteOptionRecord] | None
    ) -> tuple[RouteOptionRecord, ...]:
        if options is None:
            return (
                RouteOptionRecord(
                    option_id=LEAST_COST,
                    name="least-cost route over every mode",
                    modes=self.mode_names,
                    main_mode=self.mode_names[0],
                    provenance="estimate: single least-cost option",
                ),
            )
        for i, o in enumerate(options):
            problem = route_option_problem(o, self.mode_names, self.corridor_ids)
            if problem is not None:
                where, message = problem
                raise InputError(
                    f"route option {o.option_id!r}: {message}",
                    file=self.file,
                    field=f"route_options[{i}]" + (f".{where}" if where else ""),
                )
        return tuple(options)

    def _check_connected(self) -> None:
        """Name the markets outside the component that holds most markets (weak connectivity)."""
        n = len(self.node_labels)
        graph = csr_matrix((np.ones(len(self._eu)), (self._eu, self._ev)), shape=(n, n))
        _, comp = connected_components(graph, directed=True, connection="weak")
        labels = comp[self.outs]
        main = np.bincount(labels).argmax()
        cut = [self.markets[i] for i in np.flatnonzero(labels != main)]
        if cut:
            raise InputError(
                f"unreachable in the logistics graph: {', '.join(cut)} (no link of a mode with a "
                "terminal there connects it to the other places)",
                file=self.file,
                field="logistics.links",
            )

    # ------------------------------------------------------------------ solve
    def _option_edges(self, o: RouteOptionRecord) -> tuple[np.ndarray, np.ndarray]:
        """Masks of the edges an option may use and of its required edges.  Links of the option's
        feeder modes are usable only between two regions or where they carry the option's corridor tag
        (the road to Shanghai is the road option's, not a feeder of rail)."""
        allowed_modes = np.array([m in o.modes for m in self.mode_names])
        allowed = allowed_modes[self._eend[:, 0]] & allowed_modes[self._eend[:, 1]]
        feeder = np.array([m in o.feeder_modes for m in self.mode_names])
        linked = self._emode >= 0
        on_feeder = linked & feeder[np.maximum(self._emode, 0)]
        local = self._eregional
        if o.corridor:
            local = local | (self._ecorr == self.corridor_ids.index(o.corridor))
        allowed &= ~on_feeder | local
        if o.option_id == LEAST_COST:
            required = np.zeros(len(allowed), bool)
        elif o.corridor:
            required = allowed & (self._ecorr == self.corridor_ids.index(o.corridor))
        else:
            required = allowed & (self._emode == self.mode_names.index(o.main_mode))
        return allowed, required

    def _solve(self) -> None:
        """Least-cost path of every option, shipped sector and market pair, with its sums."""
        M, S, n_opt, K = (
            len(self.markets),
            len(self.sectors),
            len(self.options),
            len(self.mode_names),
        )
        self.vot = np.array([s.value_of_time for s in self.sectors])  # yuan per tonne-hour
        self.shipped = np.array([s.kind == "manufacturing" for s in self.sectors])
        C = len(self.corridor_ids)
        shape = (M, M, S, n_opt)
        self.money = np.zeros(shape)
        self.hours = np.zeros(shape)
        self.km = np.zeros(shape)
        self.mode_km = np.zeros((*shape, K))
        self.corridor_km = np.zeros((*shape, C))
        self.available = np.zeros(shape, bool)
        self._pred: dict[tuple[int, float], _Trees] = {}
        attr = np.zeros((len(self._eu), 3 + K + C))
        attr[:, 0], attr[:, 1], attr[:, 2] = self._emoney, self._ehours, self._ekm
        linked = self._emode >= 0
        attr[np.flatnonzero(linked), 3 + self._emode[linked]] = self._ekm[linked]
        corr = self._ecorr >= 0
        attr[np.flatnonzero(corr), 3 + K + self._ecorr[corr]] = self._ekm[corr]
        for oi, o in enumerate(self.options):
            allowed, required = self._option_edges(o)
            solve = self._solve_with_feeders if o.feeder_modes else self._solve_option
            for vot in np.unique(self.vot[self.shipped]):
                sums, reach, pred = solve(o, allowed, required, float(vot), attr)
                self._pred[(oi, float(vot))] = pred
                for s in np.flatnonzero(self.shipped & (self.vot == vot)):
                    self.money[:, :, s, oi] = sums[:, :, 0]
                    self.hours[:, :, s, oi] = sums[:, :, 1]
                    self.km[:, :, s, oi] = sums[:, :, 2]
                    self.mode_km[:, :, s, oi] = sums[:, :, 3 : 3 + K]
                    self.corridor_km[:, :, s, oi] = sums[:, :, 3 + K :]
                    self.available[:, :, s, oi] = reach
        diag = np.eye(M, dtype=bool)
        self.available[diag] = False
        ck = self.corridor_km
        self.corridor = np.where(
            ck.max(axis=-1, initial=0.0) > 0, ck.argmax(axis=-1) if C else -1, -1
        )

    def _solve_option(
        self,
        o: RouteOptionRecord,
        allowed: np.ndarray,
        required: np.ndarray,
        vot: float,
        attr: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, _Trees]:
        """Dijkstra on the two-layer graph of one option at one value of time.

        Returns the (M, M, A) attribute sums of the least-cost routes that use a required edge (layer 1
        at the destination; every route when nothing is required), which pairs are reachable and the
        predecessor data for :meth:`route`."""
        n = len(self.node_labels)
        two = bool(required.any())
        keep = np.flatnonzero(allowed)
        if two:
            free = keep[~required[keep]]
            req = keep[required[keep]]
            moves = [(free, 0, 0), (free, 1, 1), (req, 0, 1), (req, 1, 1)]
        else:
            moves = [(keep, 0, 0)]
        dist, pred, edge_of = self._layered_dijkstra(
            moves, n * (2 if two else 1), self._emoney + vot * self._ehours
        )
        pred = pred.astype(np.int32)
        targets = self.ins + (n if two else 0)
        acc = _path_sums(pred, self.outs, edge_of, attr)
        sums = acc[:, targets, :]
        reach = np.isfinite(dist[:, targets])
        sums = np.where(reach[:, :, None], sums, 0.0)
        M = len(self.markets)
        trees = _Trees(
            [(pred, edge_of)], np.zeros((M, M), np.int64), np.broadcast_to(targets, (M, M))
        )
        return sums, reach, trees

    def _layered_dijkstra(
        self, moves: list[tuple[np.ndarray, int, int]], size: int, w: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Shortest paths from every market's door on a layered copy of the graph.  ``moves`` lists
        (edge ids, from layer, to layer); ``w`` the weight of every edge.  Returns the distances and
        predecessors (markets x ``size`` nodes) and the index of the edge of every (u, v) used."""
        n = len(self.node_labels)
        u = np.concatenate([self._eu[e] + a * n for e, a, _ in moves])
        v = np.concatenate([self._ev[e] + b * n for e, _, b in moves])
        eid = np.concatenate([e for e, _, _ in moves])
        # cheapest parallel edge per (u, v); explicit zeros are edges for csgraph
        order = np.lexsort((w[eid], v, u))
        first = np.ones(len(order), bool)
        first[1:] = (u[order][1:] != u[order][:-1]) | (v[order][1:] != v[order][:-1])
        sel = order[first]
        u, v, eid = u[sel], v[sel], eid[sel]
        graph = csr_matrix((w[eid], (u, v)), shape=(size, size))
        dist, pred = dijkstra(graph, directed=True, indices=self.outs, return_predecessors=True)
        keys = u.astype(np.int64) * size + v  # sorted: u, v are in lexsort order
        return dist, pred, _EdgeIndex(keys, eid.astype(np.int32), size)

    def _solve_with_feeders(
        self,
        o: RouteOptionRecord,
        allowed: np.ndarray,
        required: np.ndarray,
        vot: float,
        attr: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, _Trees]:
        """Routes of an option with feeder modes: a feeder leg to the line haul, the line haul on the
        option's other modes (with at least one required edge), a feeder leg from it; no place visited
        twice, at most ``max_feeder_share`` of the km on feeder modes and at most ``max_circuity``
        times the great-circle km between the two markets (no detours).

        Four layers: access (feeder links), line haul before and after the first required edge, egress
        (feeder links).  Searched routes: the least-cost routes with a penalty on feeder km of
        ``FEEDER_PENALTIES`` times the feeder's generalised cost per km, the shortest route, and the
        routes with the fewest feeder km (then the fewest km, or the least cost), each ending in the
        line haul or in an egress leg.  The route is the cheapest searched route that meets both rules
        and the option is offered where one does: a heuristic whose cost bounds the cheapest compliant
        route from above.  Sums are of the route's own money, hours and km."""
        n, M = len(self.node_labels), len(self.markets)
        linked = self._emode >= 0
        fmode = np.array([m in o.feeder_modes for m in self.mode_names])
        on_feeder = linked & fmode[np.maximum(self._emode, 0)]
        door = np.flatnonzero(allowed & ~linked)  # doors and transshipments: within a layer
        req = np.flatnonzero(allowed & required)
        feed = np.flatnonzero(allowed & on_feeder & ~required)
        line = np.flatnonzero(allowed & linked & ~on_feeder & ~required)
        moves = [(door, k, k) for k in range(4)]
        moves += [(feed, 0, 0), (feed, 2, 3), (feed, 3, 3)]
        moves += [(line, 0, 1), (line, 1, 1), (line, 2, 2)]
        moves += [(req, 0, 2), (req, 1, 2), (req, 2, 2)]
        # extra sums: feeder km and arrivals at each place (a place reached twice is a loop)
        places = sorted({p for p, _ in self.node_labels})
        pidx = np.array([places.index(p) for p, _ in self.node_labels])
        extra = np.zeros((len(self._eu), 1 + len(places)))
        extra[:, 0] = np.where(on_feeder, self._ekm, 0.0)
        moved = np.flatnonzero(linked)
        extra[moved, 1 + pidx[self._ev[moved]]] = 1.0
        full = np.hstack([attr, extra])
        A = attr.shape[1]
        start = np.zeros((M, len(places)))
        start[np.arange(M), pidx[self.outs]] = 1.0
        base = self._emoney + vot * self._ehours
        fkm = extra[:, 0]
        gc = self.great_circle
        per_km = min(
            self.mode_table[m].tariff + vot / self.mode_table[m].speed for m in o.feeder_modes
        )
        best = np.full((M, M), np.inf)
        sums = np.zeros((M, M, A))
        choice = np.zeros((M, M), np.int64)
        target = np.zeros((M, M), np.int64)
        trees: list[tuple[np.ndarray, _EdgeIndex] | None] = []
        # the cheapest routes under each penalty, then three whose feasibility does not depend on
        # prices (the shortest, the fewest feeder km then the fewest km) or barely (then the least
        # cost), so that a cheaper or dearer mode rarely withdraws an option
        weights = [base + lam * per_km * fkm for lam in FEEDER_PENALTIES]
        weights += [self._ekm.copy(), _LEXICOGRAPHIC * fkm + self._ekm]
        weights += [_LEXICOGRAPHIC * per_km * fkm + base]
        for c, w in enumerate(weights):
            dist, pred, index = self._layered_dijkstra(moves, 4 * n, w)
            trees.append((pred.astype(np.int32), index))
            acc = _path_sums(pred, self.outs, index, full)
            for layer in (2, 3):  # routes ending in the line haul, and in an egress leg
                tgt = np.broadcast_to(self.ins[None, :] + layer * n, (M, M))
                s = acc[np.arange(M)[:, None], tgt]
                reach = np.isfinite(dist[np.arange(M)[:, None], tgt])
                loop = (s[:, :, A + 1 :] + start[:, None, :]).max(axis=-1) > 1.5
                fine = s[:, :, A] <= self.max_feeder_share * s[:, :, 2] + 1e-9
                fine &= (gc <= 0) | (s[:, :, 2] <= self.max_circuity * gc)
                cost = s[:, :, 0] + vot * s[:, :, 1]
                take = reach & ~loop & fine & (cost < best - 1e-9)
                best = np.where(take, cost, best)
                sums = np.where(take[:, :, None], s[:, :, :A], sums)
                choice = np.where(take, c, choice)
                target = np.where(take, tgt, target)
        used = set(np.unique(choice[np.isfinite(best)]).tolist())
        trees = [t if k in used else None for k, t in enumerate(trees)]  # keep the trees routes use
        return sums, np.isfinite(best), _Trees(trees, choice, target)

    def _group_of(self, i: int, j: int) -> str:
        R = self.n_regions
        if j >= R:
            return self.markets[j]
        if i >= R:
            return self.markets[i]
        return REGIONS_KEY

    def _weights(self, constants: Sequence[OptionConstantRecord] | None) -> np.ndarray:
        """(M, M, O) prior weights exp(asc) of the options for each pair's destination group,
        normalised to sum to 1 over the options listed for the group (0 for unlisted options)."""
        M, n_opt = len(self.markets), len(self.options)
        ids = [o.option_id for o in self.options]
        if constants is None:
            table = {
                (g, oid): 0.0 for g in [REGIONS_KEY, *self.markets[self.n_regions :]] for oid in ids
            }
        else:
            table = {}
            groups = {REGIONS_KEY, *self.markets[self.n_regions :]}
            for i, c in enumerate(constants):
                where = f"option_constants[{i}]"
                if c.option_id not in ids:
                    raise InputError(
                        f"unknown route option {c.option_id!r}; known: {', '.join(ids)}",
                        file=self.file,
                        field=f"{where}.option_id",
                    )
                if c.destination not in groups:
                    raise InputError(
                        f"unknown destination {c.destination!r}; expected a gateway id or "
                        f"{REGIONS_KEY!r} ({', '.join(sorted(groups))})",
                        file=self.file,
                        field=f"{where}.destination",
                    )
                if (c.destination, c.option_id) in table:
                    raise InputError(
                        f"duplicate constant for option {c.option_id!r} and destination "
                        f"{c.destination!r}",
                        file=self.file,
                        field=where,
                    )
                table[(c.destination, c.option_id)] = c.asc
        w = np.zeros((M, M, n_opt))
        # sorted: a set of strings iterates in a per-process hash order, and the first destination
        # without a constant is the one an error names
        for g in sorted({self._group_of(i, j) for i in range(M) for j in range(M) if i != j}):
            pi = np.array([math.exp(table[(g, oid)]) if (g, oid) in table else 0.0 for oid in ids])
            if pi.sum() <= 0:
                raise InputError(
                    f"no route option has a constant for destination {g!r}: add rows to "
                    "option_constants.csv",
                    file=self.file,
                    field=f"logistics.constants_file ({g})",
                )
            pi = pi / pi.sum()
            for i in range(M):
                for j in range(M):
                    if i != j and self._group_of(i, j) == g:
                        w[i, j] = pi
        return w

    def _route_options(self) -> RouteOptions:
        S = len(self.sectors)
        vd = np.array(
            [s.value_density if s.value_density is not None else np.nan for s in self.sectors]
        )
        tc = np.array([s.time_cost_per_day or 0.0 for s in self.sectors])
        delta = np.array([s.distance_elasticity for s in self.sectors])
        ratio = np.maximum(self.great_circle, self.distance_scale_km) / self.distance_scale_km
        friction = ratio[None, :, :] ** delta[:, None, None]
        # within a market: 1, or the friction of its internal distance where one is given (a gateway
        # standing for a large market: its own competitors trade over that distance, Head and Mayer 2010)
        inner = np.maximum(self.internal_km, self.distance_scale_km) / self.distance_scale_km
        for s in range(S):
            np.fill_diagonal(friction[s], np.where(self.internal_km > 0, inner ** delta[s], 1.0))
        return RouteOptions(
            option_ids=np.array([o.option_id for o in self.options], dtype=str),
            option_names=np.array([o.name for o in self.options], dtype=str),
            option_main_mode=np.array([o.main_mode for o in self.options], dtype=str),
            mode_names=np.array(self.mode_names, dtype=str),
            corridor_ids=np.array(self.corridor_ids, dtype=str),
            money=self.money,
            hours=self.hours,
            km=self.km,
            mode_km=self.mode_km,
            corridor=self.corridor,
            available=self.available,
            weight=self.weight,
            theta=self.theta,
            value_density=vd,
            time_cost=tc,
            shipped=self.shipped,
            distance_friction=friction,
            sigma=np.array([s.sigma for s in self.sectors]),
            customs_hours=self.customs_hours,
            international=self.international,
            n_regions=self.n_regions,
        )

    def _check_options(self) -> None:
        """Every pair of a shipped sector must have a route option with a constant."""
        ok = (self.available & (self.weight[:, :, None, :] > 0)).any(axis=-1)
        M = len(self.markets)
        off = ~np.eye(M, dtype=bool)
        bad = off[:, :, None] & self.shipped[None, None, :] & ~ok
        if bad.any():
            i, j, s = np.argwhere(bad)[0]
            a, b = self.markets[i], self.markets[j]
            g = self._group_of(int(i), int(j))
            listed = [o.option_id for k, o in enumerate(self.options) if self.weight[i, j, k] > 0]
            raise InputError(
                f"no route option reaches {b!r} from {a!r} (sector {self.sector_ids[s]!r}): the "
                f"options listed for destination {g!r} ({', '.join(listed)}) need a link of their "
                "main mode or corridor that both can reach",
                file=self.file,
                field=f"logistics.links ({a}-{b})",
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

    def _oidx(self, option: str) -> int:
        ids = [o.option_id for o in self.options]
        if option not in ids:
            raise InputError(f"unknown route option {option!r}; known: {', '.join(ids)}")
        return ids.index(option)

    def route(
        self,
        origin: str,
        dest: str,
        sector: str | int,
        modes: Sequence[str] | None = None,
        option: str | None = None,
    ) -> Route:
        """A route from ``origin`` to ``dest`` for a shipped ``sector`` with its legs and costs.

        ``option``: that route option; default: the option with the largest logit share.  With ``modes``
        (e.g. ``("road",)``) the least-cost route is solved again on the network restricted to those modes
        (what a shipper limited to them would pay).  Costs include customs dwell.
        """
        if modes is not None:
            return self._restricted(origin, dest, sector, tuple(modes))
        i, j, s = self._idx(origin), self._idx(dest), self._sidx(sector)
        sid = self.sector_ids[s]
        if i == j or not self.shipped[s]:
            return Route(origin, dest, sid, 0.0, 0.0, 0.0, 0.0, ())
        tc = self.routes.evaluate()
        if option is None:
            oi = int(np.argmax(tc.share[i, j, s]))
        else:
            oi = self._oidx(option)
            if not self.available[i, j, s, oi]:
                raise InputError(f"route option {option!r} does not reach {dest!r} from {origin!r}")
        customs = self.routes.customs_pair_hours()[i, j]
        hours = float(self.hours[i, j, s, oi] + customs)
        money = float(self.money[i, j, s, oi])
        return Route(
            origin,
            dest,
            sid,
            money + float(self.vot[s]) * hours,
            money,
            hours,
            float(self.km[i, j, s, oi]),
            self._legs(i, j, oi, float(self.vot[s])),
            option=self.options[oi].option_id,
            share=float(tc.share[i, j, s, oi]),
        )

    def _legs(self, i: int, j: int, oi: int, vot: float) -> tuple[tuple[str, str, str, float], ...]:
        trees = self._pred[(oi, vot)]
        tree = trees.trees[trees.choice[i, j]]
        assert tree is not None, "a pair's route is in a kept tree"
        pred, edge_of = tree
        node = int(trees.target[i, j])
        path = [node]
        while node != self.outs[i]:
            node = int(pred[i, node])
            path.append(node)
        path.reverse()
        n = len(self.node_labels)
        legs = []
        for u, v in itertools.pairwise(path):
            k = int(edge_of(u, v))
            (pu, mu), (pv, mv) = self.node_labels[u % n], self.node_labels[v % n]
            if pu != pv and mu == mv:
                legs.append((pu, pv, mu, float(self._ekm[k])))
        return tuple(legs)

    def _restricted(
        self, origin: str, dest: str, sector: str | int, modes: tuple[str, ...]
    ) -> Route:
        unknown = [m for m in modes if m not in self.mode_table]
        if unknown:
            raise InputError(f"unknown mode(s) {unknown}; known: {', '.join(self.mode_names)}")
        i, j, s = self._idx(origin), self._idx(dest), self._sidx(sector)
        places = {}
        for p, m in self.node_labels:
            if m in modes:
                places.setdefault(p, []).append(m)
        sub_links = [lk for lk in self.links if lk.mode in modes]
        try:
            sub = LogisticsNetwork(
                [origin, dest],
                {p: ms for p, ms in places.items() if ms},
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
        """Share of tonne-km by mode over all market pairs for ``sector``, at the logit option shares.

        ``weights`` (M, M) are tonnes shipped between markets (default 1 for every off-diagonal pair).
        """
        s = self._sidx(sector)
        M = len(self.markets)
        w = np.ones((M, M)) - np.eye(M) if weights is None else np.asarray(weights, float)
        share = self.routes.evaluate().share[:, :, s, :]
        tkm = np.einsum("ij,ijo,ijok->k", w, share, self.mode_km[:, :, s])
        total = tkm.sum()
        return {
            m: float(tkm[k] / total) if total > 0 else 0.0 for k, m in enumerate(self.mode_names)
        }

    def distance_matrix(self) -> np.ndarray:
        """(M, M) great-circle km between the markets (the distance of the gravity friction)."""
        return self.great_circle.copy()

    def generalised_cost(self) -> np.ndarray:
        """(M, M, S) freight inclusive value in yuan per tonne (0 for services and on the diagonal)."""
        f = self.routes.evaluate().freight  # (S, M, M)
        vd = np.where(self.shipped, self.routes.value_density, 0.0)
        return np.moveaxis(f * vd[:, None, None], 0, 2)

    def iceberg(self) -> tuple[np.ndarray, np.ndarray]:
        """Iceberg cost ``tau`` (S, M, M) >= 1 and trade freeness ``phi`` = tau^(1-sigma)."""
        tc = self.routes.evaluate()
        return tc.tau, tc.phi


def _path_sums(
    pred: np.ndarray, src: np.ndarray, edge_of: _EdgeIndex, attr: np.ndarray
) -> np.ndarray:
    """(P, N, A) sums of edge attributes along the shortest-path trees ``pred`` (P, N) from ``src``.

    Resolves nodes level by level (a node once its predecessor is resolved), vectorised over sources;
    unreachable nodes stay at 0."""
    P, N = pred.shape
    acc = np.zeros((P, N, attr.shape[1]))
    known = np.zeros((P, N), bool)
    known[np.arange(P), src] = True
    has_pred = pred >= 0
    parent = np.where(has_pred, pred, 0)
    while True:
        new = ~known & has_pred & np.take_along_axis(known, parent, axis=1)
        if not new.any():
            break
        r, v = np.nonzero(new)
        u = parent[r, v]
        acc[r, v] = acc[r, u] + attr[edge_of(u, v)]
        known[r, v] = True
    return acc
