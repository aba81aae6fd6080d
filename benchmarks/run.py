"""Speed and memory benchmark of `agglomeration`, with Mesa's BoltzmannWealth as the reference.

Run from the repository root::

    python benchmarks/run.py                      # full: 10k, 100k, 1M firms (~5-10 minutes on 2 cores)
    python benchmarks/run.py --sizes 10000 100000 --no-batch   # quicker
    python benchmarks/run.py --json results/bench.json

What it reports (a table on stdout and, with ``--json``, a JSON document):

* ``model``: for each size N (initial firm count set with ``firms__initial_count``, entry and exit on),
  the median over ``--repeats`` of the wall time per step over ``--steps`` steps after ``--warmup`` steps,
  and firm-steps per second = mean live firms x steps / time.
* ``reference``: agent-steps per second of ``mesa.examples.BoltzmannWealth`` with 10,000 agents (100 x 100
  grid, its own DataCollector), median over repeats; and the ratio model / reference at each size.
* ``scaling``: t_step(1M) / t_step(100k) (10 = linear).
* ``memory``: peak RSS of the process running the largest size, minus the RSS just before the model was
  built, divided by the number of firms (bytes per firm).
* ``profile``: one step at 100k firms split by submodel (wall time of each entry of the model's schedule,
  and of the observation; the rest is model glue).
* ``build`` (with ``--builds K``): the wall time of the first build in each size's process and the
  median CPU time of K more builds in the same process (what a batch worker pays per small run).
* ``batch``: runs per minute of the baseline with 1 and 2 workers (``benchmarks/batch_throughput.py``).

Every measurement runs in its own subprocess so peak memory and imports do not leak between them.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.toml"


def _rss_bytes() -> int:
    """Current resident set size of this process, bytes (Linux /proc)."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


# --------------------------------------------------------------------------------------------- children
def _load_kernels() -> None:
    """Run a tiny model for two steps so every compiled kernel is loaded (or compiled, on the first run
    after a change) before anything is timed: compilation is a one-off cost, not a cost per step."""
    from agglomeration import AgglomerationModel

    AgglomerationModel(BASELINE, replicate_seed=0, firms__initial_count=300).run(2)


def child_model(
    n: int,
    steps: int,
    warmup: int,
    repeats: int,
    seed: int,
    overrides: dict | None = None,
    builds: int = 0,
) -> dict:
    from agglomeration import AgglomerationModel, load_scenario

    _load_kernels()
    scenario = load_scenario(BASELINE)
    rss0 = _rss_bytes()
    t0 = time.perf_counter()
    model = AgglomerationModel(
        scenario, replicate_seed=seed, firms__initial_count=n, **(overrides or {})
    )
    build_s = time.perf_counter() - t0
    for _ in range(warmup):
        model.step()
    per_step, firm_steps_per_s, live = [], [], []
    for _ in range(repeats):
        alive_sum = 0
        t0 = time.perf_counter()
        for _ in range(steps):
            model.step()
            alive_sum += model.firms.n_alive
        dt = time.perf_counter() - t0
        per_step.append(dt / steps)
        firm_steps_per_s.append(alive_sum / dt)
        live.append(alive_sum / steps)
    # more models built in the same process, as a batch worker builds them (CPU time: the process's
    # caches, e.g. the built world, are warm; the first build above is the cold one)
    rebuild = []
    for k in range(builds):
        t0 = time.process_time()
        AgglomerationModel(
            scenario, replicate_seed=seed + 1 + k, firms__initial_count=n, **(overrides or {})
        )
        rebuild.append(time.process_time() - t0)
    return {
        "rebuild_cpu_s": statistics.median(rebuild) if rebuild else None,
        "n_initial": n,
        "build_s": build_s,
        "t_step_s": statistics.median(per_step),
        "firm_steps_per_s": statistics.median(firm_steps_per_s),
        "mean_live_firms": statistics.median(live),
        "peak_rss_bytes": _peak_rss_bytes(),
        "rss_before_model_bytes": rss0,
        "bytes_per_firm": (_peak_rss_bytes() - rss0) / max(n, 1),
    }


def child_boltzmann(n: int, steps: int, warmup: int, repeats: int, seed: int) -> dict:
    import mesa
    from mesa.examples import BoltzmannWealth

    params = inspect.signature(BoltzmannWealth.__init__).parameters
    if "scenario" in params:  # mesa >= 3.5
        from mesa.examples.basic.boltzmann_wealth_model.model import BoltzmannScenario

        model = BoltzmannWealth(BoltzmannScenario(n=n, width=100, height=100, rng=seed))
    else:  # mesa 3.3
        model = BoltzmannWealth(n=n, width=100, height=100, seed=seed)
    for _ in range(warmup):
        model.step()
    rates = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(steps):
            model.step()
        rates.append(n * steps / (time.perf_counter() - t0))
    return {"agents": n, "agent_steps_per_s": statistics.median(rates), "mesa": mesa.__version__}


