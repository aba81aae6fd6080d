"""Sensitivity indices from stored designs: the Ishigami function through the tool's own code path.

The Ishigami function (a = 7, b = 0.1) has analytic Sobol indices; its values on SALib's sample are
stored as if they were model results (runs table with design point, parameters, replicate, metric), and
the indices are computed by the same functions ``agglomeration sensitivity`` uses.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from SALib.analyze import morris as salib_morris
from SALib.analyze import sobol as salib_sobol
from SALib.sample import morris as morris_sample

from _fakes import (
    NAMES,
    PROBLEM,
    S1_TRUE,
    ST_TRUE,
    design_runs,
    ishigami,
    sobol_design,
    write_store,
)
from agglomeration.cli import main as cli_main
from agglomeration.commands.sensitivity import design_of
from agglomeration.errors import InputError
from agglomeration.experiment.sensitivity import infer_second_order, sensitivity
from agglomeration.experiment.store import load_results


def test_ishigami_sobol_indices_match_the_analytic_values():
    _, sample = sobol_design(2048)
    runs = design_runs(sample)
    design = {"kind": "sobol", "problem": PROBLEM, "sample": sample, "calc_second_order": False}
    table = sensitivity(runs, design, metrics=["ishigami"], num_resamples=200).set_index(
        "parameter"
    )
    assert np.allclose(table.loc[NAMES, "S1"], S1_TRUE, atol=0.04)
    assert np.allclose(table.loc[NAMES, "ST"], ST_TRUE, atol=0.04)
    # and exactly what SALib gives on the same outputs
    direct = salib_sobol.analyze(
        PROBLEM, ishigami(sample), calc_second_order=False, num_resamples=200, seed=1
    )
    assert np.allclose(table.loc[NAMES, "S1"], direct["S1"])
    assert np.allclose(table.loc[NAMES, "ST_conf"], direct["ST_conf"])
    # a metric that depends on x1 only: ST of x2 and x3 are zero, S1 of x1 is one
    only = sensitivity(runs, design, metrics=["x1_only"]).set_index("parameter")
    assert only.loc[NAMES[0], "S1"] == pytest.approx(1.0, abs=0.02)
    assert np.allclose(only.loc[NAMES[1:], "ST"], 0.0, atol=1e-9)


def test_result_store_and_cli_use_the_same_path(tmp_path, capsys):
    entry, sample = sobol_design(64)
    runs = design_runs(sample)
    points = pd.DataFrame(sample, columns=NAMES).rename_axis("point").reset_index()
    root = write_store(tmp_path / "sobol", runs, design=entry, design_points=points)
    res = load_results(root)
    design = design_of(res, str(root))
    assert design["kind"] == "sobol" and design["calc_second_order"] is False
    assert np.allclose(design["sample"], sample)
    from_store = sensitivity(res["runs"], design, metrics=["ishigami"])
    direct = salib_sobol.analyze(PROBLEM, ishigami(sample), calc_second_order=False, seed=1)
    assert np.allclose(from_store["S1"], direct["S1"])
    out = tmp_path / "sens.csv"
    code = cli_main(
        ["sensitivity", str(root), "--metrics", "ishigami", "--resamples", "100", "--out", str(out)]
    )
    assert code == 0
    cli = pd.read_csv(out)
    assert np.allclose(cli["S1"], direct["S1"])
    assert np.allclose(cli["ST"], direct["ST"])
    assert "Sobol indices" in capsys.readouterr().out


def test_replicates_are_averaged_per_design_point():
    _, sample = sobol_design(512)
    design = {"kind": "sobol", "problem": PROBLEM, "sample": sample}
    noisy = design_runs(sample, replicates=4, noise=2.0, seed=1)
    mean = sensitivity(noisy, design, metrics=["ishigami"]).set_index("parameter")
    each = sensitivity(noisy, design, metrics=["ishigami"], replicates="each")
    assert sorted(each["replicate"].unique()) == [0, 1, 2, 3]
    # averaging 4 replicates quarters the noise variance: S1 of x2 is less attenuated than per replicate
    per_rep = each.loc[each["parameter"] == NAMES[1], "S1"].mean()
    assert mean.loc[NAMES[1], "S1"] > per_rep
    assert abs(mean.loc[NAMES[1], "S1"] - S1_TRUE[1]) < abs(per_rep - S1_TRUE[1])


def test_runs_are_matched_by_parameter_values_without_a_point_column():
    _, sample = sobol_design(256)
    runs = design_runs(sample).drop(columns="point").sample(frac=1.0, random_state=0)  # shuffled
    design = {"kind": "sobol", "problem": PROBLEM, "sample": sample}
    table = sensitivity(runs, design, metrics=["ishigami"])
    direct = salib_sobol.analyze(PROBLEM, ishigami(sample), calc_second_order=False, seed=1)
    assert np.allclose(table["S1"], direct["S1"])


def test_second_order_is_inferred_from_the_sample_size():
    for second in (False, True):
        _, sample = sobol_design(128, second_order=second)
        assert infer_second_order(PROBLEM, sample.shape[0]) is second


def test_morris_matches_salib_including_duplicate_points():
    sample = morris_sample.sample(PROBLEM, 30, num_levels=4, seed=3)
    runs = design_runs(sample)
    # a run id is a hash of parameters and seed: duplicate design points are run once
    runs = runs.drop_duplicates(NAMES).drop(columns="point")
    assert len(runs) < sample.shape[0]
    design = {"kind": "morris", "problem": PROBLEM, "sample": sample, "num_levels": 4}
    table = sensitivity(runs, design, metrics=["ishigami"]).set_index("parameter")
    direct = salib_morris.analyze(PROBLEM, sample, ishigami(sample), num_levels=4, seed=1)
    assert np.allclose(table.loc[NAMES, "mu_star"], direct["mu_star"])
    assert np.allclose(table.loc[NAMES, "sigma"], direct["sigma"])


def test_missing_points_and_wrong_methods_are_input_errors():
    _, sample = sobol_design(64)
    runs = design_runs(sample)
    design = {"kind": "sobol", "problem": PROBLEM, "sample": sample}
    with pytest.raises(InputError, match=r"3 of 320 design points have no successful run"):
        sensitivity(runs.iloc[3:], design, metrics=["ishigami"])
    failed = runs.copy()
    failed.loc[:1, "status"] = "failed"
    with pytest.raises(InputError, match="resume the batch"):
        sensitivity(failed, design, metrics=["ishigami"])
    with pytest.raises(InputError, match="needs a morris design"):
        sensitivity(runs, design, method="morris")
    with pytest.raises(InputError, match="did you mean 'ishigami'"):
        sensitivity(runs, design, metrics=["ishigam"])
    with pytest.raises(InputError, match="'grid' design"):
        from agglomeration.experiment.sensitivity import design_from_manifest

        design_from_manifest({"design": {"kind": "grid", "salib_problem": None}})


def test_blank_indices_are_explained():
    from agglomeration.commands.sensitivity import missing_value_notes

    runs = pd.DataFrame(
        {"status": "ok", "a": [1.0, np.nan, 2.0, 3.0], "b": 5.0, "c": [1.0, 2.0, 3.0, 4.0]}
    )
    table = pd.DataFrame({"metric": ["a", "a", "b", "c"]})
    notes = missing_value_notes(runs, table)
    assert len(notes) == 2
    assert notes[0].startswith("a is undefined (NaN) in 1 of 4 runs")
    assert notes[1] == "b does not vary across the runs; its variance shares are undefined"
    # Morris: the elementary effects of a constant metric are defined, and 0 (the table shows 0)
    morris = missing_value_notes(runs, table.assign(mu_star=0.0))
    assert (
        morris[1]
        == "b does not vary across the runs: every elementary effect is 0 (mu, mu* and sigma 0)"
    )
