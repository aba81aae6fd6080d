"""Batch runner on the real model (tiny baseline: few firms, few steps, a short burn-in: the tests
check the runner's bookkeeping and bit-identical tables, which need no settled economy).

Behaviour under test: identical tables whatever the executor / worker count / shard; failures recorded
while the batch goes on; SIGKILL + resume gives the uninterrupted result with no corrupt part; corrupt
parts redone; changed experiments refused; extensions run only new runs.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from agglomeration import cli
from agglomeration.errors import InputError, ResultStoreError
from agglomeration.experiment.execute import RunTask
from agglomeration.experiment.runner import VOLATILE_COLUMNS, in_shard, plan_runs, run_experiment
from agglomeration.experiment.seeds import replicate_seed
from agglomeration.experiment.spec import load_experiment
from agglomeration.experiment.store import ResultStore, load_results
from agglomeration.model import AgglomerationModel

ROOT = Path(__file__).resolve().parents[2]
SEED = 77

EXPERIMENT = """
name = "tiny"
scenario = "scenario/baseline.toml"
replicates = 3
seed = 77
steps = 4
[overrides]
"firms.initial_count" = 120
burn_in = 10
[[variants]]
name = "base"
[[variants]]
name = "deleg"
overrides = { "policy.delegation.connected" = 0.9 }
[output]
series_every = 2
links = true
firms_at = [0, -1]
"""

BAD_SEED = replicate_seed(SEED, 1).seed


class FailingModel(AgglomerationModel):
    """Raises at step 2 in replicate 1 (every variant): a deliberate model error."""

    def __init__(self, scenario, replicate_seed=None, **kw):
        self._bad = replicate_seed == BAD_SEED
        super().__init__(scenario, replicate_seed=replicate_seed, **kw)

    def step(self):
        if self._bad and self.steps >= 2:
            raise FloatingPointError("deliberate failure at step 2")
        super().step()


class ProcessKillingModel(AgglomerationModel):
    """Kills its worker process (os._exit) in replicate 1 of variant ``deleg``."""

    def __init__(self, scenario, replicate_seed=None, **kw):
        self._bad = (
            replicate_seed == BAD_SEED and scenario.policy.delegation.get("connected") == 0.9
        )
        super().__init__(scenario, replicate_seed=replicate_seed, **kw)

    def step(self):
        if self._bad:
            os._exit(3)
        super().step()


class BurnInCountingModel(AgglomerationModel):
    """Leaves a file in the directory named by the scenario's description for every burn-in it runs
    (a start taken from the worker's settled starts runs none)."""

    def __init__(self, scenario, replicate_seed=None, **kw):
        self._marks = Path(scenario.description)
        super().__init__(scenario, replicate_seed=replicate_seed, **kw)

    def _burn_in(self, steps):
        (self._marks / f"{os.getpid()}-{time.monotonic_ns()}").touch()
        super()._burn_in(steps)


@pytest.fixture(scope="module")
def scenario_copy(tmp_path_factory) -> Path:
    """A private snapshot of the baseline scenario and its data (the checkout changes under us)."""
    d = tmp_path_factory.mktemp("scenario")
    shutil.copy(ROOT / "scenarios" / "baseline.toml", d / "baseline.toml")
    shutil.copytree(ROOT / "scenarios" / "data", d / "data")
    return d


_SCENARIO_DIR: list[Path] = []


@pytest.fixture(autouse=True)
def _use_copy(scenario_copy):
    _SCENARIO_DIR[:] = [scenario_copy]


def _exp_file(tmp_path: Path, text: str = EXPERIMENT, name: str = "tiny.toml") -> Path:
    link = tmp_path / "scenario"
    if not link.exists():
        link.symlink_to(_SCENARIO_DIR[0], target_is_directory=True)
    p = tmp_path / name
    p.write_text(text)
    return p


def _norm(frame: pd.DataFrame) -> pd.DataFrame:
    f = frame.drop(columns=[c for c in VOLATILE_COLUMNS if c in frame.columns])
    keys = [
        c
        for c in ("run_id", "step", "region", "sector", "buyer", "input_sector", "id", "firm_id")
        if c in f
    ]
    return f.sort_values(keys, kind="stable").reset_index(drop=True)


def _tables(out: Path) -> dict[str, pd.DataFrame]:
    res = load_results(out)
    return {k: _norm(res[k]) for k in ("runs", "series", "regions", "links", "firms")}


def _assert_same(a: dict[str, pd.DataFrame], b: dict[str, pd.DataFrame]) -> None:
    for k in a:
        pd.testing.assert_frame_equal(a[k], b[k], check_like=True, obj=k)


@pytest.fixture(scope="module")
def reference(tmp_path_factory, scenario_copy) -> tuple[Path, dict[str, pd.DataFrame]]:
    """An uninterrupted batch in this process (serial executor)."""
    _SCENARIO_DIR[:] = [scenario_copy]
    d = tmp_path_factory.mktemp("ref")
    s = run_experiment(_exp_file(d), d / "out", executor="serial", progress=False)
    assert (s.done, s.failed, s.complete) == (6, 0, True)
    return d / "out", _tables(d / "out")


def test_reference_tables_have_the_contract_shape(reference):
    out, t = reference
    runs = t["runs"]
    assert len(runs) == 6 and (runs["status"] == "ok").all()
    assert set(runs["variant"]) == {"base", "deleg"} and sorted(runs["replicate"].unique()) == [
        0,
        1,
        2,
    ]
    # common random numbers: replicate r has the same seed in both variants
    assert runs.groupby("replicate")["seed"].nunique().eq(1).all()
    assert {"firms", "local_sourcing_share"} <= set(runs.columns)
    assert (runs["steps_run"] == runs["steps"]).all() and (runs["steps"] == 4).all()
    assert sorted(t["series"]["step"].unique()) == [0, 2, 4]  # series_every = 2 (+ last step)
    assert sorted(t["firms"]["step"].unique()) == [0, 4]
    assert {"run_id", "region", "sector", "firms", "employment", "output", "lq"} <= set(
        t["regions"].columns
    )
    assert len(t["links"]) > 0
    m = load_results(out).manifest
    assert m["status"] == "complete" and m["fingerprint"] and m["design"]["kind"] == "none"
    assert m["environment"]["versions"]["mesa"] and m["n_runs"] == 6
    # each variant is its own resolved scenario
    assert runs.groupby("variant")["scenario_fingerprint"].nunique().eq(1).all()
    assert runs["scenario_fingerprint"].nunique() == 2


def test_a_stop_condition_is_recorded_in_the_runs_table(tmp_path):
    """A variant whose [stop] condition holds after the first step ends there; its runs row says how
    many steps ran (``steps_run``), and compare does not take the column for a metric."""
    from agglomeration.experiment.compare import metric_columns

    text = EXPERIMENT.replace(
        '"policy.delegation.connected" = 0.9 }',
        '"policy.delegation.connected" = 0.9, "stop.when" = ["firms > 0"] }',
    ).replace("replicates = 3", "replicates = 1")
    s = run_experiment(
        _exp_file(tmp_path, text), tmp_path / "out", executor="serial", progress=False
    )
    assert (s.done, s.failed) == (2, 0)
    res = load_results(tmp_path / "out")
    runs = res["runs"].set_index("variant")
    assert runs.loc["base", "steps_run"] == 4 and runs.loc["deleg", "steps_run"] == 1
    assert (runs["steps"] == 4).all()
    last = res["series"].merge(res["runs"][["run_id", "variant"]]).groupby("variant")["step"].max()
    assert last.to_dict() == {"base": 4, "deleg": 1}
    assert "steps_run" not in metric_columns(res["runs"])


@pytest.mark.parametrize("workers", [1, 2])
def test_local_pool_matches_reference(tmp_path, reference, workers):
    s = run_experiment(_exp_file(tmp_path), tmp_path / "out", workers=workers, progress=False)
    assert (s.done, s.failed) == (6, 0)
    _assert_same(reference[1], _tables(tmp_path / "out"))


def test_runs_from_one_settled_start_share_a_worker(tmp_path):
    """Four variants that only move levers, four replicates, two workers: the runs of a replicate
    go to one worker as a chunk, so each start is settled once (4 burn-ins; handing runs to
    whichever worker was free settled most starts twice)."""
    marks = tmp_path / "burn_ins"
    marks.mkdir()
    text = EXPERIMENT.replace("replicates = 3", "replicates = 4").replace(
        '"firms.initial_count" = 120', f'"firms.initial_count" = 120\ndescription = "{marks}"'
    )
    text = text.replace(
        "[output]",
        """[[variants]]
name = "rail"
overrides = { "logistics.tariff_multiplier.rail" = 0.5 }
[[variants]]
name = "both"
overrides = { "policy.delegation.connected" = 0.9, "logistics.tariff_multiplier.rail" = 0.5 }
[output]""",
    )
    exp = load_experiment(
        _exp_file(tmp_path, text), set={"model": f"{__name__}:BurnInCountingModel"}
    )
    s = run_experiment(exp, tmp_path / "out", workers=2, progress=False)
    assert (s.done, s.failed) == (16, 0)
    assert len(list(marks.iterdir())) == 4


def test_start_groups_keep_workers_busy():
    from agglomeration.experiment.runner import start_groups

    def task(run, seed, start):
        return RunTask(run_id=run, out="", scenario_path="s.toml", overrides={},
                       scenario_fingerprint=run, seed=seed, steps=1, model="m", output={},
                       meta={}, start=start)  # fmt: skip

    tasks = [task(f"r{r}v{v}", r, "ref") for r in range(3) for v in range(4)]
    tasks.append(task("own", 9, ""))  # a start of unknown key: alone
    chunks = start_groups(tasks, capacity=1)
    assert [[t.run_id for t in c] for c in chunks][:3] == [
        [f"r{r}v{v}" for v in range(4)] for r in range(3)
    ]
    assert [t.run_id for t in chunks[3]] == ["own"]
    # fewer groups than 2 x workers: the largest are halved, order kept, nothing lost
    chunks = start_groups(tasks, capacity=4)
    assert len(chunks) == 8 and [t.run_id for c in chunks for t in c] == [t.run_id for t in tasks]
    assert all(len({(t.seed, t.start) for t in c}) == 1 for c in chunks)
    assert start_groups([], capacity=2) == []


def test_dask_executor_matches_reference(tmp_path, reference):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0"
    ) as cluster:
        s = run_experiment(
            _exp_file(tmp_path),
            tmp_path / "out",
            executor="dask",
            scheduler=cluster.scheduler_address,
            progress=False,
        )
    assert (s.done, s.failed) == (6, 0)
    _assert_same(reference[1], _tables(tmp_path / "out"))


