"""Exit (DESIGN 3.2 step 11): firms with equity below a threshold or K consecutive losses leave.

Equity threshold in units of the sector fixed cost.  The caller kills the rows (FirmTable.kill), which
drops the supplier links pointing at them; their buyers re-source in the same step.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from agglomeration.behaviour import _exit_kernels as _k
from agglomeration.errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    from agglomeration.firms import FirmTable


def exiting_rows(
    table: FirmTable,
    rows: np.ndarray,
    fixed_cost: np.ndarray,
    *,
    equity_threshold: float,
    max_losses: int,
) -> np.ndarray:
    """Rows (subset of ``rows``, same order, int64) that exit this step (one compiled pass)."""
    rows = np.asarray(rows)
    if rows.dtype.kind not in "iu":
        raise InputError(f"rows must be integers, got dtype {rows.dtype}", field="rows")
    gone, status = _k.exiting(
        rows,
        table.sector,
        table.equity,
        table.losses,
        np.asarray(fixed_cost, dtype=float),
        float(equity_threshold),
        int(max_losses),
    )
    if status != 0:
        raise InputError("a row or sector index is out of range", field="rows")
    return gone
