"""Scenario discovery and robustness over a batch's design (``agglomeration discover``).

Which combinations of the design parameters lead to outcomes of interest, and which policy does well
across the uncertainties?  The approach of Bryant and Lempert (2010) and of the EMA Workbench
(Kwakkel 2017):

1. **Cases of interest**: a condition on the metrics (``"connected_firm_share > 0.5"``, parsed by
   :func:`parse_condition`: comparisons joined with ``and`` / ``or`` / ``not`` and parentheses, never
   evaluated as Python) marks each design point (its metrics averaged over replicates; or each run with
   ``replicates="each"``) as of interest or not.
2. **PRIM** (the patient rule induction method, ``ema_workbench.analysis.prim``): peels the design space
   down to a box of the parameters where cases of interest are dense.  The peeling trajectory trades
   *coverage* (share of all cases of interest inside the box) against *density* (share of the box's
   points that are of interest); the box reported is the densest one with coverage >= ``min_coverage``,
   with the quasi-p value of each restriction.
3. **CART** (``sklearn.tree.DecisionTreeClassifier``, seeded, depth <= ``max_depth``, leaves of at least
   ``mass_min`` of the points): each leaf where cases of interest are more frequent than overall is a box.
4. **Feature scores** (``ema_workbench.analysis.feature_scoring.get_ex_feature_scores``: extra-trees
   importance, seeded): how much each parameter matters for being of interest.
5. **Robustness and regret**: when the experiment declares *levers* (its variants, and design parameters
   with ``role = "lever"``) and *uncertainties* (the other design parameters) and every policy was run at
   every uncertainty point, each policy's outcome across the uncertainty points: mean, 10th percentile,
   the share of points where the condition holds (satisficing), and Savage's regret (the best policy's
   outcome at a point minus this policy's outcome) at its maximum and mean; minimax regret is the
   robust choice.

The ``discovery`` extra installs ema_workbench and scikit-learn (``pip install 'agglomeration[discovery]'``).
"""

from __future__ import annotations

import ast
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from agglomeration.errors import InputError
from agglomeration.experiment.compare import (
    _did_you_mean,
    metric_columns,
    parameter_columns_from_manifest,
    successful_runs,
)

__all__ = ["Condition", "Discovery", "discover", "parse_condition"]

_OPS = {
    ast.Gt: np.greater,
    ast.GtE: np.greater_equal,
    ast.Lt: np.less,
    ast.LtE: np.less_equal,
    ast.Eq: np.equal,
    ast.NotEq: np.not_equal,
}
_OP_TEXT = {ast.Gt: ">", ast.GtE: ">=", ast.Lt: "<", ast.LtE: "<=", ast.Eq: "==", ast.NotEq: "!="}


def _need_extra() -> None:
    try:
        with warnings.catch_warnings():  # ema_workbench warns about its own optional extras
            warnings.simplefilter("ignore")
            import ema_workbench
            import ema_workbench.analysis.prim  # noqa: F401
        import sklearn  # noqa: F401
    except ImportError as exc:
        raise InputError(
            f"scenario discovery needs the 'discovery' extra ({exc.name} is missing): "
            "pip install 'agglomeration[discovery]'",
            field="discover",
        ) from None


@dataclass(frozen=True)
class Condition:
    """A parsed condition on metrics: ``text``, the ``metrics`` it reads, the direction of its first
    comparison (``"max"`` for > / >=, ``"min"`` for < / <=) and of each metric's first bound
    (``directions``), used to rank policies on that metric."""

    text: str
    tree: ast.Expression
    metrics: tuple[str, ...]
    direction: Literal["max", "min"]
    directions: Mapping[str, str] = field(default_factory=dict)

    def evaluate(self, frame: pd.DataFrame) -> np.ndarray:
        """Boolean array: whether each row of ``frame`` satisfies the condition (NaN never does)."""
        return np.asarray(_eval(self.tree.body, frame), dtype=bool)


def _eval(node: ast.AST, frame: pd.DataFrame) -> Any:
    if isinstance(node, ast.BoolOp):
        parts = [_eval(v, frame) for v in node.values]
        out = parts[0]
        for p in parts[1:]:
            out = (out & p) if isinstance(node.op, ast.And) else (out | p)
        return out
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return ~_eval(node.operand, frame)
    if isinstance(node, ast.Compare):
        values = [_value(node.left, frame), *(_value(c, frame) for c in node.comparators)]
        out = np.ones(len(frame), dtype=bool)
        for op, a, b in zip(node.ops, values, values[1:]):
            with np.errstate(invalid="ignore"):
                out &= _OPS[type(op)](a, b) & ~np.isnan(np.asarray(a, float) + np.asarray(b, float))
        return out
    raise AssertionError(f"unexpected node {type(node).__name__}")  # excluded by the parser


