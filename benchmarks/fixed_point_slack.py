"""How much slack the step's fixed points have: price sweeps by tolerance and the income loop's last moves.

Run from the repository root::

    python benchmarks/fixed_point_slack.py              # 20,000 initial firms, seed 1, 3 steps
    python benchmarks/fixed_point_slack.py --firms 100000 --steps 2

For each step after the settled start it prints (i) the Gauss-Seidel sweeps the price system needs from
the step's starting prices at log tolerances 1e-6, 1e-8 and 1e-10 (the model's), and the largest gap in
log price between the 1e-8 solution and a 1e-14 reference; (ii) the largest relative change of a
final-expenditure cell (region or gateway x sector) between consecutive passes of the within-step income
loop (``solver.income_iterations``).  Why: a looser tolerance or fewer income passes would make a step
cheaper (docs/PERFORMANCE.md, "What remains"); these numbers say what each would give up.  The model's
own results are not changed (the probes solve copies and only watch the loop's convergence test).
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def main(argv: list[str] | None = None) -> int:
    from agglomeration.behaviour import market
    from agglomeration.model import AgglomerationModel
    from agglomeration.scenario import load_scenario

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--firms", type=int, default=20_000)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    m = AgglomerationModel(
        load_scenario(ROOT / "scenarios" / "baseline.toml"),
        replicate_seed=args.seed,
        firms__initial_count=args.firms,
    )
    solve = market._k.solve_log_prices
    sweeps: list[tuple[dict[float, int], float]] = []

    def probe(indptr, col, val, const, x, tol, iterations):
        need = {}
        for t in (1e-6, 1e-8, 1e-10):
            need[t] = int(solve(indptr, col, val, const, x.copy(), t, iterations))
        ref, loose = x.copy(), x.copy()
        solve(indptr, col, val, const, ref, 1e-14, 500)
        solve(indptr, col, val, const, loose, 1e-8, iterations)
        sweeps.append((need, float(np.abs(loose - ref).max())))
        return solve(indptr, col, val, const, x, tol, iterations)

    allclose = np.allclose
    moves: list[float] = []

    def watch(a, b, *pos, **kw):  # the income loop's convergence test: E_new against E
        a, b = np.asarray(a), np.asarray(b)
        if a.ndim == 2 and a.shape == b.shape:
            rel = np.abs(a - b) / np.where(b != 0, np.abs(b), np.inf)
            moves.append(float(rel.max()))
        return allclose(a, b, *pos, **kw)

    market._k.solve_log_prices = probe
    market.np.allclose = watch
    try:
        for step in range(1, args.steps + 1):
            sweeps.clear()
            moves.clear()
            m.step()
            need, gap = sweeps[-1]
            passes = ", ".join(f"{x:.2g}" for x in moves)
            print(
                f"step {step}: price sweeps {need[1e-6]} / {need[1e-8]} / {need[1e-10]} at "
                f"1e-6 / 1e-8 / 1e-10 (1e-8 solution within {gap:.1e} of the reference); income "
                f"loop, largest relative change of an expenditure cell per pass: {passes}"
            )
    finally:
        market._k.solve_log_prices = solve
        market.np.allclose = allclose
    return 0


if __name__ == "__main__":
    sys.exit(main())
