"""Submodels: the units of the model's schedule.

A submodel is one process of the model (market clearing, sourcing, entry ...).  It is declared once, in its
own module ``agglomeration/behaviour/<name>.py``, as a :class:`Submodel`:

- ``name``: its schedule name, also the name of its parameter section ``[behaviour.<name>]``;
- ``step(state, world, scenario, rng)``: one step of the process over the :class:`ModelState`; returns
  its counters for this step (a mapping; names declared in ``counters``) or None;
- ``params``: the pydantic class of its parameter section (None = it has none);
- ``counters``: the names of the per-step counts it reports (observed every step as model series);
- ``summary``: one line for the step order in docs/ODD.md and the model's step docstring;
- ``legacy``: flat ``[behaviour]`` keys of earlier versions that now live in its section (old -> new).

Declaring a :class:`Submodel` registers its parameter section, so scenario files accept
``[behaviour.<name>]`` as soon as the module is imported.  The order in which submodels run is the
model's schedule (:data:`agglomeration.model.SCHEDULE`), data in one place.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    from pydantic import BaseModel

    from agglomeration.state import ModelState
    from agglomeration.world import World

#: step(state, world, scenario, rng) -> counters of this step (or None)
StepFunction = Callable[
    ["ModelState", "World", Any, "np.random.Generator"], Mapping[str, float] | None
]

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_REGISTRY: dict[str, Submodel] = {}


@dataclass(frozen=True)
class Submodel:
    """One process of the model (see the module docstring)."""

    name: str
    step: StepFunction
    summary: str
    params: type[BaseModel] | None = None
    counters: tuple[str, ...] = ()
    legacy: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ValueError(f"submodel name {self.name!r} must match {_NAME.pattern}")
        register(self)

    def run(self, state: ModelState, world: World, scenario: Any, rng: np.random.Generator):
        """Run one step; return its counters (every declared counter, 0 when not reported)."""
        reported = dict(self.step(state, world, scenario, rng) or {})
        unknown = set(reported) - set(self.counters)
        if unknown:
            raise ValueError(
                f"submodel {self.name!r} reported undeclared counters {sorted(unknown)}"
            )
        return {c: float(reported.get(c, 0.0)) for c in self.counters}


def register(submodel: Submodel) -> None:
    """Register a submodel's parameter section (done by declaring it).

    Declaring a submodel again under the same name replaces it when it is the same process (same step
    function, e.g. a reloaded module); a different process under a taken name is a ``ValueError``.
    """
    old = _REGISTRY.get(submodel.name)
    if old is not None and _qualname(old.step) != _qualname(submodel.step):
        raise ValueError(
            f"a submodel named {submodel.name!r} is already declared by {_qualname(old.step)}"
        )
    _REGISTRY[submodel.name] = submodel


def _qualname(fn: Callable) -> str:
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"


def _declare_builtins() -> None:
    """Import the model's schedule, which declares the built-in submodels (scenario validation may run
    before anything else imported them)."""
    import agglomeration.model  # noqa: F401


def sections() -> dict[str, type[BaseModel]]:
    """Parameter section classes of every declared submodel that has one, by name."""
    _declare_builtins()
    return {name: sub.params for name, sub in _REGISTRY.items() if sub.params is not None}


def legacy_keys() -> dict[str, str]:
    """Flat ``[behaviour]`` keys of earlier versions -> their new dotted key under ``behaviour``."""
    _declare_builtins()
    out: dict[str, str] = {}
    for name, sub in _REGISTRY.items():
        for old, new in sub.legacy.items():
            out[old] = f"{name}.{new}"
    return out


def describe(schedule: tuple[Submodel, ...]) -> str:
    """The step order as a numbered list (model step docstring, docs/ODD.md)."""
    lines = []
    for i, sub in enumerate(schedule, 1):
        counters = f" (counts: {', '.join(sub.counters)})" if sub.counters else ""
        module = getattr(sub.step, "__module__", "?")
        lines.append(f"{i}. `{sub.name}` ({module}): {sub.summary}{counters}")
    return "\n".join(lines)