def child_profile(n: int, steps: int, warmup: int, seed: int) -> dict:
    """Time each submodel of the model's schedule (one entry per submodel, from its ``run``) and the
    observation (``observe.series_row``) over `steps` steps."""
    import agglomeration.observe as observe_mod
    from agglomeration import AgglomerationModel, load_scenario

    totals: dict[str, float] = {}

    class Timed:
        """A schedule entry that times the submodel it stands for (same name, counters and run)."""

        def __init__(self, sub):
            self.sub, self.name, self.counters = sub, sub.name, sub.counters
            self.label = (
                f"{sub.name} ({sub.step.__module__.rsplit('.', 1)[-1]}.{sub.step.__name__})"
            )

        def run(self, *args):
            t0 = time.perf_counter()
            try:
                return self.sub.run(*args)
            finally:
                totals[self.label] = totals.get(self.label, 0.0) + time.perf_counter() - t0

    series_row = observe_mod.series_row

    def timed_series_row(*a, **k):
        t0 = time.perf_counter()
        try:
            return series_row(*a, **k)
        finally:
            key = "observe.series_row (observation)"
            totals[key] = totals.get(key, 0.0) + time.perf_counter() - t0

    _load_kernels()
    model = AgglomerationModel(load_scenario(BASELINE), replicate_seed=seed, firms__initial_count=n)
    model.schedule = tuple(Timed(sub) for sub in model.schedule)
    observe_mod.series_row = timed_series_row
    try:
        for _ in range(warmup):
            model.step()
        totals.clear()
        t0 = time.perf_counter()
        for _ in range(steps):
            model.step()
        total = (time.perf_counter() - t0) / steps
    finally:
        observe_mod.series_row = series_row
    parts = {k: v / steps for k, v in sorted(totals.items(), key=lambda kv: -kv[1])}
    parts["other (model glue, firm table)"] = max(total - sum(parts.values()), 0.0)
    return {"n_initial": n, "t_step_s": total, "parts_s": parts}


def _child_main(argv: list[str]) -> None:
    kind, *rest = argv
    kw = json.loads(rest[0])
    fn = {"model": child_model, "boltzmann": child_boltzmann, "profile": child_profile}[kind]
    print(json.dumps(fn(**kw)))


