"""What a firm expects to earn in each region (submodel ``prospects``): the basis of entry and relocation.

Expectations are built from the economy the firm enters, with the same mechanisms that will produce its
outcomes (consistent expectations).  For a one-line firm with log productivity 0 in sector s located in
region r (CNY m per step):

- **Unit cost.**  A new firm gets one supplier per input, drawn from the CES demand system as sourcing
  draws it (behaviour/sourcing.py): source market m with probability proportional to A[k, m] phi_k[m, r]
  (imports: ``import_weight`` x (p_imp tau)^(1 - sigma_k)), a firm within it in proportion to its CES
  weight.  Its expected log delivered price index is E[log g_k | r] = sum_m pi_m (mlp[k, m] + log
  tau_k[m, r]) with mlp the CES-weighted mean over the sector-k firms of m of log p - log(lines) /
  (sigma_k - 1) (a supplier with L lines delivers L varieties), so

      log c[r, s] = log(sigma/(sigma-1)) + beta_s log w_r + gamma_s log q_r + log(1 + admin_r)
                    + sum_k a_ks E[log g_k | r] - log theta_rs.

- **Demand.**  Final demand is a CES share at once: MPF[r, s] = sum_m phi_s[r, m] E[s, m] / P1[s, m]
  (the market potential every firm's final sales follow).  Intermediate demand comes only from buyers
  that hold the firm as a supplier: the CES-allocated intermediate demand potential MPI[r, s] = sum_b
  phi_s[r, b] I[s, b] / P1[s, b] (I: the intermediate purchases of region b) times kappa_s, the share of
  it established suppliers of the sector actually capture per unit of CES weight, and, in the first year,
  times ramp_s, the share young firms (age below a year) capture relative to established ones.  kappa and
  ramp are measured in the model every step (exponentially smoothed, ``belief_smoothing``).

      revenue      = c^(1-sigma) (MPF + kappa MPI)            (an established firm)
      revenue_first = c^(1-sigma) (MPF + ramp kappa MPI)      (in its first year)
      fixed        = f_s + sum_k sum_m pi_m rel[s, m, r]      (one line, one supplier per input)

A firm with log productivity x and L lines expects L exp((sigma-1) x) revenue and profit revenue/sigma -
fixed.  Real profit divides by the consumer price index CPI_r = prod_s P_rs^final_share_s with P_rs =
P1[s, r]^(1/(1-sigma_s)).

With one sector, no inputs, unit wages and no admin cost this is exactly the footloose-entrepreneur
profit pi_r = (mu/sigma)(E_r/Delta_r + phi E_s/Delta_s) (up to the constant markup normalisation), and
CPI_r^-1 is proportional to Delta_r^(mu/(sigma-1)).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from pydantic import Field

from agglomeration.behaviour import _prospects_kernels as _pk
from agglomeration.behaviour import market
from agglomeration.behaviour.sourcing import import_weights, relationship_costs
from agglomeration.parameters import Section
from agglomeration.submodel import Submodel

if TYPE_CHECKING:  # pragma: no cover
    from agglomeration.scenario import Scenario
    from agglomeration.state import ModelState
    from agglomeration.world import World


@dataclass
class Prospects:
    """What a firm expects to earn in each region this step (entry and relocation decisions)."""

    #: (R, S) expected revenue of an established one-line firm with log productivity 0 [CNY m per step]
    revenue: np.ndarray
    #: (R, S) the same in its first year (fewer buyers yet) [CNY m per step]
    revenue_first: np.ndarray
    #: (R, S) expected fixed cost of a new one-line firm incl. its supplier relationships [CNY m per step]
    fixed: np.ndarray
    #: (R, S) the structural revenue forecast before the learned corrections [CNY m per step]
    revenue_structural: np.ndarray
    #: (S, A) realised / structural revenue of firms in each age class after the first (AGE_CLASSES)
    by_age: np.ndarray
    #: probability that a decision maker knows a given region [-]
    known_q: float


#: age classes after the first year whose revenue firms learn separately, as [start, end) in years
AGE_CLASSES: tuple[tuple[float, float], ...] = ((1, 2), (2, 3), (3, 5), (5, 10), (10, np.inf))


@dataclass
class Beliefs:
    """What firms have learned from the market so far (smoothed over steps), per sector (S,)."""

    #: captured share of the CES-allocated intermediate demand per unit of CES weight, established firms
    kappa: np.ndarray
    #: first-year firms' capture relative to established ones [-]
    ramp: np.ndarray
    #: exit hazard per step [1/step]
    hazard: np.ndarray
    #: realised / forecast first-year revenue of the entrants whose first year ended (log-smoothed) [-]
    first_year: np.ndarray
    #: realised / forecast revenue of established firms (age a year or more) [-]
    established: np.ndarray
    #: (S, A) the same by age class (AGE_CLASSES): young firms still gain buyers [-]
    by_age: np.ndarray = field(default_factory=lambda: np.ones((0, 0)))
    #: whether each sector has been observed yet
    seen: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))


class ProspectsParams(Section):
    """``[behaviour.prospects]``: what decision makers know about regions and how they learn."""

    information_regions: float = Field(
        0.6,
        gt=0.0,
        le=1.0,
        description="share of regions an entrant or a relocating firm knows about without information "
        "sharing; with sharing q = information_regions + (1 - information_regions) "
        "policy.information_sharing, for entrants in the FTZ and connected areas only, for relocating "
        "firms in every region [-]",
        json_schema_extra={
            "source": "assumption: without sharing an investor knows 60 % of the areas (plausible 0.3-1; no direct evidence)"
        },
    )
    belief_smoothing: float = Field(
        0.2,
        gt=0.0,
        le=1.0,
        description="weight of the latest step in the smoothed beliefs (kappa, ramp, capture by age, realised/forecast revenue corrections; the exit hazard with learn_hazard) [-]",
        json_schema_extra={
            "source": "estimate: beliefs adapt over about five steps (range 0.1-0.5)"
        },
    )
    ramp_prior: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="first-year share of an established supplier's intermediate sales assumed before "
        "any young firm has been observed [-]",
        json_schema_extra={
            "source": "estimate: buyers find a new supplier within about two years (range 0.2-0.8); "
            "replaced by the measured ramp as soon as young firms exist"
        },
    )
    hazard_prior: float = Field(
        0.08,
        ge=0.0,
        le=1.0,
        description="exit hazard assumed before any exit has been observed [1/year]",
        json_schema_extra={
            "source": "SAIC (2013): annual exit rates of Chinese firms 6.2-9.3 % (2008-2012)"
        },
    )
    learn_hazard: bool = Field(
        False,
        description="entrants' exit hazard learned like the other beliefs: smoothed (belief_smoothing) "
        "toward each sector's observed exits / firms of the last step; false = it stays at "
        "hazard_prior (the default, a shortcut)",
        json_schema_extra={
            "source": "switch: the baseline's mean exit rate is 8.8 %/year against the 8 % prior "
            "(docs/ODD.md, Known limitations); the default keeps the calibrated model"
        },
    )


def consumer_price_index(
    P1: np.ndarray, sigma: np.ndarray, final_share: np.ndarray, n_regions: int
) -> np.ndarray:
    """CPI_r = prod_s P_rs^final_share_s (R,); sectors with no supply anywhere count at price 1."""
    p1 = P1[:, :n_regions]
    logp = np.divide(np.log(p1, out=np.zeros_like(p1), where=p1 > 0), (1.0 - sigma)[:, None])
    return np.exp(final_share @ logp)


def expected_log_input_prices(
    state: ModelState, world: World, scenario: Scenario
) -> tuple[np.ndarray, np.ndarray]:
    """(E[log g_k | r] (S, R), pi (S, M, R)): the expected log delivered price of a CES-drawn supplier
    of input k for a buyer in r, and the draw's probability of each source market (regions, then
    gateways); no source at all counts as price 1 (log 0)."""
    mkt = state.market
    R, G, S = world.n_regions, world.n_gateways, world.n_sectors
    t = state.firms
    order = mkt.order
    cell = mkt.cell  # r S + s by position
    # a drawn supplier with L lines delivers L varieties: log index = log p + log tau - log L/(sigma-1)
    # gathers and the weighted cell sums compiled (the same operations), the logs numpy's
    price_pos, lines_pos = _pk.price_log_operands(
        np.asarray(order, dtype=np.int64), t.price, t.lines
    )
    with np.errstate(divide="ignore", invalid="ignore"):  # firms without weight (no lines) drop out
        log_price, log_lines = np.log(price_pos), np.log(lines_pos)
    wlogp = _pk.weighted_log_price_sums(
        np.asarray(order, dtype=np.int64),
        t.sector,
        np.ascontiguousarray(world.sigma, dtype=float),
        log_price,
        log_lines,
        mkt.wp,
        cell,
        R * S,
    )
    A = np.asarray(mkt.A, dtype=float)  # (S, R)
    mlp = np.divide(wlogp.reshape(R, S).T, A, out=np.zeros(A.shape), where=A > 0)  # (S, R)
    phi, tau = state.costs.phi, state.costs.tau_inputs
    weight = np.zeros((S, R + G, R))
    value = np.zeros((S, R + G, R))
    weight[:, :R, :] = A[:, :, None] * phi[:, :R, :R]
    value[:, :R, :] = mlp[:, :, None] + np.log(tau[:, :R, :R])
    if G:
        w_imp = import_weights(world, scenario)  # (S,)
        delivered = state.import_price.T[:, :, None] * tau[:, R:, :R]  # (S, G, R)
        weight[:, R:, :] = w_imp[:, None, None] * delivered ** (1.0 - world.sigma[:, None, None])
        value[:, R:, :] = np.log(delivered)
    total = weight.sum(axis=1)  # (S, R)
    pi = np.divide(
        weight, total[:, None, :], out=np.zeros_like(weight), where=total[:, None, :] > 0
    )
    return (pi * value).sum(axis=1), pi


def intermediate_potential(state: ModelState, world: World) -> np.ndarray:
    """MPI (R, S): the CES-allocated intermediate demand potential of a unit-weight supplier in r."""
    mkt = state.market
    R = world.n_regions
    inter = market.intermediate_demand(mkt, state.links, world.io)  # (S, R) by buyer region
    P1 = mkt.P1[:, :R]
    ratio = np.divide(inter, P1, out=np.zeros_like(inter), where=P1 > 0)
    return np.einsum("srb,sb->rs", state.costs.phi[:, :R, :R], ratio)


def learn(state: ModelState, world: World, scenario: Scenario, mpi: np.ndarray) -> None:
    """Update the smoothed beliefs kappa and ramp from this step's intermediate sales (see module
    docstring); the first observation of a sector replaces its prior."""
    p = scenario.behaviour.prospects
    mkt = state.market
    t = state.firms
    S = world.n_sectors
    sums = _pk.learning_sums(
        np.asarray(mkt.order, dtype=np.int64),
        t.sector,
        t.region,
        t.age,
        t.revenue,
        t.final_sales,
        mkt.wp,
        np.ascontiguousarray(mpi, dtype=float),
        int(scenario.behaviour.steps_per_year),
    )
    old_i, old_b, new_i, new_b = sums.T
    b = state.beliefs
    a = p.belief_smoothing
    has_old = old_b > 0
    kappa_now = np.divide(old_i, old_b, out=np.zeros(S), where=has_old)
    first = has_old & ~b.seen
    b.kappa = np.where(
        first, kappa_now, np.where(has_old, (1 - a) * b.kappa + a * kappa_now, b.kappa)
    )
    b.seen = b.seen | has_old
    has_new = (new_b > 0) & (b.kappa > 0)
    ramp_now = np.divide(new_i, new_b * b.kappa, out=np.zeros(S), where=has_new)
    b.ramp = np.where(has_new, (1 - a) * b.ramp + a * np.clip(ramp_now, 0.0, 1.5), b.ramp)


def learn_hazard(state: ModelState, scenario: Scenario) -> None:
    """Smooth each sector's exit hazard per step toward the last step's exits / firms of the sector
    (``ModelState.tally_exits_by_sector``); sectors without firms keep their belief."""
    b = state.beliefs
    firms, exits = state.last_incumbents_by_sector, state.last_exits_by_sector
    if firms is None or exits is None or len(firms) != len(b.hazard):
        return
    a = scenario.behaviour.prospects.belief_smoothing
    seen = firms > 0
    observed = np.divide(exits, firms, out=np.zeros(len(b.hazard)), where=seen)
    b.hazard = np.where(seen, (1.0 - a) * b.hazard + a * observed, b.hazard)


def _update_factor(factor: np.ndarray, real: np.ndarray, fore: np.ndarray, a: float) -> np.ndarray:
    """factor x (real / fore)^a where both sums are positive (log-smoothed multiplicative update)."""
    real, fore = np.asarray(real, dtype=float), np.asarray(fore, dtype=float)
    ok = (real > 0) & (fore > 0)
    ratio = np.divide(real, fore, out=np.ones(len(real)), where=ok)
    return factor * ratio**a


def correct(state: ModelState, world: World, scenario: Scenario, revenue: np.ndarray) -> None:
    """Update the forecast corrections from realised revenues (adaptive learning, in logs): entrants
    whose first year just ended (realised mean revenue / the forecast they entered with) and
    established firms (revenue / L exp((sigma-1) z) x the structural forecast ``revenue`` (R, S) of
    their cell at the current correction), overall and by age class (AGE_CLASSES)."""
    a = scenario.behaviour.prospects.belief_smoothing
    T = scenario.behaviour.steps_per_year
    S = world.n_sectors
    t = state.firms
    rows = np.asarray(state.incumbents, dtype=np.int64)
    b = state.beliefs
    # L exp((sigma - 1) z) x revenue[r, s]: the gathers and products compiled, the exp in numpy
    e = np.exp(
        _pk.growth_exponent(
            rows, t.sector, t.log_productivity, np.ascontiguousarray(world.sigma, dtype=float)
        )
    )
    structural = _pk.structural_revenue(
        rows, t.sector, t.region, t.lines, e, np.ascontiguousarray(revenue, dtype=float)
    )
    if b.by_age.shape[0] != S or b.by_age.shape[1] < len(AGE_CLASSES):
        raise ValueError(f"beliefs.by_age must have {S} rows and {len(AGE_CLASSES)} columns")
    first, est, by_age = _pk.correction_sums(
        rows,
        t.sector,
        t.age,
        t.revenue,
        t.expected_revenue,
        t.first_year_revenue,
        structural,
        np.ascontiguousarray(b.established, dtype=float),
        np.ascontiguousarray(b.by_age, dtype=float),
        int(T),
        np.array([lo * T for lo, _ in AGE_CLASSES], dtype=float),
        np.array([hi * T for _, hi in AGE_CLASSES], dtype=float),
    )
    b.first_year = _update_factor(b.first_year, first[:, 0], first[:, 1], a)
    b.established = _update_factor(b.established, est[:, 0], est[:, 1], a)
    for k in range(len(AGE_CLASSES)):
        b.by_age[:, k] = _update_factor(b.by_age[:, k], by_age[:, k, 0], by_age[:, k, 1], a)


def evaluate(state: ModelState, world: World, scenario: Scenario) -> Prospects:
    """The prospects of this step's market (see the module docstring)."""
    bp = scenario.behaviour
    sigma = np.asarray(world.sigma, dtype=float)
    elog_g, pi = expected_log_input_prices(state, world, scenario)
    u = market.unit_cost_inputs(state, world)
    log_c = (
        np.log(sigma / (sigma - 1.0))[None, :]
        + np.outer(np.log(u["wage"]), world.labour_share)
        + np.outer(np.log(u["rent"]), world.land_share)
        + np.log1p(state.costs.admin)[:, None]
        + elog_g.T @ world.io  # (R, S): sum_k a_ks E[log g_k | r]
        - state.local_tfp
    )
    mkt = state.market
    R = world.n_regions
    E = state.expenditure_used
    ratio = np.divide(E, mkt.P1, out=np.zeros_like(E), where=mkt.P1 > 0)
    mpf = np.einsum("srm,sm->rs", state.costs.phi[:, :R, :], ratio)
    mpi = intermediate_potential(state, world)
    learn(state, world, scenario, mpi)
    if bp.prospects.learn_hazard:
        learn_hazard(state, scenario)
    b = state.beliefs
    weight = np.exp((1.0 - sigma)[None, :] * log_c)
    rel = relationship_costs(state, world, scenario)  # (S, M, R) by buyer sector
    uses = (np.asarray(world.io) > 0).astype(float)  # (k, s)
    exp_rel = np.einsum("ks,smr,kmr->rs", uses, rel, pi)
    revenue = weight * (mpf + b.kappa[None, :] * mpi)
    correct(state, world, scenario, revenue)
    q = bp.prospects.information_regions
    return Prospects(
        revenue=b.established[None, :] * revenue,
        revenue_first=b.first_year[None, :] * weight * (mpf + (b.ramp * b.kappa)[None, :] * mpi),
        fixed=state.fixed_cost[None, :] + exp_rel,
        known_q=q + (1.0 - q) * scenario.policy.information_sharing,
        revenue_structural=revenue,
        by_age=b.by_age.copy(),
    )


