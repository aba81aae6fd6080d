"""ABC-SMC (calibration/abc.py): the sampler's pieces, and a posterior that recovers known parameters."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pandas as pd
import pytest
from test_calibrate import RECOVERY_TARGETS, write_targets

from agglomeration.calibration import abc
from agglomeration.calibration.targets import load_targets

ABC = """
[abc]
population = 10
quantile = 0.5
max_generations = 3
fit_replicates = 2
"""


def test_weighted_quantile():
    x = np.array([3.0, 1.0, 2.0, 4.0])
    assert abc.weighted_quantile(x, np.full(4, 0.25), 0.5) == 2.0
    assert abc.weighted_quantile(x, np.array([0.0, 0.0, 0.0, 1.0]), 0.1) == 4.0
    assert abc.weighted_quantile(x, np.array([0.7, 0.1, 0.1, 0.1]), 0.5) == 3.0


def test_space_transforms_bounds_and_integers(tiny):
    text = RECOVERY_TARGETS.replace(
        '[parameters."behaviour.sourcing.search_probability"]\nbounds = [0.02, 0.5]',
        '[parameters."behaviour.sourcing.search_probability"]\nbounds = [0.02, 0.5]\n'
        'prior = "lognormal"\n[parameters."behaviour.exit.after_losses"]\nbounds = [4, 8]\n'
        "integer = true",
    )
    t = load_targets(write_targets(tiny, text))
    space = abc.Space(t)
    z = space.sample_prior(4000, np.random.default_rng(1))
    assert space.inside(z).all()
    values = [space.values(row) for row in z]
    sp = np.array([v["behaviour.sourcing.search_probability"] for v in values])
    losses = np.array([v["behaviour.exit.after_losses"] for v in values])
    assert sp.min() >= 0.02 and sp.max() <= 0.5
    # log-uniform: the geometric midpoint splits the draws in half
    assert abs(np.mean(sp < math.sqrt(0.02 * 0.5)) - 0.5) < 0.03
    # every integer of [4, 8] equally likely, the end points included
    counts = np.bincount(losses.astype(int), minlength=9)[4:]
    assert counts.min() > 0.8 * 4000 / 5
    assert np.isneginf(space.log_prior(space.high + 1.0)).all()


def test_importance_weights_undo_the_proposal():
    """Particles proposed from a population concentrated at 0 get weights ~ prior / proposal: those
    far from the previous population (less likely proposed) weigh more."""

    class _P:
        bounds = (-5.0, 5.0)
        prior = "uniform"
        integer = False
        log = False

    space = abc.Space.__new__(abc.Space)
    space.names, space.params = ["x"], [_P()]
    space.low, space.high = np.array([-5.0]), np.array([5.0])
    prev = abc.Generation(
        0, np.array([[0.0], [0.1], [-0.1]]), np.full(3, 1 / 3), np.zeros(3), 1.0, 3, 3
    )
    cov = np.array([[1.0]])
    w = abc._weights(np.array([[0.0], [2.0]]), prev, cov, space)
    assert w.sum() == pytest.approx(1.0) and w[1] > w[0]


class _ToyEvaluator:
    """Stands in for the batch runner: one moment m = theta + N(0, sigma^2) per run, seeded by the
    batch seed and the candidate (independent draws)."""

    def __init__(self, sigma: float):
        self.sigma = sigma
        self.runs = 0
        self.groups: list[str] = []

    def evaluate(self, group, candidates, replicates, seed=0, seeding="independent", **_):
        rows = []
        for i, (name, values) in enumerate(candidates.items()):
            rng = np.random.default_rng([seed, i])
            for r in range(replicates):
                theta = values["behaviour.lines.death_rate"]
                rows.append({"run_id": f"{name}-{r}", "variant": name, "replicate": r,
                             "m": theta + self.sigma * rng.standard_normal()})  # fmt: skip
        self.runs += len(rows)
        self.groups.append(group)

        class _Ev:
            values = pd.DataFrame(rows)

        return _Ev()


TOY = """
name = "toy"
scenario = "scenario.toml"
steps = 2
seed = 11
[parameters."behaviour.lines.death_rate"]
bounds = [0.0, 1.0]
[[moments]]
name = "m"
metric = "firms"
window = [0, 2]
aggregate = "mean"
observed = 0.3
se = 0.05
year = 2021
source = "synthetic"
units = "toy"
[abc]
population = 400
quantile = 0.5
max_generations = 8
"""


def test_abc_smc_reproduces_the_exact_posterior_of_a_gaussian_toy(tiny):
    """m = theta + N(0, 0.05^2), observed 0.3, flat prior on [0, 1]: the exact posterior of theta is
    N(0.3, 0.05^2).  ABC-SMC's last generation matches its mean and sd, the tolerance shrinks every
    generation, and the same seed gives the same population."""
    t = load_targets(write_targets(tiny, TOY, "toy.toml"))
    gens, used = abc.run_abc(t, _ToyEvaluator(0.05), budget=20_000)
    eps = [g.epsilon for g in gens[1:]]
    assert len(gens) >= 5 and all(b < a for a, b in itertools.pairwise(eps))
    last = gens[-1]
    x = np.array([v["behaviour.lines.death_rate"] for v in last.values])
    mean = float(np.sum(last.weights * x))
    sd = float(np.sqrt(np.sum(last.weights * (x - mean) ** 2)))
    assert mean == pytest.approx(0.3, abs=0.01)
    assert 0.04 < sd < 0.065  # 0.05, broadened a little by the final tolerance
    assert last.ess > 100
    again, _ = abc.run_abc(t, _ToyEvaluator(0.05), budget=20_000)
    np.testing.assert_array_equal(again[-1].z, last.z)
    # a smaller budget stops at the last complete generation
    toy = _ToyEvaluator(0.05)
    short, short_used = abc.run_abc(t, toy, budget=1500)
    assert short_used == toy.runs <= 1500 and len(short) < len(gens)
    assert sum(g.runs for g in short) <= short_used and used <= 20_000
    # every batch the short budget ran is a batch (a result store) of the longer one: a resume with a
    # larger budget reruns nothing (a batch cut to the budget had other proposals and another store)
    full = _ToyEvaluator(0.05)
    abc.run_abc(t, full, budget=20_000)
    assert set(toy.groups) <= set(full.groups) and len(toy.groups) < len(full.groups)


def test_abc_calibration_end_to_end_resumes_and_is_bound_to_its_method(tiny, tmp_path):
    from agglomeration.calibration import calibrate
    from agglomeration.errors import ResultStoreError

    text = RECOVERY_TARGETS + ABC
    path = write_targets(tiny, text)
    out = tmp_path / "abc"
    result = calibrate(path, out, method="abc", budget=60, executor="serial")
    assert result.runs["total"] <= 60 and result.runs["fit"] == 2
    gens = pd.read_csv(out / "generations.csv")
    assert len(gens) >= 2 and gens["accepted"].eq(10).all()
    post = pd.read_csv(out / "posterior.csv")
    last = post[post["generation"] == post["generation"].max()]
    assert len(last) == 10 and last["weight"].sum() == pytest.approx(1.0)
    assert (last["distance"] <= gens["epsilon"].iloc[-1]).all()
    p = result.parameters.set_index("parameter")
    assert (p["ci_low"] <= p["estimate"]).all() and (p["estimate"] <= p["ci_high"]).all()
    assert p["estimate"].between(p["lower_bound"], p["upper_bound"]).all()
    for stem in ("parameters", "moments", "generations"):
        assert (out / f"{stem}.csv").is_file() and (out / f"{stem}.md").is_file()
    assert (out / "figures" / "posterior.png").stat().st_size > 10_000
    assert "ABC-SMC" in (out / "calibrated_scenario.toml").read_text()
    # resuming the finished calibration runs nothing new and gives the same posterior
    again = calibrate(path, out, method="abc", budget=60, executor="serial", resume=True)
    assert again.parameters["estimate"].tolist() == result.parameters["estimate"].tolist()
    manifest = json.loads((out / "calibration.json").read_text())
    assert manifest["method"] == "abc" and manifest["status"] == "complete"
    # why the sampler stopped is recorded, and the generation the posterior is
    assert result.generation == gens["generation"].iloc[-1]
    assert any(w in result.stopped for w in ("budget", "max_generations", "min_acceptance"))
    assert manifest["stopped"] == result.stopped
    assert f"Stopped after generation {result.generation}" in (out / "generations.md").read_text()
    with pytest.raises(ResultStoreError, match="--method abc"):
        calibrate(path, out, method="msm", budget=60, executor="serial")


def test_cli_summary_of_abc_speaks_of_a_posterior(tiny, tmp_path, monkeypatch, capsys):
    """The console summary of an ABC calibration used msm's words ("after 56 candidates", "SE",
    "95% CI") for a posterior: it names the generation, why the sampler stopped, the posterior sd and
    the credible interval."""
    from pathlib import Path

    from agglomeration import cli
    from agglomeration.calibration import run as calib_run

    params = pd.DataFrame(
        {
            "parameter": ["behaviour.entry.floor"],
            "estimate": [2.0],
            "se": [0.5],
            "ci_low": [1.1],
            "ci_high": [3.2],
            "identification": ["ok"],
        }
    )

    def fake(targets, out, **_):
        return calib_run.CalibrationResult(
            out=Path(out), replicates=1, runs={"total": 60}, parameters=params,
            moments=pd.DataFrame(), identification=pd.DataFrame(), best_distance=3.5, trials=56,
            generation=2, stopped="the budget was spent before generation 3 could be completed",
        )  # fmt: skip

    monkeypatch.setattr(calib_run, "calibrate", fake)
    code = cli.main(["calibrate", str(write_targets(tiny)), "--out", str(tmp_path / "c"),
                     "--method", "abc"])  # fmt: skip
    printed = capsys.readouterr().out
    assert code == 0
    assert "posterior of generation 2" in printed and "stopped: the budget" in printed
    assert "posterior sd 0.5" in printed and "95% credible interval 1.1 .. 3.2" in printed
    assert "candidates" not in printed and "SE " not in printed
