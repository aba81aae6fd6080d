"""Product lines (submodel ``lines``): firms grow and shrink by adding and losing product lines.

A firm sells ``lines`` varieties at its mill price; every line is a CES variety, so its revenue, inputs
and labour scale with its lines, and so does its fixed cost (f_s per line; behaviour/accounts.py).  Each
step (Klette & Kortum 2004, with Simon's (1955) proportional allocation):

- every line of a firm that made a profit last step spawns a new line with probability ``birth_rate``
  (innovation in proportion to the lines a firm has: Gibrat's law in lines);
- every line is lost with probability ``death_rate`` (creative destruction by rivals);
- a firm left without lines exits (behaviour/exit.py); entrants start with one line (Luttmer 2007:
  entrants start small); with exit switched off (``behaviour.exit.enabled = false``) a firm keeps its
  last line.

Line growth proportional to size with entry at the bottom and exit at zero is the mechanism behind the
Pareto (Zipf) upper tail of firm sizes (Simon 1955; Gabaix 1999; Luttmer 2007); the lines of a firm are
imperfectly correlated sub-units, so growth volatility falls with size (Amaral et al. 1997).

Draws: the births are Poisson(birth_rate x the lines of profitable firms) in total, each placed on a
line chosen uniformly (so a firm's births are Poisson(birth_rate x its lines), independently); the
deaths are Binomial(all lines, death_rate) in total, placed on distinct lines chosen uniformly.  Cost
O(N + events); every draw from the model's generator.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from pydantic import Field

from agglomeration import random_streams
from agglomeration.errors import InputError
from agglomeration.parameters import Section
from agglomeration.submodel import Submodel

if TYPE_CHECKING:  # pragma: no cover
    from agglomeration.scenario import Scenario
    from agglomeration.state import ModelState
    from agglomeration.world import World


class LinesParams(Section):
    """``[behaviour.lines]``: product-line births and deaths (Klette-Kortum)."""

    enabled: bool = Field(
        True,
        description="firms add and lose product lines",
        json_schema_extra={"source": "switch (off in the theory benchmarks: one line per firm)"},
    )
    birth_rate: float = Field(
        0.0199,
        ge=0.0,
        le=1.0,
        description="probability per step that a line of a profitable firm spawns a new line [1/step]",
        json_schema_extra={
            "source": "calibrated with death_rate to the Pareto tail of firm sizes (Axtell 2001: 1.06): "
            "with processing trade, tail exponent 1.07 (MLE) / 1.20 (rank-1/2) at 0.0199 against "
            "1.20 / 1.36 at 0.0195 and 1.31 / 1.46 at 0.019 (2 seeds, 120 quarters, the model of "
            "that release); on the current baseline 1.18 / 1.30 (docs/VALIDATION.md section 5); see "
            "docs/VALIDATION.md section 8; range 0.015-0.02 (a near-critical line process; 0.023 with shocks scaled by size and a 500-quarter burn-in, docs/VALIDATION.md section 8)"
        },
    )
    death_rate: float = Field(
        0.02,
        ge=0.0,
        le=1.0,
        description="probability per step that a line is lost [1/step]",
        json_schema_extra={
            "source": "calibrated: a one-line firm loses its line with about 8 % a year, the exit "
            "hazard of young Chinese firms (SAIC 2013: 6-10 % in years 2-7)"
        },
    )


#: most product lines all firms together may hold [lines]: a birth rate well above the death rate (and
#: the exit hazard) makes the lines grow geometrically (birth_rate = 1 doubles them every step), and
#: each step's draws take about 16 bytes a line; 1e8 is 20 lines a firm at the largest
#: firms.initial_count, some 15,000 times the baseline's total (about 6,500)
MAX_LINES = 100_000_000


def _check_total(total: int, birth_rate: float, death_rate: float) -> None:
    """An InputError when all firms together hold more than MAX_LINES lines (an exploding process)."""
    if total > MAX_LINES:
        raise InputError(
            f"the product-line process explodes: {total:,} lines, more than {MAX_LINES:,} (birth "
            f"rate {birth_rate:g} against death rate {death_rate:g} and the exit hazard: firms' lines "
            "grow geometrically); expected a birth rate near the death rate (baseline 0.0199 vs 0.02)",
            field="behaviour.lines.birth_rate",
        )


def line_events(
    lines: np.ndarray,
    can_grow: np.ndarray,
    rng: np.random.Generator,
    *,
    birth_rate: float,
    death_rate: float,
) -> tuple[np.ndarray, np.ndarray]:
    """(births, deaths) per firm for the line counts ``lines`` (int, >= 0) of one step.

    ``can_grow``: firms whose lines may spawn (profitable ones).  See the module docstring for the
    draws (a Poisson total placed on uniform lines; a Binomial total placed on distinct lines).
    """
    lines = np.asarray(lines, dtype=np.int64)
    n = len(lines)
    births = np.zeros(n, dtype=np.int64)
    deaths = np.zeros(n, dtype=np.int64)
    total = int(lines.sum())
    if n == 0 or total == 0:
        return births, deaths
    _check_total(total, birth_rate, death_rate)
    growing = np.where(can_grow, lines, 0)
    g_total = int(growing.sum())
    nb = rng.poisson(birth_rate * g_total) if birth_rate > 0 and g_total else 0
    if nb:
        pos = rng.integers(0, g_total, size=nb)
        births = np.bincount(np.searchsorted(np.cumsum(growing), pos, side="right"), minlength=n)
    nd = rng.binomial(total, death_rate) if death_rate > 0 else 0
    if nd:
        pos = rng.choice(total, size=nd, replace=False, shuffle=False)
        deaths = np.bincount(np.searchsorted(np.cumsum(lines), pos, side="right"), minlength=n)
    return births, deaths


def line_events_by_firm(
    lines: np.ndarray,
    can_grow: np.ndarray,
    fids: np.ndarray,
    rng: np.random.Generator,
    *,
    birth_rate: float,
    death_rate: float,
) -> tuple[np.ndarray, np.ndarray]:
    """(births, deaths) per firm as :func:`line_events`, with each firm's two draws indexed by its
    permanent id ``fids`` (``solver.random_streams = "by_purpose"``): births ~ Poisson(birth_rate x
    its lines) when it can grow, deaths ~ Binomial(its lines, death_rate), by inversion of one uniform
    each (random_streams.uniforms from one generator: births at even, deaths at odd positions), so a
    firm's line events do not depend on which other firms exist.  The same distribution as
    :func:`line_events`, other draws."""
    lines = np.asarray(lines, dtype=np.int64)
    n = len(lines)
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    _check_total(int(lines.sum()), birth_rate, death_rate)
    fids = np.asarray(fids, dtype=np.int64)
    u = random_streams.uniforms(rng, np.concatenate([2 * fids, 2 * fids + 1]))
    u_birth, u_death = u[:n], u[n:]
    mu = birth_rate * np.where(can_grow, lines, 0).astype(float)
    births = poisson_inverse(u_birth, mu)
    deaths = binomial_inverse(u_death, lines, death_rate)
    return births, deaths


#: largest count the sequential inversions below walk to; rarer outcomes go to scipy's ppf
_INVERSION_STEPS = 64


def poisson_inverse(u: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """Poisson(mu) counts by inversion of the uniforms ``u``: the smallest k with F(k) >= u, walking
    the pmf up from k = 0 (a few steps at the small means of line births; scipy's ``poisson.ppf``
    does the same in about 1 us a draw).  Counts beyond _INVERSION_STEPS, or where exp(-mu) underflows,
    are scipy's."""
    u, mu = np.asarray(u, float), np.asarray(mu, float)
    k = np.zeros(len(u), dtype=np.int64)
    pmf = np.exp(-mu)
    cdf = pmf.copy()
    todo = np.flatnonzero(u > cdf)
    for step in range(1, _INVERSION_STEPS + 1):
        if len(todo) == 0:
            break
        pmf[todo] *= mu[todo] / step
        cdf[todo] += pmf[todo]
        k[todo] = step
        todo = todo[u[todo] > cdf[todo]]
    return _rest(k, todo, lambda i: _scipy().poisson.ppf(u[i], mu[i]))


