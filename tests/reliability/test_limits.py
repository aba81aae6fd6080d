"""Bounded resources, exit codes and early checks (issue: reliability, round two).

Every size a user controls is bounded with a clear error before work starts (steps, design points, runs,
workers, file sizes, nesting); hostile paths (symlink loops, NUL bytes, 5,000-character names) and bad
addresses are exit 2 naming the option; `validate` makes exactly the checks `batch` makes; services bind
to 127.0.0.1; the dashboard refuses a busy port before starting; piping into `head` is quiet.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from agglomeration import cli
from agglomeration.errors import InputError
from agglomeration.experiment.runner import MAX_RUNS, run_experiment
from agglomeration.scenario import MAX_CSV_BYTES, MAX_NESTING, MAX_STEPS, MAX_TOML_BYTES

HERE = Path(__file__).resolve().parents[1]
TINY = HERE / "data" / "tiny"

EXPERIMENT = """
name = "lim"
scenario = "tiny/scenario.toml"
replicates = 2
seed = 5
steps = 1
[[variants]]
name = "base"
[[variants]]
name = "high"
overrides = { "policy.delegation.B" = 0.9 }
"""


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    shutil.copytree(TINY, tmp_path / "tiny")
    return tmp_path / "tiny" / "scenario.toml"


@pytest.fixture
def exp_file(tiny: Path) -> Path:
    p = tiny.parent.parent / "exp.toml"
    p.write_text(EXPERIMENT)
    return p


def exit2(capsys, argv: list[str]) -> str:
    """Run the CLI in-process: exit 2, one `error:` line, no traceback, a short message."""
    capsys.readouterr()
    code = cli.main(argv)
    out, err = capsys.readouterr()
    assert code == 2, f"exit {code} for {argv[:4]}...\n{out}\n{err}"
    assert err.startswith("error:") and "Traceback" not in err, err
    assert len(err) < 2000, f"{len(err)}-character message"
    return err


# ------------------------------------------------------------------------------------------------
# sizes
# ------------------------------------------------------------------------------------------------
def test_steps_are_bounded_everywhere(tiny, exp_file, capsys):
    big = str(MAX_STEPS + 1)
    assert "--steps" in exit2(capsys, ["run", str(tiny), "--steps", "1000000000"])
    assert "steps" in exit2(capsys, ["run", str(tiny), "--set", f"steps={big}"])
    assert "steps" in exit2(capsys, ["batch", str(exp_file), "--steps", big, "--out", "x"])
    tiny.write_text(tiny.read_text().replace("steps = 5", f"steps = {big}"))
    assert "steps" in exit2(capsys, ["validate", str(tiny)])


def test_design_and_batch_size_are_bounded_before_anything_is_sampled(exp_file, tmp_path, capsys):
    sobol = exp_file.read_text().replace(
        "[[variants]]",
        '[design]\nkind = "sobol"\nsamples = 8388608\n'
        '[design.parameters."policy.replication_rate"]\nbounds = [0.0, 0.5]\n[[variants]]',
        1,
    )
    exp_file.write_text(sobol)
    t0 = time.process_time()
    err = exit2(capsys, ["batch", str(exp_file), "--out", str(tmp_path / "o")])
    assert "25,165,824 points" in err and "design.samples" in err  # N (D + 2), N = 2^23
    assert time.process_time() - t0 < 5  # refused by arithmetic, not after sampling 30 M points
    assert not (tmp_path / "o").exists()
    assert "points" in exit2(capsys, ["validate", str(exp_file)])


def test_number_of_runs_is_bounded(exp_file, tmp_path, capsys):
    reps = str(MAX_RUNS // 2 + 1)
    err = exit2(
        capsys, ["batch", str(exp_file), "--replicates", reps, "--out", str(tmp_path / "o")]
    )
    assert "runs; expected at most" in err


def test_workers_are_bounded(exp_file, tmp_path, capsys):
    assert "workers" in exit2(capsys, ["batch", str(exp_file), "--workers", "100000"])
    with pytest.raises(InputError, match="workers"):
        run_experiment(exp_file, tmp_path / "o", workers=True)


def test_a_huge_csv_is_refused_before_it_is_read(tiny, capsys):
    links = tiny.parent / "links.csv"
    with links.open("r+b") as fh:  # a sparse file: no disk space, no time
        fh.truncate(MAX_CSV_BYTES + 1)
    err = exit2(capsys, ["run", str(tiny)])
    assert "links.csv" in err and "at most" in err and "bytes" in err


def test_a_huge_toml_is_refused(tiny, exp_file, capsys):
    tiny.write_text(tiny.read_text() + "\n# " + "x" * MAX_TOML_BYTES + "\n")
    assert "at most" in exit2(capsys, ["validate", str(tiny)])
    exp_file.write_text(exp_file.read_text() + "\n# " + "x" * MAX_TOML_BYTES + "\n")
    assert "at most" in exit2(capsys, ["batch", str(exp_file)])


# ------------------------------------------------------------------------------------------------
# nesting, hostile paths
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("depth", [MAX_NESTING + 1, 5000])
def test_deep_nesting_in_files_and_set_values_is_exit_2(tiny, exp_file, capsys, depth):
    deep = "[" * depth + "]" * depth
    (tiny.parent / "deep.toml").write_text(f'name = "d"\nx = {deep}\n')
    assert "nested" in exit2(capsys, ["run", str(tiny.parent / "deep.toml")])
    exp_file.write_text(exp_file.read_text() + f"\nx = {deep}\n")
    assert "nest" in exit2(capsys, ["batch", str(exp_file)])
    assert "nested" in exit2(capsys, ["run", str(tiny), "--set", f"policy.x={deep}"])
    assert "nested" in exit2(capsys, ["batch", str(exp_file), "--set", f"policy.x={deep}"])


def test_deep_dotted_keys_are_exit_2(tiny, capsys):
    key = ".".join(["a"] * 3000)
    err = exit2(capsys, ["run", str(tiny), "--set", f"{key}=1"])
    assert "at most" in err and len(err) < 600


def test_symlink_loops_are_exit_2(tiny, tmp_path, capsys):
    (tmp_path / "l1.toml").symlink_to(tmp_path / "l2.toml")
    (tmp_path / "l2.toml").symlink_to(tmp_path / "l1.toml")
    for cmd in (["run"], ["validate"], ["batch"], ["dashboard"]):
        err = exit2(capsys, [*cmd, str(tmp_path / "l1.toml")])
        assert "l1.toml" in err
    links = tiny.parent / "links.csv"
    links.unlink()
    links.symlink_to(links)
    assert "links" in exit2(capsys, ["run", str(tiny)])


def test_nul_bytes_in_paths_are_exit_2(tiny, exp_file, capsys):
    assert "--out" in exit2(capsys, ["batch", str(exp_file), "--out", "a\0b"])
    exit2(capsys, ["run", "a\0b.toml"])
    exit2(capsys, ["validate", "a\0b.toml"])
    assert "regions.file" in exit2(capsys, ["run", str(tiny), "--set", "regions.file=a\0b"])


def test_batch_out_that_cannot_be_written_is_refused_before_any_run(exp_file, tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    assert "existing file" in exit2(
        capsys, ["batch", str(exp_file), "--out", str(tmp_path / "file")]
    )
    err = exit2(capsys, ["batch", str(exp_file), "--out", str(tmp_path / "file" / "sub")])
    assert "cannot create" in err
    assert "too long" in exit2(capsys, ["batch", str(exp_file), "--out", "y" * 5000]).lower()


# ------------------------------------------------------------------------------------------------
# dask: addresses and bindings
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("address", ["not a url", "tcp://host", "tcp://h:99999", "http://h:80", ""])
def test_scheduler_addresses_are_checked_before_anything_runs(exp_file, tmp_path, capsys, address):
    err = exit2(
        capsys,
        [
            "batch",
            str(exp_file),
            "--executor",
            "dask",
            "--scheduler",
            address,
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert "scheduler" in err
    assert not (tmp_path / "o").exists()


def test_a_scheduler_without_the_dask_executor_is_exit_2(exp_file, capsys):
    err = exit2(capsys, ["batch", str(exp_file), "--scheduler", "tcp://127.0.0.1:8786"])
    assert "dask executor" in err


def _fake_service(reply: bytes | None) -> tuple[socket.socket, int]:
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    conns = []

    def serve():
        while True:
            try:
                c, _ = srv.accept()
            except OSError:
                return
            conns.append(c)
            if reply is not None:
                c.recv(4096)
                c.sendall(reply)

    threading.Thread(target=serve, daemon=True).start()
    return srv, srv.getsockname()[1]


@pytest.mark.parametrize("reply", [b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n", None])
def test_a_scheduler_address_of_another_service_fails_fast_and_clearly(
    exp_file, tmp_path, capsys, monkeypatch, reply
):
    pytest.importorskip("distributed", reason="needs the dask extra")
    import agglomeration.experiment.pools as pools

    monkeypatch.setattr(pools, "SCHEDULER_TIMEOUT_S", 1.0)  # the default is 30 s
    srv, port = _fake_service(reply)
    try:
        capsys.readouterr()
        address = f"tcp://127.0.0.1:{port}"
        out = str(tmp_path / "o")
        code = cli.main(
            ["batch", str(exp_file), "--executor", "dask", "--scheduler", address, "--out", out]
        )
    finally:
        srv.close()
    err = capsys.readouterr().err
    assert code == 1 and "could not connect to a dask scheduler" in err and "Traceback" not in err
    assert "EiB" not in err or "MemoryError" in err
    assert not (tmp_path / "o").exists()  # nothing written before the scheduler answered


def test_dask_local_cluster_binds_everything_to_localhost():
    """Scheduler, workers and the scheduler's dashboard of the cluster a batch starts itself."""
    pytest.importorskip("distributed", reason="needs the dask extra")
    from agglomeration.experiment.pools import DaskPool

    pool = DaskPool(1, None)
    try:
        cluster = pool.cluster
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        assert all(w.startswith("tcp://127.0.0.1:") for w in cluster.scheduler_info["workers"])
        dash = cluster.scheduler.http_server  # the dashboard's HTTP server
        hosts = {s.getsockname()[0] for s in dash._sockets.values()}
        assert hosts == {"127.0.0.1"}, hosts
    finally:
        pool.close()


