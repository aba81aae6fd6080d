"""Calibrate the logistics block of the baseline: gravity distance elasticity, mode shares, export shares.

Run from the repository root::

    python scripts/calibrate_logistics.py            # report the fit of the data as they are
    python scripts/calibrate_logistics.py --write    # iterate, then write the calibrated values back

What it fits (docs/LOGISTICS.md gives the targets' sources):

1. ``distance_elasticity`` (one value for every sector, sectors.csv) so that the distance elasticity of the
   simulated inter-regional manufacturing flows, an OLS of log flows on log great-circle distance with
   origin and destination fixed effects (regions to every other market), is :data:`GRAVITY_TARGET`;
2. the route options' constants (option_constants.csv) so that the simulated mode shares of the regions'
   trade with each destination match :data:`MODE_TARGETS` (a logit contraction: asc += ln(target/model));
3. with ``--demand``, the international gateways' demand (gateways.csv) so that goods exports are
   :data:`EXPORT_TARGET` of the regions' manufacturing sales, split over the international gateways as
   :data:`EXPORT_SPLIT`.  The rest of China's demand is not fitted: its target (:data:`DOMESTIC_TARGET`)
   is an estimate without a statistic, and an economy open to the rest of China sheds firms under the
   firm dynamics calibrated here (docs/LOGISTICS.md, "Openness").  The export share can only approach
   its target because the gateways' own firms trade over their internal distance (gateways.csv
   ``internal_km``); without it the export share stays near 3 % (at most about 1/10, the inverse of
   the goods multiplier) whatever the demand.

``--scenario FILE`` measures another scenario; with ``--write`` only its route constants file (in
scenarios/data) is updated: the distance elasticity and the gateways' demand stay the baseline's.

Each iteration runs the scenario for ``--steps`` quarters once per replicate seed of ``--seeds`` (default
1) and measures the flows of :func:`agglomeration.logistics_outcomes.trade_flows`, pooled over the runs;
updates are damped.  One run's value shares swing with a few exporters (docs/LOGISTICS.md), so report
or calibrate over several seeds (``--seeds 1 2 3 4 5``).  The calibration needs the
model's own flows (who sells where depends on firms' locations and prices), so it is a fixed point, not
a closed form.
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from agglomeration import logistics_outcomes as lo  # noqa: E402
from agglomeration.errors import InputError  # noqa: E402
from agglomeration.model import AgglomerationModel  # noqa: E402
from agglomeration.scenario import load_scenario  # noqa: E402

DATA = ROOT / "scenarios" / "data"
BASELINE = ROOT / "scenarios" / "baseline.toml"

#: distance elasticity of trade flows: Disdier and Head (2008) mean -0.9; Head and Mayer (2014)
#: structural gravity -1.1; intra-China truck flows -1.19 (EPJ Data Science 8:37, 2019)
GRAVITY_TARGET = -1.0
#: (destination, basis) -> option shares.  Sources in docs/LOGISTICS.md.
MODE_TARGETS: dict[tuple[str, str], dict[str, float]] = {
    ("EU", "value"): {"rail": 0.25, "river": 0.45, "air": 0.30},
    ("ASEAN", "value"): {"lsc": 0.08, "road": 0.05, "river": 0.52, "air": 0.35},
    ("EC", "tonnes"): {"river": 0.60, "road": 0.29, "rail": 0.10, "air": 0.01},
    ("DOM", "tonnes"): {"road": 0.55, "rail": 0.15, "river": 0.29, "air": 0.01},
    ("regions", "tonnes"): {"road": 0.82, "river": 0.14, "rail": 0.04},
}
#: goods exports / manufacturing sales of the regions' firms (Chongqing 2021: exports 516.8 bn yuan
#: against 2,711.9 bn yuan revenue of industrial firms above designated size, Chongqing Statistics Bureau)
EXPORT_TARGET = 0.19
#: shares of the goods exports by gateway (Chongqing trade Q1-Q3 2019: EU 17 %, ASEAN 19 %, the rest
#: through Shanghai and the airports)
EXPORT_SPLIT = {"EU": 0.20, "ASEAN": 0.20, "EC": 0.60}
#: sales to the rest of China / manufacturing sales (estimate; no statistic found)
DOMESTIC_TARGET = 0.35


def gravity_elasticity(flows: np.ndarray, world) -> float:
    """OLS slope of log aggregate manufacturing flows on log great-circle distance with origin and
    destination fixed effects; origins the regions, destinations every other market."""
    R, M = world.n_regions, world.n_markets
    goods = np.asarray(world.sector_kind) == "manufacturing"
    F = flows[goods].sum(axis=0)
    D = world.distance_km
    o, d = np.nonzero(F[:R, :] > 0)
    keep = o != d
    o, d = o[keep], d[keep]
    y = np.log(F[o, d])
    X = [np.log(np.maximum(D[o, d], 1.0))]
    X += [(o == i).astype(float) for i in range(R)]
    X += [(d == j).astype(float) for j in range(1, M)]
    beta, *_ = np.linalg.lstsq(np.column_stack(X), y, rcond=None)
    return float(beta[0])


def _run_flows(scenario: Path, steps: int, seed: int, overrides: dict | None) -> tuple:
    """One run of ``scenario``: (world, (S, M, M) flows, (M, M, S, O) option values and tonnes, live
    firms)."""
    scen = load_scenario(scenario, overrides or None)
    m = AgglomerationModel(scen, replicate_seed=seed)
    m.run(steps)
    flows = lo.trade_flows(m.state, m.world)
    v, tonnes = lo._option_flows(flows, m.world, m.state.costs.route_choice.share)
    return m.world, flows, v, tonnes, m.firms.n_alive


def measure(
    steps: int,
    overrides: dict | None = None,
    seeds: tuple[int, ...] = (1,),
    scenario: Path = BASELINE,
) -> dict:
    """Run ``scenario`` once per replicate seed and measure gravity, mode shares and export shares of
    the flows pooled over the runs (one seed: that run's flows)."""
    flows = v = tonnes = 0.0
    firms = []
    for seed in seeds:
        w, f1, v1, t1, n = _run_flows(scenario, steps, seed, overrides)
        flows, v, tonnes = flows + f1, v + v1, tonnes + t1
        firms.append(n)
    R = w.n_regions
    shares = {}
    for (dest, basis), target in MODE_TARGETS.items():
        mask = np.zeros((w.n_markets, w.n_markets), bool)
        if dest == "regions":
            mask[:R, :R] = True
            np.fill_diagonal(mask, False)
        else:
            g = w.market_index(dest)
            mask[:R, g] = mask[g, :R] = True
        x = (v if basis == "value" else tonnes)[mask].sum(axis=(0, 1))
        ids = list(w.option_ids)
        tot = sum(x[ids.index(o)] for o in target)
        shares[(dest, basis)] = {o: float(x[ids.index(o)] / tot) for o in target}
    goods = np.asarray(w.sector_kind) == "manufacturing"
    sales = flows[goods][:, :R, :].sum(axis=(0, 1))  # (M,) by destination
    total = sales.sum()
    by_gw = {str(g): float(sales[w.market_index(str(g))] / total) for g in w.gateway_ids}
    return {
        "gravity": gravity_elasticity(flows, w),
        "shares": shares,
        "dest_share": by_gw,
        "export_share": float(sum(by_gw[g] for g in EXPORT_SPLIT)),
        "firms": float(np.mean(firms)),
        "seeds": tuple(seeds),
    }


def _read(name: str) -> tuple[list[str], list[dict]]:
    with (DATA / name).open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return list(rows[0].keys()), rows


def _write(name: str, header: list[str], rows: list[dict]) -> None:
    with (DATA / name).open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=header)
        w.writeheader()
        w.writerows(rows)


