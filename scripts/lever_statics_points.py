"""Comparative statics of the levers at parameter points away from the baseline, paired by seed.

Run from the repository root::

    python scripts/lever_statics_points.py --out statics.json                # 7 points, 10 seeds (~10 min)
    python scripts/lever_statics_points.py --out s.json --points P4_sharp_entry_dear --seeds 4
    python scripts/lever_statics_points.py --summarise statics.json         # the table of checks

Each point (``POINTS``: 2-4 parameters moved inside their documented ranges, 1,000 initial firms,
burn-in 30) runs every lever setting of ``variants`` for ``--seeds`` seeds from the point's own settled
start (common random numbers), 12 observed quarters each, and records the headline metrics, the flow
balance after every step, the per-type run identity and, for the network changes, the partial change of
market access (the variant's trade freeness at the base run's expenditure and price indices).  The
``crn_*`` rows run the entry submodel once with a common generator (the same potential entrants and
shocks under both settings).  ``--summarise`` prints, per point and check, the paired mean difference
with its 95 % t interval, the verdict (HOLDS: the documented sign beyond noise; noise; REVERSED) and the
number of seeds with the documented sign.  docs/LEVER_EFFECTS.md ("Tests") quotes its results.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from scipy import stats

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from agglomeration.behaviour import entry  # noqa: E402
from agglomeration.experiment import decomposition as dec  # noqa: E402
from agglomeration.model import AgglomerationModel  # noqa: E402
from agglomeration.scenario import load_scenario  # noqa: E402

BASELINE = ROOT / "scenarios" / "baseline.toml"
SMALL = {"firms.initial_count": 1000, "burn_in": 30}
POINTS = {
    "P0_small_baseline": {},
    "P1_entry_shocks": {
        "behaviour.entry.logit_scale": 2.5,
        "behaviour.entry.location_scale": 0.9,
        "behaviour.entry.known_productivity_share": 0.75,
    },
    "P2_cheap_entry_dispersion": {
        "behaviour.costs.entry_cost": 3.0,
        "behaviour.lines.birth_rate": 0.016,
        "firms.productivity_sigma": 0.45,
    },
    "P3_factor_markets": {
        "behaviour.factor_prices.supply_elasticity": 1.0,
        "behaviour.factor_prices.rent_elasticity": 1.5,
        "behaviour.sourcing.max_suppliers": 2,
    },
    "P4_sharp_entry_dear": {
        "behaviour.entry.logit_scale": 0.6,
        "behaviour.entry.location_scale": 0.25,
        "behaviour.costs.entry_cost": 14.0,
    },
    "P5_policy_info": {
        "behaviour.entry.known_productivity_share": 0.95,
        "firms.productivity_sigma": 0.3,
        "policy.information_sharing": 0.1,
        "policy.replication_rate": 0.2,
    },
    "P6_elastic_big": {
        "behaviour.factor_prices.supply_elasticity": 4.0,
        "behaviour.factor_prices.rent_elasticity": 0.2,
        "behaviour.sourcing.max_suppliers": 8,
        "firms.initial_count": 1500,
    },
}
RAIL = ["LJ", "XY", "GY", "HT", "CS", "WZ", "YC", "FL", "QJ", "RC", "CD"]
CHEAP_RAIL = {"logistics.tariff_multiplier.rail": 0.5, "logistics.fee_multiplier.rail": 0.5}
WZ_LINK = {"logistics.add_links": [{"from": "WZ", "to": "DOM", "mode": "rail", "distance_km": 700}]}
NP_LINK = {
    "logistics.add_links": [{"from": "NP", "to": "XY", "mode": "rail", "distance_km": 30}],
    "logistics.add_hubs": [{"place": "NP", "mode": "rail"}],
}


def variants(point: dict) -> dict[str, dict]:
    """The lever settings compared at a point (pairs of them, or one against ``base``)."""
    ec = point.get("behaviour.costs.entry_cost", 8.0)
    return {
        "base": {},
        "conn03": {"policy.delegation.connected": 0.3},
        "conn10": {"policy.delegation.connected": 1.0},
        "all0": {"policy.delegation.all": 0.0},
        "all1": {"policy.delegation.all": 1.0},
        "wz1": {"policy.delegation.WZ": 1.0},
        "ec_lo": {"behaviour.costs.entry_cost": ec / 2},
        "ec_hi": {"behaviour.costs.entry_cost": min(ec * 2, 16.0)},
        "appr90": {"behaviour.entry.approval_days": 90.0},
        "appr270": {"behaviour.entry.approval_days": 270.0},
        "rail05": CHEAP_RAIL,
        "wz_link": WZ_LINK,
        "np_link": NP_LINK,
        "cust_wz_fast": {"logistics.customs_multiplier.WZ": 0.3},
        "cust_wz_slow": {"logistics.customs_multiplier.WZ": 3.0},
        "cust_xy_fast": {"logistics.customs_multiplier.XY": 0.3},
        "cust_xy_slow": {"logistics.customs_multiplier.XY": 3.0},
        "rep_inv_only": {
            "policy.replicate.all": 0.0,
            "policy.replicate.investment_management": 1.0,
        },
        "rep_none": {"policy.replicate.all": 0.0},
    }


def ma_with(state, world, phi):
    """Market access of every region at the state's expenditure and price indices with trade
    freeness ``phi`` (the partial effect of a network change, before anything responds)."""
    R = world.n_regions
    E = np.asarray(state.expenditure_used, float)
    P1 = state.market.P1
    ratio = np.divide(E, P1, out=np.zeros_like(E), where=P1 > 0)
    return np.einsum("srm,sm->r", phi[:, :R, :], ratio)


def one(point, over, seed, steps):
    """A run of the variant ``over`` from the point's settled start: (model, its outcomes)."""
    ref = load_scenario(BASELINE, {**SMALL, **point})
    m = AgglomerationModel(
        load_scenario(BASELINE, {**SMALL, **point, **over}), replicate_seed=seed, reference=ref
    )
    gaps = []
    for _ in range(steps):
        m.step()
        g = m.flow_balance()
        gaps.append(max(g["intermediate_gap"], g["expenditure_gap"]))
    sf = m.series_frame()
    h = m.headline_metrics()
    runs = sf.assign(variant="x", seed=seed)
    ident = float(dec.run_identity_gap(runs).max())
    bad = [k for k, v in h.items() if not np.isfinite(v)]
    out = dict(h)
    out["entry_decisions_sum"] = float(sf["entry_decisions"].iloc[1:].sum())
    out["entries_sum"] = float(sf["entries"].iloc[1:].sum())
    out["zone_entries"] = h["entries_total_ftz"] + h["entries_total_connected"]
    out["max_gap"] = float(max(gaps))
    out["identity_gap"] = ident
    out["nonfinite"] = bad
    out["entry_dec_step1"] = float(sf["entry_decisions"].iloc[1])
    out["rail_served_ma"] = float(np.mean([np.log(h[f"market_access_{r}"]) for r in RAIL]))
    return m, out


