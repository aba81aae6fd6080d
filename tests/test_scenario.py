"""Scenario loading: schema, extends, overrides, data validation, fingerprint and every bad input."""

from __future__ import annotations

import json
import pickle
import shutil
from pathlib import Path

import pytest
from pydantic import ValidationError

from agglomeration.errors import InputError, OverrideError
from agglomeration.scenario import Scenario, load_scenario, parse_value
from agglomeration.world import build_world

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.toml"
TINY = Path(__file__).resolve().parent / "data" / "tiny"


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1))


def errmsg(path: Path, overrides: dict | None = None, **kw) -> str:
    with pytest.raises(InputError) as exc:
        build_world(load_scenario(path, overrides, **kw))
    return str(exc.value)


# ----------------------------------------------------------------------------- the default world
def test_baseline_loads_with_the_chongqing_regions():
    s = load_scenario(BASELINE)
    assert isinstance(s, Scenario)
    types = {r.region_id: r.type for r in s.data.regions}
    assert [k for k, v in types.items() if v == "ftz"] == ["LJ", "XY", "GY"]
    assert sorted(k for k, v in types.items() if v == "connected") == sorted(
        ["HT", "ED", "CS", "WZ", "YC", "FL", "NP", "QJ", "DJ", "YY"]
    )
    assert {g.gateway_id for g in s.data.gateways} == {"EU", "ASEAN", "EC", "DOM"}
    kinds = [x.kind for x in s.data.sectors]
    assert kinds.count("manufacturing") >= 6 and kinds.count("service") >= 4
    assert s.firms.initial_count == 3000 and s.steps == 40
    assert s.source_path == BASELINE
    # every data row says where its numbers come from
    for rec in (*s.data.regions, *s.data.gateways, *s.data.modes, *s.data.links, *s.data.sectors):
        assert rec.provenance.startswith(("source", "estimate"))


@pytest.mark.parametrize(
    "name", ["high_delegation", "cheap_rail", "wanzhou_port", "size_volatility"]
)
def test_variants_extend_the_baseline_and_differ(name):
    base = load_scenario(BASELINE)
    var = load_scenario(ROOT / "scenarios" / f"{name}.toml")
    assert var.name == name
    assert var.fingerprint() != base.fingerprint()
    assert var.data.sectors == base.data.sectors  # inherited data


def test_world_invariants_of_the_baseline():
    w = build_world(load_scenario(BASELINE))
    total = w.labour_share + w.land_share + w.io.sum(axis=0)
    assert abs(total - 1).max() < 1e-12
    assert (w.io.sum(axis=0) < 1).all()
    assert w.final_share.sum() <= 1
    assert abs(w.initial_weights.sum() - 1) < 1e-12
    assert (w.tau >= 1).all() and (w.phi > 0).all() and (w.phi <= 1).all()
    for name, idx in w.chains.items():
        assert len(idx) >= 2, name
    assert w.sector_ids[w.chains["laptop"][-1]] == "electronics"
    assert w.sector_ids[w.chains["automotive"][-1]] == "vehicles"


# ----------------------------------------------------------------------------- overrides
def test_dotted_and_dunder_overrides(tiny):
    s = load_scenario(tiny, {"policy.delegation.C": 0.8}, policy__replication_rate=0.1)
    assert s.policy.delegation == {"C": 0.8}
    assert s.policy.replication_rate == 0.1
    assert build_world(s).delegation[2] == 0.8


def test_cli_strings_are_parsed_as_toml_values(tiny):
    assert parse_value("0.8") == 0.8
    assert parse_value("true") is True
    assert parse_value("[1,2]") == [1, 2]
    assert parse_value("LJ") == "LJ"
    s = load_scenario(tiny, {"steps": parse_value("12"), "behaviour.entry.enabled": False})
    assert s.steps == 12 and s.behaviour.entry.enabled is False


def test_with_overrides_returns_a_new_scenario(tiny):
    s = load_scenario(tiny)
    t = s.with_overrides({"regions.overrides.B.base_wage": 0.03}, seed=9)
    assert t.seed == 9 and s.seed == 1
    wage = {r.region_id: r.base_wage for r in t.data.regions}
    assert wage["B"] == 0.03
    assert t.fingerprint() != s.fingerprint()
    # the same override twice gives the same scenario
    assert (
        t.fingerprint()
        == s.with_overrides({"regions.overrides.B.base_wage": 0.03}, seed=9).fingerprint()
    )


def test_region_override_in_a_file_and_logistics_edits(tiny):
    tiny.write_text(
        tiny.read_text()
        + '\n[regions.overrides.C]\nmodes = "road;rail"\n'
        + "[logistics.tariff_multiplier]\nrail = 0.5\n"
    )
    s = load_scenario(tiny)
    c = next(r for r in s.data.regions if r.region_id == "C")
    assert c.modes == ("road", "rail")
    assert next(m for m in s.data.modes if m.mode == "rail").tariff == pytest.approx(0.1)


# ----------------------------------------------------------------------------- extends
def test_extends_deep_merges(tiny):
    child = tiny.parent / "child.toml"
    child.write_text(
        'extends = "scenario.toml"\nname = "child"\n[firms]\nproductivity_sigma = 0.5\n'
    )
    s = load_scenario(child)
    assert s.name == "child"
    assert s.firms.productivity_sigma == 0.5
    assert s.firms.initial_count == 30  # kept from the parent table
    assert s.steps == 5
    assert s.data == load_scenario(tiny).data


def test_extends_cycle_is_an_error(tiny):
    a, b = tiny.parent / "a.toml", tiny.parent / "b.toml"
    a.write_text('extends = "b.toml"\nname = "a"\n')
    b.write_text('extends = "a.toml"\nname = "b"\n')
    msg = errmsg(a)
    assert "extends cycle" in msg and "a.toml" in msg and "b.toml" in msg


