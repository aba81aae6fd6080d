"""A toy submodel and its lever, declared the way a contributor adds one (docs/ARCHITECTURE.md):
one module (parameters, step function, declaration) and one schedule entry (tests/test_submodel.py).

The toy pays a grant to every firm in an FTZ area each step (CNY m, added to equity) and counts them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from agglomeration.levers import Lever, declare
from agglomeration.parameters import Section, lever_field
from agglomeration.submodel import Submodel

GRANT = declare(
    Lever(
        path="behaviour.toy_grant.amount",
        label="FTZ grant",
        unit="CNY m per step",
        lo=0.0,
        hi=5.0,
        default=0.0,
        description="grant paid to every firm in an FTZ area each step",
        read_by=("toy_grant",),
        kind="policy",
        slider=(0.0, 2.0, 0.1),
    )
)


class ToyGrantParams(Section):
    """``[behaviour.toy_grant]``: the toy grant."""

    amount: float = lever_field(GRANT.path)


def step(state: Any, world: Any, scenario: Any, rng: np.random.Generator):
    amount = scenario.behaviour.toy_grant.amount
    t = state.firms
    rows = state.incumbents
    ftz = np.asarray(world.region_type)[t.region[rows]] == "ftz"
    t.equity[rows[ftz]] += amount
    return {"grants": int(ftz.sum()) if amount > 0 else 0}


SUBMODEL = Submodel(
    name="toy_grant",
    step=step,
    summary="toy: a grant to every firm in an FTZ area",
    params=ToyGrantParams,
    counters=("grants",),
)
