"""Hand-built small worlds and scenarios for the model tests (no data files needed)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from agglomeration.parameters import (
    BehaviourParams,
    FirmsParams,
    OutputParams,
    PolicyParams,
    SolverParams,
)
from agglomeration.world import World


def toy_world(
    tau_scale: float = 1.0,
    connected_tau: float | None = None,
    closed: tuple[tuple[int, int], ...] = (),
    initial_weights: np.ndarray | None = None,
) -> World:
    """3 regions (ftz, connected, other) + 1 gateway, 3 sectors forming one chain (M -> C -> A).

    ``connected_tau``: iceberg cost between the connected area and every other market; ``closed``: market
    pairs whose link is cut (iceberg cost 50); ``initial_weights`` (3, 3) region x sector firm weights.
    """
    R, G, S = 3, 1, 3
    M = R + G
    pos = np.array([[0.0, 0.0], [1.0, 0.0], [3.0, 0.0], [0.0, 5.0]])
    dist = np.sqrt(((pos[:, None, :] - pos[None, :, :]) ** 2).sum(-1))
    base = 1.0 + 0.08 * tau_scale * dist
    np.fill_diagonal(base, 1.0)
    if connected_tau is not None:  # trade cost between the connected area and everyone else
        base[1, :] = np.where(np.arange(M) == 1, 1.0, connected_tau)
        base[:, 1] = base[1, :]
    for i, j in closed:
        base[i, j] = base[j, i] = 50.0
    tau = np.stack([base, base, base])
    io = np.array([[0.0, 0.3, 0.1], [0.0, 0.0, 0.4], [0.0, 0.0, 0.0]])
    return World.from_arrays(
        region_ids=["F", "C", "O"],
        region_type=["ftz", "connected", "other"],
        lon=[106.5, 106.6, 106.9],
        lat=[29.5, 29.5, 29.6],
        gateway_ids=["GW"],
        gateway_demand=[30.0],
        gateway_import_price=np.full((G, S), 1.3),
        sector_ids=["mat", "comp", "asm"],
        sector_kind=["manufacturing"] * 3,
        sigma=[5.0, 5.0, 5.0],
        io=io,
        land_share=[0.1, 0.05, 0.05],
        final_share=[0.1, 0.2, 0.5],
        immobile_income=[60.0, 30.0, 30.0],
        land_capacity=[10.0, 10.0, 10.0],
        base_wage=[0.02, 0.018, 0.015],
        base_rent=[0.5, 0.4, 0.3],
        delegation=[1.0, 0.3, 0.0],
        fixed_cost=[0.05, 0.05, 0.05],
        entry_rate=[0.01, 0.01, 0.01],
        chains={"chain": (0, 1, 2)},
        tau=tau,
        distance_km=dist * 50,
        initial_weights=(
            np.array([[3, 3, 3], [1, 1, 1], [1, 1, 1]], float)
            if initial_weights is None
            else np.asarray(initial_weights, float)
        ),
    )


def toy_scenario(**sections) -> SimpleNamespace:
    """A scenario-like object with default parameter sections; ``sections`` = dicts of field overrides."""
    return SimpleNamespace(
        name="toy",
        seed=11,
        steps=20,
        source_path=None,
        firms=FirmsParams(**{"initial_count": 300, **sections.get("firms", {})}),
        # the toy worlds' tests were written for an absolute entry floor (their few hundred firms
        # draw entrants mostly from it): floor_reference_firms 0 unless a test sets it
        behaviour=BehaviourParams(
            **{
                **sections.get("behaviour", {}),
                "entry": {
                    "floor_reference_firms": 0.0,
                    **sections.get("behaviour", {}).get("entry", {}),
                },
            }
        ),
        solver=SolverParams(**sections.get("solver", {})),
        policy=PolicyParams(**sections.get("policy", {})),
        output=OutputParams(**sections.get("output", {})),
    )
