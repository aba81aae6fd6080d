"""Calibration grid of the learning submodel (docs/VALIDATION.md, section "Calibration").

    python scripts/calibrate_learning.py [--workers N]     # writes docs/calibration_grid.md (~10 min)

Runs the Chongqing baseline (``scenarios/baseline.toml``) for 120 quarters per grid point and seed, with
``behaviour.learning.shock_sd``, ``behaviour.learning.shock_size_elasticity``,
``behaviour.learning.mean_reversion``, ``behaviour.entry.floor`` and the size-ratio bounds
``learning.SIZE_RATIO_BOUNDS`` set per row, and reports the stylised facts of
``agglomeration.validation.stylized_facts`` (burn-in 40 quarters, annual snapshots), the firm count
relative to the initial one after 80 and 120 quarters and the mean log productivity after 40 and 120.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

OUT = ROOT / "docs" / "calibration_grid.md"
STEPS, BURN_IN = 120, 40

#: (shock sd, size elasticity, mean reversion, entry floor, size-ratio bounds, seeds), in the order run
GRID = [
    (0.05, 0, 0, 1.0, (0.01, 100.0), (0, 1)),
    (0.05, 0, 0.01, 1.0, (0.01, 100.0), (0, 1)),
    (0.05, 0, 0.03, 1.0, (0.01, 100.0), (0, 1)),
    (0.05, 0.2, 0, 1.0, (0.01, 100.0), (0, 1)),
    (0.05, 0.2, 0.01, 1.0, (0.01, 100.0), (0, 1)),
    (0.05, 0.2, 0.03, 1.0, (0.01, 100.0), (0, 1)),
    (0.08, 0, 0, 1.0, (0.01, 100.0), (0, 1)),
    (0.08, 0, 0.01, 1.0, (0.01, 100.0), (0, 1)),
    (0.08, 0, 0.03, 1.0, (0.01, 100.0), (0, 1)),
    (0.08, 0.2, 0, 1.0, (0.01, 100.0), (0, 1)),
    (0.08, 0.2, 0.01, 1.0, (0.01, 100.0), (0, 1)),
    (0.08, 0.2, 0.03, 1.0, (0.01, 100.0), (0, 1)),
    (0.1, 0, 0, 1.0, (0.01, 100.0), (0, 1)),
    (0.1, 0, 0.01, 1.0, (0.01, 100.0), (0, 1)),
    (0.1, 0, 0.03, 1.0, (0.01, 100.0), (0, 1)),
    (0.1, 0.2, 0, 1.0, (0.01, 100.0), (0, 1)),
    (0.1, 0.2, 0.01, 1.0, (0.01, 100.0), (0, 1)),
    (0.1, 0.2, 0.03, 1.0, (0.01, 100.0), (0, 1)),
    (0.12, 0, 0, 1.0, (0.01, 100.0), (0, 1)),
    (0.12, 0, 0.01, 1.0, (0.01, 100.0), (0, 1)),
    (0.12, 0, 0.03, 1.0, (0.01, 100.0), (0, 1)),
    (0.12, 0.2, 0, 1.0, (0.01, 100.0), (0, 1)),
    (0.12, 0.2, 0.01, 1.0, (0.01, 100.0), (0, 1)),
    (0.12, 0.2, 0.03, 1.0, (0.01, 100.0), (0, 1)),
    (0.12, 0.4, 0.005, 1.0, (0.01, 100.0), (0,)),
    (0.12, 0.4, 0.005, 4.0, (0.01, 100.0), (0,)),
    (0.12, 0.4, 0.01, 1.0, (0.01, 100.0), (0,)),
    (0.12, 0.4, 0.01, 4.0, (0.01, 100.0), (0,)),
    (0.12, 0.5, 0.005, 1.0, (0.01, 100.0), (0,)),
    (0.12, 0.5, 0.005, 4.0, (0.01, 100.0), (0,)),
    (0.12, 0.5, 0.01, 1.0, (0.01, 100.0), (0,)),
    (0.12, 0.5, 0.01, 4.0, (0.01, 100.0), (0,)),
    (0.15, 0.4, 0.005, 1.0, (0.01, 100.0), (0,)),
    (0.15, 0.4, 0.005, 4.0, (0.01, 100.0), (0,)),
    (0.15, 0.4, 0.01, 1.0, (0.01, 100.0), (0,)),
    (0.15, 0.4, 0.01, 4.0, (0.01, 100.0), (0,)),
    (0.15, 0.5, 0.005, 1.0, (0.01, 100.0), (0,)),
    (0.15, 0.5, 0.005, 4.0, (0.01, 100.0), (0,)),
    (0.15, 0.5, 0.01, 1.0, (0.01, 100.0), (0,)),
    (0.15, 0.5, 0.01, 4.0, (0.01, 100.0), (0,)),
    (0.15, 0.3, 0.005, 2.5, (0.01, 100.0), (0,)),
    (0.13, 0.25, 0.005, 2.5, (0.1, 100.0), (0,)),
    (0.15, 0.2, 0.005, 2.5, (0.1, 100.0), (0,)),
    (0.18, 0.3, 0.005, 2.5, (0.1, 100.0), (0,)),
    (0.15, 0.3, 0.005, 2.5, (0.1, 100.0), (0,)),
    (0.12, 0.2, 0.0, 2.5, (0.1, 100.0), (0,)),
    (0.14, 0.3, 0.005, 3.0, (0.1, 100.0), (0,)),
    (0.15, 0.3, 0.0, 2.5, (0.1, 100.0), (0,)),
    (0.12, 0.4, 0.01, 3.0, (0.1, 100.0), (0, 1)),
    (0.1, 0.35, 0.02, 2.0, (0.01, 100.0), (0, 1)),
    (0.12, 0.4, 0.01, 3.0, (0.01, 100.0), (0, 1)),
    (0.12, 0.4, 0.02, 3.0, (0.01, 100.0), (0, 1)),
    (0.1, 0.4, 0.01, 2.0, (0.01, 1.0), (0, 1)),
    (0.1, 0.3, 0.005, 2.0, (0.01, 1.0), (0, 1)),
    (0.08, 0.4, 0.01, 2.0, (0.01, 1.0), (0, 1)),
    (0.08, 0.5, 0.01, 2.0, (0.01, 1.0), (0, 1)),
    (0.12, 0.4, 0.005, 2.5, (0.1, 1.0), (0, 1)),
    (0.14, 0.4, 0.01, 3.0, (0.1, 1.0), (0, 1)),
    (0.12, 0.5, 0.005, 2.5, (0.1, 1.0), (0, 1)),
    (0.12, 0.4, 0.01, 2.5, (0.1, 1.0), (0, 1)),
    (0.1, 0.4, 0.0, 2.5, (0.1, 1.0), (0, 1)),
    (0.12, 0.4, 0.005, 2.5, (0.01, 1.0), (0, 1)),
    (0.1, 0.5, 0.01, 2.0, (0.01, 1.0), (0, 1)),
    (0.1, 0.5, 0.02, 2.0, (0.01, 1.0), (0, 1)),
    (0.11, 0.5, 0.01, 2.0, (0.01, 1.0), (0, 1)),
    (0.11, 0.45, 0.015, 2.0, (0.01, 1.0), (0, 1)),
]


def _run(args: tuple) -> tuple:
    sd, beta, rho, floor, bounds, seed = args
    from agglomeration import validation as V
    from agglomeration.behaviour import learning
    from agglomeration.model import AgglomerationModel
    from agglomeration.scenario import load_scenario

    learning.SIZE_RATIO_BOUNDS = tuple(bounds)  # per-process module constant
    scen = load_scenario(
        ROOT / "scenarios" / "baseline.toml",
        {
            "behaviour.learning.shock_sd": sd,
            "behaviour.learning.shock_size_elasticity": beta,
            "behaviour.learning.mean_reversion": rho,
            "behaviour.entry.floor": floor,
        },
    )
    m = AgglomerationModel(scen, replicate_seed=seed)
    n0 = m.firms.n_alive
    panel, mz, r80 = [], {}, float("nan")
    for step in range(1, STEPS + 1):
        m.step()
        t = m.firms
        rows = t.alive_rows()
        if step in (40, STEPS):
            mz[step] = float(t.log_productivity[rows].mean())
        if step == 80:
            r80 = t.n_alive / n0
        if step >= BURN_IN and (step - BURN_IN) % 4 == 0:
            panel.append((step, t.fid[rows].copy(), t.employment[rows].copy()))
    f = V.stylized_facts(panel)
    return args[:5], (
        f["alpha_mle"], f["alpha_rank_half"], f["beta"], f["entry_rate"], f["exit_rate"],
        r80, m.firms.n_alive / n0, mz[40], mz[STEPS],
    )  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    from agglomeration.experiment.pools import WORKERS_HELP, default_workers

    ap.add_argument("--workers", type=int, default=default_workers(), help=WORKERS_HELP)
    args = ap.parse_args(argv)
    jobs = [(*row[:5], s) for row in GRID for s in row[5]]
    with ProcessPoolExecutor(args.workers, mp_context=mp.get_context("spawn")) as ex:
        res = list(ex.map(_run, jobs))
    by: dict[tuple, list] = {}
    for key, vals in res:
        by.setdefault(key, []).append(vals)
    lines = [
        "# Calibration grid of the learning submodel",
        "",
        "Generated by `python scripts/calibrate_learning.py`; see docs/VALIDATION.md, section Calibration.",
        f"Baseline scenario, {STEPS} quarters, burn-in {BURN_IN}, annual snapshots; means over seeds.",
        "",
        "| shock sd | size elasticity | mean reversion | entry floor | size-ratio bounds | alpha MLE "
        "| alpha rank-1/2 | beta | entry | exit | firms@80 / initial | firms@120 / initial "
        "| mean log z @40 / @120 | seeds |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for (sd, beta, rho, floor, (lo, hi)), vals in by.items():
        v = np.mean(np.array(vals), axis=0)
        lines.append(
            f"| {sd:.2f} | {beta:.2f} | {rho:.3f} | {floor:.1f} | [{lo:g}, {hi:g}] | {v[0]:.2f} | {v[1]:.2f} "
            f"| {v[2]:.3f} | {v[3]:.3f} | {v[4]:.3f} | {v[5]:.2f} | {v[6]:.2f} | {v[7]:.2f} / {v[8]:.2f} "
            f"| {len(vals)} |"
        )
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
