"""Productivity dynamics (submodel ``learning``): drift, localisation and Jacobs spillovers, mean reversion
toward the technology frontier, and size-dependent Gibrat noise.

For a live firm i of sector s in region r, log productivity changes each step by

    d log z_i = drift + lambda_MAR log(1 + L_rs / Lbar_s) + lambda_J D_r
                - rho (log z_i - F_t) + sd_i eps_i,                        eps_i ~ N(0, 1)
    sd_i      = sd * clip(S_i / Sbar_s, 1/100, 1) ** (-beta)

L_rs is employment of sector s in region r, Lbar_s its mean over regions with the sector (so the
localisation term is 0 without same-sector neighbours and grows with the cluster's relative size);
D_r = 1 - sum_s (L_rs / L_r)^2 is the local sectoral diversity (Gini-Simpson index, in [0, 1)).

Mean reversion (rho = ``behaviour.learning.mean_reversion``, 1/step): firms are pulled toward the
technology frontier F_t = ``firms.productivity_mean`` + drift t, which carries the common drift (t counts
from initialisation, burn-in included).  Equivalently each firm reverts to its local frontier F_t +
A_rs, A_rs = (lambda_MAR log(1 + L_rs / Lbar_s) + lambda_J D_r) / rho (``local_advantage``), the level
the spillovers of its place sustain; entrants draw their productivity around the local frontier of the
region they enter (behaviour/entry.py), so local knowledge is a draw of a place for entrants too.
Without it, selection (low-productivity firms exit, entrants imitate the surviving incumbents) ratchets
mean log productivity up without bound and the dispersion of log z grows like sqrt(t); with it the gap
log z - F_t is a stationary AR(1) process (stationary sd ~ sd / sqrt(2 rho); level offset
spillovers / rho), the standard assumption of Hopenhayn (1992)-type industry dynamics.

Size-dependent volatility (beta = ``behaviour.learning.shock_size_elasticity``): a firm is treated as a portfolio
of imperfectly correlated sub-units, so the sd of its growth falls with its size S_i (employment,
workers) relative to the reference Sbar_s = mean employment of the live firms of its sector:
sd(g | S) ~ S^(-beta) (Stanley et al. 1996, Amaral et al. 1997, Sutton 2002, Buldyrev et al. 2007;
empirical beta ~ 0.15-0.20).  The size ratio is clipped to [1/100, 1] (``SIZE_RATIO_BOUNDS``): tiny
firms (or entrants with no employment yet) get at most 100^beta times the reference sd, and the
volatility stops falling above the sector mean, because a volatility that keeps falling in the upper
tail thins the Pareto tail of the size distribution (Gabaix 1999: zeta = -2 drift / variance); the
calibration in docs/VALIDATION.md found the upper bound 100 gives alpha ~ 2 against 1.4-1.7 with 1.
beta = 0 switches the mechanism off (every firm gets ``sd``, the pure Gibrat case).  The noise is
multiplicative in z.
Units: log points per step.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from pydantic import Field

from agglomeration import random_streams
from agglomeration.behaviour import _learning_kernels as _k
from agglomeration.errors import InputError
from agglomeration.observe import region_sector
from agglomeration.parameters import Section
from agglomeration.submodel import Submodel

if TYPE_CHECKING:  # pragma: no cover
    from agglomeration.scenario import Scenario
    from agglomeration.state import ModelState
    from agglomeration.world import World

#: bounds of the size ratio S_i / Sbar_s in the size-dependent shock sd [-]
SIZE_RATIO_BOUNDS: tuple[float, float] = (1e-2, 1.0)


def spillover_terms(emp_rs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(localisation log(1 + L_rs/Lbar_s) as (R, S), diversity D_r as (R,)) from employment (R, S)."""
    present = emp_rs > 0
    n_present = np.maximum(present.sum(axis=0), 1)
    lbar = emp_rs.sum(axis=0) / n_present
    loc = np.log1p(np.divide(emp_rs, lbar, out=np.zeros_like(emp_rs), where=lbar > 0))
    tot = emp_rs.sum(axis=1)
    sh = np.divide(emp_rs, tot[:, None], out=np.zeros_like(emp_rs), where=tot[:, None] > 0)
    div = np.where(tot > 0, 1.0 - (sh**2).sum(axis=1), 0.0)
    return loc, div


