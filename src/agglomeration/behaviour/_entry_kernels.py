"""Compiled kernels of :mod:`agglomeration.behaviour.entry` (numba; see its docstring for the equations).

They trust their inputs' shapes: the Python wrappers in the submodel module check what a caller could get wrong."""

from __future__ import annotations

import numpy as np

from agglomeration._jit import kernel


@kernel
def best_regions(
    known: np.ndarray,
    noise: np.ndarray,
    entry_noise: np.ndarray,
    value: np.ndarray,
    first_profit: np.ndarray,
    location_scale: np.ndarray,
    scale: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """(chosen region per potential entrant, -1 = stays out; expected first-year profit per step there).

    Nested logit for entrant j over the regions it knows (all arrays per entrant: ``value`` and
    ``first_profit`` (n, R), the scales (n,)): the region is the argmax of value[j, r] /
    location_scale[j] + ``noise`` (standard Gumbel; the first of equal maxima wins), and the entrant
    enters when IV / scale[j] + ``entry_noise`` (standard logistic) > 0, IV = location_scale log sum_r
    exp(value[j, r] / location_scale) over the known regions (the expected best value).  No known
    region: stays out.
    """
    n, R = noise.shape
    out = np.empty(n, dtype=np.int64)
    expected = np.full(n, np.nan)
    for j in range(n):
        ls = location_scale[j]
        best = -1
        ub = -np.inf
        vmax = -np.inf
        for r in range(R):
            if not known[j, r]:
                continue
            v = value[j, r]
            if v > vmax:
                vmax = v
            u = v / ls + noise[j, r]
            if best < 0 or u > ub:
                best = r
                ub = u
        if best < 0:
            out[j] = -1
            continue
        acc = 0.0
        for r in range(R):
            if known[j, r]:
                acc += np.exp((value[j, r] - vmax) / ls)
        iv = vmax + ls * np.log(acc)
        if iv / scale[j] + entry_noise[j] > 0.0:
            out[j] = best
            expected[j] = first_profit[j, best]
        else:
            out[j] = -1
    return out, expected


@kernel
def interpolate(table, i, w, s):
    """(n, R): ``(1 - w[q]) table[i[q], r, s[q]] + w[q] table[i[q] + 1, r, s[q]]`` for every entrant q
    and region r: the linear interpolation of :meth:`agglomeration.behaviour.entry.EntryValues.at` on
    the signal grid (``table`` (G, R, S)), the same products and sum as its numpy form, without the
    gathered and scaled (n, R) temporaries."""
    n = i.shape[0]
    R = table.shape[1]
    out = np.empty((n, R), np.float64)
    for q in range(n):
        iq = i[q]
        sq = s[q]
        wq = w[q]
        vq = 1.0 - wq
        for r in range(R):
            out[q, r] = vq * table[iq, r, sq] + wq * table[iq + 1, r, sq]
    return out
