"""How far the distribution of firms over regions moves once the burn-in's location controller lets go.

Run from the repository root::

    python scripts/spatial_stability.py                        # the baseline, 6 seeds, 20 observed quarters
    python scripts/spatial_stability.py --observe 40 --set behaviour.relocation.enabled=false
    python scripts/spatial_stability.py --scenario scenarios/data_start.toml   # held to the data
    python scripts/spatial_stability.py --windows 5            # + 5 windows of 20 quarters: the transient

The burn-in backs out a productivity shifter per region and sector so that the data's distribution of
firms is held (``behaviour.accounts.calibrate_locations``, ``initialisation.CountController``); the
controller stops a quarter of the burn-in before its end (``behaviour.accounts.uncontrolled_share``),
and the shifters stay fixed from then on.  For
each seed the script compares three distributions of firms over regions: the initial one (the data, the
controller's target: the same seed built with ``burn_in = 0``), the one at the start of the observed run,
and the one ``--observe`` quarters later.  Printed per seed: the total variation distance (half the sum
of absolute share differences: the share of firms that would have to move region to turn one
distribution into the other) from the data to the start and from the start to the end, the largest
moves by region, the firm counts, and the sampling noise of the start -> end move
(``validation.drift_noise``: the run's exits leave at random, its entrants choose regions with the
start's shares).  A settled economy moves more than that noise (entrants choose regions by profits that
move); ``--windows`` compares the first window with later ones instead.  The same two
distances over region x sector cells are printed too, and the mean absolute location shifter of the
cells the data occupies (log points of productivity) at the start, and the part of the move the
seeds share (the move of their mean distribution; the regions that move the same way in every seed).
With ``--windows N`` (N >= 2) the same seeds run N consecutive windows of ``--observe`` quarters
(``validation.drift_windows``) and the script prints each window's move, noise and common move; from
N = 3 also the start's transient: the first window's move less the mean of the windows from the third
on (``validation.start_transient``; those windows measure the model's own churn between regions).
"""

from __future__ import annotations

import argparse
import sys
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def one(job: tuple[Path, dict, int, int]) -> dict:
    """One seed: :func:`agglomeration.validation.spatial_drift` of the scenario with ``overrides``."""
    from agglomeration.scenario import load_scenario
    from agglomeration.validation import spatial_drift

    path, overrides, seed, observe = job
    warnings.simplefilter("ignore")  # initialisation warnings repeat per seed
    scenario = load_scenario(path, overrides)
    return {"seed": seed, **spatial_drift(scenario, observe, replicate_seed=seed)}


def one_windows(job: tuple[Path, dict, int, int, int]) -> tuple[int, dict]:
    """One seed: :func:`agglomeration.validation.drift_windows` of the scenario with ``overrides``."""
    from agglomeration.scenario import load_scenario
    from agglomeration.validation import drift_windows

    path, overrides, seed, windows, window = job
    warnings.simplefilter("ignore")
    return seed, drift_windows(load_scenario(path, overrides), windows, window, replicate_seed=seed)


