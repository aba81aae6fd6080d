"""`agglomeration run` output: a one-run result store written through the batch writer, atomically,
with a completion marker; it never overwrites inputs, never follows links, and never writes outside
the directory the user chose.  `reproduce` reruns it; a result directory is data (no import before the
fingerprint check, no model class imported without --trust-model).
"""

from __future__ import annotations

import errno
import json
import math
import shutil
import sys
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from agglomeration import cli
from agglomeration.errors import InputError, ResultStoreError
from agglomeration.experiment.store import COMPLETE_MARKER, PARTS_KEY, load_results
from agglomeration.runone import check_run_output, run_scenario
from agglomeration.scenario import load_scenario

HERE = Path(__file__).resolve().parents[1]
TINY = HERE / "data" / "tiny"
RUN = ["--steps", "3", "--seed", "2", "--no-figures"]


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    shutil.copytree(TINY, tmp_path / "tiny")
    return tmp_path / "tiny" / "scenario.toml"


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def cli_run(capsys, *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = cli.main(["-q", "run", *argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


@pytest.fixture
def no_simulation(monkeypatch):
    """Fail the test if a model is stepped: checks must come before the work."""
    import agglomeration.experiment.execute as ex

    def forbidden(*a, **kw):
        raise AssertionError("the run started before the input was checked")

    monkeypatch.setattr(ex, "simulate", forbidden)


# ------------------------------------------------------------------------------------------------
# the one-run store
# ------------------------------------------------------------------------------------------------
def test_run_output_is_a_one_run_store_with_the_user_files(tiny, tmp_path, capsys):
    out = tmp_path / "out"
    code, _, err = cli_run(
        capsys, str(tiny), "--out", str(out), *RUN, "--set", "firms.initial_count=40"
    )
    assert code == 0, err
    res = load_results(out)
    assert res.manifest["kind"] == "run" and res.manifest["status"] == "complete"
    runs = res["runs"]
    assert len(runs) == 1 and runs["status"].iloc[0] == "ok" and runs["seed"].iloc[0] == 2
    rid = runs["run_id"].iloc[0]
    # the user files are the parts without the run_id column (same writer, same frames)
    ts = pd.read_csv(out / "timeseries.csv")
    pd.testing.assert_frame_equal(
        res["series"].drop(columns="run_id"), ts, check_dtype=False, check_exact=False, rtol=1e-15
    )
    assert list(ts["step"]) == [0, 1, 2, 3]
    firms = pd.read_parquet(out / "firms.parquet")
    pd.testing.assert_frame_equal(res["firms"].drop(columns=["run_id", "step"]), firms)
    pd.testing.assert_frame_equal(
        res["links"].drop(columns="run_id"), pd.read_parquet(out / "links.parquet")
    )
    regions = pd.read_csv(out / "regions.csv")
    assert len(regions) == len(res["regions"])
    # the runs part records the checksums of the other parts, as in a batch
    meta = pq.read_schema(out / "parts" / "runs" / f"{rid}.parquet").metadata
    assert set(json.loads(meta[PARTS_KEY])) == {"series", "regions", "links", "firms"}
    manifest = res.manifest["run"]
    assert manifest["overrides"] == {"firms.initial_count": 40, "output.figures": False}
    assert check_run_output(out) == []
    marker = json.loads((out / COMPLETE_MARKER).read_text())
    assert {"timeseries.csv", "summary.json", "manifest.json"} <= set(marker["files"])


def test_reproduce_accepts_a_run_output_and_detects_changed_data(tiny, tmp_path, capsys):
    out = tmp_path / "out"
    assert (
        cli_run(capsys, str(tiny), "--out", str(out), *RUN, "--set", "firms.initial_count=40")[0]
        == 0
    )
    capsys.readouterr()
    assert cli.main(["reproduce", str(out)]) == 0
    assert capsys.readouterr().out.startswith("match: run ")
    regions = tiny.parent / "regions.csv"
    regions.write_text(regions.read_text().replace(",0.025,", ",0.026,"))
    assert cli.main(["reproduce", str(out)]) == 1
    assert "resolves differently" in capsys.readouterr().out


def test_run_and_batch_share_the_writer(tiny):
    """The rerun of `reproduce` goes through the batch worker (execute_run); a run's parts equal it
    bit for bit, so the two pipelines write the same tables."""
    from agglomeration.experiment.reproduce import reproduce_run

    out = tiny.parent.parent / "out"
    run_scenario(tiny, steps=2, seed=4, out=out, progress=False)
    rep = reproduce_run(out)
    assert rep.match, rep.first_difference
    assert set(rep.rows) == {"runs", "series", "regions", "links", "firms"}


def test_summary_json_is_strict_json_with_null_for_undefined_metrics(tiny, tmp_path):
    """An empty economy has share-type metrics that are undefined (NaN in memory)."""
    out = tmp_path / "out"
    res = run_scenario(
        tiny,
        steps=1,
        out=out,
        progress=False,
        overrides={
            "firms.initial_count": 0,
            "behaviour.entry.enabled": False,
            "output.figures": False,
        },
    )
    text = (out / "summary.json").read_text()

    def no_constants(name):
        raise AssertionError(f"summary.json holds the non-JSON constant {name}")

    data = json.loads(text, parse_constant=no_constants)
    undefined = [k for k, v in data["metrics"].items() if v is None]
    assert undefined, "expected undefined share metrics in an empty economy"
    assert all(res["summary"]["metrics"][k] is None for k in undefined)
    assert not any(
        isinstance(v, float) and math.isnan(v) for v in res["summary"]["metrics"].values()
    )


# ------------------------------------------------------------------------------------------------
# never overwrite inputs, never follow links, nothing outside --out
# ------------------------------------------------------------------------------------------------
def test_run_into_the_scenario_directory_is_refused(tiny, capsys, no_simulation):
    before = snapshot(tiny.parent)
    code, _, err = cli_run(capsys, str(tiny), "--out", str(tiny.parent), *RUN)
    assert code == 2 and "holds input files of the scenario" in err and "--out" in err
    assert snapshot(tiny.parent) == before


def test_run_into_a_parent_of_the_inputs_is_refused(tiny, capsys, no_simulation):
    code, _, err = cli_run(capsys, str(tiny), "--out", str(tiny.parent.parent), *RUN)
    assert code == 2 and "input files" in err


def test_run_into_a_directory_with_foreign_files_is_refused(tiny, tmp_path, capsys, no_simulation):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.tex").write_text("do not delete")
    code, _, err = cli_run(capsys, str(tiny), "--out", str(out), *RUN)
    assert code == 2 and "did not write" in err
    assert (out / "thesis.tex").read_text() == "do not delete"


def test_a_planted_link_in_an_earlier_output_is_never_followed(tiny, tmp_path, capsys):
    out = tmp_path / "out"
    assert cli_run(capsys, str(tiny), "--out", str(out), *RUN)[0] == 0
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    (out / "summary.json").unlink()
    (out / "summary.json").symlink_to(victim)
    (out / "timeseries.csv").unlink()
    (out / "timeseries.csv").symlink_to(victim)
    assert cli_run(capsys, str(tiny), "--out", str(out), *RUN)[0] == 0
    assert victim.read_text() == "precious"
    assert not (out / "summary.json").is_symlink() and json.loads(
        (out / "summary.json").read_text()
    )
    assert check_run_output(out) == []


def test_out_that_is_a_link_or_a_file_or_unwritable_is_refused_before_the_run(
    tiny, tmp_path, capsys, no_simulation, monkeypatch
):
    target = tmp_path / "elsewhere"
    target.mkdir()
    (tmp_path / "link").symlink_to(target)
    code, _, err = cli_run(capsys, str(tiny), "--out", str(tmp_path / "link"), *RUN)
    assert code == 2 and "symbolic link" in err
    (tmp_path / "file").write_text("x")
    code, _, err = cli_run(capsys, str(tiny), "--out", str(tmp_path / "file"), *RUN)
    assert code == 2 and "existing file" in err
    code, _, err = cli_run(capsys, str(tiny), "--out", str(tmp_path / "file" / "sub"), *RUN)
    assert code == 2 and "cannot create the output directory" in err
    code, _, err = cli_run(capsys, str(tiny), "--out", "x" * 5000, *RUN)
    assert code == 2 and "File name too long" in err and len(err) < 600
    code, _, err = cli_run(capsys, str(tiny), "--out", "a\0b", *RUN)
    assert code == 2 and "--out" in err

    real_mkdir = Path.mkdir

    def denied(self, *a, **kw):
        if self.name.startswith(".run-"):
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real_mkdir(self, *a, **kw)

    monkeypatch.setattr(Path, "mkdir", denied)  # root ignores chmod: simulate a read-only parent
    code, _, err = cli_run(capsys, str(tiny), "--out", str(tmp_path / "ro" / "out"), *RUN)
    assert code == 2 and "Permission denied" in err


@pytest.mark.parametrize(
    "name",
    ["../../../../outside/x", "/tmp/abs", "a/b", "ok\n", "bell\x07", "a\x00b", "x" * 5000, ""],
    ids=["dotdot", "absolute", "slash", "newline", "control", "nul", "5000", "empty"],
)
def test_scenario_names_follow_the_identifier_rule(tiny, tmp_path, capsys, monkeypatch, name):
    monkeypatch.chdir(tmp_path)
    before = sorted(p.name for p in tmp_path.parent.iterdir())
    code, _, err = cli_run(capsys, str(tiny), "--set", f"name={json.dumps(name)}", *RUN)
    assert code == 2 and "name" in err and "letters, digits" in err
    assert "\x07" not in err and "\x00" not in err and len(err) < 1000
    text = tiny.read_text().replace('name = "tiny"', f"name = {json.dumps(name)}")
    tiny.write_text(text)
    code, _, err = cli_run(capsys, str(tiny), *RUN)
    assert code == 2 and "letters, digits" in err
    assert not (tmp_path / "runs").exists()
    assert sorted(p.name for p in tmp_path.parent.iterdir()) == before


def test_default_output_goes_under_runs_named_after_the_scenario(
    tiny, tmp_path, capsys, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    assert cli_run(capsys, str(tiny), *RUN)[0] == 0
    assert (tmp_path / "runs" / "tiny-seed2" / COMPLETE_MARKER).is_file()


# ------------------------------------------------------------------------------------------------
# atomic output
# ------------------------------------------------------------------------------------------------
def test_a_failure_while_writing_leaves_no_partial_output(tiny, tmp_path, capsys, monkeypatch):
    import agglomeration.runone as runone

    out = tmp_path / "out"
    assert cli_run(capsys, str(tiny), "--out", str(out), *RUN)[0] == 0
    before = snapshot(out)

    def disk_full(*a, **kw):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(runone, "_dump_json", disk_full)  # fails after the tables were written
    code, _, err = cli_run(capsys, str(tiny), "--out", str(out), "--steps", "2", "--no-figures")
    assert code == 1 and "No space left on device" in err
    assert snapshot(out) == before  # the earlier complete output, untouched
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".run-")]  # no staging left
    code, _, err = cli_run(capsys, str(tiny), "--out", str(tmp_path / "new"), *RUN)
    assert code == 1 and not (tmp_path / "new").exists()


def test_a_damaged_run_output_is_reported(tiny, tmp_path, capsys):
    out = tmp_path / "out"
    assert cli_run(capsys, str(tiny), "--out", str(out), *RUN)[0] == 0
    ts = out / "timeseries.csv"
    ts.write_text(ts.read_text()[:-30])  # truncated by hand / a copy that went wrong
    assert check_run_output(out) == ["timeseries.csv: content changed since it was written"]
    (out / COMPLETE_MARKER).unlink()
    assert "incomplete" in check_run_output(out)[0]


# ------------------------------------------------------------------------------------------------
# silent partial input in the API
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("steps", [2.7, 2.0, "3", True, -1, 10**9])
def test_run_scenario_steps_must_be_a_whole_number_in_range(tiny, steps):
    with pytest.raises(InputError, match="steps"):
        run_scenario(tiny, steps=steps, progress=False)


@pytest.mark.parametrize("seed", [1.5, True, -3, 2**64])
def test_run_scenario_seed_must_be_a_whole_number_in_range(tiny, seed):
    with pytest.raises(InputError, match="seed"):
        run_scenario(tiny, steps=1, seed=seed, progress=False)


def test_extends_cannot_be_overridden_silently(tiny, capsys):
    with pytest.raises(InputError, match="extends"):
        load_scenario(tiny, {"extends": "/nonexistent.toml"})
    with pytest.raises(InputError, match="extends"):
        load_scenario(tiny).with_overrides({"extends": "other.toml"})
    code, _, err = cli_run(capsys, str(tiny), "--set", "extends=/nonexistent.toml", *RUN)
    assert code == 2 and "extends" in err


def test_applied_overrides_rebuild_the_scenario(tiny):
    s = load_scenario(tiny, {"firms.initial_count": 12}).with_overrides(
        {"policy.delegation.B": 0.9, "regions.file": "regions.csv"}
    )
    assert s.applied_overrides["firms.initial_count"] == 12
    assert Path(s.applied_overrides["regions.file"]).is_absolute()
    assert load_scenario(tiny, s.applied_overrides).fingerprint() == s.fingerprint()


# ------------------------------------------------------------------------------------------------
# a result directory is data
# ------------------------------------------------------------------------------------------------
def _batch(tmp_path: Path) -> Path:
    shutil.copytree(TINY, tmp_path / "b" / "tiny")
    exp = tmp_path / "b" / "exp.toml"
    exp.write_text('name = "e"\nscenario = "tiny/scenario.toml"\nreplicates = 1\nsteps = 1\n')
    from agglomeration.experiment.runner import run_experiment

    run_experiment(exp, tmp_path / "b" / "out", executor="serial", progress=False)
    return tmp_path / "b" / "out"


def _edit_manifest(out: Path, **changes) -> None:
    m = json.loads((out / "manifest.json").read_text())
    m["experiment"].update(changes)
    (out / "manifest.json").write_text(json.dumps(m))


def test_reproduce_checks_the_fingerprint_before_importing_anything(tmp_path, capsys):
    out = _batch(tmp_path)
    module = "agglomeration_reliability_canary"
    (tmp_path / f"{module}.py").write_text("raise SystemExit('imported!')\n")
    sys.path.insert(0, str(tmp_path))
    try:
        _edit_manifest(
            out, model=f"{module}:Model"
        )  # edited by hand: fingerprint no longer matches
        capsys.readouterr()
        assert cli.main(["reproduce", str(out)]) == 2
        assert "does not match its fingerprint" in capsys.readouterr().err
        assert module not in sys.modules
    finally:
        sys.path.remove(str(tmp_path))


def test_reproduce_imports_a_foreign_model_only_with_trust_model(tmp_path, capsys):
    from agglomeration.experiment.reproduce import reproduce_run
    from agglomeration.experiment.spec import experiment_from_dict

    out = _batch(tmp_path)
    m = json.loads((out / "manifest.json").read_text())
    m["experiment"]["model"] = "agglomeration_reliability_canary2:Model"
    m["fingerprint"] = experiment_from_dict(m["experiment"]).fingerprint()  # a consistent forgery
    (out / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(ResultStoreError, match="--trust-model"):
        reproduce_run(out)
    assert "agglomeration_reliability_canary2" not in sys.modules
    with pytest.raises(InputError, match="cannot import model module"):
        reproduce_run(out, trust_model=True)  # trusted: imported (and here, not installed)


def test_the_staging_directory_of_a_killed_run_is_cleaned_up_later(tiny, tmp_path, capsys):
    import os
    import time

    stale = tmp_path / ".run-999999999-deadbeef.tmp"  # a pid that cannot exist
    (stale / "parts").mkdir(parents=True)
    (stale / "timeseries.csv").write_text("half")
    young = tmp_path / ".run-999999998-cafecafe.tmp"
    young.mkdir()
    old = time.time() - 7200
    os.utime(stale, (old, old))
    assert cli_run(capsys, str(tiny), "--out", str(tmp_path / "out"), *RUN)[0] == 0
    assert not stale.exists() and young.exists()  # only old leftovers of dead processes go
