"""How open is the modelled economy?  Exports, outflows to the rest of China, imports, inflows, and the
income multiplier that follows, for a scenario and for what-if masses of the outside world.

Run from the repository root::

    python scripts/openness.py                                    # the baseline, 4 seeds, 8 quarters
    python scripts/openness.py --internal-km EU=777 ASEAN=801 EC=1000 DOM=1165   # internal distances
    python scripts/openness.py --internal-km EU=777 ASEAN=801 EC=1000 DOM=1165 \\
        --demand-international 10 --demand-domestic 7 --competitors-domestic 3000  # an open economy

``--internal-km`` gives gateway markets an internal distance (gateways.csv ``internal_km``) in a
temporary copy of the scenario's directory.  The what-if factors multiply the gateways' demand (gateways.csv ``demand``) and their relative
competitor masses (``competitors``, times ``behaviour.market.external_competitors``) of the international
gateways and of the domestic ones (the rest of China) in memory; nothing is written.  Each seed runs the
scenario's burn-in, then ``--steps`` observed quarters.  Printed per seed and as the mean: the goods
export share (international gateways), the outflow share (rest of China), the import and inflow shares
of the regions' goods purchases (docs/METRICS.md, "Logistics"), the goods multiplier = the regions' goods
sales / their goods sales outside the regions (how many yuan of sales each yuan sold outside carries,
through intermediate demand and local incomes: 1 / (export share + outflow share)), the firm count at
the first and last observed quarter, the FTZ's share of firms and the relative change of output
(nominal) over the observed quarters.  ``--set KEY=VALUE`` overrides scenario fields.  Targets: goods exports are about
19 % of Chongqing's industrial sales (exports 516.8 bn yuan over the 2,711.9 bn revenue of industrial
firms above designated size, 2021; scripts/calibrate_logistics.py uses 0.20); the outflow share is an
estimate (0.35, no statistic found).  docs/LOGISTICS.md, "Openness", gives the measurements.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

KEYS = ("export_share", "goods_outflow_share", "goods_import_share", "goods_inflow_share")


def _world(scenario, args):
    """The scenario's World with the what-if factors applied to its gateways."""
    from agglomeration.world import build_world

    w = build_world(scenario)
    intl = np.asarray(w.routes.international, dtype=bool)[w.n_regions :]
    demand = np.where(intl, args.demand_international, args.demand_domestic)
    mass = np.where(intl, args.competitors_international, args.competitors_domestic)
    return dataclasses.replace(
        w,
        gateway_demand=np.asarray(w.gateway_demand, dtype=float) * demand,
        gateway_competitors=np.asarray(w.gateway_competitors, dtype=float) * mass,
    )


def with_internal_km(scenario: Path, internal: list[str], tmp: Path) -> Path:
    """A copy of the scenario's directory whose gateways file has the ``GW=KM`` internal distances."""
    import shutil
    import tomllib

    import pandas as pd

    copy = tmp / scenario.parent.name
    shutil.copytree(scenario.parent, copy)
    rel = tomllib.loads(scenario.read_text())["logistics"]["gateways_file"]
    path = copy / rel
    g = pd.read_csv(path, keep_default_na=False)
    km = dict(item.split("=", 1) for item in internal)
    unknown = set(km) - set(g["gateway_id"])
    if unknown:
        raise SystemExit(
            f"--internal-km: unknown gateways {sorted(unknown)} (have {list(g.gateway_id)})"
        )
    g["internal_km"] = [float(km.get(i, 0.0)) for i in g["gateway_id"]]
    g.to_csv(path, index=False)
    return copy / scenario.name


def one(job: tuple[argparse.Namespace, int]) -> dict[str, float]:
    """Run one seed and measure its openness."""
    from agglomeration import logistics_outcomes as lo
    from agglomeration.commands.run import parse_overrides
    from agglomeration.model import AgglomerationModel
    from agglomeration.scenario import load_scenario

    args, seed = job
    scenario = load_scenario(args.scenario, parse_overrides(args.set))
    m = AgglomerationModel(scenario, replicate_seed=seed, world=_world(scenario, args))
    first = float(len(m.firms.alive_rows()))
    out0 = float(m.series_frame()["output"].iloc[-1])
    m.run(args.steps)
    h = m.headline_metrics()
    w, R = m.world, m.world.n_regions
    flows = lo.trade_flows(m.state, w)
    goods = np.asarray(w.sector_kind) == "manufacturing"
    sales = flows[goods][:, :R, :]
    outside = sales[:, :, R:].sum()
    rows = m.firms.alive_rows()
    ftz = np.asarray(w.region_type)[m.firms.region[rows]] == "ftz"
    out = {k: float(h[k]) for k in KEYS}
    out.update(
        seed=seed,
        multiplier=float(sales.sum() / outside) if outside > 0 else float("nan"),
        firms_first=first,
        firms_last=float(len(rows)),
        ftz_share=float(ftz.mean()) if len(rows) else float("nan"),
        output_change=float(h["output"] / out0 - 1.0) if out0 > 0 else float("nan"),
    )
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--scenario", default=str(ROOT / "scenarios" / "baseline.toml"))
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4])
    p.add_argument("--steps", type=int, default=8, help="observed quarters after the burn-in")
    from agglomeration.experiment.pools import WORKERS_HELP, default_workers

    p.add_argument("--workers", type=int, default=default_workers(), help=WORKERS_HELP)
    p.add_argument("--internal-km", nargs="+", default=[], metavar="GATEWAY=KM")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="scenario override (TOML value)",
    )
    for what in ("demand", "competitors"):
        for where in ("international", "domestic"):
            p.add_argument(f"--{what}-{where}", type=float, default=1.0, metavar="FACTOR")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        if args.internal_km:
            args.scenario = str(with_internal_km(Path(args.scenario), args.internal_km, Path(tmp)))
        with ProcessPoolExecutor(args.workers) as ex:
            res = list(ex.map(one, [(args, s) for s in args.seeds]))
    cols = ("seed", *KEYS, "multiplier", "firms_first", "firms_last", "ftz_share", "output_change")
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for r in res:
        print("| " + " | ".join(f"{r[c]:.3f}" if c != "seed" else str(r[c]) for c in cols) + " |")
    mean = {c: np.mean([r[c] for r in res]) for c in cols[1:]}
    print("| mean | " + " | ".join(f"{mean[c]:.3f}" for c in cols[1:]) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
