"""The model's state: everything a step changes, in one typed place.

:class:`ModelState` holds the firm table and every region-, sector- and market-level variable the
submodels read and write; the policy-dependent costs of the current step are a :class:`agglomeration.behaviour.costs.Costs`.  Submodels are
functions of ``(state, world, scenario, rng)`` (see :mod:`agglomeration.submodel`); observation and
reporting read ``(state, world)``.  The :class:`agglomeration.world.World` is the fixed geography and
economy (regions, markets, sectors, logistics), the scenario the parameters.

Units: money in CNY million per step, employment in workers, land in km2, prices relative to the
domestic reference (an import price index of 1).  Shapes: R regions, G gateways, M = R + G markets,
S sectors.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from agglomeration.behaviour.accounts import Accounts
from agglomeration.behaviour.costs import Costs
from agglomeration.behaviour.entry import EntrantLedger, Pending
from agglomeration.behaviour.market import MarketResult, RevenueLinks
from agglomeration.behaviour.policy import PolicyState
from agglomeration.behaviour.prospects import Beliefs, Prospects
from agglomeration.firms import FirmTable


@dataclass
class ModelState:
    """Everything that changes during a run (see the module docstring)."""

    firms: FirmTable
    #: steps completed
    t: int = 0
    #: steps since initialisation, burn-in included (never restarted): the technology frontier and
    #: approval dates run on it
    clock: int = 0
    #: (R,) wage [CNY m per worker-step] and land rent [CNY m per km2-step]
    wage: np.ndarray = field(default_factory=lambda: np.zeros(0))
    rent: np.ndarray = field(default_factory=lambda: np.zeros(0))
    #: reference wage and rent (geometric means of the base values) unit costs are measured against
    wage_ref: float = 1.0
    rent_ref: float = 1.0
    #: (R, S) log of the local productivity shifter theta_rs [log points]
    local_tfp: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    #: (R, S) part of ``local_tfp`` backed out in the burn-in so the initial distribution of firms is
    #: stationary (location fundamentals; ``initialisation.CountController``) [log points]
    location_shift: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    #: (S,) fixed cost per firm [CNY m per step]
    fixed_cost: np.ndarray = field(default_factory=lambda: np.zeros(0))
    #: (S, M) final expenditure the next market clearing uses [CNY m per step]
    expenditure: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    #: (G, S) import prices in model units, and (S,) the domestic price level they are relative to
    import_price: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    domestic_price_level: np.ndarray = field(default_factory=lambda: np.zeros(0))
    #: (S,) geometric mean of the mill prices of the firms in the last market solved (None before
    #: the first); the import prices follow it (costs.update_import_prices)
    market_price_level: np.ndarray | None = None
    #: delegation levels and adopted reforms
    policy: PolicyState | None = None
    #: (R,) connectivity of each region to the FTZ (reform replication) [-]
    connectivity: np.ndarray = field(default_factory=lambda: np.zeros(0))
    costs: Costs | None = None
    #: (R,) initial regional employment [workers] and land use [km2] (factor-price reference)
    employment0: np.ndarray = field(default_factory=lambda: np.zeros(0))
    land_use0: np.ndarray = field(default_factory=lambda: np.zeros(0))
    initial_firms: int = 0
    #: (S,) initial firms by sector (scales the pool of potential entrants)
    initial_by_sector: np.ndarray = field(default_factory=lambda: np.zeros(0))
    #: entrants waiting for their approval
    pending: Pending = field(default_factory=Pending)
    #: the permanent id the next potential entrant of the observed run is keyed by, with
    #: solver.random_streams = "by_purpose" (-1: not yet set; random_streams.py)
    entrant_key_next: int = -1
    #: entrants' expected and realised first-year outcomes (consistency of expectations)
    entrants: EntrantLedger = field(default_factory=EntrantLedger)
    #: (R,) cumulative entrants by region since initialisation [firms]
    entries_by_region: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    #: (M,) nominal demand index of every market, regions then gateways (1 at step 0; empty = all 1)
    #: and the outside wage index Omega (behaviour/growth.py) [-]
    demand_index: np.ndarray = field(default_factory=lambda: np.zeros(0))
    outside_wage: float = 1.0
    #: price levels the observed price indices are relative to (set by observation at their first
    #: finite value): (R,) consumer price index and (S,) producer price level of each sector [-]
    cpi_base: np.ndarray | None = None
    ppi_base: np.ndarray | None = None
    #: (R,) cumulative exits by region since the observed run started [firms]
    exits_by_region: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    #: (R, R) cumulative relocations from region o (row) to region d (column) [firms]
    relocations_od: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.int64))
    #: (R,) live firms by region when the observed run started [firms]
    firms_start_by_region: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    #: (n,) region of each incumbent (``incumbents``) when this step began
    incumbent_region: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    # ---- this step (reset by :meth:`begin_step`, filled by the submodels in schedule order)
    #: counters reported by the submodels this step
    counts: dict[str, float] = field(default_factory=dict)
    #: live rows when the step began (entrants of this step are not among them)
    incumbents: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    #: the market cleared this step, its supplier links and the expenditure it was cleared with
    market: MarketResult | None = None
    links: RevenueLinks | None = None
    expenditure_used: np.ndarray | None = None
    #: this step's production accounts (regional aggregates)
    accounts: Accounts | None = None
    #: accounting identities of this step's market (relative gaps)
    balance: dict[str, float] = field(
        default_factory=lambda: {"intermediate_gap": 0.0, "expenditure_gap": 0.0}
    )
    prospects: Prospects | None = None
    #: what firms have learned about the market (kept across steps)
    beliefs: Beliefs | None = None
    #: (S,) firms alive at the start of the last step and those of them that exited in it, by sector
    #: (the observed exit hazard of behaviour.prospects.learn_hazard)
    last_incumbents_by_sector: np.ndarray | None = None
    last_exits_by_sector: np.ndarray | None = None
    #: ids of the firms that entered and exited this step (the Mesa agent view follows them)
    entered: list[np.ndarray] = field(default_factory=list)
    exited: list[np.ndarray] = field(default_factory=list)

    #: the policy does not move (burn-in)
    frozen_policy: bool = False
    #: True during the burn-in: the calendar stays at step 0 (growth indices 1), the policy is frozen
    burning_in: bool = False

    def restart_clock(self) -> None:
        """Make the current state step 0 of the observed run (after a burn-in)."""
        self.t = 0
        self.counts = {}
        self.entries_by_region = np.zeros_like(self.entries_by_region)
        R = len(self.entries_by_region)
        self.exits_by_region = np.zeros(R, dtype=np.int64)
        self.relocations_od = np.zeros((R, R), dtype=np.int64)
        rows = self.firms.alive_rows()
        self.firms_start_by_region = np.bincount(self.firms.region[rows], minlength=R)
        self.entrants = EntrantLedger()
        self.initial_firms = self.firms.n_alive

    def begin_step(self) -> None:
        """Advance the clock and reset the per-step fields."""
        self.t += 1
        self.clock += 1
        self.counts = {}
        self.incumbents = self.firms.alive_rows()
        self.incumbent_region = self.firms.region[self.incumbents].copy()
        self.prospects = None
        self.entered = []
        self.exited = []

    def tally_exits_by_sector(self) -> None:
        """Record this step's incumbents and exits by sector (``last_incumbents_by_sector``,
        ``last_exits_by_sector``: the exit hazard the prospects learn from; call after the submodels,
        before the firm table is compacted; the burn-in does too)."""
        rows = self.incumbents
        sector = self.firms.sector[rows]
        exited = ~self.firms.alive[rows]
        S = (
            len(self.beliefs.hazard)
            if self.beliefs is not None
            else int(sector.max(initial=-1)) + 1
        )
        self.last_incumbents_by_sector = np.bincount(sector, minlength=S)
        self.last_exits_by_sector = np.bincount(sector[exited], minlength=S)

    def tally_demography(self) -> None:
        """Add this step's exits and relocations by region to the run's cumulative counts (call after
        the submodels, before the firm table is compacted).  An incumbent that is dead now exited from
        the region it was in when the step began; a live one whose region changed relocated.  With
        ``entries_by_region`` this gives, exactly, per region: firms now - firms at the start =
        entries - exits + relocations in - relocations out."""
        R = len(self.entries_by_region)
        if len(self.exits_by_region) != R:  # a run observed without restart_clock (no burn-in)
            self.exits_by_region = np.zeros(R, dtype=np.int64)
            self.relocations_od = np.zeros((R, R), dtype=np.int64)
        rows, before = self.incumbents, self.incumbent_region
        alive = self.firms.alive[rows]
        self.exits_by_region += np.bincount(before[~alive], minlength=R)
        self.tally_exits_by_sector()
        now = self.firms.region[rows[alive]]
        moved = now != before[alive]
        np.add.at(self.relocations_od, (before[alive][moved], now[moved]), 1)
