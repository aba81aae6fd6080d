"""Analytic NEG benchmarks of agglomeration.validation against docs/THEORY.md (T1-T6, sec. 2-6)."""

from __future__ import annotations

import numpy as np
import pytest

from agglomeration.errors import InputError
from agglomeration.validation import (
    cp_break_point,
    cp_real_wage_gap,
    cp_sustain_point,
    fc_share,
    fe_break_point,
    fe_real_wage_gap,
    fe_sustain_point,
    tau_for_phi,
    tomahawk_equilibria,
)

# docs/THEORY.md section 5 reference table (computed from the closed forms and checked against
# numerical solutions of the full models): sigma, mu, CP phi_B, CP phi_S, FE phi_B, FE phi_S
TABLE = [
    (3, 0.2, 0.358974, 0.338979, 0.715909, 0.714565),
    (3, 0.4, 0.107143, 0.050018, 0.509804, 0.501855),
    (4, 0.3, 0.230769, 0.194695, 0.704017, 0.702559),
    (5, 0.4, 0.142857, 0.093727, 0.696970, 0.695442),
    (6, 0.2, 0.408602, 0.394939, 0.863524, 0.863399),
    (8, 0.3, 0.263502, 0.234735, 0.851461, 0.851303),
]


@pytest.mark.parametrize(("sigma", "mu", "cpb", "cps", "feb", "fes"), TABLE)
def test_break_and_sustain_points_match_reference_table(sigma, mu, cpb, cps, feb, fes):
    assert cp_break_point(sigma, mu) == pytest.approx(cpb, abs=1e-6)
    assert cp_sustain_point(sigma, mu) == pytest.approx(cps, abs=1e-6)
    assert fe_break_point(sigma, mu) == pytest.approx(feb, abs=1e-6)
    assert fe_sustain_point(sigma, mu) == pytest.approx(fes, abs=1e-6)


def test_closed_forms_t1_t5():
    assert cp_break_point(5, 0.4) == pytest.approx(1 / 7, rel=1e-12)
    assert fe_break_point(5, 0.4) == pytest.approx(23 / 33, rel=1e-12)
    # T2: trade cost at the CP sustain point
    assert cp_sustain_point(5, 0.4) ** (1 / (1 - 5)) == pytest.approx(1.80731, abs=1e-5)


@pytest.mark.parametrize(("sigma", "mu"), [(3, 0.3), (5, 0.4), (8, 0.2)])
def test_fe_break_point_is_where_symmetric_equilibrium_loses_stability(sigma, mu):
    """The closed form agrees with the numerical FE short-run equilibrium (slope of the gap at 1/2)."""
    pb = fe_break_point(sigma, mu)
    h = 1e-6

    def slope(phi):
        return (
            fe_real_wage_gap(0.5 + h, sigma, mu, phi) - fe_real_wage_gap(0.5 - h, sigma, mu, phi)
        ) / (2 * h)

    assert slope(pb - 1e-3) < 0 < slope(pb + 1e-3)


@pytest.mark.parametrize(("sigma", "mu"), [(3, 0.3), (5, 0.4), (8, 0.2)])
def test_sustain_point_is_where_core_stops_being_profitable(sigma, mu):
    ps = fe_sustain_point(sigma, mu)
    assert (
        fe_real_wage_gap(1.0, sigma, mu, ps - 1e-4)
        < 0
        < fe_real_wage_gap(1.0, sigma, mu, ps + 1e-4)
    )
    ps = cp_sustain_point(sigma, mu)
    assert (
        cp_real_wage_gap(1.0, sigma, mu, ps - 1e-4)
        < 0
        < cp_real_wage_gap(1.0, sigma, mu, ps + 1e-4)
    )


def test_fe_gap_is_antisymmetric():
    for lam in (0.1, 0.3, 0.45):
        a = fe_real_wage_gap(lam, 5, 0.4, 0.5)
        b = fe_real_wage_gap(1 - lam, 5, 0.4, 0.5)
        assert a == pytest.approx(-b, abs=1e-12)


def _interior(eqs):
    return [(round(e.lam, 4), e.stable) for e in eqs if 0 < e.lam < 1]


