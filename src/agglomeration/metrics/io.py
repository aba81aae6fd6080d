"""Input-output (Leontief) quantities of a technical-coefficients matrix.

Convention (docs/ARCHITECTURE.md, Miller & Blair 2009): ``A[i, j]`` is the input from sector i per
unit of sector j's output (a cost share when measured in value).  Final demand and gross output are
in the same money unit (CNY m per step in the model).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from agglomeration.errors import InputError
from agglomeration.metrics._checks import as_array

__all__ = ["leontief_inverse", "output_multipliers", "rasmussen_linkages", "total_requirements"]


def _coefficients(A: Any) -> np.ndarray:
    a = as_array(A, "A", ndim=2, nonneg=True, allow_empty=False)
    if a.shape[0] != a.shape[1]:
        raise InputError(
            f"expected a square sectors x sectors matrix, got shape {a.shape}", field="A"
        )
    rho = float(np.max(np.abs(np.linalg.eigvals(a))))
    if rho >= 1.0:
        raise InputError(
            f"spectral radius of A is {rho:.4g} >= 1: the economy is not productive "
            "(Hawkins-Simon condition fails, (I - A) has no non-negative inverse)",
            field="A",
        )
    return a


def leontief_inverse(A: Any) -> np.ndarray:
    """Leontief inverse (total requirements matrix) ``L = (I - A)^{-1}``.

    ``L[i, j]`` = output of sector i needed, directly and indirectly, per unit of final demand for
    sector j (unit-free).  Source: Leontief (1936); Miller & Blair (2009) ch. 2.  Requires A >= 0
    with spectral radius < 1 (Hawkins-Simon), which guarantees L >= 0; otherwise InputError.
    """
    a = _coefficients(A)
    return np.linalg.solve(np.eye(a.shape[0]) - a, np.eye(a.shape[0]))


def total_requirements(A: Any, final_demand: Any) -> np.ndarray:
    """Gross output ``x = (I - A)^{-1} f`` needed to deliver final demand ``f``.

    ``final_demand``: (S,) or (S, k) (k scenarios), money units; returns the same shape and unit.
    Source: Miller & Blair (2009) eq. 2.11.
    """
    a = _coefficients(A)
    f = as_array(final_demand, "final_demand", ndim=(1, 2))
    if f.shape[0] != a.shape[0]:
        raise InputError(
            f"expected {a.shape[0]} sectors (rows), got shape {f.shape}", field="final_demand"
        )
    return np.linalg.solve(np.eye(a.shape[0]) - a, f)


def output_multipliers(A: Any) -> np.ndarray:
    """Simple output multipliers ``m_j = sum_i L_ij`` (column sums of L; Miller & Blair 6.2)."""
    return leontief_inverse(A).sum(axis=0)


def rasmussen_linkages(A: Any) -> tuple[np.ndarray, np.ndarray]:
    """Rasmussen (1956) normalised backward and forward linkages.

    ``BL_j = (sum_i L_ij / n) / (sum_ij L_ij / n^2)`` (column sums), ``FL_i`` the same with row sums.
    Values > 1 mark key sectors.  Returns ``(BL, FL)``.
    """
    L = leontief_inverse(A)
    n = L.shape[0]
    mean = L.sum() / n**2
    return L.sum(axis=0) / n / mean, L.sum(axis=1) / n / mean
