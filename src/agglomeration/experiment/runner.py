"""Running an experiment: plan the runs, execute them on an Executor, stream results to the store.

:func:`run_experiment` is the engine behind ``agglomeration batch``:

1. **Plan** (in the parent, before anything runs): every variant x design point x replicate is resolved
   to a Scenario (so invalid overrides stop the batch before it starts), a replicate seed
   (:mod:`.seeds`) and a stable run id.  Runs are executed breadth-first over replicates, so an
   interrupted batch leaves a balanced sample.
2. **Store check**: a directory written by a different experiment is refused (ResultStoreError, exit
   2); finished runs (readable parts, status ok) are skipped; failed, missing and corrupt runs are redone.
3. **Execute** on any :class:`concurrent.futures.Executor`: ``local`` = ProcessPoolExecutor with an
   explicit start method (``forkserver`` where available, else ``spawn``; mesa 3.3 forces ``spawn``
   globally at import, so never rely on the default), ``dask`` = ``distributed.Client.get_executor``
   on a scheduler address or a LocalCluster bound to 127.0.0.1.  One model per task; the *worker*
   writes the run's parts; the parent only receives a small status dict and keeps a bounded number of
   futures in flight, so its memory does not grow with the number of runs.
4. **Failures**: an exception inside a run is recorded (status ``failed``, error, traceback) and the batch
   goes on.  A worker process that dies (``BrokenProcessPool``) takes down the runs in flight with it;
   those are retried one at a time in a fresh pool, and a run that kills its worker on its own is
   recorded as failed.
5. At the end, if every planned run has finished, the consolidated ``tables/`` are written.
"""

from __future__ import annotations

import concurrent.futures as cf
import difflib
import logging
import os
import signal
import time
import traceback
from collections import deque
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from agglomeration.errors import InputError, OverrideError, ResultStoreError, describe_os_error
from agglomeration.experiment.design import MAX_DESIGN_POINTS, Design, build_design, design_size
from agglomeration.experiment.execute import (
    VOLATILE_COLUMNS,
    RunTask,
    base_scenario,
    execute_run,
    execute_runs,
    record_status,
    resolve_model_class,
)
from agglomeration.experiment.pools import (
    DaskPool,
    ExternalPool,
    LocalPool,
    SharedPool,
    check_executor,
    check_workers,
    default_workers,
    interrupts_ignored,
)
from agglomeration.experiment.seeds import replicate_seed, run_id
from agglomeration.experiment.spec import Experiment, load_experiment
from agglomeration.experiment.store import (
    FORMAT,
    ResultStore,
    describe_changes,
    environment_info,
    stored_model_revision,
    utc_now,
)

__all__ = [
    "VOLATILE_COLUMNS",
    "BatchInterrupted",
    "BatchSummary",
    "RunTask",
    "execute_run",
    "parse_shard",
    "plan_runs",
    "resolve_model_class",
    "run_experiment",
    "validate_experiment",
]

log = logging.getLogger(__name__)

#: most runs (variants x design points x replicates) one experiment may plan
MAX_RUNS = 1_000_000


# ------------------------------------------------------------------------------------------------
# plan
# ------------------------------------------------------------------------------------------------
@dataclass
class Plan:
    """The planned runs: ``rows`` (plan table, one row per variant x point x replicate) and ``tasks``
    (one per unique run id, in execution order)."""

    rows: pd.DataFrame
    tasks: list[RunTask]
    design: Design
    base_fingerprint: str = ""


def _check_size(exp: Experiment, file: str | None) -> None:
    """Bounds on the batch size, checked before anything is sampled or resolved."""
    points = design_size(exp.design)
    if points > MAX_DESIGN_POINTS:
        raise InputError(
            f"the {exp.design.kind} design has {points:,} points; expected at most "  # type: ignore[union-attr]
            f"{MAX_DESIGN_POINTS:,} (lower `samples`, or split the study into several experiments)",
            file=file,
            field="design.samples" if exp.design.kind != "grid" else "design.parameters",  # type: ignore[union-attr]
        )
    runs = len(exp.all_variants()) * points * exp.replicates
    if runs > MAX_RUNS:
        raise InputError(
            f"{len(exp.all_variants())} variant(s) x {points:,} design point(s) x {exp.replicates:,} "
            f"replicate(s) = {runs:,} runs; expected at most {MAX_RUNS:,}",
            file=file,
            field="replicates",
        )


def start_key(fingerprint: str, reference_fingerprint: str | None) -> str:
    """What a run id is formed from: the scenario's fingerprint, with the fingerprint of the scenario
    whose settled start the run continues (None: its own start), so a run from a shared start and
    the same scenario run on its own never share an id."""
    if reference_fingerprint is None:
        return fingerprint
    return f"{fingerprint}|start:{reference_fingerprint}"


def shared_start(exp: Experiment, params: list[str]) -> bool:
    """Whether the runs of ``exp`` start from the settled state of its reference (the base scenario with
    the experiment's overrides): ``start = "shared"``, or ``"auto"`` when every path a variant or the
    design sets is a declared policy or logistics lever (they leave the initial economy alone; a
    variant that changes behaviour or data calibrates its own start)."""
    if exp.start != "auto":
        return exp.start == "shared"
    from agglomeration.levers import is_lever

    paths = {p for v in exp.all_variants() for p in v.overrides} | set(params)
    return all(is_lever(p) for p in paths)


