"""Firm-dynamics metrics: tail-exponent reference sample (docs/THEORY.md 9.4), growth, turnover."""

from __future__ import annotations

import numpy as np
import pytest

from agglomeration.errors import InputError
from agglomeration.metrics import entry_exit_rates, growth_rate_fit, tail_exponent


def reference_sample() -> np.ndarray:
    """docs/THEORY.md 9.4: default_rng(12345), n = 5000, alpha = 1.06, draws (1-U)^(-1/alpha)."""
    u = np.random.default_rng(12345).random(5000)
    return (1.0 - u) ** (-1.0 / 1.06)


def test_reference_sample_reproduced():
    x = reference_sample()
    hill = tail_exponent(x, method="hill", k=500)
    mle = tail_exponent(x, method="mle", xmin=1.0)
    gi = tail_exponent(x, method="rank-1/2", xmin=1.0)
    assert hill.alpha == pytest.approx(1.0683, abs=5e-5)
    assert mle.alpha == pytest.approx(1.0791, abs=5e-5)
    assert gi.alpha == pytest.approx(1.0820, abs=5e-5)
    assert hill.n_tail == 500 and mle.n_tail == 5000
    assert mle.se == pytest.approx(mle.alpha / np.sqrt(5000))
    assert gi.se == pytest.approx(gi.alpha * np.sqrt(2 / 5000))


def test_ks_xmin_choice_recovers_alpha_above_lognormal_body():
    """Clauset et al.: a Pareto tail above a non-Pareto body; KS-chosen xmin finds the tail."""
    rng = np.random.default_rng(np.random.SeedSequence(99))
    body = rng.uniform(0.2, 1.0, 3000)  # not a power law
    tail = (1.0 - rng.random(3000)) ** (-1 / 1.5)  # Pareto alpha = 1.5 above 1
    fit = tail_exponent(np.concatenate([body, tail]))
    lo, hi = fit.ci(0.99)
    assert lo < 1.5 < hi
    assert 0.9 <= fit.xmin <= 2.0
    naive = tail_exponent(np.concatenate([body, tail]), xmin=0.2)
    assert abs(naive.alpha - 1.5) > abs(fit.alpha - 1.5)


@pytest.mark.parametrize("method", ["mle", "hill", "rank-1/2"])
def test_recovers_alpha_within_ci_and_scale_free(method):
    rng = np.random.default_rng(np.random.SeedSequence(2024))
    x = 3.0 * (1.0 - rng.random(2000)) ** (-1 / 1.06)
    kw = {"k": 1000} if method == "hill" else {"xmin": 3.0}
    fit = tail_exponent(x, method=method, **kw)
    lo, hi = fit.ci(0.99)
    assert lo < 1.06 < hi
    scaled = tail_exponent(
        x * 250, method=method, **({"k": 1000} if method == "hill" else {"xmin": 750.0})
    )
    assert scaled.alpha == pytest.approx(fit.alpha, rel=1e-9)


def test_heavier_tail_gives_smaller_alpha():
    u = np.random.default_rng(5).random(3000)
    a = tail_exponent((1 - u) ** (-1 / 0.9), xmin=1.0).alpha
    b = tail_exponent((1 - u) ** (-1 / 2.0), xmin=1.0).alpha
    assert a < b


def test_tail_degenerate():
    with pytest.raises(InputError, match="sizes"):
        tail_exponent([1.0, 0.0, 2.0])
    with pytest.raises(InputError, match="sizes"):
        tail_exponent([1.0, 2.0])
    with pytest.raises(InputError, match="xmin"):
        tail_exponent([1.0, 2.0, 3.0, 4.0], xmin=3.5)
    with pytest.raises(InputError, match="method"):
        tail_exponent([1.0, 2.0, 3.0], method="ols")
    with pytest.raises(InputError, match="sizes"):
        tail_exponent([2.0] * 10, xmin=2.0)
    with pytest.raises(InputError, match="k"):
        tail_exponent(np.arange(1.0, 20.0), method="hill", k=50)


