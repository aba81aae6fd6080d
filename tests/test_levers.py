"""Levers: each declared once; the declaration drives validation and the generated docs table."""

from __future__ import annotations

from pathlib import Path

import pytest

from agglomeration import levers
from agglomeration.errors import InputError
from agglomeration.scenario import load_scenario
from agglomeration.world import build_world

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.toml"


@pytest.fixture(scope="module")
def baseline():
    return load_scenario(BASELINE)


def _example_path(lever: levers.Lever) -> str:
    key = {"region": "connected", "mode": "rail", "place": "WZ", "domain": "supervision"}.get(
        lever.keys or "", ""
    )
    return f"{lever.table}.{key}" if lever.per_key else lever.path


@pytest.mark.parametrize("lever", levers.LEVERS, ids=lambda lv: lv.path)
def test_every_lever_is_a_scenario_field_and_its_bounds_are_enforced(baseline, lever):
    path = _example_path(lever)
    inside = lever.lo + 0.5 * (min(lever.hi, lever.lo + 2.0) - lever.lo)
    baseline.with_overrides({path: inside})  # accepted
    for outside in (lever.hi + 1.0, lever.lo - 1.0, float("nan")):
        with pytest.raises(InputError) as exc:
            baseline.with_overrides({path: outside})
        assert exc.value.field.startswith(path)
    if lever.lo_open:
        with pytest.raises(InputError):
            baseline.with_overrides({path: lever.lo})


def test_per_key_levers_reject_unknown_keys_with_a_suggestion(baseline):
    with pytest.raises(InputError, match="did you mean 'rail'") as exc:
        baseline.with_overrides({"logistics.tariff_multiplier.rial": 0.5})
    assert exc.value.field == "logistics.tariff_multiplier.rial"
    with pytest.raises(InputError, match="unknown key 'XX'"):
        baseline.with_overrides({"policy.delegation.XX": 0.5})


def test_all_applies_to_every_key_and_specific_keys_win(baseline):
    world = build_world(baseline.with_overrides({"policy.delegation.all": 0.9}))
    assert (world.delegation == 0.9).all()
    world = build_world(
        baseline.with_overrides(
            {
                "policy.delegation.all": 0.9,
                "policy.delegation.connected": 0.4,
                "policy.delegation.WZ": 0.1,
            }
        )
    )
    rtype = world.region_type
    wz = list(world.region_ids).index("WZ")
    assert world.delegation[wz] == 0.1
    assert (world.delegation[(rtype == "connected") & (world.region_ids != "WZ")] == 0.4).all()
    assert (world.delegation[rtype == "ftz"] == 0.9).all()
    # multipliers multiply: all x mode
    s = baseline.with_overrides(
        {"logistics.tariff_multiplier.all": 0.5, "logistics.tariff_multiplier.rail": 0.5}
    )
    base = {m.mode: m.tariff for m in baseline.data.modes}
    new = {m.mode: m.tariff for m in s.data.modes}
    assert new["rail"] == pytest.approx(0.25 * base["rail"])
    assert new["road"] == pytest.approx(0.5 * base["road"])


def test_the_docs_lever_table_is_generated_from_the_declarations():
    text = (ROOT / "docs" / "LEVERS.md").read_text()
    assert levers.markdown_table() in text, "regenerate: python scripts/generate_docs.py"
    for lever in levers.LEVERS:
        assert f"`{lever.path}`" in text
