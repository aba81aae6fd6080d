"""Why the model's entry responds weakly to entry costs: the pool's take-up and its elasticity, read
from the entry values without simulating.

Run from the repository root::

    python scripts/entry_margin.py                         # the baseline's settled start, seed 1
    python scripts/entry_margin.py --grid                  # and a grid of entry settings
    python scripts/entry_margin.py --rebalanced            # pools below the frontier, fixed costs rebalanced
    python scripts/entry_margin.py --approximations        # what the entrants' two shortcuts are worth

At the baseline's settled start (after its burn-in), a large sample of potential entrants is drawn
as the entry submodel draws them (sectors in proportion to the pool, standardised productivity
signals, the regions each knows), and :func:`agglomeration.behaviour.entry.entry_probability` gives
each one's probability of entering.  Printed: the mean take-up; the take-up's elasticity to the
one-off entry cost (the values raised by 20 % of each region's entry cost, as
``behaviour.costs.entry_cost`` x 0.8 does before any response of prices, incumbents or beliefs: a
partial, first-quarter elasticity); and by sector the quantiles of IV / scale (the entry decision's
argument: IV the expected best value over the known regions in units of the logit scale, so -2..2 is
the margin), the take-up, the share of the pool within -2..2 and the sector's elasticity.  With
``--grid`` the same for other values of ``known_productivity_share``, ``logit_scale`` (with
``location_scale`` at most it) and ``entry_cost``, for entrants drawn below the frontier
(``productivity_gap`` down to -1) and for entry costs up to 64 times the baseline's.  The elasticity is -(C / scale) E[p (1 - p)] / E[p], so it is small when most of the
pool has p near 0 or 1, whatever the scale.  Why: docs/ODD.md (Known limitations) and docs/LEVERS.md
compare the model's entry elasticity with the registration-reform evidence.

``--rebalanced`` constructs the model anew for each (``productivity_gap``, ``pool_scale``) of
``REBALANCED`` and each ``--seeds`` seed, so the fixed costs are rebalanced to the pool at the start
(initialisation.balance_fixed_costs), and prints per seed the take-up and its elasticity (over the
pool, manufacturing, services), the sectors whose fixed cost could not be balanced (with the reason)
and the median ratio of the manufacturing and service sectors' fixed costs to the baseline's of the
same seed.

``--approximations`` sizes the two shortcuts of the entrants' valuation (docs/ODD.md, Known
limitations) at the settled starts of ``--seeds``: the take-up with the option to exit valued after
``loss_grace + after_losses`` steps of losses instead of ``after_losses`` (what the exit rule does to a
firm that loses from birth), and with the exit hazard the entrants discount with set to the baseline's
mean exit rate (8.8 %/year, docs/VALIDATION.md section 5) and to 12 %/year (nearer the model's hazards
over the first three years of age) instead of ``hazard_prior``.  Partial, first-quarter effects: prices,
incumbents, beliefs and the fixed costs (balanced to the prior hazard at the start) held."""

from __future__ import annotations

import argparse
import sys
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

CUT = 0.2  #: relative cut of the entry cost
SAMPLE = 100_000  #: potential entrants drawn
#: (productivity_gap, pool_scale) settings of ``--rebalanced``
REBALANCED = ((0.0, 1.0), (-1.0, 10.0), (-1.0, 11.0), (-1.0, 12.0), (-1.5, 10.0), (-2.0, 10.0))


