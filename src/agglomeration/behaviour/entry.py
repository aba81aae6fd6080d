"""Entry (submodel ``entry``): Poisson potential entrants choose a region by multinomial logit.

Potential entrants of sector s per step ~ Poisson(entry_rate_s n_s + entry_floor) (n_s live firms of s).
Each draws a log productivity ~ N(mean of its sector's incumbents + gap, sd) and knows each region independently with probability
q = information_regions + (1 - information_regions) x information_sharing.  Its utility of region r is

    u_r = (T_y pi_r - C_r) / (lambda f_s) + Gumbel noise,   u_0 = 0 + Gumbel noise (outside option)

with pi_r its expected profit per step (prospects.py), T_y = steps per year (one year of profit is weighed
against the one-off entry cost), C_r = entry cost (units of f_s, lowered by delegation and reforms), and
lambda the logit scale.  The entrant takes the best option; cost O(entrants x R), one compiled pass
after the draws.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from pydantic import Field

from agglomeration.behaviour import _entry_kernels as _k
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


def draw_entrants(
    n_by_sector: np.ndarray,
    rng: np.random.Generator,
    *,
    entry_rate: np.ndarray,
    entry_floor: float,
    mean_log_z: np.ndarray,
    sd_log_z: float,
) -> tuple[np.ndarray, np.ndarray]:
    """(sector, log productivity) of this step's potential entrants; ``mean_log_z`` (S,) per sector."""
    counts = rng.poisson(entry_rate * n_by_sector + entry_floor)
    sector = np.repeat(np.arange(len(counts)), counts)
    log_z = np.asarray(mean_log_z)[sector] + sd_log_z * rng.standard_normal(len(sector))
    return sector, log_z


def knowledge(n: int, n_regions: int, q: float, rng: np.random.Generator) -> np.ndarray:
    """(n, R) bool: which regions each decision maker knows about."""
    if q >= 1.0:
        return np.ones((n, n_regions), dtype=bool)
    return rng.random((n, n_regions)) < q


def choose_regions(
    sector: np.ndarray,
    log_z: np.ndarray,
    known: np.ndarray,
    rng: np.random.Generator,
    *,
    rhat: np.ndarray,
    sigma: np.ndarray,
    fixed_cost: np.ndarray,
    entry_cost: np.ndarray,
    steps_per_year: int,
    logit_scale: float,
) -> np.ndarray:
    """Chosen region of each potential entrant, -1 = outside option (no entry).

    ``rhat`` (R, S) expected revenue at log productivity 0; ``entry_cost`` (R, S) CNY m.
    """
    n = len(sector)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    R = rhat.shape[0]
    known = np.asarray(known, dtype=bool)
    if known.shape != (n, R):
        raise ValueError(f"known must have shape ({n}, {R}), got {known.shape}")
    sigma = np.asarray(sigma, dtype=float)
    s = np.asarray(sector)
    if s.min() < 0 or s.max() >= len(sigma):
        raise ValueError("a sector index is out of range")
    growth = np.exp((sigma[s] - 1.0) * log_z)
    noise = standard_gumbel(rng, (n, R))
    noise_outside = standard_gumbel(rng, n)
    return _k.best_regions(
        s,
        growth,
        known,
        noise,
        noise_outside,
        np.asarray(rhat, dtype=float),
        sigma,
        np.asarray(fixed_cost, dtype=float),
        np.asarray(entry_cost, dtype=float),
        float(steps_per_year),
        float(logit_scale),
    )


# ------------------------------------------------------------------------------------------- submodel
class EntryParams(_Section):
    """``[behaviour.entry]``: potential entrants and their location choice."""

    enabled: bool = Field(
        True,
        description="potential entrants arrive each step",
        json_schema_extra={"source": "switch"},
    )
    floor: float = Field(
        2.0,
        ge=0.0,
        le=1e4,
        description="potential entrants per sector per step on top of entry_rate x firms [firms/step]",
        json_schema_extra={
            "source": "keeps every sector open to entry even when it is empty; calibrated (1 -> 2) with the learning parameters so the baseline firm count stays within 0.5-3x with entry and exit inside the OECD 5-12 %/year band; see VALIDATION.md"
        },
    )
    productivity_gap: float = Field(
        0.0,
        ge=-10.0,
        le=10.0,
        description="entrants draw log productivity around their sector's current mean over incumbents "
        "plus this gap (entrants imitate incumbents' technology) [log points]",
        json_schema_extra={"source": "entrants imitate incumbents (no systematic gap)"},
    )
    logit_scale: float = Field(
        1.0,
        gt=0.0,
        le=1e3,
        description="logit scale of location choice, in units of the fixed cost [-]",
        json_schema_extra={
            "source": "one unit of fixed cost per year of profit difference moves odds by e"
        },
    )


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


def step(state: ModelState, world: World, scenario: Scenario, rng: np.random.Generator):
    """Draw potential entrants; those who choose a region enter there."""
    p = scenario.behaviour.entry
    if not p.enabled:
        return None
    t = state.firms
    rows = state.incumbents
    fp = scenario.firms
    n_s = np.bincount(t.sector[rows], minlength=world.n_sectors)
    sum_z = np.bincount(t.sector[rows], weights=t.log_productivity[rows], minlength=world.n_sectors)
    mean_z = np.where(n_s > 0, sum_z / np.maximum(n_s, 1), fp.productivity_mean)
    sec, lz = draw_entrants(
        n_s,
        rng,
        entry_rate=np.asarray(world.entry_rate, float),
        entry_floor=p.floor,
        mean_log_z=mean_z + p.productivity_gap,
        sd_log_z=fp.productivity_sigma,
    )
    known = knowledge(len(sec), world.n_regions, state.prospects.known_q, rng)
    choice = choose_regions(
        sec,
        lz,
        known,
        rng,
        rhat=state.prospects.revenue,
        sigma=world.sigma,
        fixed_cost=state.fixed_cost,
        entry_cost=np.outer(state.costs.entry_cost, state.fixed_cost),  # (R, S) CNY m
        steps_per_year=scenario.behaviour.steps_per_year,
        logit_scale=p.logit_scale,
    )
    ok = choice >= 0
    if np.any(ok):
        s_new = sec[ok]
        add_firms(
            state, world, s_new, choice[ok], lz[ok], fp.initial_equity * state.fixed_cost[s_new]
        )
        state.entries_by_region += np.bincount(choice[ok], minlength=world.n_regions)
    return {"entries": int(ok.sum())}


SUBMODEL = Submodel(
    name="entry",
    step=step,
    summary="potential entrants (Poisson) choose a region by multinomial logit on expected profit net "
    "of the entry cost, or stay out",
    params=EntryParams,
    counters=("entries",),
    legacy={
        "entry_enabled": "enabled",
        "entry_floor": "floor",
        "entrant_productivity_gap": "productivity_gap",
        "entry_logit_scale": "logit_scale",
    },
)
