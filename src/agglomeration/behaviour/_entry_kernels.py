"""Compiled kernels of :mod:`agglomeration.behaviour.entry` (numba; see its docstring for the equations).

They trust their inputs' shapes: the Python wrappers in the submodel module check what a caller could get wrong."""

from __future__ import annotations

import numpy as np

from agglomeration._jit import kernel


@kernel
def best_regions(
    sector: np.ndarray,
    growth: np.ndarray,
    local: np.ndarray,
    known: np.ndarray,
    noise: np.ndarray,
    entry_noise: np.ndarray,
    rev_first: np.ndarray,
    rev: np.ndarray,
    fixed: np.ndarray,
    entry_cost: np.ndarray,
    sigma: np.ndarray,
    h_first: np.ndarray,
    h_rest: np.ndarray,
    delay_discount: np.ndarray,
    location_scale: np.ndarray,
    scale: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """(chosen region per potential entrant, -1 = stays out; expected first-year profit per step there).

    For entrant j of sector s with ``growth`` = exp((sigma_s - 1) log z), ``local`` = exp((sigma_s - 1)
    A_rs) (the local frontier, behaviour/learning.py) and a known region r: g = growth local[r, s],
    pi1 = g rev_first[r, s] / sigma_s - fixed[r, s] (first year), pi = g rev[r, s] / sigma_s -
    fixed[r, s] (established); value V_r = delay_discount[r] (pi1 h_first[s] + pi h_rest[s]) -
    entry_cost[r, s].  Nested logit: the region is the argmax of V_r / location_scale[s] + ``noise``
    (standard Gumbel; the first of equal maxima wins), and the entrant enters when IV / scale[s] +
    ``entry_noise`` (standard logistic) > 0, with IV = location_scale log sum_r exp(V_r / location_scale)
    over the known regions (the expected best value).  No known region: stays out.
    Returns empty arrays if a sector index is out of range.
    """
    n, R = noise.shape
    S = len(sigma)
    out = np.empty(n, dtype=np.int64)
    expected = np.full(n, np.nan)
    v = np.empty(R)
    for j in range(n):
        s = sector[j]
        if s < 0 or s >= S:
            return np.empty(0, dtype=np.int64), np.empty(0)
        sg = sigma[s]
        ls = location_scale[s]
        best = -1
        ub = -np.inf
        pb = np.nan
        vmax = -np.inf
        for r in range(R):
            g = growth[j] * local[r, s]
            pi1 = g * rev_first[r, s] / sg - fixed[r, s]
            pi = g * rev[r, s] / sg - fixed[r, s]
            v[r] = delay_discount[r] * (pi1 * h_first[s] + pi * h_rest[s]) - entry_cost[r, s]
            if not known[j, r]:
                continue
            if v[r] > vmax:
                vmax = v[r]
            u = v[r] / ls + noise[j, r]
            if best < 0 or u > ub:
                best = r
                ub = u
                pb = pi1
        if best < 0:
            out[j] = -1
            continue
        acc = 0.0
        for r in range(R):
            if known[j, r]:
                acc += np.exp((v[r] - vmax) / ls)
        iv = vmax + ls * np.log(acc)
        if iv / scale[s] + entry_noise[j] > 0.0:
            out[j] = best
            expected[j] = pb
        else:
            out[j] = -1
    return out, expected
