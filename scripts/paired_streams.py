"""A lever's paired effect on the firm count under both random-stream settings, seed by seed.

Run from the repository root::

    python scripts/paired_streams.py --seeds 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16
    python scripts/paired_streams.py --seeds 101 102 103 --set policy.delegation.connected=1.0

For every replicate seed (given directly, not derived from an experiment seed) the baseline and the
baseline with the lever (default: delegation 0.6 in the connected areas) run 40 quarters from the
baseline's settled start, once with one shared random stream and once with streams by purpose
(``solver.random_streams``; docs/EXPERIMENTS.md, section 2).  Printed per setting: the paired
differences of the live firms, their mean with its standard error and their standard deviation.  Why:
both settings must estimate the same effect (each run is a draw of the same model), while the
by-purpose setting should scatter far less.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=list(range(1, 17)))
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument(
        "--set",
        dest="lever",
        default="policy.delegation.connected=0.6",
        help="the lever, KEY=VALUE (VALUE a number); default policy.delegation.connected=0.6",
    )
    args = parser.parse_args(argv)
    key, _, value = args.lever.partition("=")
    from agglomeration.model import AgglomerationModel
    from agglomeration.scenario import load_scenario

    warnings.simplefilter("ignore")
    diffs: dict[str, list[int]] = {"shared": [], "by_purpose": []}
    for seed in args.seeds:
        for mode in diffs:
            base = load_scenario(ROOT / "scenarios" / "baseline.toml").with_overrides(
                {"solver.random_streams": mode}
            )
            variant = base.with_overrides({key: float(value)})
            firms = []
            for scen in (base, variant):
                model = AgglomerationModel(scen, replicate_seed=seed, reference=base)
                for _ in range(args.steps):
                    model.step()
                firms.append(int(model.firms.n_alive))
            diffs[mode].append(firms[1] - firms[0])
        print(
            f"seed {seed}: shared {diffs['shared'][-1]:+d}, by purpose {diffs['by_purpose'][-1]:+d}"
        )
    for mode, d in diffs.items():
        x = np.asarray(d, dtype=float)
        se = x.std(ddof=1) / np.sqrt(len(x)) if len(x) > 1 else float("nan")
        print(f"{mode}: mean {x.mean():+.1f} (se {se:.1f}), sd {x.std(ddof=1):.1f}, n {len(x)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
