"""Time of a calibration: does 6 parameters x 2,000 model runs fit in 60 minutes on 2 cores?

Runs ``agglomeration calibrate`` (:func:`agglomeration.calibration.calibrate`) on the shipped targets
(calibration/chongqing_2021.toml: 6 parameters, 6 moments and 2 held out, the baseline world: a
100-quarter burn-in, then 4 quarters, 16 for the held-out runs) with a
smaller ``--budget`` and fixed ``--seeds`` (no pilot), on the local process pool, and reports:

- wall time, model runs, runs per minute (pool start-up, the search's optuna steps, the per-group batch
  overhead, the sweeps and the outputs included);
- the worker utilisation: the summed wall time of the model runs (from the result stores) / (wall time
  x workers); the rest is calibration overhead;
- the extrapolated wall time of ``--runs-target`` runs (default 2,000) at the measured rate.

    python benchmarks/calibration_budget.py                          # budget 400, 8 seeds, 2 workers
    python benchmarks/calibration_budget.py --budget 400 --seeds 8 --workers 2 --json out.json

The machine's load average before and after is recorded (a shared machine slows the runs down).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import pandas as pd

from agglomeration.calibration import calibrate

ROOT = Path(__file__).resolve().parents[1]
TARGETS = ROOT / "calibration" / "chongqing_2021.toml"


def model_seconds(out: Path) -> tuple[float, int]:
    """Summed wall time of every model run in the calibration's result stores, and their number."""
    total, n = 0.0, 0
    for part in (out / "runs").glob("*/parts/runs/*.parquet"):
        row = pd.read_parquet(part, columns=["wall_time_s", "status"])
        ok = row[row["status"] == "ok"]
        total += float(ok["wall_time_s"].sum())
        n += len(ok)
    return total, n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--targets", default=str(TARGETS))
    ap.add_argument("--budget", type=int, default=400)
    ap.add_argument("--seeds", type=int, default=8)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--runs-target", type=int, default=2000)
    ap.add_argument("--json", help="also write the result to this file")
    args = ap.parse_args()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "cal"
        t0 = time.perf_counter()
        result = calibrate(
            args.targets, out, budget=args.budget, workers=args.workers, seeds=args.seeds
        )
        wall = time.perf_counter() - t0
        busy, n_runs = model_seconds(out)
    load_after = os.getloadavg()
    runs = result.runs["total"]
    rate = 60.0 * runs / wall
    report = {
        "targets": str(Path(args.targets).relative_to(ROOT))
        if args.targets == str(TARGETS)
        else args.targets,
        "parameters": len(result.parameters),
        "budget": args.budget,
        "seeds": args.seeds,
        "workers": args.workers,
        "runs": result.runs,
        "runs_in_stores": n_runs,
        "wall_s": round(wall, 1),
        "runs_per_min": round(rate, 1),
        "mean_run_s": round(busy / max(n_runs, 1), 3),
        "worker_utilisation": round(busy / (wall * args.workers), 3),
        "extrapolated_min": round(args.runs_target / rate, 1),
        "runs_target": args.runs_target,
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in load_after],
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
    }
    print(
        f"{runs} runs ({result.runs}) in {wall:.1f} s = {rate:.1f} runs/min on {args.workers} workers; "
        f"mean model run {report['mean_run_s']} s; worker utilisation {report['worker_utilisation']:.0%}; "
        f"{args.runs_target} runs would take {report['extrapolated_min']} min "
        f"(load {load_before[0]:.2f} -> {load_after[0]:.2f})"
    )
    print(json.dumps(report, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
