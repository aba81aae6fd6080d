"""Import prices follow the domestic price level of the last market (behaviour/costs.py,
``update_import_prices``): entrants that have not sold yet, created at the placeholder price
sigma / (sigma - 1), do not move it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from agglomeration.behaviour import costs, entry, market
from agglomeration.model import AgglomerationModel
from agglomeration.scenario import load_scenario

BASELINE = Path(__file__).resolve().parents[2] / "scenarios" / "baseline.toml"


@pytest.fixture(scope="module")
def model():
    m = AgglomerationModel(
        load_scenario(BASELINE, {"firms.initial_count": 300, "burn_in": 4}), replicate_seed=1
    )
    m.run(2)
    return m


def test_the_price_level_is_the_last_markets_and_entrants_do_not_move_it(model):
    state, world = model.state, model.world
    t = state.firms
    market.solve(state, world, model.spec)
    rows = t.alive_rows()
    logp = np.log(t.price[rows])
    s = t.sector[rows]
    expected = np.exp(
        np.bincount(s, weights=logp, minlength=world.n_sectors)
        / np.bincount(s, minlength=world.n_sectors)
    )
    costs.update_import_prices(state, world, model.spec)
    level, imports = state.domestic_price_level.copy(), state.import_price.copy()
    assert level == pytest.approx(expected, rel=1e-12)
    assert imports == pytest.approx(np.asarray(world.gateway_import_price) * expected[None, :])
    # entrants of every sector at sigma / (sigma - 1), far above the solved prices
    S = world.n_sectors
    new = entry.add_firms(
        state,
        world,
        np.repeat(np.arange(S), 20),
        np.zeros(20 * S, np.int64),
        np.zeros(20 * S),
        np.ones(20 * S),
    )
    assert np.all(t.price[new] > 1.2 * expected[t.sector[new]])
    costs.update_import_prices(state, world, model.spec)
    assert state.domestic_price_level == pytest.approx(level, rel=1e-12)
    assert state.import_price == pytest.approx(imports, rel=1e-12)
