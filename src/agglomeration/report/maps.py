"""Maps: firms by sector at each region and the multimodal logistics network; the supplier network.

:func:`region_map_figure` is the one map of the project (``run``, ``plot`` and the dashboard): each
region is a pie at its lon/lat (area proportional to its firms, wedges = sectors in their fixed colours,
a thick ring for FTZ areas); rail, river, sea and air links are drawn in full, road links reduced to
their relative-neighbourhood skeleton (:func:`agglomeration.report.mapdata.thin_roads`, the count is in
the legend); links to places off the map (gateways, hubs) are short arrows labelled with the
destination; optional supplier flows between regions (orange, width ~ value); the crowded metropolitan
core is repeated in a zoomed inset (beside the map and as tall as it when the figure has the room).
It takes a regions frame (``region, sector, firms``, optionally ``run_id`` to average over runs) and
:class:`~agglomeration.report.mapdata.MapData`.

:func:`supplier_network_figure` draws the supplier links of one run between firms grouped around their
region.  :func:`region_map` draws a live model (the dashboard's map; ``agglomeration run`` draws from
its one-run result store with :func:`region_map_figure`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Wedge
from matplotlib.transforms import Affine2D

from agglomeration.errors import InputError
from agglomeration.report.figures import mean_region_table
from agglomeration.report.mapdata import MapData, map_data_from_model, thin_roads
from agglomeration.report.style import (
    MODE_STYLE,
    OTHER_MODE,
    PAGE_WIDTH_IN,
    STYLE,
    footer,
    sector_colours,
)

__all__ = [
    "flows_between_regions",
    "region_map",
    "region_map_figure",
    "spread_circles",
    "supplier_network_figure",
]

FLOW_COLOUR = "#ff7f0e"


def flows_between_regions(links: pd.DataFrame) -> pd.Series:
    """Value of domestic supplier links between two different regions (CNY m per step), summed over
    both directions and averaged over runs (when ``links`` has ``run_id``); index (region a, region b)."""
    if links is None or links.empty:
        return pd.Series(dtype=float)
    dom = links.loc[(links["supplier"] >= 0) & (links["buyer_region"] != links["supplier_region"])]
    if dom.empty:
        return pd.Series(dtype=float)
    a = np.minimum(dom["supplier_region"].astype(str), dom["buyer_region"].astype(str))
    b = np.maximum(dom["supplier_region"].astype(str), dom["buyer_region"].astype(str))
    total = dom.groupby([a, b])["value"].sum()
    runs = dom["run_id"].nunique() if "run_id" in dom.columns else 1
    total = total / max(runs, 1)
    total.index = [tuple(i) for i in total.index]
    return total


def _firm_matrix(regions: pd.DataFrame, geo: MapData, run_ids: Iterable[str] | None) -> np.ndarray:
    table = mean_region_table(regions, run_ids)
    if table.empty:
        raise InputError("no region table to draw", field="regions")
    missing = sorted(set(table["region"].astype(str)) - set(geo.regions["region"]))
    if missing:
        raise InputError(f"no coordinates for regions {', '.join(missing)}", field="regions")
    sectors = list(geo.sectors) or list(pd.unique(table["sector"]))
    pivot = table.pivot(index="region", columns="sector", values="firms")
    return (
        pivot.reindex(index=list(geo.regions["region"]), columns=sectors)
        .fillna(0.0)
        .to_numpy(dtype=float)
    )


def _ellipse(ax: Any, x0: float, y0: float, coslat: float):
    """Stretch a circle drawn in data units so it looks round on an axis with aspect 1/cos(lat)."""
    return Affine2D().translate(-x0, -y0).scale(1.0 / coslat, 1.0).translate(x0, y0) + ax.transData


class _Layer:
    """Everything drawn in one lon/lat box (the main map or the zoomed inset)."""

    def __init__(self, ax, geo: MapData, n_rs: np.ndarray, coslat: float, flows: pd.Series | None):
        self.ax, self.geo, self.n_rs, self.coslat, self.flows = ax, geo, n_rs, coslat, flows
        self.lon = geo.regions["lon"].to_numpy(dtype=float)
        self.lat = geo.regions["lat"].to_numpy(dtype=float)
        self.ids = list(geo.regions["region"])
        self.idx = {r: i for i, r in enumerate(self.ids)}
        #: (lon, lat) of what is drawn besides the regions: arrow tips, gateway and region labels
        self.marks: list[tuple[float, float]] = []
        #: texts drawn before the region labels, which the labels avoid (the arrows' destinations)
        self.obstacles: list = []
        #: (lon, lat) of the arrows' tips, which the region labels avoid too (most have no label)
        self.tips: list[tuple[float, float]] = []

    def links(self, roads: pd.DataFrame) -> set[str]:
        """Draw the logistics links between regions (roads = the thinned road links)."""
        drawn = set()
        other = self.geo.links.loc[self.geo.links["mode"] != "road"]
        for frame in (roads, other):
            for o, d, mode in frame[["from", "to", "mode"]].itertuples(index=False):
                if o in self.idx and d in self.idx and o != d:
                    colour, ls, lw = MODE_STYLE.get(mode, OTHER_MODE)
                    i, j = self.idx[o], self.idx[d]
                    self.ax.plot(
                        [self.lon[i], self.lon[j]],
                        [self.lat[i], self.lat[j]],
                        color=colour,
                        ls=ls,
                        lw=lw,
                        alpha=0.85,
                        zorder=1,
                        solid_capstyle="round",
                    )
                    drawn.add(mode)
        return drawn

    def external(self, span: float, crowded: tuple | None) -> set[str]:
        """Short arrows towards places off the map (gateways, hubs), one label per destination.

        Several regions' arrows to one place (DOM from CD and from WZ) get one label, at the arrow
        whose tip is nearest the place, preferring arrows from outside the crowded core (``crowded``,
        the zoomed box): a label per arrow repeated the name, overlapping where tips are close."""
        places = self.geo.places.set_index("place") if len(self.geo.places) else None
        if places is None:
            return set()
        seen: dict[tuple[str, str], str] = {}
        for o, d, mode in self.geo.links[["from", "to", "mode"]].itertuples(index=False):
            if (o in self.idx) != (d in self.idx):
                inside, outside = (o, d) if o in self.idx else (d, o)
                seen.setdefault((inside, outside), mode)
        arrows = []
        for (inside, outside), mode in sorted(seen.items()):
            if outside not in places.index:
                continue
            i = self.idx[inside]
            tx, ty = float(places.loc[outside, "lon"]), float(places.loc[outside, "lat"])
            dx, dy = (tx - self.lon[i]) * self.coslat, ty - self.lat[i]
            norm = math.hypot(dx, dy) or 1.0
            ex = self.lon[i] + dx / norm * 0.1 * span / self.coslat
            ey = self.lat[i] + dy / norm * 0.1 * span
            in_core = (
                crowded is not None
                and crowded[0] <= self.lon[i] <= crowded[1]
                and crowded[2] <= self.lat[i] <= crowded[3]
            )
            # what picks the labelled arrow: outside the core first, then the tip nearest the place
            rank = (in_core, math.hypot((tx - ex) * self.coslat, ty - ey))
            arrows.append((outside, mode, i, ex, ey, dx < 0, rank))
        owner = {}
        for k, (outside, *_, rank) in enumerate(arrows):
            if outside not in owner or rank < arrows[owner[outside]][-1]:
                owner[outside] = k
        drawn = set()
        for k, (outside, mode, i, ex, ey, left, _) in enumerate(arrows):
            colour, ls, _ = MODE_STYLE.get(mode, OTHER_MODE)
            self.marks.append((ex, ey))  # the tip
            self.tips.append((ex, ey))
            self.ax.annotate(
                "",
                xy=(ex, ey),
                xytext=(self.lon[i], self.lat[i]),
                arrowprops={"arrowstyle": "-|>", "color": colour, "lw": 1.1, "ls": ls},
                zorder=1,
                annotation_clip=False,
            )
            drawn.add(mode)
            if owner[outside] != k:
                continue
            # the label on the far side of the tip, not over its own arrow
            side = -1.0 if left else 1.0
            self.marks.append((ex + side * 0.06 * span / self.coslat, ey))
            self.obstacles.append(
                self.ax.text(
                    ex,
                    ey,
                    f"{outside} " if left else f" {outside}",
                    fontsize=6.5,
                    color=colour,
                    ha="right" if left else "left",
                    va="center",
                    zorder=4,
                    clip_on=False,  # a tip near the frame: the label runs past it, not cut
                )
            )
            _clear_of(self.ax, self.obstacles[-1], self.obstacles[:-1])
        return drawn

    def supplier_flows(self) -> None:
        if self.flows is None or not len(self.flows):
            return
        vmax = float(self.flows.max())
        for (a, b), v in self.flows.items():
            if a in self.idx and b in self.idx and v > 0.05 * vmax:
                i, j = self.idx[a], self.idx[b]
                self.ax.plot(
                    [self.lon[i], self.lon[j]],
                    [self.lat[i], self.lat[j]],
                    color=FLOW_COLOUR,
                    alpha=0.35,
                    lw=0.5 + 5.0 * v / vmax,
                    solid_capstyle="round",
                    zorder=0.5,
                )

    def pies(self, pie_scale: float, label_size: float, skip: tuple | None) -> None:
        """Pies of firms by sector; the largest has radius ``pie_scale`` x the axis' lon/lat span.
        Labels go beside their pie where they cover no other label or pie (:func:`_place_labels`)."""
        colours = list(
            sector_colours(self.geo.sectors or [str(k) for k in range(self.n_rs.shape[1])]).values()
        )
        totals = self.n_rs.sum(axis=1)
        x0, x1 = self.ax.get_xlim()
        y0, y1 = self.ax.get_ylim()
        span = max(x1 - x0, y1 - y0)
        rmax = pie_scale * span
        tmax = max(float(totals.max()), 1.0)
        types = list(self.geo.regions["type"])
        labels: list[tuple[int, float]] = []
        for i in range(len(self.ids)):
            if not (x0 <= self.lon[i] <= x1 and y0 <= self.lat[i] <= y1):
                continue
            rad = rmax * math.sqrt(totals[i] / tmax) if totals[i] > 0 else 0.008 * span
            tr = _ellipse(self.ax, self.lon[i], self.lat[i], self.coslat)
            start = 90.0
            for k in range(self.n_rs.shape[1]):
                if totals[i] <= 0 or self.n_rs[i, k] <= 0:
                    continue
                ang = 360.0 * self.n_rs[i, k] / totals[i]
                w = Wedge(
                    (self.lon[i], self.lat[i]),
                    rad,
                    start,
                    start + ang,
                    facecolor=colours[k],
                    edgecolor="white",
                    lw=0.3,
                )
                w.set_transform(tr)
                w.set_zorder(3)
                self.ax.add_patch(w)
                start += ang
            ftz = types[i] == "ftz"
            ring = Wedge(
                (self.lon[i], self.lat[i]),
                rad,
                0,
                360,
                fill=False,
                edgecolor="black" if ftz else "#555555",
                lw=1.8 if ftz else 0.6,
            )
            ring.set_transform(tr)
            ring.set_zorder(3.5)
            self.ax.add_patch(ring)
            if (
                skip is not None
                and skip[0] <= self.lon[i] <= skip[1]
                and skip[2] <= self.lat[i] <= skip[3]
            ):
                continue
            lx = self.lon[i] + rad / self.coslat * 1.05
            self.marks += [(lx, self.lat[i] + rad), (lx + 0.1 * span, self.lat[i] + rad)]
            labels.append((i, rad))
        texts = [
            self.ax.text(
                self.lon[i],
                self.lat[i],
                f"{self.ids[i]} ({totals[i]:.0f})",
                fontsize=label_size,
                fontweight="bold" if types[i] == "ftz" else "normal",
                zorder=5,
                bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.7},
            )
            for i, _ in labels
        ]
        _place_labels(
            self.ax,
            texts,
            [(self.lon[i], self.lat[i], rad / self.coslat, rad) for i, rad in labels],
            self.obstacles,
            self.tips,
        )


def _renderer(fig: Any) -> Any:
    get = getattr(fig.canvas, "get_renderer", None)
    return get() if get is not None else fig._get_renderer()


def _clear_of(ax: Any, text: Any, others: list) -> None:
    """Move ``text`` down a line at a time (at most four) until it overlaps none of ``others`` (two
    arrows to nearby places, e.g. EC and DOM from the same region, end at almost the same point)."""
    renderer = _renderer(ax.figure)
    ax.apply_aspect()
    boxes = [o.get_window_extent(renderer) for o in others]
    for _ in range(4):
        ext = text.get_window_extent(renderer)
        if not any(_overlap(ext, b) for b in boxes):
            return
        x, y = ax.transData.transform(text.get_position())
        text.set_position(ax.transData.inverted().transform((x, y - ext.height)))


def _gap(a: Any, b: Any) -> float:
    """Distance (display px) between two bounding boxes; 0 when they touch or overlap."""
    dx = max(b.x0 - a.x1, a.x0 - b.x1, 0.0)
    dy = max(b.y0 - a.y1, a.y0 - b.y1, 0.0)
    return math.hypot(dx, dy)


def _overlap(a: Any, b: Any) -> float:
    """Area (display px^2) shared by two bounding boxes."""
    w = min(a.x1, b.x1) - max(a.x0, b.x0)
    h = min(a.y1, b.y1) - max(a.y0, b.y0)
    return w * h if w > 0 and h > 0 else 0.0


def _place_labels(
    ax: Any,
    texts: list,
    anchors: list[tuple[float, float, float, float]],
    avoid: list = (),
    points: Iterable[tuple[float, float]] = (),
) -> None:
    """Put each label beside its pie (``anchors``: lon, lat and the pie's half-width and half-height
    in data units) at the first of ten positions around it (right, left, above, below, the corners),
    or the same a line or two further out, that overlaps no label placed before, no pie, no text of
    ``avoid`` and none of the ``points`` (lon, lat: the arrows' tips), stays in the axes and is nearer its own pie than any other (a label read as another
    region's is the worst placement); when none is free, the one that costs least.  Largest pies
    first, so the biggest regions keep the default place (right)."""
    from matplotlib.transforms import Bbox

    fig = ax.figure
    renderer = _renderer(fig)
    ax.apply_aspect()
    to_px = ax.transData.transform
    pies = []
    for x, y, rx, ry in anchors:
        (a, b), (c, d) = to_px([(x - rx, y - ry), (x + rx, y + ry)])
        pies.append(Bbox([[a, b], [c, d]]))
    frame = ax.get_window_extent(renderer)
    placed: list = [t.get_window_extent(renderer) for t in avoid]
    tip = 4.0  # px around a point that a label should leave clear
    pts = np.reshape(np.asarray(list(points), dtype=float), (-1, 2))
    dots = [Bbox([[x - tip, y - tip], [x + tip, y + tip]]) for x, y in to_px(pts)]
    gap = 2.0  # px between a pie and its label
    order = sorted(range(len(texts)), key=lambda k: -(pies[k].width * pies[k].height))
    for k in order:
        t = texts[k]
        p = pies[k]
        ext = t.get_window_extent(renderer)
        w, h = ext.width, ext.height
        cx, cy = (p.x0 + p.x1) / 2, (p.y0 + p.y1) / 2
        spots = []
        for far in (0.0, h, 2.0 * h, 3.0 * h):  # around the pie, then up to three lines further out
            spots += [
                (p.x1 + gap, cy - h / 2 + 0.3 * p.height / 2 + far),  # right (the default)
                (p.x1 + gap, cy - h / 2 - far),
                (p.x0 - gap - w, cy - h / 2 + far),  # left
                (p.x0 - gap - w, cy - h / 2 - far),
                (cx - w / 2, p.y1 + gap + far),  # above
                (cx - w / 2, p.y0 - gap - h - far),  # below
                (p.x1, p.y1 + far),  # the corners
                (p.x1, p.y0 - h - far),
                (p.x0 - w, p.y1 + far),
                (p.x0 - w, p.y0 - h - far),
            ]
        best, best_cost = spots[0], math.inf
        for sx, sy in spots:
            box = Bbox([[sx, sy], [sx + w, sy + h]])
            # any overlap with another label is the worst (it hides text), whatever its area
            cost = sum(2.0 * w * h + _overlap(box, q) for q in placed if _overlap(box, q) > 0)
            cost += sum(_overlap(box, q) for j, q in enumerate(pies) if j != k)
            cost += sum(_overlap(box, q) for q in dots)
            outside = w * h - _overlap(box, frame)
            cost += 2.0 * outside
            own = _gap(box, p)
            if any(_gap(box, q) < own for j, q in enumerate(pies) if j != k):
                cost += w * h  # nearer another pie: read as that region's label
            if cost < best_cost:
                best, best_cost = (sx, sy), cost
            if cost == 0:
                break
        sx, sy = best
        box = Bbox([[sx, sy], [sx + w, sy + h]])
        placed.append(box)
        t.set_position(ax.transData.inverted().transform((sx, sy)))
        t.set_ha("left")
        t.set_va("bottom")
        own = _gap(box, p)
        if own > gap + 1.0 and any(_gap(box, q) < own for j, q in enumerate(pies) if j != k):
            # no free spot beside its own pie: a leader line says whose label it is
            ex = min(max(cx, box.x0), box.x1)
            ey = min(max(cy, box.y0), box.y1)
            inv = ax.transData.inverted().transform
            (x0, y0), (x1, y1) = inv((cx, cy)), inv((ex, ey))
            ax.plot([x0, x1], [y0, y1], color="0.35", lw=0.5, zorder=t.get_zorder() - 0.1)
            t.set_gid("leader")  # (tests: a label with a leader line may sit nearer another pie)


def _core_box(
    lon: np.ndarray, lat: np.ndarray, span: float
) -> tuple[float, float, float, float] | None:
    """A zoom box around the densest group of regions, or None if nothing is crowded."""
    if len(lon) < 4:
        return None
    d = np.hypot(lon[:, None] - lon[None, :], lat[:, None] - lat[None, :])
    counts = (d < 0.08 * span).sum(axis=1)
    c = int(np.argmax(counts))
    if counts[c] < 3:
        return None
    members = np.flatnonzero(d[c] < 0.10 * span)
    pad = 0.06 * span
    return (
        float(lon[members].min() - pad),
        float(lon[members].max() + pad),
        float(lat[members].min() - pad),
        float(lat[members].max() + pad),
    )


def _free_corner(
    lon: np.ndarray,
    lat: np.ndarray,
    view: tuple[float, float, float, float],
    marks: Iterable[tuple[float, float]] = (),
    box: tuple[float, float, float, float] | None = None,
) -> list[float]:
    """Inset position (axes fraction): the largest inset in a corner (or at the middle of the top or
    bottom edge) that covers no region, no mark (arrow tips, labels) and not the zoomed box itself;
    when every such place is taken, outside the map to the right, below the sector legend."""
    x0, x1, y0, y1 = view
    pts = np.array([*zip(lon, lat, strict=True), *marks], dtype=float).reshape(-1, 2)
    fx, fy = (pts[:, 0] - x0) / (x1 - x0), (pts[:, 1] - y0) / (y1 - y0)
    zoom = None
    if box is not None:
        zoom = ((box[0] - x0) / (x1 - x0), (box[1] - x0) / (x1 - x0))
        zoom += ((box[2] - y0) / (y1 - y0), (box[3] - y0) / (y1 - y0))
    pad = 0.03
    for size in (0.48, 0.42):  # smaller insets are illegible: then beside the map, larger
        for cy in (1.0 - size - 0.02, 0.02):
            for cx in (0.01, 0.99 - size, 0.5 - size / 2):
                lo_x, hi_x, lo_y, hi_y = cx - pad, cx + size + pad, cy - pad, cy + size + pad
                hit = ((fx >= lo_x) & (fx <= hi_x) & (fy >= lo_y) & (fy <= hi_y)).any()
                if zoom is not None:
                    hit |= zoom[0] < hi_x and zoom[1] > lo_x and zoom[2] < hi_y and zoom[3] > lo_y
                if not hit:
                    return [cx, cy, size, size]
    return [1.03, 0.0, 0.52, 0.52]  # resized by _beside_inset once the map's axes are laid out


#: The small inset beside a narrow map (axes fraction): top right, room for its title above; the sector
#: legend hangs from its lower edge (``_SMALL_BESIDE[1]``).
_SMALL_BESIDE = (1.03, 0.42, 0.5, 0.5)
#: Extra width [inches] of :func:`region_map_figure` for the tall inset beside the map.
_INSET_EXTRA_IN = 2.6
#: Least room [inches] right of the map for the tall inset beside it (else the small one of old).
_TALL_INSET_ROOM_IN = 2.5


def _beside_inset(
    ax: Any, box: tuple[float, float, float, float], coslat: float
) -> tuple[list[float], bool]:
    """Inset position (axes fraction) beside the map and whether it is the tall one.  When the figure
    has room right of the map (:func:`region_map_figure` makes it), the inset is as tall as the map
    (the zoomed core at the largest legible scale; the sector legend goes under it) and as wide as
    the zoomed box's aspect asks, so its equal aspect does not shrink the frame, at most 3 inches;
    else (a narrow figure such as the dashboard's) the small inset at the top right, the sector legend
    under it (a legend above it ran into its title)."""
    fig = ax.figure
    ax.apply_aspect()
    pos = ax.get_position()
    w_in, h_in = pos.width * fig.get_figwidth(), pos.height * fig.get_figheight()
    room_in = fig.get_figwidth() * (1.0 - pos.x1) - 0.03 * w_in - 0.05
    if room_in < _TALL_INSET_ROOM_IN:
        return list(_SMALL_BESIDE), False
    height_in = h_in - 0.2  # room for the inset's title
    aspect = (box[1] - box[0]) * coslat / max(box[3] - box[2], 1e-9)
    width_in = min(height_in * aspect, 3.0, room_in)
    height_in = width_in / aspect
    return [1.03, 1.0 - 0.2 / h_in - height_in / h_in, width_in / w_in, height_in / h_in], True


def draw_region_map(
    ax: Any,
    n_rs: np.ndarray,
    geo: MapData,
    *,
    flows: pd.Series | None = None,
    inset: bool = True,
    title: str | None = None,
) -> None:
    """Draw the map of firm counts ``n_rs`` (regions x sectors, in ``geo`` order) on ``ax``."""
    lon = geo.regions["lon"].to_numpy(dtype=float)
    lat = geo.regions["lat"].to_numpy(dtype=float)
    span = max(float(np.ptp(lon)), float(np.ptp(lat)), 0.5)
    coslat = math.cos(math.radians(float(np.mean(lat)))) or 1.0
    pad = 0.12 * span
    view = (lon.min() - pad, lon.max() + pad, lat.min() - pad, lat.max() + pad)
    roads, n_roads = thin_roads(geo.links, geo.regions.rename(columns={"region": "place"}))
    box = _core_box(lon, lat, span) if inset else None
    ax.set_xlim(view[0], view[1])
    ax.set_ylim(view[2], view[3])
    ax.set_aspect(1.0 / coslat)
    layer = _Layer(ax, geo, n_rs, coslat, flows)
    drawn = layer.links(roads) | layer.external(span, box)
    if layer.marks:  # the arrows' tips and labels inside the frame, not on it
        mx, my = np.array(layer.marks, dtype=float).T
        margin = 0.04 * span
        view = (
            min(view[0], float(mx.min()) - margin / coslat),
            max(view[1], float(mx.max()) + margin / coslat),
            min(view[2], float(my.min()) - margin),
            max(view[3], float(my.max()) + margin),
        )
        ax.set_xlim(view[0], view[1])
        ax.set_ylim(view[2], view[3])
    layer.supplier_flows()
    layer.pies(0.025, 7.0, box)
    beside = False  # the inset beside the map
    tall = False  # ... as tall as the map, the sector legend under it (else under the legend)
    if box is not None:
        where = _free_corner(lon, lat, view, layer.marks, box)
        beside = where[0] > 1.0
        if beside:
            where, tall = _beside_inset(ax, box, coslat)
        sub = ax.inset_axes(where)
        if beside and not tall:
            sub.set_anchor("N")  # its equal aspect shrinks it away from the legend, not into it
        sub.set_xlim(box[0], box[1])
        sub.set_ylim(box[2], box[3])
        sub.set_aspect(1.0 / coslat)
        zoom = _Layer(sub, geo, n_rs, coslat, flows)
        zoom.links(roads)
        zoom.supplier_flows()
        zoom.pies(0.045, 7.0, None)  # labels as large as the main map's
        sub.set_xticks([])
        sub.set_yticks([])
        sub.set_facecolor("white")  # the main map's lines do not show through
        for spine in sub.spines.values():  # a closed frame (the house style drops top and right)
            spine.set_visible(True)
            spine.set_edgecolor("#555555")
        sub.set_title("metropolitan core (zoom)", fontsize=7, pad=2)
        indicator = ax.indicate_inset_zoom(sub, edgecolor="#555555")
        # matplotlib >= 3.10: an InsetIndicator; before: (rectangle, connectors)
        lines = getattr(indicator, "connectors", None) or indicator[1]
        if beside and lines:
            # the upper connector runs across the map (over its labels); the lower one suffices
            lines[1].set_visible(False)
            lines[3].set_visible(False)
    ax.set_xlabel("longitude (°E)")
    ax.set_ylabel("latitude (°N)")
    if title:
        ax.set_title(title)
    sectors = list(geo.sectors)
    colours = sector_colours(sectors)
    # figure-level legends placed against the axes: unlike a second Axes legend they count in a
    # tight bounding box (savefig(bbox_inches="tight"), the dashboard's inline rendering)
    # beside the map, or under the inset beside it (the inset then takes the map's full height)
    ax.figure.legend(
        handles=[Patch(facecolor=colours[s], label=s) for s in sectors],
        title="firms by sector",
        ncol=(3 if tall else 2) if beside and len(sectors) > 5 else 1,
        fontsize=7,
        title_fontsize=7.5,
        loc="upper left",
        bbox_to_anchor=(1.01, -0.02 if tall else _SMALL_BESIDE[1] - 0.02)
        if beside
        else (1.01, 1.0),
        bbox_transform=ax.transAxes,
        frameon=False,
        columnspacing=0.8,
    )
    handles = []
    for mode in [m for m in MODE_STYLE if m in drawn] + sorted(drawn - set(MODE_STYLE)):
        colour, ls, lw = MODE_STYLE.get(mode, OTHER_MODE)
        label = f"road ({len(roads)} of {n_roads} links shown)" if mode == "road" else mode
        handles.append(Line2D([0], [0], color=colour, ls=ls, lw=lw, label=label))
    handles += [
        Line2D(
            [0],
            [0],
            marker="o",
            ls="",
            markerfacecolor="none",
            markeredgecolor="black",
            mew=1.8,
            markersize=8,
            label="FTZ area",
        ),
        Line2D(
            [0],
            [0],
            marker="o",
            ls="",
            markerfacecolor="none",
            markeredgecolor="#555555",
            markersize=8,
            label="connected area or other region",
        ),
    ]
    if flows is not None and len(flows):
        handles.append(
            Line2D([0], [0], color=FLOW_COLOUR, alpha=0.5, lw=4, label="supplier flows (value)")
        )
    ax.figure.legend(
        handles=handles,
        fontsize=7,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.13),
        bbox_transform=ax.transAxes,
        ncol=3,
        frameon=False,
        columnspacing=1.2,
    )


def region_map_figure(
    regions: pd.DataFrame,
    geo: MapData,
    *,
    run_ids: Iterable[str] | None = None,
    links: pd.DataFrame | None = None,
    inset: bool = True,
    title: str | None = None,
    note: str | None = None,
    width: float = PAGE_WIDTH_IN,
) -> Figure:
    """The region map (see the module docstring) of the mean firms over ``run_ids`` (all runs of
    ``regions`` when None); ``links`` (supplier links) adds the flows between regions."""
    n_rs = _firm_matrix(regions, geo, run_ids)
    flows = None
    if links is not None and len(links):
        sel = links
        if run_ids is not None and "run_id" in links.columns:
            sel = links.loc[links["run_id"].astype(str).isin({str(r) for r in run_ids})]
        flows = flows_between_regions(sel)
    with matplotlib.rc_context(STYLE):
        # the map keeps its size; room on the right for a tall inset of the core beside it
        total = width + (_INSET_EXTRA_IN if inset else 0.0)
        fig = Figure(figsize=(total, width * 0.68))
        ax = fig.subplots()
        fig.subplots_adjust(
            left=0.09 * width / total, right=0.78 * width / total, bottom=0.2, top=0.93
        )
        draw_region_map(
            ax,
            n_rs,
            geo,
            flows=flows,
            inset=inset,
            title=title or "Firms by sector and the logistics network (pie area ~ firms)",
        )
        footer(
            fig,
            " ".join(
                t
                for t in (
                    "Road links: relative-neighbourhood skeleton of the road graph (a link is left out when a third region is closer to both ends).",
                    note,
                )
                if t
            ),
        )
        return fig


# ----------------------------------------------------------------------------------------- live model
def region_map(
    model: Any,
    ax: Any = None,
    *,
    show_flows: bool = True,
    inset: bool = True,
    title: str | None = None,
) -> Any:
    """Draw the live ``model``'s map on ``ax`` (a new figure when None); returns the Axes."""
    geo = map_data_from_model(model)
    table = model.region_table()
    n_rs = _firm_matrix(table, geo, None)
    flows = flows_between_regions(model.links_frame()) if show_flows else None
    if ax is None:
        ax = Figure(figsize=(PAGE_WIDTH_IN, PAGE_WIDTH_IN * 0.68)).subplots()
    step = getattr(model, "t", None)
    draw_region_map(
        ax,
        n_rs,
        geo,
        flows=flows,
        inset=inset,
        title=title or f"Firms by sector and the logistics network, step {step} (pie area ~ firms)",
    )
    return ax


# ----------------------------------------------------------------------------------------- supplier network
def spread_circles(
    x: np.ndarray, y: np.ndarray, r: np.ndarray, *, iterations: int = 400, anchor: float = 0.02
) -> np.ndarray:
    """Move circles (centres x, y; radii r, same units) apart until they do not overlap.

    Each iteration pushes every overlapping pair apart by half their overlap and pulls each circle back
    towards its true position by ``anchor`` x its displacement.  Deterministic; returns (n, 2) centres.
    """
    true = np.column_stack([x, y]).astype(float)
    pos = true.copy()
    r = np.broadcast_to(np.asarray(r, dtype=float), (len(pos),))
    need = r[:, None] + r[None, :]
    np.fill_diagonal(need, 0.0)
    n = len(pos)
    pos += 1e-6 * np.column_stack([np.cos(np.arange(n)), np.sin(np.arange(n))])
    for _ in range(iterations):
        delta = pos[:, None, :] - pos[None, :, :]
        dist = np.hypot(delta[..., 0], delta[..., 1])
        np.fill_diagonal(dist, np.inf)
        overlap = np.clip(need - dist, 0.0, None)
        if not (overlap > 1e-9).any():
            break
        pos += ((overlap / (2 * dist))[..., None] * delta).sum(axis=1)
        pos -= anchor * (pos - true)
    return pos


def _sunflower(
    nodes: pd.DataFrame, centres: pd.DataFrame, spacing: float
) -> dict[Any, tuple[float, float]]:
    c = centres.set_index("region")
    rank = nodes.groupby("region").cumcount().to_numpy()
    golden = math.pi * (3 - math.sqrt(5))
    rad = spacing * np.sqrt(rank + 0.5)
    x = c.loc[nodes["region"], "lon"].to_numpy(dtype=float) + rad * np.cos(rank * golden)
    y = c.loc[nodes["region"], "lat"].to_numpy(dtype=float) + rad * np.sin(rank * golden)
    return dict(zip(nodes["node"], zip(x, y)))


def supplier_network_figure(
    links: pd.DataFrame,
    geo: MapData,
    *,
    max_links: int = 4000,
    title: str | None = None,
    note: str | None = None,
) -> Figure:
    """Supplier links of one run between firms drawn in a cluster around their region (moved apart
    where clusters would overlap): within-region links blue, between-region links orange; imports are
    counted, not drawn; beyond ``max_links`` domestic links the most valuable are drawn."""
    need = {"buyer", "supplier", "buyer_region", "supplier_region"}
    if not need <= set(links.columns):
        raise InputError(f"the links table needs columns {', '.join(sorted(need))}", field="links")
    coords = geo.regions
    known = set(coords["region"])
    dom = links.loc[
        (links["supplier"] >= 0)
        & links["supplier_region"].isin(known)
        & links["buyer_region"].isin(known)
    ]
    dom = dom.loc[dom["buyer"] != dom["supplier"]]
    n_imports, n_dom = int((links["supplier"] < 0).sum()), len(dom)
    # the legend's shares are of every domestic link, not only of the drawn ones (by count)
    between_all = float((dom["buyer_region"] != dom["supplier_region"]).mean()) if n_dom else 0.0
    if n_dom > max_links:
        dom = dom.nlargest(max_links, "value") if "value" in dom.columns else dom.head(max_links)
    nodes = (
        pd.concat(
            [
                dom[["buyer", "buyer_region"]].set_axis(["node", "region"], axis=1),
                dom[["supplier", "supplier_region"]].set_axis(["node", "region"], axis=1),
            ]
        )
        .drop_duplicates("node")
        .sort_values(["region", "node"], kind="stable")
    )
    counts = nodes["region"].value_counts().reindex(coords["region"]).fillna(0).to_numpy()
    spacing = 0.12 / math.sqrt(max(counts.max(), 1))
    cos0 = math.cos(math.radians(float(coords["lat"].mean())))
    gx, gy = coords["lon"].to_numpy(dtype=float) * cos0, coords["lat"].to_numpy(dtype=float)
    placed = spread_circles(gx, gy, spacing * np.sqrt(counts + 1) + 0.01)
    moved = np.hypot(placed[:, 0] - gx, placed[:, 1] - gy) > 0.005
    centres = coords.assign(lon=placed[:, 0] / cos0, lat=placed[:, 1])
    pos = _sunflower(nodes, centres, spacing)
    inter = (dom["buyer_region"] != dom["supplier_region"]).to_numpy()
    seg = np.array([[pos[s], pos[b]] for s, b in zip(dom["supplier"], dom["buyer"])]).reshape(
        -1, 2, 2
    )
    from matplotlib.collections import LineCollection

    lon, lat = coords["lon"].to_numpy(dtype=float), coords["lat"].to_numpy(dtype=float)
    # as tall as the map's equal-aspect frame needs at the page's width (a fixed 5.2 inches left a
    # blank band under a wide map), plus title, axis labels and footer
    aspect = (np.ptp(lat) + 0.6) / max((np.ptp(lon) + 0.6) * cos0, 1e-9)
    height = min(max((PAGE_WIDTH_IN - 1.0) * aspect + 1.6, 3.5), 8.0)
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(PAGE_WIDTH_IN, height))
        ax = fig.subplots()
        ax.set_xlim(lon.min() - 0.3, lon.max() + 0.3)
        ax.set_ylim(lat.min() - 0.3, lat.max() + 0.3)
        ax.set_aspect(1 / cos0)
        # the many links between regions fade with their number, so the dense core shows where they
        # bunch instead of a solid orange block (alpha 0.25 for a few hundred links, down to 0.05)
        fade = float(np.clip(4.0 / math.sqrt(max(int(inter.sum()), 1)), 0.05, 0.25))
        ax.add_collection(LineCollection(seg[inter], colors="#D55E00", alpha=fade, linewidths=0.4))
        ax.add_collection(LineCollection(seg[~inter], colors="#0072B2", alpha=0.8, linewidths=0.6))
        xy = np.array([pos[n] for n in nodes["node"]]) if len(nodes) else np.zeros((0, 2))
        # a firm's dot grows with its links, so the hubs of each group stand out
        degree = (
            pd.concat([dom["buyer"], dom["supplier"]]).value_counts().reindex(nodes["node"])
        ).to_numpy(dtype=float)
        size = 0.8 + 6.0 * degree / degree.max() if len(degree) else degree
        ax.scatter(xy[:, 0], xy[:, 1], s=size, color="0.2", alpha=0.7, lw=0, zorder=2)
        ax.scatter(lon, lat, s=10, marker="x", color="0.2", zorder=3, lw=0.8)
        texts, anchors = [], []
        for i, row in enumerate(centres.itertuples(index=False)):
            if moved[i]:
                ax.plot([lon[i], row.lon], [lat[i], row.lat], color="0.3", lw=0.6, ls=":", zorder=3)
            r_deg = spacing * math.sqrt(counts[i] + 1)
            anchors.append((row.lon, row.lat, r_deg / cos0, r_deg))
            texts.append(
                ax.text(
                    row.lon,
                    row.lat,
                    str(row.region),
                    fontsize=7.5,
                    fontweight="bold",
                    zorder=4,
                    bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.85},
                )
            )
        ax.set_xlabel("longitude (°E)")
        ax.set_ylabel("latitude (°N)")
        share = between_all
        ax.legend(
            handles=[
                Line2D(
                    [], [], color="#0072B2", label=f"within a region ({100 * (1 - share):.0f}%)"
                ),
                Line2D([], [], color="#D55E00", label=f"between regions ({100 * share:.0f}%)"),
            ],
            loc="upper left",
            frameon=False,
            title=f"supplier link (% of all {n_dom:,} domestic links)",
        )
        shown = f"{len(dom):,} largest of {n_dom:,}" if n_dom > len(dom) else f"{n_dom:,}"
        ax.set_title(title or "Supplier network")
        fig.tight_layout()
        # each region's name beside its own group, clear of the other groups and names (the core's
        # names sat on their neighbours' groups)
        _place_labels(ax, texts, anchors)
        text = f"{shown} domestic links between {len(nodes):,} firms; {n_imports:,} import links via gateways not drawn."
        text += " A firm's dot grows with its number of links."
        if moved.any():
            text += " Firm groups moved apart to avoid overlap; dotted lines lead to the region's location (x)."
        footer(fig, " ".join(t for t in (text, note) if t))
        return fig
