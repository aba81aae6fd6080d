"""Scenario discovery (`agglomeration discover`): the condition parser, PRIM and CART boxes on data
with a known region of interest, feature scores and the robustness / regret table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from _fakes import write_store
from agglomeration.cli import main as cli_main
from agglomeration.errors import InputError
from agglomeration.experiment.discovery import discover, parse_condition

pytest.importorskip("ema_workbench", reason="scenario discovery needs the 'discovery' extra")
pytest.importorskip("sklearn", reason="scenario discovery needs the 'discovery' extra")

P1, P2, P3 = (
    "behaviour.sourcing.search_probability",
    "behaviour.relocation.probability",
    "policy.replication_rate",
)


def lhs_runs(n: int = 200, seed: int = 1) -> pd.DataFrame:
    """Two variants over the same n points: y > 0.5 exactly where P1 > 0.6 and P2 < 0.4; the policy
    'hi' adds 0.1 everywhere (so it is never worse: zero regret)."""
    rng = np.random.default_rng(seed)
    x = rng.random((n, 3))
    inside = (x[:, 0] > 0.6) & (x[:, 1] < 0.4)
    rows = []
    for v, shift in (("baseline", 0.0), ("hi", 0.1)):
        for i in range(n):
            y = (0.7 if inside[i] else 0.3) + 0.05 * x[i, 2] + shift * (not inside[i]) * 0.5
            rows.append({"run_id": f"{v}{i}", "variant": v, "point": i, P1: x[i, 0], P2: x[i, 1],
                         P3: x[i, 2], "replicate": 0, "seed": 7, "status": "ok",
                         "connected_firm_share": y, "firms": 100.0 + 10 * y})  # fmt: skip
    return pd.DataFrame(rows)


MANIFEST = {
    "design": {"kind": "lhs", "parameters": [P1, P2, P3]},
    "experiment": {"design": {"parameters": {P1: {"role": "uncertainty"}, P2: {}, P3: {}}}},
}


def test_condition_parser_is_safe_and_helpful():
    cond = parse_condition(
        "connected_firm_share > 0.5 and not (firms <= 3 or 0.1 < firms < 2)",
        ["connected_firm_share", "firms"],
    )
    assert cond.metrics == ("connected_firm_share", "firms") and cond.direction == "max"
    frame = pd.DataFrame({"connected_firm_share": [0.6, 0.4, np.nan], "firms": [10.0, 10.0, 10.0]})
    assert list(cond.evaluate(frame)) == [True, False, False]
    assert parse_condition("0.2 > import_share", ["import_share"]).direction == "min"
    for bad, msg in [
        ("__import__('os').system('x') > 1", "expected a metric name or a number"),
        ("firms.real > 1", "expected a metric name or a number"),
        ("firms + 1 > 2", "expected a metric name or a number"),
        ("firm > 1", "did you mean 'firms'"),
        ("firms >", "cannot parse"),
        ("firms", "expected comparisons"),
        ("1 < 2", "names no metric"),
    ]:
        with pytest.raises(InputError, match=msg):
            parse_condition(bad, ["firms"])


def test_prim_and_cart_find_the_box_and_the_parameters_that_matter():
    runs = lhs_runs()
    disc = discover(
        runs.loc[runs["variant"] == "baseline"],
        "connected_firm_share > 0.5",
        manifest=MANIFEST,
        min_coverage=0.8,
    )
    box = disc.prim_box.set_index("parameter")
    assert set(box.index) == {P1, P2}  # the third parameter is not restricted
    assert box.loc[P1, "low"] == pytest.approx(0.6, abs=0.08) and box.loc[
        P2, "high"
    ] == pytest.approx(0.4, abs=0.08)
    assert disc.prim_stats["coverage"] >= 0.8 and disc.prim_stats["density"] > 0.8
    assert disc.prim_stats["density"] > disc.base_rate
    assert P1 in disc.cart.loc[0, "rule"] and disc.cart.loc[0, "density"] > 0.8
    assert set(disc.features["parameter"].head(2)) == {P1, P2}
    again = discover(
        runs.loc[runs["variant"] == "baseline"], "connected_firm_share > 0.5", manifest=MANIFEST
    )
    pd.testing.assert_frame_equal(disc.features, again.features)  # seeded: identical


def test_robustness_ranks_policies_by_regret_across_uncertainties():
    disc = discover(lhs_runs(), "connected_firm_share > 0.5", manifest=MANIFEST)
    rob = disc.robustness.set_index("policy")
    assert list(rob.index) == ["hi", "baseline"]  # minimax regret first
    assert rob.loc["hi", "max_regret"] == pytest.approx(0.0)
    assert rob.loc["baseline", "max_regret"] == pytest.approx(0.05)
    assert rob.loc["hi", "scenarios"] == 200


def test_discover_command_prints_and_exports(tmp_path, capsys):
    root = write_store(
        tmp_path / "lhs",
        lhs_runs(60),
        design=MANIFEST["design"],
        experiment={"name": "lhs", **MANIFEST["experiment"]},
    )
    out = tmp_path / "disc.xlsx"
    figs = tmp_path / "figs"
    code = cli_main(
        [
            "discover",
            str(root),
            "--where",
            "connected_firm_share > 0.5",
            "--out",
            str(out),
            "--figures",
            str(figs),
        ]
    )
    assert code == 0
    text = capsys.readouterr().out
    assert (
        "PRIM box" in text
        and "CART boxes" in text
        and "Feature scores" in text
        and "regret" in text
    )
    assert {"box", "trajectory", "cart", "features", "robustness"} <= set(
        pd.ExcelFile(out, engine="openpyxl").sheet_names
    )
    assert (figs / "discovery.png").stat().st_size > 1000
    assert cli_main(["discover", str(root), "--where", "firms > 1e9"]) == 2
    assert "nothing to discover" in capsys.readouterr().err


def test_points_without_a_value_are_left_out_and_said_so():
    """A metric undefined in some runs (NaN) neither satisfies a condition nor its negation: those
    points are left out with a note, and the robustness note gives that reason."""
    runs = lhs_runs(n=120)
    gap = runs["point"] % 4 == 0
    runs.loc[gap, "connected_firm_share"] = np.nan
    disc = discover(runs, "not connected_firm_share > 0.5", manifest=MANIFEST)
    assert disc.n_points == 2 * 90  # the 30 undefined points of each variant are out
    assert any("are left out: connected_firm_share (60)" in n for n in disc.notes)
    full = discover(lhs_runs(n=120), "not connected_firm_share > 0.5", manifest=MANIFEST)
    kept = ~gap.to_numpy()
    assert disc.n_interest == int((runs.loc[kept, "connected_firm_share"] <= 0.5).sum())
    assert full.n_interest > disc.n_interest


def test_an_unknown_parameter_to_search_is_an_error():
    with pytest.raises(
        InputError, match=r"unknown design parameter 'behaviour\.sourcing\.search_prob'"
    ):
        discover(lhs_runs(), "connected_firm_share > 0.5", manifest=MANIFEST,
                 parameters=[P1, "behaviour.sourcing.search_prob"])  # fmt: skip


def test_a_point_undefined_in_one_replicate_is_left_out_and_regret_uses_the_rest():
    one = lhs_runs(n=120)
    two = one.assign(run_id=one["run_id"] + "b", replicate=1)
    gap = (two["point"] % 4 == 0) & (two["variant"] == "hi")
    two.loc[gap, "connected_firm_share"] = np.nan  # undefined in one replicate of one policy
    disc = discover(pd.concat([one, two]), "connected_firm_share > 0.5", manifest=MANIFEST)
    assert disc.n_points == 120 + 90  # not the mean of the defined replicate
    rob = disc.robustness.set_index("policy")
    assert (rob["scenarios"] == 90).all()  # compared where every policy has a value
    assert any("over the 90 of 120 uncertainty points" in n for n in disc.notes)


def test_another_outcome_is_ranked_in_its_own_direction_and_labelled_as_itself():
    """`--metric firms` with a condition on another metric ranked firms in the condition's direction
    and the table was labelled (and scaled) as the condition's metric."""
    from agglomeration.report.numbers import format_number
    from agglomeration.report.tables import discovery_tables

    runs = lhs_runs()
    with pytest.raises(InputError, match="--better higher or --better lower") as err:
        discover(runs, "connected_firm_share > 0.5", manifest=MANIFEST, metric="firms")
    assert err.value.field == "--better"
    lower = discover(
        runs, "connected_firm_share > 0.5", manifest=MANIFEST, metric="firms", better="lower"
    )
    higher = discover(
        runs, "connected_firm_share > 0.5", manifest=MANIFEST, metric="firms", better="higher"
    )
    assert (lower.outcome, lower.direction, higher.direction) == ("firms", "min", "max")
    # 'hi' has more firms everywhere: no regret when more is better, all of it when less is
    assert higher.robustness.set_index("policy").loc["hi", "max_regret"] == pytest.approx(0.0)
    assert lower.robustness.set_index("policy").loc["hi", "max_regret"] == pytest.approx(0.5)
    text, numeric, captions = discovery_tables(higher)
    assert "Firms (higher is better)" in captions["robustness"]
    mean = numeric["robustness"].set_index("policy").loc["hi", "mean"]
    assert text["robustness"].set_index("Policy").loc["hi", "Mean"] == format_number(
        mean
    )  # not x100
    # a metric the condition bounds keeps its direction: lower import shares are better; in "a > b"
    # less b is better; "not" turns a bound round; a metric only compared with == has none
    names = ["x", "y", "a", "b"]
    assert parse_condition("x < 0.1 and y > 2", names).directions == {"x": "min", "y": "max"}
    assert parse_condition("a > b", names).directions == {"a": "max", "b": "min"}
    assert parse_condition("not (x < 0.1)", names).directions == {"x": "max"}
    assert parse_condition("x == 0.3 and y > 1", names).directions == {"y": "max"}


