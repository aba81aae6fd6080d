"""Policy, entry and learning submodels on hand-made inputs: directions and limits of each rule."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from _toy import toy_world
from agglomeration.behaviour import entry, learning
from agglomeration.behaviour.policy import (
    CATEGORIES,
    initial_policy,
    resolve_delegation,
    step_policy,
)
from agglomeration.errors import InputError
from agglomeration.parameters import PolicyParams

BASELINE = Path(__file__).resolve().parents[2] / "scenarios" / "baseline.toml"


def test_delegation_overrides_type_then_region_id():
    w = toy_world()  # F ftz (1.0), C connected (0.3), O other (0.0)
    d = resolve_delegation(w, {"connected": 0.5, "other": 0.2, "O": 0.9})
    np.testing.assert_allclose(d, [1.0, 0.5, 0.9])
    with pytest.raises(InputError, match=r"policy\.delegation\.XX"):
        resolve_delegation(w, {"XX": 0.5})
    with pytest.raises(InputError, match="expected a number in"):
        resolve_delegation(w, {"C": 1.5})


def _adoptions(delegation_c: float, conn: np.ndarray, steps: int = 40, seed: int = 0) -> np.ndarray:
    w = toy_world()
    params = PolicyParams(delegation={"C": delegation_c, "O": delegation_c}, pioneer_rate=0.2)
    state = initial_policy(w, params)
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        step_policy(state, w, params, conn, rng)
    return state.adopted.sum(axis=1)


def test_reforms_are_pioneered_in_ftz_and_replicated_faster_with_delegation_and_connectivity():
    conn = np.array([1.0, 0.8, 0.8])
    low = np.mean([_adoptions(0.0, conn, seed=s)[1] for s in range(10)])
    high = np.mean([_adoptions(1.0, conn, seed=s)[1] for s in range(10)])
    assert high > low > 0
    far = np.mean([_adoptions(1.0, np.array([1.0, 0.2, 0.2]), seed=s)[1] for s in range(10)])
    assert far < high
    counts = _adoptions(1.0, conn)
    assert counts[0] > 0  # the FTZ area pioneers
    assert counts[0] >= counts[1]  # replication needs an FTZ reform first
    assert counts[2] <= counts[1]  # 'other' regions replicate more slowly


def test_adopted_reforms_set_their_categories_shares():
    """The shares per domain (what each lowers is tested in test_each_domain_lowers_its_own_cost_only)."""
    w = toy_world()
    state = initial_policy(w, PolicyParams())
    k = PolicyParams().reforms_per_category
    state.adopted[1, : 2 * k] = True  # government functions + investment management in C
    state.counts = state._counts()
    shares = state.shares()
    assert len(CATEGORIES) == 5
    assert shares["government_functions"][1] == 1.0 and shares["government_functions"][0] == 0.0
    assert shares["investment_management"][1] == 1.0
    assert shares["trade_facilitation"][1] == 0.0


def _values(value, first_profit=(2.0, 1.5), scale=4.0, location_scale=4.0):
    """Entry terms for one sector in two regions, the same at every signal; location tastes as strong
    as the entry shock by default (one multinomial logit)."""
    G = len(entry.SIGNAL_GRID)

    def grid(a):
        return np.broadcast_to(np.asarray(a, float).reshape(1, 2, 1), (G, 2, 1)).copy()

    return entry.EntryValues(
        value=grid(value),
        first_profit=grid(first_profit),
        first_revenue=grid(first_profit) * 4.0,
        signal_sd=0.1,
        scale=np.array([scale]),
        location_scale=np.array([location_scale]),
        local=np.zeros((2, 1)),
    )


def _choose(values, n=4000, seed=1, known=None, signal=None):
    known = np.ones((n, 2), bool) if known is None else known
    signal = np.zeros(n) if signal is None else signal
    choice, expected, _ = entry.choose_regions(
        np.zeros(n, int), signal, known, np.random.default_rng(seed), values=values
    )
    return choice, expected


def test_entry_values_interpolate_over_the_signal_and_a_better_signal_enters_more():
    inputs = _inputs(rev=np.array([[4.0], [4.0]]), rev_first=np.array([[4.0], [4.0]]), sd=0.3)
    value, profit, revenue = entry.values_on_grid(inputs, 0.5)
    assert value.shape == (len(entry.SIGNAL_GRID), 2, 1)
    assert np.all(np.diff(value[:, 0, 0]) > 0)  # value rises with the signal
    direct = entry.expected_values(
        **dict(inputs, centre=inputs["centre"] + 0.3 * np.sqrt(0.5) * 1.0, sd=0.3 * np.sqrt(0.5))
    )[0]
    g = len(entry.SIGNAL_GRID) // 2 + 5  # the grid point at signal 1.0
    assert entry.SIGNAL_GRID[g] == pytest.approx(1.0)
    np.testing.assert_allclose(value[g], direct)
    values = entry.EntryValues(
        value=value,
        first_profit=profit,
        first_revenue=revenue,
        signal_sd=0.3 * np.sqrt(0.5),
        scale=np.array([4.0]),
        location_scale=np.array([2.0]),
        local=np.zeros((2, 1)),
    )
    mid = values.at(np.zeros(1, int), np.array([0.95]))[0]
    assert value[g - 1, 0, 0] < mid[0, 0] < value[g, 0, 0]
    n = 20_000
    low, _ = _choose(values, n=n, signal=np.full(n, -1.0))
    high, _ = _choose(values, n=n, signal=np.full(n, 1.0))
    assert np.mean(high >= 0) > np.mean(low >= 0) + 0.05


def test_entrants_prefer_the_more_valuable_region_and_stay_out_when_nothing_pays():
    choice, expected = _choose(_values([8.0, 4.0]))
    assert np.mean(choice == 0) > np.mean(choice == 1) > 0.01
    # the expected first-year profit per step is that of the chosen region, NaN for those who stay out
    np.testing.assert_allclose(expected[choice == 0], 2.0)
    np.testing.assert_allclose(expected[choice == 1], 1.5)
    assert np.isnan(expected[choice == -1]).all()
    better, _ = _choose(_values([8.0, 6.0]))
    assert np.mean(better == 1) > np.mean(choice == 1)
    only1, _ = _choose(_values([8.0, 4.0]), known=np.tile([False, True], (4000, 1)))
    assert not np.any(only1 == 0)  # regions the entrant does not know are never chosen
    nothing, _ = _choose(_values([-40.0, -40.0]))
    assert np.mean(nothing == -1) > 0.99


def _inputs(**kw):
    base = dict(
        rev_first=np.array([[8.0], [8.0]]),
        rev=np.array([[12.0], [12.0]]),
        fixed=np.array([[1.0], [1.0]]),
        entry_cost=np.array([[4.0], [4.0]]),
        h_first=np.array([4.0]),
        h_rest=np.array([16.0]),
        delay_discount=np.array([1.0, 1.0]),
        exit_steps=np.asarray(8.0),
        sigma=np.array([4.0]),
        centre=np.zeros((2, 1)),
        sd=0.0,
    )
    base.update(kw)
    return base


def test_entry_value_without_uncertainty_is_the_discounted_profit_less_the_entry_cost():
    value, first_profit, first_revenue = entry.expected_values(**_inputs())
    # D (g (rev_first h1 + rev h2) / sigma - fixed (h1 + h2)) - C = (8*4 + 12*16)/4 - 20 - 4
    np.testing.assert_allclose(value[:, 0], 32.0)
    np.testing.assert_allclose(first_profit[:, 0], 1.0)
    np.testing.assert_allclose(first_revenue[:, 0], 8.0)
    cheaper = entry.expected_values(**_inputs(entry_cost=np.array([[4.0], [1.0]])))[0]
    assert cheaper[1, 0] - cheaper[0, 0] == pytest.approx(3.0)  # one for one
    slower = entry.expected_values(**_inputs(delay_discount=np.array([0.8, 1.0])))[0]
    assert slower[0, 0] < slower[1, 0]


def test_entry_value_rises_with_productivity_risk_through_the_option_to_exit():
    """Convex payoff: with the exit option a wider productivity draw is worth more, and the value never
    falls below the bounded loss of leaving after exit_steps of losses."""
    low = entry.expected_values(
        **_inputs(rev=np.array([[2.0], [2.0]]), rev_first=np.array([[2.0], [2.0]]))
    )[0]
    risky = entry.expected_values(
        **_inputs(rev=np.array([[2.0], [2.0]]), rev_first=np.array([[2.0], [2.0]]), sd=0.5)
    )[0]
    assert low[0, 0] == pytest.approx(-8.0 - 4.0)  # sure loser: leaves after 8 steps of fixed cost
    assert risky[0, 0] > low[0, 0]


@pytest.mark.parametrize("location_scale", [4.0, 1.0])
def test_entry_choices_follow_the_nested_logit_probabilities(location_scale):
    """Simulated choice shares equal the nested-logit formula: P(enter) = logistic(IV / lambda),
    IV = lambda_loc log sum_r exp(V_r / lambda_loc), P(r | enter) = softmax(V_r / lambda_loc)."""
    n = 200_000
    v = np.array([3.0, -1.0])
    choice, _ = _choose(_values(v, location_scale=location_scale), n=n, seed=7)
    iv = location_scale * np.log(np.exp(v / location_scale).sum())
    enter = 1.0 / (1.0 + np.exp(-iv / 4.0))
    within = np.exp(v / location_scale) / np.exp(v / location_scale).sum()
    se = np.sqrt(0.25 / n)
    assert abs(np.mean(choice >= 0) - enter) < 4 * se
    assert abs(np.mean(choice == 0) - enter * within[0]) < 4 * se


def test_weaker_location_tastes_lower_take_up_but_sharpen_location():
    n = 50_000
    # two equally good regions: a multinomial logit enters more because of the second taste draw
    nested, mnl = (_choose(_values([0.0, 0.0], location_scale=ls), n=n)[0] for ls in (1.0, 4.0))
    assert np.mean(nested >= 0) < np.mean(mnl >= 0) - 0.08
    share = lambda c: np.mean(c == 0) / np.mean(c >= 0)  # noqa: E731
    nested, mnl = (_choose(_values([2.0, 0.0], location_scale=ls), n=n)[0] for ls in (1.0, 4.0))
    assert share(nested) > share(mnl) + 0.1


def test_location_scale_above_logit_scale_is_refused():
    from agglomeration.scenario import load_scenario

    with pytest.raises(InputError, match="location_scale"):
        load_scenario(
            BASELINE, {"behaviour.entry.location_scale": 2.0, "behaviour.entry.logit_scale": 1.0}
        )


def test_localisation_spillover_favours_larger_same_sector_clusters():
    emp = np.array([[100.0, 10.0], [10.0, 10.0]])  # region 0 has a big sector-0 cluster
    loc, div = learning.spillover_terms(emp)
    assert loc[0, 0] > loc[1, 0]
    assert div[1] > div[0]  # region 1 is more diverse
    log_z = np.zeros(2)
    learning.learn(
        log_z,
        np.array([0, 1]),
        np.array([0, 0]),
        np.array([0, 1]),
        emp,
        np.random.default_rng(0),
        drift=0.0,
        localisation=0.1,
        jacobs=0.0,
        shock_sd=0.0,
    )
    assert log_z[0] > log_z[1] > 0