def initial_beliefs(world: World, scenario: Scenario) -> Beliefs:
    """Priors before anything is observed: kappa 1, ramp ``ramp_prior``, hazard ``hazard_prior``."""
    p = scenario.behaviour.prospects
    S = world.n_sectors
    per_step = 1.0 - (1.0 - p.hazard_prior) ** (1.0 / scenario.behaviour.steps_per_year)
    return Beliefs(
        kappa=np.ones(S),
        ramp=np.full(S, p.ramp_prior),
        hazard=np.full(S, per_step),
        first_year=np.ones(S),
        established=np.ones(S),
        by_age=np.ones((S, len(AGE_CLASSES))),
        seen=np.zeros(S, dtype=bool),
    )


def step(state: ModelState, world: World, scenario: Scenario, rng: np.random.Generator) -> None:
    """Prospects from this step's market (when entry or relocation is on)."""
    bp = scenario.behaviour
    if not (bp.entry.enabled or bp.relocation.enabled):
        return
    state.prospects = evaluate(state, world, scenario)


SUBMODEL = Submodel(
    name="prospects",
    step=step,
    summary="expected revenue and costs of a firm in every region and sector at this step's prices, "
    "demand and sourcing, with what firms have learned about buyers (the basis of entry and "
    "relocation)",
    params=ProspectsParams,
    legacy={"information_regions": "information_regions"},
)
