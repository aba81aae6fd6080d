"""Relocation (DESIGN 3.2 step 10): a few incumbents reconsider their location each step.

Each live firm reconsiders with probability ``p`` (small: fast adjustment makes discrete NEG dynamics
cycle).  It compares its expected profit pi_r (prospects.py) at home with every region it knows about, in
nominal terms (footloose capital) or deflated by the local consumer price index CPI_r (footloose
entrepreneur: pi_r / CPI_r is pi_r Delta_r^(mu/(sigma-1)) up to a constant), and moves to the best one if
the gain exceeds the relocation cost (units of the sector fixed cost, deflated like profits).  Movers pay
the cost from equity.  Cost O(N) for the reconsideration draw, then one compiled pass over the
candidates x regions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from agglomeration.behaviour import _relocation_kernels as _k
from agglomeration.errors import InputError

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
    cand = _k.rows_below(np.asarray(rows), rng.random(len(rows)), float(probability))
    if len(cand) == 0:
        return cand
    R = rhat.shape[0]
    s = table.sector[cand]
    growth = np.exp((np.asarray(sigma, dtype=float)[s] - 1.0) * table.log_productivity[cand])
    defl = np.asarray(cpi, dtype=float) if real else np.ones(R)
    known = rng.random((len(cand), R)) < known_q if known_q < 1 else np.ones((len(cand), R), bool)
    movers, status = _k.move(
        cand,
        growth,
        known,
        table.sector,
        table.region,
        table.equity,
        np.asarray(rhat, dtype=float),
        defl,
        np.asarray(sigma, dtype=float),
        np.asarray(fixed_cost, dtype=float),
        float(cost),
    )
    if status != 0:
        raise InputError("a row, sector or region index is out of range", field="rows")
    return movers
