"""The exit submodel in a running model (behaviour/exit.py; the kernels are in test_step_kernels.py):
the loss rules compared with paired seeds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from agglomeration.model import AgglomerationModel

BASELINE = Path(__file__).resolve().parents[1] / "scenarios" / "baseline.toml"


def _exit_ages(rule: str, seed: int, steps: int = 24) -> np.ndarray:
    """Ages [steps] at which firms exit over ``steps`` observed steps of a 1,500-firm baseline."""
    m = AgglomerationModel(
        BASELINE,
        replicate_seed=seed,
        firms__initial_count=1500,
        behaviour__exit__loss_rule=rule,
    )
    ages = []
    for _ in range(steps):
        t = m.firms
        rows = t.alive_rows()
        before = dict(zip(t.fid[rows].tolist(), t.age[rows].tolist(), strict=True))
        m.step()
        ages += [a for f, a in before.items() if m.firms.row_of_fid[f] < 0]
    return np.array(ages)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_hazard_rule_removes_the_one_quarter_spike_of_loss_exits(seed):
    """Under the count rule the firms that lose from the end of their grace all leave at one age
    (loss_grace + after_losses - 1 = 11 before the step), the largest quarter of age of year 2 by far;
    under the hazard rule that quarter holds a much smaller share of the year's exits (same seed)."""
    share = {}
    for rule in ("count", "hazard"):
        ages = _exit_ages(rule, seed)
        year2 = np.bincount(ages[(ages >= 8) & (ages < 12)] - 8, minlength=4)
        assert year2.sum() >= 30, (rule, year2)
        share[rule] = year2[3] / year2.sum()
        if rule == "count":
            assert year2.argmax() == 3, year2
    assert share["count"] > 0.4
    assert share["hazard"] < share["count"] - 0.15, share
