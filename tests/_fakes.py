"""Synthetic result stores for the tests of the analysis (compare, factorial, sensitivity, discovery,
tables, figures), written through the real ResultStore API; a 2 x 2 grid with known effects and the
Ishigami function on a Sobol design among them.

The model is not needed: runs, series, regions and links frames with known statistical structure are
written as per-run Parquet parts plus a manifest and a design table, exactly as a batch writes them, so
the analysis is exercised through ``load_results`` like on real model results.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from SALib.sample import sobol as sobol_sample

from agglomeration import MODEL_REVISION
from agglomeration.experiment.store import FORMAT, ResultStore

ROOT = Path(__file__).resolve().parents[1]
BASELINE_SCENARIO = ROOT / "scenarios" / "baseline.toml"
REGIONS = ["LJ", "XY", "GY", "HT", "ED", "CS", "WZ", "YC", "FL", "NP", "QJ", "DJ", "YY"]
SECTORS = ["materials", "components", "electronics", "vehicles", "logistics"]


def write_store(
    root: Path,
    runs: pd.DataFrame,
    *,
    series: pd.DataFrame | None = None,
    regions: pd.DataFrame | None = None,
    links: pd.DataFrame | None = None,
    design: dict | None = None,
    design_points: pd.DataFrame | None = None,
    experiment: dict | None = None,
) -> Path:
    """Write frames as a result store (one part per run and table) and return its directory."""
    store = ResultStore(root)
    store.root.mkdir(parents=True)
    # written by this package: its model revision (a store without one is of revision 0)
    manifest = {
        "format": FORMAT,
        "experiment": experiment or {"name": "fake"},
        "environment": {"model_revision": MODEL_REVISION},
    }
    if design is not None:
        manifest["design"] = design
    store.write_manifest(manifest)
    if design_points is not None:
        store.write_frame("design", design_points)
    for run_id, row in runs.groupby("run_id", sort=False):
        for name, frame in (("series", series), ("regions", regions), ("links", links)):
            if frame is not None:
                store.write_part(name, run_id, frame.loc[frame["run_id"] == run_id])
        store.write_part("runs", run_id, row)
    return root


def policy_runs(
    effects: dict[str, float], replicates: int = 12, seed: int = 3, failed: int = 0
) -> pd.DataFrame:
    """Runs of several variants under common random numbers.

    Each replicate r has a seed-specific level u_r shared by every variant (the common random number),
    plus independent noise; variant v shifts ``firms`` by ``effects[v]`` firms and the
    ``local_sourcing_share`` by effects[v] / 10000.  ``failed`` runs of the last variant are failures.
    """
    rng = np.random.default_rng(seed)
    u = rng.normal(0, 40, replicates)
    rows = []
    for v, eff in effects.items():
        noise = rng.normal(0, 10, replicates)
        share = 0.4 + eff / 10000 + rng.normal(0, 0.01, replicates)
        for r in range(replicates):
            rows.append(
                {
                    "run_id": f"{v}-{r:03d}",
                    "variant": v,
                    "point": 0,
                    "replicate": r,
                    "seed": 1000 + r,
                    "status": "ok",
                    "error": None,
                    "wall_time_s": 0.5,
                    "attempt": 1,
                    "firms": 3000 + u[r] + eff + noise[r],
                    "local_sourcing_share": share[r],
                }
            )
    runs = pd.DataFrame(rows)
    if failed:
        last = runs.index[runs["variant"] == list(effects)[-1]][-failed:]
        runs.loc[last, "status"] = "failed"
        runs.loc[last, ["firms", "local_sourcing_share"]] = np.nan
        runs.loc[last, "error"] = "RuntimeError: boom"
    return runs


def series_for(runs: pd.DataFrame, steps: int = 9, seed: int = 5) -> pd.DataFrame:
    """Per-step series rising linearly from the initial level to each run's final value."""
    rng = np.random.default_rng(seed)
    t = np.arange(steps)
    frames = []
    for row in runs.itertuples():
        frac = t / (steps - 1)
        frames.append(
            pd.DataFrame(
                {
                    "run_id": row.run_id,
                    "step": t,
                    "firms": 3000 + (row.firms - 3000) * frac + rng.normal(0, 1, steps),
                    "local_sourcing_share": 0.3 + (row.local_sourcing_share - 0.3) * frac,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def regions_for(runs: pd.DataFrame, seed: int = 7) -> pd.DataFrame:
    """Region x sector tables with location quotients computed from the firm counts."""
    rng = np.random.default_rng(seed)
    frames = []
    weight = np.r_[[6, 3, 4], np.ones(len(REGIONS) - 3)][:, None]
    for run_id in runs["run_id"]:
        firms = rng.poisson(20 * weight * rng.uniform(0.5, 1.5, (len(REGIONS), len(SECTORS))))
        firms = firms.astype(float) + 1
        share = firms / firms.sum(1, keepdims=True)
        lq = share / (firms.sum(0) / firms.sum())
        frames.append(
            pd.DataFrame(
                {
                    "run_id": run_id,
                    "region": np.repeat(REGIONS, len(SECTORS)),
                    "sector": np.tile(SECTORS, len(REGIONS)),
                    "firms": firms.ravel(),
                    "employment": 25 * firms.ravel(),
                    "output": 1.5 * firms.ravel(),
                    "lq": lq.ravel(),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def links_for(run_ids, n_firms: int = 300, n_links: int = 900, seed: int = 9) -> pd.DataFrame:
    """Supplier links between firms that each sit in one region; 80 % within the buyer's region."""
    rng = np.random.default_rng(seed)
    frames = []
    for run_id in run_ids:
        firm_region = np.array(REGIONS)[rng.integers(0, len(REGIONS), n_firms)]
        buyer = rng.integers(0, n_firms, n_links)
        same = rng.random(n_links) < 0.8
        supplier = rng.integers(0, n_firms, n_links)
        for k in np.flatnonzero(same):  # test-data construction, not model code
            cands = np.flatnonzero(firm_region == firm_region[buyer[k]])
            supplier[k] = cands[rng.integers(0, cands.size)]
        imports = rng.random(n_links) < 0.05
        frames.append(
            pd.DataFrame(
                {
                    "run_id": run_id,
                    "buyer": buyer,
                    "supplier": np.where(imports, -1, supplier),
                    "buyer_region": firm_region[buyer],
                    "supplier_region": np.where(imports, "EU", firm_region[supplier]),
                    "input_sector": rng.choice(SECTORS, n_links),
                    "value": rng.exponential(1.0, n_links),
                    "delivered_cost": rng.uniform(50, 500, n_links),
                    "distance_km": rng.uniform(1, 300, n_links),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def policy_store(tmp_path: Path, *, failed: int = 0, with_links: bool = True) -> Path:
    """A complete fake batch: three variants x 12 replicates with series, regions and links."""
    runs = policy_runs({"baseline": 0.0, "delegation": 60.0, "cheap_rail": 5.0}, failed=failed)
    ok = runs.loc[runs["status"] == "ok"]
    return write_store(
        tmp_path / "policy",
        runs,
        series=series_for(ok),
        regions=regions_for(ok),
        links=links_for(ok["run_id"]) if with_links else None,
        experiment={
            "name": "policy",
            "scenario": str(BASELINE_SCENARIO),
            "variants": [{"name": "baseline", "overrides": {}}],
        },
    )


# ---- a 2 x 2 grid with known effects (experiment/test_factorial.py, report/test_tables.py)
GRID_A, GRID_B = "policy.delegation.connected", "logistics.tariff_multiplier.rail"


def grid_runs(replicates: int = 10, seed: int = 4) -> pd.DataFrame:
    """2 x 2 grid under common random numbers: firms = 100 + u_r + 20 [A high] + 5 [B low]
    + 8 [both] + noise, so the main effects average to 24 and 9 and the DiD is 8."""
    rng = np.random.default_rng(seed)
    u = rng.normal(0, 30, replicates)
    rows = []
    for p, (a, b) in enumerate([(0.4, 1.0), (0.4, 0.5), (0.9, 1.0), (0.9, 0.5)]):
        effect = 20 * (a == 0.9) + 5 * (b == 0.5) + 8 * (a == 0.9 and b == 0.5)
        for r in range(replicates):
            rows.append({"run_id": f"p{p}r{r}", "variant": "base", "point": p, GRID_A: a, GRID_B: b,
                         "replicate": r, "seed": 100 + r, "status": "ok",
                         "firms": 100 + u[r] + effect + rng.normal(0, 2),
                         "firms_other": 0.0})  # fmt: skip
    return pd.DataFrame(rows)


GRID_MANIFEST = {
    "design": {"kind": "grid", "parameters": [GRID_A, GRID_B]},
    "experiment": {"name": "g"},
}


def grid_store(tmp_path):
    return write_store(
        tmp_path / "grid",
        grid_runs(),
        design={
            "kind": "grid",
            "n_points": 4,
            "parameters": [GRID_A, GRID_B],
            "salib_problem": None,
        },
    )


# ---- the Ishigami function on a Sobol design (experiment/test_sensitivity.py, commands/test_plot_cli.py)
NAMES = ["behaviour.x1", "behaviour.x2", "behaviour.x3"]
PROBLEM = {"num_vars": 3, "names": NAMES, "bounds": [[-np.pi, np.pi]] * 3}
ISHIGAMI_A, ISHIGAMI_B = 7.0, 0.1  # the Ishigami function's a and b
A, B = ISHIGAMI_A, ISHIGAMI_B
_V = A**2 / 8 + B * np.pi**4 / 5 + B**2 * np.pi**8 / 18 + 0.5
S1_TRUE = np.array([0.5 * (1 + B * np.pi**4 / 5) ** 2, A**2 / 8, 0.0]) / _V
ST_TRUE = (
    np.array(
        [
            0.5 * (1 + B * np.pi**4 / 5) ** 2 + 8 * B**2 * np.pi**8 / 225,
            A**2 / 8,
            8 * B**2 * np.pi**8 / 225,
        ]
    )
    / _V
)


def ishigami(x: np.ndarray) -> np.ndarray:
    return np.sin(x[:, 0]) + A * np.sin(x[:, 1]) ** 2 + B * x[:, 2] ** 4 * np.sin(x[:, 0])


def design_runs(sample: np.ndarray, replicates: int = 1, noise: float = 0.0, seed: int = 0):
    """Runs table of a design: point, parameters, replicate, seed, metrics (Ishigami + noise)."""
    rng = np.random.default_rng(seed)
    n = sample.shape[0]
    frames = []
    for r in range(replicates):
        y = ishigami(sample)
        frames.append(
            pd.DataFrame(
                {
                    "run_id": [f"p{i:05d}-r{r}" for i in range(n)],
                    "variant": "design",
                    "point": np.arange(n),
                    **{name: sample[:, j] for j, name in enumerate(NAMES)},
                    "replicate": r,
                    "seed": 10 + r,
                    "status": "ok",
                    "ishigami": y + rng.normal(0, noise, n),
                    "x1_only": np.sin(sample[:, 0]),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def sobol_design(n: int, second_order: bool = False) -> dict:
    sample = sobol_sample.sample(PROBLEM, n, calc_second_order=second_order, seed=11)
    return {
        "kind": "sobol",
        "n_points": sample.shape[0],
        "parameters": NAMES,
        "salib_problem": PROBLEM,
        "options": {"N": n, "calc_second_order": second_order},
    }, sample
