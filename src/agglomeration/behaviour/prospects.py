"""What a firm expects to earn in each region (submodel ``prospects``): the basis of entry and relocation.

For a firm with log productivity 0 in sector s located in region r (CNY m per step):

    Pin[k, r]  = (sum_m A[m, k] phi_k[m, r] + w_imp sum_g (p_imp[g, k] tau_k[g, r])^(1-sigma_k))^(1/(1-sigma_k))
                 the CES price index of input k available to a buyer in r (the sourcing choice set)
    phat[r, s] = sigma/(sigma-1) w_r^beta q_r^gamma (1 + admin_r) prod_k Pin[k, r]^a_ks / theta_rs
    Rhat[r, s] = phat^(1-sigma) sum_m phi_s[r, m] (E[s, m] + I[s, m]) / P1[s, m]

E is final expenditure and I the intermediate purchases of sector-s goods by the firms located in each
region (a seller expects a CES share of both).  A firm with log productivity x expects revenue
exp((sigma-1) x) Rhat and profit revenue/sigma - f_s.  Real profit divides by the consumer price index
CPI_r = prod_s P_rs^final_share_s with P_rs = P1[s, r]^(1/(1-sigma_s)).

With one sector, no inputs, unit wages and no admin cost this is exactly the footloose-entrepreneur
profit pi_r = (mu/sigma)(E_r/Delta_r + phi E_s/Delta_s) (up to the constant markup normalisation), and
CPI_r^-1 is proportional to Delta_r^(mu/(sigma-1)).
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
    from agglomeration.scenario import Scenario
    from agglomeration.state import ModelState
    from agglomeration.world import World


@dataclass
class Prospects:
    """What a firm expects to earn in each region this step (entry and relocation decisions)."""

    #: (R, S) expected revenue of a log-productivity-0 firm [CNY m per step]
    revenue: np.ndarray
    #: probability that a decision maker knows a given region [-]
    known_q: float


class ProspectsParams(_Section):
    """``[behaviour.prospects]``: what decision makers know about regions."""

    information_regions: float = Field(
        0.6,
        gt=0.0,
        le=1.0,
        description="share of regions an entrant or a relocating firm knows about without information "
        "sharing; with sharing q = information_regions + (1 - information_regions) "
        "policy.information_sharing [-]",
        json_schema_extra={
            "source": "assumption: without sharing an investor knows 60 % of the areas"
        },
    )


def expected_revenue(
    A: np.ndarray,
    P1: np.ndarray,
    E: np.ndarray,
    I_region: np.ndarray,
    *,
    sigma: np.ndarray,
    io: np.ndarray,
    labour_share: np.ndarray,
    land_share: np.ndarray,
    wage: np.ndarray,
    rent: np.ndarray,
    admin: np.ndarray,
    phi: np.ndarray,
    tau: np.ndarray,
    import_price: np.ndarray,
    import_weight: float,
    local_tfp: np.ndarray | None = None,
) -> np.ndarray:
    """Rhat[r, s] (R, S): expected revenue of a log-productivity-0 entrant, CNY m per step."""
    R = A.shape[1]
    G = import_price.shape[0]
    # input price index available in each region
    p1in = np.einsum("km,kmr->kr", A, phi[:, :R, :R])
    if G and import_weight > 0:
        t = tau[:, R:, :R] * import_price.T[:, :, None]  # (S, G, R)
        p1in = p1in + import_weight * np.sum(t ** (1.0 - sigma[:, None, None]), axis=1)
    log_pin = np.divide(
        np.log(p1in, out=np.zeros_like(p1in), where=p1in > 0),
        (1.0 - sigma)[:, None],
    )  # (S=k, R); 0 (price 1) where nothing is available
    log_c = (
        np.log(sigma / (sigma - 1.0))[None, :]
        + np.outer(np.log(wage), labour_share)
        + np.outer(np.log(rent), land_share)
        + np.log1p(admin)[:, None]
        + log_pin.T @ io  # (R, S): sum_k a_ks log Pin[k, r]
    )
    if local_tfp is not None:
        log_c = log_c - local_tfp
    demand = E.copy()
    demand[:, :R] += I_region
    ratio = np.divide(demand, P1, out=np.zeros_like(demand), where=P1 > 0)
    mp = np.einsum("srm,sm->rs", phi[:, :R, :], ratio)
    return np.exp((1.0 - sigma)[None, :] * log_c) * mp


def consumer_price_index(
    P1: np.ndarray, sigma: np.ndarray, final_share: np.ndarray, n_regions: int
) -> np.ndarray:
    """CPI_r = prod_s P_rs^final_share_s (R,); sectors with no supply anywhere count at price 1."""
    p1 = P1[:, :n_regions]
    logp = np.divide(np.log(p1, out=np.zeros_like(p1), where=p1 > 0), (1.0 - sigma)[:, None])
    return np.exp(final_share @ logp)


def step(state: ModelState, world: World, scenario: Scenario, rng: np.random.Generator) -> None:
    """Expected revenue by region and sector from this step's market (when entry or relocation is on)."""
    bp = scenario.behaviour
    if not (bp.entry.enabled or bp.relocation.enabled):
        return
    q = bp.prospects.information_regions
    known_q = q + (1.0 - q) * scenario.policy.information_sharing
    mkt = state.market
    rhat = expected_revenue(
        mkt.A,
        mkt.P1,
        state.expenditure_used,
        market.intermediate_demand(mkt, state.links, world.io),
        io=world.io,
        phi=state.costs.phi,
        import_weight=bp.sourcing.import_weight,
        **market.unit_cost_inputs(state, world),
    )
    state.prospects = Prospects(revenue=rhat, known_q=known_q)


SUBMODEL = Submodel(
    name="prospects",
    step=step,
    summary="expected revenue of a firm in every region and sector at this step's prices and demand "
    "(the basis of entry and relocation)",
    params=ProspectsParams,
    legacy={"information_regions": "information_regions"},
)