def crn_entry(point, over, seed):
    """entry submodel on the settled start with the variant's costs and a common generator."""
    ref = load_scenario(BASELINE, {**SMALL, **point})
    m = AgglomerationModel(
        load_scenario(BASELINE, {**SMALL, **point, **over}), replicate_seed=seed, reference=ref
    )
    rng = np.random.default_rng(1000 + seed)
    return float(entry.step(m.state, m.world, m.spec, rng)["entry_decisions"])


def metric(o: dict, key: str) -> float:
    """A check's outcome of one run: ``key`` is a recorded outcome, ``log:<outcome>`` its log,
    ``partial:<region>`` the partial change of that region's log market access and ``partial:RAIL``
    its mean over the rail-served regions."""
    kind, _, name = key.rpartition(":")
    if kind == "log":
        return float(np.log(o[name]))
    if kind == "partial":
        return float(
            np.mean([o["partial_dlogma"][r] for r in (RAIL if name == "RAIL" else [name])])
        )
    return float(o[key])


#: (label, variant_hi, variant_lo or None for a partial change of the variant alone, outcome key of
#: :func:`metric`, expected sign of hi - lo; 0: no documented sign)
CHECKS = [
    ("deleg conn 1.0-0.3: entry decisions (12q)", "conn10", "conn03", "entry_decisions_sum", +1),
    ("deleg conn 1.0-0.3: zone entries (12q)", "conn10", "conn03", "zone_entries", +1),
    ("deleg conn 1.0-0.3: CRN step-1 entry", "crn_conn10", "crn_conn03", "crn_entry", +1),
    ("deleg all 1-0: entry decisions", "all1", "all0", "entry_decisions_sum", +1),
    ("deleg all 1-0: zone entries", "all1", "all0", "zone_entries", +1),
    ("deleg all 1-0: CRN step-1 entry", "crn_all1", "crn_all0", "crn_entry", +1),
    ("deleg WZ=1 - base: entries WZ-type(conn)", "wz1", "base", "entries_total_connected", +1),
    ("entry cost hi-lo: entry decisions", "ec_hi", "ec_lo", "entry_decisions_sum", -1),
    ("entry cost hi-lo: CRN step-1 entry", "crn_ec_hi", "crn_ec_lo", "crn_entry", -1),
    ("approval 270-90d: entry decisions", "appr270", "appr90", "entry_decisions_sum", -1),
    ("approval 270-90d: CRN step-1 entry", "crn_appr270", "crn_appr90", "crn_entry", -1),
    ("rail x0.5: partial dlog MA rail-served", "rail05", None, "partial:RAIL", +1),
    ("rail x0.5: equil. mean log MA rail-served", "rail05", "base", "rail_served_ma", +1),
    ("rail x0.5: EU rail value share", "rail05", "base", "mode_share_eu_rail_value", +1),
    ("rail x0.5: CR Express kt", "rail05", "base", "corridor_cr_express_kt", +1),
    ("WZ-DOM rail link: partial dlog MA WZ", "wz_link", None, "partial:WZ", +1),
    ("WZ-DOM rail link: equil log MA WZ", "wz_link", "base", "log:market_access_WZ", +1),
    ("NP rail hub+link: partial dlog MA NP", "np_link", None, "partial:NP", +1),
    ("NP rail hub+link: equil log MA NP", "np_link", "base", "log:market_access_NP", +1),
    ("customs WZ 0.3-3: export share WZ", "cust_wz_fast", "cust_wz_slow", "export_share_WZ", +1),
    ("customs XY 0.3-3: export share XY", "cust_xy_fast", "cust_xy_slow", "export_share_XY", +1),
    (
        "deleg conn 1.0-0.3: reforms in the connected areas",
        "conn10",
        "conn03",
        "reforms_connected",
        +1,
    ),
    ("deleg conn 1.0-0.3: firms in the connected areas", "conn10", "conn03", "firms_connected", +1),
    ("deleg all 1-0: firms", "all1", "all0", "firms", +1),
    ("replicate inv only - none: zone entries", "rep_inv_only", "rep_none", "zone_entries", 0),
]
#: the variants whose entry submodel also runs once by common random numbers (``crn_<variant>``)
CRN_VARIANTS = ("conn03", "conn10", "all0", "all1", "appr90", "appr270", "ec_lo", "ec_hi")


