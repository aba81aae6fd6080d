"""Calibration: the targets file and its checks, simulated moments, and parameter recovery (MSM)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from agglomeration.calibration.moments import run_moments, summarise
from agglomeration.calibration.targets import load_targets
from agglomeration.errors import InputError

TARGETS = """
name = "tiny_calibration"
scenario = "scenario.toml"
steps = 12
seed = 7
[overrides]
"firms.initial_count" = 100
[units]
firm = "one model firm"
step = "one quarter"
[parameters."behaviour.entry.floor"]
bounds = [0.5, 5.0]
[parameters."behaviour.sourcing.search_probability"]
bounds = [0.02, 0.5]
[search]
replicates = 2
startup_trials = 6
sweep_points = 4
sweep_span = 0.2
[[moments]]
name = "firm_growth"
metric = "firms_relative_to_initial"
observed = 1.4
se = 0.05
year = 2021
source = "synthetic"
units = "ratio of final to initial firms"
[[moments]]
name = "switch_rate"
metric = "supplier_switches"
window = [2, 12]
aggregate = "mean"
denominator = { metric = "firms", window = [2, 12], aggregate = "mean" }
observed = 0.1
se = 0.01
year = 2021
source = "synthetic"
units = "supplier switches per firm per step"
"""


def write_targets(tiny: Path, text: str = TARGETS, name: str = "targets.toml") -> Path:
    path = tiny.parent / name
    path.write_text(text, encoding="utf-8")
    return path


def replace(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


# ------------------------------------------------------------------------------------------------
# the targets file
# ------------------------------------------------------------------------------------------------
def test_targets_load(tiny):
    t = load_targets(write_targets(tiny))
    assert t.names == ["behaviour.entry.floor", "behaviour.sourcing.search_probability"]
    assert [m.name for m in t.moments] == ["firm_growth", "switch_rate"]
    assert t.moments[1].denominator.metric == "firms"
    assert t.moments[0].target_se == 0.05
    assert t.units["step"] == "one quarter"


BAD = [
    # keys the reader sets itself: a file's own value was silently replaced
    (
        'name = "tiny_calibration"',
        'name = "tiny_calibration"\nsource_path = 5',
        "source_path",
        "unknown key",
    ),
    (
        'name = "tiny_calibration"',
        'name = "tiny_calibration"\norigins = 5',
        "origins",
        "unknown key",
    ),
    (
        'metric = "firms_relative_to_initial"',
        'metric = "firms_relative"',
        "moments.firm_growth.metric",
        "unknown metric",
    ),
    (
        '[parameters."behaviour.entry.floor"]',
        '[parameters."behaviour.entry.flor"]',
        'parameters."behaviour.entry.flor"',
        "unknown key",
    ),
    (
        "bounds = [0.5, 5.0]",
        "bounds = [5.0, 0.5]",
        'parameters."behaviour.entry.floor"',
        "low < high",
    ),
    (
        "bounds = [0.5, 5.0]",
        "bounds = [-1.0, 5.0]",
        'parameters."behaviour.entry.floor".bounds',
        "greater than or equal to 0",
    ),
    (
        "bounds = [0.5, 5.0]",
        'bounds = ["0.5", "5"]',
        'parameters."behaviour.entry.floor".bounds',
        "expected two numbers [low, high]",
    ),
    (
        "observed = 1.4\nse = 0.05\n",
        "observed = 1.4\nse = 0.05\nscale = 0.0\n",
        "moments.firm_growth.scale",
        "expected a positive number",
    ),
    ("observed = 1.4\nse = 0.05\n", "observed = 1.4\n", "moments.firm_growth", "needs `se`"),
    ("observed = 1.4\n", "", "moments.firm_growth.observed", "missing"),
    # numbers are numbers ("1.4" was read as 1.4)
    ("observed = 1.4\n", 'observed = "1.4"\n', "moments.firm_growth.observed", "expected a number"),
    ("se = 0.05\n", "se = true\n", "moments.firm_growth.se", "expected a number, not a boolean"),
    (
        'source = "synthetic"\nunits = "ratio',
        'units = "ratio',
        "moments.firm_growth.source",
        "missing",
    ),
    (
        "window = [2, 12]\naggregate",
        "window = [2, 40]\naggregate",
        "moments.switch_rate.window",
        "12 steps",
    ),
    (
        'metric = "supplier_switches"\nwindow',
        'metric = "zone_firm_share"\nwindow',
        "moments.switch_rate.window",
        "only known at the end",
    ),
    (
        'metric = "firms_relative_to_initial"',
        'metric = "output"\nregion = "Z"',
        "moments.firm_growth.region",
        "unknown region 'Z'",
    ),
    # an empty selection summed no rows: the statistic was 0 in every run
    (
        'metric = "firms_relative_to_initial"',
        'metric = "output"\nsector = []',
        "moments.firm_growth.sector",
        "expected at least one name",
    ),
    (
        'metric = "firms_relative_to_initial"',
        'function = "no_such_module_xyz:f"',
        "moments.firm_growth.function",
        "cannot import",
    ),
    # named `search.replicates.int` (the branch of int | 'auto' pydantic tried), in its words
    ("replicates = 2\n", 'replicates = "many"\n', "search.replicates", "from 1 to 256, or 'auto'"),
    ("replicates = 2\n", "replicates = 0\n", "search.replicates", "from 1 to 256, or 'auto'"),
    ("replicates = 2\n", "replicates = true\n", "search.replicates", "from 1 to 256, or 'auto'"),
]


@pytest.mark.parametrize(("old", "new", "field", "message"), BAD)
def test_targets_bad_input_names_file_and_field(tiny, old, new, field, message):
    path = write_targets(tiny, replace(TARGETS, old, new))
    with pytest.raises(InputError) as err:
        load_targets(path)
    assert err.value.file and err.value.file.endswith("targets.toml")
    assert err.value.field == field
    assert message in err.value.message


def test_targets_csv_moments(tiny):
    csv = tiny.parent / "moments.csv"
    csv.write_text(
        "name,metric,region,sector,denominator_metric,denominator_region,observed,se,year,source,units\n"
        "a_share,output,A,bulk;gadget,output,A,0.5,0.1,2021,test,share of A's output\n"
        "bad_row,outptu,A,,output,A,0.5,0.1,2021,test,share\n",
        encoding="utf-8",
    )
    text = 'moments_file = "moments.csv"\n' + TARGETS
    with pytest.raises(InputError) as err:
        load_targets(write_targets(tiny, text))
    assert err.value.field == "moments.bad_row (moments.csv line 3).metric"
    assert "did you mean 'output'" in err.value.message
    csv.write_text(csv.read_text().splitlines()[0] + "\n" + csv.read_text().splitlines()[1] + "\n")
    t = load_targets(write_targets(tiny, text))
    m = t.moments[-1]
    assert m.name == "a_share" and m.sector == ("bulk", "gadget") and m.denominator.region == ("A",)
    # a row with more cells than the header (an unquoted comma) is refused, not cut
    csv.write_text(csv.read_text().rstrip("\n") + ",spilt\n", encoding="utf-8")
    with pytest.raises(InputError, match="12 cells, the header has 11") as err:
        load_targets(write_targets(tiny, text))
    assert err.value.field == "line 2"


def test_cli_bad_targets_exit_2_before_any_run(tiny, tmp_path):
    path = write_targets(
        tiny, replace(TARGETS, 'metric = "firms_relative_to_initial"', 'metric = "nope"')
    )
    out = tmp_path / "cal"
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "agglomeration.cli",
            "calibrate",
            str(path),
            "--out",
            str(out),
            "--executor",
            "serial",
        ],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 2, r.stderr
    assert "targets.toml: moments.firm_growth.metric: unknown metric 'nope'" in r.stderr
    assert "Traceback" not in r.stderr
    assert not out.exists()


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--seeds", "4"], "--seeds: --seeds sets the seeds"),
        (["--budget", "50"], "too small for ABC"),
    ],
)
def test_cli_abc_bad_options_are_clear_errors(tiny, tmp_path, capsys, extra, message):
    # in this process (the console script's exit code is main's return value; a subprocess per case
    # cost ~4 s of interpreter start-up): test_cli_bad_targets_exit_2_before_any_run runs it as a process
    from agglomeration import cli

    code = cli.main(["calibrate", str(write_targets(tiny)), "--out", str(tmp_path / "c"),
                     "--method", "abc", *extra])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and message in err, err
    assert "Traceback" not in err
    assert not (tmp_path / "c").exists()


# ------------------------------------------------------------------------------------------------
# simulated moments
# ------------------------------------------------------------------------------------------------
def test_run_moments_statistics(tiny):
    text = (
        TARGETS
        + """