def print_windows(res: list[tuple[int, dict]]) -> None:
    """Each window's move between regions and its noise (means over the seeds), the common move (the
    seeds' mean distribution's) against what independent seeds would show (mean move / sqrt(seeds)),
    and the transient (the first window less the windows from the third on)."""
    from agglomeration.validation import window_summary

    win = window_summary(res)
    step = win["window"]
    print("\n| quarters | move between regions | noise | common move | of independent seeds |")
    print("|---|---:|---:|---:|---:|")
    for k in range(len(win["moved"])):
        print(
            f"| {k * step}-{(k + 1) * step} | {win['moved'][k]:.3f} | {win['noise'][k]:.3f} "
            f"| {win['common'][k]:.3f} | {win['independent'][k]:.3f} |"
        )
    if np.isfinite(win["excess"]):
        print(
            f"transient (first window less the mean of the windows from the third on): "
            f"{win['excess']:+.3f} (s.e. {win['excess_se']:.3f})"
        )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--scenario",
        type=Path,
        default=ROOT / "scenarios" / "baseline.toml",
        help="scenario file (default: the baseline)",
    )
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5, 6])
    p.add_argument("--observe", type=int, default=20, help="observed quarters after the burn-in")
    p.add_argument(
        "--windows",
        type=int,
        default=1,
        help="also run this many consecutive windows of --observe quarters and print each window's "
        "move (at least 2; needs at least two seeds) and, from 3, the start's transient",
    )
    from agglomeration.experiment.pools import WORKERS_HELP, default_workers

    p.add_argument("--workers", type=int, default=default_workers(), help=WORKERS_HELP)
    p.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="scenario overrides (TOML)"
    )
    args = p.parse_args(argv)
    from agglomeration.commands.run import parse_overrides

    overrides = parse_overrides(args.set) if args.set else {}
    jobs = [(args.scenario, overrides, s, args.observe) for s in args.seeds]
    from agglomeration.validation import drift_distances, total_variation

    if args.windows >= 2 and len(args.seeds) < 2:
        p.error("--windows needs at least two seeds (the transient's standard error)")
    with ProcessPoolExecutor(args.workers) as ex:
        wjobs = [(args.scenario, overrides, s, args.windows, args.observe) for s in args.seeds]
        f_windows = [ex.submit(one_windows, j) for j in wjobs] if args.windows >= 2 else []
        res = list(ex.map(one, jobs))
        windows = [f.result() for f in f_windows]
    print(
        f"| seed | TV data -> start | TV start -> +{args.observe} q | largest moves, data -> start "
        f"(share points) | firms: data, start, end | noise of the start -> end move "
        f"| cells: TV data -> start | cells: TV start -> +{args.observe} q | mean abs shifter |"
    )
    print("|---:|---:|---:|---|---|---:|---:|---:|---:|")
    tv1, tv2, noise, c1, c2, sh = [], [], [], [], [], []
    for r in res:
        dist = drift_distances(r, r["seed"])
        a, b = dist["to_start"], dist["moved"]
        tv1.append(a)
        tv2.append(b)
        c1.append(dist["cells_to_start"])
        c2.append(dist["cells_moved"])
        noise.append(dist["noise"])
        held = np.asarray(r["cells_data"]).reshape(r["location_shift"].shape) > 0
        sh.append(float(np.abs(r["location_shift"][held]).mean()))
        d = r["start"] - r["data"]
        top = np.argsort(-np.abs(d))[:3]
        moves = ", ".join(f"{r['regions'][k]} {100 * d[k]:+.1f}" for k in top)
        firms = ", ".join(map(str, r["firms"]))
        print(
            f"| {r['seed']} | {a:.3f} | {b:.3f} | {moves} | {firms} | {noise[-1]:.3f} "
            f"| {c1[-1]:.3f} | {c2[-1]:.3f} | {sh[-1]:.2f} |"
        )
    print(
        f"| mean | {np.mean(tv1):.3f} | {np.mean(tv2):.3f} | | | {np.mean(noise):.3f} "
        f"| {np.mean(c1):.3f} | {np.mean(c2):.3f} | {np.mean(sh):.2f} |"
    )
    # the part of the move the seeds share: the move of their mean distribution, and the regions that
    # move the same way in every seed (share points, mean +- standard error over the seeds)
    change = np.array([r["end"] - r["start"] for r in res])
    common = total_variation(
        np.mean([r["start"] for r in res], axis=0), np.mean([r["end"] for r in res], axis=0)
    )
    same = [
        k for k in range(change.shape[1]) if (change[:, k] > 0).all() or (change[:, k] < 0).all()
    ]
    same.sort(key=lambda k: -abs(change[:, k].mean()))
    se = change.std(axis=0, ddof=1) / np.sqrt(len(res)) if len(res) > 1 else 0 * change[0]
    print(
        f"\ncommon move (total variation between the seeds' mean distributions at the start and "
        f"+{args.observe} q): {common:.3f}; regions moving the same way in every seed: "
        + (
            ", ".join(
                f"{res[0]['regions'][k]} {100 * change[:, k].mean():+.1f} +- {100 * se[k]:.1f}"
                for k in same
            )
            or "none"
        )
    )
    if windows:
        print_windows(windows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
