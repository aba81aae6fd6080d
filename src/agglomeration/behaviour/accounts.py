"""Production and accounts of every live firm (submodel ``accounts``), and the income that feeds final demand.

With the CES markup, variable cost is VC = R (sigma - 1)/sigma of revenue R.  The administrative wedge
takes VC admin/(1 + admin); the rest, VC/(1 + admin), is split by the Cobb-Douglas shares into labour
(beta), land (gamma) and inputs (a_ks, paid through the supplier links, see market.py).  The fixed cost
F = f_s x lines + the relationship costs of the firm's suppliers (behaviour/sourcing.py) is paid in local
overhead labour.  Hence

    employment = (beta VC/(1+admin) + F) / w_r        [workers]
    land use   = gamma VC/(1+admin) / rent_r          [km2]
    profit     = R - VC - F = R/sigma - F              [CNY m per step]
    equity    += profit - payout max(profit, 0)       (losses are drawn from equity)

Income of region r, spent next step on final goods with sector shares ``final_share``:
    Y_r = immobile_r + [factor_income_local] (wages_r + rents_r) + spent profits
where spent profits = paid-out profits located in r ('local', footloose entrepreneur) or the total
paid-out profit distributed by immobile-income shares ('owners', footloose capital).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
from pydantic import Field, field_validator

from agglomeration.behaviour import _accounts_kernels as _k
from agglomeration.behaviour import _market_kernels as _mk
from agglomeration.behaviour import growth
from agglomeration.behaviour.market import (
    MarketResult,
    RevenueLinks,
    input_lists,
    link_flows,
    link_flows_by_position,
)
from agglomeration.behaviour.sourcing import relationship_costs
from agglomeration.firms import NONE
from agglomeration.parameters import Section
from agglomeration.submodel import Submodel

if TYPE_CHECKING:  # pragma: no cover
    from agglomeration.firms import FirmTable
    from agglomeration.scenario import Scenario
    from agglomeration.state import ModelState
    from agglomeration.world import World


@dataclass
class Accounts:
    """Per-region aggregates of one step's accounts (arrays (R,) in CNY m or workers / km2)."""

    wage_bill: np.ndarray
    rent_bill: np.ndarray
    admin_bill: np.ndarray
    dividends: np.ndarray  # by firm location
    employment: np.ndarray
    land_use: np.ndarray
    #: (R,) and (G,) exogenous incomes of the step: households' immobile income and gateway demand
    #: [CNY m per step] (None: the World's base values; they grow, see behaviour/growth.py)
    immobile_income: np.ndarray | None = None
    gateway_demand: np.ndarray | None = None


def firm_fixed_costs(
    table: FirmTable,
    rows: np.ndarray,
    *,
    fixed_cost: np.ndarray,
    n_regions: int,
    relationship_cost: np.ndarray | None = None,
    io: np.ndarray | None = None,
) -> np.ndarray:
    """(len(rows),) the fixed cost per step of each of ``rows`` [CNY m]: f_s x lines plus the
    relationship costs of its suppliers (``relationship_cost`` (S, M, R) by buyer sector, source market
    and buyer region, with ``io`` naming the inputs; None: no relationship costs).  One compiled pass
    over the rows and their supplier slots."""
    R = int(n_regions)
    S = table.n_sectors
    if relationship_cost is None or io is None:
        rel = np.zeros(S * (R + 1) * R)  # no cost; one market per region is enough to index
        M = R + 1
        in_ptr = np.zeros(S + 1, dtype=np.int64)
        in_k = np.zeros(0, dtype=np.int64)
    else:
        rel = np.ascontiguousarray(relationship_cost, dtype=float).reshape(-1)
        M = relationship_cost.shape[1]
        inputs = input_lists(io)
        in_ptr, in_k = inputs.ptr, inputs.k
    rows = np.asarray(rows, dtype=np.int64)
    out = np.empty(len(rows))
    _k.fixed_costs_kernel(
        rows,
        table.sector,
        table.region,
        np.asarray(fixed_cost, dtype=float),
        table.lines,
        table.supplier,
        in_ptr,
        in_k,
        rel,
        M,
        R,
        NONE,
        out,
    )
    return out


