"""Rerun one stored run of a batch from its manifest and check that it reproduces bit for bit.

A result directory records everything needed to rerun any of its runs (docs/EXPERIMENTS.md): the resolved
experiment (``manifest.json`` ``experiment``), the fingerprint of the base scenario including its data
files (``base_scenario_fingerprint``), the model class, and per run the seed, steps and scenario
fingerprint.  :func:`reproduce_run` rebuilds the experiment from the manifest, plans it again (so the run
id, seed and resolved scenario are derived exactly as the batch derived them), runs the chosen run in
this process into a temporary directory with the batch's own worker function, and compares every stored
per-run table with the fresh one, column by column, bit for bit (float columns by their IEEE-754 bit
patterns; NaN in the same places counts as equal only when the bits are equal).

Columns that describe *how* a run was executed (wall time, host, pid, finish time, attempt) are not
compared.  Nothing is written into the result directory.

Why in this process and not in the batch's executor: one run is cheap, and identity across executors and
worker counts is a separate, tested guarantee (tests/experiment/test_runner.py,
tests/reliability/test_faults.py).
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from agglomeration.errors import InputError, ResultStoreError
from agglomeration.experiment.store import (
    TABLES,
    ResultStore,
    environment_info,
    stored_model_revision,
)

__all__ = ["ReproduceReport", "compare_tables", "reproduce_run"]

#: runs-table columns that legitimately differ between two executions of the same run
_VOLATILE = frozenset(("wall_time_s", "host", "pid", "finished_at", "attempt"))
#: runs-table columns added in a later version: a store written before them lacks them, so a rerun's
#: own value is not compared there
_ADDED = frozenset(("steps_run",))


@dataclass
class ReproduceReport:
    """Outcome of :func:`reproduce_run`.

    ``match`` is True when every stored table of the run equals the fresh one bit for bit;
    otherwise ``first_difference`` says where the first difference is (table, column, row, values).
    ``rows`` gives the rows compared per table; ``environment_changes`` lists package versions that
    differ from the ones recorded in the manifest (informative: a mismatch after an upgrade is expected).
    """

    results: Path
    run_id: str
    variant: str | None
    replicate: int | None
    seed: int
    steps: int
    match: bool
    first_difference: str | None = None
    rows: dict[str, int] = field(default_factory=dict)
    environment_changes: list[str] = field(default_factory=list)
    wall_time_s: float = 0.0

    def summary(self) -> str:
        """One line for the command line."""
        what = f"run {self.run_id} (variant {self.variant}, replicate {self.replicate}, seed {self.seed}, {self.steps} steps)"
        if self.match:
            tables = ", ".join(f"{t} {n} rows" for t, n in self.rows.items())
            return f"match: {what} reproduced bit for bit ({tables}) in {self.wall_time_s:.1f} s"
        text = f"DIFFERENT: {what}: {self.first_difference}"
        if self.environment_changes:
            text += "; package versions differ from the batch: " + ", ".join(
                self.environment_changes
            )
        return text


# ------------------------------------------------------------------------------------------------
# comparison
# ------------------------------------------------------------------------------------------------
def _bits(values: np.ndarray) -> np.ndarray:
    """Float arrays as their IEEE-754 bit patterns (bit-for-bit comparison); others unchanged."""
    if values.dtype.kind == "f":
        return np.ascontiguousarray(values).view(f"u{values.dtype.itemsize}")
    return values


def _column_difference(name: str, a: pa.ChunkedArray, b: pa.ChunkedArray) -> str | None:
    if a.type != b.type:
        return f"column {name!r}: type {a.type} stored vs {b.type} rerun"
    na, nb = a.is_null().to_numpy(zero_copy_only=False), b.is_null().to_numpy(zero_copy_only=False)
    if not np.array_equal(na, nb):
        i = int(np.flatnonzero(na != nb)[0])
        return f"column {name!r}, row {i}: {a[i].as_py()!r} stored vs {b[i].as_py()!r} rerun"
    try:
        va = _bits(a.to_numpy(zero_copy_only=False))
        vb = _bits(b.to_numpy(zero_copy_only=False))
        same = va == vb
        if va.dtype == object:
            same = np.array([x == y for x, y in zip(va, vb, strict=True)], dtype=bool)
    except (pa.ArrowException, TypeError, ValueError):  # nested types: compare as Python objects
        pa_list, pb_list = a.to_pylist(), b.to_pylist()
        same = np.array([x == y for x, y in zip(pa_list, pb_list, strict=True)], dtype=bool)
    same = np.asarray(same, dtype=bool) | na
    if not same.all():
        i = int(np.flatnonzero(~same)[0])
        return f"column {name!r}, row {i}: {a[i].as_py()!r} stored vs {b[i].as_py()!r} rerun"
    return None


def compare_tables(stored: pa.Table, fresh: pa.Table, table: str = "table") -> str | None:
    """The first difference between two tables (columns, row count, then values), or None when they
    are identical bit for bit.  Volatile execution columns of the runs table are ignored."""
    stored = stored.replace_schema_metadata(None)
    fresh = fresh.replace_schema_metadata(None)
    sa = [c for c in stored.column_names if c not in _VOLATILE or table != "runs"]
    fa = [c for c in fresh.column_names if c not in _VOLATILE or table != "runs"]
    if table == "runs":
        fa = [c for c in fa if c in sa or c not in _ADDED]
    if sa != fa:
        missing = [c for c in sa if c not in fa]
        extra = [c for c in fa if c not in sa]
        if missing or extra:
            return f"{table}: columns differ (only stored: {missing}, only rerun: {extra})"
        return f"{table}: column order differs ({sa} stored vs {fa} rerun)"
    if stored.num_rows != fresh.num_rows:
        return f"{table}: {stored.num_rows} rows stored vs {fresh.num_rows} rerun"
    for c in sa:
        diff = _column_difference(c, stored.column(c), fresh.column(c))
        if diff:
            return f"{table}: {diff}"
    return None


# ------------------------------------------------------------------------------------------------
# the rerun
# ------------------------------------------------------------------------------------------------
def _open(results: str | Path) -> tuple[ResultStore, dict[str, Any]]:
    store = ResultStore(results)
    if not store.root.is_dir():
        raise ResultStoreError(
            "expected a result directory written by `agglomeration batch` or `agglomeration run`",
            file=str(results),
            field="RESULTS",
        )
    manifest = store.read_manifest()
    if manifest is None:
        raise ResultStoreError(
            "no manifest.json: not a result directory (an output of `agglomeration run` before "
            "version 0.2 has none and cannot be rerun)",
            file=str(results),
            field="RESULTS",
        )
    keys = ("run",) if manifest.get("kind") == "run" else ("experiment", "fingerprint")
    for key in keys:
        if not isinstance(manifest.get(key), dict | str):
            raise ResultStoreError(
                f"manifest.json has no {key!r}: written by an incompatible version, cannot rerun",
                file=str(store.manifest_path),
                field=key,
            )
    return store, manifest


def _check_model(ref: Any, trust_model: bool, manifest_path: Path) -> str:
    """A result directory is data: the model class it names is imported only when it is the
    package's own or the caller trusts the directory (``trust_model``)."""
    from agglomeration.experiment.spec import DEFAULT_MODEL

    if ref is None or ref == DEFAULT_MODEL:
        return DEFAULT_MODEL
    if not isinstance(ref, str):
        raise ResultStoreError(
            f"expected a model reference 'package.module:Class', got {ref!r}",
            file=str(manifest_path),
            field="model",
        )
    if not trust_model:
        raise ResultStoreError(
            f"the run used the model class {ref!r}; rerunning it imports and runs that installed "
            "module. Pass --trust-model (trust_model=True) if you trust this result directory",
            file=str(manifest_path),
            field="model",
        )
    return ref


