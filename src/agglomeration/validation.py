"""Validation against economic-geography theory: analytic benchmarks and the simulated counterparts.

Analytic side (pure functions, no model needed); the closed forms, their sources and the reference
values the tests check are in docs/THEORY.md sections 1-6:

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

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from scipy.optimize import brentq

from agglomeration.errors import InputError

__all__ = [
    "BENCHMARK_DIR",
    "Equilibrium",
    "benchmark_overrides",
    "cp_break_point",
    "cp_real_wage_gap",
    "cp_sustain_point",
    "fc_share",
    "fe_break_point",
    "fe_real_wage_gap",
    "fe_sustain_point",
    "firm_panel",
    "labour_panel",
    "load_benchmark",
    "run_share_path",
    "simulate_long_run_share",
    "simulate_vertical_colocation",
    "simulated_break_point",
    "sorting_check",
    "stylized_facts",
    "tau_for_phi",
    "tomahawk_equilibria",
    "wage_productivity",
    "wage_shock_response",
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
    freeness.  Vectorised over numpy arrays (broadcasting).  Source: Martin & Rogers (1995), J.
    International Economics 39(3-4):335-351; Baldwin et al. (2003) ch. 3; docs/THEORY.md section 4
    (T6: s_E=0.6, phi=0.5 gives 0.8).
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
    Source: Forslid & Ottaviano (2003), J. Economic Geography 3(3):229-240; docs/THEORY.md
    section 3 (T5: sigma=5, mu=0.4 gives 23/33).
    """
    _check_sigma_mu(sigma, mu)
    return _break_point(mu / sigma, mu / (sigma - 1.0))


