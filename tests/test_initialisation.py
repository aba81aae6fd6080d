"""The entry-exit balance that sets each sector's fixed cost at initialisation (initialisation.FlowBalance)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from agglomeration import AgglomerationModel
from agglomeration.initialisation import flow_balances

BASELINE = Path(__file__).resolve().parents[1] / "scenarios" / "baseline.toml"


def test_flow_balance_root_equates_expected_entry_and_exits():
    """solve() returns the fixed cost at which the expected entry flow equals the exits (to about
    1e-9, far tighter than any use of it), with more entry below it and less above; None only when even
    a vanishing fixed cost attracts fewer entrants than the exits."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sectors whose pool is too small say so at construction
        m = AgglomerationModel(BASELINE, replicate_seed=1, firms__initial_count=400, burn_in=0)
    balances = flow_balances(m.state, m.world, m.spec, np.random.default_rng(0))
    solved = 0
    for b in balances:
        if b is None:
            continue
        f = b.solve()
        if f is None:
            assert b.entries(b.f_ref * 1e-8) <= b.exits
            continue
        solved += 1
        assert b.entries(f) == pytest.approx(b.exits, rel=1e-9)
        assert b.entries(0.9 * f) > b.exits > b.entries(1.1 * f)
    assert solved >= 3
