"""Wages and land rents (submodel ``factor_prices``): the congestion force.

Targets relative to the initial state (so the first step starts at the data's base wage and rent):

    w*_r = base_wage_r ((L_r + L0) / (L_r(0) + L0))^eps_w          L0 = mean initial regional employment
    q*_r = base_rent_r ((1 + H_r / K_r) / (1 + H_r(0) / K_r))^eps_q  H = land use, K = land capacity (km2)

and prices move a share ``adjust`` of the log gap each step (partial adjustment damps the two-way
feedback with location choice).  Wages in CNY m per worker-step, rents CNY m per km2-step.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from pydantic import Field

from agglomeration.parameters import _Section
from agglomeration.submodel import Submodel

if TYPE_CHECKING:  # pragma: no cover
    from agglomeration.scenario import Scenario
    from agglomeration.state import ModelState
    from agglomeration.world import World


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


class FactorPricesParams(_Section):
    """``[behaviour.factor_prices]``: the response of wages and rents to local demand."""

    enabled: bool = Field(
        True,
        description="wages and rents respond to local employment and land use",
        json_schema_extra={"source": "switch"},
    )
    adjustment: float = Field(
        0.5,
        gt=0.0,
        le=1.0,
        description="share of the gap to the target wage/rent closed each step [-]",
        json_schema_extra={"source": "half the gap closed each quarter (damps oscillation)"},
    )
    wage_elasticity: float = Field(
        0.05,
        ge=0.0,
        le=2.0,
        description="elasticity of the local wage to local employment [-]",
        json_schema_extra={
            "source": "assumption: a small urban wage premium elasticity (not calibrated)"
        },
    )
    rent_elasticity: float = Field(
        0.3,
        ge=0.0,
        le=5.0,
        description="elasticity of land rent to land use / land capacity [-]",
        json_schema_extra={
            "source": "assumption: land rents rise steeply with use of scarce industrial land"
        },
    )


def step(state: ModelState, world: World, scenario: Scenario, rng: np.random.Generator) -> None:
    """New wages and rents from this step's regional employment and land use."""
    p = scenario.behaviour.factor_prices
    if not p.enabled:
        return
    acc = state.accounts
    state.wage, state.rent = update_factor_prices(
        state.wage,
        state.rent,
        acc.employment,
        acc.land_use,
        base_wage=world.base_wage,
        base_rent=world.base_rent,
        employment0=state.employment0,
        land_use0=state.land_use0,
        land_capacity=world.land_capacity,
        wage_elasticity=p.wage_elasticity,
        rent_elasticity=p.rent_elasticity,
        adjust=p.adjustment,
    )


SUBMODEL = Submodel(
    name="factor_prices",
    step=step,
    summary="wages and land rents move toward targets set by local employment and land use",
    params=FactorPricesParams,
    legacy={
        "factor_prices_enabled": "enabled",
        "factor_price_adjustment": "adjustment",
        "wage_elasticity": "wage_elasticity",
        "rent_elasticity": "rent_elasticity",
    },
)
