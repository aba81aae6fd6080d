"""Factor markets (submodel ``factor_prices``): regional labour markets set wages, land markets set rents.

**Labour.**  Wages are relative to the data's base wage, w_r = w_r(0) exp(x_r).  Workers supply labour
to the modelled firms of region r through migration (elasticity eps, between the region's commuting zone
and the rest of the country, whose wage is the outside wage Omega(t) of behaviour/growth.py) and
commuting (elasticity eta, between workplaces of one commuting zone c: regions whose centroids lie
within ``commuting_km`` of each other, chained).  Nested-logit (Frechet) labour supply:

    L^s_r = (L_r(0) + B) exp(eta x_r) Wbar_c^(eps - eta) Omega^(-eps)
    Wbar_c = (sum_{j in c} s_j exp(eta x_j))^(1/eta),      s_j = (L_j(0) + B) / sum_{k in c} (L_k(0) + B)

so a zone-wide wage rise draws migrants with elasticity eps and a region's wage above its neighbours'
draws commuters with elasticity eta.  B = ``background_employment`` x mean_r L_r(0) is the rest of the
local labour market (employers outside the model, unit-elastic demand), which keeps the wage finite where
the modelled firms employ nobody at the start.  Labour demand at this step's wage bill: the modelled
firms' Cobb-Douglas demand is unit-elastic given revenue, so demand in efficiency terms is
D_r = (L_r + B) w_r / w_r(0), with L_r this step's employment (accounts).  Market clearing
D_r exp(-x) = L^s_r has the closed form (d_r = log(D_r / (L_r(0) + B)), o = log Omega)

    a_r = (d_r + eps o) / (1 + eta),   A_c = (1/eta) log sum_{j in c} s_j exp(eta a_j),
    x*_r = a_r - (eps - eta)/(1 + eta) * (1 + eta)/(1 + eps) A_c

(one region per zone: x*_r = (d_r + eps o)/(1 + eps)).  At the initial state x* = 0: the data's base
wages clear the market.  A larger eps ties wages to the outside wage; a demand shock in one region moves
its wage by about 1/(1 + eta) of the shock when its zone has many regions, 1/(1 + eps) when alone.

**Land.**  Rents are anchored to the region's nominal income index X_r(t) (behaviour/growth.py) and rise
with the use of scarce industrial land:

    q*_r = base_rent_r X_r(t) ((1 + H_r / K_r) / (1 + H_r(0) / K_r))^eps_q

(H = land use, K = land capacity, km2).  Both prices move a share ``adjustment`` of the log gap to
their target each step (partial adjustment damps the two-way feedback with location choice).  Wages in
CNY m per worker-step, rents CNY m per km2-step.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from pydantic import Field, model_validator
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from agglomeration.parameters import Section
from agglomeration.submodel import Submodel

if TYPE_CHECKING:  # pragma: no cover
    from agglomeration.scenario import Scenario
    from agglomeration.state import ModelState
    from agglomeration.world import World

#: mean Earth radius used for centroid distances [km]
EARTH_RADIUS_KM = 6371.0


def centroid_distance_km(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """(R, R) great-circle distances between region centroids [km] (haversine)."""
    lo, la = np.radians(np.asarray(lon, dtype=float)), np.radians(np.asarray(lat, dtype=float))
    dlat = la[:, None] - la[None, :]
    dlon = lo[:, None] - lo[None, :]
    h = np.sin(dlat / 2) ** 2 + np.cos(la)[:, None] * np.cos(la)[None, :] * np.sin(dlon / 2) ** 2
    return 2.0 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


def commuting_zones(lon: np.ndarray, lat: np.ndarray, radius_km: float) -> np.ndarray:
    """(R,) commuting-zone label of every region: connected components of the graph joining regions
    whose centroids are at most ``radius_km`` apart (0 = every region its own zone).  Cached by the
    coordinates (the labels are read-only)."""
    lon = np.ascontiguousarray(lon, dtype=float)
    lat = np.ascontiguousarray(lat, dtype=float)
    return _zones(lon.tobytes(), lat.tobytes(), float(radius_km))


@functools.lru_cache(maxsize=16)
def _zones(lon_bytes: bytes, lat_bytes: bytes, radius_km: float) -> np.ndarray:
    lon, lat = np.frombuffer(lon_bytes), np.frombuffer(lat_bytes)
    n = len(lon)
    if n == 0:
        labels = np.zeros(0, dtype=np.int64)
    else:
        near = (
            centroid_distance_km(lon, lat) <= radius_km if radius_km > 0 else np.eye(n, dtype=bool)
        )
        labels = connected_components(csr_matrix(near), directed=False)[1].astype(np.int64)
    labels.setflags(write=False)
    return labels


def market_wages(
    demand: np.ndarray,
    base: np.ndarray,
    zone: np.ndarray,
    *,
    outside: float,
    supply_elasticity: float,
    commuting_elasticity: float,
) -> np.ndarray:
    """x*_r (R,): the log wage relative to the base wage that clears each regional labour market.

    ``demand``: labour demanded at the base wage, (L_r + B) w_r / w_r(0) [workers]; ``base``: the labour
    supplied at the base wages when the outside wage is 1, L_r(0) + B [workers] (both > 0); ``zone``:
    commuting-zone labels; ``outside``: the outside wage index Omega [-].  Closed form of the module
    docstring.
    """
    eps, eta = float(supply_elasticity), float(commuting_elasticity)
    d = np.log(demand) - np.log(base)
    a = (d + eps * np.log(outside)) / (1.0 + eta)
    labels, inv = np.unique(zone, return_inverse=True)
    share = base / np.bincount(inv, weights=base)[inv]
    # A_c = (1/eta) log sum_j s_j exp(eta a_j), evaluated stably per zone
    top = np.full(len(labels), -np.inf)
    np.maximum.at(top, inv, eta * a)
    tot = np.bincount(inv, weights=share * np.exp(eta * a - top[inv]), minlength=len(labels))
    big_a = (np.log(tot) + top) / eta
    return a - (eps - eta) / (1.0 + eps) * big_a[inv]


def land_rents(
    land_use: np.ndarray,
    *,
    base_rent: np.ndarray,
    land_use0: np.ndarray,
    land_capacity: np.ndarray,
    income_index: np.ndarray,
    rent_elasticity: float,
) -> np.ndarray:
    """q*_r (R,): the target rent [CNY m per km2-step] (see the module docstring)."""
    cap = np.maximum(land_capacity, 1e-12)
    scarcity = ((1.0 + land_use / cap) / (1.0 + land_use0 / cap)) ** rent_elasticity
    return base_rent * income_index * scarcity


def partial_adjustment(price: np.ndarray, target: np.ndarray, adjust: float) -> np.ndarray:
    """exp((1 - adjust) log price + adjust log target)."""
    return np.exp((1.0 - adjust) * np.log(price) + adjust * np.log(target))


class FactorPricesParams(Section):
    """``[behaviour.factor_prices]``: the regional labour and land markets."""

    #: keys of earlier versions that have no successor, with what to do instead
    removed_keys: ClassVar[dict[str, str]] = {
        "wage_elasticity": "wages now clear regional labour markets (version 0.2); set "
        "supply_elasticity (migration) and commuting_elasticity instead (docs/ODD.md)",
    }

    enabled: bool = Field(
        True,
        description="wages and rents respond to labour demand, the outside wage and land use",
        json_schema_extra={"source": "switch"},
    )
    adjustment: float = Field(
        0.5,
        gt=0.0,
        le=1.0,
        description="share of the log gap to the target wage/rent closed each step [-]",
        json_schema_extra={
            "source": "assumption: half the gap closed each quarter (damps oscillation; wages are "
            "renegotiated about yearly; plausible 0.25-1)"
        },
    )
    supply_elasticity: float = Field(
        2.0,
        ge=0.0,
        le=100.0,
        description="eps: elasticity of the labour supply of a commuting zone to its wage relative to "
        "the outside wage (migration; hukou frictions keep it low); large = wages follow the outside "
        "wage [-]",
        json_schema_extra={
            "source": "estimate (range 1-4): between provinces ~1.5 (Tombe & Zhu 2019, AER 109(5), migration elasticity "
            "kappa; recalled, not read); larger within Chongqing (one hukou system) with ~4 m Chongqing "
            "natives working elsewhere as a reserve (2022 communique, R): 2, range 1-4"
        },
    )
    commuting_elasticity: float = Field(
        3.3,
        gt=0.0,
        le=100.0,
        description="eta: elasticity of workplace choice within a commuting zone to relative wages [-]",
        json_schema_extra={
            "source": "estimate (range 3.3-6.8): commuting Frechet shape 3.3 (Monte, Redding & Rossi-Hansberg 2018, AER 108(12), "
            "US counties) to 6.8 (Ahlfeldt et al. 2015, Econometrica 83(6), Berlin blocks); values "
            "recalled, not read in the sources"
        },
    )
    commuting_km: float = Field(
        30.0,
        ge=0.0,
        le=1000.0,
        description="regions whose centroids are at most this far apart (chained) share a commuting "
        "zone; 0 = no commuting between regions [km]",
        json_schema_extra={
            "source": "Chongqing mean one-way commute ~40 min, >9 km, >15 % of commuters over 60 min "
            "(CAUPD/Baidu commuting reports 2020-2024): 30 km straight line ~ 60 min by metro or "
            "expressway; joins the six main-city areas (LJ, XY, GY, HT, ED, NP) and CS-FL-RC (the rest of Chongqing's centroid lies 21 km from CS)"
        },
    )
    background_employment: float = Field(
        1.0,
        ge=0.0,
        le=1000.0,
        description="workers of employers outside the model in each regional labour market, in units "
        "of the mean initial regional employment of the modelled firms (damps the wage response; "
        "0 = the modelled firms are the whole local market) [-]",
        json_schema_extra={
            "source": "assumption (not calibrated): the modelled zones employ a part of their districts' "
            "workforce; the value of the 0.2 wage rule's offset L0"
        },
    )
    rent_elasticity: float = Field(
        0.3,
        ge=0.0,
        le=5.0,
        description="elasticity of land rent to (1 + land use / land capacity) [-]",
        json_schema_extra={
            "source": "estimate (range 0.2-1.7, not calibrated): scarce industrial land; inverse housing-supply "
            "elasticities of US metros span ~0.2-1.7 (Saiz 2010, QJE 125(3); recalled)"
        },
    )

    @model_validator(mode="before")
    @classmethod
    def _removed_keys(cls, data: Any) -> Any:
        for key in cls.removed_keys:
            if isinstance(data, dict) and key in data:
                raise ValueError(f"{key} was removed: {cls.removed_keys[key]}")
        return data


def _wage_targets(state: ModelState, world: World, p: FactorPricesParams) -> np.ndarray:
    """Market-clearing wages w*_r (R,) [CNY m per worker-step] at this step's employment."""
    base_wage = np.asarray(world.base_wage, dtype=float)
    emp0 = np.asarray(state.employment0, dtype=float)
    background = p.background_employment * float(np.mean(emp0)) if len(emp0) else 0.0
    supply0 = emp0 + background
    ok = supply0 > 0  # regions without workers (no initial firms, no background) keep their wage
    target = state.wage.copy()
    if not ok.any():
        return target
    demand = (state.accounts.employment + background) * state.wage / base_wage
    zone = commuting_zones(world.lon, world.lat, p.commuting_km)
    x = market_wages(
        np.maximum(demand[ok], 1e-300),
        supply0[ok],
        zone[ok],
        outside=state.outside_wage,
        supply_elasticity=p.supply_elasticity,
        commuting_elasticity=p.commuting_elasticity,
    )
    target[ok] = base_wage[ok] * np.exp(x)
    return target


