"""Project-defined chain metrics and supplier-network statistics on hand-built links frames
(columns of model.links_frame(), docs/ARCHITECTURE.md)."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from agglomeration.errors import InputError
from agglomeration.metrics import (
    chain_coverage,
    complete_chains,
    excess_intraregional_links,
    local_sourcing_share,
    supply_network_stats,
)


def hand_links() -> pd.DataFrame:
    """Five links: A buys locally (values 1, 5) and from B (2); B imports (3, via gateway G1) and buys locally (4)."""
    return pd.DataFrame(
        {
            "buyer": [10, 11, 12, 13, 10],
            "supplier": [20, 21, -1, 22, 23],
            "buyer_region": ["A", "A", "B", "B", "A"],
            "supplier_region": ["A", "B", "G1", "B", "A"],
            "input_sector": [0, 0, 1, 1, 1],
            "value": [1.0, 2.0, 3.0, 4.0, 5.0],
            "delivered_cost": [1.0, 2.0, 3.0, 4.0, 5.0],
            "distance_km": [0.0, 50.0, 300.0, 0.0, 0.0],
        }
    )


def test_local_sourcing_share_hand_example():
    lss = local_sourcing_share(hand_links())
    assert lss["A"] == pytest.approx((1 + 5) / (1 + 2 + 5))
    assert lss["B"] == pytest.approx(4 / (3 + 4))
    assert local_sourcing_share(hand_links(), group=["A", "B"]) == pytest.approx(12 / 15)
    assert local_sourcing_share(hand_links(), group=["A"]) == pytest.approx(6 / 8)
    cnt = local_sourcing_share(hand_links(), regions=["A", "B", "C"], weight="count")
    assert (
        cnt["A"] == pytest.approx(2 / 3) and cnt["B"] == pytest.approx(1 / 2) and np.isnan(cnt["C"])
    )
    # a mapping of columns is accepted; value scaling does not matter
    d = {c: v.to_numpy() for c, v in hand_links().items()}
    d["value"] = d["value"] * 1000
    pd.testing.assert_series_equal(local_sourcing_share(d), lss)


def test_imports_never_local_even_if_gateway_id_equals_region_id():
    links = hand_links()
    links["buyer_region"] = [0, 0, 1, 1, 0]
    links["supplier_region"] = [
        0,
        1,
        1,
        1,
        0,
    ]  # the import arrives through gateway 1 == region 1's id
    assert local_sourcing_share(links)[1] == pytest.approx(4 / 7)


def test_local_sourcing_share_errors():
    with pytest.raises(InputError) as e:
        local_sourcing_share(hand_links().drop(columns="supplier_region"))
    assert e.value.field == "links"
    bad = hand_links()
    bad.loc[0, "value"] = -1.0
    with pytest.raises(InputError, match=r"links\.value"):
        local_sourcing_share(bad)
    with pytest.raises(InputError, match="weight"):
        local_sourcing_share(hand_links(), weight="tonnes")
    with pytest.raises(InputError, match="links"):
        local_sourcing_share([1, 2, 3])
    assert np.isnan(local_sourcing_share(hand_links(), group=["Z"]))


A3 = np.array([[0.0, 0.2, 0.0], [0.0, 0.0, 0.3], [0.0, 0.0, 0.0]])  # 0 -> 1 -> 2 chain
COUNTS = pd.DataFrame([[2, 0, 1], [1, 3, 0], [0, 2, 5]], index=["A", "B", "C"])


def test_chain_coverage_hand_example():
    # total requirements of the final sector 2: L[0,2] = 0.2*0.3 = 0.06, L[1,2] = 0.3
    cc = chain_coverage(COUNTS, A3, [0, 1, 2])
    np.testing.assert_allclose(cc.to_numpy(), [0.06 / 0.36, 1.0, 0.3 / 0.36])
    direct = chain_coverage(COUNTS.to_numpy(), A3, [0, 1, 2], requirements="direct")
    np.testing.assert_allclose(direct, [0.0, 1.0, 1.0])  # only stage 1 is a direct supplier of 2
    many = chain_coverage(COUNTS, A3, {"long": [0, 1, 2], "short": [0, 1]})
    assert list(many.columns) == ["long", "short"] and list(many.index) == ["A", "B", "C"]
    np.testing.assert_allclose(many["short"], [1.0, 1.0, 0.0])


def test_chain_coverage_comparative_statics_and_bounds():
    rng = np.random.default_rng(0)
    A = rng.uniform(0, 0.1, (6, 6))
    counts = rng.integers(0, 3, (5, 6)).astype(float)
    cc = chain_coverage(counts, A, [0, 2, 4, 5])
    assert ((cc >= 0) & (cc <= 1)).all()
    more = counts.copy()
    more[:, 2] += 1  # every region gains a stage-2 firm
    cc2 = chain_coverage(more, A, [0, 2, 4, 5])
    assert (cc2 >= cc).all() and (cc2[counts[:, 2] == 0] > cc[counts[:, 2] == 0]).all()


def test_chain_coverage_degenerate():
    assert np.isnan(chain_coverage(COUNTS, A3, [2])).all()  # no upstream stage
    with pytest.raises(InputError, match="A"):
        chain_coverage(COUNTS, A3[:2, :2], [0, 1])
    with pytest.raises(InputError, match="chain"):
        chain_coverage(COUNTS, A3, [0, 7])
    with pytest.raises(InputError, match="chain"):
        chain_coverage(COUNTS, A3, [])
    with pytest.raises(InputError, match="firm_counts"):
        chain_coverage(-COUNTS, A3, [0, 1])


def test_complete_chains_presence_and_sourcing():
    chains = {"long": [0, 1, 2], "short": [0, 1]}
    per_region = complete_chains(COUNTS, chains)
    assert per_region.to_dict() == {
        "long": {"A": False, "B": False, "C": False},
        "short": {"A": False, "B": True, "C": False},
    }
    assert complete_chains(COUNTS, chains, group=["A", "B"]).to_dict() == {
        "long": True,
        "short": True,
    }
    assert not complete_chains(COUNTS, chains, group=["C"])["short"]
    # sourcing: sector 0 -> 1 link inside {A, B}; 1 -> 2 link only from outside (region C)
    links = pd.DataFrame(
        {
            "buyer": [1, 2],
            "supplier": [5, 6],
            "buyer_region": ["B", "A"],
            "supplier_region": ["A", "C"],
            "input_sector": [0, 1],
            "value": [1.0, 1.0],
        }
    )
    sector_of = {1: 1, 2: 2}
    src = complete_chains(COUNTS, chains, group=["A", "B"], links=links, buyer_sector=sector_of)
    assert src.to_dict() == {"long": False, "short": True}
    links.loc[1, "supplier_region"] = "B"
    src2 = complete_chains(
        COUNTS, chains, group=["A", "B"], links=links.assign(buyer_sector=[1, 2])
    )
    assert src2.to_dict() == {"long": True, "short": True}
    with pytest.raises(InputError, match="buyer_sector"):
        complete_chains(COUNTS, chains, group=["A"], links=links)
    with pytest.raises(InputError, match="group"):
        complete_chains(COUNTS, chains, group=["Q"])


def test_excess_intraregional_links_hand_example():
    cap = pd.DataFrame([[1, 1], [3, 1]], index=["A", "B"])
    r = excess_intraregional_links(hand_links(), cap)
    # domestic links: p = 1/4, 1/4, 1/2, 1/2; three of four are intra-regional
    assert r.n_links == 4
    assert r.observed == pytest.approx(0.75) and r.expected == pytest.approx(0.375)
    assert r.normalised == pytest.approx(0.375 / 0.625)
    assert r.z == pytest.approx(0.375 / np.sqrt((3 / 16 + 3 / 16 + 1 / 4 + 1 / 4) / 16))
    v = excess_intraregional_links(hand_links(), cap, weight="value")
    w = np.array([1, 2, 4, 5]) / 12
    assert v.observed == pytest.approx(w @ [1, 0, 1, 1]) and v.expected == pytest.approx(
        w @ [0.25, 0.25, 0.5, 0.5]
    )


def _null_links(rng, cap: np.ndarray, n_links: int, local_bias: float) -> pd.DataFrame:
    """Links whose supplier region is drawn from sector capacity (the null) or, with prob local_bias,
    forced into the buyer's region."""
    R, S = cap.shape
    br = rng.integers(0, R, n_links)
    k = rng.integers(0, S, n_links)
    p = cap[:, k] / cap[:, k].sum(axis=0)
    sr = (rng.random(n_links)[None, :] > np.cumsum(p, axis=0)).sum(axis=0)
    sr = np.where(rng.random(n_links) < local_bias, br, sr)
    return pd.DataFrame(
        {
            "supplier": np.arange(n_links),
            "buyer_region": br,
            "supplier_region": sr,
            "input_sector": k,
            "value": 1.0,
        }
    )


