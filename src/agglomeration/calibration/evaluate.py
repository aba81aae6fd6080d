"""Evaluating candidate parameter sets through the batch runner and result store.

A group of candidates (a few optimiser trials, the start point, the sweeps around the optimum) becomes
one small experiment: the base scenario with the targets' fixed overrides, one variant per candidate
(its parameter values as overrides), ``replicates`` seeds with *common random numbers* (replicate r of
every candidate gets the same seed, derived from the targets' seed), written by
:func:`agglomeration.experiment.runner.run_experiment` into its own result store under
``DIR/runs/<group>``.  Run ids are keyed by the resolved scenario (so by the parameter values) and the
seed; a killed calibration reruns the same group into the same store and only missing runs execute.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from agglomeration.calibration.moments import run_moments
from agglomeration.calibration.targets import Targets, _function_refs
from agglomeration.experiment.spec import (
    Experiment,
    OutputSpec,
    ReporterSpec,
    Variant,
)

__all__ = ["Evaluation", "Evaluator"]

log = logging.getLogger(__name__)


@contextlib.contextmanager
def _quiet_batches() -> Iterator[None]:
    """The batch runner's per-batch info lines (plan, consolidation) stay out of a calibration's log,
    which reports per candidate instead; warnings (failed runs, dead workers) still show, and
    ``--verbose`` shows everything."""
    names = ("agglomeration.experiment.runner", "agglomeration.experiment.store")
    loggers = [logging.getLogger(n) for n in names]
    previous = [lg.level for lg in loggers]
    for lg in loggers:
        if lg.getEffectiveLevel() == logging.INFO:
            lg.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for lg, level in zip(loggers, previous, strict=True):
            lg.setLevel(level)


@dataclass
class Evaluation:
    """What a group of candidates gave: ``values`` (one row per ok run: run_id, variant, replicate and
    one column per moment), ``failed`` (variant -> number of failed runs) and the runs executed now."""

    values: pd.DataFrame
    failed: dict[str, int]
    ran: int
    store: Path


class Evaluator:
    """Runs groups of candidates for a calibration (see the module docstring).

    ``executor`` is ``"serial"`` (in this process; tests), ``"local"`` / ``"dask"`` (a pool per group),
    or a :class:`~agglomeration.experiment.pools.SharedPool` kept open for the whole calibration.
    """

    def __init__(
        self,
        targets: Targets,
        out: Path,
        *,
        executor: Any = "serial",
        workers: int | None = None,
        steps_per_year: int = 4,
    ):
        self.targets = targets
        self.out = Path(out)
        self.executor = executor
        self.workers = workers
        self.steps_per_year = steps_per_year
        self.runs_done = 0

    def _values(self, path: str, value: float) -> Any:
        par = self.targets.parameters[path]
        return round(value) if par.integer else float(value)

    def experiment(
        self,
        group: str,
        candidates: dict[str, dict[str, float]],
        replicates: int,
        fresh_seeds: bool = False,
        holdout: bool = False,
        seed: int | None = None,
        seeding: str = "common",
    ) -> Experiment:
        """The experiment of one group (``candidates``: variant name -> parameter values).
        ``fresh_seeds``: seeds of an independent stream (master seed + 1), for re-evaluations;
        ``holdout``: runs for the held-out moments (``targets.holdout_steps`` steps); ``seed`` and
        ``seeding``: another seed stream (ABC: ``"independent"`` seeds per candidate)."""
        t = self.targets
        moments = t.holdout if holdout else t.moments
        needs_series = any(
            st is not None and st.window is not None
            for m in moments
            for st in (m.statistic(), m.denominator)
        )
        needs_regions = any(
            st is not None and st.selected for m in moments for st in (m.statistic(), m.denominator)
        )
        reporters = {
            name: ReporterSpec(function=ref, label=name)
            for name, ref in _function_refs(t, holdout=holdout).items()
        }
        variants = tuple(
            Variant(name=name, overrides={p: self._values(p, v) for p, v in values.items()})
            for name, values in candidates.items()
        )
        return Experiment(
            name=f"calibration-{t.name}-{group}"[:64],
            description=f"calibration {t.name}: {group}",
            scenario=t.scenario,
            model=t.model,
            replicates=replicates,
            seed=seed if seed is not None else (t.seed + 1) % 2**63 if fresh_seeds else t.seed,
            steps=t.holdout_steps if holdout else t.steps,
            seeding=seeding,
            overrides=dict(t.overrides),
            variants=variants,
            output=OutputSpec(series=needs_series, regions=needs_regions, links=False),
            reporters=reporters,
        )

    def evaluate(
        self,
        group: str,
        candidates: dict[str, dict[str, float]],
        replicates: int,
        fresh_seeds: bool = False,
        holdout: bool = False,
        seed: int | None = None,
        seeding: str = "common",
    ) -> Evaluation:
        """Run (or resume) the group's experiment and return the simulated moments of every run
        (the held-out moments with ``holdout``).

        Candidates with identical parameter values are run once and share their runs."""
        from agglomeration.experiment.runner import run_experiment
        from agglomeration.experiment.store import load_results

        unique: dict[tuple, str] = {}
        alias: dict[str, str] = {}
        for name, values in candidates.items():
            key = tuple(sorted((p, self._values(p, v)) for p, v in values.items()))
            alias[name] = unique.setdefault(key, name)
        kept = {name: candidates[name] for name in dict.fromkeys(alias.values())}
        exp = self.experiment(group, kept, replicates, fresh_seeds, holdout, seed, seeding)
        store = self.out / "runs" / group
        with _quiet_batches():
            summary = run_experiment(
                exp,
                store,
                workers=self.workers,
                executor=self.executor,
                progress=False,
            )
        ran = summary.done + summary.failed
        self.runs_done += ran
        frames = load_results(store)
        moments = self.targets.holdout if holdout else self.targets.moments
        values = run_moments(self.targets, frames, self.steps_per_year, moments)
        values = values[values["replicate"] < replicates]
        runs = frames["runs"]
        failed = runs[runs["status"] != "ok"].groupby("variant").size().to_dict()
        parts = []
        for name, canonical in alias.items():
            parts.append(values[values["variant"] == canonical].assign(variant=name))
        out = pd.concat(parts, ignore_index=True) if parts else values
        fails = {name: int(failed.get(canonical, 0)) for name, canonical in alias.items()}
        return Evaluation(values=out, failed=fails, ran=ran, store=store)
