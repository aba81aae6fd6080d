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

import copy
import warnings
from collections import deque
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Literal

import numpy as np
from scipy import optimize, special

from agglomeration.behaviour import accounts, costs, entry, market, prospects, sourcing
from agglomeration.behaviour.learning import frontier, local_advantage
from agglomeration.behaviour.lines import line_events
from agglomeration.behaviour.policy import connectivity_to_ftz, initial_policy
from agglomeration.divergence import check_economy
from agglomeration.errors import InputError
from agglomeration.firms import FirmTable
from agglomeration.observe import region_sector
from agglomeration.state import ModelState
from agglomeration.world import World

if TYPE_CHECKING:  # pragma: no cover
    from agglomeration.parameters import FirmsParams
    from agglomeration.scenario import Scenario

#: passes of the initial price <-> import price loop (import prices are relative to domestic prices)
IMPORT_PRICE_PASSES = 5
#: relative change of the import prices at which the initial market counts as consistent with them
IMPORT_PRICE_RTOL = 1e-6
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
    slots = scenario.behaviour.sourcing.max_suppliers
    state = ModelState(
        firms=FirmTable(world.n_sectors, capacity=max(n0 + n0 // 4, 1024), slots=slots)
    )
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
    state.location_shift = np.zeros((world.n_regions, world.n_sectors))
    state.domestic_price_level = np.ones(world.n_sectors)
    state.import_price = np.asarray(world.gateway_import_price, dtype=float).copy()
    state.entries_by_region = np.zeros(world.n_regions, dtype=np.int64)
    costs.apply(state, world, scenario)
    state.connectivity = connectivity_to_ftz(world, state.costs.phi)
    return state


#: steps of the demographic spin-up (several mean firm lifetimes)
DEMOGRAPHY_STEPS = 200


def initial_demography(
    rng: np.random.Generator,
    n: int,
    *,
    birth_rate: float,
    death_rate: float,
    hazard: np.ndarray,
    lines: bool,
    steps: int = DEMOGRAPHY_STEPS,
) -> tuple[np.ndarray, np.ndarray]:
    """(product lines, age in steps) of ``n`` initial firms from the stationary demography of the firm
    life cycle: ``steps`` steps of the line process (behaviour/lines.py, every firm growing) on a
    population of constant size in which an exiting firm is replaced by an entrant with one line and
    age 0.  Firms exit when they lose their last line or, on top of that, with the probability that
    brings their total exit hazard to ``hazard`` (per firm, per step; the entrants' prior).  So the
    initial firms have the line and age distribution the model's own dynamics keep (no transient from
    an imposed size law)."""
    hazard = np.broadcast_to(np.asarray(hazard, dtype=float), (n,))
    count = np.ones(n, dtype=np.int64)
    age = np.zeros(n, dtype=np.int64)
    if n == 0:
        return count.astype(np.int32), age.astype(np.int32)
    grow = np.ones(n, dtype=bool)
    for _ in range(steps):
        if lines:
            births, deaths = line_events(
                count, grow, rng, birth_rate=birth_rate, death_rate=death_rate
            )
            count += births - deaths
        lost = count <= 0
        extra = np.clip(hazard - lost.mean(), 0.0, 1.0)  # other exits make up the total hazard
        gone = lost | (rng.random(n) < extra)
        count[gone] = 1
        age += 1
        age[gone] = 0
    return count.astype(np.int32), age.astype(np.int32)


def _settle_market(state: ModelState, world: World, scenario: Scenario, calibrate: bool):
    """Prices and an income-consistent market at the current links, with import prices consistent with
    the domestic prices they are relative to (``behaviour.market.import_prices``; else step 1's costs
    submodel would move them, by 75 % in the baseline after the selection of survivors); ``calibrate``:
    set the fixed costs to the operating-profit quantile in every pass
    (``accounts.calibrate_fixed_costs``)."""

    def settle():
        return market.prices_and_markets(
            state,
            world,
            scenario,
            max_passes=INCOME_PASSES,
            calibrate=calibrate,
            rtol=INCOME_RTOL,
        )

    result = settle()
    check_economy(state, world, scenario, result[0], initialising=True)
    for _ in range(IMPORT_PRICE_PASSES):
        old = np.array(state.import_price, dtype=float, copy=True)
        costs.update_import_prices(state, world, scenario)
        costs.apply(state, world, scenario)
        if np.allclose(state.import_price, old, rtol=IMPORT_PRICE_RTOL, atol=0.0):
            break
        result = settle()
        check_economy(state, world, scenario, result[0], initialising=True)
    return result


#: simulated potential entrants per sector in the balance calibration (common across candidate f)
BALANCE_DRAWS = 200
#: rounds of (balance fixed costs -> settle the market at them)
BALANCE_ROUNDS = 2
#: weight of the new balance in each round's log fixed cost (the rest keeps the previous round's)
BALANCE_DAMPING = 1.0


#: the fixed costs :meth:`FlowBalance.solve` searches: f_ref x F_LOW to f_ref x F_HIGH
F_LOW, F_HIGH = 1e-8, 1e8
Unbalanced = Literal["pool too small", "pool too large"]
#: what each reason of :meth:`FlowBalance.why_unbalanced` means, as the warning says it
UNBALANCED: dict[str, str] = {
    "pool too small": "their pool of potential entrants (sectors.csv entry_rate x "
    "behaviour.entry.pool_scale, plus behaviour.entry.floor) is below the exits at "
    "behaviour.prospects.hazard_prior even at a vanishing fixed cost",
    "pool too large": "more of their pool of potential entrants (sectors.csv entry_rate x "
    "behaviour.entry.pool_scale, plus behaviour.entry.floor) enters than the exits at "
    "behaviour.prospects.hazard_prior even at a prohibitive fixed cost (the entry cost and the logit "
    "scales are in units of it, so the take-up does not fall to 0)",
}


@dataclass(frozen=True)
class FlowBalance:
    """One sector's expected entry flow at the initial state as a function of its fixed cost per line f
    [CNY m per step], and the exit flow it must match; see :func:`balance_fixed_costs`."""

    pool: float  #: potential entrants per step
    exits: float  #: exits per step at the exit hazard of the data (the entrants' prior)
    inputs: dict  #: entry.expected_values arguments for this sector (R, 1), at f_ref
    unit: float  #: the logit scales' money unit at f_ref [CNY m]
    scale: float  #: logit_scale [years of fixed cost]
    nest: float  #: location_scale / logit_scale (nested logit dissimilarity)
    known: np.ndarray  #: (draws, R) regions each simulated entrant knows
    signal: np.ndarray  #: (draws,) standardised productivity signals of the simulated entrants
    known_share: float  #: entry.known_productivity_share
    f_ref: float  #: the fixed cost at which ``inputs`` were evaluated

    def entries(self, f: float) -> float:
        """Expected entrants per step: pool x mean nested-logit take-up (entry.py)."""
        k = f / self.f_ref
        fixed, entry_cost = self.inputs["fixed"] * k, self.inputs["entry_cost"] * k
        # entry.values_on_grid's value at these costs, from the terms that do not depend on them
        grid = self._terms.value(fixed, entry_cost)[:, :, 0]  # (G, R)
        v = self._at_signals(grid)
        v = v / (self.scale * self.unit * k)  # V / lambda, (draws, R)
        u = np.where(self.known, v / self.nest, -np.inf)
        top = u.max(axis=1)
        some = np.isfinite(top)
        iv = np.full(len(u), -np.inf)
        iv[some] = self.nest * (top[some] + np.log(np.exp(u[some] - top[some, None]).sum(axis=1)))
        return self.pool * float(np.mean(0.5 * (1.0 + np.tanh(0.5 * iv))))  # logistic(iv)

    @cached_property
    def _terms(self) -> entry.ValueTerms:
        """The cost-free terms of entry.values_on_grid (the same for every f :meth:`solve` tries)."""
        return entry.value_terms(**entry.grid_inputs(self.inputs, self.known_share))

    @cached_property
    def _nodes(self) -> tuple[np.ndarray, ...]:
        """np.interp's bracketing of the (clipped) signals on SIGNAL_GRID: (j, x - xp[j], x - xp[j + 1],
        xp[j + 1] - xp[j], the draws whose x is a node, their node, the draws whose x is NaN), the same
        for every f."""
        xp = entry.SIGNAL_GRID
        x = np.clip(self.signal, xp[0], xp[-1])
        j = np.minimum(np.searchsorted(xp, x, side="right") - 1, len(xp) - 2)
        last = x >= xp[-1]
        node = np.where(last, len(xp) - 1, j)
        exact = np.flatnonzero(last | (x == xp[j]))
        return (
            j,
            (x - xp[j])[:, None],
            (x - xp[j + 1])[:, None],
            (xp[j + 1] - xp[j])[:, None],
            exact,
            node[exact],
            np.flatnonzero(np.isnan(x)),
        )

    def _at_signals(self, grid: np.ndarray) -> np.ndarray:
        """(draws, R) ``np.interp(x, SIGNAL_GRID, grid[:, r])`` for every region r at once, with
        np.interp's arithmetic: slope (fp[j+1] - fp[j]) / (xp[j+1] - xp[j]) times (x - xp[j]) plus fp[j];
        the node's value at a node; from the upper node when that is NaN (then fp[j] if flat)."""
        j, below, above, width, exact, node, nan_x = self._nodes
        lo, hi = grid[j], grid[j + 1]
        with np.errstate(all="ignore"):  # np.interp does not warn on inf or NaN either
            slope = (hi - lo) / width
            v = slope * below + lo
            nan = np.isnan(v)
            if nan.any():
                v = np.where(nan, slope * above + hi, v)
                v = np.where(np.isnan(v) & (lo == hi), lo, v)
        if len(exact):  # signals on a node (clipped ones): the node's value
            v[exact] = grid[node]
        if len(nan_x):  # np.interp of a NaN is NaN, whatever the grid
            v[nan_x] = np.nan
        return v

    def _log_bounds(self) -> tuple[float, float]:
        """log of the fixed costs :meth:`solve` searches between, f_ref x F_LOW and f_ref x F_HIGH."""
        return np.log(self.f_ref * F_LOW), np.log(self.f_ref * F_HIGH)

    def _excess(self, log_f: float) -> float:
        """Expected entrants less exits per step at the fixed cost exp(log_f)."""
        return self.entries(float(np.exp(log_f))) - self.exits

    def solve(self) -> float | None:
        """The f where entries(f) = exits (Brent's method in log f, to about 1e-15 relative; entries
        fall with f, so the root is unique); None when no f in f_ref x [F_LOW, F_HIGH] does
        (:meth:`why_unbalanced`).  About 15 evaluations of :meth:`entries` (bisection to machine
        precision took about 58)."""
        lo, hi = self._log_bounds()
        if self._excess(lo) <= 0 or self._excess(hi) >= 0:
            return None
        root = optimize.brentq(self._excess, lo, hi, xtol=1e-13, rtol=4 * np.finfo(float).eps)
        return float(np.exp(root))

    def why_unbalanced(self) -> Unbalanced:
        """Why :meth:`solve` finds no root (the same test at the same end): 'pool too small' when even
        the smallest fixed cost attracts no more entrants than the exits, else 'pool too large'.  A
        pool can be too large because the entry cost and the logit scales are in units of f: as f
        grows, the value of entry over the scale tends to a constant, so the take-up has a positive
        floor, and a large pool times that floor exceeds the exits whatever f."""
        return "pool too small" if self._excess(self._log_bounds()[0]) <= 0 else "pool too large"


def flow_balances(
    state: ModelState, world: World, scenario: Scenario, rng: np.random.Generator
) -> list[FlowBalance | None]:
    """Per sector the expected entry flow at the current (initial) state as a function of f, as
    behaviour/entry.py decides it (the prospects of this market, BALANCE_DRAWS simulated potential
    entrants' knowledge of regions), and the exits at the data hazard; None for a sector without firms
    or fixed cost."""
    bp = scenario.behaviour
    t = state.firms
    rows = t.alive_rows()
    S, R = world.n_sectors, world.n_regions
    saved = copy.deepcopy(state.beliefs)
    state.expenditure_used = state.expenditure
    state.prospects = prospects.evaluate(state, world, scenario)  # updates a copy of the beliefs
    state.beliefs = saved
    inputs = entry.value_inputs(state, world, scenario)
    unit = entry.scale_unit(state, world, scenario)
    pool = entry.pool_size(state, world, scenario)
    n = np.bincount(t.sector[rows], minlength=S)
    u_known = rng.random((S, BALANCE_DRAWS, R))
    signals = rng.standard_normal((S, BALANCE_DRAWS))
    out: list[FlowBalance | None] = []
    for s in range(S):
        f = float(state.fixed_cost[s])
        if n[s] == 0 or f <= 0:
            out.append(None)
            continue
        one = slice(s, s + 1)
        # (R, S) terms (horizons are per region: the discount rate is) to this sector's (R, 1)
        kw = {
            k: (v[:, one] if np.ndim(v) == 2 and np.shape(v)[1] == S else v)
            for k, v in inputs.items()
        }
        kw.update(sigma=inputs["sigma"][one])
        out.append(
            FlowBalance(
                pool=float(pool[s]),
                exits=float(state.beliefs.hazard[s] * n[s]),
                inputs=kw,
                unit=float(unit[s]),
                scale=bp.entry.logit_scale,
                nest=bp.entry.location_scale / bp.entry.logit_scale,
                known=u_known[s] < state.costs.known_share,
                signal=signals[s],
                known_share=bp.entry.known_productivity_share,
                f_ref=f,
            )
        )
    return out


def _truncated_normal(rng, mean, sd, lower):
    """Draws from N(mean, sd) truncated below at ``lower`` (inverse CDF; arrays of one shape)."""
    if sd <= 0:
        return np.maximum(mean, lower)
    lo = special.ndtr((lower - mean) / sd)
    u = lo + (1.0 - lo) * rng.random(np.shape(mean))
    return np.maximum(mean + sd * special.ndtri(np.minimum(u, 1.0 - 1e-16)), lower)


def select_survivors(
    state: ModelState, world: World, scenario: Scenario, rng: np.random.Generator
) -> int:
    """Initial firms are survivors of earlier selection: each firm whose operating profit does not cover
    its fixed costs (f_s x (lines + relationships)) in the current market redraws its log productivity
    from the entrants' distribution N(F + A_rs, productivity_sigma) (learning.local_advantage) truncated
    below at its break-even productivity; region, sector and lines are unchanged.  Without it the
    initial firms would be a random draw of entrants, half of them below the free-entry cut-off.
    Returns the number of redrawn firms."""
    from agglomeration.behaviour.sourcing import relationship_units

    t = state.firms
    rows = t.alive_rows()
    sec = t.sector[rows]
    units = t.lines[rows] + scenario.behaviour.sourcing.relationship_cost * relationship_units(
        state, world, scenario, rows
    )
    f = state.fixed_cost[sec]
    op = t.revenue[rows] / world.sigma[sec]
    lose = (op < f * units) & (f > 0)
    if not lose.any():
        return 0
    losers = rows[lose]
    cut = t.log_productivity[losers] + np.log(
        f[lose] * units[lose] / np.maximum(op[lose], 1e-300)
    ) / (world.sigma[sec[lose]] - 1.0)
    mu = (
        frontier(state, scenario)
        + local_advantage(state, world, scenario)[t.region[losers], sec[lose]]
    )
    t.log_productivity[losers] = _truncated_normal(rng, mu, scenario.firms.productivity_sigma, cut)
    return len(losers)


def balance_fixed_costs(
    state: ModelState,
    world: World,
    scenario: Scenario,
    rng: np.random.Generator,
    damping: float = 1.0,
) -> dict[str, Unbalanced]:
    """Set each sector's fixed cost per line f_s so that, at the initial state, the expected entry flow
    equals the exits at the data exit hazard (``behaviour.prospects.hazard_prior``): the free-entry
    condition of a stationary state (Hopenhayn 1992) with a finite pool of potential entrants, whose
    take-up is then exits / pool.  Entry falls with f, so the root is unique.  Returns the sectors where
    no f balances the flows (they keep their current f) with the reason
    (:meth:`FlowBalance.why_unbalanced`)."""
    failed: dict[str, Unbalanced] = {}
    for s, balance in enumerate(flow_balances(state, world, scenario, rng)):
        if balance is None:
            continue
        f = balance.solve()
        if f is None:
            failed[str(world.sector_ids[s])] = balance.why_unbalanced()
        else:  # damped in logs: selection and the market respond to f (initial_state iterates)
            old = state.fixed_cost[s]
            state.fixed_cost[s] = old ** (1.0 - damping) * f**damping
    return failed


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
    t = state.firms
    state.initial_firms = n0
    state.firms_start_by_region = np.bincount(cells // S, minlength=R)
    state.exits_by_region = np.zeros(R, dtype=np.int64)
    state.relocations_od = np.zeros((R, R), dtype=np.int64)
    state.initial_by_sector = np.bincount(t.sector[rows], minlength=S).astype(float)
    state.beliefs = prospects.initial_beliefs(world, scenario)
    lp = scenario.behaviour.lines
    t.lines[rows], ages = initial_demography(
        rng,
        n0,
        birth_rate=lp.birth_rate,
        death_rate=lp.death_rate,
        hazard=state.beliefs.hazard[t.sector[rows]],
        lines=lp.enabled,
    )
    # not keyed: the start is the same whatever solver.random_streams says
    sourcing.repair_step(state, world, scenario, rng, keyed=False)
    for _ in range(IMPORT_PRICE_PASSES):
        market.solve(state, world, scenario)
        costs.update_import_prices(state, world, scenario)
        costs.apply(state, world, scenario)
    state.expenditure = accounts.expenditure(None, world, scenario)
    mode = scenario.behaviour.accounts.calibrate_fixed_costs
    mkt, links = _settle_market(state, world, scenario, calibrate=mode != "none")
    # initial firms sit around their local frontier (learning.local_advantage), as incumbents revert to it
    state.market, state.links = mkt, links
    accounts.book(state, world, scenario, mkt)
    advantage = local_advantage(state, world, scenario)
    if np.any(advantage):
        t.log_productivity[rows] += advantage[t.region[rows], t.sector[rows]]
        mkt, links = _settle_market(state, world, scenario, calibrate=mode != "none")
    if scenario.behaviour.sourcing.max_suppliers > 1:
        sourcing.fill_suppliers(state, world, scenario, rng)
        mkt, links = _settle_market(state, world, scenario, calibrate=mode != "none")
    if mode == "balance":
        for _ in range(BALANCE_ROUNDS):
            state.market, state.links = mkt, links
            accounts.book(state, world, scenario, mkt)
            failed = balance_fixed_costs(state, world, scenario, rng, damping=BALANCE_DAMPING)
            mkt, links = _settle_market(state, world, scenario, calibrate=False)
            state.market, state.links = mkt, links
            accounts.book(state, world, scenario, mkt)
            if select_survivors(state, world, scenario, rng):
                mkt, links = _settle_market(state, world, scenario, calibrate=False)
        for reason in sorted(set(failed.values())):
            names = [name for name, r in failed.items() if r == reason]
            warnings.warn(
                "no fixed cost balances entry and exit at the initial state in sector(s) "
                f"{', '.join(names)}: {UNBALANCED[reason]}; their fixed cost stays where the "
                "previous calibration left it (the quantile calibration unless an earlier round "
                "balanced them)",
                stacklevel=2,
            )
    acc = accounts.book(state, world, scenario, mkt)
    state.employment0 = acc.employment.copy()
    state.land_use0 = acc.land_use.copy()
    t.age[rows] = ages
    t.losses[rows] = 0
    t.first_year_profit[rows] = 0.0
    # the initial buffer plus the earnings an incumbent of its age has retained (accounts.py)
    retained = (1.0 - scenario.behaviour.accounts.profit_payout) * np.maximum(t.profit[rows], 0.0)
    t.equity[rows] = (
        fp.initial_equity * state.fixed_cost[t.sector[rows]] * t.lines[rows] + retained * ages
    )
    state.market, state.links = mkt, links
    # the step-0 observation (trade flows, export shares) reads the expenditure this market was
    # cleared with, as after every step; the accounts submodel overwrites it before any use in a step
    state.expenditure_used = state.expenditure
    return state


@dataclass
class CountController:
    """Keeps each sector's firm count at its initial count during the burn-in by adjusting its fixed cost
    per line: log f_s += gain x log(n_s / n0_s) + damping x (entries_s - exits_s) / n0_s each step (a
    proportional-derivative controller on the count; more firms than wanted raise f, which lowers entry
    and raises exit).  The balance at initialisation (``balance_fixed_costs``) is only a first guess, since
    the initial distribution of productivity, equity and links is not the stationary one; the controller
    finds the fixed costs at which the initial count is a stationary state of the model's own dynamics.

    With ``cells`` (R, S) (``behaviour.accounts.calibrate_locations``) it also keeps each sector's
    distribution over regions: the region x sector productivity shifter ``state.location_shift`` (added
    to ``state.local_tfp``) moves by -location_gain x (log((n_rs + 1/2)/(n0_rs + 1/2)) minus its mean over
    the sector's regions, weighted by n0_rs), at most ``MAX_LOCATION_STEP`` a step: the location
    fundamentals that make the data's distribution stationary.  With ``location_damping`` d > 0 it also
    moves by -d x the change of that gap since the last step (a proportional term: the integral rule
    alone overshoots, since firm counts answer the shifters with a lag).  The sector level stays with
    f_s.
    It stops ``hold`` steps before the burn-in ends, so the observed run starts with constant fixed costs
    and shifters from a state that has already run with them.  With ``average`` > 0 it leaves them at
    their means over its last ``average`` steps (geometric for the fixed costs) instead of their last
    values: the controller is a stochastic approximation driven by the noise of entry and exit, and the
    mean of its iterates estimates the stationary values with less noise (Polyak and Juditsky 1992).
    Fewer controlled steps than ``average`` are all averaged; the model caps ``average`` at the
    controlled steps after the burn-in's wage and rent reset, so the mean does not mix two regimes."""

    target: np.ndarray  #: (S,) initial firms per sector
    gain: float = 0.3
    damping: float = 6.0
    hold: int = 0
    cells: np.ndarray | None = None  #: (R, S) initial firms per region and sector
    location_gain: float = 0.1
    location_damping: float = 0.0
    average: int = 0  #: controlled steps at the end whose mean the controller leaves
    _last: np.ndarray | None = None
    _last_gap: np.ndarray | None = None  #: the cells' gaps net of their sectors' means, last step
    _log_f: deque[np.ndarray] = field(default_factory=deque)
    _shift: deque[np.ndarray] = field(default_factory=deque)

    def update(self, state: ModelState, steps_left: int) -> None:
        """Adjust ``state.fixed_cost`` (and the location shifters) after a burn-in step
        (``steps_left`` burn-in steps remain)."""
        t = state.firms
        rows = t.alive_rows()
        n = np.bincount(t.sector[rows], minlength=len(self.target)).astype(float)
        last = self._last if self._last is not None else n
        self._last = n
        if steps_left < self.hold:
            return
        ok = (self.target > 0) & (state.fixed_cost > 0)
        # a sector that died out counts as half a firm: its fixed cost keeps falling until entrants return
        step = self.gain * np.log(
            np.where(ok, np.maximum(n, 0.5), 1.0) / np.where(ok, self.target, 1.0)
        )
        step += self.damping * (n - last) / np.maximum(self.target, 1.0)
        state.fixed_cost = np.where(
            ok, state.fixed_cost * np.exp(np.clip(step, -0.2, 0.2)), state.fixed_cost
        )
        if self.cells is not None:
            self._locate(state)
        if self.average > 0:
            if self._log_f.maxlen != self.average:
                self._log_f = deque(maxlen=self.average)
                self._shift = deque(maxlen=self.average)
            with np.errstate(divide="ignore"):  # a sector without fixed cost stays at 0
                self._log_f.append(np.log(state.fixed_cost))
            if self.cells is not None:
                self._shift.append(state.location_shift.copy())
            if steps_left == self.hold:  # the last controlled step: leave the means
                self._leave_means(state)

    def _leave_means(self, state: ModelState) -> None:
        state.fixed_cost = np.exp(np.mean(self._log_f, axis=0))
        if self._shift:
            mean = np.mean(self._shift, axis=0)
            state.local_tfp = state.local_tfp + (mean - state.location_shift)
            state.location_shift = mean

    def _locate(self, state: ModelState) -> None:
        R, S = self.cells.shape
        n_rs = region_sector(state.firms, R, S, None)
        has = self.cells > 0
        gap = np.where(has, np.log((n_rs + 0.5) / (self.cells + 0.5)), 0.0)
        weight = np.where(has, self.cells, 0.0)
        mean = (gap * weight).sum(axis=0) / np.maximum(weight.sum(axis=0), 1e-300)
        net = np.where(has, gap - mean[None, :], 0.0)
        move = np.where(has, -self.location_gain * net, 0.0)
        if self.location_damping > 0.0:
            if self._last_gap is not None:
                move = move - self.location_damping * (net - self._last_gap)
            self._last_gap = net
        move = np.clip(move, -MAX_LOCATION_STEP, MAX_LOCATION_STEP)
        state.location_shift = state.location_shift + move
        state.local_tfp = state.local_tfp + move


#: largest move of a location shifter in one burn-in step [log points]
MAX_LOCATION_STEP = 0.05