def shock_scale(size: np.ndarray, sector: np.ndarray, elasticity: float) -> np.ndarray:
    """Multiplier of the shock sd per firm: clip(S_i / Sbar_s, *SIZE_RATIO_BOUNDS) ** (-elasticity) [-].

    ``size`` (workers) and ``sector`` are per firm (same length); Sbar_s is the mean size of the firms
    given of sector s (by ``np.bincount``).  Returns ones when ``elasticity`` is 0 or no firm has a
    positive size.
    """
    size = np.asarray(size, dtype=float)
    if elasticity == 0.0 or len(size) == 0:
        return np.ones(len(size))
    n_s = np.bincount(sector, minlength=int(sector.max()) + 1)
    sum_s = np.bincount(sector, weights=np.maximum(size, 0.0), minlength=len(n_s))
    ref = sum_s / np.maximum(n_s, 1)
    ref_i = ref[sector]
    ratio = np.divide(size, ref_i, out=np.ones(len(size)), where=ref_i > 0)
    lo, hi = SIZE_RATIO_BOUNDS
    return np.clip(ratio, lo, hi) ** (-elasticity)


def learn(
    log_z: np.ndarray,
    rows: np.ndarray,
    sector: np.ndarray,
    region: np.ndarray,
    emp_rs: np.ndarray,
    rng: np.random.Generator,
    *,
    drift: float,
    localisation: float,
    jacobs: float,
    shock_sd: float,
    size: np.ndarray | None = None,
    shock_size_elasticity: float = 0.0,
    mean_reversion: float = 0.0,
    frontier: float | np.ndarray = 0.0,
    shocks: np.ndarray | None = None,
) -> float:
    """Update ``log_z[rows]`` in place (see the module docstring for the law of motion); return the
    largest updated log productivity [log points] (-inf without rows).

    ``size`` is the employment of every firm row (indexed like ``log_z``; only ``size[rows]`` is used);
    it is needed only when ``shock_size_elasticity`` > 0.  ``frontier`` is F_t in log points (a scalar
    or one value per sector), used only when ``mean_reversion`` > 0.  The random draws are the same
    whatever the two mechanisms' settings, so switching them off reproduces the pure Gibrat case.
    ``shocks``: the standard normal shock of every row, given (random_streams.normals by firm id);
    default: drawn from ``rng``, one per row in order.

    Cost O(len(rows)): one ``standard_normal`` draw per row, two compiled passes for the size ratios,
    numpy's pow, and one compiled pass for the update (``rows`` distinct, e.g. ``alive_rows()``).  An
    out-of-range row, sector or region index raises ValueError (rows before it may be updated).
    """
    rows = np.asarray(rows)
    if rows.dtype.kind not in "iu":
        raise ValueError(f"rows must be integers, got dtype {rows.dtype}")
    loc, div = spillover_terms(np.asarray(emp_rs, dtype=float))
    n_sectors = loc.shape[1]
    f = np.asarray(frontier, dtype=float)
    if f.ndim == 0:
        f = np.full(n_sectors, float(f))
    elif f.shape != (n_sectors,):
        raise ValueError(
            f"frontier must be a scalar or one value per sector ({n_sectors}), got shape {f.shape}"
        )
    eps = np.empty(0)
    scale = np.empty(0)
    if shock_sd > 0:
        eps = rng.standard_normal(len(rows)) if shocks is None else np.asarray(shocks, float)
        if len(eps) != len(rows):
            raise ValueError(f"shocks must have one value per row ({len(rows)}), got {len(eps)}")
        if shock_size_elasticity != 0.0 and len(rows):
            if size is None:
                raise ValueError("size is required when shock_size_elasticity != 0")
            lo, hi = SIZE_RATIO_BOUNDS
            scale = _k.clipped_size_ratio(
                rows, sector, np.asarray(size, dtype=float), n_sectors, float(lo), float(hi)
            )
            if len(scale) != len(rows):
                raise ValueError("a row or sector index is out of range")
            np.power(scale, -shock_size_elasticity, out=scale)  # numpy's vectorised pow
    status, top = _k.learn_step(
        log_z,
        rows,
        sector,
        region,
        loc,
        div,
        eps,
        scale,
        f,
        float(drift),
        float(localisation),
        float(jacobs),
        float(shock_sd),
        float(mean_reversion),
    )
    if status != 0:
        raise ValueError("a row, sector or region index is out of range")
    return float(top)


