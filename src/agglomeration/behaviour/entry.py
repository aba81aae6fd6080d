"""Entry (DESIGN 3.2 step 9): Poisson potential entrants choose a region by multinomial logit.

Potential entrants of sector s per step ~ Poisson(entry_rate_s n_s + entry_floor) (n_s live firms of s).
Each draws a log productivity ~ N(mean of its sector's incumbents + gap, sd) and knows each region independently with probability
q = information_regions + (1 - information_regions) x information_sharing.  Its utility of region r is

    u_r = (T_y pi_r - C_r) / (lambda f_s) + Gumbel noise,   u_0 = 0 + Gumbel noise (outside option)

with pi_r its expected profit per step (prospects.py), T_y = steps per year (one year of profit is weighed
against the one-off entry cost), C_r = entry cost (units of f_s, lowered by delegation and reforms), and
lambda the logit scale.  The entrant takes the best option; cost O(entrants x R).
"""

from __future__ import annotations

import numpy as np


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
    s = sector
    rev = np.exp((sigma[s] - 1.0) * log_z)[:, None] * rhat[:, s].T  # (n, R)
    profit = rev / sigma[s][:, None] - fixed_cost[s][:, None]
    unit = np.where(
        fixed_cost[s] > 0, fixed_cost[s], np.maximum(rev.mean(axis=1) / sigma[s], 1e-12)
    )
    u = (steps_per_year * profit - entry_cost[:, s].T) / (logit_scale * unit[:, None])
    u = u + rng.gumbel(size=u.shape)
    u = np.where(known, u, -np.inf)
    u0 = rng.gumbel(size=n)
    best = np.argmax(u, axis=1)
    ub = u[np.arange(n), best]
    return np.where(ub > u0, best, -1)