def report(res: dict) -> str:
    lines = [f"gravity distance elasticity: {res['gravity']:.3f} (target {GRAVITY_TARGET})"]
    for key, target in MODE_TARGETS.items():
        got = res["shares"][key]
        pairs = ", ".join(f"{o} {got[o]:.3f} ({t:.2f})" for o, t in target.items())
        lines.append(f"mode shares {key[0]} by {key[1]}: {pairs}")
    lines.append(
        f"goods export share: {res['export_share']:.3f} (target {EXPORT_TARGET}); by destination: "
        + ", ".join(f"{g} {s:.3f}" for g, s in res["dest_share"].items())
        + f"; the rest of China against an estimate of {DOMESTIC_TARGET} (not fitted)"
    )
    lines.append(
        f"live firms at the end: {res['firms']:.0f} (mean over replicate seeds "
        + ", ".join(map(str, res["seeds"]))
        + ")"
    )
    return "\n".join(lines)


def calibrate(
    iterations: int,
    steps: int,
    demand: bool = False,
    seeds: tuple[int, ...] = (1,),
    scenario: Path = BASELINE,
    constants: str = "option_constants.csv",
    fit_gravity: bool = True,
) -> dict:
    """Iterate the three updates; return the last measurement (values already written to the CSVs).
    For a scenario other than the baseline only its route ``constants`` file is written."""
    shared = scenario.resolve() == BASELINE.resolve() and fit_gravity
    for it in range(iterations):
        res = measure(steps, seeds=seeds, scenario=scenario)
        print(f"--- iteration {it}\n{report(res)}", flush=True)
        # 1. distance elasticity (same for every sector; the baseline's sectors.csv)
        if shared:
            _update_distance_elasticity(res["gravity"])
        # 2. constants
        ch, crows = _read(constants)
        for r in crows:
            key = next((k for k in MODE_TARGETS if k[0] == r["destination"]), None)
            if key is None or r["option_id"] not in MODE_TARGETS[key]:
                continue
            got = max(res["shares"][key][r["option_id"]], 1e-6)
            r["asc"] = (
                f"{float(r['asc']) + 0.8 * math.log(MODE_TARGETS[key][r['option_id']] / got):.4f}"
            )
        for dest in {r["destination"] for r in crows}:  # only differences matter: mean 0
            group = [r for r in crows if r["destination"] == dest]
            mean = sum(float(r["asc"]) for r in group) / len(group)
            for r in group:
                r["asc"] = f"{float(r['asc']) - mean:.4f}"
        _write(constants, ch, crows)
        if not demand:
            continue
        # 3. the international gateways' demand (docs/LOGISTICS.md, "Openness")
        gh, grows = _read("gateways.csv")
        for r in grows:
            g = r["gateway_id"]
            if g not in EXPORT_SPLIT:  # the rest of China: reported, not fitted
                continue
            target = EXPORT_TARGET * EXPORT_SPLIT[g]
            got = max(res["dest_share"].get(g, 1e-6), 1e-6)
            r["demand"] = f"{float(r['demand']) * (target / got) ** 0.5:.0f}"
        _write("gateways.csv", gh, grows)
    res = measure(steps, seeds=seeds, scenario=scenario)
    print(f"--- final\n{report(res)}")
    return res