[[moments]]
name = "a_gadget_share"
metric = "output"
region = "A"
sector = "gadget"
denominator = { metric = "output", region = "A" }
observed = 0.5
se = 0.1
year = 2021
source = "synthetic"
units = "share"
[[moments]]
name = "annual_growth"
metric = "firms"
window = [0, 8]
aggregate = "growth"
observed = 0.05
se = 0.02
year = 2021
source = "synthetic"
units = "per year"
scale = 100.0
"""
    )
    t = load_targets(write_targets(tiny, text))
    runs = pd.DataFrame(
        {"run_id": ["r1", "r2"], "variant": ["v", "v"], "replicate": [0, 1], "status": ["ok", "ok"],
         "firms_relative_to_initial": [1.0, 2.0]}
    )  # fmt: skip
    steps = np.arange(13)
    series = pd.concat(
        [
            pd.DataFrame({"run_id": rid, "step": steps, "firms": 100.0 * f**steps,
                          "supplier_switches": 10.0})
            for rid, f in (("r1", 1.0), ("r2", 1.1))
        ]
    )  # fmt: skip
    regions = pd.DataFrame(
        {"run_id": ["r1"] * 3 + ["r2"] * 3, "region": ["A", "A", "B"] * 2,
         "region_type": ["ftz", "ftz", "connected"] * 2, "sector": ["gadget", "bulk", "gadget"] * 2,
         "output": [1.0, 3.0, 7.0, 2.0, 2.0, 5.0]}
    )  # fmt: skip
    v = run_moments(
        t, {"runs": runs, "series": series, "regions": regions}, steps_per_year=4
    ).set_index("run_id")
    assert v.loc["r1", "firm_growth"] == 1.0 and v.loc["r2", "firm_growth"] == 2.0
    assert v.loc["r1", "switch_rate"] == pytest.approx(0.1)
    assert v.loc["r1", "a_gadget_share"] == pytest.approx(0.25)
    assert v.loc["r2", "a_gadget_share"] == pytest.approx(0.5)
    assert v.loc["r1", "annual_growth"] == pytest.approx(0.0)
    assert v.loc["r2", "annual_growth"] == pytest.approx(100 * (1.1**4 - 1))
    s = summarise(v.reset_index(), ["firm_growth"]).iloc[0]
    assert s["n"] == 2 and s["firm_growth"] == 1.5 and s["firm_growth__se"] == pytest.approx(0.5)


# ------------------------------------------------------------------------------------------------
# recovery: moments generated by the model at known parameters are matched back
# ------------------------------------------------------------------------------------------------
#: the recovery estimates the line death rate (firm growth responds to it strongly: a one-line firm that
#: loses its line exits) instead of the entry floor, which the nested-logit entry weakly identifies
RECOVERY_TARGETS = TARGETS.replace(
    '[parameters."behaviour.entry.floor"]\nbounds = [0.5, 5.0]',
    '[parameters."behaviour.lines.death_rate"]\nbounds = [0.005, 0.08]',
)


def output_share_of_a(tables) -> float:
    """A `function` moment: region A's share of output (the same as a selector moment)."""
    regions = tables["regions"]
    return float(regions.loc[regions["region"] == "A", "output"].sum() / regions["output"].sum())


