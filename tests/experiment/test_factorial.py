"""Factorial analysis (`compare --factorial`): main effects, DiD interactions and ANOVA, checked against
direct computations on a 2 x 2 design with known effects."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from _fakes import GRID_A as A
from _fakes import GRID_B as B
from _fakes import GRID_MANIFEST as MANIFEST
from _fakes import grid_runs
from agglomeration.errors import InputError
from agglomeration.experiment.factorial import factorial, factors_of


def test_two_by_two_main_effects_and_difference_in_differences():
    runs = grid_runs()
    fac = factorial(runs, manifest=MANIFEST, parameter_columns=[A, B], metrics=["firms"])
    assert fac.blocked and [f.levels for f in fac.factors] == [("0.4", "0.9"), ("1", "0.5")]
    eff = fac.effects.set_index("term")
    did_row = eff.loc["interaction"]
    wide = runs.pivot_table(index="seed", columns=[A, B], values="firms")
    did = (wide[(0.9, 0.5)] - wide[(0.9, 1.0)]) - (wide[(0.4, 0.5)] - wide[(0.4, 1.0)])
    assert did_row["estimate"] == pytest.approx(did.mean())  # the mean of the per-seed DiDs
    assert did_row["ci_low"] < 8 < did_row["ci_high"]
    mains = fac.effects.loc[fac.effects["term"] == "main"].set_index("factor")["estimate"]
    cell = runs.groupby([A, B])["firms"].mean()
    assert mains["connected"] == pytest.approx(cell[0.9].mean() - cell[0.4].mean())
    assert mains["connected"] == pytest.approx(24, abs=3) and mains["rail"] == pytest.approx(
        9, abs=3
    )
    anova = fac.anova.set_index("term")
    assert {"connected", "rail", "connected x rail", "seed (block)", "residual"} <= set(anova.index)
    assert anova.loc["connected", "p"] < 1e-6
    # the block removes the common replicate noise: the interaction's residual df is (4-1)(10-1)
    assert anova.loc["residual", "df"] == 27
    assert fac.constant == {}  # firms_other was not chosen


def test_unblocked_analysis_matches_two_way_anova_from_scratch():
    runs = grid_runs()
    fac = factorial(
        runs, manifest=MANIFEST, parameter_columns=[A, B], metrics=["firms"], paired=False
    )
    assert not fac.blocked
    # F for the interaction of a balanced 2 x 2: SS_AB / MS_within
    y = runs.groupby([A, B])["firms"]
    n = 10
    means = y.mean().to_numpy().reshape(2, 2)
    grand = means.mean()
    ab = means - means.mean(1, keepdims=True) - means.mean(0, keepdims=True) + grand
    ss_ab = n * (ab**2).sum()
    ms_within = y.var().mean()
    f_ab = ss_ab / ms_within
    row = fac.anova.set_index("term").loc["connected x rail"]
    assert row["F"] == pytest.approx(f_ab)
    assert row["p"] == pytest.approx(stats.f.sf(f_ab, 1, 4 * (n - 1)))


def test_variants_that_form_a_factorial_become_factors():
    runs = grid_runs()
    names = {(0.4, 1.0): "baseline", (0.9, 1.0): "deleg", (0.4, 0.5): "rail", (0.9, 0.5): "both"}
    runs["variant"] = [names[(a, b)] for a, b in zip(runs[A], runs[B])]
    runs = runs.drop(columns=[A, B]).assign(point=0)
    manifest = {"experiment": {"variants": [
        {"name": "baseline", "overrides": {}}, {"name": "deleg", "overrides": {A: 0.9}},
        {"name": "rail", "overrides": {B: 0.5}}, {"name": "both", "overrides": {A: 0.9, B: 0.5}},
    ]}}  # fmt: skip
    specs, _ = factors_of(runs, manifest)
    assert [(s.label, s.levels) for s in specs] == [
        ("connected", ("base", "0.9")),
        ("rail", ("base", "0.5")),
    ]
    fac = factorial(runs, manifest=manifest, metrics=["firms"])
    assert fac.effects.set_index("term").loc["interaction", "estimate"] == pytest.approx(8, abs=3)


def test_sampled_designs_and_single_cells_are_refused():
    runs = grid_runs()
    with pytest.raises(InputError, match="lhs design"):
        factorial(runs, manifest={"design": {"kind": "lhs"}}, parameter_columns=[A, B])
    with pytest.raises(InputError, match="at least one factor"):
        factorial(runs.loc[runs["point"] == 0], manifest=MANIFEST, parameter_columns=[A, B])


def test_anova_export_gives_sums_of_squares_in_the_labels_unit():
    """A share's ANOVA rows are labelled in percent, so their sums of squares are in percent squared
    (10^4 times the 0-1 scale's); F, p and eta² are unchanged."""
    from agglomeration.report.tables import factorial_tables

    runs = grid_runs()
    runs["connected_firm_share"] = runs["firms"] / 1000.0
    fac = factorial(
        runs, manifest=MANIFEST, parameter_columns=[A, B], metrics=["connected_firm_share"]
    )
    numeric = factorial_tables(fac)[1]["anova"].set_index("term")
    raw = fac.anova.set_index("term")
    assert "(%)" in numeric.loc["connected", "Metric"]
    assert numeric.loc["connected", "sum_sq"] == pytest.approx(1e4 * raw.loc["connected", "sum_sq"])
    assert numeric.loc["connected", "F"] == raw.loc["connected", "F"]


def test_variants_that_form_no_factorial_are_one_factor():
    """Variants without a factorial structure are analysed as one factor named ``variant`` (a name the
    observations also carry: this used to fail with KeyError 'variant')."""
    rng = np.random.default_rng(3)
    rows = [
        {"run_id": f"{v}{r}", "variant": v, "replicate": r, "seed": 10 + r, "status": "ok",
         "firms": 100.0 + r + effect + rng.normal(0, 0.1)}
        for v, effect in (("baseline", 0.0), ("a", 5.0), ("b", -3.0))
        for r in range(6)
    ]  # fmt: skip
    fac = factorial(pd.DataFrame(rows), manifest={}, metrics=["firms"])
    eff = fac.effects.set_index("contrast")["estimate"]
    assert eff["a vs baseline"] == pytest.approx(5.0, abs=0.2)
    assert eff["b vs baseline"] == pytest.approx(-3.0, abs=0.2)
    assert "variant" in set(fac.anova["term"])


def _variant_runs(cells: dict[str, float], replicates: int = 6) -> pd.DataFrame:
    rng = np.random.default_rng(5)
    return pd.DataFrame(
        [
            {"run_id": f"{v}{r}", "variant": v, "replicate": r, "seed": 10 + r, "status": "ok",
             "firms": 100.0 + r + effect + rng.normal(0, 0.1)}
            for v, effect in cells.items()
            for r in range(replicates)
        ]
    )  # fmt: skip


FEE = "logistics.handling_fee.rail"


def test_paths_that_always_change_together_are_one_factor():
    """A rail factor that sets the tariff and the fee together: the variants fell back to a one-way
    analysis without a word; the two paths are now one factor of a 2 x 2."""
    runs = _variant_runs({"baseline": 0.0, "deleg": 20.0, "rail": 5.0, "both": 33.0})
    manifest = {"experiment": {"variants": [
        {"name": "baseline", "overrides": {}}, {"name": "deleg", "overrides": {A: 0.9}},
        {"name": "rail", "overrides": {B: 0.7, FEE: 0.8}},
        {"name": "both", "overrides": {A: 0.9, B: 0.7, FEE: 0.8}},
    ]}}  # fmt: skip
    specs, _ = factors_of(runs, manifest)
    assert [(s.name, s.label, s.levels) for s in specs] == [
        (A, "connected", ("base", "0.9")),
        (f"{B} + {FEE}", "tariff_multiplier.rail + handling_fee.rail", ("base", "0.7 / 0.8")),
    ]
    fac = factorial(runs, manifest=manifest, metrics=["firms"])
    assert fac.describe().startswith("2 x 2 design")
    assert fac.effects.set_index("term").loc["interaction", "estimate"] == pytest.approx(8, abs=0.5)


def test_a_variant_that_breaks_the_factorial_is_named():
    """An extra variant (a third rail level without delegation): the one-way fallback says why."""
    runs = _variant_runs({"baseline": 0.0, "deleg": 20.0, "rail": 5.0, "both": 33.0, "cheap": 9.0})
    manifest = {"experiment": {"variants": [
        {"name": "baseline", "overrides": {}}, {"name": "deleg", "overrides": {A: 0.9}},
        {"name": "rail", "overrides": {B: 0.5}}, {"name": "both", "overrides": {A: 0.9, B: 0.5}},
        {"name": "cheap", "overrides": {B: 0.3}},
    ]}}  # fmt: skip
    fac = factorial(runs, manifest=manifest, metrics=["firms"])
    assert fac.describe().startswith("one-way design with 5 levels (variant: baseline, ")
    why = fac.factors[0].why_one
    assert why in fac.notes
    assert "a 2 x 3 = 6-cell design, but there are 5 variants" in why
    assert "no variant for connected=0.9, rail=0.3" in why
    assert "'cheap' is the only variant with rail=0.3" in why
    twice = _variant_runs({"baseline": 0.0, "a": 1.0, "b": 1.0})
    same = {"experiment": {"variants": [
        {"name": "baseline"}, {"name": "a", "overrides": {A: 0.9}},
        {"name": "b", "overrides": {A: 0.9}},
    ]}}  # fmt: skip
    assert "variants 'a' and 'b' set the same levels" in factors_of(twice, same)[0][0].why_one