def simulate(out_path: str, names: list[str], n_seeds: int, steps: int = 12) -> None:
    """Run every point's variants for seeds 1..n_seeds and write the outcomes as JSON."""
    seeds = range(1, 1 + n_seeds)
    res = {}
    for name in names:
        point = POINTS[name]
        t0 = time.time()
        res[name] = {}
        for seed in seeds:
            row = {}
            base_m = None
            for v, over in variants(point).items():
                m, o = one(point, over, seed, steps)
                if v == "base":
                    base_m = m
                row[v] = o
                if v in ("rail05", "wz_link", "np_link"):
                    # partial market access: variant network at the base run's E and P
                    cf = base_m.state.costs.customs_factor
                    phi0 = base_m.world.route_choice(cf).phi
                    phi1 = m.world.route_choice(cf).phi
                    ma0 = ma_with(base_m.state, base_m.world, phi0)
                    ma1 = ma_with(base_m.state, base_m.world, phi1)
                    ids = list(m.world.region_ids)
                    row[v]["partial_dlogma"] = {
                        r: float(np.log(ma1[i] / ma0[i])) for i, r in enumerate(ids)
                    }
            for v in CRN_VARIANTS:
                over = variants(point)[v]
                row[f"crn_{v}"] = {"crn_entry": crn_entry(point, over, seed)}
            res[name][seed] = row
            print(name, seed, f"{time.time() - t0:.0f}s", flush=True)
        json.dump(res, open(out_path, "w"), default=float)