def test_function_moment_equals_the_selector_moment(tiny, tmp_path):
    from agglomeration.calibration.evaluate import Evaluator

    text = (
        TARGETS
        + """
[[moments]]
name = "a_share_function"
function = "test_calibrate:output_share_of_a"
observed = 0.5
se = 0.1
year = 2021
source = "synthetic"
units = "share"
[[moments]]
name = "a_share_selector"
metric = "output"
region = "A"
denominator = { metric = "output" }
observed = 0.5
se = 0.1
year = 2021
source = "synthetic"
units = "share"
"""
    )
    t = load_targets(write_targets(tiny, text))
    point = {"behaviour.entry.floor": 3.0, "behaviour.sourcing.search_probability": 0.2}
    ev = Evaluator(t, tmp_path / "cal").evaluate("check", {"c": point}, 2)
    v = ev.values
    assert len(v) == 2 and v["a_share_function"].between(0, 1).all()
    np.testing.assert_allclose(v["a_share_function"], v["a_share_selector"], rtol=1e-12)


def test_distance_weights_and_replicate_rule(tiny):
    from agglomeration.calibration.msm import distance, needed_replicates

    text = replace(TARGETS, "observed = 0.1\nse = 0.01", "observed = 0.1\nweight = 10000.0")
    text = replace(
        text, "bounds = [0.5, 5.0]", 'bounds = [0.5, 5.0]\nprior = "normal"\nmean = 2.0\nsd = 0.5'
    )
    t = load_targets(write_targets(tiny, text))
    assert t.moments[1].target_se == pytest.approx(0.01)  # weight = 1 / se^2
    row = {
        "n": 4,
        "firm_growth": 1.5,
        "firm_growth__sd": 0.1,
        "switch_rate": 0.1,
        "switch_rate__sd": 0.0,
    }
    params = {"behaviour.entry.floor": 3.0, "behaviour.sourcing.search_probability": 0.2}
    # (1.5 - 1.4)^2 / (0.05^2 + 0.1^2 / 4) + 0 + normal-prior penalty ((3 - 2) / 0.5)^2
    assert distance(t, row, params) == pytest.approx(0.01 / (0.0025 + 0.0025) + 4.0)
    # seed noise sd 0.2 against target SE 0.05: (0.2 / 0.05)^2 = 16 -> 17 seeds, capped at 16
    n, table = needed_replicates(
        t, pd.Series({"firm_growth__sd": 0.2, "switch_rate__sd": 0.001}), 16
    )
    assert n == 16 and table.set_index("moment").loc["firm_growth", "replicates_needed"] == 17
    n, _ = needed_replicates(t, pd.Series({"firm_growth__sd": 0.09, "switch_rate__sd": 0.001}), 16)
    assert n == 4  # (0.09 / 0.05)^2 = 3.24 -> 4 seeds bring the SE of the mean below 0.05