# ----------------------------------------------------------------------------- fingerprint, pickle
def test_fingerprint_is_stable_path_independent_and_covers_data(tiny, tmp_path):
    s1, s2 = load_scenario(tiny), load_scenario(tiny)
    assert s1.fingerprint() == s2.fingerprint()
    moved = tmp_path / "elsewhere"
    shutil.copytree(tiny.parent, moved)
    assert load_scenario(moved / "scenario.toml").fingerprint() == s1.fingerprint()
    edit(moved / "regions.csv", "0.022,2,80", "0.023,2,80")
    assert load_scenario(moved / "scenario.toml").fingerprint() != s1.fingerprint()


def test_scenario_is_self_contained_and_picklable(tiny):
    s = load_scenario(tiny)
    blob = pickle.dumps(s)
    shutil.rmtree(tiny.parent)  # data files gone: the scenario still carries its data
    t = pickle.loads(blob)
    assert t.fingerprint() == s.fingerprint()
    u = t.with_overrides(steps=7)
    assert u.steps == 7 and u.data == s.data
    json.dumps(t.to_dict())


def test_frozen(tiny):
    s = load_scenario(tiny)
    with pytest.raises((ValidationError, TypeError, AttributeError), match=r"(?i)frozen"):
        s.steps = 3
    assert s.steps != 3


# ----------------------------------------------------------------------------- bad input, each
def test_unknown_key_with_did_you_mean(tiny):
    msg = errmsg(tiny, policy__replicaton_rate=0.1)
    assert "policy.replicaton_rate" in msg and "did you mean 'replication_rate'" in msg
    edit(tiny, "steps = 5", "stepz = 5")
    msg = errmsg(tiny)
    assert "unknown key 'stepz'" in msg and "did you mean 'steps'" in msg
    assert str(tiny) in msg


def test_unknown_region_in_overrides_suggests(tiny):
    msg = errmsg(tiny, {"regions.overrides.Bx.base_wage": 0.1})
    assert "regions.overrides.Bx" in msg and "did you mean 'B'" in msg
    msg = errmsg(tiny, {"regions.overrides.B.base_wag": 0.1})
    assert "did you mean 'base_wage'" in msg


def test_wrong_type(tiny):
    msg = errmsg(tiny, steps="forty")
    assert "steps" in msg and "integer" in msg and "'forty'" in msg


def test_out_of_range(tiny):
    msg = errmsg(tiny, policy__replication_rate=1.5)
    assert "policy.replication_rate" in msg and "1.5" in msg and "less than or equal to 1" in msg


def test_out_of_range_in_csv_names_file_line_and_column(tiny):
    edit(tiny.parent / "regions.csv", "0.6,5,road", "1.6,5,road")
    msg = errmsg(tiny)
    assert "regions.csv" in msg and "line 2" in msg and "delegation" in msg


@pytest.mark.parametrize(
    ("file", "old", "new", "column"),
    [
        ("modes.csv", "rail,0.2,25", "rail,-0.2,25", "tariff"),
        ("modes.csv", "rail,0.2,25,10,0,50,0", "rail,0.2,25,10,-3,50,0", "end_hours"),
        ("links.csv", "B,X,rail,1000,0,0", "B,X,rail,1000,-5,0", "extra_cost"),
        ("links.csv", "B,X,rail,1000,0,0", "B,X,rail,1000,0,-1", "extra_hours"),
    ],
)
def test_negative_cost_or_time(tiny, file, old, new, column):
    edit(tiny.parent / file, old, new)
    msg = errmsg(tiny)
    assert file in msg and column in msg and "greater than or equal to 0" in msg


def test_io_column_sum_at_least_one(tiny):
    edit(tiny.parent / "io.csv", "bulk,0.1,0.3,0.0", "bulk,0.1,0.95,0.0")
    msg = errmsg(tiny)
    assert "io.csv" in msg and "gadget" in msg and "expected < 1" in msg


def test_shares_must_add_up(tiny):
    edit(tiny.parent / "sectors.csv", "manufacturing,4,0.6,0.2", "manufacturing,4,0.5,0.2")
    msg = errmsg(tiny)
    assert "bulk" in msg and "expected 1" in msg


def test_chain_naming_unknown_sector(tiny):
    edit(tiny.parent / "chains.csv", "gadgets,2,gadget", "gadgets,2,gadgett")
    msg = errmsg(tiny)
    assert "chains.csv" in msg and "'gadgett'" in msg and "did you mean 'gadget'" in msg


def test_missing_data_file(tiny):
    (tiny.parent / "links.csv").unlink()
    msg = errmsg(tiny)
    assert "links.csv" in msg and "not found" in msg


def test_missing_column(tiny):
    p = tiny.parent / "regions.csv"
    lines = [",".join(x.split(",")[:5] + x.split(",")[6:]) for x in p.read_text().splitlines()]
    p.write_text("\n".join(lines) + "\n")  # drops land_capacity
    msg = errmsg(tiny)
    assert "regions.csv" in msg and "missing column" in msg and "land_capacity" in msg


def test_extra_column(tiny):
    edit(tiny.parent / "modes.csv", "provenance", "provenance,colour")
    p = tiny.parent / "modes.csv"
    p.write_text(p.read_text().replace("test data\n", "test data,red\n"))
    msg = errmsg(tiny)
    assert "modes.csv" in msg and "unexpected column 'colour'" in msg


def test_extra_column_suggests_a_misspelt_one(tiny):
    edit(tiny.parent / "modes.csv", "tariff", "tarif")
    msg = errmsg(tiny)
    assert "did you mean 'tariff'" in msg


