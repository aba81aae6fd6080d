"""Fault tests: a batch survives killed workers, a killed parent, a full disk and corrupt parts, and
``--resume`` then completes with tables identical to an uninterrupted batch.

Not repeated here (tests/experiment/test_runner.py has them): a model that kills its own worker
(``os._exit``), SIGKILL of the parent followed by a *serial* API resume, and truncated parts.  Added here:

- a pool worker killed from outside (``SIGKILL`` by pid, as the OOM killer or an admin would) while its
  run is in flight: the run is retried in a fresh pool and the batch completes;
- the parent killed while runs are in flight in a 2-worker pool, resumed with ``agglomeration batch
  --resume`` (console script, local pool);
- a full disk (``ENOSPC``) in the workers and in the parent: a clear error, earlier results intact,
  nothing half-written; resume completes;
- corrupt parts of other kinds than truncation (random bytes, an empty file, a valid Parquet file of
  the wrong shape, a stale temp file): detected, exactly those runs redone;
- silent damage: 8 bytes flipped inside a data page of a part whose footer stays intact (the file still
  opens, its metadata reads): detected by content (page CRC / the part's sha256 recorded in the runs
  part), exactly that run redone, and no table ever holds fewer runs than the manifest says.

The faults are injected through control files next to the scenario (workers are separate processes, so
monkeypatching the parent would not reach them), by a model subclass named in the experiment
(``model = "module:Class"``).  Without the control files the subclass is the plain model.
"""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from agglomeration import cli
from agglomeration.errors import ResultStoreError
from agglomeration.experiment.runner import VOLATILE_COLUMNS, run_experiment
from agglomeration.experiment.seeds import replicate_seed
from agglomeration.experiment.spec import load_experiment
from agglomeration.experiment.store import ResultStore, load_results
from agglomeration.model import AgglomerationModel

HERE = Path(__file__).resolve().parents[1]
TINY = HERE / "data" / "tiny"
SEED = 11
VICTIM_SEED = replicate_seed(SEED, 1).seed
_BATCH = (sys.executable, "-m", "agglomeration.cli", "batch")
TABLES = ("runs", "series", "regions", "links", "firms")

EXPERIMENT = f"""
name = "faults"
scenario = "tiny/scenario.toml"
model = "{__name__}:FaultModel"
replicates = 3
seed = {SEED}
steps = 6
[overrides]
"firms.initial_count" = 80
[[variants]]
name = "base"
[[variants]]
name = "high"
overrides = {{ "policy.delegation.B" = 0.9 }}
[output]
series_every = 2
links = true
firms_at = [0, 6]
"""


class FaultModel(AgglomerationModel):
    """The plain model, plus faults armed by control files in the scenario's directory.

    - ``hang``: replicate 1 of variant ``high`` writes its pid to ``victim.pid`` and waits (up to 60 s)
      at step 3 until it is killed; once ``killed`` exists it runs normally (the retry).
    - ``diskfull``: from step 2 on, every Parquet write in this (worker) process fails with ENOSPC.
    """

    def __init__(self, scenario, replicate_seed=None, **kw):
        self._ctl = Path(scenario.source_path).resolve().parent
        self._victim = replicate_seed == VICTIM_SEED and scenario.policy.delegation.get("B") == 0.9
        super().__init__(scenario, replicate_seed=replicate_seed, **kw)

    def step(self):
        if self.steps == 3 and self._victim and (self._ctl / "hang").exists():
            if not (self._ctl / "killed").exists():
                tmp = self._ctl / f".victim.{os.getpid()}"
                tmp.write_text(str(os.getpid()))
                os.replace(
                    tmp, self._ctl / "victim.pid"
                )  # atomic: the killer never reads it half-written
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline:
                    time.sleep(0.05)
        if self.steps == 2 and (self._ctl / "diskfull").exists():
            _fill_disk()
        super().step()


def _fill_disk() -> None:
    import agglomeration.experiment.store as store

    def enospc(path, *a, **kw):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    store.atomic_write_table = enospc


