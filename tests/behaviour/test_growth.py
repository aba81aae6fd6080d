"""Exogenous nominal growth: the growth table, the calendar, the paths and what they move in a run."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from agglomeration import AgglomerationModel
from agglomeration.behaviour import growth
from agglomeration.errors import InputError
from agglomeration.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]
BASELINE = ROOT / "scenarios" / "baseline.toml"

#: a growth table for the tiny world (regions A, B, C; gateways X, D)
TINY_GROWTH = """series,year,rate,low,high,provenance
regions,2021,0.10,,,test
regions,2022,0.05,0.00,0.10,test projection
B,2021,0.20,0.10,0.30,test: B has its own path
X,2020,0.00,,,test
X,2021,0.02,0.01,0.03,test
D,2021,0.04,0.02,0.06,test
wage,2021,0.08,0.06,0.10,test
"""


def _tiny_with_growth(tiny: Path, table: str = TINY_GROWTH, **overrides):
    (tiny.parent / "growth.csv").write_text(table)
    return load_scenario(tiny, {"growth.file": "growth.csv", **overrides})


def _error(tiny: Path, table: str, **overrides) -> str:
    with pytest.raises(InputError) as exc:
        _tiny_with_growth(tiny, table, **overrides)
    return str(exc.value)


# ------------------------------------------------------------------------------------ the table
def test_baseline_growth_table_covers_every_market_with_sources():
    s = load_scenario(BASELINE)
    assert s.growth.start_year == 2021
    series = {r.series for r in s.data.growth}
    assert series == {"regions", "wage", "EU", "ASEAN", "EC", "DOM"}
    for r in s.data.growth:
        assert r.provenance.startswith(("R:", "I:", "projection"))
        if r.is_projection:  # a stated rate with a range
            assert r.low < r.rate < r.high and r.provenance.startswith("projection")


def test_a_scenario_without_a_growth_table_has_none(tiny):
    s = load_scenario(tiny)
    assert s.growth.file is None and s.data.growth == ()
    assert s.to_dict()["growth"]["file"] is None


def test_the_table_is_part_of_the_fingerprint(tiny):
    a = _tiny_with_growth(tiny)
    b = _tiny_with_growth(tiny, TINY_GROWTH.replace("regions,2021,0.10", "regions,2021,0.11"))
    assert a.fingerprint() != b.fingerprint()
    assert len(a.data.growth) == 7


@pytest.mark.parametrize(
    "table_edit, expected",
    [
        (("regions,2021", "region,2021"), "unknown series 'region'; did you mean 'regions'?"),
        (("D,2021,0.04,0.02,0.06,test\n", ""), "no growth series for ['D']"),
        (("wage,2021,0.08,0.06,0.10,test\n", ""), "no growth series for ['wage']"),
        (("regions,2022,0.05,0.00,0.10", "regions,2023,0.05,0.00,0.10"), "no row for 2022"),
        (("regions,2022,0.05,0.00,0.10", "regions,2022,0.05,,"), "exactly one projection row"),
        (("X,2020,0.00,,", "X,2020,0.00,0.0,0.1"), "exactly one projection row"),
        (("wage,2021,0.08,0.06,0.10", "wage,2021,0.08,0.09,0.10"), "low <= rate <= high"),
        (("D,2021,0.04", "D,2021,abc"), "line 7.rate"),
        (("D,2021,0.04", "D,2021,3.0"), "line 7.rate: expected a value less than or equal to 1"),
    ],
)
def test_bad_growth_tables_are_named_clearly(tiny, table_edit, expected):
    msg = _error(tiny, TINY_GROWTH.replace(*table_edit))
    assert "growth.csv" in msg and expected in msg


def test_missing_column_and_start_before_the_data(tiny):
    assert "missing column(s) ['rate']" in _error(tiny, TINY_GROWTH.replace(",rate,", ",growth,"))
    msg = _error(tiny, TINY_GROWTH, **{"growth.start_year": 2019})
    assert "starts in 2021, after [growth] start_year 2019" in msg
    msg = _error(tiny, TINY_GROWTH, **{"growth.file": "nope.csv"})
    assert "growth.file" in msg and "nope.csv not found" in msg  # the field and the path looked for


# ------------------------------------------------------------------------------- calendar, paths
def test_calendar_and_log_index():
    assert growth.year_of_step(6, 2021, 4) == 2022.5
    rates = {2021: 0.10, 2022: -0.05}

    def rate(year):
        return rates.get(year, 0.02)  # beyond the data years the projection applies to every year

    assert growth.log_index(rate, 0.0, 2021) == 0.0
    assert growth.log_index(rate, 1.0, 2021) == pytest.approx(math.log(1.10))
    half = growth.log_index(rate, 1.5, 2021)
    assert half == pytest.approx(math.log(1.10) + 0.5 * math.log(0.95))
    five = growth.log_index(rate, 5.0, 2021)
    assert five == pytest.approx(math.log(1.10 * 0.95 * 1.02**3))


def test_paths_resolve_markets_projection_and_shift(tiny):
    s = _tiny_with_growth(tiny)
    from agglomeration.world import build_world

    w = build_world(s)
    p = growth.growth_paths(s, w)
    assert p.market_series == ("regions", "B", "regions", "X", "D")
    np.testing.assert_allclose(p.demand_index(4), [1.10, 1.20, 1.10, 1.02, 1.04])
    np.testing.assert_allclose(p.demand_index(8), [1.10 * 1.05, 1.44, 1.155, 1.02**2, 1.04**2])
    assert p.wage_index(2) == pytest.approx(1.08**0.5)
    low = growth.growth_paths(s.with_overrides({"behaviour.growth.projection": "low"}), w)
    np.testing.assert_allclose(low.demand_index(8), [1.10, 1.10**2, 1.10, 1.01**2, 1.02**2])
    shifted = growth.growth_paths(
        s.with_overrides({"behaviour.growth.demand_growth_shift": 0.01}), w
    )
    np.testing.assert_allclose(shifted.demand_index(4), [1.11, 1.21, 1.11, 1.03, 1.05])
    assert shifted.wage_index(4) == pytest.approx(1.08)  # the outside wage is not shifted
    off = s.with_overrides({"behaviour.growth.enabled": False})
    assert growth.growth_paths(off, w) is None
    # balanced growth: from 2022 every demand series grows at the outside wage's rate (8 %)
    bal = growth.growth_paths(s.with_overrides({"behaviour.growth.balanced_after": 2022}), w)
    np.testing.assert_allclose(bal.demand_index(8), np.array([1.10, 1.20, 1.10, 1.02, 1.04]) * 1.08)
    assert bal.rate("X", 2021) == 0.02 and bal.rate("X", 2030) == bal.rate("wage", 2030) == 0.08


# ------------------------------------------------------------------------------------- in a run
def test_a_run_follows_the_paths_and_keeps_the_accounts(tiny):
    s = _tiny_with_growth(tiny)
    m = AgglomerationModel(s, replicate_seed=3)
    w = m.world
    f0 = m.state.fixed_cost.copy()
    m.run(6)
    st = m.state
    paths = growth.growth_paths(s, w)
    np.testing.assert_allclose(st.demand_index, paths.demand_index(6))
    assert st.outside_wage == pytest.approx(1.08**1.5)
    np.testing.assert_allclose(st.fixed_cost, f0 * 1.08**1.5)
    y, d = growth.exogenous_income(st, w)
    np.testing.assert_allclose(y, w.immobile_income * paths.demand_index(6)[:3])
    np.testing.assert_allclose(d, w.gateway_demand * paths.demand_index(6)[3:])
    # the market cleared with this step's exogenous incomes: gateway final spending = share x demand
    np.testing.assert_allclose(st.expenditure_used[:, 3:], np.outer(w.final_share, d))
    assert np.all(st.expenditure_used[:, :3] >= np.outer(w.final_share, y) * (1 - 1e-12))
    gaps = m.flow_balance()
    assert gaps["intermediate_gap"] < 1e-9 and gaps["expenditure_gap"] < 1e-9
    series = m.series_frame()
    assert series["outside_wage_index"].iloc[-1] == pytest.approx(1.08**1.5)
    assert series["exogenous_income"].iloc[-1] == pytest.approx(y.sum() + d.sum())


def test_without_growth_nothing_moves_and_results_are_those_of_a_disabled_run(tiny):
    s = _tiny_with_growth(tiny)
    off = AgglomerationModel(s.with_overrides({"behaviour.growth.enabled": False}), 5)
    none = AgglomerationModel(load_scenario(tiny), 5)
    off.run(5)
    none.run(5)
    assert off.state.outside_wage == 1.0 and len(off.state.demand_index) == 0
    pd.testing.assert_frame_equal(off.series_frame(), none.series_frame(), check_exact=True)


def _paired(scenario, other, seeds, steps, metrics):
    """(seeds, k) differences other - scenario of ``metrics(model)`` (k values) over common seeds
    (common random numbers)."""
    out = []
    for seed in seeds:
        a = AgglomerationModel(scenario, replicate_seed=seed)
        b = AgglomerationModel(other, replicate_seed=seed)
        a.run(steps)
        b.run(steps)
        out.append(np.subtract(metrics(b), metrics(a)))
    return np.array(out)


def _firms_and_real_value_added(m):
    h = m.headline_metrics()  # real value added = real labour productivity x employment
    return h["firms"], np.log(h["real_labour_productivity"] * h["employment"])


def test_higher_demand_growth_raises_firms_and_output():
    base = load_scenario(BASELINE, {"firms.initial_count": 400})
    fast = base.with_overrides({"behaviour.growth.demand_growth_shift": 0.10})
    diff = _paired(base, fast, range(1, 9), 20, _firms_and_real_value_added)
    # beyond seed noise: mean difference > 3 standard errors, for firms and for real value added
    se = diff.std(axis=0, ddof=1) / np.sqrt(len(diff))
    assert np.all(diff.mean(axis=0) > 3.0 * se), diff