def take_up(model, scenario, rng_seed: int = 0) -> tuple[float, float, dict[str, np.ndarray]]:
    """(mean take-up, elasticity of take-up to the entry cost, per sector the IV / scale deciles 1, 5
    and 9, take-up, share within -2..2 and elasticity) of a sample of potential entrants at
    ``model``'s state under ``scenario``'s entry settings (``entry.take_up_response``)."""
    from agglomeration.behaviour import entry as E

    r = E.take_up_response(
        model.state,
        model.world,
        scenario,
        sample=SAMPLE,
        rng=np.random.default_rng(rng_seed),
        cut=CUT,
    )
    by_sector = {}
    for s, name in enumerate(model.world.sector_ids):
        k = r.sector == s
        x = r.index[k]
        by_sector[name] = np.array(
            [
                *np.percentile(x[np.isfinite(x)], [10, 50, 90]),
                r.take_up(k),
                np.mean(np.abs(x) <= 2.0),
                r.elasticity(k),
            ]
        )
    return r.take_up(), r.elasticity(), by_sector


def rebalanced(job: tuple[float, float, int]) -> str:
    """One row of ``--rebalanced``: the model constructed with the gap and pool at a seed."""
    from agglomeration.behaviour import entry as E
    from agglomeration.initialisation import UNBALANCED
    from agglomeration.model import AgglomerationModel
    from agglomeration.scenario import load_scenario

    gap, pool, seed = job
    path = ROOT / "scenarios" / "baseline.toml"
    over = {"behaviour.entry.productivity_gap": gap, "behaviour.entry.pool_scale": pool}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        m = AgglomerationModel(load_scenario(path, over), replicate_seed=seed)
    unbalanced = [  # the construction's warnings, one per reason (initialisation.UNBALANCED)
        f"{str(w.message).split('sector(s) ')[1].split(': ')[0]} ({reason})"
        for w in caught
        for reason, text in UNBALANCED.items()
        if text in str(w.message)
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        base = AgglomerationModel(load_scenario(path), replicate_seed=seed)
    r = E.take_up_response(
        m.state, m.world, m.spec, sample=SAMPLE, rng=np.random.default_rng(0), cut=CUT
    )
    manufacturing = np.asarray(m.world.sector_kind)[r.sector] == "manufacturing"
    ratio = m.state.fixed_cost / base.state.fixed_cost
    kind = np.asarray(m.world.sector_kind)
    return (
        f"| {gap:g} | {pool:g} | {seed} | {r.take_up():.3f} | {r.elasticity():.2f} | "
        f"{r.elasticity(manufacturing):.2f} | {r.elasticity(~manufacturing):.2f} | "
        f"{np.median(ratio[kind == 'manufacturing']):.2f} | {np.median(ratio[kind != 'manufacturing']):.2f} | "
        f"{'; '.join(unbalanced) or 'none'} |"
    )


def approximations(seed: int) -> str:
    """A table row: take-up at ``seed``'s settled baseline start as the model values entry, with the
    start-up grace in the exit option, and at two exit hazards (see the module docstring)."""
    from agglomeration.behaviour import entry as E
    from agglomeration.model import AgglomerationModel

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = AgglomerationModel(ROOT / "scenarios" / "baseline.toml", replicate_seed=seed)
    T = m.spec.behaviour.steps_per_year

    def rate(scenario=m.spec) -> float:
        r = E.take_up_response(
            m.state, m.world, scenario, sample=SAMPLE, rng=np.random.default_rng(0), cut=CUT
        )
        return r.take_up()

    model = rate()
    grace = rate(m.spec.with_overrides({"behaviour.entry.exit_option": "after_grace"}))
    prior = m.state.beliefs.hazard.copy()
    hazards = []
    for annual in (0.088, 0.12):
        m.state.beliefs.hazard[...] = 1.0 - (1.0 - annual) ** (1.0 / T)
        hazards.append(rate())
        m.state.beliefs.hazard[...] = prior
    change = lambda x: f"{x:.4f} ({(x / model - 1.0) * 100:+.1f} %)"  # noqa: E731
    return (
        f"| {seed} | {model:.4f} | {change(grace)} | {change(hazards[0])} | {change(hazards[1])} |"
    )


def main(argv: list[str] | None = None) -> int:
    from agglomeration.model import AgglomerationModel
    from agglomeration.scenario import load_scenario

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--grid", action="store_true")
    ap.add_argument("--rebalanced", action="store_true")
    ap.add_argument("--approximations", action="store_true")
    ap.add_argument(
        "--seeds",
        type=int,
        nargs="+",
        default=[1, 2, 3, 4],
        help="with --rebalanced, --approximations",
    )
    from agglomeration.experiment.pools import WORKERS_HELP, default_workers

    ap.add_argument(
        "--workers",
        type=int,
        default=default_workers(),
        help=f"{WORKERS_HELP}; with --rebalanced, --approximations",
    )
    args = ap.parse_args(argv)
    if args.approximations:
        print(
            "| seed | take-up as modelled | with the start-up grace in the exit option "
            "| hazard 8.8 %/year | hazard 12 %/year |"
        )
        print("|---:|---:|---:|---:|---:|")
        with ProcessPoolExecutor(args.workers) as ex:
            for row in ex.map(approximations, args.seeds):
                print(row, flush=True)
        return 0
    if args.rebalanced:
        print(
            "| productivity_gap | pool_scale | seed | take-up | elasticity | manufacturing | services "
            "| fixed cost / baseline's: manufacturing | services | sectors not balanced |"
        )
        print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
        jobs = [(g, p, s) for g, p in REBALANCED for s in args.seeds]
        with ProcessPoolExecutor(args.workers) as ex:
            for row in ex.map(rebalanced, jobs):
                print(row, flush=True)
        return 0
    warnings.simplefilter("ignore")
    path = ROOT / "scenarios" / "baseline.toml"
    base = load_scenario(path)
    m = AgglomerationModel(base, replicate_seed=args.seed)
    p, e, by = take_up(m, base)
    print(
        f"baseline settled start, seed {args.seed}: take-up {p:.3f}, elasticity of take-up to the "
        f"entry cost {e:.3f} (negative: a dearer entry, fewer entrants; the docs quote its size)"
    )
    print("| sector | IV / scale: 10 % | 50 % | 90 % | take-up | share within +-2 | elasticity |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, q in by.items():
        print(
            f"| {name} | {q[0]:.1f} | {q[1]:.1f} | {q[2]:.1f} | {q[3]:.2f} | {q[4]:.2f} | {q[5]:.2f} |"
        )
    if args.grid:
        ec = base.behaviour.costs.entry_cost
        print("\n| known_productivity_share | logit_scale | entry_cost | take-up | elasticity |")
        print("|---:|---:|---:|---:|---:|")
        for kappa in (0.9, 0.5, 0.0):
            for lam in (1.0, 0.25):
                for cost in (ec, 4 * ec):
                    scen = base.with_overrides(
                        {
                            "behaviour.entry.known_productivity_share": kappa,
                            "behaviour.entry.logit_scale": lam,
                            "behaviour.entry.location_scale": min(
                                base.behaviour.entry.location_scale, lam
                            ),
                            "behaviour.costs.entry_cost": cost,
                        }
                    )
                    p, e, _ = take_up(m, scen)
                    print(f"| {kappa} | {lam} | {cost:g} | {p:.3f} | {e:.3f} |")
        print("\n| productivity_gap (the baseline's other settings) | take-up | elasticity |")
        print("|---:|---:|---:|")
        for gap in (0.0, -0.25, -0.5, -1.0):
            scen = base.with_overrides({"behaviour.entry.productivity_gap": gap})
            p, e, _ = take_up(m, scen)
            print(f"| {gap:g} | {p:.3f} | {e:.3f} |")
        print("\n| entry_cost (the baseline's other settings) | take-up | elasticity |")
        print("|---:|---:|---:|")
        for mult in (1, 2, 4, 16, 64):
            scen = base.with_overrides({"behaviour.costs.entry_cost": mult * ec})
            p, e, _ = take_up(m, scen)
            print(f"| {mult * ec:g} | {p:.3f} | {e:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
