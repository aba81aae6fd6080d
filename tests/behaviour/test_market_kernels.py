"""The compiled price and revenue fixed points against direct sparse solves of the same linear systems."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse
from scipy.sparse.linalg import spsolve

from agglomeration.behaviour import _market_kernels, market
from agglomeration.firms import NONE, FirmTable

S, R, G = 4, 3, 1
M = R + G
IO = np.array(
    [
        [0.10, 0.20, 0.00, 0.05],
        [0.00, 0.00, 0.30, 0.05],
        [0.00, 0.05, 0.00, 0.10],
        [0.05, 0.05, 0.05, 0.00],
    ]
)
SIGMA = np.array([4.0, 5.0, 3.0, 6.0])


def _random_economy(n: int, seed: int, dead_share: float = 0.1):
    """n firms with up to two suppliers per input (domestic or imported), 1-3 product lines."""
    rng = np.random.default_rng(seed)
    table = FirmTable(S, capacity=n, slots=2)
    table.add(rng.integers(0, S, n), rng.integers(0, R, n), rng.normal(0, 0.3, n), np.zeros(n))
    table.price[:] = rng.uniform(0.8, 1.6, n)
    table.lines[:] = rng.integers(1, 4, n)
    dead = rng.random(n) < dead_share
    table._data["alive"][np.flatnonzero(dead)] = False
    live = table.alive_rows()
    for i in live:
        for k in np.flatnonzero(IO[:, table.sector[i]] > 0):
            cands = live[(table.sector[live] == k) & (live != i)]
            u = rng.random()
            if u < 0.1:
                continue  # no supplier: bought outside at price 1
            if u < 0.2:
                table.supplier[i, k, 0] = -1  # imported through gateway 0
            elif u < 0.55:
                table.supplier[i, k, 0] = rng.choice(cands)
            elif u < 0.7:
                table.supplier[i, k] = [rng.choice(cands), -1]  # a domestic supplier and imports
            else:
                table.supplier[i, k] = rng.choice(cands, 2, replace=False)
    tau = 1.0 + rng.uniform(0.0, 0.6, (S, M, M))
    for s in range(S):
        np.fill_diagonal(tau[s], 1.0)
    return table, live, tau


def _unit_costs(rng_seed: int, tau: np.ndarray, table: FirmTable):
    rng = np.random.default_rng(rng_seed)
    return {
        "sigma": SIGMA,
        "labour_share": np.full(S, 0.3),
        "land_share": np.full(S, 0.05),
        "wage": rng.uniform(0.8, 1.2, R),
        "rent": rng.uniform(0.8, 1.2, R),
        "admin": rng.uniform(0.0, 0.1, R),
        "import_price": rng.uniform(0.9, 1.3, (G, S)),
        "tau": tau,
        "phi": tau ** (1.0 - SIGMA[:, None, None]),
        "lines": table.lines,
    }


def _shares(table: FirmTable, i: int, k: int, kw: dict) -> list[tuple[int, float, float]]:
    """(code, CES weight, share) of the suppliers of pair (i, k) at the table's prices, written out."""
    r = table.region[i]
    out = []
    for j in table.supplier[i, k]:
        if j == NONE:
            break
        if j >= 0:
            u = table.lines[j] * table.price[j] ** (1 - SIGMA[k]) * kw["phi"][k, table.region[j], r]
        else:
            u = (kw["import_price"][-1 - j, k] * kw["tau"][k, R - 1 - j, r]) ** (1 - SIGMA[k])
        out.append((int(j), u))
    total = sum(u for _, u in out)
    return [(j, u, u / total) for j, u in out]


def test_prices_solve_the_log_linear_cost_system():
    table, live, tau = _random_economy(400, seed=1)
    kw = _unit_costs(2, tau, table)
    p0 = table.price.copy()
    p, sweeps = market.solve_prices(
        live,
        table.sector,
        table.region,
        table.log_productivity,
        table.price,
        table.supplier,
        market.input_lists(IO),
        iterations=200,
        **kw,
    )
    assert 1 < sweeps < 200
    # reference: the same system written out pair by pair and solved directly: a buyer's input index
    # is log G0 + sum_j w_j (x_j - log p0_j), the CES bundle of its suppliers at the start shares
    n = table.n
    pos = {r: q for q, r in enumerate(live)}
    A = sparse.lil_matrix((len(live), len(live)))
    c = np.empty(len(live))
    for q, i in enumerate(live):
        s, r = table.sector[i], table.region[i]
        c[q] = (
            kw["labour_share"][s] * np.log(kw["wage"][r])
            + kw["land_share"][s] * np.log(kw["rent"][r])
            + np.log(1 + kw["admin"][r])
            + np.log(SIGMA[s] / (SIGMA[s] - 1))
            - table.log_productivity[i]
        )
        for k in np.flatnonzero(IO[:, s] > 0):
            a = IO[k, s]
            sup = _shares(table, i, k, kw)
            if not sup:
                continue
            c[q] += a * np.log(sum(u for _, u, _ in sup)) / (1 - SIGMA[k])
            for j, _, w in sup:
                if j >= 0:
                    A[q, pos[j]] += a * w
                    c[q] -= a * w * np.log(p0[j])
    x = spsolve((sparse.identity(len(live)) - A).tocsc(), c)
    np.testing.assert_allclose(np.log(p[live]), x, atol=1e-9)
    dead = np.setdiff1d(np.arange(n), live)
    np.testing.assert_array_equal(p[dead], table.price[dead])  # dead rows keep their price


