"""Compiled kernels of :mod:`agglomeration.behaviour.accounts` (numba; see its docstring for the equations).

They trust their inputs' shapes: the Python wrappers in the submodel module check what a caller could get wrong."""

from __future__ import annotations

from agglomeration._jit import kernel


@kernel
def accounts_kernel(
    rows,
    sector,
    region,
    revenue,
    input_cost_rate,
    rev_iterate,
    sigma,
    labour_share,
    land_share,
    fixed_cost,
    wage,
    rent,
    admin,
    payout,
    write,
    employment,
    land_use,
    input_cost,
    profit,
    equity,
    losses,
    age,
    out_region,
):
    """One pass over the live rows computing the equations of the module docstring.

    ``out_region`` (6, R) receives, by firm region: wage bill, rent bill, admin bill, dividends,
    employment, land use; with ``write`` the firm columns are updated too.
    """
    S = sigma.shape[0]
    for q in range(rows.shape[0]):
        i = rows[q]
        s = sector[i]
        r = region[i]
        R_i = revenue[i]
        sig = sigma[s]
        f_s = fixed_cost[s]
        vc = R_i * (sig - 1.0) / sig
        factors = vc / (1.0 + admin[r])
        labour = labour_share[s] * factors + f_s
        land = land_share[s] * factors
        pr = R_i - vc - f_s
        div = payout * max(pr, 0.0)
        emp = labour / wage[r]
        lu = land / rent[r]
        out_region[0, r] += labour
        out_region[1, r] += land
        out_region[2, r] += vc - factors
        out_region[3, r] += div
        out_region[4, r] += emp
        out_region[5, r] += lu
        if write:
            employment[i] = emp
            land_use[i] = lu
            input_cost[i] = input_cost_rate[r * S + s] * rev_iterate[i]
            profit[i] = pr
            equity[i] += pr - div
            losses[i] = losses[i] + 1 if pr < 0 else 0
            age[i] += 1
