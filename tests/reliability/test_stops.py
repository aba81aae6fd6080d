"""Clean stops: SIGTERM / SIGINT stop a batch within seconds, the runs in flight are recorded as
interrupted, nothing is left running, and a killed parent's workers exit on their own.

The batches run the console entry point in a subprocess with a local process pool (2 workers) and a model
whose steps take 0.5 s while a control file ``slow`` exists next to the scenario (a run of 40 steps takes
20 s, so a stop that waited for the runs in flight would take that long).  Every worker writes its pid
into ``pids/`` so the test can check that no worker outlives the stop.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agglomeration.experiment.runner import run_experiment
from agglomeration.experiment.store import ResultStore
from agglomeration.model import AgglomerationModel

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/stat").exists(), reason="needs Linux /proc to find worker processes"
)

HERE = Path(__file__).resolve().parents[1]
TINY = HERE / "data" / "tiny"
#: generous bound on a clean stop (the runs in flight take 20 s each)
STOP_WITHIN_S = 10.0

EXPERIMENT = f"""
name = "stops"
scenario = "tiny/scenario.toml"
model = "{__name__}:SlowModel"
replicates = 6
seed = 3
steps = 40
"""


class SlowModel(AgglomerationModel):
    """The plain model; each step sleeps 0.5 s while ``slow`` exists in the scenario's directory."""

    def __init__(self, scenario, replicate_seed=None, **kw):
        self._ctl = Path(scenario.source_path).resolve().parent
        super().__init__(scenario, replicate_seed=replicate_seed, **kw)

    def step(self):
        if (self._ctl / "slow").exists():
            (self._ctl / "pids").mkdir(exist_ok=True)
            (self._ctl / "pids" / str(os.getpid())).touch()
            time.sleep(0.5)
        super().step()


def _setup(root: Path) -> Path:
    shutil.copytree(TINY, root / "tiny")
    (root / "tiny" / "slow").touch()
    exp = root / "exp.toml"
    exp.write_text(EXPERIMENT)
    return exp


def _start(exp: Path, out: Path, *extra: str) -> subprocess.Popen:
    # this module (the model subclass the batch names) must be importable in the batch processes
    here = str(Path(__file__).resolve().parent)
    path = os.pathsep.join([here, os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "agglomeration.cli",
            "batch",
            str(exp),
            "--out",
            str(out),
            "--workers",
            "2",
            "--no-progress",
            *extra,
        ],
        start_new_session=True,  # its own process group: the test can send a terminal's Ctrl-C
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": path},
    )


def _worker_pids(ctl: Path, n: int, proc: subprocess.Popen) -> list[int]:
    """Wait until ``n`` workers are inside a run; their pids."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        pids = [int(p.name) for p in (ctl / "pids").glob("*")] if (ctl / "pids").is_dir() else []
        if len(pids) >= n:
            return pids
        if proc.poll() is not None:
            pytest.fail(f"the batch ended early: {proc.stderr.read()}")
        time.sleep(0.05)
    pytest.fail("the workers never started a run")


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has exited


def _gone(pids: list[int], within: float = 5.0) -> list[int]:
    """The pids still alive after ``within`` seconds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline and any(_alive(p) for p in pids):
        time.sleep(0.05)
    return [p for p in pids if _alive(p)]