def test_one_supplier_per_input_gives_its_delivered_price_exactly():
    """A pair with one supplier pays exactly the supplier's delivered price (and its lines' variety)."""
    table = FirmTable(2, capacity=4, slots=3)
    table.add(np.array([0, 1]), np.array([0, 1]), np.zeros(2), np.zeros(2))
    table.lines[:] = [1, 1]
    table.supplier[1, 0, 0] = 0
    io = np.array([[0.0, 0.4], [0.0, 0.0]])
    tau = np.array([[[1.0, 1.3], [1.3, 1.0]]] * 2)
    kw = {
        "sigma": np.array([4.0, 4.0]),
        "labour_share": np.array([1.0, 0.6]),
        "land_share": np.zeros(2),
        "wage": np.ones(2),
        "rent": np.ones(2),
        "admin": np.zeros(2),
        "import_price": np.ones((0, 2)),
        "tau": tau,
        "phi": tau**-3.0,
        "lines": table.lines,
    }
    p, _ = market.solve_prices(
        table.alive_rows(),
        table.sector,
        table.region,
        table.log_productivity,
        table.price,
        table.supplier,
        market.input_lists(io),
        iterations=100,
        **kw,
    )
    markup = 4.0 / 3.0
    assert p[0] == pytest.approx(markup)
    assert p[1] == pytest.approx(markup * (markup * 1.3) ** 0.4, rel=1e-12)


def test_revenue_solves_the_intermediate_demand_system_and_books_balance():
    table, live, tau = _random_economy(500, seed=3)
    kw = _unit_costs(5, tau, table)
    admin = np.array([0.0, 0.05, 0.1])
    phi = kw["phi"]
    E = np.random.default_rng(4).uniform(10, 100, (S, M))
    shares = market.share_inputs(
        table.price,
        table.sector,
        table.lines,
        sigma=SIGMA,
        phi=phi,
        tau=tau,
        import_price=kw["import_price"],
        n_regions=R,
    )
    links = market.revenue_links(
        live,
        table.sector,
        table.region,
        table.supplier,
        market.input_lists(IO),
        sigma=SIGMA,
        admin=admin,
        shares=shares,
        n_markets=M,
    )
    res = market.clear_markets(
        live,
        table.sector,
        table.region,
        table.price,
        links,
        E=E,
        sigma=SIGMA,
        phi=phi,
        X=np.zeros((S, M)),
        iterations=500,
    )
    # reference: R = F + B R written out per link (buyers split input spending by the CES shares)
    n = table.n
    B = sparse.lil_matrix((n, n))
    for i in live:
        s, r = table.sector[i], table.region[i]
        for k in np.flatnonzero(IO[:, s] > 0):
            for j, _, w in _shares(table, i, k, kw):
                if j >= 0:
                    B[j, i] += IO[k, s] * w * (SIGMA[s] - 1) / SIGMA[s] / (1 + admin[r])
    ref = spsolve((sparse.identity(n) - B).tocsc(), res.final_sales)
    np.testing.assert_allclose(res.revenue[live], ref[live], rtol=1e-9)
    # final demand is fully spent on domestic firms (no foreign competitors): sum F = sum E
    assert res.final_sales.sum() == pytest.approx(E.sum(), rel=1e-12)
    # sales of suppliers = purchases of their buyers, walked from both sides
    received, total, outside = market.link_flows(links, res.rev_iterate)
    np.testing.assert_allclose(received, res.revenue - res.final_sales, rtol=1e-12, atol=1e-12)
    assert total == pytest.approx(received.sum() + outside, rel=1e-12)
    assert res.input_cost().sum() == pytest.approx(total, rel=1e-12)
    # intermediate demand by (input, buyer region) adds up to all purchases
    assert market.intermediate_demand(res, links, IO).sum() == pytest.approx(total, rel=1e-12)


