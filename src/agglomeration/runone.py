"""Run one scenario once and write its tables and figures (the engine of ``agglomeration run``).

The output directory is a **one-run result store**, written by the same code as a batch
(:mod:`agglomeration.experiment.execute`), so :func:`agglomeration.experiment.load_results` and
``agglomeration reproduce`` read it like a batch, plus the files users open directly::

    OUT/
      manifest.json                  format agglomeration-results/1, kind "run", the run's scenario file,
                                     overrides, fingerprint, seed, steps, model; environment
      plan.parquet                   the one planned run (run_id, seed, steps)
      parts/runs/<run_id>.parquet    the runs row: seed, status, wall time, headline metrics
      parts/series/<run_id>.parquet  every recorded step           (= timeseries.csv + run_id)
      parts/regions/<run_id>.parquet final region x sector table   (= regions.csv + run_id)
      parts/links/<run_id>.parquet   final supplier links          (= links.parquet + run_id)
      parts/firms/<run_id>.parquet   final live firms, column step (= firms.parquet + run_id, step)
      timeseries.csv  regions.csv  firms.parquet  links.parquet  summary.json
      logistics.csv                  final logistics outcomes (long: kind, key, option, metric, value,
                                     unit): mode shares by destination, corridor volumes, region and
                                     sector indices (:func:`agglomeration.logistics_outcomes.logistics_table`)
      figures/                       timeseries, lq_heatmap, region_map, supplier_network, mode_shares
                                     (PNG + PDF; unless output.figures = false): the builders of
                                     `agglomeration plot`
      _COMPLETE.json                 completion marker, written last: size and sha256 of every file
                                     except the figures (which `agglomeration plot` may redraw)

**Atomic**: everything is written into a hidden staging directory next to OUT, flushed to disk, marked
complete, and only then renamed to OUT (a previous run output there is replaced as a whole), so OUT is
either the complete new output, the complete old one, or absent - never a mixture or a truncated file.
Links planted in OUT are never followed: nothing is written into OUT.  OUT must not exist, be empty, or
hold an earlier output of ``agglomeration run``; a directory with anything else in it (the scenario's
own files, for instance) is refused before the run starts.
"""

from __future__ import annotations

import json
import logging
import math
import os
import platform
import shutil
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from agglomeration.errors import InputError, ResultStoreError, describe_os_error

__all__ = ["RUN_FILES", "check_run_output", "prepare_output", "run_scenario"]

log = logging.getLogger(__name__)

#: the files a run output holds besides the store entries (a directory holding only these and the
#: store entries is an earlier run output and may be replaced); map.png and timeseries.png were
#: written by earlier versions
RUN_FILES = (
    "timeseries.csv",
    "regions.csv",
    "firms.parquet",
    "links.parquet",
    "logistics.csv",
    "summary.json",
    "map.png",
    "timeseries.png",
)
#: the figure directory of a run output (``agglomeration run`` and ``agglomeration plot`` draw into it)
FIGURES = "figures"
_STORE_ENTRIES = ("manifest.json", "plan.parquet", "parts", FIGURES, "_COMPLETE.json")


def _versions() -> dict[str, str]:
    import mesa
    import numba
    import numpy
    import pandas

    from agglomeration import __version__

    return {
        "agglomeration": __version__,
        "mesa": mesa.__version__,
        "numpy": numpy.__version__,
        "numba": numba.__version__,
        "pandas": pandas.__version__,
        "python": platform.python_version(),
    }


# ------------------------------------------------------------------------------------------------
# the output directory
# ------------------------------------------------------------------------------------------------
def _resolve_out(out: str | Path) -> Path:
    if "\x00" in str(out):
        raise InputError("not a usable directory path (a NUL character)", file=out, field="--out")
    try:
        return Path(out).absolute()
    except (OSError, ValueError) as exc:
        raise InputError(
            f"not a usable directory path ({describe_os_error(exc)})", file=out, field="--out"
        ) from None


