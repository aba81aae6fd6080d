"""What firms learn (behaviour/prospects.py): the exit hazard entrants discount with, learned from
the exits of each sector (behaviour.prospects.learn_hazard) or kept at its prior (the default)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from agglomeration.model import AgglomerationModel
from agglomeration.scenario import load_scenario

BASELINE = Path(__file__).resolve().parents[2] / "scenarios" / "baseline.toml"
BASE = {"firms.initial_count": 600, "burn_in": 20}


def _hazards(learn: bool, seed: int, steps: int = 12):
    """(prior per step, the hazard beliefs after each step (steps, S), the exits / incumbents by
    sector observed in each step (steps, S))."""
    m = AgglomerationModel(
        load_scenario(BASELINE, {**BASE, "behaviour.prospects.learn_hazard": learn}),
        replicate_seed=seed,
        reference=load_scenario(BASELINE, BASE),
    )
    T = m.spec.behaviour.steps_per_year
    prior = 1.0 - (1.0 - m.spec.behaviour.prospects.hazard_prior) ** (1.0 / T)
    beliefs, observed = [], []
    for _ in range(steps):
        m.step()
        s = m.state
        beliefs.append(s.beliefs.hazard.copy())
        observed.append(
            np.divide(
                s.last_exits_by_sector,
                s.last_incumbents_by_sector,
                out=np.full(len(s.beliefs.hazard), np.nan),
                where=s.last_incumbents_by_sector > 0,
            )
        )
    return prior, np.array(beliefs), np.array(observed), m


def test_without_learning_the_hazard_stays_at_its_prior():
    prior, beliefs, observed, _ = _hazards(False, seed=1)
    np.testing.assert_allclose(beliefs, prior)
    assert np.nanmean(observed) > 0  # there are exits to learn from


def test_the_learned_hazard_is_the_smoothed_exit_rate_of_each_sector():
    """Each step the belief moves by belief_smoothing toward the sector's exits / firms of the step
    before it (the tally of the last step, read by the prospects before entry); over 12 quarters of
    the 600-firm baseline it ends near the sectors' observed exit rates, not at the prior."""
    prior, beliefs, observed, m = _hazards(True, seed=1)
    a = m.spec.behaviour.prospects.belief_smoothing
    # step k's belief uses the exits observed in step k - 1 (the first step uses the burn-in's last)
    for k in range(1, len(beliefs)):
        seen = np.isfinite(observed[k - 1])
        expected = (1 - a) * beliefs[k - 1] + a * np.where(seen, observed[k - 1], 0.0)
        np.testing.assert_allclose(beliefs[k][seen], expected[seen], rtol=1e-12)
    mean_rate = np.nanmean(observed[-8:], axis=0)
    ok = np.isfinite(mean_rate)
    assert np.abs(beliefs[-1][ok] - prior).max() > 0.2 * prior  # it moved
    # within the smoothing's noise of the observed rates (a 5-step average of a noisy rate)
    assert np.abs(np.median(beliefs[-1][ok] - mean_rate[ok])) < 0.5 * np.median(mean_rate[ok])


def test_more_exits_raise_the_learned_hazard_beyond_seed_noise():
    """Comparative statics with paired seeds (same settled start, same seed): exiting after 4 instead
    of 8 consecutive losses raises exits, and the learned hazard follows (mean over sectors after 12
    quarters), in every seed.  Measured (seeds 1-6): mean paired difference +0.0045 per quarter (SE
    0.0014; +0.0005 to +0.0085); before the import-price fixes of 2026-12-07 (seeds 1-4) +0.0074 (SE
    0.0019), and four seeds fell short of three standard errors after them."""
    diffs = []
    for seed in (1, 2, 3, 4, 5, 6):
        means = {}
        for after in (8, 4):
            m = AgglomerationModel(
                load_scenario(
                    BASELINE,
                    {
                        **BASE,
                        "behaviour.prospects.learn_hazard": True,
                        "behaviour.exit.after_losses": after,
                    },
                ),
                replicate_seed=seed,
                reference=load_scenario(BASELINE, BASE),
            )
            m.run(12)
            means[after] = float(m.state.beliefs.hazard.mean())
        diffs.append(means[4] - means[8])
    d = np.array(diffs)
    assert np.all(d > 0), d
    assert d.mean() > 3 * d.std(ddof=1) / np.sqrt(len(d)), d
