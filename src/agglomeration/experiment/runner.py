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
import importlib
import multiprocessing
import os
import socket
import sys
import time
import traceback
from collections import deque
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from agglomeration.errors import InputError, ResultStoreError
from agglomeration.experiment.design import Design, build_design
from agglomeration.experiment.reporters import compute_reporters
from agglomeration.experiment.seeds import replicate_seed, run_id
from agglomeration.experiment.spec import Experiment, load_experiment
from agglomeration.experiment.store import (
    FORMAT,
    ResultStore,
    describe_changes,
    environment_info,
    utc_now,
)

__all__ = ["BatchSummary", "RunTask", "execute_run", "parse_shard", "plan_runs", "run_experiment"]

#: runs-table columns that describe *how* a run was executed (differ between executions)
VOLATILE_COLUMNS = ("wall_time_s", "host", "pid", "finished_at", "attempt")


# ------------------------------------------------------------------------------------------------
# model class
# ------------------------------------------------------------------------------------------------
def resolve_model_class(ref: str) -> type:
    """Import ``"package.module:Class"`` and check it is an AgglomerationModel subclass.

    This imports and runs installed code named in the experiment file (documented): it is the
    researcher's own model subclass.
    """
    module_name, _, class_name = ref.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise InputError(
            f"cannot import model module {module_name!r}: {exc}", field="model"
        ) from None
    cls = getattr(module, class_name, None)
    if not isinstance(cls, type):
        raise InputError(f"{module_name!r} has no class {class_name!r}", field="model")
    from agglomeration.model import AgglomerationModel

    if not issubclass(cls, AgglomerationModel):
        raise InputError(
            f"{ref!r} is not a subclass of agglomeration.model.AgglomerationModel", field="model"
        )
    return cls


# ------------------------------------------------------------------------------------------------
# plan
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RunTask:
    """Everything a worker needs for one run (small and picklable: overrides, not the Scenario)."""

    run_id: str
    out: str
    scenario_path: str
    overrides: dict[str, Any]
    scenario_fingerprint: str
    seed: int
    steps: int
    model: str
    output: dict[str, Any]
    meta: dict[str, Any]
    attempt: int = 1


@dataclass
class Plan:
    """The planned runs: ``rows`` (plan table, one row per variant x point x replicate) and ``tasks``
    (one per unique run id, in execution order)."""

    rows: pd.DataFrame
    tasks: list[RunTask]
    design: Design
    base_fingerprint: str = ""


def _load_base_scenario(path: str) -> Any:
    from agglomeration.scenario import load_scenario

    return load_scenario(path)


@lru_cache(maxsize=8)
def _cached_base(path: str, mtime_ns: int) -> Any:
    return _load_base_scenario(path)


#: (path, mtime) -> modification times of the data files when that cached scenario was loaded
_DATA_STAMPS: dict[tuple[str, int], tuple[Any, ...]] = {}


def _data_stamp(scen: Any) -> tuple[Any, ...]:
    """(file, mtime_ns) of the data CSVs and the ``extends`` parent a loaded scenario was read from."""
    from agglomeration.scenario import PATH_KEYS

    files = [getattr(getattr(scen, sec, None), key, None) for sec, key in PATH_KEYS]
    src, parent = getattr(scen, "source_path", None), getattr(scen, "extends", None)
    if src and isinstance(parent, str):
        files.append(str(Path(src).parent / parent))
    stamp = []
    for f in files:
        if f:
            try:
                stamp.append((str(f), os.stat(f).st_mtime_ns))
            except OSError:
                stamp.append((str(f), None))
    return tuple(stamp)


def _base_scenario(path: str) -> Any:
    """The base scenario, cached per process; reloaded when its TOML *or a data file* changed (else a
    resume in the same process would reuse stale data and bypass the fingerprint guard)."""
    key = (path, Path(path).stat().st_mtime_ns)
    scen = _cached_base(*key)
    stamp = _data_stamp(scen)
    if _DATA_STAMPS.setdefault(key, stamp) != stamp:
        _cached_base.cache_clear()
        _DATA_STAMPS.clear()
        scen = _cached_base(*key)
        _DATA_STAMPS[key] = _data_stamp(scen)
    return scen


