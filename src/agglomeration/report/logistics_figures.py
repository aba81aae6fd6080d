"""Figure of a run's logistics outcomes: mode shares of the regions' trade by destination.

:func:`mode_share_figure` draws stacked bars of the route options' shares (value and tonnes) of the regions'
trade with each destination from the long table of
:func:`agglomeration.logistics_outcomes.logistics_table`; with the run's World the destinations are named
("between regions", "EU: Europe", ...), the options carry their names from route_options.csv and each is
coloured as its main mode on the map (a second option of the same main mode, such as the Land-Sea
Corridor, gets a colour of its own).
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from agglomeration.logistics_outcomes import REGIONAL
from agglomeration.report.mapdata import MapData
from agglomeration.report.style import MODE_STYLE, footer

#: colours for options whose main mode's colour is taken or unknown (matplotlib tab10 without the mode
#: colours of the map)
SPARE_COLOURS = ("#17becf", "#ff7f0e", "#2ca02c", "#8c564b", "#e377c2", "#bcbd22")
#: hatching of the options (in the table's order), drawn in white over the colour, so the stacked
#: segments stay apart in greyscale and for colour-blind readers
HATCHES = ("", "////", "....", "xxx", "\\\\", "ooo", "---", "+++")


def _short(name: str, width: int, cut: tuple[str, ...]) -> str:
    """``name`` up to the first of the separators ``cut``, wrapped to ``width`` characters."""
    for sep in cut:
        name = name.split(sep)[0]
    return "\n".join(textwrap.wrap(name, width)) or name


def _destination_labels(gateways: Iterable[tuple[Any, Any]]) -> dict[str, str]:
    out = {REGIONAL: "between\nregions"}
    for gid, name in gateways:
        gid = str(gid)
        short = _short(str(name), 12, (" (", ": ", " via ", " and "))
        out[gid.lower()] = gid if short.lower() == gid.lower() else f"{gid}\n{short}"
    return out


def _option_styles(
    options: Iterable[tuple[Any, Any, Any]],
) -> tuple[dict[str, str], dict[str, str]]:
    labels: dict[str, str] = {}
    colours: dict[str, str] = {}
    taken: set[str] = set()
    spare = iter(SPARE_COLOURS)
    for oid, name, main in options:
        labels[str(oid)] = _short(str(name), 26, (": ",))
        colour = MODE_STYLE.get(str(main), (None,))[0]
        if colour is None or colour in taken:
            colour = next(spare, "#7f7f7f")
        taken.add(colour)
        colours[str(oid)] = colour
    return labels, colours


def destination_labels(world: Any) -> dict[str, str]:
    """Axis labels of the destination keys of the logistics table (``regional`` and lower-case gateway
    ids): 'between regions' and 'EU\\nEurope' (gateway id, then its name up to ' (', ': ', ' via ' or
    ' and ')."""
    return _destination_labels(zip(world.gateway_ids, world.gateway_names, strict=True))


def option_styles(world: Any) -> tuple[dict[str, str], dict[str, str]]:
    """(labels, colours) of the route options: the option's name (up to ': ') and the map colour of its
    main mode, or a spare colour when that colour is taken by an earlier option."""
    routes = world.routes
    if routes is None:
        return {}, {}
    return _option_styles(
        zip(routes.option_ids, routes.option_names, routes.option_main_mode, strict=True)
    )


def figure_labels(geo: MapData) -> dict[str, dict[str, str]]:
    """``destinations``, ``options`` and ``colours`` of :func:`mode_share_figure` from a scenario's map
    data (:class:`~agglomeration.report.mapdata.MapData`: gateways and route options), the same labels
    :func:`destination_labels` and :func:`option_styles` give from a World; used for a stored run."""
    gateways = geo.places.loc[geo.places["kind"] == "gateway", ["place", "name"]]
    labels, colours = _option_styles(geo.options[["option", "name", "main_mode"]].itertuples(False))
    return {
        "destinations": _destination_labels(gateways.itertuples(index=False)),
        "options": labels,
        "colours": colours,
    }


def mode_share_figure(
    table: pd.DataFrame,
    *,
    destinations: Mapping[str, str] | None = None,
    options: Mapping[str, str] | None = None,
    colours: Mapping[str, str] | None = None,
    title: str = "Route-option shares of the regions' trade by destination",
    note: str | None = None,
) -> Any:
    """A matplotlib Figure: stacked bars of the options' value and tonnes shares [%] by destination, or
    None when the table has no mode rows (a hand-built world).  ``destinations`` and ``options`` map the
    table's keys and option ids to labels, ``colours`` option ids to colours (defaults: ids, tab10);
    ``note`` is the footer saying which run the figure shows."""
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure
    from matplotlib.ticker import PercentFormatter

    modes = table[table["kind"] == "mode"]
    if modes.empty:
        return None
    destinations = dict(destinations or {})
    options = dict(options or {})
    ids = list(dict.fromkeys(modes["option"]))
    palette = dict(zip(ids, plt.cm.tab10.colors, strict=False))
    palette.update(colours or {})
    keys = list(dict.fromkeys(modes["key"]))
    fig = Figure(figsize=(11, 4.6), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    for ax, metric, sub in zip(
        axes,
        ("value_share", "tonnes_share"),
        ("share of trade value", "share of tonnes"),
        strict=True,
    ):
        wide = modes[modes["metric"] == metric].pivot(index="key", columns="option", values="value")
        wide = wide.reindex(keys)
        empty = wide.isna().all(axis=1)  # no trade with the destination: shares undefined
        wide = wide.fillna(0.0) * 100.0
        bottom = pd.Series(0.0, index=wide.index)
        x = [destinations.get(k, k) for k in wide.index]
        for k, opt in enumerate(ids):
            if opt in wide:
                ax.bar(
                    x,
                    wide[opt],
                    bottom=bottom,
                    label=options.get(opt, opt),
                    color=palette[opt],
                    width=0.7,
                    hatch=HATCHES[k % len(HATCHES)],
                    edgecolor="white",
                    lw=0.5,
                )
                bottom = bottom + wide[opt]
        for i in map(int, np.flatnonzero(empty.to_numpy())):  # bar positions 0, 1, ... in key order
            ax.text(i, 50, "no trade", ha="center", va="center", fontsize=8, color="#555555")
        ax.set_title(sub)
        ax.set_ylim(0, 100)
        ax.yaxis.set_major_formatter(PercentFormatter(100))
        ax.tick_params(axis="x", labelsize=8)
        ax.set_xlabel("trade (both directions) of the regions with")
    axes[0].set_ylabel("share of the route option")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(
        handles[::-1], labels[::-1], title="route option", loc="outside right center", fontsize=8
    )
    fig.suptitle(title)
    footer(fig, note)
    return fig


def save_mode_share_figure(
    table: pd.DataFrame, path: str | Path, world: Any = None, step: int | None = None
) -> Path | None:
    """Write :func:`mode_share_figure` of the logistics table to ``path`` (PNG), labelled from ``world``
    (destinations, option names and colours) and titled with ``step``.  Returns the path written, or
    None when the table has no mode rows."""
    kw: dict[str, Any] = {}
    if world is not None:
        kw["destinations"] = destination_labels(world)
        kw["options"], kw["colours"] = option_styles(world)
    if step is not None:
        kw["title"] = f"Route-option shares of the regions' trade by destination, step {step}"
    fig = mode_share_figure(table, **kw)
    if fig is None:
        return None
    path = Path(path)
    fig.savefig(path, dpi=110)
    return path