def _growth(noise: np.ndarray, s0: np.ndarray) -> np.ndarray:
    return s0 * np.exp(noise)


def test_laplace_vs_normal_demo():
    """Laplace growth rates: the Laplace fit wins by about n [1/2 ln(4 pi e) - ln(2e)] = 0.0736 n
    log-likelihood units (docs/THEORY.md 9.4, n = 5000: 4808.5 vs 4502.3, gap 306); normal growth
    rates: the normal fit wins by about n [ln(2e sqrt(2/pi)) - 1/2 ln(2 pi e)] = 0.0484 n."""
    rng = np.random.default_rng(np.random.SeedSequence(4))
    n = 5000
    s0 = np.exp(rng.normal(3, 1, n))
    lap = growth_rate_fit(s0, _growth(rng.laplace(0, 0.07, n), s0))
    assert lap.laplace_preferred
    assert (lap.loglik_laplace - lap.loglik_normal) / n == pytest.approx(0.0736, abs=0.015)
    assert lap.excess_kurtosis == pytest.approx(3.0, abs=1.0)
    assert lap.laplace_scale == pytest.approx(0.07, rel=0.05)
    nor = growth_rate_fit(s0, _growth(rng.normal(0, 0.1, n), s0))
    assert not nor.laplace_preferred
    assert (nor.loglik_normal - nor.loglik_laplace) / n == pytest.approx(0.0484, abs=0.015)
    assert abs(nor.excess_kurtosis) < 0.3


def test_size_variance_slope_and_gibrat():
    rng = np.random.default_rng(np.random.SeedSequence(8))
    n = 20000
    s0 = np.exp(rng.uniform(0, 8, n))
    g = rng.laplace(0, 0.2, n) * s0**-0.18
    fit = growth_rate_fit(s0, s0 * np.exp(g))
    assert fit.beta == pytest.approx(0.18, abs=0.03)
    assert fit.gibrat_slope == pytest.approx(0.0, abs=0.01)
    flat = growth_rate_fit(s0, s0 * np.exp(rng.laplace(0, 0.2, n)))
    assert abs(flat.beta) < 0.03
    # growth declining with size shows up as a negative Gibrat slope
    dec = growth_rate_fit(s0, s0 * np.exp(0.5 - 0.05 * np.log(s0) + 0.01 * rng.normal(size=n)))
    assert dec.gibrat_slope == pytest.approx(-0.05, abs=0.005)


def test_growth_excludes_entry_exit_and_validates():
    s0 = np.array([0.0, 1.0, 2.0, 4.0, 8.0, 5.0])
    s1 = np.array([3.0, 2.0, 2.0, 0.0, 8.0, 5.0])
    fit = growth_rate_fit(s0, s1)
    assert fit.n == 4  # entrant (s0 = 0) and exit (s1 = 0) dropped
    assert fit.mean == pytest.approx(np.log(2) / 4)
    with pytest.raises(InputError) as e:
        growth_rate_fit([1.0, 2.0], [1.0, 2.0, 3.0])
    assert e.value.field == "sizes_t1"
    with pytest.raises(InputError, match="sizes_t0"):
        growth_rate_fit([-1.0, 2.0, 3.0], [1.0, 2.0, 3.0])
    with pytest.raises(InputError, match="at least 3"):
        growth_rate_fit([1.0, 0.0, 3.0], [1.0, 2.0, 0.0])


def test_entry_exit_rates():
    r = entry_exit_rates(np.arange(100), np.arange(8, 110))
    assert (r.entrants, r.exits) == (10, 8)
    assert r.entry_rate == pytest.approx(0.10) and r.exit_rate == pytest.approx(0.08)
    assert r.turnover == pytest.approx(0.18) and r.net_growth == pytest.approx(0.02)
    e = entry_exit_rates([], [1, 2])
    assert e.entrants == 2 and np.isnan(e.entry_rate)
    with pytest.raises(InputError, match="ids_t1"):
        entry_exit_rates([1, 2], [3, 3])
