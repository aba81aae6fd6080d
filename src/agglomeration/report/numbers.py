"""Numbers as text in tables: one rounding rule for every estimate and its interval.

An estimate and its confidence interval are printed with the same number of decimals, chosen so the
interval's half-width keeps two significant digits (``0.120 [0.098, 0.142]``, ``1,347 [1,280, 1,414]``):
more digits would be noise, fewer would hide the uncertainty.  Without an interval a value keeps three
significant digits.  Thousands are separated by commas and scientific notation is never used for
|x| < 1e15, so the console, Markdown, LaTeX and CSV exports all read the same.

Rounding is of the decimal value to 12 significant digits, half away from zero: an estimate computed as
1.4999999999998863 (floating-point noise of the exact 9 / 6) prints as 2 at no decimals, as the
reader recomputing 9 / 6 would round it; 0.125 prints as 0.13 and 2.675 as 2.68 (rounding the binary
floats gives 0.12, a tie broken to even, and 2.67, the float lying just below 2.675).
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

__all__ = ["decimals_for", "format_estimate", "format_number", "format_p"]

#: Most decimals ever printed (without an interval, values below 1e-8 print in scientific notation).
MAX_DECIMALS = 8


def _finite(x: object) -> bool:
    try:
        return x is not None and math.isfinite(float(x))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


def decimals_for(value: float, half_width: float | None = None, digits: int = 3) -> int:
    """Decimals that keep two significant digits of ``half_width`` (when it is finite and > 0), else
    ``digits`` significant digits of ``value``; between 0 and :data:`MAX_DECIMALS`."""
    if _finite(half_width) and float(half_width) > 0:  # type: ignore[arg-type]
        d = 1 - math.floor(math.log10(float(half_width)))  # type: ignore[arg-type]
    elif _finite(value) and float(value) != 0:
        d = digits - 1 - math.floor(math.log10(abs(float(value))))
    else:
        d = 0
    return int(min(max(d, 0), MAX_DECIMALS))


def format_number(x: float, decimals: int | None = None, *, sign: bool = False) -> str:
    """``x`` with ``decimals`` decimals (default: three significant digits) and thousands separators;
    ``"NA"`` for a missing or non-finite value.  ``sign`` prints ``+`` for positive numbers."""
    if not _finite(x):
        return "NA"
    x = float(x)
    # A value below the printed resolution rounds to 0 when the decimals are set (an estimate beside
    # its interval: -3.6e-15 [-2.2, 2.2] is 0.0 [-2.2, 2.2], floating-point noise of an exact zero).
    if abs(x) >= 1e15 or (decimals is None and x != 0 and abs(x) < 10.0**-MAX_DECIMALS):
        return f"{x:+.3g}" if sign else f"{x:.3g}"
    d = decimals_for(x) if decimals is None else decimals
    rounded = Decimal(f"{x:.12g}").quantize(Decimal(1).scaleb(-d), rounding=ROUND_HALF_UP)
    text = f"{rounded:+,.{d}f}" if sign else f"{rounded:,.{d}f}"
    if text.lstrip("+-").strip("0.,") == "":  # -0.00 -> 0.00
        text = text.lstrip("+-")
    return text


def format_estimate(
    value: float, low: float | None = None, high: float | None = None, *, sign: bool = False
) -> str:
    """``"value [low, high]"`` with one number of decimals for the three (see the module docstring);
    ``"value"`` alone when there is no finite interval; ``"NA"`` when the value is missing."""
    if not _finite(value):
        return "NA"
    if _finite(low) and _finite(high):
        d = decimals_for(value, (float(high) - float(low)) / 2)  # type: ignore[arg-type]
        return (
            f"{format_number(value, d, sign=sign)} "
            f"[{format_number(low, d)}, {format_number(high, d)}]"  # type: ignore[arg-type]
        )
    return format_number(value, sign=sign)


def format_p(p: float | None) -> str:
    """A p value: three decimals, ``<0.001`` below that, ``NA`` when undefined."""
    if not _finite(p):
        return "NA"
    return "<0.001" if float(p) < 0.001 else f"{float(p):.3f}"  # type: ignore[arg-type]
