"""How much the entrants' entry price raises the sector price levels (docs/ODD.md, Known limitations).

    python scripts/price_level_bias.py                  # the baseline, seed 1, steps 1-6
    python scripts/price_level_bias.py --seed 2 --steps 12

An entrant is created with the price sigma/(sigma - 1) until its first market; the sector price level
that scales the import prices (``costs.update_import_prices``: the geometric mean of the live firms'
prices) is taken before that market, so it counts those entrants.  For each step this prints how many
live firms are at the entry price and, by sector, the level with them over the level without them,
minus 1.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from agglomeration.model import AgglomerationModel  # noqa: E402


def level_bias(model: AgglomerationModel) -> tuple[int, int, np.ndarray]:
    """(live firms at the entry price, live firms, (S,) level with them / level without them - 1)."""
    t, w = model.state.firms, model.world
    rows = t.alive_rows()
    sector, price = t.sector[rows], t.price[rows]
    sigma = np.asarray(w.sigma)[sector]
    entry_price = price == sigma / (sigma - 1.0)

    def level(mask: np.ndarray) -> np.ndarray:
        n = np.bincount(sector[mask], minlength=w.n_sectors)
        logp = np.bincount(sector[mask], weights=np.log(price[mask]), minlength=w.n_sectors)
        return np.exp(logp / np.maximum(n, 1))

    every = level(np.ones(len(rows), bool))
    return int(entry_price.sum()), len(rows), every / level(~entry_price) - 1.0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default=str(ROOT / "scenarios" / "baseline.toml"))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--steps", type=int, default=6)
    args = ap.parse_args(argv)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = AgglomerationModel(args.scenario, replicate_seed=args.seed)
        print(f"sectors: {', '.join(map(str, model.world.sector_ids))}")
        for step in range(1, args.steps + 1):
            n, live, bias = level_bias(model)  # the state the step's costs submodel sees
            print(
                f"step {step}: {n} of {live} live firms at the entry price; level bias by sector "
                + " ".join(f"{b:+.3f}" for b in bias)
                + f" (mean {bias.mean():+.3f})"
            )
            model.step()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