# ------------------------------------------------------------------------------------------------
# validate agrees with batch
# ------------------------------------------------------------------------------------------------
BATCH_ONLY_BEFORE = [
    (
        "no variants, no design",
        '[[variants]]\nname = "base"\n[[variants]]\nname = "high"\n'
        'overrides = { "policy.delegation.B" = 0.9 }\n',
        "",
        None,
    ),
    (
        "identical variants",
        'name = "base"\n',
        'name = "base"\noverrides = { "policy.delegation.B" = 0.9 }\n',
        "same scenario",
    ),
    ("unknown metric", "steps = 1\n", 'steps = 1\n[output]\nmetrics = ["firmz"]\n', "firmz"),
    ("snapshot after the end", "steps = 1\n", "steps = 1\n[output]\nfirms_at = [7]\n", "firms_at"),
]


@pytest.mark.parametrize(
    ("case", "old", "new", "needle"), BATCH_ONLY_BEFORE, ids=[c[0] for c in BATCH_ONLY_BEFORE]
)
def test_validate_and_batch_agree(exp_file, tmp_path, capsys, case, old, new, needle):
    text = exp_file.read_text()
    assert old in text
    exp_file.write_text(text.replace(old, new, 1))
    capsys.readouterr()
    v = cli.main(["validate", str(exp_file)])
    v_err = capsys.readouterr().err
    b = cli.main(
        ["batch", str(exp_file), "--out", str(tmp_path / "o"), "--executor", "serial", "-q"]
    )
    b_err = capsys.readouterr().err
    if needle is None:
        assert v == 0 and b == 0, (v_err, b_err)
    else:
        assert v == b == 2, (v, b, v_err, b_err)
        assert needle in v_err and needle in b_err
        assert not (tmp_path / "o").exists()