def _blame_point(
    exc: InputError, exp: Any, variant: str, p: int, point: dict[str, Any], file: Any
) -> InputError:
    """An invalid scenario of one planned run, named where the user wrote the bad value: a design
    parameter's value (``design.parameters."KEY"``, the point and the value; the variant only when
    the experiment names its variants) or else the variant."""
    key = exc.field if isinstance(exc.field, str) else None
    named = bool(exp.variants)
    if key in point:
        where = f"design point {p}: {key} = {point[key]!r}"
        if named:
            where = f"variant {variant!r}, {where}"
        message = exc.message.removeprefix(f"{key}: ")
        return InputError(f"{where}: {message}", file=file, field=f'design.parameters."{key}"')
    where = f"variant {variant!r}" + (f", design point {p}" if point else "")
    return InputError(f"{where}: {exc}", file=file, field=f"variants.{variant}")


def plan_runs(exp: Experiment, out: str | Path = ".") -> Plan:
    """Resolve every run of ``exp`` (raises InputError on any invalid variant or design point)."""
    file = str(exp.source_path) if exp.source_path else None
    _check_size(exp, file)
    design = build_design(exp.design, exp.seed)
    model_ref = exp.model_ref
    resolve_model_class(model_ref)
    base = base_scenario(str(exp.scenario))
    params = list(design.points.columns)
    rows: list[dict[str, Any]] = []
    tasks: dict[str, tuple[tuple[int, int, int], RunTask]] = {}
    owner: dict[str, str] = {}
    output = exp.output.model_dump()
    output["reporters"] = _reporter_refs(exp)
    shared = shared_start(exp, params)
    try:
        ref_scen = base.with_overrides(exp.overrides) if exp.overrides else base
    except OverrideError as exc:  # a value of [overrides]: named in the experiment file
        raise InputError(exc.message, file=file, field=f"overrides.{exc.field}") from None
    ref_fp = ref_scen.fingerprint()
    ref_slots = ref_scen.behaviour.sourcing.max_suppliers
    for vi, variant in enumerate(exp.all_variants()):
        merged_v = {**exp.overrides, **variant.overrides}
        for p in range(len(design)):
            point = design.overrides(p)
            overrides = {**merged_v, **point}
            try:
                scen = base.with_overrides(overrides) if overrides else base
            except InputError as exc:
                raise _blame_point(exc, exp, variant.name, p, point, file) from None
            if shared and scen.behaviour.sourcing.max_suppliers != ref_slots:
                raise InputError(
                    f"variant {variant.name!r} changes behaviour.sourcing.max_suppliers, which is "
                    "set when the firms are built: runs from a shared start keep the reference's "
                    'supplier slots (set start = "own")',
                    file=file,
                    field=f"variants.{variant.name}",
                )
            fp = scen.fingerprint()
            steps = int(exp.steps if exp.steps is not None else scen.steps)
            # a run that is its own reference starts as it would on its own
            reference = dict(exp.overrides) if shared and fp != ref_fp else None
            key = start_key(fp, None if reference is None else ref_fp)
            for r in range(exp.replicates):
                rs = replicate_seed(exp.seed, r, seeding=exp.seeding, point=overrides)
                rid = run_id(key, rs.seed, steps, model_ref)
                if rid in owner and owner[rid] != variant.name:
                    raise InputError(
                        f"variants {owner[rid]!r} and {variant.name!r} resolve to the same scenario "
                        "(identical runs); remove one or change its overrides",
                        file=file,
                        field="variants",
                    )
                owner[rid] = variant.name
                meta = {"variant": variant.name, "point": p, **point, "replicate": r}
                rows.append(
                    {
                        **meta,
                        "run_id": rid,
                        "seed": rs.seed,
                        "seed_spawn_key": list(rs.spawn_key),
                        "steps": steps,
                    }
                )
                if rid not in tasks:
                    task = RunTask(
                        run_id=rid,
                        out=str(out),
                        scenario_path=str(exp.scenario),
                        overrides=overrides,
                        scenario_fingerprint=fp,
                        seed=rs.seed,
                        steps=steps,
                        model=model_ref,
                        output=output,
                        reference_overrides=reference,
                        start=ref_fp if reference is not None else fp,
                        meta={
                            **meta,
                            "seed_entropy": rs.entropy,
                            "seed_spawn_key": str(rs.spawn_key),
                        },
                    )
                    tasks[rid] = ((r, vi, p), task)
    ordered = [t for _, t in sorted(tasks.values(), key=lambda kt: kt[0])]
    late = [
        s for s in exp.output.firms_at if any(not -t.steps - 1 <= s <= t.steps for t in ordered)
    ]
    if late:
        raise InputError(
            f"firm snapshot steps {late} are outside 0..steps (or -steps-1..-1) of some runs",
            file=file,
            field="output.firms_at",
        )
    if ordered and (exp.output.metrics is not None or exp.output.series_metrics is not None):
        _preflight_outputs(exp, base, ordered[0], file)
    _preflight_reporters(exp, base, ordered, file)
    return Plan(
        rows=pd.DataFrame(rows), tasks=ordered, design=design, base_fingerprint=base.fingerprint()
    )


