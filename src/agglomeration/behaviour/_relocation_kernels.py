"""Compiled kernels of :mod:`agglomeration.behaviour.relocation` (numba; see its docstring for the equations).

They trust their inputs' shapes: the Python wrappers in the submodel module check what a caller could get wrong."""

from __future__ import annotations

import numpy as np

from agglomeration._jit import kernel


@kernel
def rows_below(rows: np.ndarray, u: np.ndarray, p: float) -> np.ndarray:
    """rows[u < p] in one pass (the firms that reconsider their location this step)."""
    out = np.empty(len(rows), dtype=np.int64)
    c = 0
    for j in range(len(rows)):
        if u[j] < p:
            out[c] = rows[j]
            c += 1
    return out[:c].copy()


@kernel
def move(
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
    lines: np.ndarray,
    rel: np.ndarray,
) -> tuple[np.ndarray, int]:
    """Move the candidates whose best known other region beats home by more than the cost.

    ``growth`` = exp((sigma_s - 1) log z) per candidate, ``known`` (n, R) the regions each knows (home
    is ignored).  Profit in region r of a firm with L lines: L growth rhat[r, s] / sigma_s - L f_s -
    rel[r, s] (``rel`` (R, S): relationship costs there); the move costs ``cost`` x f_s x L.  Updates
    ``region`` and ``equity`` in place; returns (rows that moved, status 0 or -1 when an index is out
    of range, before any change).
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
        L = lines[i]
        f = fixed_cost[s] * L
        gl = growth[j] * L
        home = (gl * rhat[r0, s] / sg - f - rel[r0, s]) / defl[r0]
        best = 0
        vb = -np.inf
        for r in range(R):
            v = -np.inf
            if known[j, r] and r != r0:
                v = (gl * rhat[r, s] / sg - f - rel[r, s]) / defl[r]
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
