"""Map of the regions: firm composition by sector and the logistics network by mode.

:func:`region_map` draws on a given matplotlib Axes (reused by the dashboard and the analysis figures);
:func:`save_region_map` writes a PNG.  Each region is a pie at its (lon, lat): area proportional to its
number of live firms, wedges = sectors.  Logistics links between regions are drawn as lines coloured by
mode; links to places outside the map (gateways, transit hubs) as short arrows pointing towards them,
labelled with the destination.  Optional: supplier flows between regions (grey, width proportional to
value).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

MODE_STYLE = {
    "road": ("#b0b0b0", "-"),
    "rail": ("#d62728", "-"),
    "river": ("#1f77b4", "-"),
    "sea": ("#17becf", "--"),
    "air": ("#9467bd", ":"),
}


def _sector_colors(n: int) -> list:
    import matplotlib

    cmap = matplotlib.colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(n)]


def _network_links(world) -> list[tuple[str, str, str]]:
    net = (getattr(world, "extra", None) or {}).get("network")
    links = getattr(net, "links", None) or ()
    out = []
    for rec in links:
        o = getattr(rec, "origin", None)
        d = getattr(rec, "dest", None)
        m = getattr(rec, "mode", None)
        if o is not None and d is not None and m is not None:
            out.append((str(o), str(d), str(m)))
    return out


def _place_coords(model) -> dict[str, tuple[float, float]]:
    """Coordinates of regions, plus gateways and transit hubs when the scenario data carries them."""
    world = model.world
    coords = {
        str(r): (float(x), float(y)) for r, x, y in zip(world.region_ids, world.lon, world.lat)
    }
    data = getattr(getattr(model, "spec", None), "data", None)
    for table, key in (("gateways", "gateway_id"), ("hubs", "hub_id")):
        for rec in getattr(data, table, None) or ():
            pid = getattr(rec, key, None)
            if pid is not None and getattr(rec, "lon", None) is not None:
                coords[str(pid)] = (float(rec.lon), float(rec.lat))
    return coords


def _draw_layer(
    ax: Any,
    model: Any,
    n_rs: np.ndarray,
    view: tuple[float, float, float, float],
    coslat: float,
    flows: Any,
    *,
    label_size: float = 7.5,
    arrows: bool = True,
    pie_scale: float = 0.035,
    skip_labels: tuple[float, float, float, float] | None = None,
) -> set[str]:
    """Links, flows, pies and labels inside the lon/lat box ``view``; return the modes drawn."""
    from matplotlib.patches import Wedge

    world = model.world
    x0, x1, y0, y1 = view
    span = max(x1 - x0, y1 - y0)
    R, S = n_rs.shape
    lon = np.asarray(world.lon, float)
    lat = np.asarray(world.lat, float)
    ids = [str(x) for x in world.region_ids]
    idx = {r: i for i, r in enumerate(ids)}
    coords = _place_coords(model)
    drawn: set[str] = set()
    external: dict[tuple[str, str], str] = {}
    for o, d, mode in _network_links(world):
        color, ls = MODE_STYLE.get(mode, ("#bcbd22", "-"))
        if o in idx and d in idx:
            i, j = idx[o], idx[d]
            lw = 0.6 if mode == "road" else 1.8
            ax.plot(
                [lon[i], lon[j]], [lat[i], lat[j]], color=color, ls=ls, lw=lw, alpha=0.8, zorder=1
            )
            drawn.add(mode)
        elif (o in idx) != (d in idx):
            inside, outside = (o, d) if o in idx else (d, o)
            external.setdefault((inside, outside), mode)
    if arrows:
        labelled: set[str] = set()  # arrows from the crowded core: one label per destination
        for (inside, outside), mode in sorted(external.items()):
            i = idx[inside]
            target = coords.get(outside)
            if target is None:
                continue
            dx, dy = (target[0] - lon[i]) * coslat, target[1] - lat[i]
            norm = math.hypot(dx, dy) or 1.0
            ln = 0.10 * span
            ex, ey = lon[i] + dx / norm * ln / coslat, lat[i] + dy / norm * ln
            color, ls = MODE_STYLE.get(mode, ("#bcbd22", "-"))
            ax.annotate(
                "",
                xy=(ex, ey),
                xytext=(lon[i], lat[i]),
                arrowprops={"arrowstyle": "-|>", "color": color, "lw": 1.2, "ls": ls},
                zorder=1,
            )
            in_core = False
            if skip_labels is not None:
                bx0, bx1, by0, by1 = skip_labels
                in_core = bx0 <= lon[i] <= bx1 and by0 <= lat[i] <= by1
            if not in_core or outside not in labelled:
                ax.text(
                    ex,
                    ey,
                    f" to {outside}",
                    fontsize=6.5,
                    color=color,
                    ha="left",
                    va="center",
                    zorder=4,
                )
                labelled.add(outside)
            drawn.add(mode)
    if flows is not None and len(flows):
        vmax = float(flows.max())
        for (a, b), v in flows.items():
            if a in idx and b in idx and v > 0.02 * vmax:
                i, j = idx[a], idx[b]
                ax.plot(
                    [lon[i], lon[j]],
                    [lat[i], lat[j]],
                    color="#ff7f0e",
                    alpha=0.35,
                    lw=0.5 + 5.0 * v / vmax,
                    solid_capstyle="round",
                    zorder=0.5,
                )
    totals = n_rs.sum(axis=1)
    rmax = pie_scale * span
    tmax = max(float(totals.max()), 1.0)
    colors = _sector_colors(S)
    rtype = np.asarray(world.region_type)
    for i in range(R):
        if not (x0 <= lon[i] <= x1 and y0 <= lat[i] <= y1):
            continue
        rad = rmax * math.sqrt(totals[i] / tmax) if totals[i] > 0 else 0.008 * span
        tr = _ellipse_transform(ax, lon[i], lat[i], coslat)
        start = 90.0
        if totals[i] > 0:
            for k in range(S):
                if n_rs[i, k] <= 0:
                    continue
                ang = 360.0 * n_rs[i, k] / totals[i]
                w = Wedge(
                    (lon[i], lat[i]),
                    rad,
                    start,
                    start + ang,
                    facecolor=colors[k],
                    edgecolor="white",
                    lw=0.3,
                )
                w.set_transform(tr)
                w.set_zorder(3)
                ax.add_patch(w)
                start += ang
        ftz = rtype[i] == "ftz"
        ring = Wedge(
            (lon[i], lat[i]),
            rad,
            0,
            360,
            fill=False,
            edgecolor="black" if ftz else "#555555",
            lw=2.0 if ftz else 0.7,
        )
        ring.set_transform(tr)
        ring.set_zorder(3.5)
        ax.add_patch(ring)
        if skip_labels is not None:
            bx0, bx1, by0, by1 = skip_labels
            if bx0 <= lon[i] <= bx1 and by0 <= lat[i] <= by1:
                continue
        ax.text(
            lon[i] + rad / coslat * 1.05,
            lat[i] + rad * 0.6,
            f"{ids[i]} ({int(totals[i])})",
            fontsize=label_size,
            fontweight="bold" if ftz else "normal",
            ha="left",
            va="bottom",
            zorder=5,
            bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.7},
        )
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect(1.0 / coslat)
    return drawn


def _core_box(
    lon: np.ndarray, lat: np.ndarray, span: float
) -> tuple[float, float, float, float] | None:
    """A zoom box around the densest group of regions, or None if nothing is crowded."""
    n = len(lon)
    if n < 4:
        return None
    d = np.hypot(lon[:, None] - lon[None, :], lat[:, None] - lat[None, :])
    close = d < 0.08 * span
    counts = close.sum(axis=1)
    c = int(np.argmax(counts))
    if counts[c] < 3:
        return None
    members = np.flatnonzero(d[c] < 0.15 * span)
    pad = 0.06 * span
    return (
        float(lon[members].min() - pad),
        float(lon[members].max() + pad),
        float(lat[members].min() - pad),
        float(lat[members].max() + pad),
    )


def _free_corner(
    lon: np.ndarray, lat: np.ndarray, view: tuple[float, float, float, float]
) -> list[float]:
    """Inset position (axes fraction) in the corner of the map holding the fewest regions."""
    x0, x1, y0, y1 = view
    fx = (lon - x0) / (x1 - x0)
    fy = (lat - y0) / (y1 - y0)
    size = 0.42
    corners = {
        (0.01, 0.56): 0,
        (0.57, 0.56): 0,
        (0.01, 0.02): 0,
        (0.57, 0.02): 0,
    }
    for cx, cy in corners:
        inside = (
            (fx >= cx - 0.03)
            & (fx <= cx + size + 0.03)
            & (fy >= cy - 0.03)
            & (fy <= cy + size + 0.03)
        )
        corners[(cx, cy)] = int(inside.sum())
    (cx, cy), _ = min(corners.items(), key=lambda kv: kv[1])
    return [cx, cy, size, size]


def region_map(
    model: Any,
    ax: Any = None,
    *,
    firm_counts: np.ndarray | None = None,
    show_flows: bool = True,
    inset: bool = True,
    title: str | None = None,
) -> Any:
    """Draw the region map on ``ax`` (a new figure if None); return the Axes.

    ``firm_counts`` (R, S) overrides the model's current live firms (e.g. a stored run); flows are then
    not drawn.  ``inset``: add a zoomed view of the crowded metropolitan core.
    """
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    from agglomeration.observe import region_sector

    world = model.world
    if ax is None:
        _, ax = plt.subplots(figsize=(10, 7.5))
    n_rs = (
        region_sector(model.firms, world.n_regions, world.n_sectors, None)
        if firm_counts is None
        else np.asarray(firm_counts, float)
    )
    S = n_rs.shape[1]
    lon = np.asarray(world.lon, float)
    lat = np.asarray(world.lat, float)
    span = max(float(np.ptp(lon)), float(np.ptp(lat)), 0.5)
    coslat = math.cos(math.radians(float(np.mean(lat)))) or 1.0
    flows = None
    if show_flows and firm_counts is None:
        links = model.links_frame()
        if len(links):
            dom = links[
                (links["supplier"] >= 0) & (links["buyer_region"] != links["supplier_region"])
            ]
            key = np.where(
                dom["supplier_region"] < dom["buyer_region"],
                dom["supplier_region"] + "|" + dom["buyer_region"],
                dom["buyer_region"] + "|" + dom["supplier_region"],
            )
            agg = dom.groupby(key)["value"].sum()
            flows = pd.Series(agg.to_numpy(), index=[tuple(k.split("|")) for k in agg.index])
    pad = 0.12 * span
    view = (lon.min() - pad, lon.max() + pad, lat.min() - pad, lat.max() + pad)
    box = _core_box(lon, lat, span) if inset else None
    drawn = _draw_layer(ax, model, n_rs, view, coslat, flows, skip_labels=box, pie_scale=0.025)
    if box is not None:
        sub = ax.inset_axes(_free_corner(lon, lat, view))
        _draw_layer(
            sub, model, n_rs, box, coslat, flows, label_size=6.5, arrows=False, pie_scale=0.07
        )
        sub.set_xticks([])
        sub.set_yticks([])
        sub.set_title("metropolitan core (zoom)", fontsize=7, pad=2)
        ax.indicate_inset_zoom(sub, edgecolor="#555555")
    ax.set_xlabel("longitude [°E]")
    ax.set_ylabel("latitude [°N]")
    ax.set_title(
        title
        or f"Firms by sector and logistics links, step {getattr(model, 't', '')} (pie area ∝ firms)",
        fontsize=10,
    )
    colors = _sector_colors(S)
    sector_handles = [Patch(facecolor=colors[k], label=str(world.sector_ids[k])) for k in range(S)]
    mode_handles = [
        Line2D(
            [0],
            [0],
            color=MODE_STYLE.get(m, ("#bcbd22", "-"))[0],
            ls=MODE_STYLE.get(m, ("", "-"))[1],
            lw=0.8 if m == "road" else 1.8,
            label=f"{m} link",
        )
        for m in sorted(drawn)
    ]
    extra = [
        Line2D(
            [0],
            [0],
            marker="o",
            ls="",
            markerfacecolor="none",
            markeredgecolor="black",
            mew=2.0,
            markersize=9,
            label="FTZ area",
        ),
        Line2D(
            [0],
            [0],
            marker="o",
            ls="",
            markerfacecolor="none",
            markeredgecolor="#555555",
            markersize=9,
            label="connected area",
        ),
    ]
    extra.append(
        Line2D(
            [0],
            [0],
            color="#555555",
            marker=">",
            markevery=[1],
            lw=1.0,
            label="to gateway / hub (off map)",
        )
    )
    if flows is not None:
        extra.append(
            Line2D([0], [0], color="#ff7f0e", alpha=0.5, lw=4, label="supplier flows (value)")
        )
    leg1 = ax.legend(
        handles=sector_handles,
        title="firms by sector",
        fontsize=7,
        title_fontsize=8,
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        frameon=False,
    )
    ax.add_artist(leg1)
    ax.legend(
        handles=mode_handles + extra,
        title="map key",
        fontsize=7,
        title_fontsize=8,
        loc="lower left",
        bbox_to_anchor=(1.01, 0.0),
        frameon=False,
    )
    return ax


def _ellipse_transform(ax, x0: float, y0: float, coslat: float):
    """Stretch a circle drawn in data units so it looks round on an axis with aspect 1/cos(lat)."""
    from matplotlib.transforms import Affine2D

    return Affine2D().translate(-x0, -y0).scale(1.0 / coslat, 1.0).translate(x0, y0) + ax.transData


def save_region_map(model: Any, path: str | Path, **kw: Any) -> Path:
    """Draw :func:`region_map` into a PNG at ``path`` (Agg backend, 150 dpi)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 7.5), layout="constrained")
    ax = fig.subplots()
    region_map(model, ax=ax, **kw)
    path = Path(path)
    fig.savefig(path, dpi=150)
    return path