def _preflight_outputs(exp: Experiment, base: Any, task: RunTask, file: str | None) -> None:
    """Check ``output.metrics`` / ``output.series_metrics`` names on one model before the batch starts
    (a misspelt metric would otherwise fail every run)."""
    cls = resolve_model_class(task.model)
    scen = base.with_overrides(task.overrides) if task.overrides else base
    model = cls(scen, replicate_seed=task.seed)
    checks = (
        ("metrics", exp.output.metrics, lambda: list(model.headline_metrics())),
        ("series_metrics", exp.output.series_metrics, lambda: list(model.series_frame().columns)),
    )
    for name, wanted, available in checks:
        if wanted is None:
            continue
        have = available()
        for m in wanted:
            if m not in have:
                close = difflib.get_close_matches(m, have, n=1)
                hint = (
                    f"; did you mean {close[0]!r}?" if close else f"; available: {', '.join(have)}"
                )
                raise InputError(f"unknown metric {m!r}{hint}", file=file, field=f"output.{name}")


def _reporter_refs(exp: Experiment) -> dict[str, str]:
    """Reporter name -> "module:function" (passed to the workers with the outputs to keep)."""
    return {name: r.function for name, r in exp.reporters.items()}


#: runs whose initial state the reporters' check tries before it only imports them
PREFLIGHT_TRIES = 3


def _preflight_reporters(
    exp: Experiment, base: Any, tasks: list[RunTask], file: str | None
) -> None:
    """Import and evaluate the experiment's reporters on the first run's initial state (the first
    run whose economy does not run away at initialisation: that run fails on its own, recorded, and
    the batch goes on, as without reporters)."""
    from agglomeration.errors import DivergedError
    from agglomeration.experiment.reporters import check_reporters, load_reporter

    if not (tasks and exp.reporters):
        return
    for task in tasks[:PREFLIGHT_TRIES]:
        cls = resolve_model_class(task.model)
        scen = base.with_overrides(task.overrides) if task.overrides else base
        try:
            model = cls(scen, replicate_seed=task.seed)
        except DivergedError:
            continue
        check_reporters(task.output["reporters"], model, file)
        return
    for name, ref in exp.reporters.items():  # no initial state to evaluate them on: import only
        try:
            load_reporter(ref.function)
        except InputError as exc:
            raise InputError(exc.message, file=file, field=f"reporters.{name}") from None


def validate_experiment(exp: Experiment, out: str | Path = ".") -> Plan:
    """Every check ``agglomeration batch`` makes before its first run, and nothing else: the plan
    (sizes, overrides of every variant and design point, identical variants, snapshot steps, metric
    names, reporters evaluated on the first run's initial state) and the world (logistics network, data) of every variant and of each design parameter at
    its extremes.  ``agglomeration validate`` runs exactly this, so the two always agree."""
    from agglomeration.world import build_world

    file = str(exp.source_path) if exp.source_path else None
    plan = plan_runs(exp, out)
    base = base_scenario(str(exp.scenario))
    for variant in exp.all_variants():
        overrides = {**exp.overrides, **variant.overrides}
        try:
            build_world(base.with_overrides(overrides) if overrides else base)
        except InputError as err:
            raise InputError(
                f"variant {variant.name!r}: {err}", file=file, field=f"variants.{variant.name}"
            ) from None
    if exp.design is not None:  # each design parameter must be a valid scenario path at its levels
        for pname, par in exp.design.parameters.items():
            for value in _extreme_levels(par, plan.design.points.get(pname)):
                try:
                    build_world(base.with_overrides({**exp.overrides, pname: value}))
                except InputError as err:
                    raise InputError(
                        f"design parameter {pname!r} = {value!r}: {err}",
                        file=file,
                        field=f"design.parameters.{pname}",
                    ) from None
    return plan


def _extreme_levels(par: Any, sampled: pd.Series | None = None) -> list[Any]:
    """The levels of a design parameter at which the world is built before a batch: a grid's values,
    a uniform range's ends, and the smallest and largest value sampled from a normal or lognormal
    distribution (whose ``bounds`` are ``[mean, sd]``, of the log for a lognormal: not values of the
    parameter)."""
    if par.values is not None:
        levels = list(par.values)
    elif par.distribution == "uniform" and par.bounds is not None:
        levels = list(par.bounds)
    elif sampled is not None and len(sampled):
        levels = sorted({float(sampled.min()), float(sampled.max())})
    elif par.bounds is not None:  # no points sampled: the distribution's centre
        mean = float(par.bounds[0])
        levels = [float(np.exp(mean)) if par.distribution == "lognormal" else mean]
    else:
        levels = []
    return [round(v) if par.integer and isinstance(v, float) else v for v in levels]