def _parent_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def _stop(proc: subprocess.Popen, sig: int, group: bool = False) -> tuple[int, str, str]:
    t0 = time.monotonic()
    if group:
        os.killpg(proc.pid, sig)
    else:
        proc.send_signal(sig)
    try:
        out, err = proc.communicate(timeout=STOP_WITHIN_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail(f"the batch did not stop within {STOP_WITHIN_S} s of the signal")
    assert time.monotonic() - t0 < STOP_WITHIN_S
    return proc.returncode, out, err


def _cleanup(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()


def _check_interrupted_store(out: Path) -> int:
    """The manifest says interrupted; the runs in flight have an `interrupted` runs row."""
    store = ResultStore(out)
    manifest = store.read_manifest()
    assert manifest["status"] == "interrupted", manifest["status"]
    rows = [store.read_run_row(r) for r in store.listed("runs")]
    interrupted = [r for r in rows if r["status"] == "interrupted"]
    assert interrupted and all("stopped" in r["error"] for r in interrupted)
    assert manifest["counts"]["interrupted"] == len(interrupted)
    return len(interrupted)


def test_sigterm_stops_within_seconds_records_interrupted_runs_and_says_how_to_resume(tmp_path):
    exp = _setup(tmp_path)
    out = tmp_path / "out"
    proc = _start(exp, out)
    try:
        pids = _worker_pids(tmp_path / "tiny", 2, proc)
        code, stdout, err = _stop(proc, signal.SIGTERM)
    finally:
        _cleanup(proc)
    assert code == 128 + signal.SIGTERM, err
    assert "Traceback" not in err and "Traceback" not in stdout
    assert "stopped by SIGTERM" in err and "in flight recorded as interrupted" in err
    resume = err.strip().splitlines()[-1].strip()
    assert resume.startswith("agglomeration batch") and resume.endswith("--resume"), err
    assert _gone(pids) == [], "a worker outlived the stop"
    n_interrupted = _check_interrupted_store(out)

    # resume (fast now): the interrupted runs are redone and the batch completes
    (tmp_path / "tiny" / "slow").unlink()
    s = run_experiment(exp, out, executor="serial", resume=True, progress=False)
    assert s.complete and s.failed == 0 and s.done >= n_interrupted
    assert ResultStore(out).read_manifest()["status"] == "complete"


def test_ctrl_c_to_the_process_group_stops_cleanly_without_tracebacks(tmp_path):
    """A terminal's Ctrl-C reaches the parent, the forkserver and every worker."""
    exp = _setup(tmp_path)
    proc = _start(exp, tmp_path / "out")
    try:
        pids = _worker_pids(tmp_path / "tiny", 2, proc)
        code, _stdout, err = _stop(proc, signal.SIGINT, group=True)
    finally:
        _cleanup(proc)
    assert code == 128 + signal.SIGINT, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert "stopped by SIGINT" in err and "--resume" in err
    assert _gone(pids) == []
    _check_interrupted_store(tmp_path / "out")


def test_a_second_signal_during_the_clean_up_prints_no_traceback(tmp_path):
    exp = _setup(tmp_path)
    proc = _start(exp, tmp_path / "out")
    try:
        pids = _worker_pids(tmp_path / "tiny", 2, proc)
        proc.send_signal(signal.SIGTERM)
        proc.send_signal(signal.SIGTERM)
        proc.send_signal(signal.SIGINT)
        code, _stdout, err = _stop(proc, signal.SIGTERM)
    finally:
        _cleanup(proc)
    # the first signal handled wins (Python handles pending signals in number order)
    assert code in (128 + signal.SIGTERM, 128 + signal.SIGINT), err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert err.count("Resume with:") == 1  # one stop, reported once
    assert _gone(pids) == []


def test_workers_of_a_killed_parent_exit_on_their_own(tmp_path):
    """SIGKILL of the batch process alone (an out-of-memory kill): its workers, the forkserver and the
    resource tracker must not live on."""
    exp = _setup(tmp_path)
    proc = _start(exp, tmp_path / "out")
    try:
        pids = _worker_pids(tmp_path / "tiny", 2, proc)
        forkserver = {_parent_of(p) for p in pids} - {proc.pid}
        children = {
            _pid_of(st) for st in Path("/proc").glob("[0-9]*/stat") if _ppid_is(st, proc.pid)
        }
        helpers = sorted((forkserver | children) - {None})  # forkserver and resource tracker
        assert any(b"resource_tracker" in _cmdline(h) for h in helpers), helpers
        proc.kill()
        proc.communicate(timeout=30)
        assert _gone(pids + helpers, within=STOP_WITHIN_S) == [], "orphaned worker processes"
    finally:
        _cleanup(proc)
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["status"] == "running"  # killed: nothing could record the stop


@pytest.mark.slow  # ~15 s: catches the moment the worker processes start
def test_a_signal_while_the_pool_starts_is_clean(tmp_path):
    """SIGTERM as soon as the forkserver process exists (the pool is starting)."""
    exp = _setup(tmp_path)
    proc = _start(exp, tmp_path / "out")
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            children = [
                int(p.parent.name)
                for p in Path("/proc").glob("[0-9]*/stat")
                if _ppid_is(p, proc.pid)
            ]
            if any(b"forkserver" in _cmdline(c) for c in children):
                break
            time.sleep(0.01)
        code, _stdout, err = _stop(proc, signal.SIGTERM)
    finally:
        _cleanup(proc)
    assert code == 128 + signal.SIGTERM, err
    assert "Traceback" not in err and "EOFError" not in err


def _ppid_is(stat: Path, pid: int) -> bool:
    try:
        return int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid
    except (OSError, ValueError, IndexError):
        return False


def _pid_of(stat: Path) -> int | None:
    try:
        return int(stat.parent.name)
    except ValueError:
        return None


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def test_ctrl_c_under_dask_prints_no_worker_tracebacks_and_counts_what_is_on_disk(tmp_path):
    """Ctrl-C to the process group under ``--executor dask`` printed a KeyboardInterrupt traceback
    from every Dask worker process, and the summary counted fewer ok runs than were on disk (the
    workers finished runs between the stop and the clean-up)."""
    pytest.importorskip("distributed")
    exp = _setup(tmp_path)
    out = tmp_path / "out"
    proc = _start(exp, out, "--executor", "dask")
    try:
        _worker_pids(tmp_path / "tiny", 2, proc)
        (tmp_path / "tiny" / "slow").unlink()  # the runs now finish fast: some land after the stop
        store = ResultStore(out)
        deadline = time.monotonic() + 60
        while len(store.listed("runs")) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        code, _stdout, err = _stop(proc, signal.SIGINT, group=True)
    finally:
        _cleanup(proc)
    if code == 0:
        pytest.skip("every run finished before the signal arrived")
    assert code == 128 + signal.SIGINT, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    rows = [ResultStore(out).read_run_row(r) for r in ResultStore(out).listed("runs")]
    n_ok = sum(r["status"] == "ok" for r in rows)
    assert "stopped by SIGINT after" in err and f": {n_ok} ok, 0 failed in this session" in err, err
