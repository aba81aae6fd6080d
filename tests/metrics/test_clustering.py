"""Clustering indices against REAT examples, the four-region toy (docs/METRICS.md), properties."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from agglomeration.errors import InputError
from agglomeration.metrics import (
    coagglomeration,
    ellison_glaeser,
    ellison_glaeser_test,
    herfindahl,
    hoover,
    krugman_specialisation,
    location_quotients,
    locational_gini,
    lq_gini,
    maurel_sedillot,
    sector_concentration,
)

# ---- REAT / Farhauer-Kröll Ellison-Glaeser example (T8) -------------------------------------------
REAT_PLANTS = np.array([200, 650, 12000, 100, 50, 16000, 13000, 1500, 1500, 25000], float)
REAT_REGION = np.array([0] * 5 + [1] * 4 + [2])
REAT_TOTALS = np.array([500000, 400000, 100000], float)

# ---- four-region toy (docs/METRICS.md, worked examples) ------------------------------------------
TOY_TOTAL = np.array([400, 300, 200, 100], float)
TOY_PLANTS = np.array([20, 20, 10, 10, 10, 30], float)
TOY_REGION = np.array([3, 3, 2, 1, 0, 3])
TOY_IND = np.array([10, 10, 10, 70], float)


def test_lq_reat_example_t7():
    # REAT locq(e_ij=1714, e_j=79006, e_i=879213, e=15593224) = 0.3847623
    e_ij, e_j, e_i, e = 1714, 79006, 879213, 15593224
    emp = np.array([[e_ij, e_j - e_ij], [e_i - e_ij, e - e_j - e_i + e_ij]], float)
    assert location_quotients(emp)[0, 0] == pytest.approx(0.3847623, abs=5e-8)


def test_lq_toy_and_dataframe():
    emp = pd.DataFrame(
        np.column_stack([TOY_IND, TOY_TOTAL - TOY_IND]),
        index=list("ABCD"),
        columns=["A_ind", "other"],
    )
    lq = location_quotients(emp)
    assert isinstance(lq, pd.DataFrame) and list(lq.index) == list("ABCD")
    np.testing.assert_allclose(lq["A_ind"], [0.25, 1 / 3, 0.5, 7.0])
    # employment-weighted mean LQ of each sector is 1 (definition of LQ)
    x = TOY_TOTAL / TOY_TOTAL.sum()
    np.testing.assert_allclose((lq.to_numpy() * x[:, None]).sum(axis=0), 1.0)


def test_eg_reat_example_t8():
    res = ellison_glaeser_test(REAT_PLANTS, REAT_REGION, REAT_TOTALS)
    assert res.gamma == pytest.approx(0.05990628, abs=5e-9)
    assert res.G == pytest.approx(0.168163, abs=5e-7)
    assert res.H == pytest.approx(0.244689, abs=5e-7)
    assert ellison_glaeser(REAT_PLANTS, REAT_REGION, REAT_TOTALS) == res.gamma


def test_ms_reat_example():
    assert maurel_sedillot(REAT_PLANTS, REAT_REGION, REAT_TOTALS) == pytest.approx(
        -0.4358, abs=5e-5
    )


def test_toy_example_all_measures():
    assert ellison_glaeser(TOY_PLANTS, TOY_REGION, TOY_TOTAL) == pytest.approx(0.642857, abs=5e-7)
    assert maurel_sedillot(TOY_PLANTS, TOY_REGION, TOY_TOTAL) == pytest.approx(0.142857, abs=5e-7)
    r = ellison_glaeser_test(TOY_PLANTS, TOY_REGION, TOY_TOTAL)
    assert (r.H, r.G) == (pytest.approx(0.20), pytest.approx(0.50))
    assert locational_gini(TOY_IND, TOY_TOTAL) == pytest.approx(0.64)
    assert lq_gini(TOY_IND, TOY_TOTAL) == pytest.approx(0.6314, abs=5e-5)
    assert hoover(TOY_IND, TOY_TOTAL) == pytest.approx(0.60)
    assert herfindahl(TOY_IND) == pytest.approx(0.52)
    assert herfindahl(TOY_IND / 100, normalised=True) == pytest.approx(0.36)
    assert krugman_specialisation([70, 30], [30, 870]) == pytest.approx(1.333333, abs=5e-7)
    assert coagglomeration(TOY_IND, [100, 60, 30, 10], TOY_TOTAL) == pytest.approx(
        -0.078571, abs=5e-7
    )


def test_gini_reat_example_t9_and_lorenz_variant():
    e_ij = [500, 500, 1000, 7000, 1000]
    e_j = [20000, 15000, 20000, 40000, 5000]
    assert lq_gini(e_ij, e_j) == pytest.approx(0.4068966, abs=5e-8)
    assert locational_gini(e_ij, e_j) == pytest.approx(0.3725, abs=5e-5)


def test_krugman_reat_example_t10():
    assert krugman_specialisation([20, 10, 70, 0, 0], [0, 0, 0, 60, 40]) == pytest.approx(2.0)


def test_eg_dartboard_moments_monte_carlo():
    """Under random location (plants thrown at regions with probabilities x), E[G] = (1-sum x^2)H and
    Var(G) matches the EG/REAT formula; gamma averages 0."""
    rng = np.random.default_rng(np.random.SeedSequence(7))
    plants = np.array([50, 40, 30, 20, 20, 10, 10, 5, 5, 5], float)
    totals = np.array([500.0, 300.0, 150.0, 50.0])
    x = totals / totals.sum()
    n_sim = 20000
    regions = rng.choice(4, size=(n_sim, plants.size), p=x)
    s = np.zeros((n_sim, 4))
    np.add.at(
        s, (np.repeat(np.arange(n_sim), plants.size), regions.ravel()), np.tile(plants, n_sim)
    )
    s /= plants.sum()
    G = ((s - x) ** 2).sum(axis=1)
    ref = ellison_glaeser_test(plants, np.zeros(plants.size, int), totals)
    assert G.mean() == pytest.approx(ref.expected_G, rel=0.02)
    assert G.var() == pytest.approx(ref.var_G, rel=0.05)
    gammas = [ellison_glaeser(plants, r, totals) for r in regions[:2000]]
    assert abs(np.mean(gammas)) < 3 * np.std(gammas) / np.sqrt(len(gammas))


def test_eg_z_detects_localisation():
    plants = np.full(30, 10.0)
    totals = np.array([100.0, 100.0, 100.0, 100.0])
    clustered = ellison_glaeser_test(plants, np.zeros(30, int), totals)
    spread = ellison_glaeser_test(plants, np.arange(30) % 4, totals)
    assert clustered.z > 5 and clustered.p_value < 1e-6 and clustered.gamma > 0.5
    assert spread.z < 0 and spread.gamma < 0


def test_comparative_statics_concentration_raises_indices():
    base = np.array([25.0, 25, 25, 25])
    total = np.array([1000.0, 1000, 1000, 1000])
    conc = np.array([10.0, 10, 10, 70])
    for f in (hoover, locational_gini, lq_gini):
        assert f(conc, total) > f(base, total)
    assert hoover(base, total) == pytest.approx(0)
    assert locational_gini(base, total) == pytest.approx(0)


def test_coagglomeration_equals_eg1997_group_formula():
    """For two industries the EG (1997) group index, which uses the plant Herfindahls, reduces to
    the EGK pairwise formula: check the identity on random data."""
    rng = np.random.default_rng(3)
    for _ in range(20):
        total = rng.uniform(100, 1000, 6)
        ea, eb = rng.uniform(0, 50, 6), rng.uniform(0, 50, 6)
        ha, hb = rng.uniform(0.01, 0.5, 2)
        x = total / total.sum()
        sx2 = (x**2).sum()
        sa, sb = ea / ea.sum(), eb / eb.sum()
        wa, wb = ea.sum() / (ea.sum() + eb.sum()), eb.sum() / (ea.sum() + eb.sum())
        su = (ea + eb) / (ea.sum() + eb.sum())
        ga = (((sa - x) ** 2).sum() / (1 - sx2) - ha) / (1 - ha)
        gb = (((sb - x) ** 2).sum() / (1 - sx2) - hb) / (1 - hb)
        hu = wa**2 * ha + wb**2 * hb
        gc = (
            ((su - x) ** 2).sum() / (1 - sx2) - hu - ga * wa**2 * (1 - ha) - gb * wb**2 * (1 - hb)
        ) / (1 - wa**2 - wb**2)
        assert coagglomeration(ea, eb, total, ha, hb) == pytest.approx(gc, rel=1e-9, abs=1e-12)


# ---- property tests ---------------------------------------------------------------------------------


@st.composite
def industry_and_total(draw):
    n = draw(st.integers(2, 8))
    ind = draw(arrays(float, n, elements=st.one_of(st.just(0.0), st.floats(1e-3, 1e4))))
    other = draw(arrays(float, n, elements=st.floats(1, 1e4)))
    if ind.sum() == 0:
        ind[0] = 1.0
    return ind, ind + other


@settings(max_examples=60, deadline=None)
@given(industry_and_total(), st.floats(1e-3, 1e3))
def test_scale_invariance(data, c):
    ind, tot = data
    for f in (hoover, locational_gini, lq_gini):
        assert f(ind * c, tot * c) == pytest.approx(f(ind, tot), abs=1e-9)
    assert krugman_specialisation(ind * c, tot) == pytest.approx(
        krugman_specialisation(ind, tot), abs=1e-9
    )
    assert herfindahl(ind * c) == pytest.approx(herfindahl(ind), abs=1e-12)
    emp = np.column_stack([ind, tot - ind])
    np.testing.assert_allclose(location_quotients(emp * c), location_quotients(emp), rtol=1e-9)


@settings(max_examples=60, deadline=None)
@given(industry_and_total(), st.randoms(use_true_random=False))
def test_bounds_and_permutation_symmetry(data, rnd):
    ind, tot = data
    g = locational_gini(ind, tot)
    assert -1e-12 <= g < 1
    assert -1e-12 <= hoover(ind, tot) < 1
    k = krugman_specialisation(ind, tot - ind + 1)
    assert -1e-12 <= k <= 2 + 1e-12
    h = herfindahl(ind)
    assert 1 / ind.size - 1e-12 <= h <= 1 + 1e-12
    perm = list(range(ind.size))
    rnd.shuffle(perm)
    for f in (hoover, locational_gini, lq_gini):
        assert f(ind[perm], tot[perm]) == pytest.approx(f(ind, tot), abs=1e-9)
    assert coagglomeration(ind[perm], tot[perm] - ind[perm], tot[perm]) == pytest.approx(
        coagglomeration(ind, tot - ind, tot), abs=1e-9
    )


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(1, 1e3), min_size=2, max_size=12),
    st.floats(1e-2, 1e2),
    st.randoms(use_true_random=False),
)
def test_eg_ms_scale_and_relabelling_invariance(plants, c, rnd):
    plants = np.array(plants)
    regions = np.arange(plants.size) % 3
    totals = np.array([500.0, 300.0, 200.0])
    g = ellison_glaeser(plants, regions, totals)
    assert ellison_glaeser(plants * c, regions, totals * 7) == pytest.approx(g, abs=1e-9)
    perm = [0, 1, 2]
    rnd.shuffle(perm)
    inv = np.argsort(perm)  # region r is now called inv[r]
    assert ellison_glaeser(plants, inv[regions], totals[perm]) == pytest.approx(g, abs=1e-9)
    ms = maurel_sedillot(plants, regions, totals)
    assert maurel_sedillot(plants, inv[regions], totals[perm]) == pytest.approx(ms, abs=1e-9)


# ---- degenerate input -----------------------------------------------------------------------------
def test_negative_employment_raises():
    with pytest.raises(InputError) as e:
        location_quotients([[1, -2], [3, 4]])
    assert e.value.field == "emp"
    with pytest.raises(InputError, match="industry_emp"):
        hoover([1, -1], [2, 2])
    with pytest.raises(InputError, match="plant_emp"):
        ellison_glaeser([-1, 2], [0, 1], [5, 5])


def test_mismatched_shapes_raise():
    with pytest.raises(InputError) as e:
        hoover([1, 2, 3], [1, 2])
    assert e.value.field == "total_emp"
    with pytest.raises(InputError, match="plant_region"):
        ellison_glaeser([1, 2, 3], [0, 1], [5, 5])
    with pytest.raises(InputError, match="plant_region"):
        ellison_glaeser([1, 2], [0, 2], [5, 5])  # region index out of range
    with pytest.raises(InputError, match="region_b_by_sector"):
        krugman_specialisation([1, 2], [1, 2, 3])
    with pytest.raises(InputError, match="emp"):
        location_quotients([1, 2, 3])  # 1-D
    with pytest.raises(InputError, match="total_emp"):
        coagglomeration([1, 2], [1, 2], [1, 2, 3])


def test_undefined_cases_return_nan():
    # empty industry
    assert np.isnan(ellison_glaeser([], [], [10, 20]))
    assert np.isnan(ellison_glaeser([0, 0], [0, 1], [10, 20]))
    assert np.isnan(hoover([0, 0], [1, 2]))
    assert np.isnan(locational_gini([0, 0], [1, 2]))
    # one region / all activity in one region
    assert np.isnan(ellison_glaeser([1, 2], [0, 0], [10]))
    assert np.isnan(herfindahl([5], normalised=True))
    assert np.isnan(coagglomeration([1], [1], [1]))
    # zero total employment
    assert np.isnan(location_quotients(np.zeros((2, 2)))).all()
    assert np.isnan(krugman_specialisation([0, 0], [1, 1]))
    # single plant: H = 1
    assert np.isnan(ellison_glaeser([5], [0], [10, 10]))


def test_infinite_lq_and_bad_h_raise():
    with pytest.raises(InputError, match="total_emp"):
        locational_gini([1, 1], [0, 5])
    with pytest.raises(InputError, match="h_a"):
        coagglomeration([1, 2], [2, 1], [5, 5], h_a=1.5)
    with pytest.raises(InputError, match="emp"):
        location_quotients([[np.nan, 1], [1, 1]])


def test_sector_concentration_matches_single_industry_functions():
    rng = np.random.default_rng(np.random.SeedSequence(17))
    n, R, S = 400, 5, 4
    emp = rng.lognormal(2, 1, n)
    reg = rng.integers(0, R, n)
    sec = rng.integers(0, S - 1, n)  # sector S-1 stays empty
    sec[0], reg[0] = 2, 3
    tab = sector_concentration(emp, reg, sec, n_regions=R, n_sectors=S)
    totals = np.bincount(reg, weights=emp, minlength=R)
    for s in range(S - 1):
        m = sec == s
        ind = np.bincount(reg[m], weights=emp[m], minlength=R)
        row = tab.loc[s]
        assert row["gamma_eg"] == pytest.approx(ellison_glaeser(emp[m], reg[m], totals), abs=1e-12)
        assert row["gamma_ms"] == pytest.approx(maurel_sedillot(emp[m], reg[m], totals), abs=1e-12)
        assert row["hoover"] == pytest.approx(hoover(ind, totals), abs=1e-12)
        assert row["locational_gini"] == pytest.approx(locational_gini(ind, totals), abs=1e-12)
        assert row["herfindahl"] == pytest.approx(herfindahl(ind), abs=1e-12)
        assert row["firms"] == m.sum()
    assert (
        tab.loc[S - 1, "employment"] == 0 and np.isnan(tab.loc[S - 1, ["gamma_eg", "hoover"]]).all()
    )
    with pytest.raises(InputError, match="firm_sector"):
        sector_concentration(emp, reg, sec[:-1])
