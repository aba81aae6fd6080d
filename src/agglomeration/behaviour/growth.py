"""Exogenous nominal growth (submodel ``growth``): the demand of every market and the outside wage.

The scenario's calendar maps step t to calendar time ``start_year + t / steps_per_year`` (step 0 is the
start of ``[growth] start_year``).  The growth table (``[growth] file``, see scenarios/data/README.md)
gives, for each *series*, annual nominal growth rates g_y by calendar year and one projection row (a
central rate with a low-high range) for its last year and every later year.  The nominal index of a
series at step t accrues each year's rate over the part of that year already elapsed:

    log X(t) = sum_y log(1 + g_y + shift) * |[y, y + 1) & [start_year, start_year + t/steps_per_year)|

so X(0) = 1, a full year at rate g multiplies X by 1 + g, and steps within a year grow geometrically.
``shift`` (``behaviour.growth.demand_growth_shift``) is added to the demand series only.  From the year
``behaviour.growth.balanced_after`` (default 2035) on, every demand series grows at the outside wage's
rate: growth is balanced (market shares and the ratio of demand to fixed costs stay constant), so long
runs do not extrapolate differences between markets for centuries.

What grows (each step, before prices and markets):

- households' immobile income of region r: Y_r(t) = immobile_income_r X_r(t), where X_r is the series
  named by the region's id, or else the series ``regions`` (Chongqing's nominal GDP);
- the final demand reached through gateway g: D_g(t) = demand_g X_g(t) (series named by the gateway id);
- the outside wage index Omega(t) = X_wage(t) (series ``wage``), the nominal wage workers earn outside
  the modelled firms, which anchors the labour market (``behaviour/factor_prices.py``);
- fixed costs (overhead labour) grow with Omega: f_s(t) = f_s(t-1) Omega(t) / Omega(t-1), so a firm's
  break-even size does not shrink as nominal demand grows (entry and relocation costs are in units of
  the fixed cost and follow).

Final expenditure carried into the step moves by the change of the exogenous incomes,
E[s, m] += final_share_s (income_m(t) - income_m(t-1)); the within-step income loop of the market then
adds the endogenous incomes (``behaviour/accounts.py``).  Without a growth table (``[growth] file``
not set), or with ``enabled = false``, every index stays 1: the economy of versions <= 0.2.

Units: rates per year [-]; incomes and demand CNY m per step; indices relative to step 0 [-].
Exchange rates are not modelled: foreign markets grow at their local-currency nominal rates, and
import prices follow the domestic price level (``behaviour.market.import_prices = "relative"``).
"""

from __future__ import annotations

import functools
import math
from collections import defaultdict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from agglomeration.economy import suggest
from agglomeration.errors import InputError
from agglomeration.parameters import Section
from agglomeration.submodel import Submodel

if TYPE_CHECKING:  # pragma: no cover
    from agglomeration.scenario import Scenario
    from agglomeration.state import ModelState
    from agglomeration.world import World

#: the series every region without a series of its own follows (households' immobile income)
REGIONS = "regions"
#: the outside wage series (the labour market's anchor)
WAGE = "wage"
#: bounds of an annual growth rate [-]
RATE_BOUNDS = (-0.5, 1.0)


