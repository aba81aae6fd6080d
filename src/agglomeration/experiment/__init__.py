"""Batches: experiment files, designs, seeds, the runner and the result store.

- :func:`load_experiment` (:mod:`.spec`) reads and validates an experiment TOML file.
- :func:`run_experiment` (:mod:`.runner`) plans and runs it on a process pool, Dask or any
  ``concurrent.futures.Executor``, into a resumable result directory.
- :func:`load_results` (:mod:`.store`) opens a result directory as pandas frames.

Imported lazily, like the top-level package, so ``import agglomeration.experiment`` stays cheap.
See docs/EXPERIMENTS.md.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_LAZY = {
    "Experiment": "agglomeration.experiment.spec",
    "load_experiment": "agglomeration.experiment.spec",
    "experiment_from_dict": "agglomeration.experiment.spec",
    "build_design": "agglomeration.experiment.design",
    "run_experiment": "agglomeration.experiment.runner",
    "BatchSummary": "agglomeration.experiment.runner",
    "load_results": "agglomeration.experiment.store",
    "ResultStore": "agglomeration.experiment.store",
}

__all__ = list(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'agglomeration.experiment' has no attribute {name!r}")