def plan_runs(exp: Experiment, out: str | Path = ".") -> Plan:
    """Resolve every run of ``exp`` (raises InputError on any invalid variant or design point)."""
    file = str(exp.source_path) if exp.source_path else None
    design = build_design(exp.design, exp.seed)
    model_ref = exp.model_ref
    resolve_model_class(model_ref)
    base = _base_scenario(str(exp.scenario))
    params = list(design.points.columns)
    rows: list[dict[str, Any]] = []
    tasks: dict[str, tuple[tuple[int, int, int], RunTask]] = {}
    owner: dict[str, str] = {}
    output = exp.output.model_dump()
    output["reporters"] = _reporter_refs(exp)
    for vi, variant in enumerate(exp.all_variants()):
        merged_v = {**exp.overrides, **variant.overrides}
        for p in range(len(design)):
            point = design.overrides(p)
            overrides = {**merged_v, **point}
            try:
                scen = base.with_overrides(overrides) if overrides else base
            except InputError as exc:
                where = f"variants[{variant.name}]" + (f", design point {p}" if params else "")
                raise InputError(f"{where}: {exc}", file=file, field="overrides") from None
            fp = scen.fingerprint()
            steps = int(exp.steps if exp.steps is not None else scen.steps)
            for r in range(exp.replicates):
                rs = replicate_seed(exp.seed, r, seeding=exp.seeding, point=overrides)
                rid = run_id(fp, rs.seed, steps, model_ref)
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


def _preflight_reporters(
    exp: Experiment, base: Any, tasks: list[RunTask], file: str | None
) -> None:
    """Import and evaluate the experiment's reporters on the first run's initial state."""
    from agglomeration.experiment.reporters import check_reporters

    if not (tasks and exp.reporters):
        return
    task = tasks[0]
    cls = resolve_model_class(task.model)
    scen = base.with_overrides(task.overrides) if task.overrides else base
    check_reporters(task.output["reporters"], cls(scen, replicate_seed=task.seed), file)


# ------------------------------------------------------------------------------------------------
# one run (executes in the worker)
# ------------------------------------------------------------------------------------------------
def _keep(frame: pd.DataFrame, keep: Any, what: str) -> pd.DataFrame:
    if keep is None:
        return frame
    missing = [m for m in keep if m not in frame.columns]
    if missing:
        raise KeyError(
            f"output.{what}: the model has no {what} {missing}; it has {list(frame.columns)}"
        )
    return frame[["step", *[m for m in keep if m != "step"]]]


def _simulate(task: RunTask) -> dict[str, pd.DataFrame | dict[str, float]]:
    """Build the model, step it and collect the requested observations (all in memory, one run)."""
    cls = resolve_model_class(task.model)
    base = _base_scenario(task.scenario_path)
    scen = base.with_overrides(task.overrides) if task.overrides else base
    if scen.fingerprint() != task.scenario_fingerprint:
        raise RuntimeError(
            "the scenario resolves differently in the worker than when the batch was planned "
            "(scenario or data files, or the package's code/defaults changed: fingerprint mismatch); "
            "rerun the batch into a new directory"
        )
    out = task.output
    model = cls(scen, replicate_seed=task.seed)
    try:
        snaps: list[pd.DataFrame] = []
        # negative snapshot steps count from the end: -1 = the last step
        firms_at = {s if s >= 0 else task.steps + 1 + s for s in out.get("firms_at") or ()}
        if 0 in firms_at:
            snaps.append(model.firms_frame().assign(step=0))
        for t in range(1, task.steps + 1):
            model.step()
            if t in firms_at:
                snaps.append(model.firms_frame().assign(step=t))
        result: dict[str, Any] = {}
        if out.get("series", True):
            series = model.series_frame()
            series = series[
                (series["step"] % int(out["series_every"]) == 0) | (series["step"] == task.steps)
            ]
            result["series"] = _keep(
                series.reset_index(drop=True), out.get("series_metrics"), "series_metrics"
            )
        if out.get("regions", True):
            result["regions"] = model.region_table().reset_index(drop=True)
        if out.get("links"):
            result["links"] = model.links_frame().reset_index(drop=True)
        if firms_at:
            result["firms"] = (
                pd.concat(snaps, ignore_index=True)
                if snaps
                else model.firms_frame().iloc[:0].assign(step=0)
            )
        metrics = dict(model.headline_metrics())
        keep = out.get("metrics")
        if keep is not None:
            missing = [m for m in keep if m not in metrics]
            if missing:
                raise KeyError(
                    f"output.metrics: the model has no headline metric {missing}; it has {sorted(metrics)}"
                )
            metrics = {k: metrics[k] for k in keep}
        metrics.update(compute_reporters(out.get("reporters"), model))  # user-defined run metrics
        result["metrics"] = metrics
        return result
    finally:
        # mesa 3.3 keeps every model alive through a class-level id registry (fixed in mesa 3.4.2)
        ids = getattr(sys.modules.get("mesa.agent", None), "Agent", None)
        registry = getattr(ids, "_ids", None)
        if isinstance(registry, dict):
            registry.pop(model, None)


