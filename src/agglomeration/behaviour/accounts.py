"""Production and accounts of every live firm (DESIGN 3.2 step 5), and the income that feeds final demand.

With the CES markup, variable cost is VC = R (sigma - 1)/sigma of revenue R.  The administrative wedge
takes VC admin/(1 + admin); the rest, VC/(1 + admin), is split by the Cobb-Douglas shares into labour
(beta), land (gamma) and inputs (a_ks, paid through the supplier links, see market.py).  The sector fixed
cost f_s is paid in local overhead labour.  Hence

    employment = (beta VC/(1+admin) + f_s) / w_r      [workers]
    land use   = gamma VC/(1+admin) / rent_r          [km2]
    profit     = R - VC - f_s = R/sigma - f_s          [CNY m per step]
    equity    += profit - payout max(profit, 0)       (losses are drawn from equity)

Income of region r, spent next step on final goods with sector shares ``final_share``:
    Y_r = immobile_r + [factor_income_local] (wages_r + rents_r) + spent profits
where spent profits = paid-out profits located in r ('local', footloose entrepreneur) or the total
paid-out profit distributed by immobile-income shares ('owners', footloose capital).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from agglomeration.behaviour import _accounts_kernels as _k

if TYPE_CHECKING:  # pragma: no cover
    from agglomeration.firms import FirmTable


@dataclass
class Accounts:
    """Per-region aggregates of one step's accounts (arrays (R,) in CNY m or workers / km2)."""

    wage_bill: np.ndarray
    rent_bill: np.ndarray
    admin_bill: np.ndarray
    dividends: np.ndarray  # by firm location
    employment: np.ndarray
    land_use: np.ndarray


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
) -> Accounts:
    """Accounts of the live ``rows`` from their revenue (``table.revenue``), aggregated by region.

    With ``write`` the firm columns employment, land use, input cost, profit, equity, losses and age are
    updated; without it only the regional aggregates are returned (the within-step income loop).
    ``input_cost_rate`` (R * S, by buyer cell r S + s) x ``rev_iterate`` (n,) = each row's input purchases
    (see ``market.MarketResult``).  One compiled pass over the rows.
    """
    out = np.zeros((6, len(wage)))
    d = table._data
    _k.accounts_kernel(
        np.asarray(rows, dtype=np.int64),
        table.sector,
        table.region,
        table.revenue,
        input_cost_rate,
        rev_iterate,
        np.asarray(sigma, dtype=float),
        np.asarray(labour_share, dtype=float),
        np.asarray(land_share, dtype=float),
        np.asarray(fixed_cost, dtype=float),
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
