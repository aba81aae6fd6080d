"""Check scenario and experiment files without running anything.

Each FILE is a scenario TOML (validated with its ``extends`` parents and every data CSV, and its logistics
network solved) or an experiment TOML (a file with ``[design]`` or ``[[variants]]``: its base scenario is
validated with every variant's overrides).  Prints one summary line per valid file and exits 0; the first
invalid file stops with exit code 2 and a message naming the file, the field and what was expected.
Nothing is written.
"""

from __future__ import annotations

import argparse
import importlib
import tomllib
from pathlib import Path

from agglomeration.errors import InputError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register ``FILE...``."""
    parser.add_argument(
        "files", nargs="+", metavar="FILE", help="scenario or experiment TOML files"
    )


def _is_experiment(path: Path) -> bool:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return False  # the scenario loader reports the problem with its line number
    return "design" in raw or "variants" in raw


def summarise_scenario(path: Path, overrides: dict | None = None) -> str:
    """Load and resolve a scenario (world built); return its one-line summary."""
    from agglomeration.scenario import load_scenario
    from agglomeration.world import build_world

    scenario = load_scenario(path, overrides)
    world = build_world(scenario)
    d = scenario.data
    series = sorted({r.series for r in d.growth})
    growth = (
        f"growth from {scenario.growth.start_year} ({len(series)} series)"
        if series
        else "no growth"
    )
    return (
        f"{path}: ok: scenario {scenario.name!r}: {world.n_regions} regions, {world.n_gateways} "
        f"gateways, {world.n_sectors} sectors, {len(d.links)} links, {len(d.chains)} chains, "
        f"{growth}, {scenario.steps} steps, fingerprint {scenario.fingerprint()[:12]}"
    )


def summarise_experiment(path: Path) -> str:
    """Load an experiment and validate its base scenario under every variant; return a summary."""
    try:
        spec = importlib.import_module("agglomeration.experiment.spec")
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith("agglomeration"):
            raise InputError(
                "looks like an experiment file, but experiment validation is unavailable in this "
                "installation (agglomeration.experiment.spec is missing)",
                file=path,
            ) from None
        raise
    exp = spec.load_experiment(path)
    for variant in exp.all_variants():
        overrides = {**exp.overrides, **variant.overrides}
        try:
            summarise_scenario(Path(exp.scenario), overrides)
        except InputError as err:
            raise InputError(
                f"variant {variant.name!r}: {err}", file=path, field=f"variants.{variant.name}"
            ) from None
    if exp.design is not None:  # each design parameter must be a valid scenario path at its levels
        for pname, par in exp.design.parameters.items():
            if par.values is not None:
                levels = list(par.values)
            elif par.distribution == "uniform" and par.bounds is not None:
                levels = list(par.bounds)
            else:
                levels = [par.bounds[0]] if par.bounds is not None else []
            for level in levels:
                value = round(level) if par.integer and isinstance(level, float) else level
                try:
                    summarise_scenario(Path(exp.scenario), {**exp.overrides, pname: value})
                except InputError as err:
                    raise InputError(
                        f"design parameter {pname!r} = {value!r}: {err}",
                        file=path,
                        field=f"design.parameters.{pname}",
                    ) from None
    design = exp.design.kind if exp.design is not None else "none"
    return (
        f"{path}: ok: experiment {exp.name!r}: {len(exp.all_variants())} variant(s), design {design}, "
        f"{exp.replicates} replicate(s), base scenario {exp.scenario}"
    )


def main(args: argparse.Namespace) -> int:
    """Validate every file; 0 if all are valid (InputError propagates to the CLI -> exit 2)."""
    for name in args.files:
        path = Path(name)
        if path.is_file() and _is_experiment(path):
            print(summarise_experiment(path))
        else:
            print(summarise_scenario(path))
    return 0