def test_pilot_chooses_replicates_from_the_seed_noise(tiny, tmp_path):
    from agglomeration.calibration.evaluate import Evaluator
    from agglomeration.calibration.run import _pilot

    text = replace(
        TARGETS, "replicates = 2", 'replicates = "auto"\npilot_replicates = 3\nmax_replicates = 6'
    )
    t = load_targets(write_targets(tiny, replace(text, "se = 0.01", "se = 0.002")))
    ev = Evaluator(t, tmp_path)
    tmp_path.joinpath("runs").mkdir()
    manifest: dict = {}
    start = {"behaviour.entry.floor": 2.0, "behaviour.sourcing.search_probability": 0.1}
    s, runs = _pilot(t, ev, start, manifest)
    table = pd.read_csv(tmp_path / "pilot.csv").set_index("moment")
    # the switch rate's seed noise against an SE of 0.002 needs more seeds than the pilot's 3
    need = table["replicates_needed"].max()
    assert need > 3 and 3 < runs <= 6  # the pilot grew (to at most the cap)
    assert s == max(2, min(6, need)) and s <= runs
    assert manifest["pilot"]["replicates_run"] == runs
    assert (table["seed_sd"] > 0).all()


def test_too_small_budget_is_refused_before_anything_runs(tiny, tmp_path):
    pytest.importorskip(
        "optuna", reason="the calibration needs the optional extra `calibrate` (optuna)"
    )
    from agglomeration.calibration import calibrate

    out = tmp_path / "cal"
    # 2 seeds: (2 candidates + 5 re-evaluated) x 2 + 4 sweep points x 2 parameters x 2 = 30
    with pytest.raises(InputError, match="need 30 runs") as err:
        calibrate(write_targets(tiny), out, budget=25, executor="serial")
    assert err.value.field == "--budget" and not out.exists()


# ------------------------------------------------------------------------------------------------
# held-out moments: simulated at the optimum, never fitted (an out-of-sample check)
# ------------------------------------------------------------------------------------------------
HOLDOUT = """
[[holdout]]
name = "later_growth"
metric = "firms"
window = [12, 20]
aggregate = "growth"
observed = 0.05
se = 0.02
year = "2022-2023"
source = "synthetic"
units = "annual growth of the firm count after the fitted period"
[[holdout]]
name = "a_share_at_20"
metric = "output"
region = "A"
denominator = { metric = "output" }
observed = 0.5
se = 0.1
year = 2023
source = "synthetic"
units = "region A's share of output at the end of the held-out runs"
"""