# ------------------------------------------------------------------------------------------------
# fixtures and helpers
# ------------------------------------------------------------------------------------------------
def _setup(root: Path) -> Path:
    shutil.copytree(TINY, root / "tiny")
    p = root / "exp.toml"
    p.write_text(EXPERIMENT)
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
    return {k: _norm(res[k]) for k in TABLES}


def _assert_same(a: dict[str, pd.DataFrame], b: dict[str, pd.DataFrame]) -> None:
    for k in TABLES:
        pd.testing.assert_frame_equal(a[k], b[k], check_like=True, obj=k)


def _env() -> dict[str, str]:
    """Environment of a console-script run that can import this module (the experiment's model)."""
    # this module (the model subclass the batch names) must be importable in the batch processes
    here = str(Path(__file__).resolve().parent)
    path = os.pathsep.join([here, os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return {**os.environ, "PYTHONPATH": path}


def _parts(out: Path) -> list[Path]:
    store = ResultStore(out)
    return [p for t in TABLES for p in store.part_dir(t).glob("*.parquet")]


_REF_ROOT: list[Path] = []


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> dict[str, pd.DataFrame]:
    """The uninterrupted batch (serial, no faults armed); its directory is ``_REF_ROOT[0] / "out"``."""
    root = tmp_path_factory.mktemp("ref")
    s = run_experiment(_setup(root), root / "out", executor="serial", progress=False)
    assert (s.done, s.failed, s.complete) == (6, 0, True)
    _REF_ROOT[:] = [root]
    return _tables(root / "out")


# ------------------------------------------------------------------------------------------------
# a pool worker killed from outside
# ------------------------------------------------------------------------------------------------
def test_worker_killed_by_signal_mid_run_is_retried(tmp_path, reference):
    exp = _setup(tmp_path)
    ctl = tmp_path / "tiny"
    (ctl / "hang").touch()
    killed: list[int] = []

    def killer() -> None:
        pid_file = ctl / "victim.pid"
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not pid_file.exists():
            time.sleep(0.02)
        if pid_file.exists():
            pid = int(pid_file.read_text())
            (ctl / "killed").touch()
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    th = threading.Thread(target=killer, daemon=True)
    th.start()
    s = run_experiment(exp, tmp_path / "out", workers=2, progress=False)
    th.join(timeout=5)
    assert killed and killed[0] != os.getpid()
    assert s.crashed_workers >= 1
    assert (s.done, s.failed, s.complete) == (6, 0, True)
    runs = load_results(tmp_path / "out")["runs"]
    assert (runs["attempt"] > 1).any()  # the killed run (and its pool mates) were retried
    assert all(ResultStore.part_ok(p) for p in _parts(tmp_path / "out"))
    _assert_same(reference, _tables(tmp_path / "out"))


# ------------------------------------------------------------------------------------------------
# the parent killed while runs are in flight, resumed from the command line
# ------------------------------------------------------------------------------------------------
@pytest.mark.slow  # ~30 s: two console-script batches with process pools
def test_parent_killed_with_runs_in_flight_then_cli_resume(tmp_path, reference):
    exp = _setup(tmp_path)
    ctl = tmp_path / "tiny"
    (
        ctl / "hang"
    ).touch()  # one run hangs: the parent is killed while it (and others) are in flight
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [*_BATCH, str(exp), "--out", str(out), "--workers", "2", "--no-progress"],
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=_env(),
    )
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not (ctl / "victim.pid").exists():
            if proc.poll() is not None:
                pytest.fail(f"the batch ended early: {proc.stderr.read().decode()}")
            time.sleep(0.02)
        assert (ctl / "victim.pid").exists(), "the hanging run never started"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # parent and its workers, like a cancelled job
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    store = ResultStore(out)
    assert store.read_manifest()["status"] == "running"  # interrupted, not marked finished
    assert all(store.part_ok(p) for p in _parts(out))  # no torn part
    finished = store.listed("runs")
    assert len(finished) < 6
    (ctl / "hang").unlink()

    p = subprocess.run(
        [*_BATCH, str(exp), "--out", str(out), "--workers", "2", "--no-progress", "--resume"],
        capture_output=True,
        text=True,
        timeout=300,
        env=_env(),
    )
    assert p.returncode == 0, p.stderr
    assert f"{6 - len(finished)} ok, 0 failed, {len(finished)} already done" in p.stdout
    assert load_results(out).manifest["status"] == "complete"
    _assert_same(reference, _tables(out))


# ------------------------------------------------------------------------------------------------
# a full disk
# ------------------------------------------------------------------------------------------------
def test_disk_full_in_workers_is_recorded_and_resume_completes(tmp_path, reference):
    exp = _setup(tmp_path)
    ctl = tmp_path / "tiny"
    out = tmp_path / "out"
    # first a clean partial batch (1 replicate of 3) so that earlier results exist
    s0 = run_experiment(load_experiment(exp, replicates=1), out, workers=2, progress=False)
    assert s0.done == 2
    before = {p: p.read_bytes() for p in _parts(out)}
    assert before
    (ctl / "diskfull").touch()
    code = cli.main(["batch", str(exp), "--out", str(out), "--workers", "2", "--no-progress"])
    assert code == 1  # runtime failure: the failed runs are recorded, not an input error
    runs = load_results(out)["runs"]
    bad = runs[runs["status"] == "failed"]
    assert len(bad) == 6 - s0.done
    assert bad["error"].str.contains("No space left on device").all()
    for p, data in before.items():  # earlier results intact, byte for byte
        assert p.read_bytes() == data
    assert all(ResultStore.part_ok(p) for p in _parts(out))
    assert not list(out.rglob("*.tmp"))  # no half-written temp file left behind

    (ctl / "diskfull").unlink()
    s = run_experiment(exp, out, workers=2, progress=False, resume=True)
    assert (s.skipped, s.done, s.failed, s.complete) == (s0.done, 6 - s0.done, 0, True)
    _assert_same(reference, _tables(out))


def test_disk_full_in_the_parent_is_a_clear_error_and_resume_completes(
    tmp_path, reference, monkeypatch, capsys
):
    """Serial executor: the parent process itself cannot write any more."""
    import agglomeration.experiment.store as store_mod

    exp = _setup(tmp_path)
    out = tmp_path / "out"
    real = store_mod.atomic_write_table
    writes = {"n": 0}

    def filling(path, table):
        writes["n"] += 1
        if writes["n"] > 2 + 2 * 5:  # design + plan, then ~2 runs' parts fit on the disk
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real(path, table)

    monkeypatch.setattr(store_mod, "atomic_write_table", filling)
    code = cli.main(["batch", str(exp), "--out", str(out), "--executor", "serial", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 1
    assert "No space left on device" in err and "Traceback" not in err
    error_lines = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert len(error_lines) == 1 and "[Errno 28]" in error_lines[0]  # one line naming the file
    st = ResultStore(out)
    assert all(st.part_ok(p) for p in _parts(out))
    assert not list(out.rglob("*.tmp"))
    ok_before = {r for r in st.listed("runs") if st.read_run_row(r)["status"] == "ok"}
    assert 1 <= len(ok_before) < 6

    monkeypatch.setattr(store_mod, "atomic_write_table", real)
    s = run_experiment(exp, out, executor="serial", progress=False, resume=True)
    assert s.complete and s.failed == 0 and s.skipped == len(ok_before)
    _assert_same(reference, _tables(out))


# ------------------------------------------------------------------------------------------------
# corrupt parts found on resume
# ------------------------------------------------------------------------------------------------
def _corrupt_random(p: Path) -> None:
    p.write_bytes(os.urandom(p.stat().st_size))


def _corrupt_empty(p: Path) -> None:
    p.write_bytes(b"")


def _corrupt_wrong_shape(p: Path) -> None:
    pd.DataFrame({"something": [1, 2, 3]}).to_parquet(p)


def _corrupt_flip_footer(p: Path) -> None:
    b = bytearray(p.read_bytes())
    b[-6] ^= 0xFF  # footer length: unreadable metadata
    p.write_bytes(bytes(b))


@pytest.mark.parametrize(
    ("table", "damage"),
    [
        ("regions", _corrupt_random),
        ("links", _corrupt_empty),
        ("firms", _corrupt_flip_footer),
        ("runs", _corrupt_random),
        ("runs", _corrupt_wrong_shape),
        ("runs", _corrupt_empty),
    ],
    ids=[
        "regions-random",
        "links-empty",
        "firms-footer",
        "runs-random",
        "runs-wrong-shape",
        "runs-empty",
    ],
)
def test_corrupt_part_is_detected_and_only_that_run_redone(tmp_path, reference, table, damage):
    exp = _REF_ROOT[0] / "exp.toml"  # a copy of the finished reference batch, same experiment
    out = tmp_path / "out"
    shutil.copytree(_REF_ROOT[0] / "out", out)
    st = ResultStore(out)
    victim = sorted(st.listed("runs"))[2]
    damage(st.part_path(table, victim))
    stale = (
        st.part_dir("series") / f".{victim}.parquet.999.deadbeef.tmp"
    )  # a killed writer's leftover
    stale.write_bytes(b"half")
    os.utime(stale, (time.time() - 7200, time.time() - 7200))

    redone: list[str] = []
    s = run_experiment(
        exp, out, executor="serial", progress=False, on_result=lambda r: redone.append(r["run_id"])
    )
    assert redone == [victim] and s.skipped == 5 and s.complete
    assert not stale.exists()
    _assert_same(reference, _tables(out))


# ------------------------------------------------------------------------------------------------
# silent damage inside a data page (footer intact): found by content, never dropped
# ------------------------------------------------------------------------------------------------
def _flip_inside_data_page(p: Path) -> None:
    """Flip 8 bytes inside the largest column chunk where it damages the data (the file no longer
    reads, or reads other values, without page-CRC checks) while the footer stays intact."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    data = p.read_bytes()
    original = pq.read_table(pa.BufferReader(data))
    rg = pq.read_metadata(p).row_group(0)
    col = max((rg.column(i) for i in range(rg.num_columns)), key=lambda c: c.total_compressed_size)
    start = col.dictionary_page_offset or col.data_page_offset
    for off in range(start + col.total_compressed_size // 2, start + col.total_compressed_size - 8):
        b = bytearray(data)
        for i in range(off, off + 8):
            b[i] ^= 0xFF
        try:
            damaged = not pq.read_table(pa.BufferReader(bytes(b))).equals(original)
        except (OSError, pa.ArrowException):
            damaged = True
        if damaged:
            p.write_bytes(bytes(b))
            pq.read_metadata(p)  # the footer still reads: a metadata-only check passes this part
            return
    raise AssertionError(f"found no damaging flip in {p}")


@pytest.mark.parametrize("table", ["series", "regions", "firms", "runs"])
def test_bytes_flipped_inside_a_data_page_are_found_and_the_run_redone(
    tmp_path, reference, table, capsys
):
    exp = _REF_ROOT[0] / "exp.toml"
    out = tmp_path / "out"
    shutil.copytree(_REF_ROOT[0] / "out", out)
    st = ResultStore(out)
    victim = sorted(st.listed("runs"))[1]
    _flip_inside_data_page(st.part_path(table, victim))
    assert ResultStore.part_ok(st.part_path(table, victim))
    # a reader of the parts refuses the damaged run instead of leaving it out
    shutil.rmtree(out / "tables")
    if table != "runs":
        with pytest.raises(ResultStoreError, match=f"damaged part of run {victim}"):
            load_results(out)[table]
    # resume from the command line: exactly that run is redone, every table is whole again
    code = cli.main(["batch", str(exp), "--out", str(out), "--executor", "serial", "--no-progress"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert f"{victim}" in captured.err and "redone" in captured.err  # the damage is reported
    assert "1 ok, 0 failed, 5 already done" in captured.out
    res = load_results(out)
    assert res.manifest["status"] == "complete" and res["series"]["run_id"].nunique() == 6
    _assert_same(reference, _tables(out))