def test_negative_numbers_in_the_condition_and_a_bad_seed():
    cond = parse_condition("firms > -1.5 and firms < +3", ["firms"])
    frame = pd.DataFrame({"firms": [-2.0, 0.0, 4.0]})
    assert list(cond.evaluate(frame)) == [False, True, False]
    with pytest.raises(InputError, match="from 0 to 2") as err:
        discover(lhs_runs(), "connected_firm_share > 0.5", manifest=MANIFEST, seed=-1)
    assert err.value.field == "--seed"


def test_a_single_parameter_is_searched_and_scored():
    """With one column the library's default max_features (a third of the columns) was 0: a crash."""
    runs = lhs_runs()
    disc = discover(
        runs.loc[runs["variant"] == "baseline"],
        "connected_firm_share > 0.5",
        manifest=MANIFEST,
        parameters=[P1],
    )
    assert list(disc.features["parameter"]) == [P1]
    assert disc.features.loc[0, "score"] == pytest.approx(1.0)


def test_a_grid_over_text_levels_is_searched_as_a_category():
    """`points[params].astype(float)` failed on a grid over a text setting (exit.loss_rule)."""
    rule = "behaviour.exit.loss_rule"
    rows = []
    for i, (level, flag) in enumerate(
        [(r, f) for r in ("count", "hazard") for f in (0.0, 1.0)] * 6
    ):
        rows.append({"run_id": f"r{i}", "variant": "baseline", "point": i % 4, rule: level,
                     P1: flag, "replicate": i // 4, "seed": i // 4, "status": "ok",
                     "firms": 110.0 if level == "hazard" else 100.0})  # fmt: skip
    manifest = {"design": {"kind": "grid", "parameters": [rule, P1]}, "experiment": {}}
    disc = discover(pd.DataFrame(rows), "firms > 105", manifest=manifest)
    assert disc.features.iloc[0]["parameter"] == rule
    assert "hazard" in str(disc.prim_box.set_index("parameter").loc[rule].to_dict())