def _runs_row(task: RunTask, status: str, wall: float, **extra: Any) -> dict[str, Any]:
    return {
        "run_id": task.run_id,
        **task.meta,
        "seed": task.seed,
        "steps": task.steps,
        "model": task.model,
        "scenario_fingerprint": task.scenario_fingerprint,
        "status": status,
        "error": extra.pop("error", None),
        "traceback": extra.pop("traceback", None),
        "wall_time_s": wall,
        "attempt": task.attempt,
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "finished_at": utc_now(),
        **extra,
    }


_RESERVED = frozenset(
    (
        "run_id",
        "variant",
        "point",
        "replicate",
        "seed",
        "steps",
        "model",
        "status",
        "error",
        "traceback",
        *VOLATILE_COLUMNS,
    )
)


def execute_run(task: RunTask) -> dict[str, Any]:
    """Run one model and write its parts (worker side).  Never raises for a model error: the failure
    is written as the run's row and returned as ``{"status": "failed", ...}``."""
    store = ResultStore(task.out)
    store.remove_parts(task.run_id)
    t0 = time.perf_counter()
    try:
        result = _simulate(task)
        metrics = result.pop("metrics")
        for table, frame in result.items():
            frame = frame.copy()
            frame.insert(0, "run_id", task.run_id)
            store.write_part(table, task.run_id, frame)
        wall = time.perf_counter() - t0
        cols = {
            (f"metric_{k}" if k in _RESERVED or k in task.meta else k): _scalar(v)
            for k, v in metrics.items()
        }
        row = _runs_row(task, "ok", wall, **cols)
        store.write_part("runs", task.run_id, pd.DataFrame([row]))
        return {"run_id": task.run_id, "status": "ok", "wall_time_s": wall}
    except Exception as exc:  # recorded, the batch goes on
        wall = time.perf_counter() - t0
        for table in ("series", "regions", "links", "firms"):
            store.part_path(table, task.run_id).unlink(missing_ok=True)
        err = f"{type(exc).__name__}: {exc}"
        row = _runs_row(task, "failed", wall, error=err, traceback=traceback.format_exc())
        store.write_part("runs", task.run_id, pd.DataFrame([row]))
        return {"run_id": task.run_id, "status": "failed", "error": err, "wall_time_s": wall}


