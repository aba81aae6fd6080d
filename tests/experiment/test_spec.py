"""Experiment files, designs and seeds (no model runs): validation, sampling properties, seed streams."""

from __future__ import annotations

import numpy as np
import pytest

from agglomeration.errors import InputError
from agglomeration.experiment.design import build_design
from agglomeration.experiment.seeds import design_seed, replicate_seed, run_id
from agglomeration.experiment.spec import DesignSpec, flatten_overrides, load_experiment


def _write(tmp_path, text: str, name: str = "exp.toml"):
    (tmp_path / "scen.toml").write_text('name = "s"\n')
    p = tmp_path / name
    p.write_text(text)
    return p


BASE = 'name = "e1"\nscenario = "scen.toml"\nreplicates = 3\nseed = 11\n'


def test_minimal_experiment_resolves_scenario_relative_to_file(tmp_path):
    exp = load_experiment(_write(tmp_path, BASE))
    assert exp.scenario == (tmp_path / "scen.toml").resolve()
    assert [v.name for v in exp.all_variants()] == ["base"]
    assert exp.replicates == 3 and exp.seed == 11 and exp.model_ref.endswith(":AgglomerationModel")


def test_unknown_key_is_input_error_with_did_you_mean(tmp_path):
    with pytest.raises(InputError) as ei:
        load_experiment(_write(tmp_path, BASE + "replicats = 4\n"))
    assert "replicats" in str(ei.value) and "did you mean 'replicates'" in str(ei.value)
    with pytest.raises(InputError) as ei:
        load_experiment(_write(tmp_path, BASE + "[output]\nlinkz = true\n"))
    assert ei.value.field == "output.linkz" and "'links'" in str(ei.value)
    assert str(tmp_path / "exp.toml") in str(ei.value)


@pytest.mark.parametrize("bad", ["../escape", "a/b", "", "1abc", "x y"])
def test_variant_names_must_be_safe_identifiers(tmp_path, bad):
    text = BASE + f'[[variants]]\nname = "{bad}"\n'
    with pytest.raises(InputError) as ei:
        load_experiment(_write(tmp_path, text))
    assert "variants.0.name" in str(ei.value)


def test_duplicate_variant_names_rejected(tmp_path):
    text = BASE + '[[variants]]\nname = "a"\n[[variants]]\nname = "a"\n'
    with pytest.raises(InputError, match="used twice"):
        load_experiment(_write(tmp_path, text))


def test_nested_and_dotted_overrides_are_equivalent(tmp_path):
    a = BASE + '[[variants]]\nname = "a"\noverrides = { policy = { delegation = { WZ = 0.9 } } }\n'
    b = BASE + '[[variants]]\nname = "a"\noverrides = { "policy.delegation.WZ" = 0.9 }\n'
    ea = load_experiment(_write(tmp_path, a, "a.toml"))
    eb = load_experiment(_write(tmp_path, b, "b.toml"))
    assert ea.variants[0].overrides == eb.variants[0].overrides == {"policy.delegation.WZ": 0.9}
    assert flatten_overrides({"x": {"y": 1}, "z": 2}) == {"x.y": 1, "z": 2}


def test_overrides_and_set_route_to_experiment_or_scenario(tmp_path):
    p = _write(tmp_path, BASE)
    exp = load_experiment(
        p,
        replicates=7,
        steps=5,
        set={"seed": 3, "output.links": True, "policy.replication_rate": 0.2},
    )
    assert (exp.replicates, exp.steps, exp.seed, exp.output.links) == (7, 5, 3, True)
    assert exp.overrides == {"policy.replication_rate": 0.2}
    with pytest.raises(InputError, match="did you mean 'replicates'"):
        load_experiment(p, replicate=2)
    with pytest.raises(InputError):
        load_experiment(p, replicates=0)


def test_output_series_every_is_at_most_the_longest_run(tmp_path):
    assert load_experiment(_write(tmp_path, BASE + "[output]\nseries_every = 10000\n"))
    with pytest.raises(InputError) as ei:
        load_experiment(_write(tmp_path, BASE + "[output]\nseries_every = 10001\n"))
    assert ei.value.field == "output.series_every" and "10000" in str(ei.value)


@pytest.mark.parametrize("setting", ['series_metrics = ["firms"]', "series_every = 4"])
def test_series_settings_with_series_off_are_an_error_not_ignored(tmp_path, setting):
    """``series = false`` with ``series_metrics`` was accepted and the metrics silently ignored."""
    assert (
        load_experiment(_write(tmp_path, BASE + "[output]\nseries = false\n")).output.series
        is False
    )
    with pytest.raises(InputError) as ei:
        load_experiment(_write(tmp_path, BASE + f"[output]\nseries = false\n{setting}\n"))
    assert ei.value.field == "output" and setting.split()[0] in str(ei.value)
    assert "series = false writes no series" in str(ei.value)