def test_duplicate_region_ids(tiny):
    p = tiny.parent / "regions.csv"
    p.write_text(p.read_text().replace("C,Gamma", "B,Gamma"))
    msg = errmsg(tiny)
    assert "regions.csv" in msg and "duplicate region_id 'B'" in msg and "line 4" in msg


def test_unreachable_region_is_named(tiny):
    p = tiny.parent / "links.csv"
    p.write_text(
        "\n".join(
            x
            for x in p.read_text().splitlines()
            if ",C," not in x and not x.startswith("B,C") and not x.startswith("A,C")
        )
        + "\n"
    )
    msg = errmsg(tiny)
    assert "unreachable in the logistics graph: C" in msg
    assert "logistics.links_file:" in msg  # the data cut it: the key that names the links file


def test_a_region_cut_off_by_removed_links_names_remove_links(tiny):
    """It named `logistics.links`, a key that does not exist."""
    removed = [{"from": "C", "to": "D"}]
    with pytest.raises(InputError) as exc:
        build_world(load_scenario(tiny, {"logistics.remove_links": removed}))
    assert exc.value.field == "logistics.remove_links"
    assert "unreachable in the logistics graph: D" in exc.value.message


def test_link_needs_a_terminal(tiny):
    edit(tiny.parent / "links.csv", "B,C,road", "B,C,rail")
    with pytest.raises(InputError) as exc:  # when the scenario is read, before any world is built
        load_scenario(tiny)
    msg = str(exc.value)
    assert "rail" in msg and "'C'" in msg
    assert exc.value.file.endswith("links.csv") and exc.value.field == "line 3 (B-C)"


def test_a_terminal_removed_by_an_override_names_the_override(tiny):
    """The links CSV was blamed alone when `regions.overrides.<id>.modes` had removed the terminal."""
    with pytest.raises(InputError) as exc:
        load_scenario(tiny, {"regions.overrides.B.modes": "road"})
    msg = str(exc.value)
    assert exc.value.file.endswith("links.csv")
    assert "terminal at 'B', which has modes road as set by regions.overrides.B.modes" in msg


ADDED = '\n[[logistics.add_links]]\nfrom = "{a}"\nto = "{b}"\nmode = "{m}"\ndistance_km = 90\n'


def test_an_added_link_without_a_terminal_names_the_scenario_field_not_the_merged_list(tiny):
    """It named `links[6]`, an index into the links CSV plus the added links."""
    tiny.write_text(
        tiny.read_text()
        + ADDED.format(a="A", b="C", m="road")
        + ADDED.format(a="A", b="C", m="rail")
    )
    with pytest.raises(InputError) as exc:
        load_scenario(tiny)
    assert str(exc.value) == (
        f"{tiny}: logistics.add_links[1]: link A-C (rail) needs a rail terminal at 'C', which has "
        "modes road (logistics.add_hubs adds one)"
    )


def test_a_link_added_twice_is_an_error_naming_both_entries(tiny):
    """Listed twice (either direction), only the last was kept, silently."""
    tiny.write_text(
        tiny.read_text()
        + ADDED.format(a="A", b="C", m="road")
        + ADDED.format(a="C", b="A", m="road")
    )
    with pytest.raises(InputError) as exc:
        load_scenario(tiny)
    assert str(exc.value) == (
        f"{tiny}: logistics.add_links[1]: the link C-A by road is already listed as "
        "logistics.add_links[0]; expected each link once"
    )


def test_replacing_a_link_warns_about_the_corridor_tag_and_costs_it_drops(tiny, recwarn):
    """A link with the places and mode of a links-CSV link replaces it whole; the replaced link's
    corridor tag, extra cost and extra hours that the new one leaves unset are named in a warning,
    and none is given when it sets them (or the replaced link has none)."""
    csv = tiny.parent / "links.csv"
    csv.write_text(
        csv.read_text().replace(
            "A,B,rail,100,0,0,estimate: test data", "A,B,rail,100,250,12,estimate: test data"
        )
    )
    s = load_scenario(
        tiny, {"logistics.add_links": [{"from": "B", "to": "A", "mode": "rail", "distance_km": 80}]}
    )
    assert [
        (lk.distance_km, lk.extra_cost) for lk in s.data.links if lk.key == ("A", "B", "rail")
    ] == [(80.0, 0.0)]
    (w,) = [w for w in recwarn if "replaces" in str(w.message)]
    assert str(w.message) == (
        "logistics.add_links[0] replaces the link A-B by rail and drops its extra cost 250 yuan/t, "
        "extra 12 h; set them in the added link to keep them"
    )
    recwarn.clear()
    kept = {
        "from": "A",
        "to": "B",
        "mode": "rail",
        "distance_km": 80,
        "extra_cost": 0,
        "extra_hours": 12,
    }
    load_scenario(tiny, {"logistics.add_links": [kept]})
    load_scenario(
        tiny, {"logistics.add_links": [{"from": "A", "to": "B", "mode": "road", "distance_km": 9}]}
    )
    assert not [w for w in recwarn if "replaces" in str(w.message)]


def test_an_added_link_may_use_an_added_terminal(tiny):
    tiny.write_text(
        tiny.read_text()
        + ADDED.format(a="A", b="C", m="rail")
        + '\n[[logistics.add_hubs]]\nplace = "C"\nmode = "rail"\n'
    )
    s = load_scenario(tiny)
    assert ("A", "C", "rail") in {lk.key for lk in s.data.links}
    build_world(s)  # the network accepts it too


