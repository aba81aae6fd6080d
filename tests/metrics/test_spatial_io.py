"""Moran's I against the esda 2.9.0 lattice values (T11), Leontief against Miller-Blair (T13): the
worked examples of docs/METRICS.md.  esda is not a dependency: the lattice values were computed with
esda and by hand."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agglomeration.errors import InputError
from agglomeration.metrics import (
    leontief_inverse,
    morans_i,
    output_multipliers,
    rasmussen_linkages,
    total_requirements,
)

GRADIENT = np.array([10, 8, 6, 8, 6, 4, 6, 4, 2], float)
CHECKER = np.array([1, 0, 1, 0, 1, 0, 1, 0, 1], float)


def rook_lattice(rows: int, cols: int) -> np.ndarray:
    """Binary rook contiguity of a rows x cols grid (libpysal lat2W)."""
    n = rows * cols
    w = np.zeros((n, n))
    for i in range(rows):
        for j in range(cols):
            for a, b in ((i + 1, j), (i - 1, j), (i, j + 1), (i, j - 1)):
                if 0 <= a < rows and 0 <= b < cols:
                    w[i * cols + j, a * cols + b] = 1
    return w


W = rook_lattice(3, 3)


def test_t11_row_standardised():
    r = morans_i(GRADIENT, W, permutations=999, rng=np.random.default_rng(12345))
    assert r.I == pytest.approx(0.555556, abs=5e-7)
    assert r.EI == pytest.approx(-0.125)
    assert r.VI_norm == pytest.approx(0.057215, abs=5e-7)
    assert r.z_norm == pytest.approx(2.8452, abs=5e-5)
    assert r.p_norm == pytest.approx(0.004439, abs=5e-7)
    assert r.VI_rand == pytest.approx(0.058986, abs=5e-7)
    assert r.z_rand == pytest.approx(2.8021, abs=5e-5)
    assert r.p_rand == pytest.approx(0.005077, abs=5e-7)
    # the gradient is the most autocorrelated arrangement of these values: p_sim at its minimum
    assert r.p_sim == pytest.approx(0.001)
    assert r.sim.shape == (999,)


def test_t11_binary_and_checkerboard():
    b = morans_i(GRADIENT, W, row_standardise=False, permutations=0)
    assert b.I == pytest.approx(0.5)
    assert b.VI_norm == pytest.approx(0.053125)
    assert b.z_norm == pytest.approx(2.7116, abs=5e-5)
    assert b.p_norm == pytest.approx(0.006695, abs=5e-7)
    assert np.isnan(b.p_sim)
    c = morans_i(CHECKER, W, permutations=0)
    assert c.I == pytest.approx(-1.0)
    assert c.z_norm == pytest.approx(-3.658, abs=5e-4)


def test_hand_computed_binary_i():
    z = GRADIENT - GRADIENT.mean()
    hand = len(z) / W.sum() * (z @ W @ z) / (z @ z)
    assert morans_i(GRADIENT, W, row_standardise=False, permutations=0).I == pytest.approx(hand)


def test_p_sim_reproducible_and_null_calibrated():
    rng = np.random.default_rng(np.random.SeedSequence(11))
    w = rook_lattice(5, 5)
    y = rng.normal(size=25)
    a = morans_i(y, w, permutations=199, rng=np.random.default_rng(5))
    b = morans_i(y, w, permutations=199, rng=np.random.default_rng(5))
    assert a.p_sim == b.p_sim and np.array_equal(a.sim, b.sim)
    assert (
        morans_i(y, w, permutations=99).p_sim == morans_i(y, w, permutations=99).p_sim
    )  # seeded default
    # permutation distribution centred on EI = -1/(n-1)
    big = morans_i(y, w, permutations=4000, rng=np.random.default_rng(1))
    assert big.EI_sim == pytest.approx(big.EI, abs=4 * big.seI_sim / np.sqrt(4000))
    assert 1 / 4001 <= big.p_sim <= 0.5 + 1 / 4001


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.floats(-100, 100), min_size=9, max_size=9),
    st.floats(0.1, 10),
    st.floats(-50, 50),
    st.permutations(range(9)),
)
def test_moran_affine_and_relabelling_invariance(vals, a, b, perm):
    y = np.array(vals)
    if np.ptp(y) < 1e-6:
        return
    r1 = morans_i(y, W, permutations=0)
    r2 = morans_i(a * y + b, W, permutations=0)
    assert r2.I == pytest.approx(r1.I, abs=1e-8)
    # relabelling regions (permuting values and weights consistently) leaves I unchanged
    perm = np.array(perm)
    r3 = morans_i(y[perm], W[np.ix_(perm, perm)], permutations=0)
    assert r3.I == pytest.approx(r1.I, abs=1e-10)
    assert r3.VI_norm == pytest.approx(r1.VI_norm, abs=1e-12)


def test_moran_degenerate():
    r = morans_i(np.ones(9), W, permutations=10)
    assert np.isnan(r.I) and np.isnan(r.z_norm) and np.isnan(r.p_sim)
    with pytest.raises(InputError) as e:
        morans_i(GRADIENT, W[:8, :8])
    assert e.value.field == "weights"
    with pytest.raises(InputError, match="values"):
        morans_i([1.0], [[0.0]])
    with pytest.raises(InputError, match="weights"):
        morans_i(GRADIENT, np.zeros((9, 9)))
    with pytest.raises(InputError, match="weights"):
        morans_i(GRADIENT, -W)
    with pytest.raises(InputError, match="permutations"):
        morans_i(GRADIENT, W, permutations=-1)


# ---- Leontief (T13) --------------------------------------------------------------------------------
MB_A = np.array([[0.15, 0.25], [0.20, 0.05]])


def test_miller_blair_example():
    L = leontief_inverse(MB_A)
    np.testing.assert_allclose(L, [[1.25413, 0.33003], [0.26403, 1.12211]], atol=5e-6)
    np.testing.assert_allclose(total_requirements(MB_A, [350, 1700]), [1000, 2000], atol=1e-9)
    np.testing.assert_allclose(total_requirements(MB_A, [600, 1500]), [1247.52, 1841.58], atol=5e-3)
    np.testing.assert_allclose(output_multipliers(MB_A), [1.5182, 1.4521], atol=5e-5)
    bl, fl = rasmussen_linkages(MB_A)
    np.testing.assert_allclose(bl, [1.022, 0.978], atol=5e-4)
    np.testing.assert_allclose(fl, [1.067, 0.933], atol=5e-4)


def test_second_tiny_check_and_matrix_demand():
    A = [[0.3, 0.2], [0.1, 0.4]]
    np.testing.assert_allclose(leontief_inverse(A), [[1.5, 0.5], [0.25, 1.75]])
    x = total_requirements(A, np.array([[12, 1], [8, 0]]))
    np.testing.assert_allclose(x[:, 0], [22, 17])
    assert x.shape == (2, 2)


def test_leontief_series_and_comparative_statics():
    rng = np.random.default_rng(2)
    A = rng.uniform(0, 0.15, (5, 5))
    L = leontief_inverse(A)
    series = sum(np.linalg.matrix_power(A, k) for k in range(60))
    np.testing.assert_allclose(L, series, atol=1e-10)
    assert (L >= 0).all() and (np.diag(L) >= 1).all()
    A2 = A.copy()
    A2[0, 1] += 0.05  # more input 0 per unit of 1 -> more total requirement of 0 for 1
    assert leontief_inverse(A2)[0, 1] > L[0, 1]


def test_leontief_degenerate():
    with pytest.raises(InputError, match="Hawkins-Simon"):
        leontief_inverse([[0.6, 0.6], [0.6, 0.6]])
    with pytest.raises(InputError, match="square"):
        leontief_inverse([[0.1, 0.2, 0.3]])
    with pytest.raises(InputError, match="A"):
        leontief_inverse([[-0.1, 0], [0, 0.1]])
    with pytest.raises(InputError) as e:
        total_requirements(MB_A, [1, 2, 3])
    assert e.value.field == "final_demand"