def binomial_inverse(u: np.ndarray, n: np.ndarray, p: float) -> np.ndarray:
    """Binomial(n, p) counts by inversion of the uniforms ``u`` (as :func:`poisson_inverse`, the pmf
    walked up from k = 0 by pmf(k + 1) = pmf(k) (n - k) / (k + 1) p / (1 - p))."""
    u, n = np.asarray(u, float), np.asarray(n, dtype=np.int64)
    if p <= 0.0:
        return np.zeros(len(u), dtype=np.int64)
    if p >= 1.0:
        return n.copy()
    k = np.zeros(len(u), dtype=np.int64)
    pmf = (1.0 - p) ** n.astype(float)
    cdf = pmf.copy()
    odds = p / (1.0 - p)
    todo = np.flatnonzero((u > cdf) & (n > 0))
    for step in range(1, _INVERSION_STEPS + 1):
        if len(todo) == 0:
            break
        pmf[todo] *= (n[todo] - (step - 1)) / step * odds
        cdf[todo] += pmf[todo]
        k[todo] = step
        todo = todo[(u[todo] > cdf[todo]) & (n[todo] > step)]
    return _rest(k, todo, lambda i: _scipy().binom.ppf(u[i], n[i], p))


def _rest(k: np.ndarray, todo: np.ndarray, ppf) -> np.ndarray:
    """``k`` with the entries the walk did not settle taken from ``ppf`` (clipped at 0: the ppf of a
    discrete distribution at u = 0 is -1)."""
    if len(todo):
        k[todo] = np.maximum(ppf(todo), 0).astype(np.int64)
    return k


def _scipy():
    from scipy import stats

    return stats


def step(state: ModelState, world: World, scenario: Scenario, rng: np.random.Generator):
    """Incumbents add and lose product lines."""
    p = scenario.behaviour.lines
    if not p.enabled:
        return None
    t = state.firms
    rows = state.incumbents
    if random_streams.by_purpose(scenario, state):
        births, deaths = line_events_by_firm(
            t.lines[rows],
            t.profit[rows] > 0.0,
            t.fid[rows],
            rng,
            birth_rate=p.birth_rate,
            death_rate=p.death_rate,
        )
    else:
        births, deaths = line_events(
            t.lines[rows],
            t.profit[rows] > 0.0,
            rng,
            birth_rate=p.birth_rate,
            death_rate=p.death_rate,
        )
    new = t.lines[rows] + (births - deaths).astype(t.lines.dtype)
    if not scenario.behaviour.exit.enabled:  # a firm that cannot exit keeps its last line
        kept = new < 1
        deaths = deaths - kept * (1 - new)
        new = np.maximum(new, 1)
    t.lines[rows] = new
    return {"lines_added": int(births.sum()), "lines_lost": int(deaths.sum())}


SUBMODEL = Submodel(
    name="lines",
    step=step,
    summary="product lines: profitable firms' lines spawn new ones, every line may be lost "
    "(Klette-Kortum); a firm without lines exits",
    params=LinesParams,
    counters=("lines_added", "lines_lost"),
)
