"""Table exports (csv, parquet, xlsx, md, tex), the BehaviorSpace layout and `agglomeration compare`."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from _fakes import policy_runs, policy_store, series_for
from agglomeration.cli import main as cli_main
from agglomeration.errors import InputError
from agglomeration.report.tables import (
    behaviorspace_table,
    export_table,
    export_tables,
    tex_escape,
    to_latex,
    to_markdown,
)

FRAME = pd.DataFrame(
    {"metric": ["firms", "local_sourcing_share"], "mean": [3012.3456, 0.41234], "n": [12, 12]}
)


@pytest.mark.parametrize("fmt", ["csv", "parquet", "xlsx"])
def test_binary_and_csv_exports_round_trip(tmp_path, fmt):
    path = export_table(FRAME, tmp_path / f"t.{fmt}")
    back = {
        "csv": pd.read_csv,
        "parquet": pd.read_parquet,
        "xlsx": lambda p: pd.read_excel(p, engine="openpyxl"),
    }[fmt](path)
    assert list(back.columns) == list(FRAME.columns)
    assert np.allclose(back["mean"], FRAME["mean"])


def test_markdown_is_a_pipe_table_with_aligned_columns():
    md = to_markdown(FRAME).splitlines()
    assert md[0].startswith("| metric") and md[0].endswith("|")
    assert set(md[1]) <= set("|-: ")
    assert md[1].count(":") == 2  # the two numeric columns are right-aligned
    assert len({len(line) for line in md}) == 1  # every line has the same width
    assert "3012" in md[2]


def test_latex_is_booktabs_and_escaped():
    tex = to_latex(FRAME.assign(metric=["firms_%", "a&b"]))
    assert tex.startswith("\\begin{tabular}{lrr}")
    assert "\\toprule" in tex and "\\midrule" in tex and "\\bottomrule" in tex
    assert "firms\\_\\%" in tex and "a\\&b" in tex
    assert tex.count("\\\\") == 3  # header + 2 rows
    assert tex_escape("x_1 ~ 5%") == "x\\_1 \\textasciitilde{} 5\\%"


def test_xlsx_without_openpyxl_is_a_clear_input_error(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "openpyxl", None)
    with pytest.raises(InputError, match=r"agglomeration\[excel\]"):
        export_table(FRAME, tmp_path / "t.xlsx")


def test_unknown_suffix_asks_for_a_format(tmp_path):
    with pytest.raises(InputError, match="--format"):
        export_table(FRAME, tmp_path / "t.txt")
    with pytest.raises(InputError, match="expected one of"):
        export_table(FRAME, tmp_path / "t.csv", fmt="docx")
    with pytest.raises(InputError, match=r"ends in \.xlsx but --format is csv"):
        export_table(FRAME, tmp_path / "t.xlsx", fmt="csv")
    export_table(FRAME, tmp_path / "t_csv", fmt="csv")  # no suffix: the format decides


def test_several_tables_become_sheets_or_sibling_files(tmp_path):
    tables = {"wide": FRAME, "summary": FRAME.head(1)}
    (xlsx,) = export_tables(tables, tmp_path / "cmp.xlsx")
    assert pd.ExcelFile(xlsx, engine="openpyxl").sheet_names == ["wide", "summary"]
    files = export_tables(tables, tmp_path / "cmp.md")
    assert [f.name for f in files] == ["cmp.md", "cmp_summary.md"]


def test_behaviorspace_layout_has_one_row_per_run_and_step():
    runs = policy_runs({"baseline": 0.0, "delegation": 60.0}, replicates=3)
    runs["policy.delegation.WZ"] = np.where(runs["variant"] == "baseline", 0.6, 0.9)
    series = series_for(runs, steps=5)
    table = behaviorspace_table(runs, series, ["policy.delegation.WZ"])
    assert len(table) == len(runs) * 5
    assert list(table.columns[:3]) == ["[run number]", "run_id", "variant"]
    assert "[step]" in table.columns and "policy.delegation.WZ" in table.columns
    assert table["[run number]"].nunique() == len(runs)
    first = table.loc[table["[run number]"] == 1]
    assert list(first["[step]"]) == [0, 1, 2, 3, 4]
    # the overrides of a variants experiment become parameter columns too
    with_overrides = behaviorspace_table(
        runs, series, variant_overrides={"delegation": {"policy.delegation.connected": 0.9}}
    )
    col = with_overrides["policy.delegation.connected"]
    assert list(with_overrides.columns[:4]) == [
        "[run number]",
        "run_id",
        "variant",
        "policy.delegation.connected",
    ]
    assert set(col[with_overrides["variant"] == "delegation"]) == {0.9}
    assert col[with_overrides["variant"] == "baseline"].isna().all()


def test_compare_command_prints_and_exports(tmp_path, capsys):
    root = policy_store(tmp_path, failed=2, with_links=False)
    out = tmp_path / "cmp.tex"
    bs = tmp_path / "table.csv"
    code = cli_main(
        ["compare", str(root), "--precision", "0.01", "--out", str(out), "--table-csv", str(bs)]
    )
    text = capsys.readouterr().out
    assert code == 0
    assert "Comparison with 'baseline'" in text and "Replication advice" in text
    assert "| delegation" in text and "(reference)" in text
    assert "!! 2 run(s) FAILED or were interrupted and are left out" in text  # also in captions
    tex = out.read_text()
    assert "and are left out" in tex
    assert tex.startswith("\\begin{table}") and "\\caption{" in tex and "\\label{tab:cmp}" in tex
    assert "\\toprule" in tex and re.search(r"Holm-adjusted over \d+ comparisons", tex)
    for name in ("comparisons", "summary", "advice"):
        assert (tmp_path / f"cmp_{name}.tex").exists()
    assert len(pd.read_csv(bs)) == 34 * 9  # successful runs x steps


def test_compare_command_errors_exit_2(tmp_path, capsys):
    root = policy_store(tmp_path, with_links=False)
    assert cli_main(["compare", str(root), "--metrics", "firmz"]) == 2
    assert "did you mean 'firms'" in capsys.readouterr().err
    assert cli_main(["compare", str(root), "--baseline", "basline"]) == 2
    assert "did you mean 'baseline'" in capsys.readouterr().err
    assert cli_main(["compare", str(tmp_path)]) == 2
    assert "not a result directory" in capsys.readouterr().err
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "timeseries.csv").write_text("step,firms\n0,1\n")
    assert cli_main(["compare", str(run_dir)]) == 2
    assert "single-run directory" in capsys.readouterr().err
    assert cli_main(["compare", str(root), "--at-step", "50"]) == 2
    assert "step 50 was not recorded" in capsys.readouterr().err


def test_unfinished_batch_is_refused_unless_partial(tmp_path, capsys):
    from agglomeration.experiment.store import ResultStore

    root = policy_store(tmp_path, with_links=False)
    runs = pd.concat([pd.read_parquet(p) for p in (root / "parts" / "runs").glob("*.parquet")])
    plan = pd.DataFrame({"run_id": [*runs["run_id"], "missing-1", "missing-2"]})
    ResultStore(root).write_frame("plan", plan)
    assert cli_main(["compare", str(root), "--metrics", "firms"]) == 2
    err = capsys.readouterr().err
    assert "not finished: 36 of 38 planned runs" in err and "--partial" in err
    assert cli_main(["compare", str(root), "--metrics", "firms", "--partial"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("!! PARTIAL RESULTS: only 36 of 38 planned runs are finished")


def test_unpaired_footer_names_cohens_d_and_tables_keep_numbers(tmp_path, capsys):
    root = policy_store(tmp_path, with_links=False)
    out = tmp_path / "cmp.parquet"
    assert cli_main(["compare", str(root), "--unpaired", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "Cohen's d" in text and "d_z" not in text and "paired t" not in text
    table = pd.read_parquet(out)
    assert pd.api.types.is_float_dtype(table["Mean"]) and pd.api.types.is_float_dtype(
        table["p (Holm)"]
    )
    assert set(table["Unit"]) == {"firms", "%"}
    xlsx = tmp_path / "cmp.xlsx"
    assert cli_main(["compare", str(root), "--out", str(xlsx)]) == 0
    sheet = pd.read_excel(xlsx, sheet_name="table", engine="openpyxl")
    assert pd.api.types.is_float_dtype(sheet["CI low"])


@pytest.mark.parametrize("fmt", ["csv", "parquet", "xlsx", "md", "tex"])
def test_factorial_tables_in_every_format(tmp_path, fmt, capsys):
    from _fakes import grid_store

    root = grid_store(tmp_path)
    out = tmp_path / f"fac.{fmt}"
    assert (
        cli_main(["compare", str(root), "--factorial", "--metrics", "firms", "--out", str(out)])
        == 0
    )
    text = capsys.readouterr().out
    assert "Factorial analysis: 2 x 2 design" in text and "DiD" in text and "ANOVA" in text
    if fmt == "xlsx":
        sheets = pd.ExcelFile(out, engine="openpyxl").sheet_names
        assert {"effects", "anova", "cells"} <= set(sheets)
    else:
        for name in ("effects", "anova", "cells"):
            assert (tmp_path / f"fac_{name}.{fmt}").exists()
    if fmt == "tex":
        effects = (tmp_path / "fac_effects.tex").read_text()
        assert "\\caption{Factorial effects" in effects and "\\label{tab:fac-effects}" in effects


@pytest.mark.skipif(not Path("/proc/self").exists(), reason="needs a Linux /proc to fail a write")
def test_an_output_place_that_cannot_be_written_is_an_input_error(tmp_path, capsys):
    root = policy_store(tmp_path, with_links=False)
    assert cli_main(["compare", str(root), "--metrics", "firms", "--out", "/proc/x/t.csv"]) == 2
    err = capsys.readouterr().err
    assert "--out: cannot write here" in err and "Traceback" not in err
    assert cli_main(["plot", str(root), "--out", "/proc/x"]) == 2
    assert "--out: cannot write here" in capsys.readouterr().err


def test_caption_says_when_no_difference_could_be_tested():
    """A reference whose runs all failed leaves every comparison without a p value: the caption said
    "Holm-adjusted over 0 comparisons"; it now says that nothing could be tested."""
    from types import SimpleNamespace

    from agglomeration.report.tables import comparison_caption

    rows = pd.DataFrame({"variant": ["a"], "metric": ["firms"], "paired": [True], "p_t": [np.nan]})
    untested = SimpleNamespace(comparisons=rows, at_step=None, baseline="boom", family_size=0)
    text = comparison_caption(untested)
    assert "over 0 comparisons" not in text and "no difference could be tested" in text
    assert "do not vary" in text  # the other reason: paired differences without variation
    # one replicate per variant: no pair to test, and the caption called the runs "unpaired"
    single = SimpleNamespace(
        comparisons=rows.assign(paired=False), at_step=None, baseline="boom", family_size=0
    )
    assert "unpaired" not in comparison_caption(single)
    tested = SimpleNamespace(
        comparisons=rows.assign(p_t=0.01), at_step=None, baseline="boom", family_size=1
    )
    assert "Holm-adjusted over 1 comparisons" in comparison_caption(tested)
