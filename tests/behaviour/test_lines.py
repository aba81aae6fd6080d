"""Product lines (behaviour/lines.py): Klette-Kortum births and deaths, exit without lines."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from agglomeration.behaviour.lines import line_events
from agglomeration.model import AgglomerationModel
from agglomeration.scenario import load_scenario

BASELINE = Path(__file__).resolve().parents[2] / "scenarios" / "baseline.toml"


def test_births_follow_the_lines_of_profitable_firms_and_deaths_every_line():
    rng = np.random.default_rng(0)
    lines = rng.integers(1, 20, 20_000)
    grow = rng.random(20_000) < 0.7
    births, deaths = line_events(lines, grow, rng, birth_rate=0.05, death_rate=0.03)
    assert births[~grow].sum() == 0  # only profitable firms' lines spawn
    assert np.all(deaths <= lines)  # a firm cannot lose more lines than it has
    # Poisson(0.05 x lines) births per growing firm, Binomial(lines, 0.03) deaths: means within 4 sd
    lam = 0.05 * lines[grow].sum()
    assert abs(births.sum() - lam) < 4 * np.sqrt(lam)
    mu = 0.03 * lines.sum()
    assert abs(deaths.sum() - mu) < 4 * np.sqrt(mu)
    # births in proportion to lines (Gibrat): a firm's births per line do not depend on its size
    big, small = grow & (lines >= 15), grow & (lines <= 5)
    assert (
        abs(births[big].sum() / lines[big].sum() - births[small].sum() / lines[small].sum()) < 0.01
    )


def test_no_events_without_lines_or_rates():
    rng = np.random.default_rng(1)
    b, d = line_events(np.zeros(5, int), np.ones(5, bool), rng, birth_rate=0.5, death_rate=0.5)
    assert b.sum() == d.sum() == 0
    b, d = line_events(np.full(5, 3), np.ones(5, bool), rng, birth_rate=0.0, death_rate=0.0)
    assert b.sum() == d.sum() == 0


def test_in_the_model_firms_without_lines_exit_and_lines_can_be_switched_off():
    s = load_scenario(BASELINE, {"firms.initial_count": 400, "burn_in": 0})
    m = AgglomerationModel(s, replicate_seed=4)
    t = m.firms
    victim = t.alive_rows()[:5]
    fids = t.fid[victim].copy()
    t.lines[victim] = 0
    m.step()
    assert np.all(m.firms.row_of_fid[fids] == -1)  # they exited
    off = AgglomerationModel(s.with_overrides({"behaviour.lines.enabled": False}), replicate_seed=4)
    off.run(6)
    rows = off.firms.alive_rows()
    assert np.all(off.firms.lines[rows] == 1)
    assert (off.series_frame()["lines_added"] == 0).all()


def test_with_exit_off_a_firm_keeps_its_last_line():
    s = load_scenario(
        BASELINE, {"firms.initial_count": 200, "burn_in": 0, "behaviour.exit.enabled": False}
    )
    m = AgglomerationModel(s.with_overrides({"behaviour.lines.death_rate": 0.3}), replicate_seed=2)
    m.run(4)
    rows = m.firms.alive_rows()
    assert m.firms.n_alive >= 200 and np.all(m.firms.lines[rows] >= 1)
    # lines above the last are still lost (once most firms are down to one line, a step may lose none)
    lost = m.series_frame()["lines_lost"].iloc[1:]
    assert lost.iloc[0] > 0 and lost.sum() >= 3, lost.tolist()


def test_an_exploding_line_process_is_a_clear_input_error_not_a_memory_error():
    # birth_rate = 1 is within its bounds, but lines then double every step: the initial demography's
    # 200 steps asked for 2**200 lines (MemoryError, or the OOM killer); now an InputError naming the
    # field, raised before any allocation of that size
    import pytest

    from agglomeration.errors import InputError

    s = load_scenario(BASELINE, {"firms.initial_count": 50, "burn_in": 0})
    for rate in (1.0, 0.3):
        with pytest.raises(InputError) as err:
            AgglomerationModel(s.with_overrides({"behaviour.lines.birth_rate": rate}))
        assert err.value.field == "behaviour.lines.birth_rate"
        assert "lines" in str(err.value)
    rng = np.random.default_rng(0)
    with pytest.raises(InputError):
        line_events(np.array([2**40]), np.ones(1, bool), rng, birth_rate=0.02, death_rate=0.02)


def test_a_higher_line_birth_rate_raises_lines_per_firm_and_the_largest_firms_beyond_seed_noise():
    """Every line of a profitable firm spawns a new one with probability birth_rate: 0.04 against the
    baseline's 0.0199, from the 400-firm baseline's settled start (common random numbers), raises mean
    lines per firm and the lines of the ten largest firms after 8 quarters.  Measured (seeds 1-10): mean
    lines +0.31 (SE 0.03; about 2.1 at 0.0199), ten largest firms +18.9 lines (SE 3.1), both positive
    in every seed.  Only profitable firms' lines spawn, and lines are lost to deaths and exits, so the
    size of the response is the model's, not the rate's."""
    base = {"firms.initial_count": 400, "burn_in": 16}
    reference = load_scenario(BASELINE, base)
    diffs = []
    for seed in range(1, 7):
        out = []
        for rate in (0.0199, 0.04):
            m = AgglomerationModel(
                load_scenario(BASELINE, {**base, "behaviour.lines.birth_rate": rate}),
                replicate_seed=seed,
                reference=reference,
            )
            m.run(8)
            lines = np.sort(m.firms.lines[m.firms.alive_rows()])
            out.append([m.series_frame()["mean_lines"].iloc[-1], lines[-10:].sum()])
        diffs.append(np.subtract(out[1], out[0]))
    d = np.array(diffs, float)
    se = d.std(axis=0, ddof=1) / np.sqrt(len(d))
    assert np.all(d.mean(axis=0) > 3.0 * se), d
    assert np.all(d[:, 0] > 0), d


def test_the_inversions_of_line_events_by_firm_are_scipys_quantiles():
    """poisson_inverse / binomial_inverse (random streams by purpose) give scipy's ppf, at the small
    means of line births and well beyond them (where they hand over to scipy)."""
    from scipy import stats

    from agglomeration.behaviour.lines import binomial_inverse, poisson_inverse

    rng = np.random.default_rng(4)
    for mu in (0.0, 0.02, 0.3, 4.0, 40.0, 800.0):
        u = rng.random(5000)
        m = np.full(len(u), mu)
        assert (poisson_inverse(u, m) == np.maximum(stats.poisson.ppf(u, m), 0)).all(), mu
    for n, p in ((0, 0.3), (1, 0.02), (6, 0.02), (60, 0.5), (3000, 0.02), (10, 0.999)):
        u = rng.random(5000)
        size = np.full(len(u), n)
        assert (binomial_inverse(u, size, p) == np.maximum(stats.binom.ppf(u, size, p), 0)).all()
    assert binomial_inverse(np.array([0.3]), np.array([4]), 1.0).tolist() == [4]
    assert binomial_inverse(np.array([0.3]), np.array([4]), 0.0).tolist() == [0]
