"""Entry (submodel ``entry``): potential entrants decide whether to enter and where (nested logit).

Potential entrants of sector s per step ~ Poisson(entry_rate_s n0_s + floor) (n0_s: the sector's initial
firms; ``entry_rate`` from sectors.csv is the yearly registration rate over 4).  Each draws a log
productivity ~ N(technology frontier + gap, sd) and knows each region independently with
probability q = information_regions + (1 - information_regions) x information_sharing.  Its value of
entering region r (CNY m, prospects.py for the expected revenue and fixed cost) is

    V_r = D_r (pi1_r H1 + pi_r H2) - C_r

with pi1, pi its expected first-year and later profit per step, H1, H2 the discounted survival-weighted
steps of the first year and after it, D_r the discount of waiting ``approval_days`` and C_r the entry
cost plus the cost of the wait (``waiting_cost`` x f_s per discounted step of waiting).  Nested logit (McFadden 1978): the region is the best V_r / lambda_loc + Gumbel over the known
regions, and the entrant enters when IV / lambda + logistic > 0, IV = lambda_loc log sum_r exp(V_r /
lambda_loc) (lambda = ``logit_scale``, lambda_loc = ``location_scale``, both in years of the sector's
fixed cost; lambda_loc = lambda is one multinomial logit).  Decided entrants produce after their
approval (``Pending``).  Cost O(entrants x R), one compiled pass after the draws.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from pydantic import Field, model_validator

from agglomeration.behaviour import _entry_kernels as _k
from agglomeration.behaviour.learning import frontier, local_advantage
from agglomeration.parameters import _Section
from agglomeration.submodel import Submodel

if TYPE_CHECKING:  # pragma: no cover
    from agglomeration.scenario import Scenario
    from agglomeration.state import ModelState
    from agglomeration.world import World


def standard_gumbel(rng: np.random.Generator, size: int | tuple[int, ...]) -> np.ndarray:
    """Standard Gumbel draws -log(-log(U)), U uniform on (0, 1): numpy's ``Generator.gumbel`` recipe.

    ``Generator.gumbel`` takes one double r per draw, rejects r == 0 and returns -log(-log(1 - r)) with
    scalar libm logs; this takes the same doubles from ``rng.random`` (the same stream, redrawing the
    probability-2^-53 zeros) and evaluates the logs with numpy's vectorised log, ~10x faster.  Same
    distribution; a value may differ from ``gumbel`` in the last bit.
    """
    r = rng.random(size)
    zero = r == 0.0
    while np.any(zero):  # rejection, as in numpy: a draw of exactly 0 would give +inf
        r[zero] = rng.random(int(zero.sum()))
        zero = r == 0.0
    np.subtract(1.0, r, out=r)
    np.log(r, out=r)
    np.negative(r, out=r)
    np.log(r, out=r)
    np.negative(r, out=r)
    return r


def standard_logistic(rng: np.random.Generator, size: int) -> np.ndarray:
    """Standard logistic draws log(U / (1 - U)), U uniform on (0, 1) (one double each; exact zeros
    redrawn)."""
    r = rng.random(size)
    zero = r == 0.0
    while np.any(zero):
        r[zero] = rng.random(int(zero.sum()))
        zero = r == 0.0
    return np.log(r) - np.log1p(-r)


def knowledge(n: int, n_regions: int, q: float, rng: np.random.Generator) -> np.ndarray:
    """(n, R) bool: which regions each decision maker knows about."""
    if q >= 1.0:
        return np.ones((n, n_regions), dtype=bool)
    return rng.random((n, n_regions)) < q


@dataclass(frozen=True)
class EntryValues:
    """The terms of the entry decision (see :func:`choose_regions`), region x sector (R, S) unless
    noted: expected first-year and established revenue of a one-line firm with log productivity 0
    [CNY m per step], expected fixed cost [CNY m per step], entry cost [CNY m], and per sector (S,)
    the discounted survival-weighted number of steps in the first year and after it, the scale of the
    entry shock and of the location tastes [CNY m]; per region (R,) the discount of waiting for
    approval [-]."""

    rev_first: np.ndarray
    rev: np.ndarray
    fixed: np.ndarray
    entry_cost: np.ndarray
    h_first: np.ndarray
    h_rest: np.ndarray
    delay_discount: np.ndarray
    scale: np.ndarray
    location_scale: np.ndarray
    local: np.ndarray


def choose_regions(
    sector: np.ndarray,
    log_z: np.ndarray,
    known: np.ndarray,
    rng: np.random.Generator,
    *,
    values: EntryValues,
    sigma: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """(chosen region of each potential entrant, -1 = outside option; its expected first-year profit
    per step there, NaN when it stays out).  Nested logit (see ``_entry_kernels.best_regions``):
    draws (n, R) standard Gumbel location tastes and n standard logistic entry shocks."""
    n = len(sector)
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    R = values.rev.shape[0]
    known = np.asarray(known, dtype=bool)
    if known.shape != (n, R):
        raise ValueError(f"known must have shape ({n}, {R}), got {known.shape}")
    sigma = np.asarray(sigma, dtype=float)
    s = np.asarray(sector)
    if s.min() < 0 or s.max() >= len(sigma):
        raise ValueError("a sector index is out of range")
    growth = np.exp((sigma[s] - 1.0) * log_z)
    local = np.exp((sigma[None, :] - 1.0) * values.local)
    noise = standard_gumbel(rng, (n, R))
    entry_noise = standard_logistic(rng, n)
    f = lambda a: np.ascontiguousarray(a, dtype=float)  # noqa: E731
    return _k.best_regions(
        s,
        growth,
        np.ascontiguousarray(local),
        known,
        noise,
        entry_noise,
        f(values.rev_first),
        f(values.rev),
        f(values.fixed),
        f(values.entry_cost),
        sigma,
        f(values.h_first),
        f(values.h_rest),
        f(values.delay_discount),
        f(values.location_scale),
        f(values.scale),
    )


# ------------------------------------------------------------------------------------------- submodel
class EntryParams(_Section):
    """``[behaviour.entry]``: the pool of potential entrants and their entry and location decision."""

    enabled: bool = Field(
        True,
        description="potential entrants arrive each step",
        json_schema_extra={"source": "switch"},
    )
    floor: float = Field(
        2.0,
        ge=0.0,
        le=1e6,
        description="potential entrants per sector per step on top of the sector's pool (keeps empty "
        "sectors open to entry) [firms/step]",
        json_schema_extra={"source": "estimate: a few potential entrants per sector and quarter"},
    )
    productivity_gap: float = Field(
        0.0,
        ge=-10.0,
        le=10.0,
        description="entrants draw log productivity ~ N(frontier + gap, firms.productivity_sigma), the "
        "frontier being firms.productivity_mean plus the common drift (behaviour/learning.py) [log "
        "points]",
        json_schema_extra={
            "source": "0: entrants draw from the technology available to all (Hopenhayn 1992); "
            "incumbents are above it by selection; entrants start small through their one product "
            "line (Luttmer 2007)"
        },
    )
    logit_scale: float = Field(
        1.0,
        gt=0.0,
        le=1e3,
        description="scale of the entry shock (enter or stay out), in years of the sector's fixed "
        "cost [-]: how strongly take-up responds to the value of entry",
        json_schema_extra={
            "source": "estimate (range 0.5-3): with the balanced take-up it gives an entry elasticity "
            "to entry costs in the range of entry-reform evidence (docs/ODD.md, Entry)"
        },
    )
    location_scale: float = Field(
        0.5,
        gt=0.0,
        le=1e3,
        description="scale of the idiosyncratic location tastes, in years of the sector's fixed cost, "
        "at most logit_scale (nested logit; equal = one multinomial logit over regions and staying "
        "out) [-]",
        json_schema_extra={
            "source": "estimate (range 0.2-1): location tastes weaker than the entry shock, so the "
            "number of regions does not by itself raise entry (nested logit, McFadden 1978)"
        },
    )
    discount_rate: float = Field(
        0.10,
        gt=0.0,
        le=1.0,
        description="annual discount rate of entrants' expected profits [1/year]",
        json_schema_extra={
            "source": "estimate: cost of capital of Chinese private firms 8-12 % a year"
        },
    )
    waiting_cost: float = Field(
        0.5,
        ge=0.0,
        le=10.0,
        description="cost of each step spent waiting for approval (premises, staff and capital "
        "committed before production), in units of the sector's fixed cost per line [-]",
        json_schema_extra={
            "source": "estimate (range 0-1): Djankov et al. (2002) value the time of entry procedures "
            "at the entrepreneur's forgone income; here half the running fixed cost is committed"
        },
    )
    approval_days: float = Field(
        0.0,
        ge=0.0,
        le=3650.0,
        description="days from the entry decision to production (registration and approvals) [days]",
        json_schema_extra={"source": "0 = immediate; the delegation channel sets it (docs/ODD.md)"},
    )

    @model_validator(mode="after")
    def _nested(self):
        if self.location_scale > self.logit_scale:
            raise ValueError(
                f"location_scale ({self.location_scale}) must be at most logit_scale "
                f"({self.logit_scale}): the location tastes are nested within the entry choice"
            )
        return self


def add_firms(
    state: ModelState,
    world: World,
    sector: np.ndarray,
    region: np.ndarray,
    log_z: np.ndarray,
    equity: np.ndarray,
) -> np.ndarray:
    """Add live firms priced at the CES markup over a unit cost of 1; return their rows.

    The one place firms are created (initial firms and entrants).  Their ids are recorded in
    ``state.entered`` (the Mesa agent view follows them).
    """
    t = state.firms
    rows = t.add(sector, region, log_z, equity)
    sigma = world.sigma[sector]
    t.price[rows] = sigma / (sigma - 1.0)
    state.entered.append(t.fid[rows].copy())
    return rows


@dataclass
class Pending:
    """Entrants that decided to enter and wait for their approval (the entry-time channel).

    Arrays in decision order: sector, region, log productivity, expected first-year profit per step
    [CNY m] and the step from which the firm produces.
    """

    sector: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    region: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    log_z: np.ndarray = field(default_factory=lambda: np.zeros(0))
    expected: np.ndarray = field(default_factory=lambda: np.zeros(0))
    expected_revenue: np.ndarray = field(default_factory=lambda: np.zeros(0))
    ready: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    def __len__(self) -> int:
        return len(self.sector)

    def add(self, sector, region, log_z, expected, expected_revenue, ready) -> None:
        """Queue decided entrants (appended: release order is decision order)."""
        self.sector = np.concatenate([self.sector, np.asarray(sector, np.int64)])
        self.region = np.concatenate([self.region, np.asarray(region, np.int64)])
        self.log_z = np.concatenate([self.log_z, np.asarray(log_z, float)])
        self.expected = np.concatenate([self.expected, np.asarray(expected, float)])
        self.expected_revenue = np.concatenate(
            [self.expected_revenue, np.asarray(expected_revenue, float)]
        )
        self.ready = np.concatenate([self.ready, np.asarray(ready, np.int64)])

    def release(self, state: ModelState, world: World, scenario: Scenario) -> int:
        """Add the queued entrants whose approval is through (ready <= state.clock) to the firm table."""
        due = self.ready <= state.clock
        if not due.any():
            return 0
        s, r = self.sector[due], self.region[due]
        equity = scenario.firms.initial_equity * state.fixed_cost[s]
        rows = add_firms(state, world, s, r, self.log_z[due], equity)
        state.firms.expected_profit[rows] = self.expected[due]
        state.firms.expected_revenue[rows] = self.expected_revenue[due]
        state.entries_by_region += np.bincount(r, minlength=world.n_regions)
        keep = ~due
        for name in ("sector", "region", "log_z", "expected", "expected_revenue", "ready"):
            setattr(self, name, getattr(self, name)[keep])
        return int(due.sum())


@dataclass
class EntrantLedger:
    """Entrants' expected and realised first-year outcomes summed over a run: the consistency check of
    expectations (realised / expected close to 1).  Every entrant is recorded once, when its first year
    ends or when it exits before that, over the steps it produced."""

    firms: int = 0
    expected_profit: float = 0.0
    realised_profit: float = 0.0
    expected_revenue: float = 0.0
    realised_revenue: float = 0.0

    def record(self, table, rows: np.ndarray, steps: np.ndarray) -> None:
        """Add the entrants ``rows`` (those with an expectation) over ``steps`` produced each."""
        rows = np.asarray(rows)
        keep = np.isfinite(table.expected_profit[rows])
        rows, steps = rows[keep], np.broadcast_to(steps, keep.shape)[keep]
        self.firms += len(rows)
        self.expected_profit += float(np.sum(table.expected_profit[rows] * steps))
        self.realised_profit += float(np.sum(table.first_year_profit[rows]))
        self.expected_revenue += float(np.sum(table.expected_revenue[rows] * steps))
        self.realised_revenue += float(np.sum(table.first_year_revenue[rows]))

    def ratios(self) -> tuple[float, float]:
        """(realised / expected first-year profit, the same for revenue); NaN before any record."""
        if self.firms == 0:
            return float("nan"), float("nan")
        p = self.realised_profit / self.expected_profit if self.expected_profit else float("nan")
        r = self.realised_revenue / self.expected_revenue if self.expected_revenue else float("nan")
        return p, r


def horizons(
    hazard: np.ndarray, discount_rate: float, steps_per_year: int
) -> tuple[np.ndarray, np.ndarray]:
    """(first-year, later) discounted survival-weighted steps per sector: with d = (1 - hazard) /
    (1 + r) per step (r the per-step discount rate), sum_{t < T} d^t and sum_{t >= T} d^t."""
    r = (1.0 + discount_rate) ** (1.0 / steps_per_year) - 1.0
    d = (1.0 - np.asarray(hazard, dtype=float)) / (1.0 + r)
    total = 1.0 / (1.0 - d)
    first = (1.0 - d**steps_per_year) / (1.0 - d)
    return first, total - first


def waiting_steps(delay: np.ndarray, rate: float) -> np.ndarray:
    """Discounted number of steps spent waiting [steps]: sum_{k < delay} (1 + rate)^-k, continuous in
    ``delay`` (the annuity formula)."""
    delay = np.asarray(delay, dtype=float)
    if rate <= 0:
        return delay
    return (1.0 - (1.0 + rate) ** (-delay)) / (1.0 - 1.0 / (1.0 + rate))


def entry_values(state: ModelState, world: World, scenario: Scenario) -> EntryValues:
    """The terms of this step's entry decisions from the prospects and costs."""
    p = scenario.behaviour.entry
    T = scenario.behaviour.steps_per_year
    pro = state.prospects
    f = state.fixed_cost
    h_first, h_rest = horizons(state.beliefs.hazard, p.discount_rate, T)
    r = (1.0 + p.discount_rate) ** (1.0 / T) - 1.0
    delay = np.full(world.n_regions, p.approval_days * T / 365.0)
    unit = T * f
    if np.any(f <= 0):  # no fixed cost (theory benchmarks): a year of mean operating profit instead
        mean_profit = pro.revenue.mean(axis=0) / world.sigma
        unit = np.where(f > 0, unit, T * np.maximum(mean_profit, 1e-12))
    return EntryValues(
        rev_first=pro.revenue_first,
        rev=pro.revenue,
        fixed=pro.fixed,
        entry_cost=np.outer(state.costs.entry_cost + p.waiting_cost * waiting_steps(delay, r), f),
        h_first=h_first,
        h_rest=h_rest,
        delay_discount=(1.0 + r) ** (-delay),
        scale=p.logit_scale * unit,
        location_scale=p.location_scale * unit,
        local=local_advantage(state, world, scenario),
    )