@pytest.mark.parametrize(
    ("hubs", "needles"),
    [
        ([("C", "rail"), ("C", "rail")], ("add_hubs[1]", "already added", "add_hubs[0]")),
        ([("A", "rail")], ("add_hubs[0]", "A already has a rail terminal")),
    ],
)
def test_an_added_terminal_that_changes_nothing_is_an_error(tiny, hubs, needles):
    """Duplicate or existing terminals were accepted silently (duplicate added links are errors)."""
    text = "".join(f'\n[[logistics.add_hubs]]\nplace = "{p}"\nmode = "{m}"\n' for p, m in hubs)
    tiny.write_text(tiny.read_text() + text)
    msg = errmsg(tiny)
    assert "scenario.toml" in msg or str(tiny.name) in msg
    for n in needles:
        assert n in msg, msg


def test_malformed_toml_reports_the_line(tiny):
    tiny.write_text('name = "x"\nsteps = 4\nseed = = 3\n')
    msg = errmsg(tiny)
    assert "malformed TOML" in msg and "line 3" in msg


def test_unknown_delegation_key(tiny):
    msg = errmsg(tiny, {"policy.delegation.connectd": 0.5})
    assert "did you mean 'connected'" in msg


def test_an_override_that_would_undo_another_is_an_error(tiny):
    """A table after a field inside it would drop the field; two spellings of one field are one
    field set twice.  A table first and a field inside it later refines the table."""
    msg = errmsg(tiny, {"policy.delegation.C": 0.9, "policy.delegation": {"all": 0.2}})
    assert "would replace the earlier override 'policy.delegation.C'" in msg
    with pytest.warns(FutureWarning, match="deprecated"):
        msg = errmsg(tiny, {"behaviour.entry_floor": 3.0, "behaviour.entry.floor": 5.0})
    assert "'behaviour.entry.floor' and 'behaviour.entry_floor' set the same field" in msg
    scen = load_scenario(tiny, {"policy.delegation": {"all": 0.2}, "policy.delegation.C": 0.9})
    assert scen.policy.delegation == {"all": 0.2, "C": 0.9}


def test_a_variant_setting_a_path_twice_is_an_error():
    from agglomeration.experiment.spec import flatten_overrides

    with pytest.raises(ValueError, match=r"'policy\.delegation\.WZ' is set twice"):
        flatten_overrides({"policy.delegation.WZ": 0.9, "policy": {"delegation": {"WZ": 0.1}}})
    flat = flatten_overrides({"policy.delegation.WZ": 0.9, "policy": {"delegation": {"CS": 0.1}}})
    assert flat == {"policy.delegation.WZ": 0.9, "policy.delegation.CS": 0.1}


def test_remove_missing_link_is_an_error(tiny):
    msg = errmsg(tiny, {"logistics.remove_links": [{"from": "A", "to": "C", "mode": "rail"}]})
    assert "logistics.remove_links[0]" in msg and "no link A-C by rail" in msg


# ----------------------------------------------------------------------------- numbers are numbers
def _set_in_table(path, table: str, line: str) -> None:
    """Write ``line`` into ``[table]`` of the TOML file: under its header when the file has the table
    already (a table may not be declared twice), else in a new table at the end."""
    text = path.read_text()
    header = f"[{table}]\n"
    if header in text:
        path.write_text(text.replace(header, header + line + "\n", 1))
    else:
        path.write_text(text + f"\n{header}{line}\n")


@pytest.mark.parametrize(
    "table, line, field, expected",
    [
        (
            "logistics.tariff_multiplier",
            'rail = "0.5"',
            "logistics.tariff_multiplier.rail",
            "'0.5'",
        ),
        ("logistics.speed_multiplier", "road = true", "logistics.speed_multiplier.road", "True"),
        ("logistics.fee_multiplier", "all = false", "logistics.fee_multiplier.all", "False"),
        ("logistics.customs_multiplier", 'A = "1"', "logistics.customs_multiplier.A", "'1'"),
        ("policy.replicate", 'all = "0.5"', "policy.replicate.all", "'0.5'"),
        ("policy.delegation", "ftz = true", "policy.delegation.ftz", "True"),
        ("policy.delegation", 'A = "0.5"', "policy.delegation.A", "'0.5'"),
        ("policy", 'replication_rate = "0.05"', "policy.replication_rate", "'0.05'"),
        ("behaviour.entry", 'floor = "0.1"', "behaviour.entry.floor", "'0.1'"),
        ("regions.overrides.A", 'base_wage = "0.02"', "regions.overrides.A.base_wage", "'0.02'"),
        (
            "logistics.mode_overrides.rail",
            "tariff = true",
            "logistics.mode_overrides.rail.tariff",
            "True",
        ),
        # optional (float | None) columns were not checked
        (
            "sectors.overrides.gadget",
            'value_density = "5"',
            "sectors.overrides.gadget.value_density",
            "'5'",
        ),
        (
            "sectors.overrides.gadget",
            "time_cost_per_day = true",
            "sectors.overrides.gadget.time_cost_per_day",
            "True",
        ),
        (
            "sectors.overrides.bulk",
            'foreign_suppliers = "0.1"',
            "sectors.overrides.bulk.foreign_suppliers",
            "'0.1'",
        ),
    ],
)
def test_a_number_in_the_file_given_as_a_string_or_boolean_is_an_error(
    tiny, table, line, field, expected
):
    """Lax validation read "0.5" as 0.5 and true as 1.0 without a word."""
    _set_in_table(tiny, table, line)
    msg = errmsg(tiny)
    assert msg.startswith(f"{tiny}: {field}: expected a number"), msg
    assert f"got {expected}" in msg


def test_an_integer_field_given_as_a_string_is_an_error(tiny):
    edit(tiny, "initial_count = 30", 'initial_count = "30"')
    assert errmsg(tiny).startswith(f"{tiny}: firms.initial_count: expected an integer, got '30'")


