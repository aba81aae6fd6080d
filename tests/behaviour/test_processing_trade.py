"""Processing trade in special customs supervision zones (behaviour/costs.py, ``processing_friction``):
imported inputs into a bonded zone pay no import tariff and (by default) imported goods inputs not the
non-freight distance friction of ordinary trade, so buyers there import; elsewhere they hardly do;
inputs from the rest of China pay no tariff anywhere."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from agglomeration.behaviour import costs
from agglomeration.model import AgglomerationModel
from agglomeration.observe import link_totals
from agglomeration.scenario import load_scenario
from agglomeration.world import build_world

BASELINE = Path(__file__).resolve().parents[2] / "scenarios" / "baseline.toml"
BASE = {"firms.initial_count": 400, "burn_in": 20}
SEEDS = (1, 2, 3, 4)


@pytest.fixture(scope="module")
def world():
    return build_world(load_scenario(BASELINE))


def test_bonded_imports_pay_freight_but_not_tariff_or_distance_friction(world):
    w = world
    R = w.n_regions
    tau = w.tau
    bonded = np.asarray(w.bonded, bool)
    intl = w.gateway_international
    assert bonded.any() and (~bonded).any() and intl.any() and (~intl).any()
    tariff = np.asarray(w.import_tariff, float)
    ordinary = costs._input_trade_costs(w, tau, processing_friction=1.0)
    processing = costs._input_trade_costs(w, tau, processing_friction=0.0)
    half = costs._input_trade_costs(w, tau, processing_friction=0.5)
    friction = w.distance_friction
    g = int(np.flatnonzero(intl)[0])
    b, o = int(np.flatnonzero(bonded)[0]), int(np.flatnonzero(~bonded)[0])
    # outside bonded zones: the tariff, whatever processing_friction is
    assert processing[:, R + g, o] == pytest.approx(tau[:, R + g, o] * (1 + tariff))
    # ordinary trade into a bonded zone: tariff-free only
    assert ordinary[:, R + g, b] == pytest.approx(tau[:, R + g, b])
    # processing trade in goods: the distance friction removed, what is left is freight, customs and
    # time; services are not processing trade (and pay no tariff)
    goods = np.asarray(w.sector_kind) == "manufacturing"
    assert goods.any() and (~goods).any()
    assert processing[goods, R + g, b] == pytest.approx(
        tau[goods, R + g, b] / friction[goods, R + g, b]
    )
    assert half[goods, R + g, b] == pytest.approx(
        tau[goods, R + g, b] / np.sqrt(friction[goods, R + g, b])
    )
    assert np.all(friction[~goods, R + g, b] > 1.0)
    assert processing[~goods, R + g, b] == pytest.approx(tau[~goods, R + g, b])
    # the domestic gateway (the rest of China: no customs border) and trade between regions are
    # untouched, the tariff included
    assert np.any(tariff > 0)
    dom = R + int(np.flatnonzero(~intl)[0])
    for traded in (processing, ordinary):
        assert traded[:, dom, :R] == pytest.approx(tau[:, dom, :R])
        assert traded[:, :R, :] == pytest.approx(tau[:, :R, :])


def _bonded_import_share(overrides: dict, seed: int) -> float:
    """Share of the bonded-zone buyers' input spending bought through international gateways."""
    m = AgglomerationModel(load_scenario(BASELINE, {**BASE, **overrides}), replicate_seed=seed)
    m.run(8)
    w = m.world
    agg = link_totals(m.state, w)[np.asarray(w.bonded, bool)]  # (bonded regions, M)
    return float(agg[:, w.n_regions :][:, w.gateway_international].sum() / agg.sum())


def test_processing_trade_makes_bonded_zones_import_beyond_seed_noise():
    ordinary = np.array(
        [_bonded_import_share({"behaviour.costs.processing_friction": 1.0}, s) for s in SEEDS]
    )
    processing = np.array([_bonded_import_share({}, s) for s in SEEDS])
    diff = processing - ordinary
    se = diff.std(ddof=1) / np.sqrt(len(diff))
    assert np.all(diff > 0) and diff.mean() > 3 * se, (processing, ordinary)
    assert processing.mean() > 0.08 and ordinary.mean() < 0.02, (processing, ordinary)


def test_import_weights_scale_with_the_initial_firm_count(world):
    from agglomeration.behaviour.sourcing import FOREIGN_SUPPLIERS_PER, import_weights

    small = load_scenario(BASELINE, {"firms.initial_count": 500})
    large = load_scenario(BASELINE, {"firms.initial_count": 5000})
    ratio = import_weights(world, large) / import_weights(world, small)
    assert ratio == pytest.approx(np.full(world.n_sectors, 10.0))
    per = import_weights(
        world, load_scenario(BASELINE, {"firms.initial_count": FOREIGN_SUPPLIERS_PER})
    )
    assert per == pytest.approx(world.import_weights(1.0))
