"""`agglomeration run` and run_scenario: files written, summary content, exit codes on bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from agglomeration.cli import main

BASELINE = Path(__file__).resolve().parents[2] / "scenarios" / "baseline.toml"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    code = main(
        [
            "run",
            str(BASELINE),
            "--steps",
            "4",
            "--seed",
            "3",
            "--set",
            "firms.initial_count=400",
            "--set",
            "burn_in=10",  # the outputs of any economy: no settled one needed
            "--out",
            str(out),
            "--quiet",
        ]
    )
    assert code == 0
    return out


def test_run_writes_every_output(run_dir: Path):
    for name in (
        "timeseries.csv",
        "regions.csv",
        "firms.parquet",
        "links.parquet",
        "summary.json",
        "logistics.csv",
        *(
            f"figures/{stem}.{ext}"
            for stem in (
                "timeseries",
                "lq_heatmap",
                "region_map",
                "supplier_network",
                "mode_shares",
            )
            for ext in ("png", "pdf")
        ),
    ):
        assert (run_dir / name).stat().st_size > 0, name
    ts = pd.read_csv(run_dir / "timeseries.csv")
    assert list(ts["step"]) == [0, 1, 2, 3, 4]
    regions = pd.read_csv(run_dir / "regions.csv")
    assert {"region", "sector", "firms", "employment", "output", "lq"} <= set(regions.columns)
    firms = pd.read_parquet(run_dir / "firms.parquet")
    assert regions["firms"].sum() == len(firms) == ts["firms"].iloc[-1]
    links = pd.read_parquet(run_dir / "links.parquet")
    assert {"buyer", "supplier", "value", "delivered_cost", "supplier_region"} <= set(links.columns)
    assert set(links["buyer"]) <= set(firms["fid"])


def test_logistics_table_has_units_shares_and_agrees_with_the_summary(run_dir: Path):
    tab = pd.read_csv(run_dir / "logistics.csv", keep_default_na=False, na_values=[""])
    assert list(tab.columns) == ["kind", "key", "option", "metric", "value", "unit"]
    assert set(tab["kind"]) == {"mode", "corridor", "region", "sector"}
    assert (tab["unit"] != "").all()
    modes = tab[tab["kind"] == "mode"]
    assert set(modes["key"]) == {"regional", "eu", "asean", "ec", "dom"}
    for _, shares in modes[modes["metric"] == "value_share"].groupby("key"):
        assert shares["value"].sum() == pytest.approx(1.0)
    metrics = json.loads((run_dir / "summary.json").read_text())["metrics"]
    eu_rail = modes.query("key == 'eu' and option == 'rail' and metric == 'value_share'")
    assert eu_rail["value"].item() == pytest.approx(metrics["mode_share_eu_rail_value"])
    kt = tab.query("kind == 'corridor' and key == 'yangtze' and metric == 'kt'")["value"].item()
    assert kt == pytest.approx(metrics["corridor_yangtze_kt"]) and kt > 0
    ts = pd.read_csv(run_dir / "timeseries.csv")
    assert ts["export_share"].between(0, 1).all()  # defined from step 0 (the initial market)


def test_summary_names_scenario_seed_steps_versions_and_metrics(run_dir: Path):
    s = json.loads((run_dir / "summary.json").read_text())
    assert s["scenario"] == "baseline" and s["seed"] == 3 and s["steps"] == 4
    assert {"agglomeration", "mesa", "numpy", "python"} <= set(s["versions"])
    assert s["metrics"]["firms"] > 0
    assert 0 <= s["metrics"]["local_sourcing_share"] <= 1


def test_run_prints_a_summary_table(tmp_path, capsys):
    code = main(
        [
            "run",
            str(BASELINE),
            "--steps",
            "1",
            "--set",
            "firms.initial_count=200",
            "--set",
            "logistics.tariff_multiplier.rail=0.5",
            "--out",
            str(tmp_path),
            "--quiet",
            "--no-figures",
        ]
    )
    assert code == 0
    text = capsys.readouterr().out
    assert "firms in FTZ areas" in text and "local sourcing share" in text
    assert not (tmp_path / "figures").exists()


@pytest.mark.parametrize(
    "extra, needle",
    [
        (["--set", "firms.initial_count=-3"], "initial_count"),
        (["--set", "policy.replication_rate"], "KEY=VALUE"),
        (["--set", "behaviour.no_such_field=1"], "no_such_field"),
        (["--steps", "-2"], "--steps"),
        (["--set", 'logistics.tariff_multiplier.rail="0.5"'], "expected a number, got '0.5'"),
        (["--set", "policy.replicate.all=true"], "expected a number, not a boolean, got True"),
        (
            ["--set", 'sectors.overrides.electronics.value_density="5"'],
            "--set sectors.overrides.electronics.value_density=\"5\": expected a number, got '5'",
        ),
        (
            ["--set", 'output.figures="false"'],
            "--set output.figures=\"false\": expected true or false, got 'false'",
        ),
        (
            ["--set", "behaviour.steps_per_year=true"],
            "--set behaviour.steps_per_year=true: expected an integer, not a boolean, got True",
        ),
    ],
)
def test_bad_input_exits_2_with_a_message_naming_the_field(tmp_path, capsys, extra, needle):
    code = main(["run", str(BASELINE), "--out", str(tmp_path), "--quiet", *extra])
    assert code == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err


def test_missing_scenario_exits_2(tmp_path, capsys):
    assert main(["run", str(tmp_path / "nope.toml"), "--quiet"]) == 2


def test_run_scenario_same_seed_same_results(tmp_path):
    from agglomeration.runone import run_scenario

    a = run_scenario(
        BASELINE, steps=3, seed=9, overrides={"firms.initial_count": 300}, progress=False
    )
    b = run_scenario(
        BASELINE, steps=3, seed=9, overrides={"firms.initial_count": 300}, progress=False
    )
    # NaN-aware: a share without a denominator (e.g. the export share of a region without goods
    # sales) is NaN in both runs, and NaN != NaN
    assert list(a["summary"]["metrics"]) == list(b["summary"]["metrics"])
    np.testing.assert_equal(a["summary"]["metrics"], b["summary"]["metrics"])
    pd.testing.assert_frame_equal(a["model"].series_frame(), b["model"].series_frame())


def test_a_stop_condition_ends_the_run_early(tmp_path):
    from agglomeration.runone import run_scenario

    # [stop] when: "the run stops after the first step at which any holds" (parameters.StopParams)
    overrides = {"firms.initial_count": 200, "burn_in": 2, "stop.when": ["firms > 0"]}
    out = tmp_path / "run"
    r = run_scenario(BASELINE, steps=4, seed=3, overrides=overrides, out=out, progress=False)
    assert r["model"].t == 1 and not r["model"].running
    series = pd.read_csv(out / "timeseries.csv")
    assert series["step"].tolist() == [0, 1]
    assert series["firms"].iloc[-1] == len(pd.read_parquet(out / "firms.parquet"))
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["steps"], summary["steps_run"]) == (4, 1)


def test_run_figures_are_the_plot_figures_of_one_run(run_dir: Path, tmp_path, capsys):
    """`run` draws with the builders of `plot` (one pipeline); a single run's figures name the run,
    never a mean over runs; `plot` on the run output leaves it complete and intact."""
    from agglomeration.runone import check_run_output

    marker = json.loads((run_dir / "_COMPLETE.json").read_text())
    assert not any(name.startswith("figures/") for name in marker["files"])  # plot may redraw them
    assert "logistics.csv" in marker["files"]  # the run output check covers the logistics table
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["metrics"]["export_share"]["kind"] == "share"  # data-dependent registry entries
    out = tmp_path / "figs"
    assert main(["plot", str(run_dir), "--out", str(out)]) == 0
    drawn = sorted(p.name for p in out.iterdir())
    assert drawn == sorted(p.name for p in (run_dir / "figures").iterdir())
    assert main(["plot", str(run_dir)]) == 0  # into RUN_DIR/figures, the default
    assert check_run_output(run_dir) == []
    from agglomeration.experiment.store import load_results
    from agglomeration.report.figures import conditions_of
    from agglomeration.report.figureset import reference_runs

    runs = load_results(run_dir)["runs"]
    ids, phrase = reference_runs(runs, conditions_of(runs))
    assert len(ids) == 1 and phrase == "baseline (one run)"


def test_plot_refuses_a_damaged_or_incomplete_run_output(run_dir: Path, tmp_path, capsys):
    import shutil

    damaged = tmp_path / "damaged"
    shutil.copytree(run_dir, damaged)
    with (damaged / "regions.csv").open("a") as fh:
        fh.write("XY,extra,1,1,1,1\n")
    assert main(["plot", str(damaged), "--out", str(tmp_path / "f1")]) == 2
    err = capsys.readouterr().err
    assert "regions.csv: content changed since it was written" in err
    (damaged / "_COMPLETE.json").unlink()
    assert main(["plot", str(damaged), "--out", str(tmp_path / "f2")]) == 2
    assert "_COMPLETE.json" in capsys.readouterr().err
    assert not (tmp_path / "f1").exists() and not (tmp_path / "f2").exists()


def test_batch_commands_refuse_a_run_output(run_dir: Path, capsys):
    assert main(["compare", str(run_dir)]) == 2
    assert "single-run directory" in capsys.readouterr().err


def test_an_added_link_without_a_terminal_exits_2_naming_the_scenario_field(tmp_path, capsys):
    scen = tmp_path / "s.toml"
    scen.write_text(
        f'extends = "{BASELINE.as_posix()}"\nname = "s"\n[logistics]\nadd_links = [\n'
        '  { from = "WZ", to = "DOM", mode = "rail", distance_km = 700 },\n'
        '  { from = "XY", to = "DOM", mode = "river", distance_km = 700 },\n]\n'
    )
    out = tmp_path / "out"
    assert main(["run", str(scen), "--out", str(out), "--quiet", "--no-figures"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(
        f"error: {scen}: logistics.add_links[1]: link XY-DOM (river) needs a river terminal at 'XY'"
    ), err
    assert "links[" not in err.replace("add_links[", "") and "Traceback" not in err
    assert not out.exists()


@pytest.mark.parametrize(
    "item, expected",
    [
        (
            "logistics.tariff_multiplier.rail=abc",
            "error: --set logistics.tariff_multiplier.rail=abc: expected a number, got 'abc' [",
        ),
        (
            "logistics.tarif_multiplier.rail=2",
            "error: --set logistics.tarif_multiplier.rail=2 (logistics.tarif_multiplier): unknown "
            "key 'tarif_multiplier'; did you mean 'tariff_multiplier'?",
        ),
    ],
)
def test_a_bad_set_value_is_named_as_typed_not_blamed_on_the_scenario_file(
    tmp_path, capsys, item, expected
):
    out = tmp_path / "out"
    assert main(["run", str(BASELINE), "--set", item, "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(expected), err
    assert "baseline.toml" not in err and "Traceback" not in err
    assert not out.exists()


@pytest.mark.parametrize("option", ["--set", "--lever"])
def test_links_removed_by_an_option_that_cut_the_graph_are_named_as_typed(tmp_path, capsys, option):
    """The cut is found when the world is built, after the scenario loaded: it named the scenario
    file, which does not remove anything."""
    tiny = Path(__file__).resolve().parents[1] / "data" / "tiny" / "scenario.toml"
    item = 'logistics.remove_links=[{from="C", to="D"}]'
    out = tmp_path / "out"
    assert main(["run", str(tiny), option, item, "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {option} {item}: unreachable in the logistics graph: D"), err
    assert "scenario.toml" not in err and "Traceback" not in err
    assert not out.exists()


def test_runs_that_differ_only_in_lever_start_from_the_same_state(tmp_path: Path, capsys):
    """--lever acts from the first observed step: the burn-in is the scenario's with --set only, so
    the two runs share their start (step 0) and the lever shows up afterwards; --set would burn in
    under the lever and start elsewhere.  The run reproduces bit for bit from its own store."""
    common = ["run", str(BASELINE), "--steps", "4", "--seed", "2", "--quiet", "--no-figures"]
    common += ["--set", "firms.initial_count=300", "--set", "burn_in=12"]
    lever = "logistics.tariff_multiplier.all=0.2"
    assert main([*common, "--out", str(tmp_path / "base")]) == 0
    assert main([*common, "--lever", lever, "--out", str(tmp_path / "lever")]) == 0
    assert main([*common, "--set", lever, "--out", str(tmp_path / "set")]) == 0
    series = {k: pd.read_csv(tmp_path / k / "timeseries.csv") for k in ("base", "lever", "set")}
    # the firms' state at step 0 is shared (the link-valued metrics use the run's own trade costs)
    state = ["firms", "employment", "output", "firms_ftz", "firms_connected", "mean_lines"]
    pd.testing.assert_series_equal(series["base"].iloc[0][state], series["lever"].iloc[0][state])
    assert not series["base"].iloc[0][state].equals(series["set"].iloc[0][state])
    later = series["base"].iloc[-1]["output"], series["lever"].iloc[-1]["output"]
    assert later[0] != later[1]
    ids = {k: json.loads((tmp_path / k / "summary.json").read_text())["run_id"] for k in series}
    assert len(set(ids.values())) == 3  # the start is part of the run id
    # a --lever that repeats a --set value is the plain run: its own reference, its own start
    same = ["--set", lever, "--lever", lever, "--out", str(tmp_path / "same")]
    assert main([*common, *same]) == 0
    summary = json.loads((tmp_path / "same" / "summary.json").read_text())
    assert summary["reference_overrides"] is None and summary["run_id"] == ids["set"]
    summary = json.loads((tmp_path / "lever" / "summary.json").read_text())
    assert summary["reference_overrides"] == {"firms.initial_count": 300, "burn_in": 12}
    capsys.readouterr()
    assert main(["reproduce", str(tmp_path / "lever")]) == 0
    assert "bit for bit" in capsys.readouterr().out
    # a user-facing file edited after the run: not reported as reproduced
    with open(tmp_path / "lever" / "logistics.csv", "a") as fh:
        fh.write("mode,eu,rail,value,1.0,CNY m per step\n")
    assert main(["reproduce", str(tmp_path / "lever")]) == 1
    assert "changed after it was written (logistics.csv" in capsys.readouterr().out


def test_lever_refuses_a_field_that_is_not_a_lever(tmp_path: Path, capsys):
    code = main(
        ["run", str(BASELINE), "--lever", "firms.initial_count=300", "--out", str(tmp_path / "x")]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "--lever firms.initial_count" in err and "not a policy or logistics lever" in err
    assert "Traceback" not in err and not (tmp_path / "x").exists()
    assert main(["run", str(BASELINE), "--lever", "logistics.tariff_multiplier.rail"]) == 2
    assert "--lever: expected KEY=VALUE" in capsys.readouterr().err


def test_a_steady_state_ends_the_run_when_the_watched_series_settle(tmp_path):
    """[stop] steady_state: the run ends at the first record where the last `window` records' mean
    differs from the window before by less than `tolerance` (relative) for every watched series."""
    from agglomeration.model import AgglomerationModel

    common = dict(firms__initial_count=200, burn_in=2, replicate_seed=3)
    m = AgglomerationModel(
        str(BASELINE),
        stop__steady_state=["exogenous_income"],
        stop__window=2,
        stop__tolerance=0.1,
        **common,
    )
    m.run(12)  # exogenous income grows 2.7 % a quarter: two windows differ by ~5.5 % < 10 %
    assert m.t == 3 and not m.running  # four records (steps 0-3) make the two windows
    strict = AgglomerationModel(
        str(BASELINE), stop__steady_state=["firms"], stop__window=2, stop__tolerance=1e-12, **common
    )
    strict.run(6)
    assert strict.t == 6 and strict.running  # the firm count moves: never steady at 1e-12


def test_stop_conditions_name_metrics_the_model_reports(tmp_path):
    from agglomeration.errors import InputError
    from agglomeration.scenario import load_scenario

    with pytest.raises(InputError, match="unknown metric 'firmz'; did you mean 'firms'"):
        load_scenario(BASELINE, {"stop.when": ["firmz > 3"]})
    with pytest.raises(InputError, match="unknown metric 'outptu'; did you mean 'output'"):
        load_scenario(BASELINE, {"stop.steady_state": ["outptu"]})
    load_scenario(BASELINE, {"stop.when": ["corridor_cr_express_kt > 1"]})  # a logistics series
    # a metric of the end of the run only passed the check, then failed every run after its burn-in
    for final in ("connected_firm_share > 0.5", "export_share_WZ > 0.1", "corridor_lsc_value > 1"):
        with pytest.raises(InputError, match="computed at the end of the run only"):
            load_scenario(BASELINE, {"stop.when": [final]})
    with pytest.raises(InputError, match="computed at the end of the run only"):
        load_scenario(BASELINE, {"stop.steady_state": ["ftz_leads_chains_share"]})


def test_runs_with_other_settings_get_their_own_default_directory(tmp_path, monkeypatch):
    """Without --out, a run with --set values does not replace the plain run of the same scenario
    and seed (it did, silently); --no-figures changes neither the directory nor the run's identity."""
    from agglomeration.commands.run import default_run_name

    tiny = Path(__file__).resolve().parents[1] / "data" / "tiny" / "scenario.toml"
    monkeypatch.chdir(tmp_path)
    small = ["--steps", "2", "--seed", "1", "--quiet"]
    assert main(["run", str(tiny), *small, "--no-figures"]) == 0
    assert main(["run", str(tiny), *small, "--set", "policy.delegation.A=0.9"]) == 0
    assert main(["run", str(tiny), *small, "--set", "burn_in=1", "--no-figures"]) == 0
    dirs = sorted(p.name for p in (tmp_path / "runs").iterdir())
    assert len(dirs) == 3 and dirs[0] == "tiny-seed1", dirs
    assert any(d.startswith("tiny-seed1-A0.9-") for d in dirs)
    assert any(d.startswith("tiny-seed1-burn_in1-") for d in dirs)
    # keys that end alike stay apart; output settings do not name a directory
    assert default_run_name("b", 1, {"policy.delegation.WZ": "0.8"}, {}) != default_run_name(
        "b", 1, {"logistics.customs_multiplier.WZ": "0.8"}, {}
    )
    assert default_run_name("b", 1, {"output.figures": "false"}, {}) == "b-seed1"
    # ... and so do levers (their keys were not in the digest: the second run replaced the first),
    # and a lever is not the --set of the same key
    wz, cm = {"policy.delegation.WZ": "0.8"}, {"logistics.customs_multiplier.WZ": "0.8"}
    assert default_run_name("b", 1, {}, wz) != default_run_name("b", 1, {}, cm)
    assert default_run_name("b", 1, {}, wz) != default_run_name("b", 1, wz, {})
    # the same run with and without figures: one fingerprint, one run id
    with_figures = tmp_path / "with"
    assert main(["run", str(tiny), *small, "--out", str(with_figures)]) == 0
    plain = json.loads((tmp_path / "runs" / "tiny-seed1" / "summary.json").read_text())
    drawn = json.loads((with_figures / "summary.json").read_text())
    assert plain["fingerprint"] == drawn["fingerprint"]
    assert plain["run_id"] == drawn["run_id"]