@pytest.mark.parametrize(
    "line, got", [('steps_per_year = "4"', "'4'"), ("steps_per_year = true", "True")]
)
def test_behaviour_steps_per_year_must_be_an_integer(tiny, line, got):
    """[behaviour] is not a plain section: its own field was not checked ("4" was 4, true 1)."""
    tiny.write_text(tiny.read_text() + f"\n[behaviour]\n{line}\n")
    msg = errmsg(tiny)
    assert msg.startswith(f"{tiny}: behaviour.steps_per_year: expected an integer"), msg
    assert f"got {got}" in msg


@pytest.mark.parametrize(
    "table, line, field, got",
    [
        ("output", 'figures = "false"', "output.figures", "'false'"),
        ("policy", "enabled = 0", "policy.enabled", "0"),
        ("behaviour.entry", 'enabled = "no"', "behaviour.entry.enabled", "'no'"),
    ],
)
def test_a_switch_given_as_a_string_or_number_is_an_error(tiny, table, line, field, got):
    """pydantic read "false", "no" and 0 as False without a word."""
    _set_in_table(tiny, table, line)
    assert errmsg(tiny).startswith(f"{tiny}: {field}: expected true or false, got {got}")


def test_not_a_number_sees_through_optional_and_annotated():
    from typing import Annotated, Optional

    from pydantic import Field

    from agglomeration.parameters import not_a_number

    for annotation in (float | None, Optional[float], Annotated[float, Field(gt=0)] | None):  # noqa: UP045
        assert not_a_number(annotation, "1") == "expected a number"
        assert not_a_number(annotation, True) == "expected a number, not a boolean"
        assert not_a_number(annotation, 1) is None and not_a_number(annotation, None) is None
    assert not_a_number(str | None, "1") is None and not_a_number(int | str, "1") is None


def test_a_number_of_an_added_link_given_as_a_string_is_an_error(tiny):
    tiny.write_text(
        tiny.read_text()
        + '\n[[logistics.add_links]]\nfrom = "A"\nto = "C"\nmode = "road"\ndistance_km = 90\n'
        + '\n[[logistics.add_links]]\nfrom = "B"\nto = "C"\nmode = "road"\ndistance_km = "40"\n'
    )
    msg = errmsg(tiny)
    assert msg.startswith(f"{tiny}: logistics.add_links[1].distance_km: expected a number")
    assert "got '40'" in msg


def test_integers_are_numbers_and_equal_their_floats(tiny):
    tiny.write_text(
        tiny.read_text()
        + "\n[logistics.tariff_multiplier]\nrail = 1\nroad = 2\n"
        + "[policy]\nreplicate = { all = 1 }\ndelegation = { ftz = 1 }\nreplication_rate = 0\n"
    )
    s = load_scenario(tiny)
    assert s.logistics.tariff_multiplier == {"rail": 1.0, "road": 2.0}
    assert type(s.logistics.tariff_multiplier["road"]) is float
    assert s.policy.replicate == {"all": 1.0} and s.policy.delegation == {"ftz": 1.0}
    same = load_scenario(
        tiny,
        {"logistics.tariff_multiplier": {"rail": 1.0, "road": 2.0}, "policy.replicate.all": 1.0},
    )
    assert s.fingerprint() == same.fingerprint()


def test_override_values_are_taken_as_given_so_a_string_for_a_number_is_an_error(tiny):
    """Python overrides were parsed as TOML text: "0.5" became 0.5 (and '"0.5"' too, when a
    command-line value was parsed twice); only command-line text is parsed, once (parse_value)."""
    s = load_scenario(tiny, {"logistics.tariff_multiplier.rail": parse_value("0.5")})
    assert s.logistics.tariff_multiplier == {"rail": 0.5}
    msg = errmsg(tiny, {"logistics.tariff_multiplier.rail": "0.5"})
    assert "logistics.tariff_multiplier.rail: expected a number, got '0.5'" in msg
    msg = errmsg(tiny, {"logistics.tariff_multiplier.rail": parse_value('"0.5"')})
    assert "logistics.tariff_multiplier.rail: expected a number, got '0.5'" in msg
    msg = errmsg(tiny, {"logistics.tariff_multiplier.rail": parse_value("true")})
    assert "logistics.tariff_multiplier.rail: expected a number, not a boolean, got True" in msg
    for key in ("steps", "policy.replication_rate", "regions.overrides.B.base_wage"):
        assert "expected" in errmsg(tiny, {key: "1"}), key
    with pytest.raises(InputError, match="expected a number"):
        load_scenario(tiny).with_overrides(policy__replication_rate="0.1")


def test_a_string_override_of_a_string_field_stays_a_string(tiny):
    """ "2021" became the integer 2021 and was refused for the free-text description."""
    s = load_scenario(tiny, {"description": "2021"})
    assert s.description == "2021"
    assert s.with_overrides(description="true").description == "true"


# ----------------------------------------------------------------------------- override errors
def test_an_error_in_an_override_names_the_override_not_the_scenario_file(tiny):
    """It was blamed on the scenario file, which does not hold the value."""
    with pytest.raises(OverrideError) as exc:
        load_scenario(tiny, {"logistics.tariff_multiplier.rail": "abc"})
    assert exc.value.file is None and exc.value.key == "logistics.tariff_multiplier.rail"
    assert str(exc.value).startswith(
        "logistics.tariff_multiplier.rail: expected a number, got 'abc' [mode -> factor"
    )
    with pytest.raises(OverrideError) as exc:  # a keyword override, a Scenario's with_overrides
        load_scenario(tiny).with_overrides(policy__replication_rate=1.5)
    assert exc.value.key == "policy.replication_rate" and str(tiny) not in str(exc.value)


