"""A guard against a runaway economy: settings the validators accept can still put the income loop
(incomes -> spending -> sales -> incomes) outside the range where it settles, and then output grows
by tens of orders of magnitude within a few quarters or turns into NaN.

:func:`check_economy` runs after every market clearing of initialisation and of every step (cost
O(firms)), and stops the run with a :class:`~agglomeration.errors.DivergedError` (exit code 2, a
failed run in a batch) that names the settings known to do this, instead of writing tables of
1e100 or failing later with a message about some metric's NaN.  Known causes (found by running
every parameter at the edges of its range, 2026-12-08): fixed costs calibrated far above most
firms' operating profits (``behaviour.accounts.fixed_cost_quantile`` near 1: the fixed costs are
paid out as incomes, spent, and raise the profits the next pass calibrates to) and relationship
costs that grow steeply with distance (``behaviour.sourcing.relationship_distance_elasticity``
far above its evidence range of 0-1: a supplier 3,000 km away costs 31^e times the fixed cost),
and high values of both together (docs/ODD.md, section 7.3).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from agglomeration.errors import DivergedError
from agglomeration.scenario import value_at

if TYPE_CHECKING:  # pragma: no cover
    from agglomeration.scenario import Scenario
    from agglomeration.state import ModelState
    from agglomeration.world import World

#: final expenditure, in units of the exogenous demand (the households' immobile income and the
#: gateways' demand), above which the economy counts as diverged: about 1.6 in the baseline, so 1e4
#: is far outside anything a settled economy reaches
DIVERGED_MULTIPLE = 1e4

#: (field, value above which it is named as the likely cause): the settings known to diverge
SUSPECTS: tuple[tuple[str, float], ...] = (
    ("behaviour.accounts.fixed_cost_quantile", 0.5),
    ("behaviour.sourcing.relationship_distance_elasticity", 1.0),
)


def spending_ratio(state: ModelState, world: World) -> float:
    """Final expenditure over the exogenous demand (households' immobile income + the gateways'
    demand) [-]: about 1.6 in the baseline; NaN when there is no exogenous demand."""
    from agglomeration.behaviour.growth import exogenous_income

    immobile, gateway = exogenous_income(state, world)
    exogenous = float(np.sum(immobile) + np.sum(gateway))
    return float(np.sum(state.expenditure)) / exogenous if exogenous > 0 else float("nan")


def diverged(state: ModelState, world: World, market: Any = None) -> str | None:
    """Why the economy of ``state`` (cleared as ``market``, default ``state.market``) counts as
    diverged, or None when it does not."""
    market = state.market if market is None else market
    revenue = getattr(market, "revenue", None)
    if revenue is not None and not np.all(np.isfinite(revenue)):
        return "the firms' revenues are not finite"
    if not np.isfinite(np.sum(state.expenditure)):
        return "final expenditure is not finite"
    ratio = spending_ratio(state, world)
    if ratio > DIVERGED_MULTIPLE:
        return (
            f"final expenditure is {ratio:.3g} times the exogenous demand (the households' "
            "immobile income and the gateways' demand; about 1.6 in the baseline)"
        )
    return None


def check_economy(
    state: ModelState,
    world: World,
    scenario: Scenario,
    market: Any = None,
    *,
    initialising: bool = False,
) -> None:
    """Raise :class:`DivergedError` when the economy of ``state`` (cleared as ``market``, default
    ``state.market``) has run away (:func:`diverged`), naming the file or override of the settings
    known to cause it; ``initialising``: called from initialisation (the message says so)."""
    why = diverged(state, world, market)
    if why is None:
        return
    if initialising:
        when = "at initialisation"
    elif getattr(state, "burning_in", False):
        when = f"in step {int(state.t)} of the burn-in"
    else:
        when = f"at step {int(state.t)}"
    values = {field: value_at(scenario, field) for field, _ in SUSPECTS}
    suspects = [field for field, high in SUSPECTS if values[field] > high]
    field = suspects[0] if suspects else None
    overridden = field is not None and field in scenario.applied_overrides
    source = scenario.source_path
    known = "; ".join(f"{f} = {values[f]:g}" for f, _ in SUSPECTS)
    raise DivergedError(
        f"the economy diverged {when}: {why}.  These settings put the income loop (incomes -> "
        "spending -> sales -> incomes) outside the range where it settles.  Known causes: fixed "
        "costs far above most firms' operating profits (behaviour.accounts.fixed_cost_quantile; "
        "0.95 diverged), relationship costs that grow steeply with distance "
        "(behaviour.sourcing.relationship_distance_elasticity far above its evidence range 0-1; "
        "5 diverged), and high values of both together (0.8 with 2 diverged; 0.9 with 0.3, 0.7 "
        f"with 1 and 0.5 with 2 settled in the baseline).  Here: {known}",
        file=None if overridden or source is None else source,
        field=field,
    )
