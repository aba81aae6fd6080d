"""agglomeration: an agent-based simulator of industrial-chain agglomeration.

Public API (imported lazily so ``import agglomeration`` stays cheap):

- :func:`load_scenario` - read and validate a scenario TOML file into an immutable ``Scenario``.
- :class:`AgglomerationModel` - the Mesa model.
- :func:`run_scenario` - run one scenario and write its tables and figures.
- :func:`load_experiment`, :func:`run_experiment`, :func:`load_results` - batches.
- :class:`InputError` - raised for every invalid input.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from agglomeration.errors import AgglomerationError, InputError

__version__ = "0.2.0.dev0"
#: the model's results revision: raised by every change that moves simulated results (a mechanism, a
#: default, the data, the order of draws; docs/ARCHITECTURE.md "When results change"), recorded in
#: every manifest; batches and calibrations refuse to resume results of another revision
MODEL_REVISION = 1

_LAZY = {
    "load_scenario": "agglomeration.scenario",
    "Scenario": "agglomeration.scenario",
    "AgglomerationModel": "agglomeration.model",
    "run_scenario": "agglomeration.runone",
    "load_experiment": "agglomeration.experiment.spec",
    "run_experiment": "agglomeration.experiment.runner",
    "load_results": "agglomeration.experiment.store",
}

__all__ = ["MODEL_REVISION", "AgglomerationError", "InputError", "__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'agglomeration' has no attribute {name!r}")
