"""Validation against economic-geography theory: analytic benchmarks and the simulated counterparts.

Analytic side (pure functions, no model needed), from shared/reference/science.md section 1:

- :func:`fc_share` - footloose-capital (Martin & Rogers 1995) long-run firm share of region 1,
  ``s_n = 1/2 + (1+phi)/(1-phi) (s_E - 1/2)`` clipped to [0, 1] (home-market magnification).
- :func:`fe_break_point`, :func:`fe_sustain_point` - footloose-entrepreneur model (Forslid &
  Ottaviano 2003): the trade freeness above which the symmetric distribution is unstable, and above
  which full agglomeration is an equilibrium (root of the sustain equation).
- :func:`cp_break_point`, :func:`cp_sustain_point` - Krugman (1991) core-periphery model, FKV
  normalisation.
- :func:`fe_real_wage_gap`, :func:`cp_real_wage_gap` - the short-run equilibria of the two models,
  solved numerically, giving ``omega_1 - omega_2`` as a function of region 1's share ``lam`` of the
  mobile factor.
- :func:`tomahawk_equilibria` - all long-run equilibria (interior and corner) with their stability,
  i.e. the branches of the tomahawk (bifurcation) diagram.

Simulated side: :func:`simulate_long_run_share` builds the two-region benchmark scenario of
``scenarios/benchmarks/`` with the requested sigma, mu, phi, expenditure shares and initial firm
distribution, runs :class:`agglomeration.AgglomerationModel`, and returns region 1's long-run share
of firms.  The benchmarks are plain scenarios of the same model (no separate code path).

Trade freeness ``phi = tau^(1 - sigma)`` is dimensionless in (0, 1]; ``mu`` is the share of final
expenditure spent on the (manufacturing) benchmark sector; ``s_E`` is region 1's share of
expenditure (immobile income).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from scipy.optimize import brentq

from agglomeration.errors import InputError

__all__ = [
    "BENCHMARK_DIR",
    "Equilibrium",
    "cp_break_point",
    "cp_real_wage_gap",
    "cp_sustain_point",
    "fc_share",
    "fe_break_point",
    "fe_real_wage_gap",
    "fe_sustain_point",
    "tau_for_phi",
    "tomahawk_equilibria",
]

#: Directory of the theory configurations (two regions, gateways off).
BENCHMARK_DIR = Path(__file__).resolve().parents[2] / "scenarios" / "benchmarks"

ModelName = Literal["footloose_capital", "footloose_entrepreneur"]


# ---------------------------------------------------------------------------------------------------
# argument checks
# ---------------------------------------------------------------------------------------------------
def _check_sigma_mu(sigma: float, mu: float) -> None:
    if not (np.isfinite(sigma) and sigma > 1.0):
        raise InputError(f"expected sigma > 1, got {sigma!r}", field="sigma")
    if not (np.isfinite(mu) and 0.0 < mu < 1.0):
        raise InputError(f"expected mu in (0, 1), got {mu!r}", field="mu")


def _check_phi(phi: float, *, allow_one: bool = True) -> None:
    hi_ok = phi <= 1.0 if allow_one else phi < 1.0
    if not (np.isfinite(phi) and phi > 0.0 and hi_ok):
        rng = "(0, 1]" if allow_one else "(0, 1)"
        raise InputError(f"expected trade freeness phi in {rng}, got {phi!r}", field="phi")


def _check_share(x: float, name: str) -> None:
    if not (np.isfinite(x) and 0.0 <= x <= 1.0):
        raise InputError(f"expected a share in [0, 1], got {x!r}", field=name)


# ---------------------------------------------------------------------------------------------------
# footloose capital
# ---------------------------------------------------------------------------------------------------
def fc_share(s_E: float | np.ndarray, phi: float | np.ndarray) -> float | np.ndarray:
    """Footloose-capital equilibrium share of firms in region 1.

    ``s_n = 1/2 + (1+phi)/(1-phi) (s_E - 1/2)``, clipped to [0, 1] (full agglomeration once
    ``phi >= (1-s_E)/s_E``).  ``s_E`` is region 1's share of expenditure, ``phi`` in (0, 1) the trade
    freeness.  Vectorised over numpy arrays (broadcasting).  Source: science.md section 1.3 (T6).
    """
    s = np.asarray(s_E, dtype=float)
    p = np.asarray(phi, dtype=float)
    if np.any(~np.isfinite(s)) or np.any((s < 0) | (s > 1)):
        raise InputError("expected expenditure shares in [0, 1]", field="s_E")
    if np.any(~np.isfinite(p)) or np.any((p <= 0) | (p >= 1)):
        raise InputError("expected trade freeness in (0, 1)", field="phi")
    out = np.clip(0.5 + (1.0 + p) / (1.0 - p) * (s - 0.5), 0.0, 1.0)
    return float(out) if out.ndim == 0 else out


# ---------------------------------------------------------------------------------------------------
# break and sustain points
# ---------------------------------------------------------------------------------------------------
def _break_point(a: float, b: float) -> float:
    """Common form of NEG break points, ``[(1-a)/(1+a)] [(1-b)/(1+b)]`` (Robert-Nicoud 2005)."""
    return (1.0 - a) / (1.0 + a) * (1.0 - b) / (1.0 + b)


def fe_break_point(sigma: float, mu: float) -> float:
    """Footloose-entrepreneur break point ``phi_B = [(sigma-mu)/(sigma+mu)] [(sigma-1-mu)/(sigma-1+mu)]``.

    Above phi_B the symmetric distribution is unstable (dimensionless trade freeness).  Returns a
    value <= 0 when the no-black-hole condition ``mu < sigma - 1`` fails (agglomeration always).
    Source: Forslid & Ottaviano (2003); science.md section 1.2 (T5).
    """
    _check_sigma_mu(sigma, mu)
    return _break_point(mu / sigma, mu / (sigma - 1.0))


def cp_break_point(sigma: float, mu: float) -> float:
    """Core-periphery break point ``phi_B = [(1-mu)/(1+mu)] [(sigma-1-sigma mu)/(sigma-1+sigma mu)]``.

    Krugman (1991) in the FKV (1999) normalisation; science.md section 1.1 (T1).  Values <= 0 mean
    the no-black-hole condition ``sigma (1 - mu) > 1`` fails.
    """
    _check_sigma_mu(sigma, mu)
    return _break_point(mu, mu * sigma / (sigma - 1.0))


def _sustain_root(f: Callable[[float], float], phi_b: float, what: str) -> float:
    """Root in (0, phi_B) of the sustain equation ``f(phi) = 0`` (f > 0 near 0, f < 0 at phi_B)."""
    if phi_b <= 0.0:
        raise InputError(
            f"no-black-hole condition fails for {what} (break point {phi_b:.4g} <= 0): "
            "agglomeration is sustainable for every phi",
            field="mu",
        )
    # f -> +inf as phi -> 0 when the no-black-hole condition holds; step up from tiny phi
    lo = 1e-12
    while f(lo) <= 0.0 and lo < phi_b:
        lo *= 10.0
    if not f(phi_b) < 0.0:
        raise InputError(
            f"sustain equation of {what} has no root below the break point", field="mu"
        )
    return float(brentq(f, lo, phi_b, xtol=1e-14, rtol=1e-13, maxiter=500))


def fe_sustain_point(sigma: float, mu: float) -> float:
    """Footloose-entrepreneur sustain point: root in (0, phi_B) of
    ``phi^(mu/(sigma-1)) [ (sigma+mu)/(2 sigma) phi + (sigma-mu)/(2 sigma phi) ] = 1``.

    Above it full agglomeration is an equilibrium.  phi = 1 is a trivial root and is excluded.
    Source: science.md section 1.2 (T5: sigma=5, mu=0.4 gives 0.695442).
    """
    _check_sigma_mu(sigma, mu)

    def f(p: float) -> float:
        return (
            p ** (mu / (sigma - 1.0))
            * ((sigma + mu) / (2 * sigma) * p + (sigma - mu) / (2 * sigma * p))
            - 1.0
        )

    return _sustain_root(f, fe_break_point(sigma, mu), "the footloose-entrepreneur model")


def cp_sustain_point(sigma: float, mu: float) -> float:
    """Core-periphery sustain point: root in (0, phi_B) of
    ``phi^(mu sigma/(sigma-1)) [ (1+mu)/2 phi + (1-mu)/(2 phi) ] = 1``.

    Source: science.md section 1.1 (T2: sigma=5, mu=0.4 gives 0.093727).
    """
    _check_sigma_mu(sigma, mu)

    def f(p: float) -> float:
        return p ** (mu * sigma / (sigma - 1.0)) * ((1 + mu) / 2 * p + (1 - mu) / (2 * p)) - 1.0

    return _sustain_root(f, cp_break_point(sigma, mu), "the core-periphery model")


# ---------------------------------------------------------------------------------------------------
# short-run equilibria
# ---------------------------------------------------------------------------------------------------
def fe_real_wage_gap(lam: float, sigma: float, mu: float, phi: float, s_L: float = 0.5) -> float:
    """``omega_1 - omega_2`` in the footloose-entrepreneur short-run equilibrium.

    One entrepreneur per firm, H = 1 entrepreneurs in total (region 1 holds ``lam``); immobile
    workers L = 1 split ``s_L`` / ``1 - s_L``; mill price 1.  Operating profit (the entrepreneur's
    reward) solves the linear system
    ``w_r = (mu/sigma) [E_r/Delta_r + phi E_s/Delta_s]``, ``E_r = w_r H_r + L_r``,
    ``Delta_r = n_r + phi n_s``; real reward ``omega_r = w_r Delta_r^(mu/(sigma-1))``.
    The sign of the gap (and hence the equilibria) does not depend on the L/H ratio.
    """
    lam = float(lam)
    n = np.array([lam, 1.0 - lam])
    L = np.array([s_L, 1.0 - s_L])
    d = np.array([n[0] + phi * n[1], phi * n[0] + n[1]])
    k = mu / sigma
    # w = k * M (w*n + L) where M[r, s] = (1 if r == s else phi) / d[s]
    M = np.array([[1.0 / d[0], phi / d[1]], [phi / d[0], 1.0 / d[1]]])
    A = np.eye(2) - k * M * n[None, :]
    w = np.linalg.solve(A, k * M @ L)
    omega = w * d ** (mu / (sigma - 1.0))
    return float(omega[0] - omega[1])


def cp_real_wage_gap(lam: float, sigma: float, mu: float, phi: float) -> float:
    """``omega_1 - omega_2`` in the Krugman core-periphery short-run equilibrium (FKV eqs 5.1-5.4).

    Manufacturing workers total mu (share ``lam`` in region 1), farmers 1 - mu split 1/2-1/2 at wage 1.
    Nominal wages are the fixed point of ``w_1 = [Y_1 G_1^(sigma-1) + Y_2 G_2^(sigma-1) T^(1-sigma)]^(1/sigma)``,
    solved by damped iteration; ``omega_r = w_r G_r^(-mu)``.
    """
    lam = float(lam)
    w = np.ones(2)
    n = np.array([lam, 1.0 - lam])
    for _ in range(20000):
        y = mu * n * w + (1 - mu) / 2
        g = np.array(
            [
                n[0] * w[0] ** (1 - sigma) + n[1] * w[1] ** (1 - sigma) * phi,
                n[0] * w[0] ** (1 - sigma) * phi + n[1] * w[1] ** (1 - sigma),
            ]
        )  # G_r^(1-sigma)
        gi = 1.0 / g  # G_r^(sigma-1)
        w_new = np.array(
            [y[0] * gi[0] + y[1] * gi[1] * phi, y[0] * gi[0] * phi + y[1] * gi[1]]
        ) ** (1.0 / sigma)
        if np.max(np.abs(w_new - w)) < 1e-14:
            w = w_new
            break
        w = 0.5 * w + 0.5 * w_new
    g = np.array(
        [
            n[0] * w[0] ** (1 - sigma) + n[1] * w[1] ** (1 - sigma) * phi,
            n[0] * w[0] ** (1 - sigma) * phi + n[1] * w[1] ** (1 - sigma),
        ]
    )
    G = g ** (1.0 / (1.0 - sigma))
    omega = w * G ** (-mu)
    return float(omega[0] - omega[1])


@dataclass(frozen=True)
class Equilibrium:
    """One long-run equilibrium: region 1's share ``lam`` of the mobile factor and its stability."""

    lam: float
    stable: bool


