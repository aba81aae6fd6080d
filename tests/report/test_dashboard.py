"""Dashboard: lever parsing, the explorer session on the real model, headless rendering of the Solara
pages (``solara.render``: Step / Reset / sliders / bad input) and the batch-results view.

The rendering tests skip with a reason when the ``viz`` extra (solara, ipyvuetify) is not installed.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import numpy as np
import pytest

from agglomeration.errors import InputError
from agglomeration.report import dashboard as dash

ROOT = Path(__file__).resolve().parents[2]
BASELINE = ROOT / "scenarios" / "baseline.toml"
SMALL = {"firms.initial_count": 150, "burn_in": 10}  # the page works on any economy
HAVE_VIZ = all(importlib.util.find_spec(m) for m in ("solara", "ipyvuetify", "ipywidgets"))
needs_viz = pytest.mark.skipif(
    not HAVE_VIZ, reason="the viz extra is not installed (pip install -e '.[viz]')"
)


@pytest.fixture(scope="module")
def scenario():
    from agglomeration.scenario import load_scenario

    return load_scenario(BASELINE, SMALL)


@pytest.fixture(scope="module")
def world(scenario):
    from agglomeration.world import build_world

    return build_world(scenario)


# ---------------------------------------------------------------------------------------- pure parts
def test_parse_region_delegation_reads_items_and_names_bad_fields():
    ids = ["LJ", "WZ", "FL"]
    got = dash.parse_region_delegation("WZ=0.8; LJ = 1\n FL=0", ids)
    assert got == {
        "policy.delegation.WZ": 0.8,
        "policy.delegation.LJ": 1.0,
        "policy.delegation.FL": 0.0,
    }
    assert dash.parse_region_delegation("  ", ids) == {}
    with pytest.raises(InputError, match="did you mean 'WZ'") as exc:
        dash.parse_region_delegation("WX=0.5", ids)
    assert exc.value.field == "policy.delegation.WX"
    with pytest.raises(InputError, match=r"in \[0, 1\]") as exc:
        dash.parse_region_delegation("WZ=1.5", ids)
    assert exc.value.field == "policy.delegation.WZ"
    with pytest.raises(InputError, match="ID=value"):
        dash.parse_region_delegation("WZ 0.5", ids)
    with pytest.raises(InputError, match="number"):
        dash.parse_region_delegation("WZ=high", ids)


def test_parse_int_bounds():
    assert dash.parse_int(" 12 ", "steps", 1, 20) == 12
    for bad in ("0", "21", "1.5", "x", ""):
        with pytest.raises(InputError) as exc:
            dash.parse_int(bad, "steps", 1, 20)
        assert exc.value.field == "steps"


def test_every_lever_maps_to_a_field_of_the_scenario_schema(scenario, world):
    resolved = dash.resolve_levers(scenario.to_dict(), world)
    assert set(resolved) == {lever.key for lever in dash.controls()}
    for lever in dash.controls():
        path, initial = resolved[lever.key]
        assert path is not None, f"{lever.key} has no field in the scenario"
        assert lever.min <= initial <= lever.max
    # per-type delegation starts at the mean of the data's delegation levels of that type
    ftz = np.asarray(world.region_type) == "ftz"
    assert resolved["policy.delegation.ftz"][1] == pytest.approx(
        float(np.mean(world.delegation[ftz]))
    )
    # and every resolved path is accepted by the scenario schema
    moved = {path: min(lever.max, initial + lever.step) for lever in dash.controls()
             for path, initial in [resolved[lever.key]]}  # fmt: skip
    scenario.with_overrides(moved)


def test_lever_overrides_only_moved_levers_and_checks_ranges():
    resolved = {
        "policy.replication_rate": ("policy.replication_rate", 0.05),
        "logistics.tariff_multiplier.rail": ("logistics.tariff_multiplier.rail", 1.0),
        "logistics.tariff_multiplier.river": (None, 1.0),
    }
    values = {
        "policy.replication_rate": 0.05,
        "logistics.tariff_multiplier.rail": 0.5,
        "logistics.tariff_multiplier.river": 2.0,
    }
    assert dash.lever_overrides(values, resolved) == {"logistics.tariff_multiplier.rail": 0.5}
    with pytest.raises(InputError) as exc:
        dash.lever_overrides({"policy.replication_rate": 0.9}, resolved)
    assert exc.value.field == "policy.replication_rate"
    with pytest.raises(InputError):
        dash.lever_overrides({"no_such_lever": 1.0}, resolved)


def test_snapped_start_of_a_delegation_slider_is_not_an_override(scenario):
    """The connected areas' delegation of the data (0.3-0.5) has a mean off the slider's 0.05 grid; the
    browser snaps it to the grid, and a rebuild for another reason (here only the seed changes) must not
    write that snapped value over the data's per-region delegation."""
    session = dash.ExplorerSession(scenario, seed=3)
    key = "policy.delegation.connected"
    lever = next(lv for lv in dash.controls() if lv.key == key)
    world = session.model.world
    mask = np.asarray(world.region_type) == "connected"
    data = np.asarray(world.delegation, dtype=float)[mask].copy()
    assert data.min() < data.max()  # heterogeneous data levels, e.g. 0.3 .. 0.5
    start = session.resolved[key][1]
    snapped = dash.snap_to_step(lever, start)
    assert snapped != pytest.approx(start, abs=1e-9)  # the start is off the grid (mean 0.325)
    raw = {k: v for k, (_, v) in session.resolved.items()}
    for values in ({**raw, key: snapped}, session.initial_values()):
        session.rebuild(values, "", seed=4)  # only the seed changed
        assert key not in session.overrides
        assert session.overrides == {}
        got = np.asarray(session.model.world.delegation, dtype=float)[mask]
        np.testing.assert_allclose(got, data)  # the data's per-region levels are kept
    assert session.initial_values()[key] == pytest.approx(snapped)  # the page starts on the grid
    # a real move of the slider (one step away from the snapped start) is applied
    moved = min(lever.max, snapped + lever.step)
    session.rebuild({**session.initial_values(), key: moved}, "", seed=4)
    assert session.overrides == {key: pytest.approx(moved)}


