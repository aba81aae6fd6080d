"""Wages and land rents (DESIGN 3.2 step 7): the congestion force.

Targets relative to the initial state (so the first step starts at the data's base wage and rent):

    w*_r = base_wage_r ((L_r + L0) / (L_r(0) + L0))^eps_w          L0 = mean initial regional employment
    q*_r = base_rent_r ((1 + H_r / K_r) / (1 + H_r(0) / K_r))^eps_q  H = land use, K = land capacity (km2)

and prices move a share ``adjust`` of the log gap each step (partial adjustment damps the two-way
feedback with location choice).  Wages in CNY m per worker-step, rents CNY m per km2-step.
"""

from __future__ import annotations

import numpy as np


def update_factor_prices(
    wage: np.ndarray,
    rent: np.ndarray,
    employment: np.ndarray,
    land_use: np.ndarray,
    *,
    base_wage: np.ndarray,
    base_rent: np.ndarray,
    employment0: np.ndarray,
    land_use0: np.ndarray,
    land_capacity: np.ndarray,
    wage_elasticity: float,
    rent_elasticity: float,
    adjust: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Return the new (wage, rent) arrays (R,)."""
    l0 = max(float(np.mean(employment0)), 1e-12)
    w_star = base_wage * ((employment + l0) / (employment0 + l0)) ** wage_elasticity
    cap = np.maximum(land_capacity, 1e-12)
    q_star = base_rent * ((1.0 + land_use / cap) / (1.0 + land_use0 / cap)) ** rent_elasticity
    w = np.exp((1 - adjust) * np.log(wage) + adjust * np.log(w_star))
    q = np.exp((1 - adjust) * np.log(rent) + adjust * np.log(q_star))
    return w, q