def _value(node: ast.AST, frame: pd.DataFrame) -> Any:
    if isinstance(node, ast.Name):
        return pd.to_numeric(frame[node.id], errors="coerce").to_numpy(dtype=float)
    return _number(node)


def _number(node: ast.AST) -> float | None:
    """The value of a number literal, signed (``-1``, ``+0.5``); None for anything else."""
    sign = 1.0
    while isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        sign = -sign if isinstance(node.op, ast.USub) else sign
        node = node.operand
    if (
        isinstance(node, ast.Constant)
        and isinstance(node.value, int | float)
        and not isinstance(node.value, bool)
    ):
        return sign * float(node.value)
    return None


def parse_condition(text: str, available: Sequence[str], *, field: str = "--where") -> Condition:
    """Parse ``text`` into a :class:`Condition` over the metric names ``available``.

    Grammar: comparisons ``metric OP number`` (OP one of > >= < <= == !=; chains like
    ``0.2 < x < 0.5`` allowed) joined by ``and``, ``or``, ``not`` and parentheses.  Anything else (calls,
    attributes, arithmetic) is an :class:`InputError`; nothing is evaluated as Python.
    """
    try:
        tree = ast.parse(str(text).strip(), mode="eval")
    except SyntaxError as exc:
        raise InputError(f"cannot parse the condition {text!r}: {exc.msg}", field=field) from None
    names: list[str] = []
    directions: list[str] = []
    by_metric: dict[str, str] = {}

    def check(node: ast.AST, negated: bool = False) -> None:
        if isinstance(node, ast.BoolOp):
            for v in node.values:
                check(v, negated)
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            check(node.operand, not negated)
        elif isinstance(node, ast.Compare):
            terms = [node.left, *node.comparators]
            for t in terms:
                if isinstance(t, ast.Name):
                    if t.id not in available:
                        raise InputError(
                            f"unknown metric {t.id!r} in the condition{_did_you_mean(t.id, available)}; "
                            f"available: {', '.join(available)}",
                            field=field,
                        )
                    names.append(t.id)
                elif _number(t) is None:
                    raise InputError(
                        f"expected a metric name or a number in {text!r}, got {ast.unparse(t)!r}",
                        field=field,
                    )
            if not any(isinstance(t, ast.Name) for t in terms):
                raise InputError(
                    f"the comparison {ast.unparse(node)!r} names no metric", field=field
                )
            # each bound: in "a > b" more a and less b satisfy it; "not" turns that round
            for i, op in enumerate(node.ops):
                if not isinstance(op, ast.Gt | ast.GtE | ast.Lt | ast.LtE):
                    continue
                left_up = isinstance(op, ast.Gt | ast.GtE) != negated
                for term, up in ((terms[i], left_up), (terms[i + 1], not left_up)):
                    if isinstance(term, ast.Name):
                        direction = "max" if up else "min"
                        if not directions:
                            directions.append(direction)  # the condition's first bound
                        by_metric.setdefault(term.id, direction)
        else:
            raise InputError(
                f"expected comparisons such as 'connected_firm_share > 0.5' joined by and / or / not, "
                f"got {ast.unparse(node)!r}",
                field=field,
            )

    check(tree.body)
    return Condition(
        str(text).strip(),
        tree,
        tuple(dict.fromkeys(names)),
        directions[0] if directions else "max",  # type: ignore[arg-type]
        by_metric,
    )


@dataclass
class Discovery:
    """Result of :func:`discover`; every table is a pandas frame (empty when not applicable)."""

    condition: Condition
    parameters: list[str]
    n_points: int
    n_interest: int
    unit: str
    prim_box: pd.DataFrame
    prim_stats: dict[str, float]
    trajectory: pd.DataFrame
    cart: pd.DataFrame
    features: pd.DataFrame
    robustness: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    #: the metric the robustness table ranks, and whether higher ("max") or lower ("min") is better
    outcome: str = ""
    direction: str = "max"

    @property
    def base_rate(self) -> float:
        """Share of the points that are of interest."""
        return self.n_interest / self.n_points if self.n_points else math.nan


