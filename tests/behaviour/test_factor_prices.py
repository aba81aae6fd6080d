"""Regional labour and land markets (behaviour/factor_prices.py): market clearing, commuting zones,
rents, and the comparative statics of wages with paired seeds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from agglomeration import AgglomerationModel
from agglomeration.behaviour import factor_prices as fp
from agglomeration.errors import InputError
from agglomeration.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]
BASELINE = ROOT / "scenarios" / "baseline.toml"


def _supply(x, base, zone, outside, eps, eta):
    """Nested-logit labour supply of the module docstring, evaluated directly."""
    out = np.empty_like(x)
    for c in np.unique(zone):
        m = zone == c
        s = base[m] / base[m].sum()
        wbar = np.log(np.sum(s * np.exp(eta * x[m]))) / eta
        out[m] = base[m] * np.exp(eta * x[m] + (eps - eta) * wbar - eps * np.log(outside))
    return out


@pytest.mark.parametrize("eps, eta", [(1.5, 3.3), (0.5, 6.8), (4.0, 1.0), (0.0, 2.0)])
def test_market_wages_clear_every_market(eps, eta):
    demand = np.array([120.0, 80.0, 300.0, 50.0, 10.0])
    base = np.array([100.0, 100.0, 200.0, 60.0, 5.0])
    zone = np.array([0, 0, 0, 1, 2])
    x = fp.market_wages(
        demand, base, zone, outside=1.07, supply_elasticity=eps, commuting_elasticity=eta
    )
    # labour demanded at wage exp(x) (unit-elastic) equals the labour supplied
    np.testing.assert_allclose(demand * np.exp(-x), _supply(x, base, zone, 1.07, eps, eta))


def test_base_wages_clear_the_initial_market_and_elasticities_act_as_stated():
    base = np.array([100.0, 50.0, 80.0])
    zone = np.array([0, 0, 1])
    kw = dict(supply_elasticity=1.5, commuting_elasticity=3.3)
    np.testing.assert_allclose(
        fp.market_wages(base, base, zone, outside=1.0, **kw), 0.0, atol=1e-15
    )
    # the outside wage rises 10 %, demand at the old wages unchanged: wages rise by eps/(1+eps)
    x = fp.market_wages(base, base, zone, outside=1.1, **kw)
    np.testing.assert_allclose(x, 1.5 / 2.5 * np.log(1.1))
    # a very elastic supply ties wages to the outside wage
    x = fp.market_wages(
        base * 2, base, zone, outside=1.1, supply_elasticity=1e4, commuting_elasticity=1e4
    )
    np.testing.assert_allclose(x, np.log(1.1), atol=1e-3)
    # a shock to one region of a zone moves its wage less than a shock to a region alone
    shock = base * np.array([1.2, 1.0, 1.2])
    x = fp.market_wages(shock, base, zone, outside=1.0, **kw)
    assert 0 < x[0] < x[2] == pytest.approx(np.log(1.2) / 2.5)
    assert 0 < x[1] < x[0]  # its neighbour's workers commute to it: the neighbour's wage rises too


def test_commuting_zones_chain_regions_within_the_radius():
    lon = np.array([106.0, 106.2, 106.4, 108.0])
    lat = np.array([29.0, 29.0, 29.0, 29.0])
    d = fp.centroid_distance_km(lon, lat)
    assert d[0, 1] == pytest.approx(19.4, abs=0.2) and np.allclose(np.diag(d), 0)
    assert list(fp.commuting_zones(lon, lat, 25.0)) == [0, 0, 0, 1]  # 0-1-2 chained
    assert len(set(fp.commuting_zones(lon, lat, 10.0))) == 4
    assert len(set(fp.commuting_zones(lon, lat, 0.0))) == 4
    assert len(fp.commuting_zones(lon[:0], lat[:0], 30.0)) == 0


def test_rents_follow_nominal_income_and_land_scarcity():
    q = fp.land_rents(
        np.array([1.0, 9.0, 1.0]),
        base_rent=np.array([2.0, 2.0, 2.0]),
        land_use0=np.ones(3),
        land_capacity=np.full(3, 10.0),
        income_index=np.array([1.0, 1.0, 1.2]),
        rent_elasticity=0.3,
    )
    np.testing.assert_allclose(q, [2.0, 2.0 * (1.9 / 1.1) ** 0.3, 2.4])


def test_the_removed_wage_elasticity_is_a_clear_error(tiny):
    with pytest.raises(InputError) as exc:
        load_scenario(tiny, {"behaviour.factor_prices.wage_elasticity": 0.05})
    assert "wage_elasticity was removed" in str(exc.value)
    assert "supply_elasticity" in str(exc.value)


def test_initial_wages_are_near_the_data_and_wages_follow_the_outside_wage():
    # the baseline's 3,000 firms: with 300, Chengdu (a region of the logistics data) loses half of its
    # few firms' employment in three years and its wage rises by only 0.04 log points.  The observed
    # run starts from the wages the burn-in settled at (reset to the data half-way through its
    # controlled phase, not at its end): within a few per cent of the data on average
    m = AgglomerationModel(BASELINE, firms__initial_count=3000, replicate_seed=2)
    w0 = m.state.wage.copy()
    gap = np.log(w0 / m.world.base_wage)
    assert np.abs(gap).mean() < 0.12 and np.abs(gap).max() < 0.3 and abs(gap.mean()) < 0.05, gap
    m.run(12)
    ratio = np.log(m.state.wage / w0)
    omega = np.log(m.state.outside_wage)
    # three years of nominal growth: every region's wage rose, by about the outside wage
    assert omega > 0.1 and np.all(ratio > 0.3 * omega) and np.all(ratio < 3 * omega)
    s = m.series_frame()
    assert s["wage"].iloc[-1] > s["wage"].iloc[0]
    assert s["real_wage"].iloc[-1] == pytest.approx(
        s["wage"].iloc[-1] / s["cpi"].iloc[-1], rel=0.05
    )


# ---------------------------------------------------------------- comparative statics, paired seeds
def _wage_response(scenario, region, shock, seeds, steps=16):
    """log wage of ``region`` with a permanent log-TFP shock of ``shock`` to every sector there, minus
    the same run without it (same seed: common random numbers)."""
    out = []
    for seed in seeds:
        runs = []
        for dz in (0.0, shock):
            m = AgglomerationModel(scenario, replicate_seed=seed)
            r = list(m.world.region_ids).index(region)
            m.state.local_tfp[r, :] += dz  # the region's productivity shifter theta_rs
            m.run(steps)
            runs.append(np.log(m.state.wage[r]))
        out.append(runs[1] - runs[0])
    return np.array(out)


@pytest.fixture(scope="module")
def small_baseline():
    return load_scenario(BASELINE, {"firms.initial_count": 400, "burn_in": 40})


def test_a_productivity_shock_raises_wages_in_the_region(small_baseline):
    # 0.3 log points: with 400 firms the firm dynamics after a 0.1 shock (entry, exit, relocation)
    # move LJ's wage by about as much as the shock itself within four years
    d = _wage_response(small_baseline, "LJ", 0.3, range(1, 6))
    assert d.mean() > 3.0 * d.std(ddof=1) / np.sqrt(len(d)), d


def test_a_higher_labour_supply_elasticity_damps_wage_responses():
    # WZ has only ~20 firms at the baseline size since the logistics data (0.2.0): 1,500 initial firms
    # and a 0.3 log-point shock keep the response above the seed noise (at 400 firms and 0.1 the
    # difference is within one standard error)
    base = load_scenario(BASELINE, {"firms.initial_count": 1500, "burn_in": 40})
    elastic = base.with_overrides({"behaviour.factor_prices.supply_elasticity": 10.0})
    seeds = range(1, 6)
    low = _wage_response(base, "WZ", 0.3, seeds)  # WZ: a commuting zone of its own
    high = _wage_response(elastic, "WZ", 0.3, seeds)
    diff = low - high  # paired over seeds
    assert diff.mean() > 3.0 * diff.std(ddof=1) / np.sqrt(len(diff)), (low, high)
    assert np.all(high > 0)


def test_a_higher_rent_elasticity_amplifies_the_rent_response_to_land_use():
    """Rents move toward base_rent x income index x ((1 + H/K) / (1 + H0/K))^rent_elasticity, H0 the
    land use at which the burn-in anchored rents to the data: the elasticity does not raise rents where
    land is dense as such, it scales their response to land use departing from H0.  From the 400-firm
    baseline's settled start (common random numbers), elasticity 1.7 against 0.2 (the documented range)
    over 8 quarters: the cross-region slope of the paired log-rent difference on log((1 + H/K) /
    (1 + H0/K)) (land use of the 0.2 run) is positive beyond three standard errors over seeds 1-6.
    Measured slope (seeds 1-6) +0.33 (SE 0.09; -0.09 in seed 3, +0.30 to +0.46 in the others; on the
    release before the import-price fixes of 2026-12-07: +0.28, SE 0.06), below the 1.5 of the
    targets as land use answers the rents; mean rent +0.26 CNY m per km2-step (SE 0.07, measured
    before those fixes).  Firms do not disperse beyond noise: regional
    Herfindahl of firms -0.002 (SE 0.001) at 8 quarters; elasticity 5 against 0 over 20 quarters
    -0.002 (SE 0.005, 8 seeds)."""
    base = {"firms.initial_count": 400, "burn_in": 16}
    reference = load_scenario(BASELINE, base)
    slopes = []
    for seed in range(1, 7):
        runs = {}
        for eps in (0.2, 1.7):
            m = AgglomerationModel(
                load_scenario(BASELINE, {**base, "behaviour.factor_prices.rent_elasticity": eps}),
                replicate_seed=seed,
                reference=reference,
            )
            m.run(8)
            runs[eps] = m
        low = runs[0.2]
        cap = np.maximum(np.asarray(low.world.land_capacity, float), 1e-12)
        x = np.log((1 + low.state.accounts.land_use / cap) / (1 + low.state.land_use0 / cap))
        dq = np.log(runs[1.7].state.rent) - np.log(low.state.rent)
        slopes.append(np.polyfit(x, dq, 1)[0])
    d = np.array(slopes)
    assert d.mean() > 3.0 * d.std(ddof=1) / np.sqrt(len(d)), d
