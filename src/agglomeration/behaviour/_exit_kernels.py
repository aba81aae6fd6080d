"""Compiled kernels of :mod:`agglomeration.behaviour.exit` (numba; see its docstring for the equations).

They trust their inputs' shapes: the Python wrappers in the submodel module check what a caller could get wrong."""

from __future__ import annotations

import numpy as np

from agglomeration._jit import kernel


@kernel
def exiting(
    rows: np.ndarray,
    sector: np.ndarray,
    equity: np.ndarray,
    losses: np.ndarray,
    lines: np.ndarray,
    age: np.ndarray,
    fixed_cost: np.ndarray,
    equity_threshold: float,
    max_losses: int,
    grace: int,
    hazard: np.ndarray,
    u: np.ndarray,
) -> tuple[np.ndarray, int]:
    """(rows that exit, in the order of ``rows``; status 0, or -1 if an index is out of range).

    One pass: no product line left or, from age ``grace`` on, equity_i < threshold f_s lines_i or
    a run of k_i = min(losses_i, age_i - grace) consecutive losses after the first ``grace`` steps of
    life that ends the firm: k_i >= max_losses when ``hazard`` is empty (the count rule), else
    u_j < hazard[min(k_i, len(hazard) - 1)] with ``u`` one uniform draw per row (the hazard rule).
    """
    out = np.empty(len(rows), dtype=np.int64)
    c = 0
    n = min(len(sector), len(equity), len(losses), len(age))
    n_sectors = len(fixed_cost)
    for j in range(len(rows)):
        i = rows[j]
        if i < 0 or i >= n:
            return out[:0].copy(), -1
        s = sector[i]
        if s < 0 or s >= n_sectors:
            return out[:0].copy(), -1
        k = min(losses[i], age[i] - grace)
        if len(hazard) == 0:
            ends = k >= max_losses
        else:
            ends = k > 0 and u[j] < hazard[min(k, len(hazard) - 1)]
        if lines[i] <= 0 or (
            age[i] >= grace and (equity[i] < equity_threshold * fixed_cost[s] * lines[i] or ends)
        ):
            out[c] = i
            c += 1
    return out[:c].copy(), 0
