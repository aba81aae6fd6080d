"""Exit (DESIGN 3.2 step 11): firms with equity below a threshold or K consecutive losses leave.

Equity threshold in units of the sector fixed cost.  The caller kills the rows (FirmTable.kill), which
drops the supplier links pointing at them; their buyers re-source in the same step.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from agglomeration._jit import kernel
from agglomeration.errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    from agglomeration.firms import FirmTable


@kernel
def _exiting(
    rows: np.ndarray,
    sector: np.ndarray,
    equity: np.ndarray,
    losses: np.ndarray,
    fixed_cost: np.ndarray,
    equity_threshold: float,
    max_losses: int,
) -> tuple[np.ndarray, int]:
    """(rows that exit, in the order of ``rows``; status 0, or -1 if an index is out of range).

    One pass: equity_i < threshold f_s or losses_i >= max_losses.
    """
    out = np.empty(len(rows), dtype=np.int64)
    c = 0
    n = min(len(sector), len(equity), len(losses))
    n_sectors = len(fixed_cost)
    for j in range(len(rows)):
        i = rows[j]
        if i < 0 or i >= n:
            return out[:0].copy(), -1
        s = sector[i]
        if s < 0 or s >= n_sectors:
            return out[:0].copy(), -1
        if equity[i] < equity_threshold * fixed_cost[s] or losses[i] >= max_losses:
            out[c] = i
            c += 1
    return out[:c].copy(), 0


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
    gone, status = _exiting(
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