def _scalar(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    return v


# ------------------------------------------------------------------------------------------------
# executors
# ------------------------------------------------------------------------------------------------
def _default_workers() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS / Windows
        return os.cpu_count() or 1


def _mp_context(start_method: str | None) -> multiprocessing.context.BaseContext:
    if start_method is None:
        start_method = (
            "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
        )
    ctx = multiprocessing.get_context(start_method)
    if start_method == "forkserver":
        # workers fork from a server that has already imported the model stack (fast start-up)
        ctx.set_forkserver_preload(
            ["agglomeration.experiment.runner", "agglomeration.scenario", "agglomeration.model"]
        )
    return ctx


class _LocalPool:
    """ProcessPoolExecutor factory (recreated after a worker process dies)."""

    def __init__(self, workers: int, start_method: str | None):
        self.workers = workers
        self.ctx = _mp_context(start_method)
        self.executor = self.new()

    def new(self) -> cf.Executor:
        self.executor = cf.ProcessPoolExecutor(max_workers=self.workers, mp_context=self.ctx)
        return self.executor

    def capacity(self) -> int:
        return self.workers

    def close(self, wait: bool = True) -> None:
        # on an interrupt do not wait for the runs in flight (they are simply redone on resume)
        self.executor.shutdown(wait=wait, cancel_futures=True)


class _DaskPool:
    """``distributed`` executor on a scheduler address, or on a LocalCluster bound to 127.0.0.1."""

    def __init__(self, workers: int, scheduler: str | None):
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise InputError(
                "the dask executor needs the optional extra: pip install 'agglomeration[dask]'",
                field="executor",
            ) from None
        self.cluster = None
        if scheduler:
            self.client = Client(scheduler)
        else:
            self.cluster = LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=":0",
            )
            self.client = Client(self.cluster)
        self.executor = self.client.get_executor(pure=False)

    def new(self) -> cf.Executor:  # dask replaces lost workers itself
        return self.executor

    def capacity(self) -> int:
        n = sum(self.client.nthreads().values())
        return max(1, n)

    def close(self, wait: bool = True) -> None:
        self.executor.shutdown(wait=wait)
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


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

    @property
    def runs_per_minute(self) -> float:
        ran = self.done + self.failed
        return 60.0 * ran / self.wall_time_s if self.wall_time_s > 0 else float("nan")

    def as_dict(self) -> dict[str, Any]:
        d = {k: (str(v) if isinstance(v, Path) else v) for k, v in self.__dict__.items()}
        d["runs_per_minute"] = self.runs_per_minute
        return d


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


def _prepare_store(store: ResultStore, exp: Experiment, plan: Plan, resume: bool) -> dict[str, Any]:
    """Create or check the store; returns the manifest to keep."""
    if store.root.exists() and not store.root.is_dir():
        raise ResultStoreError(
            "expected a result directory, got an existing file", file=str(store.root), field="--out"
        )
    manifest = store.read_manifest()
    if manifest is None:
        if resume:
            raise ResultStoreError(
                "nothing to resume: no manifest.json in this directory", file=str(store.root)
            )
        if store.root.exists() and any(store.root.iterdir()):
            raise ResultStoreError(
                "the output directory exists, is not empty and is not a result directory; choose a new --out",
                file=str(store.root),
            )
        manifest = {"format": FORMAT, "created_at": utc_now()}
    else:
        if manifest.get("fingerprint") != exp.fingerprint():
            changes = describe_changes(manifest.get("identity", {}), exp.identity())
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
    manifest.update(
        {
            "format": FORMAT,
            "experiment": exp.to_dict(),
            "experiment_file": str(exp.source_path) if exp.source_path else None,
            "fingerprint": exp.fingerprint(),
            "identity": exp.identity(),
            "base_scenario_fingerprint": plan.base_fingerprint,
            "design": plan.design.manifest_entry(),
            "model": exp.model_ref,
            "n_runs": len(plan.tasks),
            "n_plan_rows": len(plan.rows),
            "required_tables": _required_tables(exp),
            "environment": environment_info(),
            "started_at": utc_now(),
            "finished_at": None,
            "status": "running",
        }
    )
    try:
        store.root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # a parent is a file, does not allow directories, or is not writable
        raise ResultStoreError(
            f"cannot create the result directory: {exc.strerror or exc}",
            file=str(store.root),
            field="--out",
        ) from None
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