class GrowthRecord(BaseModel):
    """One row of the growth table: a series' annual nominal growth rate in a calendar year.

    ``low`` and ``high`` are given only on the projection row (the series' last year), whose rate
    applies to that year and every later year.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    series: str = Field(min_length=1, description="'regions', 'wage', a region id or a gateway id")
    year: int = Field(ge=1900, le=2200, description="calendar year [year]")
    rate: float = Field(
        ge=RATE_BOUNDS[0], le=RATE_BOUNDS[1], description="nominal growth rate in the year [1/year]"
    )
    low: float | None = Field(
        None,
        ge=RATE_BOUNDS[0],
        le=RATE_BOUNDS[1],
        description="projection row only: low end of the projected rate [1/year]",
    )
    high: float | None = Field(
        None,
        ge=RATE_BOUNDS[0],
        le=RATE_BOUNDS[1],
        description="projection row only: high end of the projected rate [1/year]",
    )
    provenance: str = Field(min_length=1, description="source of the figure (R/I tags)")

    @property
    def is_projection(self) -> bool:
        """True on the projection row (low and high given)."""
        return self.low is not None or self.high is not None


def _check_series(name: str, rows: list[tuple[int, GrowthRecord]], start_year: int, file: Any):
    """One series: consecutive years, data rows then exactly one projection row covering the start."""
    rows = sorted(rows, key=lambda x: x[1].year)
    years = [r.year for _, r in rows]
    for (line, rec), prev in zip(rows[1:], years[:-1]):
        if rec.year == prev:
            raise InputError(
                f"series {name!r} has two rows for {rec.year}", file=file, field=f"line {line}"
            )
        if rec.year != prev + 1:
            raise InputError(
                f"series {name!r} has no row for {prev + 1} (years must be consecutive)",
                file=file,
                field=f"line {line}.year",
            )
    projections = [(line, r) for line, r in rows if r.is_projection]
    last_line, last = rows[-1]
    if not last.is_projection or len(projections) != 1:
        where = projections[0][0] if projections and projections[0][1] is not last else last_line
        raise InputError(
            f"series {name!r}: exactly one projection row (with low and high) is expected, and it "
            f"must be the series' last year ({last.year})",
            file=file,
            field=f"line {where}",
        )
    if last.low is None or last.high is None or not last.low <= last.rate <= last.high:
        raise InputError(
            f"series {name!r}: the projection row needs low <= rate <= high, got "
            f"low={last.low}, rate={last.rate}, high={last.high}",
            file=file,
            field=f"line {last_line}",
        )
    if years[0] > start_year:
        raise InputError(
            f"series {name!r} starts in {years[0]}, after [growth] start_year {start_year}; add rows "
            f"from {start_year} or start later",
            file=file,
            field=f"line {rows[0][0]}.year",
        )


def check_growth(
    records: list[tuple[int, GrowthRecord]],
    region_ids: list[str],
    gateway_ids: list[str],
    start_year: int,
    file: Any = None,
) -> None:
    """Validate a growth table (``(line, record)`` pairs): known series, every market and the outside
    wage covered, each series consecutive from ``start_year`` or earlier with one projection row last.
    Raises :class:`InputError` naming the file, the line and what was expected."""
    known = [REGIONS, WAGE, *region_ids, *gateway_ids]
    by_series: dict[str, list[tuple[int, GrowthRecord]]] = defaultdict(list)
    for line, rec in records:
        if rec.series not in known:
            raise InputError(
                f"unknown series {rec.series!r}"
                + suggest(rec.series, known)
                + f" (expected {REGIONS!r}, {WAGE!r}, a region id or a gateway id)",
                file=file,
                field=f"line {line}.series",
            )
        by_series[rec.series].append((line, rec))
    missing = [WAGE] if WAGE not in by_series else []
    if REGIONS not in by_series:
        missing += [r for r in region_ids if r not in by_series]
    missing += [g for g in gateway_ids if g not in by_series]
    if missing:
        raise InputError(
            f"no growth series for {missing} (every gateway needs its own series, every region its "
            f"own or {REGIONS!r}, and {WAGE!r} is required)",
            file=file,
            field="series",
        )
    for name, rows in by_series.items():
        _check_series(name, rows, start_year, file)


# ------------------------------------------------------------------------------------------ the paths
def year_of_step(t: float, start_year: int, steps_per_year: int) -> float:
    """Calendar time of step ``t`` [year]: ``start_year + t / steps_per_year`` (step 0 = 1 January)."""
    return start_year + t / steps_per_year


def log_index(rate: Callable[[int], float], years_elapsed: float, start_year: int) -> float:
    """log X after ``years_elapsed`` years from the start of ``start_year`` (see the module docstring);
    ``rate(year)`` is the series' annual rate in a calendar year."""
    total = 0.0
    whole = math.floor(years_elapsed)
    for k in range(whole + 1):
        share = min(years_elapsed - k, 1.0)
        if share <= 0.0:
            break
        total += share * math.log1p(rate(start_year + k))
    return total


class GrowthPaths:
    """The nominal growth series of a scenario, resolved to its markets and projection choice."""

    def __init__(
        self,
        records: tuple[GrowthRecord, ...],
        market_ids: tuple[str, ...],
        n_regions: int,
        start_year: int,
        steps_per_year: int,
        projection: str,
        shift: float,
        balanced_after: int = 10_000,
    ) -> None:
        series: dict[str, dict[int, float]] = defaultdict(dict)
        proj: dict[str, tuple[int, float]] = {}
        for r in records:
            if r.is_projection:
                rate = {"central": r.rate, "low": r.low, "high": r.high}[projection]
                proj[r.series] = (r.year, float(rate))
            else:
                series[r.series][r.year] = r.rate
        self.start_year = int(start_year)
        self.steps_per_year = int(steps_per_year)
        #: series name of every market (regions first, then gateways)
        self.market_series = tuple(
            (m if m in proj else REGIONS) if i < n_regions else m for i, m in enumerate(market_ids)
        )
        self._series = {k: dict(v) for k, v in series.items()}
        self._proj = proj
        self._shift = float(shift)
        self.balanced_after = int(balanced_after)

    def rate(self, name: str, year: int) -> float:
        """Annual nominal growth rate of series ``name`` in calendar ``year``: the data, then the
        projection, plus the demand shift; from ``balanced_after`` on every demand series grows at the
        outside wage's rate (balanced growth)."""
        if name != WAGE and year >= self.balanced_after:
            return self.rate(WAGE, year)
        first, projected = self._proj[name]
        g = projected if year >= first else self._series[name][year]
        return g if name == WAGE else g + self._shift

    def _log(self, name: str, t: float) -> float:
        return log_index(
            functools.partial(self.rate, name), t / self.steps_per_year, self.start_year
        )

    def demand_index(self, t: float) -> np.ndarray:
        """(M,) nominal demand index of every market at step ``t`` (1 at step 0)."""
        cache = {n: math.exp(self._log(n, t)) for n in set(self.market_series)}
        return np.array([cache[n] for n in self.market_series])

    def wage_index(self, t: float) -> float:
        """Outside wage index Omega at step ``t`` (1 at step 0)."""
        return math.exp(self._log(WAGE, t))


