"""Run one scenario and write its tables and figures.

Writes into DIR (default ``runs/<scenario name>-seed<S>``): timeseries.csv (one row per step),
regions.csv (final region x sector: firms, employment, output, location quotient), firms.parquet,
links.parquet (supplier links with value and delivered cost), logistics.csv (mode shares, corridor
volumes, export shares, market access, delivered cost), summary.json (scenario, seed, steps,
versions, headline metrics), figures/ (the overview of the series, location-quotient heat map, region
map, supplier network and route-option shares, PNG and PDF: what `agglomeration plot DIR` draws;
every column in docs/OUTPUTS.md) - and the same tables as a
one-run result store (manifest.json, parts/) that `agglomeration reproduce DIR` reruns and
load_results() reads.  The output appears complete or not at all (written aside, then renamed;
_COMPLETE.json lists every data file with its checksum).  DIR must be new, empty or an earlier run
output: a directory with other files (the scenario's own, for instance) is refused before the run
starts.  Prints a short summary.

Example: agglomeration run scenarios/baseline.toml --steps 40 --seed 1 --set policy.delegation.WZ=0.8

``--lever KEY=VALUE`` sets a policy or logistics lever from the first observed step instead: the
burn-in runs without it, so two runs with the same scenario, --set and --seed that differ only in their
--lever settings start from the same settled state and their difference is the lever's effect (common
random numbers, as the variants of an experiment with a shared start; docs/EXPERIMENTS.md).  With
--set the lever is in force during the burn-in too, and the two runs start from different states.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
from pathlib import Path
from typing import Any

from agglomeration.errors import DivergedError, InputError, OverrideError, shorten


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register SCENARIO, --steps, --seed, --set, --lever, --out, --no-figures (``--quiet`` is
    global)."""
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
    parser.add_argument(
        "--lever",
        dest="levers",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="set a policy or logistics lever from the first observed step (the burn-in runs "
        "without it, so runs that differ only in --lever start from the same state), e.g. "
        "logistics.tariff_multiplier.rail=0.5 (repeatable)",
    )
    parser.add_argument("--out", default=None, metavar="DIR", help="output directory")
    parser.add_argument("--no-figures", action="store_true", help="do not draw the figures")