# ------------------------------------------------------------------------------------------------
# the batch
# ------------------------------------------------------------------------------------------------
@dataclass
class BatchSummary:
    """What a batch did.  ``planned`` counts unique runs of the experiment; ``skipped`` were already
    finished; ``done``/``failed`` ran in this invocation; ``complete`` is True when every planned run
    (all shards) has a result."""

    out: Path
    planned: int
    selected: int
    skipped: int
    done: int = 0
    failed: int = 0
    crashed_workers: int = 0
    wall_time_s: float = 0.0
    complete: bool = False
    failed_ids: list[str] = field(default_factory=list)
    interrupted: bool = False
    interrupted_ids: list[str] = field(default_factory=list)

    @property
    def runs_per_minute(self) -> float:
        ran = self.done + self.failed
        return 60.0 * ran / self.wall_time_s if self.wall_time_s > 0 else float("nan")

    def as_dict(self) -> dict[str, Any]:
        d = {k: (str(v) if isinstance(v, Path) else v) for k, v in self.__dict__.items()}
        d["runs_per_minute"] = self.runs_per_minute
        return d


class BatchInterrupted(KeyboardInterrupt):
    """A batch stopped by Ctrl-C or a stop signal; ``summary`` says what was done before the stop
    (finished runs are kept; the runs in flight were recorded as ``interrupted``).  ``signum`` is
    the signal that stopped it (SIGINT for a plain KeyboardInterrupt)."""

    def __init__(self, summary: BatchSummary, signum: int):
        super().__init__(f"batch interrupted by signal {signum}")
        self.summary = summary
        self.signum = signum


def parse_shard(shard: str | tuple[int, int] | None) -> tuple[int, int] | None:
    """``"i/N"`` (0 <= i < N) -> (i, N)."""
    if shard is None:
        return None
    if isinstance(shard, str):
        try:
            i_s, n_s = shard.split("/")
            shard = (int(i_s), int(n_s))
        except ValueError:
            raise InputError(
                f"expected 'i/N' with integers, got {shard!r}", field="shard"
            ) from None
    i, n = shard
    if not (n >= 1 and 0 <= i < n):
        raise InputError(f"expected 0 <= i < N, got {i}/{n}", field="shard")
    return int(i), int(n)


def in_shard(rid: str, shard: tuple[int, int] | None) -> bool:
    """Deterministic shard of a run (hash of its id, so it does not move when runs are added)."""
    return shard is None or int(rid, 16) % shard[1] == shard[0]


def _required_tables(exp: Experiment) -> list[str]:
    o = exp.output
    return [
        t
        for t, on in (
            ("series", o.series),
            ("regions", o.regions),
            ("links", o.links),
            ("firms", bool(o.firms_at)),
        )
        if on
    ]


def _check_out_dir(store: ResultStore, exp: Experiment, plan: Plan, resume: bool) -> None:
    """Refuse an ``--out`` that cannot be a result directory, before anything is written."""
    root = store.root
    if root.is_symlink() and not root.exists():
        raise ResultStoreError(
            "expected a result directory, got a dangling symbolic link",
            file=str(root),
            field="--out",
        )
    if root.exists() and not root.is_dir():
        raise ResultStoreError(
            "expected a result directory, got an existing file", file=str(root), field="--out"
        )
    manifest = store.read_manifest()
    if manifest is None:
        if resume:
            raise ResultStoreError(
                "nothing to resume: no manifest.json in this directory", file=str(root)
            )
        if root.exists() and any(root.iterdir()):
            raise ResultStoreError(
                "the output directory exists, is not empty and is not a result directory; choose a new --out",
                file=str(root),
            )
    elif manifest.get("kind") == "run":
        raise ResultStoreError(
            "this directory holds the output of `agglomeration run`, not of a batch; choose a new --out",
            file=str(root),
            field="--out",
        )
    else:
        _check_resumable(store, manifest, exp, plan)  # before the lock file is touched
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # a parent is a file, does not allow directories, or is not writable
        raise ResultStoreError(
            f"cannot create the result directory: {exc.strerror or exc}",
            file=str(root),
            field="--out",
        ) from None
    if not os.access(root, os.W_OK | os.X_OK):
        raise ResultStoreError(
            "the result directory is not writable", file=str(root), field="--out"
        )


def _same_resolved_runs(
    store: ResultStore, manifest: dict[str, Any], exp: Experiment, plan: Plan
) -> bool:
    """The experiment differs from the manifest's only in how its values are written (``300`` vs
    ``300.0``): the identities compare equal value by value and every run already planned here
    resolves to the same run id (run ids hash the resolved scenario and seed)."""
    old_identity = manifest.get("identity")
    if not isinstance(old_identity, dict) or old_identity != exp.identity():
        return False
    old_plan = store.read_frame("plan")
    if old_plan is None:
        return False
    return set(old_plan["run_id"]) <= {t.run_id for t in plan.tasks}


