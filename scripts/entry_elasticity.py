"""The model's elasticity of entry to the entry cost, paired by seed from the baseline's settled start.

Run from the repository root::

    python scripts/entry_elasticity.py                       # entry cost x 0.8, seeds 1-20, 40 quarters
    python scripts/entry_elasticity.py --factor 0.5 --seeds 1 2 3 4 5 6 7 8
    python scripts/entry_elasticity.py --scenario scenarios/marginal_entry.toml

Each seed runs the baseline (or ``--scenario``; ``behaviour.costs.entry_cost`` as in the scenario) and the same scenario
with the entry cost times ``--factor`` from the baseline's settled start (``reference``: the same firms,
prices and calibrated fixed costs at step 0, so the paired difference is the cost change's effect).
Printed: the entrants over the observed quarters in both, the paired relative change with its 95 % t
interval, the implied elasticity (relative change of entries / relative change of the entry cost), and
the same for the firm count at the end.  Why: docs/LEVERS.md sizes delegation's entry-cost cut from the
Guangdong registration reform (+25 % entry for a 15 % cheaper entry, an elasticity of about 1.7;
Barwick, Chen, Li and Zhang 2024); how much entry the model gives for such a cut decides how much of
that effect it reproduces (docs/ODD.md, Known limitations).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from scipy import stats

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def pair(job: tuple[str, int, float, int]) -> tuple[float, float, float, float, float]:
    """(entries base, entries variant, firms base, firms variant, construction warnings that a
    sector's fixed cost could not balance entry and exit) of one seed."""
    from agglomeration.model import AgglomerationModel
    from agglomeration.scenario import load_scenario

    path, seed, factor, steps = job
    base = load_scenario(path)
    cost = base.behaviour.costs.entry_cost
    out = []
    with warnings.catch_warnings(record=True) as caught:  # counted, not printed per run
        warnings.simplefilter("always")
        for overrides in ({}, {"behaviour.costs.entry_cost": cost * factor}):
            m = AgglomerationModel(
                load_scenario(path, overrides), replicate_seed=seed, reference=base
            )
            m.run(steps)
            out += [float(m.state.entries_by_region.sum()), float(m.firms.n_alive)]
    unbalanced = sum("balances entry and exit" in str(w.message) for w in caught)
    return out[0], out[2], out[1], out[3], float(unbalanced)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--factor", type=float, default=0.8, help="entry cost multiplier of the variant"
    )
    ap.add_argument("--scenario", default=str(ROOT / "scenarios" / "baseline.toml"))
    ap.add_argument("--seeds", type=int, nargs="+", default=list(range(1, 21)))
    ap.add_argument("--steps", type=int, default=40)
    from agglomeration.experiment.pools import WORKERS_HELP, default_workers

    ap.add_argument("--workers", type=int, default=default_workers(), help=WORKERS_HELP)
    a = ap.parse_args(argv)
    with ProcessPoolExecutor(a.workers, mp_context=mp.get_context("spawn")) as ex:
        res = np.array(list(ex.map(pair, [(a.scenario, s, a.factor, a.steps) for s in a.seeds])))
    cut = a.factor - 1.0
    print(
        f"construction warnings of an unbalanced sector: {int(res[:, 4].sum())} (runs: {2 * len(res)})"
    )
    for label, b, v in (
        ("entries", res[:, 0], res[:, 1]),
        ("firms at the end", res[:, 2], res[:, 3]),
    ):
        rel = v / b - 1.0
        half = stats.t.ppf(0.975, len(rel) - 1) * rel.std(ddof=1) / np.sqrt(len(rel))
        print(
            f"{label}: {b.mean():.0f} -> {v.mean():.0f}; paired change {100 * rel.mean():+.1f} % "
            f"[{100 * (rel.mean() - half):+.1f}, {100 * (rel.mean() + half):+.1f}]; elasticity to the "
            f"entry cost {rel.mean() / cut:.2f} [{(rel.mean() + half) / cut:.2f}, "
            f"{(rel.mean() - half) / cut:.2f}] ({len(rel)} seeds, entry cost x {a.factor:g})"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
