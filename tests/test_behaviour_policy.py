"""Policy, entry and learning submodels on hand-made inputs: directions and limits of each rule."""

from __future__ import annotations

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


def test_reform_categories_lower_their_costs():
    w = toy_world()
    state = initial_policy(w, PolicyParams())
    k = PolicyParams().reforms_per_category
    state.adopted[1, : 2 * k] = True  # government functions + investment management in C
    state.counts = state._counts()
    mult = state.multipliers(0.1)
    assert len(CATEGORIES) == 5
    assert mult["admin"][1] == pytest.approx(0.9**k) and mult["admin"][0] == 1.0
    assert mult["entry"][1] == pytest.approx(0.9**k)
    assert mult["trade"][1] == 1.0


def _values(rev, entry_cost, fixed=1.0, h_first=4.0, h_rest=20.0, delay=(1.0, 1.0)):
    """Entry terms for one sector in two regions (first-year revenue = established revenue)."""
    rev = np.asarray(rev, float).reshape(2, 1)
    return entry.EntryValues(
        rev_first=rev,
        rev=rev,
        fixed=np.full((2, 1), fixed),
        entry_cost=np.asarray(entry_cost, float).reshape(2, 1),
        h_first=np.array([h_first]),
        h_rest=np.array([h_rest]),
        delay_discount=np.asarray(delay, float),
        scale=np.array([4.0]),
    )


def test_entrants_prefer_the_more_profitable_region_and_stay_out_when_nothing_pays():
    rng = np.random.default_rng(1)
    n = 4000
    sector = np.zeros(n, int)
    log_z = np.zeros(n)
    known = np.ones((n, 2), bool)
    sigma = np.array([4.0])
    rev = [12.0, 10.0]  # profit 2.0 vs 1.5 per step
    choice, expected = entry.choose_regions(
        sector, log_z, known, rng, values=_values(rev, [2.0, 2.0]), sigma=sigma
    )
    assert np.mean(choice == 0) > np.mean(choice == 1) > 0.01
    # the expected first-year profit per step is that of the chosen region, NaN for those who stay out
    np.testing.assert_allclose(expected[choice == 0], 2.0)
    np.testing.assert_allclose(expected[choice == 1], 1.5)
    assert np.isnan(expected[choice == -1]).all()
    # a lower entry cost in region 1 raises its share
    cheaper, _ = entry.choose_regions(
        sector, log_z, known, rng, values=_values(rev, [2.0, 0.0]), sigma=sigma
    )
    assert np.mean(cheaper == 1) > np.mean(choice == 1)
    # a longer wait for approval (a lower delay discount) in region 0 lowers its share
    slower, _ = entry.choose_regions(
        sector, log_z, known, rng, values=_values(rev, [2.0, 2.0], delay=(0.8, 1.0)), sigma=sigma
    )
    assert np.mean(slower == 0) < np.mean(choice == 0)
    # regions the entrant does not know are never chosen
    only1, _ = entry.choose_regions(
        sector,
        log_z,
        np.tile([False, True], (n, 1)),
        rng,
        values=_values(rev, [2.0, 2.0]),
        sigma=sigma,
    )
    assert not np.any(only1 == 0)
    # nothing pays: (almost) everybody takes the outside option
    losing, _ = entry.choose_regions(
        sector, log_z, known, rng, values=_values([0.4, 0.4], [2.0, 2.0]), sigma=sigma
    )
    assert np.mean(losing == -1) > 0.99


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
