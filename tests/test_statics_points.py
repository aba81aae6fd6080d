"""Comparative statics of the levers away from the baseline's parameters, in the full Chongqing world.

The lever tests in tests/test_logistics.py and tests/behaviour/test_delegation_channels.py run the small baseline
(or the 3-region test world); these repeat the sharpest of them at a parameter point inside the
documented ranges but away from the defaults (a sharper entry margin, dearer entry, scarcer land, fewer
suppliers per input), paired by seed from the point's own settled start (common random numbers).
Measured at six such points (10 seeds, 12 quarters; docs/LEVER_EFFECTS.md, "Tests"), no documented
direction reversed beyond noise; these are the cases that hold in every seed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from agglomeration.behaviour import entry
from agglomeration.model import AgglomerationModel
from agglomeration.scenario import load_scenario

BASELINE = Path(__file__).resolve().parents[1] / "scenarios" / "baseline.toml"
#: inside the documented ranges: logit_scale 0.5-3, location_scale 0.2-1, entry_cost 2-16,
#: rent_elasticity 0.2-1.7, max_suppliers >= 1
POINT = {
    "firms.initial_count": 600,
    "burn_in": 20,
    "behaviour.entry.logit_scale": 0.6,
    "behaviour.entry.location_scale": 0.25,
    "behaviour.costs.entry_cost": 14.0,
    "behaviour.factor_prices.rent_elasticity": 1.5,
    "behaviour.sourcing.max_suppliers": 2,
}
SEEDS = range(1, 7)


def _start(overrides: dict, seed: int) -> AgglomerationModel:
    """The point's settled start continued under ``overrides`` (the variant's levers from step 1)."""
    return AgglomerationModel(
        load_scenario(BASELINE, {**POINT, **overrides}),
        replicate_seed=seed,
        reference=load_scenario(BASELINE, POINT),
    )


@pytest.mark.parametrize("region", ["XY", "WZ"])
def test_faster_customs_raises_the_regions_export_share_in_the_full_model(region):
    """Customs dwell x0.3 against x3 at one region (XY: the CR Express terminal; WZ: a river port far
    from the gateways' rail): the region's export share after one quarter, same firms and shocks, is
    higher in every seed (measured at six other points, 10 seeds each: +0.17 to +0.28 pp, every seed
    positive).  Over 12 quarters the firms' composition drifts by more than this and the difference is
    within noise (docs/LEVER_EFFECTS.md: faster customs moves no firm count)."""
    diffs = []
    for seed in SEEDS:
        share = {}
        for name, f in (("fast", 0.3), ("slow", 3.0)):
            m = _start({f"logistics.customs_multiplier.{region}": f}, seed)
            m.run(1)
            share[name] = m.headline_metrics()[f"export_share_{region}"]
        diffs.append(share["fast"] - share["slow"])
    assert all(d > 0 for d in diffs), diffs


def test_delegating_to_the_connected_areas_draws_entrants_into_them():
    """Delegation 1.0 in the connected areas (data 0.3-0.5) at the point's settled start: 20,000
    potential entrants decide under both settings with the same draws (sectors, signals, known regions,
    location tastes, entry shocks).  Delegation raises the value of entering a connected area only, so
    nobody who entered stays out, nobody who chose a connected area leaves them, and the connected
    areas gain entrants, some switching from other regions (diversion) and some new (creation)."""
    n = 20_000
    for seed in (1, 2):
        models = {
            level: _start({} if level is None else {"policy.delegation.connected": level}, seed)
            for level in (None, 1.0)
        }
        base = models[None]
        values = {k: entry.entry_values(m.state, m.world, m.spec) for k, m in models.items()}
        connected = np.asarray(base.world.region_type) == "connected"
        np.testing.assert_array_equal(
            values[None].value[:, ~connected], values[1.0].value[:, ~connected]
        )
        assert np.all(values[1.0].value[:, connected] >= values[None].value[:, connected])
        draws = np.random.default_rng(100 + seed)
        pool = entry.pool_size(base.state, base.world, base.spec)
        sector = draws.choice(base.world.n_sectors, size=n, p=pool / pool.sum())
        signal = draws.standard_normal(n)
        known = entry.knowledge(n, base.world.n_regions, base.state.costs.known_share, draws)
        choice = {
            k: entry.choose_regions(
                sector, signal, known, np.random.default_rng(200 + seed), values=v
            )[0]
            for k, v in values.items()
        }
        before, after = choice[None], choice[1.0]
        into_before = (before >= 0) & connected[np.maximum(before, 0)]
        into_after = (after >= 0) & connected[np.maximum(after, 0)]
        assert np.all(after[before >= 0] >= 0)  # nobody who entered stays out
        assert np.all(into_after[into_before])  # nobody leaves the connected areas
        switched = into_after & (before >= 0) & ~into_before
        created = into_after & (before < 0)
        assert switched.sum() > 0 and created.sum() > 0, (switched.sum(), created.sum())
        assert into_after.sum() >= into_before.sum() + 0.02 * into_before.sum()
