"""One visual style for every figure: page size, fonts, colours of variants, sectors, region types and
transport modes, and how figures are saved.

Colours are *fixed* so the same thing looks the same in every figure of a run, a batch and the
dashboard:

- conditions (variants, or variant x design point): the reference condition is always dark grey, the
  others take the colour-blind-safe Okabe-Ito palette in the order of the experiment (:func:`condition_colours`);
- sectors: by their position in the scenario's sector list (:func:`sector_colours`), a ten-colour
  qualitative palette (tab10, then tab20);
- region types (:data:`REGION_TYPE_COLOURS`) and transport modes (:data:`MODE_STYLE`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # figures are written to files or served as PNG; never open a window

from matplotlib.figure import Figure

__all__ = [
    "MODE_STYLE",
    "PAGE_WIDTH_IN",
    "REFERENCE_COLOUR",
    "REGION_TYPE_COLOURS",
    "STYLE",
    "condition_colours",
    "footer",
    "save",
    "sector_colours",
]

#: Width of a figure for a journal page [inches].
PAGE_WIDTH_IN = 7.0
#: matplotlib rc settings of every figure (fonts of at least 7.5 pt at page width).
STYLE = {
    "font.size": 9,
    "axes.titlesize": 9.5,
    "axes.labelsize": 9,
    "legend.fontsize": 8,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": False,
    "savefig.bbox": "tight",
    "pdf.fonttype": 42,
}
#: Colour of the reference condition (the baseline) in every figure.
REFERENCE_COLOUR = "#3b3b3b"
#: Okabe-Ito (colour-blind safe, without black and the hard-to-see yellow), then tab10's others.
CONDITION_PALETTE = (
    "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9",
    "#8c564b", "#bcbd22", "#17becf", "#9467bd", "#7f7f7f",
)  # fmt: skip
#: Region types: FTZ areas, connected innovation areas, other regions.
REGION_TYPE_COLOURS = {"ftz": "#D55E00", "connected": "#0072B2", "other": "#8c8c8c"}
#: Transport modes: (colour, line style, line width in points).
MODE_STYLE = {
    "road": ("#a6a6a6", "-", 0.8),
    "rail": ("#b2182b", "-", 1.8),
    "river": ("#2166ac", "-", 2.0),
    "sea": ("#35978f", "--", 1.4),
    "air": ("#7b3294", ":", 1.4),
}
OTHER_MODE = ("#bcbd22", "-", 1.0)


def condition_colours(names: Iterable[str], reference: str | None = None) -> dict[str, str]:
    """A fixed colour per condition: ``reference`` dark grey, the others the palette in order."""
    out: dict[str, str] = {}
    k = 0
    for name in dict.fromkeys(str(n) for n in names):
        if name == reference:
            out[name] = REFERENCE_COLOUR
        else:
            out[name] = CONDITION_PALETTE[k % len(CONDITION_PALETTE)]
            k += 1
    return out


def sector_colours(sectors: Sequence[str]) -> dict[str, tuple[float, ...]]:
    """A fixed colour per sector id, by its position in the scenario's sector list."""
    cmap = matplotlib.colormaps["tab10" if len(sectors) <= 10 else "tab20"]
    return {str(s): cmap(i % cmap.N) for i, s in enumerate(sectors)}


def footer(fig: Figure, text: str | None) -> None:
    """Say under the figure which runs it summarises (small grey text, left-aligned)."""
    if text:
        fig.text(0.01, 0.0, text, ha="left", va="top", fontsize=7, color="0.35", wrap=True)


def save(
    fig: Figure,
    out_dir: str | Path,
    stem: str,
    formats: Sequence[str] = ("png", "pdf"),
    dpi: int = 200,
) -> list[Path]:
    """Write ``<out_dir>/<stem>.<format>`` for each format (PNG at ``dpi``) and return the paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for fmt in formats:
        path = out / f"{stem}.{fmt}"
        fig.savefig(path, dpi=dpi if fmt == "png" else None, bbox_inches="tight")
        paths.append(path)
    return paths