def _check_resumable(
    store: ResultStore, manifest: dict[str, Any], exp: Experiment, plan: Plan
) -> None:
    """A directory written by a different experiment (or base scenario, or model revision) is
    refused."""
    from agglomeration import MODEL_REVISION

    stored = stored_model_revision(manifest)
    if stored != MODEL_REVISION:
        git = (manifest.get("environment") or {}).get("git_revision")
        at = f" (git revision {git})" if git else ""
        raise ResultStoreError(
            f"these results were computed by model revision {stored} and this package computes "
            f"revision {MODEL_REVISION} (a change of the model moved its results: CHANGELOG.md), so "
            "finished runs cannot be reused, and the store cannot be completed or repaired by this "
            "package. Use a new --out directory, or the package the manifest records"
            f"{at}",
            file=str(store.root),
        )
    if manifest.get("fingerprint") != exp.fingerprint() and not _same_resolved_runs(
        store, manifest, exp, plan
    ):
        changes = describe_changes(manifest.get("identity", {}), exp.identity())
        changes = changes or "experiment fingerprint " + (
            f"{str(manifest.get('fingerprint'))[:12]} -> {exp.fingerprint()[:12]}"
        )
        raise ResultStoreError(
            "the experiment changed since these results were written, so they cannot be resumed "
            f"into this directory ({changes}). Use a new --out directory, or restore the experiment",
            file=str(store.root),
        )
    old_base = manifest.get("base_scenario_fingerprint")
    if old_base and old_base != plan.base_fingerprint:
        raise ResultStoreError(
            "the base scenario resolves differently than when these results were written (its "
            "scenario or data files, or the package's code/defaults changed: scenario fingerprint "
            f"{old_base[:12]} -> {plan.base_fingerprint[:12]}), so finished runs cannot be reused. "
            "Use a new --out directory, or restore the files / package version in the manifest",
            file=str(store.root),
        )
    old_plan = store.read_frame("plan")
    if old_plan is not None:
        dropped = set(old_plan["run_id"]) - {t.run_id for t in plan.tasks}
        if dropped:
            raise ResultStoreError(
                f"this experiment would drop {len(dropped)} of the {old_plan['run_id'].nunique()} runs "
                "already planned in this directory (fewer replicates, or a design whose points "
                "changed, e.g. a new lhs sample size). Only additions (more replicates, more grid "
                "values, a larger Sobol/Morris sample) can be resumed; use a new --out directory",
                file=str(store.root),
            )


def _data_metric_entries(exp: Experiment) -> dict[str, dict[str, Any]]:
    """Registry entries of the metrics whose names depend on the base scenario's data (the logistics
    outcomes), recorded in the manifest so tables and figures label them by name."""
    from agglomeration.metrics.registry import manifest_entries, world_entries
    from agglomeration.world import build_world

    return manifest_entries(world_entries(build_world(base_scenario(str(exp.scenario)))))


def _prepare_store(store: ResultStore, exp: Experiment, plan: Plan) -> dict[str, Any]:
    """Check (resume) or start the store's manifest, plan and design; returns the manifest.  Called
    with the writer lock held, after :func:`_check_out_dir`."""
    manifest = store.read_manifest()
    if manifest is None:
        manifest = {"format": FORMAT, "created_at": utc_now()}
    else:
        _check_resumable(store, manifest, exp, plan)
    manifest.update(
        {
            "format": FORMAT,
            "kind": "batch",
            "experiment": exp.to_dict(),
            "experiment_file": str(exp.source_path) if exp.source_path else None,
            "fingerprint": exp.fingerprint(),
            "identity": exp.identity(),
            "base_scenario_fingerprint": plan.base_fingerprint,
            "start": "shared"
            if any(t.reference_overrides is not None for t in plan.tasks)
            else "own",
            "design": plan.design.manifest_entry(),
            "model": exp.model_ref,
            "n_runs": len(plan.tasks),
            "n_plan_rows": len(plan.rows),
            "required_tables": _required_tables(exp),
            "metrics": _data_metric_entries(exp),
            "environment": environment_info(),
            "started_at": utc_now(),
            "finished_at": None,
            "status": "running",
        }
    )
    store.clear_completion()  # the store is about to change
    store.write_manifest(manifest)
    design = plan.design.points.reset_index()
    store.write_frame("design", design)
    rows = plan.rows.copy()
    rows["seed_spawn_key"] = rows["seed_spawn_key"].map(str)
    store.write_frame("plan", rows)
    return manifest


def _progress(total: int, enabled: bool) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="run", disable=not enabled, dynamic_ncols=True, smoothing=0.1)


def _resolved_out(out: str | Path) -> Path:
    """``out`` as an absolute path; InputError for a NUL byte, a symlink loop or an over-long name."""
    try:
        path = Path(out).resolve()
        path.exists()  # raises for a name that is too long
        return path
    except (OSError, RuntimeError, ValueError) as exc:  # RuntimeError: symlink loop (Python < 3.13)
        raise ResultStoreError(
            f"not a usable directory path ({describe_os_error(exc)})", file=out, field="--out"
        ) from None