@pytest.mark.parametrize(
    "text",
    [
        "[output]\nseries = false\n",
        '[design]\nkind = "morris"\nsamples = 3\n[design.parameters."policy.replication_rate"]\n'
        "bounds = [0.0, 0.5]\n",
        '[design]\nkind = "grid"\n[design.parameters."policy.replication_rate"]\nvalues = [0.1, 0.2]\n',
    ],
)
def test_an_experiment_written_back_by_to_dict_loads_again(tmp_path, text):
    """A stored manifest writes every field (series_metrics, second_order, levels, distribution): the
    checks of options that would be ignored look at their values, not at whether they were written."""
    from agglomeration.experiment.spec import experiment_from_dict

    exp = load_experiment(_write(tmp_path, BASE + text))
    again = experiment_from_dict(exp.to_dict())
    assert again.fingerprint() == exp.fingerprint()
    assert experiment_from_dict(exp.to_dict(), stored=True).fingerprint() == exp.fingerprint()


def test_missing_scenario_and_bad_toml(tmp_path):
    p = tmp_path / "x.toml"
    p.write_text('name = "e"\nscenario = "nope.toml"\n')
    with pytest.raises(InputError, match="scenario file not found"):
        load_experiment(p)
    p.write_text("name = \n")
    with pytest.raises(InputError, match="not valid TOML"):
        load_experiment(p)
    with pytest.raises(InputError, match="not found"):
        load_experiment(tmp_path / "missing.toml")


@pytest.mark.parametrize(
    ("design", "needle"),
    [
        (
            'kind = "morris"\nsamples = 3\nsecond_order = true\n',
            "`second_order` is an option of sobol",
        ),
        ('kind = "sobol"\nsamples = 4\nlevels = 8\n', "`levels` is an option of morris"),
        ('kind = "lhs"\nsamples = 4\nlevels = 8\n', "`levels` is an option of morris"),
    ],
)
def test_an_option_of_another_kind_of_design_is_an_error_not_ignored(tmp_path, design, needle):
    param = '[design.parameters."behaviour.relocation.probability"]\nbounds = [0.0, 0.05]\n'
    with pytest.raises(InputError, match=needle) as ei:
        load_experiment(_write(tmp_path, BASE + "[design]\n" + design + param))
    assert ei.value.field == "design"
    grid = '[design]\nkind = "grid"\n[design.parameters."policy.replication_rate"]\n'
    with pytest.raises(InputError, match="takes no `distribution`"):
        load_experiment(
            _write(tmp_path, BASE + grid + 'values = [0.1, 0.2]\ndistribution = "normal"\n')
        )


def test_design_validation_messages(tmp_path):
    grid_with_bounds = (
        BASE + '[design]\nkind = "grid"\n[design.parameters."a.b"]\nbounds = [0, 1]\n'
    )
    with pytest.raises(InputError, match="needs `values"):
        load_experiment(_write(tmp_path, grid_with_bounds))
    sobol_no_samples = (
        BASE + '[design]\nkind = "sobol"\n[design.parameters."a.b"]\nbounds = [0, 1]\n'
    )
    with pytest.raises(InputError, match="needs `samples`"):
        load_experiment(_write(tmp_path, sobol_no_samples))
    reversed_bounds = (
        BASE + '[design]\nkind = "lhs"\nsamples = 4\n[design.parameters."a.b"]\nbounds = [1, 0]\n'
    )
    with pytest.raises(InputError, match="low < high"):
        load_experiment(_write(tmp_path, reversed_bounds))


def test_fingerprint_ignores_growth_fields_only(tmp_path):
    p = _write(tmp_path, BASE)
    e = load_experiment(p)
    assert load_experiment(p, replicates=9).fingerprint() == e.fingerprint()
    assert load_experiment(p, seed=12).fingerprint() != e.fingerprint()
    assert load_experiment(p, steps=4).fingerprint() != e.fingerprint()
    assert load_experiment(p, set={"output.links": True}).fingerprint() != e.fingerprint()


# ---------------------------------------------------------------------------------------------- design
def _spec(kind, **kw):
    params = kw.pop(
        "parameters",
        {
            "a": {"bounds": [0.0, 1.0]},
            "b": {"bounds": [10.0, 20.0]},
            "c": {"bounds": [1, 5], "integer": True},
        },
    )
    return DesignSpec.model_validate({"kind": kind, "parameters": params, **kw})


def test_grid_is_full_factorial_in_file_order():
    d = build_design(
        _spec("grid", parameters={"x": {"values": [1, 2, 3]}, "y": {"values": ["a", "b"]}}), 0
    )
    assert len(d) == 6
    assert list(d.points["x"]) == [1, 1, 2, 2, 3, 3] and list(d.points["y"]) == ["a", "b"] * 3
    assert d.overrides(3) == {"x": 2, "y": "b"}