def test_held_out_moments_are_checked_and_leave_the_fit_unchanged(tiny):
    plain = load_targets(write_targets(tiny))
    held = load_targets(write_targets(tiny, TARGETS + HOLDOUT, "held.toml"))
    assert [m.name for m in held.holdout] == ["later_growth", "a_share_at_20"]
    assert held.holdout_steps == 20 and plain.holdout_steps == 12
    # not part of the search: adding held-out moments keeps the calibration directory's identity
    assert held.fingerprint() == plain.fingerprint()
    for old, new, field in (
        ('name = "later_growth"', 'name = "firm_growth"', "holdout.firm_growth"),
        ('metric = "firms"\nwindow = [12, 20]', 'metric = "firmz"\nwindow = [12, 20]', "metric"),
        ('region = "A"', 'region = "Q"', "holdout.a_share_at_20.region"),
    ):
        bad = write_targets(tiny, TARGETS + replace(HOLDOUT, old, new), "bad.toml")
        with pytest.raises(InputError) as err:
            load_targets(bad)
        assert err.value.field.startswith("holdout") and field in err.value.field, err.value


def test_an_integer_parameter_needs_a_whole_number_within_its_bounds():
    """Refused when the targets file is read (calibrate --check), not by the optimiser mid-run."""
    from pydantic import ValidationError

    from agglomeration.calibration.targets import Parameter

    with pytest.raises(ValidationError, match="whole number within its bounds"):
        Parameter(bounds=(2.2, 2.8), integer=True)
    with pytest.raises(ValidationError, match="whole start"):
        Parameter(bounds=(1.0, 6.0), start=2.5, integer=True)
    assert Parameter(bounds=(0.5, 6.0), start=2.0, integer=True).integer


def test_integer_bounds_need_not_be_whole_and_a_sector_hint_is_plain(tiny):
    """An integer parameter with fractional bounds (whole numbers inside) was refused by --check with a
    message naming neither the file nor the field; a misspelt sector's hint printed np.str_('...')."""
    text = replace(
        TARGETS,
        "[search]",
        '[parameters."behaviour.exit.after_losses"]\nbounds = [4.5, 16.2]\ninteger = true\n[search]',
    )
    t = load_targets(write_targets(tiny, text))
    assert t.parameters["behaviour.exit.after_losses"].integer
    text = replace(
        TARGETS,
        'metric = "firms_relative_to_initial"',
        'metric = "output"\nregion = ["A"]\nsector = ["gadgte"]',
    )
    with pytest.raises(InputError) as err:
        load_targets(write_targets(tiny, text))
    assert err.value.field == "moments.firm_growth.sector"
    assert err.value.message.endswith("did you mean 'gadget'?"), err.value.message


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--check", "--budget", "-5"], "--budget: expected a whole number of model runs"),
        (["--check", "--method", "foo"], "--method: expected msm or abc, got 'foo'"),
        (["--scheduler", "tcp://1.2.3.4:1"], "--scheduler: a scheduler address needs the dask"),
    ],
)
def test_cli_options_are_checked_with_check_and_a_scheduler_needs_dask(
    tiny, tmp_path, capsys, extra, message
):
    """`--check` passed whatever the options (a check that passes must mean the command starts), and
    `--scheduler` with the local executor was dropped silently."""
    from agglomeration import cli

    code = cli.main(["calibrate", str(write_targets(tiny)), "--out", str(tmp_path / "c"), *extra])
    assert code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err, err
    assert not (tmp_path / "c").exists()


@pytest.mark.parametrize(
    "option, value, field",
    [
        ("workers", 2.0, "--workers"),
        ("workers", "2", "--workers"),
        ("workers", True, "--workers"),
        ("budget", 100.5, "--budget"),
        ("seeds", 2.0, "--seeds"),
    ],
)
def test_calibrate_from_python_takes_whole_numbers_only(tiny, tmp_path, option, value, field):
    """``calibrate(workers=2.0)`` passed the range check (the batch runner refuses it: one rule now,
    ``pools.check_workers``); a fractional budget or seed count is refused before anything is written."""
    from agglomeration.calibration.run import calibrate

    with pytest.raises(InputError) as err:
        calibrate(write_targets(tiny), tmp_path / "c", **{option: value})
    assert err.value.field == field and repr(value) in err.value.message, err.value
    assert not (tmp_path / "c").exists()


