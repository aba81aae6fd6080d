"""User-defined run metrics ("reporters") declared in an experiment file.

An experiment's ``[reporters.NAME]`` table names a function ``"package.module:function"`` (installed
code, like a custom ``model`` class).  At the end of every batch run
(:func:`agglomeration.experiment.execute.simulate`, in the worker) it is called with the run's tables,
and the batch stores the number it returns in the ``runs`` table under ``NAME``, next to the built-in
metrics (so ``compare``, ``plot``, ``sensitivity`` and ``discover`` treat it like any other metric; its
label, unit and kind come from the declaration).

The function receives a :class:`RunTables` (a read-only mapping computed on first access):

- ``series``  the per-step series (``model.series_frame()``),
- ``regions`` the final region x sector table (firms, employment, output, lq),
- ``firms``   the final live firm table,
- ``links``   the final supplier links (buyer, supplier, regions, input sector, value, cost, distance),
- ``metrics`` the built-in headline metrics as a one-row frame (``tables.metrics_dict`` as a dict).

Example::

    def chain_firms(tables):
        regions = tables["regions"]
        return float(regions.loc[regions["sector"].isin(["components", "electronics"]), "firms"].sum())

Reporters are checked before a batch starts (:func:`check_reporters`): each is imported and evaluated
once on the initial state of the first run, so a typo or a function that does not return a number stops
the batch with exit code 2 instead of failing every run.
"""

from __future__ import annotations

import importlib
import math
import numbers
from collections.abc import Callable, Iterator, Mapping
from functools import lru_cache
from typing import Any

import pandas as pd

from agglomeration.errors import InputError

__all__ = ["RunTables", "check_reporters", "compute_reporters", "load_reporter"]

TABLES = ("series", "regions", "firms", "links", "metrics")


class RunTables(Mapping[str, pd.DataFrame]):
    """The tables of one run, computed from the model on first access (see the module docstring)."""

    def __init__(self, model: Any):
        self._model = model
        self._cache: dict[str, pd.DataFrame] = {}

    @property
    def metrics_dict(self) -> dict[str, float]:
        """The built-in headline metrics."""
        return dict(self._model.headline_metrics())

    def __getitem__(self, key: str) -> pd.DataFrame:
        if key not in TABLES:
            raise KeyError(f"{key!r}: the run tables are {', '.join(TABLES)}")
        if key not in self._cache:
            m = self._model
            build = {
                "series": m.series_frame,
                "regions": m.region_table,
                "firms": m.firms_frame,
                "links": m.links_frame,
                "metrics": lambda: pd.DataFrame([self.metrics_dict]),
            }[key]
            self._cache[key] = build()
        return self._cache[key]

    def __iter__(self) -> Iterator[str]:
        return iter(TABLES)

    def __len__(self) -> int:
        return len(TABLES)


@lru_cache(maxsize=64)
def load_reporter(ref: str) -> Callable[[RunTables], Any]:
    """Import ``"package.module:function"``; :class:`InputError` naming the reference when it fails."""
    module_name, _, name = ref.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise InputError(
            f"cannot import reporter module {module_name!r}: {exc}", field="reporters"
        ) from None
    fn = getattr(module, name, None)
    if not callable(fn):
        raise InputError(f"{module_name!r} has no function {name!r}", field="reporters")
    return fn


def _number(name: str, ref: str, value: Any) -> float:
    """``value`` as a float: a real number, finite or NaN (undefined); anything else, infinity
    included (stored, it read as "no value" in ``compare``), raises."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"reporter {name!r} ({ref}) returned {value!r} ({type(value).__name__}); expected a number"
        )
    out = float(value)
    if math.isinf(out):
        raise ValueError(
            f"reporter {name!r} ({ref}) returned {out}; expected a finite number or NaN"
        )
    return out


def compute_reporters(reporters: Mapping[str, str] | None, model: Any) -> dict[str, float]:
    """``{name: value}`` of every reporter (name -> ``"module:function"``) on the model's current state.

    A reporter that raises, or returns something that is not a real number or is infinite, raises
    (the run is then recorded as failed with that error)."""
    if not reporters:
        return {}
    tables = RunTables(model)
    return {name: _number(name, ref, load_reporter(ref)(tables)) for name, ref in reporters.items()}


def check_reporters(reporters: Mapping[str, str], model: Any, file: str | None = None) -> None:
    """Import every reporter and evaluate it on ``model`` (the initial state of a run); an
    :class:`InputError` naming the reporter for anything wrong."""
    for name, ref in reporters.items():
        try:
            fn = load_reporter(ref)
        except InputError as exc:
            raise InputError(exc.message, file=file, field=f"reporters.{name}") from None
        try:
            _number(name, ref, fn(RunTables(model)))
        except Exception as exc:  # any failure of user code is reported the same way
            raise InputError(
                f"{ref} failed on the initial state of the first run: {type(exc).__name__}: {exc}",
                file=file,
                field=f"reporters.{name}",
            ) from None
