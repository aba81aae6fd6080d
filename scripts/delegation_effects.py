"""Paired-seed effects of delegation 1 vs 0 everywhere (shared settled start, common random numbers).

Usage: python scripts/delegation_effects.py STEPS N_SEEDS  (seeds 101 ...; small configuration).
Prints the paired differences with 95 % t intervals and the creation-vs-reallocation decomposition
(docs/LEVERS.md, "Measured")."""

import sys

import numpy as np
import pandas as pd
from scipy import stats

from agglomeration.experiment import decomposition as dec
from agglomeration.model import AgglomerationModel
from agglomeration.scenario import load_scenario

BASELINE = "scenarios/baseline.toml"
BASE = {"firms.initial_count": 400, "burn_in": 20}
VARIANTS = {"none": {"policy.delegation.all": 0.0}, "full": {"policy.delegation.all": 1.0}}
steps = int(sys.argv[1])
seeds = range(101, 101 + int(sys.argv[2]))
rows = []
ref = load_scenario(BASELINE, BASE)
for seed in seeds:
    for name, ov in VARIANTS.items():
        m = AgglomerationModel(
            load_scenario(BASELINE, {**BASE, **ov}), replicate_seed=seed, reference=ref
        )
        m.run(steps)
        h = m.headline_metrics()
        df = m.series_frame()
        rows.append(
            {
                "variant": name,
                "seed": seed,
                **h,
                "entries_sum": df["entries"].sum(),
                "decisions_sum": df["entry_decisions"].sum(),
            }
        )
    print(seed, flush=True)
runs = pd.DataFrame(rows)


def ci(d):
    d = np.asarray(d, float)
    n = len(d)
    h = stats.t.ppf(0.975, n - 1) * d.std(ddof=1) / np.sqrt(n)
    return f"{d.mean():+.1f} [{d.mean() - h:+.1f}, {d.mean() + h:+.1f}] (n={n})"


for a, b in (("full", "none"),):
    A = runs[runs.variant == a].set_index("seed")
    B = runs[runs.variant == b].set_index("seed")
    for col in ("entries_sum", "decisions_sum", "firms", "output"):
        base = B[col].mean()
        print(f"{a} - {b}: {col}: {ci(A[col] - B[col])}  (base mean {base:.1f})")
print("identity gap max:", dec.run_identity_gap(runs).max())
t = dec.decompose(
    runs.assign(variant=runs.variant), baseline="none", groups=("ftz", "connected", "zone")
)
print(dec.wide(t).to_string())
