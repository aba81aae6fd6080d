"""Run an experiment: every variant x design point x replicate, in parallel, into a resumable result store.

Results go to --out (default: results/<experiment name>): Parquet parts per run, a manifest with the
resolved experiment and versions, consolidated tables at the end.  Rerunning into the same directory (or
--resume) runs only what is missing or failed, and refuses if the experiment changed.  A failing run is
recorded with its error and traceback and the batch goes on.  See docs/EXPERIMENTS.md.

Exit codes: 0 all runs finished ok, 1 some runs failed (recorded in the runs table), 2 invalid input.
"""

from __future__ import annotations

import argparse
import signal
import sys
import tomllib
from pathlib import Path
from typing import Any

from agglomeration.errors import InputError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``agglomeration batch`` (docs/EXPERIMENTS.md)."""
    parser.add_argument("experiment", help="experiment TOML file")
    parser.add_argument("--out", help="result directory (default: results/<experiment name>)")
    parser.add_argument("--workers", type=int, help="worker processes (default: number of CPUs)")
    parser.add_argument("--executor", choices=("local", "dask", "serial"), default="local")
    parser.add_argument("--scheduler", help="dask scheduler address, e.g. tcp://10.0.0.5:8786")
    parser.add_argument(
        "--resume", action="store_true", help="continue a batch in --out (error if none)"
    )
    parser.add_argument("--shard", help="i/N: run only shard i of N (0-based), for job arrays")
    parser.add_argument("--replicates", type=int, help="override the experiment's replicates")
    parser.add_argument("--steps", type=int, help="override the number of steps")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override an experiment field (design.samples=128) or, for any other key, a scenario "
        "parameter applied to every variant (policy.replication_rate=0.1); VALUE is TOML",
    )
    parser.add_argument(
        "--no-progress", action="store_true", help="no progress bar (log lines only)"
    )


def parse_set(items: list[str]) -> dict[str, Any]:
    """``["a.b=1", "c=x"]`` -> ``{"a.b": 1, "c": "x"}`` (values parsed as TOML, else kept as strings)."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise InputError(f"expected KEY=VALUE, got {item!r}", field="--set")
        try:
            value = tomllib.loads(f"v = {text.strip()}")["v"]
        except tomllib.TOMLDecodeError:
            value = text.strip()
        out[key] = value
    return out


def main(args: argparse.Namespace) -> int:
    """Run the batch; print a summary line; exit 1 if any run failed."""
    from agglomeration.experiment.runner import run_experiment
    from agglomeration.experiment.spec import load_experiment

    exp = load_experiment(
        args.experiment, replicates=args.replicates, steps=args.steps, set=parse_set(args.set)
    )
    out = Path(args.out) if args.out else Path("results") / exp.name

    def log(res: dict[str, Any]) -> None:
        if args.no_progress:
            msg = f"{res['run_id']} {res['status']}"
            if res.get("error"):
                msg += f": {res['error']}"
            print(msg, file=sys.stderr, flush=True)

    def terminate(
        signum: int, frame: Any
    ) -> None:  # scheduler walltime / scancel: stop like Ctrl-C
        raise KeyboardInterrupt

    if hasattr(signal, "SIGTERM"):
        signal.signal(signal.SIGTERM, terminate)
    summary = run_experiment(
        exp,
        out,
        workers=args.workers,
        executor=args.executor,
        scheduler=args.scheduler,
        resume=args.resume,
        shard=args.shard,
        progress=not args.no_progress,
        on_result=log,
    )
    rate = summary.runs_per_minute
    print(
        f"{exp.name}: {summary.done} ok, {summary.failed} failed, {summary.skipped} already done "
        f"(of {summary.selected} selected / {summary.planned} planned) in {summary.wall_time_s:.1f} s"
        + (f" ({rate:.1f} runs/min)" if rate == rate else "")
        + f"; results in {summary.out}"
        + ("" if summary.complete else " (incomplete: rerun to resume)")
    )
    if summary.failed:
        print(
            f"failed runs: {', '.join(summary.failed_ids[:10])}"
            + (" ..." if summary.failed > 10 else "")
        )
    return 1 if summary.failed else 0
