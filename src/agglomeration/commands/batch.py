"""Run an experiment: every variant x design point x replicate, in parallel, into a resumable result store.

Results go to --out (default: results/<experiment name>): Parquet parts per run, a manifest with the
resolved experiment and versions, consolidated tables at the end.  Rerunning into the same directory (or
--resume) runs only what is missing or failed, and refuses if the experiment changed.  A failing run is
recorded with its error and traceback and the batch goes on.  See docs/EXPERIMENTS.md.

Stopping: Ctrl-C or SIGTERM (a cluster's wall-time limit, scancel) stops the batch within a few seconds:
the worker processes are terminated, the runs in flight are recorded as interrupted, finished runs are
kept, and the command prints how to resume.  Only one batch writes into a directory at a time (shards of
one batch may run side by side).

Exit codes: 0 all runs finished ok, 1 some runs failed (recorded in the runs table), 2 invalid input
(also: another batch is writing into --out), 130 stopped by Ctrl-C (SIGINT), 143 stopped by SIGTERM.
"""

from __future__ import annotations

import argparse
import logging
import shlex
import signal
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from agglomeration.errors import shorten

log = logging.getLogger(__name__)


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
    """``["a.b=1", "c=x"]`` -> ``{"a.b": 1, "c": "x"}`` (values parsed once as TOML, else kept as
    strings): the same rule as ``agglomeration run --set``."""
    from agglomeration.commands.run import parse_overrides

    return parse_overrides(items)


def blame_command_line(exc: Any, typed: dict[str, str], options: dict[str, Any]) -> Any:
    """``exc`` (an InputError) naming the command-line option that gave the faulty value
    (``--set output.firms_at=[100]``, ``--replicates``) instead of the experiment file; ``exc``
    itself when the value came from the file."""
    from agglomeration.errors import InputError

    field = str(exc.field) if exc.field is not None else ""
    key = next((k for k in typed if field == k or field.startswith(f"{k}.")), None)
    if key is None and field in options and options[field] is not None:  # --replicates, --steps
        return InputError(exc.message, field=f"--{field}")
    if key is None:
        return exc
    where = f"--set {key}={shorten(typed[key], 80)}"
    if field != key:
        where += f" ({field})"
    return InputError(exc.message, field=where)


def load_with_set(path: str, items: list[str], **options: Any) -> Any:
    """The experiment with the ``--set`` values (parsed once, :func:`parse_set`) and its scenario
    overrides from ``--set`` checked against the base scenario; an error in a ``--set`` value names
    the option as typed (``--set logistics.tariff_multiplier.rail=abc: expected a number, got
    'abc'``), like ``agglomeration run --set``."""
    from agglomeration.commands.run import (
        check_option_agrees_with_set,
        from_command_line,
        split_overrides,
    )
    from agglomeration.errors import InputError, OverrideError
    from agglomeration.experiment.execute import base_scenario
    from agglomeration.experiment.spec import Experiment, load_experiment

    typed = split_overrides(items)
    values = parse_set(items)
    check_option_agrees_with_set(options, values, typed)  # --steps 4 --set steps=8: which one?
    try:
        exp = load_experiment(path, **options, set=values)
    except InputError as exc:
        raise blame_command_line(exc, typed, options) from None
    # the scenario overrides among them (any key that is not an experiment field), checked on their
    # own before the experiment's variants are planned (whose errors name the experiment file)
    scenario_keys: dict[str, str] = {}
    for key in typed:
        head, _, rest = key.partition(".")
        if head == "overrides" and rest:
            scenario_keys[rest] = key
        elif head not in Experiment.model_fields or head == "source_path":
            scenario_keys[key] = key
    if scenario_keys:
        try:
            base_scenario(str(exp.scenario)).with_overrides(
                {k: values[typed_key] for k, typed_key in scenario_keys.items()}
            )
        except OverrideError as exc:
            if exc.key in scenario_keys:
                exc = OverrideError(exc.message, key=scenario_keys[exc.key], field=exc.field)
            raise from_command_line(exc, typed) from None
    return exp


