"""Scenario comparison statistics, checked against independent scipy computations on the raw runs."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from scipy import special, stats

from _fakes import policy_runs, series_for
from agglomeration.errors import InputError
from agglomeration.experiment.compare import (
    cliffs_delta,
    compare,
    compare_pair,
    constant_listing,
    holm,
    replicates_needed,
)


def _values(runs, variant, metric):
    sel = runs.loc[(runs["variant"] == variant) & (runs["status"] == "ok")].sort_values("seed")
    return sel[metric].to_numpy(), sel["seed"].to_numpy()


def test_summary_matches_scipy_t_interval():
    """Counts: the t interval; shares: the t interval on the logit scale (delta method)."""
    runs = policy_runs({"baseline": 0.0, "delegation": 60.0})
    res = compare(runs)
    assert len(res.summary) == 4  # two variants x firms and local_sourcing_share
    for (variant, metric), row in res.summary.set_index(["variant", "metric"]).iterrows():
        x, _ = _values(runs, variant, metric)
        lo, hi = stats.t.interval(0.95, x.size - 1, loc=x.mean(), scale=stats.sem(x))
        if metric == "local_sourcing_share":
            m = x.mean()
            h = (hi - m) / (m * (1 - m))
            lo, hi = special.expit(special.logit(m) - h), special.expit(special.logit(m) + h)
            assert row["interval"] == "logit t"
        else:
            assert row["interval"] == "t"
        assert row["n"] == x.size
        assert row["mean"] == pytest.approx(x.mean())
        assert row["sd"] == pytest.approx(x.std(ddof=1))
        assert row["ci_low"] == pytest.approx(lo)
        assert row["ci_high"] == pytest.approx(hi)


def test_shared_seeds_give_paired_tests_matching_scipy():
    runs = policy_runs({"baseline": 0.0, "delegation": 60.0, "cheap_rail": 5.0})
    res = compare(runs)
    comp = res.comparisons.set_index(["variant", "metric"])
    assert comp["paired"].all()
    for variant, metric in itertools.product(["delegation", "cheap_rail"], ["firms"]):
        b, sb = _values(runs, "baseline", metric)
        v, sv = _values(runs, variant, metric)
        assert (sb == sv).all()
        d = v - b
        row = comp.loc[(variant, metric)]
        lo, hi = stats.t.interval(0.95, d.size - 1, loc=d.mean(), scale=stats.sem(d))
        assert row["diff"] == pytest.approx(d.mean())
        assert row["diff_ci_low"] == pytest.approx(lo)
        assert row["diff_ci_high"] == pytest.approx(hi)
        assert row["p_t"] == pytest.approx(stats.ttest_rel(v, b).pvalue)
        assert row["p_rank"] == pytest.approx(stats.wilcoxon(v, b).pvalue)
        assert row["effect"] == pytest.approx(d.mean() / d.std(ddof=1))
        assert row["effect_kind"] == "d_z"


def test_unpaired_when_seeds_differ_matches_welch_and_mann_whitney():
    runs = policy_runs({"baseline": 0.0, "delegation": 60.0})
    runs.loc[runs["variant"] == "delegation", "seed"] += 500  # independent streams
    res = compare(runs)
    row = res.comparisons.set_index(["variant", "metric"]).loc[("delegation", "firms")]
    b, _ = _values(runs, "baseline", "firms")
    v, _ = _values(runs, "delegation", "firms")
    assert not row["paired"]
    welch = stats.ttest_ind(v, b, equal_var=False)
    assert row["p_t"] == pytest.approx(welch.pvalue)
    ci = welch.confidence_interval(0.95)
    assert row["diff_ci_low"] == pytest.approx(ci.low)
    assert row["diff_ci_high"] == pytest.approx(ci.high)
    assert row["p_rank"] == pytest.approx(stats.mannwhitneyu(v, b, alternative="two-sided").pvalue)
    pooled = np.sqrt(
        ((b.size - 1) * b.var(ddof=1) + (v.size - 1) * v.var(ddof=1)) / (b.size + v.size - 2)
    )
    assert row["effect"] == pytest.approx((v.mean() - b.mean()) / pooled)
    assert row["effect_kind"] == "Cohen's d"


def test_pairing_gains_power_under_common_random_numbers():
    # a seed-level effect shared by all variants hides a small policy effect unless runs are paired
    runs = policy_runs({"baseline": 0.0, "small": 20.0}, replicates=15)
    paired = compare(runs).comparisons.set_index("metric").loc["firms"]
    unpaired = compare(runs, paired=False).comparisons.set_index("metric").loc["firms"]
    assert paired["paired"] and not unpaired["paired"]
    assert paired["diff"] == pytest.approx(unpaired["diff"])
    assert paired["p_t"] < 0.01 < unpaired["p_t"]
    assert (paired["diff_ci_high"] - paired["diff_ci_low"]) < (
        unpaired["diff_ci_high"] - unpaired["diff_ci_low"]
    )


def test_cliffs_delta_equals_pairwise_definition():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 6, 30).astype(float)  # ties on purpose
    y = rng.integers(1, 7, 25).astype(float)
    brute = np.mean(np.sign(x[:, None] - y[None, :]))
    assert cliffs_delta(x, y) == pytest.approx(brute)
    assert cliffs_delta(y + 100, y) == 1.0


def test_holm_matches_step_down_definition():
    p = np.array([0.01, 0.04, 0.03, 0.5, np.nan, 0.001])
    adj = holm(p)
    ok = ~np.isnan(p)
    m = ok.sum()
    order = np.argsort(p[ok])
    expected = np.empty(m)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, (m - rank) * p[ok][i])
        expected[i] = min(1.0, running)
    assert np.allclose(adj[ok], expected)
    assert np.isnan(adj[4])
    runs = policy_runs({"baseline": 0.0, "a": 60.0, "b": 5.0})
    comp = compare(runs).comparisons
    assert np.allclose(comp["p_t_holm"], holm(comp["p_t"].to_numpy()))
    assert (comp["p_t_holm"] >= comp["p_t"] - 1e-15).all()


def test_effect_grows_with_the_policy_shift():
    runs = policy_runs({"baseline": 0.0, "weak": 10.0, "strong": 80.0})
    comp = compare(runs).comparisons.set_index(["variant", "metric"])
    weak, strong = comp.loc[("weak", "firms")], comp.loc[("strong", "firms")]
    assert strong["diff"] > weak["diff"] > 0
    assert strong["effect"] > weak["effect"]
    assert strong["p_t"] < weak["p_t"]
    assert strong["cliffs_delta"] >= weak["cliffs_delta"]


def test_failed_runs_are_excluded_and_counted():
    runs = policy_runs({"baseline": 0.0, "delegation": 60.0}, failed=3)
    res = compare(runs)
    s = res.summary.set_index(["variant", "metric"])
    assert s.loc[("delegation", "firms"), "n"] == 9
    assert s.loc[("delegation", "firms"), "n_failed"] == 3
    c = res.comparisons.set_index("metric").loc["firms"]
    assert c["paired"]  # still paired, on the 9 seeds both variants completed
    assert c["n_variant"] == c["n_baseline"] == 9
    b, sb = _values(runs, "baseline", "firms")
    v, sv = _values(runs, "delegation", "firms")
    keep = np.isin(sb, sv)
    assert c["p_t"] == pytest.approx(stats.ttest_rel(v, b[keep]).pvalue)
    assert any("3 run(s) without a same-seed partner" in n for n in res.notes)


def test_grid_points_of_a_variant_are_compared_separately():
    a = policy_runs({"baseline": 0.0}, replicates=6)
    a["policy.replication_rate"] = 0.1
    b = a.assign(point=1, run_id=a["run_id"] + "-p1", firms=a["firms"] + 50)
    b["policy.replication_rate"] = 0.3
    res = compare(
        pd.concat([a, b], ignore_index=True), parameter_columns=["policy.replication_rate"]
    )
    assert res.baseline == "baseline [replication_rate=0.1]"
    row = res.comparisons.set_index("metric").loc["firms"]
    assert row["variant"] == "baseline [replication_rate=0.3]"
    assert row["diff"] == pytest.approx(50.0)


def test_replication_advice_relative_and_absolute():
    runs = policy_runs({"baseline": 0.0, "delegation": 60.0})
    res = compare(runs, precision=0.002)
    adv = res.advice.set_index(["variant", "metric"]).loc[("baseline", "firms")]
    target = 0.002 * abs(adv["mean"])
    assert adv["target_half_width"] == pytest.approx(target)
    n = int(adv["replicates_needed"])
    tq = stats.t.ppf(0.975, [n - 1, n - 2])
    assert tq[0] * adv["sd"] / np.sqrt(n) <= target
    assert tq[1] * adv["sd"] / np.sqrt(n - 1) > target
    assert bool(adv["reached"]) == (adv["half_width"] <= target)
    # absolute precision in firms; a looser target needs fewer replicates
    a1 = compare(runs, precision=5, precision_kind="absolute").advice
    a2 = compare(runs, precision=20, precision_kind="absolute").advice
    assert (a1["target_half_width"] == 5).all()
    assert (a2["replicates_needed"] <= a1["replicates_needed"]).all()
    assert replicates_needed(0.0, 1.0) == 2


def test_at_step_uses_the_series_at_that_step():
    runs = policy_runs({"baseline": 0.0, "delegation": 60.0})
    series = series_for(runs)
    res = compare(runs, series=series, at_step=4)
    at4 = series.loc[series["step"] == 4].merge(runs[["run_id", "variant"]], on="run_id")
    expected = at4.loc[at4["variant"] == "delegation", "firms"].mean()
    got = res.summary.set_index(["variant", "metric"]).loc[("delegation", "firms"), "mean"]
    assert got == pytest.approx(expected)
    final = compare(runs).comparisons.set_index("metric").loc["firms", "diff"]
    mid = res.comparisons.set_index("metric").loc["firms", "diff"]
    assert 0 < mid < final  # the series ramps up towards the final effect
    with pytest.raises(InputError, match="step 99 was not recorded"):
        compare(runs, series=series, at_step=99)


def test_bootstrap_interval_is_reproducible_and_close_to_t():
    runs = policy_runs({"baseline": 0.0, "delegation": 60.0}, replicates=30)
    a = compare(runs, bootstrap=2000, seed=1).summary
    b = compare(runs, bootstrap=2000, seed=1).summary
    assert np.array_equal(a["boot_low"], b["boot_low"])
    assert (a["boot_low"] < a["mean"]).all() and (a["mean"] < a["boot_high"]).all()
    width_t = a["ci_high"] - a["ci_low"]
    width_b = a["boot_high"] - a["boot_low"]
    assert np.allclose(width_b / width_t, 1, atol=0.3)


def test_publication_table_has_one_row_per_metric_and_variant():
    runs = policy_runs({"baseline": 0.0, "delegation": 60.0, "rail": 5.0})
    table = compare(runs).table()
    assert list(table.columns) == [
        "Metric", "Variant", "n", "Mean [95% CI]", "Difference [95% CI]", "p (Holm)", "Effect size",
    ]  # fmt: skip
    assert len(table) == 2 * 3  # the width does not grow with the number of variants
    assert list(table["Metric"].unique()) == ["Firms", "Local sourcing share (%)"]
    assert table.loc[0, "Difference [95% CI]"] == "(reference)"
    assert table.loc[1, "Effect size"].startswith("d_z = ")
    share = table.loc[table["Variant"] == "delegation"].iloc[1]
    assert " pp [" in share["Difference [95% CI]"]  # shares: differences in percentage points
    numeric = compare(runs).table(numeric=True)
    assert pd.api.types.is_float_dtype(numeric["Mean"]) and numeric["Unit"].tolist()[-1] == "%"


def test_errors_name_the_problem():
    runs = policy_runs({"baseline": 0.0, "delegation": 60.0})
    with pytest.raises(InputError, match="did you mean 'firms'"):
        compare(runs, metrics=["firm"])
    with pytest.raises(InputError, match="did you mean 'delegation'"):
        compare(runs, baseline="delegaton")
    with pytest.raises(InputError, match="positive"):
        compare(runs, precision=-1)
    with pytest.raises(InputError, match="variant"):
        compare(runs.drop(columns="variant"))
    other = runs.copy()
    other.loc[other["variant"] == "delegation", "seed"] += 500
    with pytest.raises(InputError, match="cannot pair"):
        compare(other, paired=True)


def test_parameter_and_bookkeeping_columns_are_not_metrics():
    runs = policy_runs({"baseline": 0.0, "delegation": 60.0})
    runs["policy.delegation.WZ"] = 0.5
    runs["pid"] = 123
    res = compare(runs)
    assert res.metrics == ["firms", "local_sourcing_share"]
    assert isinstance(res.summary, pd.DataFrame)


# ----------------------------------------------------------------------------- presentation-aware stats
def _share_runs(values: dict[str, list[float]]) -> pd.DataFrame:
    rows = []
    for v, xs in values.items():
        for r, x in enumerate(xs):
            rows.append({"run_id": f"{v}{r}", "variant": v, "seed": r, "status": "ok",
                         "connected_firm_share": x, "firms": 100.0 + r + (v != "baseline")})  # fmt: skip
    return pd.DataFrame(rows)


def test_share_intervals_stay_inside_zero_one_and_differences_are_in_points():
    runs = _share_runs({"baseline": [0.4, 0.99, 0.98], "hi": [0.5, 0.999, 0.97]})
    res = compare(runs, metrics=["connected_firm_share"])
    s = res.summary
    assert (s["ci_low"] >= 0).all() and (s["ci_high"] <= 1).all()
    t_hi = s["mean"] + s["half_width"]
    assert (t_hi > 1).any()  # the plain t interval would have left [0, 1]
    row = res.comparisons.iloc[0]
    assert row["diff_pp"] == pytest.approx(100 * row["diff"])
    assert np.isnan(row["diff_pct"])  # no percent change of a share
    assert row["kind"] == "share"


def test_percent_change_only_for_ratio_scale_metrics_clearly_above_zero():
    runs = policy_runs({"baseline": 0.0, "delegation": 60.0})
    c = compare(runs).comparisons.set_index("metric")
    assert c.loc["firms", "diff_pct"] == pytest.approx(
        100 * c.loc["firms", "diff"] / c.loc["firms", "baseline_mean"]
    )
    assert np.isnan(c.loc["local_sourcing_share", "diff_pct"])


def test_effect_size_is_na_when_differences_do_not_vary():
    # a constant shift up to rounding: sd of the differences ~1e-16, which once gave d_z = -6e15
    base = np.array([0.1, 0.2, 0.3, 0.4]) + 1e3
    res = compare_pair(base, base - 1e-3 + np.array([0, 1e-13, 0, -1e-13]), paired=True)
    assert np.isnan(res["effect"]) and np.isnan(res["p_t"]) and res["undefined"]
    assert res["diff_ci_low"] == pytest.approx(res["diff"])
    un = compare_pair(np.full(4, 2.0), np.full(4, 3.0), paired=False)
    assert np.isnan(un["effect"]) and np.isnan(un["p_t"])


def test_constant_metrics_are_listed_once_and_left_out_of_the_family():
    runs = policy_runs({"baseline": 0.0, "delegation": 60.0})
    runs["firms_other"] = 0.0
    runs["zone_firm_share"] = 1.0
    res = compare(runs, metrics="all")
    assert res.constant == {"firms_other": 0.0, "zone_firm_share": 1.0}
    assert set(res.comparisons["metric"]) == {"firms", "local_sourcing_share"}
    assert res.family_size == 2
    with pytest.raises(InputError, match="takes one value in every run"):
        compare(runs, metrics=["firms_other"])


def test_a_metric_without_values_is_not_called_constant_nan():
    """A metric undefined in every run (a region's export share when it never sells) was listed as
    ``= nan`` among the constant ones; one defined in a single run is constant where it has a value."""
    runs = policy_runs({"baseline": 0.0, "delegation": 60.0})
    runs["export_share_CS"] = np.nan
    runs["export_share_YC"] = np.nan
    runs.loc[runs.index[0], "export_share_YC"] = 0.25
    res = compare(runs, metrics=["firms", "export_share_CS", "export_share_YC"])
    assert list(res.comparisons["metric"].unique()) == ["firms"]
    assert math.isnan(res.constant["export_share_CS"]) and res.constant["export_share_YC"] == 0.25
    assert constant_listing(res.constant) == (
        "export_share_CS (no value in any run), export_share_YC = 0.25"
    )
    with pytest.raises(InputError) as exc:
        compare(runs, metrics=["export_share_CS"])
    assert "export_share_CS (no value in any run)" in str(exc.value)
    assert "= nan" not in str(exc.value)


def test_a_variant_whose_runs_all_failed_keeps_its_summary_rows():
    """It vanished from the summary (and its n_failed with it); now n = 0 and the failures are counted."""
    runs = policy_runs({"baseline": 0.0, "delegation": 60.0, "boom": 5.0}, replicates=10, failed=10)
    res = compare(runs, metrics=["firms", "local_sourcing_share"], bootstrap=50, precision=0.1)
    s = res.summary.set_index(["variant", "metric"])
    assert len(s) == 6
    for metric in ("firms", "local_sourcing_share"):
        row = s.loc[("boom", metric)]
        assert row["n"] == 0 and row["n_failed"] == 10
        assert np.isnan(
            row[["mean", "ci_low", "ci_high", "boot_low", "boot_high"]].astype(float)
        ).all()
        assert s.loc[("delegation", metric), "n"] == 10
    assert set(res.advice["variant"]) == {"baseline", "delegation", "boom"}
    assert "boom" in set(res.table()["Variant"])


def test_a_metric_named_twice_is_compared_once():
    runs = policy_runs({"baseline": 0.0, "delegation": 60.0})
    res = compare(runs, metrics=["firms", "firms", "local_sourcing_share"])
    assert list(res.comparisons["metric"]) == ["firms", "local_sourcing_share"]
    assert res.family_size == 2


def test_metrics_choose_the_holm_family():
    runs = policy_runs({"baseline": 0.0, "delegation": 60.0, "rail": 5.0})
    one = compare(runs, metrics=["firms"]).comparisons
    both = compare(runs, metrics=["firms", "local_sourcing_share"]).comparisons.set_index(
        ["variant", "metric"]
    )
    assert len(one) == 2 and len(both) == 4
    assert (
        one.set_index(["variant", "metric"])["p_t_holm"]
        <= both.loc[one.set_index(["variant", "metric"]).index, "p_t_holm"] + 1e-15
    ).all()


def test_resource_bounds_and_tiny_precision():
    runs = policy_runs({"baseline": 0.0, "delegation": 60.0})
    with pytest.raises(InputError, match="at most 100,000"):
        compare(runs, bootstrap=1_000_000_000)
    adv = compare(runs, precision=1e-300).advice  # no OverflowError
    assert np.isinf(adv["replicates_needed"]).all()
    assert replicates_needed(1.0, 1e-300) == math.inf


def test_sampled_designs_pair_runs_by_design_point_and_seed():
    a = policy_runs({"baseline": 0.0, "hi": 60.0}, replicates=4)
    frames = []
    for p in range(3):  # three design points, the same replicate seeds at each
        frames.append(a.assign(point=p, run_id=a["run_id"] + f"-p{p}", firms=a["firms"] + 10 * p,
                               **{"behaviour.x": 0.1 * p}))  # fmt: skip
    runs = pd.concat(frames, ignore_index=True)
    res = compare(runs, metrics=["firms"], parameter_columns=["behaviour.x"], design_kind="lhs")
    row = res.comparisons.iloc[0]
    assert row["paired"] and row["n_variant"] == 12  # 3 points x 4 seeds, one group per variant
    assert any("over its 3 design points" in n for n in res.notes)


def test_at_step_derives_the_zone_shares_from_the_series_counts():
    """connected_firm_share and zone_firm_share are final metrics only; at a step they are the same
    ratios of the series' firm counts by region type (the final step gives the final metrics)."""
    runs = policy_runs({"baseline": 0.0, "delegation": 60.0})
    series = series_for(runs)
    series["firms_ftz"] = 0.3 * series["firms"]
    series["firms_connected"] = 0.5 * series["firms"] + series["step"]
    res = compare(
        runs, series=series, at_step=4, metrics=["connected_firm_share", "zone_firm_share"]
    )
    at4 = series.loc[series["step"] == 4].merge(runs[["run_id", "variant"]], on="run_id")
    at4 = at4.loc[at4["variant"] == "delegation"]
    got = res.summary.set_index(["variant", "metric"])["mean"]
    share = at4["firms_connected"] / at4["firms"]
    assert got[("delegation", "connected_firm_share")] == pytest.approx(share.mean())
    zone = (at4["firms_ftz"] + at4["firms_connected"]) / at4["firms"]
    assert got[("delegation", "zone_firm_share")] == pytest.approx(zone.mean())


def test_interrupted_runs_do_not_count_as_finished():
    """After a stop leaving 3 ok, 1 failed and 4 interrupted runs of 16, compare said "8 of 16 planned
    runs are done": an interrupted run is recorded but not finished."""
    from agglomeration.commands.compare import finished_runs, require_finished

    ids = [f"r{i:02d}" for i in range(16)]
    status = ["ok"] * 3 + ["failed"] + ["interrupted"] * 4
    results = {
        "plan": pd.DataFrame({"run_id": ids}),
        "runs": pd.DataFrame({"run_id": ids[:8], "status": status}),
    }
    assert finished_runs(results) == (4, 16)
    with pytest.raises(InputError, match="4 of 16 planned runs are done"):
        require_finished(results, "store", partial=False)
    assert "only 4 of 16 planned runs are finished" in require_finished(results, "store", True)


def test_run_totals_of_stores_written_before_them_are_the_sums_of_the_per_type_totals():
    """Stores of earlier versions have entries_total_<type> but not entries_total: compare derives
    the totals (final metrics and a step of the series alike) as the sums; a store with them keeps
    its own column."""
    from agglomeration.experiment.compare import observations

    per_type = {
        f"{stem}_{t}": [1.0 + i + 10 * j, 2.0 + i + 10 * j]
        for i, t in enumerate(("ftz", "connected", "other"))
        for j, stem in enumerate(("entries_total", "exits_total"))
    }
    runs = pd.DataFrame({"run_id": ["a", "b"], "variant": ["x", "y"], "seed": [1, 1], **per_type})
    obs, chosen = observations(runs, metrics=["entries_total", "exits_total"])
    assert chosen == ["entries_total", "exits_total"]
    np.testing.assert_array_equal(obs["entries_total"], [1 + 2 + 3, 2 + 3 + 4])
    np.testing.assert_array_equal(obs["exits_total"], [11 + 12 + 13, 12 + 13 + 14])
    series = pd.DataFrame({"run_id": ["a", "b"], "step": [3, 3], **per_type})
    obs, _ = observations(runs, series=series, at_step=3, metrics=["entries_total"])
    np.testing.assert_array_equal(obs["entries_total"], [6, 9])
    own, _ = observations(runs.assign(entries_total=[100.0, 200.0]), metrics=["entries_total"])
    np.testing.assert_array_equal(own["entries_total"], [100, 200])


def test_grid_labels_keep_close_values_apart_and_name_colliding_parameters():
    """Two grid values that agree to 4 digits read alike ("a=0.1234" twice), and parameters sharing a
    last component got their whole dotted paths; now each label names its parameter concisely and
    tells every point apart."""
    from agglomeration.experiment.compare import label_design_points

    fee, tariff = "logistics.handling_fee.rail", "logistics.tariff_multiplier.rail"
    rows = [
        {"variant": "base", "point": p, fee: f, tariff: t, "replicate": 0}
        for p, (f, t) in enumerate(itertools.product([0.12341, 0.12344], [1.0, 0.5]))
    ]
    labels = list(label_design_points(pd.DataFrame(rows), [fee, tariff])["variant"])
    assert len(set(labels)) == 4
    assert labels[0] == "base [handling_fee.rail=0.12341, tariff_multiplier.rail=1]"
    short = label_design_points(
        pd.DataFrame(rows).assign(**{fee: [0.4, 0.4, 0.9, 0.9]}), [fee, "policy.x"]
    )
    assert short["variant"].iloc[2] == "base [rail=0.9]"


def test_runs_stopped_early_are_noted_and_not_hidden_behind_final_values():
    """A [stop] condition ends runs at different steps: their final values are at different steps,
    which the output did not say (its caption read "final values after N steps")."""
    runs = policy_runs({"baseline": 0.0, "hi": 5.0}, replicates=6).assign(steps=6, steps_run=6)
    assert not any("stopped early" in n for n in compare(runs, metrics=["firms"]).notes)
    runs.loc[runs.index[:2], "steps_run"] = 3
    notes = compare(runs, metrics=["firms"]).notes
    assert any("2 of 12 runs stopped early" in n and "steps_run 3-6" in n for n in notes)