def _choose_run(
    store: ResultStore, order: list[str], run: str | None
) -> tuple[str, dict[str, Any]]:
    """The requested run id (a unique prefix is enough), or the first successful run in plan order."""
    if run is None:
        for rid in order:
            row = store.read_run_row(rid)
            if row is not None and row.get("status") == "ok":
                return rid, row
        raise ResultStoreError(
            "no successful run to reproduce in this directory", file=str(store.root)
        )
    matches = [rid for rid in order if rid.startswith(run)] if run else []
    if len(matches) != 1:
        hint = (
            "no run with this id (or prefix)"
            if not matches
            else f"ambiguous prefix ({len(matches)} runs)"
        )
        raise InputError(
            f"{hint}; expected one of the run ids in runs.run_id, e.g. {order[0] if order else '-'}",
            file=str(store.root),
            field="--run",
        )
    rid = matches[0]
    row = store.read_run_row(rid)
    if row is None:
        raise ResultStoreError(
            "this run has no readable result (missing or corrupt part): resume the batch first",
            file=str(store.part_path("runs", rid)),
            field="--run",
        )
    if row.get("status") != "ok":
        raise InputError(
            f"this run {_ended(row.get('status'))} in the batch ({row.get('error')}); "
            "expected a successful run",
            file=str(store.root),
            field="--run",
        )
    return rid, row