def cp_break_point(sigma: float, mu: float) -> float:
    """Core-periphery break point ``phi_B = [(1-mu)/(1+mu)] [(sigma-1-sigma mu)/(sigma-1+sigma mu)]``.

    Krugman (1991), J. Political Economy 99(3):483-499, in the normalisation of Fujita, Krugman &
    Venables (1999) ch. 5; docs/THEORY.md section 2 (T1: sigma=5, mu=0.4 gives 1/7).  Values <= 0
    mean the no-black-hole condition ``sigma (1 - mu) > 1`` fails.
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
    Source: Forslid & Ottaviano (2003); docs/THEORY.md section 3 (T5: sigma=5, mu=0.4 gives
    0.695442).
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

    Source: Krugman (1991); Fujita, Krugman & Venables (1999) ch. 5; docs/THEORY.md section 2 (T2:
    sigma=5, mu=0.4 gives 0.093727).
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
    Nominal wages solve ``w_1 = [Y_1 G_1^(sigma-1) + Y_2 G_2^(sigma-1) T^(1-sigma)]^(1/sigma)`` (and
    symmetrically), with ``Y_r = mu lam_r w_r + (1-mu)/2`` and
    ``G_1^(1-sigma) = lam w_1^(1-sigma) + (1-lam)(w_2 T)^(1-sigma)``; solved for log wages with
    :func:`scipy.optimize.fsolve`.  Real wages ``omega_r = w_r G_r^(-mu)``.
    """
    from scipy.optimize import fsolve

    n = np.array([float(lam), 1.0 - float(lam)])
    trade = np.array([[1.0, phi], [phi, 1.0]])

    def parts(logw: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        w = np.exp(logw)
        g = trade @ (n * w ** (1.0 - sigma))  # G_r^(1-sigma)
        y = mu * n * w + (1.0 - mu) / 2.0
        return w, g, y

    def resid(logw: np.ndarray) -> np.ndarray:
        _, g, y = parts(logw)
        rhs = trade @ (y / g)  # sum_s Y_s G_s^(sigma-1) phi_rs
        return sigma * logw - np.log(rhs)

    logw, _info, _ier, msg = fsolve(resid, np.zeros(2), xtol=1e-12, full_output=True)
    if (
        np.max(np.abs(resid(logw))) > 1e-9
    ):  # ier != 1 alone only means "slow progress" at machine precision
        raise ArithmeticError(
            f"core-periphery wage equations not solved at lam={lam}, phi={phi}: {msg}"
        )
    w, g, _ = parts(logw)
    omega = w * g ** (mu / (sigma - 1.0))  # G^(-mu) = (G^(1-sigma))^(mu/(sigma-1))
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


#: benchmark scenario file of each theory model
_BENCHMARK_FILE = {
    "footloose_capital": "footloose_capital.toml",
    "footloose_entrepreneur": "footloose_entrepreneur.toml",
}


def benchmark_overrides(
    sigma: float, mu: float, phi: float, s_E: float = 0.5, sector: str = "M"
) -> dict[str, Any]:
    """Scenario overrides that give a two-region benchmark the textbook parameters.

    ``sigma`` -> the sector's CES elasticity; ``mu`` -> its final-expenditure share; ``phi`` -> its
    ``distance_elasticity`` = ln(tau) (the benchmark regions are D = e D0 km apart on a great circle and
    freight is free, so geography.py's ``tau = (1 + freight) (D / D0)^distance_elasticity`` is exactly
    ``e^distance_elasticity`` and ``phi = tau^(1-sigma)``); ``s_E`` -> immobile incomes R1 : R2 =
    s_E : 1 - s_E (total 200 CNY m per step).
    """
    _check_sigma_mu(sigma, mu)
    _check_phi(phi)
    _check_share(s_E, "s_E")
    tau = tau_for_phi(phi, sigma)
    return {
        f"sectors.overrides.{sector}.sigma": float(sigma),
        f"sectors.overrides.{sector}.final_share": float(mu),
        f"sectors.overrides.{sector}.distance_elasticity": math.log(tau),
        "regions.overrides.R1.immobile_income": 200.0 * s_E,
        "regions.overrides.R2.immobile_income": 200.0 * (1.0 - s_E),
    }


def _initial_firms_csv(directory: Path, sectors: Sequence[str], share: float) -> Path:
    """Write an initial-firms weight table (R1 share ``share``, R2 the rest) for every sector."""
    path = directory / "initial_firms.csv"
    head = ",".join(["region_id", *sectors, "provenance"])
    r1 = ",".join(["R1", *([repr(float(share))] * len(sectors)), "estimate: validation helper"])
    r2 = ",".join(["R2", *([repr(1.0 - share)] * len(sectors)), "estimate: validation helper"])
    path.write_text(f"{head}\n{r1}\n{r2}\n", encoding="utf-8")
    return path


def load_benchmark(
    name: str,
    overrides: dict[str, Any] | None = None,
    *,
    initial_share: float | None = None,
) -> Any:
    """Load ``scenarios/benchmarks/<name>.toml`` with ``overrides``; optionally region 1's initial share.

    The initial firm distribution is a data table (``regions.initial_firms_file``); for a given
    ``initial_share`` a temporary copy is written and loaded (a Scenario holds the resolved data, so the
    file is not needed afterwards).
    """
    import tempfile

    from agglomeration.scenario import load_scenario

    path = BENCHMARK_DIR / (name if name.endswith(".toml") else f"{name}.toml")
    if not path.exists():
        raise InputError(f"no benchmark scenario {path.name!r} in {BENCHMARK_DIR}", field="model")
    ov = dict(overrides or {})
    if initial_share is None:
        return load_scenario(path, ov)
    _check_share(initial_share, "initial_share")
    base = load_scenario(path, ov)
    with tempfile.TemporaryDirectory(prefix="agglo_bench_") as tmp:
        csv = _initial_firms_csv(Path(tmp), base.sector_ids, initial_share)
        return load_scenario(path, {**ov, "regions.initial_firms_file": str(csv)})


def run_share_path(scenario: Any, steps: int, replicate_seed: int | None = 0) -> np.ndarray:
    """Run ``AgglomerationModel(scenario)`` for ``steps`` steps; region 1's firm share after each step.

    Element 0 is the initial share (after the random initial placement); shape (steps + 1,).
    """
    from agglomeration.model import AgglomerationModel

    model = AgglomerationModel(scenario, replicate_seed=replicate_seed)
    out = np.empty(int(steps) + 1)

    def share() -> float:
        t = model.firms
        rows = t.alive_rows()
        return float(np.mean(t.region[rows] == 0)) if len(rows) else float("nan")

    out[0] = share()
    for k in range(1, int(steps) + 1):
        model.step()
        out[k] = share()
    return out


def simulate_long_run_share(
    model: ModelName,
    sigma: float,
    mu: float,
    phi: float,
    s_E: float = 0.5,
    initial_share: float = 0.5,
    firms: int = 400,
    steps: int = 300,
    replicate_seed: int | None = 0,
    *,
    relocation_probability: float | None = None,
    average_last: float = 0.2,
    overrides: dict[str, Any] | None = None,
) -> float:
    """Region 1's long-run share of firms in a two-region theory benchmark run by the full model.

    ``model`` is ``"footloose_capital"`` (profits spent by immobile owners, nominal-profit relocation)
    or ``"footloose_entrepreneur"`` (profits spent where the firm is, real-profit relocation).
    ``sigma`` (> 1), ``mu`` (final expenditure share of the sector), ``phi`` (trade freeness in
    (0, 1]), ``s_E`` (region 1's share of immobile income), ``initial_share`` (region 1's expected
    initial share of the ``firms`` firms; the placement is a multinomial draw), ``steps`` (model steps)
    and ``replicate_seed`` define the run.  The long-run share is the mean over the last
    ``average_last`` fraction of the steps (discrete relocation makes the share jitter by about
    ``relocation_probability / 2`` around an interior equilibrium).  ``overrides`` are further scenario
    overrides (dotted paths).
    """
    if model not in _BENCHMARK_FILE:
        raise InputError(f"expected one of {sorted(_BENCHMARK_FILE)}, got {model!r}", field="model")
    if not (isinstance(firms, (int, np.integer)) and firms >= 2):
        raise InputError(f"expected an integer number of firms >= 2, got {firms!r}", field="firms")
    if not (isinstance(steps, (int, np.integer)) and steps >= 1):
        raise InputError(f"expected an integer number of steps >= 1, got {steps!r}", field="steps")
    if not 0.0 < average_last <= 1.0:
        raise InputError(
            f"expected average_last in (0, 1], got {average_last!r}", field="average_last"
        )
    ov = benchmark_overrides(sigma, mu, phi, s_E)
    ov["firms.initial_count"] = int(firms)
    ov["steps"] = int(steps)
    if relocation_probability is not None:
        ov["behaviour.relocation.probability"] = float(relocation_probability)
    ov.update(overrides or {})
    scen = load_benchmark(_BENCHMARK_FILE[model], ov, initial_share=initial_share)
    path = run_share_path(scen, int(steps), replicate_seed)
    k = max(1, round(average_last * steps))
    return float(np.mean(path[-k:]))


def simulated_break_point(
    sigma: float,
    mu: float,
    *,
    lo: float | None = None,
    hi: float | None = None,
    tol: float = 0.0025,
    initial_share: float = 0.55,
    firms: int = 200,
    steps: int = 200,
    replicate_seed: int | None = 0,
    threshold: float = 0.9,
    overrides: dict[str, Any] | None = None,
) -> tuple[float, list[tuple[float, float]]]:
    """The trade freeness above which a near-symmetric start of the FE benchmark ends agglomerated.

    Bisection on phi in [lo, hi] (default phi_B -/+ 0.08): a run "agglomerates" when region 1's
    long-run share is at least ``threshold`` or at most ``1 - threshold``.  Returns the midpoint of the
    final bracket (width <= ``tol``) and every (phi, long-run share) evaluated, in order.
    """
    pb = fe_break_point(sigma, mu)
    lo = max(1e-3, pb - 0.08) if lo is None else lo
    hi = min(0.999, pb + 0.08) if hi is None else hi
    seen: list[tuple[float, float]] = []

    def agglomerates(phi: float) -> bool:
        x = simulate_long_run_share(
            "footloose_entrepreneur",
            sigma,
            mu,
            phi,
            initial_share=initial_share,
            firms=firms,
            steps=steps,
            replicate_seed=replicate_seed,
            overrides=overrides,
        )
        seen.append((phi, x))
        return max(x, 1.0 - x) >= threshold

    if agglomerates(lo) or not agglomerates(hi):
        raise InputError(
            f"the simulated break point is not bracketed by [{lo:.4f}, {hi:.4f}] "
            f"(long-run shares {[round(v, 3) for _, v in seen]})",
            field="phi",
        )
    while hi - lo > tol:
        mid = 0.5 * (lo + hi)
        if agglomerates(mid):
            hi = mid
        else:
            lo = mid
    return 0.5 * (lo + hi), seen


def simulate_vertical_colocation(
    phi: float,
    sigma: float = 5.0,
    initial_share: float = 0.6,
    firms: int = 200,
    steps: int = 200,
    replicate_seed: int | None = 0,
    *,
    average_last: float = 0.2,
    overrides: dict[str, Any] | None = None,
) -> dict[str, float]:
    """Run the vertical-linkages benchmark at trade freeness ``phi`` (both sectors, elasticity ``sigma``).

    Returns region 1's long-run share of upstream (``s_U``) and downstream (``s_D``) firms (means over
    the last ``average_last`` of the steps), and their co-location: the Ellison-Glaeser-Kerr
    coagglomeration index ``gamma_c = sum_r (s_rU - x_r)(s_rD - x_r) / (1 - sum_r x_r^2)`` against the
    expenditure shares x = (1/2, 1/2), i.e. ``4 (s_U - 1/2)(s_D - 1/2)`` (1 = both sectors in the same
    region, 0 = independent or dispersed).
    """
    from agglomeration.model import AgglomerationModel

    tau = tau_for_phi(phi, sigma)
    ov: dict[str, Any] = {}
    for sec in ("U", "D"):
        ov[f"sectors.overrides.{sec}.sigma"] = float(sigma)
        ov[f"sectors.overrides.{sec}.distance_elasticity"] = math.log(tau)
    ov["firms.initial_count"] = int(firms)
    ov["steps"] = int(steps)
    ov.update(overrides or {})
    scen = load_benchmark("vertical_linkages", ov, initial_share=initial_share)
    model = AgglomerationModel(scen, replicate_seed=replicate_seed)
    k = max(1, round(average_last * steps))
    acc = np.zeros(2)
    for step in range(1, int(steps) + 1):
        model.step()
        if step > steps - k:
            t = model.firms
            rows = t.alive_rows()
            in1 = t.region[rows] == 0
            sec = t.sector[rows]
            acc += [np.mean(in1[sec == 0]), np.mean(in1[sec == 1])]
    s_u, s_d = acc / k
    return {
        "s_U": float(s_u),
        "s_D": float(s_d),
        "coagglomeration": float(4 * (s_u - 0.5) * (s_d - 0.5)),
    }


# ---------------------------------------------------------------------------------------------------
# policy evidence: spatial selection and sorting (Baldwin & Okubo 2006)
# ---------------------------------------------------------------------------------------------------
def sorting_check(
    periphery_delegation: float,
    steps: int = 120,
    replicate_seed: int | None = 0,
    *,
    entrant_age: int | None = None,
    overrides: dict[str, Any] | None = None,
) -> dict[str, float]:
    """Run ``scenarios/benchmarks/sorting.toml`` with delegation ``periphery_delegation`` in R2.

    Delegation lowers R2's one-off entry cost (``policy.delegation_entry_effect``).  Returns, for the
    firms alive after ``steps`` steps: ``core_share`` (share of firms in the core R1),
    ``mean_log_z_core`` / ``mean_log_z_periphery`` (mean log productivity), the same for firms that
    entered during the run (``age <= entrant_age``, default steps - 20: ``entrant_log_z_core`` /
    ``entrant_log_z_periphery``), ``top_decile_core_share`` (share of the 10% most productive firms
    located in the core) and ``firms``.
    """
    from agglomeration.model import AgglomerationModel

    ov = {"policy.delegation.R2": float(periphery_delegation), "steps": int(steps)}
    ov.update(overrides or {})
    scen = load_benchmark("sorting", ov)
    model = AgglomerationModel(scen, replicate_seed=replicate_seed)
    model.run(int(steps))
    t = model.firms
    rows = t.alive_rows()
    lz = t.log_productivity[rows]
    core = t.region[rows] == 0
    age = t.age[rows]
    young = age <= (steps - 20 if entrant_age is None else entrant_age)
    top = lz >= np.quantile(lz, 0.9)

    def mean(mask: np.ndarray) -> float:
        return float(lz[mask].mean()) if mask.any() else float("nan")

    return {
        "core_share": float(core.mean()),
        "mean_log_z_core": mean(core),
        "mean_log_z_periphery": mean(~core),
        "entrant_log_z_core": mean(core & young),
        "entrant_log_z_periphery": mean(~core & young),
        "top_decile_core_share": float(core[top].mean()),
        "firms": float(len(rows)),
    }


# ---------------------------------------------------------------------------------------------------
# stylised facts of firm dynamics on a scenario (docs/THEORY.md section 9)
# ---------------------------------------------------------------------------------------------------
def firm_panel(
    scenario: Any,
    steps: int,
    every: int,
    replicate_seed: int | None = 0,
    burn_in: int = 0,
    counts: list[int] | None = None,
) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """Snapshots ``(step, firm ids, employment)`` of the live firms every ``every`` steps after ``burn_in``.

    Employment is in workers (the firm-size measure of Axtell 2001).  If ``counts`` is a list, the number
    of live firms at steps 0, 1, ..., ``steps`` is appended to it (for the stationarity check of the
    calibration).
    """
    from agglomeration.model import AgglomerationModel

    model = AgglomerationModel(scenario, replicate_seed=replicate_seed)
    out: list[tuple[int, np.ndarray, np.ndarray]] = []
    if counts is not None:
        counts.append(int(model.firms.n_alive))
    for step in range(1, int(steps) + 1):
        model.step()
        if counts is not None:
            counts.append(int(model.firms.n_alive))
        if step >= burn_in and (step - burn_in) % every == 0:
            t = model.firms
            rows = t.alive_rows()
            out.append((step, t.fid[rows].copy(), t.employment[rows].copy()))
    return out


def region_shares(model: Any) -> np.ndarray:
    """(R,) the live firms' shares by region [share of firms]."""
    t = model.firms
    rows = t.alive_rows()
    return np.bincount(t.region[rows], minlength=model.world.n_regions) / max(len(rows), 1)


def drift_noise(
    shares: np.ndarray, firms: int, entries: int, exits: int, draws: int = 2000, seed: int = 0
) -> tuple[float, float, float]:
    """The total variation a stationary distribution of ``firms`` firms over regions with ``shares``
    shows from turnover alone: ``exits`` firms leave at random and ``entries`` entrants choose regions
    with probabilities ``shares`` (multinomial).  Returns the mean and the 5 % and 95 % quantiles over
    ``draws`` simulations [share of firms]: the sampling noise of a drift measurement
    (:func:`spatial_drift`)."""
    rng = np.random.default_rng(seed)
    p = np.asarray(shares, dtype=float) / np.sum(shares)
    counts = np.round(p * firms).astype(np.int64)
    if counts.sum() == 0:
        return float("nan"), float("nan"), float("nan")  # no firms: no distribution to move
    exits = min(int(exits), int(counts.sum()))
    tv = np.empty(draws)
    for k in range(draws):
        left = counts - rng.multivariate_hypergeometric(counts, exits)
        after = left + rng.multinomial(int(entries), p)
        tv[k] = total_variation(counts / counts.sum(), after / after.sum())
    return float(tv.mean()), float(np.quantile(tv, 0.05)), float(np.quantile(tv, 0.95))


def total_variation(a: np.ndarray, b: np.ndarray) -> float:
    """Half the L1 distance of two distributions over the same regions: the share of firms that would
    have to change region to turn one into the other [share of firms]."""
    return 0.5 * float(np.abs(np.asarray(a) - np.asarray(b)).sum())


def cell_shares(model: Any) -> np.ndarray:
    """(R, S) the live firms' shares by region and sector [share of firms]."""
    from agglomeration.observe import region_sector

    w = model.world
    n = region_sector(model.firms, w.n_regions, w.n_sectors, None)
    return n / max(float(n.sum()), 1.0)


def drift_distances(result: dict[str, Any], seed: int) -> dict[str, float]:
    """The distances of one :func:`spatial_drift` result (total variation, share of firms): regions
    data -> start (``to_start``), start -> end (``moved``) and that move's sampling noise (``noise``,
    :func:`drift_noise` with ``seed``); the same over region x sector cells (``cells_to_start``,
    ``cells_moved``)."""
    r = result
    return {
        "to_start": total_variation(r["data"], r["start"]),
        "moved": total_variation(r["start"], r["end"]),
        "noise": drift_noise(r["start"], r["firms"][1], r["entries"], r["exits"], seed=seed)[0],
        "cells_to_start": total_variation(r["cells_data"], r["cells_start"]),
        "cells_moved": total_variation(r["cells_start"], r["cells_end"]),
    }


def spatial_drift(scenario: Any, steps: int, replicate_seed: int | None = 0) -> dict[str, Any]:
    """How far the distribution of firms over regions moves once the burn-in has settled it.

    Three distributions of the live firms over regions (:func:`region_shares`): the data's (the same
    scenario and seed built without burn-in: the initial firms), the start of the observed run (after
    the burn-in) and ``steps`` observed steps later; the same over region x sector cells
    (:func:`cell_shares`, keys ``cells_*``); the firm counts at each; the burn-in's location shifters
    (``location_shift``, (R, S) log points).  A stationary start moves by about the sampling noise of
    entry and exit (docs/ODD.md section 8)."""
    from agglomeration.model import AgglomerationModel

    data = AgglomerationModel(scenario, replicate_seed=replicate_seed, burn_in=0)
    m = AgglomerationModel(scenario, replicate_seed=replicate_seed)
    start, cells_start, n_start = region_shares(m), cell_shares(m), m.firms.n_alive
    shift = np.asarray(m.state.location_shift, dtype=float).copy()
    m.run(int(steps))
    return {  # the run's cumulative counts (complete whatever output.series_every is)
        "entries": int(m.state.entries_by_region.sum()),
        "exits": int(m.state.exits_by_region.sum()),
        "regions": [str(r) for r in m.world.region_ids],
        "data": region_shares(data),
        "start": start,
        "end": region_shares(m),
        "cells_data": cell_shares(data),
        "cells_start": cells_start,
        "cells_end": cell_shares(m),
        "firms": (int(data.firms.n_alive), int(n_start), int(m.firms.n_alive)),
        "location_shift": shift,
    }


def drift_windows(
    scenario: Any, n_windows: int, window_steps: int, replicate_seed: int | None = 0
) -> dict[str, Any]:
    """The firms' distribution over regions at the start of the observed run and after each of
    ``n_windows`` consecutive windows of ``window_steps`` steps, with each window's entries and exits.

    Why: a start is a transient of the set-up when the first window moves the firms between regions
    more than later windows do.  Later windows measure the model's own churn between regions, which
    exceeds the sampling noise of entry and exit (:func:`drift_noise`) whenever entrants choose regions
    by profits that move; comparing the first window with them (:func:`window_moves`) separates the
    start's transient from that churn.  Keys: ``regions``; ``window`` (``window_steps``) [steps];
    ``shares`` (n_windows + 1, R) [share of firms]; ``firms`` (n_windows + 1,); ``entries``,
    ``exits`` (n_windows,) [firms per window]."""
    from agglomeration.model import AgglomerationModel

    if n_windows < 1 or window_steps < 1:
        raise ValueError(
            f"n_windows and window_steps must be at least 1, got {n_windows} and {window_steps}"
        )
    m = AgglomerationModel(scenario, replicate_seed=replicate_seed)
    shares, firms, entries, exits = [region_shares(m)], [int(m.firms.n_alive)], [], []
    done_in, done_out = int(m.state.entries_by_region.sum()), int(m.state.exits_by_region.sum())
    for _ in range(int(n_windows)):
        m.run(int(window_steps))
        shares.append(region_shares(m))
        firms.append(int(m.firms.n_alive))
        now_in, now_out = int(m.state.entries_by_region.sum()), int(m.state.exits_by_region.sum())
        entries.append(now_in - done_in)
        exits.append(now_out - done_out)
        done_in, done_out = now_in, now_out
    return {
        "regions": [str(r) for r in m.world.region_ids],
        "window": int(window_steps),
        "shares": np.array(shares),
        "firms": np.array(firms),
        "entries": np.array(entries),
        "exits": np.array(exits),
    }


def window_moves(result: dict[str, Any], seed: int, draws: int = 2000) -> dict[str, np.ndarray]:
    """Per window of one :func:`drift_windows` result: the share of firms that changed region
    (``moved``, total variation between the window's first and last distribution) and the sampling
    noise of that window's entry and exit (``noise``, :func:`drift_noise` with ``seed``) [share of
    firms]."""
    s = result["shares"]
    moved = np.array([total_variation(s[k], s[k + 1]) for k in range(len(s) - 1)])
    noise = np.array(
        [
            drift_noise(s[k], result["firms"][k], result["entries"][k], result["exits"][k],
                        draws=draws, seed=seed)[0]
            for k in range(len(s) - 1)
        ]
    )  # fmt: skip
    return {"moved": moved, "noise": noise}


def start_transient(moves: list[np.ndarray], reference_from: int = 2) -> tuple[float, float]:
    """The first window's move in excess of the mean move of the reference windows (those from index
    ``reference_from`` on: the second window is left out by default, as a transient may last into it),
    mean and standard error over seeds [share of firms].  Each array is one seed's
    :func:`window_moves` ``moved``.  About 0 for a start drawn from the model's stationary state; a
    lower bound on the transient otherwise (total variation does not add up: a transient orthogonal
    to the churn raises the first window's move by less than its own size)."""
    m = np.asarray(moves, dtype=float)
    if m.ndim != 2 or m.shape[0] < 2 or m.shape[1] <= max(int(reference_from), 1):
        raise ValueError(
            f"need at least two seeds and more than {max(int(reference_from), 1)} windows, "
            f"got shape {m.shape}"
        )
    excess = m[:, 0] - m[:, max(int(reference_from), 1) :].mean(axis=1)
    return float(excess.mean()), float(excess.std(ddof=1) / np.sqrt(len(excess)))


def window_summary(
    results: list[tuple[int, dict[str, Any]]], reference_from: int = 2
) -> dict[str, Any]:
    """Over seeds, per window of :func:`drift_windows` results ``(seed, result)``: the mean move
    (``moved``), its standard error (``moved_se``), the mean sampling noise (``noise``), the move of the
    seeds' mean distribution (``common``) and what seeds moving independently would show of it
    (``independent``, mean move / sqrt(seeds)) [share of firms, arrays over windows]; the first window's
    mean move and noise (``first``, ``first_noise``), the reference windows' (from ``reference_from`` on;
    ``later``, ``later_noise``), and the transient (``excess``, ``excess_se``,
    :func:`start_transient`; NaN with too few windows).  The seeds are taken in order."""
    ordered = sorted(results, key=lambda x: x[0])
    if len(ordered) < 2:
        raise ValueError(f"need the windows of at least two seeds, got {len(ordered)}")
    w = [window_moves(r, seed) for seed, r in ordered]
    moved = np.array([x["moved"] for x in w])
    noise = np.array([x["noise"] for x in w])
    shares = np.array([r["shares"] for _, r in ordered])  # seeds x (windows + 1) x regions
    pairs = [(shares[:, k], shares[:, k + 1]) for k in range(moved.shape[1])]
    n = len(ordered)
    ref = max(int(reference_from), 1)
    enough = moved.shape[1] > ref
    excess, excess_se = start_transient(list(moved), ref) if enough else (np.nan, np.nan)
    return {
        "window": int(ordered[0][1]["window"]),
        "moved": moved.mean(axis=0),
        "moved_se": moved.std(axis=0, ddof=1) / np.sqrt(n),
        "noise": noise.mean(axis=0),
        "common": np.array([total_variation(a.mean(axis=0), b.mean(axis=0)) for a, b in pairs]),
        "independent": moved.mean(axis=0) / np.sqrt(n),
        "first": float(moved[:, 0].mean()),
        "first_noise": float(noise[:, 0].mean()),
        "later": float(moved[:, ref:].mean()) if enough else np.nan,
        "later_noise": float(noise[:, ref:].mean()) if enough else np.nan,
        "excess": excess,
        "excess_se": excess_se,
    }


def stylized_facts(panel: list[tuple[int, np.ndarray, np.ndarray]]) -> dict[str, Any]:
    """Stylised facts from one replicate's annual panel (consecutive snapshots one year apart).

    Uses :mod:`agglomeration.metrics.stylized`: the upper-tail exponent of the last snapshot's
    employment (MLE with KS-chosen x_min, and Gabaix-Ibragimov rank-1/2 at the same x_min, each with
    its standard error), the growth-rate fit pooled over all consecutive years (Laplace vs normal
    log-likelihood, excess kurtosis, size-variance slope beta, Gibrat slope), and mean annual entry
    and exit rates.
    """
    from agglomeration.metrics import stylized as st

    _, _, last = panel[-1]
    sizes = last[last > 0]
    mle = st.tail_exponent(sizes, method="mle")
    gi = st.tail_exponent(sizes, method="rank-1/2", xmin=mle.xmin)
    s0_all, s1_all, entry, exit_ = [], [], [], []
    for (_, id0, e0), (_, id1, e1) in itertools.pairwise(panel):
        _, i0, i1 = np.intersect1d(id0, id1, return_indices=True)
        s0_all.append(e0[i0])
        s1_all.append(e1[i1])
        ee = st.entry_exit_rates(id0, id1)
        entry.append(ee.entry_rate)
        exit_.append(ee.exit_rate)
    g = st.growth_rate_fit(np.concatenate(s0_all), np.concatenate(s1_all))
    return {
        "firms": len(sizes),
        "alpha_mle": mle.alpha,
        "alpha_mle_se": mle.se,
        "xmin": mle.xmin,
        "n_tail": mle.n_tail,
        "alpha_rank_half": gi.alpha,
        "alpha_rank_half_se": gi.se,
        "growth_n": g.n,
        "loglik_laplace": g.loglik_laplace,
        "loglik_normal": g.loglik_normal,
        "laplace_preferred": g.laplace_preferred,
        "excess_kurtosis": g.excess_kurtosis,
        "beta": g.beta,
        "gibrat_slope": g.gibrat_slope,
        "growth_sd": g.sd,
        "entry_rate": float(np.mean(entry)),
        "exit_rate": float(np.mean(exit_)),
    }


# ---------------------------------------------------------------------------------------------------
# wages, prices and productivity (behaviour/growth.py, behaviour/factor_prices.py)
# ---------------------------------------------------------------------------------------------------
def labour_panel(scenario: Any, steps: int, every: int, replicate_seed: int | None = 0) -> Any:
    """Region x time panel of :func:`agglomeration.observe.labour_accounts` every ``every`` steps
    (step 0 included), with a column ``step``, plus the economy-wide CPI and PPI as columns
    ``cpi_all`` and ``ppi_all`` (first observation = 1)."""
    import pandas as pd

    from agglomeration import observe
    from agglomeration.model import AgglomerationModel

    model = AgglomerationModel(scenario, replicate_seed=replicate_seed)
    frames = []
    for step in range(int(steps) + 1):
        if step:
            model.step()
        if step % every == 0:
            tab = observe.labour_accounts(model.state, model.world)
            row = observe.series_row(model.state, model.world, model.counters)
            frames.append(tab.assign(step=step, cpi_all=row["cpi"], ppi_all=row["ppi"]))
    return pd.concat(frames, ignore_index=True)


def _slope(y: np.ndarray, x: np.ndarray) -> float:
    x = x - x.mean()
    y = y - y.mean()
    return float((x * y).sum() / (x * x).sum()) if (x * x).sum() > 0 else float("nan")


def wage_productivity(panel: Any, steps_per_year: int = 4) -> dict[str, float]:
    """How wages track productivity in a :func:`labour_panel` (one replicate).

    Aggregate (first to last observation, annualised log growth [1/year]): ``wage`` (employment-weighted
    nominal wage), ``real_wage`` (deflated by the regions' CPI), ``labour_productivity`` (nominal value
    added per worker), ``real_labour_productivity`` (at the producer prices of the first observation),
    ``cpi``, ``ppi``, ``tfp`` (regions' mean log productivity of the firms, weighted by employment;
    log points per year), and ``real_wage_to_productivity`` = real wage growth / real
    labour-productivity growth.

    Regional panel (consecutive observations, region x period, period effects removed, regions with
    employment at both ends): ``elasticity_wage_lp`` = OLS slope of d log wage_r on d log (nominal value
    added per worker)_r; ``elasticity_wage_tfp`` = slope of d log wage_r on d (mean log productivity of
    the region's firms); firm entry and exit make the latter a noisy measure of regional TFP, see
    :func:`wage_shock_response` for the causal response.
    """
    p = panel.sort_values(["region", "step"]).copy()
    years = (p["step"].max() - p["step"].min()) / steps_per_year
    first, last = p["step"].min(), p["step"].max()

    def agg(step: int) -> dict[str, float]:
        q = p[p["step"] == step]
        emp = q["employment"].to_numpy()
        tot = emp.sum()
        return {
            "wage": float((q["wage"] * emp).sum() / tot),
            "real_wage": float((q["real_wage"] * emp).sum() / tot),
            "labour_productivity": float(q["value_added"].sum() / tot),
            "real_labour_productivity": float(q["value_added"].sum() / tot / q["ppi_all"].iloc[0]),
            "cpi": float(q["cpi_all"].iloc[0]),
            "ppi": float(q["ppi_all"].iloc[0]),
            "tfp": float((q["mean_log_productivity"].fillna(0.0) * emp).sum() / tot),
        }

    a, b = agg(first), agg(last)
    out = {k: (b[k] - a[k] if k == "tfp" else np.log(b[k] / a[k])) / years for k in a}
    out["real_wage_to_productivity"] = out["real_wage"] / out["real_labour_productivity"]
    g = p.groupby("region")
    p["dlw"] = g["wage"].transform(lambda s: np.log(s).diff())
    p["dllp"] = g["labour_productivity"].transform(lambda s: np.log(s).diff())
    p["dlz"] = g["mean_log_productivity"].diff()
    d = p.dropna(subset=["dlw", "dllp", "dlz"])
    d = d[np.isfinite(d[["dlw", "dllp", "dlz"]]).all(axis=1)].copy()
    for c in ("dlw", "dllp", "dlz"):
        d[c] = d[c] - d.groupby("step")[c].transform("mean")
    out["elasticity_wage_lp"] = _slope(d["dlw"].to_numpy(), d["dllp"].to_numpy())
    out["elasticity_wage_tfp"] = _slope(d["dlw"].to_numpy(), d["dlz"].to_numpy())
    out["panel_n"] = float(len(d))
    return out


def wage_shock_response(
    scenario: Any, region: str, shock: float, steps: int, seeds: Sequence[int]
) -> np.ndarray:
    """d log wage of ``region`` after ``steps`` steps of a permanent log-TFP shock ``shock`` to every
    sector there (the productivity shifter theta_rs), against the same seed without it (common random
    numbers), one value per seed; divide by ``shock`` for the elasticity."""
    from agglomeration.model import AgglomerationModel

    out = []
    for seed in seeds:
        logs = []
        for dz in (0.0, shock):
            m = AgglomerationModel(scenario, replicate_seed=seed)
            r = list(m.world.region_ids).index(region)
            m.state.local_tfp[r, :] += dz
            m.run(int(steps))
            logs.append(float(np.log(m.state.wage[r])))
        out.append(logs[1] - logs[0])
    return np.array(out)
