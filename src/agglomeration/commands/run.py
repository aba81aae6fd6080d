"""Run one scenario and write its tables and figures.

Writes into DIR (default ``runs/<scenario name>-seed<S>``): timeseries.csv (one row per step),
regions.csv (final region x sector: firms, employment, output, location quotient), firms.parquet,
links.parquet (supplier links with value and delivered cost), summary.json (scenario, seed, steps,
versions, headline metrics), map.png and timeseries.png.  Prints a short summary table.

Example: agglomeration run scenarios/baseline.toml --steps 40 --seed 1 --set policy.delegation.WZ=0.8
"""

from __future__ import annotations

import argparse
from pathlib import Path

from agglomeration.errors import InputError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register SCENARIO, --steps, --seed, --set, --out, --no-figures, --quiet."""
    parser.add_argument("scenario", metavar="SCENARIO", help="scenario TOML file")
    parser.add_argument(
        "--steps", type=int, default=None, help="steps to run (default: the scenario's)"
    )
    parser.add_argument("--seed", type=int, default=0, help="replicate seed (default 0)")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a scenario field, e.g. policy.delegation.WZ=0.8 (repeatable)",
    )
    parser.add_argument("--out", default=None, metavar="DIR", help="output directory")
    parser.add_argument("--no-figures", action="store_true", help="do not draw PNG figures")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def parse_overrides(items: list[str]) -> dict[str, object]:
    """``["a.b=1", "c=x"]`` -> ``{"a.b": 1, "c": "x"}`` (values parsed as TOML values)."""
    from agglomeration.scenario import parse_value

    out: dict[str, object] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InputError(f"expected KEY=VALUE, got {item!r}", field="--set")
        out[key.strip()] = parse_value(value.strip())
    return out


_TABLE = [
    ("firms", "firms", "{:,.0f}"),
    ("firms_relative_to_initial", "firms / initial", "{:.2f}"),
    ("firms_ftz", "firms in FTZ areas", "{:,.0f}"),
    ("firms_connected", "firms in connected areas", "{:,.0f}"),
    ("employment", "employment [workers]", "{:,.0f}"),
    ("output", "output [CNY m/step]", "{:,.1f}"),
    ("herfindahl_regions", "Herfindahl of regional firm shares", "{:.3f}"),
    ("mean_locational_gini", "mean locational Gini", "{:.3f}"),
    ("local_sourcing_share", "local sourcing share", "{:.3f}"),
    ("mean_chain_coverage", "mean chain coverage (zone)", "{:.3f}"),
    ("reforms_connected", "reforms adopted per connected area", "{:.1f}"),
]


def main(args: argparse.Namespace) -> int:
    """Run and print the summary table; exit code 0."""
    from agglomeration.runone import run_scenario
    from agglomeration.scenario import load_scenario

    overrides = parse_overrides(args.overrides)
    if args.no_figures:
        overrides["output.figures"] = False
    scenario = load_scenario(args.scenario, overrides or None)
    if args.steps is not None and args.steps < 0:
        raise InputError(f"expected a number >= 0, got {args.steps}", field="--steps")
    if args.seed < 0:
        raise InputError(f"expected a seed >= 0, got {args.seed}", field="--seed")
    out = Path(args.out) if args.out else Path("runs") / f"{scenario.name}-seed{args.seed}"
    res = run_scenario(scenario, steps=args.steps, seed=args.seed, out=out, progress=not args.quiet)
    s = res["summary"]
    m = s["metrics"]
    print(
        f"scenario {s['scenario']}  seed {s['seed']}  steps {s['steps']}  ({s['wall_time_s']:.1f} s)"
    )
    width = max(len(label) for _, label, _ in _TABLE)
    for key, label, fmt in _TABLE:
        if key in m:
            print(f"  {label:<{width}}  {fmt.format(m[key])}")
    print(f"wrote {out}/")
    return 0