def _ended(status: Any) -> str:
    return "failed" if status == "failed" else f"ended {status!r}"


def _stored_table(store: ResultStore, table: str, rid: str) -> pa.Table | None:
    """The stored part (page CRCs checked; the recorded sha256 is checked by :func:`_tampered`)."""
    path = store.part_path(table, rid)
    if not path.exists():
        return None
    return store.read_part(table, rid)


def _tampered(store: ResultStore, table: str, rid: str) -> bool:
    """True when the part no longer matches the checksum recorded when the run wrote it."""
    rec = store.run_record(rid)
    expected = rec[1].get(table) if rec is not None and table != "runs" else None
    return bool(expected) and not store.part_intact(store.part_path(table, rid), expected)


def _environment_changes(manifest: dict[str, Any]) -> list[str]:
    from agglomeration import MODEL_REVISION

    old = (manifest.get("environment") or {}).get("versions") or {}
    new = environment_info()["versions"]
    stored = stored_model_revision(manifest)
    revision = (
        [f"model revision {stored} -> {MODEL_REVISION} (results changed: CHANGELOG.md)"]
        if stored != MODEL_REVISION
        else []
    )
    return revision + [
        f"{k} {old.get(k)} -> {new.get(k)}"
        for k in sorted(set(old) | set(new))
        if old.get(k) != new.get(k)
    ]


