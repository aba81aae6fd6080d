"""The stylised-facts glue of agglomeration.validation on synthetic panels with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from agglomeration.validation import stylized_facts


def _panel(rng, n=4000, years=6, alpha=1.06, exit_p=0.08, laplace=True):
    """Annual snapshots: Pareto(alpha) initial sizes, multiplicative Laplace (or normal) growth,
    a share exit_p of firms replaced by entrants each year."""
    ids = np.arange(n)
    size = (1.0 - rng.random(n)) ** (-1.0 / alpha)
    nxt = n
    out = [(0, ids.copy(), size.copy())]
    for t in range(1, years):
        g = rng.laplace(0, 0.1, n) if laplace else rng.normal(0, 0.14, n)
        size = size * np.exp(g)
        leave = rng.random(n) < exit_p
        k = int(leave.sum())
        ids = ids.copy()
        ids[leave] = np.arange(nxt, nxt + k)
        nxt += k
        size[leave] = (1.0 - rng.random(k)) ** (-1.0 / alpha)
        out.append((4 * t, ids.copy(), size.copy()))
    return out


def test_stylized_facts_recover_known_panel():
    f = stylized_facts(_panel(np.random.default_rng(7)))
    assert f["alpha_mle"] == pytest.approx(1.06, abs=4 * f["alpha_mle_se"])
    assert f["alpha_rank_half"] == pytest.approx(1.06, abs=4 * f["alpha_rank_half_se"])
    assert f["laplace_preferred"] and f["excess_kurtosis"] > 1.0
    assert abs(f["beta"]) < 0.1  # size-independent shocks: no size-variance scaling
    assert f["entry_rate"] == pytest.approx(0.08, abs=0.01)
    assert f["exit_rate"] == pytest.approx(0.08, abs=0.01)


def test_stylized_facts_detect_normal_growth():
    f = stylized_facts(_panel(np.random.default_rng(8), laplace=False))
    assert not f["laplace_preferred"]


# ------------------------------------------------------------------ spatial drift of the observed run
def test_total_variation_is_the_share_of_firms_that_would_move():
    from agglomeration.validation import total_variation

    a = np.array([0.5, 0.5, 0.0])
    assert total_variation(a, a) == 0.0
    assert total_variation(a, [0.0, 0.0, 1.0]) == pytest.approx(1.0)
    assert total_variation(a, [0.25, 0.5, 0.25]) == pytest.approx(0.25)
    assert total_variation([0.25, 0.5, 0.25], a) == total_variation(a, [0.25, 0.5, 0.25])


def test_spatial_drift_compares_the_data_the_start_and_the_end(tiny):
    from agglomeration.model import AgglomerationModel
    from agglomeration.scenario import load_scenario
    from agglomeration.validation import region_shares, spatial_drift

    scen = load_scenario(tiny, {"burn_in": 4, "firms.initial_count": 120})
    r = spatial_drift(scen, 3, replicate_seed=5)
    initial = AgglomerationModel(scen, replicate_seed=5, burn_in=0)
    np.testing.assert_array_equal(r["data"], region_shares(initial))
    assert r["firms"][0] == initial.firms.n_alive
    settled = AgglomerationModel(scen, replicate_seed=5)
    np.testing.assert_array_equal(r["start"], region_shares(settled))
    settled.run(3)
    np.testing.assert_array_equal(r["end"], region_shares(settled))
    for key in ("data", "start", "end"):
        assert r[key].shape == (len(r["regions"]),) and r[key].sum() == pytest.approx(1.0)
        cells = r["cells_" + key]
        assert cells.shape == (len(r["regions"]), settled.world.n_sectors)
        np.testing.assert_allclose(cells.sum(axis=1), r[key])  # the cells add up to the regions


def test_drift_windows_record_the_distribution_after_each_window(tiny):
    from agglomeration.model import AgglomerationModel
    from agglomeration.scenario import load_scenario
    from agglomeration.validation import drift_windows, region_shares, total_variation, window_moves

    scen = load_scenario(tiny, {"burn_in": 4, "firms.initial_count": 120})
    r = drift_windows(scen, n_windows=3, window_steps=2, replicate_seed=5)
    assert r["shares"].shape == (4, len(r["regions"])) and r["firms"].shape == (4,)
    assert r["entries"].shape == r["exits"].shape == (3,) and r["window"] == 2
    m = AgglomerationModel(scen, replicate_seed=5)  # the same run, step by step
    np.testing.assert_array_equal(r["shares"][0], region_shares(m))
    for k in range(3):
        m.run(2)
        np.testing.assert_array_equal(r["shares"][k + 1], region_shares(m))
        assert r["firms"][k + 1] == m.firms.n_alive
    assert r["entries"].sum() == m.state.entries_by_region.sum()
    assert r["exits"].sum() == m.state.exits_by_region.sum()
    assert r["firms"][-1] - r["firms"][0] == r["entries"].sum() - r["exits"].sum()
    w = window_moves(r, seed=5, draws=200)
    for k in range(3):
        assert w["moved"][k] == total_variation(r["shares"][k], r["shares"][k + 1])
    assert (w["noise"] >= 0).all()
    with pytest.raises(ValueError, match="at least 1"):
        drift_windows(scen, n_windows=0, window_steps=2)


def test_start_transient_is_the_first_windows_excess_over_the_reference_windows():
    from agglomeration.validation import start_transient

    moves = [np.array([0.08, 0.07, 0.04, 0.05]), np.array([0.07, 0.06, 0.05, 0.04])]
    mean, se = start_transient(moves)  # the second window is left out of the reference
    assert mean == pytest.approx(0.030)
    assert se == pytest.approx(np.std([0.035, 0.025], ddof=1) / np.sqrt(2))
    assert start_transient(moves, reference_from=1)[0] == pytest.approx(np.mean([0.08 - 0.16 / 3,
                                                                               0.07 - 0.15 / 3]))  # fmt: skip
    assert start_transient([np.array([0.05, 0.09, 0.05]), np.array([0.04, 0.0, 0.04])])[0] == 0.0
    with pytest.raises(ValueError, match="two seeds"):
        start_transient([np.array([0.08, 0.07, 0.04])])
    with pytest.raises(ValueError, match="more than 2 windows"):
        start_transient([np.array([0.08, 0.04]), np.array([0.07, 0.05])])


def test_drift_noise_is_the_turnover_noise_of_a_stationary_distribution():
    """No turnover, no noise; otherwise about the normal approximation of multinomial entry and random
    exit (hypergeometric, hence the finite-population factor (N - X) / N):
    sum_r sqrt((E + X (N - X) / N) p_r (1 - p_r)) sqrt(2 / pi) / (2 N)."""
    from agglomeration.validation import drift_noise

    p = np.array([0.4, 0.3, 0.2, 0.1])
    assert drift_noise(p, 3000, 0, 0, draws=50)[0] == 0.0
    assert np.isnan(drift_noise(p, 0, 10, 10, draws=5)).all()  # no firms
    mean, lo, hi = drift_noise(p, 3000, 1200, 1200, draws=4000)
    approx = np.sum(np.sqrt((1200 + 1200 * 0.6) * p * (1 - p))) * np.sqrt(2 / np.pi) / (2 * 3000)
    assert lo < mean < hi
    assert mean == pytest.approx(approx, rel=0.1)
    assert drift_noise(p, 3000, 300, 300, draws=2000)[0] < mean / 1.5


def _validate_all():
    import importlib.util
    import sys
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "scripts" / "validate_all.py"
    spec = importlib.util.spec_from_file_location("validate_all", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["validate_all"] = module
    spec.loader.exec_module(module)
    return module


def _windows_result(moves: list[float], firms: int = 3000) -> dict:
    """A drift_windows-like result whose consecutive distributions over 3 regions are ``moves`` apart."""
    shares = [np.array([0.5, 0.3, 0.2])]
    for m in moves:
        shares.append(shares[-1] + np.array([m, -m, 0.0]))
    n = len(moves)
    return {"regions": ["A", "B", "C"], "window": 20, "shares": np.array(shares),
            "firms": np.full(n + 1, firms), "entries": np.full(n, 900), "exits": np.full(n, 900)}  # fmt: skip


def test_validate_all_section_11_verdict_is_an_equivalence_test_on_the_transient():
    va = _validate_all()
    settled = [
        (1, _windows_result([0.040, 0.045, 0.042])),
        (2, _windows_result([0.041, 0.040, 0.041])),
    ]
    win = va._window_summary(settled)
    assert win["n_windows"] == 3 and len(win["rows"].splitlines()) == 3
    assert win["first"] == pytest.approx(0.0405) and win["later"] == pytest.approx(0.0415)
    assert win["excess"] == pytest.approx(-0.001)
    assert va._transient_ok(win, tolerance=0.02)
    moving = [
        (1, _windows_result([0.080, 0.045, 0.042])),
        (2, _windows_result([0.075, 0.040, 0.041])),
    ]
    assert not va._transient_ok(va._window_summary(moving), tolerance=0.02)
    noisy = [
        (1, _windows_result([0.060, 0.045, 0.040])),
        (2, _windows_result([0.020, 0.040, 0.040])),
    ]
    win = va._window_summary(noisy)  # no excess on average, but too uncertain to call it settled
    assert abs(win["excess"]) < 0.001 and not va._transient_ok(win, tolerance=0.02)
    with pytest.raises(ValueError, match="at least two seeds"):
        va._window_summary(settled[:1])


def test_window_summary_averages_the_seeds_windows():
    from agglomeration.validation import window_summary

    res = [(2, _windows_result([0.06, 0.04])), (1, _windows_result([0.04, 0.02]))]
    win = window_summary(res)
    np.testing.assert_allclose(win["moved"], [0.05, 0.03])
    np.testing.assert_allclose(win["independent"], np.array([0.05, 0.03]) / np.sqrt(2))
    np.testing.assert_allclose(win["common"], [0.05, 0.03])  # both seeds move the same way
    assert win["window"] == 20 and win["first"] == pytest.approx(0.05)
    assert np.isnan(win["excess"]) and np.isnan(win["later"])  # two windows: no reference
    with pytest.raises(ValueError, match="at least two seeds"):
        window_summary(res[:1])
