"""Interactive dashboard in the browser (needs the `viz` extra: pip install "agglomeration[viz]").

agglomeration dashboard [SCENARIO] [--results DIR] [--host 127.0.0.1] [--port N] [--seed S]

With SCENARIO: explore it step by step (levers, Step / Play / Reset, map, live plots, LQ table).
With --results DIR: browse a finished batch (variants, comparison table and forest plot per metric/step).
Both may be given (two tabs). Without either, scenarios/baseline.toml in the current directory is used.
The server binds to 127.0.0.1 (this machine only) unless --host says otherwise; stop it with Ctrl-C.

Exit codes: 0 stopped with Ctrl-C / SIGTERM, 2 invalid input (checked before the server starts: the
scenario, --results, --port, and a port that is already in use or an address that cannot be bound),
1 the viz extra is missing or the server failed.
"""

from __future__ import annotations

import argparse
import errno
import importlib.util
import os
import signal
import socket
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


def check_bindable(host: str, port: int) -> None:
    """InputError when ``host:port`` cannot be listened on (in use, or not an address of this
    machine), so the user gets one clear line instead of the server's traceback."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, ValueError) as exc:
        raise InputError(f"cannot resolve the address {host!r}: {exc}", field="--host") from None
    family, _type, proto, _name, address = infos[0]
    with socket.socket(family, socket.SOCK_STREAM, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server does
        try:
            sock.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise InputError(
                    f"port {port} on {host} is already in use (another dashboard?); stop that "
                    "server or choose another port with --port",
                    field="--port",
                ) from None
            raise InputError(
                f"cannot listen on {host}:{port}: {exc.strerror or exc}", field="--host"
            ) from None


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
        from agglomeration.report.dashboard import load_results_data

        try:  # opened as the page will open it: a directory that is no result store fails here
            load_results_data(results)
        except InputError as exc:
            raise InputError(
                exc.message, file=exc.file or str(results), field="--results"
            ) from None
        env["AGGLOMERATION_DASHBOARD_RESULTS"] = str(results.resolve())
    if args.seed is not None:
        from agglomeration.runone import _check_seed

        try:
            _check_seed(args.seed)
        except InputError as exc:
            raise InputError(exc.message, field="--seed") from None
        env["AGGLOMERATION_DASHBOARD_SEED"] = str(int(args.seed))
    return env


def main(args: argparse.Namespace) -> int:
    """Validate the input, then run the Solara server in the foreground until interrupted."""
    env = {**os.environ, **prepare(args)}  # options first: a typo is reported with or without viz
    if importlib.util.find_spec("solara") is None:
        print(
            'error: the dashboard needs the viz extra: pip install "agglomeration[viz]"',
            file=sys.stderr,
        )
        return 1
    check_bindable(args.host, int(args.port))
    print(f"dashboard on http://{args.host}:{args.port}/  (Ctrl-C stops it)", flush=True)
    proc = subprocess.Popen(server_command(args.host, int(args.port)), env=env)
    stopped: list[int] = []

    def _stop(signum: int, frame: object) -> None:  # forward SIGTERM to the server
        stopped.append(signum)
        proc.terminate()

    previous = signal.signal(signal.SIGTERM, _stop)
    try:
        code = proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)
    if stopped or code == 0:
        return 0
    print(f"error: the dashboard server stopped with exit code {code}", file=sys.stderr)
    return 1