def test_series_figure_uses_the_shared_builder_with_labelled_panels():
    import pandas as pd

    frame = pd.DataFrame(
        {"step": [0, 1], "firms": [10.0, 12.0], "firms_ftz": [4.0, 5.0], "firms_connected": [6.0, 7.0],
         "local_sourcing_share": [0.2, 0.3], "mean_chain_coverage": [0.5, 0.6],
         "mean_locational_gini": [0.3, 0.4], "entries": [0.0, 2.0]}
    )  # fmt: skip
    fig = dash.series_figure(frame)
    titles = [ax.get_title() for ax in fig.axes if ax.get_visible()]
    assert titles == [
        "Firms",
        "Local sourcing share",
        "Mean chain coverage",
        "Mean locational Gini",
    ]
    shares = fig.axes[1]
    assert shares.get_ylabel() == "%"  # shares are drawn in percent
    assert max(line.get_ydata().max() for line in shares.get_lines()) == pytest.approx(30.0)


# ------------------------------------------------------------------------------------ explorer session
def test_session_steps_rebuilds_and_keeps_old_model_on_bad_input(scenario):
    session = dash.ExplorerSession(scenario, seed=3)
    assert session.steps_done == 0
    assert session.step(2) == 2
    assert session.steps_done == 2
    model_before = session.model
    with pytest.raises(InputError):
        session.rebuild(session.initial_values(), "NOPE=0.5", seed=3)
    assert session.model is model_before  # old state kept next to the error
    values = {**session.initial_values(), "logistics.tariff_multiplier.rail": 3.0}
    session.rebuild(values, "WZ=0.9", seed=3)
    assert session.steps_done == 0
    assert session.overrides == {
        "logistics.tariff_multiplier.rail": 3.0,
        "policy.delegation.WZ": 0.9,
    }
    wz = session.model.world.region_index("WZ")
    assert session.model.world.delegation[wz] == pytest.approx(0.9)
    # comparative statics of the lever: dearer rail never makes a route cheaper, and some dearer
    old, new = model_before.world.gen_cost, session.model.world.gen_cost
    assert np.all(new >= old - 1e-9)
    assert np.any(new > old + 1e-6)


def test_map_and_lq_table_reflect_the_model(scenario):
    session = dash.ExplorerSession(scenario, seed=1)
    session.step(1)
    table = session.model.region_table()
    lq = dash.lq_table(table)
    assert set(lq["region"]) == set(table["region"])
    assert lq.shape == (len(set(table["region"])), 1 + len(set(table["sector"])))
    fig = dash.map_figure(session.model)
    # one label per region, "ID (firms)" or "ID\nfirms", counting the live firms of the region table
    pattern = re.compile(r"^\s*([A-Za-z]\w*)\s*[\n(]\s*(\d+)\)?\s*$")
    from matplotlib.text import Text

    hits = [pattern.match(t.get_text()) for t in fig.findobj(Text)]  # incl. inset (zoom) axes
    counts = {m.group(1): int(m.group(2)) for m in hits if m}
    assert set(counts) == set(session.region_ids)
    firms = table.groupby("region")["firms"].sum()
    assert all(counts[r] == int(firms[r]) for r in firms.index)


