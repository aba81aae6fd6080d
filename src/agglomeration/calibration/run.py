"""One calibration, end to end: :func:`calibrate` (the engine of ``agglomeration calibrate``).

1. The targets file is read and checked completely (:func:`~.targets.load_targets`) before any run.
2. The calibration directory is created, or - when it holds an earlier calibration of the *same*
   targets - resumed (``calibration.json`` records the targets' fingerprint and the replicates chosen;
   a lock file keeps a second calibration out).
3. Replicates per candidate: ``--seeds`` / ``[search] replicates``, or automatic: a pilot at the start
   point (``pilot_replicates`` seeds, grown while it asks for more) gives each moment's seed noise, and S is
   the smallest number of seeds whose standard error sd_k / sqrt(S) is below every target standard
   error (at most ``max_replicates``).
4. The search (:mod:`.msm`): groups of optuna trials, each group one small experiment run by the batch
   runner into ``runs/group-NNNNN``; stopped and restarted, it finishes the open group and goes on.
5. Diagnostics at the optimum (:mod:`.diagnostics`): one-at-a-time sweeps (``runs/sweeps-<hash>``),
   the Jacobian, sandwich standard errors, the moment-fit and identification tables.
6. Outputs (:mod:`.outputs`).

The budget counts every model run: pilot + search + sweeps.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from agglomeration import MODEL_REVISION
from agglomeration.calibration import diagnostics as diag
from agglomeration.calibration import outputs
from agglomeration.calibration.evaluate import Evaluator
from agglomeration.calibration.moments import summarise
from agglomeration.calibration.msm import Search, needed_replicates, require_optuna, run_group
from agglomeration.calibration.targets import Targets, load_targets
from agglomeration.errors import InputError, ResultStoreError
from agglomeration.experiment.store import stored_model_revision, utc_now

__all__ = ["CalibrationResult", "calibrate"]

log = logging.getLogger(__name__)

FORMAT = "agglomeration-calibration/1"
METHODS = ("msm", "abc")
MAX_BUDGET = 1_000_000
#: best candidates of the search re-run on fresh seeds before the optimum is chosen
REEVALUATE = 5
#: draws of the seed bootstrap of the search's choice
BOOTSTRAP_DRAWS = 200


@dataclass
class CalibrationResult:
    """What :func:`calibrate` produced (the tables are also written to ``out``)."""

    out: Path
    replicates: int
    runs: dict[str, int]
    parameters: pd.DataFrame
    moments: pd.DataFrame
    identification: pd.DataFrame
    best_distance: float
    trials: int
    files: list[str] = field(default_factory=list)
    holdout: pd.DataFrame | None = None
    #: abc: the generation the posterior is and why the sampler stopped (None for msm)
    generation: int | None = None
    stopped: str | None = None


def check_options(
    method: str,
    budget: int,
    workers: int | None,
    seeds: int | None,
    executor: str = "local",
    scheduler: str | None = None,
) -> None:
    """The command-line options of a calibration, checked before anything is read or run."""
    if method not in METHODS:
        raise InputError(f"expected msm or abc, got {method!r}", field="--method")
    if method == "abc" and seeds is not None:
        raise InputError(
            "--seeds sets the seeds per candidate of msm; for abc set [abc] replicates (per particle) "
            "and fit_replicates in the targets file",
            field="--seeds",
        )
    from agglomeration.experiment.pools import check_executor, check_workers, is_whole

    if not is_whole(budget, 1, MAX_BUDGET):
        raise InputError(
            f"expected a whole number of model runs from 1 to {MAX_BUDGET:,}, got {budget!r}",
            field="--budget",
        )
    check_workers(workers, field="--workers")
    if seeds is not None and not is_whole(seeds, 1, 256):
        raise InputError(
            f"expected a whole number of seeds per candidate from 1 to 256, got {seeds!r}",
            field="--seeds",
        )
    check_executor(executor, scheduler, option_prefix="--")


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    with open(directory / ".lock", "a+") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise ResultStoreError(
                "another calibration is writing into this directory",
                file=str(directory),
                field="--out",
            ) from None
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _open_directory(
    out: Path, targets: Targets, resume: bool, method: str = "msm"
) -> dict[str, Any]:
    """The manifest of a new or resumed calibration directory (checked against ``targets``)."""
    manifest_path = out / "calibration.json"
    if out.exists() and not out.is_dir():
        raise ResultStoreError("expected a directory, got a file", file=str(out), field="--out")
    if manifest_path.is_file():
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ResultStoreError(f"calibration.json is damaged: {exc}", file=str(out)) from None
        if not isinstance(manifest, dict):
            raise ResultStoreError(
                f"calibration.json is damaged: a JSON {type(manifest).__name__}, expected an object",
                file=str(manifest_path),
            )
        if manifest.get("fingerprint") != targets.fingerprint():
            raise ResultStoreError(
                "this directory holds a calibration of different targets (moments, parameters, "
                "bounds, scenario overrides, seed or search settings changed); use a new --out",
                file=str(out),
                field="--out",
            )
        stored = stored_model_revision({"environment": manifest})
        if stored != MODEL_REVISION:
            raise ResultStoreError(
                f"this calibration was computed by model revision {stored} and this package computes "
                f"revision {MODEL_REVISION} (a change of the model moved its results: CHANGELOG.md); "
                "use a new --out",
                file=str(out),
                field="--out",
            )
        settings = json.loads(targets.abc.model_dump_json()) if method == "abc" else None
        if manifest.get("method", "msm") != method or manifest.get("abc") != settings:
            raise ResultStoreError(
                f"this directory holds a calibration by --method {manifest.get('method', 'msm')}"
                + (" with other [abc] settings" if manifest.get("method") == method else "")
                + "; use a new --out",
                file=str(out),
                field="--out",
            )
        return manifest
    if resume:
        raise ResultStoreError(
            "nothing to resume: no calibration.json in this directory", file=str(out)
        )
    if out.exists() and any(out.iterdir()):
        raise ResultStoreError(
            "the directory exists, is not empty and holds no calibration; choose a new --out",
            file=str(out),
            field="--out",
        )
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ResultStoreError(
            f"cannot create the directory: {exc.strerror or exc}", file=str(out)
        ) from None
    return {
        "format": FORMAT,
        "created_at": utc_now(),
        "targets_file": str(targets.source_path),
        "fingerprint": targets.fingerprint(),
        "model_revision": MODEL_REVISION,
        "targets": json.loads(targets.model_dump_json()),
        "method": method,
        "abc": json.loads(targets.abc.model_dump_json()) if method == "abc" else None,
        "replicates": targets.abc.replicates if method == "abc" else None,
        "status": "running",
    }


def _write_manifest(out: Path, manifest: dict[str, Any]) -> None:
    tmp = out / "calibration.json.tmp"
    tmp.write_text(json.dumps(manifest, indent=2, default=str), encoding="utf-8")
    tmp.replace(out / "calibration.json")


def _pilot(
    targets: Targets, evaluator: Evaluator, start: dict[str, float], manifest: dict[str, Any]
) -> tuple[int, int]:
    """Replicates per candidate from a pilot at the start point; returns (S, pilot runs)."""
    s = targets.search
    names = [m.name for m in targets.moments]
    n = s.pilot_replicates
    ev = evaluator.evaluate("pilot", {"start": start}, n)
    row = summarise(ev.values, names).iloc[0]
    need, table = needed_replicates(targets, row, s.max_replicates)
    while need > n:  # grow the pilot until its own estimate of the noise asks for no more seeds
        n = need
        ev = evaluator.evaluate("pilot", {"start": start}, n)
        row = summarise(ev.values, names).iloc[0]
        need, table = needed_replicates(targets, row, s.max_replicates)
    noisy = table[table["replicates_needed"] > s.max_replicates]["moment"].tolist()
    if noisy:
        log.warning(
            "seed noise of %s stays above the target standard error even with %d replicates (cap)",
            ", ".join(noisy), s.max_replicates,
        )  # fmt: skip
    table.to_csv(evaluator.out / "pilot.csv", index=False)
    manifest["pilot"] = {"replicates_run": n, "table": table.to_dict(orient="records")}
    return max(2, min(need, s.max_replicates)), n


def _check_budget(targets: Targets, budget: int, seeds: int | None) -> None:
    """The smallest budget that leaves two candidates, checked before anything runs (exact for a fixed
    number of seeds; a lower bound, at 2 seeds, when a pilot will choose them)."""
    fixed = seeds or (targets.search.replicates if targets.search.replicates != "auto" else None)
    s = int(fixed) if fixed is not None else 2
    pilot = 0 if fixed is not None else targets.search.pilot_replicates
    need = pilot + (2 + REEVALUATE) * s + _sweep_runs(targets, s)
    if budget < need:
        how = (
            f"{s} seeds per candidate" if fixed is not None else "at least 2 seeds after the pilot"
        )
        raise InputError(
            f"a budget of {budget} model runs is too small: two candidates, the re-evaluation of the "
            f"best, the held-out runs and the sweeps of {len(targets.parameters)} parameter(s) need "
            f"{'' if fixed is not None else 'at least '}{need} runs ({how})",
            field="--budget",
        )


def _sweep_runs(targets: Targets, replicates: int) -> int:
    """Runs after the search: the sweeps around the optimum and the held-out runs (one candidate)."""
    side = max(1, targets.search.sweep_points // 2)
    return (2 * side * len(targets.parameters) + (1 if targets.holdout else 0)) * replicates


def calibrate(
    targets_path: str | Path | Targets,
    out: str | Path,
    *,
    method: str = "msm",
    budget: int = 2000,
    workers: int | None = None,
    executor: str = "local",
    scheduler: str | None = None,
    resume: bool = False,
    seeds: int | None = None,
    scenario_out: str | Path | None = None,
) -> CalibrationResult:
    """Calibrate the model to a targets file (or a loaded :class:`~.targets.Targets`) into ``out``
    (created, or resumed when it holds a calibration of the same targets).  ``executor``: ``local`` (a process pool of ``workers``), ``dask``
    (``scheduler`` or a local cluster) or ``serial`` (this process).  Raises InputError /
    ResultStoreError before any run for bad input.  ``scenario_out``: also write the calibrated
    scenario there (its ``extends`` relative to that file).  KeyboardInterrupt (or
    :class:`~agglomeration.experiment.runner.BatchInterrupted`) when stopped - rerun to resume."""
    check_options(method, budget, workers, seeds, executor, scheduler)
    if scenario_out is not None:
        outputs.check_scenario_out(Path(scenario_out))
    if method == "msm":
        require_optuna()
    targets = targets_path if isinstance(targets_path, Targets) else load_targets(targets_path)
    if method == "abc":
        _check_abc_budget(targets, budget)
    else:
        _check_budget(targets, budget, seeds)
    out = Path(out).resolve()
    manifest = _open_directory(out, targets, resume, method)
    if seeds is not None and manifest.get("replicates") not in (None, seeds):
        raise InputError(
            f"this calibration runs {manifest['replicates']} seeds per candidate; resume it without "
            f"--seeds or with --seeds {manifest['replicates']}",
            field="--seeds",
        )
    with _locked(out):
        _write_manifest(out, manifest)
        pool = None
        try:
            if executor != "serial":
                from agglomeration.experiment.pools import SharedPool, default_workers

                pool = SharedPool.open(workers or default_workers(), executor, scheduler)
            if method == "abc":
                result = _calibrate_abc(targets, out, manifest, budget, workers, pool or "serial")
            else:
                result = _calibrate(
                    targets, out, manifest, budget, workers, pool or "serial", seeds
                )
        finally:
            if pool is not None:
                pool.shutdown(wait=False)
    if scenario_out is not None:
        best = result.parameters.set_index("parameter")["estimate"].to_dict()
        text = (out / "calibrated_scenario.toml").read_text(encoding="utf-8").splitlines()
        header = "\n".join(line[2:] for line in text if line.startswith("# "))
        result.files.append(str(outputs.write_scenario(targets, best, Path(scenario_out), header)))
    return result


def _evaluator(
    targets: Targets, out: Path, workers: int | None, executor: Any
) -> tuple[Any, Evaluator]:
    """The base scenario with the fixed overrides, and the evaluator of this calibration's runs."""
    from agglomeration.experiment.execute import base_scenario

    fixed = base_scenario(str(targets.scenario))
    fixed = fixed.with_overrides(targets.overrides) if targets.overrides else fixed
    spy = int(fixed.behaviour.steps_per_year)
    return fixed, Evaluator(targets, out, executor=executor, workers=workers, steps_per_year=spy)


