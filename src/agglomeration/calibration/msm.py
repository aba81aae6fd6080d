"""The method of simulated moments: the distance, the replicate pilot and the optuna search.

Distance of a candidate theta (inverse-variance weights; the seed noise of the simulated mean is added
to the target's standard error, so a noisy moment counts less)::

    J(theta) = sum_k (mbar_k(theta) - observed_k)^2 / (se_k^2 + s_k(theta)^2 / S)  +  sum_p prior penalty

with ``mbar_k`` the mean of moment k over the S replicates (common random numbers: the same S seeds for
every candidate) and ``s_k`` their standard deviation.  The search is optuna's TPE sampler (seeded; one
sampler per group of trials with a seed derived from the targets' seed and the group number, so a resumed
calibration does not depend on the state of a sampler that was lost with the stopped process) over the parameters' bounds (log scale for
lognormal priors), the study kept in SQLite in the calibration directory.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from agglomeration.calibration.evaluate import Evaluator
from agglomeration.calibration.moments import summarise, warn_undefined
from agglomeration.calibration.targets import Targets
from agglomeration.errors import InputError

__all__ = ["Search", "distance", "needed_replicates", "require_optuna"]

log = logging.getLogger(__name__)


#: study name inside DIR/study.db
STUDY = "msm"


def require_optuna() -> Any:
    """Import optuna, or InputError saying how to install the extra."""
    try:
        import optuna
    except ImportError:
        raise InputError(
            "the msm method needs optuna: pip install 'agglomeration[calibrate]'", field="--method"
        ) from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def distance(targets: Targets, row: pd.Series | dict[str, Any], params: dict[str, float]) -> float:
    """J(theta) of one summarised candidate (a row of :func:`~.moments.summarise`)."""
    total = 0.0
    n = float(row["n"])
    for m in targets.moments:
        mean = float(row[m.name])
        sd = float(row.get(f"{m.name}__sd", float("nan")))
        sim_var = sd * sd / n if n > 1 and math.isfinite(sd) else 0.0
        if not math.isfinite(mean):
            warn_undefined(m.name, mean)
            return float("inf")
        total += (mean - m.observed) ** 2 / (m.target_se**2 + sim_var)
    for path, par in targets.parameters.items():
        total += par.penalty(float(params[path]))
    return total


def needed_replicates(targets: Targets, summary: pd.Series, cap: int) -> tuple[int, pd.DataFrame]:
    """Replicates S so that the seed-noise standard error sd_k / sqrt(S) of every moment is below its
    target standard error (at most ``cap``); and the per-moment table behind it."""
    rows = []
    for m in targets.moments:
        sd = float(summary.get(f"{m.name}__sd", float("nan")))
        need = math.floor((sd / m.target_se) ** 2) + 1 if math.isfinite(sd) else 1
        rows.append(
            {"moment": m.name, "seed_sd": sd, "target_se": m.target_se, "replicates_needed": need}
        )
    table = pd.DataFrame(rows)
    n = int(max(2, min(cap, int(table["replicates_needed"].max()))))
    return n, table


@dataclass
class Trial:
    """A finished candidate: optuna trial number, parameters, distance and summarised moments."""

    number: int
    params: dict[str, float]
    value: float
    summary: dict[str, Any]


class Search:
    """The optuna study of one calibration directory (create, resume, ask in groups, tell)."""

    def __init__(self, targets: Targets, directory: Any, replicates: int):
        optuna = require_optuna()
        self.optuna = optuna
        self.targets = targets
        self.replicates = replicates
        storage = f"sqlite:///{(directory / 'study.db').resolve()}"
        self.study = optuna.create_study(
            storage=storage, study_name=STUDY, direction="minimize", load_if_exists=True
        )
        d = optuna.distributions
        self.dists = {
            path: (
                d.IntDistribution(math.ceil(p.bounds[0]), math.floor(p.bounds[1]))
                if p.integer
                else d.FloatDistribution(p.bounds[0], p.bounds[1], log=p.log)
            )
            for path, p in targets.parameters.items()
        }

    # ------------------------------------------------------------------ state
    def trials(self) -> list[Any]:
        return self.study.get_trials(deepcopy=False)

    def finished(self) -> list[Trial]:
        """Completed trials in order."""
        done = self.optuna.trial.TrialState.COMPLETE
        return [
            Trial(t.number, dict(t.params), float(t.value), dict(t.user_attrs.get("summary", {})))
            for t in self.trials()
            if t.state == done
        ]

    def pending(self) -> dict[int, list[Any]]:
        """Trials asked but not told (a killed session), by group number."""
        running = self.optuna.trial.TrialState.RUNNING
        groups: dict[int, list[Any]] = {}
        for t in self.trials():
            if t.state == running:
                groups.setdefault(int(t.user_attrs.get("group", -1)), []).append(t)
        return groups

    def next_group(self) -> int:
        groups = [int(t.user_attrs.get("group", 0)) for t in self.trials()]
        return max(groups, default=0) + 1

    # ------------------------------------------------------------------ asking
    def ask(self, k: int, group: int, start: dict[str, float] | None, startup: int) -> list[Any]:
        """``k`` new trials of ``group`` (the very first trial is the start point)."""
        with warnings.catch_warnings():  # optuna < 4 marks both options experimental
            warnings.simplefilter("ignore", self.optuna.exceptions.ExperimentalWarning)
            sampler = self._sampler(group, startup)
        self.study.sampler = sampler
        if not self.trials() and start is not None:
            self.study.enqueue_trial(start)
        out = []
        for _ in range(k):
            trial = self.study.ask(fixed_distributions=self.dists)
            trial.set_user_attr("group", group)
            out.append(trial)
        return out

    def _sampler(self, group: int, startup: int) -> Any:
        return self.optuna.samplers.TPESampler(
            seed=int(np.random.SeedSequence([self.targets.seed, group]).generate_state(1)[0]),
            n_startup_trials=startup,
            multivariate=True,
            constant_liar=True,
        )

    def tell(self, trial: Any, summary: dict[str, Any] | None, params: dict[str, float]) -> float:
        """Record a trial's distance (a trial whose runs all failed is recorded as failed)."""
        number = trial if isinstance(trial, int) else trial.number
        if summary is None:
            self.study.tell(number, state=self.optuna.trial.TrialState.FAIL)
            return float("nan")
        value = distance(self.targets, summary, params)
        self.study._storage.set_trial_user_attr(
            self.study._storage.get_trial_id_from_study_id_trial_number(
                self.study._study_id,
                number,
            ),
            "summary",
            {
                k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                for k, v in summary.items()
            },
        )
        if math.isfinite(value):
            self.study.tell(number, value)
        else:
            self.study.tell(number, state=self.optuna.trial.TrialState.FAIL)
        return value


def run_group(
    search: Search,
    evaluator: Evaluator,
    group: int,
    trials: list[Any],
    on_trial: Callable[[int, float], None] | None = None,
) -> int:
    """Evaluate one group of trials through the batch runner and tell the study; returns the runs."""
    candidates = {f"t{t.number}": dict(t.params) for t in trials}
    ev = evaluator.evaluate(f"group-{group:05d}", candidates, search.replicates)
    summ = summarise(ev.values, [m.name for m in search.targets.moments]).set_index("variant")
    for t in trials:
        name = f"t{t.number}"
        row = summ.loc[name].to_dict() if name in summ.index else None
        if row is not None:
            row["variant"] = name
            row["failed_runs"] = ev.failed.get(name, 0)
        if ev.failed.get(name):
            log.warning(
                "trial %d: %d of %d runs failed (see %s)",
                t.number, ev.failed[name], search.replicates, ev.store,
            )  # fmt: skip
        value = search.tell(t, row, dict(t.params))
        if on_trial is not None:
            on_trial(t.number, value)
    return ev.ran
