"""Cost of resolving scenarios (``Scenario.with_overrides``; every batch run, calibration evaluation and
``agglomeration validate`` resolve one) with the resolved-data memo on and off.

Two measurements, each in this process, alternating memo on (``scenario.KEPT_DATA`` = 8) and off (0):

1. CPU time per ``with_overrides`` of the baseline changing a behaviour parameter (``--calls`` calls,
   each a new value, so nothing but the data can be shared);
2. wall time of ``agglomeration validate`` on ``--experiment`` (default: the 2,048-run Sobol design,
   which resolves every run's scenario), in a fresh subprocess (imports included).

    python benchmarks/scenario_resolution.py                 # 200 calls, sobol_behaviour.toml, 2 repeats
    python benchmarks/scenario_resolution.py --calls 500 --repeat 3
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

_VALIDATE = (
    "import sys; import agglomeration.scenario as sc; sc.KEPT_DATA = int(sys.argv[1]); "
    "from agglomeration.cli import main; sys.exit(main(['validate', sys.argv[2]]))"
)


def per_call_ms(kept: int, calls: int) -> float:
    """Mean CPU time per ``with_overrides`` [ms] with ``KEPT_DATA = kept``."""
    import agglomeration.scenario as sc

    sc.KEPT_DATA = kept
    sc._data_memo.clear()
    base = sc.load_scenario(ROOT / "scenarios" / "baseline.toml")
    base.with_overrides({"behaviour.entry.floor": 2.5})  # warm-up (and the memo's first entry)
    t = time.process_time()
    for i in range(calls):
        base.with_overrides({"behaviour.entry.floor": 1.0 + i * 0.01})
    return (time.process_time() - t) / calls * 1000.0


def validate_s(kept: int, experiment: Path) -> float:
    """Wall time [s] of ``agglomeration validate experiment`` in a fresh interpreter."""
    t = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", _VALIDATE, str(kept), str(experiment)],
        check=True,
        capture_output=True,
        cwd=ROOT,
    )
    return time.perf_counter() - t


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--calls", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument(
        "--experiment", type=Path, default=ROOT / "experiments" / "sobol_behaviour.toml"
    )
    args = ap.parse_args(argv)
    calls: dict[int, list[float]] = {8: [], 0: []}
    wall: dict[int, list[float]] = {8: [], 0: []}
    for _ in range(args.repeat):
        for kept in (8, 0):
            calls[kept].append(per_call_ms(kept, args.calls))
            wall[kept].append(validate_s(kept, args.experiment))
    print("| memo | with_overrides [ms CPU per call] | validate [s wall] |")
    print("|---|---:|---:|")
    for kept, name in ((0, "off (KEPT_DATA = 0)"), (8, "on (KEPT_DATA = 8)")):
        c = ", ".join(f"{x:.1f}" for x in calls[kept])
        w = ", ".join(f"{x:.1f}" for x in wall[kept])
        print(f"| {name} | {c} (median {statistics.median(calls[kept]):.1f}) | {w} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