def _calibrate(
    targets: Targets,
    out: Path,
    manifest: dict[str, Any],
    budget: int,
    workers: int | None,
    executor: Any,
    seeds: int | None,
) -> CalibrationResult:
    fixed, evaluator = _evaluator(targets, out, workers, executor)
    start = targets.start_point(fixed)
    replicates = manifest.get("replicates")
    pilot_runs = int((manifest.get("pilot") or {}).get("replicates_run", 0))
    if replicates is None:
        fixed_s = seeds or (
            targets.search.replicates if targets.search.replicates != "auto" else None
        )
        if fixed_s is None:
            replicates, pilot_runs = _pilot(targets, evaluator, start, manifest)
        else:
            replicates = int(fixed_s)
        manifest["replicates"] = replicates
        _write_manifest(out, manifest)
    log.info("%d replicates (seeds) per candidate", replicates)
    sweep_runs = _sweep_runs(targets, replicates) + REEVALUATE * replicates
    n_max = (budget - pilot_runs - sweep_runs) // replicates
    if n_max < 2:
        raise InputError(
            f"a budget of {budget} model runs leaves room for {max(n_max, 0)} candidates after the pilot "
            f"({pilot_runs} runs), the re-evaluation and the sweeps ({sweep_runs} runs) at "
            f"{replicates} seeds each; "
            f"expected at least {pilot_runs + sweep_runs + 2 * replicates}",
            field="--budget",
        )
    search = Search(targets, out, replicates)
    _search_loop(search, evaluator, targets, start, n_max, executor)
    return _finish(targets, out, manifest, search, evaluator, start, replicates, pilot_runs)