def run_experiment(
    experiment_or_path: Experiment | str | Path,
    out: str | Path,
    workers: int | None = None,
    executor: str | cf.Executor = "local",
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
    executor: ``"local"`` (process pool), ``"dask"``, ``"serial"`` (in this process; for debugging), or
        any :class:`concurrent.futures.Executor` instance (it must run tasks where ``out`` is visible).
    scheduler: dask scheduler address (``tcp://host:8786``).
    resume: require an existing result directory (an error if there is none).
    shard: ``"i/N"``: run only runs whose id hashes to shard i (job arrays).
    progress: show a tqdm bar (runs done, failed, ETA) on stderr.
    start_method: ``forkserver``/``spawn`` for the local pool (default: forkserver where available).
    max_in_flight: bound on submitted-but-unfinished runs (default 2 x workers).
    on_result: called in the parent with each run's small status dict.

    Returns a :class:`BatchSummary`.  Raises InputError / ResultStoreError before any run starts.
    """
    exp = (
        experiment_or_path
        if isinstance(experiment_or_path, Experiment)
        else load_experiment(experiment_or_path)
    )
    shard_t = parse_shard(shard)
    if workers is not None and workers < 1:
        raise InputError(f"expected workers >= 1, got {workers}", field="workers")
    if isinstance(executor, str) and executor not in ("local", "dask", "serial"):
        raise InputError(f"expected local, dask or serial, got {executor!r}", field="executor")
    store = ResultStore(out)
    out_abs = store.root.resolve()
    plan = plan_runs(exp, out_abs)
    manifest = _prepare_store(store, exp, plan, resume)
    store.clean_temp_files()

    required = _required_tables(exp)
    status = store.scan([t.run_id for t in plan.tasks], required)
    selected = [t for t in plan.tasks if in_shard(t.run_id, shard_t)]
    todo = [t for t in selected if status[t.run_id] != "ok"]
    summary = BatchSummary(
        out=out_abs,
        planned=len(plan.tasks),
        selected=len(selected),
        skipped=len(selected) - len(todo),
    )
    t0 = time.perf_counter()
    session = {
        "started_at": utc_now(),
        "shard": shard_t,
        "executor": str(executor),
        "workers": workers,
        "to_run": len(todo),
    }
    try:
        if todo:
            _execute(
                todo,
                summary,
                executor,
                workers,
                scheduler,
                start_method,
                max_in_flight,
                progress,
                on_result,
                store,
            )
    finally:
        summary.wall_time_s = time.perf_counter() - t0
        final = store.scan([t.run_id for t in plan.tasks], required)
        summary.complete = all(s in ("ok", "failed") for s in final.values())
        session.update(summary.as_dict(), finished_at=utc_now())
        store.write_session(session)
        if shard_t is None or summary.complete:
            manifest = store.read_manifest() or manifest
            manifest["finished_at"] = utc_now()
            n_ok = sum(s == "ok" for s in final.values())
            manifest["status"] = (
                "complete"
                if n_ok == len(final)
                else ("finished_with_failures" if summary.complete else "incomplete")
            )
            manifest["counts"] = {
                "ok": n_ok,
                "failed": sum(s == "failed" for s in final.values()),
                "planned": len(final),
            }
            store.write_manifest(manifest)
        if summary.complete:
            store.consolidate()
    return summary


def _execute(
    todo: list[RunTask],
    summary: BatchSummary,
    executor: str | cf.Executor,
    workers: int | None,
    scheduler: str | None,
    start_method: str | None,
    max_in_flight: int | None,
    progress: bool,
    on_result: Callable[[dict[str, Any]], None] | None,
    store: ResultStore,
) -> None:
    n_workers = workers or _default_workers()
    bar = _progress(len(todo), progress)

    def record(res: dict[str, Any]) -> None:
        if res["status"] == "ok":
            summary.done += 1
        else:
            summary.failed += 1
            summary.failed_ids.append(res["run_id"])
        bar.update(1)
        bar.set_postfix(done=summary.done, failed=summary.failed, refresh=False)
        if on_result is not None:
            on_result(res)

    if executor == "serial":
        try:
            for task in todo:
                record(execute_run(task))
        finally:
            bar.close()
        return

    pool: Any
    if isinstance(executor, cf.Executor):
        pool = _External(executor, n_workers)
    elif executor == "dask":
        pool = _DaskPool(n_workers, scheduler)
    else:
        pool = _LocalPool(n_workers, start_method)
    limit = max_in_flight or 2 * pool.capacity()
    checked = time.monotonic()
    queue: deque[RunTask] = deque(todo)
    # runs in flight when a worker process died: retried one at a time
    suspects: deque[RunTask] = deque()
    in_flight: dict[cf.Future, RunTask] = {}
    ex = pool.executor
    ever_ok = False
    aborted = False
    try:
        while queue or suspects or in_flight:
            if suspects and not in_flight:
                task = suspects.popleft()
                in_flight[ex.submit(execute_run, task)] = task
            elif not suspects:
                if max_in_flight is None and time.monotonic() - checked > 5.0:
                    # a dask / jobqueue cluster grows after the start: follow its thread count
                    limit, checked = 2 * pool.capacity(), time.monotonic()
                while queue and len(in_flight) < limit:
                    task = queue.popleft()
                    in_flight[ex.submit(execute_run, task)] = task
            done, _ = cf.wait(list(in_flight), timeout=5.0, return_when=cf.FIRST_COMPLETED)
            broken = False
            for fut in done:
                task = in_flight.pop(fut)
                try:
                    res = fut.result()
                    ever_ok = ever_ok or res.get("status") == "ok"
                    record(res)
                except BrokenProcessPool:
                    broken = True
                    if task.attempt > 1 and not in_flight:
                        # died alone: this run kills its worker
                        record(_record_crash(store, task))
                    else:
                        suspects.append(_retry(task))
                except (
                    Exception
                ) as exc:  # infrastructure failure (dask KilledWorker, pickling, ...)
                    record(_record_failure(store, task, exc))
            if broken:
                summary.crashed_workers += 1
                if not ever_ok and summary.crashed_workers >= 3:
                    raise RuntimeError(
                        "worker processes keep dying before any run succeeded: they probably fail at "
                        "start-up (in a script, call run_experiment under `if __name__ == "
                        "'__main__':`; check that the package and a custom model import in a fresh "
                        "interpreter). Finished runs are kept; rerun to resume"
                    )
                # every other future of the pool is lost too
                for fut, task in list(in_flight.items()):
                    fut.cancel()
                    suspects.append(_retry(task))
                in_flight.clear()
                pool.executor.shutdown(wait=False, cancel_futures=True)
                ex = pool.new()
    except BaseException:
        aborted = True
        for fut in in_flight:
            fut.cancel()
        raise
    finally:
        bar.close()
        pool.close(wait=not aborted)


class _External:
    """A user-supplied executor (not shut down by us)."""

    def __init__(self, executor: cf.Executor, workers: int):
        self.executor = executor
        self.workers = workers

    def new(self) -> cf.Executor:
        raise ResultStoreError(
            "the supplied executor broke (a worker process died); rerun to resume"
        )

    def capacity(self) -> int:
        return self.workers

    def close(self, wait: bool = True) -> None:
        pass


def _retry(task: RunTask) -> RunTask:
    return RunTask(**{**task.__dict__, "attempt": task.attempt + 1})


def _record_crash(store: ResultStore, task: RunTask) -> dict[str, Any]:
    err = "worker process died while running this run alone (BrokenProcessPool: crash, os._exit or out of memory)"
    row = _runs_row(task, "failed", float("nan"), error=err, traceback=None)
    row["host"], row["pid"] = None, None
    store.write_part("runs", task.run_id, pd.DataFrame([row]))
    return {"run_id": task.run_id, "status": "failed", "error": err}


def _record_failure(store: ResultStore, task: RunTask, exc: BaseException) -> dict[str, Any]:
    err = f"{type(exc).__name__}: {exc}"
    tb = "".join(traceback.format_exception(exc))
    row = _runs_row(task, "failed", float("nan"), error=err, traceback=tb)
    row["host"], row["pid"] = None, None
    store.write_part("runs", task.run_id, pd.DataFrame([row]))
    return {"run_id": task.run_id, "status": "failed", "error": err}
