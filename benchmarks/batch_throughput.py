"""Batch throughput (runs per minute) and parent memory of ``run_experiment``.

Two measurements:

1. **Throughput** on the baseline scenario (scenarios/baseline.toml, its own firm count and steps unless
   overridden): the same batch of ``--runs`` replicates with the local process pool at 1 and 2 workers.
   Reported: wall time, runs/min over the whole batch (pool start-up included), steady-state runs/min
   (from the first finished run to the last), and the 2-worker / 1-worker speed-up.
2. **Parent memory**: batches of growing size (``--memory-runs``, a tiny scenario so the parent's share
   dominates) with 2 workers; the parent's RSS is sampled every 50 ms (psutil) and its peak and growth
   over the pre-batch RSS are reported.  Flat peaks across sizes show the parent keeps only a bounded
   buffer (results stream from the workers to disk).

Output: a human-readable table on stdout, then one JSON document (``--json FILE`` also writes it).

    python benchmarks/batch_throughput.py                      # defaults: 20 runs, memory 20/80/240
    python benchmarks/batch_throughput.py --runs 20 --steps 40 --repeat 3 --json bench.json

On a shared machine other processes slow the batches down: the load average before and after is
recorded, 1- and 2-worker batches alternate, and the best trial of each is reported.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil

from agglomeration.experiment.runner import run_experiment
from agglomeration.experiment.spec import experiment_from_dict

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.toml"


class RssSampler:
    """Samples this process's resident set size (bytes) in a background thread."""

    def __init__(self, interval_s: float = 0.05):
        self.proc = psutil.Process(os.getpid())
        self.interval = interval_s
        self.samples: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append(self.proc.memory_info().rss)
            time.sleep(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()
        self.samples.append(self.proc.memory_info().rss)


def _experiment(name: str, runs: int, steps: int | None, overrides: dict[str, Any], seed: int = 1):
    return experiment_from_dict(
        {
            "name": name,
            "scenario": str(BASELINE),
            "replicates": runs,
            "seed": seed,
            "steps": steps,
            "overrides": overrides,
            "output": {"regions": True, "links": False},
        }
    )


def throughput(runs: int, steps: int | None, workers: int, firms: int | None) -> dict[str, Any]:
    """Time one batch of ``runs`` baseline replicates on ``workers`` processes."""
    overrides = {"firms.initial_count": firms} if firms else {}
    exp = _experiment("throughput", runs, steps, overrides)
    stamps: list[float] = []
    with tempfile.TemporaryDirectory() as d:
        t0 = time.perf_counter()
        s = run_experiment(
            exp,
            Path(d) / "out",
            workers=workers,
            progress=False,
            on_result=lambda r: stamps.append(time.perf_counter()),
        )
        wall = time.perf_counter() - t0
    steady = (
        (len(stamps) - 1) / (stamps[-1] - stamps[0]) * 60
        if len(stamps) > 1 and stamps[-1] > stamps[0]
        else float("nan")
    )
    return {
        "workers": workers,
        "runs": runs,
        "ok": s.done,
        "failed": s.failed,
        "wall_s": round(wall, 3),
        "first_result_s": round(stamps[0] - t0, 3) if stamps else None,
        "runs_per_min": round(60 * runs / wall, 2),
        "steady_runs_per_min": round(steady, 2),
    }


def parent_memory(sizes: list[int], workers: int) -> list[dict[str, Any]]:
    """Parent RSS while running batches of the given sizes (tiny scenario).

    ``exec_growth_mb`` = RSS at the last result minus RSS at the first result: the execution phase,
    where results stream from the workers to disk (flat = the parent holds no results).
    ``peak_mb``/``growth_mb`` also include pool start-up and the final consolidation of tables/.
    """
    proc = psutil.Process(os.getpid())
    out = []
    for n in sizes:
        exp = _experiment(f"mem{n}", n, 2, {"firms.initial_count": 60}, seed=n)
        at_result: list[int] = []
        with tempfile.TemporaryDirectory() as d:
            before = proc.memory_info().rss
            t0 = time.perf_counter()
            with RssSampler() as rss:
                s = run_experiment(
                    exp,
                    Path(d) / "out",
                    workers=workers,
                    progress=False,
                    on_result=lambda r, acc=at_result: acc.append(proc.memory_info().rss),
                )
            wall = time.perf_counter() - t0
        peak = max(rss.samples)
        mb = 2**20
        out.append(
            {
                "runs": n,
                "ok": s.done,
                "wall_s": round(wall, 2),
                "rss_before_mb": round(before / mb, 1),
                "rss_first_result_mb": round(at_result[0] / mb, 1),
                "rss_last_result_mb": round(at_result[-1] / mb, 1),
                "exec_growth_mb": round((at_result[-1] - at_result[0]) / mb, 1),
                "rss_peak_mb": round(peak / mb, 1),
                "growth_mb": round((peak - before) / mb, 1),
                "samples": len(rss.samples),
            }
        )
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=20, help="replicates per throughput batch")
    ap.add_argument(
        "--steps", type=int, default=None, help="steps per run (default: the scenario's)"
    )
    ap.add_argument(
        "--firms", type=int, default=None, help="initial firms (default: the scenario's)"
    )
    ap.add_argument("--memory-runs", default="20,80,240", help="comma-separated batch sizes")
    ap.add_argument("--repeat", type=int, default=2, help="alternating trials per worker count")
    ap.add_argument("--json", help="also write the JSON here")
    args = ap.parse_args(argv)

    # 1 and 2 workers alternate `--repeat` times; the best batch of each counts (other processes on
    # a shared machine only ever slow a batch down, so the best is the least disturbed estimate)
    trials: list[dict[str, Any]] = []
    throughput(2, 1, 2, 60)  # warm-up: starts the forkserver (imports) once, outside the timings
    load_before = os.getloadavg()[0]
    for _ in range(args.repeat):
        trials += [throughput(args.runs, args.steps, w, args.firms) for w in (1, 2)]
    tp = [
        max((t for t in trials if t["workers"] == w), key=lambda t: t["runs_per_min"])
        for w in (1, 2)
    ]
    speedup = tp[1]["runs_per_min"] / tp[0]["runs_per_min"]
    steady_speedup = tp[1]["steady_runs_per_min"] / tp[0]["steady_runs_per_min"]
    mem = parent_memory([int(x) for x in args.memory_runs.split(",")], workers=2)

    print(
        f"Batch throughput, baseline scenario ({args.runs} runs per batch, best of {args.repeat}), "
        f"local process pool; 1-min load average before: {load_before:.2f} on {os.cpu_count()} CPUs"
    )
    print(f"{'workers':>7} {'wall s':>8} {'runs/min':>9} {'steady/min':>11} {'1st result s':>13}")
    for r in tp:
        print(
            f"{r['workers']:>7} {r['wall_s']:>8.2f} {r['runs_per_min']:>9.1f} {r['steady_runs_per_min']:>11.1f} {r['first_result_s']:>13.2f}"
        )
    print(f"speed-up 2 vs 1 worker: {speedup:.2f}x overall, {steady_speedup:.2f}x steady state")
    print("\nParent memory while the batch runs (2 workers, tiny scenario), MB")
    print(
        f"{'runs':>6} {'wall s':>8} {'before':>8} {'1st result':>11} {'last result':>12} {'exec growth':>12} {'peak':>8}"
    )
    for m in mem:
        print(
            f"{m['runs']:>6} {m['wall_s']:>8.2f} {m['rss_before_mb']:>8.1f} {m['rss_first_result_mb']:>11.1f} "
            f"{m['rss_last_result_mb']:>12.1f} {m['exec_growth_mb']:>12.1f} {m['rss_peak_mb']:>8.1f}"
        )

    result = {
        "benchmark": "batch_throughput",
        "scenario": str(BASELINE.relative_to(ROOT)),
        "cpu_count": os.cpu_count(),
        "load_average_1min_before": load_before,
        "load_average_1min_after": os.getloadavg()[0],
        "trials": trials,
        "python": platform.python_version(),
        "throughput": tp,
        "speedup_2_vs_1": round(speedup, 3),
        "steady_speedup_2_vs_1": round(steady_speedup, 3),
        "parent_memory": mem,
    }
    text = json.dumps(result, indent=2)
    print("\n" + text)
    if args.json:
        Path(args.json).write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