def test_lhs_stratifies_each_dimension_and_respects_bounds_and_integers():
    n = 20
    d = build_design(_spec("lhs", samples=n), seed=5)
    assert len(d) == n
    a = d.points["a"].to_numpy()
    # one point in each of the n equal strata of [0, 1)
    assert sorted(np.floor(a * n).astype(int)) == list(range(n))
    assert d.points["b"].between(10, 20).all()
    assert d.points["c"].dtype.kind == "i" and d.points["c"].between(1, 5).all()
    # reproducible from the seed, different for another seed
    assert d.points.equals(build_design(_spec("lhs", samples=n), seed=5).points)
    assert not d.points.equals(build_design(_spec("lhs", samples=n), seed=6).points)


def test_integer_parameters_round_within_their_bounds():
    """[4.2, 4.4] rounded every point to 4, outside its bounds; [3.4, 6.4] rounded some to 3."""
    with pytest.raises(ValueError, match="hold no integer"):
        _spec("lhs", samples=4, parameters={"c": {"bounds": [4.2, 4.4], "integer": True}})
    with pytest.raises(ValueError, match="one integer only"):
        _spec("lhs", samples=4, parameters={"c": {"bounds": [3.6, 4.4], "integer": True}})
    d = build_design(
        _spec("lhs", samples=40, parameters={"c": {"bounds": [3.4, 6.4], "integer": True}}), 1
    )
    assert set(d.points["c"]) == {4, 5, 6}


def test_sobol_saltelli_size_and_prefix_stability():
    d8 = build_design(_spec("sobol", samples=8), seed=1)
    d16 = build_design(_spec("sobol", samples=16), seed=1)
    assert len(d8) == 8 * (3 + 2) and len(d16) == 16 * (3 + 2)
    assert (
        d16.points.iloc[: len(d8)].reset_index(drop=True).equals(d8.points.reset_index(drop=True))
    )
    d2 = build_design(_spec("sobol", samples=8, second_order=True), seed=1)
    assert len(d2) == 8 * (2 * 3 + 2)
    assert d8.problem["names"] == ["a", "b", "c"] and d8.options["calc_second_order"] is False


def test_sobol_normal_distribution_matches_mean_and_sd():
    spec = _spec(
        "sobol", samples=512, parameters={"x": {"bounds": [3.0, 0.5], "distribution": "normal"}}
    )
    x = build_design(spec, seed=2).points["x"].to_numpy()
    assert abs(x.mean() - 3.0) < 0.05 and abs(x.std() - 0.5) < 0.05


def test_morris_trajectories_change_one_factor_per_step():
    k = 3
    d = build_design(_spec("morris", samples=4, levels=4), seed=3)
    assert len(d) == 4 * (k + 1)
    m = d.points.to_numpy(dtype=float)
    for t in range(4):
        traj = m[t * (k + 1) : (t + 1) * (k + 1)]
        changed = (np.abs(np.diff(traj, axis=0)) > 1e-12).sum(axis=1)
        assert (changed <= 1).all()


# ---------------------------------------------------------------------------------------------- seeds
def test_common_random_numbers_and_extension_stability():
    s = [replicate_seed(42, r).seed for r in range(5)]
    assert len(set(s)) == 5
    # replicate r's seed does not depend on the point (CRN) nor on how many replicates exist
    assert replicate_seed(42, 3, point={"x": 1}).seed == s[3]
    ss = np.random.SeedSequence(42).spawn(5)[3]
    assert replicate_seed(42, 3).spawn_key == ss.spawn_key
    # independent streams differ by point
    a = replicate_seed(42, 0, seeding="independent", point={"x": 1}).seed
    b = replicate_seed(42, 0, seeding="independent", point={"x": 2}).seed
    assert a != b and a != s[0]
    assert design_seed(42) not in s


def test_run_id_is_stable_and_sensitive_to_each_input():
    base = run_id("fp", 1, 10, "m:M")
    assert base == run_id("fp", 1, 10, "m:M") and len(base) == 16
    assert (
        len(
            {
                base,
                run_id("fp2", 1, 10, "m:M"),
                run_id("fp", 2, 10, "m:M"),
                run_id("fp", 1, 11, "m:M"),
                run_id("fp", 1, 10, "m:N"),
            }
        )
        == 5
    )