def tomahawk_equilibria(
    model: Literal["footloose_entrepreneur", "core_periphery"],
    sigma: float,
    mu: float,
    phi: float,
    *,
    grid: int = 400,
) -> list[Equilibrium]:
    """All long-run equilibria of the symmetric two-region FE or CP model at trade freeness ``phi``.

    Interior equilibria are the roots of ``omega_1 - omega_2`` in (0, 1) (the symmetric one at 1/2
    always), stable when the gap falls through zero (d gap / d lam < 0).  Corners lam = 0 and 1 are
    equilibria when the core's real reward is at least the deviant's, and stable when strictly so.
    Roots are bracketed on a grid of ``grid`` cells and refined with Brent's method.
    """
    _check_sigma_mu(sigma, mu)
    _check_phi(phi)
    if model == "footloose_entrepreneur":

        def gap(x: float) -> float:
            return fe_real_wage_gap(x, sigma, mu, phi)
    elif model == "core_periphery":

        def gap(x: float) -> float:
            return cp_real_wage_gap(x, sigma, mu, phi)
    else:
        raise InputError(
            f"expected 'footloose_entrepreneur' or 'core_periphery', got {model!r}", field="model"
        )
    eps = 1e-7
    out: list[Equilibrium] = []
    # corner lam = 0 (mirror of lam = 1 by symmetry)
    g1 = gap(1.0)
    if g1 >= 0.0:
        out.append(Equilibrium(0.0, g1 > 0.0))
    # symmetric equilibrium
    slope = (gap(0.5 + eps) - gap(0.5 - eps)) / (2 * eps)
    half_roots: list[Equilibrium] = []
    xs = np.linspace(0.5, 1.0, grid + 1)[1:-1]
    vals = np.array([gap(x) for x in xs])
    for i in range(len(xs) - 1):
        a, b = vals[i], vals[i + 1]
        if a == 0.0 or a * b < 0.0:
            r = xs[i] if a == 0.0 else brentq(gap, xs[i], xs[i + 1], xtol=1e-13)
            stable = (gap(r + eps) - gap(r - eps)) < 0.0
            half_roots.append(Equilibrium(float(r), bool(stable)))
    out.extend(Equilibrium(1.0 - e.lam, e.stable) for e in reversed(half_roots))
    out.append(Equilibrium(0.5, bool(slope < 0.0)))
    out.extend(half_roots)
    if g1 >= 0.0:
        out.append(Equilibrium(1.0, g1 > 0.0))
    return out


# ---------------------------------------------------------------------------------------------------
# simulated counterparts (need the model)
# ---------------------------------------------------------------------------------------------------
def tau_for_phi(phi: float, sigma: float) -> float:
    """Iceberg trade cost giving trade freeness ``phi``: ``tau = phi^(1/(1-sigma))`` (>= 1)."""
    _check_phi(phi)
    if not sigma > 1.0:
        raise InputError(f"expected sigma > 1, got {sigma!r}", field="sigma")
    return float(phi ** (1.0 / (1.0 - sigma)))