def test_failed_run_is_recorded_and_the_batch_goes_on(tmp_path):
    exp = load_experiment(_exp_file(tmp_path), set={"model": f"{__name__}:FailingModel"})
    s = run_experiment(exp, tmp_path / "out", executor="serial", progress=False)
    assert (s.done, s.failed, s.complete) == (4, 2, True)
    runs = load_results(tmp_path / "out")["runs"]
    bad = runs[runs["status"] == "failed"]
    assert set(bad["replicate"]) == {1} and len(bad) == 2
    assert bad["error"].str.contains("FloatingPointError: deliberate failure").all()
    assert bad["traceback"].str.contains("def step|in step").all()
    assert runs.loc[runs["status"] == "ok", "firms"].notna().all()
    store = ResultStore(tmp_path / "out")
    assert all(not store.part_path("series", r).exists() for r in bad["run_id"])
    assert load_results(tmp_path / "out").manifest["status"] == "finished_with_failures"
    # a rerun retries exactly the failed runs
    s2 = run_experiment(exp, tmp_path / "out", executor="serial", progress=False)
    assert (s2.skipped, s2.done + s2.failed) == (4, 2)


@pytest.mark.slow  # subprocesses and pool restarts: ~10-20 s on a busy 2-CPU machine
def test_worker_process_crash_is_isolated(tmp_path, reference):
    exp = load_experiment(_exp_file(tmp_path), set={"model": f"{__name__}:ProcessKillingModel"})
    s = run_experiment(exp, tmp_path / "out", workers=2, progress=False)
    assert s.crashed_workers >= 1 and (s.done, s.failed, s.complete) == (5, 1, True)
    runs = load_results(tmp_path / "out")["runs"]
    bad = runs[runs["status"] == "failed"]
    assert list(bad["variant"]) == ["deleg"] and list(bad["replicate"]) == [1]
    assert bad["error"].str.contains("worker process died").all()
    # the runs that shared the broken pool were retried and equal the reference runs
    # (run ids differ because the model class is part of the id: match on variant x replicate)
    keys = ["variant", "replicate"]
    ok = runs[runs["status"] == "ok"][[*keys, "seed", "firms", "output"]]
    merged = ok.merge(
        reference[1]["runs"][[*keys, "seed", "firms", "output"]], on=keys, suffixes=("", "_ref")
    )
    assert len(merged) == 5
    for c in ("seed", "firms", "output"):
        assert (merged[c] == merged[f"{c}_ref"]).all(), c