def test_fingerprint_does_not_depend_on_where_the_project_lives(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    ea = load_experiment(_write(a, BASE))
    eb = load_experiment(_write(b, BASE))
    assert ea.scenario != eb.scenario and ea.fingerprint() == eb.fingerprint()


@pytest.mark.parametrize(
    "line, field, got",
    [
        ('replicates = "3"', "replicates", "'3'"),
        ("steps = true", "steps", "True"),  # int | None: the optional field was not checked either
        ('seed = "11"', "seed", "'11'"),
    ],
)
def test_a_number_of_the_experiment_given_as_a_string_or_boolean_is_an_error(
    tmp_path, line, field, got
):
    """pydantic read "3" as 3 and true as 1."""
    text = BASE.replace("replicates = 3\nseed = 11\n", "") + line + "\n"
    with pytest.raises(InputError) as ei:
        load_experiment(_write(tmp_path, text))
    assert ei.value.field == field and "expected an integer" in str(ei.value)
    assert f"got {got}" in str(ei.value)


def test_sobol_samples_must_be_a_power_of_two_and_grid_levels_distinct(tmp_path):
    sobol = (
        BASE
        + '[design]\nkind = "sobol"\nsamples = 12\n[design.parameters."a.b"]\nbounds = [0, 1]\n'
    )
    with pytest.raises(InputError, match=r"samples 12 is not a power of 2.*use 8 or 16"):
        load_experiment(_write(tmp_path, sobol))
    grid = BASE + '[design]\nkind = "grid"\n[design.parameters."a.b"]\nvalues = [0.1, 0.1]\n'
    with pytest.raises(InputError, match="repeats a level"):
        load_experiment(_write(tmp_path, grid))


def test_a_variant_and_the_design_cannot_set_the_same_path(tmp_path):
    exp = (
        BASE
        + '[design]\nkind = "grid"\n[design.parameters."a.b"]\nvalues = [0.1, 0.2]\n'
        + '[[variants]]\nname = "v"\noverrides = { "a.b" = 0.5 }\n'
    )
    with pytest.raises(InputError, match=r"variant 'v' sets 'a\.b', which the design also sets"):
        load_experiment(_write(tmp_path, exp))


def test_a_misspelt_required_key_is_reported_as_the_typo(tmp_path):
    typo = 'name = "e1"\nscenaro = "scen.toml"\nreplicates = 3\n'
    with pytest.raises(InputError, match="did you mean 'scenario'") as err:
        load_experiment(_write(tmp_path, typo))
    assert err.value.field == "scenaro"


@pytest.mark.parametrize("named", [False, True])
def test_a_bad_design_value_is_blamed_on_the_design_parameter_not_a_variant(tmp_path, named):
    """A grid value outside a lever's range names design.parameters."KEY", the point and the value;
    the implicit variant 'base' (which the user never wrote) is not mentioned, a named one is; the
    lever's range and unit are said once."""
    from pathlib import Path

    from agglomeration.experiment.runner import plan_runs

    baseline = Path(__file__).resolve().parents[2] / "scenarios" / "baseline.toml"
    text = f'name = "g"\nscenario = "{baseline.as_posix()}"\nreplicates = 1\n'
    if named:
        text += '[[variants]]\nname = "deleg"\noverrides = { "policy.delegation.WZ" = 0.5 }\n'
    text += '[design]\nkind = "grid"\n[design.parameters."policy.delegation.connected"]\n'
    text += "values = [0.4, 1.2]\n"
    p = tmp_path / "grid.toml"
    p.write_text(text)
    with pytest.raises(InputError) as info:
        plan_runs(load_experiment(p))
    err = info.value
    assert err.field == 'design.parameters."policy.delegation.connected"'
    assert "design point 1: policy.delegation.connected = 1.2" in err.message
    assert ("variant 'deleg'" in err.message) == named and "'base'" not in err.message
    assert err.message.count("[0, 1]") == 1, err.message


def test_a_scenario_file_given_to_batch_says_it_is_a_scenario_file():
    """It said `burn_in: unknown key`, as if the user had mistyped an experiment key."""
    from pathlib import Path

    baseline = Path(__file__).resolve().parents[2] / "scenarios" / "baseline.toml"
    with pytest.raises(InputError) as exc:
        load_experiment(baseline)
    msg = str(exc.value)
    assert "looks like a scenario file" in msg and "agglomeration run" in msg
    assert exc.value.names_file(baseline)


def test_setting_a_design_field_of_an_experiment_without_a_design_says_so():
    """It said `design.kind: Field required`, pydantic's words for a table the user never wrote."""
    from pathlib import Path

    sweep = Path(__file__).resolve().parents[2] / "experiments" / "delegation_sweep.toml"
    with pytest.raises(InputError) as exc:
        load_experiment(sweep, set={"design.samples": 16})
    assert exc.value.field == "design.samples" and "has no [design] table" in exc.value.message


def test_infinite_bounds_are_a_validation_error_not_an_overflow():
    """The integer-bounds rule rounded every uniform parameter's bounds: inf raised OverflowError."""
    for integer in (False, True):
        try:
            _spec(
                "lhs",
                samples=4,
                parameters={"c": {"bounds": [0.1, float("inf")], "integer": integer}},
            )
        except ValueError:
            pass