def split_overrides(items: list[str], option: str = "--set") -> dict[str, str]:
    """``["a.b=1", "c=x"]`` -> ``{"a.b": "1", "c": "x"}``: the KEY=VALUE pairs, values as typed
    (errors name ``option``)."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InputError(f"expected KEY=VALUE, got {item[:80]!r}", field=option)
        key, value = key.strip(), value.strip()
        if key in out and out[key] != value:  # the last one won silently
            raise InputError(
                f"{key} is given twice, {shorten(out[key], 40)} and {shorten(value, 40)}; "
                "expected one value",
                field=option,
            )
        out[key] = value
    return out


def parse_overrides(items: list[str], option: str = "--set") -> dict[str, object]:
    """``["a.b=1", "c=x"]`` -> ``{"a.b": 1, "c": "x"}``: each value parsed once as a TOML value,
    text that is none kept as a string (:func:`agglomeration.scenario.parse_value`)."""
    from agglomeration.scenario import parse_value

    return {
        k: parse_value(v, f"{option} {k[:60]}") for k, v in split_overrides(items, option).items()
    }


def from_command_line(
    exc: OverrideError, typed: dict[str, str], option: str = "--set"
) -> InputError:
    """An error about a ``--set`` (or ``option``) value, named as the user typed it:
    ``--set logistics.tariff_multiplier.rail=abc: expected a number, got 'abc'``."""
    if exc.key not in typed:
        return exc
    where = f"{option} {exc.key}={shorten(typed[exc.key], 80)}"
    if exc.field and exc.field != exc.key:
        where += f" ({exc.field})"
    return InputError(exc.message, field=where)


def lever_overrides(items: list[str]) -> dict[str, object]:
    """The ``--lever KEY=VALUE`` pairs parsed as :func:`parse_overrides`; a key that is not a declared
    policy or logistics lever (docs/LEVERS.md) is an error: anything else changes the economy the
    burn-in settles, so it belongs in --set."""
    from agglomeration.levers import is_lever

    parsed = parse_overrides(items, "--lever")
    for key in parsed:
        if not is_lever(key):
            raise InputError(
                f"{key!r} is not a policy or logistics lever (docs/LEVERS.md lists them, e.g. "
                "policy.delegation.connected, logistics.tariff_multiplier.rail); set other fields "
                "with --set",
                field=f"--lever {shorten(key, 60)}",
            )
    return parsed


_TABLE = [
    ("firms", "firms", "{:,.0f}"),
    ("firms_relative_to_initial", "firms / firms at step 0", "{:.2f}"),
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


def check_option_agrees_with_set(
    options: dict[str, Any], values: dict[str, Any], typed: dict[str, str]
) -> None:
    """An option given both as ``--NAME`` and as ``--set NAME=`` with different values is an error
    naming the option (``run`` let ``--steps`` win silently and ``batch`` let ``--set`` win)."""
    for opt, given in options.items():
        if given is not None and opt in values and values[opt] != given:
            raise InputError(
                f"--{opt} {given} and --set {opt}={shorten(typed[opt], 80)} disagree; expected one "
                "of them (or the same value)",
                field=f"--{opt}",
            )


def default_run_name(
    scenario: str, seed: int, settings: dict[str, str], levers: dict[str, str]
) -> str:
    """The directory under runs/ that ``run`` writes without ``--out``: SCENARIO-seedN, then the
    ``--set`` values that change results (not ``output.*``) and the ``--lever`` values, each as the
    key's last part and its value as typed (``baseline-seed1-WZ0.8``), and a digest of the full keys
    and values when there are any, so runs of one scenario and seed with different settings do not
    replace each other (``policy.delegation.WZ`` and ``logistics.customs_multiplier.WZ`` end alike)."""
    name = f"{scenario}-seed{seed}"
    parts = {k: v for k, v in settings.items() if not k.startswith("output.")}
    for group in (parts, levers):
        if group:
            named = "-".join(f"{k.rsplit('.', 1)[-1]}{v}" for k, v in group.items())
            name += "-" + re.sub(r"[^A-Za-z0-9._-]+", "_", named)[:60]
    if parts or levers:
        # the --set digest as before 0.2 (a run's directory stays where it was); the levers join it
        # under their own key (a lever and a --set of one key are different runs)
        keyed = (
            sorted(parts.items()) if not levers else [sorted(parts.items()), sorted(levers.items())]
        )
        text = json.dumps(keyed)
        name += "-" + hashlib.sha256(text.encode()).hexdigest()[:6]
    return name


def main(args: argparse.Namespace) -> int:
    """Run and print the summary table; exit code 0."""
    from agglomeration.runone import _check_seed, _check_steps, run_scenario
    from agglomeration.scenario import load_scenario

    try:
        _check_steps(args.steps)
        _check_seed(args.seed)
    except InputError as exc:
        raise InputError(exc.message, field=f"--{exc.field}") from None
    # each value is parsed once, here, as a TOML value; load_scenario takes values as given
    typed = split_overrides(args.overrides)
    overrides = parse_overrides(args.overrides)
    check_option_agrees_with_set({"steps": args.steps}, overrides, typed)
    if args.no_figures:
        overrides["output.figures"] = False
    lever_typed = split_overrides(args.levers, "--lever")
    levers = lever_overrides(args.levers)
    try:
        scenario = load_scenario(args.scenario, overrides or None)
    except OverrideError as exc:
        raise from_command_line(exc, typed) from None
    reference = None
    if levers:
        try:
            scenario = scenario.with_overrides(levers)
        except OverrideError as exc:
            raise from_command_line(exc, lever_typed, "--lever") from None
        # the settled start it continues (drawing figures or not changes no result)
        reference = {k: v for k, v in overrides.items() if k != "output.figures"}
    out = (
        Path(args.out)
        if args.out
        else Path("runs") / default_run_name(scenario.name, args.seed, typed, lever_typed)
    )
    try:
        res = run_scenario(
            scenario,
            steps=args.steps,
            seed=args.seed,
            out=out,
            progress=not getattr(args, "quiet", False),
            reference_overrides=reference,
        )
    except OverrideError as exc:  # found when the world is built (a graph the overrides cut)
        if exc.key in lever_typed:
            raise from_command_line(exc, lever_typed, "--lever") from None
        raise from_command_line(exc, typed) from None
    except DivergedError as exc:  # a runaway economy, blamed on a setting a --set gave
        if exc.file is None and exc.field in typed:
            raise InputError(
                exc.message, field=f"--set {exc.field}={shorten(typed[exc.field], 80)}"
            ) from None
        raise
    s = res["summary"]
    m = s["metrics"]
    steps = str(s["steps"])
    if s.get("steps_run", s["steps"]) < s["steps"]:
        steps = f"{s['steps_run']} of {s['steps']} (a [stop] condition held)"
    print(f"scenario {s['scenario']}  seed {s['seed']}  steps {steps}  ({s['wall_time_s']:.1f} s)")
    if levers:  # a lever run reads like the plain run otherwise
        print(
            "  levers "
            + ", ".join(f"{k}={lever_typed[k]}" for k in levers)
            + " (from the same start)"
        )
    width = max(len(label) for _, label, _ in _TABLE)
    for key, label, fmt in _TABLE:
        if key in m:
            value = m[key]
            text = "n/a" if value is None else fmt.format(value)
            print(f"  {label:<{width}}  {text}")
    print(f"wrote {shorten(out)}/")
    return 0
