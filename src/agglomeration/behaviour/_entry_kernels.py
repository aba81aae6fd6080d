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
    rhat: np.ndarray,
    sigma: np.ndarray,
    fixed_cost: np.ndarray,
    entry_cost: np.ndarray,
    steps_per_year: float,
    logit_scale: float,
) -> np.ndarray:
    """Chosen region per entrant (-1: outside option), one pass over the (n, R) utilities.

    ``growth`` = exp((sigma_s - 1) log z) per entrant; ``noise`` (n, R) and ``noise_outside`` (n,) are
    standard Gumbel draws.  The first region with the highest utility wins (``np.argmax``).  Returns
    an empty array if a sector index is out of range.
    """
    n, R = noise.shape
    S = len(sigma)
    out = np.empty(n, dtype=np.int64)
    rev = np.empty(R)
    for j in range(n):
        s = sector[j]
        if s < 0 or s >= S:
            return np.empty(0, dtype=np.int64)
        sg = sigma[s]
        f = fixed_cost[s]
        for r in range(R):
            rev[r] = growth[j] * rhat[r, s]
        if f > 0:
            unit = f
        else:
            total = 0.0
            for r in range(R):
                total += rev[r]
            unit = max(total / R / sg, 1e-12)
        best = 0
        ub = -np.inf
        for r in range(R):
            profit = rev[r] / sg - f
            u = (steps_per_year * profit - entry_cost[r, s]) / (logit_scale * unit)
            u = u + noise[j, r]
            if not known[j, r]:
                u = -np.inf
            if r == 0 or u > ub:
                best = r
                ub = u
        out[j] = best if ub > noise_outside[j] else -1
    return out
