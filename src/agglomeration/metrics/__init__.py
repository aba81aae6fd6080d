"""Metrics of clustering, supply-chain formation and firm dynamics.

Pure functions (numpy arrays or pandas objects in, numbers or frames out) used by the model's
DataCollector, the batch tables and users on their own data.  Formulas, sources and worked examples:
docs/METRICS.md; stylised-fact targets: docs/THEORY.md section 9.  Chain metrics
(:mod:`agglomeration.metrics.chains`) are project-defined, not established indices.
"""

from __future__ import annotations

from agglomeration.metrics.chains import (
    ExcessLinks,
    chain_coverage,
    chain_coverage_matrix,
    complete_chains,
    excess_intraregional_links,
    local_sourcing_share,
    sourcing_shares,
)
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
    sector_concentration,
)
from agglomeration.metrics.io import (
    leontief_inverse,
    output_multipliers,
    rasmussen_linkages,
    total_requirements,
)
from agglomeration.metrics.network import supply_network_stats
from agglomeration.metrics.spatial import MoranResult, morans_i
from agglomeration.metrics.stylized import (
    EntryExit,
    GrowthFit,
    TailFit,
    entry_exit_rates,
    growth_rate_fit,
    tail_exponent,
)

__all__ = [
    "EGTest",
    "EntryExit",
    "ExcessLinks",
    "GrowthFit",
    "MoranResult",
    "TailFit",
    "chain_coverage",
    "chain_coverage_matrix",
    "coagglomeration",
    "complete_chains",
    "ellison_glaeser",
    "ellison_glaeser_test",
    "entry_exit_rates",
    "excess_intraregional_links",
    "growth_rate_fit",
    "herfindahl",
    "hoover",
    "krugman_specialisation",
    "leontief_inverse",
    "local_sourcing_share",
    "location_quotients",
    "locational_gini",
    "lq_gini",
    "maurel_sedillot",
    "morans_i",
    "output_multipliers",
    "rasmussen_linkages",
    "sector_concentration",
    "sourcing_shares",
    "supply_network_stats",
    "tail_exponent",
    "total_requirements",
]