def test_an_unreachable_variant_world_is_refused_before_the_batch(exp_file, tmp_path, capsys):
    """A variant whose logistics network leaves a region unreachable fails in validate and in batch
    before any run (not in every run)."""
    text = exp_file.read_text().replace(
        'overrides = { "policy.delegation.B" = 0.9 }',
        'overrides = { "logistics.remove_links" = [{ from = "A", to = "B" }, { from = "B", to = "C" }] }',
    )
    exp_file.write_text(text)
    links = (exp_file.parent / "tiny" / "links.csv").read_text()
    if "A,B" not in links or "B,C" not in links:
        pytest.skip("the test world's links changed")
    for cmd in (
        ["validate", str(exp_file)],
        ["batch", str(exp_file), "--out", str(tmp_path / "o")],
    ):
        assert "variant 'high'" in exit2(capsys, cmd)
    assert not (tmp_path / "o").exists()


# ------------------------------------------------------------------------------------------------
# two batches, one directory
# ------------------------------------------------------------------------------------------------
def test_a_second_batch_into_the_same_directory_is_refused(exp_file, tmp_path, capsys):
    from agglomeration.experiment.store import ResultStore

    out = tmp_path / "o"
    assert cli.main(["-q", "batch", str(exp_file), "--out", str(out), "--executor", "serial"]) == 0
    with ResultStore(out).lock():  # another batch is running
        err = exit2(capsys, ["batch", str(exp_file), "--out", str(out), "--replicates", "3"])
    assert "another `agglomeration batch` is writing into this directory" in err and "pid" in err


