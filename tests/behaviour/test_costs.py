"""Import prices follow the domestic price level of the last market (behaviour/costs.py,
``update_import_prices``): entrants that have not sold yet (at their provisional price) do not move
it; and the provisional price is the one an incumbent of the entrant's productivity charges in its
cell (entry.provisional_prices)."""

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
    # entrants of every sector, less productive than the incumbents (log z 0), so dearer
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


def test_an_entrant_is_priced_like_an_incumbent_of_its_productivity_in_its_cell(model):
    """entry.provisional_prices: within a region x sector cell firms share factor and input prices,
    so an entrant at an incumbent's productivity gets (on average over the cell) the incumbents'
    prices; a more productive entrant a proportionally lower price; in a cell without firms the
    sector's mean over every region."""
    state, world = model.state, model.world
    t = state.firms
    market.solve(state, world, model.spec)
    rows = t.alive_rows()
    S = world.n_sectors
    cell = t.region[rows] * S + t.sector[rows]
    c = int(np.bincount(cell).argmax())  # the fullest cell
    own = rows[cell == c]
    assert len(own) >= 3
    r, s = c // S, c % S
    n = len(own)
    prov = entry.provisional_prices(
        state, world, np.full(n, s), np.full(n, r), t.log_productivity[own]
    )
    assert np.log(prov).mean() == pytest.approx(np.log(t.price[own]).mean(), rel=1e-12)
    better = entry.provisional_prices(
        state, world, np.array([s, s]), np.array([r, r]), np.array([0.0, 0.5])
    )
    assert better[1] == pytest.approx(better[0] * np.exp(-0.5), rel=1e-12)
    # a cell of sector s without firms: the sector's mean of log p + log z over every region
    empty = [q for q in range(world.n_regions) if not np.any(cell == q * S + s)]
    if empty:
        ofs = rows[t.sector[rows] == s]
        x = np.log(t.price[ofs]) + t.log_productivity[ofs]
        got = entry.provisional_prices(state, world, np.array([s]), np.array([empty[0]]), [0.0])
        assert got[0] == pytest.approx(np.exp(x.mean()), rel=1e-12)