def update_accounts(
    table: FirmTable,
    rows: np.ndarray,
    *,
    sigma: np.ndarray,
    labour_share: np.ndarray,
    land_share: np.ndarray,
    fixed_cost: np.ndarray,
    wage: np.ndarray,
    rent: np.ndarray,
    admin: np.ndarray,
    input_cost_rate: np.ndarray,
    rev_iterate: np.ndarray,
    payout: float,
    write: bool = True,
    relationship_cost: np.ndarray | None = None,
    io: np.ndarray | None = None,
    first_year_steps: int = 4,
    firm_fixed: np.ndarray | None = None,
) -> Accounts:
    """Accounts of the live ``rows`` from their revenue (``table.revenue``), aggregated by region.

    With ``write`` the firm columns employment, land use, input cost, profit, equity, losses, age and
    first-year profit are updated; without it only the regional aggregates are returned (the within-step
    income loop).  ``input_cost_rate`` (R * S, by buyer cell r S + s) x ``rev_iterate`` (n,) = each row's
    input purchases (see ``market.MarketResult``).  ``relationship_cost`` (S, M, R): the cost of each
    supplier relationship per step [CNY m] (None: 0), with ``io`` the input-output matrix naming the
    inputs.  ``firm_fixed``: the rows' fixed costs (:func:`firm_fixed_costs`) when the caller has them
    (then ``fixed_cost``, ``relationship_cost`` and ``io`` are not read).  One compiled pass over the
    rows (two without ``firm_fixed``).
    """
    R = len(wage)
    out = np.zeros((6, R))
    d = table._data
    rows = np.asarray(rows, dtype=np.int64)
    if firm_fixed is None:
        firm_fixed = firm_fixed_costs(
            table,
            rows,
            fixed_cost=fixed_cost,
            n_regions=R,
            relationship_cost=relationship_cost,
            io=io,
        )
    elif len(firm_fixed) != len(rows):
        raise ValueError(f"firm_fixed has {len(firm_fixed)} entries for {len(rows)} rows")
    _k.accounts_kernel(
        rows,
        table.sector,
        table.region,
        table.revenue,
        input_cost_rate,
        rev_iterate,
        np.asarray(sigma, dtype=float),
        np.asarray(labour_share, dtype=float),
        np.asarray(land_share, dtype=float),
        np.asarray(wage, dtype=float),
        np.asarray(rent, dtype=float),
        np.asarray(admin, dtype=float),
        float(payout),
        bool(write),
        d["employment"],
        d["land_use"],
        d["input_cost"],
        d["profit"],
        d["equity"],
        d["losses"],
        d["age"],
        d["first_year_profit"],
        d["first_year_revenue"],
        int(first_year_steps),
        np.ascontiguousarray(firm_fixed, dtype=float),
        out,
    )
    return Accounts(
        wage_bill=out[0],
        rent_bill=out[1],
        admin_bill=out[2],
        dividends=out[3],
        employment=out[4],
        land_use=out[5],
    )


def final_expenditure(
    acc: Accounts | None,
    *,
    immobile_income: np.ndarray,
    gateway_demand: np.ndarray,
    final_share: np.ndarray,
    factor_income_local: bool,
    profit_spending: str,
) -> np.ndarray:
    """E[s, m]: final expenditure on sector s in each market (regions then gateways), CNY m per step.

    Gateways spend ``final_share x gateway_demand``; regions ``final_share x Y_r`` (see module docstring).
    ``acc`` None = the initial step (income = immobile income only).
    """
    y = immobile_income.astype(float).copy()
    if acc is not None:
        if factor_income_local:
            y += acc.wage_bill + acc.rent_bill
        total_div = acc.dividends.sum()
        if profit_spending == "local":
            y += acc.dividends
        else:
            w = immobile_income / immobile_income.sum() if immobile_income.sum() > 0 else None
            y += total_div * (w if w is not None else 1.0 / len(y))
    income = np.concatenate([y, np.asarray(gateway_demand, dtype=float)])
    return final_share[:, None] * income[None, :]