def _points(
    runs: pd.DataFrame, params: list[str], metrics: Sequence[str], replicates: str, by_variant: bool
) -> pd.DataFrame:
    """One row per design point (and variant): parameters, metrics averaged over replicates."""
    if replicates == "each":
        return runs[[*(["variant"] if by_variant else []), *params, *metrics]].reset_index(
            drop=True
        )
    keys = (["variant"] if by_variant else []) + (["point"] if "point" in runs.columns else params)
    agg = runs.groupby(keys, sort=False, dropna=False)
    # a point with a replicate where a metric is undefined is undefined (not the mean of the rest)
    undefined = (
        runs[keys]
        .join(runs[list(metrics)].isna())
        .groupby(keys, sort=False, dropna=False)[list(metrics)]
        .any()
    )
    frame = agg[list(metrics)].mean().mask(undefined)
    first = agg[[p for p in params if p not in keys]].first()
    return pd.concat([first, frame], axis=1).reset_index().drop(columns=["point"], errors="ignore")


def _prim(x: pd.DataFrame, y: np.ndarray, mass_min: float, peel_alpha: float, min_coverage: float):
    from ema_workbench.analysis import prim

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            # ema_workbench 2.x: cases of interest are y >= threshold, and the final box is kept only
            # if its density reaches the threshold (else a 'dump box' without the trajectory).  A tiny
            # positive threshold makes the indicator y == 1 the cases of interest and keeps every
            # trajectory, as ema_workbench >= 3 does: the two versions report the same boxes.
            algo = prim.Prim(x, y, threshold=1e-9, mass_min=mass_min, peel_alpha=peel_alpha)
        except TypeError:  # ema_workbench >= 3 has no threshold (y is always the indicator)
            algo = prim.Prim(x, y, mass_min=mass_min, peel_alpha=peel_alpha)
        box = algo.find_box()
    traj = box.peeling_trajectory.reset_index(drop=True)
    ok = traj.index[traj["coverage"] >= min_coverage]
    i = int(traj.loc[ok, "density"].idxmax()) if len(ok) else 0
    lims = box.box_lims[i]
    init = algo.box_init
    qps = getattr(box, "p_values", None) or box.qp
    qp = qps[i] if i < len(qps) else {}
    rows = []
    for p in x.columns:
        lo, hi = lims[p].iloc[0], lims[p].iloc[1]
        restricted = (
            bool(not (init[p].iloc[0] == lo and init[p].iloc[1] == hi))
            if not isinstance(lo, set)
            else lims[p].iloc[0] != init[p].iloc[0]
        )
        if not restricted:
            continue
        q = qp.get(p, [math.nan, math.nan])
        if isinstance(lo, set):
            rows.append(
                {
                    "parameter": p,
                    "low": math.nan,
                    "high": math.nan,
                    "levels": ", ".join(sorted(map(str, lo))),
                    "design_low": math.nan,
                    "design_high": math.nan,
                    "qp": min((v for v in q if v >= 0), default=math.nan),
                }
            )
        else:
            rows.append(
                {
                    "parameter": p,
                    "low": float(lo),
                    "high": float(hi),
                    "levels": "",
                    "design_low": float(init[p].iloc[0]),
                    "design_high": float(init[p].iloc[1]),
                    "qp": min((v for v in q if v >= 0), default=math.nan),
                }
            )
    stats = {k: float(traj.loc[i, k]) for k in ("coverage", "density", "mass")} | {
        "restricted": int(traj.loc[i, "res_dim"]),
        "box": i,
    }
    trajectory = traj[["coverage", "density", "mass", "res_dim"]].rename(
        columns={"res_dim": "restricted"}
    )
    trajectory.insert(0, "step", range(len(trajectory)))
    trajectory["chosen"] = trajectory["step"] == i
    return (
        pd.DataFrame(
            rows, columns=["parameter", "low", "high", "levels", "design_low", "design_high", "qp"]
        ),
        stats,
        trajectory,
    )