def pool_size(state: ModelState, world: World, scenario: Scenario) -> np.ndarray:
    """Expected potential entrants per sector this step: the sector's pool rate x its initial firms
    (``World.entry_rate``, per step) plus the floor [firms/step]."""
    return (
        np.asarray(world.entry_rate, float) * state.initial_by_sector
        + scenario.behaviour.entry.floor
    )


def step(state: ModelState, world: World, scenario: Scenario, rng: np.random.Generator):
    """Pending entrants whose approval came through start producing; new potential entrants decide."""
    p = scenario.behaviour.entry
    if not p.enabled:
        return None
    entered = state.pending.release(state, world, scenario)
    fp = scenario.firms
    counts = rng.poisson(pool_size(state, world, scenario))
    sec = np.repeat(np.arange(world.n_sectors), counts)
    centre = frontier(state, scenario) + p.productivity_gap
    lz = centre + fp.productivity_sigma * rng.standard_normal(len(sec))
    known = knowledge(len(sec), world.n_regions, state.prospects.known_q, rng)
    values = entry_values(state, world, scenario)
    choice, expected = choose_regions(sec, lz, known, rng, values=values, sigma=world.sigma)
    ok = choice >= 0
    lz[ok] += values.local[choice[ok], sec[ok]]  # entrants start from the local frontier
    delay = p.approval_days * scenario.behaviour.steps_per_year / 365.0
    wait = np.floor(delay) + (rng.random(int(ok.sum())) < delay - np.floor(delay))
    growth = np.exp((world.sigma[sec[ok]] - 1.0) * lz[ok])  # lz includes the local advantage
    expected_rev = growth * values.rev_first[choice[ok], sec[ok]]
    state.pending.add(
        sec[ok], choice[ok], lz[ok], expected[ok], expected_rev, state.clock + wait.astype(np.int64)
    )
    entered += state.pending.release(state, world, scenario)
    return {"entries": entered, "potential_entrants": len(sec), "entry_decisions": int(ok.sum())}


SUBMODEL = Submodel(
    name="entry",
    step=step,
    summary="potential entrants (Poisson) choose a region by multinomial logit on expected profit net "
    "of the entry cost, or stay out",
    params=EntryParams,
    counters=("entries", "potential_entrants", "entry_decisions"),
    legacy={
        "entry_enabled": "enabled",
        "entry_floor": "floor",
        "entrant_productivity_gap": "productivity_gap",
        "entry_logit_scale": "logit_scale",
    },
)
