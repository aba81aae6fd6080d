"""The schedule as data: a toy submodel and its lever, each declared once, run with the model."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import numpy as np
import pytest

from agglomeration import levers, submodel
from agglomeration.errors import InputError
from agglomeration.experiment.spec import experiment_from_dict
from agglomeration.model import SCHEDULE, AgglomerationModel
from agglomeration.report import dashboard
from agglomeration.scenario import load_scenario

BASELINE = Path(__file__).resolve().parents[1] / "scenarios" / "baseline.toml"


@pytest.fixture
def toy():
    """Import the toy submodel module (declaring its section and lever); undeclare them afterwards so
    other tests see the built-in schema only."""
    module = importlib.import_module("_toy_submodel")
    yield module
    submodel._REGISTRY.pop("toy_grant", None)
    levers._DECLARED[:] = [lv for lv in levers._DECLARED if lv.path != module.GRANT.path]
    sys.modules.pop("_toy_submodel", None)


def test_a_toy_submodel_and_lever_run_with_one_module_and_one_schedule_entry(toy):
    class ToyModel(AgglomerationModel):
        schedule = (*SCHEDULE, toy.SUBMODEL)

    base = load_scenario(BASELINE, {"firms.initial_count": 300, "burn_in": 0})
    granted = base.with_overrides({"behaviour.toy_grant.amount": 1.0})
    off, on = ToyModel(base, replicate_seed=1), ToyModel(granted, replicate_seed=1)
    off.run(4)
    on.run(4)
    # its counter is observed every step, from the schedule
    assert (on.series_frame()["grants"].iloc[1:] > 0).all()
    assert (off.series_frame()["grants"] == 0).all()
    # and the grant reached the FTZ firms' equity (same seed: only the toy differs at step 1)
    ftz = lambda m: np.asarray(m.world.region_type)[m.firms.region] == "ftz"  # noqa: E731
    assert on.firms.equity[ftz(on)].mean() > off.firms.equity[ftz(off)].mean()
    # the default schedule does not have it
    assert "grants" not in AgglomerationModel(base, replicate_seed=1).series_frame()


def test_the_toy_lever_is_validated_offered_and_documented_from_its_one_declaration(toy):
    path = toy.GRANT.path
    with pytest.raises(InputError) as exc:
        load_scenario(BASELINE, {path: 9.0})
    assert exc.value.field == path and "less than or equal to 5" in str(exc.value)
    design = {"kind": "lhs", "samples": 4, "parameters": {path: {"bounds": [0.0, 9.0]}}}
    with pytest.raises(InputError, match=path):
        experiment_from_dict(
            {"name": "x", "scenario": str(BASELINE), "replicates": 1, "design": design}
        )
    assert path in {c.key for c in dashboard.controls()}
    assert f"`{path}`" in levers.markdown_table()


def test_undeclared_counters_and_taken_names_are_programming_errors(toy):
    bad = submodel.Submodel(
        name="toy_bad", step=lambda *a: {"oops": 1}, summary="reports an undeclared counter"
    )
    try:
        with pytest.raises(ValueError, match="undeclared counters"):
            bad.run(None, None, None, None)
        with pytest.raises(ValueError, match="already declared"):
            submodel.Submodel(name="entry", step=lambda *a: None, summary="clash")
        with pytest.raises(ValueError, match="must match"):
            submodel.Submodel(name="Bad Name", step=lambda *a: None, summary="bad")
    finally:
        submodel._REGISTRY.pop("toy_bad", None)


def test_step_docstring_and_counters_come_from_the_schedule():
    text = submodel.describe(SCHEDULE)
    for sub in SCHEDULE:
        assert f"`{sub.name}`" in text
        assert f"`{sub.name}`" in AgglomerationModel.step.__doc__
    names = [s.name for s in SCHEDULE]
    assert len(names) == len(set(names))
    m = AgglomerationModel(load_scenario(BASELINE, {"firms.initial_count": 200}), replicate_seed=2)
    assert m.counters == tuple(c for sub in SCHEDULE for c in sub.counters)
    assert {"supplier_switches", "entries", "relocations", "exits"} <= set(m.counters)
    assert set(m.counters) <= set(m.series_frame().columns)
