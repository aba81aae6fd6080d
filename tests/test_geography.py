"""Multimodal logistics: hand-computed routes, invariants and the order of the default costs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from agglomeration.economy import SectorRecord
from agglomeration.errors import InputError
from agglomeration.geography import (
    LinkRecord,
    LogisticsNetwork,
    ModeRecord,
    OptionConstantRecord,
    RouteOptionRecord,
    inclusive_cost,
)
from agglomeration.scenario import load_scenario
from agglomeration.world import World, build_world

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.toml"


def mode(
    name, tariff, speed=50.0, end_fee=0.0, transship_fee=0.0, end_hours=0.0, transship_hours=0.0
):
    return ModeRecord(
        mode=name,
        tariff=tariff,
        speed=speed,
        end_fee=end_fee,
        end_hours=end_hours,
        transship_fee=transship_fee,
        transship_hours=transship_hours,
        provenance="estimate: test",
    )


def link(a, b, m, km, extra_cost=0.0, extra_hours=0.0):
    return LinkRecord.model_validate(
        {
            "from": a,
            "to": b,
            "mode": m,
            "distance_km": km,
            "extra_cost": extra_cost,
            "extra_hours": extra_hours,
        }
    )


def sector(sid="goods", value_density=10_000.0, time_cost=0.0, kind="manufacturing", decay=0.0):
    return SectorRecord(
        sector_id=sid,
        name=sid,
        kind=kind,
        sigma=4.0,
        labour_share=0.5,
        land_share=0.1,
        fixed_cost=1.0,
        entry_rate=0.01,
        value_density=value_density if kind == "manufacturing" else None,
        time_cost_per_day=time_cost if kind == "manufacturing" else None,
        distance_elasticity=decay,
        final_share=0.5,
        initial_weight=1.0,
        provenance="estimate: test",
    )


def three_node(transship_fee: float) -> LogisticsNetwork:
    """P and R are 400 km apart by road; Q (20 km from P) has a rail line to R (400 km)."""
    modes = [mode("road", 1.0), mode("rail", 0.2, end_fee=10.0, transship_fee=transship_fee)]
    links = [link("P", "R", "road", 400), link("P", "Q", "road", 20), link("Q", "R", "rail", 400)]
    places = {"P": ("road",), "Q": ("road", "rail"), "R": ("road", "rail")}
    return LogisticsNetwork(["P", "Q", "R"], places, modes, links, [sector()])


def test_transshipment_makes_the_rail_route_win_by_hand():
    net = three_node(transship_fee=50.0)
    r = net.route("P", "R", "goods")
    # road 20 km x 1.0 + transshipment (0 + 50) / 2 + rail 400 km x 0.2 + rail end fee 10 = 135
    assert r.cost == pytest.approx(20 + 25 + 80 + 10)
    assert r.modes == ("road", "rail")
    assert r.places == ("P", "Q", "R")
    assert r.km == pytest.approx(420)
    assert net.mode_shares("goods", weights=np.array([[0, 0, 1], [0, 0, 0], [0, 0, 0]])) == {
        "road": pytest.approx(20 / 420),
        "rail": pytest.approx(400 / 420),
    }


def test_expensive_transshipment_makes_the_direct_road_win():
    net = three_node(transship_fee=700.0)  # (0 + 700) / 2 = 350 > 400 - 110
    r = net.route("P", "R", "goods")
    assert r.cost == pytest.approx(400.0)
    assert r.modes == ("road",)


def test_value_of_time_shifts_cargo_to_the_fast_mode():
    modes = [mode("road", 1.0, speed=50), mode("rail", 0.2, speed=10)]
    links = [link("P", "R", "road", 500), link("P", "R", "rail", 500)]
    places = {"P": ("road", "rail"), "R": ("road", "rail")}
    slow_ok = sector("bulk", value_density=1_000, time_cost=0.0)
    urgent = sector("chips", value_density=2_400_000, time_cost=0.01)  # 1000 yuan per tonne-hour
    net = LogisticsNetwork(["P", "R"], places, modes, links, [slow_ok, urgent])
    assert net.route("P", "R", "bulk").modes == ("rail",)
    assert net.route("P", "R", "bulk").cost == pytest.approx(100.0)
    r = net.route("P", "R", "chips")
    assert r.modes == ("road",)
    assert r.cost == pytest.approx(500 + 1000 * 10)  # 10 h by road
    assert r.hours == pytest.approx(10)


def test_customs_dwell_is_charged_on_international_trade_only():
    modes = [mode("road", 1.0)]
    links = [link("A", "B", "road", 100), link("B", "X", "road", 100)]
    places = {"A": ("road",), "B": ("road",), "X": ("road",)}
    s = sector(value_density=24_000, time_cost=0.1)  # 100 yuan per tonne-hour
    net = LogisticsNetwork(
        ["A", "B", "X"],
        places,
        modes,
        links,
        [s],
        customs_hours=[3, 5, 10],
        international=[False, False, True],
    )
    assert net.route("A", "B", 0).cost == pytest.approx(100 + 100 * 2)
    assert net.route("A", "X", 0).cost == pytest.approx(200 + 100 * (4 + 3 + 10))


def test_unreachable_market_is_named():
    modes = [mode("road", 1.0), mode("rail", 0.2)]
    links = [link("A", "B", "road", 10)]
    places = {"A": ("road",), "B": ("road",), "Z": ("rail",)}
    with pytest.raises(InputError, match="unreachable in the logistics graph: Z"):
        LogisticsNetwork(["A", "B", "Z"], places, modes, links, [sector()])


def test_iceberg_from_generalised_cost_and_distance():
    net = three_node(transship_fee=50.0)
    tau, phi = net.iceberg()
    assert tau[0, 0, 2] == pytest.approx(1 + 135 / 10_000)
    assert phi[0, 0, 2] == pytest.approx((1 + 135 / 10_000) ** -3)
    assert (np.diagonal(tau[0]) == 1).all()
    svc = sector("advice", kind="service", decay=0.1)
    net2 = LogisticsNetwork(
        ["P", "Q", "R"],
        {"P": ("road",), "Q": ("road",), "R": ("road",)},
        [mode("road", 1.0)],
        [link("P", "Q", "road", 100), link("Q", "R", "road", 100)],
        [svc],
        coords=np.array([[0.0, 0.0], [0.5, 0.0], [1.0, 0.0]]),
    )
    tau2, _ = net2.iceberg()
    km = net2.distance_matrix()[0, 2]
    assert km == pytest.approx(111.195, rel=1e-4)  # one degree of the equator
    assert tau2[0, 0, 2] == pytest.approx((km / 10.0) ** 0.1)


def _two_options(rail_tariff=0.2, customs=(0.0, 0.0), theta=2.0, asc_rail=0.0):
    """P and X (an international gateway) 500 km apart by road and by rail."""
    modes = [mode("road", 1.0, speed=50), mode("rail", rail_tariff, speed=25)]
    links = [link("P", "X", "road", 500), link("P", "X", "rail", 500)]
    places = {"P": ("road", "rail"), "X": ("road", "rail")}
    options = [
        RouteOptionRecord(
            option_id="road", name="r", modes="road", main_mode="road", provenance="e: t"
        ),
        RouteOptionRecord(
            option_id="rail", name="t", modes="road;rail", main_mode="rail", provenance="e: t"
        ),
    ]
    constants = [
        OptionConstantRecord(option_id="road", destination="X", asc=0.0, provenance="e: t"),
        OptionConstantRecord(option_id="rail", destination="X", asc=asc_rail, provenance="e: t"),
        OptionConstantRecord(option_id="road", destination="regions", asc=0.0, provenance="e: t"),
    ]
    s = sector(value_density=10_000.0, time_cost=0.024)  # 10 yuan per tonne-hour
    return LogisticsNetwork(
        ["P", "X"],
        places,
        modes,
        links,
        [s],
        n_regions=1,
        customs_hours=customs,
        international=[False, True],
        options=options,
        constants=constants,
        choice_elasticity=theta,
    )


def test_logit_shares_and_inclusive_value_by_hand():
    net = _two_options()
    r = net.routes.evaluate()
    c_road = (500 + 10 * 10) / 10_000  # 500 yuan + 10 h x 10 yuan/h
    c_rail = (100 + 10 * 20) / 10_000  # 100 yuan + 20 h
    w = np.array([0.5, 0.5])
    c = np.array([c_road, c_rail])
    f = (w @ c**-2.0) ** -0.5
    assert r.cost[0, 1, 0] == pytest.approx(c)
    assert r.share[0, 1, 0] == pytest.approx(w * c**-2.0 / (w @ c**-2.0))
    assert r.freight[0, 0, 1] == pytest.approx(f)
    assert min(c) <= f <= max(c)
    assert r.tau[0, 0, 1] == pytest.approx(1 + f)  # no coordinates: no distance friction
    assert net.route("P", "X", 0, option="rail").modes == ("rail",)


def test_inclusive_value_properties():
    # identical options cost their common cost; a cheaper option lowers it; free options give 0
    f, share = inclusive_cost(np.array([0.1, 0.1, np.inf]), np.array([0.3, 0.3, 0.4]), 2.0)
    assert f == pytest.approx(0.1 * (0.6) ** -0.5)  # the missing option's weight is a penalty
    f2, _ = inclusive_cost(np.array([0.1, 0.1, 0.1]), np.array([0.3, 0.3, 0.4]), 2.0)
    assert f2 == pytest.approx(0.1)
    f3, _ = inclusive_cost(np.array([0.05, 0.1, 0.1]), np.array([0.3, 0.3, 0.4]), 2.0)
    assert f3 < f2
    f4, s4 = inclusive_cost(np.array([0.0, 0.1]), np.array([0.5, 0.5]), 2.0)
    assert f4 == 0.0 and s4.tolist() == [1.0, 0.0]
    assert share.sum() == pytest.approx(1.0)


def test_cheaper_rail_shifts_shares_and_lowers_tau():
    base, cheap = _two_options(0.2).routes.evaluate(), _two_options(0.1).routes.evaluate()
    assert cheap.share[0, 1, 0, 1] > base.share[0, 1, 0, 1]
    assert cheap.tau[0, 0, 1] < base.tau[0, 0, 1]


def test_customs_factor_reprices_without_solving_again():
    net = _two_options(customs=(10.0, 5.0))
    base = net.routes.evaluate()
    half = net.routes.evaluate(np.array([0.5]))
    # region P's 10 customs hours halve: 5 h x 10 yuan/h less on every option
    assert half.cost[0, 1, 0] == pytest.approx(base.cost[0, 1, 0] - 50 / 10_000)
    assert half.tau[0, 0, 1] < base.tau[0, 0, 1]
    assert net.routes.evaluate(np.array([1.0])) is base


def test_a_constant_moves_the_share_by_its_exponential():
    a, b = _two_options(asc_rail=0.0), _two_options(asc_rail=np.log(3.0))
    sa, sb = a.routes.evaluate().share[0, 1, 0], b.routes.evaluate().share[0, 1, 0]
    assert (sb[1] / sb[0]) == pytest.approx(3 * sa[1] / sa[0])


def test_an_option_must_use_its_main_mode_and_is_never_a_duplicate():
    net = _two_options()
    assert net.mode_km[0, 1, 0, 1, net.mode_names.index("rail")] == pytest.approx(500)
    assert net.mode_km[0, 1, 0, 0, net.mode_names.index("rail")] == 0


def _feeder_network(feeder_modes="road", max_feeder_share=0.5, far_km=500.0):
    """Regions P, Q (20 km by road, a 20 km rail spur) and F (``far_km`` by road from P); gateway X
    1,000 km from P by road and from Q by rail.  Time costs make road the cheaper long haul."""
    links = [
        ("P", "Q", "road", 20),
        ("P", "Q", "rail", 20),
        ("P", "F", "road", far_km),
        ("P", "X", "road", 1000),
        ("Q", "X", "rail", 1000),
    ]
    places = {p: ("road", "rail") for p in "PQX"} | {"F": ("road",)}
    return _rail_network(
        links, places, 3, feeder_modes, ["P", "Q", "F", "X"], max_feeder_share=max_feeder_share
    )


def test_a_rail_option_runs_on_rail_with_road_only_as_a_regional_feeder():
    net = _feeder_network()
    rail = net.route("P", "X", 0, option="rail")
    # by road to Q, then the rail line: not the spur to Q and the 1,000 km road back past P
    assert rail.legs == (("P", "Q", "road", 20.0), ("Q", "X", "rail", 1000.0))
    # without feeder modes the cheapest route using any rail link is the spur and the road
    legacy = _feeder_network(feeder_modes="").route("P", "X", 0, option="rail")
    assert ("P", "X", "road", 1000.0) in legacy.legs


def test_an_option_that_would_run_mostly_on_its_feeder_is_not_offered():
    k = {"road": 0, "rail": 1}
    # F -> X by rail: 500 + 20 km of road feeder and 1,000 km of rail (34 % feeder)
    assert _feeder_network(max_feeder_share=0.5).available[2, 3, 0, k["rail"]]
    assert not _feeder_network(max_feeder_share=0.3).available[2, 3, 0, k["rail"]]
    far = _feeder_network(far_km=1500.0)  # 1,520 km of feeder for 1,000 of rail
    assert not far.available[2, 3, 0, k["rail"]] and far.available[2, 3, 0, k["road"]]
    with pytest.raises(InputError, match="does not reach"):
        far.route("F", "X", 0, option="rail")
    # P -> Q: the rail spur itself is all rail; F -> Q is mostly road, so rail is not offered there
    assert _feeder_network().available[0, 1, 0, k["rail"]]
    assert not _feeder_network().available[2, 1, 0, k["rail"]]


def _rail_network(
    links,
    places,
    n_regions,
    feeder_modes="road",
    markets=None,
    max_feeder_share=0.5,
    coords=None,
    max_circuity=3.0,
):
    """Road and rail options (road the rail option's feeder) on a hand-built network."""
    modes = [mode("road", 0.5, speed=60), mode("rail", 0.15, speed=30, end_fee=30)]
    options = [
        RouteOptionRecord(
            option_id="road", name="r", modes="road", main_mode="road", provenance="e"
        ),
        RouteOptionRecord(
            option_id="rail",
            name="t",
            modes="road;rail",
            main_mode="rail",
            feeder_modes=feeder_modes,
            provenance="e",
        ),
    ]
    markets = markets or list(places)
    groups = ["regions", *markets[n_regions:]]
    constants = [
        OptionConstantRecord(option_id=o, destination=d, asc=0.0, provenance="e")
        for o in ("road", "rail")
        for d in groups
    ]
    return LogisticsNetwork(
        markets,
        places,
        modes,
        [link(*lk) for lk in links],
        [sector(value_density=10_000.0, time_cost=0.24)],  # 100 yuan per tonne-hour
        n_regions=n_regions,
        international=[i >= n_regions for i in range(len(markets))],
        options=options,
        constants=constants,
        max_feeder_share=max_feeder_share,
        coords=coords,
        max_circuity=max_circuity,
    )


def test_an_option_is_offered_where_a_route_within_the_feeder_limit_exists():
    """A -> X by rail: the cheapest rail route is 700 km of road to B and 300 km of rail (70 % road,
    over the limit); 100 km of road to C and 900 km of rail costs more but meets it, so rail is
    offered on that route (a search that only checks the cheapest route would withdraw it)."""
    links = [
        ("A", "B", "road", 700),
        ("A", "C", "road", 100),
        ("C", "B", "rail", 600),
        ("B", "X", "rail", 300),
        ("B", "X", "road", 300),
    ]
    places = {"A": ("road",), "B": ("road", "rail"), "C": ("road", "rail"), "X": ("road", "rail")}
    net = _rail_network(links, places, n_regions=3)
    rail = net.route("A", "X", 0, option="rail")
    assert rail.legs == (
        ("A", "C", "road", 100.0),
        ("C", "B", "rail", 600.0),
        ("B", "X", "rail", 300.0),
    )
    # the cheaper route over the limit is what a route by least cost alone would take
    free = _rail_network(links, places, n_regions=3, feeder_modes="")
    assert free.route("A", "X", 0, option="rail").legs[0] == ("A", "B", "road", 700.0)
    assert rail.money > 0 and rail.cost > free.route("A", "X", 0, option="rail").cost


def test_a_route_that_goes_out_and_back_on_its_main_mode_is_not_offered():
    """P -> R: R has no rail, so the only 'rail' route is out to Q and back to P by rail, then road;
    that is not a rail service.  Without feeder modes (the baseline's rule) it is offered."""
    links = [("P", "Q", "rail", 40), ("P", "Q", "road", 40), ("P", "R", "road", 10)]
    places = {"P": ("road", "rail"), "Q": ("road", "rail"), "R": ("road",)}
    k = {"road": 0, "rail": 1}
    net = _rail_network(links, places, n_regions=3)
    assert not net.available[0, 2, 0, k["rail"]] and net.available[0, 2, 0, k["road"]]
    assert net.available[0, 1, 0, k["rail"]]  # P -> Q is a real rail trip
    legacy = _rail_network(links, places, n_regions=3, feeder_modes="")
    assert legacy.available[0, 2, 0, k["rail"]]
    assert legacy.route("P", "R", 0, option="rail").places == ("P", "Q", "P", "R")


def test_a_rail_detour_is_not_offered_for_a_short_trip():
    """P -> R are 10 km apart (great circle): 'rail' P -> Q (400 km) and road back Q -> R (390 km)
    is within the feeder share but 79 times the distance, so rail is not offered; the circuity
    limit is what removes it."""
    links = [("P", "Q", "rail", 400), ("Q", "R", "road", 390), ("P", "R", "road", 10)]
    places = {"P": ("road", "rail"), "Q": ("road", "rail"), "R": ("road",)}
    coords = np.array([(106.5, 29.5), (110.0, 29.5), (106.6, 29.5)])
    k = {"road": 0, "rail": 1}
    for circuity, offered in ((3.0, False), (100.0, True)):
        net = _rail_network(links, places, 3, coords=coords, max_circuity=circuity)
        assert net.available[0, 2, 0, k["rail"]] == offered
        assert net.available[0, 1, 0, k["rail"]]  # P -> Q is a rail trip


def test_feeder_modes_must_be_modes_of_the_option_other_than_its_main_mode():
    with pytest.raises(InputError, match="feeder mode") as err:
        _feeder_network(feeder_modes="rail")
    assert err.value.field == "route_options[1].feeder_modes"
    with pytest.raises(InputError, match="unknown mode"):
        _feeder_network(feeder_modes="truck")


def test_the_feeder_route_variants_options_run_on_their_main_mode():
    """No route option of scenarios/feeder_routes.toml puts more than half its km on road feeders; in
    the baseline (no feeder modes) 'rail' from Liangjiang to Shanghai for electronics is a 16 km rail
    spur and 1,700 km of road (docs/LOGISTICS.md, "Feeder legs")."""
    world = build_world(load_scenario(ROOT / "scenarios" / "feeder_routes.toml"))
    r = world.routes
    road = list(r.mode_names).index("road")
    for o, main in enumerate(r.option_main_mode):
        if main == "road":
            continue
        ok = r.available[..., o]
        share = r.mode_km[..., o, road][ok] / r.km[..., o][ok]
        assert ok.any() and share.max() <= 0.5 + 1e-9, r.option_ids[o]
    net = world.extra["network"]
    for o, i, j, s in zip(*np.nonzero(np.moveaxis(r.available, 3, 0)), strict=True):
        places = net.route(net.markets[i], net.markets[j], int(s), option=r.option_ids[o]).places
        assert len(set(places)) == len(places), (r.option_ids[o], places)
    # a route ending in the line haul and one ending in an egress leg are both candidates: rail from
    # Wanzhou to Chengdu for components is road to Xiyong and the rail line (47.5 % road), not the
    # 781 km rail detour that the cheaper but mostly-road egress route used to be replaced by
    rail = net.route("WZ", "CD", "components", option="rail")
    assert rail.legs == (("WZ", "XY", "road", 308.0), ("XY", "CD", "rail", 340.0))
    ids, sec = list(world.market_ids), list(world.sector_ids)
    i, j, s, o = ids.index("LJ"), ids.index("EC"), sec.index("electronics"), 1
    assert r.option_ids[o] == "rail"
    for rr, low in ((r, 0.0), (build_world(load_scenario(BASELINE)).routes, 0.99)):
        assert rr.mode_km[i, j, s, o, road] / rr.km[i, j, s, o] == pytest.approx(low, abs=0.01)


# ----------------------------------------------------------------------------- the default world
@pytest.fixture(scope="module")
def baseline_world() -> World:
    return build_world(load_scenario(BASELINE))


def test_tau_at_least_one_symmetric_friction_and_zero_diagonal(baseline_world):
    w = baseline_world
    assert (w.tau >= 1).all()
    assert (np.diagonal(w.gen_cost, axis1=0, axis2=1) == 0).all()
    shipped = w.sector_kind == "manufacturing"
    off = ~np.eye(w.n_markets, dtype=bool)
    assert (w.gen_cost[:, :, shipped][off] > 0).all()
    assert np.allclose(w.distance_friction, np.transpose(w.distance_friction, (0, 2, 1)))
    share = w.option_share
    assert np.allclose(share[off][:, shipped].sum(axis=-1), 1.0)


def test_gravity_friction_carries_distance_and_freight_carries_the_modes(baseline_world):
    w = baseline_world
    s = w.sector_index("auto_parts")
    lj, wz, eu = w.market_index("LJ"), w.market_index("WZ"), w.market_index("EU")
    assert w.tau[s, lj, eu] > w.tau[s, lj, wz] > 1
    # the freight part to Europe is several % of value, within Chongqing well under 2 %
    assert 0.03 < w.freight_cost[s, lj, eu] < 0.6
    assert w.freight_cost[s, lj, wz] < 0.02


def test_wanzhou_liangjiang_by_road_costs_a_few_hundred_yuan(baseline_world):
    net = baseline_world.extra["network"]
    r = net.route("WZ", "LJ", "auto_parts", modes=("road",))
    assert r.modes == ("road",) and r.places == ("WZ", "LJ")
    assert 150 <= r.money <= 600  # yuan per tonne
    assert 150 <= r.cost <= 900
    assert 250 <= r.km <= 320


def test_river_cheaper_than_rail_cheaper_than_road_per_tonne_km():
    s = load_scenario(BASELINE)
    tariff = {m.mode: m.tariff for m in s.data.modes}
    assert tariff["river"] < tariff["rail"] < tariff["road"]


def test_bulk_goes_by_water_and_rail_more_than_high_value_goods(baseline_world):
    net = baseline_world.extra["network"]
    bulk = net.mode_shares("materials")
    chips = net.mode_shares("components")
    assert (
        bulk["river"] + bulk["rail"] + bulk["sea"] > chips["river"] + chips["rail"] + chips["sea"]
    )
    assert chips["air"] > bulk["air"]
    assert net.route("WZ", "EC", "materials").modes == ("river",)
    assert net.route("XY", "EU", "electronics", option="rail").places == ("XY", "EU")


def test_removed_link_raises_the_cost_and_lowers_none():
    base = load_scenario(BASELINE)
    cut = base.with_overrides(
        {"logistics.remove_links": [{"from": "WZ", "to": "EC", "mode": "river"}]}
    )
    w0, w1 = build_world(base), build_world(cut)
    i, j, s = w0.market_index("WZ"), w0.market_index("EC"), w0.sector_index("materials")
    assert w1.gen_cost[i, j, s] > w0.gen_cost[i, j, s]
    assert (w1.gen_cost >= w0.gen_cost - 1e-9).all()
    assert (w1.tau >= w0.tau - 1e-12).all()


def test_cheaper_rail_lowers_costs_and_raises_none():
    base = build_world(load_scenario(BASELINE))
    cheap = build_world(load_scenario(ROOT / "scenarios" / "cheap_rail.toml"))
    assert (cheap.gen_cost <= base.gen_cost + 1e-9).all()
    i, j = base.market_index("XY"), base.market_index("EU")
    assert (
        cheap.gen_cost[i, j, base.sector_index("electronics")]
        < base.gen_cost[i, j, base.sector_index("electronics")]
    )
    assert (cheap.phi >= base.phi - 1e-12).all()


def test_faster_customs_helps_international_trade_only():
    base = load_scenario(BASELINE)
    fast = base.with_overrides({"logistics.customs_multiplier.WZ": 0.5})
    w0, w1 = build_world(base), build_world(fast)
    wz, eu, lj = w0.market_index("WZ"), w0.market_index("EU"), w0.market_index("LJ")
    s = w0.sector_index("electronics")
    assert w1.gen_cost[wz, eu, s] < w0.gen_cost[wz, eu, s]
    assert w1.gen_cost[wz, lj, s] == pytest.approx(w0.gen_cost[wz, lj, s])
    # the same through the cheap repricing of World.trade_costs (the costs submodel's path)
    factor = np.ones(w0.n_regions)
    factor[w0.region_index("WZ")] = 0.5
    tau, _ = w0.trade_costs(factor)
    assert tau == pytest.approx(w1.tau)


def test_customs_multiplier_of_a_transit_hub_is_an_error_not_ignored():
    """Hubs clear no customs: a multiplier keyed by a hub id would change nothing, so it is refused
    (naming the field and the allowed keys); a bad value's message says what it got once."""
    hub = load_scenario(BASELINE).data.hubs[0].hub_id
    with pytest.raises(InputError, match=rf"customs_multiplier\.{hub}: unknown key") as exc:
        load_scenario(BASELINE, {f"logistics.customs_multiplier.{hub}": 0.5})
    assert "WZ" in str(exc.value) and f" {hub}," not in str(exc.value)
    with pytest.raises(InputError) as exc:
        load_scenario(BASELINE, {"policy.delegation.WZ": 1.5})
    assert str(exc.value).count("got 1.5") == 1


def test_added_hub_and_link_are_used():
    base = load_scenario(BASELINE)
    new = base.with_overrides(
        {
            "logistics.add_hubs": [{"place": "NP", "mode": "rail"}],
            "logistics.add_links": [
                {"from": "NP", "to": "DOM", "mode": "rail", "distance_km": 900}
            ],
        }
    )
    w = build_world(new)
    r = w.extra["network"].route("NP", "DOM", "materials", option="rail")
    assert r.modes == ("rail",) and r.places == ("NP", "DOM")


def test_tau_and_phi_shapes_and_bounds(baseline_world):
    w = baseline_world
    S, M = w.n_sectors, w.n_markets
    assert w.tau.shape == (S, M, M) and w.phi.shape == (S, M, M)
    assert np.allclose(w.phi, w.tau ** (1 - w.sigma[:, None, None]))
    R = w.n_regions
    scen = load_scenario(BASELINE)
    km = np.array([g.internal_km for g in scen.data.gateways])
    d0 = scen.logistics.distance_scale_km
    delta = {r.sector_id: r.distance_elasticity for r in scen.data.sectors}
    assert (km > 0).all()
    for s in range(S):
        diag = np.diagonal(w.tau[s])
        assert (diag[:R] == 1).all()  # a region trades with itself without cost
        # a gateway's own firms trade over its internal distance (Head and Mayer 2010)
        expected = (np.maximum(km, d0) / d0) ** delta[w.sector_ids[s]]
        np.testing.assert_allclose(diag[R:], expected, rtol=1e-12)
    # farther is costlier: Yunyang is farther from Liangjiang than Changshou for every sector
    lj, cs, yy = w.region_index("LJ"), w.region_index("CS"), w.region_index("YY")
    assert (w.tau[:, lj, yy] > w.tau[:, lj, cs]).all()


def test_world_from_arrays_by_hand():
    tau = np.array([[[1.0, 1.5], [1.5, 1.0]]])
    w = World.from_arrays(region_ids=["A", "B"], sector_ids=["m"], sigma=3.0, tau=tau)
    assert w.phi[0, 0, 1] == pytest.approx(1.5**-2)
    assert w.labour_share[0] == 1.0 and w.n_markets == 2
    with pytest.raises(InputError):
        World.from_arrays(region_ids=["A", "B"], sector_ids=["m"], sigma=0.5, tau=tau)


def test_faster_road_lowers_time_sensitive_costs_most():
    base = load_scenario(BASELINE)
    fast = base.with_overrides({"logistics.speed_multiplier.road": 2.0})
    w0, w1 = build_world(base), build_world(fast)
    assert (w1.gen_cost <= w0.gen_cost + 1e-9).all()
    wz, lj = w0.market_index("WZ"), w0.market_index("LJ")
    el, mat = w0.sector_index("electronics"), w0.sector_index("materials")
    saving = w0.gen_cost[wz, lj] - w1.gen_cost[wz, lj]
    assert saving[el] > saving[mat] >= 0


# ----------------------------------------------------------------------------- random networks
hypothesis = pytest.importorskip("hypothesis")
st = hypothesis.strategies


@hypothesis.settings(max_examples=40, deadline=None)
@hypothesis.given(
    n=st.integers(3, 6),
    seed=st.integers(0, 10_000),
    vot_cost=st.floats(0.0, 0.05),
)
def test_random_networks_triangle_and_link_removal(n, seed, vot_cost):
    rng = np.random.default_rng(seed)
    ids = [f"P{i}" for i in range(n)]
    modes = [
        mode("road", 0.5, speed=50),
        mode("rail", 0.15, speed=30, end_fee=20, transship_fee=30),
    ]
    places = {p: ("road", "rail") if rng.random() < 0.5 else ("road",) for p in ids}
    links = [link(ids[i], ids[i + 1], "road", float(rng.uniform(10, 300))) for i in range(n - 1)]
    for i in range(n):
        for j in range(i + 2, n):
            if rng.random() < 0.4:
                links.append(link(ids[i], ids[j], "road", float(rng.uniform(10, 500))))
            if "rail" in places[ids[i]] and "rail" in places[ids[j]] and rng.random() < 0.5:
                links.append(link(ids[i], ids[j], "rail", float(rng.uniform(10, 500))))
    sec = sector(value_density=50_000, time_cost=vot_cost)
    net = LogisticsNetwork(ids, places, modes, links, [sec])
    c = net.generalised_cost()[:, :, 0]
    assert np.allclose(c, c.T)
    assert (c[:, None, :] <= c[:, :, None] + c[None, :, :] + 1e-9).all()
    # a route's cost is the sum of its legs' money and time at the sector's value of time
    r = net.route(ids[0], ids[-1], 0)
    assert r.cost == pytest.approx(r.money + net.vot[0] * r.hours)
    # removing any extra (non-chain) link never lowers a cost
    if len(links) > n - 1:
        k = int(rng.integers(n - 1, len(links)))
        net2 = LogisticsNetwork(ids, places, modes, links[:k] + links[k + 1 :], [sec])
        assert (net2.generalised_cost() >= net.generalised_cost() - 1e-9).all()


@pytest.mark.parametrize(
    "lever",
    [
        {"logistics.tariff_multiplier.rail": 0.7, "logistics.fee_multiplier.rail": 0.8},
        {"logistics.tariff_multiplier.all": 0.5, "logistics.fee_multiplier.all": 0.5},
        {"logistics.tariff_multiplier.road": 0.9},
        {"logistics.tariff_multiplier.rail": 1.5},
        {"logistics.customs_multiplier.connected": 0.5},
    ],
    ids=["cheap_rail", "freight_half", "road_0.9", "rail_1.5", "fast_customs"],
)
def test_freight_prices_do_not_withdraw_route_options_in_the_feeder_variant(lever, feeder_world):
    """A cheaper or dearer mode changes which route an option takes, not whether a weighted option is
    offered (the feeder rules are also checked on the shortest and the fewest-feeder-km routes)."""
    lev = build_world(load_scenario(ROOT / "scenarios" / "feeder_routes.toml", lever)).routes
    base = feeder_world.routes
    offered = base.available & (base.weight[:, :, None, :] > 0)
    assert offered.sum() > 1000
    assert not (offered & ~lev.available).any()


@pytest.fixture(scope="module")
def feeder_world() -> World:
    return build_world(load_scenario(ROOT / "scenarios" / "feeder_routes.toml"))


def test_missing_option_constants_name_the_same_destination_in_every_process(tiny):
    """The destinations were checked in a set's order, which depends on the process's string hash
    seed: the same file named a different destination from run to run.  Now the first in sorted
    order, under the scenario key that names the file."""
    csv = tiny.parent / "option_constants.csv"
    csv.write_text(csv.read_text().splitlines()[0] + "\n")
    with pytest.raises(InputError) as exc:
        build_world(load_scenario(tiny))
    assert exc.value.field == "logistics.constants_file (D)"
    assert "no route option has a constant for destination 'D'" in exc.value.message
