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

import math

from matplotlib.figure import Figure
from matplotlib.ticker import Formatter

__all__ = [
    "CONDITION_LINESTYLES",
    "CONDITION_MARKERS",
    "MODE_STYLE",
    "PAGE_WIDTH_IN",
    "REFERENCE_COLOUR",
    "REGION_TYPE_COLOURS",
    "STYLE",
    "ReadableFormatter",
    "condition_colours",
    "condition_styles",
    "footer",
    "readable_axis",
    "save",
    "scaled_unit",
    "sector_colours",
    "unit_power",
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
#: Line styles of the conditions (the reference solid), so lines and band edges survive greyscale
#: printing and colour-blind readers: the colour is never the only cue.
CONDITION_LINESTYLES = ("-", "--", "-.", ":", (0, (5, 1.5, 1, 1.5, 1, 1.5)), (0, (1, 1)))
#: Markers of the conditions (forest plots, binned means; on the time series' lines, sparsely).
CONDITION_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "h", "*")
#: Larger units of a unit that has a name for them (x 1,000, x 1,000,000).
_LARGER_UNITS = {"CNY m": ("CNY bn", "CNY tn")}


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


def condition_styles(
    names: Iterable[str], reference: str | None = None
) -> dict[str, tuple[object, str]]:
    """A fixed (line style, marker) per condition: ``reference`` solid with circles, the others the
    next styles in order (the same order as :func:`condition_colours`)."""
    out: dict[str, tuple[object, str]] = {}
    k = 1 if reference is not None else 0
    for name in dict.fromkeys(str(n) for n in names):
        if name == reference:
            out[name] = (CONDITION_LINESTYLES[0], CONDITION_MARKERS[0])
        else:
            out[name] = (
                CONDITION_LINESTYLES[k % len(CONDITION_LINESTYLES)],
                CONDITION_MARKERS[k % len(CONDITION_MARKERS)],
            )
            k += 1
    return out


class ReadableFormatter(Formatter):
    """Tick labels in plain numbers with thousands separators (``12,500``), never an offset or a
    ``1e6`` multiplier text: the values are divided by ``factor`` (the axis label names the scaled
    unit) and all ticks share the decimals their spacing needs."""

    def __init__(self, factor: float = 1.0) -> None:
        self.factor = factor
        self._decimals = 0

    def set_locs(self, locs) -> None:
        super().set_locs(locs)
        vals = [float(v) / self.factor for v in locs if math.isfinite(v)]
        scale = max((abs(v) for v in vals), default=1.0) or 1.0
        # the fewest decimals that print every tick exactly (0.25 needs two, 2,500 none)
        self._decimals = next(
            (d for d in range(7) if all(abs(round(v, d) - v) <= 1e-9 * scale for v in vals)), 6
        )

    def __call__(self, x: float, pos: int | None = None) -> str:
        text = f"{x / self.factor:,.{self._decimals}f}"
        return (
            text.lstrip("-") if text.lstrip("-").strip("0.,") == "" else text.replace("-", "\u2212")
        )

    def format_data_short(self, value: float) -> str:
        return f"{value / self.factor:,.6g}"


def scaled_unit(unit: str, power: int) -> str:
    """``unit`` times 1,000**power: a named larger unit (CNY m -> CNY bn) or ``thousand``/``million``
    before it."""
    if power <= 0:
        return unit
    for small, larger in _LARGER_UNITS.items():
        if unit.startswith(small) and power <= len(larger):
            return larger[power - 1] + unit[len(small) :]
    word = {1: "thousand", 2: "million", 3: "billion"}.get(power, f"10^{3 * power}")
    return f"{word} {unit}".strip()


def unit_power(largest: float, unit: str | None) -> int:
    """Power of 1,000 by which to scale an axis whose largest absolute value is ``largest`` so its tick
    labels stay below 10,000 (0 without a unit to rename)."""
    if not unit or not math.isfinite(largest) or abs(largest) < 1e4:
        return 0
    return int(min(max(math.ceil((math.log10(abs(largest)) - 4) / 3), 0), 3))


def readable_axis(ax, axis: str = "y", unit: str | None = None) -> int:
    """Plain tick labels with thousands separators on ``ax``'s ``axis`` (see
    :class:`ReadableFormatter`).  Values beyond 10,000 are shown in a unit 1,000 or 1,000,000 times
    larger when ``unit`` is given and appears in the axis label (which is rewritten: ``CNY m per step``
    becomes ``CNY bn per step``); call it after the data and the label are set.  Returns the power of
    1,000 used."""
    lim = ax.get_ylim() if axis == "y" else ax.get_xlim()
    big = max((abs(v) for v in lim if math.isfinite(v)), default=0.0)
    label = ax.get_ylabel() if axis == "y" else ax.get_xlabel()
    power = unit_power(big, unit) if unit and unit in label else 0
    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_formatter(ReadableFormatter(1000.0**power))
    if power:
        new = label.replace(unit, scaled_unit(unit, power), 1)  # type: ignore[arg-type]
        (ax.set_ylabel if axis == "y" else ax.set_xlabel)(new)
    return power


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
