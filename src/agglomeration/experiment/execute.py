"""Run one model and write its tables: the code shared by ``agglomeration run`` and the batch runner.

A run is described by a :class:`RunTask` (small and picklable: the scenario file and overrides, not the
Scenario).  :func:`simulate` builds the model, steps it and collects the requested tables in memory;
:func:`write_run` writes them as the run's parts of a :class:`~agglomeration.experiment.store.ResultStore`
(``runs`` last, recording the size and sha256 of the other parts); :func:`execute_run` is both together
as a batch worker runs them, recording a model error as a failed run instead of raising.
``agglomeration run`` (:mod:`agglomeration.runone`) calls :func:`simulate` and :func:`write_run` on a
one-run store, so a single run and a batch run produce the same tables the same way.
"""

from __future__ import annotations

import importlib
import logging
import os
import socket
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from agglomeration.errors import InputError
from agglomeration.experiment.reporters import compute_reporters
from agglomeration.experiment.spec import DEFAULT_MODEL
from agglomeration.experiment.store import ResultStore, utc_now

__all__ = [
    "DEFAULT_MODEL",
    "RUN_OUTPUT",
    "VOLATILE_COLUMNS",
    "RunOutput",
    "RunTask",
    "execute_run",
    "resolve_model_class",
    "simulate",
    "write_run",
]

log = logging.getLogger(__name__)

#: runs-table columns that describe *how* a run was executed (differ between executions)
VOLATILE_COLUMNS = ("wall_time_s", "host", "pid", "finished_at", "attempt")
#: what ``agglomeration run`` keeps: every recorded step, the final regions, links and firms
RUN_OUTPUT: dict[str, Any] = {
    "series": True,
    "series_every": 1,
    "regions": True,
    "links": True,
    "firms_at": (-1,),
    "metrics": None,
    "series_metrics": None,
}


# ------------------------------------------------------------------------------------------------
# model class and scenario
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


def base_scenario(path: str) -> Any:
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


# ------------------------------------------------------------------------------------------------
# one run
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RunTask:
    """Everything a worker needs for one run (small and picklable: overrides, not the Scenario).

    ``seed`` is the model's ``replicate_seed`` (None: the scenario's own seed); ``output`` says which
    tables to keep (keys of :data:`RUN_OUTPUT`); ``meta`` holds the plan columns of the runs row
    (variant, point, design parameters, replicate)."""

    run_id: str
    out: str
    scenario_path: str
    overrides: dict[str, Any]
    scenario_fingerprint: str
    seed: int | None
    steps: int
    model: str
    output: dict[str, Any]
    meta: dict[str, Any]
    attempt: int = 1
    #: overrides of the reference whose settled start the run continues (None: its own start)
    reference_overrides: dict[str, Any] | None = None
    #: fingerprint of the scenario whose settled state the run starts from (its own or the
    #: reference's; "" when unknown): runs of one start and seed can share a worker's settled start
    start: str = ""


@dataclass
class RunOutput:
    """A finished simulation: the model (still live), the requested tables and the final metrics."""

    model: Any
    tables: dict[str, pd.DataFrame]
    metrics: dict[str, Any]
    #: steps actually run: fewer than the task's ``steps`` when a ``[stop]`` condition held
    steps_run: int | None = None


def _keep(frame: pd.DataFrame, keep: Any, what: str) -> pd.DataFrame:
    if keep is None:
        return frame
    missing = [m for m in keep if m not in frame.columns]
    if missing:
        raise KeyError(
            f"output.{what}: the model has no {what} {missing}; it has {list(frame.columns)}"
        )
    return frame[["step", *[m for m in keep if m != "step"]]]


def _task_scenario(task: RunTask) -> Any:
    base = base_scenario(task.scenario_path)
    scen = base.with_overrides(task.overrides) if task.overrides else base
    if scen.fingerprint() != task.scenario_fingerprint:
        raise RuntimeError(
            "the scenario resolves differently in the worker than when the batch was planned "
            "(scenario or data files, or the package's code/defaults changed: fingerprint mismatch); "
            "rerun the batch into a new directory"
        )
    return scen


def simulate(
    task: RunTask,
    *,
    scenario: Any = None,
    world: Any = None,
    on_step: Callable[[Any], None] | None = None,
    on_built: Callable[[Any], None] | None = None,
) -> RunOutput:
    """Build the model of ``task``, step it and collect the requested tables (all in memory).

    ``scenario`` (default: loaded from ``task.scenario_path`` + ``task.overrides`` and checked against
    ``task.scenario_fingerprint``) and ``world`` (default: built from the scenario) let a caller that
    already has them skip the work.  ``on_step(model)`` is called after every step and
    ``on_built(model)`` once the model is built, its burn-in done, before step 1 (progress bars: the
    rate of the steps leaves the burn-in out).
    The final step is always recorded in the series, even when it is not a multiple of the scenario's
    ``output.series_every``.  A run whose ``[stop]`` condition holds ends after that step (as
    ``model.run`` does); its last step stands for the final one (series row, ``firms_at = [-1]``).
    """
    cls = resolve_model_class(task.model)
    scen = _task_scenario(task) if scenario is None else scenario
    kw: dict[str, Any] = {"world": world} if world is not None else {}
    if task.reference_overrides is not None:
        base = base_scenario(task.scenario_path)
        ref = task.reference_overrides
        kw["reference"] = base.with_overrides(ref) if ref else base
    model = cls(scen, replicate_seed=task.seed, **kw)
    try:
        if on_built is not None:
            on_built(model)
        return _observe(model, task, on_step)
    except BaseException:
        release_model(model)
        raise


