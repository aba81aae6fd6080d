"""Interactive dashboard in the browser (needs the `viz` extra: pip install "agglomeration[viz]").

agglomeration dashboard [SCENARIO] [--results DIR] [--host 127.0.0.1] [--port N] [--seed S]

With SCENARIO: explore it step by step (levers, Step / Play / Reset, map, live plots, LQ table).
With --results DIR: browse a finished batch (variants, comparison table and forest plot per metric/step).
Both may be given (two tabs). Without either, scenarios/baseline.toml in the current directory is used.
The server binds to 127.0.0.1 (this machine only) unless --host says otherwise; stop it with Ctrl-C.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import signal
import subprocess
import sys
from pathlib import Path

from agglomeration.errors import InputError

DEFAULT_SCENARIO = Path("scenarios") / "baseline.toml"
APP = "agglomeration.report.dashboard:Page"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``agglomeration dashboard``."""
    parser.add_argument("scenario", nargs="?", help="scenario TOML file to explore")
    parser.add_argument(
        "--results", metavar="DIR", help="result store of a finished batch to browse"
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="interface to bind (default 127.0.0.1: this machine only)",
    )
    parser.add_argument("--port", type=int, default=8765, help="TCP port (default 8765)")
    parser.add_argument(
        "--seed", type=int, default=None, help="replicate seed of the explored model"
    )


def _check_port(port: int) -> int:
    if not 1 <= port <= 65535:
        raise InputError(f"expected a TCP port in [1, 65535], got {port}", field="--port")
    return port


def server_command(host: str, port: int) -> list[str]:
    """The ``solara run`` command line that serves the dashboard page."""
    return [
        sys.executable,
        "-m",
        "solara",
        "run",
        APP,
        "--host",
        host,
        "--port",
        str(port),
        "--production",
        "--no-open",
        "--log-level",
        "warning",
    ]


def prepare(args: argparse.Namespace) -> dict[str, str]:
    """Validate the arguments before starting a server; return the environment variables for the page.

    The scenario is loaded (so a bad file fails here with exit 2, not in the browser) and the results
    directory must exist."""
    _check_port(int(args.port))
    env: dict[str, str] = {}
    scenario = args.scenario
    if scenario is None and args.results is None:
        if not DEFAULT_SCENARIO.is_file():
            raise InputError(
                "give a SCENARIO file or --results DIR (no scenarios/baseline.toml in this directory)",
                field="SCENARIO",
            )
        scenario = str(DEFAULT_SCENARIO)
    if scenario is not None:
        from agglomeration.scenario import load_scenario

        path = Path(scenario)
        if not path.is_file():
            raise InputError("no such scenario file", file=str(path), field="SCENARIO")
        load_scenario(path)  # raises InputError naming file and field
        env["AGGLOMERATION_DASHBOARD_SCENARIO"] = str(path.resolve())
    if args.results is not None:
        results = Path(args.results)
        if not results.is_dir():
            raise InputError(
                "expected a results directory (from `agglomeration batch`)",
                file=str(results),
                field="--results",
            )
        env["AGGLOMERATION_DASHBOARD_RESULTS"] = str(results.resolve())
    if args.seed is not None:
        env["AGGLOMERATION_DASHBOARD_SEED"] = str(int(args.seed))
    return env


def main(args: argparse.Namespace) -> int:
    """Validate the input, then run the Solara server in the foreground until interrupted."""
    if importlib.util.find_spec("solara") is None:
        print(
            'error: the dashboard needs the viz extra: pip install "agglomeration[viz]"',
            file=sys.stderr,
        )
        return 1
    env = {**os.environ, **prepare(args)}
    print(f"dashboard on http://{args.host}:{args.port}/  (Ctrl-C stops it)", flush=True)
    proc = subprocess.Popen(server_command(args.host, int(args.port)), env=env)

    def _stop(signum: int, frame: object) -> None:  # forward SIGTERM to the server
        proc.terminate()

    previous = signal.signal(signal.SIGTERM, _stop)
    try:
        return proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)