def _cart(
    x: pd.DataFrame, y: np.ndarray, mass_min: float, max_depth: int, seed: int
) -> pd.DataFrame:
    """Leaves of a seeded decision tree where cases of interest are more frequent than overall."""
    from sklearn.tree import DecisionTreeClassifier

    xn = pd.get_dummies(x, prefix_sep="=", dtype=float)
    clf = DecisionTreeClassifier(
        max_depth=max_depth, min_samples_leaf=max(1, int(mass_min * len(xn))), random_state=seed
    )
    clf.fit(xn.to_numpy(), y)
    tree = clf.tree_
    names = list(xn.columns)
    rows = []
    total = max(int(y.sum()), 1)
    base = y.mean()

    def walk(node: int, rules: list[str]) -> None:
        if tree.children_left[node] == -1:
            inside = clf.apply(xn.to_numpy()) == node
            n, k = int(inside.sum()), int(y[inside].sum())
            if n and k / n > base:
                rows.append(
                    {
                        "rule": " and ".join(rules) or "(all points)",
                        "coverage": k / total,
                        "density": k / n,
                        "mass": n / len(y),
                        "n": n,
                    }
                )
            return
        name, t = names[tree.feature[node]], float(tree.threshold[node])
        if (
            "=" in name
            and name.split("=", 1)[0] in x.columns
            and not pd.api.types.is_numeric_dtype(x[name.split("=", 1)[0]])
        ):
            col, level = name.split("=", 1)
            left, right = f"{col} != {level}", f"{col} == {level}"
        else:
            left, right = f"{name} <= {t:.4g}", f"{name} > {t:.4g}"
        walk(tree.children_left[node], [*rules, left])
        walk(tree.children_right[node], [*rules, right])

    walk(0, [])
    return pd.DataFrame(rows, columns=["rule", "coverage", "density", "mass", "n"]).sort_values(
        "coverage", ascending=False, ignore_index=True
    )


def _numeric_or_categorical(frame: pd.DataFrame) -> pd.DataFrame:
    """The design parameters as PRIM, CART and the feature scores read them: numbers (booleans as
    0/1) as floats, any other column (a grid over text levels) as a categorical, like ``variant``."""
    out = pd.DataFrame(index=frame.index)
    for name in frame.columns:
        col = frame[name]
        try:
            out[name] = pd.to_numeric(col, errors="raise").astype(float)
        except (TypeError, ValueError):
            out[name] = pd.Categorical(col.astype(str))
    return out