def _check_abc_budget(targets: Targets, budget: int) -> None:
    """ABC needs at least one generation (the prior sample) plus the fit and held-out runs."""
    s = targets.abc
    need = s.population * s.replicates + s.fit_replicates * (2 if targets.holdout else 1)
    if budget < need:
        raise InputError(
            f"a budget of {budget} model runs is too small for ABC: the prior sample of "
            f"{s.population} particles x {s.replicates} run(s), the fit and the held-out runs need "
            f"{need} runs (and every later generation more)",
            field="--budget",
        )


def _calibrate_abc(
    targets: Targets,
    out: Path,
    manifest: dict[str, Any],
    budget: int,
    workers: int | None,
    executor: Any,
) -> CalibrationResult:
    """ABC-SMC (calibration/abc.py), then the moment fit and held-out moments at the posterior
    median on fresh seeds, the tables, the figure and the calibrated scenario."""
    from agglomeration.calibration import abc

    _, evaluator = _evaluator(targets, out, workers, executor)
    s = targets.abc
    reserve = s.fit_replicates * (2 if targets.holdout else 1)

    def report(g: abc.Generation) -> None:
        log.info(
            "generation %d: tolerance %.4g, %d accepted of %d proposed (%.0f%%), ESS %.0f",
            g.number, g.epsilon, len(g.z), g.proposed, 100 * g.acceptance, g.ess,
        )  # fmt: skip

    gens, used = abc.run_abc(targets, evaluator, budget - reserve, report)
    post = gens[-1]
    if len(gens) >= s.max_generations:
        stop = f"max_generations ({s.max_generations}) reached"
    elif post.number > 0 and post.acceptance < s.min_acceptance:
        stop = f"acceptance {post.acceptance:.3f} below min_acceptance {s.min_acceptance}"
    else:
        stop = (
            f"the budget was spent before generation {post.number + 1} could be completed "
            "(a larger --budget resumes it)"
        )
    params = abc.posterior_table(targets, post)
    best = params.set_index("parameter")["estimate"].to_dict()
    key = hashlib.sha256(json.dumps(best, sort_keys=True).encode()).hexdigest()[:10]
    ev = evaluator.evaluate(f"abc-fit-{key}", {"median": best}, s.fit_replicates, fresh_seeds=True)
    summary = summarise(ev.values, [m.name for m in targets.moments])
    if summary.empty:
        raise RuntimeError("every run at the posterior median failed; see the runs")
    fit = diag.moment_fit(targets, summary.iloc[0].to_dict())
    held_out, holdout_runs = _holdout(
        targets, evaluator, best, s.fit_replicates, key, "the posterior median"
    )
    gen_table = abc.generations_table(gens)
    particles = abc.particles_frame(targets, gens)
    value = float(fit["contribution"].sum())
    outputs.write_table(
        params,
        out,
        "parameters",
        "Posterior (ABC-SMC)",
        f"The last complete generation ({post.number}) of {len(post.z)} weighted particles: the "
        "estimate is the posterior median, se the posterior sd, ci_low/ci_high the 2.5 and 97.5 "
        "percentiles. 'weak': the 95% interval covers more than half the prior's range.",
    )
    outputs.write_table(
        fit,
        out,
        "moments",
        "Moment fit at the posterior median",
        f"Simulated mean over {s.fit_replicates} fresh seeds with its 95% interval; t = (simulated - "
        f"observed) / sqrt(target SE^2 + simulation SE^2); sum of t^2 = {value:.4g}.",
    )
    outputs.write_table(
        gen_table,
        out,
        "generations",
        "ABC-SMC generations",
        "Tolerance (the distance a proposal had to beat), proposals, acceptance rate, effective sample "
        f"size of the weights and model runs per generation; generation 0 is the prior sample.  "
        f"Stopped after generation {post.number}: {stop}.",
    )
    particles.to_csv(out / "posterior.csv", index=False)
    outputs.save_png(
        outputs.posterior_figure(targets, particles, params, gen_table),
        out / "figures",
        "posterior",
    )
    header = (
        f"Calibrated by `agglomeration calibrate --method abc` from "
        f"{Path(str(targets.source_path)).name} ({utc_now()}).\nPosterior medians of ABC-SMC "
        f"(generation {post.number}, {len(post.z)} particles); posterior in posterior.csv and "
        "parameters.csv of the calibration."
    )
    outputs.write_scenario(targets, best, out / "calibrated_scenario.toml", header)
    (out / "best.json").write_text(
        json.dumps({"distance": value, "parameters": best}, indent=2), encoding="utf-8"
    )
    runs = {
        "abc": used,
        "fit": s.fit_replicates,
        "holdout": holdout_runs,
    }
    runs["total"] = sum(runs.values())
    manifest.update(
        status="complete",
        finished_at=utc_now(),
        best={"distance": value, "parameters": best, "generation": post.number},
        runs=runs,
        generations=len(gens),
        stopped=stop,
    )
    _write_manifest(out, manifest)
    return CalibrationResult(
        out=out,
        replicates=s.replicates,
        runs=runs,
        parameters=params,
        moments=fit,
        identification=gen_table,
        best_distance=value,
        trials=int(gen_table["proposed"].sum()),
        generation=post.number,
        stopped=stop,
        holdout=held_out,
    )


