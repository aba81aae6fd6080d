"""Settled starts kept in memory: the state after the burn-in, reused by later models of the same start.

The burn-in (``scenario.burn_in`` steps, 100 quarters in the baseline) usually costs more than the
observed run, and an experiment's variants that share a start (``start = "auto"`` or ``"shared"``) run
the *same* burn-in once per variant: same reference scenario, same seed, same draws.  A worker process
keeps the last :data:`KEPT` settled states (firm table, prices, costs, beliefs, the random generator's
state) keyed by the model class and schedule, the start scenario's fingerprint (its resolved content
including the data) and the seed; a model with the same key starts from a deep copy of the kept state
instead of running the burn-in again.  Results are bit-identical with and without the cache
(tests/test_settled_starts.py): the copy is the state the burn-in would produce, and the generator
continues from the same point of its stream.  The experiment runner orders runs replicate by replicate,
so a worker usually finds the start of its next run here.

Only starts with a firm table of at most :data:`MAX_ROWS` rows are kept (memory: about 2 KB per row,
so at most about 160 MB per worker).
Set ``KEPT = 0`` to switch the cache off.
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from typing import Any

#: settled starts kept per process (least recently used dropped first); 0 switches the cache off
KEPT = 4
#: largest firm table (rows of ``FirmTable``) whose settled state is kept [rows]
MAX_ROWS = 20_000

_kept: OrderedDict[tuple, tuple[Any, dict]] = OrderedDict()


def key(model_class: type, schedule: tuple, start: Any, seed: int | None) -> tuple | None:
    """The cache key of a burn-in, or None when it cannot be reused (no seed, no burn-in, or a start
    without a content fingerprint)."""
    steps = int(getattr(start, "burn_in", 0) or 0)
    if seed is None or steps <= 0 or not hasattr(start, "fingerprint"):
        return None
    names = tuple(getattr(s, "name", repr(s)) for s in schedule)
    return (model_class.__module__, model_class.__qualname__, names, start.fingerprint(), seed)


def get(k: tuple | None) -> tuple[Any, dict] | None:
    """A deep copy of the kept ``(state, generator state)`` for ``k``, or None (also when the cache is
    switched off, ``KEPT = 0``, after it kept starts)."""
    if k is None or KEPT <= 0 or k not in _kept:
        return None
    _kept.move_to_end(k)
    state, rng_state = _kept[k]
    return copy.deepcopy(state), copy.deepcopy(rng_state)


def put(k: tuple | None, state: Any, rng_state: dict) -> None:
    """Keep a deep copy of a settled ``state`` and the generator state after it under ``k``."""
    if k is None or KEPT <= 0 or state.firms.capacity > MAX_ROWS:
        return
    _kept[k] = (copy.deepcopy(state), copy.deepcopy(rng_state))
    _kept.move_to_end(k)
    while len(_kept) > KEPT:
        _kept.popitem(last=False)


def clear() -> None:
    """Forget every kept start."""
    _kept.clear()
