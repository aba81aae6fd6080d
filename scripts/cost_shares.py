"""Where a sector's revenue goes in the model, against the cost structure of Chinese input-output tables.

Run from the repository root::

    python scripts/cost_shares.py                     # the baseline, seeds 1-3, 4 observed quarters
    python scripts/cost_shares.py --steps 20 --seeds 1 2 3 4 --set firms.initial_count=3000

Each seed runs the scenario's burn-in and ``--steps`` observed quarters; then, per sector, over the live
firms: revenue, purchased inputs (from the modelled sectors and imports), the wage bill (employment x
the wage of the firm's region, fixed-cost labour included), land cost (land use x rent) and what is left
(profit before the fixed costs' non-labour part), each as a share of revenue, and employment.  Printed per
sector as the mean over seeds.

Why: the model's cost shares (sectors.csv ``labour_share``, ``land_share``, io_coefficients.csv) make
labour the residual of the modelled inputs, so labour stands for every input the model does not have
(energy, basic materials, unmodelled services) as well as for wages.  Input-output tables put
intermediate inputs at 0.68-0.78 of manufacturing gross output (NBS Yearbook 2001, table 3-19, 1997
table) and at about 0.83 in Chinese electronics (value added 16.5 % of output, 2014, WIOD via Xia and Peng
2019), with compensation of employees a part of value added.  docs/ODD.md ("Known limitations") gives the
measurement and what it implies for levels of employment.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from agglomeration.commands.run import parse_overrides  # noqa: E402
from agglomeration.model import AgglomerationModel  # noqa: E402
from agglomeration.observe import region_sector  # noqa: E402
from agglomeration.scenario import load_scenario  # noqa: E402


def sector_accounts(model: AgglomerationModel) -> pd.DataFrame:
    """Per sector: revenue and employment (sums over live firms) and the shares of revenue spent on
    inputs, wages and land (CNY m per quarter; shares of revenue)."""
    s, w = model.state, model.world
    R, S = w.n_regions, w.n_sectors

    def by_cell(column: str) -> np.ndarray:  # (R, S) sums over the live firms
        return np.asarray(region_sector(s.firms, R, S, column), dtype=float)

    revenue, emp = by_cell("revenue").sum(axis=0), by_cell("employment")
    out = pd.DataFrame(
        {
            "kind": w.sector_kind,
            "revenue": revenue,
            "employment_m": emp.sum(axis=0) / 1e6,
            "inputs_share": by_cell("input_cost").sum(axis=0) / revenue,
            "wages_share": (emp * s.wage[:, None]).sum(axis=0) / revenue,
            "land_share": (by_cell("land_use") * s.rent[:, None]).sum(axis=0) / revenue,
        },
        index=pd.Index(w.sector_ids, name="sector"),
    )
    out["rest_share"] = 1.0 - out[["inputs_share", "wages_share", "land_share"]].sum(axis=1)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scenario", default=str(ROOT / "scenarios" / "baseline.toml"))
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    a = ap.parse_args(argv)
    spec = load_scenario(a.scenario, parse_overrides(a.overrides))
    frames = []
    for seed in a.seeds:
        m = AgglomerationModel(spec, replicate_seed=seed)
        m.run(a.steps)
        frames.append(sector_accounts(m))
    kind = frames[0]["kind"]
    mean = sum(f.drop(columns="kind") for f in frames) / len(frames)
    mean.insert(0, "kind", kind)
    with pd.option_context("display.width", 200):
        print(mean.round(3).to_string())
    for k in ("manufacturing", "service"):
        sel = [f[f["kind"] == k] for f in frames]
        share = np.mean(
            [(x["inputs_share"] * x["revenue"]).sum() / x["revenue"].sum() for x in sel]
        )
        wages = np.mean([(x["wages_share"] * x["revenue"]).sum() / x["revenue"].sum() for x in sel])
        emp = np.mean([x["employment_m"].sum() for x in sel])
        print(f"{k}: inputs {share:.3f} and wages {wages:.3f} of revenue, {emp:.2f} m workers")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
