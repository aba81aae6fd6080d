"""Experiments whose variants only move levers start every run from the settled state of one reference."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from agglomeration.experiment.execute import simulate
from agglomeration.experiment.runner import plan_runs, shared_start
from agglomeration.experiment.spec import experiment_from_dict

BASELINE = Path(__file__).resolve().parents[2] / "scenarios" / "baseline.toml"
SMALL = {"firms.initial_count": 200, "burn_in": 8}


def _experiment(variants, start="auto"):
    return experiment_from_dict(
        {
            "name": "shared",
            "scenario": str(BASELINE),
            "replicates": 2,
            "steps": 2,
            "start": start,
            "overrides": SMALL,
            "variants": variants,
        }
    )


LEVERS = [
    {"name": "baseline"},
    {"name": "delegated", "overrides": {"policy.delegation.connected": 1.0}},
]


def test_lever_variants_share_the_reference_start_and_others_calibrate_their_own():
    plan = plan_runs(_experiment(LEVERS))
    by_variant = {t.meta["variant"]: t for t in plan.tasks}
    assert by_variant["baseline"].reference_overrides is None  # it is the reference
    assert by_variant["delegated"].reference_overrides == SMALL
    behaviour = [*LEVERS, {"name": "cheap", "overrides": {"behaviour.costs.entry_cost": 4.0}}]
    exp = _experiment(behaviour)
    assert not shared_start(exp, [])
    assert all(t.reference_overrides is None for t in plan_runs(exp).tasks)
    own = plan_runs(_experiment(LEVERS, start="own"))
    assert all(t.reference_overrides is None for t in own.tasks)
    # the start is part of a run's identity: shared and own runs are different runs
    assert {t.run_id for t in own.tasks} != {t.run_id for t in plan.tasks}
    forced = plan_runs(_experiment(behaviour, start="shared"))
    assert all(
        t.reference_overrides == SMALL for t in forced.tasks if t.meta["variant"] != "baseline"
    )


def test_a_shared_start_gives_paired_variants_the_same_initial_firms():
    plan = plan_runs(_experiment(LEVERS))
    seed = plan.tasks[0].seed
    tasks = {t.meta["variant"]: t for t in plan.tasks if t.seed == seed}
    out = {v: simulate(t) for v, t in tasks.items()}
    first = {v: o.tables["series"].iloc[0] for v, o in out.items()}
    assert first["baseline"]["firms"] == first["delegated"]["firms"]
    assert first["baseline"]["output"] == first["delegated"]["output"]
    # ... and the lever acts from the first observed step
    a, b = (np.sort(out[v].model.state.costs.entry_cost) for v in ("baseline", "delegated"))
    assert not np.array_equal(a, b)


def test_every_structural_logistics_lever_keeps_the_shared_start():
    # docs/LEVERS.md lists add_links, remove_links and add_hubs as structural levers: a variant that
    # removes a link must not send every variant of the experiment to its own start
    remove = {"logistics.remove_links": [{"from": "LJ", "to": "XY"}]}
    add = {"logistics.add_hubs": [{"place": "NP", "mode": "river"}]}
    for overrides in (remove, add):
        exp = _experiment([*LEVERS, {"name": "network", "overrides": overrides}])
        assert shared_start(exp, []), overrides
        tasks = plan_runs(exp).tasks
        assert all(t.reference_overrides == SMALL for t in tasks if t.meta["variant"] != "baseline")


def test_a_shared_start_refuses_a_variant_that_changes_the_supplier_slots():
    """The slots per input are the firm table's width, set at initialisation: a forced shared start
    silently kept the reference's slots for a variant with another `max_suppliers`."""
    import pytest

    from agglomeration.errors import InputError
    from agglomeration.model import AgglomerationModel
    from agglomeration.scenario import load_scenario

    slots = [*LEVERS, {"name": "one", "overrides": {"behaviour.sourcing.max_suppliers": 1}}]
    with pytest.raises(InputError, match="max_suppliers") as exc:
        plan_runs(_experiment(slots, start="shared"))
    assert exc.value.field == "variants.one"
    plan_runs(_experiment(slots, start="own"))  # each run builds its own firms: fine
    with pytest.raises(InputError, match="supplier slots") as exc:
        AgglomerationModel(
            load_scenario(BASELINE, {**SMALL, "behaviour.sourcing.max_suppliers": 1}),
            replicate_seed=1,
            reference=load_scenario(BASELINE, SMALL),
        )
    assert exc.value.field == "behaviour.sourcing.max_suppliers"
