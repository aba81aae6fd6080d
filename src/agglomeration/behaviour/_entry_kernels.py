"""Compiled kernels of :mod:`agglomeration.behaviour.entry` (numba; see its docstring for the equations).

They trust their inputs' shapes: the Python wrappers in the submodel module check what a caller could get wrong."""

from __future__ import annotations

import numpy as np

from agglomeration._jit import kernel


@kernel
def best_regions(
    sector: np.ndarray,
    growth: np.ndarray,
    known: np.ndarray,
    noise: np.ndarray,
    noise_outside: np.ndarray,
    rev_first: np.ndarray,
    rev: np.ndarray,
    fixed: np.ndarray,
    entry_cost: np.ndarray,
    sigma: np.ndarray,
    h_first: np.ndarray,
    h_rest: np.ndarray,
    delay_discount: np.ndarray,
    scale: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """(chosen region per potential entrant, -1 = stays out; expected first-year profit per step there).

    For entrant j of sector s with ``growth`` = exp((sigma_s - 1) log z) and a known region r:
    pi1 = growth rev_first[r, s] / sigma_s - fixed[r, s] (first year), pi = growth rev[r, s] / sigma_s -
    fixed[r, s] (established); value V = delay_discount[r] (pi1 h_first[s] + pi h_rest[s]) -
    entry_cost[r, s]; utility V / scale[s] + ``noise`` (standard Gumbel); the outside option has
    utility ``noise_outside``.  The first region with the highest utility wins (``np.argmax``).
    Returns empty arrays if a sector index is out of range.
    """
    n, R = noise.shape
    S = len(sigma)
    out = np.empty(n, dtype=np.int64)
    expected = np.full(n, np.nan)
    for j in range(n):
        s = sector[j]
        if s < 0 or s >= S:
            return np.empty(0, dtype=np.int64), np.empty(0)
        sg = sigma[s]
        best = 0
        ub = -np.inf
        pb = np.nan
        for r in range(R):
            pi1 = growth[j] * rev_first[r, s] / sg - fixed[r, s]
            pi = growth[j] * rev[r, s] / sg - fixed[r, s]
            value = delay_discount[r] * (pi1 * h_first[s] + pi * h_rest[s]) - entry_cost[r, s]
            u = value / scale[s] + noise[j, r]
            if not known[j, r]:
                u = -np.inf
            if r == 0 or u > ub:
                best = r
                ub = u
                pb = pi1
        if ub > noise_outside[j]:
            out[j] = best
            expected[j] = pb
        else:
            out[j] = -1
    return out, expected
