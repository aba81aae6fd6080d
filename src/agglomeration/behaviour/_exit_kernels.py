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
    fixed_cost: np.ndarray,
    equity_threshold: float,
    max_losses: int,
) -> tuple[np.ndarray, int]:
    """(rows that exit, in the order of ``rows``; status 0, or -1 if an index is out of range).

    One pass: equity_i < threshold f_s lines_i, losses_i >= max_losses or no product line left.
    """
    out = np.empty(len(rows), dtype=np.int64)
    c = 0
    n = min(len(sector), len(equity), len(losses))
    n_sectors = len(fixed_cost)
    for j in range(len(rows)):
        i = rows[j]
        if i < 0 or i >= n:
            return out[:0].copy(), -1
        s = sector[i]
        if s < 0 or s >= n_sectors:
            return out[:0].copy(), -1
        if (
            lines[i] <= 0
            or equity[i] < equity_threshold * fixed_cost[s] * lines[i]
            or losses[i] >= max_losses
        ):
            out[c] = i
            c += 1
    return out[:c].copy(), 0
