"""How the full model responds to lower trade costs (docs/LEVER_EFFECTS.md): paired seeds from a shared
settled start, the freight part (every mode's tariffs and fees) against the non-freight distance friction.

Usage: python scripts/trade_cost_response.py FIRMS BURN_IN STEPS N_SEEDS [--by-purpose]  (seeds 1 ...;
e.g. 400 20 20 6).  ``--by-purpose`` runs every variant, the baseline too, with
``solver.random_streams = "by_purpose"`` (docs/EXPERIMENTS.md, section 2).
Prints, for each variant against the baseline, the paired difference and its 95 % t interval."""

import sys

import numpy as np
import pandas as pd
from scipy import stats

from agglomeration.model import AgglomerationModel
from agglomeration.scenario import load_scenario

BASELINE = "scenarios/baseline.toml"
#: sector -> the baseline's distance elasticity (sectors.csv), halved by the friction variants
DELTA = {r.sector_id: r.distance_elasticity for r in load_scenario(BASELINE).data.sectors}
MANUFACTURING = ("materials", "components", "auto_parts", "equipment", "electronics", "vehicles")
SECTORS = (*MANUFACTURING, "logistics", "finance", "rnd", "business")
VARIANTS = {
    "baseline": {},
    "freight_free": {"logistics.tariff_multiplier.all": 0.01, "logistics.fee_multiplier.all": 0.0},
    "friction_half_manufacturing": {
        f"sectors.overrides.{s}.distance_elasticity": DELTA[s] / 2 for s in MANUFACTURING
    },
    "friction_half_all": {
        f"sectors.overrides.{s}.distance_elasticity": DELTA[s] / 2 for s in SECTORS
    },
}
METRICS = ("firms", "herfindahl_regions", "firms_ftz", "firms_connected", "firms_other", "output")
METRICS += ("mean_locational_gini", "local_sourcing_share", "export_share")

args = [a for a in sys.argv[1:] if a != "--by-purpose"]
streams = {"solver.random_streams": "by_purpose"} if len(args) < len(sys.argv) - 1 else {}
firms, burn_in, steps, n_seeds = (int(a) for a in args[:4])
base = {"firms.initial_count": firms, "burn_in": burn_in}
reference = load_scenario(BASELINE, base)
rows = []
for seed in range(1, n_seeds + 1):
    for name, ov in VARIANTS.items():
        m = AgglomerationModel(
            load_scenario(BASELINE, {**base, **streams, **ov}),
            replicate_seed=seed,
            reference=reference,
        )
        m.run(steps)
        h = m.headline_metrics()
        rows.append({"variant": name, "seed": seed, **{k: h[k] for k in METRICS}})
        rows[-1]["entries"] = m.series_frame()["entries"].sum()
    print(f"seed {seed} done", file=sys.stderr, flush=True)
runs = pd.DataFrame(rows).set_index(["variant", "seed"])
b = runs.xs("baseline")
print(f"{firms} initial firms, burn-in {burn_in}, {steps} steps, {n_seeds} seeds (paired)")
print("| variant | metric | baseline mean | difference [95 % CI] |\n|---|---|---|---|")
for name in VARIANTS:
    if name == "baseline":
        continue
    d = runs.xs(name) - b
    for col in d.columns:
        x = d[col].to_numpy(float)
        h = stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x))
        m = x.mean()
        print(f"| {name} | {col} | {b[col].mean():.4g} | {m:+.4g} [{m - h:+.4g}, {m + h:+.4g}] |")
