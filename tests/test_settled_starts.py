"""Settled starts reused within a process (settled_starts.py) give bit-identical results."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from agglomeration import settled_starts
from agglomeration.model import AgglomerationModel
from agglomeration.scenario import load_scenario

BASELINE = Path(__file__).resolve().parents[1] / "scenarios" / "baseline.toml"
SMALL = {"firms.initial_count": 200, "burn_in": 10}


@pytest.fixture(autouse=True)
def empty_cache(monkeypatch):
    settled_starts.clear()
    yield
    settled_starts.clear()


def _run(scenario, seed: int, steps: int = 6, reference=None) -> AgglomerationModel:
    m = AgglomerationModel(scenario, replicate_seed=seed, reference=reference)
    m.run(steps)
    return m


def _same(a: AgglomerationModel, b: AgglomerationModel) -> None:
    pd.testing.assert_frame_equal(a.series_frame(), b.series_frame())
    pd.testing.assert_frame_equal(a.firms_frame(), b.firms_frame())
    assert a.rng.bit_generator.state == b.rng.bit_generator.state


def _counting_initialisations(monkeypatch) -> list:
    """Each call of the model's initialisation appends to the returned list (a kept start makes none)."""
    from agglomeration import model as model_module

    calls: list = []
    real = model_module.initial_state
    monkeypatch.setattr(model_module, "initial_state", lambda *a: calls.append(1) or real(*a))
    return calls


def test_a_kept_start_gives_the_results_of_a_fresh_burn_in(monkeypatch):
    s = load_scenario(BASELINE, SMALL)
    monkeypatch.setattr(settled_starts, "KEPT", 0)
    fresh = _run(s, 3)  # the cache switched off: initialisation and burn-in
    monkeypatch.setattr(settled_starts, "KEPT", 4)
    first = _run(s, 3)  # runs the burn-in and keeps it
    assert len(settled_starts._kept) == 1
    calls = _counting_initialisations(monkeypatch)
    again = _run(s, 3)  # starts from the kept state
    assert calls == []  # the kept start was used (a miss would initialise and burn in again)
    _same(fresh, first)
    _same(fresh, again)
    # the kept state is a copy: running a model from it changed nothing that a later model sees
    _same(fresh, _run(s, 3))


def test_variants_sharing_a_reference_reuse_its_burn_in(monkeypatch):
    base = load_scenario(BASELINE, SMALL)
    lever = load_scenario(BASELINE, {**SMALL, "policy.delegation.connected": 1.0})
    monkeypatch.setattr(settled_starts, "KEPT", 0)
    fresh = _run(lever, 2, reference=base)
    monkeypatch.setattr(settled_starts, "KEPT", 4)
    _run(base, 2, reference=base)  # keeps the reference's settled start
    calls = _counting_initialisations(monkeypatch)
    reused = _run(lever, 2, reference=base)
    assert calls == [] and len(settled_starts._kept) == 1
    _same(fresh, reused)


def test_a_switched_off_cache_serves_no_start_it_kept_before(monkeypatch):
    """KEPT = 0 (as tests that patch the initialisation set it) also stops the starts kept before
    from being used: the model runs its own initialisation and burn-in."""
    from agglomeration import model as model_module

    s = load_scenario(BASELINE, SMALL)
    _run(s, 3, steps=0)
    assert len(settled_starts._kept) == 1
    calls = []
    real = model_module.initial_state
    monkeypatch.setattr(model_module, "initial_state", lambda *a: calls.append(1) or real(*a))
    monkeypatch.setattr(settled_starts, "KEPT", 0)
    _run(s, 3, steps=0)
    assert calls == [1]


def test_other_seeds_or_contents_do_not_share_a_start():
    s = load_scenario(BASELINE, SMALL)
    a, b = _run(s, 1, steps=0), _run(s, 2, steps=0)
    other = _run(load_scenario(BASELINE, {**SMALL, "behaviour.exit.after_losses": 9}), 1, steps=0)
    assert len(settled_starts._kept) == 3
    assert not np.array_equal(a.firms_frame()["employment"], b.firms_frame()["employment"])
    assert other.start_spec.fingerprint() != a.start_spec.fingerprint()


def test_a_callers_world_is_never_taken_from_or_put_in_the_cache():
    from agglomeration.world import build_world

    s = load_scenario(BASELINE, SMALL)
    AgglomerationModel(s, replicate_seed=1, world=build_world(s))
    assert len(settled_starts._kept) == 0
