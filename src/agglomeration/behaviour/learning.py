"""Productivity dynamics (DESIGN 3.2 step 6): drift, localisation and Jacobs spillovers, Gibrat noise.

For a live firm i of sector s in region r, log productivity changes each step by

    d log z_i = drift + lambda_MAR log(1 + L_rs / Lbar_s) + lambda_J D_r + sd eps_i,   eps_i ~ N(0, 1)

L_rs is employment of sector s in region r, Lbar_s its mean over regions with the sector (so the
localisation term is 0 without same-sector neighbours and grows with the cluster's relative size);
D_r = 1 - sum_s (L_rs / L_r)^2 is the local sectoral diversity (Gini-Simpson index, in [0, 1)).  The noise
is multiplicative in z (Gibrat's law).  Units: log points per step.
"""

from __future__ import annotations

import numpy as np


def spillover_terms(emp_rs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(localisation log(1 + L_rs/Lbar_s) as (R, S), diversity D_r as (R,)) from employment (R, S)."""
    present = emp_rs > 0
    n_present = np.maximum(present.sum(axis=0), 1)
    lbar = emp_rs.sum(axis=0) / n_present
    loc = np.log1p(np.divide(emp_rs, lbar, out=np.zeros_like(emp_rs), where=lbar > 0))
    tot = emp_rs.sum(axis=1)
    sh = np.divide(emp_rs, tot[:, None], out=np.zeros_like(emp_rs), where=tot[:, None] > 0)
    div = np.where(tot > 0, 1.0 - (sh**2).sum(axis=1), 0.0)
    return loc, div


def learn(
    log_z: np.ndarray,
    rows: np.ndarray,
    sector: np.ndarray,
    region: np.ndarray,
    emp_rs: np.ndarray,
    rng: np.random.Generator,
    *,
    drift: float,
    localisation: float,
    jacobs: float,
    shock_sd: float,
) -> None:
    """Update ``log_z[rows]`` in place."""
    loc, div = spillover_terms(emp_rs)
    r = region[rows]
    s = sector[rows]
    d = drift + localisation * loc[r, s] + jacobs * div[r]
    if shock_sd > 0:
        d = d + shock_sd * rng.standard_normal(len(rows))
    log_z[rows] += d
