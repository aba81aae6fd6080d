"""Table exports (csv, parquet, xlsx, md, tex), the BehaviorSpace layout and `agglomeration compare`."""

from __future__ import annotations

import re
import sys

import numpy as np
import pandas as pd
import pytest

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
from test_analysis_fakes import policy_runs, policy_store, series_for

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
    tex = out.read_text()
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
