"""Calibration mechanisms of the learning submodel (behaviour/learning.py): size-dependent shock volatility
(firms as portfolios of sub-units, Amaral et al. 1997) and mean reversion toward the technology frontier.

Synthetic checks use the project's own estimators (agglomeration.metrics.stylized) on populations whose
sizes are fixed, so the expected results follow from the law of motion in closed form."""

from __future__ import annotations

import numpy as np
import pytest

from _toy import toy_scenario, toy_world
from agglomeration.behaviour import learning
from agglomeration.metrics import stylized as st
from agglomeration.model import AgglomerationModel
from agglomeration.parameters import BehaviourParams


def _population(n: int = 40_000, n_sectors: int = 2, seed: int = 0):
    """Firms with lognormal sizes (workers), two sectors, one region; no spillovers (zero employment)."""
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    size = np.exp(3.0 + 1.5 * rng.standard_normal(n))
    sector = np.arange(n) % n_sectors
    region = np.zeros(n, dtype=int)
    return size, sector, region, np.zeros((1, n_sectors))


def _one_step(log_z, _size, sector, region, emp, seed, **kw):
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    rows = np.arange(len(log_z))
    before = log_z.copy()
    learning.learn(
        log_z, rows, sector, region, emp, rng, drift=0.0, localisation=0.0, jacobs=0.0, **kw
    )
    return log_z - before


# ------------------------------------------------------------------------------ size-dependent shocks
@pytest.mark.parametrize("beta", [0.15, 0.2, 0.3])
def test_size_elasticity_gives_the_size_variance_slope_on_a_synthetic_population(beta, monkeypatch):
    """Growth g = d log z with sd ~ S^-beta over the whole size range (upper bound lifted): the
    project's size-bin estimator recovers beta."""
    monkeypatch.setattr(learning, "SIZE_RATIO_BOUNDS", (1e-2, 1e2))
    size, sector, region, emp = _population()
    dz = _one_step(
        np.zeros(len(size)), size, sector, region, emp, 1,
        shock_sd=0.1, size=size, shock_size_elasticity=beta,
    )  # fmt: skip
    fit = st.growth_rate_fit(size, size * np.exp(dz))
    assert abs(fit.beta - beta) < 0.03, fit.beta
    # off: no size dependence
    dz0 = _one_step(np.zeros(len(size)), size, sector, region, emp, 1, shock_sd=0.1)
    assert abs(st.growth_rate_fit(size, size * np.exp(dz0)).beta) < 0.03


def test_shock_scale_reference_is_the_sector_mean_and_tiny_firms_are_bounded():
    size = np.array([10.0, 30.0, 100.0, 300.0, 0.0, 1e-9])
    sector = np.array([0, 0, 1, 1, 1, 1])
    m = learning.shock_scale(size, sector, 0.5)
    lo, hi = learning.SIZE_RATIO_BOUNDS
    assert hi == 1.0  # calibrated: volatility stops falling above the sector mean
    # sector 0 mean 20: ratio 0.5 and 1.5 (capped at 1)
    np.testing.assert_allclose(m[:2], [0.5**-0.5, 1.0])
    # sector 1 mean 100: ratio 1 and 3 (capped); empty firms capped at ratio 1/100 -> multiplier 100^0.5
    np.testing.assert_allclose(m[2:4], [1.0, 1.0])
    np.testing.assert_allclose(m[4:], lo**-0.5)
    assert np.all(np.isfinite(m))
    np.testing.assert_array_equal(learning.shock_scale(size, sector, 0.0), np.ones(len(size)))


def test_larger_elasticity_means_more_volatile_small_firms_than_large_ones():
    size, sector, region, emp = _population(n=20_000)
    small = size < np.quantile(size, 0.1)  # the small ones: their sd rises with the elasticity
    sds = []
    for beta in (0.0, 0.2, 0.4):
        dz = _one_step(
            np.zeros(len(size)), size, sector, region, emp, 2,
            shock_sd=0.1, size=size, shock_size_elasticity=beta,
        )  # fmt: skip
        sds.append(dz[small].std())
    assert sds[0] < sds[1] < sds[2]
    # with the calibrated bounds the baseline slope is still clearly positive on this population
    dz = _one_step(
        np.zeros(len(size)), size, sector, region, emp, 2,
        shock_sd=0.1, size=size, shock_size_elasticity=0.5,
    )  # fmt: skip
    assert 0.1 < st.growth_rate_fit(size, size * np.exp(dz)).beta < 0.5


