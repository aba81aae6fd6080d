"""The initial state of a run (ODD "Initialisation").

Initial firms are spread over regions x sectors by a multinomial draw on the initial weights
(``firms.initial_distribution``), get log productivity ~ N(``firms.productivity_mean``,
``firms.productivity_sigma``) and CES-sampled suppliers.  Prices and import prices are then solved
together (import prices are relative to the domestic price level), final expenditure is brought to
consistency with incomes (and, with ``behaviour.accounts.calibrate_fixed_costs``, each sector's fixed
cost is set to a quantile of its firms' operating profit), and the step-0 accounts are booked: the
first observation reports employment, while age, losses and accumulated profit start fresh and equity
is set to the initial buffer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from agglomeration.behaviour import accounts, costs, entry, market, sourcing
from agglomeration.behaviour.policy import connectivity_to_ftz, initial_policy
from agglomeration.errors import InputError
from agglomeration.firms import FirmTable
from agglomeration.state import ModelState
from agglomeration.world import World

if TYPE_CHECKING:  # pragma: no cover
    from agglomeration.parameters import FirmsParams
    from agglomeration.scenario import Scenario

#: passes of the initial price <-> import price loop (import prices are relative to domestic prices)
IMPORT_PRICE_PASSES = 5
#: passes and tolerance of the initial income loop (consistent initial expenditure)
INCOME_PASSES = 60
INCOME_RTOL = 1e-8


def local_productivity(world: World, mode: str) -> np.ndarray:
    """log theta_rs (R, S): the local productivity shifter (``behaviour.market.local_productivity``)."""
    if mode == "none":
        return np.zeros((world.n_regions, world.n_sectors))
    lw = np.log(world.base_wage) - np.mean(np.log(world.base_wage))
    lq = np.log(world.base_rent) - np.mean(np.log(world.base_rent))
    return np.outer(lw, world.labour_share) + np.outer(lq, world.land_share)


def initial_weights(world: World, firms: FirmsParams) -> np.ndarray:
    """(R, S) relative weights of the initial firm distribution (``firms.initial_distribution``)."""
    R, S = world.n_regions, world.n_sectors
    mode = firms.initial_distribution
    if mode == "data" and world.initial_weights is not None:
        weights = np.asarray(world.initial_weights, dtype=float)
    elif mode == "uniform":
        weights = np.ones((R, S))
    else:  # proportional_to_income, or 'data' without data
        inc = np.asarray(world.immobile_income, dtype=float)
        weights = np.outer(inc / max(inc.sum(), 1e-300), np.ones(S))
    if firms.initial_count == 0 and weights.sum() <= 0 and not np.any(weights < 0):
        return np.ones_like(weights)  # no firm to place: an empty start is a valid edge case
    if weights.sum() <= 0 or np.any(weights < 0):
        raise InputError(
            "initial firm weights must be >= 0 with a positive total",
            field="firms.initial_distribution",
        )
    return weights


def _empty_state(world: World, scenario: Scenario) -> ModelState:
    """Factor prices, policy and costs before any firm exists."""
    n0 = int(scenario.firms.initial_count)
    state = ModelState(firms=FirmTable(world.n_sectors, capacity=max(n0 + n0 // 4, 1024)))
    state.policy = initial_policy(
        world, scenario.policy, file=getattr(scenario, "source_path", None)
    )
    state.fixed_cost = np.asarray(world.fixed_cost, dtype=float).copy()
    state.wage = np.asarray(world.base_wage, dtype=float).copy()
    state.rent = np.asarray(world.base_rent, dtype=float).copy()
    # unit costs are measured relative to the geometric means of the base factor prices, so a domestic
    # firm's price starts near sigma/(sigma-1) in the units of the import price index
    state.wage_ref = float(np.exp(np.mean(np.log(world.base_wage))))
    state.rent_ref = float(np.exp(np.mean(np.log(world.base_rent))))
    state.local_tfp = local_productivity(world, scenario.behaviour.market.local_productivity)
    state.domestic_price_level = np.ones(world.n_sectors)
    state.import_price = np.asarray(world.gateway_import_price, dtype=float).copy()
    state.entries_by_region = np.zeros(world.n_regions, dtype=np.int64)
    costs.apply(state, world, scenario)
    state.connectivity = connectivity_to_ftz(world, state.costs.phi)
    return state


def initial_state(world: World, scenario: Scenario, rng: np.random.Generator) -> ModelState:
    """The state at step 0 (see the module docstring)."""
    R, S = world.n_regions, world.n_sectors
    fp = scenario.firms
    state = _empty_state(world, scenario)
    n0 = int(fp.initial_count)
    weights = initial_weights(world, fp)
    counts = rng.multinomial(n0, weights.ravel() / weights.sum()).reshape(R, S)
    cells = np.repeat(np.arange(R * S), counts.ravel())
    log_z = fp.productivity_mean + fp.productivity_sigma * rng.standard_normal(n0)
    rows = entry.add_firms(state, world, cells % S, cells // S, log_z, np.zeros(n0))
    state.initial_firms = n0
    sourcing.repair_step(state, world, scenario, rng)
    for _ in range(IMPORT_PRICE_PASSES):
        market.solve(state, world, scenario)
        costs.update_import_prices(state, world, scenario)
        costs.apply(state, world, scenario)
    state.expenditure = accounts.expenditure(None, world, scenario)
    mkt, _ = market.prices_and_markets(
        state,
        world,
        scenario,
        max_passes=INCOME_PASSES,
        calibrate=scenario.behaviour.accounts.calibrate_fixed_costs,
        rtol=INCOME_RTOL,
    )
    acc = accounts.book(state, world, scenario, mkt)
    state.employment0 = acc.employment.copy()
    state.land_use0 = acc.land_use.copy()
    t = state.firms
    t.age[rows] = 0
    t.losses[rows] = 0
    t.equity[rows] = fp.initial_equity * state.fixed_cost[t.sector[rows]]
    state.market = mkt
    # the step-0 observation (trade flows, export shares) reads the expenditure this market was
    # cleared with, as after every step; the accounts submodel overwrites it before any use in a step
    state.expenditure_used = state.expenditure
    return state
