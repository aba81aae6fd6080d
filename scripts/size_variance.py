"""Where the baseline's firm growth volatility comes from: the size-variance slope beta by size measure,
with mechanisms switched off one at a time.

Run from the repository root::

    python scripts/size_variance.py                       # the default configurations, 4 seeds
    python scripts/size_variance.py --seeds 0 1 --set behaviour.learning.shock_sd=0.02
    python scripts/size_variance.py --by-size             # and where the volatility sits, by size octile
    python scripts/size_variance.py --by-sector           # and beta within each sector

Each configuration runs the baseline for 120 quarters from initialisation and takes annual snapshots
from quarter 40 on (as docs/VALIDATION.md section 5).  For every pair of consecutive snapshots, beta is
the size-variance slope of :func:`agglomeration.metrics.stylized.growth_rate_fit` (sd of log growth ~
size^-beta over 10 size bins of the surviving firms), with size measured as employment (the validation's
measure), revenue and product lines; printed: the mean over the pairs and seeds, and the correlation of
log lines with log employment in the last snapshot (firms with employment; how much of a firm's size its line count explains).
``--by-size`` adds, per configuration, a table by octile of initial employment (surviving firms of every
pair of consecutive snapshots, pooled over years and seeds): mean product lines, and the sd of the annual
log growth of employment, of the line count and of employment per line.  Independent sub-units would
make the last two columns fall with size; flat columns are what keeps beta near 0.
``--by-sector`` adds, per configuration, beta within each sector (employment and revenue; the mean over
pairs of snapshots and seeds): the pooled beta mixes sectors whose firms differ in both size and
volatility, so a composition effect can make it positive when no sector's is.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

#: label -> scenario overrides
CONFIGS: dict[str, dict[str, object]] = {
    "baseline": {},
    "productivity shocks off (learning off)": {"behaviour.learning.enabled": False},
    "productivity shock sd 0.02 (0.05)": {"behaviour.learning.shock_sd": 0.02},
    "no supplier search": {"behaviour.sourcing.search_probability": 0.0},
    "no relocation": {"behaviour.relocation.enabled": False},
}
MEASURES = ("employment", "revenue", "lines")


def one(job: tuple[str, dict, int]) -> tuple[str, dict[str, float], np.ndarray]:
    """One configuration and seed: mean beta per size measure and corr(log lines, log employment), and
    the pooled growth panel (columns: initial employment, initial lines, log growth of employment,
    log growth of lines) of firms with employment at both dates."""
    from agglomeration.metrics.stylized import growth_rate_fit
    from agglomeration.model import AgglomerationModel
    from agglomeration.scenario import load_scenario

    label, overrides, seed = job
    m = AgglomerationModel(
        load_scenario(ROOT / "scenarios" / "baseline.toml", overrides), replicate_seed=seed
    )
    snaps = []
    for step in range(1, 121):
        m.step()
        if step >= 40 and (step - 40) % 4 == 0:
            t, rows = m.firms, m.firms.alive_rows()
            snaps.append(
                {
                    "fid": t.fid[rows].copy(),
                    "employment": t.employment[rows].copy(),
                    "revenue": t.revenue[rows].copy(),
                    "lines": t.lines[rows].astype(float),
                    "sector": t.sector[rows].copy(),
                }
            )
    # the survivors of each pair of consecutive snapshots, matched once
    pairs = [
        (a, b, *np.intersect1d(a["fid"], b["fid"], return_indices=True)[1:])
        for a, b in itertools.pairwise(snaps)
    ]
    out = {
        key: float(
            np.nanmean([growth_rate_fit(a[key][ia], b[key][ib]).beta for a, b, ia, ib in pairs])
        )
        for key in MEASURES
    }
    names = m.world.sector_ids
    by_sector = {}
    for k, name in enumerate(names):
        betas = {key: [] for key in ("employment", "revenue")}
        sizes = []
        for a, b, ia, ib in pairs:
            sel = a["sector"][ia] == k
            if sel.sum() < 60:  # ten size bins of at least a few firms each
                continue
            sizes.append(np.log(a["employment"][ia][sel & (a["employment"][ia] > 0)]).mean())
            for key in betas:
                betas[key].append(growth_rate_fit(a[key][ia][sel], b[key][ib][sel]).beta)
        if sizes:
            by_sector[str(name)] = (
                float(np.mean(sizes)),
                *(float(np.nanmean(v)) for v in betas.values()),
            )
    out["by_sector"] = by_sector
    panel = []
    for a, b, ia, ib in pairs:
        e0, e1 = a["employment"][ia], b["employment"][ib]
        ok = (e0 > 0) & (e1 > 0)
        l0, l1 = a["lines"][ia][ok], b["lines"][ib][ok]
        panel.append(np.c_[e0[ok], l0, np.log(e1[ok] / e0[ok]), np.log(l1 / l0)])
    last = snaps[-1]
    ok = last["employment"] > 0  # firms still waiting for approval employ nobody yet
    out["corr"] = float(
        np.corrcoef(np.log(last["lines"][ok]), np.log(last["employment"][ok]))[0, 1]
    )
    return label, out, np.concatenate(panel)


def by_size(panel: np.ndarray, n_bins: int = 8) -> list[str]:
    """Markdown rows of the octile table (see the module docstring) of a pooled growth panel."""
    emp, lines, g, gl = panel.T
    edges = np.quantile(np.log(emp), np.linspace(0, 1, n_bins + 1))
    b = np.clip(np.searchsorted(edges, np.log(emp), side="right") - 1, 0, n_bins - 1)
    rows = []
    for k in range(n_bins):
        m = b == k
        rows.append(
            f"| {k + 1} | {np.log(emp[m]).mean():.2f} | {lines[m].mean():.2f} | {g[m].std():.3f} "
            f"| {gl[m].std():.3f} | {(g[m] - gl[m]).std():.3f} | {m.sum()} |"
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3])
    from agglomeration.experiment.pools import WORKERS_HELP, default_workers

    p.add_argument("--workers", type=int, default=default_workers(), help=WORKERS_HELP)
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="run one extra configuration with these overrides (value read as TOML)",
    )
    p.add_argument(
        "--by-size", action="store_true", help="also print the volatility table by size octile"
    )
    p.add_argument("--by-sector", action="store_true", help="also print beta within each sector")
    args = p.parse_args(argv)
    configs = dict(CONFIGS)
    if args.set:
        from agglomeration.commands.run import parse_overrides

        configs = {"--set " + " ".join(args.set): parse_overrides(args.set)}
    jobs = [(label, ov, s) for label, ov in configs.items() for s in args.seeds]
    res: dict[str, list[dict[str, float]]] = {}
    panels: dict[str, list[np.ndarray]] = {}
    with ProcessPoolExecutor(args.workers) as ex:
        for label, out, panel in ex.map(one, jobs):
            res.setdefault(label, []).append(out)
            panels.setdefault(label, []).append(panel)
    print(
        "| configuration | beta (employment) | beta (revenue) | beta (lines) | corr(log lines, log employment) |"
    )
    print("|---|---:|---:|---:|---:|")
    for label, rows in res.items():
        mean = {k: np.mean([r[k] for r in rows]) for k in (*MEASURES, "corr")}
        cells = " | ".join(f"{mean[k]:.3f}" for k in (*MEASURES, "corr"))
        print(f"| {label} | {cells} |")
    if args.by_size:
        for label, parts in panels.items():
            print(f"\n{label}: by octile of initial employment (annual growth, pooled)\n")
            print(
                "| octile | mean log employment | mean lines | sd growth of employment "
                "| sd growth of lines | sd growth of employment per line | firm-years |"
            )
            print("|---:|---:|---:|---:|---:|---:|---:|")
            print("\n".join(by_size(np.concatenate(parts))))
    if args.by_sector:
        for label, rows in res.items():
            print(f"\n{label}: beta within each sector (mean over years and seeds)\n")
            print("| sector | mean log employment | beta (employment) | beta (revenue) |")
            print("|---|---:|---:|---:|")
            for name in rows[0]["by_sector"]:
                vals = np.array([r["by_sector"][name] for r in rows if name in r["by_sector"]])
                size, b_emp, b_rev = vals.mean(axis=0)
                print(f"| {name} | {size:.2f} | {b_emp:.3f} | {b_rev:.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
