"""Sectors, the input-output (Cobb-Douglas cost-share) matrix and named industrial chains.

Records here are the validated rows of ``sectors.csv`` and ``chains.csv``; the wide
``io_coefficients.csv`` becomes an (S, S) matrix ``a[k, s]`` = cost share of input k in sector s.
Shares are dimensionless; money is CNY million per model step (docs/ARCHITECTURE.md).

Invariant enforced by :func:`check_io`: every column of ``a`` sums to < 1 and, with the sector's labour
and land shares, to 1 (Cobb-Douglas constant returns).  Labour share is then reset to the exact residual
``1 - land_share - sum_k a[k, s]`` so rounding in a CSV never leaks into the model.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from agglomeration.errors import InputError, csv_line

#: tolerance on labour + land + inputs = 1 before the labour share is reset to the exact residual
SHARE_TOLERANCE = 0.01


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class SectorRecord(_Record):
    """One row of ``sectors.csv``."""

    sector_id: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$", description="sector id [-]")
    name: str = Field(description="human-readable name")
    kind: Literal["manufacturing", "service"] = Field(description="manufacturing or service")
    sigma: float = Field(gt=1.0, le=50.0, description="CES elasticity of substitution (> 1) [-]")
    labour_share: float = Field(ge=0.0, le=1.0, description="Cobb-Douglas labour cost share [-]")
    land_share: float = Field(ge=0.0, le=1.0, description="Cobb-Douglas land cost share [-]")
    fixed_cost: float = Field(ge=0.0, le=1e6, description="fixed cost of a firm [CNY m per step]")
    entry_rate: float = Field(
        ge=0.0, le=1.0, description="potential entrants per existing firm [1/step]"
    )
    value_density: float | None = Field(
        None, gt=0.0, le=1e9, description="value per tonne shipped [yuan/t] (manufacturing)"
    )
    time_cost_per_day: float | None = Field(
        None, ge=0.0, le=1.0, description="time cost of goods in transit, share of value [1/day]"
    )
    distance_elasticity: float = Field(
        ge=0.0,
        le=10.0,
        description="exponent delta of the non-freight distance friction (max(km, D0) / D0)^delta, km "
        "the great-circle distance [-]",
    )
    final_share: float = Field(ge=0.0, le=1.0, description="share of final expenditure [-]")
    initial_weight: float = Field(ge=0.0, le=1e9, description="relative share of initial firms [-]")
    import_tariff: float = Field(
        0.0,
        ge=0.0,
        le=10.0,
        description="ad-valorem duty on imports of this sector's goods used as inputs, waived in bonded "
        "zones (processing trade) [-]",
    )
    import_price_factor: float = Field(
        1.0,
        gt=0.0,
        le=100.0,
        description="price of this sector's goods abroad relative to the gateway's import price index "
        "(foreign comparative advantage, e.g. < 1 for chips) [-]",
    )
    foreign_suppliers: float | None = Field(
        None,
        ge=0.0,
        le=1e9,
        description="number-equivalent of foreign suppliers of this input at each gateway in supplier "
        "search, per 1,000 initial domestic firms (empty: behaviour.sourcing.import_weight) [firms "
        "per 1,000 firms]",
    )
    provenance: str = Field(min_length=1, description="'source: ...' and/or 'estimate: ...'")

    @model_validator(mode="after")
    def _kind_fields(self) -> SectorRecord:
        if self.kind == "manufacturing" and (
            self.value_density is None or self.time_cost_per_day is None
        ):
            raise ValueError(
                "a manufacturing sector needs value_density [yuan/t] and time_cost_per_day [1/day]"
            )
        return self

    @property
    def value_of_time(self) -> float:
        """Value of time of one tonne in transit [yuan per tonne-hour] (0 for services)."""
        if self.value_density is None or self.time_cost_per_day is None:
            return 0.0
        return self.value_density * self.time_cost_per_day / 24.0


class ChainRecord(_Record):
    """One row of ``chains.csv``: sector ``sector_id`` is stage ``stage`` of chain ``chain``."""

    chain: str = Field(min_length=1, description="chain name")
    stage: int = Field(ge=1, le=1000, description="position in the chain, final sector highest [-]")
    sector_id: str = Field(min_length=1, description="sector id")
    provenance: str = Field(min_length=1, description="'source: ...' and/or 'estimate: ...'")


def suggest(name: str, choices: Sequence[str]) -> str:
    """A ``"; did you mean 'x'?"`` suffix (difflib) or ``""``."""
    close = difflib.get_close_matches(str(name), [str(c) for c in choices], n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def check_io(
    sectors: Sequence[SectorRecord], io: np.ndarray, *, file: str | None = None
) -> tuple[SectorRecord, ...]:
    """Check the I-O matrix against the sectors and return sectors with exact residual labour shares.

    ``io[k, s]`` is the cost share of input k in sector s.  Raises :class:`InputError` naming the column
    when a column sums to >= 1 or labour + land + inputs differs from 1 by more than ``SHARE_TOLERANCE``.
    """
    io = np.asarray(io, dtype=float)
    S = len(sectors)
    if io.shape != (S, S):
        raise InputError(f"expected an {S} x {S} matrix, got {io.shape}", file=file)
    if np.any(io < 0):
        k, s = np.argwhere(io < 0)[0]
        raise InputError(
            f"input share of {sectors[k].sector_id} must be >= 0, got {io[k, s]}",
            file=file,
            field=sectors[s].sector_id,
        )
    out = []
    for s, rec in enumerate(sectors):
        col = float(io[:, s].sum())
        if col >= 1.0:
            raise InputError(
                f"input coefficients of sector {rec.sector_id!r} sum to {col:.4g}; expected < 1 "
                "(Cobb-Douglas cost shares, labour + land take the rest)",
                file=file,
                field=rec.sector_id,
            )
        total = col + rec.labour_share + rec.land_share
        if abs(total - 1.0) > SHARE_TOLERANCE:
            raise InputError(
                f"labour_share {rec.labour_share} + land_share {rec.land_share} + inputs {col:.4g} "
                f"= {total:.4g} for sector {rec.sector_id!r}; expected 1 (+-{SHARE_TOLERANCE})",
                file=file,
                field=rec.sector_id,
            )
        out.append(rec.model_copy(update={"labour_share": 1.0 - rec.land_share - col}))
    return tuple(out)


def chains_from_records(
    records: Sequence[ChainRecord],
    sector_ids: Sequence[str],
    *,
    file: str | None = None,
    lines: Sequence[int] | None = None,
) -> dict[str, tuple[str, ...]]:
    """Group chain rows into ``{chain: (sector ids by stage, final sector last)}``, checking names;
    ``lines``: the file line of each record, for errors (default: record i on line i + 2)."""
    chains: dict[str, list[tuple[int, str]]] = {}
    numbers = lines if lines is not None else [csv_line(i) for i in range(len(records))]
    for line, rec in zip(numbers, records, strict=True):
        if rec.sector_id not in sector_ids:
            raise InputError(
                f"chain {rec.chain!r} names unknown sector {rec.sector_id!r}"
                + suggest(rec.sector_id, sector_ids),
                file=file,
                field=f"line {line}.sector_id",
            )
        stages = chains.setdefault(rec.chain, [])
        if any(st == rec.stage for st, _ in stages):
            raise InputError(
                f"chain {rec.chain!r} has two sectors at stage {rec.stage}",
                file=file,
                field=f"line {line}.stage",
            )
        stages.append((rec.stage, rec.sector_id))
    return {name: tuple(s for _, s in sorted(st)) for name, st in chains.items()}


def leontief_inverse(io: np.ndarray) -> np.ndarray:
    """(I - A)^-1 of a cost-share matrix whose columns sum to < 1 (total requirements) [-]."""
    io = np.asarray(io, dtype=float)
    return np.linalg.inv(np.eye(io.shape[0]) - io)


def chain_indices(
    chains: dict[str, tuple[str, ...]], sector_ids: Sequence[str]
) -> dict[str, tuple[int, ...]]:
    """Chain name -> tuple of sector indices (final sector last)."""
    pos = {s: i for i, s in enumerate(sector_ids)}
    return {name: tuple(pos[s] for s in secs) for name, secs in chains.items()}