# ------------------------------------------------------------------------------------------- submodel
class LearningParams(Section):
    """``[behaviour.learning]``: productivity dynamics (see the module docstring)."""

    enabled: bool = Field(
        True,
        description="productivity evolves (drift, spillovers, shocks)",
        json_schema_extra={"source": "switch"},
    )
    drift: float = Field(
        0.0075,
        ge=-0.1,
        le=0.1,
        description="common log productivity growth (the technology frontier's) [log points/step]",
        json_schema_extra={
            "source": "real labour-productivity growth of ~6 %/year (NBS overall labour productivity "
            "+8.7 % 2021, +4.2 % 2022, +5.7 % 2023, R; manufacturing at least as fast) times the mean "
            "labour + land cost share of the manufacturing sectors (0.525): labour productivity grows "
            "at drift / (labour + land share) in the model; 0.3 %/quarter (2.3 %/year of labour "
            "productivity) and 1 %/quarter (7.6 %/year) bound the range"
        },
    )
    localisation_spillover: float = Field(
        0.0004,
        ge=0.0,
        le=1.0,
        description="MAR spillover: elasticity of growth to same-sector employment share [1/step]; "
        "with mean reversion rho the local frontier lies spillover / rho x log(1 + L_rs / Lbar_s) "
        "above the technology frontier",
        json_schema_extra={
            "source": "set so the steady-state elasticity of productivity to local same-sector "
            "employment, spillover / mean_reversion, is 0.04: the 0.02-0.05 elasticity of "
            "productivity to density net of sorting (Combes and Gobillon 2015, Handbook of Regional "
            "and Urban Economics 5); range 0.0002-0.0005"
        },
    )
    jacobs_spillover: float = Field(
        0.0002,
        ge=0.0,
        le=1.0,
        description="Jacobs spillover: elasticity of growth to local sector diversity (Gini-Simpson, "
        "0-1) [1/step]",
        json_schema_extra={
            "source": "estimate: the most diverse region's local frontier 0.02 log points higher "
            "(spillover / mean_reversion), half the localisation effect; evidence on diversity "
            "effects is mixed (Combes and Gobillon 2015); range 0-0.0005"
        },
    )
    shock_sd: float = Field(
        0.05,
        ge=0.0,
        le=2.0,
        description="sd of the idiosyncratic (Gibrat) log productivity shock of a firm of its sector's "
        "mean employment [log points/step]",
        json_schema_extra={
            "source": "0.1 a year: annual TFP innovations of 0.1-0.2 (Foster, Haltiwanger and Syverson "
            "2008; Asker, Collard-Wexler and De Loecker 2014); with mean_reversion 0.01 the stationary "
            "sd 0.35 equals firms.productivity_sigma; range 0.03-0.1"
        },
    )
    shock_size_elasticity: float = Field(
        0.0,
        ge=0.0,
        le=1.0,
        description="beta: the shock sd scales as (employment / sector mean employment)^(-beta), ratio "
        "clipped to [0.01, 1]; firms as portfolios of sub-units (Amaral et al. 1997); 0 = off [-]",
        json_schema_extra={
            "source": "estimate (range 0-0.5): 0 = size-independent firm-level shocks (Gibrat).  Growth in product lines (behaviour.lines) does not give the size-variance slope of Amaral et al. (1997) (beta about 0.02-0.03 against 0.15-0.2, docs/VALIDATION.md sections 5 and 8); 0.25 raises beta to about 0.1 but, at a 100-quarter burn-in, thins the size tail; 0.4 with lines.birth_rate 0.023 and burn_in 500 gives beta 0.20 with alpha 1.18 (MLE) / 1.28 (rank-1/2) and a settled count (docs/VALIDATION.md section 8; not the default)"
        },
    )
    mean_reversion: float = Field(
        0.01,
        ge=0.0,
        le=1.0,
        description="rho: share of the gap between log productivity and the technology frontier "
        "(firms.productivity_mean + drift x step) closed each step; 0 = off [1/step]",
        json_schema_extra={
            "source": "annual persistence of log TFP (1 - rho)^4 = 0.96, in the 0.8-0.97 range of "
            "plant-level estimates (Foster, Haltiwanger and Syverson 2008; Asker et al. 2014); "
            "range 0.005-0.05"
        },
    )