# ------------------------------------------------------------------------------------------- submodel
class AccountsParams(Section):
    """``[behaviour.accounts]``: profit distribution and the initial fixed-cost calibration."""

    profit_payout: float = Field(
        0.8,
        ge=0.0,
        le=1.0,
        description="share of positive profit paid out and spent; the rest is retained as equity [-]",
        json_schema_extra={
            "source": "assumption: 80 % of profits paid out and spent (plausible 0.5-0.95)"
        },
    )
    calibrate_fixed_costs: Literal["balance", "quantile", "none"] = Field(
        "balance",
        description="how each sector's fixed cost per line is set at initialisation: 'balance' = so that "
        "the expected entry flow equals the expected exit flow at the initial state (a stationary "
        "start; initialisation.balance_fixed_costs), 'quantile' = the `fixed_cost_quantile` quantile of "
        "the initial firms' operating profit per line, 'none' = the sector data (theory benchmarks); "
        "true/false are read as 'quantile'/'none'.  Both calibrations make `firms.initial_count` a pure "
        "scale parameter",
        json_schema_extra={
            "source": "fixed costs per model firm are not observed; the balance condition is the "
            "free-entry / stationarity condition of Hopenhayn (1992) at the initial state"
        },
    )
    _fixed_cost_mode = field_validator("calibrate_fixed_costs", mode="before")(
        lambda v: {True: "quantile", False: "none"}.get(v, v) if isinstance(v, bool) else v
    )
    calibrate_locations: bool = Field(
        True,
        description="with calibrate_fixed_costs = 'balance': during the burn-in, also back out a "
        "productivity shifter per region and sector (location fundamentals) so that the initial "
        "distribution of firms over regions (the data) is a stationary state; false = the model's own "
        "spatial equilibrium emerges in the burn-in",
        json_schema_extra={
            "source": "standard practice of quantitative spatial models: unobserved location "
            "fundamentals rationalise the observed distribution (Redding and Rossi-Hansberg 2017); "
            "without them the baseline's burn-in moves 70 % of the firms to Liangjiang"
        },
    )
    uncontrolled_share: float = Field(
        0.25,
        ge=0.0,
        lt=1.0,
        description="with calibrate_fixed_costs = 'balance': the share of the burn-in, at its end, run "
        "without the controller (fixed costs and location shifters constant), so the observed run "
        "starts from a state that has already run with them [-]",
        json_schema_extra={
            "source": "assumption: a quarter of the burn-in (25 quarters of the baseline's 100).  0 = "
            "controlled to the end: the start is nearer the data (0.11 against 0.24 total variation "
            "over regions, seeds 1-6) but its first 20 observed quarters move far more (0.21 against "
            "0.08) with the baseline's integral-only location controller; with a damped one "
            "(scenarios/data_start.toml) the start is 0.04 from the data and the move 0.11: "
            "docs/ODD.md, Known limitations"
        },
    )
    controller_averaging: int = Field(
        0,
        ge=0,
        le=10_000,
        description="with calibrate_fixed_costs = 'balance': the controller leaves the fixed costs and "
        "location shifters at their means over its last this many controlled steps (geometric for the "
        "fixed costs) instead of their last values, at most the controlled steps after the burn-in's "
        "wage and rent reset; 0 = the last values [steps]",
        json_schema_extra={
            "source": "assumption: 0 (the last values).  Averaging the iterates of a noisy controller "
            "(Polyak and Juditsky 1992) was measured as a remedy for the observed run's spatial drift: "
            "docs/ODD.md, Known limitations"
        },
    )
    location_gain: float = Field(
        0.1,
        gt=0.0,
        le=1.0,
        description="with calibrate_locations: the burn-in controller's integral gain, the move of a "
        "region x sector location shifter per step per log point of its firm count's gap from the "
        "data (net of the sector's mean gap); the move, with location_damping's, is clipped at 0.05 "
        "a step [log points per step]",
        json_schema_extra={
            "source": "numerical setting (range 0.01-0.1): 0.1 without damping overshoots and, "
            "controlled to the end of the burn-in, holds the region x sector cells only to 0.25 of "
            "the data (total variation, mean of seeds 1-6); 0.03 with location_damping 0.3 holds "
            "them to 0.074 (scenarios/data_start.toml; docs/ODD.md, Known limitations)"
        },
    )
    location_damping: float = Field(
        0.0,
        ge=0.0,
        le=10.0,
        description="with calibrate_locations: the controller's proportional term, the move of a "
        "location shifter against the change of its cell's gap since the last step (damps the "
        "integral controller's overshoot; the sum of both moves is clipped at 0.05 a step); 0 = "
        "integral only [log points per log point]",
        json_schema_extra={
            "source": "numerical setting (range 0-1): 0 in the baseline (the model its calibrations "
            "were made on); 0.3 with location_gain 0.03 in scenarios/data_start.toml"
        },
    )
    fixed_cost_quantile: float = Field(
        0.2,
        gt=0.0,
        le=0.9,
        description="with calibrate_fixed_costs = 'quantile': share of initial firms whose operating profit is below the calibrated fixed cost; with 'balance': the starting point of the search [-]; at most 0.9 (from about 0.95 the fixed costs, paid out as incomes and spent, raise the profits they are calibrated to faster than they settle, and the economy diverges: agglomeration.divergence)",
        json_schema_extra={
            "source": "assumption: 20 % of initial firms loss-making; with the 8-step loss rule it gives exit rates of the order of the 8-10 %/year read from Bartelsman, Scarpetta & Schivardi (2005), Industrial and Corporate Change 14(3) (docs/THEORY.md 9.3)"
        },
    )


