"""The resolved world a model runs on: regions, gateways, sectors and the solved logistics costs.

A :class:`World` is a frozen dataclass of plain numpy arrays (R regions, G gateways, M = R + G markets,
S sectors).  It is what the model engine reads; it carries no file paths and no pydantic objects, so a
test can build one by hand (:meth:`World.from_arrays`) and a worker process can receive one by pickle.

Units (docs/ARCHITECTURE.md): money in CNY million per model step, freight costs in yuan per tonne,
distances in km, times in hours, coordinates in WGS84 degrees.

:func:`build_world` turns a validated :class:`agglomeration.scenario.Scenario` into a ``World``: it solves
the multimodal logistics network (:mod:`agglomeration.geography`) and converts generalised costs into
iceberg costs ``tau`` and trade freeness ``phi`` per sector.  Changing a link or a tariff means a new
Scenario and therefore a new World: a World never changes after it is built.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections import OrderedDict
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

import numpy as np

from agglomeration.errors import InputError, OverrideError

if TYPE_CHECKING:  # pragma: no cover
    from agglomeration.geography import LogisticsNetwork, RouteOptions, TradeCosts
    from agglomeration.scenario import Scenario

SECTOR_KINDS = ("manufacturing", "service")


@dataclass(frozen=True, eq=False)
class World:
    """Immutable arrays describing regions, gateways, sectors and trade costs.

    Shapes: R regions, G gateways, M = R + G markets (regions first, then gateways), S sectors.
    Money is CNY million per step; freight yuan per tonne; distance km; time hours.
    """

    # regions (R,)
    region_ids: np.ndarray
    region_names: np.ndarray
    region_type: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    land_capacity: np.ndarray  # km2 of industrial land
    base_wage: np.ndarray  # CNY m per worker-step
    base_rent: np.ndarray  # CNY m per km2-step
    immobile_income: np.ndarray  # households' expenditure base, CNY m per step
    delegation: np.ndarray  # initial delegation level in [0, 1]
    # gateways (G,)
    gateway_ids: np.ndarray
    gateway_names: np.ndarray
    gateway_demand: np.ndarray  # external final demand via the gateway, CNY m per step
    #: relative mass of the foreign competitors at each gateway (times behaviour.market.external_competitors)
    gateway_competitors: np.ndarray
    gateway_import_price: (
        np.ndarray
    )  # (G, S) price index of imported inputs (1 = domestic reference)
    # sectors (S,)
    sector_ids: np.ndarray
    sector_names: np.ndarray
    sector_kind: np.ndarray
    sigma: np.ndarray  # CES elasticity (> 1)
    labour_share: np.ndarray
    land_share: np.ndarray
    io: np.ndarray  # (S, S) a[k, s]: cost share of input k in sector s
    final_share: np.ndarray  # share of final expenditure on sector s (sums to <= 1)
    fixed_cost: np.ndarray  # CNY m per step
    entry_rate: np.ndarray  # potential entrants per step per existing firm
    chains: dict[str, tuple[int, ...]]
    # logistics (markets M = R + G)
    gen_cost: (
        np.ndarray
    )  # (M, M, S) freight inclusive value, yuan per tonne (0: diagonal, services)
    distance_km: np.ndarray  # (M, M) great-circle km between the markets
    tau: np.ndarray  # (S, M, M) iceberg cost >= 1
    phi: np.ndarray  # (S, M, M) trade freeness tau^(1 - sigma) in (0, 1]
    customs_hours: np.ndarray  # (M,) customs dwell at the market's hub
    # additions beyond the ARCHITECTURE table (optional, so hand-built worlds need not give them)
    initial_weights: np.ndarray | None = (
        None  # (R, S) relative initial firm weights (data/initial_firms.csv)
    )
    value_density: np.ndarray | None = None  # (S,) yuan per tonne of output (nan for services)
    value_of_time: np.ndarray | None = None  # (S,) yuan per tonne-hour in transit (0 for services)
    bonded: np.ndarray | None = None  # (R,) bool: the region has a special customs supervision zone
    import_tariff: np.ndarray | None = None  # (S,) duty on imported inputs outside bonded zones [-]
    foreign_suppliers: np.ndarray | None = None  # (S,) foreign suppliers per gateway (nan: default)
    #: the solved route options (None for hand-built worlds): shares, costs, corridors, repricing
    routes: RouteOptions | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # free-form, e.g. the LogisticsNetwork

    # ------------------------------------------------------------------ sizes
    @property
    def n_regions(self) -> int:
        """R, the number of regions."""
        return len(self.region_ids)

    @property
    def n_gateways(self) -> int:
        """G, the number of gateways."""
        return len(self.gateway_ids)

    @property
    def n_markets(self) -> int:
        """M = R + G, the number of markets (regions first, then gateways)."""
        return self.n_regions + self.n_gateways

    @property
    def n_sectors(self) -> int:
        """S, the number of sectors."""
        return len(self.sector_ids)

    @property
    def market_ids(self) -> np.ndarray:
        """(M,) ids of all markets: region ids then gateway ids."""
        return np.concatenate([self.region_ids, self.gateway_ids])

    # ------------------------------------------------------------ route options
    @property
    def option_ids(self) -> np.ndarray:
        """(O,) ids of the route options (empty for a hand-built world)."""
        return self.routes.option_ids if self.routes is not None else np.array([], dtype=str)

    @property
    def corridor_ids(self) -> np.ndarray:
        """(C,) corridor tags of the links (e.g. 'cr_express', 'lsc', 'yangtze')."""
        return self.routes.corridor_ids if self.routes is not None else np.array([], dtype=str)

    @property
    def option_share(self) -> np.ndarray | None:
        """(M, M, S, O) logit shares of the route options at the data's customs hours."""
        return None if self.routes is None else self.routes.evaluate().share

    @property
    def option_cost(self) -> np.ndarray | None:
        """(M, M, S, O) ad-valorem generalised cost of each option [share of value]; inf: unavailable."""
        return None if self.routes is None else self.routes.evaluate().cost

    @property
    def option_corridor(self) -> np.ndarray | None:
        """(M, M, S, O) index into :attr:`corridor_ids` of the corridor carrying most of the option's km
        (-1: none)."""
        return None if self.routes is None else self.routes.corridor

    @property
    def freight_cost(self) -> np.ndarray | None:
        """(S, M, M) freight cost: inclusive value over the route options [share of value]."""
        return None if self.routes is None else self.routes.evaluate().freight

    @property
    def gateway_international(self) -> np.ndarray:
        """(G,) bool: the gateway is international (its trade is imports and exports, pays customs); a
        hand-built World without route data treats every gateway as international."""
        if self.routes is None:
            return np.ones(self.n_gateways, bool)
        return np.asarray(self.routes.international, bool)[self.n_regions :]

    @property
    def distance_friction(self) -> np.ndarray | None:
        """(S, M, M) non-freight distance factor (max(km, D0) / D0)^delta of tau [-]."""
        return None if self.routes is None else self.routes.distance_friction

    def route_choice(self, customs_factor: np.ndarray | None = None) -> TradeCosts:
        """Option costs and shares, freight costs and (tau, phi) with every region's customs dwell hours
        multiplied by ``customs_factor`` (R,) (None or ones: the data).  Needs the route options of
        :func:`build_world`."""
        if self.routes is None:
            raise ValueError("a hand-built World has no route options")
        return self.routes.evaluate(customs_factor)

    def trade_costs(
        self, customs_factor: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(tau, phi) (S, M, M) with the regions' customs dwell hours multiplied by ``customs_factor`` (R,).

        Cheap (O(M^2 S O), no route solved); ones or None return :attr:`tau` and :attr:`phi` themselves.
        A hand-built World has no customs component: there the factor scales the non-unit part
        ``tau - 1`` of region <-> gateway costs (the rule before 0.2)."""
        R = self.n_regions
        if customs_factor is None or not np.any(np.asarray(customs_factor) != 1.0):
            return self.tau, self.phi
        f = np.asarray(customs_factor, dtype=float)
        if f.shape != (R,):
            raise ValueError(f"customs_factor: expected shape {(R,)}, got {f.shape}")
        if self.routes is not None:
            tc = self.routes.evaluate(f)
            return tc.tau, tc.phi
        tau = np.array(self.tau, dtype=float, copy=True)
        if self.n_gateways:
            tau[:, :R, R:] = 1.0 + (tau[:, :R, R:] - 1.0) * f[None, :, None]
            tau[:, R:, :R] = 1.0 + (tau[:, R:, :R] - 1.0) * f[None, None, :]
        return tau, tau ** (1.0 - np.asarray(self.sigma)[:, None, None])

    # ---------------------------------------------------------------- lookups
    def region_index(self, region_id: str) -> int:
        """Index of a region id (e.g. ``"LJ"``); :class:`InputError` if unknown."""
        hits = np.flatnonzero(self.region_ids == region_id)
        if hits.size == 0:
            raise InputError(
                f"unknown region {region_id!r}; known: {', '.join(map(str, self.region_ids))}",
                field="region",
            )
        return int(hits[0])

    def sector_index(self, sector_id: str) -> int:
        """Index of a sector id; :class:`InputError` if unknown."""
        hits = np.flatnonzero(self.sector_ids == sector_id)
        if hits.size == 0:
            raise InputError(
                f"unknown sector {sector_id!r}; known: {', '.join(map(str, self.sector_ids))}",
                field="sector",
            )
        return int(hits[0])

    def input_import_factor(self) -> np.ndarray:
        """(S, G, R) factor on the delivered price of inputs from each gateway: 1 + the sector's
        import tariff from an international gateway into a region outside bonded zones, 1 inside
        (processing trade) and on inputs from domestic gateways (no customs border)."""
        S, R = self.n_sectors, self.n_regions
        tariff = (
            np.zeros(S) if self.import_tariff is None else np.asarray(self.import_tariff, float)
        )
        bonded = np.zeros(R, bool) if self.bonded is None else np.asarray(self.bonded, bool)
        dutiable = self.gateway_international[:, None] & ~bonded[None, :]  # (G, R)
        return 1.0 + tariff[:, None, None] * dutiable[None, :, :]

    def import_weights(self, default: float) -> np.ndarray:
        """(S,) number-equivalent of foreign suppliers of each input per gateway in supplier search
        (``foreign_suppliers``, or ``default`` where not given)."""
        if self.foreign_suppliers is None:
            return np.full(self.n_sectors, float(default))
        f = np.asarray(self.foreign_suppliers, dtype=float)
        return np.where(np.isnan(f), float(default), f)

    def market_index(self, market_id: str) -> int:
        """Index of a region or gateway id in the market axis (M)."""
        hits = np.flatnonzero(self.market_ids == market_id)
        if hits.size == 0:
            raise InputError(f"unknown region or gateway {market_id!r}", field="market")
        return int(hits[0])

    # ----------------------------------------------------------- construction
    @classmethod
    def from_arrays(cls, **kw: Any) -> World:
        """Build a World by hand (tests, theory benchmarks), filling what can be derived.

        Required: ``region_ids``, ``sector_ids``, ``sigma`` and either ``tau`` (S, M, M) or ``gen_cost``
        with ``value_density``.  Defaults: names = ids, type "other", zero coordinates, land capacity 1,
        wages/rents/income 1, delegation 0, no gateways, manufacturing sectors, labour share 1 - column
        sum of ``io`` (io defaults to zeros), land share 0, equal final shares, fixed cost 1, entry rate
        0.01, no chains, distance 0, customs 0.  ``phi`` is derived from ``tau`` and ``sigma``.
        """
        known = {f.name for f in fields(cls)}
        unknown = set(kw) - known
        if unknown:
            raise TypeError(f"World.from_arrays: unknown fields {sorted(unknown)}")
        ids = np.asarray(kw["region_ids"], dtype=str)
        sids = np.asarray(kw["sector_ids"], dtype=str)
        gids = np.asarray(kw.get("gateway_ids", np.array([], dtype=str)), dtype=str)
        R, S, G = len(ids), len(sids), len(gids)
        M = R + G
        f = lambda v: np.asarray(v, dtype=float)  # noqa: E731
        full = lambda n, x: np.full(n, float(x))  # noqa: E731
        sigma = f(kw["sigma"]) * np.ones(S)
        io = f(kw.get("io", np.zeros((S, S))))
        land_share = f(kw.get("land_share", np.zeros(S)))
        labour_share = f(kw.get("labour_share", 1.0 - io.sum(axis=0) - land_share))
        if "tau" in kw:
            tau = f(kw["tau"])
        else:
            gc = f(kw["gen_cost"])
            vd = f(kw["value_density"])
            tau = 1.0 + np.moveaxis(gc, 2, 0) / vd[:, None, None]
        gen_cost = f(kw.get("gen_cost", np.zeros((M, M, S))))
        phi = f(kw["phi"]) if "phi" in kw else tau ** (1.0 - sigma[:, None, None])
        d = dict(
            region_ids=ids,
            region_names=np.asarray(kw.get("region_names", ids), dtype=str),
            region_type=np.asarray(kw.get("region_type", ["other"] * R), dtype=str),
            lon=f(kw.get("lon", np.zeros(R))),
            lat=f(kw.get("lat", np.zeros(R))),
            land_capacity=f(kw.get("land_capacity", full(R, 1))),
            base_wage=f(kw.get("base_wage", full(R, 1))),
            base_rent=f(kw.get("base_rent", full(R, 1))),
            immobile_income=f(kw.get("immobile_income", full(R, 1))),
            delegation=f(kw.get("delegation", np.zeros(R))),
            gateway_ids=gids,
            gateway_names=np.asarray(kw.get("gateway_names", gids), dtype=str),
            gateway_demand=f(kw.get("gateway_demand", np.zeros(G))),
            gateway_competitors=f(kw.get("gateway_competitors", np.ones(G))),
            gateway_import_price=f(kw.get("gateway_import_price", np.ones((G, S)))),
            sector_ids=sids,
            sector_names=np.asarray(kw.get("sector_names", sids), dtype=str),
            sector_kind=np.asarray(kw.get("sector_kind", ["manufacturing"] * S), dtype=str),
            sigma=sigma,
            labour_share=labour_share,
            land_share=land_share,
            io=io,
            final_share=f(kw.get("final_share", full(S, 1.0 / max(S, 1)))),
            fixed_cost=f(kw.get("fixed_cost", full(S, 1))),
            entry_rate=f(kw.get("entry_rate", full(S, 0.01))),
            chains=dict(kw.get("chains", {})),
            gen_cost=gen_cost,
            distance_km=f(kw.get("distance_km", np.zeros((M, M)))),
            tau=tau,
            phi=phi,
            customs_hours=f(kw.get("customs_hours", np.zeros(M))),
            initial_weights=None if kw.get("initial_weights") is None else f(kw["initial_weights"]),
            value_density=None if kw.get("value_density") is None else f(kw["value_density"]),
            value_of_time=None if kw.get("value_of_time") is None else f(kw["value_of_time"]),
            bonded=None if kw.get("bonded") is None else np.asarray(kw["bonded"], dtype=bool),
            import_tariff=None if kw.get("import_tariff") is None else f(kw["import_tariff"]),
            foreign_suppliers=(
                None if kw.get("foreign_suppliers") is None else f(kw["foreign_suppliers"])
            ),
            routes=kw.get("routes"),
            extra=dict(kw.get("extra", {})),
        )
        world = cls(**d)
        world.check()
        return world

    def check(self) -> None:
        """Check shapes and basic invariants; raise :class:`InputError` on the first violation."""
        R, G, S = self.n_regions, self.n_gateways, self.n_sectors
        M = R + G
        shapes = {
            "region_names": (R,),
            "region_type": (R,),
            "lon": (R,),
            "lat": (R,),
            "land_capacity": (R,),
            "base_wage": (R,),
            "base_rent": (R,),
            "immobile_income": (R,),
            "delegation": (R,),
            "gateway_names": (G,),
            "gateway_demand": (G,),
            "gateway_competitors": (G,),
            "gateway_import_price": (G, S),
            "sector_names": (S,),
            "sector_kind": (S,),
            "sigma": (S,),
            "labour_share": (S,),
            "land_share": (S,),
            "io": (S, S),
            "final_share": (S,),
            "fixed_cost": (S,),
            "entry_rate": (S,),
            "gen_cost": (M, M, S),
            "distance_km": (M, M),
            "tau": (S, M, M),
            "phi": (S, M, M),
            "customs_hours": (M,),
        }
        for name, shape in shapes.items():
            got = np.shape(getattr(self, name))
            if got != shape:
                raise InputError(f"expected shape {shape}, got {got}", field=f"world.{name}")
        if self.initial_weights is not None and np.shape(self.initial_weights) != (R, S):
            raise InputError(
                f"expected shape {(R, S)}, got {np.shape(self.initial_weights)}",
                field="world.initial_weights",
            )
        if np.any(self.sigma <= 1):
            raise InputError("sigma must be > 1", field="world.sigma")
        if np.any(self.tau < 1 - 1e-12):
            raise InputError("iceberg costs must be >= 1", field="world.tau")
        total = self.labour_share + self.land_share + self.io.sum(axis=0)
        if not np.allclose(total, 1.0, atol=1e-6):
            raise InputError(
                f"labour + land + input shares must sum to 1 per sector, got {np.round(total, 6)}",
                field="world.io",
            )
        for name, idx in self.chains.items():
            if any(i < 0 or i >= S for i in idx):
                raise InputError(
                    f"chain {name!r} has a sector index out of range", field="world.chains"
                )


def _column(records: Any, attr: str, dtype: Any = None) -> np.ndarray:
    """(n,) array of one attribute of validated records (e.g. every region's ``lon``)."""
    return np.array([getattr(r, attr) for r in records], dtype=dtype)


def _logistics_network(scenario: Scenario) -> LogisticsNetwork:
    """The solved :class:`~agglomeration.geography.LogisticsNetwork` of a scenario's data: markets
    (regions then gateways), places and their modes, customs hours, coordinates and route options."""
    from agglomeration.geography import LogisticsNetwork

    d = scenario.data
    regions, gateways = d.regions, d.gateways
    R = len(regions)
    places = {r.region_id: r.modes for r in regions}
    places.update({g.gateway_id: g.modes for g in gateways})
    places.update({h.hub_id: h.modes for h in d.hubs})
    markets = [*regions, *gateways]
    try:
        return LogisticsNetwork(
            [*(r.region_id for r in regions), *(g.gateway_id for g in gateways)],
            places,
            d.modes,
            d.links,
            d.sectors,
            customs_hours=_column(markets, "customs_hours"),
            international=np.array([False] * R + [g.international for g in gateways]),
            n_regions=R,
            options=d.options,
            constants=d.constants,
            coords=np.array([(p.lon, p.lat) for p in markets], dtype=float).reshape(
                len(markets), 2
            ),
            choice_elasticity=scenario.logistics.route_choice_elasticity,
            distance_scale_km=scenario.logistics.distance_scale_km,
            max_feeder_share=scenario.logistics.max_feeder_share,
            max_circuity=scenario.logistics.max_circuity,
            internal_km=np.array([0.0] * R + [g.internal_km for g in gateways]),
            file=str(scenario.source_path) if scenario.source_path else None,
        )
    except InputError as err:
        if err.field != "logistics.links":
            raise
        # a cut graph: name what the scenario changed (removed or added links or terminals), not a
        # key that does not exist; with the data unchanged, the links file
        lg = scenario.logistics
        changed = [
            key
            for key, value in (
                ("logistics.remove_links", lg.remove_links),
                ("logistics.add_links", lg.add_links),
                ("logistics.add_hubs", lg.add_hubs),
            )
            if value
        ]
        field = ", ".join(changed) or "logistics.links_file"
        # changed by overrides (--set, --lever) only: name them, not the scenario file
        set_by = scenario.applied_overrides
        by_override = [
            key
            for key in changed
            if any(k == key or k.startswith((f"{key}.", f"{key}[")) for k in set_by)
        ]
        if changed and by_override == changed:
            raise OverrideError(err.message, key=by_override[0], field=field) from None
        raise InputError(err.message, file=err.file, field=field) from None


def _import_prices(gateways: Any, kind: np.ndarray) -> np.ndarray:
    """(G, S) import price index of each gateway for each sector (manufacturing or service price)."""
    rows = [
        [
            g.import_price_manufacturing if k == "manufacturing" else g.import_price_service
            for k in kind
        ]
        for g in gateways
    ]
    return np.array(rows).reshape(len(gateways), len(kind))


def _initial_weights(initial_firms: Any, sectors: Any, R: int) -> np.ndarray:
    """(R, S) initial firm weights: each sector column normalised over regions and scaled by the
    sector's ``initial_weight`` share (sums to 1)."""
    S = len(sectors)
    init = np.asarray(initial_firms, dtype=float).reshape(R, S)
    col = init.sum(axis=0)
    sw = _column(sectors, "initial_weight")
    sw = sw / sw.sum() if sw.sum() > 0 else np.full(S, 1.0 / S)
    return np.divide(init, col, out=np.zeros_like(init), where=col > 0) * sw


#: worlds kept per process by :func:`build_world` (least recently used dropped first); 0: no cache
KEPT_WORLDS = 4
_worlds: OrderedDict[str, World] = OrderedDict()


def _world_key(scenario: Scenario) -> str | None:
    """sha256 of everything :func:`build_world` reads from a Scenario (its data, ``policy.delegation``,
    the ``logistics`` section and the source path); None for other scenario-like objects."""
    from agglomeration.scenario import Scenario

    if KEPT_WORLDS <= 0 or not isinstance(scenario, Scenario):
        return None
    inputs = {
        "data": scenario.data.model_dump(mode="json", by_alias=True),
        "delegation": scenario.policy.model_dump(mode="json", by_alias=True)["delegation"],
        "logistics": scenario.logistics.model_dump(mode="json", by_alias=True),
        "file": str(scenario.source_path) if scenario.source_path else None,
    }
    text = json.dumps(inputs, sort_keys=True, separators=(",", ":"), default=repr)
    return hashlib.sha256(text.encode()).hexdigest()


def build_world(scenario: Scenario) -> World:
    """Resolve a validated scenario into a :class:`World` (solves the logistics network).

    A process keeps the last :data:`KEPT_WORLDS` worlds, keyed by everything the build reads from the
    scenario (:func:`_world_key`), and hands out deep copies: solving the logistics network is most of
    the cost of constructing a small model, and a batch of runs builds the same world again and again.
    A copy holds the same values, so results are bit-identical, and no model shares mutable arrays
    with another.

    Delegation: the regions table's column with ``policy.delegation`` applied
    (:func:`agglomeration.levers.resolve_per_region`).  Initial weights: each sector column of
    ``initial_firms.csv`` is normalised over regions and scaled by the sector's ``initial_weight`` share,
    so ``initial_weights`` sums to 1.  The solved :class:`~agglomeration.geography.LogisticsNetwork` is
    kept in ``world.extra["network"]``.
    """
    key = _world_key(scenario)
    if key is not None and key in _worlds:
        _worlds.move_to_end(key)
        return copy.deepcopy(_worlds[key])
    world = _build_world(scenario)
    if key is not None:
        _worlds[key] = copy.deepcopy(world)
        while len(_worlds) > KEPT_WORLDS:
            _worlds.popitem(last=False)
    return world


def _build_world(scenario: Scenario) -> World:
    """:func:`build_world` without the cache."""
    from agglomeration.economy import chain_indices
    from agglomeration.levers import resolve_per_region

    d = scenario.data
    regions, gateways, sectors = d.regions, d.gateways, d.sectors
    R, S = len(regions), len(sectors)
    net = _logistics_network(scenario)
    tau, phi = net.iceberg()
    region_ids = [r.region_id for r in regions]
    deleg = resolve_per_region(
        scenario.policy.delegation,
        region_ids,
        [r.type for r in regions],
        [r.delegation for r in regions],
    )
    kind = _column(sectors, "kind")
    world = World(
        region_ids=np.array(region_ids, dtype=str),
        region_names=_column(regions, "name", str),
        region_type=_column(regions, "type", str),
        lon=_column(regions, "lon"),
        lat=_column(regions, "lat"),
        land_capacity=_column(regions, "land_capacity"),
        base_wage=_column(regions, "base_wage"),
        base_rent=_column(regions, "base_rent"),
        immobile_income=_column(regions, "immobile_income"),
        delegation=deleg,
        gateway_ids=_column(gateways, "gateway_id", str),
        gateway_names=_column(gateways, "name", str),
        gateway_demand=_column(gateways, "demand", float),
        gateway_competitors=_column(gateways, "competitors", float),
        gateway_import_price=_import_prices(gateways, kind)
        * _column(sectors, "import_price_factor")[None, :],
        sector_ids=_column(sectors, "sector_id", str),
        sector_names=_column(sectors, "name", str),
        sector_kind=kind.astype(str),
        sigma=_column(sectors, "sigma"),
        labour_share=_column(sectors, "labour_share"),
        land_share=_column(sectors, "land_share"),
        io=np.asarray(d.io, dtype=float).reshape(S, S),
        final_share=_column(sectors, "final_share"),
        fixed_cost=_column(sectors, "fixed_cost"),
        entry_rate=_column(sectors, "entry_rate"),
        chains=chain_indices(d.chains, [s.sector_id for s in sectors]),
        gen_cost=net.generalised_cost(),
        distance_km=net.distance_matrix(),
        tau=tau,
        phi=phi,
        customs_hours=net.customs_hours.copy(),
        initial_weights=_initial_weights(d.initial_firms, sectors, R),
        value_density=np.array([s.value_density or np.nan for s in sectors], dtype=float),
        value_of_time=net.vot.copy(),
        bonded=np.isin(region_ids, [b.region_id for b in d.bonded]),
        import_tariff=np.array([s.import_tariff for s in sectors], dtype=float),
        foreign_suppliers=np.array(
            [np.nan if s.foreign_suppliers is None else s.foreign_suppliers for s in sectors],
            dtype=float,
        ),
        routes=net.routes,
        extra={"network": net},
    )
    world.check()
    return world