def anchor_to_data(state: ModelState, world: World) -> None:
    """Set wages and rents back to the data (``World.base_wage``, ``base_rent``) and make the current
    labour and land use, valued at them, the markets' reference (``employment0``, ``land_use0``), so the
    markets clear at the data's prices.  Called once in the burn-in, while the location controller
    still runs (``AgglomerationModel._burn_in``): the controller absorbs the jump, and the observed run
    starts from the wages and rents the economy settled at, near the data's."""
    if state.accounts is None:
        return
    base_wage = np.asarray(world.base_wage, dtype=float)
    base_rent = np.asarray(world.base_rent, dtype=float)
    state.employment0 = np.asarray(state.accounts.employment, float) * state.wage / base_wage
    state.land_use0 = np.asarray(state.accounts.land_use, float) * state.rent / base_rent
    state.wage = base_wage.copy()
    state.rent = base_rent.copy()


def step(state: ModelState, world: World, scenario: Scenario, rng: np.random.Generator) -> None:
    """New wages and rents from this step's employment, land use and the growth indices."""
    p = scenario.behaviour.factor_prices
    if not p.enabled:
        return
    R = world.n_regions
    idx = state.demand_index[:R] if len(state.demand_index) else np.ones(R)
    q_star = land_rents(
        state.accounts.land_use,
        base_rent=np.asarray(world.base_rent, dtype=float),
        land_use0=state.land_use0,
        land_capacity=np.asarray(world.land_capacity, dtype=float),
        income_index=idx,
        rent_elasticity=p.rent_elasticity,
    )
    state.wage = partial_adjustment(state.wage, _wage_targets(state, world, p), p.adjustment)
    state.rent = partial_adjustment(state.rent, q_star, p.adjustment)


SUBMODEL = Submodel(
    name="factor_prices",
    step=step,
    summary="wages move toward the clearing wage of each regional labour market (migration to the "
    "outside wage, commuting within zones) and rents toward targets set by nominal income and land use",
    params=FactorPricesParams,
    legacy={
        "factor_prices_enabled": "enabled",
        "factor_price_adjustment": "adjustment",
        "wage_elasticity": "wage_elasticity",
        "rent_elasticity": "rent_elasticity",
    },
)