@pytest.mark.parametrize(
    "key, value, field",
    [
        ("logistics.tarif_multiplier.rail", 2, "logistics.tarif_multiplier"),  # a table above it
        ("logistics.tariff_multiplier", {"rail": "x"}, "logistics.tariff_multiplier.rail"),
        ("regions.overrides.B.base_wage", -1, "regions.overrides.B.base_wage"),
        ("behaviour.entry_floor", "abc", "behaviour.entry.floor"),  # a key of an earlier version
        ("extends", "x.toml", "extends"),
    ],
)
def test_an_override_error_above_or_below_the_key_names_the_override(tiny, key, value, field):
    with pytest.warns() if key == "behaviour.entry_floor" else _no_warning():
        with pytest.raises(OverrideError) as exc:
            load_scenario(tiny, {key: value})
    assert (exc.value.key, exc.value.field, exc.value.file) == (key, field, None)


@pytest.mark.parametrize(
    "overrides, blamed",
    [
        # a check across the fields of a table blames the override the message names, whatever
        # the order and the lengths of the keys (it blamed the longest key set in the table)
        (
            {"behaviour.entry.productivity_gap": -1.0, "behaviour.entry.logit_scale": 0.001},
            "behaviour.entry.logit_scale",
        ),
        (
            {"behaviour.entry.logit_scale": 0.001, "behaviour.entry.productivity_gap": -1.0},
            "behaviour.entry.logit_scale",
        ),
        (
            {"behaviour.entry.pool_scale": 2.0, "behaviour.entry.location_scale": 5.0},
            "behaviour.entry.location_scale",
        ),
    ],
)
def test_a_check_across_a_table_names_the_override_it_is_about(tiny, overrides, blamed):
    with pytest.raises(OverrideError) as exc:
        load_scenario(tiny, overrides)
    assert (exc.value.key, exc.value.field) == (blamed, "behaviour.entry")
    assert "must be at most logit_scale" in str(exc.value)


def _no_warning():
    import contextlib

    return contextlib.nullcontext()


def test_an_error_in_the_file_still_names_the_file_when_overrides_are_given(tiny):
    original = tiny.read_text()
    tiny.write_text(original + '\n[logistics.tariff_multiplier]\nrail = "0.5"\n')
    with pytest.raises(InputError) as exc:
        load_scenario(tiny, {"logistics.tariff_multiplier.road": 2, "policy.delegation.A": 0.5})
    assert not isinstance(exc.value, OverrideError)
    assert str(exc.value).startswith(f"{tiny}: logistics.tariff_multiplier.rail: expected a number")
    tiny.write_text(original)
    edit(tiny.parent / "regions.csv", "0.6,5,road", "1.6,5,road")  # a data file stays named
    with pytest.raises(InputError) as exc:
        load_scenario(tiny, {"regions.file": str(tiny.parent / "regions.csv")})
    assert "regions.csv" in str(exc.value) and not isinstance(exc.value, OverrideError)


# ----------------------------------------------------------------------------- route options
@pytest.mark.parametrize(
    "cells, field, needle",
    [
        ("rail,rail,", "line 3 (rail).feeder_modes", "feeder mode(s) rail must be among"),
        ("rail,air,", "line 3 (rail).feeder_modes", "feeder mode(s) air must be among"),
        ("rail,ship,", "line 3 (rail)", "unknown mode 'ship'"),
        ("rail,road,nowhere", "line 3 (rail).corridor", "no link is tagged with corridor"),
    ],
)
def test_a_bad_route_option_names_its_csv_file_and_line(tiny, cells, field, needle):
    """A bad feeder_modes or corridor cell was blamed on the scenario file and route_options[1]."""
    options = tiny.parent / "route_options.csv"
    options.write_text(
        "option_id,name,modes,main_mode,feeder_modes,corridor,provenance\n"
        "road,Road,road,road,,,estimate: test data\n"
        f"rail,Rail,road;rail,{cells},estimate: test data\n"
    )
    modes = tiny.parent / "modes.csv"
    if "air" in cells:  # a known mode the option does not use
        lines = modes.read_text().splitlines()
        modes.write_text("\n".join([*lines, lines[-1].replace("rail", "air", 1)]) + "\n")
    with pytest.raises(InputError) as exc:
        build_world(load_scenario(tiny))
    assert exc.value.file.endswith("route_options.csv") and exc.value.field == field
    assert needle in exc.value.message


def test_the_feeder_routes_variant_loads():
    s = load_scenario(BASELINE.parent / "feeder_routes.toml")
    assert any(o.feeder_modes for o in s.data.options)


def test_max_feeder_share_zero_is_refused_with_the_range(tiny):
    """0 got through and failed later as 'no route option reaches ...', naming a link."""
    msg = errmsg(tiny, {"logistics.max_feeder_share": 0})
    assert msg.startswith("logistics.max_feeder_share: expected a value greater than 0, got 0")
    assert load_scenario(tiny, {"logistics.max_feeder_share": 1}).logistics.max_feeder_share == 1


def test_an_input_error_knows_the_file_it_names():
    long = "d/" * 200 + "scenario.toml"  # shortened in the message
    exc = InputError("bad", file=long, field="x")
    assert exc.file != long and exc.names_file(long) and exc.names_file(Path(long))
    assert not exc.names_file("other.toml") and not exc.names_file(None)
    assert not InputError("bad").names_file("scenario.toml")


