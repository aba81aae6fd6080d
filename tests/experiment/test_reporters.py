"""User-defined reporters: declared in an experiment file, computed per run, stored like metrics."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from agglomeration.cli import main as cli_main
from agglomeration.errors import InputError
from agglomeration.experiment.runner import run_experiment
from agglomeration.experiment.spec import load_experiment
from agglomeration.experiment.store import load_results

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(
    0, str(Path(__file__).resolve().parents[1])
)  # the reporters module lives next to this test

EXPERIMENT = f"""
name = "reporters"
scenario = "{(ROOT / "scenarios" / "baseline.toml").as_posix()}"
replicates = 2
steps = 2
[overrides]
"firms.initial_count" = 80
[[variants]]
name = "baseline"
[[variants]]
name = "hi"
overrides = {{ "policy.delegation.connected" = 0.9 }}
[reporters.electronics_firms]
function = "_reporters:electronics_firms"
label = "Firms in electronics"
unit = "firms"
kind = "count"
range = [0, nan]
[reporters.links_kept]
function = "_reporters:link_count"
"""


def _write(tmp_path, text) -> Path:
    path = tmp_path / "exp.toml"
    path.write_text(text)
    return path


def test_reporters_are_stored_like_metrics_and_labelled(tmp_path, capsys):
    exp = _write(tmp_path, EXPERIMENT)
    summary = run_experiment(exp, tmp_path / "out", executor="serial", progress=False)
    assert summary.complete and summary.failed == 0
    res = load_results(tmp_path / "out")
    runs, regions = res["runs"], res["regions"]
    for run_id, value in zip(runs["run_id"], runs["electronics_firms"]):
        r = regions.loc[regions["run_id"] == run_id]
        assert value == r.loc[r["sector"].isin(["components", "electronics"]), "firms"].sum()
    assert (runs["links_kept"] > 0).all()
    assert (
        cli_main(["compare", str(tmp_path / "out"), "--metrics", "electronics_firms", "links_kept"])
        == 0
    )
    out = capsys.readouterr().out
    assert "Firms in electronics" in out  # the declared label
    assert "Links kept" in out or "links_kept = " in out  # fallback label, or listed as constant


def test_reporters_do_not_change_the_resume_fingerprint_of_experiments_without_them(tmp_path):
    plain = load_experiment(ROOT / "experiments" / "delegation_sweep.toml")
    assert "reporters" not in plain.identity()


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('[reporters.x]\nfunction = "_reporters:not_a_number"\n', "expected a number"),
        ('[reporters.x]\nfunction = "_reporters:missing"\n', "has no function 'missing'"),
        ('[reporters.x]\nfunction = "no_such_module_xyz:f"\n', "cannot import reporter module"),
        ('[reporters.firms]\nfunction = "_reporters:link_count"\n', "is a built-in metric"),
        ('[reporters.x]\nfunction = "not a reference"\n', "package.module:function"),
        (
            '[reporters.x]\nfunction = "_reporters:link_count"\nkind = "share"\nrange = [0, 5]\n',
            "share has the range",
        ),
    ],
)
def test_bad_reporters_stop_the_batch_before_it_starts(tmp_path, table, message):
    text = EXPERIMENT.split("[reporters.electronics_firms]")[0] + table
    exp = _write(tmp_path, text)
    with pytest.raises(InputError, match=message):
        run_experiment(exp, tmp_path / "out", executor="serial", progress=False)
    assert not (tmp_path / "out" / "parts").exists()


def test_a_reporter_infinite_at_the_end_of_a_run_fails_the_run_not_the_batch(tmp_path):
    """It was stored as a value (inf) and `compare` then said the reporter had no value at all."""
    text = EXPERIMENT.split("[reporters.electronics_firms]")[0]
    text += '[reporters.x]\nfunction = "_reporters:infinite_at_the_end"\n'
    exp = _write(tmp_path, text.replace("replicates = 2", "replicates = 1"))
    summary = run_experiment(exp, tmp_path / "out", executor="serial", progress=False)
    assert summary.failed == 2
    runs = load_results(tmp_path / "out")["runs"]
    assert (runs["status"] == "failed").all()
    assert runs["error"].str.contains("expected a finite number or NaN").all()


def test_runs_that_run_away_at_initialisation_fail_alone_with_reporters_declared(tmp_path):
    """The reporters' check built the first run's model outside any guard: its DivergedError
    stopped the whole batch before it started (without reporters the runs fail and are recorded)."""
    text = EXPERIMENT.replace(
        '"firms.initial_count" = 80',
        '"firms.initial_count" = 80\n"behaviour.accounts.fixed_cost_quantile" = 0.9\n'
        '"behaviour.sourcing.relationship_distance_elasticity" = 3',
    )
    summary = run_experiment(
        _write(tmp_path, text), tmp_path / "out", executor="serial", progress=False
    )
    assert summary.failed == 4
    runs = load_results(tmp_path / "out")["runs"]
    assert runs["error"].str.contains("diverged at initialisation").all()