def _is_earlier_run(path: Path) -> bool:
    """True when ``path`` holds only what ``agglomeration run`` writes (this or an earlier version)."""
    from agglomeration.experiment.store import ResultStore

    names = {e.name for e in os.scandir(path)}
    if not names:
        return True
    if not names <= set(RUN_FILES) | set(_STORE_ENTRIES):
        return False
    if "manifest.json" in names:
        try:
            manifest = ResultStore(path).read_manifest()
        except ResultStoreError:
            return False
        return bool(manifest) and manifest.get("kind") == "run"
    return "summary.json" in names  # written by version 0.1 (no manifest)


def _input_files(scenario: Any) -> list[Path]:
    """The scenario file, its ``extends`` parents and every data file it was read from."""
    from agglomeration.scenario import PATH_KEYS

    # an optional file (``[growth] file``) is None when the scenario has none
    paths = (getattr(getattr(scenario, sec, None), key, None) for sec, key in PATH_KEYS)
    files = [Path(p) for p in paths if p]
    src = getattr(scenario, "source_path", None)
    while src is not None:
        src = Path(src)
        files.append(src)
        parent = None
        try:
            import tomllib

            parent = tomllib.loads(src.read_text(encoding="utf-8-sig")).get("extends")
        except (OSError, ValueError):
            parent = None
        src = (src.parent / parent) if isinstance(parent, str) and len(files) < 64 else None
    return files


def _inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
        return True
    except (ValueError, OSError, RuntimeError):
        return False


def prepare_output(out: str | Path, scenario: Any = None) -> Path:
    """Check ``out`` before a run and create the staging directory the run is written into.

    Refused (InputError, naming ``--out``): a file, a symbolic link, a path that cannot be created
    or written, a directory that holds the scenario's input files or anything other than an earlier
    run output.  Returns the staging directory (hidden, next to ``out``); :func:`_commit` renames it
    to ``out`` when the run is complete."""
    out_path = _resolve_out(out)
    field = "--out"
    try:
        is_link, exists = out_path.is_symlink(), out_path.exists()
        is_dir = out_path.is_dir()
    except (OSError, ValueError) as exc:
        raise InputError(
            f"not a usable directory path ({describe_os_error(exc)})", file=out, field=field
        ) from None
    if is_link:
        raise InputError(
            "is a symbolic link; give the directory it points to (run outputs never follow links)",
            file=out_path,
            field=field,
        )
    if exists and not is_dir:
        raise InputError(
            "expected an output directory, got an existing file", file=out, field=field
        )
    if scenario is not None:
        held = [f for f in _input_files(scenario) if _inside(f, out_path)]
        if held:
            raise InputError(
                f"holds input files of the scenario ({held[0].name}); a run output never overwrites "
                "its inputs: choose another --out",
                file=out_path,
                field=field,
            )
    if exists and not _is_earlier_run(out_path):
        raise InputError(
            "the directory exists and holds files that `agglomeration run` did not write; choose a "
            "new or empty --out (an earlier run output there would be replaced)",
            file=out_path,
            field=field,
        )
    try:
        out_path.parent.mkdir(parents=True, exist_ok=True)
        _clean_stale_staging(out_path.parent)
        staging = out_path.parent / f".run-{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp"
        staging.mkdir()
    except OSError as exc:
        raise InputError(
            f"cannot create the output directory: {exc.strerror or exc}", file=out_path, field=field
        ) from None
    return staging


def _clean_stale_staging(parent: Path, older_than_s: float = 3600.0) -> None:
    """Remove staging directories of runs killed before they finished (``.run-<pid>-*.tmp`` next to
    an output, older than an hour, whose process is gone)."""
    now = time.time()
    for entry in parent.glob(".run-*.tmp"):
        try:
            pid = int(entry.name.split("-")[1])
            if now - entry.lstat().st_mtime < older_than_s or not entry.is_dir():
                continue
            os.kill(pid, 0)
            continue  # the writer is still running
        except ProcessLookupError:
            pass
        except (ValueError, IndexError, OSError):
            continue
        shutil.rmtree(entry, ignore_errors=True)
        log.info("removed the staging directory of a run that did not finish: %s", entry)