def run_experiment(
    experiment_or_path: Experiment | str | Path,
    out: str | Path,
    workers: int | None = None,
    executor: str | cf.Executor | SharedPool = "local",
    scheduler: str | None = None,
    resume: bool = False,
    shard: str | tuple[int, int] | None = None,
    progress: bool = True,
    *,
    start_method: str | None = None,
    max_in_flight: int | None = None,
    on_result: Callable[[dict[str, Any]], None] | None = None,
) -> BatchSummary:
    """Run (or resume) an experiment into the result directory ``out``.

    Parameters
    ----------
    experiment_or_path: an :class:`Experiment` or the path of an experiment TOML file.
    out: result directory (created); rerunning into it runs only missing/failed runs.
    workers: worker processes (default: CPUs available).  ``executor="dask"`` without ``scheduler``
        starts a LocalCluster with this many single-threaded workers.
    executor: ``"local"`` (process pool), ``"dask"``, ``"serial"`` (in this process; for debugging),
        any :class:`concurrent.futures.Executor` instance (it must run tasks where ``out`` is visible),
        or a :class:`~agglomeration.experiment.pools.SharedPool` kept open across batches.
    scheduler: dask scheduler address (``tcp://host:8786``).
    resume: require an existing result directory (an error if there is none).
    shard: ``"i/N"``: run only runs whose id hashes to shard i (job arrays).
    progress: show a tqdm bar (runs done, failed, ETA) on stderr.
    start_method: ``forkserver``/``spawn`` for the local pool (default: forkserver where available).
    max_in_flight: bound on submitted-but-unfinished runs (default 2 x workers).
    on_result: called in the parent with each run's small status dict (run id, status, error) and
        its variant, design point and replicate.

    Returns a :class:`BatchSummary`.  Raises InputError / ResultStoreError before any run starts;
    ResultStoreError too when another process is writing into ``out`` (the store is locked).  A
    KeyboardInterrupt (Ctrl-C, or SIGTERM turned into one by ``agglomeration batch``) stops the
    worker processes at once, records the runs in flight as ``interrupted`` and is re-raised.
    """
    exp = (
        experiment_or_path
        if isinstance(experiment_or_path, Experiment)
        else load_experiment(experiment_or_path)
    )
    shard_t = parse_shard(shard)
    check_workers(workers)
    check_executor(executor, scheduler)
    out_abs = _resolved_out(out)
    store = ResultStore(out_abs)
    plan = validate_experiment(exp, out_abs)
    pool = DaskPool(1, scheduler) if executor == "dask" and scheduler else None
    try:
        _check_out_dir(store, exp, plan, resume)
        with store.lock(shard_t):
            manifest = _prepare_store(store, exp, plan)
            return _run_locked(
                store, exp, plan, manifest, shard_t, executor, workers, scheduler, pool,
                start_method, max_in_flight, progress, on_result,
            )  # fmt: skip
    finally:
        if pool is not None:
            pool.close(wait=False)


def _run_locked(
    store: ResultStore,
    exp: Experiment,
    plan: Plan,
    manifest: dict[str, Any],
    shard_t: tuple[int, int] | None,
    executor: str | cf.Executor | SharedPool,
    workers: int | None,
    scheduler: str | None,
    pool: Any,
    start_method: str | None,
    max_in_flight: int | None,
    progress: bool,
    on_result: Callable[[dict[str, Any]], None] | None,
) -> BatchSummary:
    store.clean_temp_files()
    required = _required_tables(exp)
    status = store.scan([t.run_id for t in plan.tasks], required)
    selected = [t for t in plan.tasks if in_shard(t.run_id, shard_t)]
    todo = [t for t in selected if status[t.run_id] != "ok"]
    summary = BatchSummary(
        out=store.root,
        planned=len(plan.tasks),
        selected=len(selected),
        skipped=len(selected) - len(todo),
    )
    log.info(
        "%s: %d runs planned, %d selected, %d already done, %d to run",
        exp.name, summary.planned, summary.selected, summary.skipped, len(todo),
    )  # fmt: skip
    t0 = time.perf_counter()
    session = {
        "started_at": utc_now(),
        "shard": shard_t,
        "executor": str(executor),
        "workers": workers,
        "to_run": len(todo),
    }

    meta = {t.run_id: t.meta for t in todo}  # variant, point, replicate: on_result names the run

    def track(res: dict[str, Any]) -> None:  # what this session did, for a stop without a rescan
        status[res["run_id"]] = res["status"]
        if on_result is not None:
            on_result({**meta.get(res["run_id"], {}), **res})

    try:
        if todo:
            if pool is None:
                pool = _make_pool(executor, workers, scheduler, start_method)
            _execute(todo, summary, pool, store, max_in_flight, progress, track)
    except KeyboardInterrupt as exc:
        summary.interrupted = True
        raise BatchInterrupted(summary, getattr(exc, "signum", signal.SIGINT)) from None
    finally:
        summary.wall_time_s = time.perf_counter() - t0
        if summary.interrupted:  # stopping: no rescan of the store, no second interrupt
            status.update(dict.fromkeys(summary.interrupted_ids, "interrupted"))
            with interrupts_ignored():
                _finish(store, plan, required, shard_t, summary, session, manifest, status)
        else:
            _finish(store, plan, required, shard_t, summary, session, manifest)
    return summary


def _finish(
    store: ResultStore,
    plan: Plan,
    required: list[str],
    shard_t: tuple[int, int] | None,
    summary: BatchSummary,
    session: dict[str, Any],
    manifest: dict[str, Any],
    known: dict[str, str] | None = None,
) -> None:
    """Record the session and the manifest status; consolidate and mark complete when every planned
    run has finished.  ``known``: the run statuses when they need no rescan (a stop)."""
    final = known if known is not None else store.scan([t.run_id for t in plan.tasks], required)
    summary.complete = all(s in ("ok", "failed") for s in final.values())
    session.update(summary.as_dict(), finished_at=utc_now())
    store.write_session(session)
    n_ok = sum(s == "ok" for s in final.values())
    if shard_t is None or summary.complete:
        manifest = store.read_manifest() or manifest
        manifest["finished_at"] = utc_now()
        if n_ok == len(final):
            state = "complete"
        elif summary.complete:
            state = "finished_with_failures"
        else:
            state = "interrupted" if summary.interrupted else "incomplete"
        manifest["status"] = state
        manifest["counts"] = {
            "ok": n_ok,
            "failed": sum(s == "failed" for s in final.values()),
            "interrupted": sum(s == "interrupted" for s in final.values()),
            "planned": len(final),
        }
        store.write_manifest(manifest)
    if summary.complete:
        store.consolidate()
        files = [f"tables/{p.name}" for p in sorted((store.root / "tables").glob("*.parquet"))]
        files += ["manifest.json", "plan.parquet", "design.parquet"]
        store.write_completion("batch", manifest.get("status", "complete"), files)


