"""Figure of a run's logistics outcomes: mode shares of the regions' trade by destination."""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def save_mode_share_figure(table: pd.DataFrame, path: str | Path) -> Path | None:
    """Stacked bars of the route options' value and tonnes shares by destination (``eu``, ``asean``,
    ``ec``, ``dom``, ``regional``) from :func:`agglomeration.logistics_outcomes.logistics_table`.

    Returns the path written, or None when the table has no mode rows (a hand-built world)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    modes = table[table["kind"] == "mode"]
    if modes.empty:
        return None
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    options = list(dict.fromkeys(modes["option"]))
    colours = dict(zip(options, plt.cm.tab10.colors))
    for ax, metric, title in zip(
        axes, ("value_share", "tonnes_share"), ("share of trade value", "share of tonnes")
    ):
        wide = modes[modes["metric"] == metric].pivot(index="key", columns="option", values="value")
        wide = wide.reindex(list(dict.fromkeys(modes["key"]))).fillna(0.0)
        bottom = pd.Series(0.0, index=wide.index)
        for opt in options:
            if opt in wide:
                ax.bar(wide.index, wide[opt], bottom=bottom, label=opt, color=colours[opt])
                bottom = bottom + wide[opt]
        ax.set_title(title)
        ax.set_ylim(0, 1)
        ax.set_xlabel("trade of the regions with")
    axes[0].set_ylabel("route option share [-]")
    axes[1].legend(title="route option", bbox_to_anchor=(1.02, 1), loc="upper left")
    fig.suptitle("Mode shares by destination (last step)")
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
