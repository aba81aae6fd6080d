"""Statistics of the firm-to-firm supplier network: standard graph measures (docs/METRICS.md).

Built with networkx on the domestic links of ``model.links_frame()`` (imports, supplier = -1, only
enter the import share).  Intended for observation steps, not every step of large runs: the graph
construction is O(links).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import networkx as nx
import numpy as np

from agglomeration.metrics._checks import as_links

__all__ = ["supply_network_stats"]


def supply_network_stats(links: Any, firms: Iterable[Any] | None = None) -> dict[str, float]:
    """Descriptive statistics of the supplier network.

    Nodes are firms (plus ``firms``, so isolated firms count), directed edges supplier -> buyer
    (parallel links for different inputs collapse into one edge).  Returned keys:

    * ``links`` (rows incl. imports), ``domestic_links``, ``import_value_share`` (imports' share of
      purchase value), ``nodes``, ``edges``;
    * ``density`` = edges / (nodes (nodes - 1)) (networkx directed density);
    * ``intra_region_share`` (count) and ``intra_region_value_share`` of domestic links whose
      supplier and buyer are in the same region;
    * ``mean_delivered_cost`` (units of the links' delivered_cost column), ``mean_distance_km``,
      ``median_distance_km`` over domestic links;
    * ``largest_wcc_share``: nodes in the largest weakly connected component / nodes;
    * ``clustering``: average clustering coefficient of the undirected graph (Watts-Strogatz);
    * degree summary: ``mean_degree`` (in = out on average), ``max_in_degree``,
      ``max_out_degree``, ``sd_in_degree``, ``sd_out_degree``.

    Shares and means are NaN when undefined (no links / no nodes).
    """
    df = as_links(
        links,
        [
            "buyer",
            "supplier",
            "buyer_region",
            "supplier_region",
            "value",
            "delivered_cost",
            "distance_km",
        ],
    )
    dom_mask = df["supplier"].to_numpy() != -1
    dom = df.loc[dom_mask]
    value = df["value"].to_numpy(dtype=float)
    total_value = value.sum()
    g = nx.DiGraph()
    if firms is not None:
        g.add_nodes_from(firms)
    g.add_nodes_from(df["buyer"].tolist())
    g.add_edges_from(zip(dom["supplier"].tolist(), dom["buyer"].tolist()))
    nodes = g.number_of_nodes()
    intra = dom["supplier_region"].to_numpy() == dom["buyer_region"].to_numpy()
    dval = dom["value"].to_numpy(dtype=float)
    nan = float("nan")
    indeg = np.fromiter((d for _, d in g.in_degree()), dtype=float, count=nodes)
    outdeg = np.fromiter((d for _, d in g.out_degree()), dtype=float, count=nodes)
    return {
        "links": float(len(df)),
        "domestic_links": float(len(dom)),
        "import_value_share": float(value[~dom_mask].sum() / total_value)
        if total_value > 0
        else nan,
        "nodes": float(nodes),
        "edges": float(g.number_of_edges()),
        "density": float(nx.density(g)) if nodes > 1 else nan,
        "intra_region_share": float(intra.mean()) if len(dom) else nan,
        "intra_region_value_share": float(dval[intra].sum() / dval.sum())
        if dval.sum() > 0
        else nan,
        "mean_delivered_cost": float(dom["delivered_cost"].mean()) if len(dom) else nan,
        "mean_distance_km": float(dom["distance_km"].mean()) if len(dom) else nan,
        "median_distance_km": float(dom["distance_km"].median()) if len(dom) else nan,
        "largest_wcc_share": float(max(len(c) for c in nx.weakly_connected_components(g)) / nodes)
        if nodes
        else nan,
        "clustering": float(nx.average_clustering(g.to_undirected())) if nodes else nan,
        "mean_degree": float(indeg.mean()) if nodes else nan,
        "max_in_degree": float(indeg.max()) if nodes else nan,
        "max_out_degree": float(outdeg.max()) if nodes else nan,
        "sd_in_degree": float(indeg.std()) if nodes else nan,
        "sd_out_degree": float(outdeg.std()) if nodes else nan,
    }