# --------------------------------------------------------------------------------- headless rendering
if HAVE_VIZ:
    import ipyvuetify
    import ipywidgets
    import solara


def _images(rc) -> list[bytes]:
    return [w.widget.value for w in rc.find(ipywidgets.Image)]


def _step_text(rc) -> str:
    texts = [w.widget.children for w in rc.find(ipyvuetify.Html) if w.widget.tag == "span"]
    return next("".join(map(str, t)) for t in texts if "".join(map(str, t)).startswith("step "))


def _errors(rc) -> list[str]:
    """Texts of the error boxes (warnings, e.g. "no test: the differences do not vary", are not errors)."""
    return [
        "".join(map(str, w.widget.children))
        for w in rc.find(ipyvuetify.Alert)
        if getattr(w.widget, "type", "error") == "error"
    ]


def _field(rc, label_start: str):
    return next(
        w.widget for w in rc.find(ipyvuetify.TextField) if w.widget.label.startswith(label_start)
    )


def _type(rc, label_start: str, text: str) -> None:
    """Type into a text field and press Enter (fields apply on Enter / focus-out)."""
    field = _field(rc, label_start)
    field.v_model = text
    field.fire_event("keyup.enter", text)


@needs_viz
def test_explorer_renders_steps_and_resets(scenario):
    _box, rc = solara.render(dash.Explorer(scenario, 5), handle_error=False)
    assert _step_text(rc) == "step 0"
    before = _images(rc)
    assert len(before) == 3  # map, live plots, route-option shares
    rc.find(ipyvuetify.Btn, children=["Step"]).widget.click()
    assert _step_text(rc) == "step 1"
    after = _images(rc)
    assert all(a != b for a, b in zip(after, before, strict=True))
    _type(rc, "steps per click", "3")
    rc.find(ipyvuetify.Btn, children=["Step"]).widget.click()
    assert _step_text(rc) == "step 4"
    rc.find(ipyvuetify.Btn, children=["Reset"]).widget.click()
    assert _step_text(rc) == "step 0"
    assert _images(rc) == before  # same seed and levers: the same initial state
    assert not _errors(rc)


@needs_viz
@pytest.mark.slow
def test_explorer_play_steps_until_paused(scenario):
    import time

    _box, rc = solara.render(dash.Explorer(scenario, 5), handle_error=False)
    rc.find(ipyvuetify.Btn, children=["Play"]).widget.click()
    deadline = time.monotonic() + 60
    while _step_text(rc) in ("step 0", "step 1") and time.monotonic() < deadline:
        time.sleep(0.1)
    rc.find(ipyvuetify.Btn, children=["Pause"]).widget.click()
    time.sleep(3 * dash.PLAY_INTERVAL_S)  # a step in flight may still land
    paused_at = _step_text(rc)
    assert paused_at not in ("step 0", "step 1"), "Play did not advance the model"
    time.sleep(4 * dash.PLAY_INTERVAL_S)
    assert _step_text(rc) == paused_at, "the model kept stepping after Pause"
    assert rc.find(ipyvuetify.Btn, children=["Play"])


@needs_viz
def test_explorer_slider_rebuilds_model_with_the_lever(scenario):
    _box, rc = solara.render(dash.Explorer(scenario, 5), handle_error=False)
    sliders = rc.find(ipyvuetify.Slider)
    assert len(sliders) == len(dash.controls())
    k = [lever.key for lever in dash.controls()].index("policy.delegation.connected")
    sliders[k].widget.v_model = 1.0
    text = " ".join(str(c) for w in rc.find(ipyvuetify.Html) for c in w.widget.children)
    assert "policy.delegation.connected=1" in text
    assert not _errors(rc)


@needs_viz
def test_explorer_bad_input_gives_a_visible_message_not_a_dead_page(scenario):
    _box, rc = solara.render(dash.Explorer(scenario, 5), handle_error=False)
    _type(rc, "per-region delegation", "WZ=2")
    errors = _errors(rc)
    assert any("policy.delegation.WZ" in e and "[0, 1]" in e for e in errors), errors
    # the page still works: stepping goes on with the previous model
    rc.find(ipyvuetify.Btn, children=["Step"]).widget.click()
    assert _step_text(rc) == "step 1"
    _type(rc, "steps per click", "lots")
    rc.find(ipyvuetify.Btn, children=["Step"]).widget.click()
    assert any("steps per click" in e for e in _errors(rc))
    assert _step_text(rc) == "step 1"
    _type(rc, "seed", "-4")
    assert any("seed" in e for e in _errors(rc))


