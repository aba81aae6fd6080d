"""The model reduces to textbook NEG models when configured so (docs/ODD.md 'Theory configurations';
docs/THEORY.md), and single submodels behave as their equations say."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from agglomeration.behaviour import factor_prices, market, sourcing
from agglomeration.firms import NONE, FirmTable
from agglomeration.model import AgglomerationModel
from agglomeration.parameters import (
    BehaviourParams,
    FirmsParams,
    OutputParams,
    PolicyParams,
    SolverParams,
)
from agglomeration.world import World

SIGMA, MU = 5.0, 0.4


def two_region_model(phi, *, mode, s_e=0.5, start=0.5, n=400, seed=1, p=0.05):
    """Footloose capital ('FC') or footloose entrepreneur ('FE') as a plain model configuration."""
    tau = phi ** (1.0 / (1.0 - SIGMA))
    world = World.from_arrays(
        region_ids=["N", "S"],
        sector_ids=["m"],
        sigma=[SIGMA],
        tau=np.array([[[1.0, tau], [tau, 1.0]]]),
        immobile_income=[s_e, 1.0 - s_e],
        final_share=[MU],
        fixed_cost=[0.0],
        initial_weights=np.array([[start], [1.0 - start]]),
    )
    scn = SimpleNamespace(
        name=mode,
        seed=7,
        steps=0,
        source_path=None,
        firms=FirmsParams(initial_count=n, productivity_sigma=0.0),
        behaviour=BehaviourParams(
            entry={"enabled": False},
            exit={"enabled": False},
            learning={"enabled": False},
            sourcing={"enabled": False},
            factor_prices={"enabled": False},
            relocation={
                "probability": p,
                "cost": 0.0,
                "profit": "nominal" if mode == "FC" else "real",
            },
            market={
                "profit_spending": "owners" if mode == "FC" else "local",
                "factor_income_local": False,
                "local_productivity": "none",
                "external_competitors": 0.0,
            },
            accounts={"profit_payout": 1.0, "calibrate_fixed_costs": "none"},
            costs={"admin_cost": 0.0},
            prospects={"information_regions": 1.0},
            lines={"enabled": False},
        ),
        solver=SolverParams(),
        policy=PolicyParams(enabled=False),
        output=OutputParams(figures=False),
    )
    return AgglomerationModel(scn, replicate_seed=seed, world=world)


def north_share(m) -> float:
    return float(np.mean(m.firms.region[m.firms.alive_rows()] == 0))


@pytest.mark.parametrize("s_e, phi", [(0.6, 0.5), (0.55, 0.5), (0.55, 0.2)])
def test_footloose_capital_home_market_magnification(s_e, phi):
    m = two_region_model(phi, mode="FC", s_e=s_e)
    m.run(250)
    theory = 0.5 + (1 + phi) / (1 - phi) * (s_e - 0.5)
    assert north_share(m) == pytest.approx(theory, abs=1.5 / 400 + 1e-9)


def test_footloose_entrepreneur_break_point():
    phi_b = (SIGMA - MU) / (SIGMA + MU) * (SIGMA - 1 - MU) / (SIGMA - 1 + MU)  # 0.69697
    below = two_region_model(phi_b - 0.03, mode="FE", start=0.55)
    above = two_region_model(phi_b + 0.03, mode="FE", start=0.55)
    below.run(300)
    above.run(300)
    assert abs(north_share(below) - 0.5) < 0.03  # symmetric equilibrium stable below phi_B
    assert north_share(above) > 0.97  # full agglomeration above phi_B


def test_market_worked_example_two_regions_one_sector():
    """R_i = p^(1-s) sum_m phi E_m / P_m^(1-s) with P^(1-s) = sum_j (p_j tau)^(1-s): 2 firms, 2 regions."""
    phi = np.array([[[1.0, 0.5], [0.5, 1.0]]])
    table = FirmTable(1)
    rows = table.add(np.array([0, 0]), np.array([0, 1]), np.zeros(2), np.zeros(2))
    table.price[:] = [1.0, 2.0]
    inputs = market.input_lists(np.zeros((1, 1)))
    links = market.revenue_links(
        rows,
        table.sector,
        table.region,
        table.supplier,
        inputs,
        sigma=np.array([2.0]),
        admin=np.zeros(2),
    )
    E = np.array([[10.0, 20.0]])
    res = market.clear_markets(
        rows,
        table.sector,
        table.region,
        table.price,
        links,
        E=E,
        sigma=np.array([2.0]),
        phi=phi,
        X=np.zeros((1, 2)),
        iterations=5,
    )
    # P1 = [1 + 0.5*0.5, 0.5 + 0.5] = [1.25, 1.0]; R_0 = 1*(10/1.25 + 0.5*20/1) = 18; R_1 = 0.5*(0.5*10/1.25 + 20) = 12
    np.testing.assert_allclose(res.P1, [[1.25, 1.0]])
    np.testing.assert_allclose(res.revenue, [18.0, 12.0])
    assert res.revenue.sum() == pytest.approx(E.sum())


def test_intermediate_sales_equal_buyers_purchases_in_a_chain():
    """Upstream firm 0 supplies firms 1 and 2 (a = 0.4 of variable cost): sales = purchases exactly."""
    io = np.array([[0.0, 0.4], [0.0, 0.0]])
    table = FirmTable(2)
    rows = table.add(np.array([0, 1, 1]), np.zeros(3, int), np.zeros(3), np.zeros(3))
    table.supplier[1:, 0, 0] = 0
    table.price[:] = 1.0
    sigma = np.array([4.0, 4.0])
    links = market.revenue_links(
        rows,
        table.sector,
        table.region,
        table.supplier,
        market.input_lists(io),
        sigma=sigma,
        admin=np.zeros(1),
    )
    res = market.clear_markets(
        rows,
        table.sector,
        table.region,
        table.price,
        links,
        E=np.array([[0.0], [30.0]]),
        sigma=sigma,
        phi=np.ones((2, 1, 1)),
        X=np.zeros((2, 1)),
        iterations=50,
    )
    np.testing.assert_allclose(res.revenue[1:], [15.0, 15.0])
    assert res.revenue[0] == pytest.approx(0.4 * 0.75 * 30.0)  # a (sigma-1)/sigma x buyers' revenue
    assert res.input_cost().sum() == pytest.approx(res.revenue[0] - res.final_sales[0])
    received, total, outside = market.link_flows(links, res.rev_iterate)
    assert received[0] == pytest.approx(res.revenue[0] - res.final_sales[0], rel=1e-14)
    assert total == pytest.approx(received.sum()) and outside == 0.0


def test_supplier_sampling_follows_ces_shares():
    """Candidates are drawn with probability proportional to (p_j tau)^(1-sigma)."""
    table = FirmTable(1)
    rows = table.add(np.zeros(3, int), np.array([0, 0, 1]), np.zeros(3), np.zeros(3))
    table.price[:] = [1.0, 2.0, 1.0]
    sigma = np.array([3.0])
    tau = np.array([[[1.0, 2.0], [2.0, 1.0]]])
    phi = tau ** (1 - sigma[0])
    rng = np.random.default_rng(0)
    n = 40_000
    cand = sourcing.sample_candidates(
        np.zeros(n, int),
        np.zeros(n, int),
        rng,
        rows=rows,
        sector=table.sector,
        region=table.region,
        price=table.price,
        sigma=sigma,
        phi=phi,
        tau=tau,
        import_price=np.zeros((0, 1)),
        import_weight=0.0,
    )
    w = np.array([1.0, 2.0**-2, 2.0**-2])  # (p tau)^(1-sigma) seen from region 0
    freq = np.bincount(cand, minlength=3) / n
    np.testing.assert_allclose(freq, w / w.sum(), atol=0.01)
    assert np.all(cand != NONE)


def test_wages_and_rents_rise_with_local_employment_and_land_use():
    # two separate labour markets (zones 0, 1): region 0 demands twice its initial labour
    x = factor_prices.market_wages(
        np.array([200.0, 100.0]),
        np.array([100.0, 100.0]),
        np.array([0, 1]),
        outside=1.0,
        supply_elasticity=1.5,
        commuting_elasticity=3.3,
    )
    assert x[0] == pytest.approx(np.log(2.0) / 2.5) and x[1] == pytest.approx(0.0)
    q = factor_prices.land_rents(
        np.array([5.0, 1.0]),
        base_rent=np.ones(2),
        land_use0=np.array([1.0, 1.0]),
        land_capacity=np.array([10.0, 10.0]),
        income_index=np.ones(2),
        rent_elasticity=0.5,
    )
    assert q[0] > q[1] == pytest.approx(1.0)
