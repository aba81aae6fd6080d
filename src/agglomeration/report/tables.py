"""Export of result tables: CSV, Parquet, Excel, Markdown, LaTeX, and the BehaviorSpace "table" layout.

- ``csv`` / ``parquet`` write the frame as is (a non-trivial index becomes columns).
- ``xlsx`` needs the optional extra ``excel`` (openpyxl); without it an :class:`InputError` says how to
  install it.
- ``md`` (GitHub pipe table) and ``tex`` (booktabs ``tabular``) are written by small writers here, so they
  need neither ``tabulate`` nor ``jinja2`` (which pandas' ``to_markdown``/``to_latex`` would import).
- :func:`behaviorspace_table` gives the layout NetLogo BehaviorSpace "table" output and R tools (nlrx,
  analyzeBehaviorspace) consume: one row per run x step, the run's parameters as columns, with the
  columns ``[run number]`` and ``[step]``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from agglomeration.errors import InputError

FORMATS = ("csv", "parquet", "xlsx", "md", "tex")
_SUFFIX = {".csv": "csv", ".parquet": "parquet", ".xlsx": "xlsx", ".md": "md", ".tex": "tex"}


def format_from_path(path: str | Path, fmt: str | None = None) -> str:
    """The export format: ``fmt`` if given, else from the file suffix; InputError if neither works."""
    if fmt is not None:
        if fmt not in FORMATS:
            raise InputError(f"expected one of {', '.join(FORMATS)}, got {fmt!r}", field="--format")
        return fmt
    suffix = Path(path).suffix.lower()
    if suffix not in _SUFFIX:
        raise InputError(
            f"cannot tell the format from the suffix {suffix or '(none)'!r}; use --format "
            f"{'|'.join(FORMATS)} or a file ending in {', '.join(_SUFFIX)}",
            file=path,
            field="--out",
        )
    return _SUFFIX[suffix]


def _flat(df: pd.DataFrame) -> pd.DataFrame:
    """Index into columns unless it is a plain RangeIndex; column names as strings."""
    if not isinstance(df.index, pd.RangeIndex) or df.index.name is not None:
        df = df.reset_index()
    df = df.copy()
    df.columns = [str(c) for c in df.columns]
    return df


def _cell(x: object, digits: int) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)) or x is pd.NA:
        return ""
    if isinstance(x, (bool, np.bool_)):
        return str(bool(x))
    if isinstance(x, (float, np.floating)):
        return f"{float(x):.{digits}g}"
    return str(x)


def to_markdown(df: pd.DataFrame, digits: int = 4) -> str:
    """GitHub-flavoured pipe table; numbers right-aligned, floats with ``digits`` significant digits."""
    df = _flat(df)
    cells = [
        [_cell(x, digits).replace("|", "\\|") for x in row] for row in df.itertuples(index=False)
    ]
    header = [c.replace("|", "\\|") for c in df.columns]
    numeric = [pd.api.types.is_numeric_dtype(df[c]) for c in df.columns]
    widths = [max([len(h)] + [len(r[i]) for r in cells], default=3) for i, h in enumerate(header)]
    widths = [max(w, 3) for w in widths]

    def line(values):
        return (
            "| "
            + " | ".join(
                v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric)
            )
            + " |"
        )

    rule = "| " + " | ".join(
        ("-" * (w - 1) + ":") if num else "-" * w for w, num in zip(widths, numeric)
    )
    return "\n".join([line(header), rule + " |", *(line(r) for r in cells)]) + "\n"


_TEX_ESCAPE = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
}


def tex_escape(text: str) -> str:
    """Escape LaTeX special characters in a cell or header."""
    return "".join(_TEX_ESCAPE.get(ch, ch) for ch in text)


def to_latex(df: pd.DataFrame, digits: int = 4, caption: str | None = None) -> str:
    """A booktabs ``tabular`` (needs ``\\usepackage{booktabs}``); numeric columns right-aligned."""
    df = _flat(df)
    numeric = [pd.api.types.is_numeric_dtype(df[c]) for c in df.columns]
    spec = "".join("r" if n else "l" for n in numeric)
    lines = []
    if caption:
        lines.append(f"% {caption}")
    lines += [f"\\begin{{tabular}}{{{spec}}}", r"\toprule"]
    lines.append(" & ".join(tex_escape(c) for c in df.columns) + r" \\")
    lines.append(r"\midrule")
    for row in df.itertuples(index=False):
        lines.append(" & ".join(tex_escape(_cell(x, digits)) for x in row) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines) + "\n"


def render(df: pd.DataFrame, fmt: str = "md", digits: int = 4) -> str:
    """Text rendering of a table for the terminal or a text format (md, tex, csv)."""
    if fmt == "md":
        return to_markdown(df, digits)
    if fmt == "tex":
        return to_latex(df, digits)
    if fmt == "csv":
        return _flat(df).to_csv(index=False)
    raise InputError(f"cannot render {fmt!r} as text; expected md, tex or csv", field="--format")


def export_table(
    df: pd.DataFrame,
    path: str | Path,
    fmt: str | None = None,
    *,
    sheet_name: str = "table",
    digits: int = 6,
) -> Path:
    """Write ``df`` to ``path`` as csv | parquet | xlsx | md | tex (format from ``fmt`` or the suffix)."""
    path = Path(path)
    fmt = format_from_path(path, fmt)
    if path.parent and not path.parent.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
    flat = _flat(df)
    if fmt == "csv":
        flat.to_csv(path, index=False)
    elif fmt == "parquet":
        flat.to_parquet(path, index=False)
    elif fmt == "xlsx":
        try:
            import openpyxl  # noqa: F401
        except ImportError as exc:
            raise InputError(
                "Excel export needs openpyxl: pip install 'agglomeration[excel]'",
                file=path,
                field="--format",
            ) from exc
        flat.to_excel(path, index=False, sheet_name=sheet_name[:31], engine="openpyxl")
    elif fmt == "md":
        path.write_text(to_markdown(flat, digits), encoding="utf-8")
    else:
        path.write_text(to_latex(flat, digits), encoding="utf-8")
    return path


def export_tables(
    tables: dict[str, pd.DataFrame], path: str | Path, fmt: str | None = None
) -> list[Path]:
    """Write several named tables: one sheet each for xlsx; otherwise ``<stem>_<name><suffix>`` files,
    the first table under ``path`` itself."""
    path = Path(path)
    fmt = format_from_path(path, fmt)
    if fmt == "xlsx":
        try:
            import openpyxl  # noqa: F401
        except ImportError as exc:
            raise InputError(
                "Excel export needs openpyxl: pip install 'agglomeration[excel]'",
                file=path,
                field="--format",
            ) from exc
        path.parent.mkdir(parents=True, exist_ok=True)
        with pd.ExcelWriter(path, engine="openpyxl") as writer:
            for name, df in tables.items():
                _flat(df).to_excel(writer, index=False, sheet_name=name[:31])
        return [path]
    written = []
    for i, (name, df) in enumerate(tables.items()):
        target = path if i == 0 else path.with_name(f"{path.stem}_{name}{path.suffix}")
        written.append(export_table(df, target, fmt))
    return written


def behaviorspace_table(
    runs: pd.DataFrame,
    series: pd.DataFrame,
    parameter_columns: Iterable[str] = (),
) -> pd.DataFrame:
    """One row per run x step with parameters as columns (NetLogo BehaviorSpace "table" layout).

    Columns: ``[run number]`` (1-based, in the order of ``runs``), ``run_id``, ``variant``, the
    ``parameter_columns`` present in ``runs``, ``replicate``, ``seed``, ``[step]`` and the series metrics.
    """
    keep = ["run_id"] + [
        c for c in ("variant", *parameter_columns, "replicate", "seed") if c in runs.columns
    ]
    keep = list(dict.fromkeys(keep))
    left = runs[keep].reset_index(drop=True).copy()
    left.insert(0, "[run number]", np.arange(1, len(left) + 1))
    table = left.merge(series, on="run_id", how="inner", validate="one_to_many")
    table = table.rename(columns={"step": "[step]"})
    table = table.sort_values(["[run number]", "[step]"], kind="stable").reset_index(drop=True)
    return table
