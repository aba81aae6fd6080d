"""Which channel carries the firm effect of faster customs (``fast_customs``, docs/LEVER_EFFECTS.md)?

Paired runs (common random numbers, the baseline's settled start shared by every variant, as in
experiments/logistics_scenarios.toml) of the baseline against:

- ``fast_customs``: ``logistics.customs_multiplier.connected`` = FACTOR (the experiment's variant);
- ``ch_all``: the baseline scenario with the same customs change applied inside ``costs.apply``
  (a check: must equal ``fast_customs`` run for run);
- ``ch_exports``: only the region -> gateway trade costs (tau, phi) of the faster customs;
- ``ch_import_final``: only the foreign competitors' CES weight in the regions' markets
  (``Costs.foreign``, final-goods import competition) and the gateway -> region tau/phi;
- ``ch_import_inputs``: only the imported inputs' trade costs (``Costs.tau_inputs``, gateway -> region);
- ``placebo``: the customs change scaled down to a factor of 0.999 (no systematic effect: the paired
  differences show the seed-level divergence any perturbation causes);
- ``slow_customs``: ``customs_multiplier.connected`` = 2 (the opposite sign);
- ``no_customs``: ``customs_multiplier.connected`` = 0 (the largest dose);
- ``customs_xF``: ``customs_multiplier.connected`` = F (any dose, e.g. ``customs_x0.25``).

The channel runs replace blocks of the baseline's ``Costs`` by the fast-customs ones after every
``costs.apply`` (the module attribute is patched; the burn-in is not affected).  Seeds are the
experiment's replicate seeds (``replicate_seed(SEED, r)``, r = FIRST .. FIRST + N - 1).

Usage::

    python scripts/customs_channels.py --replicates 20 --first 0 --out results/customs_channels.csv
    python scripts/customs_channels.py --summarise results/customs_channels.csv

Writes one row per run (headline metrics, firms by region and by sector at the last step) and prints the
paired differences (variant - baseline, mean [95 % t interval]) and the decomposition.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from agglomeration.behaviour import costs as costs_mod
from agglomeration.behaviour import market
from agglomeration.experiment import decomposition as dec
from agglomeration.experiment.compare import t_interval
from agglomeration.experiment.seeds import replicate_seed
from agglomeration.model import AgglomerationModel
from agglomeration.scenario import load_scenario

BASELINE = "scenarios/baseline.toml"
KEY = "logistics.customs_multiplier.connected"
CHANNELS = ("ch_all", "ch_exports", "ch_import_final", "ch_import_inputs", "placebo")

_orig_apply = costs_mod.apply
#: the active channel (None: the original ``costs.apply``) and the (R,) factor on customs hours
_active: dict = {"channel": None, "factor": None}


def _patched_apply(state, world, scenario) -> None:
    """``costs.apply``, then the active channel's blocks of the trade costs from the faster customs."""
    _orig_apply(state, world, scenario)
    ch = _active["channel"]
    if ch is None:
        return
    c = state.costs
    R = world.n_regions
    fast = c.customs_factor * _active["factor"]
    choice = world.route_choice(fast)
    tau_f, phi_f = choice.tau, choice.phi
    bp = scenario.behaviour
    foreign_f = market.external_competition(
        state.import_price,
        tau_f,
        world.sigma,
        R,
        bp.market.external_competitors,
        world.gateway_competitors,
    )
    inputs_f = costs_mod._input_trade_costs(world, tau_f, bp.costs.processing_friction)
    tau, phi, inputs, foreign = c.tau.copy(), c.phi.copy(), c.tau_inputs.copy(), c.foreign
    if ch in ("ch_all", "placebo"):
        tau, phi, inputs, foreign = tau_f, phi_f, inputs_f, foreign_f
        c.route_choice = choice
    elif ch == "ch_exports":
        tau[:, :R, R:] = tau_f[:, :R, R:]
        phi[:, :R, R:] = phi_f[:, :R, R:]
        inputs[:, :R, R:] = inputs_f[:, :R, R:]
    elif ch == "ch_import_final":
        foreign = foreign_f
        tau[:, R:, :R] = tau_f[:, R:, :R]
        phi[:, R:, :R] = phi_f[:, R:, :R]
    elif ch == "ch_import_inputs":
        inputs[:, R:, :R] = inputs_f[:, R:, :R]
    else:
        raise ValueError(ch)
    c.tau, c.phi, c.tau_inputs, c.foreign = tau, phi, inputs, foreign
    c.trade_key = b"patched"  # never reuse these as the baseline's cached trade costs


def _factor(world, value: float) -> np.ndarray:
    """(R,) ``value`` at the connected areas, 1 elsewhere."""
    return np.where(np.asarray(world.region_type) == "connected", value, 1.0)


