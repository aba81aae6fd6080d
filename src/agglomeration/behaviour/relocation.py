"""Relocation (DESIGN 3.2 step 10): a few incumbents reconsider their location each step.

Each live firm reconsiders with probability ``p`` (small: fast adjustment makes discrete NEG dynamics
cycle).  It compares its expected profit pi_r (prospects.py) at home with every region it knows about, in
nominal terms (footloose capital) or deflated by the local consumer price index CPI_r (footloose
entrepreneur: pi_r / CPI_r is pi_r Delta_r^(mu/(sigma-1)) up to a constant), and moves to the best one if
the gain exceeds the relocation cost (units of the sector fixed cost, deflated like profits).  Movers pay
the cost from equity.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from agglomeration.firms import FirmTable


def relocate(
    table: FirmTable,
    rows: np.ndarray,
    rng: np.random.Generator,
    *,
    probability: float,
    known_q: float,
    rhat: np.ndarray,
    cpi: np.ndarray,
    real: bool,
    sigma: np.ndarray,
    fixed_cost: np.ndarray,
    cost: float,
) -> np.ndarray:
    """Move firms in ``table``; return the rows that moved."""
    if probability <= 0 or len(rows) == 0:
        return np.zeros(0, dtype=np.int64)
    cand = rows[rng.random(len(rows)) < probability]
    if len(cand) == 0:
        return cand
    R = rhat.shape[0]
    s = table.sector[cand]
    r0 = table.region[cand]
    rev = np.exp((sigma[s] - 1.0) * table.log_productivity[cand])[:, None] * rhat[:, s].T
    profit = rev / sigma[s][:, None] - fixed_cost[s][:, None]  # (n, R)
    defl = cpi if real else np.ones(R)
    value = profit / defl[None, :]
    known = rng.random((len(cand), R)) < known_q if known_q < 1 else np.ones((len(cand), R), bool)
    here = np.arange(len(cand))
    known[here, r0] = False
    value_other = np.where(known, value, -np.inf)
    best = np.argmax(value_other, axis=1)
    gain = value_other[here, best] - value[here, r0]
    move = gain > cost * fixed_cost[s] / defl[r0]
    if cost == 0:
        move &= gain > 1e-12 * np.abs(value[here, r0])
    movers = cand[move]
    table.region[movers] = best[move]
    table.equity[movers] -= cost * fixed_cost[s[move]]
    return movers