def _update_distance_elasticity(gravity: float) -> None:
    """Damped update of the common distance elasticity of sectors.csv towards the gravity target."""
    sh, srows = _read("sectors.csv")
    delta = float(srows[0]["distance_elasticity"])
    new = delta * (GRAVITY_TARGET / gravity) ** 0.8
    for r in srows:
        r["distance_elasticity"] = f"{new:.4f}"
    _write("sectors.csv", sh, srows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true", help="iterate and write the calibrated values")
    ap.add_argument("--iterations", type=int, default=8)
    ap.add_argument(
        "--demand",
        action="store_true",
        help="also scale the international gateways' demand to the export targets",
    )
    ap.add_argument(
        "--keep-elasticity",
        action="store_true",
        help="do not update the distance elasticity (sectors.csv); fit the route constants only",
    )
    ap.add_argument("--steps", type=int, default=20, help="quarters per measurement run")
    ap.add_argument(
        "--seeds",
        type=int,
        nargs="+",
        default=[1],
        help="replicate seeds whose flows are pooled in every measurement (default: 1, the seed the "
        "data were calibrated with)",
    )
    ap.add_argument(
        "--scenario",
        default=str(BASELINE),
        help="scenario to measure (default: the baseline); with --write only its route constants "
        "file (which must be in scenarios/data) is updated",
    )
    args = ap.parse_args(argv)
    scenario = Path(args.scenario).resolve()
    try:
        constants = (scenario.parent / load_scenario(scenario).logistics.constants_file).resolve()
    except InputError as exc:
        ap.error(str(exc))
    seeds = tuple(args.seeds)
    if args.write:
        if constants.parent != DATA.resolve():
            ap.error(f"--write: the route constants of {scenario} ({constants}) are not in {DATA}")
        own = (BASELINE.parent / load_scenario(BASELINE).logistics.constants_file).resolve()
        if scenario != BASELINE.resolve() and constants == own:
            ap.error(
                f"--write: {scenario.name} uses the baseline's route constants ({constants.name}); "
                "give it its own logistics.constants_file first"
            )
        if args.demand and scenario != BASELINE.resolve():
            ap.error("--demand writes the baseline's gateways.csv: use it with the baseline only")
        calibrate(
            args.iterations,
            args.steps,
            args.demand,
            seeds,
            scenario,
            constants.name,
            fit_gravity=not args.keep_elasticity,
        )
    else:
        print(report(measure(args.steps, seeds=seeds, scenario=scenario)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
