"""FirmTable storage and the Mesa agent view: rows, ids, supplier remapping, agents kept consistent."""

from __future__ import annotations

import numpy as np
import pytest

from _toy import toy_scenario, toy_world
from agglomeration.firms import NONE, Firm, FirmTable
from agglomeration.model import AgglomerationModel


def _table(n: int = 7, cap: int = 4) -> FirmTable:
    t = FirmTable(n_sectors=3, capacity=cap)
    t.add(np.arange(n) % 3, np.zeros(n, int), np.zeros(n), np.ones(n))
    return t


def test_capacity_doubles_and_keeps_data():
    t = FirmTable(n_sectors=2, capacity=16)
    t.add(np.zeros(10, int), np.ones(10, int), np.linspace(0, 1, 10), np.ones(10))
    assert t.capacity == 16
    t.add(np.ones(10, int), np.zeros(10, int), np.zeros(10), np.ones(10))
    assert t.capacity == 32  # doubled once, not grown by 10
    assert t.n == 20 and t.n_alive == 20
    np.testing.assert_array_equal(t.fid, np.arange(20))
    np.testing.assert_allclose(t.log_productivity[:10], np.linspace(0, 1, 10))
    assert t.supplier.shape == (20, 2, 1) and np.all(t.supplier == NONE)


def test_kill_drops_links_to_dead_suppliers():
    t = _table()
    t.supplier[:, 0, 0] = [3, 3, -1, 0, 6, 6, NONE]
    t.kill(np.array([3, 5]))
    assert t.n_alive == 5
    # buyers 0 and 1 pointed at dead firm 3 -> must re-source; import (-1) and live supplier 6 kept
    np.testing.assert_array_equal(t.supplier[[0, 1, 2, 4], 0, 0], [NONE, NONE, -1, 6])
    assert t.row_of_fid[3] == -1 and t.row_of_fid[5] == -1


def test_compact_remaps_supplier_rows_and_ids():
    t = _table()
    t.supplier[:, 1, 0] = [6, 4, 2, 0, 6, 1, -2]
    t.kill(np.array([1, 3]))
    old_to_new = t.compact()
    np.testing.assert_array_equal(old_to_new, [0, -1, 1, -1, 2, 3, 4])
    np.testing.assert_array_equal(t.fid, [0, 2, 4, 5, 6])
    # old rows: 0->6 ; 2->2 ; 4->6 ; 5->1 (dead, dropped at kill) ; 6->import
    np.testing.assert_array_equal(t.supplier[:, 1, 0], [4, 1, 4, NONE, -2])
    np.testing.assert_array_equal(t.row_of_fid[t.fid], np.arange(5))
    assert np.all(t.alive)


def test_several_suppliers_per_input_stay_packed_when_suppliers_die_or_move():
    t = FirmTable(n_sectors=1, capacity=16, slots=3)
    t.add(np.zeros(6, int), np.zeros(6, int), np.zeros(6), np.zeros(6))
    t.supplier[0, 0] = [2, 3, 4]
    t.supplier[1, 0] = [3, -1, NONE]
    t.kill(np.array([3]))
    # the dead supplier's slot is closed up, order kept, the freed slot empty
    np.testing.assert_array_equal(t.supplier[0, 0], [2, 4, NONE])
    np.testing.assert_array_equal(t.supplier[1, 0], [-1, NONE, NONE])
    t.kill(np.array([2]))
    t.compact()  # rows 0, 1, 4, 5 remain: old row 4 is now row 2
    np.testing.assert_array_equal(t.supplier[0, 0], [2, NONE, NONE])
    np.testing.assert_array_equal(t.supplier[1, 0], [-1, NONE, NONE])


def test_maybe_compact_only_when_many_dead():
    t = _table(n=10, cap=16)
    t.kill(np.array([0]))
    assert t.maybe_compact(0.25) is None and t.n == 10
    t.kill(np.array([1, 2, 3]))
    assert t.maybe_compact(0.25) is not None and t.n == 6


def _agents_match(model) -> None:
    t = model.firms
    live = set(t.fid[t.alive_rows()].tolist())
    agents = list(model.agents)
    assert len(agents) == len(live)
    assert {a.fid for a in agents} == live
    assert all(a.alive for a in agents)


