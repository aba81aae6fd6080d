"""World (world.py): the per-process cache of built worlds hands out independent, equal copies and
never a world built for other inputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from agglomeration import world as world_module
from agglomeration.scenario import load_scenario
from agglomeration.world import build_world

BASELINE = Path(__file__).resolve().parents[1] / "scenarios" / "baseline.toml"


def _uncached(scenario):
    kept = world_module.KEPT_WORLDS
    world_module.KEPT_WORLDS = 0
    try:
        return build_world(scenario)
    finally:
        world_module.KEPT_WORLDS = kept


def test_a_cached_world_is_an_equal_independent_copy():
    scenario = load_scenario(BASELINE)
    a, b = build_world(scenario), build_world(scenario)
    assert a is not b and not np.shares_memory(a.delegation, b.delegation)
    fresh = _uncached(scenario)
    for w in (a, b):
        np.testing.assert_array_equal(w.delegation, fresh.delegation)
        np.testing.assert_array_equal(
            w.trade_costs(np.ones(w.n_regions))[1], fresh.trade_costs(np.ones(w.n_regions))[1]
        )
    a.delegation[:] = -1.0  # a model that wrote into its world would not reach the next one
    np.testing.assert_array_equal(build_world(scenario).delegation, fresh.delegation)


def test_lever_overrides_get_their_own_world_after_the_baseline_is_cached():
    base = load_scenario(BASELINE)
    build_world(base)
    for over in (
        {"policy.delegation.all": 1.0},
        {"logistics.tariff_multiplier.rail": 0.5},
        {"logistics.add_links": [{"from": "WZ", "to": "DOM", "mode": "rail", "distance_km": 700}]},
    ):
        scenario = load_scenario(BASELINE, over)
        got, fresh = build_world(scenario), _uncached(scenario)
        np.testing.assert_array_equal(got.delegation, fresh.delegation)
        ones = np.ones(got.n_regions)
        np.testing.assert_array_equal(got.trade_costs(ones)[1], fresh.trade_costs(ones)[1])
    changed = build_world(load_scenario(BASELINE, {"policy.delegation.all": 1.0}))
    assert not np.array_equal(changed.delegation, build_world(base).delegation)
    rail = build_world(load_scenario(BASELINE, {"logistics.tariff_multiplier.rail": 0.5}))
    ones = np.ones(rail.n_regions)
    assert not np.array_equal(rail.trade_costs(ones)[1], build_world(base).trade_costs(ones)[1])
