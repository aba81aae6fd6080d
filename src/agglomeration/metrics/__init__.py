"""Metrics of clustering, supply-chain formation and firm dynamics.

Pure functions (numpy arrays or pandas objects in, numbers or frames out) used by the model's
DataCollector, the batch tables and users on their own data.  Formulas, sources and worked examples:
docs/METRICS.md and shared/reference/science.md sections 2-4.  Chain metrics
(:mod:`agglomeration.metrics.chains`) are project-defined, not established indices.
"""

from __future__ import annotations

from agglomeration.metrics.clustering import (
    EGTest,
    coagglomeration,
    ellison_glaeser,
    ellison_glaeser_test,
    herfindahl,
    hoover,
    krugman_specialisation,
    location_quotients,
    locational_gini,
    lq_gini,
    maurel_sedillot,
)
from agglomeration.metrics.io import (
    leontief_inverse,
    output_multipliers,
    rasmussen_linkages,
    total_requirements,
)
from agglomeration.metrics.spatial import MoranResult, morans_i

__all__ = [
    "EGTest",
    "MoranResult",
    "coagglomeration",
    "ellison_glaeser",
    "ellison_glaeser_test",
    "herfindahl",
    "hoover",
    "krugman_specialisation",
    "leontief_inverse",
    "location_quotients",
    "locational_gini",
    "lq_gini",
    "maurel_sedillot",
    "morans_i",
    "output_multipliers",
    "rasmussen_linkages",
    "total_requirements",
]