def test_warnings_print_as_one_line_without_source_lines(tmp_path):
    """A model warning on the console is `warning: MESSAGE`, not Python's `FILE:LINE: UserWarning`
    followed by the line of code; --debug keeps Python's format."""
    import subprocess
    import sys

    tiny = Path(__file__).resolve().parents[1] / "data" / "tiny" / "scenario.toml"
    cmd = [sys.executable, "-m", "agglomeration.cli", "run", str(tiny), "--steps", "1", "--quiet"]
    cmd += ["--set", "behaviour.entry.floor=10000", "--no-figures"]  # no fixed cost balances entry
    quiet = subprocess.run([*cmd, "--out", str(tmp_path / "a")], capture_output=True, text=True)
    assert quiet.returncode == 0, quiet.stderr
    assert "warning: no fixed cost balances entry and exit" in quiet.stderr
    assert "UserWarning" not in quiet.stderr and ".py:" not in quiet.stderr
    debug = subprocess.run(
        [*cmd, "--out", str(tmp_path / "b"), "--debug"], capture_output=True, text=True
    )
    assert "UserWarning: no fixed cost balances" in debug.stderr


def test_a_lever_run_says_its_levers_on_the_console_and_in_the_summary(tmp_path, capsys):
    tiny = Path(__file__).resolve().parents[1] / "data" / "tiny" / "scenario.toml"
    argv = ["run", str(tiny), "--steps", "1", "--seed", "2", "--no-figures", "--quiet"]
    argv += ["--set", "behaviour.entry.floor=3", "--lever", "policy.delegation.A=0.9"]
    assert main([*argv, "--out", str(tmp_path / "lever")]) == 0
    out = capsys.readouterr().out
    assert "levers policy.delegation.A=0.9 (from the same start)" in out
    summary = json.loads((tmp_path / "lever" / "summary.json").read_text())
    assert summary["overrides"]["policy.delegation.A"] == 0.9
    assert summary["overrides"]["behaviour.entry.floor"] == 3
    assert summary["reference_overrides"] == {"behaviour.entry.floor": 3}


def test_the_step_bar_rate_leaves_the_burn_in_out(monkeypatch):
    """The run's bar started its clock before the model was built, so the first step's rate and the
    ETA counted the burn-in; the clock now starts once the model is built."""
    import time
    from types import SimpleNamespace

    import tqdm

    from agglomeration import runone
    from agglomeration.experiment import execute

    seen: dict[str, float] = {}

    class Bar(tqdm.tqdm):
        def update(self, n=1):
            super().update(n)
            seen["elapsed"] = self.format_dict["elapsed"]

    def fake_simulate(task, *, scenario, world, on_step, on_built=None):
        model = SimpleNamespace(firms=SimpleNamespace(n_alive=10))
        time.sleep(0.5)  # the burn-in, while the model is built
        if on_built is not None:
            on_built(model)
        for _ in range(task.steps):
            on_step(model)
        return "done"

    monkeypatch.setattr(tqdm, "tqdm", Bar)
    monkeypatch.setattr(execute, "simulate", fake_simulate)
    task = SimpleNamespace(steps=3)
    scenario = SimpleNamespace(name="tiny", burn_in=20)
    assert runone._simulate(task, scenario, None, progress=True) == "done"
    assert seen["elapsed"] < 0.25
