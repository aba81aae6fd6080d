"""Region types: the one place that defines them.

Every region of a scenario has a type (column ``type`` of ``regions.csv``):

- ``ftz``: an area of the China (Chongqing) Pilot Free Trade Zone (Liangjiang, Xiyong, Guoyuan Port);
- ``connected``: a connected innovation area linked with the FTZ (the first batch of Nov 2021);
- ``other``: any other place where firms may locate (outside the policy network: the control group).

The FTZ areas and the connected areas together form the policy *zone* network that zone-level metrics
(network sourcing share, chain coverage, zone firm share) refer to.
"""

from __future__ import annotations

import numpy as np

#: every region type, in display order
REGION_TYPES: tuple[str, ...] = ("ftz", "connected", "other")
#: the types that make up the policy zone network
ZONE_TYPES: tuple[str, ...] = ("ftz", "connected")
#: human-readable labels (figures, tables)
LABELS: dict[str, str] = {
    "ftz": "FTZ areas",
    "connected": "connected innovation areas",
    "other": "other regions",
}
#: regular expression a region type must match (regions.csv validation)
PATTERN = "^(" + "|".join(REGION_TYPES) + ")$"


def zone_mask(region_type: np.ndarray) -> np.ndarray:
    """(R,) bool: regions of the zone network (FTZ areas and connected areas)."""
    return np.isin(np.asarray(region_type), ZONE_TYPES)