def frontier(state: ModelState, scenario: Scenario) -> float:
    """F: the technology frontier [log points]: ``firms.productivity_mean`` plus the common drift since
    initialisation (burn-in included); entrants draw their productivity around it."""
    p = scenario.behaviour.learning
    drift = p.drift if p.enabled else 0.0
    return float(scenario.firms.productivity_mean + drift * state.clock)


#: farthest a local frontier or a firm's log productivity may lie above the technology frontier [log
#: points]: far beyond it the CES terms p^(1 - sigma) of the price indices and revenues span more than
#: double precision holds (a local frontier ~78 log points up ended in a division by zero); the
#: baseline's firms stay within ~3, and shock_sd = 2 (its bound) reaches ~33 in 40 quarters and ~38 in
#: 160 at 3,000 firms, so a random walk that wide can end here in long or large runs
MAX_ADVANTAGE = 50.0


def _check_advantage(excess: float, scenario: Scenario, what: str) -> None:
    """:class:`InputError` naming ``behaviour.learning`` when ``excess`` [log points above the technology
    frontier] is beyond :data:`MAX_ADVANTAGE` (explosive spillovers or shocks)."""
    if not excess > MAX_ADVANTAGE:  # also passes NaN on to the checks that name it
        return
    p = scenario.behaviour.learning
    raise InputError(
        f"productivity explodes: {what} {excess:.3g} log points above the technology frontier (more "
        f"than {MAX_ADVANTAGE:g}); spillovers localisation_spillover {p.localisation_spillover:g} + "
        f"jacobs_spillover {p.jacobs_spillover:g} against mean_reversion {p.mean_reversion:g} (their "
        f"ratio is the long-run elasticity of productivity to local employment, 0.02-0.05 in the "
        f"evidence), shock_sd {p.shock_sd:g}",
        field="behaviour.learning",
    )


def local_advantage(state: ModelState, world: World, scenario: Scenario) -> np.ndarray:
    """(R, S) how far the local frontier lies above the technology frontier [log points]: the level the
    spillovers sustain against mean reversion, (lambda_MAR log(1 + L_rs / Lbar_s) + lambda_J D_r) / rho
    (module docstring), at current employment.  Incumbents revert toward F + this; entrants start from
    it (local knowledge is a public good of the place: Marshall 1890, Duranton and Puga 2004).  Zeros
    without learning or mean reversion."""
    p = scenario.behaviour.learning
    R, S = world.n_regions, world.n_sectors
    if not p.enabled or p.mean_reversion <= 0:
        return np.zeros((R, S))
    emp_rs = region_sector(state.firms, R, S, "employment")
    loc, div = spillover_terms(np.asarray(emp_rs, dtype=float))
    out = (p.localisation_spillover * loc + p.jacobs_spillover * div[:, None]) / p.mean_reversion
    if out.size:
        _check_advantage(float(out.max()), scenario, "a local frontier lies")
    return out


def step(state: ModelState, world: World, scenario: Scenario, rng: np.random.Generator) -> None:
    """One step of productivity dynamics for the incumbents."""
    p = scenario.behaviour.learning
    if not p.enabled:
        return
    t = state.firms
    emp_rs = region_sector(t, world.n_regions, world.n_sectors, "employment")
    f = frontier(state, scenario)
    top = learn(
        t.log_productivity,
        state.incumbents,
        t.sector,
        t.region,
        emp_rs,
        rng,
        drift=p.drift,
        localisation=p.localisation_spillover,
        jacobs=p.jacobs_spillover,
        shock_sd=p.shock_sd,
        size=t.employment,
        shock_size_elasticity=p.shock_size_elasticity,
        mean_reversion=p.mean_reversion,
        frontier=f,
        shocks=(
            random_streams.normals(rng, t.fid[state.incumbents])
            if p.shock_sd > 0 and random_streams.by_purpose(scenario, state)
            else None
        ),
    )
    _check_advantage(top - f, scenario, "a firm's log productivity lies")  # -inf without incumbents


SUBMODEL = Submodel(
    name="learning",
    step=step,
    summary="productivity: drift, localisation and Jacobs spillovers, mean reversion to the frontier, "
    "size-dependent shocks",
    params=LearningParams,
    legacy={
        "learning_enabled": "enabled",
        "productivity_drift": "drift",
        "localisation_spillover": "localisation_spillover",
        "jacobs_spillover": "jacobs_spillover",
        "productivity_shock_sd": "shock_sd",
        "shock_size_elasticity": "shock_size_elasticity",
        "productivity_mean_reversion": "mean_reversion",
    },
)
