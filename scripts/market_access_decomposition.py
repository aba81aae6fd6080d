"""Why cheaper rail can lower the rail-served regions' equilibrium market access: the one-quarter change
of their mean log ``market_access`` split into its parts.

    python scripts/market_access_decomposition.py                       # rail x0.3 (tariff and fees)
    python scripts/market_access_decomposition.py --multiplier 0.8 --scenario scenarios/feeder_routes.toml

``market_access_<region>`` (docs/METRICS.md) is sum_s w_s pbar_s^(1 - sigma_s) sum_m phi[s, r, m]
E[s, m] / P1[s, m].  A variant and its baseline run one quarter from the same settled start (the
baseline scenario is the reference of both, as in an experiment's shared start) with the same seed; the
change of the rail-served regions' mean log market access is then split by switching the parts from the
baseline's to the variant's one at a time, in this order: the freeness phi (the region's own access,
what tests/test_logistics.py checks at unchanged competition), the price indices P1 (its rivals'
access into every market, and the imports'), the expenditure E, the sector weights w and the sector
price levels pbar.  The parts add up to the total.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "scripts"))

from lever_statics_points import RAIL  # noqa: E402

from agglomeration import logistics_outcomes as lo  # noqa: E402
from agglomeration.errors import InputError  # noqa: E402
from agglomeration.model import AgglomerationModel  # noqa: E402
from agglomeration.scenario import load_scenario  # noqa: E402

PARTS = (
    ("freeness phi", 2),
    ("price indices P1", 1),
    ("expenditure E", 0),
    ("weights", 3),
    ("price levels", 4),
)


def _parts(model: AgglomerationModel) -> list[np.ndarray]:
    """(E, P1, phi, sector weights, sector price levels) of ``model``'s last market."""
    st, w = model.state, model.world
    alive = st.firms.alive_rows()
    out = np.bincount(
        st.firms.sector[alive], weights=st.firms.revenue[alive], minlength=w.n_sectors
    )
    return [
        np.asarray(st.expenditure_used, dtype=float),
        st.market.P1,
        st.costs.phi,
        out / out.sum(),
        np.asarray(lo.price_level(st), dtype=float),
    ]


def _mean_log_access(parts: list[np.ndarray], sigma: np.ndarray, R: int, idx: list[int]) -> float:
    E, P1, phi, weights, level = parts
    ratio = np.divide(E, P1, out=np.zeros_like(E), where=P1 > 0)
    potential = np.einsum("srm,sm->sr", phi[:, :R, :], ratio)
    return float(
        np.log(np.einsum("s,sr->r", weights * level ** (1 - sigma), potential)[idx]).mean()
    )


def decompose(scenario: str, overrides: dict, lever: dict, seed: int) -> dict[str, float]:
    """The parts of the change and its total (the metric's own change, as a check)."""
    base = load_scenario(scenario, overrides)
    runs = {}
    for name, extra in (("base", {}), ("variant", lever)):
        m = AgglomerationModel(
            load_scenario(scenario, {**overrides, **extra}), replicate_seed=seed, reference=base
        )
        m.step()
        runs[name] = m
    w = runs["base"].world
    idx = [list(w.region_ids).index(r) for r in RAIL if r in w.region_ids]
    sigma = np.asarray(w.sigma, dtype=float)
    current, after = _parts(runs["base"]), _parts(runs["variant"])
    before = _mean_log_access(current, sigma, w.n_regions, idx)
    out = {}
    for label, k in PARTS:
        current[k] = after[k]
        value = _mean_log_access(current, sigma, w.n_regions, idx)
        out[label] = value - before
        before = value
    metric = {n: np.log(lo.market_access(m.state, m.world)[idx]).mean() for n, m in runs.items()}
    out["total (the metric)"] = float(metric["variant"] - metric["base"])
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default=str(ROOT / "scenarios" / "baseline.toml"))
    ap.add_argument("--multiplier", type=float, default=0.3, help="rail tariff and fee multiplier")
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--firms", type=int, default=600, help="initial firms")
    ap.add_argument("--burn-in", type=int, default=40, help="quarters of burn-in")
    args = ap.parse_args(argv)
    overrides = {"firms.initial_count": args.firms, "burn_in": args.burn_in}
    lever = {
        "logistics.tariff_multiplier.rail": args.multiplier,
        "logistics.fee_multiplier.rail": args.multiplier,
    }
    print(
        f"rail x{args.multiplier:g} against the baseline of {args.scenario}, one quarter from the same "
        f"settled start ({args.firms} firms, burn-in {args.burn_in}): change of the rail-served regions' "
        "mean log market access, by part"
    )
    try:
        for seed in args.seeds:
            parts = decompose(args.scenario, overrides, lever, seed)
            print(f"  seed {seed}: " + ", ".join(f"{k} {v:+.2e}" for k, v in parts.items()))
    except InputError as exc:
        ap.error(str(exc))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