def test_cp_tomahawk_matches_the_theory_table():
    assert _interior(tomahawk_equilibria("core_periphery", 5, 0.4, 0.05)) == [(0.5, True)]
    eqs = tomahawk_equilibria("core_periphery", 5, 0.4, 0.12)
    assert _interior(eqs) == [(0.1672, False), (0.5, True), (0.8328, False)]
    assert [(e.lam, e.stable) for e in eqs if e.lam in (0.0, 1.0)] == [(0.0, True), (1.0, True)]
    assert _interior(tomahawk_equilibria("core_periphery", 5, 0.4, 0.10)) == [
        (0.0352, False),
        (0.5, True),
        (0.9648, False),
    ]
    assert _interior(tomahawk_equilibria("core_periphery", 5, 0.4, 0.2)) == [(0.5, False)]


def test_fe_tomahawk_structure():
    sigma, mu = 5, 0.4
    ps, pb = fe_sustain_point(sigma, mu), fe_break_point(sigma, mu)
    below = tomahawk_equilibria("footloose_entrepreneur", sigma, mu, ps - 0.01)
    assert [(e.lam, e.stable) for e in below] == [(0.5, True)]
    overlap = tomahawk_equilibria("footloose_entrepreneur", sigma, mu, 0.5 * (ps + pb))
    unstable = [e.lam for e in overlap if not e.stable]
    assert len(unstable) == 2 and 0 < unstable[0] < 0.5 < unstable[1] < 1
    assert {e.lam for e in overlap if e.stable} == {0.0, 0.5, 1.0}
    above = tomahawk_equilibria("footloose_entrepreneur", sigma, mu, pb + 0.01)
    assert [(e.lam, e.stable) for e in above] == [(0.0, True), (0.5, False), (1.0, True)]
    # the unstable branch moves from the corners (at phi_S) towards 1/2 (at phi_B)
    lo = tomahawk_equilibria("footloose_entrepreneur", sigma, mu, ps + 0.2 * (pb - ps))
    hi = tomahawk_equilibria("footloose_entrepreneur", sigma, mu, ps + 0.8 * (pb - ps))
    u = lambda eqs: max(e.lam for e in eqs if not e.stable)  # noqa: E731
    assert u(lo) > u(hi) > 0.5


def test_fc_share_t6_and_magnification():
    assert fc_share(0.6, 0.5) == pytest.approx(0.8)
    assert fc_share(0.55, 0.5) == pytest.approx(0.65)
    assert fc_share(0.6, 0.7) == 1.0  # phi >= (1 - s_E)/s_E = 2/3: full agglomeration
    assert fc_share(0.4, 0.7) == 0.0
    assert fc_share(0.5, 0.9) == pytest.approx(0.5)
    phi = np.array([0.1, 0.3, 0.5])
    slope = (fc_share(0.52, phi) - fc_share(0.5, phi)) / 0.02
    np.testing.assert_allclose(slope, (1 + phi) / (1 - phi), rtol=1e-9)
    assert np.all(np.diff(slope) > 0)  # magnification rises as trade gets freer


def test_tau_for_phi_roundtrip():
    for sigma in (3.0, 5.0):
        for phi in (0.2, 0.7, 1.0):
            assert tau_for_phi(phi, sigma) ** (1 - sigma) == pytest.approx(phi, rel=1e-12)


def test_invalid_arguments_raise_input_error():
    with pytest.raises(InputError, match="sigma"):
        fe_break_point(1.0, 0.4)
    with pytest.raises(InputError, match="mu"):
        cp_break_point(5, 1.2)
    with pytest.raises(InputError, match="phi"):
        fc_share(0.5, 1.0)
    with pytest.raises(InputError, match="s_E"):
        fc_share(1.5, 0.5)
    with pytest.raises(InputError, match="no-black-hole"):
        cp_sustain_point(2, 0.6)  # sigma (1 - mu) = 0.8 < 1
    with pytest.raises(InputError, match="model"):
        tomahawk_equilibria("krugman", 5, 0.4, 0.5)