def _observe(model: Any, task: RunTask, on_step: Callable[[Any], None] | None) -> RunOutput:
    out = task.output
    snaps: list[pd.DataFrame] = []
    # negative snapshot steps count from the end: -1 = the last step
    firms_at = {s if s >= 0 else task.steps + 1 + s for s in out.get("firms_at") or ()}
    if 0 in firms_at:
        snaps.append(model.firms_frame().assign(step=0))
    last = 0
    for t in range(1, task.steps + 1):
        if not model.running:  # a [stop] condition held after the previous step
            break
        model.step()
        last = t
        if t in firms_at:
            snaps.append(model.firms_frame().assign(step=t))
        if on_step is not None:
            on_step(model)
    if last < task.steps and task.steps in firms_at and last not in firms_at:
        snaps.append(model.firms_frame().assign(step=last))  # the last step of a stopped run
    model.run(0)  # records the final step when series_every does not divide the steps
    tables: dict[str, pd.DataFrame] = {}
    if out.get("series", True):
        series = model.series_frame()
        every = int(out.get("series_every") or 1)
        series = series[(series["step"] % every == 0) | (series["step"] == last)]
        tables["series"] = _keep(
            series.reset_index(drop=True), out.get("series_metrics"), "series_metrics"
        )
    if out.get("regions", True):
        tables["regions"] = model.region_table().reset_index(drop=True)
    if out.get("links"):
        tables["links"] = model.links_frame().reset_index(drop=True)
    if firms_at:
        tables["firms"] = (
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
    return RunOutput(model=model, tables=tables, metrics=metrics, steps_run=last)


def release_model(model: Any) -> None:
    """Drop mesa 3.3's class-level reference to ``model`` (it keeps every model alive otherwise)."""
    ids = getattr(sys.modules.get("mesa.agent", None), "Agent", None)
    registry = getattr(ids, "_ids", None)
    if isinstance(registry, dict):
        registry.pop(model, None)


def runs_row(task: RunTask, status: str, wall: float, **extra: Any) -> dict[str, Any]:
    """The run's row of the runs table (plan columns, seed, status, execution columns, metrics)."""
    return {
        "run_id": task.run_id,
        **task.meta,
        "seed": task.seed,
        "steps": task.steps,
        # steps actually run (fewer than ``steps`` when a [stop] condition held; None if it failed)
        "steps_run": extra.pop("steps_run", None),
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
        "steps_run",
        "model",
        "status",
        "error",
        "traceback",
        *VOLATILE_COLUMNS,
    )
)


def _scalar(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    return v


def write_run(store: ResultStore, task: RunTask, output: RunOutput, wall: float) -> dict[str, Any]:
    """Write the run's parts (tables first, the runs row last with their checksums); returns the row.

    A metric named like a runs-table column gets the prefix ``metric_``."""
    sums: dict[str, dict[str, Any]] = {}
    for table, frame in output.tables.items():
        frame = frame.copy()
        frame.insert(0, "run_id", task.run_id)
        sums[table] = store.write_part(table, task.run_id, frame)
    cols = {
        (f"metric_{k}" if k in _RESERVED or k in task.meta else k): _scalar(v)
        for k, v in output.metrics.items()
    }
    row = runs_row(task, "ok", wall, steps_run=output.steps_run, **cols)
    store.write_part("runs", task.run_id, pd.DataFrame([row]), checksums=sums)
    return row


def record_status(
    store: ResultStore, task: RunTask, status: str, error: str, tb: str | None = None
) -> dict[str, Any]:
    """Record a run that did not finish (``failed`` or ``interrupted``) from outside the run: its
    partial parts are removed and its runs row says why.  Returns the small status dict."""
    for table in ("series", "regions", "links", "firms"):
        store.part_path(table, task.run_id).unlink(missing_ok=True)
    row = runs_row(task, status, float("nan"), error=error, traceback=tb)
    row["host"], row["pid"] = None, None
    store.write_part("runs", task.run_id, pd.DataFrame([row]))
    return {"run_id": task.run_id, "status": status, "error": error}


def execute_runs(tasks: list[RunTask]) -> list[dict[str, Any]]:
    """Run several runs one after another in this worker (worker side): runs from one settled start
    and seed settle it once (:mod:`agglomeration.settled_starts` keeps it per process).  Each run
    writes its parts as it finishes, as :func:`execute_run` does."""
    return [execute_run(task) for task in tasks]


def execute_run(task: RunTask) -> dict[str, Any]:
    """Run one model and write its parts (worker side).  Never raises for a model error: the failure
    is written as the run's row and returned as ``{"status": "failed", ...}``."""
    store = ResultStore(task.out)
    store.remove_parts(task.run_id)
    t0 = time.perf_counter()
    try:
        output = simulate(task)
        try:
            write_run(store, task, output, time.perf_counter() - t0)
        finally:
            release_model(output.model)
        return {"run_id": task.run_id, "status": "ok", "wall_time_s": time.perf_counter() - t0}
    except Exception as exc:  # recorded, the batch goes on
        wall = time.perf_counter() - t0
        for table in ("series", "regions", "links", "firms"):
            store.part_path(table, task.run_id).unlink(missing_ok=True)
        err = f"{type(exc).__name__}: {exc}"
        row = runs_row(task, "failed", wall, error=err, traceback=traceback.format_exc())
        store.write_part("runs", task.run_id, pd.DataFrame([row]))
        return {"run_id": task.run_id, "status": "failed", "error": err, "wall_time_s": wall}
