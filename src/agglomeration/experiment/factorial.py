"""Factorial analysis of a batch: main effects, interactions (difference-in-differences) and ANOVA.

The *factors* of a batch are read from its experiment (:func:`factors_of`):

- the parameters of a ``grid`` design that take more than one value (levels in file order, the first is
  the reference level);
- the variants: when their overrides form a full factorial (every combination of the overridden values,
  a variant that does not override a path is at the base scenario's value, shown ``base``), each
  overridden path is a factor (paths that always change together, one to one, are one factor named
  ``"a + b"``); otherwise ``variant`` itself is one factor (reference: ``baseline`` or the first
  variant) and :attr:`FactorSpec.why_one` (also in the notes) says which variants or paths break the
  factorial.

Sampled designs (lhs, sobol, morris) have no levels to contrast; use ``sensitivity`` or the response
plots of ``plot`` for them.

Per metric an ordinary least squares model with every interaction of the factors is fitted with
statsmodels (``y ~ C(A) * C(B) * ...``).  Under common random numbers (every seed is run in every cell)
the seed enters as a block (``+ C(seed)``): the analysis of a randomised complete block design, which
removes the replicate-to-replicate noise the cells share, as the paired tests of ``compare`` do.

- **Main effect** of level a of factor A: mean(a) - mean(reference), averaged with equal weights over the
  levels of the other factors; a linear contrast of the fitted cell means (``OLSResults.t_test``) with
  its 95 % CI and t test.
- **Interaction** of A and B for levels (a, b): the difference-in-differences
  [y(a, b) - y(a, b0)] - [y(a0, b) - y(a0, b0)], averaged over the other factors.  For a 2 x 2 design it
  is the single DiD; under blocking its estimate equals the mean of the per-seed DiDs.
- **ANOVA**: ``statsmodels.stats.anova.anova_lm(typ=2)``: df, sums of squares, F, p and partial eta^2
  per term (the block is listed as ``seed (block)``).

p values of the effects are Holm-adjusted over every effect row of the table (all metrics; a family of
its own, unlike ``compare``'s, which is the variant-vs-baseline comparisons); the ANOVA
p values are per term, unadjusted.  Estimates of shares are in the metric's unit (a fraction);
:func:`agglomeration.report.tables.factorial_tables` shows them in percentage points.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from agglomeration.errors import InputError
from agglomeration.experiment.compare import (
    CONFIDENCE,
    _choose_metrics,
    holm,
    mean_interval,
    observations,
)
from agglomeration.metrics.registry import REGISTRY, MetricRegistry

__all__ = ["FactorSpec", "Factorial", "factorial", "factors_of"]

BASE_LEVEL = "base"


@dataclass(frozen=True)
class FactorSpec:
    """One factor: its name (a dotted scenario path, ``"a + b"`` for paths that always change together,
    or ``variant``), a short label, its levels as text (first = reference) and, for ``variant``, why
    the variants are one factor (``why_one``: the variant or path that breaks the factorial)."""

    name: str
    label: str
    levels: tuple[str, ...]
    why_one: str = ""


@dataclass
class Factorial:
    """Result of :func:`factorial`: three long tables and how they were computed."""

    factors: list[FactorSpec]
    cells: pd.DataFrame
    effects: pd.DataFrame
    anova: pd.DataFrame
    metrics: list[str]
    blocked: bool
    notes: list[str] = field(default_factory=list)
    constant: dict[str, float] = field(default_factory=dict)
    registry: MetricRegistry = REGISTRY

    def describe(self) -> str:
        """``"2 x 2 design (connected: 0.4, 0.9; rail: 1, 0.5), seed as block"``."""
        shape = " x ".join(str(len(f.levels)) for f in self.factors)
        levels = "; ".join(f"{f.label}: {', '.join(f.levels)}" for f in self.factors)
        block = "seed as block (common random numbers)" if self.blocked else "no blocking"
        if len(self.factors) == 1:
            n = len(self.factors[0].levels)
            return f"one-way design with {n} levels ({levels}; no interaction), {block}"
        return f"{shape} design ({levels}), {block}"


def _fmt_level(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _short_labels(names: Sequence[str]) -> list[str]:
    def short(n: str) -> str:
        # a factor of paths that always change together is named "a.x + b.y": shorten each part (to
        # its last two components when the last ones are alike: "tariff_multiplier.rail + fee.rail")
        parts = str(n).split(" + ")
        last = [p.rsplit(".", 1)[-1] for p in parts]
        if len(set(last)) < len(last):
            last = [".".join(p.split(".")[-2:]) for p in parts]
        return " + ".join(last)

    out = [short(n) for n in names]
    return out if len(set(out)) == len(out) else [str(n) for n in names]


def _level_text(o: Mapping[str, Any], k: str) -> str:
    return _fmt_level(o[k]) if k in o else BASE_LEVEL


def _co_varying(keys: list[str], overrides: Mapping[str, Mapping[str, Any]]) -> list[list[str]]:
    """The override paths grouped by whether they always change together: two paths are in one group
    when their levels across the variants correspond one to one (each level of one goes with exactly
    one level of the other), e.g. a rail factor that sets the tariff and the fee together."""
    seqs = {k: tuple(_level_text(o, k) for o in overrides.values()) for k in keys}
    groups: list[list[str]] = []
    for k in keys:
        for g in groups:
            pairs = set(zip(seqs[g[0]], seqs[k]))
            if len(pairs) == len(set(seqs[k])) == len(set(seqs[g[0]])):
                g.append(k)
                break
        else:
            groups.append([k])
    return groups


def _variant_factors(variants: Sequence[Mapping[str, Any]], names: Sequence[str]):
    """Factors from variant overrides when they form a full factorial: ``(keys, levels, combos)``
    and None; else None and the reason they do not (which variants or paths break it).

    Paths that always change together (:func:`_co_varying`) are one factor, named ``"a + b"``, its
    levels ``"0.7 / 0.8"`` (``base`` when no path of it is overridden)."""
    declared = {str(v.get("name")): dict(v.get("overrides") or {}) for v in variants}
    order = [n for n in declared if n in names] + [n for n in names if n not in declared]
    overrides = {n: declared.get(n, {}) for n in order}  # in the experiment's order
    paths = list(dict.fromkeys(k for o in overrides.values() for k in o))
    if not paths:
        return None, "the variants override no scenario path (no factor levels to read)"
    groups = _co_varying(paths, overrides)
    keys = [" + ".join(g) for g in groups]

    def level(o: Mapping[str, Any], g: list[str]) -> str:
        texts = [_level_text(o, k) for k in g]
        return BASE_LEVEL if all(t == BASE_LEVEL for t in texts) else " / ".join(texts)

    combos = {n: tuple(level(o, g) for g in groups) for n, o in overrides.items()}
    levels: dict[str, list[str]] = {}
    for i, k in enumerate(keys):
        seen = [c[i] for c in combos.values()]
        levels[k] = sorted(set(seen), key=lambda x: (x != BASE_LEVEL, seen.index(x)))
    labels = dict(zip(keys, _short_labels(keys)))
    by_combo: dict[tuple[str, ...], list[str]] = {}
    for n, c in combos.items():
        by_combo.setdefault(c, []).append(n)
    same = [v for v in by_combo.values() if len(v) > 1]
    if same:
        return None, (
            f"variants {' and '.join(repr(v) for v in same[0])} set the same levels of every path"
        )
    full = math.prod(len(v) for v in levels.values())
    if full != len(combos):
        missing = [c for c in itertools.product(*(levels[k] for k in keys)) if c not in by_combo]
        shape = " x ".join(str(len(levels[k])) for k in keys)
        factors = ", ".join(f"{labels[k]} ({len(levels[k])} levels)" for k in keys)
        show = "; ".join(
            ", ".join(f"{labels[k]}={lv}" for k, lv in zip(keys, c)) for c in missing[:3]
        )
        more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        # a level only one variant sets is the likeliest culprit (an extra variant)
        lone = [
            f"'{by_combo[c][0]}' is the only variant with {labels[k]}={c[i]}"
            for i, k in enumerate(keys)
            for lv in levels[k]
            for c in by_combo
            if c[i] == lv and sum(cc[i] == lv for cc in by_combo) == 1 and lv != BASE_LEVEL
        ]
        hint = f" ({'; '.join(dict.fromkeys(lone))})" if lone and len(lone) < len(combos) else ""
        return None, (
            f"their overrides give the factors {factors}, a {shape} = {full}-cell design, but there "
            f"are {len(combos)} variants: no variant for {show}{more}{hint}"
        )
    return (keys, levels, combos), None


def factors_of(
    runs: pd.DataFrame,
    manifest: Mapping[str, Any] | None,
    parameter_columns: Iterable[str] = (),
    *,
    source: str = "runs",
) -> tuple[list[FactorSpec], pd.DataFrame]:
    """The factors of a batch and a frame (``run_id`` + one text column per factor) of each run's levels.

    Raises :class:`InputError` for a sampled design or a batch with fewer than one factor of two levels.
    """
    design = (manifest or {}).get("design") or {}
    kind = str(design.get("kind") or "")
    if kind in ("lhs", "sobol", "morris"):
        raise InputError(
            f"--factorial needs factor levels, but these results come from a {kind} design; use "
            "`agglomeration sensitivity` or the response plots of `agglomeration plot`",
            file=source,
            field="design.kind",
        )
    levels = pd.DataFrame({"run_id": runs["run_id"].astype(str)})
    specs: list[FactorSpec] = []
    names: list[str] = []
    why_one: dict[str, str] = {}
    values: dict[str, list[str]] = {}
    variants = list(pd.unique(runs["variant"].astype(str)))
    if len(variants) > 1:
        declared = ((manifest or {}).get("experiment") or {}).get("variants") or []
        found, why = _variant_factors(declared, variants)
        if found is not None:
            keys, lv, combos = found
            for i, k in enumerate(keys):
                names.append(k)
                values[k] = lv[k]
                levels[k] = [combos[v][i] for v in runs["variant"].astype(str)]
        else:
            ref = "baseline" if "baseline" in variants else variants[0]
            why_one["variant"] = f"the variants do not form a factorial: {why}"
            names.append("variant")
            values["variant"] = [ref, *[v for v in variants if v != ref]]
            levels["variant"] = runs["variant"].astype(str).to_numpy()
    for p in dict.fromkeys(parameter_columns):
        if p in runs.columns and runs[p].nunique(dropna=True) > 1:
            col = runs[p].map(_fmt_level)
            names.append(p)
            values[p] = list(pd.unique(col))
            levels[p] = col.to_numpy()
    if not names:
        raise InputError(
            "--factorial needs at least one factor with two or more levels: a grid design or several "
            "variants",
            file=source,
            field="design",
        )
    for name, label in zip(names, _short_labels(names)):
        specs.append(FactorSpec(name, label, tuple(values[name]), why_one.get(name, "")))
    return specs, levels


def _formula(n_factors: int, blocked: bool) -> str:
    terms = " * ".join(f"C(f{i})" for i in range(n_factors))
    return f"y ~ {terms}" + (" + C(block)" if blocked else "")


def _is_blocked(data: pd.DataFrame, n_factors: int, paired: bool | None) -> bool:
    """Common random numbers: every seed appears once in every cell (and at least 2 seeds)."""
    if paired is False or "seed" not in data.columns or data["seed"].isna().any():
        return False
    cells = data.groupby([f"f{i}" for i in range(n_factors)], observed=True)["seed"]
    seeds = [frozenset(s) for _, s in cells]
    counts = cells.size().to_numpy()
    ok = len(set(seeds)) == 1 and len(seeds[0]) >= 2 and (counts == len(seeds[0])).all()
    if paired and not ok:
        raise InputError(
            "cannot block by seed: not every seed was run once in every cell", field="paired"
        )
    return ok


class _Contrasts:
    """Linear contrasts of cell means: an OLS fit of the cell-means model (one indicator per cell, plus
    seed indicators when blocked), which spans the same space as the full factorial model."""

    def __init__(self, data: pd.DataFrame, specs: list[FactorSpec], blocked: bool):
        import statsmodels.api as sm

        cols = [f"f{i}" for i in range(len(specs))]
        self.combos = list(itertools.product(*(s.levels for s in specs)))
        index = {c: k for k, c in enumerate(self.combos)}
        cell = [index[tuple(str(x) for x in row)] for row in data[cols].itertuples(index=False)]
        x = np.zeros((len(data), len(self.combos)))
        x[np.arange(len(data)), cell] = 1.0
        if blocked:
            blocks = pd.get_dummies(data["block"], drop_first=True, dtype=float).to_numpy()
            x = np.hstack([x, blocks])
        self.n_params = x.shape[1]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.result = sm.OLS(data["y"].to_numpy(dtype=float), x).fit()

    def average(self, fixed: Mapping[int, str]) -> np.ndarray:
        """Weights of the mean of the cells with factor i at level ``fixed[i]`` (equal weights)."""
        w = np.zeros(self.n_params)
        keep = [k for k, c in enumerate(self.combos) if all(c[i] == lv for i, lv in fixed.items())]
        w[keep] = 1.0 / len(keep)
        return w

    def test(self, contrast: np.ndarray, confidence: float) -> dict[str, float]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = self.result.t_test(contrast[None, :])
            lo, hi = np.asarray(res.conf_int(alpha=1 - confidence)).ravel()[:2]
            est = float(np.asarray(res.effect).ravel()[0])
            se = float(np.asarray(res.sd).ravel()[0])
            p = float(np.asarray(res.pvalue).ravel()[0])
        if not (np.isfinite(se) and se > 1e-12 * max(abs(est), 1e-300)):
            return {"estimate": est, "ci_low": est, "ci_high": est, "se": se, "p": math.nan}
        return {"estimate": est, "ci_low": float(lo), "ci_high": float(hi), "se": se, "p": p}


def _effects(
    con: _Contrasts, specs: list[FactorSpec], metric: str, confidence: float
) -> list[dict[str, Any]]:
    rows = []
    for i, s in enumerate(specs):
        others = [o.label for j, o in enumerate(specs) if j != i]
        for lv in s.levels[1:]:
            res = con.test(con.average({i: lv}) - con.average({i: s.levels[0]}), confidence)
            rows.append(
                {"metric": metric, "term": "main", "factor": s.label,
                 "contrast": f"{lv} vs {s.levels[0]}"
                 + (f" (averaged over {', '.join(others)})" if others else ""), **res}
            )  # fmt: skip
    for (i, a), (j, b) in itertools.combinations(enumerate(specs), 2):
        for la, lb in itertools.product(a.levels[1:], b.levels[1:]):
            a0, b0 = a.levels[0], b.levels[0]
            did = (
                con.average({i: la, j: lb})
                - con.average({i: la, j: b0})
                - con.average({i: a0, j: lb})
                + con.average({i: a0, j: b0})
            )
            res = con.test(did, confidence)
            rows.append(
                {"metric": metric, "term": "interaction", "factor": f"{a.label} x {b.label}",
                 "contrast": f"DiD: ({a.label} {la} - {a0}) at {b.label}={lb} minus at {b.label}={b0}",
                 **res}
            )  # fmt: skip
    return rows


def _anova(result: Any, specs: list[FactorSpec], metric: str) -> list[dict[str, Any]]:
    from statsmodels.stats.anova import anova_lm

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = anova_lm(result, typ=2)
    resid = float(table.loc["Residual", "sum_sq"]) if "Residual" in table.index else math.nan
    names = {f"C(f{i})": s.label for i, s in enumerate(specs)}
    rows = []
    for term, r in table.iterrows():
        parts = str(term).split(":")
        label = " x ".join(names.get(p, "seed (block)" if p == "C(block)" else p) for p in parts)
        ss = float(r["sum_sq"])
        rows.append(
            {
                "metric": metric,
                "term": "residual" if term == "Residual" else label,
                "df": float(r["df"]),
                "sum_sq": ss,
                "F": float(r["F"]) if np.isfinite(r["F"]) else math.nan,
                "p": float(r["PR(>F)"]) if np.isfinite(r["PR(>F)"]) else math.nan,
                "partial_eta_sq": ss / (ss + resid)
                if term != "Residual" and ss + resid > 0
                else math.nan,
            }
        )
    return rows


def _cells(data: pd.DataFrame, specs, metric, registry, confidence) -> list[dict[str, Any]]:
    rows = []
    cols = [f"f{i}" for i in range(len(specs))]
    for combo, grp in data.groupby(cols, observed=True, sort=True):
        y = grp["y"].to_numpy(dtype=float)
        m, sd = float(y.mean()), float(y.std(ddof=1)) if y.size > 1 else math.nan
        lo, hi, how = mean_interval(m, sd, y.size, registry.info(metric), confidence)
        combo = combo if isinstance(combo, tuple) else (combo,)
        rows.append(
            {"metric": metric, **{s.label: str(c) for s, c in zip(specs, combo)}, "n": y.size,
             "mean": m, "ci_low": lo, "ci_high": hi, "interval": how}
        )  # fmt: skip
    return rows


def factorial(
    runs: pd.DataFrame,
    *,
    manifest: Mapping[str, Any] | None = None,
    metrics: Sequence[str] | Literal["all"] | None = None,
    series: pd.DataFrame | None = None,
    at_step: int | None = None,
    paired: bool | None = None,
    parameter_columns: Iterable[str] = (),
    confidence: float = CONFIDENCE,
    source: str = "runs",
    registry: MetricRegistry = REGISTRY,
) -> Factorial:
    """Main effects, interactions and ANOVA of every metric over the factors of a batch.

    ``runs`` is the store's runs table, ``manifest`` its manifest (for the design kind and the variants'
    overrides).  ``metrics``, ``series``/``at_step`` and ``parameter_columns`` as in
    :func:`agglomeration.experiment.compare.compare`; ``paired=False`` disables the seed block,
    ``True`` requires it.
    """
    import statsmodels.formula.api as smf

    specs, levels = factors_of(runs, manifest, parameter_columns, source=source)
    explicit = metrics is not None and metrics != "all"
    obs, chosen = observations(
        runs,
        series=series,
        at_step=at_step,
        metrics=list(metrics) if explicit else None,  # type: ignore[arg-type]
        parameter_columns=parameter_columns,
        source=source,
    )
    chosen, constant = _choose_metrics(obs, chosen, explicit or metrics == "all", registry, source)
    # the levels under names of their own: a factor may be named like a column of the observations
    # ("variant" when the variants do not form a factorial)
    own = {s.name: f"_level{i}" for i, s in enumerate(specs)}
    obs = obs.merge(levels.drop_duplicates("run_id").rename(columns=own), on="run_id", how="left")
    for i, s in enumerate(specs):
        obs[f"f{i}"] = pd.Categorical(obs[own[s.name]].astype(str), categories=list(s.levels))
    blocked = _is_blocked(obs, len(specs), paired)
    if blocked:
        obs["block"] = pd.Categorical(obs["seed"].astype(str))
    formula = _formula(len(specs), blocked)
    cells, effects, anova = [], [], []
    notes = [s.why_one for s in specs if s.why_one]
    for metric in chosen:
        data = obs.assign(y=pd.to_numeric(obs[metric], errors="coerce")).dropna(subset=["y"])
        cells += _cells(data, specs, metric, registry, confidence)
        counts = data.groupby([f"f{i}" for i in range(len(specs))], observed=False).size()
        if (counts < 1).any() or len(data) <= math.prod(len(s.levels) for s in specs):
            notes.append(f"{metric}: too few runs for every cell to have a residual; no tests")
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = smf.ols(formula, data=data).fit()
        con = _Contrasts(data, specs, blocked)
        effects += _effects(con, specs, metric, confidence)
        anova += _anova(result, specs, metric)
    effects_df = pd.DataFrame(
        effects,
        columns=[
            "metric",
            "term",
            "factor",
            "contrast",
            "estimate",
            "ci_low",
            "ci_high",
            "se",
            "p",
        ],
    )
    effects_df["p_holm"] = holm(effects_df["p"].to_numpy())
    return Factorial(
        specs,
        pd.DataFrame(cells),
        effects_df,
        pd.DataFrame(anova, columns=["metric", "term", "df", "sum_sq", "F", "p", "partial_eta_sq"]),
        chosen,
        blocked,
        notes,
        constant,
        registry,
    )
