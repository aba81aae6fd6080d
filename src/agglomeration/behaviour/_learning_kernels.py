"""Compiled kernels of :mod:`agglomeration.behaviour.learning` (numba; see its docstring for the equations).

They trust their inputs' shapes: the Python wrappers in the submodel module check what a caller could get wrong."""

from __future__ import annotations

import numpy as np

from agglomeration._jit import kernel


@kernel
def clipped_size_ratio(
    rows: np.ndarray, sector: np.ndarray, size: np.ndarray, n_sectors: int, lo: float, hi: float
) -> np.ndarray:
    """clip(S_i / Sbar_s, lo, hi) per row of ``rows`` (Sbar_s = mean of max(S, 0) over the rows of s).

    Two sequential passes over ``rows``; the sums run in row order, like ``np.bincount`` (same bits as
    :func:`shock_scale`'s ratio).  Returns an empty array if a row or sector index is out of range.
    """
    m = len(rows)
    count = np.zeros(n_sectors)
    total = np.zeros(n_sectors)
    for j in range(m):
        i = rows[j]
        if i < 0 or i >= len(size) or i >= len(sector):
            return np.empty(0)
        s = sector[i]
        if s < 0 or s >= n_sectors:
            return np.empty(0)
        count[s] += 1.0
        total[s] += max(size[i], 0.0)
    for s in range(n_sectors):
        total[s] = total[s] / max(count[s], 1.0)
    out = np.empty(m)
    for j in range(m):
        i = rows[j]
        ref = total[sector[i]]
        ratio = size[i] / ref if ref > 0 else 1.0
        out[j] = min(max(ratio, lo), hi)
    return out


@kernel
def learn_step(
    log_z: np.ndarray,
    rows: np.ndarray,
    sector: np.ndarray,
    region: np.ndarray,
    loc: np.ndarray,
    div: np.ndarray,
    eps: np.ndarray,
    scale: np.ndarray,
    frontier: np.ndarray,
    drift: float,
    localisation: float,
    jacobs: float,
    shock_sd: float,
    mean_reversion: float,
) -> tuple[int, float]:
    """log_z[i] += d_i for i in ``rows`` in one pass (module docstring; same operation order as numpy).

    ``eps`` holds one N(0, 1) draw per row (empty when ``shock_sd`` is 0); ``scale`` the size multiplier
    of the shock sd per row (empty: 1).  Returns (status, the largest updated log_z): status -1 (and
    nothing changed from that row on) when an index is out of range, else 0; -inf without rows.
    """
    R, S = loc.shape
    n = len(log_z)
    shocks = shock_sd > 0
    scaled = len(scale) > 0
    top = -np.inf
    for j in range(len(rows)):
        i = rows[j]
        if i < 0 or i >= n or i >= len(sector) or i >= len(region):
            return -1, top
        s = sector[i]
        r = region[i]
        if s < 0 or s >= S or r < 0 or r >= R:
            return -1, top
        d = drift + localisation * loc[r, s] + jacobs * div[r]
        if mean_reversion > 0:
            d = d - mean_reversion * (log_z[i] - frontier[s])
        if shocks:
            e = eps[j]
            if scaled:
                e = e * scale[j]
            d = d + shock_sd * e
        log_z[i] += d
        if log_z[i] > top:
            top = log_z[i]
    return 0, top
