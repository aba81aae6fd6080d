"""Comparative statics of the levers away from the baseline's parameters, in the full Chongqing world.

The lever tests in tests/test_logistics.py and tests/test_delegation_channels.py run the small baseline
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


def test_delegating_to_the_connected_areas_draws_entrants_into_them_and_only_diverts_the_others(
    monkeypatch,
):
    """Delegation 1.0 in the connected areas (data 0.3-0.5), entry decided once with the same potential
    entrants, signals, known regions and shocks: no seed has fewer entrants into the connected areas,
    none has more entrants elsewhere (cheaper entry there only diverts), and over the seeds the
    connected areas gain."""
    chosen: list[np.ndarray] = []
    choose = entry.choose_regions

    def spy(*args, **kwargs):
        out = choose(*args, **kwargs)
        chosen.append(np.asarray(out[0]).copy())
        return out

    monkeypatch.setattr(entry, "choose_regions", spy)
    gain, elsewhere = [], []
    for seed in SEEDS:
        counts = []
        for level in (None, 1.0):
            m = _start({} if level is None else {"policy.delegation.connected": level}, seed)
            rtype = np.asarray(m.world.region_type)
            chosen.clear()
            entry.step(m.state, m.world, m.spec, np.random.default_rng(100 + seed))
            c = chosen[-1]
            into = np.isin(c, np.flatnonzero(rtype == "connected"))
            counts.append((int(into.sum()), int(((c >= 0) & ~into).sum())))
        gain.append(counts[1][0] - counts[0][0])
        elsewhere.append(counts[1][1] - counts[0][1])
    assert min(gain) >= 0 and sum(gain) > 0, gain
    assert max(elsewhere) <= 0, elsewhere
