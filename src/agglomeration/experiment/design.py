"""Design points of an experiment: grid (full factorial), Latin hypercube, Sobol (Saltelli) and Morris.

A design turns ``[design]`` into a table of *points*: one row per point, one column per parameter (dotted
scenario path), values in the parameter's own unit.  Every point becomes a set of scenario overrides,
run for every variant and replicate.

- ``grid``: full factorial of the ``values`` lists, in file order (first parameter varies slowest).
- ``lhs``: :class:`scipy.stats.qmc.LatinHypercube` seeded from the experiment seed; ``samples`` points.
- ``sobol``: :func:`SALib.sample.sobol.sample` (Saltelli's scheme), base size ``samples`` (a power of 2),
  ``N (D + 2)`` points, or ``N (2D + 2)`` with ``second_order``.  Doubling ``samples`` keeps the first
  points, so a finished Sobol batch can be extended.
- ``morris``: :func:`SALib.sample.morris.sample`, ``samples`` trajectories of ``D + 1`` points.

The :class:`Design` keeps what ``agglomeration sensitivity`` needs to analyse the runs: the SALib problem
dict, the method options and the sample matrix (rows in the order SALib's analysers expect).
"""

from __future__ import annotations

import itertools
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from agglomeration.experiment.seeds import design_seed
from agglomeration.experiment.spec import DesignSpec

__all__ = ["MAX_DESIGN_POINTS", "Design", "build_design", "design_size"]

#: most points a design may have (each point is resolved to a scenario before the batch starts)
MAX_DESIGN_POINTS = 100_000

_SALIB_DIST = {"uniform": "unif", "normal": "norm", "lognormal": "lognorm"}


@dataclass(frozen=True)
class Design:
    """The points of a design.

    ``points`` has one row per point (index = point number, 0-based) and one column per parameter.
    ``problem`` is the SALib problem dict (None for grids); ``options`` the sampler options
    (``calc_second_order``, ``num_levels``, ``N``); ``kind`` the design kind or ``"none"``.
    """

    kind: str
    points: pd.DataFrame
    problem: dict[str, Any] | None = None
    options: dict[str, Any] = field(default_factory=dict)

    def overrides(self, i: int) -> dict[str, Any]:
        """Scenario overrides of point ``i`` (python scalars, integers where the parameter is integer)."""
        row = self.points.iloc[i]
        return {k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}

    def __len__(self) -> int:
        return len(self.points)

    def manifest_entry(self) -> dict[str, Any]:
        """JSON-ready description for the result store manifest."""
        return {
            "kind": self.kind,
            "n_points": len(self.points),
            "parameters": list(self.points.columns),
            "salib_problem": self.problem,
            "options": self.options,
        }


def _problem(spec: DesignSpec) -> dict[str, Any]:
    names = list(spec.parameters)
    return {
        "num_vars": len(names),
        "names": names,
        "bounds": [list(spec.parameters[n].bounds) for n in names],
        "dists": [_SALIB_DIST[spec.parameters[n].distribution] for n in names],
    }


def _scale_unit(unit: np.ndarray, spec: DesignSpec) -> np.ndarray:
    """Map unit-hypercube samples to parameter values (inverse CDF of each distribution)."""
    from scipy import stats  # here, not at import: scipy.stats costs ~0.4 s at start-up

    out = np.empty_like(unit)
    for j, p in enumerate(spec.parameters.values()):
        a, b = p.bounds  # type: ignore[misc]
        u = unit[:, j]
        if p.distribution == "uniform":
            out[:, j] = a + (b - a) * u
        elif p.distribution == "normal":
            out[:, j] = stats.norm.ppf(u, loc=a, scale=b)
        else:
            out[:, j] = np.exp(stats.norm.ppf(u, loc=a, scale=b))
    return out


def _finish(matrix: np.ndarray, spec: DesignSpec) -> pd.DataFrame:
    cols: dict[str, Any] = {}
    for j, (name, p) in enumerate(spec.parameters.items()):
        col = matrix[:, j]
        if p.integer:
            col = np.rint(col)
            if p.distribution == "uniform" and p.bounds is not None:
                # rounding a value near a fractional bound must not leave the bounds
                col = np.clip(col, np.ceil(p.bounds[0]), np.floor(p.bounds[1]))
            cols[name] = col.astype(np.int64)
        else:
            cols[name] = col.astype(float)
    df = pd.DataFrame(cols)
    df.index.name = "point"
    return df


def design_size(spec: DesignSpec | None) -> int:
    """Number of points ``spec`` produces, computed without sampling (1 without a design)."""
    if spec is None:
        return 1
    d = len(spec.parameters)
    if spec.kind == "grid":
        return int(np.prod([len(p.values or ()) for p in spec.parameters.values()], dtype=object))
    n = int(spec.samples or 0)
    if spec.kind == "lhs":
        return n
    if spec.kind == "sobol":
        return n * (2 * d + 2 if spec.second_order else d + 2)
    return n * (d + 1)  # morris


def build_design(spec: DesignSpec | None, seed: int) -> Design:
    """Design points for ``spec`` (a single empty point when there is no design).

    ``seed`` is the experiment seed; the sampler's stream is derived from it with a key distinct from
    the replicate streams, so the design never depends on the number of replicates.
    """
    if spec is None:
        return Design(kind="none", points=pd.DataFrame(index=pd.RangeIndex(1, name="point")))
    names = list(spec.parameters)
    if spec.kind == "grid":
        levels = [spec.parameters[n].values for n in names]
        rows = list(itertools.product(*levels))
        df = pd.DataFrame(rows, columns=names)
        df.index.name = "point"
        return Design(kind="grid", points=df)
    n = int(spec.samples)  # type: ignore[arg-type]
    if spec.kind == "lhs":
        from scipy.stats import qmc  # here, not at import (start-up time)

        sampler = qmc.LatinHypercube(d=len(names), rng=np.random.default_rng(design_seed(seed)))
        matrix = _scale_unit(sampler.random(n), spec)
        return Design(
            kind="lhs", points=_finish(matrix, spec), problem=_problem(spec), options={"N": n}
        )
    problem = _problem(spec)
    if spec.kind == "sobol":
        from SALib.sample import sobol as salib_sobol

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SALib warns when N is not a power of 2; we record N
            matrix = salib_sobol.sample(
                problem, n, calc_second_order=spec.second_order, seed=design_seed(seed) % 2**32
            )
        opts = {"N": n, "calc_second_order": spec.second_order}
        return Design(kind="sobol", points=_finish(matrix, spec), problem=problem, options=opts)
    from SALib.sample import morris as salib_morris

    problem = {k: v for k, v in problem.items() if k != "dists"}
    matrix = salib_morris.sample(problem, n, num_levels=spec.levels, seed=design_seed(seed) % 2**32)
    opts = {"N": n, "num_levels": spec.levels}
    return Design(kind="morris", points=_finish(matrix, spec), problem=problem, options=opts)
