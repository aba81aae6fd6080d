"""Global spatial autocorrelation (Moran's I) of a regional variable, with esda-compatible inference.

Definitions match PySAL ``esda.Moran`` (v2.9.0; Moran 1950, Biometrika 37) so results can be
compared with GeoDa/PySAL studies; the permutation test draws from a seeded numpy Generator instead
of the global ``np.random`` state.  Worked example (T11): docs/METRICS.md, "Worked examples".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from agglomeration.errors import InputError
from agglomeration.metrics._checks import as_array

__all__ = ["MoranResult", "morans_i"]

_DEFAULT_SEED = 20240601


@dataclass(frozen=True)
class MoranResult:
    """Moran's I and its inference (attribute names as in ``esda.Moran``).

    I: statistic; EI = -1/(n-1); VI_norm, seI_norm, z_norm, p_norm: normality assumption;
    VI_rand, seI_rand, z_rand, p_rand: randomisation assumption (NaN for n < 4); sim: the permuted
    I values; p_sim: pseudo p-value (larger + 1)/(permutations + 1) on the folded side; EI_sim,
    seI_sim, z_sim: moments of ``sim`` (NaN when permutations = 0).  p_norm and p_rand are
    one-sided in the direction of z and doubled when ``two_tailed``.
    """

    I: float  # noqa: E741 (esda's attribute name)
    EI: float
    VI_norm: float
    seI_norm: float
    z_norm: float
    p_norm: float
    VI_rand: float
    seI_rand: float
    z_rand: float
    p_rand: float
    p_sim: float
    EI_sim: float
    seI_sim: float
    z_sim: float
    n: int
    permutations: int
    sim: np.ndarray = field(repr=False)


def _p_tail(z: float, two_tailed: bool) -> float:
    if not np.isfinite(z):
        return np.nan
    from scipy import stats  # here, not at import: scipy.stats costs ~0.4 s at start-up

    p = stats.norm.sf(z) if z > 0 else stats.norm.cdf(z)
    return float(2 * p if two_tailed else p)


def morans_i(
    values: Any,
    weights: Any,
    permutations: int = 999,
    rng: np.random.Generator | np.random.SeedSequence | int | None = None,
    row_standardise: bool = True,
    two_tailed: bool = True,
) -> MoranResult:
    """Global Moran's I of ``values`` over the spatial weights matrix ``weights``.

    ::

        I = (n / S0) sum_ij w_ij z_i z_j / sum_i z_i^2,   z = y - mean(y),  S0 = sum_ij w_ij
        E[I] = -1 / (n - 1)
        Var_N(I) = (n^2 S1 - n S2 + 3 S0^2) / ((n^2 - 1) S0^2) - E[I]^2
            S1 = 1/2 sum_ij (w_ij + w_ji)^2,  S2 = sum_i (w_i. + w_.i)^2
        Var_R(I) = [n((n^2 - 3n + 3) S1 - n S2 + 3 S0^2) - k((n^2 - n) S1 - 2n S2 + 6 S0^2)]
                   / ((n-1)(n-2)(n-3) S0^2) - E[I]^2,    k = n sum z^4 / (sum z^2)^2

    Source: Moran (1950); Cliff & Ord (1981); implementation conventions of PySAL esda.Moran 2.9.0
    (``transformation='r'`` = ``row_standardise=True``, ``'b'`` = binary/raw weights).

    Parameters
    ----------
    values: (n,) variable per region (any unit; I is unit-free).
    weights: (n, n) non-negative spatial weights (e.g. contiguity 0/1 or inverse distance).  Rows
        of all zeros (islands) stay zero under row standardisation, as in libpysal.
    permutations: number of random permutations of ``values`` for p_sim (0 disables).
    rng: numpy Generator, SeedSequence or int seed; None uses a fixed default seed so results are
        reproducible.
    row_standardise: divide each row of ``weights`` by its sum (esda default).
    two_tailed: double the normal-approximation p-values (esda default).

    Constant ``values`` make I undefined: every statistic is NaN.
    """
    y = as_array(values, "values", ndim=1)
    w = as_array(weights, "weights", ndim=2, nonneg=True)
    n = y.size
    if n < 2:
        raise InputError(f"Moran's I needs at least 2 regions, got {n}", field="values")
    if w.shape != (n, n):
        raise InputError(
            f"expected an ({n}, {n}) matrix matching values, got {w.shape}", field="weights"
        )
    if not isinstance(permutations, int | np.integer) or permutations < 0:
        raise InputError(f"expected an integer >= 0, got {permutations!r}", field="permutations")
    if row_standardise:
        rs = w.sum(axis=1, keepdims=True)
        w = np.divide(w, rs, out=np.zeros_like(w), where=rs > 0)
    s0 = w.sum()
    if s0 <= 0:
        raise InputError("weights are all zero: no region has a neighbour", field="weights")
    if isinstance(rng, np.random.Generator):
        gen = rng
    else:
        gen = np.random.default_rng(
            rng if rng is not None else np.random.SeedSequence(_DEFAULT_SEED)
        )

    z = y - y.mean()
    zz = float(z @ z)
    ei = -1.0 / (n - 1)
    s1 = 0.5 * float(np.sum((w + w.T) ** 2))
    s2 = float(np.sum((w.sum(axis=1) + w.sum(axis=0)) ** 2))
    s02 = s0 * s0
    vi_norm = (n * n * s1 - n * s2 + 3 * s02) / ((n * n - 1) * s02) - ei**2
    if zz <= 0:
        nan = np.nan
        return MoranResult(
            nan,
            ei,
            vi_norm,
            np.sqrt(vi_norm),
            nan,
            nan,
            nan,
            nan,
            nan,
            nan,
            nan,
            nan,
            nan,
            nan,
            n,
            int(permutations),
            np.empty(0),
        )
    I = float(n / s0 * (z @ w @ z) / zz)  # noqa: E741
    se_norm = float(np.sqrt(vi_norm))
    z_norm = (I - ei) / se_norm
    if n >= 4:
        k = n * float(np.sum(z**4)) / zz**2
        num = n * ((n * n - 3 * n + 3) * s1 - n * s2 + 3 * s02) - k * (
            (n * n - n) * s1 - 2 * n * s2 + 6 * s02
        )
        vi_rand = num / ((n - 1) * (n - 2) * (n - 3) * s02) - ei**2
        se_rand = float(np.sqrt(vi_rand)) if vi_rand > 0 else np.nan
        z_rand = (I - ei) / se_rand if np.isfinite(se_rand) else np.nan
    else:
        vi_rand = se_rand = z_rand = np.nan

    if permutations > 0:
        # Vectorised permutations in chunks: each row is one permutation of z.
        sims = []
        chunk = max(1, int(2_000_000 // max(n * n, 1)))
        done = 0
        while done < permutations:
            m = min(chunk, permutations - done)
            zp = gen.permuted(np.broadcast_to(z, (m, n)), axis=1)
            sims.append(n / s0 * np.einsum("pi,ij,pj->p", zp, w, zp) / zz)
            done += m
        sim = np.concatenate(sims)
        larger = int(np.sum(sim >= I))
        if permutations - larger < larger:
            larger = permutations - larger
        p_sim = (larger + 1.0) / (permutations + 1.0)
        ei_sim = float(sim.mean())
        se_sim = float(sim.std(ddof=1)) if permutations > 1 else np.nan
        z_sim = (I - ei_sim) / se_sim if se_sim and np.isfinite(se_sim) else np.nan
    else:
        sim = np.empty(0)
        p_sim = ei_sim = se_sim = z_sim = np.nan

    return MoranResult(
        I=I,
        EI=ei,
        VI_norm=float(vi_norm),
        seI_norm=se_norm,
        z_norm=float(z_norm),
        p_norm=_p_tail(z_norm, two_tailed),
        VI_rand=float(vi_rand),
        seI_rand=float(se_rand),
        z_rand=float(z_rand),
        p_rand=_p_tail(z_rand, two_tailed),
        p_sim=float(p_sim),
        EI_sim=float(ei_sim),
        seI_sim=float(se_sim),
        z_sim=float(z_sim),
        n=n,
        permutations=int(permutations),
        sim=sim,
    )
