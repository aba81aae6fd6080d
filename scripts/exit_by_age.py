"""Exit hazards by age of the baseline and of a variant: the measurement of docs/VALIDATION.md section 6,
for comparing exit rules.

Run from the repository root::

    python scripts/exit_by_age.py                                              # the baseline
    python scripts/exit_by_age.py --set behaviour.exit.loss_rule='"hazard"'     # and a variant

Each configuration runs the baseline (burn-in, then ``--steps`` observed quarters) once per seed of
``--seeds`` (default 0-3, as section 6) and pools the exits: per year of age the hazard (exits per
firm-year), the quarter of age holding most exits and its share of that year's exits, and the change of
the firm count and the entrants' realised / expected first-year profit.  With ``--set`` the same seeds run
the variant too (the burn-in included, so each configuration settles its own start).
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
sys.path.insert(0, str(ROOT / "scripts"))

from validate_all import _entrants  # noqa: E402

DATA = [
    "1.6",
    "6.3",
    "9.5",
    "8",
    "8",
    "8",
    "8",
    "6",
]  # SAIC 2013, %/yr (docs/VALIDATION.md section 6)


def summary(results: list[tuple]) -> list[str]:
    """Markdown lines: hazards by year, the largest quarter of age per year, count change, ratio."""
    exits = np.sum([r[2] for r in results], axis=0)
    expo = np.sum([r[3] for r in results], axis=0)
    by_q = np.sum([r[8][0] for r in results], axis=0)
    T = results[0][8][2]
    hazard = np.divide(exits, expo, out=np.full(8, np.nan), where=expo > 0)
    change = [b / a - 1.0 for a, b in (r[4] for r in results)]
    profit = np.mean([r[1][0] for r in results])
    lines = [
        "| age [years] | hazard [%/yr] | data [%/yr] | largest quarter of age: exits, share of the year |"
    ]
    lines.append("|---|---:|---:|---|")
    for k in range(8):
        peak = ""
        if k < len(by_q) // T:
            q = by_q[k * T : (k + 1) * T]
            if q.sum() > 0:
                peak = f"age {k * T + int(q.argmax())}: {q.max():.0f}, {q.max() / q.sum():.0%}"
        lines.append(f"| {k if k < 7 else '7+'} | {100 * hazard[k]:.1f} | {DATA[k]} | {peak} |")
    lines.append(
        f"\nfirm count over the run: {100 * np.mean(change):+.1f} % (range {100 * min(change):+.1f} to "
        f"{100 * max(change):+.1f} %); realised / expected first-year profit of entrants {profit:.3f}"
    )
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3])
    ap.add_argument("--steps", type=int, default=40, help="observed quarters after the burn-in")
    from agglomeration.experiment.pools import WORKERS_HELP, default_workers

    ap.add_argument("--workers", type=int, default=default_workers(), help=WORKERS_HELP)
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = ap.parse_args(argv)
    from agglomeration.commands.run import parse_overrides
    from agglomeration.errors import InputError

    try:
        variant = parse_overrides(args.set) if args.set else None
    except InputError as exc:
        ap.error(str(exc))
    configs = {"baseline": {}} | ({"--set " + " ".join(args.set): variant} if variant else {})
    jobs = [(label, (s, args.steps, ov)) for label, ov in configs.items() for s in args.seeds]
    with ProcessPoolExecutor(args.workers, mp_context=mp.get_context("spawn")) as ex:
        out = list(ex.map(_entrants, [j for _, j in jobs]))
    for label in configs:
        res = [r for (lab, _), r in zip(jobs, out, strict=True) if lab == label]
        print(f"\n{label} (seeds {' '.join(map(str, args.seeds))}, {args.steps} quarters)\n")
        print("\n".join(summary(res)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
