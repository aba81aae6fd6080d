"""World (world.py): the per-process cache of built worlds hands out independent, equal copies and
never a world built for other inputs."""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest

from agglomeration import world as world_module
from agglomeration.scenario import load_scenario
from agglomeration.world import World, build_world

BASELINE = Path(__file__).resolve().parents[1] / "scenarios" / "baseline.toml"


@pytest.fixture(autouse=True)
def empty_cache(monkeypatch):
    """Each test starts from an empty cache (other tests of the process may have filled it)."""
    monkeypatch.setattr(world_module, "_worlds", OrderedDict())


def _uncached(scenario):
    kept = world_module.KEPT_WORLDS
    world_module.KEPT_WORLDS = 0
    try:
        return build_world(scenario)
    finally:
        world_module.KEPT_WORLDS = kept


def _assert_same_world(got: World, fresh: World) -> None:
    """Every array field equal, the trade costs of a customs change too."""
    for f in dataclasses.fields(World):
        a, b = getattr(got, f.name), getattr(fresh, f.name)
        if isinstance(a, np.ndarray):
            np.testing.assert_array_equal(a, b, err_msg=f.name)
    factor = np.full(got.n_regions, 0.5)
    for a, b in zip(got.trade_costs(factor), fresh.trade_costs(factor), strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_cached_world_is_an_equal_independent_copy():
    scenario = load_scenario(BASELINE)
    a, b = build_world(scenario), build_world(scenario)
    assert a is not b and not np.shares_memory(a.delegation, b.delegation)
    fresh = _uncached(scenario)
    _assert_same_world(a, fresh)
    _assert_same_world(b, fresh)
    a.delegation[:] = -1.0  # a model that wrote into its world would not reach the next one
    np.testing.assert_array_equal(build_world(scenario).delegation, fresh.delegation)


@pytest.mark.parametrize(
    "over",
    [
        {"policy.delegation.all": 1.0},
        {"logistics.tariff_multiplier.rail": 0.5},
        {"logistics.add_links": [{"from": "WZ", "to": "DOM", "mode": "rail", "distance_km": 700}]},
        {"regions.overrides.WZ.base_wage": 0.02},  # in the scenario's data only
        {"logistics.route_choice_elasticity": 4.0},  # in the logistics section only
    ],
)
def test_other_inputs_get_their_own_world_after_the_baseline_is_cached(over):
    base = load_scenario(BASELINE)
    cached_base = build_world(base)
    scenario = load_scenario(BASELINE, over)
    got = build_world(scenario)
    _assert_same_world(got, _uncached(scenario))
    with pytest.raises(AssertionError):  # the override does change the world
        _assert_same_world(got, cached_base)


def test_the_cache_keeps_the_last_worlds_and_drops_the_oldest():
    scenarios = [
        load_scenario(BASELINE, {"logistics.tariff_multiplier.rail": 0.5 + 0.1 * k})
        for k in range(world_module.KEPT_WORLDS + 1)
    ]
    for s in scenarios:
        build_world(s)
    assert len(world_module._worlds) == world_module.KEPT_WORLDS
    assert world_module._world_key(scenarios[0]) not in world_module._worlds
    assert world_module._world_key(scenarios[-1]) in world_module._worlds
