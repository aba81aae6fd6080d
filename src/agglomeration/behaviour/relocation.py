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

from agglomeration._jit import kernel
from agglomeration.errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    from agglomeration.firms import FirmTable


@kernel
def _rows_below(rows: np.ndarray, u: np.ndarray, p: float) -> np.ndarray:
    """rows[u < p] in one pass (the firms that reconsider their location this step)."""
    out = np.empty(len(rows), dtype=np.int64)
    c = 0
    for j in range(len(rows)):
        if u[j] < p:
            out[c] = rows[j]
            c += 1
    return out[:c].copy()


@kernel
def _move(
    cand: np.ndarray,
    growth: np.ndarray,
    known: np.ndarray,
    sector: np.ndarray,
    region: np.ndarray,
    equity: np.ndarray,
    rhat: np.ndarray,
    defl: np.ndarray,
    sigma: np.ndarray,
    fixed_cost: np.ndarray,
    cost: float,
) -> tuple[np.ndarray, int]:
    """Move the candidates whose best known other region beats home by more than the cost.

    ``growth`` = exp((sigma_s - 1) log z) per candidate, ``known`` (n, R) the regions each knows (home
    is ignored).  Updates ``region`` and ``equity`` in place; returns (rows that moved, status 0 or -1
    when an index is out of range, before any change).
    """
    n, R = known.shape
    S = len(sigma)
    N = min(len(sector), len(region), len(equity))
    for j in range(n):
        i = cand[j]
        if i < 0 or i >= N or sector[i] < 0 or sector[i] >= S or region[i] < 0 or region[i] >= R:
            return np.empty(0, dtype=np.int64), -1
    movers = np.empty(n, dtype=np.int64)
    c = 0
    for j in range(n):
        i = cand[j]
        s = sector[i]
        r0 = region[i]
        sg = sigma[s]
        f = fixed_cost[s]
        home = (growth[j] * rhat[r0, s] / sg - f) / defl[r0]
        best = 0
        vb = -np.inf
        for r in range(R):
            v = -np.inf
            if known[j, r] and r != r0:
                v = (growth[j] * rhat[r, s] / sg - f) / defl[r]
            if r == 0 or v > vb:
                best = r
                vb = v
        gain = vb - home
        move = gain > cost * f / defl[r0]
        if cost == 0:
            move = move and gain > 1e-12 * abs(home)
        if move:
            region[i] = best
            equity[i] -= cost * f
            movers[c] = i
            c += 1
    return movers[:c].copy(), 0


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
    cand = _rows_below(np.asarray(rows), rng.random(len(rows)), float(probability))
    if len(cand) == 0:
        return cand
    R = rhat.shape[0]
    s = table.sector[cand]
    growth = np.exp((np.asarray(sigma, dtype=float)[s] - 1.0) * table.log_productivity[cand])
    defl = np.asarray(cpi, dtype=float) if real else np.ones(R)
    known = rng.random((len(cand), R)) < known_q if known_q < 1 else np.ones((len(cand), R), bool)
    movers, status = _move(
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
