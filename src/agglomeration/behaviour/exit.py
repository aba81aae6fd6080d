"""Exit (submodel ``exit``): firms with equity below a threshold, K consecutive losses (after a start-up
grace period) or no product line left leave.

Equity threshold in units of the fixed cost of the firm's lines (f_s x lines).  The caller kills the rows (FirmTable.kill), which
drops the supplier links pointing at them; their buyers re-source in the same step.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Literal

import numpy as np
from pydantic import Field

from agglomeration import random_streams
from agglomeration.behaviour import _exit_kernels as _k
from agglomeration.parameters import Section
from agglomeration.submodel import Submodel

if TYPE_CHECKING:  # pragma: no cover
    from agglomeration.firms import FirmTable
    from agglomeration.scenario import Scenario
    from agglomeration.state import ModelState
    from agglomeration.world import World


def exiting_rows(
    table: FirmTable,
    rows: np.ndarray,
    fixed_cost: np.ndarray,
    *,
    equity_threshold: float,
    max_losses: int,
    grace: int = 0,
    hazard: np.ndarray | None = None,
    u: np.ndarray | None = None,
) -> np.ndarray:
    """Rows (subset of ``rows``, same order, int64) that exit this step (one compiled pass).

    ``hazard`` (k -> probability that a run of k consecutive losses ends the firm this step; the last
    entry holds for longer runs) with ``u`` (one uniform draw per row) replaces the count rule
    (exit at ``max_losses`` consecutive losses)."""
    rows = np.asarray(rows)
    if rows.dtype.kind not in "iu":
        raise ValueError(f"exiting_rows: rows must be integers, got dtype {rows.dtype}")
    hazard = np.zeros(0) if hazard is None else np.asarray(hazard, dtype=float)
    u = np.zeros(0) if u is None else np.asarray(u, dtype=float)
    if len(hazard) and len(u) != len(rows):
        raise ValueError(f"exiting_rows: {len(rows)} rows but {len(u)} uniform draws")
    gone, status = _k.exiting(
        rows,
        table.sector,
        table.equity,
        table.losses,
        table.lines,
        table.age,
        np.asarray(fixed_cost, dtype=float),
        float(equity_threshold),
        int(max_losses),
        int(grace),
        hazard,
        u,
    )
    if status != 0:
        raise ValueError("exiting_rows: a row or sector index is out of range")
    return gone


# ------------------------------------------------------------------------------------------- submodel
class ExitParams(Section):
    """``[behaviour.exit]``: when firms leave."""

    enabled: bool = Field(
        True,
        description="firms with low equity or repeated losses exit",
        json_schema_extra={"source": "switch"},
    )
    equity_threshold: float = Field(
        0.0,
        ge=-1e6,
        le=1e6,
        description="exit when equity falls below this, in units of the sector fixed cost per line times the firm's lines [-]",
        json_schema_extra={
            "source": "assumption: exit when equity is exhausted (0; plausible -1 to 1)"
        },
    )
    after_losses: int = Field(
        8,
        ge=1,
        le=10_000,
        description="exit after this many consecutive loss-making steps [steps]",
        json_schema_extra={
            "source": "assumption: two years of losses (plausible 4-16 quarters); a parameter of the Chongqing calibration"
        },
    )
    loss_rule: Literal["count", "hazard"] = Field(
        "count",
        description="how a run of losses ends a firm: 'count' = exit at exactly after_losses "
        "consecutive losses; 'hazard' = the number of consecutive losses a firm survives is drawn, "
        "1 + Poisson(after_losses - 1) (mean after_losses), as a per-step hazard that rises with the run",
        json_schema_extra={
            "source": "estimate: 'count' makes every firm that loses from the end of its grace leave "
            "at the same age (a one-quarter spike of exits, docs/VALIDATION.md section 6); "
            "'hazard' spreads it (sd sqrt(after_losses - 1) steps); not yet calibrated"
        },
    )
    loss_grace: int = Field(
        4,
        ge=0,
        le=10_000,
        description="start-up period: a firm younger than this leaves only when it loses its last "
        "product line, not for losses or negative equity (its start-up losses while it finds buyers "
        "are financed); losses count toward after_losses from this age on [steps]",
        json_schema_extra={
            "source": "one year: the exit hazard of Chinese firms is low in their first year and "
            "peaks in years 2-3 (SAIC 2013: 1.6 %, 6.3 %, 9.5 %)"
        },
    )


@functools.lru_cache(maxsize=8)
def loss_hazard(after_losses: int) -> np.ndarray:
    """(K + 1,) probability that a run of k consecutive losses ends the firm at its k-th loss, for
    k = 0..K (the last entry for longer runs): the hazard of K_i = 1 + Poisson(after_losses - 1),
    P(K = k) / P(K >= k); 0 at k = 0."""
    lam = float(after_losses - 1)
    top = int(after_losses + 10 * np.sqrt(max(lam, 1.0)) + 10)
    k = np.arange(top + 1)
    from scipy.stats import poisson  # here, not at import: scipy.stats costs ~0.4 s at start-up

    pmf = poisson.pmf(k - 1, lam) if lam > 0 else (k == 1).astype(float)
    survive = pmf[::-1].cumsum()[::-1]  # P(K >= k)
    h = np.divide(pmf, survive, out=np.ones_like(pmf), where=survive > 1e-300)
    h[0] = 0.0
    h = np.clip(h, 0.0, 1.0)
    h.flags.writeable = False  # one array shared by every step (cached)
    return h


def step(state: ModelState, world: World, scenario: Scenario, rng: np.random.Generator):
    """Incumbents with too little equity or too many losses exit; their buyers lose the link."""
    p = scenario.behaviour.exit
    if not p.enabled:
        return None
    t = state.firms
    hazard = u = None
    if p.loss_rule == "hazard":
        hazard = loss_hazard(p.after_losses)
        u = (
            random_streams.uniforms(rng, t.fid[state.incumbents])
            if random_streams.by_purpose(scenario, state)
            else rng.random(len(state.incumbents))
        )
    gone = exiting_rows(
        t,
        state.incumbents,
        state.fixed_cost,
        equity_threshold=p.equity_threshold,
        max_losses=p.after_losses,
        grace=p.loss_grace,
        hazard=hazard,
        u=u,
    )
    if len(gone):
        young = gone[t.age[gone] < scenario.behaviour.steps_per_year]
        state.entrants.record(t, young, t.age[young])  # entrants that exit within their first year
        state.exited.append(t.fid[gone].copy())
        t.kill(gone)
    return {"exits": len(gone)}


SUBMODEL = Submodel(
    name="exit",
    step=step,
    summary="firms with equity below the threshold, too many consecutive losses or no product line "
    "left exit",
    params=ExitParams,
    counters=("exits",),
    legacy={
        "exit_enabled": "enabled",
        "exit_equity_threshold": "equity_threshold",
        "exit_after_losses": "after_losses",
    },
)
