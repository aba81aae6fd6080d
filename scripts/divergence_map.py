"""Where the income loop runs away: fixed-cost quantile x relationship distance elasticity.

Run from the repository root::

    python scripts/divergence_map.py                                  # the pairs of docs/ODD.md 7.3
    python scripts/divergence_map.py --pairs 0.9:3 0.6:1.5 --seeds 1 2 --firms 1000

For each (``behaviour.accounts.fixed_cost_quantile``, ``behaviour.sourcing.relationship_distance_elasticity``)
pair, seed and burn-in, the baseline runs ``--steps`` quarters and prints the largest final
expenditure over the exogenous demand (households' immobile income + the gateways' demand; about
1.6 in the baseline), or ``DIV`` when the runaway guard (agglomeration.divergence) stopped it.  Why:
the validated ranges stop where each setting alone diverged, but high values of both together
diverge too (docs/ODD.md, section 7.3); this is the evidence for that paragraph.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def max_ratio(quantile: float, elasticity: float, seed: int, burn_in: int, firms: int, steps: int):
    """The largest expenditure / exogenous demand over ``steps`` quarters, or None if it diverged."""
    from agglomeration import AgglomerationModel, load_scenario
    from agglomeration.divergence import spending_ratio
    from agglomeration.errors import DivergedError

    try:
        model = AgglomerationModel(
            load_scenario(ROOT / "scenarios" / "baseline.toml"),
            replicate_seed=seed,
            firms__initial_count=firms,
            burn_in=burn_in,
            behaviour__accounts__fixed_cost_quantile=quantile,
            behaviour__sourcing__relationship_distance_elasticity=elasticity,
        )
        largest = 0.0
        for _ in range(steps):
            model.step()
            largest = max(largest, spending_ratio(model.state, model.world))
        return largest
    except DivergedError:
        return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--pairs",
        nargs="+",
        default=["0.9:3", "0.9:2", "0.8:2", "0.2:3", "0.9:0.3", "0.7:1", "0.5:2", "0.5:1"],
        help="quantile:elasticity pairs",
    )
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3])
    parser.add_argument("--burn-in", nargs="+", type=int, default=[0, 20], dest="burn_in")
    parser.add_argument("--firms", type=int, default=500)
    parser.add_argument("--steps", type=int, default=6)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    print(
        "quantile elasticity  " + "  ".join(f"s{s}/b{b}" for s in args.seeds for b in args.burn_in)
    )
    for pair in args.pairs:
        q, e = (float(x) for x in pair.split(":"))
        cells = []
        for seed in args.seeds:
            for burn in args.burn_in:
                r = max_ratio(q, e, seed, burn, args.firms, args.steps)
                cells.append("DIV" if r is None else f"{r:.2g}")
        print(f"{q:8g} {e:10g}  " + "  ".join(f"{c:>6}" for c in cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())