def test_the_baseline_fingerprint_is_stable_across_added_neutral_parameters():
    """Stores record the scenario's fingerprint and `agglomeration reproduce` refuses a scenario that
    resolves differently, so a parameter added later must leave unchanged the fingerprint of a scenario
    that does not use it (scenario.FINGERPRINT_NEUTRAL).  The baseline's is pinned: when a change to
    the baseline's content changes it on purpose, update the pin and say in CHANGELOG.md that stores
    written before cannot be reproduced."""
    from agglomeration.scenario import FINGERPRINT_NEUTRAL

    base = load_scenario(BASELINE)
    assert base.fingerprint() == (
        "3dcf76a26c08dc9b9401f767fd44d08969ba5958d84a9807f2a1e089fb6032ae"
    )
    other = {  # non-numeric switches, and values whose + 1 is out of range
        ("behaviour", "entry", "exit_option"): "after_grace",
        ("behaviour", "accounts", "location_gain"): 0.03,
        ("solver", "random_streams"): "by_purpose",
    }
    for path, neutral in FINGERPRINT_NEUTRAL.items():
        if path in other:
            value = other[path]
        else:
            value = (not neutral) if isinstance(neutral, bool) else neutral + 1
        used = load_scenario(BASELINE, {".".join(path): value})
        assert used.fingerprint() != base.fingerprint(), path


def test_an_experiment_file_given_as_a_scenario_says_so(tmp_path):
    exp = tmp_path / "exp.toml"
    exp.write_text('name = "e"\nscenario = "baseline.toml"\nreplicates = 2\n')
    msg = errmsg(exp)
    assert "looks like an experiment file" in msg and "agglomeration batch" in msg


def test_a_data_path_is_checked_after_extends_and_overrides(tmp_path):
    """A parent's missing data file that the child (or an override) replaces is no error; the one the
    resolved scenario names must exist, and the error names the field and the path looked for."""
    data = Path(__file__).resolve().parents[1] / "scenarios" / "data"
    base = Path(__file__).resolve().parents[1] / "scenarios" / "baseline.toml"
    parent = tmp_path / "parent.toml"
    parent.write_text(f'extends = "{base}"\n[regions]\nbonded_file = "missing.csv"\n')
    child = tmp_path / "child.toml"
    child.write_text(
        f'extends = "parent.toml"\n[regions]\nbonded_file = "{data / "bonded_zones.csv"}"\n'
    )
    load_scenario(child)
    load_scenario(parent, {"regions.bonded_file": str(data / "bonded_zones.csv")})
    msg = errmsg(parent)
    assert "regions.bonded_file" in msg and f"{tmp_path / 'missing.csv'} not found" in msg


def test_resolved_data_is_shared_only_between_scenarios_that_read_the_same_data(tiny, monkeypatch):
    """Scenarios that differ only outside their data sections share one resolved ScenarioData (a
    design's runs resolve fast); a data override, or a data file whose contents changed between two
    loads, gives data of its own, equal to what a resolution without the memo gives."""
    import agglomeration.scenario as sc

    base = load_scenario(tiny)
    same = base.with_overrides({"behaviour.entry.floor": 3.0})
    assert same.data is base.data
    dearer = base.with_overrides({"logistics.tariff_multiplier.road": 2.0})
    assert dearer.data is not base.data
    modes = tiny.parent / "modes.csv"
    text = modes.read_text(encoding="utf-8")
    header, first, *rest = text.splitlines()
    cells = first.split(",")
    col = header.split(",").index("tariff")
    cells[col] = repr(float(cells[col]) * 3)
    modes.write_text("\n".join([header, ",".join(cells), *rest]) + "\n", encoding="utf-8")
    edited = load_scenario(tiny)
    assert edited.data is not base.data and edited.data.modes != base.data.modes
    monkeypatch.setattr(sc, "KEPT_DATA", 0)
    for cached in (edited, edited.with_overrides({"logistics.tariff_multiplier.road": 2.0})):
        fresh = load_scenario(tiny, cached.applied_overrides)
        assert fresh.data == cached.data


def test_an_empty_data_file_path_names_its_key_and_an_empty_bonded_file_means_none(tiny):
    """An empty path named the scenario's folder: "expected a CSV data file, got a directory", with
    neither the file nor the key."""
    with pytest.raises(InputError) as exc:
        load_scenario(tiny, {"logistics.hubs_file": ""})
    assert exc.value.field == "logistics.hubs_file"
    assert "expected the path of a CSV data file, got an empty string" in exc.value.message
    assert load_scenario(tiny, {"regions.bonded_file": ""}).regions.bonded_file is None
    tiny.write_text(tiny.read_text().replace('io_file = "io.csv"', 'io_file = " "'))
    with pytest.raises(InputError) as exc:
        load_scenario(tiny)
    assert (str(exc.value.file), exc.value.field) == (str(tiny), "sectors.io_file")


def test_a_links_csv_row_with_an_unknown_place_or_mode_names_the_csv_and_its_line(tiny):
    """They were blamed on the scenario file's `logistics.links_file`, without the CSV or the line."""
    csv = tiny.parent / "links.csv"
    original = csv.read_text()
    csv.write_text(original.replace("B,C,road,50", "B,Q,road,50"))
    with pytest.raises(InputError) as exc:
        load_scenario(tiny)
    assert str(exc.value.file).endswith("links.csv") and exc.value.field == "line 3 (B-Q)"
    assert "names unknown place 'Q'" in exc.value.message
    csv.write_text(original.replace("B,C,road,50", "B,C,boat,50"))
    with pytest.raises(InputError) as exc:
        load_scenario(tiny)
    assert str(exc.value.file).endswith("links.csv") and exc.value.field == "line 3 (B-C)"
    assert "unknown mode 'boat'" in exc.value.message


