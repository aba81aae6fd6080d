"""Relocation (submodel ``relocation``): a few incumbents reconsider their location each step.

Each live firm reconsiders with probability ``p`` (small: fast adjustment makes discrete NEG dynamics
cycle).  It compares its expected profit pi_r (prospects.py) at home with every region it knows about, in
nominal terms (footloose capital) or deflated by the local consumer price index CPI_r (footloose
entrepreneur: pi_r / CPI_r is pi_r Delta_r^(mu/(sigma-1)) up to a constant), and moves to the best one if
the gain exceeds the relocation cost (units of the sector fixed cost, deflated like profits).  Movers pay
the cost from equity.  Cost O(N) for the reconsideration draw (by purpose: O((R + 1) x largest firm
id) keyed draws), then one compiled pass over the candidates x regions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np
from pydantic import Field

from agglomeration import random_streams
from agglomeration.behaviour import _relocation_kernels as _k
from agglomeration.behaviour.prospects import consumer_price_index
from agglomeration.parameters import Section
from agglomeration.submodel import Submodel

if TYPE_CHECKING:  # pragma: no cover
    from agglomeration.firms import FirmTable
    from agglomeration.scenario import Scenario
    from agglomeration.state import ModelState
    from agglomeration.world import World


def relocate(
    table: FirmTable,
    rows: np.ndarray,
    rng: np.random.Generator,
    *,
    probability: float,
    known_q: float,
    rhat: np.ndarray,
    cpi: np.ndarray,
    real: bool,
    sigma: np.ndarray,
    fixed_cost: np.ndarray,
    cost: float,
    relationship: np.ndarray | None = None,
    u: np.ndarray | None = None,
    known_u: np.ndarray | None = None,
) -> np.ndarray:
    """Move firms in ``table``; return the rows that moved.  ``relationship`` (R, S): expected
    relationship costs of the suppliers a firm holds in each region [CNY m per step] (None: 0).
    ``u``: the uniform draw of every row that decides whether it considers moving (by purpose: keyed
    by firm id, see :func:`step`); default: drawn from ``rng``, one per row in order.  ``known_u`` (len(rows),
    R): the uniforms that decide which regions each row knows (known where below ``known_q``; given
    with ``u``, keyed by firm id); default: drawn from ``rng`` for the rows that consider moving."""
    if probability <= 0 or len(rows) == 0:
        return np.zeros(0, dtype=np.int64)
    u = rng.random(len(rows)) if u is None else np.asarray(u, dtype=float)
    if len(u) != len(rows):
        raise ValueError(f"u must have one value per row ({len(rows)}), got {len(u)}")
    cand = _k.rows_below(np.asarray(rows), u, float(probability))
    if len(cand) == 0:
        return cand
    R = rhat.shape[0]
    s = table.sector[cand]
    growth = np.exp((np.asarray(sigma, dtype=float)[s] - 1.0) * table.log_productivity[cand])
    defl = np.asarray(cpi, dtype=float) if real else np.ones(R)
    if known_q >= 1:
        known = np.ones((len(cand), R), bool)
    elif known_u is not None:
        known_u = np.asarray(known_u, dtype=float)
        if known_u.shape != (len(rows), R):
            raise ValueError(f"known_u must have shape ({len(rows)}, {R}), got {known_u.shape}")
        known = known_u[u < probability] < known_q
    else:
        known = rng.random((len(cand), R)) < known_q
    movers, status = _k.move(
        cand,
        growth,
        known,
        table.sector,
        table.region,
        table.equity,
        np.asarray(rhat, dtype=float),
        defl,
        np.asarray(sigma, dtype=float),
        np.asarray(fixed_cost, dtype=float),
        float(cost),
        table.lines,
        np.zeros_like(rhat) if relationship is None else np.asarray(relationship, dtype=float),
    )
    if status != 0:
        raise ValueError("relocate: a row, sector or region index is out of range")
    return movers


# ------------------------------------------------------------------------------------------- submodel
class RelocationParams(Section):
    """``[behaviour.relocation]``: incumbents reconsidering their location."""

    enabled: bool = Field(
        True, description="incumbents may relocate", json_schema_extra={"source": "switch"}
    )
    probability: float = Field(
        0.01,
        ge=0.0,
        le=1.0,
        description="per-step probability that a firm reconsiders its location [1/step]",
        json_schema_extra={
            "source": "1 % per quarter: slow adjustment avoids the cycles of discrete-time NEG dynamics (Commendatore, Currie & Kubin 2007; docs/THEORY.md 7); zone effects work mostly through net entry, not relocation (Lu, Wang & Zhu 2019, AEJ: Economic Policy 11(3))"
        },
    )
    cost: float = Field(
        0.5,
        ge=0.0,
        le=1e3,
        description="relocation cost per product line in units of the sector fixed cost per line (a firm pays cost x f_s x lines) [-]",
        json_schema_extra={
            "source": "assumption: half a step of fixed cost per line (plausible 0.25-4: moving costs of a quarter to a year of overhead; not estimated for Chongqing)"
        },
    )
    profit: Literal["nominal", "real"] = Field(
        "real",
        description="profit compared by relocating firms: 'nominal' (footloose capital) or 'real' = "
        "deflated by the local consumer price index prod_s P_rs^final_share_s (footloose entrepreneur)",
        json_schema_extra={
            "source": "real profit: footloose-entrepreneur logic (owners live where the firm is)"
        },
    )


def step(state: ModelState, world: World, scenario: Scenario, rng: np.random.Generator):
    """A few incumbents (entrants of this step excluded) move to a better region they know."""
    p = scenario.behaviour.relocation
    if not p.enabled:
        return None
    u = known_u = None
    if p.probability > 0 and random_streams.by_purpose(scenario, state):
        # one keyed draw per firm and purpose: whether it considers moving (0), which regions it
        # knows (1..R); one call, so a firm's numbers do not depend on the other firms
        R = world.n_regions
        fids = state.firms.fid[state.incumbents]
        keys = (fids[:, None] * (R + 1) + np.arange(R + 1)).ravel()
        draws = random_streams.uniforms(rng, keys).reshape(len(fids), R + 1)
        u, known_u = draws[:, 0], draws[:, 1:]
    moved = relocate(
        state.firms,
        state.incumbents,
        rng,
        probability=p.probability,
        known_q=state.prospects.known_q,
        rhat=state.prospects.revenue,
        cpi=consumer_price_index(state.market.P1, world.sigma, world.final_share, world.n_regions),
        real=p.profit == "real",
        sigma=world.sigma,
        fixed_cost=state.fixed_cost,
        cost=p.cost,
        relationship=state.prospects.fixed - state.fixed_cost[None, :],
        u=u,
        known_u=known_u,
    )
    return {"relocations": len(moved)}


SUBMODEL = Submodel(
    name="relocation",
    step=step,
    summary="a few incumbents reconsider their location and move when the gain beats the cost",
    params=RelocationParams,
    counters=("relocations",),
    legacy={
        "relocation_enabled": "enabled",
        "relocation_probability": "probability",
        "relocation_cost": "cost",
        "relocation_profit": "profit",
    },
)
