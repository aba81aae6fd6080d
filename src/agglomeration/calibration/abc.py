"""Approximate Bayesian computation by sequential Monte Carlo (ABC-SMC): a posterior of the parameters.

The population Monte Carlo sampler of Beaumont, Cornuet, Marin & Robert (2009, Biometrika 96:983) with
the adaptive tolerance of Del Moral, Doucet & Jasra (2012) and Toni et al. (2009), as pyabc implements it
(Klinger, Rickert & Hasenauer 2018), but every model run goes through the project's batch runner and
result store (crash-safe, resumable, local or Dask), which pyabc's own samplers would bypass:

- **Space.** Each parameter is sampled on z = log(theta) for a ``lognormal`` prior, else z = theta; an
  ``integer`` parameter on [low - 0.5, high + 0.5) and rounded when it runs (every integer equally
  likely under a uniform prior).  Prior density: uniform on the bounds in z (log-uniform for
  ``lognormal``); ``normal``: N(mean, sd) truncated to the bounds.
- **Distance** of a particle: rho = sum_k ((mbar_k - observed_k) / se_k)^2, mbar_k the mean of moment k
  over the particle's ``[abc] replicates`` runs (1 by default: one simulated economy against the one
  observed).  Every particle has its own seeds (independent, not common random numbers: ABC needs the
  simulation noise).
- **Generation 0**: ``population`` particles from the prior, all accepted.
- **Generation t >= 1**: tolerance eps_t = the weighted ``quantile`` of generation t-1's distances;
  proposals theta* = z_j + N(0, 2 Sigma) with j drawn by weight and Sigma the weighted covariance of
  generation t-1 (Beaumont et al.'s optimal-scale Gaussian kernel), redrawn until inside the prior's
  support; a proposal is accepted when rho <= eps_t.  Proposals run in batches (one result store each,
  ``runs/abc-gGG-bBBB``) until ``population`` are accepted.  Weights
  w_i = prior(z_i) / sum_j w_j^(t-1) K(z_i - z_j^(t-1)), normalised.
- **Stop** when the budget cannot complete another generation, after ``max_generations``, or when the
  acceptance rate falls below ``min_acceptance`` (the tolerance no longer shrinks at a useful cost).
  The posterior is the last complete generation.

Determinism: proposals are drawn from generators seeded by (targets seed, generation, batch), and a
batch's size does not depend on the budget (a batch that would exceed it is not started), so a
stopped calibration recomputes the same proposals on resume and the result store supplies every
finished run.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from agglomeration.calibration.evaluate import Evaluator
from agglomeration.calibration.moments import summarise, warn_undefined
from agglomeration.calibration.targets import Targets

__all__ = [
    "Generation",
    "Space",
    "abc_distance",
    "posterior_table",
    "run_abc",
    "weighted_quantile",
]

log = logging.getLogger(__name__)


#: largest batch of proposals, as a multiple of the population
MAX_BATCH_FACTOR = 5
#: redraws of a proposal that falls outside the prior's support before giving up
MAX_REDRAWS = 10_000


def weighted_quantile(x: np.ndarray, w: np.ndarray, q: float) -> float:
    """The q-quantile of x under normalised weights w (the smallest x whose cumulative weight >= q)."""
    x = np.asarray(x, dtype=float)
    w = np.asarray(w, dtype=float)
    order = np.argsort(x, kind="stable")
    cum = np.cumsum(w[order]) / w.sum()
    return float(x[order][min(int(np.searchsorted(cum, q)), len(x) - 1)])


class Space:
    """The sampling space of the parameters: transform, support and prior density (module docstring)."""

    def __init__(self, targets: Targets):
        self.names = list(targets.parameters)
        self.params = [targets.parameters[n] for n in self.names]
        lo, hi = [], []
        for p in self.params:
            a, b = p.bounds
            if p.integer:
                a, b = math.ceil(a) - 0.5, math.floor(b) + 0.5 - 1e-9
            elif p.log:
                a, b = math.log(a), math.log(b)
            lo.append(a)
            hi.append(b)
        self.low = np.array(lo)
        self.high = np.array(hi)

    @property
    def dim(self) -> int:
        return len(self.names)

    def inside(self, z: np.ndarray) -> np.ndarray:
        """Rows of z (n x d) inside the prior's support."""
        return np.all((z >= self.low) & (z <= self.high), axis=-1)

    def log_prior(self, z: np.ndarray) -> np.ndarray:
        """Log prior density of rows of z, up to a constant (-inf outside the support)."""
        z = np.atleast_2d(z)
        out = np.zeros(len(z))
        for k, p in enumerate(self.params):
            if p.prior == "normal":
                out -= 0.5 * ((z[:, k] - float(p.mean or 0.0)) / float(p.sd or 1.0)) ** 2
        return np.where(self.inside(z), out, -np.inf)

    def sample_prior(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """n draws from the prior (normal priors by rejection within the bounds)."""
        z = rng.uniform(self.low, self.high, size=(n, self.dim))
        for k, p in enumerate(self.params):
            if p.prior != "normal":
                continue
            for i in range(n):
                for _ in range(MAX_REDRAWS):
                    v = rng.normal(float(p.mean or 0.0), float(p.sd or 1.0))
                    if self.low[k] <= v <= self.high[k]:
                        z[i, k] = v
                        break
                else:
                    raise RuntimeError(
                        f"cannot draw {self.names[k]} from its prior within the bounds"
                    )
        return z

    def values(self, z: np.ndarray) -> dict[str, float]:
        """The parameter values of one point z (rounded integers, exp of log-scale parameters)."""
        out: dict[str, float] = {}
        for k, p in enumerate(self.params):
            v = float(z[k])
            if p.integer:
                out[self.names[k]] = float(min(max(round(v), p.bounds[0]), p.bounds[1]))
            else:
                out[self.names[k]] = math.exp(v) if p.log else v
        return out


def abc_distance(targets: Targets, row: dict[str, Any]) -> float:
    """rho of one summarised particle: sum of squared standardised deviations from the targets."""
    total = 0.0
    for m in targets.moments:
        mean = float(row.get(m.name, float("nan")))
        if not math.isfinite(mean):
            warn_undefined(m.name, mean)
            return float("inf")
        total += ((mean - m.observed) / m.target_se) ** 2
    return total


@dataclass
class Generation:
    """One complete generation: particles z (n x d), weights, distances, the tolerance and the cost."""

    number: int
    z: np.ndarray
    weights: np.ndarray
    distances: np.ndarray
    epsilon: float
    proposed: int
    runs: int
    values: list[dict[str, float]] = field(default_factory=list)

    @property
    def acceptance(self) -> float:
        return len(self.z) / self.proposed if self.proposed else float("nan")

    @property
    def ess(self) -> float:
        """Effective sample size 1 / sum w^2."""
        return float(1.0 / np.sum(self.weights**2))


def _kernel_cov(prev: Generation, space: Space) -> np.ndarray:
    """2 x the weighted covariance of the previous generation (a ridge keeps it positive definite)."""
    cov = 2.0 * np.atleast_2d(np.cov(prev.z.T, aweights=prev.weights, ddof=0))
    ridge = 1e-10 * np.square(space.high - space.low)
    return cov + np.diag(ridge)


def _weights(z: np.ndarray, prev: Generation, cov: np.ndarray, space: Space) -> np.ndarray:
    """w_i = prior(z_i) / sum_j w_j K(z_i - z_j), normalised (the kernel's constant cancels)."""
    prec = np.linalg.inv(cov)
    diff = z[:, None, :] - prev.z[None, :, :]
    quad = np.einsum("ijk,kl,ijl->ij", diff, prec, diff)
    mix = np.exp(-0.5 * quad) @ prev.weights
    w = np.exp(space.log_prior(z)) / np.maximum(mix, 1e-300)
    return w / w.sum()


def _propose(
    prev: Generation, cov: np.ndarray, space: Space, n: int, rng: np.random.Generator
) -> np.ndarray:
    """n proposals: a particle of the previous generation by weight, moved by the Gaussian kernel,
    redrawn until inside the prior's support."""
    chol = np.linalg.cholesky(cov)
    out = np.empty((n, space.dim))
    for i in range(n):
        for _ in range(MAX_REDRAWS):
            j = rng.choice(len(prev.z), p=prev.weights)
            z = prev.z[j] + chol @ rng.standard_normal(space.dim)
            if space.inside(z):
                out[i] = z
                break
        else:
            raise RuntimeError("the ABC kernel keeps proposing outside the bounds")
    return out


def _rng(targets: Targets, generation: int, batch: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([targets.seed, 0xABC, generation, batch]))


def _batch_seed(targets: Targets, generation: int, batch: int) -> int:
    return int(
        np.random.SeedSequence([targets.seed, 0xABC5EED, generation, batch]).generate_state(1)[0]
    )


def _evaluate(
    targets: Targets,
    evaluator: Evaluator,
    space: Space,
    z: np.ndarray,
    generation: int,
    batch: int,
    replicates: int,
) -> tuple[np.ndarray, list[dict[str, float]]]:
    """Distances (inf for failed particles) and parameter values of a batch of proposals."""
    values = [space.values(row) for row in z]
    candidates = {f"p{i:05d}": v for i, v in enumerate(values)}
    key = hashlib.sha256(json.dumps(candidates, sort_keys=True).encode()).hexdigest()[:8]
    ev = evaluator.evaluate(
        f"abc-g{generation:02d}-b{batch:03d}-{key}",
        candidates,
        replicates,
        seed=_batch_seed(targets, generation, batch),
        seeding="independent",
    )
    summ = summarise(ev.values, [m.name for m in targets.moments]).set_index("variant")
    d = np.array(
        [
            abc_distance(targets, summ.loc[name].to_dict()) if name in summ.index else np.inf
            for name in candidates
        ]
    )
    return d, values


def run_abc(
    targets: Targets,
    evaluator: Evaluator,
    budget: int,
    on_generation: Any = None,
) -> tuple[list[Generation], int]:
    """Run (or resume) ABC-SMC within ``budget`` model runs; returns the complete generations and
    the model runs used (those of an unfinished last generation included)."""
    s = targets.abc
    space = Space(targets)
    n, r = s.population, s.replicates
    gens: list[Generation] = []
    used = 0
    z = space.sample_prior(n, _rng(targets, 0, 0))
    if n * r > budget:
        return gens, used
    d, values = _evaluate(targets, evaluator, space, z, 0, 0, r)
    used += n * r
    ok = np.isfinite(d)
    if not ok.any():
        raise RuntimeError("every run of the first ABC generation failed; see the runs")
    w0 = np.where(ok, 1.0, 0.0) / ok.sum()  # failed particles get no weight
    gens.append(Generation(0, z, w0, d, float("inf"), n, n * r, values))
    if on_generation:
        on_generation(gens[-1])
    for g in range(1, s.max_generations):
        prev = gens[-1]
        finite = np.isfinite(prev.distances)
        eps = weighted_quantile(prev.distances[finite], prev.weights[finite], s.quantile)
        cov = _kernel_cov(prev, space)
        rate = max(prev.acceptance if g > 1 else s.quantile, 0.05)
        acc_z: list[np.ndarray] = []
        acc_d: list[float] = []
        acc_v: list[dict[str, float]] = []
        proposed = runs = batch = 0
        while len(acc_z) < n:
            size = min(math.ceil((n - len(acc_z)) / rate), MAX_BATCH_FACTOR * n)
            if used + runs + size * r > budget:
                # a batch runs whole or not at all: its proposals and result store then do not
                # depend on the budget, and a resume with a larger one finds every run it made (a
                # batch cut to the budget was a different store, so it ran again in full)
                break
            zb = _propose(prev, cov, space, size, _rng(targets, g, batch))
            db, vb = _evaluate(targets, evaluator, space, zb, g, batch, r)
            proposed += size
            runs += size * r
            batch += 1
            for i in np.flatnonzero(db <= eps):
                if len(acc_z) < n:
                    acc_z.append(zb[i])
                    acc_d.append(float(db[i]))
                    acc_v.append(vb[i])
        used += runs
        if len(acc_z) < n:
            if proposed == 0:
                log.info("generation %d not started: the budget is spent", g)
            else:
                log.info(
                    "generation %d incomplete: the budget ran out with %d of %d particles accepted "
                    "(%d proposed)", g, len(acc_z), n, proposed,
                )  # fmt: skip
            log.info("the posterior is generation %d", g - 1)
            break
        zg = np.array(acc_z)
        gens.append(
            Generation(
                g, zg, _weights(zg, prev, cov, space), np.array(acc_d), eps, proposed, runs, acc_v
            )
        )
        if on_generation:
            on_generation(gens[-1])
        if gens[-1].acceptance < s.min_acceptance:
            log.info("acceptance %.3f below %.3f: stopping", gens[-1].acceptance, s.min_acceptance)
            break
    return gens, used


def posterior_table(targets: Targets, gen: Generation) -> pd.DataFrame:
    """Per parameter: posterior median (the estimate), mean, sd and 95% interval (weighted, of the
    values that ran), the bounds and prior, and how much the data narrowed the prior."""
    rows = []
    for name, p in targets.parameters.items():
        x = np.array([v[name] for v in gen.values])
        w = gen.weights
        mean = float(np.sum(w * x))
        sd = float(math.sqrt(max(np.sum(w * (x - mean) ** 2), 0.0)))
        lo, med, hi = (weighted_quantile(x, w, q) for q in (0.025, 0.5, 0.975))
        if p.log:  # the share of the prior's range in the space it is sampled on
            width = math.log(hi / lo) / math.log(p.bounds[1] / p.bounds[0])
        else:
            width = (hi - lo) / (p.bounds[1] - p.bounds[0])
        rows.append(
            {
                "parameter": name,
                "estimate": med,
                "posterior_mean": mean,
                "se": sd,
                "ci_low": lo,
                "ci_high": hi,
                "lower_bound": p.bounds[0],
                "upper_bound": p.bounds[1],
                "prior": p.prior,
                "interval_share_of_range": width,
                "identification": "informed" if width < 0.5 else "weak",
            }
        )
    return pd.DataFrame(rows)


def generations_table(gens: list[Generation]) -> pd.DataFrame:
    """Tolerance, proposals, acceptance rate and effective sample size by generation."""
    return pd.DataFrame(
        [
            {
                "generation": g.number,
                "epsilon": g.epsilon,
                "proposed": g.proposed,
                "accepted": len(g.z),
                "acceptance_rate": g.acceptance,
                "ess": g.ess,
                "model_runs": g.runs,
                "median_distance": float(np.median(g.distances[np.isfinite(g.distances)]))
                if np.isfinite(g.distances).any()
                else float("nan"),
            }
            for g in gens
        ]
    )


def particles_frame(targets: Targets, gens: list[Generation]) -> pd.DataFrame:
    """Every accepted particle of every generation: generation, weight, distance, parameter values."""
    rows = []
    for g in gens:
        for i, v in enumerate(g.values):
            rows.append(
                {"generation": g.number, "particle": i, "weight": float(g.weights[i]),
                 "distance": float(g.distances[i]), **v}
            )  # fmt: skip
    return pd.DataFrame(rows)