def _make_pool(
    executor: str | cf.Executor | SharedPool,
    workers: int | None,
    scheduler: str | None,
    start_method: str | None,
) -> Any:
    n_workers = workers or default_workers()
    if isinstance(executor, SharedPool):
        return executor
    if isinstance(executor, cf.Executor):
        return ExternalPool(executor, n_workers)
    if executor == "serial":
        return None
    if executor == "dask":
        return DaskPool(n_workers, scheduler)
    return LocalPool(n_workers, start_method)


def _execute(
    todo: list[RunTask],
    summary: BatchSummary,
    pool: Any,
    store: ResultStore,
    max_in_flight: int | None,
    progress: bool,
    on_result: Callable[[dict[str, Any]], None] | None,
) -> None:
    bar = _progress(len(todo), progress)

    def record(res: dict[str, Any]) -> None:
        if res["status"] == "ok":
            summary.done += 1
        else:
            summary.failed += 1
            summary.failed_ids.append(res["run_id"])
            log.warning("run %s failed: %s", res["run_id"], res.get("error"))
        log.debug("run %s %s", res["run_id"], res["status"])
        bar.update(1)
        bar.set_postfix(done=summary.done, failed=summary.failed, refresh=False)
        if on_result is not None:
            on_result(res)

    try:
        if pool is None:
            _execute_serial(todo, summary, store, record)
        else:
            _Execution(todo, summary, pool, store, max_in_flight, record).run()
    finally:
        bar.close()


def _execute_serial(
    todo: list[RunTask], summary: BatchSummary, store: ResultStore, record: Callable
) -> None:
    task = None
    since = time.time()
    try:
        for task in todo:
            record(execute_run(task))
    except KeyboardInterrupt:
        with interrupts_ignored():
            if task is not None:
                _record_interrupted(store, [task], summary, record, since)
        raise


def _finished_row(store: ResultStore, task: RunTask) -> dict[str, Any] | None:
    """The run's row when the store holds it as finished (ok or failed), else None."""
    row = store.read_run_row(task.run_id)
    return row if row is not None and row.get("status") in ("ok", "failed") else None


def _written_since(store: ResultStore, task: RunTask, since: float) -> bool:
    """Whether the run's runs part was written at or after ``since`` (a ``time.time()``): by this
    session, not left by an earlier one."""
    try:
        return store.part_path("runs", task.run_id).stat().st_mtime >= since
    except OSError:
        return False


def _record_interrupted(
    store: ResultStore,
    tasks: list[RunTask],
    summary: BatchSummary,
    record: Callable[[dict[str, Any]], None] | None = None,
    since: float | None = None,
) -> None:
    """Runs stopped half-way: recorded as ``interrupted`` (redone on resume) unless they finished.
    A run that finished in this session (its runs part written after ``since``, a ``time.time()``)
    but whose result was not collected before the stop (a Dask worker writes its parts itself) is
    passed to ``record``, so the summary counts what is on disk."""
    for task in tasks:
        row = _finished_row(store, task)
        if row is not None:
            if record is not None and since is not None and _written_since(store, task, since):
                record({**row, "run_id": task.run_id})  # not a failure of an earlier session
            continue
        record_status(
            store,
            task,
            "interrupted",
            "interrupted (the batch was stopped while this run was in flight)",
        )
        summary.interrupted_ids.append(task.run_id)
    if summary.interrupted_ids:
        log.warning(
            "stopped: %d run(s) in flight recorded as interrupted (redone on resume)",
            len(summary.interrupted_ids),
        )


def start_groups(tasks: list[RunTask], capacity: int) -> list[list[RunTask]]:
    """``tasks`` in chunks that one worker runs one after another: the runs that continue one
    settled start with one seed and model (the variants of a replicate that only move levers) go
    together, so the start is settled once instead of once per worker that happens to get one of
    them (a pool has no affinity).  The largest chunks are halved until there are at least 2 x
    ``capacity`` chunks (or every chunk is one run), so grouping never leaves a worker idle.  Order
    is kept: chunks in the order of their first run, runs in plan order within a chunk."""
    groups: dict[tuple, list[RunTask]] = {}
    for k, task in enumerate(tasks):
        key = (task.model, task.seed, task.scenario_path, task.start) if task.start else (k,)
        groups.setdefault(key, []).append(task)
    chunks = list(groups.values())
    while len(chunks) < 2 * max(capacity, 1):
        big = max(range(len(chunks)), key=lambda i: len(chunks[i]), default=None)
        if big is None or len(chunks[big]) <= 1:
            break
        chunk = chunks[big]
        half = (len(chunk) + 1) // 2
        chunks[big : big + 1] = [chunk[:half], chunk[half:]]
    return chunks