def reproduce_run(
    results: str | Path,
    run: str | None = None,
    *,
    scenario: str | Path | None = None,
    trust_model: bool = False,
) -> ReproduceReport:
    """Rerun one run of a batch (finished or partial) or of a ``agglomeration run`` output, and
    compare it with the stored tables.

    Parameters
    ----------
    results: a result directory written by ``agglomeration batch`` / :func:`run_experiment`, or an
        output directory of ``agglomeration run`` (a one-run store).
    run: a run id (or a unique prefix of one) from ``runs.run_id``; default the first successful run in
        plan order.
    scenario: the base scenario file, when the result directory was moved away from it (its content
        must still have the fingerprint recorded in the manifest).
    trust_model: allow importing the model class the manifest names when it is not the package's
        own ``agglomeration.model:AgglomerationModel`` (a result directory is data; naming a module in
        it must not be enough to run that module's code).

    Returns a :class:`ReproduceReport` (``match`` True/False).  Raises ResultStoreError / InputError (exit
    code 2 on the command line) when ``results`` is not a result directory, the run does not exist or
    failed, the scenario file cannot be read, or the model class is not trusted.  Nothing is imported
    before the manifest has been checked against its fingerprint.
    """
    from agglomeration.experiment.runner import plan_runs
    from agglomeration.experiment.spec import experiment_from_dict

    store, manifest = _open(results)
    if manifest.get("kind") == "run":
        return _reproduce_single(store, manifest, run, scenario, trust_model)
    data = dict(manifest["experiment"])
    if scenario is not None:
        data["scenario"] = str(Path(scenario).resolve())
    exp = experiment_from_dict(data, stored=True)
    # the scenario *path* is not part of the fingerprint, so this holds with --scenario too
    if exp.fingerprint() != manifest["fingerprint"]:
        raise ResultStoreError(
            "the experiment in manifest.json does not match its fingerprint (edited by hand?)",
            file=str(store.manifest_path),
            field="experiment",
        )
    _check_model(exp.model, trust_model, store.manifest_path)
    if not exp.scenario.is_file():
        raise InputError(
            f"base scenario file not found: {exp.scenario} (pass --scenario FILE if it moved)",
            file=str(store.manifest_path),
            field="experiment.scenario",
        )
    plan = plan_runs(exp, store.root)
    stored_plan = store.read_frame("plan")
    order = (
        list(dict.fromkeys(stored_plan["run_id"]))
        if stored_plan is not None and "run_id" in stored_plan
        else [t.run_id for t in plan.tasks]
    )
    rid, row = _choose_run(store, order, run)
    task = next((t for t in plan.tasks if t.run_id == rid), None)
    report = _report(store, rid, row, manifest)
    recorded = manifest.get("base_scenario_fingerprint")
    if recorded and recorded != plan.base_fingerprint:
        report.first_difference = (
            f"the base scenario {exp.scenario} resolves differently than in the batch (fingerprint "
            f"{recorded[:12]} recorded, {plan.base_fingerprint[:12]} now): its file, data files or the "
            "package defaults changed"
        )
        return report
    if task is None:
        report.first_difference = (
            "the experiment no longer plans this run (its scenario, seed or steps resolve "
            "differently now)"
        )
        return report
    return _rerun_and_compare(store, task, row, report)


def _report(
    store: ResultStore, rid: str, row: dict[str, Any], manifest: dict[str, Any]
) -> ReproduceReport:
    seed = row.get("seed")
    return ReproduceReport(
        results=store.root,
        run_id=rid,
        variant=row.get("variant"),
        replicate=row.get("replicate"),
        seed=-1 if seed is None else int(seed),
        steps=int(row.get("steps", -1)),
        match=False,
        environment_changes=_environment_changes(manifest),
    )


def _rerun_and_compare(
    store: ResultStore, task: Any, row: dict[str, Any], report: ReproduceReport
) -> ReproduceReport:
    from agglomeration.experiment.execute import RunTask, execute_run

    for key in ("seed", "steps", "scenario_fingerprint", "model"):
        if key in row and row[key] != getattr(task, key):
            report.first_difference = (
                f"runs.{key}: {row[key]!r} stored vs {getattr(task, key)!r} planned now"
            )
            return report
    rid = task.run_id
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="agglomeration-reproduce-") as tmp:
        fresh_task = RunTask(**{**task.__dict__, "out": tmp, "attempt": 1})
        res = execute_run(fresh_task)
        report.wall_time_s = time.perf_counter() - t0
        if res["status"] != "ok":
            report.first_difference = f"the rerun failed: {res.get('error')}"
            return report
        fresh_store = ResultStore(tmp)
        for table in TABLES:
            stored = _stored_table(store, table, rid)
            fresh = _stored_table(fresh_store, table, rid)
            if stored is None and fresh is None:
                continue
            if stored is None or fresh is None:
                where = "the rerun" if fresh is None else "the store"
                report.first_difference = f"{table}: no part in {where}"
                return report
            diff = compare_tables(stored, fresh, table)
            if diff:
                if _tampered(store, table, rid):
                    diff += (
                        " (the stored part also fails the checksum recorded when it was written: "
                        "it was changed afterwards)"
                    )
                report.first_difference = diff
                return report
            report.rows[table] = stored.num_rows
    report.match = True
    return report


