"""Check scenario and experiment files without running anything.

Each FILE is a calibration targets file (parameters and moments; the checks of `agglomeration
calibrate`), a scenario TOML (validated with its ``extends`` parents and every data CSV, and its logistics
network solved) or an experiment TOML (a file that names a base ``scenario``): it gets exactly the checks
`agglomeration batch` makes before its first run - every variant and design point resolved, identical
variants, snapshot steps, metric names, sizes, and the world of every variant.  Prints one summary line
per valid file and exits 0; the first invalid file stops with exit code 2 and a message naming the
file, the field and what was expected.  Nothing is written.
"""

from __future__ import annotations

import argparse
import tomllib
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register ``FILE...``."""
    parser.add_argument(
        "files", nargs="+", metavar="FILE", help="scenario or experiment TOML files"
    )


def _read(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError, ValueError):
        return {}  # the scenario loader reports the problem with its line number


def _is_targets(path: Path) -> bool:
    """A calibration targets file declares parameters to estimate and moments."""
    raw = _read(path)
    return "parameters" in raw and ("moments" in raw or "moments_file" in raw)


def summarise_targets(path: Path) -> str:
    """Every check ``agglomeration calibrate`` makes before its first run; a one-line summary."""
    from agglomeration.calibration.targets import load_targets

    t = load_targets(path)
    return (
        f"{path}: ok: calibration targets {t.name!r}: {len(t.parameters)} parameter(s), "
        f"{len(t.moments)} moment(s), {len(t.holdout)} held out, base scenario {t.scenario}"
    )


def _is_experiment(path: Path) -> bool:
    """An experiment file names a base ``scenario`` (a scenario file never does), or has variants /
    a design; anything else is read as a scenario."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError, ValueError):
        return False  # the scenario loader reports the problem with its line number
    return any(k in raw for k in ("scenario", "design", "variants", "replicates"))


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
    """Run every check ``agglomeration batch`` makes before it starts (and only those); return a
    one-line summary."""
    from agglomeration.experiment.runner import validate_experiment
    from agglomeration.experiment.spec import load_experiment

    exp = load_experiment(path)
    plan = validate_experiment(exp)
    design = exp.design.kind if exp.design is not None else "none"
    return (
        f"{path}: ok: experiment {exp.name!r}: {len(exp.all_variants())} variant(s), design {design} "
        f"({len(plan.design)} point(s)), {exp.replicates} replicate(s), {len(plan.tasks)} run(s), "
        f"base scenario {exp.scenario}"
    )


def main(args: argparse.Namespace) -> int:
    """Validate every file; 0 if all are valid (InputError propagates to the CLI -> exit 2)."""
    for name in args.files:
        path = Path(name)
        if path.is_file() and _is_targets(path):
            print(summarise_targets(path))
        elif path.is_file() and _is_experiment(path):
            print(summarise_experiment(path))
        else:
            print(summarise_scenario(path))
    return 0
