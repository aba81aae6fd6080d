"""Random streams by purpose (random_streams.py, ``solver.random_streams``): draws keyed by firm and
purpose, deterministic runs, the default untouched, and paired runs that stay coupled (paired seeds)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from agglomeration import random_streams
from agglomeration.firms import FirmTable
from agglomeration.model import AgglomerationModel
from agglomeration.scenario import load_scenario

BASELINE = Path(__file__).resolve().parents[1] / "scenarios" / "baseline.toml"
SMALL = {"firms.initial_count": 600, "burn_in": 20}


def test_a_firms_draw_does_not_depend_on_the_other_firms():
    fids = np.array([3, 17, 40])
    a = random_streams.uniforms(random_streams.submodel_generator(5, 2, "exit"), fids)
    b = random_streams.uniforms(random_streams.submodel_generator(5, 2, "exit"), np.array([40, 3]))
    assert a[2] == b[0] and a[0] == b[1]
    n = random_streams.normals(random_streams.submodel_generator(5, 2, "exit"), fids)
    assert n.shape == (3,) and np.all(np.isfinite(n))
    assert len(random_streams.uniforms(np.random.default_rng(0), np.zeros(0, np.int64))) == 0
    with pytest.raises(ValueError, match="non-negative"):
        random_streams.uniforms(np.random.default_rng(0), np.array([-1]))


def test_keyed_draws_in_chunks_are_the_draws_of_one_call(monkeypatch):
    """draw_at generates the stream chunk by chunk (memory O(chunk), not O(largest key)) and keeps the
    asked positions: the same numbers as one call, uniforms and normals alike, in any order."""
    monkeypatch.setattr(random_streams, "CHUNK", 7)
    idx = np.array([40, 3, 3, 0, 99, 64, 13])
    for name in ("random", "standard_normal"):
        want = getattr(np.random.default_rng(5), name)(100)[idx]
        got = random_streams.draw_at(getattr(np.random.default_rng(5), name), idx)
        np.testing.assert_array_equal(got, want)
    assert len(random_streams.draw_at(np.random.default_rng(5).random, np.zeros(0, int))) == 0


def test_streams_differ_by_step_and_submodel_and_repeat_for_the_same_key():
    def first(step, name):
        return random_streams.submodel_generator(11, step, name).random()

    assert first(1, "entry") == first(1, "entry")
    assert len({first(1, "entry"), first(2, "entry"), first(1, "exit")}) == 3


def test_given_ids_are_checked():
    t = FirmTable(n_sectors=2, slots=1)
    t.add(np.array([0, 1]), np.array([0, 0]), np.zeros(2), np.ones(2))  # ids 0, 1
    rows = t.add(np.array([1]), np.array([0]), np.zeros(1), np.ones(1), fids=np.array([10]))
    assert t.fid[rows].tolist() == [10] and t.row_of_fid[10] == rows[0]
    assert t.add(np.array([0]), np.array([0]), np.zeros(1), np.ones(1)).tolist() == [3]
    assert t.fid[3] == 2  # consecutive ids go on below the given ones
    for bad, msg in (([10], "in use"), ([1], "not below"), ([12, 12], "distinct")):
        with pytest.raises(ValueError, match=msg):
            n = len(bad)
            t.add(np.zeros(n, int), np.zeros(n, int), np.zeros(n), np.ones(n), fids=np.array(bad))


def test_the_default_is_the_shared_stream_and_keeps_every_fingerprint():
    base = load_scenario(BASELINE)
    assert base.solver.random_streams == "shared"
    assert base.with_overrides({"solver.random_streams": "shared"}).fingerprint() == (
        base.fingerprint()
    )
    assert base.with_overrides({"solver.random_streams": "by_purpose"}).fingerprint() != (
        base.fingerprint()
    )


def test_the_keying_revision_is_part_of_a_by_purpose_fingerprint(monkeypatch):
    """A change of what is keyed changes by-purpose results: a batch of an earlier keying must not be
    resumed into (its fingerprint differs), while the default's fingerprint does not move."""
    base = load_scenario(BASELINE)
    purpose = base.with_overrides({"solver.random_streams": "by_purpose"})
    before, default = purpose.fingerprint(), base.fingerprint()
    monkeypatch.setattr(random_streams, "KEYING_REVISION", random_streams.KEYING_REVISION + 1)
    assert purpose.fingerprint() != before
    assert base.fingerprint() == default


