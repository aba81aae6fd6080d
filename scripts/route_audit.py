"""Audit what a scenario's route options are: how many market pairs each is offered for, how many of its
routes visit a place twice or run mostly on road, and how much of the simulated trade value travels on
routes named for one mode but mostly trucked.  The numbers of docs/LOGISTICS.md ("Known limitation of
the baseline's routes", "Feeder legs") come from here.

Run from the repository root::

    python scripts/route_audit.py                                   # the baseline
    python scripts/route_audit.py --scenario scenarios/feeder_routes.toml
    python scripts/route_audit.py --steps 20 --seed 1               # with the run's trade value
    python scripts/route_audit.py --steps 20 --seed 1 --corridors   # and the corridor volumes' routes

Counts are ordered (origin, destination, shipped sector) cells; "mostly road" means at least
``--road-share`` (0.5) of the route's km on road links.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from agglomeration import logistics_outcomes as lo  # noqa: E402
from agglomeration.errors import InputError  # noqa: E402
from agglomeration.model import AgglomerationModel  # noqa: E402
from agglomeration.scenario import load_scenario  # noqa: E402
from agglomeration.world import build_world  # noqa: E402


def route_table(world, road_share: float) -> list[dict]:
    """Per route option: cells offered, cells whose route visits a place twice, cells at least
    ``road_share`` on road, and region-to-region pairs offered per shipped sector."""
    net = world.extra["network"]
    r = world.routes
    road = list(r.mode_names).index("road")
    R = world.n_regions
    rows = []
    for o, oid in enumerate(r.option_ids):
        av = r.available[..., o]
        loops = 0
        for i, j, s in zip(*np.nonzero(av), strict=True):
            places = net.route(net.markets[i], net.markets[j], int(s), option=str(oid)).places
            loops += len(set(places)) != len(places)
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(av, r.mode_km[..., o, road] / r.km[..., o], 0.0)
        regional = {
            str(world.sector_ids[s]): int(av[:R, :R, s].sum())
            for s in np.flatnonzero(np.asarray(r.shipped))
        }
        rows.append(
            {
                "option": str(oid),
                "offered": int(av.sum()),
                "loops": loops,
                "mostly_road": int(((share >= road_share) & av).sum()) if oid != "road" else 0,
                "region_pairs": regional,
            }
        )
    return rows


def mislabelled_value(
    scenario, steps: int, seed: int, road_share: float, options: list[str] | None = None
) -> dict:
    """Share of the trade value of the non-road options (or of ``options``) to each destination group
    that travels on routes at least ``road_share`` on road, in one run's flows after ``steps``
    quarters."""
    m = AgglomerationModel(scenario, replicate_seed=seed)
    m.run(steps)
    w = m.world
    flows = lo.trade_flows(m.state, w)
    v, _ = lo._option_flows(flows, w, m.state.costs.route_choice.share)
    r = w.routes
    road = list(r.mode_names).index("road")
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(r.km > 0, r.mode_km[..., road] / r.km, 0.0)  # (M, M, S, O)
    not_road = np.asarray(r.option_main_mode) != "road"
    if options:
        not_road = np.isin(np.asarray(r.option_ids), options)
    R = w.n_regions
    out = {}
    for g in [*w.gateway_ids, "regions"]:
        mask = np.zeros((w.n_markets, w.n_markets), bool)
        if g == "regions":
            mask[:R, :R] = True
        else:
            j = w.market_index(str(g))
            mask[:R, j] = mask[j, :R] = True
        val = v[mask][..., not_road]
        bad = val[share[mask][..., not_road] >= road_share].sum()
        out[str(g)] = float(bad / val.sum()) if val.sum() > 0 else float("nan")
    val = v[..., not_road]
    out["all"] = float(val[share[..., not_road] >= road_share].sum() / val.sum())
    return out


def corridor_purity(model: AgglomerationModel) -> dict[str, dict[str, float]]:
    """Per corridor tag, in ``model``'s current flows: the share of the value and of the tonnes counted
    for the corridor (``corridor_<tag>_*``) that travels on routes with less than half their km on the
    tag's links, and the value counted for it by route option."""
    w = model.world
    flows = lo.trade_flows(model.state, w)
    v, t = lo._option_flows(flows, w, model.state.costs.route_choice.share)
    r = w.routes
    net = w.extra["network"]
    out = {}
    for c, cid in enumerate(w.corridor_ids):
        on = r.corridor == c
        with np.errstate(invalid="ignore", divide="ignore"):
            tagged = np.where(on, net.corridor_km[..., c] / r.km, 1.0)
        thin = on & (tagged < 0.5)
        row = {
            "thin_value": float(v[thin].sum() / v[on].sum()) if v[on].sum() > 0 else float("nan"),
            "thin_tonnes": float(t[thin].sum() / t[on].sum()) if t[on].sum() > 0 else float("nan"),
        }
        for o, oid in enumerate(r.option_ids):
            row[f"value_{oid}"] = float(v[..., o][on[..., o]].sum())
        out[str(cid)] = row
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default=str(ROOT / "scenarios" / "baseline.toml"))
    ap.add_argument("--road-share", type=float, default=0.5)
    ap.add_argument("--steps", type=int, default=0, help="quarters of a run for the value shares")
    ap.add_argument("--seed", type=int, default=1, help="replicate seed of that run")
    ap.add_argument(
        "--options", nargs="+", help="route options of the value shares (default: not road)"
    )
    ap.add_argument(
        "--corridors",
        action="store_true",
        help="with --steps: how much of each corridor volume runs mostly off the corridor's links",
    )
    args = ap.parse_args(argv)
    try:
        scenario = load_scenario(args.scenario)
    except InputError as exc:
        ap.error(str(exc))
    world = build_world(scenario)
    print(f"route options of {args.scenario} (cells: origin, destination, shipped sector)")
    for row in route_table(world, args.road_share):
        print(
            f"  {row['option']:6s} offered {row['offered']:5d}  visits a place twice "
            f"{row['loops']:5d}  >= {args.road_share:.0%} road {row['mostly_road']:5d}  "
            "region pairs by sector: "
            + ", ".join(f"{k} {n}" for k, n in row["region_pairs"].items())
        )
    if args.corridors:
        m = AgglomerationModel(scenario, replicate_seed=args.seed)
        m.run(args.steps)
        print(
            f"corridor volumes (seed {args.seed}, quarter {args.steps}): share on routes < 50 % tagged"
        )
        for cid, row in corridor_purity(m).items():
            by_option = {
                k[6:]: round(x) for k, x in row.items() if k.startswith("value_") and x > 0
            }
            print(
                f"  {cid:10s} value {row['thin_value']:.2f}  tonnes {row['thin_tonnes']:.2f}  "
                f"value by option (CNY m per step) {by_option}"
            )
    if args.steps > 0:
        res = mislabelled_value(scenario, args.steps, args.seed, args.road_share, args.options)
        which = "/".join(args.options) if args.options else "non-road"
        print(
            f"value of the {which} options on routes >= {args.road_share:.0%} road "
            f"(seed {args.seed}, quarter {args.steps}): "
            + ", ".join(f"{k} {v:.2f}" for k, v in res.items())
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
