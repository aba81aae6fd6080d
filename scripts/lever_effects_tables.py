"""Markdown tables of docs/LEVER_EFFECTS.md from `agglomeration compare` output and a batch directory.

python scripts/lever_effects_tables.py TABLES_PREFIX METRIC [METRIC ...]
    the comparison table (TABLES_PREFIX_comparisons.csv) and the creation-vs-reallocation table
    (TABLES_PREFIX_decomposition.csv): difference = variant - baseline, paired by seed, mean [95 % t
    interval], shares in percentage points, bold when the interval excludes 0
python scripts/lever_effects_tables.py --shares BATCH_DIR
    the firm shares of the regions each logistics lever targets (last step, paired by replicate)
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
from scipy import stats

RAIL_SERVED = "LJ XY GY HT CS WZ YC FL QJ RC CD".split()
TARGETS = {"new_river_port": ["ED"], "all_three": ["ED"], "cheap_rail": RAIL_SERVED}


def _g(x: float, signed: bool = True) -> str:
    if abs(x) >= 1000:
        return f"{x:+.0f}" if signed else f"{x:.4g}"
    return f"{x:+.3g}" if signed else f"{x:.4g}"


def _cell(row: pd.Series) -> str:
    if row["kind"] == "share":
        lo, hi, d = row["diff_pp_low"], row["diff_pp_high"], row["diff_pp"]
        text = f"{d:+.2f} pp [{lo:+.2f}, {hi:+.2f}]"
    else:
        lo, hi, d = row["diff_ci_low"], row["diff_ci_high"], row["diff"]
        text = f"{_g(d)} [{_g(lo)}, {_g(hi)}]"
    return f"**{text}**" if lo > 0 or hi < 0 else text


def comparison_table(prefix: str, metrics: list[str]) -> str:
    c = pd.read_csv(f"{prefix}_comparisons.csv")
    variants = list(dict.fromkeys(c["variant"]))
    lines = [
        "| metric | baseline | " + " | ".join(variants) + " |",
        "|---" * (len(variants) + 2) + "|",
    ]
    for m in metrics:
        rows = c[c["metric"] == m].set_index("variant")
        if rows.empty:
            continue
        first = rows.iloc[0]
        base = (
            f"{100 * first['baseline_mean']:.2f} %"
            if first["kind"] == "share"
            else _g(first["baseline_mean"], False)
        )
        cells = [_cell(rows.loc[v]) if v in rows.index else "" for v in variants]
        lines.append(f"| `{m}` | {base} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def decomposition_table(prefix: str) -> str:
    d = pd.read_csv(f"{prefix}_decomposition.csv")
    comps = ["total", "creation", "diversion", "relocation", "survival"]
    lines = ["| variant | group | " + " | ".join(comps) + " |", "|---" * 7 + "|"]
    for v in dict.fromkeys(d["variant"]):
        for g in ("ftz", "connected", "zone"):
            sub = d[(d["variant"] == v) & (d["group"] == g)].set_index("component")
            cells = [
                f"{sub.loc[k, 'mean']:+.1f} [{sub.loc[k, 'ci_low']:+.1f}, {sub.loc[k, 'ci_high']:+.1f}]"
                for k in comps
            ]
            lines.append(f"| {v} | {g} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _ci(x: np.ndarray, scale: float, fmt: str, unit: str = "") -> str:
    h = stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x))
    m = x.mean()
    return f"{scale * m:+{fmt}}{unit} [{scale * (m - h):+{fmt}}, {scale * (m + h):+{fmt}}]"


def shares_table(batch: str) -> str:
    from agglomeration.experiment.store import load_results

    res = load_results(batch)
    runs = res["runs"][["run_id", "variant", "replicate"]]
    reg = res["regions"].merge(runs, on="run_id")
    per = reg.groupby(["variant", "replicate", "region"])["firms"].sum().unstack("region")
    lines = [
        "| variant | regions | baseline share | share difference | firms difference |",
        "|---|---|---|---|---|",
    ]
    base = per.loc["baseline"]
    for v, regions in TARGETS.items():
        var = per.loc[v]
        firms_b, firms_v = base[regions].sum(axis=1), var[regions].sum(axis=1)
        share_b, share_v = firms_b / base.sum(axis=1), firms_v / var.sum(axis=1)
        ds = (share_v - share_b).to_numpy()
        df = (firms_v - firms_b).to_numpy(dtype=float)
        name = " ".join(regions) if len(regions) < 3 else f"rail-served ({' '.join(regions)})"
        lines.append(
            f"| {v} | {name} | {100 * share_b.mean():.2f} % | {_ci(ds, 100, '.2f', ' pp')} | "
            f"{_ci(df, 1, '.1f')} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    if sys.argv[1] == "--shares":
        print(shares_table(sys.argv[2]))
    else:
        print(comparison_table(sys.argv[1], sys.argv[2:]))
        print()
        print(decomposition_table(sys.argv[1]))
