"""Do region x sector cells die out in long runs, and what drives it?

Run from the repository root::

    python scripts/cell_extinction.py                              # baseline, seeds 1-3, 60 quarters
    python scripts/cell_extinction.py --steps 200 --every 20 --seeds 1 2
    python scripts/cell_extinction.py --variant no_relocation behaviour.relocation.enabled=false
    python scripts/cell_extinction.py --by-size --steps 20         # who lives in small cells

For each variant (the baseline plus every ``--variant NAME KEY=VALUE [KEY=VALUE ...]``) and seed, the
script runs the scenario's burn-in and ``--steps`` observed quarters and reports, every ``--every``
quarters: the number of occupied region x sector cells (of R x S), the cells with fewer than 5 firms,
the mean chain coverage of the zones (``mean_chain_coverage``, docs/METRICS.md) and the firm count;
printed as means over seeds.  A variant changes its own burn-in too (it is a different scenario).

Why: the baseline's occupied cells fall steadily (132 to 54 in 200 quarters, seed 1) and with them the
zones' chain coverage (0.90 to 0.33): small cells die out and are rarely re-entered.  docs/ODD.md
("Known limitations") gives the measurements.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def trajectory(job: tuple[str, dict, int, int, int]) -> tuple[str, int, np.ndarray]:
    """(variant, seed, rows of [quarter, occupied cells, small cells, chain coverage, firms])."""
    from agglomeration import observe
    from agglomeration.model import AgglomerationModel
    from agglomeration.scenario import load_scenario

    name, overrides, seed, steps, every = job
    warnings.simplefilter("ignore")  # initialisation warnings repeat per run
    m = AgglomerationModel(
        load_scenario(ROOT / "scenarios" / "baseline.toml", overrides), replicate_seed=seed
    )
    R, S = m.world.n_regions, m.world.n_sectors
    rows = []
    for t in range(0, steps + 1, every):
        if t:
            m.run(every)
        n = observe.region_sector(m.state.firms, R, S, None)
        rows.append(
            [
                t,
                (n > 0).sum(),
                ((n > 0) & (n < 5)).sum(),
                m.headline_metrics()["mean_chain_coverage"],
                m.firms.n_alive,
            ]
        )
    return name, seed, np.array(rows, dtype=float)


def by_cell_size(job: tuple[int, int]):
    """The firms of one seed's start by the size of their region x sector cell (1-4, 5-10, 11-30, more
    than 30 firms): their age [quarters], lines, log productivity relative to their sector's mean,
    profit margin, and whether they are alive and whether they moved region ``steps`` quarters later."""
    import pandas as pd

    from agglomeration.model import AgglomerationModel
    from agglomeration.scenario import load_scenario

    seed, steps = job
    warnings.simplefilter("ignore")
    m = AgglomerationModel(load_scenario(ROOT / "scenarios" / "baseline.toml"), replicate_seed=seed)
    f = m.firms_frame()
    size = f.groupby(["region", "sector"])["fid"].transform("size")
    f["cell_firms"] = pd.cut(size, [0, 4, 10, 30, np.inf], labels=["1-4", "5-10", "11-30", ">30"])
    f["margin"] = f["profit"] / f["output"]
    lz = np.log(f["productivity"])
    f["log_z_vs_sector"] = lz - lz.groupby(f["sector"]).transform("mean")
    m.run(steps)
    later = m.firms_frame().set_index("fid")["region"]
    f["alive"] = f["fid"].isin(later.index)
    f["moved"] = f["alive"] & (f["fid"].map(later) != f["region"])
    return f


def main(argv: list[str] | None = None) -> int:
    from agglomeration.commands.run import parse_overrides

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--every", type=int, default=20)
    from agglomeration.experiment.pools import WORKERS_HELP, default_workers

    ap.add_argument("--workers", type=int, default=default_workers(), help=WORKERS_HELP)
    ap.add_argument("--variant", nargs="+", action="append", default=[], metavar="NAME KEY=VALUE")
    ap.add_argument(
        "--by-size",
        action="store_true",
        help="instead: the baseline's firms at the start by the size of their cell, and who of them is "
        "alive and has moved --steps quarters later",
    )
    a = ap.parse_args(argv)
    context = mp.get_context("spawn")
    if a.by_size:
        import pandas as pd

        with ProcessPoolExecutor(a.workers, mp_context=context) as ex:
            f = pd.concat(ex.map(by_cell_size, [(s, a.steps) for s in a.seeds]))
        table = f.groupby("cell_firms", observed=True).agg(
            firms=("fid", "size"),
            age=("age", "mean"),
            lines=("lines", "mean"),
            log_z_vs_sector=("log_z_vs_sector", "mean"),
            median_margin=("margin", "median"),
            alive=("alive", "mean"),
            moved=("moved", "mean"),
        )
        print(table.round(3).to_string())
        return 0
    variants = {"baseline": {}}
    for name, *items in a.variant:
        variants[name] = parse_overrides(items)
    jobs = [(n, v, s, a.steps, a.every) for n, v in variants.items() for s in a.seeds]
    # a fresh process per run: nothing of one variant's scenario leaks into the next
    with ProcessPoolExecutor(a.workers, mp_context=context, max_tasks_per_child=1) as ex:
        results = list(ex.map(trajectory, jobs))
    print("| variant | quarter | occupied cells | cells < 5 firms | chain coverage | firms |")
    print("|---|---:|---:|---:|---:|---:|")
    for name in variants:
        mean = np.mean([r for n, _, r in results if n == name], axis=0)
        for t, occ, small, cov, firms in mean:
            print(f"| {name} | {t:.0f} | {occ:.1f} | {small:.1f} | {cov:.2f} | {firms:.0f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
