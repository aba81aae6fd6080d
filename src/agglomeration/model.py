"""``AgglomerationModel``: the Mesa model and its step schedule (DESIGN 3.2; docs/ODD.md).

State is columnar (:class:`agglomeration.firms.FirmTable`); each step calls the vectorised submodels of
:mod:`agglomeration.behaviour` and :mod:`agglomeration.policy` in a fixed order:

 1. policy-dependent costs (admin wedge, entry cost, gateway trade costs, switching cost)
 2. prices (fixed point of the cost system through the supplier links)
 3. market clearing (final demand through CES indices, intermediate demand through the links)
 4. production and accounts (employment, land, profit, equity) -> next step's final expenditure
 5. sourcing (supplier search and switching)
 6. learning (productivity)
 7. factor prices (wages, rents)
 8. policy (reform pioneering and replication)
 9. entry (Poisson entrants, logit location choice)
10. relocation
11. exit; buyers of exited firms and entrants get suppliers
12. observation (DataCollector)

Accounts come right after market clearing (DESIGN lists sourcing first) so that the flows booked in a
step are exactly the ones priced through that step's links.

Randomness: one numpy Generator, ``self.rng``, seeded by Mesa from an integer drawn from
``SeedSequence([scenario.seed, replicate_seed])``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import mesa
import numpy as np
import pandas as pd

from agglomeration import observe
from agglomeration import policy as policy_mod
from agglomeration.behaviour import (
    accounts,
    entry,
    learning,
    market,
    prospects,
    relocation,
    sourcing,
)
from agglomeration.behaviour import exit as exit_mod
from agglomeration.behaviour.factor_prices import update_factor_prices
from agglomeration.errors import InputError
from agglomeration.firms import Firm, FirmTable

_SECTIONS = ("firms", "behaviour", "policy", "output")


def derive_seed(scenario_seed: int, replicate_seed: int | None) -> int:
    """The integer handed to ``mesa.Model(rng=...)``: a SeedSequence hash of (scenario, replicate) seeds."""
    if replicate_seed is not None and (
        isinstance(replicate_seed, bool)
        or not isinstance(replicate_seed, int | np.integer)
        or replicate_seed < 0
    ):
        raise InputError(
            f"expected an integer >= 0 or None, got {replicate_seed!r}", field="replicate_seed"
        )
    entropy = (
        [int(scenario_seed)]
        if replicate_seed is None
        else [int(scenario_seed), int(replicate_seed)]
    )
    return int(
        np.random.SeedSequence(entropy).generate_state(1, dtype=np.uint64)[0] >> np.uint64(1)
    )


def _split_overrides(overrides: Mapping[str, Any]) -> dict[str, Any]:
    """``{"firms__initial_count": 5}`` -> ``{"firms.initial_count": 5}``."""
    return {k.replace("__", "."): v for k, v in overrides.items()}


def _apply_section_overrides(scenario: Any, dotted: dict[str, Any]) -> Any:
    """Overrides for scenario-like objects without ``with_overrides`` (hand-built test scenarios)."""
    import copy

    scn = copy.copy(scenario)
    for key, value in dotted.items():
        parts = key.split(".")
        if parts[0] not in _SECTIONS or len(parts) < 2:
            if len(parts) == 1 and hasattr(scn, key):
                setattr(scn, key, value)
                continue
            raise InputError(f"unknown override {key!r}", field=key)
        section = getattr(scn, parts[0])
        data = section.model_dump()
        cur = data
        for p in parts[1:-1]:
            cur = cur.setdefault(p, {})
        if parts[-1] not in cur and len(parts) == 2:
            raise InputError(f"unknown field {parts[-1]!r} of [{parts[0]}]", field=key)
        cur[parts[-1]] = value
        try:
            setattr(scn, parts[0], type(section).model_validate(data))
        except Exception as exc:  # pydantic ValidationError
            raise InputError(str(exc).splitlines()[-1].strip(), field=key) from exc
    return scn


class AgglomerationModel(mesa.Model):
    """Firms of advanced manufacturing and modern services in the FTZ, connected and other regions.

    Parameters
    ----------
    scenario:
        A ``Scenario`` (or any object with ``name``, ``seed`` and the ``firms``/``behaviour``/``policy``/
        ``output`` sections) or the path of a scenario TOML file.
    replicate_seed:
        Replicate number / seed, combined with the scenario seed through ``SeedSequence``.
    rng:
        Used as the replicate seed when ``replicate_seed`` is None (``mesa.batch_run`` on mesa 3.5 passes
        it); a ``numpy.random.Generator`` is used as is.
    world:
        A prebuilt :class:`agglomeration.world.World` (tests, theory benchmarks); default
        ``build_world(scenario)``.
    **overrides:
        Scenario overrides, ``__`` for nesting: ``firms__initial_count=100000``,
        ``policy__delegation__WZ=0.8``.
    """

    def __init__(
        self,
        scenario: Any = "scenarios/baseline.toml",
        replicate_seed: int | None = None,
        rng: Any = None,
        world: Any = None,
        **overrides: Any,
    ) -> None:
        scenario = self._resolve_scenario(scenario, overrides)
        #: the agglomeration Scenario this model runs (``model.scenario`` is reserved by mesa 3.5)
        self.spec = scenario
        if isinstance(rng, np.random.Generator) and replicate_seed is None:
            super().__init__(rng=rng)
            self.seed_used = None
        else:
            rep = replicate_seed if replicate_seed is not None else rng
            self.seed_used = derive_seed(getattr(scenario, "seed", 0) or 0, rep)
            super().__init__(rng=self.seed_used)
        self.replicate_seed = replicate_seed
        if world is None:
            from agglomeration.world import build_world

            world = build_world(scenario)
        self.world = world
        self.fp = scenario.firms
        self.bp = scenario.behaviour
        self.pp = scenario.policy
        self.op = scenario.output
        self.t = 0
        self.running = True
        self.counts = {"entries": 0, "exits": 0, "relocations": 0, "switches": 0}
        self._agent_of: dict[int, Firm] = {}
        self._agents_materialised = False
        self._setup()
        #: cumulative entrants by region since initialisation (R,)
        self.entries_by_region = np.zeros(self.world.n_regions, dtype=np.int64)
        self.datacollector = mesa.DataCollector(
            model_reporters={name: self._reporter(name) for name in self._obs}
        )
        self.datacollector.collect(self)

    # ---------------------------------------------------------------- set-up
    @staticmethod
    def _resolve_scenario(scenario: Any, overrides: Mapping[str, Any]) -> Any:
        if isinstance(scenario, (str, Path)):
            from agglomeration.scenario import load_scenario

            scenario = load_scenario(scenario)
        elif not all(hasattr(scenario, a) for a in ("seed", "firms", "behaviour", "policy")):
            raise InputError(
                f"expected a Scenario or a scenario file path, got {type(scenario).__name__}",
                field="scenario",
            )
        if not overrides:
            return scenario
        dotted = _split_overrides(overrides)
        if hasattr(scenario, "with_overrides"):
            return scenario.with_overrides(dotted)
        return _apply_section_overrides(scenario, dotted)

    def _reporter(self, name: str):
        return lambda m: m._obs[name]

    def _setup(self) -> None:
        w = self.world
        R, S = w.n_regions, w.n_sectors
        src = getattr(self.spec, "source_path", None)
        self.policy = policy_mod.initial_policy(w, self.pp, file=src)
        self.conn = np.zeros(R)
        self.fixed_cost = np.asarray(w.fixed_cost, dtype=float).copy()
        self.wage = np.asarray(w.base_wage, dtype=float).copy()
        self.rent = np.asarray(w.base_rent, dtype=float).copy()
        #: reference factor prices (geometric means of the base values): unit costs are measured relative
        #: to them, so a domestic firm's price starts near sigma/(sigma-1) in the units of the import
        #: price index (1 = domestic reference)
        self.wage_ref = float(np.exp(np.mean(np.log(w.base_wage))))
        self.rent_ref = float(np.exp(np.mean(np.log(w.base_rent))))
        self.local_tfp = self._local_productivity()
        self.domestic_price_level = np.ones(S)
        self.import_price = np.asarray(w.gateway_import_price, dtype=float).copy()
        self._trade_key = None
        self._apply_policy_costs()
        self.conn = policy_mod.connectivity_to_ftz(w, self.phi_eff)
        # initial firms
        n0 = int(self.fp.initial_count)
        weights = self._initial_weights()
        counts = self.rng.multinomial(n0, weights.ravel() / weights.sum()).reshape(R, S)
        cells = np.repeat(np.arange(R * S), counts.ravel())
        region, sector = cells // S, cells % S
        self.firms = FirmTable(S, capacity=max(n0 + n0 // 4, 1024))
        #: the inputs of every sector (CSR lists from the io matrix), used by the link kernels
        self.inputs = market.input_lists(w.io)
        log_z = self.fp.productivity_mean + self.fp.productivity_sigma * self.rng.standard_normal(
            n0
        )
        rows = self.firms.add(sector, region, log_z, np.zeros(n0))
        self.initial_firms = n0
        self._create_agents(self.firms.fid[rows])
        self.firms.price[rows] = w.sigma[sector] / (w.sigma[sector] - 1.0)
        self._repair_links()
        for _ in range(
            5
        ):  # domestic price level <-> import prices (imports are priced relative to it)
            self._solve_prices()
            self._update_import_prices()
            self._apply_policy_costs()
        # income and (optionally) fixed-cost calibration: a few passes to a consistent initial state
        self.E = accounts.final_expenditure(
            None,
            immobile_income=w.immobile_income,
            gateway_demand=w.gateway_demand,
            final_share=w.final_share,
            factor_income_local=self.bp.factor_income_local,
            profit_spending=self.bp.profit_spending,
        )
        mkt, _ = self._prices_and_markets(
            max_passes=60, calibrate=self.bp.calibrate_fixed_costs, rtol=1e-8
        )
        # the initial accounts are written into the table (employment, land use, input cost and profit
        # of step 0, which the first observation reports); initial firms have no age, losses or
        # accumulated profit yet, so those are reset and equity is set to the initial buffer
        acc = self._accounts(mkt)
        self.employment0 = acc.employment.copy()
        self.land_use0 = acc.land_use.copy()
        s = self.firms.sector[rows]
        self.firms.age[rows] = 0
        self.firms.losses[rows] = 0
        self.firms.equity[rows] = self.fp.initial_equity * self.fixed_cost[s]
        self._last_market = mkt
        self._obs = observe.series_row(self)

    def _local_productivity(self) -> np.ndarray:
        """log theta_rs (R, S): local productivity shifter (see behaviour.local_productivity)."""
        w = self.world
        if self.bp.local_productivity == "none":
            return np.zeros((w.n_regions, w.n_sectors))
        lw = np.log(w.base_wage) - np.mean(np.log(w.base_wage))
        lq = np.log(w.base_rent) - np.mean(np.log(w.base_rent))
        return np.outer(lw, w.labour_share) + np.outer(lq, w.land_share)

    def _initial_weights(self) -> np.ndarray:
        w = self.world
        R, S = w.n_regions, w.n_sectors
        mode = self.fp.initial_distribution
        if mode == "data" and w.initial_weights is not None:
            weights = np.asarray(w.initial_weights, dtype=float)
        elif mode == "uniform":
            weights = np.ones((R, S))
        else:  # proportional_to_income, or 'data' without data: income x final share + gateway pull
            inc = np.asarray(w.immobile_income, dtype=float)
            weights = np.outer(inc / max(inc.sum(), 1e-300), np.ones(S))
        if self.fp.initial_count == 0 and weights.sum() <= 0 and not np.any(weights < 0):
            return np.ones_like(weights)  # no firm to place: an empty start is a valid edge case
        if weights.sum() <= 0 or np.any(weights < 0):
            raise InputError(
                "initial firm weights must be >= 0 with a positive total",
                field="firms.initial_distribution",
            )
        return weights

    # ------------------------------------------------------------ agent view
    # The Mesa agents are a lazy view: none is created until ``model.agents`` (or ``agents_by_type`` /
    # ``agent_types``) is first read; from then on entrants get an agent and exited firms lose theirs
    # each step.  Creating and deregistering one Python object per firm costs ~10 us and ~0.5 KB each,
    # which a batch run that never looks at the agents should not pay.  Agents draw no random numbers,
    # so results do not depend on whether (or when) the view was materialised.
    def _create_agents(self, fids: np.ndarray) -> None:
        if not self.fp.mesa_agents or not self._agents_materialised:
            return
        for fid in fids.tolist():
            self._agent_of[fid] = Firm(self, fid)

    def _materialise_agents(self) -> None:
        """Create the Firm agents of all live firms (first access to the agent view)."""
        if getattr(self, "_agents_materialised", True) or not hasattr(self, "firms"):
            return
        self._agents_materialised = True
        t = self.firms
        self._create_agents(t.fid[t.alive_rows()])

    @property
    def agents(self) -> mesa.agent.AgentSet:
        """All Firm agents (one per live firm; created on first access, see ``_create_agents``)."""
        self._materialise_agents()
        return super().agents

    @property
    def agents_by_type(self) -> dict:
        """Agents by class (materialises the lazy agent view)."""
        self._materialise_agents()
        return super().agents_by_type

    @property
    def agent_types(self) -> list[type]:
        """Agent classes present (materialises the lazy agent view)."""
        self._materialise_agents()
        return super().agent_types

    def _remove_agents(self, fids: np.ndarray) -> None:
        if not self._agent_of:
            return
        for fid in fids.tolist():
            agent = self._agent_of.pop(fid, None)
            if agent is not None:
                agent.remove()

    # ----------------------------------------------------------- policy costs
    def _apply_policy_costs(self) -> None:
        """Admin wedge, entry cost, switching cost and trade costs implied by delegation and reforms."""
        w = self.world
        pp, bp = self.pp, self.bp
        d = self.policy.delegation
        mult = self.policy.multipliers(pp.reform_effect)
        self.admin = bp.admin_cost * (1.0 - pp.delegation_admin_effect * d) * mult["admin"]
        self.entry_cost_mult = (
            bp.entry_cost * (1.0 - pp.delegation_entry_effect * d) * mult["entry"]
        )
        self.switching_cost = bp.switching_cost * mult["trade"]
        key = mult["trade"].tobytes()
        if key != self._trade_key:
            R = w.n_regions
            tau = np.array(w.tau, dtype=float, copy=True)
            tm = mult["trade"]
            if w.n_gateways:
                tau[:, :R, R:] = 1.0 + (tau[:, :R, R:] - 1.0) * tm[None, :, None]
                tau[:, R:, :R] = 1.0 + (tau[:, R:, :R] - 1.0) * tm[None, None, :]
            self.tau_eff = tau
            self.phi_eff = tau ** (1.0 - np.asarray(w.sigma)[:, None, None])
            if not np.any(tm != 1.0):
                self.phi_eff = np.asarray(w.phi, dtype=float)
            self._trade_key = key
        self.X = market.external_competition(
            self.import_price, self.tau_eff, w.sigma, w.n_regions, self.bp.external_competitors
        )

    def _update_import_prices(self) -> None:
        """Import prices in model units: the gateway price index x the sector's domestic price level.

        The data give import prices relative to the domestic reference (1 = same price as domestic
        supply).  The domestic price level of sector s is the geometric mean of its live firms' mill prices
        (last solved); foreign technology is assumed to improve at the pace of domestic technology, so
        the relative price of imports stays as in the data unless trade costs or reforms change it.
        With ``behaviour.import_prices = "absolute"`` the data prices are used as they are.
        """
        w = self.world
        if self.bp.import_prices == "absolute":
            self.import_price = np.asarray(w.gateway_import_price, dtype=float)
            return
        t = self.firms
        rows = t.alive_rows()
        s = t.sector[rows]
        n = np.bincount(s, minlength=w.n_sectors)
        logp = np.bincount(s, weights=np.log(t.price[rows]), minlength=w.n_sectors)
        level = np.where(n > 0, np.exp(logp / np.maximum(n, 1)), self.domestic_price_level)
        self.domestic_price_level = level
        self.import_price = np.asarray(w.gateway_import_price, dtype=float) * level[None, :]

    # -------------------------------------------------------------- helpers
    def current_pairs(self) -> tuple[market.Pairs, np.ndarray]:
        """Live (buyer, input) pairs and the revenue coefficient of each pair's purchases."""
        w = self.world
        t = self.firms
        pairs = market.input_pairs(t.sector, t.supplier, w.io, t.alive_rows())
        sb = t.sector[pairs.buyer]
        coef = (
            pairs.a * (w.sigma[sb] - 1.0) / w.sigma[sb] / (1.0 + self.admin[t.region[pairs.buyer]])
        )
        return pairs, coef

    def _unit_cost_inputs(self) -> dict[str, np.ndarray | None]:
        """The arguments of the Cobb-Douglas unit cost shared by price solving and entry prospects:
        sector shares, factor prices relative to their reference level, admin cost, effective iceberg
        costs, import prices and the regional productivity shifter."""
        w = self.world
        return {
            "sigma": w.sigma,
            "labour_share": w.labour_share,
            "land_share": w.land_share,
            "wage": self.wage / self.wage_ref,
            "rent": self.rent / self.rent_ref,
            "admin": self.admin,
            "tau": self.tau_eff,
            "import_price": self.import_price,
            "local_tfp": self.local_tfp,
        }

    def _solve_prices(self) -> market.PriceSystem:
        """Prices of all live firms at the fixed point of the cost system; returns the step's cost
        system, whose links the revenue fixed point reuses."""
        t = self.firms
        rows = t.alive_rows()
        system = market.price_system(
            rows,
            t.sector,
            t.region,
            t.log_productivity,
            t.supplier,
            self.inputs,
            **self._unit_cost_inputs(),
        )
        t.price[:], _ = market.solve_prices(
            rows,
            t.sector,
            t.region,
            t.log_productivity,
            t.price,
            t.supplier,
            self.inputs,
            iterations=self.bp.price_iterations,
            system=system,
        )
        return system

    def _clear(
        self,
        links: market.RevenueLinks,
        indices: market.PriceIndices,
        previous: market.MarketResult | None = None,
    ) -> market.MarketResult:
        """Clear markets at the current prices and final expenditure ``self.E``; store sales in the table."""
        w = self.world
        t = self.firms
        mkt = market.clear_markets(
            links.rows,
            t.sector,
            t.region,
            t.price,
            links,
            E=self.E,
            sigma=w.sigma,
            phi=self.phi_eff,
            X=self.X,
            iterations=max(self.bp.price_iterations, 50),
            revenue0=t.revenue,
            final0=t.final_sales,
            indices=indices,
            previous=previous,
        )
        t.revenue[:] = mkt.revenue
        t.final_sales[:] = mkt.final_sales
        return mkt

    def _prices_and_markets(
        self, max_passes: int | None = None, calibrate: bool = False, rtol: float = 1e-9
    ) -> tuple[market.MarketResult, market.RevenueLinks]:
        """Prices, then market clearing with final expenditure consistent with this step's incomes.

        Final expenditure depends on this step's wages, rents and paid-out profits, which depend on sales:
        a Gauss-Seidel loop (market -> accounts without side effects -> expenditure) runs up to
        ``behaviour.income_iterations`` times.  Without it, incomes lag one step behind location and
        relocating firms overshoot (the discrete-time cycles of NEG models).  ``calibrate`` re-sets the
        fixed costs in every pass (initialisation).
        """
        w = self.world
        t = self.firms
        system = self._solve_prices()
        rows = t.alive_rows()
        links = market.revenue_links(
            rows,
            t.sector,
            t.region,
            t.supplier,
            self.inputs,
            sigma=w.sigma,
            admin=self.admin,
            system=system,
        )
        # prices are fixed from here on: CES weights and price indices once for the income loop
        indices = market.price_indices(links, t.price, sigma=w.sigma, phi=self.phi_eff, X=self.X)
        n_iter = self.bp.income_iterations if max_passes is None else max_passes
        mkt = None
        for it in range(n_iter):
            mkt = self._clear(links, indices, previous=mkt)
            if calibrate:
                self._calibrate_fixed_costs()
            if it == n_iter - 1:
                break  # keep self.E = the expenditure this market result was computed with
            E_new = self._expenditure(self._accounts(mkt, dry=True))
            converged = np.allclose(E_new, self.E, rtol=rtol, atol=0.0)
            if converged:
                break
            self.E = E_new
        return mkt, links

    def _calibrate_fixed_costs(self) -> None:
        """f_s := the ``fixed_cost_quantile`` quantile of sector s's initial operating profits R/sigma."""
        w = self.world
        t = self.firms
        rows = t.alive_rows()
        s = t.sector[rows]
        op = t.revenue[rows] / w.sigma[s]
        f = np.asarray(w.fixed_cost, dtype=float).copy()
        order = np.lexsort((op, s))  # by sector, then operating profit
        n = np.bincount(s, minlength=w.n_sectors)
        start = np.concatenate([[0], np.cumsum(n)[:-1]])
        has = n > 0
        pick = start[has] + np.floor(self.bp.fixed_cost_quantile * (n[has] - 1)).astype(int)
        f[has] = op[order][pick]
        self.fixed_cost = f

    def _accounts(self, mkt: market.MarketResult, dry: bool = False) -> accounts.Accounts:
        """Production accounts of the live firms; ``dry``: regional aggregates only, the table untouched
        (the within-step income loop)."""
        t = self.firms
        w = self.world
        return accounts.update_accounts(
            t,
            mkt.order,
            sigma=w.sigma,
            labour_share=w.labour_share,
            land_share=w.land_share,
            fixed_cost=self.fixed_cost,
            wage=self.wage,
            rent=self.rent,
            admin=self.admin,
            input_cost_rate=mkt.input_cost_rate,
            rev_iterate=mkt.rev_iterate,
            payout=self.bp.profit_payout,
            write=not dry,
        )

    def _expenditure(self, acc) -> np.ndarray:
        w = self.world
        return accounts.final_expenditure(
            acc,
            immobile_income=w.immobile_income,
            gateway_demand=w.gateway_demand,
            final_share=w.final_share,
            factor_income_local=self.bp.factor_income_local,
            profit_spending=self.bp.profit_spending,
        )

    def _repair_links(self) -> None:
        """Give every live (buyer, input) pair without a supplier a CES-sampled one (the cheapest gateway
        import when no candidate exists; see ``sourcing.repair_links``)."""
        w = self.world
        sourcing.repair_links(
            self.firms,
            self.firms.alive_rows(),
            self.rng,
            io=w.io,
            sigma=w.sigma,
            phi=self.phi_eff,
            tau=self.tau_eff,
            import_price=self.import_price,
            import_weight=self.bp.import_weight if w.n_gateways else 0.0,
        )

    # ------------------------------------------------------------------ step
    def step(self) -> None:
        """Advance one step (one quarter by default); no arguments (mesa 3.5 contract)."""
        w = self.world
        bp, pp = self.bp, self.pp
        rng = self.rng
        t = self.firms
        self.t += 1
        self.counts = {"entries": 0, "exits": 0, "relocations": 0, "switches": 0}
        R = w.n_regions
        # 1-4: costs, prices, markets, accounts
        self._update_import_prices()
        self._apply_policy_costs()
        mkt, links = self._prices_and_markets()
        acc = self._accounts(mkt)
        self._last_market = mkt
        self._last_links = links
        self._last_E = self.E
        self._last_accounts = acc
        self._balance = self._flow_gaps(mkt, links, self.E)
        self.E = self._expenditure(acc)
        rows = t.alive_rows()
        # 5: sourcing
        if bp.sourcing_enabled:
            p_search = min(
                1.0,
                bp.search_probability
                * (1.0 + bp.information_search_boost * pp.information_sharing),
            )
            self.counts["switches"] = sourcing.search_and_switch(
                t,
                rows,
                rng,
                search_p=p_search,
                switching_cost=self.switching_cost,
                io=w.io,
                sigma=w.sigma,
                phi=self.phi_eff,
                tau=self.tau_eff,
                import_price=self.import_price,
                import_weight=self.bp.import_weight if w.n_gateways else 0.0,
            )
        # 6: learning
        emp_rs = observe.region_sector(self, "employment")
        if bp.learning_enabled:
            learning.learn(
                t.log_productivity,
                rows,
                t.sector,
                t.region,
                emp_rs,
                rng,
                drift=bp.productivity_drift,
                localisation=bp.localisation_spillover,
                jacobs=bp.jacobs_spillover,
                shock_sd=bp.productivity_shock_sd,
                size=t.employment,
                shock_size_elasticity=bp.shock_size_elasticity,
                mean_reversion=bp.productivity_mean_reversion,
                frontier=self.fp.productivity_mean + bp.productivity_drift * self.t,
            )
        # 7: factor prices
        if bp.factor_prices_enabled:
            self.wage, self.rent = update_factor_prices(
                self.wage,
                self.rent,
                acc.employment,
                acc.land_use,
                base_wage=w.base_wage,
                base_rent=w.base_rent,
                employment0=self.employment0,
                land_use0=self.land_use0,
                land_capacity=w.land_capacity,
                wage_elasticity=bp.wage_elasticity,
                rent_elasticity=bp.rent_elasticity,
                adjust=bp.factor_price_adjustment,
            )
        # 8: policy
        if pp.enabled:
            policy_mod.step_policy(self.policy, w, pp, self.conn, rng)
            self._apply_policy_costs()
        # prospects for entry and relocation
        known_q = bp.information_regions + (1.0 - bp.information_regions) * pp.information_sharing
        need_prospects = bp.entry_enabled or bp.relocation_enabled
        if need_prospects:
            I_reg = market.intermediate_demand(mkt, links, w.io)
            rhat = prospects.expected_revenue(
                mkt.A,
                mkt.P1,
                self._last_E,
                I_reg,
                io=w.io,
                phi=self.phi_eff,
                import_weight=self.bp.import_weight,
                **self._unit_cost_inputs(),
            )
        # 9: entry
        if bp.entry_enabled:
            n_s = np.bincount(t.sector[rows], minlength=w.n_sectors)
            sum_z = np.bincount(
                t.sector[rows], weights=t.log_productivity[rows], minlength=w.n_sectors
            )
            mean_z = np.where(n_s > 0, sum_z / np.maximum(n_s, 1), self.fp.productivity_mean)
            sec, lz = entry.draw_entrants(
                n_s,
                rng,
                entry_rate=np.asarray(w.entry_rate, float),
                entry_floor=bp.entry_floor,
                mean_log_z=mean_z + bp.entrant_productivity_gap,
                sd_log_z=self.fp.productivity_sigma,
            )
            known = entry.knowledge(len(sec), R, known_q, rng)
            entry_cost = np.outer(self.entry_cost_mult, self.fixed_cost)  # (R, S) CNY m
            choice = entry.choose_regions(
                sec,
                lz,
                known,
                rng,
                rhat=rhat,
                sigma=w.sigma,
                fixed_cost=self.fixed_cost,
                entry_cost=entry_cost,
                steps_per_year=bp.steps_per_year,
                logit_scale=bp.entry_logit_scale,
            )
            ok = choice >= 0
            if np.any(ok):
                s_new = sec[ok]
                new_rows = t.add(
                    s_new, choice[ok], lz[ok], self.fp.initial_equity * self.fixed_cost[s_new]
                )
                t = self.firms
                t.price[new_rows] = w.sigma[s_new] / (w.sigma[s_new] - 1.0)
                self._create_agents(t.fid[new_rows])
                self.counts["entries"] = int(ok.sum())
                self.entries_by_region += np.bincount(choice[ok], minlength=R)
        # 10: relocation
        if bp.relocation_enabled:
            cpi = prospects.consumer_price_index(mkt.P1, w.sigma, w.final_share, R)
            incumbents = rows  # entrants of this step do not reconsider
            moved = relocation.relocate(
                t,
                incumbents,
                rng,
                probability=bp.relocation_probability,
                known_q=known_q,
                rhat=rhat,
                cpi=cpi,
                real=bp.relocation_profit == "real",
                sigma=w.sigma,
                fixed_cost=self.fixed_cost,
                cost=bp.relocation_cost,
            )
            self.counts["relocations"] = len(moved)
        # 11: exit and link repair
        if bp.exit_enabled:
            gone = exit_mod.exiting_rows(
                t,
                rows,
                self.fixed_cost,
                equity_threshold=bp.exit_equity_threshold,
                max_losses=bp.exit_after_losses,
            )
            if len(gone):
                fids = t.fid[gone].copy()
                t.kill(gone)
                self._remove_agents(fids)
                self.counts["exits"] = len(gone)
        self._repair_links()
        t.maybe_compact()
        # 12: observation
        if self.t % self.op.series_every == 0:
            self._obs = observe.series_row(self)
            self.datacollector.collect(self)

    def run(self, steps: int) -> None:
        """Run ``steps`` steps (records the final step even if it is not a multiple of series_every)."""
        if isinstance(steps, bool) or not isinstance(steps, int | np.integer) or steps < 0:
            raise InputError(f"expected an integer >= 0, got {steps!r}", field="steps")
        for _ in range(int(steps)):
            self.step()
        if self.t % self.op.series_every != 0:
            self._obs = observe.series_row(self)
            self.datacollector.collect(self)

    # ----------------------------------------------------------- observation
    def flow_balance(self) -> dict[str, float]:
        """Accounting identities of the last step's market (relative gaps; ~1e-12 when they hold).

        - ``intermediate_gap``: max over firms of |intermediate sales - purchases of its buyers| / total
          revenue (sales of suppliers = input purchases of their buyers).
        - ``expenditure_gap``: |final + intermediate expenditure - (domestic sales + imports)| / total.

        Computed when the market clears (before links, entry and exit change the rows).
        """
        return dict(getattr(self, "_balance", {"intermediate_gap": 0.0, "expenditure_gap": 0.0}))

    @staticmethod
    def _flow_gaps(
        mkt: market.MarketResult, links: market.RevenueLinks, E: np.ndarray
    ) -> dict[str, float]:
        n = len(mkt.revenue)
        # purchases walked from the buyers' side (an independent traversal of the links)
        received, purchases, outside = market.link_flows(links, mkt.rev_iterate)
        inter_sales = mkt.revenue - mkt.final_sales
        total_rev = max(float(mkt.revenue.sum()), 1e-300)
        gap1 = float(np.max(np.abs(inter_sales - received))) / total_rev if n else 0.0
        spend = float(E.sum() + purchases)
        imports = float(mkt.final_imports + outside)
        gap2 = abs(spend - (float(mkt.revenue.sum()) + imports)) / max(spend, 1e-300)
        return {"intermediate_gap": gap1, "expenditure_gap": gap2}

    def series_frame(self) -> pd.DataFrame:
        """One row per recorded step (column ``step`` int) with the model-level series."""
        df = self.datacollector.get_model_vars_dataframe().reset_index(drop=True)
        df["step"] = df["step"].astype(int)
        return df

    def region_table(self) -> pd.DataFrame:
        """Region x sector long table: region, region_type, sector, firms, employment, output, lq."""
        return observe.region_table(self)

    def links_frame(self) -> pd.DataFrame:
        """Current supplier links (see docs/ARCHITECTURE.md)."""
        return observe.link_values(self)

    def firms_frame(self) -> pd.DataFrame:
        """The live FirmTable rows."""
        return observe.firms_frame(self)

    def headline_metrics(self) -> dict[str, float]:
        """Final metrics a batch stores per run."""
        return observe.headline_metrics(self)
