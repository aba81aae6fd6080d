"""Parameter sections: one per submodel; keys of earlier versions still work, with a warning."""

from __future__ import annotations

from pathlib import Path

import pytest

from agglomeration.errors import InputError
from agglomeration.parameters import BehaviourParams, DeprecatedKeyWarning
from agglomeration.scenario import load_scenario

BASELINE = Path(__file__).resolve().parents[1] / "scenarios" / "baseline.toml"


def test_every_submodel_section_is_present_with_its_defaults():
    bp = BehaviourParams()
    assert bp.entry.floor == 2.0 and bp.sourcing.search_probability == 0.10
    assert bp.relocation.profit == "real" and bp.learning.enabled is True


def test_flat_keys_of_earlier_versions_in_a_file_are_moved_with_a_warning(tmp_path):
    f = tmp_path / "old.toml"
    f.write_text(
        f'extends = "{BASELINE}"\nname = "old"\n[behaviour]\nentry_floor = 5.0\n'
        "price_iterations = 40\nrelocation_probability = 0.02\n"
    )
    with pytest.warns(DeprecatedKeyWarning) as record:
        s = load_scenario(f)
    messages = " ".join(str(w.message) for w in record)
    assert "behaviour.entry_floor is deprecated; use behaviour.entry.floor" in messages
    assert "use solver.price_iterations" in messages and str(f) in messages
    assert s.behaviour.entry.floor == 5.0
    assert s.solver.price_iterations == 40
    assert s.behaviour.relocation.probability == 0.02


def test_old_dotted_overrides_and_python_keywords_still_work():
    with pytest.warns(DeprecatedKeyWarning, match="behaviour.sourcing.search_probability"):
        s = load_scenario(BASELINE, {"behaviour.search_probability": 0.3})
    assert s.behaviour.sourcing.search_probability == 0.3
    with pytest.warns(DeprecatedKeyWarning, match="solver.income_iterations"):
        s = load_scenario(BASELINE, behaviour__income_iterations=2)
    assert s.solver.income_iterations == 2
    with pytest.warns(DeprecatedKeyWarning, match="behaviour.exit.after_losses"):
        assert BehaviourParams(exit_after_losses=3).exit.after_losses == 3


def test_a_key_set_both_ways_or_misspelt_is_an_input_error(tmp_path):
    f = tmp_path / "both.toml"
    f.write_text(
        f'extends = "{BASELINE}"\nname = "both"\n[behaviour]\nentry_floor = 5.0\n'
        "[behaviour.entry]\nfloor = 3.0\n"
    )
    with pytest.warns(DeprecatedKeyWarning), pytest.raises(InputError, match=r"entry\.floor"):
        load_scenario(f)
    with pytest.raises(InputError, match=r"did you mean 'entry\.floor'") as exc:
        load_scenario(BASELINE, {"behaviour.flor": 1.0})
    assert exc.value.field == "behaviour.flor"
    with pytest.raises(InputError, match="did you mean 'floor'") as exc:
        load_scenario(BASELINE, {"behaviour.entry.flor": 1.0})
    assert exc.value.field == "behaviour.entry.flor"


@pytest.mark.parametrize(
    ("key", "highest", "too_high"),
    [
        ("behaviour.entry.floor", 1e4, 1.5e4),
        ("firms.initial_count", 5_000_000, 5_000_001),
        ("output.series_every", 10_000, 10_001),
    ],
)
def test_parameters_that_make_runs_long_are_bounded(key, highest, too_high):
    """Upper bounds on the values that scale a run's work (docs/RELIABILITY.md): the bound itself is
    accepted, anything above is an InputError naming the field."""
    scen = load_scenario(BASELINE, {key: highest})
    section, *rest = key.split(".")
    value = getattr(scen, section)
    for part in rest:
        value = getattr(value, part)
    assert value == highest
    with pytest.raises(InputError, match=r"less than or equal to") as err:
        load_scenario(BASELINE, {key: too_high})
    assert key in str(err.value)
