"""Policy-dependent costs and import prices (submodel ``costs``, the first of every step).

Delegation d_r and the reforms a region has adopted (:mod:`agglomeration.behaviour.policy`) set:

    admin_r = admin_cost (1 - delegation_admin_effect d_r) (1 - e)^(n_gov + n_sup)
    entry_r = entry_cost (1 - delegation_entry_effect d_r) (1 - e)^(n_inv + n_fin)    [x f_s]
    trade_r = (1 - e)^n_trade   multiplies region r's customs dwell hours (the customs factor of
                                :meth:`agglomeration.world.World.trade_costs`, which reprices every
                                route option) and the supplier switching cost

where n_c counts the reforms of category c adopted by region r and e = ``policy.reform_effect``.  The
foreign competitors' CES weight in every market follows from the import prices and trade costs.

Import prices (model units) are the gateway price index x the sector's domestic price level, the
geometric mean of its live firms' mill prices (foreign technology keeps pace with domestic technology);
with ``behaviour.market.import_prices = "absolute"`` the data prices are used as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from pydantic import Field

from agglomeration.behaviour import market
from agglomeration.parameters import _Section
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
    #: (R,) relative delivered-price gain a buyer needs to switch supplier [-]
    switching_cost: np.ndarray
    #: (S, M, M) effective iceberg trade costs (reforms scale the gateway part) [-]
    tau: np.ndarray
    #: (S, M, M) effective trade freeness tau^(1 - sigma) [-]
    phi: np.ndarray
    #: (S, M) CES weight of foreign competitors in every market [-]
    foreign: np.ndarray
    #: (S, M, M) ``tau`` with imported inputs' gateway->region costs times the import tariff outside
    #: bonded zones (what buyers pay for imported inputs; final-goods imports pay ``tau``) [-]
    tau_inputs: np.ndarray
    #: the trade multipliers ``tau``/``phi`` were computed for (recomputed only when they change)
    trade_key: bytes | None = None
    #: (R,) factor on every region's customs dwell hours (trade-facilitation reforms) [-]
    customs_factor: np.ndarray | None = None
    #: route-option costs and shares at ``customs_factor`` (None for a hand-built World)
    route_choice: TradeCosts | None = None


class CostsParams(_Section):
    """``[behaviour.costs]``: the cost levels delegation and reforms act on."""

    admin_cost: float = Field(
        0.10,
        ge=0.0,
        le=5.0,
        description="administrative cost wedge on marginal cost at delegation 0 [-]",
        json_schema_extra={
            "source": "assumption: 10 % administrative burden on marginal cost at no delegation"
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
            "China (docs/ODD.md, Entry); halved at full delegation"
        },
    )


def update_import_prices(state: ModelState, world: World, scenario: Scenario) -> None:
    """Import prices in model units (see the module docstring)."""
    if scenario.behaviour.market.import_prices == "absolute":
        state.import_price = np.asarray(world.gateway_import_price, dtype=float)
        return
    t = state.firms
    rows = t.alive_rows()
    s = t.sector[rows]
    n = np.bincount(s, minlength=world.n_sectors)
    logp = np.bincount(s, weights=np.log(t.price[rows]), minlength=world.n_sectors)
    level = np.where(n > 0, np.exp(logp / np.maximum(n, 1)), state.domestic_price_level)
    state.domestic_price_level = level
    state.import_price = np.asarray(world.gateway_import_price, dtype=float) * level[None, :]


def apply(state: ModelState, world: World, scenario: Scenario) -> None:
    """Admin wedge, entry cost, switching cost, trade costs and foreign competition of ``state``."""
    pp = scenario.policy
    bp = scenario.behaviour
    d = state.policy.delegation
    mult = state.policy.multipliers(pp.reform_effect)
    old = state.costs
    admin = bp.costs.admin_cost * (1.0 - pp.delegation_admin_effect * d) * mult["admin"]
    entry_cost = bp.costs.entry_cost * (1.0 - pp.delegation_entry_effect * d) * mult["entry"]
    switching = bp.sourcing.switching_cost * mult["trade"]
    key = mult["trade"].tobytes()
    choice = None
    if old is not None and key == old.trade_key:
        tau, phi, choice = old.tau, old.phi, old.route_choice
    elif world.routes is not None:
        choice = world.route_choice(mult["trade"])
        tau, phi = choice.tau, choice.phi
    else:
        tau, phi = world.trade_costs(mult["trade"])
    foreign = market.external_competition(
        state.import_price, tau, world.sigma, world.n_regions, bp.market.external_competitors
    )
    state.costs = Costs(
        admin=admin,
        entry_cost=entry_cost,
        switching_cost=switching,
        tau=tau,
        phi=phi,
        foreign=foreign,
        tau_inputs=_input_trade_costs(world, tau),
        trade_key=key,
        customs_factor=mult["trade"],
        route_choice=choice,
    )


def _input_trade_costs(world: World, tau: np.ndarray) -> np.ndarray:
    """``tau`` with the gateway->region entries of imported inputs times ``World.input_import_factor``."""
    factor = world.input_import_factor()  # (S, R)
    if not np.any(factor != 1.0) or world.n_gateways == 0:
        return tau
    R = world.n_regions
    out = tau.copy()
    out[:, R:, :R] = tau[:, R:, :R] * factor[:, None, :]
    return out


def step(state: ModelState, world: World, scenario: Scenario, rng: np.random.Generator) -> None:
    """Import prices from last step's prices, then this step's policy-dependent costs."""
    update_import_prices(state, world, scenario)
    apply(state, world, scenario)


SUBMODEL = Submodel(
    name="costs",
    step=step,
    summary="policy-dependent costs: import prices, administrative wedge, entry and switching costs, "
    "effective trade costs (delegation and adopted reforms)",
    params=CostsParams,
    legacy={"admin_cost": "admin_cost", "entry_cost": "entry_cost"},
)
