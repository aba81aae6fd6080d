"""The metric registry: every metric the model emits has an entry; entries present metrics sensibly."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from agglomeration.metrics.registry import (
    BUILTIN,
    KINDS,
    REGISTRY,
    MetricInfo,
    manifest_entries,
    registry_for,
    world_entries,
)
from agglomeration.model import AgglomerationModel
from agglomeration.report.numbers import decimals_for, format_estimate, format_number, format_p
from agglomeration.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def baseline_model():
    scenario = load_scenario(ROOT / "scenarios" / "baseline.toml", {"firms.initial_count": 100})
    model = AgglomerationModel(scenario, replicate_seed=1)
    model.run(2)
    return model


def test_every_metric_a_baseline_run_emits_has_a_registry_entry(baseline_model):
    """New metrics cannot be added without a label, unit, kind and valid range."""
    emitted = set(baseline_model.headline_metrics()) | set(baseline_model.series_frame().columns)
    emitted.discard("step")
    registry = REGISTRY.extended(world_entries(baseline_model.world))  # + the logistics outcomes
    missing = sorted(m for m in emitted if m not in registry)
    assert not missing, f"add registry entries (agglomeration/metrics/registry.py) for {missing}"
    for m in emitted:  # every value of the run lies in its metric's valid range
        info = registry.info(m)
        value = baseline_model.headline_metrics().get(m)
        if value is not None and math.isfinite(value):
            assert info.low <= value <= info.high, (m, value)


def test_logistics_entries_are_recorded_and_known_by_family_without_them(baseline_model):
    """Data-dependent names: entries from the World, through a manifest, and by family without one;
    none of them joins the default (primary) family of compare and plot."""
    entries = world_entries(baseline_model.world)
    names = [i.name for i in entries]
    assert "export_share" in names and "market_access_CD" in names
    reg = registry_for({"metrics": manifest_entries(entries)})
    assert reg.label("market_access_CD").startswith("Market access, Chengdu")
    assert reg.info("corridor_lsc_kt").high == math.inf
    for name in names:
        family = REGISTRY.info(name)  # no manifest: recognised by its family, same kind and unit
        assert family.registered and family.kind == reg.info(name).kind, name
        assert family.unit == reg.info(name).unit, name
    assert REGISTRY.info("mode_share_eu_rail_value").is_share
    assert reg.primary(["firms", *names]) == ["firms"]
    assert REGISTRY.primary(["firms", *names, "my_reporter"]) == ["firms", "my_reporter"]


def test_entries_are_complete_and_kinds_consistent():
    for name, info in BUILTIN.items():
        assert info.name == name and info.label and info.kind in KINDS
        assert info.label[0].isupper() and "_" not in info.label
        if info.kind == "share":
            assert (info.low, info.high) == (0.0, 1.0)
        if info.kind in ("count", "money"):
            assert info.low == 0.0


def test_axis_labels_do_not_repeat_the_unit_and_shares_are_percent():
    assert REGISTRY.axis_label("firms_connected") == "Firms in connected areas"  # not "(firms)"
    assert REGISTRY.axis_label("employment") == "Employment (workers)"
    assert REGISTRY.axis_label("connected_firm_share") == "Firm share of the connected areas (%)"
    assert REGISTRY.info("import_share").difference_unit == "pp"
    assert not REGISTRY.info("import_share").ratio_scale and REGISTRY.info("output").ratio_scale


def test_unknown_metrics_get_a_neutral_fallback_and_invalid_entries_fail():
    info = REGISTRY.info("my_new_metric")
    assert not info.registered and info.label == "My new metric" and info.kind == "index"
    with pytest.raises(ValueError, match="kind"):
        MetricInfo("x", "X", "", "percent")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="share has the range"):
        MetricInfo("x", "X", "", "share", 0.0, 2.0)


def test_reporters_of_an_experiment_extend_the_registry():
    manifest = {
        "experiment": {
            "reporters": {
                "chain_firms": {"function": "m:f", "label": "Chain firms", "unit": "firms",
                                "kind": "count", "range": [0, None]},
            }
        }
    }  # fmt: skip
    reg = registry_for(manifest)
    info = reg.info("chain_firms")
    assert info.registered and info.kind == "count" and info.low == 0 and info.high == math.inf
    assert reg.primary(["firms_other", "chain_firms"]) == ["chain_firms"]
    assert registry_for({}) is REGISTRY


@pytest.mark.parametrize(
    ("value", "low", "high", "text"),
    [
        (0.12, 0.0977, 0.142, "0.120 [0.098, 0.142]"),
        (1347.2, 1280.3, 1414.1, "1,347 [1,280, 1,414]"),
        (-23.04, -30.3, -15.7, "-23.0 [-30.3, -15.7]"),
        (5.0, 5.0, 5.0, "5.00 [5.00, 5.00]"),
        (float("nan"), 1.0, 2.0, "NA"),
        (-3.55e-15, -2.2, 2.2, "0.0 [-2.2, 2.2]"),  # floating-point noise of an exact zero
    ],
)
def test_estimates_share_one_rounding_rule(value, low, high, text):
    assert format_estimate(value, low, high) == text


def test_number_formatting_edge_cases():
    assert format_number(1234567.0, 0) == "1,234,567"
    assert format_number(-0.0001, 2) == "0.00"  # no negative zero
    assert format_number(3.0, 1, sign=True) == "+3.0"
    assert format_number(1.78e-15, 1, sign=True) == "0.0"  # below the resolution: 0, not 1.78e-15
    assert format_number(1.78e-15) == "1.78e-15"  # no decimals set: the value's own digits
    assert format_number(float("inf")) == "NA"
    assert decimals_for(0.5, 0.0) == 3  # no interval: three significant digits (0.500)
    assert (
        format_p(0.0004) == "<0.001"
        and format_p(float("nan")) == "NA"
        and format_p(0.0312) == "0.031"
    )


def test_delivered_cost_is_shown_in_percent_of_value_as_on_the_dashboard():
    """The delivered freight cost (a fraction of the goods' value) was shown raw in the compare table
    and on figure axes ("0.0072 share of value") while the dashboard shows "% of value"."""
    from _fakes import policy_runs
    from agglomeration.experiment.compare import compare

    info = REGISTRY.info("delivered_cost_LJ")
    assert info.axis_label() == "Delivered freight cost, LJ (% of value)"
    assert (info.scale, info.difference_unit) == (100.0, "pp of value")
    assert info.kind == "index" and info.ratio_scale  # the statistics are those of before
    runs = policy_runs({"baseline": 0.0, "wz": 10.0}, replicates=4)
    runs["delivered_cost_LJ"] = 0.0072 + 0.001 * (runs["variant"] == "wz") + runs["replicate"] / 1e4
    table = compare(runs, metrics=["delivered_cost_LJ"]).table(numeric=True)
    base = table.loc[table["Variant"] == "baseline"].iloc[0]
    assert base["Unit"] == "% of value" and abs(base["Mean"] - 0.735) < 1e-9
    wz = table.loc[table["Variant"] == "wz"].iloc[0]
    assert wz["Difference unit"] == "pp of value" and abs(wz["Difference"] - 0.1) < 1e-9
