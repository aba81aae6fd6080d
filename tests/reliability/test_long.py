"""Long runs: 2,000 steps (500 years of quarters) of the baseline stay numerically sound.

Slow (about 1.5-2 minutes at the baseline's 3,000 initial firms): run with ``pytest -m slow``.

Every step, with numpy floating-point *overflow and invalid operations raised as errors*:
- the model's accounting identities (``model.flow_balance()``) hold to 1e-9 relative, and do not drift
  (the largest gap of the last 500 steps is no larger than 1e-9 either);
- firm state is finite, prices and productivities positive, quantities non-negative;
- the region x sector table adds up to the firm table (firms exactly, employment and output to 1e-9).
At the end, the model series are finite, productivity has not run away (|mean log productivity| stays
within a few hundred log points) and the economy is alive.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from agglomeration.model import AgglomerationModel

ROOT = Path(__file__).resolve().parents[2]
STEPS = 2000
TOL = 1e-9


@pytest.mark.slow
def test_baseline_2000_steps_numerically_sound():
    model = AgglomerationModel(ROOT / "scenarios" / "baseline.toml", replicate_seed=2026)
    gaps: list[float] = []
    t0 = time.perf_counter()
    with np.errstate(over="raise", invalid="raise"):
        for t in range(1, STEPS + 1):
            model.step()
            bal = model.flow_balance()
            gap = max(bal.values())
            assert np.isfinite(gap) and gap <= TOL, f"step {t}: {bal}"
            gaps.append(gap)
            if t % 100 == 0 or t == STEPS:
                ff = model.firms_frame()
                num = ff.select_dtypes("number").to_numpy(dtype=float)
                assert np.isfinite(num).all(), f"step {t}: non-finite firm state"
                assert (ff["price"] > 0).all() and (ff["productivity"] > 0).all()
                for c in ("output", "employment", "land_use", "input_cost", "final_sales"):
                    assert (ff[c] >= 0).all(), f"step {t}: negative {c}"
                rt = model.region_table()
                assert rt["firms"].sum() == len(ff)
                for c in ("employment", "output"):
                    assert rt[c].sum() == pytest.approx(ff[c].sum(), rel=TOL), (t, c)
    wall = time.perf_counter() - t0
    print(f"\n{STEPS} baseline steps in {wall:.1f} s; max flow gap {max(gaps):.2e}")
    assert max(gaps[-500:]) <= TOL  # no drift late in the run
    series = model.series_frame()
    assert len(series) == STEPS // model.spec.output.series_every + 1
    core = series[["firms", "employment", "output", "mean_wage", "mean_log_productivity"]]
    assert np.isfinite(core.to_numpy(dtype=float)).all()
    assert abs(series["mean_log_productivity"]).max() < 500
    assert model.firms.n_alive > 0 and series["output"].iloc[-1] > 0
