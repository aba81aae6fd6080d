"""Exit (DESIGN 3.2 step 11): firms with equity below a threshold or K consecutive losses leave.

Equity threshold in units of the sector fixed cost.  The caller kills the rows (FirmTable.kill), which
drops the supplier links pointing at them; their buyers re-source in the same step.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

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
    """Rows (subset of ``rows``) that exit this step."""
    s = table.sector[rows]
    bad = (table.equity[rows] < equity_threshold * fixed_cost[s]) | (
        table.losses[rows] >= max_losses
    )
    return rows[bad]
