"""Export of result tables: CSV, Parquet, Excel, Markdown, LaTeX, and the BehaviorSpace "table" layout.

- ``csv`` / ``parquet`` write the frame as is (a non-trivial index becomes columns).
- ``xlsx`` needs the optional extra ``excel`` (openpyxl); without it an :class:`InputError` says how to
  install it.
- ``md`` (GitHub pipe table) and ``tex`` (booktabs ``table`` with caption and label) are written by small
  writers here, so they need neither ``tabulate`` nor ``jinja2`` (which pandas' ``to_markdown`` /
  ``to_latex`` would import).
- A :class:`Table` carries a numeric frame and, optionally, its formatted text version: ``md`` and
  ``tex`` (presentation formats) get the text, ``csv``, ``parquet`` and ``xlsx`` (data formats) get
  numbers, so a spreadsheet or a script never has to parse ``"0.43 [0.39, 0.47]"``.
- :func:`comparison_table` is the publication table of a comparison: labelled metrics with units,
  shares in percent and their differences in percentage points, one rounding rule
  (:mod:`agglomeration.report.numbers`).
- :func:`behaviorspace_table` gives the layout NetLogo BehaviorSpace "table" output and R tools (nlrx,
  analyzeBehaviorspace) consume: one row per run x step, the run's parameters as columns, with the
  columns ``[run number]`` and ``[step]``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from agglomeration.errors import InputError
from agglomeration.report.numbers import format_estimate, format_p

FORMATS = ("csv", "parquet", "xlsx", "md", "tex")
_SUFFIX = {".csv": "csv", ".parquet": "parquet", ".xlsx": "xlsx", ".md": "md", ".tex": "tex"}


def format_from_path(path: str | Path, fmt: str | None = None) -> str:
    """The export format: ``fmt`` if given, else from the file suffix; InputError if neither works."""
    suffix = Path(path).suffix.lower()
    if fmt is not None:
        if fmt not in FORMATS:
            raise InputError(f"expected one of {', '.join(FORMATS)}, got {fmt!r}", field="--format")
        if suffix in _SUFFIX and _SUFFIX[suffix] != fmt:  # csv text in a .xlsx file helps nobody
            raise InputError(
                f"the file ends in {suffix} but --format is {fmt}; give one of them, or a file "
                f"ending in .{fmt}",
                file=path,
                field="--format",
            )
        return fmt
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


def to_latex(
    df: pd.DataFrame,
    digits: int = 4,
    caption: str | None = None,
    *,
    label: str | None = None,
    group: str | None = None,
) -> str:
    """A booktabs table (needs ``\\usepackage{booktabs}``): a floating ``table`` with ``caption`` and
    ``label`` when a caption is given, else a bare ``tabular``.  Numeric columns are right-aligned.
    ``group`` names a column whose repeated values are printed once, with a rule between groups."""
    df = _flat(df)
    numeric = [pd.api.types.is_numeric_dtype(df[c]) for c in df.columns]
    spec = "".join("r" if n else "l" for n in numeric)
    lines = []
    if caption:
        lines += [r"\begin{table}[htbp]", r"\centering", f"\\caption{{{tex_escape(caption)}}}"]
        if label:
            lines.append(f"\\label{{{label}}}")
    lines += [f"\\begin{{tabular}}{{{spec}}}", r"\toprule"]
    lines.append(" & ".join(tex_escape(c) for c in df.columns) + r" \\")
    lines.append(r"\midrule")
    previous = None
    for row in df.itertuples(index=False):
        cells = [tex_escape(_cell(x, digits)) for x in row]
        if group is not None and group in df.columns:
            k = list(df.columns).index(group)
            if previous is not None and row[k] != previous:
                lines.append(r"\addlinespace")
            if row[k] == previous:
                cells[k] = ""
            previous = row[k]
        lines.append(" & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    if caption:
        lines.append(r"\end{table}")
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


@dataclass(frozen=True)
class Table:
    """A table to export: numbers for data formats, formatted text for presentation formats.

    ``data`` (numeric cells) goes to csv, parquet and xlsx; ``text`` (if given; else ``data``) to md
    and tex.  ``caption`` and ``label`` make the LaTeX output a captioned, referenceable ``table``;
    ``group`` names a column whose repeated values LaTeX prints once.
    """

    data: pd.DataFrame
    text: pd.DataFrame | None = None
    caption: str | None = None
    label: str | None = None
    group: str | None = None


def _as_table(obj: pd.DataFrame | Table) -> Table:
    return obj if isinstance(obj, Table) else Table(obj)


def _need_openpyxl(path: Path) -> None:
    try:
        import openpyxl  # noqa: F401
    except ImportError as exc:
        raise InputError(
            "Excel export needs openpyxl: pip install 'agglomeration[excel]'",
            file=path,
            field="--format",
        ) from exc


def export_table(
    df: pd.DataFrame | Table,
    path: str | Path,
    fmt: str | None = None,
    *,
    sheet_name: str = "table",
    digits: int = 6,
) -> Path:
    """Write ``df`` to ``path`` as csv | parquet | xlsx | md | tex (format from ``fmt`` or the suffix).

    A :class:`Table` writes its numbers to csv/parquet/xlsx and its text to md/tex."""
    path = Path(path)
    fmt = format_from_path(path, fmt)
    table = _as_table(df)
    if path.parent and not path.parent.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
    flat = _flat(table.data)
    if fmt == "csv":
        flat.to_csv(path, index=False)
    elif fmt == "parquet":
        flat.to_parquet(path, index=False)
    elif fmt == "xlsx":
        _need_openpyxl(path)
        flat.to_excel(path, index=False, sheet_name=sheet_name[:31], engine="openpyxl")
    else:
        text = _flat(table.text) if table.text is not None else flat
        if fmt == "md":
            body = to_markdown(text, digits)
            if table.caption:
                body = f"{body}\n{table.caption}\n"
        else:
            body = to_latex(text, digits, table.caption, label=table.label, group=table.group)
        path.write_text(body, encoding="utf-8")
    return path


def export_tables(
    tables: Mapping[str, pd.DataFrame | Table], path: str | Path, fmt: str | None = None
) -> list[Path]:
    """Write several named tables: one sheet each for xlsx; otherwise ``<stem>_<name><suffix>`` files,
    the first table under ``path`` itself."""
    path = Path(path)
    fmt = format_from_path(path, fmt)
    if fmt == "xlsx":
        _need_openpyxl(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with pd.ExcelWriter(path, engine="openpyxl") as writer:
            for name, df in tables.items():
                _flat(_as_table(df).data).to_excel(writer, index=False, sheet_name=name[:31])
        return [path]
    written = []
    for i, (name, df) in enumerate(tables.items()):
        target = path if i == 0 else path.with_name(f"{path.stem}_{name}{path.suffix}")
        written.append(export_table(df, target, fmt))
    return written


# ----------------------------------------------------------------------------------------- comparisons
def _effect_text(effect: float, kind: str) -> str:
    if effect is None or not np.isfinite(effect):
        return "NA"
    return f"{kind} = {effect:.2f}"


def comparison_table(cmp: Any, *, numeric: bool = False) -> pd.DataFrame:
    """The publication table of a :class:`~agglomeration.experiment.compare.Comparison`.

    One row per metric and variant (so the width does not grow with the number of variants):
    the metric's label with its unit, the variant, n, the mean with its 95 % CI, the difference from the
    baseline with its 95 % CI, the Holm-adjusted p value of the t test and the standardised effect size.
    Shares are shown in percent and their differences in percentage points (pp).  ``numeric=True``
    gives the same content as numbers (one column per quantity, values in the displayed units).
    """
    reg = cmp.registry
    summary = cmp.summary.set_index(["variant", "metric"])
    comps = cmp.comparisons.set_index(["variant", "metric"]) if len(cmp.comparisons) else None
    variants = list(pd.unique(cmp.summary["variant"]))
    rows = []
    for metric in cmp.metrics:
        info = reg.info(metric)
        k = info.scale
        for variant in variants:
            if (variant, metric) not in summary.index:
                continue
            s = summary.loc[(variant, metric)]
            c = (
                comps.loc[(variant, metric)]
                if comps is not None and (variant, metric) in comps.index
                else None
            )
            row: dict[str, Any] = {
                "metric": metric,
                "Metric": info.axis_label(),
                "Unit": info.display_unit,
                "Variant": variant,
                "n": int(s["n"]),
                "Mean": k * s["mean"],
                "CI low": k * s["ci_low"],
                "CI high": k * s["ci_high"],
                "Difference": math.nan,
                "Difference CI low": math.nan,
                "Difference CI high": math.nan,
                "Difference unit": info.difference_unit,
                "p (Holm)": math.nan,
                "Effect size": math.nan,
                "Effect size kind": "",
                "is_baseline": variant == cmp.baseline,
            }
            if c is not None:
                row.update(
                    {
                        "Difference": k * c["diff"],
                        "Difference CI low": k * c["diff_ci_low"],
                        "Difference CI high": k * c["diff_ci_high"],
                        "p (Holm)": c["p_t_holm"],
                        "Effect size": c["effect"],
                        "Effect size kind": c["effect_kind"],
                    }
                )
            rows.append(row)
    table = pd.DataFrame(rows)
    if numeric:
        return table.drop(columns="is_baseline") if not table.empty else table
    text = (
        pd.DataFrame(
            {
                "Metric": table["Metric"],
                "Variant": table["Variant"],
                "n": table["n"],
                "Mean [95% CI]": [
                    format_estimate(m, lo, hi)
                    for m, lo, hi in zip(table["Mean"], table["CI low"], table["CI high"])
                ],
                "Difference [95% CI]": [
                    "(reference)"
                    if base
                    else _unit_suffix(format_estimate(d, lo, hi, sign=True), u)
                    for base, d, lo, hi, u in zip(
                        table["is_baseline"],
                        table["Difference"],
                        table["Difference CI low"],
                        table["Difference CI high"],
                        table["Difference unit"],
                    )
                ],
                "p (Holm)": [
                    "" if base else format_p(p)
                    for base, p in zip(table["is_baseline"], table["p (Holm)"])
                ],
                "Effect size": [
                    "" if base else _effect_text(e, kind)
                    for base, e, kind in zip(
                        table["is_baseline"], table["Effect size"], table["Effect size kind"]
                    )
                ],
            }
        )
        if not table.empty
        else table
    )
    return text


def _unit_suffix(text: str, unit: str) -> str:
    """``"+6.6 pp [3.9, 9.4]"`` for percentage points; other units are in the metric column."""
    if unit != "pp" or text == "NA":
        return text
    head, sep, tail = text.partition(" [")
    return f"{head} pp{sep}{tail}"


def comparison_caption(cmp: Any, *, steps: int | None = None) -> str:
    """A caption that says what the comparison table shows: which values, intervals, tests, family."""
    comps = cmp.comparisons
    where = f"at step {cmp.at_step}" if cmp.at_step is not None else "final values"
    if steps is not None and cmp.at_step is None:
        where += f" after {steps} steps"
    parts = [
        f"Variants compared with '{cmp.baseline}' ({where}). Mean over successful runs with 95% "
        "confidence interval (t interval; shares in percent with a logit-scale interval)."
    ]
    if len(comps) and not cmp.family_size:
        # whether runs were paired is moot (and with one pair not decidable) when nothing was tested
        parts.append(
            f"Differences from '{cmp.baseline}' (shares in percentage points, pp); no difference "
            "could be tested (too few runs with a value on one side or both, or differences that "
            "do not vary; the notes say which)."
        )
    elif len(comps):
        paired = comps["paired"].astype(bool)
        how = (
            "paired by seed (common random numbers), paired t test, effect size d_z"
            if paired.all()
            else "unpaired, Welch t test, effect size Cohen's d"
            if not paired.any()
            else "paired by seed where runs share seeds (d_z), otherwise Welch t test (Cohen's d)"
        )
        tests = (
            f"p values Holm-adjusted over {cmp.family_size} comparisons (each variant against "
            f"'{cmp.baseline}' on each tested metric)."
        )
        parts.append(
            f"Differences from '{cmp.baseline}' {how}; differences of shares in percentage points (pp); "
            + tests
        )
    return " ".join(parts)


def behaviorspace_table(
    runs: pd.DataFrame,
    series: pd.DataFrame,
    parameter_columns: Iterable[str] = (),
    variant_overrides: Mapping[str, Mapping[str, Any]] | None = None,
) -> pd.DataFrame:
    """One row per run x step with parameters as columns (NetLogo BehaviorSpace "table" layout).

    Columns: ``[run number]`` (1-based, in the order of ``runs``), ``run_id``, ``variant``, the
    overrides of the variants (``variant_overrides``: variant -> {dotted path: value}; one column per
    path, empty where a variant keeps the base scenario's value), the ``parameter_columns`` present in
    ``runs``, ``replicate``, ``seed``, ``[step]`` and the series metrics.
    """
    keep = ["run_id"] + [
        c for c in ("variant", *parameter_columns, "replicate", "seed") if c in runs.columns
    ]
    keep = list(dict.fromkeys(keep))
    left = runs[keep].reset_index(drop=True).copy()
    paths = list(dict.fromkeys(k for o in (variant_overrides or {}).values() for k in o))
    for k, path in enumerate(p for p in paths if p not in left.columns):
        values = [
            (variant_overrides or {}).get(str(v), {}).get(path) for v in left.get("variant", [])
        ]
        left.insert(2 + k, path, [x if not isinstance(x, list | dict) else str(x) for x in values])
    left.insert(0, "[run number]", np.arange(1, len(left) + 1))
    table = left.merge(series, on="run_id", how="inner", validate="one_to_many")
    table = table.rename(columns={"step": "[step]"})
    table = table.sort_values(["[run number]", "[step]"], kind="stable").reset_index(drop=True)
    return table


# ----------------------------------------------------------------------------------------- factorial
def factorial_tables(
    fac: Any,
) -> tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame], dict[str, str]]:
    """Text tables, numeric tables and captions (``effects``, ``anova``, ``cells``) of a
    :class:`~agglomeration.experiment.factorial.Factorial`; shares in percent (levels) and percentage
    points (effects)."""
    reg = fac.registry
    eff = fac.effects.copy()
    scale = eff["metric"].map(lambda m: reg.info(m).scale)
    eff_num = pd.DataFrame(
        {
            "metric": eff["metric"],
            "Metric": eff["metric"].map(lambda m: reg.info(m).axis_label()),
            "Effect": eff["term"].map({"main": "main effect", "interaction": "interaction"})
            + " of "
            + eff["factor"],
            "Contrast": eff["contrast"],
            "Estimate": scale * eff["estimate"],
            "CI low": scale * eff["ci_low"],
            "CI high": scale * eff["ci_high"],
            "Unit": eff["metric"].map(lambda m: reg.info(m).difference_unit),
            "p": eff["p"],
            "p (Holm)": eff["p_holm"],
        }
    )
    eff_text = pd.DataFrame(
        {
            "Metric": eff_num["Metric"],
            "Effect": eff_num["Effect"],
            "Contrast": eff_num["Contrast"],
            "Estimate [95% CI]": [
                _unit_suffix(format_estimate(e, lo, hi, sign=True), u)
                for e, lo, hi, u in zip(
                    eff_num["Estimate"], eff_num["CI low"], eff_num["CI high"], eff_num["Unit"]
                )
            ],
            "p (Holm)": [format_p(p) for p in eff_num["p (Holm)"]],
        }
    )
    an = fac.anova
    an_num = an.assign(Metric=an["metric"].map(lambda m: reg.info(m).axis_label()))
    an_num = an_num[["metric", "Metric", "term", "df", "sum_sq", "F", "p", "partial_eta_sq"]]
    # sums of squares in the label's unit (shares in percent: squared scale); F, p, eta² are unitless
    an_num["sum_sq"] = an_num["metric"].map(lambda m: reg.info(m).scale) ** 2 * an_num["sum_sq"]
    an_text = pd.DataFrame(
        {
            "Metric": an_num["Metric"],
            "Term": an_num["term"],
            "df": an_num["df"].map(lambda x: f"{x:g}"),
            "F": an_num["F"].map(lambda x: "" if not np.isfinite(x) else f"{x:.2f}"),
            "p": [
                "" if t == "residual" else format_p(p) for t, p in zip(an_num["term"], an_num["p"])
            ],
            "partial eta²": an_num["partial_eta_sq"].map(
                lambda x: "" if not np.isfinite(x) else f"{x:.2f}"
            ),
        }
    )
    cells = fac.cells.copy()
    factor_cols = [f.label for f in fac.factors]
    if len(cells):
        k = cells["metric"].map(lambda m: reg.info(m).scale)
        for col in ("mean", "ci_low", "ci_high"):
            cells[col] = k * cells[col]
        cells.insert(1, "Metric", cells["metric"].map(lambda m: reg.info(m).axis_label()))
        cells_text = cells[["Metric", *factor_cols, "n"]].copy()
        cells_text["Mean [95% CI]"] = [
            format_estimate(m, lo, hi)
            for m, lo, hi in zip(cells["mean"], cells["ci_low"], cells["ci_high"])
        ]
    else:
        cells_text = cells
    design = fac.describe()
    captions = {
        "effects": (
            f"Factorial effects, {design}. Main effects average over the other factors' levels; "
            "interactions are differences-in-differences relative to the reference levels. OLS of "
            "the cell means with 95% confidence intervals and t tests (statsmodels); p values "
            f"Holm-adjusted over {int(eff['p'].notna().sum())} effects (every main effect and "
            "interaction of every metric in this table, a family of its own: the comparison table's "
            "p (Holm) of the same contrast is adjusted over that table's comparisons and can differ); "
            "shares in percentage points."
        ),
        "anova": (
            f"ANOVA (type II sums of squares, statsmodels), {design}; sums of squares in the "
            "metric's unit squared (shares: percent squared); partial eta² = SS / (SS + "
            "residual SS); p values not adjusted."
        ),
        "cells": f"Cell means with 95% confidence intervals, {design}; shares in percent.",
    }
    text = {"effects": eff_text, "anova": an_text, "cells": cells_text}
    numeric = {"effects": eff_num, "anova": an_num, "cells": cells}
    return text, numeric, captions


# ----------------------------------------------------------------------------------------- discovery
def _pct(x: float) -> str:
    return "NA" if x is None or not np.isfinite(x) else f"{100 * x:.0f}%"


def discovery_tables(
    disc: Any, registry: Any = None
) -> tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame], dict[str, str]]:
    """Text tables, numeric tables and captions (``box``, ``trajectory``, ``cart``, ``features``,
    ``robustness``) of an :class:`~agglomeration.experiment.discovery.Discovery`."""
    from agglomeration.metrics.registry import REGISTRY
    from agglomeration.report.numbers import format_number

    reg = registry or REGISTRY
    st = disc.prim_stats
    box = disc.prim_box
    box_text = pd.DataFrame(
        {
            "Parameter": box["parameter"],
            "Box": [
                lv if lv else f"{format_number(lo)} to {format_number(hi)}"
                for lo, hi, lv in zip(box["low"], box["high"], box["levels"])
            ],
            "Design range": [
                "" if lv else f"{format_number(lo)} to {format_number(hi)}"
                for lo, hi, lv in zip(box["design_low"], box["design_high"], box["levels"])
            ],
            "quasi-p": [format_p(q) for q in box["qp"]],
        }
    )
    traj = disc.trajectory
    keep = sorted(
        set(np.linspace(0, len(traj) - 1, min(len(traj), 10)).round().astype(int))
        | set(traj.index[traj["chosen"]])
    )
    traj_text = (
        traj.loc[keep]
        .assign(
            coverage=lambda t: t["coverage"].map(_pct),
            density=lambda t: t["density"].map(_pct),
            mass=lambda t: t["mass"].map(_pct),
            chosen=lambda t: t["chosen"].map({True: "<- reported", False: ""}),
        )
        .reset_index(drop=True)
    )
    cart = disc.cart
    cart_text = cart.assign(
        coverage=cart["coverage"].map(_pct),
        density=cart["density"].map(_pct),
        mass=cart["mass"].map(_pct),
    )
    feats = disc.features
    feats_text = feats.head(10).assign(score=feats["score"].head(10).map(lambda s: f"{s:.3f}"))
    rob = disc.robustness
    rob_text = rob
    metric = disc.outcome or (disc.condition.metrics[0] if disc.condition.metrics else "")
    info = reg.info(metric)
    if len(rob):
        k = info.scale
        rob_text = pd.DataFrame(
            {
                "Policy": rob["policy"],
                "Scenarios": rob["scenarios"],
                "Mean": [format_number(k * v) for v in rob["mean"]],
                "Worst 10%": [
                    format_number(k * v)
                    for v in (rob["p10"] if disc.direction == "max" else rob["p90"])
                ],
                "Satisficing": rob["satisficing"].map(_pct),
                "Max regret": [format_number(k * v) for v in rob["max_regret"]],
                "Mean regret": [format_number(k * v) for v in rob["mean_regret"]],
            }
        )
    direction = "higher" if disc.direction == "max" else "lower"
    captions = {
        "box": (
            f"PRIM box (EMA Workbench) for {disc.condition.text!r}: coverage {_pct(st['coverage'])} "
            f"(share of the cases of interest inside the box), density {_pct(st['density'])} (share of "
            f"the box that is of interest), mass {_pct(st['mass'])}, {st['restricted']} restricted "
            f"parameter{'' if st['restricted'] == 1 else 's'}; quasi-p: binomial test that the restriction raises the density."
        ),
        "trajectory": "PRIM peeling trajectory (coverage against density; restricted = parameters restricted).",
        "cart": "CART boxes (scikit-learn decision tree): leaves where cases of interest are more frequent than overall.",
        "features": "Feature scores (extra trees, EMA Workbench): importance of each parameter for being of interest.",
        "robustness": (
            f"Robustness of the policies across the uncertainty points: {info.axis_label()} ({direction} "
            "is better), its mean and the value that 10% of the points do worse than, the share of points "
            "where the condition holds "
            "(satisficing), and the regret (the best policy's value at a point minus this policy's), "
            "maximum and mean; sorted by maximum regret (minimax regret first)."
        ),
    }
    text = {
        "box": box_text,
        "trajectory": traj_text,
        "cart": cart_text,
        "features": feats_text,
        "robustness": rob_text,
    }
    numeric = {"box": box, "trajectory": traj, "cart": cart, "features": feats, "robustness": rob}
    return text, numeric, captions
