"""Does the baseline behave alike at every scale?  The start and the first quarters by initial firm count.

Run from the repository root::

    python scripts/scale_invariance.py                          # 120-3,000 firms, seeds 0-3
    python scripts/scale_invariance.py --sizes 200 1000 --seeds 0 1 --burn-in 100

`firms.initial_count` is a scale parameter (fixed costs are calibrated to it), so shares and rates
should not depend on it.  For each size and seed the baseline is built without a burn-in (or with
``--burn-in``) twice: with the entry floor scaled to the size (``behaviour.entry.floor_reference_firms``
3,000, the default) and with the floor absolute (``floor_reference_firms = 0``, the model before the
floor was scaled).  Printed per size: the share of firms that lose money at the start, and the live firms
after ``--steps`` quarters relative to the start (min - max over the seeds; the same seeds in both
settings).  Why: with an absolute floor of 2 potential entrants per sector and quarter, a 200-firm
economy drew most of its entrants from the floor, its fixed costs were balanced against that inflow
and it lost most of its firms (docs/ODD.md, section 7.8, Entry).
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


def one(job: tuple[int, int, float, int, int]) -> tuple[float, float]:
    """(share of live firms with negative profit at the start, live firms after the steps / at the
    start) of one run."""
    from agglomeration.model import AgglomerationModel
    from agglomeration.scenario import load_scenario

    n, seed, reference, burn_in, steps = job
    with warnings.catch_warnings():  # the balance warnings of tiny sectors, counted elsewhere
        warnings.simplefilter("ignore")
        m = AgglomerationModel(
            load_scenario(ROOT / "scenarios" / "baseline.toml"),
            replicate_seed=seed,
            firms__initial_count=n,
            burn_in=burn_in,
            behaviour__entry__floor_reference_firms=reference,
        )
        rows = m.firms.alive_rows()
        losing = float(np.mean(m.firms.profit[rows] < 0)) if len(rows) else float("nan")
        start = m.firms.n_alive
        m.run(steps)
    return losing, m.firms.n_alive / max(start, 1)


def main(argv: list[str] | None = None) -> int:
    from agglomeration.experiment.pools import default_workers

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[120, 200, 500, 1000, 3000])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3])
    ap.add_argument("--burn-in", type=int, default=0, help="burn-in quarters (default 0)")
    ap.add_argument("--steps", type=int, default=16, help="observed quarters")
    ap.add_argument("--workers", type=int, default=default_workers())
    args = ap.parse_args(argv)
    settings = {"scaled floor (default)": 3000.0, "absolute floor (before)": 0.0}
    jobs = [
        (n, s, ref, args.burn_in, args.steps)
        for n in args.sizes
        for ref in settings.values()
        for s in args.seeds
    ]
    ctx = mp.get_context("forkserver" if sys.platform != "win32" else "spawn")
    with ProcessPoolExecutor(args.workers, mp_context=ctx) as pool:
        results = dict(zip(jobs, pool.map(one, jobs), strict=True))
    print(
        f"baseline, burn-in {args.burn_in}, {args.steps} observed quarters, seeds "
        f"{' '.join(map(str, args.seeds))}; min - max over the seeds\n"
    )
    print("| initial firms | floor | losing money at the start | firms after / at the start |")
    print("|---:|---|---|---|")
    for n in args.sizes:
        for label, ref in settings.items():
            lose = [results[(n, s, ref, args.burn_in, args.steps)][0] for s in args.seeds]
            kept = [results[(n, s, ref, args.burn_in, args.steps)][1] for s in args.seeds]
            print(
                f"| {n:,} | {label} | {min(lose):.2f} - {max(lose):.2f} | "
                f"{min(kept):.2f} - {max(kept):.2f} |"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
