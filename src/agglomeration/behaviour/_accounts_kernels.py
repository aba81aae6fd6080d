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
    first_year_profit,
    first_year_revenue,
    first_year_steps,
    firm_fixed,
    out_region,
):
    """One pass over the live rows computing the equations of the module docstring.

    ``firm_fixed`` (by position in ``rows``): each firm's fixed cost, f_s x lines plus the relationship
    costs of its suppliers (:func:`fixed_costs_kernel`).  ``out_region`` (6, R)
    receives, by firm region: wage bill, rent bill, admin bill, dividends, employment, land use; with
    ``write`` the firm columns are updated too (profit is added to ``first_year_profit`` while the
    firm's age is below ``first_year_steps``).
    """
    S = sigma.shape[0]
    for q in range(rows.shape[0]):
        i = rows[q]
        s = sector[i]
        r = region[i]
        R_i = revenue[i]
        sig = sigma[s]
        f_s = firm_fixed[q]
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
            if age[i] < first_year_steps:
                first_year_profit[i] += pr
                first_year_revenue[i] += R_i
            age[i] += 1


@kernel
def fixed_costs_kernel(
    rows,
    sector,
    region,
    fixed_cost,
    lines,
    supplier,
    in_ptr,
    in_k,
    rel_tab,
    n_markets,
    n_regions,
    none,
    out,
):
    """``out[q]``: the fixed cost per step of live row ``rows[q]``, f_s x lines plus the relationship
    costs of its suppliers (``rel_tab`` flat (S, M, R), by buyer sector, the supplier's market and the
    buyer's region), summed slot by slot in input order (the order :func:`accounts_kernel` used when it
    summed them itself)."""
    R = n_regions
    M = n_markets
    K = supplier.shape[2]
    for q in range(rows.shape[0]):
        i = rows[q]
        s = sector[i]
        r = region[i]
        f_s = fixed_cost[s] * lines[i]
        for e in range(in_ptr[s], in_ptr[s + 1]):
            k = in_k[e]
            for sl in range(K):
                j = supplier[i, k, sl]
                if j == none:
                    break
                m = region[j] if j >= 0 else R + (-1 - j)
                f_s += rel_tab[(s * M + m) * R + r]
        out[q] = f_s