def test_fixed_points_do_not_depend_on_the_sweep_order():
    """The rank only orders the Gauss-Seidel sweeps: another order gives the same prices."""
    table, live, tau = _random_economy(300, seed=5)
    kw = _unit_costs(6, tau, table)
    inputs = market.input_lists(IO)
    reversed_rank = market.InputLists(
        inputs.ptr, inputs.k, inputs.a, inputs.total, S - 1 - inputs.rank
    )
    out = [
        market.solve_prices(
            live,
            table.sector,
            table.region,
            table.log_productivity,
            table.price,
            table.supplier,
            inp,
            iterations=500,
            tol=1e-13,
            **kw,
        )[0]
        for inp in (inputs, reversed_rank)
    ]
    np.testing.assert_allclose(out[0], out[1], rtol=1e-11)


def test_upstream_rank_is_a_topological_order_of_an_acyclic_chain():
    # 0 -> 1 -> 2 -> 3 (io[k, s]: input k used by s), listed in scrambled sector order
    io = np.zeros((4, 4))
    perm = [2, 0, 3, 1]  # sector perm[t] is stage t
    for t in range(3):
        io[perm[t], perm[t + 1]] = 0.3
    rank = market.upstream_rank(io)
    assert [int(np.flatnonzero(rank == t)[0]) for t in range(4)] == perm


def test_input_lists_match_the_io_matrix():
    inp = market.input_lists(IO)
    for s in range(S):
        ks = inp.k[inp.ptr[s] : inp.ptr[s + 1]]
        np.testing.assert_array_equal(ks, np.flatnonzero(IO[:, s] > 0))
        np.testing.assert_array_equal(inp.a[inp.ptr[s] : inp.ptr[s + 1]], IO[ks, s])
    np.testing.assert_allclose(inp.total, IO.sum(axis=0))


def test_the_price_systems_fixed_costs_are_the_accounts_fixed_costs(tiny):
    """The price system's scan adds up each firm's fixed cost (f_s x lines + relationship costs) for the
    accounts; it must be the same number, bit for bit, as the accounts' own pass over the slots."""
    from agglomeration.behaviour.accounts import firm_fixed_costs
    from agglomeration.behaviour.sourcing import relationship_costs
    from agglomeration.model import AgglomerationModel

    m = AgglomerationModel(str(tiny), replicate_seed=3, firms__initial_count=200)
    m.run(3)
    s, w = m.state, m.world
    system = market.solve(s, w, m.spec)
    f_s, fixed = system.fixed_costs
    np.testing.assert_array_equal(f_s, s.fixed_cost)
    expected = firm_fixed_costs(
        s.firms,
        system.order,
        fixed_cost=s.fixed_cost,
        n_regions=w.n_regions,
        relationship_cost=relationship_costs(s, w, m.spec),
        io=w.io,
    )
    assert np.all(expected > 0)
    np.testing.assert_array_equal(fixed, expected)


def test_intermediate_gap_is_the_numpy_maximum():
    """The by-position gap of accounts.flow_gaps equals max |(revenue - final) - received| over rows."""
    rng = np.random.default_rng(4)
    n = 500
    order = np.sort(rng.choice(n, 400, replace=False)).astype(np.int64)
    rng.shuffle(order)
    revenue, final, received = np.zeros(n), np.zeros(n), np.zeros(n)
    revenue[order] = rng.random(400) * 10
    final[order] = revenue[order] * rng.random(400)
    received[order] = (revenue[order] - final[order]) * (1 + 1e-12 * rng.standard_normal(400))
    ref = np.max(np.abs((revenue - final) - received))
    got = _market_kernels.intermediate_gap(order, revenue, final, received[order])
    assert got == ref
    received[order[7]] = np.nan
    assert np.isnan(_market_kernels.intermediate_gap(order, revenue, final, received[order]))
    assert _market_kernels.intermediate_gap(order[:0], revenue, final, received[:0]) == 0.0


def test_the_income_loops_convergence_test_is_np_allclose():
    """market._all_close(x, y, rtol) answers as np.allclose(x, y, rtol=rtol, atol=0.0), with NaN,
    infinities and signed zeros."""
    from agglomeration.behaviour.market import _all_close

    rng = np.random.default_rng(11)
    specials = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-300])
    for trial in range(2000):
        y = rng.normal(size=(3, 4)) * 10.0 ** rng.integers(-5, 6)
        x = y * (1.0 + rng.choice([0.0, 1e-9, 1e-7, 1e-5], size=y.shape))
        if trial % 3 == 0:
            cells = rng.integers(0, y.size, size=2)
            x.flat[cells] = rng.choice(specials, size=2)
            if trial % 2:
                y.flat[cells] = x.flat[cells]
        rtol = float(rng.choice([1e-8, 1e-6]))
        assert _all_close(x, y, rtol) == np.allclose(x, y, rtol=rtol, atol=0.0), (x, y, rtol)