@needs_viz
def test_explorer_reports_an_unloadable_scenario(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "bad"\nsteps = "many"\n')
    _box, rc = solara.render(dash.Explorer(str(bad)), handle_error=False)
    errors = _errors(rc)
    assert errors and "bad.toml" in errors[0]


@pytest.fixture(scope="module")
def batch_dir(tmp_path_factory):
    from agglomeration.experiment.runner import run_experiment

    out = tmp_path_factory.mktemp("batch")
    exp = out / "tiny.toml"
    exp.write_text(
        f"""
name = "tiny"
scenario = "{BASELINE.as_posix()}"
replicates = 3
seed = 11
steps = 2
[overrides]
burn_in = 10
[[variants]]
name = "baseline"
overrides = {{ "firms.initial_count" = 120 }}
[[variants]]
name = "cheap_rail"
overrides = {{ "firms.initial_count" = 120, "logistics.tariff_multiplier.rail" = 0.5 }}
"""
    )
    run_experiment(exp, out / "results", executor="serial", progress=False)
    return out / "results"


@needs_viz
def test_results_view_lists_variants_and_compares(batch_dir):
    data = dash.load_results_data(batch_dir)
    assert list(data.variants["variant"]) == ["baseline", "cheap_rail"]
    assert list(data.variants["runs"]) == [3, 3]
    assert "firms" in data.metrics
    comparison = dash.compare_results(data, "firms", None)
    assert list(comparison.comparisons["variant"]) == ["cheap_rail"]
    assert dash.forest_png(comparison)[:8] == b"\x89PNG\r\n\x1a\n"
    _box, rc = solara.render(dash.ResultsView(str(batch_dir)), handle_error=False)
    assert not _errors(rc)
    selects = rc.find(ipyvuetify.Select)
    assert len(selects) == 2
    assert rc.find(ipywidgets.Image) or rc.find(ipyvuetify.Img)
    if data.steps:  # pick a step: the comparison is redone on the series at that step
        selects[1].widget.v_model = str(data.steps[-1])
        assert not _errors(rc)


@needs_viz
def test_results_view_reports_a_directory_that_is_not_a_store(tmp_path):
    _box, rc = solara.render(dash.ResultsView(str(tmp_path)), handle_error=False)
    errors = _errors(rc)
    assert errors and str(tmp_path) in errors[0]


# ------------------------------------------------------------------------------------------- command
def test_dashboard_command_validates_input_before_serving(tmp_path, capsys):
    from agglomeration import cli
    from agglomeration.commands import dashboard as cmd

    assert cli.main(["dashboard", str(tmp_path / "nope.toml")]) == 2
    assert "nope.toml" in capsys.readouterr().err
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "bad"\nsteps = "many"\n')
    assert cli.main(["dashboard", str(bad)]) == 2
    assert "bad.toml" in capsys.readouterr().err
    assert cli.main(["dashboard", "--results", str(tmp_path / "missing")]) == 2
    # a directory that is no result store, and a bad seed, fail here too (the server started, and
    # the page showed the error)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("not a store")
    capsys.readouterr()
    assert cli.main(["dashboard", "--results", str(tmp_path / "other")]) == 2
    assert "--results" in capsys.readouterr().err
    assert cli.main(["dashboard", str(BASELINE), "--seed", "-1"]) == 2
    assert "--seed: expected a seed" in capsys.readouterr().err
    assert cli.main(["dashboard", str(BASELINE), "--port", "70000"]) == 2
    assert "--port" in capsys.readouterr().err
    # defaults: bind to this machine only; the page gets the resolved scenario path and seed
    args = cli.build_parser().parse_args(["dashboard", str(BASELINE), "--seed", "4"])
    assert args.host == "127.0.0.1"
    env = cmd.prepare(args)
    assert env == {
        "AGGLOMERATION_DASHBOARD_SCENARIO": str(BASELINE.resolve()),
        "AGGLOMERATION_DASHBOARD_SEED": "4",
    }
    server = cmd.server_command(args.host, args.port)
    assert server[server.index("--host") + 1] == "127.0.0.1"


def test_logistics_panel_shows_the_run_tables_logistics(scenario):
    from agglomeration.model import AgglomerationModel

    m = AgglomerationModel(scenario, replicate_seed=1)
    m.run(2)
    fig, regions, corridors = dash.logistics_panel(m)
    assert fig is not None and len(fig.axes) >= 2  # value and tonnes shares
    assert regions["region"].tolist() == [str(r) for r in m.world.region_ids]
    assert (regions["market access (CNY m/step)"] > 0).all()
    assert np.isfinite(regions["delivered cost (% of value)"]).all()
    share = regions["export share (%)"]  # undefined (NaN) only for a region that sells nothing
    assert share.dropna().between(0, 100).all() and share.notna().sum() >= len(share) // 2
    assert not corridors.empty and (corridors["TEU/step"] >= 0).all()
