"""Relocation (behaviour/relocation.py) in a running model: comparative statics of its cost and its
reconsideration probability, paired by seed from a shared settled start (common random numbers)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from agglomeration.model import AgglomerationModel
from agglomeration.scenario import load_scenario

BASELINE = Path(__file__).resolve().parents[2] / "scenarios" / "baseline.toml"
BASE = {"firms.initial_count": 400, "burn_in": 16}
SEEDS = range(1, 7)


def _relocations(overrides: dict, seed: int, steps: int = 8) -> float:
    """Relocations over ``steps`` observed quarters of the small baseline under ``overrides``, from the
    small baseline's settled start (the variants differ only from step 1 on)."""
    m = AgglomerationModel(
        load_scenario(BASELINE, {**BASE, **overrides}),
        replicate_seed=seed,
        reference=load_scenario(BASELINE, BASE),
    )
    m.run(steps)
    return float(m.series_frame()["relocations"].iloc[1:].sum())


def _paired(low: dict, high: dict) -> np.ndarray:
    """(seeds,) relocations under ``high`` minus under ``low``, same seed and start."""
    return np.array([_relocations(high, s) - _relocations(low, s) for s in SEEDS])


def _se(d: np.ndarray) -> float:
    return float(d.std(ddof=1) / np.sqrt(len(d)))


def test_a_higher_relocation_cost_lowers_relocations_beyond_seed_noise():
    """A firm moves when its (real) profit gain beats the cost (units of its sector fixed cost): cost 3
    against 0 lowers relocations over 8 quarters of the 400-firm baseline.  Measured (seeds 1-10): mean
    paired difference -11.4 relocations (SE 0.9; about 24 at cost 0), negative in every seed."""
    d = _paired({"behaviour.relocation.cost": 0.0}, {"behaviour.relocation.cost": 3.0})
    assert d.mean() < -3.0 * _se(d), d
    assert np.all(d < 0), d


def test_a_higher_reconsideration_probability_raises_relocations_beyond_seed_noise():
    """Each firm reconsiders its location with ``probability`` per quarter: 0.03 against 0.005 raises
    relocations over 8 quarters of the 400-firm baseline.  Measured (seeds 1-10): mean paired difference
    +40.9 relocations (SE 2.5), positive in every seed.  Not proportional to the probability by
    construction: a reconsidering firm moves only when a known region beats home by the cost."""
    d = _paired(
        {"behaviour.relocation.probability": 0.005}, {"behaviour.relocation.probability": 0.03}
    )
    assert d.mean() > 3.0 * _se(d), d
    assert np.all(d > 0), d