def _group_size(executor: Any, replicates: int) -> int:
    capacity = executor.capacity() if hasattr(executor, "capacity") else 1
    return max(1, math.ceil(capacity / replicates))


def _search_loop(
    search: Search,
    evaluator: Evaluator,
    targets: Targets,
    start: dict[str, float],
    n_max: int,
    executor: Any,
) -> None:
    startup = targets.search.startup_trials or max(10, 2 * len(targets.parameters) + 2)
    startup = min(startup, max(1, n_max // 3))
    # the best so far includes the candidates a resumed calibration finished before its stop
    best = [min((t.value for t in search.finished() if math.isfinite(t.value)), default=math.inf)]

    def report(number: int, value: float) -> None:
        best[0] = min(best[0], value) if math.isfinite(value) else best[0]
        log.info("candidate %d/%d: distance %.4g (best %.4g)", number + 1, n_max, value, best[0])

    for group, trials in sorted(search.pending().items()):  # a killed session's open groups
        log.info("resuming group %d (%d candidates)", group, len(trials))
        run_group(search, evaluator, group, trials, report)
    size = _group_size(executor, search.replicates)
    while len(search.trials()) < n_max:
        group = search.next_group()
        k = min(size, n_max - len(search.trials()))
        trials = search.ask(k, group, start, startup)
        run_group(search, evaluator, group, trials, report)


def _finish(
    targets: Targets,
    out: Path,
    manifest: dict[str, Any],
    search: Search,
    evaluator: Evaluator,
    start: dict[str, float],
    replicates: int,
    pilot_runs: int,
) -> CalibrationResult:
    finished = search.finished()
    if not finished:
        # a candidate fails when all its runs failed, or when a moment is undefined (NaN: a ratio
        # over a zero denominator, a metric without a value) in its runs' mean
        undefined = sorted(
            {
                m.name
                for t in search.trials()
                for m in targets.moments
                if isinstance(t.user_attrs.get("summary"), dict)
                and t.user_attrs["summary"].get(m.name, 0.0) is None
            }
        )
        why = (
            f"moment(s) {', '.join(undefined)} undefined (NaN: e.g. a ratio whose denominator is 0 "
            "over its window) in the mean of every candidate's runs; change their definition in the "
            "targets file"
            if undefined
            else "every candidate's runs failed"
        )
        raise RuntimeError(f"no candidate has a distance: {why}; see the runs in {out / 'runs'}")
    names = [m.name for m in targets.moments]
    best, refit = _reevaluate(targets, evaluator, finished, replicates)
    best_params = {p: float(best.params[p]) for p in targets.parameters}
    fresh = refit[best.number][0]  # the distance on the fresh seeds (the fit table's)
    # sweeps around the optimum (same seeds); the group name is bound to the optimum
    key = hashlib.sha256(json.dumps(best_params, sort_keys=True).encode()).hexdigest()[:10]
    cand = diag.sweep_candidates(targets, best_params)
    ev = evaluator.evaluate(f"sweeps-{key}", cand, replicates)
    summary = summarise(ev.values, names)
    sweeps = diag.sweep_frame(targets, best_params, best.summary, summary)
    better = _better_sweep_point(targets, summary, cand, best.value, best_params)
    if better:
        log.warning(
            "a sweep point has a lower distance than the optimum found (%s); the search has not "
            "converged: rerun with a larger --budget (the calibration resumes)", better,
        )  # fmt: skip
        manifest["sweep_improvement"] = better
    else:  # a resumed search may have moved past the point an earlier finish found better
        manifest.pop("sweep_improvement", None)
    g = diag.jacobian(targets, sweeps)
    cov, cond = diag.sandwich(targets, g, best.summary)
    params = diag.parameter_table(targets, best_params, start, cov)
    boot = diag.selection_bootstrap(
        targets,
        _search_values(targets, out, evaluator.steps_per_year),
        {f"t{t.number}": dict(t.params) for t in finished},
        BOOTSTRAP_DRAWS,
        targets.seed,
    )
    same = float((boot["variant"] == f"t{best.number}").mean()) if len(boot) else float("nan")
    for q, col in ((0.025, "seed_bootstrap_low"), (0.975, "seed_bootstrap_high")):
        params[col] = [
            float(boot[p].quantile(q)) if len(boot) else np.nan for p in params["parameter"]
        ]
    manifest["seed_bootstrap_same_choice"] = same
    fit = diag.moment_fit(targets, refit[best.number][1])
    held_out, holdout_runs = _holdout(
        targets, evaluator, best_params, replicates, key, "the optimum"
    )
    ident = diag.identification_table(targets, g, sweeps)
    trials = _trials_frame(targets, search)
    trials["distance_fresh_seeds"] = trials["trial"].map(lambda n: refit.get(n, (float("nan"),))[0])
    start_value = trials.loc[trials["trial"] == 0, "distance"]
    figures = out / "figures"
    outputs.save_png(
        outputs.convergence_figure(
            trials, replicates, float(start_value.iloc[0]) if len(start_value) else None
        ),
        figures,
        "convergence",
    )
    outputs.save_png(outputs.profile_figure(targets, sweeps, params), figures, "profiles")
    _write_tables(out, targets, params, fit, ident, g, cov, cond, trials, sweeps, fresh, replicates)
    header = (
        f"Calibrated by `agglomeration calibrate` from {Path(str(targets.source_path)).name} "
        f"({utc_now()}).\nMSM distance {fresh:.4g} (fresh seeds) over {len(targets.moments)} moments; "
        f"{replicates} seeds per candidate; standard errors in parameters.csv of the calibration."
    )
    outputs.write_scenario(targets, best_params, out / "calibrated_scenario.toml", header)
    runs = {
        "pilot": pilot_runs,
        "search": len(finished) * replicates,
        "re-evaluation": len(refit) * replicates,
        "sweeps": len(cand) * replicates,
        "holdout": holdout_runs,
    }
    runs["total"] = sum(runs.values())
    manifest.update(
        status="complete",
        finished_at=utc_now(),
        best={
            "trial": best.number,
            "distance": fresh,
            "search_distance": best.value,
            "parameters": best_params,
        },
        runs=runs,
        condition_number=cond,
    )
    _write_manifest(out, manifest)
    return CalibrationResult(
        out=out,
        replicates=replicates,
        runs=runs,
        parameters=params,
        moments=fit,
        holdout=held_out,
        identification=ident,
        best_distance=fresh,
        trials=len(finished),
    )


def _holdout(
    targets: Targets,
    evaluator: Evaluator,
    best_params: dict[str, float],
    replicates: int,
    key: str,
    at: str,
) -> tuple[pd.DataFrame | None, int]:
    """The held-out moments at ``at`` (the optimum, the posterior median): its runs on the fresh seeds
    of the re-evaluation, for ``targets.holdout_steps`` steps (the fitted moments' steps are the same
    runs' first ``steps``), written to holdout.csv/.md.  Returns their fit table (None without any)
    and the runs it took."""
    if not targets.holdout:
        return None, 0
    names = [m.name for m in targets.holdout]
    ev = evaluator.evaluate(
        f"holdout-{key}", {"optimum": best_params}, replicates, fresh_seeds=True, holdout=True
    )
    summary = summarise(ev.values, names)
    if summary.empty:
        raise RuntimeError("every held-out run failed; see the runs in the calibration directory")
    table = diag.moment_fit(targets, summary.iloc[0].to_dict(), targets.holdout)
    outputs.write_table(
        table.drop(columns=["contribution", "share_of_distance"]),
        evaluator.out,
        "holdout",
        f"Held-out moments at {at} (not fitted: an out-of-sample check)",
        f"Simulated mean over {replicates} fresh seeds of {at} run for {targets.holdout_steps} "
        "steps, with its 95% interval; t = (simulated - observed) / sqrt(target SE^2 + simulation "
        "SE^2).  These moments played no part in the estimation.",
    )
    return table, replicates


def _reevaluate(
    targets: Targets, evaluator: Evaluator, finished: list[Any], replicates: int
) -> tuple[Any, dict[int, tuple[float, dict[str, Any]]]]:
    """The best candidates of the search re-run on fresh seeds (an independent stream, common to
    them): the optimum is the best *there*, so a candidate that won the search on a lucky draw of the
    search seeds (the winner's curse of a noisy objective) does not decide.  Returns the optimum and
    trial number -> (distance, summary) on the fresh seeds."""
    from agglomeration.calibration.msm import distance

    top = sorted(finished, key=lambda t: t.value)[:REEVALUATE]
    cand = {f"t{t.number}": dict(t.params) for t in top}
    key = hashlib.sha256(json.dumps(cand, sort_keys=True).encode()).hexdigest()[:10]
    ev = evaluator.evaluate(f"reevaluate-{key}", cand, replicates, fresh_seeds=True)
    summary = summarise(ev.values, [m.name for m in targets.moments]).set_index("variant")
    refit: dict[int, tuple[float, dict[str, Any]]] = {}
    for t in top:
        name = f"t{t.number}"
        if name in summary.index:
            row = {**summary.loc[name].to_dict(), "variant": name}
            refit[t.number] = (distance(targets, row, t.params), row)
    if not refit:
        raise RuntimeError(
            "every run of the re-evaluation failed; see the runs in the calibration directory"
        )
    number = min(refit, key=lambda n: refit[n][0])
    best = next(t for t in top if t.number == number)
    if number != top[0].number:
        log.info(
            "re-evaluated on fresh seeds, candidate %d (distance %.4g) beats the search's best, "
            "candidate %d (numbered as in the progress lines; trials.csv counts from 0)",
            number + 1, refit[number][0], top[0].number + 1,
        )  # fmt: skip
    return best, refit


def _better_sweep_point(
    targets: Targets,
    summary: pd.DataFrame,
    cand: dict[str, dict[str, float]],
    best_value: float,
    best_params: dict[str, float],
) -> str:
    """Description of the best sweep point when it beats the optimum, else ''."""
    from agglomeration.calibration.msm import distance

    found, text = best_value, ""
    for row in summary.to_dict(orient="records"):
        params = cand.get(row["variant"])
        if params is None:
            continue
        value = distance(targets, row, params)
        if value < found:
            found = value
            changed = {p: v for p, v in params.items() if v != best_params.get(p)}
            text = f"distance {value:.4g} < {best_value:.4g} at " + ", ".join(
                f"{p} = {v:.4g}" for p, v in changed.items()
            )
    return text


def _search_values(targets: Targets, out: Path, steps_per_year: int) -> pd.DataFrame:
    """Per-run moments of every search candidate (variant ``t<trial>``), from the group stores."""
    from agglomeration.calibration.moments import run_moments
    from agglomeration.experiment.store import load_results

    frames = [
        run_moments(targets, load_results(d), steps_per_year)
        for d in sorted((out / "runs").glob("group-*"))
        if (d / "manifest.json").is_file()
    ]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _trials_frame(targets: Targets, search: Search) -> pd.DataFrame:
    rows = []
    for t in search.finished():
        row = {"trial": t.number, "distance": t.value, **t.params}
        row.update({m.name: t.summary.get(m.name) for m in targets.moments})
        rows.append(row)
    return pd.DataFrame(rows)


def _write_tables(
    out: Path,
    targets: Targets,
    params: pd.DataFrame,
    fit: pd.DataFrame,
    ident: pd.DataFrame,
    g: pd.DataFrame,
    cov: pd.DataFrame,
    cond: float,
    trials: pd.DataFrame,
    sweeps: pd.DataFrame,
    best_value: float,
    replicates: int,
) -> None:
    outputs.write_table(
        params,
        out,
        "parameters",
        "Estimated parameters",
        "Standard errors: MSM sandwich from the Jacobian of the moments along the sweeps (curvature of "
        f"the objective), target SEs plus the seed noise of {replicates} replicates. Condition number "
        f"of G'WG: {cond:.3g}. 'weak': the 95% interval covers more than half the range; "
        "'not identified': no moment moves with the parameter. seed_bootstrap_low/high: 2.5 and 97.5 "
        "percentiles of the candidate the search would choose when its replicates are resampled "
        f"({BOOTSTRAP_DRAWS} draws, no new runs): how much the choice depends on the seeds.",
    )
    outputs.write_table(
        fit,
        out,
        "moments",
        "Moment fit at the optimum",
        f"Distance J = {best_value:.4g} (sum of the contributions). Simulated mean over {replicates} "
        "fresh seeds (not the seeds the search selected on) with its 95% interval; t = (simulated - "
        "observed) / sqrt(target SE^2 + simulation SE^2).",
    )
    outputs.write_table(
        ident.reset_index(),
        out,
        "identification",
        "Identification: moment change across each parameter's sweep, in target standard errors",
        "|value| >= 1: the moment moves by at least one target SE across the sweep and informs the "
        "parameter; a column of values near 0 means the parameter is not identified by these moments.",
    )
    g.index.name = "moment"
    g.reset_index().to_csv(out / "jacobian.csv", index=False)
    cov.index.name = "parameter"
    cov.reset_index().to_csv(out / "covariance.csv", index=False)
    trials.to_csv(out / "trials.csv", index=False)
    sweeps.to_csv(out / "sweeps.csv", index=False)
    best = params.set_index("parameter")["estimate"].to_dict()
    (out / "best.json").write_text(
        json.dumps({"distance": best_value, "parameters": best}, indent=2)
    )