@pytest.mark.parametrize(
    ("file", "old", "new", "field"),
    [
        ("links.csv", "B,C,road,50,0,0", "B,C,road,50,,0", "line 3.extra_cost"),
        ("links.csv", "B,C,road,50,0,0", "B,C,road,50,0,", "line 3.extra_hours"),
        (
            "links.csv",
            "B,C,road,50,0,0,estimate: test data",
            "B,C,road,50,0,0,",
            "line 3.provenance",
        ),
    ],
)
def test_an_empty_cell_in_a_column_with_a_value_default_is_an_error_not_that_value(
    tiny, file, old, new, field
):
    """An empty extra_cost became 0 and an empty provenance 'estimate: added by scenario' silently:
    a gap in the data must be named (the default applies when the whole column is left out)."""
    edit(tiny.parent / file, old, new)
    with pytest.raises(InputError) as exc:
        load_scenario(tiny)
    assert str(exc.value.file).endswith(file) and exc.value.field == field
    assert "empty cell" in exc.value.message and "left out" in exc.value.message


def test_an_empty_cell_where_the_default_means_none_still_reads_as_none(tiny):
    """Services have no value density or time cost: the shipped data leaves them blank."""
    sectors = {s.sector_id: s for s in load_scenario(tiny).data.sectors}
    assert sectors["advice"].value_density is None and sectors["advice"].time_cost_per_day is None


def test_the_shipped_data_has_no_empty_cell_in_a_column_with_a_value_default():
    from agglomeration.scenario import GatewayRecord, LinkRecord, SectorRecord, _value_defaults

    assert set(_value_defaults(SectorRecord)) == {"import_tariff", "import_price_factor"}
    assert set(_value_defaults(GatewayRecord)) == {"internal_km", "competitors"}
    assert "provenance" in _value_defaults(LinkRecord)
    load_scenario(ROOT / "scenarios" / "baseline.toml")  # would raise on such a cell


def test_csv_errors_name_the_line_of_the_file_when_blank_lines_precede_the_row(tiny):
    """Blank lines are skipped when reading: the line named was the record's index + 2, one short."""
    edit(tiny.parent / "regions.csv", "\nB,Beta", "\n\n\nB,Beta")
    edit(tiny.parent / "regions.csv", "0.3,8,road;rail", "1.3,8,road;rail")
    with pytest.raises(InputError) as exc:
        load_scenario(tiny)
    assert str(exc.value.file).endswith("regions.csv")
    assert exc.value.field.startswith("line 5 (region_id=B).delegation")


def test_an_unknown_mode_of_a_place_names_its_csv_line_or_the_override_that_set_it(tiny):
    edit(tiny.parent / "regions.csv", "0.3,8,road;rail", "0.3,8,road;rial")
    with pytest.raises(InputError) as exc:
        load_scenario(tiny)
    assert str(exc.value.file).endswith("regions.csv") and exc.value.field == "line 3 (B).modes"
    assert "unknown mode 'rial'" in exc.value.message and "did you mean 'rail'" in exc.value.message
    edit(tiny.parent / "regions.csv", "0.3,8,road;rial", "0.3,8,road;rail")
    with pytest.raises(InputError) as exc:
        load_scenario(tiny, {"regions.overrides.B.modes": "road;boat"})
    assert exc.value.field == "regions.overrides.B.modes"


def test_an_unknown_destination_of_a_route_option_constant_names_its_csv_line(tiny):
    """It was reported by the network's builder as option_constants[2] (0-based) of the scenario."""
    edit(tiny.parent / "option_constants.csv", "rail,X,0", "rail,Y,0")
    with pytest.raises(InputError) as exc:
        load_scenario(tiny)
    assert str(exc.value.file).endswith("option_constants.csv")
    assert (
        exc.value.field == "line 4.destination" and "unknown destination 'Y'" in exc.value.message
    )


def test_nan_is_reported_as_not_a_number_not_as_out_of_bounds(tiny):
    """A NaN fails every bound: the message said "expected a value less than or equal to 1, got nan"."""
    msg = errmsg(tiny, policy__replication_rate=float("nan"))
    assert "policy.replication_rate" in msg and "expected a number, got nan (not a number)" in msg
    edit(tiny.parent / "regions.csv", "0.6,5,road", "NaN,5,road")
    msg = errmsg(tiny)
    assert "regions.csv" in msg and "line 2" in msg and "got 'NaN' (not a number)" in msg


def test_a_corrected_source_keeps_the_fingerprint_and_a_changed_value_does_not(tiny):
    """The provenance column says where a number comes from and changes no result: correcting it must
    not change run ids (or make `reproduce` refuse a store); a changed number must."""
    before = load_scenario(tiny).fingerprint()
    edit(
        tiny.parent / "links.csv",
        "B,C,road,50,0,0,estimate: test data",
        "B,C,road,50,0,0,source: X",
    )
    assert load_scenario(tiny).fingerprint() == before
    edit(tiny.parent / "links.csv", "B,C,road,50,0,0,source: X", "B,C,road,51,0,0,source: X")
    assert load_scenario(tiny).fingerprint() != before


def test_the_rules_for_empty_cells_and_provenance_read_defaults_and_records_robustly():
    """A default from a factory, an empty list and an array default are read as what they are, and
    only the records' provenance column leaves the fingerprint (a chain may be called provenance)."""
    import numpy as np
    from pydantic import BaseModel, ConfigDict, Field

    from agglomeration.scenario import _drop_provenance, _value_defaults

    class Record(BaseModel):
        model_config = ConfigDict(arbitrary_types_allowed=True)
        listed: list = Field(default_factory=list)
        empty: tuple = ()
        weight: float = Field(default_factory=lambda: 2.0)
        array: np.ndarray = Field(default_factory=lambda: np.zeros(0))

    defaults = _value_defaults(Record)
    assert set(defaults) == {"weight", "array"} and defaults["weight"] == 2.0
    data = {"links": [{"from": "A", "provenance": "x"}], "chains": {"provenance": ["s0"], "b": []}}
    _drop_provenance(data)
    assert data == {"links": [{"from": "A"}], "chains": {"provenance": ["s0"], "b": []}}