def ci(d):
    """Mean and 95 % t interval of the paired differences ``d``."""
    d = np.asarray(d, float)
    n = len(d)
    h = stats.t.ppf(0.975, n - 1) * d.std(ddof=1) / np.sqrt(n) if n > 1 else np.nan
    return d.mean(), d.mean() - h, d.mean() + h


def summarise(path: str) -> None:
    """Print the table of checks of a ``--out`` file."""
    res = json.load(open(path))
    rows = []
    for point, seeds in res.items():
        for label, hi, lo, key, sign in CHECKS:
            d = [
                metric(row[hi], key) - (0.0 if lo is None else metric(row[lo], key))
                for row in seeds.values()
            ]
            m, a, b = ci(d)
            if sign == 0:
                verdict = "n/a"
            elif (sign > 0 and a > 0) or (sign < 0 and b < 0):
                verdict = "HOLDS"
            elif (sign > 0 and b < 0) or (sign < 0 and a > 0):
                verdict = "REVERSED"
            else:
                verdict = "noise"
            if sign != 0 and a == b == m:
                verdict = "HOLDS" if sign * m > 0 else ("zero" if m == 0 else "REVERSED")
            npos = sum(1 for x in d if sign * x > 0) if sign else sum(1 for x in d if x > 0)
            rows.append((point, label, m, a, b, verdict, f"{npos}/{len(d)}"))
        # identities
        gaps = [o["max_gap"] for row in seeds.values() for k, o in row.items() if "max_gap" in o]
        idg = [
            o["identity_gap"]
            for row in seeds.values()
            for k, o in row.items()
            if "identity_gap" in o
        ]
        nf = {x for row in seeds.values() for k, o in row.items() for x in o.get("nonfinite", [])}
        rows.append(
            (
                point,
                "flow balance max gap (all runs, every step)",
                max(gaps),
                np.nan,
                np.nan,
                "HOLDS" if max(gaps) < 1e-9 else "BROKEN",
                "",
            )
        )
        rows.append(
            (
                point,
                "per-type run identity max gap",
                max(idg),
                np.nan,
                np.nan,
                "HOLDS" if max(idg) == 0 else "BROKEN",
                "",
            )
        )
        rows.append(
            (
                point,
                "non-finite headline metrics: " + ",".join(sorted(nf)),
                0,
                np.nan,
                np.nan,
                "",
                "",
            )
        )

    for r in rows:
        print(f"{r[0]:26s} | {r[1]:44s} | {r[2]:+.4g} [{r[3]:+.4g}, {r[4]:+.4g}] | {r[5]} {r[6]}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", help="write the runs' outcomes here (JSON)")
    ap.add_argument("--points", nargs="+", default=list(POINTS), choices=list(POINTS))
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--summarise", metavar="JSON", help="print the checks of an --out file")
    args = ap.parse_args(argv)
    if args.out:
        simulate(args.out, args.points, args.seeds)
        summarise(args.out)
    elif args.summarise:
        summarise(args.summarise)
    else:
        ap.error("give --out or --summarise")
    return 0


if __name__ == "__main__":
    sys.exit(main())
