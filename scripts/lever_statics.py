"""Paired comparative statics of the logistics levers on small worlds (issue 15 item 7): the firm share
and the equilibrium market access of the regions a lever targets, variant minus baseline, paired by seed,
from the baseline's settled start (common random numbers), mean and 95 % t interval.

    python scripts/lever_statics.py tiny 16 12        # 3-region test world, 16 seeds, 12 quarters
    python scripts/lever_statics.py baseline 10 12    # the baseline at 400 firms, burn-in 20
    python scripts/lever_statics.py tiny-dear-road 10 8   # the test world with road freight x5 in
                                                           # every variant (the baseline too)
A trailing list of lever names runs only those; ``--by-purpose`` runs every variant (the baseline too)
with ``solver.random_streams = "by_purpose"`` (docs/EXPERIMENTS.md, section 2).  Prints the mean share of the target regions in the
baseline, the paired share difference and the log market-access difference (``market_access_<region>``,
averaged over the target regions).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from scipy import stats

from agglomeration.model import AgglomerationModel
from agglomeration.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
WORLDS = {
    "tiny": (
        ROOT / "tests" / "data" / "tiny" / "scenario.toml",
        {"firms.initial_count": 200, "burn_in": 10},
    ),
    "baseline": (ROOT / "scenarios" / "baseline.toml", {"firms.initial_count": 400, "burn_in": 20}),
}
LEVERS = {
    "tiny": {
        "rail x0.7/0.8": (
            {"logistics.tariff_multiplier.rail": 0.7, "logistics.fee_multiplier.rail": 0.8},
            ["A", "B"],
        ),
        "rail x0.2": (
            {"logistics.tariff_multiplier.rail": 0.2, "logistics.fee_multiplier.rail": 0.2},
            ["A", "B"],
        ),
        "rail link C-X": (
            {
                "logistics.add_hubs": [{"place": "C", "mode": "rail"}],
                "logistics.add_links": [
                    {"from": "C", "to": "X", "mode": "rail", "distance_km": 800}
                ],
            },
            ["C"],
        ),
        "customs B x0.1": ({"logistics.customs_multiplier.B": 0.1}, ["B"]),
        "road C-D x0.2": (
            {"logistics.add_links": [{"from": "C", "to": "D", "mode": "road", "distance_km": 60}]},
            ["C"],
        ),
        "rail free": (
            {"logistics.tariff_multiplier.rail": 0.01, "logistics.fee_multiplier.rail": 0.0},
            ["A", "B"],
        ),
        "rail x5": (
            {"logistics.tariff_multiplier.rail": 5.0, "logistics.fee_multiplier.rail": 5.0},
            ["A", "B"],
        ),
        "road x3": (
            {"logistics.tariff_multiplier.road": 3.0, "logistics.fee_multiplier.road": 3.0},
            ["A", "B"],
        ),
        "road x5": (
            {"logistics.tariff_multiplier.road": 5.0, "logistics.fee_multiplier.road": 5.0},
            ["A", "B"],
        ),
    },
    "baseline": {
        "rail x0.7/0.8": (
            {"logistics.tariff_multiplier.rail": 0.7, "logistics.fee_multiplier.rail": 0.8},
            "LJ XY GY HT CS WZ YC FL QJ RC CD".split(),
        ),
        "river port ED": (
            {
                "logistics.add_hubs": [{"place": "ED", "mode": "river"}],
                "logistics.add_links": [
                    {"from": "ED", "to": "GY", "mode": "river", "distance_km": 15}
                ],
            },
            ["ED"],
        ),
        "rail free": (
            {"logistics.tariff_multiplier.rail": 0.01, "logistics.fee_multiplier.rail": 0.0},
            "LJ XY GY HT CS WZ YC FL QJ RC CD".split(),
        ),
        "road x3": (
            {"logistics.tariff_multiplier.road": 3.0, "logistics.fee_multiplier.road": 3.0},
            "LJ XY GY HT CS WZ YC FL QJ RC CD".split(),
        ),
    },
}


DEAR_ROAD = {"logistics.tariff_multiplier.road": 5.0, "logistics.fee_multiplier.road": 5.0}
#: worlds whose variants (the baseline too) share overrides: (world, common overrides)
COMMON = {"tiny-dear-road": ("tiny", DEAR_ROAD)}
LEVERS["tiny-dear-road"] = {
    "C rail link": (
        {
            "logistics.add_hubs": [{"place": "C", "mode": "rail"}],
            "logistics.add_links": [{"from": "C", "to": "B", "mode": "rail", "distance_km": 50}],
        },
        ["C"],
    ),
    "rail x0.2": (LEVERS["tiny"]["rail x0.2"][0], ["A", "B"]),
}


#: overrides of every run, the baseline's too (``--by-purpose``)
STREAMS: dict = {}


def run(world: str, overrides: dict, seed: int, steps: int) -> AgglomerationModel:
    """A run of ``world`` under ``overrides`` from the settled start of the world's baseline."""
    world, common = COMMON.get(world, (world, {}))
    path, base = WORLDS[world]
    m = AgglomerationModel(
        load_scenario(path, {**base, **common, **STREAMS, **overrides}),
        replicate_seed=seed,
        reference=load_scenario(path, base),
    )
    m.run(steps)
    return m


def outcomes(m: AgglomerationModel, regions: list[str]) -> tuple[float, float]:
    r = m.firms.region[m.firms.alive_rows()]
    idx = [m.world.region_index(x) for x in regions]
    share = float(np.isin(r, idx).mean())
    h = m.headline_metrics()
    access = float(np.mean([np.log(h[f"market_access_{x}"]) for x in regions]))
    return share, access


def ci(d: np.ndarray) -> str:
    h = stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d))
    return f"{d.mean():+.4f} [{d.mean() - h:+.4f}, {d.mean() + h:+.4f}] (>0 in {int((d > 0).sum())}/{len(d)})"


def main(world: str, n: int, steps: int) -> None:
    seeds = range(1, n + 1)
    base = {}
    for s in seeds:
        base[s] = run(world, {}, s, steps)
    only = sys.argv[4:]
    for name, (ov, regions) in LEVERS[world].items():
        if only and name not in only:
            continue
        ds, da = [], []
        for s in seeds:
            v = run(world, ov, s, steps)
            s0, a0 = outcomes(base[s], regions)
            s1, a1 = outcomes(v, regions)
            ds.append(s1 - s0)
            da.append(a1 - a0)
        b = np.mean([outcomes(base[s], regions)[0] for s in seeds])
        print(f"{name:16s} {'+'.join(regions)[:20]:20s} base share {b:.4f}")
        print(f"   share diff  {ci(np.array(ds))}")
        print(f"   log MA diff {ci(np.array(da))}")


if __name__ == "__main__":
    if "--by-purpose" in sys.argv:
        sys.argv.remove("--by-purpose")
        STREAMS["solver.random_streams"] = "by_purpose"
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
