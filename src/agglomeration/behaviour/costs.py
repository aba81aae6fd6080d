"""Policy-dependent costs and import prices (submodel ``costs``, the first of every step).

Delegation d_r in [0, 1] and the share a_rc of each reform domain c a region has adopted
(:mod:`agglomeration.behaviour.policy`, :mod:`agglomeration.reform_domains`) set, through named
channels, each reading one cost (``p.x`` = ``policy.x``):

    admin_r    = admin_cost (1 - p.delegation_admin_effect d_r)
                 (1 - p.government_functions_admin_effect a_r,gov) (1 - p.supervision_admin_effect a_r,sup)
    entry_r    = entry_cost (1 - p.delegation_entry_effect d_r) (1 - p.investment_entry_effect a_r,inv)
                 [x f_s]
    approval_r = approval_days (steps_per_year / 365)
                 (1 - p.delegation_delay_effect d_r) (1 - p.investment_delay_effect a_r,inv)     [steps]
    rate_r     = entry.discount_rate - p.finance_rate_cut a_r,fin                 [1/year, >= 0.001]
    customs_r  = customs hours of region r x (1 - p.trade_customs_effect a_r,trade)

The customs channel multiplies region r's customs dwell hours (the hours of its hub on trade with
international gateways); every route option is repriced with them (``World.route_choice``, geography.py:
value of time x hours / value density; services ship no goods), so delivered costs, mode shares and
market access respond.  ``known_share`` (R,): the probability that an entrant knows a region (the information channel):
information_regions + (1 - information_regions) x policy.information_sharing for the regions of the zone
network (the shared investment-information platform of the FTZ and the connected areas),
information_regions elsewhere.  Special customs supervision zones (bonded zones, World.bonded) exempt
imported inputs of processing trade from the import tariff (levied on inputs from international
gateways only) and, by ``processing_friction``, goods inputs from the non-freight distance friction
of international gateways (``tau_inputs``).  The foreign competitors'
CES weight in every market follows from the import prices and trade costs.

Import prices (model units) are the gateway price index x the sector's domestic price level, the
geometric mean of the mill prices its firms charged in the last market (``market.price_level``;
entrants that have not sold yet do not count; foreign technology keeps pace with domestic technology);
with ``behaviour.market.import_prices = "absolute"`` the data prices are used as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from pydantic import Field

from agglomeration.behaviour import market
from agglomeration.parameters import Section
from agglomeration.region_types import zone_mask
from agglomeration.submodel import Submodel

if TYPE_CHECKING:  # pragma: no cover
    from agglomeration.geography import TradeCosts
    from agglomeration.scenario import Scenario
    from agglomeration.state import ModelState
    from agglomeration.world import World


@dataclass
class Costs:
    """Policy-dependent costs of the current step (written by the ``costs`` submodel)."""

    #: (R,) administrative wedge on marginal cost [-]
    admin: np.ndarray
    #: (R,) one-off entry cost in units of the sector fixed cost [-]
    entry_cost: np.ndarray
    #: (R,) steps from an entrant's decision to production in each region (approval delay) [steps]
    approval_steps: np.ndarray
    #: (R,) entrants' annual discount (interest) rate in each region [1/year]
    discount_rate: np.ndarray
    #: (R,) factor on each region's customs dwell hours (trade facilitation) [-]
    customs_factor: np.ndarray
    #: (R,) probability that a potential entrant knows each region [-]
    known_share: np.ndarray
    #: (R,) relative delivered-price gain a buyer needs to switch supplier [-]
    switching_cost: np.ndarray
    #: (S, M, M) effective iceberg trade costs (reforms scale the gateway part) [-]
    tau: np.ndarray
    #: (S, M, M) effective trade freeness tau^(1 - sigma) [-]
    phi: np.ndarray
    #: (S, M) CES weight of foreign competitors in every market [-]
    foreign: np.ndarray
    #: (S, M, M) ``tau`` with the international gateway->region costs of inputs times the import
    #: tariff outside bonded zones and, into bonded zones, goods inputs relieved of the distance
    #: friction by ``processing_friction`` (what buyers pay for inputs; final goods pay ``tau``) [-]
    tau_inputs: np.ndarray
    #: the trade multipliers ``tau``/``phi`` were computed for (recomputed only when they change)
    trade_key: bytes | None = None
    #: route-option costs and shares at ``customs_factor`` (None for a hand-built World)
    route_choice: TradeCosts | None = None


class CostsParams(Section):
    """``[behaviour.costs]``: the cost levels delegation and reforms act on."""

    admin_cost: float = Field(
        0.02,
        ge=0.0,
        le=5.0,
        description="recurring administrative burden at delegation 0 and no replicated reform, as a "
        "wedge on marginal cost (share of gross cost) [-]",
        json_schema_extra={
            "source": "estimate (range 0.005-0.05): entertainment and travel costs about 3 % of value "
            "added, partly administrative (Cai, Fang & Xu 2011, J Law Econ 54(1):55-78), i.e. 1-3 % "
            "of gross cost at a 20-35 % value-added share"
        },
    )
    processing_friction: float = Field(
        0.0,
        ge=0.0,
        le=1.0,
        description="share (an exponent) of the non-freight distance friction (max(km, D0) / D0)^delta "
        "that imported goods inputs (manufacturing sectors) pay from an international gateway into a "
        "region with a special customs supervision zone (processing trade; services are not relieved); "
        "1 = as ordinary trade, 0 = freight, customs and time only [-]",
        json_schema_extra={
            "source": "estimate (range 0-0.5): in processing trade the foreign buyer or parent "
            "chooses, contracts and often supplies the imported inputs (pure assembly: Manova & Yu "
            "2016, J Int Econ 100:120-137), so the search and contracting frictions of distance that "
            "the gravity calibration puts on ordinary trade are borne in its global network; "
            "processing exporters import 45-54 % of their output value (Kee & Tang 2016, AER "
            "106(6):1402-36); docs/ODD.md, Special customs supervision"
        },
    )
    entry_cost: float = Field(
        8.0,
        ge=0.0,
        le=1e3,
        description="one-off sunk entry cost at delegation 0 (registration, approvals, set-up), in "
        "units of the sector fixed cost per line [-]",
        json_schema_extra={
            "source": "estimate (range 2-16): two years of fixed cost; no structural estimate for "
            "China (docs/ODD.md, Entry); policy.delegation_entry_effect and "
            "policy.investment_entry_effect lower it"
        },
    )


def update_import_prices(state: ModelState, world: World, scenario: Scenario) -> None:
    """Import prices in model units (see the module docstring)."""
    if scenario.behaviour.market.import_prices == "absolute":
        state.import_price = np.asarray(world.gateway_import_price, dtype=float)
        return
    level = state.market_price_level
    if level is None:  # no market solved yet: the live firms' prices
        level = market.price_level(state, world, state.firms.alive_rows())
    state.domestic_price_level = level
    state.import_price = np.asarray(world.gateway_import_price, dtype=float) * level[None, :]


#: lowest discount rate the finance channel can reach [1/year]
MIN_DISCOUNT_RATE = 0.001


def channels(state: ModelState, world: World, scenario: Scenario) -> dict[str, np.ndarray]:
    """The policy channels of the module docstring, each (R,): ``admin``, ``entry_cost``,
    ``approval_steps``, ``discount_rate``, ``customs_factor``, ``known_share``."""
    pp = scenario.policy
    bp = scenario.behaviour
    d = state.policy.delegation
    a = state.policy.shares()
    inv = a["investment_management"]
    admin = (
        bp.costs.admin_cost
        * (1.0 - pp.delegation_admin_effect * d)
        * (1.0 - pp.government_functions_admin_effect * a["government_functions"])
        * (1.0 - pp.supervision_admin_effect * a["supervision"])
    )
    entry_cost = (
        bp.costs.entry_cost
        * (1.0 - pp.delegation_entry_effect * d)
        * (1.0 - pp.investment_entry_effect * inv)
    )
    approval = (
        bp.entry.approval_days
        * bp.steps_per_year
        / 365.0
        * (1.0 - pp.delegation_delay_effect * d)
        * (1.0 - pp.investment_delay_effect * inv)
    )
    rate = np.maximum(
        bp.entry.discount_rate - pp.finance_rate_cut * a["financial_innovation"], MIN_DISCOUNT_RATE
    )
    q = bp.prospects.information_regions
    network = zone_mask(world.region_type)
    known = np.where(network, q + (1.0 - q) * pp.information_sharing, q)
    return {
        "admin": admin,
        "entry_cost": entry_cost,
        "approval_steps": approval,
        "discount_rate": rate,
        "customs_factor": 1.0 - pp.trade_customs_effect * a["trade_facilitation"],
        "known_share": known,
    }


def apply(state: ModelState, world: World, scenario: Scenario) -> None:
    """This step's policy-dependent costs of ``state`` (:func:`channels`), switching cost, trade costs
    and foreign competition."""
    bp = scenario.behaviour
    ch = channels(state, world, scenario)
    old = state.costs
    key = ch["customs_factor"].tobytes()
    choice = None
    if old is not None and key == old.trade_key:
        tau, phi, choice = old.tau, old.phi, old.route_choice
    elif world.routes is not None:
        choice = world.route_choice(ch["customs_factor"])
        tau, phi = choice.tau, choice.phi
    else:
        tau, phi = world.trade_costs(ch["customs_factor"])
    foreign = market.external_competition(
        state.import_price,
        tau,
        world.sigma,
        world.n_regions,
        bp.market.external_competitors,
        world.gateway_competitors,
    )
    state.costs = Costs(
        **ch,
        switching_cost=np.full(world.n_regions, float(bp.sourcing.switching_cost)),
        tau=tau,
        phi=phi,
        foreign=foreign,
        tau_inputs=_input_trade_costs(world, tau, bp.costs.processing_friction),
        trade_key=key,
        route_choice=choice,
    )


def _input_trade_costs(
    world: World, tau: np.ndarray, processing_friction: float = 1.0
) -> np.ndarray:
    """``tau`` with the gateway->region entries of inputs times ``World.input_import_factor`` (the
    tariff, international gateways only) and, for buyers in bonded zones (processing trade), the
    non-freight distance friction of goods inputs from international gateways raised to
    ``processing_friction`` instead of 1 (see :class:`CostsParams`)."""
    if world.n_gateways == 0:
        return tau
    factor = world.input_import_factor()  # (S, G, R)
    R = world.n_regions
    relief = _processing_relief(world, processing_friction)  # (S, G, R) or None
    if not np.any(factor != 1.0) and relief is None:
        return tau
    out = tau.copy()
    out[:, R:, :R] = tau[:, R:, :R] * factor
    if relief is not None:
        out[:, R:, :R] /= relief
    return out


def _processing_relief(world: World, processing_friction: float) -> np.ndarray | None:
    """(S, G, R) the part of the distance friction processing trade does not pay:
    friction^(1 - processing_friction) on goods inputs (manufacturing sectors) from an international
    gateway into a bonded region, 1 elsewhere (services are not processing trade); None when nothing
    is relieved (no bonded zone, no route data, or ``processing_friction`` 1)."""
    friction = world.distance_friction
    if friction is None or world.bonded is None or processing_friction >= 1.0:
        return None
    R = world.n_regions
    bonded = np.asarray(world.bonded, bool)
    intl = world.gateway_international
    if not bonded.any() or not intl.any():
        return None
    goods = np.asarray(world.sector_kind) == "manufacturing"
    if not goods.any():
        return None
    sel = goods[:, None, None] & (intl[:, None] & bonded[None, :])[None, :, :]  # (S, G, R)
    return np.where(sel, friction[:, R:, :R] ** (1.0 - processing_friction), 1.0)


def step(state: ModelState, world: World, scenario: Scenario, rng: np.random.Generator) -> None:
    """Import prices from last step's prices, then this step's policy-dependent costs."""
    update_import_prices(state, world, scenario)
    apply(state, world, scenario)


SUBMODEL = Submodel(
    name="costs",
    step=step,
    summary="policy-dependent costs: import prices, administrative burden, entry cost, approval "
    "delay, entrants' discount rate, customs hours and entrants' knowledge of regions (delegation "
    "and adopted reforms)",
    params=CostsParams,
    legacy={"admin_cost": "admin_cost", "entry_cost": "entry_cost"},
)