# ------------------------------------------------------------------------------------ mean reversion
def test_mean_reversion_keeps_log_productivity_stationary_around_the_frontier():
    """AR(1) around F_t = drift t: the mean gap settles at (spillover terms)/rho and the dispersion at
    sd / sqrt(1 - (1 - rho)^2); without reversion the dispersion grows like sqrt(t)."""
    n, sd, rho, drift, jac = 5000, 0.1, 0.05, 0.002, 0.004
    rows = np.arange(n)
    sector = np.zeros(n, dtype=int)
    region = np.zeros(n, dtype=int)
    emp = np.array([[1.0, 1.0]])  # one region, two equal sectors: diversity D = 0.5
    out = {}
    for r in (0.0, rho):
        z = np.zeros(n)
        rng = np.random.default_rng(np.random.SeedSequence(3))
        for t in range(1, 301):
            learning.learn(
                z, rows, sector, region, emp, rng, drift=drift, localisation=0.0, jacobs=jac,
                shock_sd=sd, mean_reversion=r, frontier=drift * t,
            )  # fmt: skip
        out[r] = z - drift * 300
    gap = out[rho]
    assert abs(gap.mean() - jac * 0.5 / rho) < 0.01
    assert abs(gap.std() / (sd / np.sqrt(1 - (1 - rho) ** 2)) - 1) < 0.05
    assert out[0.0].std() > 2.5 * gap.std()  # sqrt(300) x 0.1 = 1.73 vs 0.32


def test_frontier_can_be_per_sector():
    z = np.array([1.0, 1.0, 1.0])
    rows = np.arange(3)
    learning.learn(
        z, rows, np.array([0, 1, 1]), np.zeros(3, int), np.zeros((1, 2)),
        np.random.default_rng(0), drift=0.0, localisation=0.0, jacobs=0.0, shock_sd=0.0,
        mean_reversion=0.5, frontier=np.array([0.0, 2.0]),
    )  # fmt: skip
    np.testing.assert_allclose(z, [0.5, 1.5, 1.5])


# --------------------------------------------------------------------------- in the model, and off
def _old_learn(
    log_z, rows, sector, region, emp_rs, rng, *, drift, localisation, jacobs, shock_sd, **_
):
    """The learning rule before the two calibration mechanisms (pure Gibrat + spillovers); returns the
    largest updated log productivity, as ``learning.learn`` does."""
    loc, div = learning.spillover_terms(emp_rs)
    d = drift + localisation * loc[region[rows], sector[rows]] + jacobs * div[region[rows]]
    if shock_sd > 0:
        d = d + shock_sd * rng.standard_normal(len(rows))
    log_z[rows] += d
    return float(log_z[rows].max()) if len(rows) else -np.inf


def _run(steps: int, seed: int = 4, **learning_params):
    m = AgglomerationModel(
        toy_scenario(behaviour={"learning": learning_params}),
        replicate_seed=seed,
        world=toy_world(),
    )
    m.run(steps)
    return m


def _log_z(m) -> np.ndarray:
    return m.firms.log_productivity[m.firms.alive_rows()]


def test_switching_both_mechanisms_off_restores_the_old_behaviour(monkeypatch):
    off = {"shock_size_elasticity": 0.0, "mean_reversion": 0.0}
    new = _run(12, **off).firms_frame()
    monkeypatch.setattr(learning, "learn", _old_learn)
    old = _run(12, **off).firms_frame()
    assert len(new) == len(old)
    for col in ("fid", "productivity", "employment"):
        np.testing.assert_array_equal(new[col].to_numpy(), old[col].to_numpy())


def test_model_passes_the_mechanisms_to_learning():
    """With strong reversion the model's firms stay near the frontier; with the default off they drift."""
    strong = _run(40, mean_reversion=0.5, shock_sd=0.05)
    z = _log_z(strong)
    frontier = strong.spec.firms.productivity_mean + BehaviourParams().learning.drift * 40
    weak = _run(40, mean_reversion=0.0, shock_sd=0.05)
    zw = _log_z(weak)
    assert np.std(z) < 0.5 * np.std(zw)
    assert abs(np.mean(z) - frontier) < abs(np.mean(zw) - frontier)


def test_defaults_are_the_calibrated_values():
    bp = BehaviourParams().learning
    # size-dependent volatility comes from product lines (behaviour.lines), not from the shock
    assert bp.shock_size_elasticity == 0.0
    assert 0.0 < bp.mean_reversion < 0.1
    lines = BehaviourParams().lines
    assert lines.enabled and 0.0 < lines.birth_rate < lines.death_rate
