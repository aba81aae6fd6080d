"""The stylised facts of firm dynamics at one parameter setting, over several seeds: one table row.

Run from the repository root::

    python scripts/firm_dynamics_search.py                                  # the baseline, seeds 0-7
    python scripts/firm_dynamics_search.py --set behaviour.learning.shock_size_elasticity=0.4 \\
        --set behaviour.lines.birth_rate=0.023 --set burn_in=500

Each seed runs the scenario (its burn-in first, not observed) for 120 observed quarters and takes
annual snapshots of the live firms' employment from quarter 40 on: docs/VALIDATION.md section 5's
design and estimators (``validation.stylized_facts``: the tail exponent by MLE and rank-1/2, the
size-variance slope beta, annual entry and exit rates).  Also printed: the live firms after 40, 80
and 120 quarters relative to the start of the observed run (whether the start is settled) and the
entrants' realised / expected first-year profit and revenue over the first 40 quarters (issue 16's
[0.7, 1.3]) and their expected and realised first-year profit as shares of revenue
(``expected_margin``, ``realised_margin``, with their range over the seeds: when the expected margin
is negative, entrants expect a first-year loss and a profit ratio above 1 means a larger loss).  Why: the search for a setting that gives both the Pareto tail and the size-variance
slope (docs/VALIDATION.md section 8) needs the tail, beta and the count's drift of the same runs;
results depend only on the seeds."""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import tomllib
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

OBSERVED = 120  #: observed quarters
FIRST = 40  #: first annual snapshot (quarters)
COLUMNS = (
    "alpha_mle",
    "alpha_rank_half",
    "beta",
    "entry_rate",
    "exit_rate",
    "firms_40",
    "firms_80",
    "firms_120",
    "expected_profit_ratio",
    "expected_revenue_ratio",
    "expected_margin",
    "realised_margin",
)


def one(job: tuple[str, dict, int]) -> list[float]:
    """The facts of one seed (in the order of COLUMNS)."""
    from agglomeration import validation as V
    from agglomeration.model import AgglomerationModel
    from agglomeration.scenario import load_scenario

    path, overrides, seed = job
    warnings.simplefilter("ignore")  # initialisation warnings repeat per run
    m = AgglomerationModel(load_scenario(path, overrides), replicate_seed=seed)
    n0 = m.firms.n_alive
    counts, panel, ratios, margins = [n0], [], (np.nan, np.nan), (np.nan, np.nan)
    for step in range(1, OBSERVED + 1):
        m.step()
        counts.append(m.firms.n_alive)
        if step == FIRST:
            ratios = m.state.entrants.ratios()
            e = m.state.entrants
            margins = (
                e.expected_profit / e.expected_revenue if e.expected_revenue else np.nan,
                e.realised_profit / e.realised_revenue if e.realised_revenue else np.nan,
            )
        if step >= FIRST and (step - FIRST) % 4 == 0:
            t = m.firms
            rows = t.alive_rows()
            panel.append((step, t.fid[rows].copy(), t.employment[rows].copy()))
    f = V.stylized_facts(panel)
    return [
        f["alpha_mle"],
        f["alpha_rank_half"],
        f["beta"],
        f["entry_rate"],
        f["exit_rate"],
        counts[40] / n0,
        counts[80] / n0,
        counts[120] / n0,
        *ratios,
        *margins,
    ]


def _parse_set(items: list[str]) -> dict[str, object]:
    out: dict[str, object] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"--set expects KEY=VALUE, got {item!r}")
        try:
            out[key] = tomllib.loads(f"v = {value}")["v"]
        except tomllib.TOMLDecodeError:
            out[key] = value
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scenario", default=str(ROOT / "scenarios" / "baseline.toml"))
    ap.add_argument("--seeds", type=int, nargs="+", default=list(range(8)))
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    from agglomeration.experiment.pools import WORKERS_HELP, default_workers

    ap.add_argument("--workers", type=int, default=default_workers(), help=WORKERS_HELP)
    args = ap.parse_args(argv)
    overrides = _parse_set(args.set)
    jobs = [(args.scenario, overrides, s) for s in args.seeds]
    ctx = mp.get_context("spawn")
    with ProcessPoolExecutor(max_workers=args.workers, mp_context=ctx) as ex:
        rows = np.array(list(ex.map(one, jobs)), dtype=float)
    mean = rows.mean(axis=0)
    sd = rows[:, 0].std(ddof=1) if len(rows) > 1 else float("nan")
    label = ", ".join(f"{k} = {v}" for k, v in overrides.items()) or "the scenario as it is"
    print(f"{label} ({len(rows)} seeds: {' '.join(map(str, args.seeds))})")
    for name, value in zip(COLUMNS, mean, strict=True):
        print(f"  {name:24s} {value:.3f}")
    print(
        f"  sd of alpha_mle across seeds {sd:.3f}; fewest firms after 40 quarters {rows[:, 5].min():.3f}"
    )
    print(
        f"  margins over the seeds: expected {rows[:, 10].min():.3f} to {rows[:, 10].max():.3f}, "
        f"realised {rows[:, 11].min():.3f} to {rows[:, 11].max():.3f}"
    )
    print(
        f"| {label} | {mean[0]:.2f} ({sd:.2f}) | {mean[1]:.2f} | {mean[2]:.3f} | {mean[3]:.3f} | "
        f"{mean[4]:.3f} | {mean[5]:.2f} / {mean[6]:.2f} / {mean[7]:.2f} | {mean[8]:.2f} / {mean[9]:.2f} | {mean[10]:.3f} / {mean[11]:.3f} |"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