@pytest.mark.slow  # subprocesses and pool restarts: ~10-20 s on a busy 2-CPU machine
def test_sigkill_mid_batch_then_resume_matches_uninterrupted(tmp_path):
    text = EXPERIMENT.replace("replicates = 3", "replicates = 5").replace("steps = 4", "steps = 8")
    text = text.replace('"firms.initial_count" = 120', '"firms.initial_count" = 300')
    # the baseline's burn-in (100 steps): runs long enough to be killed with some in flight
    text = text.replace("burn_in = 10\n", "")
    exp_path = _exp_file(tmp_path, text)
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "agglomeration.cli", "batch", str(exp_path), "--out", str(out)]
    proc = subprocess.Popen(
        [*cmd, "--workers", "2", "--no-progress"],
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    runs_dir = out / "parts" / "runs"
    deadline = time.monotonic() + 120
    n_done = 0
    try:
        while time.monotonic() < deadline:
            n_done = len(list(runs_dir.glob("*.parquet"))) if runs_dir.is_dir() else 0
            if n_done >= 2 or proc.poll() is not None:
                break
            time.sleep(0.02)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, "the batch finished before it could be killed"
    store = ResultStore(out)
    parts = [
        p
        for t in ("runs", "series", "regions", "links", "firms")
        for p in store.part_dir(t).glob("*.parquet")
    ]
    assert parts and all(store.part_ok(p) for p in parts)  # no corrupt part after SIGKILL
    finished_before = store.listed("runs")
    assert 0 < len(finished_before) < 10

    s = run_experiment(exp_path, out, executor="serial", resume=True, progress=False)
    assert s.skipped == len(finished_before) and s.done == 10 - len(finished_before) and s.complete

    ref = tmp_path / "ref"
    run_experiment(exp_path, ref, executor="serial", progress=False)
    _assert_same(_tables(ref), _tables(out))


def test_truncated_part_is_detected_and_redone(tmp_path, reference):
    out = tmp_path / "out"
    shutil.copytree(reference[0], out)  # a finished batch (the reference's, not run again)
    store = ResultStore(out)
    ids = sorted(store.listed("runs"))
    for table, rid in (("series", ids[0]), ("runs", ids[1])):
        p = store.part_path(table, rid)
        p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2])
    redone: list[str] = []
    s = run_experiment(
        _exp_file(tmp_path),
        out,
        executor="serial",
        progress=False,
        on_result=lambda r: redone.append(r["run_id"]),
    )
    assert sorted(redone) == ids[:2] and s.skipped == 4
    _assert_same(reference[1], _tables(out))