def test_a_calibration_of_another_model_revision_is_not_resumed(tiny, tmp_path):
    """Its runs were computed by another model: resuming would mix two models' moments."""
    import json

    from agglomeration import MODEL_REVISION
    from agglomeration.calibration.run import calibrate
    from agglomeration.errors import ResultStoreError

    path = write_targets(tiny)
    out = tmp_path / "c"
    out.mkdir()
    manifest = {"fingerprint": load_targets(path).fingerprint(), "method": "msm", "abc": None}
    (out / "calibration.json").write_text(json.dumps(manifest))
    with pytest.raises(ResultStoreError) as err:
        calibrate(path, out, resume=True, budget=100)
    assert f"model revision 0 and this package computes revision {MODEL_REVISION}" in str(err.value)
    assert sorted(p.name for p in out.iterdir()) == ["calibration.json"]


@pytest.mark.parametrize("content", ["[]", "null", "5"])
def test_a_calibration_json_that_is_not_an_object_is_refused_naming_it(tiny, tmp_path, content):
    """Valid JSON of the wrong shape was an AttributeError (exit 1) on resume."""
    from agglomeration.calibration.run import calibrate
    from agglomeration.errors import ResultStoreError

    path = write_targets(tiny)
    out = tmp_path / "c"
    out.mkdir()
    (out / "calibration.json").write_text(content)
    with pytest.raises(ResultStoreError) as err:
        calibrate(path, out, resume=True, budget=100)
    assert "calibration.json" in str(err.value) and "expected an object" in str(err.value)


def test_search_replicates_take_a_whole_number_or_auto(tiny):
    for given, read in (("3.0", 3), ("4", 4), ('"auto"', "auto")):
        text = replace(TARGETS, "replicates = 2\n", f"replicates = {given}\n")
        assert load_targets(write_targets(tiny, text)).search.replicates == read


def test_sweep_table_keeps_a_zero_spread_and_identification_uses_the_width_swept(tiny):
    """Replicates that agree have sd 0 (it became blank), and a sweep clipped at a bound is narrower
    than 2 x sweep_span x range (the identification table scaled every slope by the nominal width)."""
    from agglomeration.calibration import diagnostics as diag

    t = load_targets(write_targets(tiny))
    best = {"behaviour.entry.floor": 0.6, "behaviour.sourcing.search_probability": 0.3}
    cand = diag.sweep_candidates(t, best)
    names = [m.name for m in t.moments]
    rows = [{"variant": v, "n": 2.0, **{m: 1.0 for m in names}, **{f"{m}__se": 0.0 for m in names},
             **{f"{m}__sd": 0.0 for m in names}} for v in cand]  # fmt: skip
    best_summary = {"n": 2.0, **{m: 1.0 for m in names}, **{f"{m}__sd": 0.0 for m in names}}
    sweeps = diag.sweep_frame(t, best, best_summary, pd.DataFrame(rows))
    assert (sweeps["sd"] == 0.0).all()
    assert (sweeps["se"].dropna() == 0.0).all() and sweeps["se"].notna().sum() == len(rows) * len(
        names
    )
    floor = sweeps.loc[sweeps["parameter"] == "behaviour.entry.floor", "value"]
    clipped = float(floor.max() - floor.min())
    assert floor.min() == 0.5 and clipped < 2 * t.search.sweep_span * (5.0 - 0.5)  # the lower bound
    g = pd.DataFrame(1.0, index=names, columns=list(t.parameters))
    ident = diag.identification_table(t, g, sweeps)
    m0 = t.moments[0]
    assert ident.loc[m0.name, "behaviour.entry.floor"] == pytest.approx(clipped / m0.target_se)


def test_an_abc_scenario_file_has_one_header_and_can_be_overwritten_by_a_calibration(
    tiny, tmp_path
):
    from agglomeration.calibration import outputs

    t = load_targets(write_targets(tiny))
    header = (
        "Calibrated by `agglomeration calibrate --method abc` from t.toml (now).\nPosterior medians"
    )
    text = outputs.scenario_text(t, {"behaviour.entry.floor": 1.0}, tmp_path / "s.toml", header)
    first = text.splitlines()[0]
    assert first == "# Calibrated by `agglomeration calibrate --method abc` from t.toml (now)."
    (tmp_path / "s.toml").write_text(text)
    outputs.check_scenario_out(tmp_path / "s.toml")  # a calibration's own file: no error
