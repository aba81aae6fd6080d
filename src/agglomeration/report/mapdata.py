"""What a map needs to know about a scenario: region positions and types, the logistics links by mode,
external places (gateways, hubs) and the sector list.

:class:`MapData` is plain data (pandas frames), built from a Scenario (:func:`map_data_from_scenario`)
or from a model (:func:`map_data_from_model`), so the same map builder serves a stored run, a batch and
the dashboard's live model.  :func:`thin_roads` reduces the nearly complete road graph to its
relative-neighbourhood skeleton so the map stays legible.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["MapData", "map_data_from_model", "map_data_from_scenario", "thin_roads"]


@dataclass(frozen=True)
class MapData:
    """Geography of a scenario for maps.

    ``regions``: ``region, name, type, lon, lat`` (degrees WGS84; type ftz / connected / other);
    ``links``: ``from, to, mode`` (undirected logistics links between places); ``places``: external
    places ``place, name, kind, lon, lat`` (gateways and hubs); ``sectors``: sector ids in model order;
    ``options``: the route options ``option, name, main_mode`` (labels and colours of the mode-share
    figure; empty when the scenario has none).
    """

    regions: pd.DataFrame
    links: pd.DataFrame
    places: pd.DataFrame
    sectors: tuple[str, ...]
    options: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["option", "name", "main_mode"])
    )

    def coords(self) -> pd.DataFrame:
        """``region, lon, lat, type`` of the regions."""
        return self.regions[["region", "lon", "lat", "type"]]


def map_data_from_scenario(scenario: Any) -> MapData:
    """Map data of a :class:`~agglomeration.scenario.Scenario` (its resolved data tables)."""
    data = scenario.data
    regions = pd.DataFrame(
        {
            "region": [r.region_id for r in data.regions],
            "name": [r.name for r in data.regions],
            "type": [r.type for r in data.regions],
            "lon": [float(r.lon) for r in data.regions],
            "lat": [float(r.lat) for r in data.regions],
        }
    )
    places = pd.DataFrame(
        [(g.gateway_id, g.name, "gateway", float(g.lon), float(g.lat)) for g in data.gateways]
        + [(h.hub_id, h.name, "hub", float(h.lon), float(h.lat)) for h in data.hubs],
        columns=["place", "name", "kind", "lon", "lat"],
    )
    links = pd.DataFrame(
        [(lk.origin, lk.dest, lk.mode) for lk in data.links], columns=["from", "to", "mode"]
    )
    options = pd.DataFrame(
        [(o.option_id, o.name, o.main_mode) for o in getattr(data, "options", ())],
        columns=["option", "name", "main_mode"],
    )
    return MapData(regions, links, places, tuple(s.sector_id for s in data.sectors), options)


def map_data_from_model(model: Any) -> MapData:
    """Map data of a model: from its scenario when it has one (``model.spec``, or ``model.scenario`` on
    mesa 3.3), else from the world's arrays (regions and sectors only, no links)."""
    for attr in ("spec", "scenario"):
        scenario = getattr(model, attr, None)
        if getattr(scenario, "data", None) is not None:
            return map_data_from_scenario(scenario)
    w = model.world
    regions = pd.DataFrame(
        {
            "region": [str(r) for r in w.region_ids],
            "name": [str(r) for r in getattr(w, "region_names", w.region_ids)],
            "type": [str(t) for t in w.region_type],
            "lon": np.asarray(w.lon, dtype=float),
            "lat": np.asarray(w.lat, dtype=float),
        }
    )
    empty_links = pd.DataFrame(columns=["from", "to", "mode"])
    empty_places = pd.DataFrame(columns=["place", "name", "kind", "lon", "lat"])
    return MapData(regions, empty_links, empty_places, tuple(str(s) for s in w.sector_ids))


def _km(lon1, lat1, lon2, lat2) -> np.ndarray:
    """Great-circle distance [km] (haversine; broadcasts)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * 6371.0 * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def thin_roads(links: pd.DataFrame, positions: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Road links between mapped places reduced to the relative-neighbourhood graph.

    A road link a-b is kept unless some third place c is closer to both ends than they are to each
    other (max(d(a, c), d(c, b)) < d(a, b)): the long links a road network of nearly every pair draws
    across the map are implied by chains of short ones.  ``positions`` has ``place, lon, lat``.
    Returns the kept road links and the number of road links there were.
    """
    roads = links.loc[links["mode"] == "road"]
    pos = positions.set_index("place")
    roads = roads.loc[roads["from"].isin(pos.index) & roads["to"].isin(pos.index)]
    roads = roads.loc[roads["from"] != roads["to"]]
    pairs = roads.assign(
        a=np.minimum(roads["from"], roads["to"]), b=np.maximum(roads["from"], roads["to"])
    ).drop_duplicates(["a", "b"])
    if pairs.empty:
        return pairs[["from", "to", "mode"]], 0
    lon = pos["lon"].to_numpy(dtype=float)
    lat = pos["lat"].to_numpy(dtype=float)
    d = _km(lon[:, None], lat[:, None], lon[None, :], lat[None, :])
    idx = {p: i for i, p in enumerate(pos.index)}
    keep = []
    for a, b in zip(pairs["a"], pairs["b"]):
        i, j = idx[a], idx[b]
        others = np.maximum(d[i], d[j])
        others[[i, j]] = math.inf
        keep.append(not (others < d[i, j]).any())
    return pairs.loc[keep, ["from", "to", "mode"]], len(pairs)