def _run_spec(store: ResultStore, manifest: dict[str, Any]) -> dict[str, Any]:
    """The ``run`` section of a one-run store's manifest, type-checked (it is read as data)."""
    from agglomeration.scenario import MAX_STEPS

    spec = manifest["run"]
    where = str(store.manifest_path)
    checks = {
        "run_id": lambda v: isinstance(v, str) and len(v) == 16,
        "scenario_fingerprint": lambda v: isinstance(v, str),
        "seed": lambda v: v is None or (isinstance(v, int) and not isinstance(v, bool) and v >= 0),
        "steps": lambda v: isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= MAX_STEPS,
        "overrides": lambda v: isinstance(v, dict),
        "output": lambda v: isinstance(v, dict),
        "meta": lambda v: isinstance(v, dict),
        "scenario_file": lambda v: v is None or isinstance(v, str),
        "reference_overrides": lambda v: v is None or isinstance(v, dict),
    }
    for key, ok in checks.items():
        if not ok(spec.get(key)):
            raise ResultStoreError(
                f"unexpected value {spec.get(key)!r}", file=where, field=f"run.{key}"
            )
    return spec


def _reproduce_single(
    store: ResultStore,
    manifest: dict[str, Any],
    run: str | None,
    scenario: str | Path | None,
    trust_model: bool,
) -> ReproduceReport:
    """Rerun the run of a one-run store (the output directory of ``agglomeration run``)."""
    from agglomeration.experiment.execute import RunTask
    from agglomeration.scenario import load_scenario

    spec = _run_spec(store, manifest)
    rid = spec["run_id"]
    if run is not None and not rid.startswith(run):
        raise InputError(
            f"no run with this id (or prefix); this run output holds run {rid}",
            file=str(store.root),
            field="--run",
        )
    model = _check_model(spec.get("model"), trust_model, store.manifest_path)
    path = Path(scenario) if scenario is not None else spec["scenario_file"]
    if not path or not Path(path).is_file():
        raise InputError(
            f"scenario file not found: {path or '(the run was made from an in-memory scenario)'} "
            "(pass --scenario FILE if it moved)",
            file=str(store.manifest_path),
            field="run.scenario_file",
        )
    rid, row = _choose_run(store, [rid], rid)
    report = _report(store, rid, row, manifest)
    from agglomeration.runone import check_run_output

    damaged = check_run_output(store.root)
    if damaged:  # a file changed after the run wrote it: the output as it stands is not the run's
        report.first_difference = (
            "the run output was changed after it was written ("
            + "; ".join(damaged[:3])
            + "): rerun it into a new directory to compare"
        )
        return report
    scen = load_scenario(path, spec["overrides"] or None)
    if scen.fingerprint() != spec["scenario_fingerprint"]:
        report.first_difference = (
            f"the scenario {path} resolves differently than when the run was made (fingerprint "
            f"{spec['scenario_fingerprint'][:12]} recorded, {scen.fingerprint()[:12]} now): its "
            "file, data files or the package defaults changed"
        )
        return report
    task = RunTask(
        run_id=rid,
        out=str(store.root),
        scenario_path=str(Path(path).resolve()),
        overrides=spec["overrides"],
        scenario_fingerprint=spec["scenario_fingerprint"],
        seed=spec["seed"],
        steps=spec["steps"],
        model=model,
        output=spec["output"],
        meta=spec["meta"],
        reference_overrides=spec.get("reference_overrides"),
    )
    return _rerun_and_compare(store, task, row, report)