@functools.lru_cache(maxsize=32)
def _paths(
    records: tuple[GrowthRecord, ...],
    market_ids: tuple[str, ...],
    n_regions: int,
    start_year: int,
    steps_per_year: int,
    projection: str,
    shift: float,
    balanced_after: int,
) -> GrowthPaths:
    return GrowthPaths(
        records,
        market_ids,
        n_regions,
        start_year,
        steps_per_year,
        projection,
        shift,
        balanced_after,
    )


def growth_paths(scenario: Any, world: World) -> GrowthPaths | None:
    """The scenario's growth paths for ``world``'s markets; None when growth is off or has no table."""
    p = scenario.behaviour.growth
    records = getattr(getattr(scenario, "data", None), "growth", None)
    section = getattr(scenario, "growth", None)
    if not p.enabled or not records or section is None:
        return None
    return _paths(
        tuple(records),
        tuple(str(m) for m in world.market_ids),
        int(world.n_regions),
        int(section.start_year),
        int(scenario.behaviour.steps_per_year),
        p.projection,
        float(p.demand_growth_shift),
        int(p.balanced_after),
    )


def exogenous_income(state: ModelState, world: World) -> tuple[np.ndarray, np.ndarray]:
    """This step's households' immobile income (R,) and gateway demand (G,) [CNY m per step]."""
    R = world.n_regions
    base = np.concatenate(
        [
            np.asarray(world.immobile_income, dtype=float),
            np.asarray(world.gateway_demand, dtype=float),
        ]
    )
    idx = state.demand_index
    level = base * idx if len(idx) == len(base) else base
    return level[:R], level[R:]


# ------------------------------------------------------------------------------------------- submodel
class GrowthParams(Section):
    """``[behaviour.growth]``: use of the growth table ([growth] file) and its projection."""

    enabled: bool = Field(
        True,
        description="nominal demand, the outside wage and fixed costs follow the growth table "
        "(no effect without `[growth] file`); false = constant (theory benchmarks)",
        json_schema_extra={"source": "switch"},
    )
    projection: Literal["central", "low", "high"] = Field(
        "central",
        description="which projected rate of each series applies beyond its data years",
        json_schema_extra={
            "source": "scenarios/data/growth.csv projection rows (stated assumptions with a range)"
        },
    )
    demand_growth_shift: float = Field(
        0.0,
        ge=-0.2,
        le=0.2,
        description="added to every demand series' annual growth rate (regions and gateways, not the "
        "outside wage) [1/year]",
        json_schema_extra={"source": "sensitivity knob; 0 = the data"},
    )
    balanced_after: int = Field(
        2035,
        ge=1900,
        le=10_000,
        description="calendar year from which every demand series grows at the outside wage's rate "
        "(balanced growth: market shares and the ratio of demand to fixed costs stay constant; the "
        "projection rows and the shift apply before it) [year]",
        json_schema_extra={
            "source": "assumption: differences in market growth are projected for ten years beyond "
            "the data (2025-2034), not for centuries (long runs, burn-in)"
        },
    )


def step(state: ModelState, world: World, scenario: Scenario, rng: np.random.Generator) -> None:
    """Move the exogenous incomes, the outside wage and fixed costs to this step's calendar time."""
    paths = growth_paths(scenario, world)
    if paths is None:
        return
    old_y, old_d = exogenous_income(state, world)
    t = 0 if state.burning_in else state.t  # the burn-in settles the economy of the start year
    state.demand_index = paths.demand_index(t)
    omega = paths.wage_index(t)
    state.fixed_cost = state.fixed_cost * (omega / state.outside_wage)
    state.outside_wage = omega
    new_y, new_d = exogenous_income(state, world)
    delta = np.concatenate([new_y - old_y, new_d - old_d])
    if state.expenditure.shape == (world.n_sectors, world.n_markets):
        state.expenditure = state.expenditure + np.outer(world.final_share, delta)


SUBMODEL = Submodel(
    name="growth",
    step=step,
    summary="exogenous nominal growth: households' immobile income, gateway demand, the outside wage "
    "and fixed costs move to this step's calendar time (growth table of the scenario)",
    params=GrowthParams,
)
