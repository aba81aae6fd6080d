"""Calibrate the model to observed moments (MSM or ABC-SMC; docs/CALIBRATION.md).

TARGETS is a targets file (TOML): the base scenario, the parameters to estimate with bounds and priors,
the moments to match (observed value, standard error, year, source, units, and the simulated
statistic) and optional held-out moments ([[holdout]], not fitted: the out-of-sample check).  It is
checked completely before any run (exit 2 naming file and field).  Every run goes through the batch
runner into a result store under --out.  --method msm (default): an optuna search with common random
numbers (the same seeds for every candidate; the study in --out/study.db).  --method abc: ABC-SMC,
a posterior ([abc] settings in the targets file).  Stopped (Ctrl-C, SIGTERM) or killed, a calibration
resumes where it stopped when rerun into the same --out (or with --resume).

Writes to --out: parameters.csv/.md (estimates with standard errors and 95% intervals, or the
posterior), moments.csv/.md (fit table), holdout.csv/.md (held-out moments), for msm
identification.csv/.md, trials.csv, sweeps.csv, figures/convergence.png and figures/profiles.png, for
abc generations.csv/.md, posterior.csv and figures/posterior.png, and calibrated_scenario.toml.
--budget counts every model run (msm: pilot, search, re-evaluation of the best candidates on fresh
seeds, sweeps, held-out runs; abc: the generations, the fit and held-out runs).

Exit codes: 0 done, 2 invalid input (or another calibration writes into --out), 1 runtime failure,
130 / 143 stopped by Ctrl-C / SIGTERM (resumable).
"""

from __future__ import annotations

import argparse
import shlex
import signal
import sys
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``agglomeration calibrate``."""
    parser.add_argument("targets", help="targets file (TOML)")
    parser.add_argument(
        "--out", help="calibration directory (default: calibrations/<targets name>)"
    )
    parser.add_argument(
        "--method",
        default="msm",
        help="msm (method of simulated moments, optuna search) or abc (ABC-SMC posterior; [abc] settings in the targets file)",
    )
    parser.add_argument("--budget", type=int, default=2000, help="model runs in all (default 2000)")
    parser.add_argument("--workers", type=int, help="worker processes (default: number of CPUs)")
    parser.add_argument("--executor", choices=("local", "dask", "serial"), default="local")
    parser.add_argument("--scheduler", help="dask scheduler address, e.g. tcp://10.0.0.5:8786")
    parser.add_argument(
        "--resume", action="store_true", help="continue the calibration in --out (error if none)"
    )
    parser.add_argument(
        "--seeds", type=int, help="replicates per candidate (default: automatic, from a pilot)"
    )
    parser.add_argument(
        "--scenario-out",
        help="also write the calibrated scenario to this file (e.g. scenarios/chongqing_2021.toml)",
    )
    parser.add_argument("--check", action="store_true", help="only check the targets file (no run)")


def _resume_command(args: argparse.Namespace, out: Path) -> str:
    parts = [
        "agglomeration",
        "calibrate",
        str(args.targets),
        "--out",
        str(out),
        "--budget",
        str(args.budget),
    ]
    for opt in ("method", "workers", "executor", "scheduler", "seeds", "scenario_out"):
        value = getattr(args, opt, None)
        if value is not None and (opt, value) not in (("executor", "local"), ("method", "msm")):
            parts += [f"--{opt.replace('_', '-')}", str(value)]
    return shlex.join([*parts, "--resume"])


def main(args: argparse.Namespace) -> int:
    """Run (or resume) the calibration; print where the results are."""
    from agglomeration.calibration.run import calibrate, check_options
    from agglomeration.calibration.targets import load_targets
    from agglomeration.commands.batch import install_stop_handlers

    # the options first, --check too: a check that passes must mean the command would start
    check_options(args.method, args.budget, args.workers, args.seeds, args.executor, args.scheduler)
    targets = load_targets(args.targets)
    if args.check:
        print(
            f"{args.targets}: ok ({len(targets.parameters)} parameters, {len(targets.moments)} moments, "
            f"{len(targets.holdout)} held out, base scenario {targets.scenario})"
        )
        return 0
    out = Path(args.out) if args.out else Path("calibrations") / targets.name
    previous = install_stop_handlers()
    try:
        result = calibrate(
            targets,
            out,
            method=args.method,
            budget=args.budget,
            workers=args.workers,
            executor=args.executor,
            scheduler=args.scheduler,
            resume=args.resume,
            seeds=args.seeds,
            scenario_out=args.scenario_out,
        )
    except KeyboardInterrupt as stop:
        signum = int(getattr(stop, "signum", signal.SIGINT))
        print(
            f"calibration stopped by {signal.Signals(signum).name}; finished runs and trials are kept in "
            f"{out}.\nResume with:\n  {_resume_command(args, out)}",
            file=sys.stderr,
        )
        return 128 + signum
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    p = result.parameters
    if result.generation is not None:  # abc: a posterior, not a point estimate with an SE
        print(
            f"ABC of {targets.name}: posterior of generation {result.generation} ({result.trials} "
            f"particles proposed in all; stopped: {result.stopped}); fit at the posterior median: "
            f"sum of t^2 {result.best_distance:.4g}; {result.runs['total']} model runs"
        )
        spread, interval = "posterior sd", "95% credible interval"
    else:
        print(
            f"calibration of {targets.name}: distance {result.best_distance:.4g} after "
            f"{result.trials} candidates x {result.replicates} seeds; {result.runs['total']} model runs"
        )
        spread, interval = "SE", "95% CI"
    for row in p.itertuples():
        print(
            f"  {row.parameter} = {row.estimate:.4g} ({spread} {row.se:.3g}; {interval} "
            f"{row.ci_low:.4g} .. {row.ci_high:.4g}; {row.identification})"
        )
    if result.holdout is not None:
        for row in result.holdout.itertuples():
            print(
                f"  held out: {row.moment} observed {row.observed:.4g}, simulated {row.simulated:.4g} "
                f"(95% CI {row.sim_ci_low:.4g} .. {row.sim_ci_high:.4g}; t {row.t_stat:.2f})"
            )
    held = "holdout.md, " if result.holdout is not None else ""
    own = "generations.md, posterior.csv" if args.method == "abc" else "identification.md"
    print(
        f"results in {result.out} (parameters.md, moments.md, {held}{own}, figures/, "
        "calibrated_scenario.toml)"
    )
    for f in result.files:
        print(f"calibrated scenario also written to {f}")
    return 0