# ------------------------------------------------------------------------------------------------
# record values: extreme but valid, or refused with file and field
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("key", "field"),
    [
        ("regions.overrides.A.base_wage=1e-300", "base_wage"),
        ("logistics.gateway_overrides.X.import_price_manufacturing=1e-300", "import_price"),
        ("logistics.gateway_overrides.X.import_price_service=1e-300", "import_price"),
    ],
)
def test_absurd_record_values_are_refused_with_file_and_field(tiny, capsys, key, field):
    err = exit2(capsys, ["run", str(tiny), "--set", key])
    # the value came from the command line, not the scenario file
    assert f"--set {key}:" in err and "scenario.toml" not in err
    assert field in err and "greater than or equal" in err


def test_the_smallest_valid_wage_and_import_price_run_with_finite_results(tiny, tmp_path, capsys):
    import numpy as np

    from agglomeration.runone import run_scenario

    with np.errstate(over="raise", invalid="raise"):
        res = run_scenario(
            tiny,
            steps=4,
            progress=False,
            overrides={
                "regions.overrides.A.base_wage": 1e-4,
                "logistics.gateway_overrides.X.import_price_manufacturing": 0.01,
                "logistics.gateway_overrides.X.import_price_service": 0.01,
            },
        )
    m = res["summary"]["metrics"]
    assert 0 <= m["employment"] < 1e12 and 0 <= m["output"] < 1e12
    assert not res["model"].region_table()["lq"].isna().any()


# ------------------------------------------------------------------------------------------------
# the command line: dashboard, pipes, logging options
# ------------------------------------------------------------------------------------------------
def test_dashboard_checks_its_options_before_the_extra(tmp_path, capsys, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda n, *a: None if n == "solara" else real(n, *a)
    )
    err = exit2(capsys, ["dashboard", str(tmp_path / "missing.toml")])
    assert "no such scenario file" in err
    capsys.readouterr()
    assert cli.main(["dashboard", str(TINY / "scenario.toml")]) == 1  # valid options, no extra
    assert "viz extra" in capsys.readouterr().err


def test_dashboard_on_a_busy_port_is_exit_2_before_the_server_starts(capsys, monkeypatch):
    import importlib.util

    import agglomeration.commands.dashboard as dash

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda n, *a: object() if n == "solara" else real(n, *a)
    )
    monkeypatch.setattr(dash.subprocess, "Popen", lambda *a, **k: pytest.fail("server started"))
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    try:
        port = str(busy.getsockname()[1])
        err = exit2(capsys, ["dashboard", str(TINY / "scenario.toml"), "--port", port])
    finally:
        busy.close()
    assert f"port {port} on 127.0.0.1 is already in use" in err and "--port" in err


def test_piping_into_head_prints_no_broken_pipe_error(tmp_path):
    files = [str(TINY / "scenario.toml")] * 60  # more output than the reader takes
    script = (
        f"set -o pipefail; {sys.executable} -m agglomeration.cli validate "
        + " ".join(files)
        + f" 2> {tmp_path / 'err'} | head -n 1"
    )
    p = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=120)
    err = (tmp_path / "err").read_text()
    assert p.stdout.count("\n") == 1
    assert "BrokenPipe" not in err and "Traceback" not in err and "Exception ignored" not in err
    assert p.returncode in (0, cli.EXIT_BROKEN_PIPE)


def test_verbose_and_quiet(tiny, tmp_path, capsys):
    exp = tmp_path / "exp.toml"
    exp.write_text(EXPERIMENT)
    assert cli.main(["batch", str(exp), "--out", str(tmp_path / "a"), "--executor", "serial"]) == 0
    err = capsys.readouterr().err
    assert "4 runs planned" in err and "consolidated tables/" in err and "debug:" not in err
    assert (
        cli.main(["-q", "batch", str(exp), "--out", str(tmp_path / "b"), "--executor", "serial"])
        == 0
    )
    assert capsys.readouterr().err == ""  # no progress bar, no info lines
    argv = ["batch", str(exp), "--out", str(tmp_path / "c"), "--executor", "serial", "--verbose"]
    assert cli.main(argv) == 0
    assert "debug: agglomeration.experiment.runner: run " in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["run", "x", "--quiet", "--verbose"])