def run_one(
    seed: int, variant: str, steps: int, factor: float, ref, series: list | None = None
) -> dict:
    """One run of ``variant`` from the shared settled start of ``ref``: its metrics (and its series
    appended to ``series``)."""
    ov = {
        "fast_customs": {KEY: factor},
        "slow_customs": {KEY: 2.0},
        "no_customs": {KEY: 0.0},
    }.get(variant, {})
    if variant.startswith("customs_x"):
        ov = {KEY: float(variant.removeprefix("customs_x"))}
    m = AgglomerationModel(load_scenario(BASELINE, ov), replicate_seed=seed, reference=ref)
    if variant in CHANNELS:
        _active["channel"] = variant
        _active["factor"] = _factor(m.world, 0.999 if variant == "placebo" else factor)
    try:
        m.run(steps)
    finally:
        _active["channel"] = None
    row = {"variant": variant, "seed": seed, **m.headline_metrics()}
    rt = m.region_table()
    for r, n in rt.groupby("region")["firms"].sum().items():
        row[f"rg_{r}"] = n
    for s, n in rt.groupby("sector")["firms"].sum().items():
        row[f"sc_{s}"] = n
    for (r, s), n in rt.groupby(["region_type", "sector"])["firms"].sum().items():
        row[f"ts_{r}_{s}"] = n
    sf = m.series_frame()
    row["entries_sum"] = sf["entries"].sum()
    row["exits_sum"] = sf["exits"].sum()
    row["import_share_mean"] = sf["import_share"].mean()
    if series is not None:
        series.append(
            sf[["step", "firms", "entries", "exits", "relocations"]].assign(
                variant=variant, seed=seed
            )
        )
    return row


def ci(d) -> str:
    """Mean [95 % t interval] of paired differences (:func:`compare.t_interval`)."""
    d = np.asarray(d, float)
    n = len(d)
    if n < 2:
        return f"{d.mean():+.3g} (n={n})"
    h = float(t_interval(d.mean(), d.std(ddof=1), n))
    star = "*" if abs(d.mean()) > h else " "
    return f"{d.mean():+8.2f} [{d.mean() - h:+8.2f}, {d.mean() + h:+8.2f}]{star}"


def summarise(runs: pd.DataFrame, columns: list[str] | None = None) -> None:
    """Print the paired differences of every variant against the baseline, and the decomposition."""
    base = runs[runs.variant == "baseline"].set_index("seed")
    variants = [v for v in runs.variant.unique() if v != "baseline"]
    if columns is None:
        columns = [
            "firms",
            "firms_ftz",
            "firms_connected",
            "firms_other",
            "entries_sum",
            "exits_sum",
            "output",
            "export_share",
            "import_share",
            "goods_import_share",
            "local_sourcing_share",
            "relocations",
        ]
        columns += sorted(c for c in runs.columns if c.startswith(("sc_", "rg_")))
    if {"ch_all", "fast_customs"} <= set(
        runs.variant
    ):  # the patched costs.apply reproduces the lever
        a = runs[runs.variant == "ch_all"].set_index("seed")
        b = runs[runs.variant == "fast_customs"].set_index("seed").loc[a.index]
        gap = (a["firms"] - b["firms"]).abs().max()
        print(f"check: ch_all against fast_customs, largest firm-count gap {gap:g} (must be 0)")
    for v in variants:
        V = runs[runs.variant == v].set_index("seed")
        seeds = V.index.intersection(base.index)
        print(
            f"\n== {v} - baseline (n = {len(seeds)} seeds); sd of firms diff "
            f"{(V.loc[seeds, 'firms'] - base.loc[seeds, 'firms']).std():.1f}"
        )
        if "replicate" in V and len(seeds) >= 40:  # the spread of 20-replicate blocks' means
            d = (V.loc[seeds, "firms"] - base.loc[seeds, "firms"]).groupby(
                V.loc[seeds, "replicate"] // 20
            )
            print("  firms, blocks of 20 replicates:", " ".join(f"{m:+.1f}" for m in d.mean()))
        for col in columns:
            if col in V:
                d = V.loc[seeds, col] - base.loc[seeds, col]
                print(f"  {col:28s} base {base.loc[seeds, col].mean():10.4g}  {ci(d)}")
    if dec.available(runs):
        t = dec.decompose(runs, baseline="baseline", groups=("ftz", "connected", "other", "zone"))
        print(dec.wide(t).to_string())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--replicates", type=int, default=12)
    ap.add_argument("--first", type=int, default=0, help="first replicate index")
    ap.add_argument("--seed", type=int, default=20260502, help="the experiment seed")
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument(
        "--factor", type=float, default=0.5, help="customs factor at the connected areas"
    )
    ap.add_argument(
        "--variants",
        nargs="+",
        default=[
            "baseline",
            "fast_customs",
            "ch_exports",
            "ch_import_final",
            "ch_import_inputs",
            "placebo",
            "slow_customs",
            "no_customs",
        ],
    )
    ap.add_argument("--check", type=int, default=2, help="replicates that also run ch_all")
    ap.add_argument("--out", default="customs_channels.csv")
    ap.add_argument(
        "--series", metavar="CSV", help="also write every run's per-step firm series here"
    )
    ap.add_argument("--summarise", metavar="CSV", help="only print the summary of a written CSV")
    a = ap.parse_args()
    if a.summarise:
        summarise(pd.read_csv(a.summarise))
        return
    costs_mod.apply = _patched_apply  # inactive (the original) unless a channel run sets _active
    ref = load_scenario(BASELINE, {})
    rows: list[dict] = []
    series: list | None = [] if a.series else None
    for r in range(a.first, a.first + a.replicates):
        seed = replicate_seed(a.seed, r).seed
        t0 = time.time()
        names = list(a.variants) + (["ch_all"] if r - a.first < a.check else [])
        for v in names:
            rows.append({**run_one(seed, v, a.steps, a.factor, ref, series), "replicate": r})
        pd.DataFrame(rows).to_csv(a.out, index=False)
        if series:
            pd.concat(series).to_csv(a.series, index=False)
        got = {x["variant"]: x["firms"] for x in rows if x["seed"] == seed}
        print(f"replicate {r} ({time.time() - t0:.0f} s): {got}", flush=True)
    summarise(pd.DataFrame(rows))


if __name__ == "__main__":
    main()