def _features(x: pd.DataFrame, y: np.ndarray, seed: int) -> pd.DataFrame:
    from ema_workbench.analysis import feature_scoring
    from ema_workbench.analysis.scenario_discovery_util import RuleInductionType

    xn = pd.get_dummies(x, prefix_sep="=", dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scores, _ = feature_scoring.get_ex_feature_scores(
            xn,
            y,
            mode=RuleInductionType.CLASSIFICATION,
            random_state=seed,
            # the library's default, a third of the columns, is 0 for a single column
            max_features=max(1, round(xn.shape[1] / 3)),
        )
    s = scores.iloc[:, 0]
    # one-hot columns of a categorical parameter ("variant=a", "variant=b") add up to the parameter
    owner = [
        n.split("=", 1)[0] if "=" in n and n.split("=", 1)[0] in x.columns else n
        for n in s.index.astype(str)
    ]
    total = pd.Series(s.to_numpy(dtype=float), index=owner).groupby(level=0).sum()
    return pd.DataFrame({"parameter": total.index, "score": total.to_numpy()}).sort_values(
        "score", ascending=False, ignore_index=True
    )


def _robustness(
    points: pd.DataFrame,
    levers: list[str],
    uncertainties: list[str],
    cond: Condition,
    metric: str,
    notes: list[str],
    left_out: bool = False,
    direction: str | None = None,
    n_scenarios: int | None = None,
) -> pd.DataFrame:
    """Per policy (lever combination) across the uncertainty points: mean, p10, satisficing, regret
    of ``metric``, higher better when ``direction`` is "max" (default: the condition's direction).
    ``left_out``: points were dropped for an undefined metric, so the policies are compared over the
    uncertainty points where every one has a value (of ``n_scenarios`` in the design)."""
    direction = direction or cond.direction
    if not uncertainties:
        notes.append(
            "robustness: the design declares no uncertainties (role = 'uncertainty'); no regret table"
        )
        return pd.DataFrame()
    if not levers:
        notes.append(
            "robustness: no levers (several variants, or design parameters with role = 'lever'); no regret table"
        )
        return pd.DataFrame()
    data = points.assign(
        policy=points[levers].astype(str).agg(", ".join, axis=1)
        if len(levers) > 1
        else points[levers[0]].astype(str),
        scenario=points[uncertainties].round(12).astype(str).agg("|".join, axis=1),
    )
    table = data.pivot_table(index="scenario", columns="policy", values=metric, aggfunc="mean")
    incomplete = table.isna().any(axis=1)
    if incomplete.any() and (~incomplete).sum() >= 2 and left_out:
        # points left out for an undefined metric: compare the policies where all have a value
        notes.append(
            f"robustness: over the {int((~incomplete).sum())} of {n_scenarios or len(table)} "
            "uncertainty points where every policy has a value"
        )
        table = table.loc[~incomplete]
        data = data.loc[data["scenario"].isin(table.index)]
    if table.isna().any().any() or len(table) < 2:
        why = (
            "some points were left out for lack of a metric's value (above)"
            if left_out
            else "levers and uncertainties sampled together?"
        )
        notes.append(
            "robustness: the policies do not share every uncertainty point "
            f"({why}); no regret table"
        )
        return pd.DataFrame()
    v = table.to_numpy(dtype=float)
    if direction == "max":
        regret = v.max(axis=1, keepdims=True) - v
    else:
        regret = v - v.min(axis=1, keepdims=True)
    ok = data.assign(ok=cond.evaluate(data)).pivot_table(
        index="scenario", columns="policy", values="ok", aggfunc="mean"
    )
    out = pd.DataFrame(
        {
            "policy": table.columns.astype(str),
            "scenarios": len(table),
            "mean": table.mean().to_numpy(),
            "p10": table.quantile(0.1).to_numpy(),
            "p90": table.quantile(0.9).to_numpy(),
            "satisficing": ok.reindex(columns=table.columns).mean().to_numpy(),
            "max_regret": regret.max(axis=0),
            "mean_regret": regret.mean(axis=0),
        }
    )
    return out.sort_values(["max_regret", "mean_regret"], ignore_index=True)


def _design_of(runs, manifest, parameters, min_coverage, mass_min, source):
    """Check the options; the successful runs, the varying design parameters and whether the variant
    is a factor."""
    if not 0 < min_coverage <= 1:
        raise InputError(
            f"expected a coverage in (0, 1], got {min_coverage}", field="--min-coverage"
        )
    if not 0 < mass_min < 0.5:
        raise InputError(f"expected a mass in (0, 0.5), got {mass_min}", field="--mass-min")
    ok = successful_runs(runs)
    declared = parameter_columns_from_manifest(manifest)
    if parameters is not None:
        # a design parameter, or a dotted scenario path the runs table records (not a metric)
        unknown = [
            p for p in parameters if p not in declared and not ("." in p and p in ok.columns)
        ]
        if unknown:
            raise InputError(
                f"unknown design parameter {unknown[0]!r}{_did_you_mean(unknown[0], declared)}; "
                f"the design has: {', '.join(declared) or '(none)'}",
                file=source,
                field="--parameters",
            )
    params = list(parameters) if parameters is not None else declared
    params = [
        p for p in dict.fromkeys(params) if p in ok.columns and ok[p].nunique(dropna=True) > 1
    ]
    by_variant = "variant" in ok.columns and ok["variant"].nunique() > 1
    if not params and not by_variant:
        raise InputError(
            "scenario discovery needs a design with parameters that vary (or several variants)",
            file=source,
            field="design",
        )
    return ok, params, by_variant


def discover(
    runs: pd.DataFrame,
    where: str,
    *,
    manifest: Mapping[str, Any] | None = None,
    parameters: Sequence[str] | None = None,
    metric: str | None = None,
    better: Literal["higher", "lower"] | None = None,
    replicates: Literal["mean", "each"] = "mean",
    min_coverage: float = 0.5,
    mass_min: float = 0.05,
    peel_alpha: float = 0.05,
    max_depth: int = 3,
    seed: int = 0,
    source: str = "runs",
) -> Discovery:
    """Scenario discovery for the condition ``where`` over the design parameters of ``runs``.

    ``parameters`` defaults to the manifest's design parameters; several variants add ``variant`` as a
    categorical factor.  ``metric`` (default: the first metric of the condition) is the outcome ranked in
    the robustness table; ``better`` says whether higher or lower values of it are better (default: as
    the condition bounds it, e.g. lower for ``import_share < 0.1``; required for a metric the condition
    does not bound).  ``seed`` (0 to 2**32 - 1) seeds CART and the feature scores.
    ``replicates="mean"`` classifies design points by their mean over replicates, ``"each"`` every
    run.  Raises :class:`InputError` for a bad condition, no design parameters, or no (or only) cases
    of interest.
    """
    _need_extra()
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32:
        raise InputError(f"expected a seed from 0 to 2**32 - 1, got {seed!r}", field="--seed")
    if better not in (None, "higher", "lower"):
        raise InputError(f"expected 'higher' or 'lower', got {better!r}", field="--better")
    ok, params, by_variant = _design_of(runs, manifest, parameters, min_coverage, mass_min, source)
    available = metric_columns(ok, params)
    cond = parse_condition(where, available)
    outcome = metric or cond.metrics[0]
    if outcome not in available:
        raise InputError(
            f"unknown metric {outcome!r}{_did_you_mean(outcome, available)}",
            file=source,
            field="--metric",
        )
    if better is not None:
        direction = "max" if better == "higher" else "min"
    elif outcome in cond.directions:
        direction = cond.directions[outcome]
    elif metric is None:  # the condition's own first metric, bounded nowhere: its first bound's
        direction = cond.direction
    else:
        raise InputError(
            f"the condition does not say whether more or less {outcome} is better; add --better "
            "higher or --better lower",
            file=source,
            field="--better",
        )
    needed = list(dict.fromkeys([*cond.metrics, outcome]))
    points = _points(ok, params, needed, replicates, by_variant)
    roles = _roles(manifest, params)
    uncertainties = [p for p in params if roles.get(p) != "lever"]
    n_scenarios = len(points[uncertainties].round(12).drop_duplicates()) if uncertainties else None
    unit = "design points" if replicates == "mean" else "runs"
    notes: list[str] = []
    constant = [q for q in dict.fromkeys(parameters or ()) if q not in params]
    if constant:
        notes.append(
            f"--parameters: {', '.join(constant)} do not vary in the runs and are left out"
        )
    # a metric undefined in a run (NaN: e.g. the export share of a region without manufacturing
    # sales) says nothing about the condition, either way ("not x < 0" must not count it): left out
    missing = points[needed].isna()
    left_out = bool(missing.any(axis=None))
    if left_out:
        which = ", ".join(f"{m} ({int(missing[m].sum())})" for m in needed if missing[m].any())
        notes.append(
            f"{int(missing.any(axis=1).sum())} of {len(points)} {unit} have no value of a metric of "
            f"the condition or the outcome and are left out: {which}"
        )
        points = points.loc[~missing.any(axis=1)].reset_index(drop=True)
        if len(points) == 0:
            raise InputError(
                f"no {unit} have a value of every metric the analysis reads ({which})",
                file=source,
                field="--where",
            )
    y = cond.evaluate(points)
    n, k = len(points), int(y.sum())
    if k == 0 or k == n:
        what = "no" if k == 0 else "every"
        raise InputError(
            f"{what} design point satisfies {cond.text!r} ({k} of {n}): nothing to discover; change the condition",
            file=source,
            field="--where",
        )
    x = _numeric_or_categorical(points[params])
    if by_variant:
        x["variant"] = pd.Categorical(points["variant"].astype(str))
    box, stats, trajectory = _prim(x, y, mass_min, peel_alpha, min_coverage)
    if len(trajectory) == 1:
        notes.append(
            "PRIM: no peel raised the density (too few points, or no box-shaped region); see CART"
        )
    elif stats["coverage"] < min_coverage:
        notes.append(
            f"PRIM: no box on the peeling trajectory reaches coverage {min_coverage:g}; the whole space is reported"
        )
    levers = (["variant"] if by_variant else []) + [p for p in params if roles.get(p) == "lever"]
    robustness = _robustness(
        points, levers, uncertainties, cond, outcome, notes, left_out, direction, n_scenarios
    )
    return Discovery(
        cond,
        params,
        n,
        k,
        unit,
        box,
        stats,
        trajectory,
        _cart(x, y, mass_min, max_depth, seed),
        _features(x, y, seed),
        robustness,
        notes,
        outcome,
        direction,
    )


def _roles(manifest: Mapping[str, Any] | None, params: Sequence[str]) -> dict[str, str]:
    declared = (((manifest or {}).get("experiment") or {}).get("design") or {}).get(
        "parameters"
    ) or {}
    return {p: str((declared.get(p) or {}).get("role") or "uncertainty") for p in params}
