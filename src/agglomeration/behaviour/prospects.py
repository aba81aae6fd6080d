"""What a firm expects to earn in each region: the common basis of entry and relocation decisions.

For a firm with log productivity 0 in sector s located in region r (CNY m per step):

    Pin[k, r]  = (sum_m A[m, k] phi_k[m, r] + w_imp sum_g (p_imp[g, k] tau_k[g, r])^(1-sigma_k))^(1/(1-sigma_k))
                 the CES price index of input k available to a buyer in r (the sourcing choice set)
    phat[r, s] = sigma/(sigma-1) w_r^beta q_r^gamma (1 + admin_r) prod_k Pin[k, r]^a_ks / theta_rs
    Rhat[r, s] = phat^(1-sigma) sum_m phi_s[r, m] (E[s, m] + I[s, m]) / P1[s, m]

E is final expenditure and I the intermediate purchases of sector-s goods by the firms located in each
region (a seller expects a CES share of both).  A firm with log productivity x expects revenue
exp((sigma-1) x) Rhat and profit revenue/sigma - f_s.  Real profit divides by the consumer price index
CPI_r = prod_s P_rs^final_share_s with P_rs = P1[s, r]^(1/(1-sigma_s)).

With one sector, no inputs, unit wages and no admin cost this is exactly the footloose-entrepreneur
profit pi_r = (mu/sigma)(E_r/Delta_r + phi E_s/Delta_s) (up to the constant markup normalisation), and
CPI_r^-1 is proportional to Delta_r^(mu/(sigma-1)).
"""

from __future__ import annotations

import numpy as np


def expected_revenue(
    A: np.ndarray,
    P1: np.ndarray,
    E: np.ndarray,
    I_region: np.ndarray,
    *,
    sigma: np.ndarray,
    io: np.ndarray,
    labour_share: np.ndarray,
    land_share: np.ndarray,
    wage: np.ndarray,
    rent: np.ndarray,
    admin: np.ndarray,
    phi: np.ndarray,
    tau: np.ndarray,
    import_price: np.ndarray,
    import_weight: float,
    local_tfp: np.ndarray | None = None,
) -> np.ndarray:
    """Rhat[r, s] (R, S): expected revenue of a log-productivity-0 entrant, CNY m per step."""
    R = A.shape[1]
    G = import_price.shape[0]
    # input price index available in each region
    p1in = np.einsum("km,kmr->kr", A, phi[:, :R, :R])
    if G and import_weight > 0:
        t = tau[:, R:, :R] * import_price.T[:, :, None]  # (S, G, R)
        p1in = p1in + import_weight * np.sum(t ** (1.0 - sigma[:, None, None]), axis=1)
    log_pin = np.divide(
        np.log(p1in, out=np.zeros_like(p1in), where=p1in > 0),
        (1.0 - sigma)[:, None],
    )  # (S=k, R); 0 (price 1) where nothing is available
    log_c = (
        np.log(sigma / (sigma - 1.0))[None, :]
        + np.outer(np.log(wage), labour_share)
        + np.outer(np.log(rent), land_share)
        + np.log1p(admin)[:, None]
        + log_pin.T @ io  # (R, S): sum_k a_ks log Pin[k, r]
    )
    if local_tfp is not None:
        log_c = log_c - local_tfp
    demand = E.copy()
    demand[:, :R] += I_region
    ratio = np.divide(demand, P1, out=np.zeros_like(demand), where=P1 > 0)
    mp = np.einsum("srm,sm->rs", phi[:, :R, :], ratio)
    return np.exp((1.0 - sigma)[None, :] * log_c) * mp


def consumer_price_index(
    P1: np.ndarray, sigma: np.ndarray, final_share: np.ndarray, n_regions: int
) -> np.ndarray:
    """CPI_r = prod_s P_rs^final_share_s (R,); sectors with no supply anywhere count at price 1."""
    p1 = P1[:, :n_regions]
    logp = np.divide(np.log(p1, out=np.zeros_like(p1), where=p1 > 0), (1.0 - sigma)[:, None])
    return np.exp(final_share @ logp)
