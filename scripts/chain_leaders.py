"""Which region leads each chain, at the start of the observed run and some quarters later.

Run from the repository root::

    python scripts/chain_leaders.py                                      # the baseline, seeds 1-8, 80 quarters
    python scripts/chain_leaders.py --scenario scenarios/data_start.toml # from the data's start

For each chain of the scenario and each seed: the region with the largest output of the chain's final
stage (Chengdu, the comparison region outside the municipality, left out), at the start of the observed
run and ``--steps`` quarters later, and the FTZ areas' share of the chain's output (all its stages) at
both; printed as how many seeds an FTZ area leads, the leaders, and the mean shares.  The measure of
``tests/test_model.py::test_ftz_areas_stay_the_largest_clusters_of_their_chains`` (docs/ODD.md, Known
limitations).
"""

from __future__ import annotations

import argparse
import sys
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
OUTSIDE = ["CD"]


def _chain_output(table, sectors):
    """Output by region of the given sectors, without the regions outside the municipality."""
    rows = table[table["sector"].isin(set(sectors))]
    return rows.groupby("region")["output"].sum().drop(OUTSIDE, errors="ignore")


def one(job: tuple[Path, int, int]) -> dict:
    """One seed: per chain, (leader at the start, leader after the run, FTZ share at both)."""
    from agglomeration import AgglomerationModel

    path, seed, steps = job
    warnings.simplefilter("ignore")  # initialisation warnings repeat per seed
    m = AgglomerationModel(str(path), replicate_seed=seed)
    w = m.world
    ftz = list(w.region_ids[w.region_type == "ftz"])
    start = m.region_table()
    m.run(steps)
    end = m.region_table()
    out = {}
    for name, idx in w.chains.items():
        stages = list(w.sector_ids[list(idx)])
        shares = [_chain_output(t, stages) for t in (start, end)]
        out[name] = (
            str(_chain_output(start, [stages[-1]]).idxmax()),
            str(_chain_output(end, [stages[-1]]).idxmax()),
            *(float(s[s.index.isin(ftz)].sum() / s.sum()) for s in shares),
        )
    return {"seed": seed, "ftz": ftz, "chains": out}


def main(argv: list[str] | None = None) -> int:
    from agglomeration.experiment.pools import WORKERS_HELP, default_workers

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--scenario", type=Path, default=ROOT / "scenarios" / "baseline.toml")
    p.add_argument("--seeds", type=int, nargs="+", default=list(range(1, 9)))
    p.add_argument("--steps", type=int, default=80, help="observed quarters")
    p.add_argument("--workers", type=int, default=default_workers(), help=WORKERS_HELP)
    args = p.parse_args(argv)
    jobs = [(args.scenario, s, args.steps) for s in args.seeds]
    with ProcessPoolExecutor(args.workers) as ex:
        res = list(ex.map(one, jobs))
    ftz = res[0]["ftz"]
    n = len(res)
    print(
        f"| chain | FTZ area leads at the start | after {args.steps} quarters "
        f"| leaders at the start | leaders after | FTZ share of the chain's output, start -> end |"
    )
    print("|---|---:|---:|---|---|---|")
    for chain in res[0]["chains"]:
        rows = [r["chains"][chain] for r in res]
        lead0, lead1 = [x[0] for x in rows], [x[1] for x in rows]
        print(
            f"| {chain} | {sum(x in ftz for x in lead0)} of {n} | {sum(x in ftz for x in lead1)} of {n} "
            f"| {', '.join(lead0)} | {', '.join(lead1)} "
            f"| {np.mean([x[2] for x in rows]):.2f} -> {np.mean([x[3] for x in rows]):.2f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
