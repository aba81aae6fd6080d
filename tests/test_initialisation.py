"""The entry-exit balance that sets each sector's fixed cost at initialisation (initialisation.FlowBalance)."""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path

import numpy as np
import pytest

from agglomeration import AgglomerationModel
from agglomeration.initialisation import flow_balances

BASELINE = Path(__file__).resolve().parents[1] / "scenarios" / "baseline.toml"


def test_flow_balance_root_equates_expected_entry_and_exits():
    """solve() returns the fixed cost at which the expected entry flow equals the exits (to about
    1e-9, far tighter than any use of it), with more entry below it and less above; None only when even
    a vanishing fixed cost attracts fewer entrants than the exits."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sectors whose pool is too small say so at construction
        m = AgglomerationModel(BASELINE, replicate_seed=1, firms__initial_count=400, burn_in=0)
    balances = flow_balances(m.state, m.world, m.spec, np.random.default_rng(0))
    solved = 0
    for b in balances:
        if b is None:
            continue
        f = b.solve()
        if f is None:
            assert b.entries(b.f_ref * 1e-8) <= b.exits
            assert b.why_unbalanced() == "pool too small"
            continue
        solved += 1
        assert b.entries(f) == pytest.approx(b.exits, rel=1e-9)
        assert b.entries(0.9 * f) > b.exits > b.entries(1.1 * f)
    assert solved >= 3


@pytest.mark.parametrize("average", [1, 3, 10])
def test_the_controller_with_averaging_leaves_the_means_of_its_last_iterates(average):
    """behaviour.accounts.controller_averaging: at its last controlled step the burn-in's controller
    leaves the fixed costs at the geometric mean and the location shifters at the mean of its last
    ``average`` iterates (all of them when there are fewer; 1 = the last values, as without
    averaging); before that step it moves exactly as without averaging."""
    import copy

    from agglomeration.initialisation import CountController
    from agglomeration.model import AgglomerationModel
    from agglomeration.observe import region_sector
    from agglomeration.scenario import load_scenario

    tiny = Path(__file__).resolve().parent / "data" / "tiny" / "scenario.toml"
    m = AgglomerationModel(load_scenario(tiny, {"burn_in": 0}), replicate_seed=1)
    s = m.state
    n_rs = region_sector(s.firms, m.world.n_regions, m.world.n_sectors, None).astype(float)
    # targets away from the current counts so that every update moves the controls
    target = s.initial_by_sector * 1.3 + 1.0
    cells = n_rs * np.linspace(0.5, 1.5, n_rs.size).reshape(n_rs.shape) + (n_rs > 0)
    plain = CountController(target=target.copy(), hold=1, cells=cells.copy())
    averaged = CountController(target=target.copy(), hold=1, cells=cells.copy(), average=average)
    a, b = s, copy.deepcopy(s)
    f, shift = [], []
    for steps_left in (5, 4, 3, 2, 1, 0):
        plain.update(a, steps_left)
        averaged.update(b, steps_left)
        f.append(a.fixed_cost.copy())
        shift.append(a.location_shift.copy())
        if steps_left > 1:
            np.testing.assert_array_equal(a.fixed_cost, b.fixed_cost)
            np.testing.assert_array_equal(a.location_shift, b.location_shift)
    # the last controlled step is steps_left == hold == 1 (the 5th update); the 6th is held
    first = max(0, 5 - average)
    np.testing.assert_allclose(
        b.fixed_cost, np.exp(np.mean(np.log(f[first:5]), axis=0)), rtol=1e-12
    )
    np.testing.assert_allclose(b.location_shift, np.mean(shift[first:5], axis=0), atol=1e-15)
    assert np.allclose(b.fixed_cost, a.fixed_cost) == (average == 1)
    # local_tfp carries the shifters: it moved by the same amount as they did
    np.testing.assert_allclose(
        b.local_tfp - a.local_tfp, b.location_shift - a.location_shift, atol=1e-12
    )


def test_the_model_averages_only_the_controlled_steps_after_the_wage_and_rent_reset(monkeypatch):
    """The burn-in resets wages and rents to the data half-way (docs/ODD.md section 5); the controller's
    averaging window is capped at the controlled steps after that reset, so the mean it leaves does
    not mix the two regimes (burn-in 8, a quarter uncontrolled: hold 2, reset with 4 steps left)."""
    from agglomeration import initialisation, settled_starts
    from agglomeration.model import AgglomerationModel
    from agglomeration.scenario import load_scenario

    monkeypatch.setattr(settled_starts, "KEPT", 0)
    seen = []
    update = initialisation.CountController.update

    def spy(self, state, steps_left):
        seen.append(self.average)
        update(self, state, steps_left)

    monkeypatch.setattr(initialisation.CountController, "update", spy)
    tiny = Path(__file__).resolve().parent / "data" / "tiny" / "scenario.toml"
    over = {"burn_in": 8, "firms.initial_count": 200, "behaviour.accounts.controller_averaging": 50}
    AgglomerationModel(load_scenario(tiny, over), replicate_seed=1)
    assert set(seen) == {2}
    seen.clear()
    AgglomerationModel(
        load_scenario(tiny, {**over, "behaviour.factor_prices.enabled": False}), replicate_seed=1
    )
    assert set(seen) == {50}  # no reset, no cap


def test_a_pool_too_large_for_any_fixed_cost_is_named_as_such():
    """A large pool drawn below the frontier enters faster than the exits even at a prohibitive fixed
    cost (the entry cost scales with it, so the take-up has a positive floor): the construction
    warning names that reason, not a pool that is too small."""
    over = {"behaviour.entry.productivity_gap": -1.0, "behaviour.entry.pool_scale": 400.0}
    with pytest.warns(UserWarning, match="pool too large|even at a prohibitive fixed cost"):
        m = AgglomerationModel(
            BASELINE, replicate_seed=1, firms__initial_count=400, burn_in=0, **_flat(over)
        )
    large = 0
    for b in flow_balances(m.state, m.world, m.spec, np.random.default_rng(0)):
        if b is not None and b.solve() is None:
            assert b.why_unbalanced() == "pool too large"
            assert b.entries(b.f_ref * 1e8) >= b.exits
            large += 1
    assert large >= 1


def _flat(overrides: dict) -> dict:
    return {k.replace(".", "__"): v for k, v in overrides.items()}


def test_a_pool_too_small_for_any_fixed_cost_is_named_as_such():
    """A pool far below the exits (a hundredth of the data's, no floor) cannot be balanced even at a
    vanishing fixed cost: every sector is reported with that reason."""
    over = {"behaviour.entry.pool_scale": 0.01, "behaviour.entry.floor": 0.0}
    with pytest.warns(UserWarning, match="even at a vanishing fixed cost"):
        m = AgglomerationModel(
            BASELINE, replicate_seed=1, firms__initial_count=400, burn_in=0, **_flat(over)
        )
    reasons = [
        b.why_unbalanced()
        for b in flow_balances(m.state, m.world, m.spec, np.random.default_rng(0))
        if b is not None and b.solve() is None
    ]
    assert reasons and set(reasons) == {"pool too small"}, reasons


def test_the_balance_interpolates_every_region_as_np_interp_does():
    """FlowBalance._at_signals (all regions in one pass) gives np.interp's values bit for bit, on the
    model's signals and on grids with infinities and NaN."""
    from agglomeration.behaviour import entry

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = AgglomerationModel(BASELINE, replicate_seed=2, firms__initial_count=300, burn_in=0)
    b = next(x for x in flow_balances(m.state, m.world, m.spec, np.random.default_rng(1)) if x)
    xp = entry.SIGNAL_GRID
    # the model's signals, and signals on the nodes, outside the grid, infinite and NaN
    odd = np.concatenate([xp, [xp[0] - 5, xp[-1] + 5, np.inf, -np.inf, np.nan]])
    rng = np.random.default_rng(7)
    for signal in (b.signal, np.concatenate([b.signal[:50], odd])):
        balance = dataclasses.replace(b, signal=signal)
        for trial in range(20):
            grid = rng.normal(size=(len(xp), 5)) * 10.0 ** rng.integers(-3, 4)
            if trial % 2:
                cells = rng.integers(0, grid.size, size=4)
                grid.flat[cells] = rng.choice([np.inf, -np.inf, np.nan], size=4)
            if trial % 5 == 0:
                grid[3:6] = grid[3]  # flat segments
            expected = np.stack(
                [np.interp(signal, xp, grid[:, r]) for r in range(grid.shape[1])], 1
            )
            np.testing.assert_array_equal(balance._at_signals(grid), expected)