def test_changed_experiment_refuses_to_resume(tmp_path, reference, capsys):
    out = reference[0]
    before = sorted(p.name for p in (out / "parts" / "runs").iterdir())
    changed = _exp_file(
        tmp_path, EXPERIMENT.replace('connected" = 0.9', 'connected" = 0.7'), "c.toml"
    )
    with pytest.raises(ResultStoreError) as ei:
        run_experiment(changed, out, executor="serial", progress=False)
    msg = str(ei.value)
    assert (
        "experiment changed" in msg
        and "variants[deleg].overrides.policy.delegation.connected: 0.9 -> 0.7" in msg
    )
    # through the command line: exit 2 and the message, no traceback
    assert cli.main(["batch", str(_exp_file(tmp_path)), "--out", str(out), "--set", "seed=1"]) == 2
    err = capsys.readouterr().err
    assert "seed: 77 -> 1" in err and "Traceback" not in err
    # fewer replicates would drop runs: refused too
    assert (
        cli.main(["batch", str(_exp_file(tmp_path)), "--out", str(out), "--replicates", "2"]) == 2
    )
    assert "drop 2 of the 6 runs" in capsys.readouterr().err
    assert sorted(p.name for p in (out / "parts" / "runs").iterdir()) == before


def test_results_of_another_model_revision_are_not_resumed(tmp_path, reference, capsys):
    """A code change that moves results keeps the scenario fingerprint: the manifest's model revision
    (agglomeration.MODEL_REVISION) tells, and a store of another revision (or of none: before
    revisions were recorded) is refused instead of mixing runs of two models."""
    import json

    from agglomeration import MODEL_REVISION
    from agglomeration.experiment.reproduce import reproduce_run

    out = tmp_path / "copy"
    shutil.copytree(reference[0], out)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["environment"]["model_revision"] == MODEL_REVISION
    for stored in (MODEL_REVISION - 1, None):
        if stored is None:
            del manifest["environment"]["model_revision"]
        else:
            manifest["environment"]["model_revision"] = stored
        (out / "manifest.json").write_text(json.dumps(manifest))
        shown = 0 if stored is None else stored
        assert cli.main(["batch", str(_exp_file(tmp_path)), "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert f"model revision {shown} and this package computes revision {MODEL_REVISION}" in err
        assert "Traceback" not in err
        # reproduce says why the rerun may differ
        report = reproduce_run(out)
        assert f"model revision {shown} -> {MODEL_REVISION}" in report.environment_changes[0]


def test_adding_replicates_runs_only_the_new_ones(tmp_path, reference):
    out = tmp_path / "out"
    p = _exp_file(tmp_path)
    run_experiment(load_experiment(p, replicates=2), out, executor="serial", progress=False)
    ran: list[str] = []
    s = run_experiment(
        load_experiment(p),
        out,
        executor="serial",
        progress=False,
        on_result=lambda r: ran.append(r["run_id"]),
    )
    assert (s.skipped, s.done) == (4, 2)
    runs = load_results(out)["runs"]
    assert set(runs.loc[runs["run_id"].isin(ran), "replicate"]) == {2}
    _assert_same(reference[1], _tables(out))


def test_shards_partition_the_runs_and_complete_the_store(tmp_path, reference):
    p = _exp_file(tmp_path)
    plan = plan_runs(load_experiment(p))
    ids = {t.run_id for t in plan.tasks}
    shards = [{r for r in ids if in_shard(r, (i, 3))} for i in range(3)]
    assert set().union(*shards) == ids and sum(map(len, shards)) == len(ids)
    out = tmp_path / "out"
    for i in range(3):
        assert (
            cli.main(
                [
                    "batch",
                    str(p),
                    "--out",
                    str(out),
                    "--shard",
                    f"{i}/3",
                    "--executor",
                    "serial",
                    "--no-progress",
                ]
            )
            == 0
        )
    assert load_results(out).manifest["status"] == "complete"
    assert (out / "tables" / "runs.parquet").exists()
    _assert_same(reference[1], _tables(out))
    assert cli.main(["batch", str(p), "--out", str(out), "--shard", "3/3"]) == 2


GRID = """
name = "grid"
scenario = "scenario/baseline.toml"
replicates = 1
seed = 5
steps = 1
[overrides]
"firms.initial_count" = 60
burn_in = 10
[design]
kind = "grid"
[design.parameters."policy.replication_rate"]
values = VALUES
[output]
regions = false
"""


def test_grid_extension_runs_only_new_points_and_design_is_stored(tmp_path):
    out = tmp_path / "out"
    s1 = run_experiment(
        _exp_file(tmp_path, GRID.replace("VALUES", "[0.05, 0.1]")),
        out,
        executor="serial",
        progress=False,
    )
    assert s1.done == 2
    ran: list[str] = []
    s2 = run_experiment(
        _exp_file(tmp_path, GRID.replace("VALUES", "[0.05, 0.1, 0.2]")),
        out,
        executor="serial",
        progress=False,
        on_result=lambda r: ran.append(r["run_id"]),
    )
    assert (s2.skipped, s2.done) == (2, 1)
    res = load_results(out)
    runs = res["runs"]
    assert runs.loc[runs["run_id"].isin(ran), "policy.replication_rate"].tolist() == [0.2]
    assert res["design"]["policy.replication_rate"].tolist() == [0.05, 0.1, 0.2]
    assert res.manifest["design"]["kind"] == "grid" and res.manifest["n_runs"] == 3
    assert "regions" not in [p.name for p in (out / "parts").iterdir()]


def test_lhs_with_another_sample_size_is_refused(tmp_path):
    lhs = GRID.replace('kind = "grid"', 'kind = "lhs"\nsamples = SAMPLES').replace(
        "values = VALUES", "bounds = [0.01, 0.2]"
    )
    out = tmp_path / "out"
    s = run_experiment(
        _exp_file(tmp_path, lhs.replace("SAMPLES", "2")), out, executor="serial", progress=False
    )
    assert s.done == 2
    runs = load_results(out)["runs"]
    assert runs["policy.replication_rate"].between(0.01, 0.2).all() and runs["point"].tolist() == [
        0,
        1,
    ]
    with pytest.raises(ResultStoreError, match="would drop 2 of the 2 runs"):
        run_experiment(
            _exp_file(tmp_path, lhs.replace("SAMPLES", "3")), out, executor="serial", progress=False
        )


def test_any_concurrent_futures_executor_can_be_supplied(tmp_path, reference):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=2) as pool:
        s = run_experiment(_exp_file(tmp_path), tmp_path / "out", executor=pool, progress=False)
        assert (s.done, s.failed) == (6, 0)
        assert pool.submit(int, "3").result() == 3  # still usable: the runner does not shut it down
    _assert_same(reference[1], _tables(tmp_path / "out"))


def test_cli_options_reach_the_experiment(tmp_path, capsys):
    from agglomeration.commands.batch import parse_set

    assert parse_set(["a.b=0.5", "c=[1, 2]", "d=text", "e=true"]) == {
        "a.b": 0.5,
        "c": [1, 2],
        "d": "text",
        "e": True,
    }
    p = _exp_file(tmp_path)
    out = tmp_path / "out"
    # --resume needs an existing result directory
    assert cli.main(["batch", str(p), "--out", str(out), "--resume"]) == 2
    assert "nothing to resume" in capsys.readouterr().err
    # a scenario override for every variant, fewer steps and replicates
    argv = ["batch", str(p), "--out", str(out), "--executor", "serial", "--no-progress"]
    argv += ["--replicates", "1", "--steps", "2", "--set", "firms.initial_count=50"]
    assert cli.main(argv) == 0
    res = load_results(out)
    assert res.manifest["experiment"]["overrides"] == {"firms.initial_count": 50, "burn_in": 10}
    assert len(res["runs"]) == 2 and set(res["series"]["step"]) == {0, 2}
    # an invalid override value is exit 2 before anything runs
    bad = ["batch", str(p), "--out", str(tmp_path / "o2"), "--set", "firms.initial_count=-5"]
    assert cli.main(bad) == 2
    assert "initial_count" in capsys.readouterr().err and not (tmp_path / "o2").exists()


@pytest.mark.parametrize(
    "item, expected",
    [
        (
            "logistics.tariff_multiplier.rail=abc",
            "error: --set logistics.tariff_multiplier.rail=abc: expected a number, got 'abc' [",
        ),
        # parsed once: a quoted number is a string (it was parsed twice, into 0.5)
        (
            'logistics.tariff_multiplier.rail="0.5"',
            "error: --set logistics.tariff_multiplier.rail=\"0.5\": expected a number, got '0.5'",
        ),
        (
            "policy.replication_rate=true",
            "error: --set policy.replication_rate=true: expected a number, not a boolean",
        ),
        ("replicates=x", "error: --set replicates=x: "),
    ],
)
def test_a_bad_batch_set_value_names_the_option_as_typed(tmp_path, capsys, item, expected):
    """The message named the scenario field only (or the experiment file for an experiment field),
    not the --set option that held the value."""
    out = tmp_path / "out"
    assert cli.main(["batch", str(_exp_file(tmp_path)), "--out", str(out), "--set", item]) == 2
    err = capsys.readouterr().err
    assert err.startswith(expected) and "Traceback" not in err and not out.exists()


def test_experiment_file_overrides_are_taken_as_written(tmp_path):
    """A string "0.5" for a number in an experiment file was parsed into 0.5 without a word, and
    the string "2021" for the scenario's description into the integer 2021 (then refused)."""
    head = 'name = "t"\nscenario = "scenario/baseline.toml"\nsteps = 1\n'
    p = _exp_file(tmp_path, head + '[overrides]\n"policy.replication_rate" = "0.5"\n')
    with pytest.raises(InputError) as ei:
        plan_runs(load_experiment(p))
    assert str(ei.value).startswith(
        f"{p}: overrides.policy.replication_rate: expected a number, got '0.5'"
    )
    variant = '[[variants]]\nname = "a"\noverrides = { "policy.replication_rate" = "0.5" }\n'
    p = _exp_file(tmp_path, head + variant, name="v.toml")
    with pytest.raises(InputError) as ei:
        plan_runs(load_experiment(p))
    assert str(ei.value).startswith(f"{p}: variants.a: variant 'a': policy.replication_rate: ")
    assert "expected a number, got '0.5'" in str(ei.value)
    variant = '[[variants]]\nname = "a"\noverrides = { "description" = "2021" }\n'
    p = _exp_file(tmp_path, head + variant, name="d.toml")
    assert len(plan_runs(load_experiment(p)).tasks) == 1


def test_an_equal_value_written_otherwise_resumes_and_a_refusal_names_the_change(
    tmp_path, reference, capsys
):
    """``--set firms.initial_count=120.0`` on a store made with ``120`` was refused with an empty
    list of changes, "(...)", although the resolved runs are the same."""
    from agglomeration.experiment.store import describe_changes

    out = tmp_path / "out"
    shutil.copytree(reference[0], out)
    argv = ["batch", str(_exp_file(tmp_path)), "--out", str(out), "--executor", "serial"]
    assert cli.main([*argv, "--no-progress", "--set", "firms.initial_count=120.0"]) == 0
    assert "0 ok, 0 failed, 6 already done" in capsys.readouterr().out
    _assert_same(reference[1], _tables(out))
    # a refusal never has an empty list of changes (a value written as another type is named)
    assert describe_changes({"a": {"b": 1}}, {"a": {"b": 1.0}}) == "a.b: 1 -> 1.0"
    assert describe_changes({"a": [1, 2]}, {"a": [2, 1]}) == "a: [1, 2] -> [2, 1]"


@pytest.mark.parametrize(
    "extra, expected",
    [
        (["--out", ""], "error: --out: expected a directory path, got an empty string"),
        (
            ["--replicates", "-1"],
            "error: --replicates: expected an integer greater than or equal to 1",
        ),
        (
            ["--steps", "-3"],
            "error: --steps: expected an integer greater than or equal to 0, got -3",
        ),
        (["--set", "output.firms_at=[100]"], "error: --set output.firms_at=[100]: firm snapshot"),
    ],
)
def test_a_bad_command_line_value_names_the_option_not_the_file(
    tmp_path, monkeypatch, capsys, extra, expected
):
    """--out "" silently wrote into results/<name>; a bad --replicates, --steps or --set
    output.firms_at was blamed on the experiment file."""
    monkeypatch.chdir(tmp_path)
    argv = ["batch", str(_exp_file(tmp_path))]
    if "--out" not in extra:
        argv += ["--out", str(tmp_path / "out")]
    assert cli.main([*argv, *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith(expected) and "Traceback" not in err
    assert not (tmp_path / "out").exists() and not (tmp_path / "results").exists()


def test_a_deleted_part_is_named_in_a_warning_and_redone(tmp_path, reference, caplog):
    """A damaged part was reported, a deleted one redone without a word."""
    out = tmp_path / "out"
    shutil.copytree(reference[0], out)
    store = ResultStore(out)
    rid = sorted(store.listed("runs"))[0]
    store.part_path("series", rid).unlink()
    with caplog.at_level("WARNING", logger="agglomeration"):
        s = run_experiment(_exp_file(tmp_path), out, executor="serial", progress=False)
    assert (s.done, s.skipped) == (1, 5)
    assert any(f"run {rid}: its series part is missing" in r.getMessage() for r in caplog.records)
    _assert_same(reference[1], _tables(out))


def test_a_stop_counts_runs_that_finished_but_were_not_collected(tmp_path, reference):
    """Under Dask, workers finished runs (and wrote their parts) between the stop and the clean-up:
    the stop summary said 2 ok with 5 ok runs on disk."""
    from agglomeration.experiment.runner import BatchSummary, _record_interrupted

    out = tmp_path / "out"
    shutil.copytree(reference[0], out)  # copy2: the parts keep their old mtimes
    store = ResultStore(out)
    tasks = sorted(plan_runs(load_experiment(_exp_file(tmp_path))).tasks, key=lambda t: t.run_id)
    since = time.time() - 1.0
    os.utime(store.part_path("runs", tasks[0].run_id))  # written in this session
    store.part_path("runs", tasks[2].run_id).unlink()  # still running at the stop
    summary = BatchSummary(out=out, planned=6, selected=6, skipped=0)
    recorded: list[dict] = []
    _record_interrupted(store, tasks[:3], summary, recorded.append, since)
    # tasks[1] is ok from an earlier session: neither counted nor marked interrupted
    assert [(r["run_id"], r["status"]) for r in recorded] == [(tasks[0].run_id, "ok")]
    assert summary.interrupted_ids == [tasks[2].run_id]
    assert store.read_run_row(tasks[2].run_id)["status"] == "interrupted"


def test_an_invalid_name_names_the_value_once(tmp_path):
    p = _exp_file(tmp_path, EXPERIMENT.replace('name = "tiny"', 'name = "bad name/.."'))
    with pytest.raises(InputError) as ei:
        load_experiment(p)
    assert str(ei.value).count("'bad name/..'") == 1