def _firm_fixed(
    state: ModelState, world: World, scenario: Scenario, mkt: MarketResult
) -> np.ndarray:
    """The fixed costs of the firms of ``mkt`` (by position in ``mkt.order``), from the market result's
    cache when it holds them for the current sector fixed costs (the links and lines do not change
    between the market and the accounts: within one step the accounts follow the market directly, and
    :func:`agglomeration.behaviour.market.prices_and_markets` carries the cache only between passes
    over the same links); else computed and stored there."""
    cache = mkt.fixed_costs
    if cache is not None and np.array_equal(cache[0], state.fixed_cost):
        return cache[1]
    f = np.array(state.fixed_cost, dtype=float, copy=True)
    firm_fixed = firm_fixed_costs(
        state.firms,
        mkt.order,
        fixed_cost=f,
        n_regions=len(state.wage),
        relationship_cost=relationship_costs(state, world, scenario),
        io=world.io,
    )
    mkt.fixed_costs = (f, firm_fixed)
    return firm_fixed


def book(
    state: ModelState, world: World, scenario: Scenario, mkt: MarketResult, write: bool = True
) -> Accounts:
    """Production accounts of the live firms at the market result ``mkt``; ``write=False``: regional
    aggregates only, the table untouched (the within-step income loop).  The accounts carry this
    step's exogenous incomes (:func:`agglomeration.behaviour.growth.exogenous_income`)."""
    acc = update_accounts(
        state.firms,
        mkt.order,
        sigma=world.sigma,
        labour_share=world.labour_share,
        land_share=world.land_share,
        fixed_cost=state.fixed_cost,
        wage=state.wage,
        rent=state.rent,
        admin=state.costs.admin,
        input_cost_rate=mkt.input_cost_rate,
        rev_iterate=mkt.rev_iterate,
        payout=scenario.behaviour.accounts.profit_payout,
        write=write,
        first_year_steps=scenario.behaviour.steps_per_year,
        firm_fixed=_firm_fixed(state, world, scenario, mkt),
    )
    acc.immobile_income, acc.gateway_demand = growth.exogenous_income(state, world)
    return acc


def expenditure(acc: Accounts | None, world: World, scenario: Scenario) -> np.ndarray:
    """Final expenditure E[s, m] implied by the accounts ``acc`` (None: the World's immobile income and
    gateway demand only); the exogenous incomes are the accounts' own when they carry them."""
    market = scenario.behaviour.market
    own = acc is not None and acc.immobile_income is not None
    return final_expenditure(
        acc,
        immobile_income=acc.immobile_income if own else world.immobile_income,
        gateway_demand=acc.gateway_demand if own else world.gateway_demand,
        final_share=world.final_share,
        factor_income_local=market.factor_income_local,
        profit_spending=market.profit_spending,
    )