def _spawn(kind: str, **kw) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--_child", kind, json.dumps(kw)],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"benchmark child {kind} {kw} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------------------------- parent
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--steps", type=int, default=20, help="timed steps per repeat")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-batch", action="store_true", help="skip the batch throughput measurement")
    ap.add_argument("--no-profile", action="store_true")
    ap.add_argument("--json", type=Path, help="also write the results as JSON here")
    ap.add_argument(
        "--builds",
        type=int,
        default=0,
        help="after the timed steps, build this many more models of each size in the same process "
        "and report the median CPU time of a build (what a batch of small runs pays per run)",
    )
    ap.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="scenario override for the model runs, '__' for nesting (e.g. solver__income_iterations=1); "
        "the default benchmark is the unchanged baseline",
    )
    args = ap.parse_args()
    overrides = {}
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep or not key:
            ap.error(f"--set expects KEY=VALUE, got {item!r}")
        try:
            overrides[key] = json.loads(value)  # numbers, true/false, lists
        except json.JSONDecodeError:
            overrides[key] = value  # a plain string

    import mesa
    import numpy

    import agglomeration

    result: dict = {
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "mesa": mesa.__version__,
            "numpy": numpy.__version__,
            "agglomeration": agglomeration.__version__,
        },
        "settings": vars(args) | {"json": str(args.json) if args.json else None},
    }

    def reference() -> dict:
        print(f"reference: mesa {mesa.__version__} BoltzmannWealth, 10,000 agents ...", flush=True)
        return _spawn(
            "boltzmann",
            n=10_000,
            steps=args.steps,
            warmup=args.warmup,
            repeats=args.repeats,
            seed=args.seed,
        )

    # the reference is measured before and after the model runs and averaged: on a shared machine its
    # speed drifts, and both numbers are reported so the drift is visible
    ref_before = reference()
    rows = []
    for n in args.sizes:
        print(f"model: {n:,} firms ...", flush=True)
        reps = args.repeats if n < 1_000_000 else 1
        r = _spawn(
            "model",
            n=n,
            steps=args.steps,
            warmup=args.warmup,
            repeats=reps,
            seed=args.seed,
            overrides=overrides,
            builds=args.builds,
        )
        rows.append(r)
    ref_after = reference()
    ref = dict(ref_before)
    ref["agent_steps_per_s"] = (
        ref_before["agent_steps_per_s"] + ref_after["agent_steps_per_s"]
    ) / 2
    ref["before_after"] = [ref_before["agent_steps_per_s"], ref_after["agent_steps_per_s"]]
    result["reference"] = ref
    for r in rows:
        r["ratio_to_boltzmann"] = r["firm_steps_per_s"] / ref["agent_steps_per_s"]
    result["model"] = rows
    by_n = {r["n_initial"]: r for r in rows}
    if 100_000 in by_n and 1_000_000 in by_n:
        big, small = by_n[1_000_000], by_n[100_000]
        result["scaling_t1M_over_t100k"] = big["t_step_s"] / small["t_step_s"]
        # the same ratio per live firm, x10: the two runs lose different shares of firms to exit
        result["scaling_per_live_firm_x10"] = (
            10
            * (big["t_step_s"] / big["mean_live_firms"])
            / (small["t_step_s"] / small["mean_live_firms"])
        )
    largest = rows[-1]
    result["memory"] = {
        "n_initial": largest["n_initial"],
        "bytes_per_firm": largest["bytes_per_firm"],
    }
    if not args.no_profile:
        print("profile: one step at 100,000 firms by submodel ...", flush=True)
        result["profile"] = _spawn(
            "profile", n=100_000, steps=5, warmup=args.warmup, seed=args.seed
        )
    if not args.no_batch:
        script = ROOT / "benchmarks" / "batch_throughput.py"
        print("batch throughput, 1 and 2 workers ...", flush=True)
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            bjson = Path(tmp) / "batch.json"
            out = subprocess.run(
                [sys.executable, str(script), "--json", str(bjson)],
                capture_output=True,
                text=True,
                check=False,
            )
            if out.returncode == 0 and bjson.exists():
                result["batch"] = json.loads(bjson.read_text())
            else:
                result["batch"] = {"error": out.stderr[-2000:]}

    # ------------------------------------------------------------------ report
    print()
    b0, b1 = ref["before_after"]
    print(
        f"Reference: BoltzmannWealth (mesa {ref['mesa']}), 10,000 agents: "
        f"{ref['agent_steps_per_s']:,.0f} agent-steps/s (before {b0:,.0f}, after {b1:,.0f})"
    )
    print(
        f"{'firms':>10} {'live':>10} {'t/step (ms)':>12} {'firm-steps/s':>14} {'x Boltzmann':>12} "
        f"{'B/firm':>8}"
    )
    for r in rows:
        print(
            f"{r['n_initial']:>10,} {r['mean_live_firms']:>10,.0f} {1e3 * r['t_step_s']:>12.1f} "
            f"{r['firm_steps_per_s']:>14,.0f} {r['ratio_to_boltzmann']:>12.1f} "
            f"{r['bytes_per_firm']:>8.0f}"
        )
    if "scaling_t1M_over_t100k" in result:
        print(
            f"scaling t(1M)/t(100k) = {result['scaling_t1M_over_t100k']:.2f} (10 = linear); "
            f"per live firm x10: {result['scaling_per_live_firm_x10']:.2f}"
        )
    for r in rows:
        if r.get("rebuild_cpu_s") is not None:
            print(
                f"build at {r['n_initial']:,} firms: {r['build_s']:.3f} s wall (first in its process), "
                f"then {r['rebuild_cpu_s']:.3f} s CPU (median of {args.builds} more builds)"
            )
    print(
        f"peak memory per firm at {largest['n_initial']:,} firms: "
        f"{largest['bytes_per_firm'] / 1024:.2f} KB"
    )
    if "profile" in result:
        p = result["profile"]
        print(f"\nProfile of one step at {p['n_initial']:,} firms ({1e3 * p['t_step_s']:.1f} ms):")
        for name, s in p["parts_s"].items():
            print(f"  {name:<45} {1e3 * s:8.2f} ms  {100 * s / p['t_step_s']:5.1f}%")
    if "batch" in result:
        print("\nBatch throughput:", json.dumps(result["batch"]))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2))
        print(f"\nwrote {args.json}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--_child":
        _child_main(sys.argv[2:])
    else:
        main()
