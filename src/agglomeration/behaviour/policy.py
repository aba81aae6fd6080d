"""Policy (submodel ``policy``): delegation levels, the reform pool and its replication.

Delegation d_r in [0, 1] (power delegated to a region by the municipality) comes from the region data
and is overridden by ``[policy] delegation`` (``all``, then per region type, then per region id; the
lever is declared in :mod:`agglomeration.levers`).  Delegation and the adopted reforms set the
policy-dependent costs (:mod:`agglomeration.behaviour.costs`).

Reform pool: ``reforms_per_category`` reforms in each of the five domains of
:mod:`agglomeration.reform_domains` (government functions, investment management, trade facilitation,
financial innovation and opening, supervision).  Each step an FTZ area adopts each reform it lacks with
hazard ``pioneer_rate`` (the pilot zone pioneers).  A connected area replicates a reform of domain c
already adopted by some FTZ area with hazard

    h_rc = replication_rate ((0.5 + d_r) / 1.5) conn_r x_c     (x other_replication_factor for 'other')

conn_r = mean over sectors of the highest trade freeness phi between r and any FTZ area, in (0, 1];
x_c = ``policy.replicate.<domain>`` (1 unless set; 0 = the domain is not replicated).  The share of a
domain's reforms a region has adopted scales that domain's effect on its own cost (costs.py).
Information sharing raises supplier search and entrants' knowledge of the zone network's regions (see
sourcing, entry).  The ``[policy]`` section is this submodel's parameter section.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from agglomeration.behaviour import costs
from agglomeration.levers import check_table, lever_for, resolve_per_region, valid_keys
from agglomeration.reform_domains import DOMAINS
from agglomeration.submodel import Submodel

if TYPE_CHECKING:  # pragma: no cover
    from agglomeration.parameters import PolicyParams
    from agglomeration.scenario import Scenario
    from agglomeration.state import ModelState
    from agglomeration.world import World

#: the reform domains (the columns of the pool, ``reforms_per_category`` reforms each)
CATEGORIES = DOMAINS


def resolve_delegation(
    world: World, delegation: Mapping[str, float], file: Any = None
) -> np.ndarray:
    """Delegation level per region (R,): the world data overridden by ``policy.delegation``."""
    lever = lever_for("policy.delegation.x")[0]
    keys = valid_keys(lever, [str(x) for x in world.region_ids], [], [])
    check_table(lever, delegation, keys, file=file)
    return resolve_per_region(delegation, world.region_ids, world.region_type, world.delegation)


@dataclass
class PolicyState:
    """Adopted reforms (R, C x K) and the cost multipliers they imply."""

    delegation: np.ndarray
    adopted: np.ndarray
    per_category: int
    counts: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.counts = self._counts()

    def _counts(self) -> np.ndarray:
        R = self.adopted.shape[0]
        if self.per_category == 0:
            return np.zeros((R, len(CATEGORIES)), dtype=int)
        return self.adopted.reshape(R, len(CATEGORIES), self.per_category).sum(axis=2)

    def shares(self) -> dict[str, np.ndarray]:
        """Share of each domain's reforms every region has adopted, (R,) per domain name, in [0, 1]
        (0 for all without a reform pool)."""
        k = max(self.per_category, 1)
        return {name: self.counts[:, i] / k for i, name in enumerate(CATEGORIES)}


def replication_factors(replicate: Mapping[str, float]) -> np.ndarray:
    """(C,) factor on each domain's replication hazard: ``policy.replicate`` ('all', then by domain)."""
    out = np.full(len(CATEGORIES), float(replicate.get("all", 1.0)))
    for i, name in enumerate(CATEGORIES):
        if name in replicate:
            out[i] = float(replicate[name])
    return out


def initial_policy(world: World, params: PolicyParams, file: Any = None) -> PolicyState:
    """Delegation levels and an empty reform pool."""
    R = world.n_regions
    d = resolve_delegation(world, dict(params.delegation), file=file)
    adopted = np.zeros((R, len(CATEGORIES) * params.reforms_per_category), dtype=bool)
    return PolicyState(delegation=d, adopted=adopted, per_category=params.reforms_per_category)


def connectivity_to_ftz(world: World, phi: np.ndarray) -> np.ndarray:
    """conn_r in [0, 1]: mean over sectors of max_f phi_s[r, f] over FTZ areas f (1 for FTZ areas)."""
    R = world.n_regions
    ftz = np.flatnonzero(np.asarray(world.region_type) == "ftz")
    if len(ftz) == 0:
        return np.zeros(R)
    return phi[:, :R, ftz].max(axis=2).mean(axis=0)


def step_policy(
    state: PolicyState,
    world: World,
    params: PolicyParams,
    conn: np.ndarray,
    rng: np.random.Generator,
) -> int:
    """Pioneer and replicate reforms in place; return the number of adoptions this step."""
    if state.adopted.shape[1] == 0:
        return 0
    rtype = np.asarray(world.region_type)
    ftz = rtype == "ftz"
    u = rng.random(state.adopted.shape)
    pioneered = ftz[:, None] & ~state.adopted & (u < params.pioneer_rate)
    available = (
        state.adopted[ftz].any(axis=0) if ftz.any() else np.zeros(state.adopted.shape[1], bool)
    )
    factor = np.where(
        rtype == "connected", 1.0, np.where(rtype == "other", params.other_replication_factor, 0.0)
    )
    h = params.replication_rate * (0.5 + state.delegation) / 1.5 * conn * factor
    by_domain = np.repeat(replication_factors(params.replicate), state.per_category)
    replicated = (
        (~ftz)[:, None] & available[None, :] & ~state.adopted & (u < h[:, None] * by_domain)
    )
    new = pioneered | replicated
    state.adopted |= new
    state.counts = state._counts()
    return int(new.sum())


def step(state: ModelState, world: World, scenario: Scenario, rng: np.random.Generator) -> None:
    """Reforms are pioneered in the FTZ and replicated elsewhere; the costs follow."""
    if not scenario.policy.enabled or state.frozen_policy:
        return
    step_policy(state.policy, world, scenario.policy, state.connectivity, rng)
    costs.apply(state, world, scenario)


SUBMODEL = Submodel(
    name="policy",
    step=step,
    summary="reform pioneering in the FTZ and replication in other regions; policy-dependent costs "
    "updated",
)