def test_agents_follow_entry_exit_and_compaction():
    model = AgglomerationModel(
        toy_scenario(behaviour={"exit": {"after_losses": 2}}), replicate_seed=3, world=toy_world()
    )
    _agents_match(model)
    entries = exits = 0
    for _ in range(15):
        model.step()
        entries += model.state.counts["entries"]
        exits += model.state.counts["exits"]
        _agents_match(model)
    assert entries > 0 and exits > 0  # the test exercised both paths


def test_agent_view_reads_rows_and_supports_agentset_tools():
    model = AgglomerationModel(toy_scenario(), replicate_seed=1, world=toy_world())
    model.run(3)
    t = model.firms
    agent = next(iter(model.agents))
    assert isinstance(agent, Firm)
    row = t.row_of_fid[agent.fid]
    assert agent.employment == pytest.approx(t.employment[row])
    assert agent.output == pytest.approx(t.revenue[row])
    assert agent.region == str(model.world.region_ids[t.region[row]])
    # AgentSet select / groupby / agg work on the view's properties
    ftz = model.agents.select(lambda a: a.region == "F")
    assert len(ftz) == int(np.sum(t.region[t.alive_rows()] == 0))
    counts = model.agents.groupby("sector").count()
    assert sum(counts.values()) == t.n_alive
    total = model.agents.agg("employment", sum)
    assert total == pytest.approx(t.employment[t.alive_rows()].sum())


def test_datacollector_agent_reporters_work_on_the_view():
    import mesa

    model = AgglomerationModel(toy_scenario(), replicate_seed=1, world=toy_world())
    dc = mesa.DataCollector(agent_reporters={"emp": "employment", "region": "region"})
    dc.collect(model)
    model.step()
    dc.collect(model)
    df = dc.get_agent_vars_dataframe()
    assert len(df) >= 2 * min(len(model.agents), 1)
    assert df["emp"].notna().all()


def test_mesa_agents_can_be_switched_off():
    model = AgglomerationModel(
        toy_scenario(firms={"mesa_agents": False}), replicate_seed=1, world=toy_world()
    )
    model.run(2)
    assert len(model.agents) == 0 and model.firms.n_alive > 0


def test_alive_rows_is_cached_read_only_and_follows_add_kill_compact():
    t = _table(n=10, cap=16)
    rows = t.alive_rows()
    np.testing.assert_array_equal(rows, np.arange(10))
    with pytest.raises(ValueError):
        rows[0] = 5  # a read-only view: nobody can corrupt the cache
    with pytest.raises(ValueError):
        rows.flags.writeable = True
    with pytest.raises(ValueError):
        t.alive[0] = False  # alive changes only through add / kill / compact
    t.kill(np.array([2, 5]))
    np.testing.assert_array_equal(t.alive_rows(), [0, 1, 3, 4, 6, 7, 8, 9])
    assert t.n_alive == 8
    np.testing.assert_array_equal(rows, np.arange(10))  # an earlier result is not changed
    new = t.add(np.zeros(2, int), np.zeros(2, int), np.zeros(2), np.ones(2))
    np.testing.assert_array_equal(new, [10, 11])
    np.testing.assert_array_equal(t.alive_rows(), np.flatnonzero(t.alive))
    assert t.n_alive == 10
    t.compact()
    np.testing.assert_array_equal(t.alive_rows(), np.arange(10))
    np.testing.assert_array_equal(t.fid[t.alive_rows()], [0, 1, 3, 4, 6, 7, 8, 9, 10, 11])


def test_alive_rows_cache_matches_the_alive_column_during_a_run():
    model = AgglomerationModel(
        toy_scenario(behaviour={"exit": {"after_losses": 2}}), replicate_seed=5, world=toy_world()
    )
    for _ in range(8):
        model.step()
        t = model.firms
        np.testing.assert_array_equal(t.alive_rows(), np.flatnonzero(t.alive))
        dom = t.supplier[t.alive_rows()]
        assert np.all(t.alive[dom[dom >= 0]])  # no link to an exited firm
