"""Fast theory checks: the full model, configured as the two-region textbook benchmarks, reproduces them.

Small firm counts and a few phi values around the analytic points (docs/THEORY.md; ODD.md 7.10).
The full versions are experiments/validation/ and scripts/validate_all.py (docs/VALIDATION.md).
"""

from __future__ import annotations

import pytest

from agglomeration.errors import InputError
from agglomeration.validation import (
    fc_share,
    fe_break_point,
    fe_sustain_point,
    load_benchmark,
    simulate_long_run_share,
    simulate_vertical_colocation,
)

FAST = dict(firms=200, steps=160)
FAST_FE = dict(firms=200, steps=250)


def test_benchmark_world_has_the_requested_trade_freeness():
    from agglomeration.validation import benchmark_overrides
    from agglomeration.world import build_world

    w = build_world(
        load_benchmark("footloose_entrepreneur", benchmark_overrides(4.0, 0.3, 0.37, 0.6))
    )
    assert w.phi[0, 0, 1] == pytest.approx(0.37, rel=1e-9)
    assert w.sigma[0] == 4.0 and w.final_share[0] == 0.3
    assert w.immobile_income[0] / w.immobile_income.sum() == pytest.approx(0.6)


@pytest.mark.parametrize(
    ("s_E", "phi"), [(0.45, 0.3), (0.55, 0.2), (0.55, 0.5), (0.6, 0.5), (0.6, 0.75), (0.5, 0.6)]
)
def test_footloose_capital_home_market_magnification(s_E, phi):
    """FC: the long-run share matches s_n = 1/2 + (1+phi)/(1-phi)(s_E - 1/2), clipped (T6)."""
    sim = simulate_long_run_share("footloose_capital", 5.0, 0.4, phi, s_E=s_E, **FAST)
    assert sim == pytest.approx(fc_share(s_E, phi), abs=0.03)


def test_footloose_capital_share_rises_more_than_expenditure_share():
    lo = simulate_long_run_share("footloose_capital", 5.0, 0.4, 0.4, s_E=0.5, **FAST)
    hi = simulate_long_run_share("footloose_capital", 5.0, 0.4, 0.4, s_E=0.56, **FAST)
    assert (hi - lo) / 0.06 > 1.5  # magnification (1+phi)/(1-phi) = 2.33


@pytest.mark.parametrize(("sigma", "mu"), [(5.0, 0.4), (4.0, 0.3)])
def test_footloose_entrepreneur_break_point(sigma, mu):
    """FE: a near-symmetric start stays dispersed 0.02 below phi_B and agglomerates 0.02 above (T5).

    (Relocation with probability 0.02 per step; discrete moves make the dispersed state jitter by a few
    firms, hence the 0.05 band below.)"""
    pb = fe_break_point(sigma, mu)
    below = simulate_long_run_share(
        "footloose_entrepreneur", sigma, mu, pb - 0.02, initial_share=0.55, **FAST_FE
    )
    above = simulate_long_run_share(
        "footloose_entrepreneur", sigma, mu, pb + 0.02, initial_share=0.55, **FAST_FE
    )
    assert abs(below - 0.5) < 0.05
    assert max(above, 1.0 - above) > 0.95


def test_footloose_entrepreneur_tomahawk_ends():
    """Far below phi_S even a concentrated start disperses; far above phi_B it stays agglomerated."""
    sigma, mu = 5.0, 0.4
    low = simulate_long_run_share(
        "footloose_entrepreneur",
        sigma,
        mu,
        fe_sustain_point(sigma, mu) - 0.15,
        initial_share=0.9,
        **FAST_FE,
    )
    high = simulate_long_run_share(
        "footloose_entrepreneur",
        sigma,
        mu,
        fe_break_point(sigma, mu) + 0.1,
        initial_share=0.9,
        **FAST_FE,
    )
    assert abs(low - 0.5) < 0.03
    assert high > 0.95


def test_footloose_capital_has_no_catastrophic_agglomeration():
    """Unlike FE, FC stays symmetric at the same phi above the FE break point (no circular causality)."""
    sigma, mu = 5.0, 0.4
    phi = fe_break_point(sigma, mu) + 0.05
    fc = simulate_long_run_share("footloose_capital", sigma, mu, phi, initial_share=0.55, **FAST)
    fe = simulate_long_run_share(
        "footloose_entrepreneur", sigma, mu, phi, initial_share=0.55, **FAST_FE
    )
    assert abs(fc - 0.5) < 0.03 and max(fe, 1 - fe) > 0.95


def test_vertical_linkages_colocation_rises_as_trade_costs_fall():
    low = simulate_vertical_colocation(0.1, firms=160, steps=160)
    high = simulate_vertical_colocation(0.5, firms=160, steps=160)
    assert low["coagglomeration"] < 0.1
    assert high["coagglomeration"] > 0.8
    assert high["coagglomeration"] > low["coagglomeration"] + 0.5


def test_simulate_long_run_share_rejects_bad_input():
    with pytest.raises(InputError, match="model"):
        simulate_long_run_share("core_periphery", 5.0, 0.4, 0.5)
    with pytest.raises(InputError, match="phi"):
        simulate_long_run_share("footloose_capital", 5.0, 0.4, 1.5)
    with pytest.raises(InputError, match="firms"):
        simulate_long_run_share("footloose_capital", 5.0, 0.4, 0.5, firms=1)


def test_periphery_entry_subsidy_sorts_low_productivity_firms_to_the_periphery():
    """Baldwin & Okubo (2006): the subsidy moves firms to the periphery, mostly low-productivity ones,
    while the most productive firms stay in the core."""
    from agglomeration.validation import sorting_check

    small = {"firms.initial_count": 400}
    base = sorting_check(0.0, steps=60, replicate_seed=0, overrides=small)
    sub = sorting_check(1.0, steps=60, replicate_seed=0, overrides=small)
    assert sub["core_share"] < base["core_share"] - 0.1
    assert sub["entrant_log_z_periphery"] < sub["entrant_log_z_core"] - 0.1
    gap = lambda r: r["mean_log_z_core"] - r["mean_log_z_periphery"]  # noqa: E731
    assert gap(sub) > gap(base)
    assert sub["top_decile_core_share"] > sub["core_share"] + 0.2
