"""Policy levers: delegation levels, the reform pool and its replication, information sharing.

Delegation d_r in [0, 1] (power delegated to a connected area by the municipality) comes from the region
data and is overridden by ``[policy] delegation`` (per region type, then per region id).  It lowers the
administrative wedge on marginal cost and the entry cost:

    admin_r = admin_cost (1 - delegation_admin_effect d_r) (1 - e)^(n_gov + n_sup)
    entry_r = entry_cost (1 - delegation_entry_effect d_r) (1 - e)^(n_inv + n_fin)    [x f_s]
    trade_r = (1 - e)^n_trade   multiplies the non-unit part (tau - 1) of region<->gateway trade costs
                                and the supplier switching cost

where n_c counts the reforms of category c adopted by region r and e = ``reform_effect``.

Reform pool: ``reforms_per_category`` reforms in each of five categories (government functions,
investment management, trade facilitation, financial innovation, supervision).  Each step an FTZ area
adopts each reform it lacks with hazard ``pioneer_rate`` (the pilot zone pioneers).  A connected area
replicates a reform already adopted by some FTZ area with hazard

    h_r = replication_rate ((0.5 + d_r) / 1.5) conn_r          (x other_replication_factor for 'other')

conn_r = mean over sectors of the highest trade freeness phi between r and any FTZ area, in (0, 1].
Information sharing raises supplier search and entrants' knowledge of regions (see sourcing, entry).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from agglomeration.errors import InputError

CATEGORIES = (
    "government_functions",
    "investment_management",
    "trade_facilitation",
    "financial_innovation",
    "supervision",
)


def resolve_delegation(world, delegation: dict[str, float], file=None) -> np.ndarray:
    """Delegation level per region (R,): world data, then per-type, then per-id overrides."""
    d = np.asarray(world.delegation, dtype=float).copy()
    types = {"ftz", "connected", "other"}
    ids = {str(x) for x in world.region_ids}
    for key, val in delegation.items():
        if not (0.0 <= float(val) <= 1.0):
            raise InputError(
                f"expected a number in [0, 1], got {val}",
                file=file,
                field=f"policy.delegation.{key}",
            )
        if key not in types and key not in ids:
            raise InputError(
                f"unknown region id or type {key!r}; expected one of {sorted(types)} or {sorted(ids)}",
                file=file,
                field=f"policy.delegation.{key}",
            )
    for key, val in delegation.items():
        if key in types:
            d[np.asarray(world.region_type) == key] = float(val)
    for key, val in delegation.items():
        if key in ids:
            d[np.asarray(world.region_ids) == key] = float(val)
    return d


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

    def multipliers(self, effect: float) -> dict[str, np.ndarray]:
        """Cost multipliers (R,) of 'admin', 'entry' and 'trade' from adopted reforms."""
        c = self.counts
        keep = 1.0 - effect
        return {
            "admin": keep ** (c[:, 0] + c[:, 4]),
            "entry": keep ** (c[:, 1] + c[:, 3]),
            "trade": keep ** c[:, 2],
        }


def initial_policy(world, params, file=None) -> PolicyState:
    """Delegation levels and an empty reform pool."""
    R = world.n_regions
    d = resolve_delegation(world, dict(params.delegation), file=file)
    adopted = np.zeros((R, len(CATEGORIES) * params.reforms_per_category), dtype=bool)
    return PolicyState(delegation=d, adopted=adopted, per_category=params.reforms_per_category)


def connectivity_to_ftz(world, phi: np.ndarray) -> np.ndarray:
    """conn_r in [0, 1]: mean over sectors of max_f phi_s[r, f] over FTZ areas f (1 for FTZ areas)."""
    R = world.n_regions
    ftz = np.flatnonzero(np.asarray(world.region_type) == "ftz")
    if len(ftz) == 0:
        return np.zeros(R)
    return phi[:, :R, ftz].max(axis=2).mean(axis=0)


def step_policy(
    state: PolicyState, world, params, conn: np.ndarray, rng: np.random.Generator
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
    replicated = (~ftz)[:, None] & available[None, :] & ~state.adopted & (u < h[:, None])
    new = pioneered | replicated
    state.adopted |= new
    state.counts = state._counts()
    return int(new.sum())