def _fsync_tree(root: Path) -> None:
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            with open(os.path.join(dirpath, name), "rb") as fh:
                os.fsync(fh.fileno())
    fd = os.open(root, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _commit(staging: Path, out: Path) -> None:
    """Rename the complete staging directory to ``out``, replacing an earlier run output whole."""
    out = _resolve_out(out)
    old = None
    if out.exists() or out.is_symlink():
        if out.is_symlink() or not out.is_dir() or not _is_earlier_run(out):
            raise ResultStoreError(
                "changed while the run was going (now holds other files); the output is left in "
                f"{staging}",
                file=out,
                field="--out",
            )
        old = out.parent / f".run-old-{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp"
        os.rename(out, old)
    os.rename(staging, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)  # removes links, never follows them


def check_run_output(path: str | Path) -> list[str]:
    """Problems of a run output directory: no completion marker (incomplete or written by version
    0.1), or a listed file missing or changed.  Empty when the output is complete and intact."""
    from agglomeration.experiment.store import ResultStore

    return ResultStore(path).verify_completion()


# ------------------------------------------------------------------------------------------------
# the run
# ------------------------------------------------------------------------------------------------
def _check_steps(steps: Any) -> int | None:
    from agglomeration.scenario import MAX_STEPS

    if steps is None:
        return None
    if isinstance(steps, bool) or not isinstance(steps, int | np.integer):
        raise InputError(f"expected a whole number of steps, got {steps!r}", field="steps")
    if not 0 <= int(steps) <= MAX_STEPS:
        raise InputError(f"expected steps in [0, {MAX_STEPS}], got {steps}", field="steps")
    return int(steps)


def _check_seed(seed: Any) -> int | None:
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise InputError(f"expected a whole-number seed, got {seed!r}", field="seed")
    if not 0 <= int(seed) < 2**63:
        raise InputError(f"expected a seed in [0, 2**63), got {seed}", field="seed")
    return int(seed)


def _json_safe(value: Any) -> Any:
    """Non-finite floats as None (JSON has no NaN / Infinity); numpy scalars as Python numbers."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def _dump_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(_json_safe(data), indent=2, allow_nan=False) + "\n")


def _task(
    scenario: Any,
    steps: int,
    seed: int | None,
    out: Path,
    reference_overrides: dict[str, Any] | None = None,
) -> Any:
    from agglomeration.experiment.execute import RUN_OUTPUT, RunTask, base_scenario
    from agglomeration.experiment.runner import start_key
    from agglomeration.experiment.seeds import run_id
    from agglomeration.experiment.spec import DEFAULT_MODEL

    fp = scenario.fingerprint()
    src = getattr(scenario, "source_path", None)
    ref_fp = None
    if reference_overrides is not None:  # as an experiment's run from a shared start (plan_runs)
        base = base_scenario(str(Path(src).resolve()))
        ref = base.with_overrides(reference_overrides) if reference_overrides else base
        if ref.fingerprint() == fp:
            reference_overrides = None  # its own reference: it starts as it would on its own
        else:
            ref_fp = ref.fingerprint()
    return RunTask(
        run_id=run_id(start_key(fp, ref_fp), seed, steps, DEFAULT_MODEL),
        reference_overrides=reference_overrides,
        out=str(out),
        scenario_path=str(Path(src).resolve()) if src else "",
        overrides=scenario.applied_overrides if hasattr(scenario, "applied_overrides") else {},
        scenario_fingerprint=fp,
        seed=seed,
        steps=steps,
        model=DEFAULT_MODEL,
        output=dict(RUN_OUTPUT),
        meta={"variant": scenario.name, "point": 0, "replicate": 0},
    )


def _simulate(task: Any, scenario: Any, world: Any, progress: bool) -> Any:
    from agglomeration.experiment.execute import simulate

    if not progress:
        return simulate(task, scenario=scenario, world=world)
    from tqdm import tqdm

    # the burn-in runs before step 1 (while the model is built): say so instead of a bar stuck at 0
    burn_in = int(getattr(scenario, "burn_in", 0) or 0)
    desc = f"{scenario.name}: burn-in of {burn_in} steps first" if burn_in else scenario.name
    bar = tqdm(total=task.steps, desc=desc, unit="step", leave=False)

    def built(model: Any) -> None:
        # the clock (rate, ETA) starts with step 1: the burn-in is not a step of the bar
        bar.set_description(scenario.name, refresh=False)
        bar.reset(total=task.steps)

    def tick(model: Any) -> None:
        bar.update(1)
        bar.set_postfix(firms=model.firms.n_alive, refresh=False)

    try:
        return simulate(task, scenario=scenario, world=world, on_step=tick, on_built=built)
    finally:
        bar.close()


def _manifest(
    task: Any, scenario: Any, summary: dict[str, Any], world: Any = None
) -> dict[str, Any]:
    from agglomeration.experiment.store import FORMAT, environment_info, utc_now
    from agglomeration.metrics.registry import manifest_entries, world_entries

    return {
        "format": FORMAT,
        "kind": "run",
        "status": "complete",
        "created_at": utc_now(),
        "model": task.model,
        "run": {
            "run_id": task.run_id,
            "scenario_file": task.scenario_path or None,
            "overrides": task.overrides,
            "scenario_fingerprint": task.scenario_fingerprint,
            "seed": task.seed,
            "steps": task.steps,
            "model": task.model,
            "output": task.output,
            "meta": task.meta,
            # the overrides of the scenario whose settled start the run continues (None: its own)
            "reference_overrides": task.reference_overrides,
        },
        "scenario": {"name": scenario.name, "description": scenario.description},
        # where the scenario came from, under the keys batch tools read (map coordinates)
        "experiment": {"scenario": task.scenario_path or None, "overrides": task.overrides},
        "wall_time_s": summary["wall_time_s"],
        # registry entries of the metrics whose names depend on the data (logistics outcomes)
        "metrics": manifest_entries(world_entries(world)) if world is not None else {},
        "environment": environment_info(),
    }


def write_logistics_table(model: Any, path: Path) -> Any:
    """Write the run's logistics table (``logistics.csv``) and return it (a DataFrame)."""
    from agglomeration.logistics_outcomes import logistics_table

    table = logistics_table(model.state, model.world)
    table.to_csv(path, index=False)
    return table


def _write_outputs(
    staging: Path, task: Any, result: Any, summary: dict[str, Any], out: Path
) -> None:
    """The one-run store (through the batch writer), the user-facing files and the figures, into
    ``staging`` (renamed to ``out`` afterwards)."""
    from agglomeration.experiment.execute import write_run
    from agglomeration.experiment.store import LOGISTICS_FILE, ResultStore

    store = ResultStore(staging)
    row = write_run(store, task, result, summary["wall_time_s"])
    store.write_frame(
        "plan",
        pd.DataFrame(
            [
                {
                    **task.meta,
                    "run_id": task.run_id,
                    "seed": task.seed,
                    "seed_spawn_key": "",
                    "steps": task.steps,
                }
            ]
        ),
    )
    tables = result.tables
    tables["series"].to_csv(staging / "timeseries.csv", index=False)
    tables["regions"].to_csv(staging / "regions.csv", index=False)
    tables["firms"].drop(columns="step").to_parquet(staging / "firms.parquet", index=False)
    tables["links"].to_parquet(staging / "links.parquet", index=False)
    model = result.model
    write_logistics_table(model, staging / LOGISTICS_FILE)
    summary["run_id"] = row["run_id"]
    _dump_json(staging / "summary.json", summary)
    _dump_json(staging / "manifest.json", _manifest(task, model.spec, summary, model.world))
    if model.spec.output.figures:
        _write_figures(staging, model.spec, out)
    _fsync_tree(staging)
    # figures/ is a view of the data that `agglomeration plot` redraws (into the same place): the
    # completion marker covers the data and the files written from it, not the figures
    files = [
        str(p.relative_to(staging))
        for p in sorted(staging.rglob("*"))
        if p.is_file() and p.relative_to(staging).parts[0] != FIGURES
    ]
    store.write_completion("run", "complete", files)


def _write_figures(staging: Path, scenario: Any, out: Path) -> list[Path]:
    """The figures of the one-run store in ``staging`` with the builders ``agglomeration plot`` uses
    (:func:`agglomeration.report.figureset.write_figures`): the six-panel overview, the
    location-quotient heat map, the region map with the supplier flows, the supplier network and the
    route-option shares by destination."""
    from agglomeration.experiment.store import load_results
    from agglomeration.report.figureset import write_figures
    from agglomeration.report.mapdata import map_data_from_scenario

    return write_figures(
        load_results(staging),
        staging / FIGURES,
        map_data=map_data_from_scenario(scenario),
        source=str(out),
        steps_per_year=scenario.behaviour.steps_per_year,
    )


def run_scenario(
    scenario: Any,
    steps: int | None = None,
    seed: int | None = None,
    overrides: dict[str, Any] | None = None,
    out: str | Path | None = None,
    progress: bool = True,
    world: Any = None,
    reference_overrides: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Run ``scenario`` (path or Scenario) for ``steps`` (default: the scenario's) with replicate ``seed``.

    ``overrides``: dotted or ``__`` keys (``{"policy.delegation.WZ": 0.8}``).  ``reference_overrides``
    (a dict, possibly empty): the run starts from the settled state of its scenario file with these
    overrides instead of its own (the burn-in runs under them; what ``scenario`` sets beyond them, its
    levers, applies from the first observed step), as an experiment's variants with a shared start;
    needs a scenario read from a file.  Writes the one-run
    store described in the module docstring to ``out`` when given (checked before the run starts;
    written atomically).  Returns a dict with ``model``, ``summary`` (the summary.json content, with
    non-finite numbers as None), ``run_id`` and ``out``.
    """
    from agglomeration.scenario import Scenario, load_scenario

    n_steps = _check_steps(steps)
    seed = _check_seed(seed)
    if overrides is not None and not isinstance(overrides, dict):
        raise InputError(
            f"expected a mapping of dotted paths to values, got {type(overrides).__name__}",
            field="overrides",
        )
    if isinstance(scenario, str | Path):
        scenario = load_scenario(scenario, overrides or None)
    elif not isinstance(scenario, Scenario):
        raise InputError(
            f"expected a scenario file path or a Scenario, got {type(scenario).__name__}",
            field="scenario",
        )
    elif overrides:
        scenario = scenario.with_overrides(dict(overrides))
    n_steps = scenario.steps if n_steps is None else n_steps
    if reference_overrides is not None and not scenario.source_path:
        raise InputError(
            "a run from a shared start needs a scenario read from a file (its burn-in reloads it)",
            field="reference_overrides",
        )
    if reference_overrides is not None and world is not None:
        raise InputError(
            "a run from a shared start builds its own world", field="reference_overrides"
        )
    staging = prepare_output(out, scenario) if out is not None else None
    try:
        task = _task(
            scenario,
            n_steps,
            seed,
            _resolve_out(out) if out is not None else Path(),
            reference_overrides,
        )
        t0 = time.perf_counter()
        result = _simulate(task, scenario, world, progress)
        model = result.model
        summary = {
            "scenario": scenario.name,
            "description": scenario.description,
            "source": str(scenario.source_path or ""),
            "fingerprint": scenario.fingerprint(),
            "seed": seed,
            "scenario_seed": scenario.seed,
            "model_seed": model.seed_used,
            # where the run started: None = its own burn-in; else the overrides of the scenario file
            # whose settled state it continues (`agglomeration run --lever`)
            "reference_overrides": task.reference_overrides,
            # every override of the scenario file this run applied (--set and --lever values)
            "overrides": _json_safe(dict(task.overrides or {})),
            "steps": n_steps,
            # fewer than ``steps`` when the scenario's [stop] condition ended the run
            "steps_run": int(model.t),
            "wall_time_s": round(time.perf_counter() - t0, 3),
            "versions": _versions(),
            "metrics": _json_safe(dict(result.metrics)),
        }
        if staging is not None:
            _write_outputs(staging, task, result, summary, Path(out))  # type: ignore[arg-type]
            _commit(staging, Path(out))  # type: ignore[arg-type]
            staging = None
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
    return {
        "model": model,
        "summary": summary,
        "run_id": task.run_id,
        "out": Path(out) if out is not None else None,
    }