class _Execution:
    """The submit / collect loop over a pool, with retries of runs whose worker process died.  A
    submission is a chunk of runs (:func:`start_groups`); a run retried after its worker died goes
    alone."""

    def __init__(
        self,
        todo: list[RunTask],
        summary: BatchSummary,
        pool: Any,
        store: ResultStore,
        max_in_flight: int | None,
        record: Callable[[dict[str, Any]], None],
    ):
        self.summary, self.pool, self.store, self.record = summary, pool, store, record
        self.follow = max_in_flight is None  # a dask / jobqueue cluster grows after the start
        self.limit = max_in_flight or 2 * pool.capacity()
        self.checked = time.monotonic()
        self.queue: deque[list[RunTask]] = deque(start_groups(todo, pool.capacity()))
        self.suspects: deque[RunTask] = deque()  # in flight when a worker died: retried alone
        self.in_flight: dict[cf.Future, list[RunTask]] = {}
        self.ever_ok = False
        self.started = time.time()

    def run(self) -> None:
        try:
            while self.queue or self.suspects or self.in_flight:
                self._submit()
                done, _ = cf.wait(list(self.in_flight), timeout=2.0, return_when=cf.FIRST_COMPLETED)
                if self._collect(done):
                    self._replace_pool()
        except BaseException:
            with interrupts_ignored():  # a second signal must not cut the clean-up short
                self.pool.terminate()
                _record_interrupted(
                    self.store, [t for chunk in self.in_flight.values() for t in chunk],
                    self.summary, self.record, self.started,
                )  # fmt: skip
            raise
        self.pool.close(wait=True)

    def _submit(self) -> None:
        if self.suspects and not self.in_flight:
            task = self.suspects.popleft()
            log.warning(
                "run %s: retrying it alone (attempt %d) after its worker process died",
                task.run_id, task.attempt,
            )  # fmt: skip
            self.in_flight[self.pool.submit(execute_runs, [task])] = [task]
            return
        if self.suspects:
            return
        if self.follow and time.monotonic() - self.checked > 5.0:
            self.limit, self.checked = 2 * self.pool.capacity(), time.monotonic()
        while self.queue and len(self.in_flight) < self.limit:
            chunk = self.queue.popleft()
            self.in_flight[self.pool.submit(execute_runs, chunk)] = chunk

    def _collect(self, done: set[cf.Future]) -> bool:
        """Record finished futures; True when a worker process died (the pool is broken)."""
        broken = False
        for fut in done:
            chunk = self.in_flight.pop(fut)
            try:
                results = fut.result()
                for res in results:
                    self.ever_ok = self.ever_ok or res.get("status") == "ok"
                    self.record(res)
            except BrokenProcessPool:
                broken = True
                for task in self._unfinished(chunk):
                    if task.attempt > 1 and len(chunk) == 1 and not self.in_flight:
                        self.record(_record_crash(self.store, task))  # died alone: it kills
                    else:  # its worker
                        self.suspects.append(_retry(task))
            except Exception as exc:  # infrastructure failure (dask KilledWorker, pickling, ...)
                for task in self._unfinished(chunk):
                    self.record(_record_failure(self.store, task, exc))
        return broken

    def _unfinished(self, chunk: list[RunTask]) -> list[RunTask]:
        """The runs of a lost chunk that did not finish; those that did (their runs part written in
        this session before the chunk was lost) are recorded from the store."""
        left = []
        for task in chunk:
            row = _finished_row(self.store, task)
            if row is not None and _written_since(self.store, task, self.started):
                self.ever_ok = self.ever_ok or row.get("status") == "ok"
                self.record({**row, "run_id": task.run_id})
            else:
                left.append(task)
        return left

    def _replace_pool(self) -> None:
        self.summary.crashed_workers += 1
        log.warning(
            "a worker process died (%d so far); its runs in flight are retried one at a time",
            self.summary.crashed_workers,
        )
        if not self.ever_ok and self.summary.crashed_workers >= 3:
            raise RuntimeError(
                "worker processes keep dying before any run succeeded: they probably fail at "
                "start-up (in a script, call run_experiment under `if __name__ == "
                "'__main__':`; check that the package and a custom model import in a fresh "
                "interpreter). Finished runs are kept; rerun to resume"
            )
        # every other future of the pool is lost too
        for fut, chunk in list(self.in_flight.items()):
            fut.cancel()
            self.suspects.extend(_retry(task) for task in self._unfinished(chunk))
        self.in_flight.clear()
        self.pool.executor.shutdown(wait=False, cancel_futures=True)
        self.pool.new()


def _retry(task: RunTask) -> RunTask:
    return RunTask(**{**task.__dict__, "attempt": task.attempt + 1})


def _record_crash(store: ResultStore, task: RunTask) -> dict[str, Any]:
    err = "worker process died while running this run alone (BrokenProcessPool: crash, os._exit or out of memory)"
    log.warning("run %s killed its worker process again: recorded as failed", task.run_id)
    return record_status(store, task, "failed", err)


def _record_failure(store: ResultStore, task: RunTask, exc: BaseException) -> dict[str, Any]:
    err = f"{type(exc).__name__}: {exc}"
    tb = "".join(traceback.format_exception(exc))
    return record_status(store, task, "failed", err, tb)