def fixed_cost_units(state: ModelState, world: World, scenario: Scenario) -> np.ndarray:
    """(live firms,) each live firm's fixed cost in units of its sector's f_s: lines +
    relationship_cost x its suppliers' distance factors (the same as long as the lines and links
    are)."""
    from agglomeration.behaviour.sourcing import relationship_units

    t = state.firms
    rows = t.alive_rows()
    return t.lines[rows] + scenario.behaviour.sourcing.relationship_cost * relationship_units(
        state, world, scenario, rows
    )


def calibrate_fixed_costs(
    state: ModelState, world: World, scenario: Scenario, units: np.ndarray | None = None
) -> None:
    """f_s := the ``fixed_cost_quantile`` quantile over sector s's firms of the fixed cost per line at
    which the firm breaks even, (R / sigma) / (lines + relationship_cost x its suppliers' distance
    factors) (initialisation; relationship costs scale with f_s).  ``units``: the
    :func:`fixed_cost_units` of the current lines and links, when the caller has them (the income
    loop, whose passes do not change them)."""
    params = scenario.behaviour.accounts
    t = state.firms
    rows = t.alive_rows()
    s = t.sector[rows]
    if units is None:
        units = fixed_cost_units(state, world, scenario)
    op = t.revenue[rows] / world.sigma[s] / units
    f = np.asarray(world.fixed_cost, dtype=float).copy()
    order = np.lexsort((op, s))  # by sector, then operating profit
    n = np.bincount(s, minlength=world.n_sectors)
    start = np.concatenate([[0], np.cumsum(n)[:-1]])
    has = n > 0
    pick = start[has] + np.floor(params.fixed_cost_quantile * (n[has] - 1)).astype(int)
    f[has] = op[order][pick]
    state.fixed_cost = f


def flow_gaps(mkt: MarketResult, links: RevenueLinks, E: np.ndarray) -> dict[str, float]:
    """Accounting identities of a market result (relative gaps; ~1e-12 when they hold).

    - ``intermediate_gap``: max over firms of |intermediate sales - purchases of its buyers| / total
      revenue (sales of suppliers = input purchases of their buyers), the purchases walked from the
      buyers' side (an independent traversal of the links);
    - ``expenditure_gap``: |final + intermediate expenditure - (domestic sales + imports)| / total.
    """
    n = len(mkt.revenue)
    total_rev = max(float(mkt.revenue.sum()), 1e-300)
    if mkt.order is links.order:
        # by position (rev_pos is rev_iterate[order]): no per-row temporaries; the same maximum
        received_pos, purchases, outside = link_flows_by_position(links, mkt.rev_pos)
        gap = _mk.intermediate_gap(links.order, mkt.revenue, mkt.final_sales, received_pos)
        gap1 = float(gap) / total_rev if n else 0.0
    else:
        received, purchases, outside = link_flows(links, mkt.rev_iterate)
        inter_sales = mkt.revenue - mkt.final_sales
        gap1 = float(np.max(np.abs(inter_sales - received))) / total_rev if n else 0.0
    spend = float(E.sum() + purchases)
    imports = float(mkt.final_imports + outside)
    gap2 = abs(spend - (float(mkt.revenue.sum()) + imports)) / max(spend, 1e-300)
    return {"intermediate_gap": gap1, "expenditure_gap": gap2}


def step(state: ModelState, world: World, scenario: Scenario, rng: np.random.Generator) -> None:
    """Book this step's accounts and form next step's final expenditure."""
    acc = book(state, world, scenario, state.market)
    state.market.fixed_costs = None  # the step's last use of the firms' fixed costs: free them
    t = state.firms
    rows = state.incumbents
    T = scenario.behaviour.steps_per_year
    state.entrants.record(t, rows[t.age[rows] == T], T)  # first years that ended now
    state.accounts = acc
    state.expenditure_used = state.expenditure
    state.balance = flow_gaps(state.market, state.links, state.expenditure)
    state.expenditure = expenditure(acc, world, scenario)


SUBMODEL = Submodel(
    name="accounts",
    step=step,
    summary="production and accounts (employment, land use, input cost, profit, equity) and the "
    "incomes that make next step's final expenditure",
    params=AccountsParams,
    legacy={
        "profit_payout": "profit_payout",
        "calibrate_fixed_costs": "calibrate_fixed_costs",
        "fixed_cost_quantile": "fixed_cost_quantile",
    },
)
