"""Reproducibility: identical tables whatever the executor, worker count, process or hash seed; the
manifest holds everything needed to rerun; ``agglomeration reproduce`` reruns a run and checks it bit for bit.

Already in tests/experiment/test_runner.py (not repeated): serial vs local pool with 1 and 2 workers, and
a dask executor on an in-process (threads) cluster.  Added here: the runner's own dask LocalCluster
(separate worker processes) with 1 and 2 workers, two console-script invocations with different
``PYTHONHASHSEED`` (set/dict ordering must not leak into results), the manifest's content, and the
``reproduce`` command (match, a one-ulp tampering detected, changed data detected, moved directories,
bad arguments).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from agglomeration import cli
from agglomeration.errors import InputError, ResultStoreError
from agglomeration.experiment.reproduce import compare_tables, reproduce_run
from agglomeration.experiment.runner import VOLATILE_COLUMNS, run_experiment
from agglomeration.experiment.store import ResultStore, load_results

HERE = Path(__file__).resolve().parents[1]
TINY = HERE / "data" / "tiny"
_BATCH = (sys.executable, "-m", "agglomeration.cli", "batch")
TABLES = ("runs", "series", "regions", "links", "firms")

EXPERIMENT = """
name = "repro"
scenario = "tiny/scenario.toml"
replicates = 2
seed = 99
steps = 5
[overrides]
"firms.initial_count" = 60
[[variants]]
name = "base"
[[variants]]
name = "high"
overrides = { "policy.delegation.B" = 0.9 }
[output]
series_every = 1
links = true
firms_at = [0, 5]
"""


def _setup(root: Path, text: str = EXPERIMENT) -> Path:
    if not (root / "tiny").exists():
        shutil.copytree(TINY, root / "tiny")
    p = root / "exp.toml"
    p.write_text(text)
    return p


def _norm(frame: pd.DataFrame) -> pd.DataFrame:
    f = frame.drop(columns=[c for c in VOLATILE_COLUMNS if c in frame.columns])
    keys = [
        c for c in ("run_id", "step", "region", "sector", "buyer", "input_sector", "fid") if c in f
    ]
    return f.sort_values(keys, kind="stable").reset_index(drop=True)


def _tables(out: Path) -> dict[str, pd.DataFrame]:
    res = load_results(out)
    return {k: _norm(res[k]) for k in TABLES}


def _assert_same(a: dict[str, pd.DataFrame], b: dict[str, pd.DataFrame]) -> None:
    for k in TABLES:
        pd.testing.assert_frame_equal(a[k], b[k], check_like=True, check_exact=True, obj=k)


def snapshot(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in root.rglob("*")}


@pytest.fixture(scope="module")
def batch(tmp_path_factory) -> tuple[Path, dict[str, pd.DataFrame]]:
    """The reference batch (serial, in this process)."""
    root = tmp_path_factory.mktemp("repro")
    s = run_experiment(_setup(root), root / "out", executor="serial", progress=False)
    assert (s.done, s.complete) == (4, True)
    return root / "out", _tables(root / "out")


# ------------------------------------------------------------------------------------------------
# identical tables across executors, worker counts and invocations
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("workers", [1, 2])
def test_dask_local_cluster_processes_match_serial(tmp_path, batch, workers, monkeypatch):
    """``executor="dask"`` without a scheduler: the runner's own LocalCluster of worker *processes*,
    which must listen on 127.0.0.1 only."""
    distributed = pytest.importorskip("distributed")
    seen: dict[str, object] = {}
    real = distributed.LocalCluster

    class Recording(real):  # type: ignore[misc, valid-type]
        def __init__(self, *a, **kw):
            super().__init__(*a, **kw)
            seen["scheduler"] = self.scheduler_address
            seen["workers"] = list(self.scheduler_info["workers"])
            seen["processes"] = kw.get("processes")

    monkeypatch.setattr(distributed, "LocalCluster", Recording)
    s = run_experiment(
        _setup(tmp_path), tmp_path / "out", executor="dask", workers=workers, progress=False
    )
    errors = load_results(tmp_path / "out")["runs"].get("error")
    assert (s.done, s.failed, s.complete) == (4, 0, True), list(errors)
    assert str(seen["scheduler"]).startswith("tcp://127.0.0.1:")
    assert seen["workers"] and all(str(w).startswith("tcp://127.0.0.1:") for w in seen["workers"])
    assert seen["processes"] is True
    _assert_same(batch[1], _tables(tmp_path / "out"))


def test_two_console_invocations_with_different_hash_seeds_are_identical(tmp_path, batch):
    exp = _setup(tmp_path)
    outs = []
    for hash_seed, extra in (("1", ["--executor", "serial"]), ("2", ["--workers", "2"])):
        out = tmp_path / f"out{hash_seed}"
        p = subprocess.run(
            [*_BATCH, str(exp), "--out", str(out), "--no-progress", *extra],
            capture_output=True,
            text=True,
            timeout=300,
            env={**os.environ, "PYTHONHASHSEED": hash_seed},
        )
        assert p.returncode == 0, p.stderr
        outs.append(out)
    a, b = _tables(outs[0]), _tables(outs[1])
    _assert_same(a, b)
    _assert_same(batch[1], a)
    # the parts themselves hold the same data (not only after sorting)
    for t in ("series", "regions", "links"):
        for rid in ResultStore(outs[0]).listed(t):
            pa_a = pq.read_table(ResultStore(outs[0]).part_path(t, rid))
            pa_b = pq.read_table(ResultStore(outs[1]).part_path(t, rid))
            assert compare_tables(pa_a, pa_b, t) is None


# ------------------------------------------------------------------------------------------------
# the manifest records everything needed to rerun
# ------------------------------------------------------------------------------------------------
def test_manifest_records_everything_to_rerun(batch):
    out, tables = batch
    m = json.loads((out / "manifest.json").read_text())
    exp = m["experiment"]
    assert Path(exp["scenario"]).is_absolute() and Path(exp["scenario"]).is_file()
    assert exp["seed"] == 99 and exp["steps"] == 5 and exp["replicates"] == 2
    assert [v["name"] for v in exp["variants"]] == ["base", "high"]
    assert exp["overrides"] == {"firms.initial_count": 60}
    assert m["model"] == "agglomeration.model:AgglomerationModel"
    assert len(m["fingerprint"]) == 64 and len(m["base_scenario_fingerprint"]) == 64
    env = m["environment"]
    for pkg in ("agglomeration", "numpy", "mesa", "pandas", "pyarrow", "scipy"):
        assert env["versions"][pkg], pkg
    assert env["python"] and env["platform"]
    plan = load_results(out)["plan"]
    assert {"run_id", "variant", "replicate", "seed", "seed_spawn_key", "steps"} <= set(
        plan.columns
    )
    runs = tables["runs"]
    assert {"seed", "steps", "model", "scenario_fingerprint", "seed_entropy"} <= set(runs.columns)
    assert runs["seed_entropy"].eq(99).all()


# ------------------------------------------------------------------------------------------------
# agglomeration reproduce
# ------------------------------------------------------------------------------------------------
def test_reproduce_default_run_matches_and_writes_nothing(batch, capsys):
    out = batch[0]
    before = snapshot(out)
    code = cli.main(["reproduce", str(out)])
    text = capsys.readouterr().out
    assert code == 0, text
    first_ok = load_results(out)["plan"]["run_id"].iloc[0]
    assert text.startswith("match:") and first_ok in text and "bit for bit" in text
    assert snapshot(out) == before


def test_reproduce_every_run_by_prefix(batch):
    out, tables = batch
    for rid in tables["runs"]["run_id"]:
        rep = reproduce_run(out, rid[:6])
        assert rep.match, rep.first_difference
        assert rep.run_id == rid and set(rep.rows) == set(TABLES)
        assert rep.rows["series"] == 6 and rep.rows["runs"] == 1


def _copy(batch_out: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "copy"
    shutil.copytree(batch_out, dst)
    return dst


def test_reproduce_detects_a_one_ulp_change(batch, tmp_path, capsys):
    out = _copy(batch[0], tmp_path)
    st = ResultStore(out)
    rid = sorted(st.listed("series"))[1]
    path = st.part_path("series", rid)
    t = pq.read_table(path)
    col = t.column("output").to_numpy().copy()
    col[3] = np.nextafter(col[3], np.inf)  # the smallest possible change
    t = t.set_column(t.column_names.index("output"), "output", pa.array(col))
    pq.write_table(t, path)
    code = cli.main(["reproduce", str(out), "--run", rid])
    text = capsys.readouterr().out
    assert code == 1
    assert text.startswith("DIFFERENT:") and "series: column 'output', row 3" in text


def test_reproduce_detects_changed_scenario_data(batch, tmp_path):
    root = tmp_path
    exp = _setup(root)
    run_experiment(exp, root / "out", executor="serial", progress=False)
    sectors = root / "tiny" / "sectors.csv"
    sectors.write_text(sectors.read_text().replace("manufacturing,4,", "manufacturing,4.5,", 1))
    rep = reproduce_run(root / "out")
    assert not rep.match and "resolves differently" in rep.first_difference


def test_reproduce_after_the_experiment_file_and_directory_moved(batch, tmp_path):
    root = tmp_path
    exp = _setup(root)
    run_experiment(exp, root / "out", executor="serial", progress=False)
    exp.unlink()  # the manifest alone is enough
    moved = tmp_path / "elsewhere" / "results"
    shutil.move(root / "out", moved)
    assert reproduce_run(moved).match
    # scenario moved too: point at its new place; content is checked by fingerprint
    shutil.move(root / "tiny", tmp_path / "tiny2")
    with pytest.raises(InputError, match="scenario file not found"):
        reproduce_run(moved)
    rep = reproduce_run(moved, scenario=tmp_path / "tiny2" / "scenario.toml")
    assert rep.match, rep.first_difference


def test_reproduce_refuses_failed_missing_and_unknown_runs(batch, tmp_path):
    out = _copy(batch[0], tmp_path)
    st = ResultStore(out)
    ids = sorted(st.listed("runs"))
    row = pq.read_table(st.part_path("runs", ids[0])).to_pandas()
    row["status"], row["error"] = "failed", "FloatingPointError: boom"
    pq.write_table(pa.Table.from_pandas(row, preserve_index=False), st.part_path("runs", ids[0]))
    with pytest.raises(InputError, match=r"failed in the batch .*boom"):
        reproduce_run(out, ids[0])
    st.part_path("runs", ids[1]).unlink()
    with pytest.raises(ResultStoreError, match="missing or corrupt"):
        reproduce_run(out, ids[1])
    for bad in ("zz", "../x", "/abs"):
        with pytest.raises(InputError, match="--run"):
            reproduce_run(out, bad)
    assert reproduce_run(out).run_id not in ids[:2]  # default: first *successful* run


def test_compare_tables_reports_the_first_difference():
    a = pa.table({"x": [1.0, 2.0, np.nan], "y": ["a", "b", "c"]})
    assert compare_tables(a, a) is None
    assert "row 1" in compare_tables(a, pa.table({"x": [1.0, 2.5, np.nan], "y": ["a", "b", "c"]}))
    assert "row 2" in compare_tables(a, pa.table({"x": [1.0, 2.0, 0.0], "y": ["a", "b", "c"]}))
    assert "'y', row 0" in compare_tables(
        a, pa.table({"x": [1.0, 2.0, np.nan], "y": ["z", "b", "c"]})
    )
    assert "columns differ" in compare_tables(a, pa.table({"x": [1.0, 2.0, np.nan]}))
    assert "rows" in compare_tables(a, a.slice(0, 2))
    neg = pa.table({"x": [1.0, -0.0, np.nan], "y": ["a", "b", "c"]})
    pos = pa.table({"x": [1.0, 0.0, np.nan], "y": ["a", "b", "c"]})
    assert "row 1" in compare_tables(neg, pos)  # bit for bit: -0.0 is not 0.0
    runs_a = pa.table({"run_id": ["r"], "wall_time_s": [1.0], "host": ["a"], "v": [1]})
    runs_b = pa.table({"run_id": ["r"], "wall_time_s": [9.0], "host": ["b"], "v": [1]})
    assert compare_tables(runs_a, runs_b, "runs") is None  # execution details are not results
    # a store written before the runs table had steps_run still reproduces; a stored one is compared
    newer = runs_b.append_column("steps_run", pa.array([4]))
    assert compare_tables(runs_a, newer, "runs") is None
    assert "steps_run" in compare_tables(
        newer, runs_b.append_column("steps_run", pa.array([1])), "runs"
    )
