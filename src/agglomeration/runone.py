"""Run one scenario once and write its tables and figures (the engine of ``agglomeration run``).

Outputs in ``out`` (all optional parts depend on ``scenario.output``):

- ``timeseries.csv``  one row per recorded step (model series, see docs/ODD.md section 7)
- ``regions.csv``     final region x sector table: firms, employment, output (CNY m/step), location quotient
- ``firms.parquet``   final live firm table
- ``links.parquet``   final supplier links with value (CNY m/step) and delivered cost
- ``logistics.csv``   final logistics outcomes: mode shares by destination, corridor volumes, region and
                      sector indices (:func:`agglomeration.logistics_outcomes.logistics_table`)
- ``summary.json``    scenario name, fingerprint, seed, steps, versions, wall time, headline metrics
- ``map.png``, ``timeseries.png``, ``mode_shares.png``   figures (matplotlib, Agg backend)
"""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path
from typing import Any

from agglomeration.errors import InputError


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


def write_logistics_table(model: Any, path: Path) -> Any:
    """Write the run's logistics table (``logistics.csv``) and return it (a DataFrame)."""
    from agglomeration.logistics_outcomes import logistics_table

    table = logistics_table(model.state, model.world)
    table.to_csv(path, index=False)
    return table


def run_scenario(
    scenario: Any,
    steps: int | None = None,
    seed: int | None = None,
    overrides: dict[str, Any] | None = None,
    out: str | Path | None = None,
    progress: bool = True,
    world: Any = None,
) -> dict[str, Any]:
    """Run ``scenario`` (path or Scenario) for ``steps`` (default: the scenario's) with replicate ``seed``.

    ``overrides``: dotted or ``__`` keys (``{"policy.delegation.WZ": 0.8}``).  Writes the outputs listed
    in the module docstring to ``out`` when given.  Returns a dict with ``model``, ``summary`` (the
    summary.json content) and ``out``.
    """
    from agglomeration.model import AgglomerationModel

    if isinstance(scenario, (str, Path)):
        from agglomeration.scenario import load_scenario

        scenario = load_scenario(scenario, overrides or None)
    elif overrides:
        scenario = (
            scenario.with_overrides(dict(overrides))
            if hasattr(scenario, "with_overrides")
            else scenario
        )
    n_steps = int(steps if steps is not None else getattr(scenario, "steps", 40))
    if n_steps < 0:
        raise InputError(f"expected a number of steps >= 0, got {n_steps}", field="steps")
    if out is not None and Path(out).exists() and not Path(out).is_dir():
        # refuse before the run, not after it
        raise InputError(
            "expected an output directory, got an existing file", file=out, field="--out"
        )
    t0 = time.perf_counter()
    model = AgglomerationModel(scenario, replicate_seed=seed, world=world)
    if progress:
        from tqdm import tqdm

        bar = tqdm(
            range(n_steps), desc=f"{getattr(scenario, 'name', 'run')}", unit="step", leave=False
        )
        for _ in bar:
            model.step()
            bar.set_postfix(firms=model.firms.n_alive, refresh=False)
        bar.close()
        if model.t % model.spec.output.series_every:
            model.run(0)
    else:
        model.run(n_steps)
    wall = time.perf_counter() - t0
    summary = {
        "scenario": getattr(scenario, "name", None),
        "description": getattr(scenario, "description", None),
        "source": str(getattr(scenario, "source_path", None) or ""),
        "fingerprint": scenario.fingerprint() if hasattr(scenario, "fingerprint") else None,
        "seed": seed,
        "scenario_seed": getattr(scenario, "seed", None),
        "model_seed": model.seed_used,
        "steps": n_steps,
        "wall_time_s": round(wall, 3),
        "versions": _versions(),
        "metrics": model.headline_metrics(),
    }
    result: dict[str, Any] = {"model": model, "summary": summary, "out": None}
    if out is not None:
        out = Path(out)
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"cannot create the output directory: {exc}", field="--out") from None
        model.series_frame().to_csv(out / "timeseries.csv", index=False)
        model.region_table().to_csv(out / "regions.csv", index=False)
        model.firms_frame().to_parquet(out / "firms.parquet", index=False)
        model.links_frame().to_parquet(out / "links.parquet", index=False)
        logistics = write_logistics_table(model, out / "logistics.csv")
        if model.spec.output.figures:
            from agglomeration.report.logistics_figures import save_mode_share_figure
            from agglomeration.report.maps import save_region_map
            from agglomeration.report.run_figures import save_timeseries_figure

            save_region_map(model, out / "map.png")
            save_timeseries_figure(model.series_frame(), out / "timeseries.png", model=model)
            save_mode_share_figure(logistics, out / "mode_shares.png", model.world, step=model.t)
        (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
        result["out"] = out
    return result