def test_excess_links_null_calibration_and_power():
    rng = np.random.default_rng(np.random.SeedSequence(31))
    cap = rng.integers(1, 20, (4, 3)).astype(float)
    zs = np.array(
        [excess_intraregional_links(_null_links(rng, cap, 400, 0.0), cap).z for _ in range(300)]
    )
    assert abs(zs.mean()) < 0.2 and 0.8 < zs.std() < 1.2
    local = excess_intraregional_links(_null_links(rng, cap, 400, 0.3), cap)
    assert local.z > 5 and local.normalised == pytest.approx(0.3, abs=0.08)


def test_excess_links_degenerate():
    cap = np.ones((2, 2))
    only_imports = hand_links().iloc[[2]]
    assert excess_intraregional_links(only_imports, cap).n_links == 0
    with pytest.raises(InputError, match="buyer_region"):
        excess_intraregional_links(hand_links(), cap)  # string regions need a labelled capacity
    with pytest.raises(InputError, match="capacity"):
        excess_intraregional_links(hand_links(), pd.DataFrame([[0, 1], [0, 1]], index=["A", "B"]))


def test_supply_network_stats_hand_example():
    s = supply_network_stats(hand_links(), firms=[10, 11, 12, 13, 20, 21, 22, 23, 99])
    assert s["links"] == 5 and s["domestic_links"] == 4 and s["edges"] == 4
    assert s["nodes"] == 9  # firm 99 is isolated
    assert s["density"] == pytest.approx(4 / (9 * 8))
    assert s["import_value_share"] == pytest.approx(3 / 15)
    assert s["intra_region_share"] == pytest.approx(3 / 4)
    assert s["intra_region_value_share"] == pytest.approx(10 / 12)
    assert s["mean_delivered_cost"] == pytest.approx((1 + 2 + 4 + 5) / 4)
    assert s["mean_distance_km"] == pytest.approx(12.5) and s["median_distance_km"] == 0
    assert s["largest_wcc_share"] == pytest.approx(3 / 9)  # {10, 20, 23}
    assert s["max_in_degree"] == 2 and s["mean_degree"] == pytest.approx(4 / 9)


def test_supply_network_clustering_matches_networkx_and_empty():
    rng = np.random.default_rng(4)
    sup, buy = rng.integers(0, 30, 200), rng.integers(0, 30, 200)
    keep = sup != buy
    links = pd.DataFrame(
        {
            "buyer": buy[keep],
            "supplier": sup[keep],
            "buyer_region": buy[keep] % 3,
            "supplier_region": sup[keep] % 3,
            "value": 1.0,
            "delivered_cost": 1.0,
            "distance_km": 10.0,
        }
    )
    g = nx.DiGraph(list(zip(sup[keep].tolist(), buy[keep].tolist())))
    s = supply_network_stats(links)
    assert s["clustering"] == pytest.approx(nx.average_clustering(g.to_undirected()))
    assert s["density"] == pytest.approx(nx.density(g))
    empty = supply_network_stats(links.iloc[:0])
    assert (
        empty["links"] == 0 and np.isnan(empty["intra_region_share"]) and np.isnan(empty["density"])
    )