class StopRequested(KeyboardInterrupt):
    """Raised in the main thread by the first SIGINT / SIGTERM (the batch stops cleanly)."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def install_stop_handlers() -> dict[int, Any]:
    """SIGINT and SIGTERM raise :class:`StopRequested` once; later signals are ignored while the
    batch cleans up (a few seconds).  Returns the previous handlers."""
    stopping: list[int] = []

    def stop(signum: int, frame: Any) -> None:
        if stopping:
            log.warning("already stopping (%s ignored)", signal.Signals(signum).name)
            return
        stopping.append(signum)
        raise StopRequested(signum)

    return {
        s: signal.signal(s, stop)
        for s in (getattr(signal, "SIGINT", None), getattr(signal, "SIGTERM", None))
        if s is not None
    }


def resume_command(args: argparse.Namespace, out: Path) -> str:
    """The command line that resumes this batch (same experiment options, ``--resume``)."""
    parts = ["agglomeration", "batch", str(args.experiment), "--out", str(out)]
    for opt in ("replicates", "steps", "workers", "executor", "scheduler", "shard"):
        value = getattr(args, opt, None)
        if value is not None and not (opt == "executor" and value == "local"):
            parts += [f"--{opt}", str(value)]
    for item in args.set:
        parts += ["--set", item]
    return shlex.join([*parts, "--resume"])


def _set_value(value: Any) -> str:
    """``value`` as ``--set`` parses it back (TOML; a string that TOML would read as something else,
    or that is not a bare word, quoted)."""
    import json

    from agglomeration.commands.run import parse_overrides

    if isinstance(value, str):
        return value if parse_overrides([f"x={value}"])["x"] == value else json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)


def resume_command_from_manifest(manifest: Mapping[str, Any] | None, out: str | Path) -> str:
    """The command line that resumes the batch whose ``manifest.json`` is ``manifest`` (for the
    commands that read a result store: compare, plot, discover), rebuilt as :func:`resume_command`
    builds it when the batch stops: the experiment file the manifest names, and ``--replicates``,
    ``--steps`` and ``--set`` for every value the batch ran with that differs from the file (the
    command-line options it was started with).  When the file cannot be read any more, every
    recorded scenario override is given with ``--set``."""
    import json

    manifest = manifest or {}
    recorded = json.loads(json.dumps(manifest.get("experiment") or {}, default=str))
    file = manifest.get("experiment_file") or "EXPERIMENT"
    fresh: dict[str, Any] = {}
    if manifest.get("experiment_file"):
        try:
            from agglomeration.experiment.spec import load_experiment

            fresh = load_experiment(str(file)).to_dict()
        except Exception:  # a moved or edited file: give every recorded value
            fresh = {}
    options: dict[str, Any] = {"replicates": None, "steps": None}
    items: list[str] = []
    for key, value in recorded.items():
        if key in ("description", "scenario", "source_path"):  # not bound to the results
            continue
        if key in options:
            if value is not None and fresh.get(key) != value:
                options[key] = value
        elif key == "overrides" and isinstance(value, Mapping):
            base = fresh.get("overrides") or {}
            items += [
                f"{k}={_set_value(v)}" for k, v in value.items() if base.get(k, object()) != v
            ]
        elif fresh and key in fresh and fresh[key] != value and not isinstance(value, (dict, list)):
            items.append(f"{key}={_set_value(value)}")  # seed, seeding, start, model
    args = argparse.Namespace(experiment=file, set=items, **options)
    return resume_command(args, Path(out))


def main(args: argparse.Namespace) -> int:
    """Run the batch; print a summary line; exit 1 if any run failed."""
    from agglomeration.commands.run import split_overrides
    from agglomeration.errors import InputError
    from agglomeration.experiment.runner import BatchInterrupted, run_experiment

    for opt, low in (("replicates", 1), ("steps", 0)):
        value = getattr(args, opt)
        if value is not None and value < low:
            raise InputError(
                f"expected an integer greater than or equal to {low}, got {value}", field=f"--{opt}"
            )
    options = {"replicates": args.replicates, "steps": args.steps}
    exp = load_with_set(args.experiment, args.set, **options)
    out = Path(args.out) if args.out is not None else Path("results") / exp.name

    def each(res: dict[str, Any]) -> None:
        if args.no_progress:
            what = f"variant {res.get('variant')}"
            if res.get("point") not in (None, 0):
                what += f", design point {res['point']}"
            msg = f"{res['run_id']} {what}, replicate {res.get('replicate')}: {res['status']}"
            if res.get("error"):
                msg += f": {res['error']}"
            log.info(msg)

    previous = install_stop_handlers()
    try:
        try:
            summary = run_experiment(
                exp,
                out,
                workers=args.workers,
                executor=args.executor,
                scheduler=args.scheduler,
                resume=args.resume,
                shard=args.shard,
                progress=not (args.no_progress or getattr(args, "quiet", False)),
                on_result=each,
            )
        except InputError as exc:  # e.g. firm snapshot steps from --set outside the runs' steps
            raise blame_command_line(exc, split_overrides(args.set), options) from None
    except BatchInterrupted as stop:
        s = stop.summary
        name = signal.Signals(stop.signum).name
        print(
            f"{exp.name}: stopped by {name} after {s.wall_time_s:.1f} s: {s.done} ok, {s.failed} failed "
            f"in this session, {len(s.interrupted_ids)} in flight recorded as interrupted; finished "
            f"runs are kept in {s.out}.\nResume with:\n  {resume_command(args, s.out)}",
            file=sys.stderr,
        )
        return 128 + int(stop.signum)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    rate = summary.runs_per_minute
    print(
        f"{exp.name}: {summary.done} ok, {summary.failed} failed, {summary.skipped} already done "
        f"(of {summary.selected} selected / {summary.planned} planned) in {summary.wall_time_s:.1f} s"
        + (f" ({rate:.1f} runs/min)" if rate == rate and summary.done + summary.failed else "")
        + f"; results in {summary.out}"
    )
    if not summary.complete:
        print(
            "incomplete (other shards, or runs not yet finished); resume with:\n  "
            + resume_command(args, summary.out)
        )
    if summary.failed:
        print(
            f"failed runs: {', '.join(summary.failed_ids[:10])}"
            + (" ..." if summary.failed > 10 else "")
        )
    return 1 if summary.failed else 0