def _run(scenario, seed, steps, reference=None):
    m = AgglomerationModel(scenario, replicate_seed=seed, reference=reference)
    for _ in range(steps):
        m.step()
    return m


def test_by_purpose_runs_are_reproducible_and_entrants_carry_their_keys():
    sc = load_scenario(BASELINE).with_overrides({**SMALL, "solver.random_streams": "by_purpose"})
    a, b = _run(sc, 3, 6), _run(sc, 3, 6)
    assert a.series_frame().equals(b.series_frame())
    assert a.firms_frame().equals(b.firms_frame())
    shared = _run(load_scenario(BASELINE).with_overrides(SMALL), 3, 6)
    assert not shared.firms_frame().equals(a.firms_frame())
    # potential entrants are keyed from the start's next id on: entrants' ids have gaps (those who
    # stayed out), all above the start's ids
    ff = a.firms_frame()
    start = AgglomerationModel(sc, replicate_seed=3).state.firms.next_fid
    new = np.sort(ff.loc[ff["fid"] >= start, "fid"].to_numpy())
    assert len(new) > 10 and np.any(np.diff(new) > 1)
    assert a.state.entrant_key_next > new.max()


def _links(m) -> set:
    return set(
        map(tuple, m.links_frame()[["buyer", "supplier", "input_sector"]].to_numpy().tolist())
    )


def _pairs(streams: str, seeds=(1, 2, 3, 4), steps=12):
    """Per seed: (paired difference of the firm count, Jaccard overlap of the two runs' firm ids, of
    their supplier links) of full delegation in the connected areas against the baseline, from a
    shared start."""
    base = load_scenario(BASELINE).with_overrides({**SMALL, "solver.random_streams": streams})
    var = base.with_overrides({"policy.delegation.connected": 1.0})
    out = []
    for s in seeds:
        a, b = _run(base, s, steps, reference=base), _run(var, s, steps, reference=base)
        fa, fb = set(a.firms_frame()["fid"]), set(b.firms_frame()["fid"])
        la, lb = _links(a), _links(b)
        out.append((len(fb) - len(fa), len(fa & fb) / len(fa | fb), len(la & lb) / len(la | lb)))
    return np.array(out)


def test_draws_by_purpose_keep_paired_runs_coupled():
    """Common random numbers synchronised by purpose: the two runs of a pair keep most of their firms
    and supplier links in common and their paired differences vary less across seeds than with one
    shared stream (paired seeds 1-4, 600 firms, 12 quarters; measured: firm overlap 0.97-0.98 against
    0.69-0.77, link overlap 0.80-0.83 against 0.25-0.33, sd of the paired difference of the firm
    count 3.3 against 32.5 firms)."""
    shared, purpose = _pairs("shared"), _pairs("by_purpose")
    assert purpose[:, 1].min() > shared[:, 1].max() + 0.1
    assert purpose[:, 2].min() > shared[:, 2].max() + 0.2
    assert purpose[:, 0].std(ddof=1) < 0.6 * shared[:, 0].std(ddof=1)


def test_the_settled_start_is_the_same_in_both_settings_and_mixing_them_keeps_ids_unique():
    """The burn-in draws from the run's one generator in both settings (found by review: keyed draws
    in the burn-in changed the start and let a shared run reuse the ids of keyed entrants)."""
    shared = load_scenario(BASELINE).with_overrides(SMALL)
    purpose = shared.with_overrides({"solver.random_streams": "by_purpose"})
    a, b = (
        AgglomerationModel(shared, replicate_seed=1),
        AgglomerationModel(purpose, replicate_seed=1),
    )
    assert a.firms_frame().equals(b.firms_frame())
    assert b.state.entrant_key_next == -1
    mixed = _run(shared, 1, 10, reference=purpose)  # a shared run from a by-purpose reference
    fids = mixed.firms_frame()["fid"]
    assert fids.is_unique
