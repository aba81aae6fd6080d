"""`agglomeration compare` as a command: what it prints and writes beyond the comparison table (the
creation-vs-reallocation decomposition, the factorial section, the hints it gives)."""

from __future__ import annotations

import pandas as pd

from _fakes import GRID_A, GRID_B, ROOT, grid_runs, policy_runs, write_store
from agglomeration.cli import main as cli_main
from agglomeration.experiment import decomposition as dec
from agglomeration.region_types import REGION_TYPES

GRID_DESIGN = {"kind": "grid", "n_points": 4, "parameters": [GRID_A, GRID_B], "salib_problem": None}


def _with_totals(runs: pd.DataFrame) -> pd.DataFrame:
    """The grid's runs with per-region-type totals that satisfy the accounting identity: the FTZ gets
    5 more entrants at the high level of A, 2 of them taken from the other regions."""
    out = runs.copy()
    for stem in dec.STEMS:
        for t in REGION_TYPES:
            out[f"{stem}_{t}"] = 0.0
    high = (out[GRID_A] == 0.9).astype(float)
    out["firms_start_ftz"] = 40.0
    out["entries_total_ftz"] = 10.0 + out["replicate"] + 5 * high
    out["entries_total_other"] = 20.0 - 2 * high
    out["exits_total_ftz"] = 3.0
    out["firms_ftz"] = out["firms_start_ftz"] + out["entries_total_ftz"] - out["exits_total_ftz"]
    out["firms_other"] = out["entries_total_other"]
    return out


def grid_store_with_totals(tmp_path):
    return write_store(tmp_path / "grid", _with_totals(grid_runs(replicates=4)), design=GRID_DESIGN)


def test_grid_points_are_decomposed_as_conditions(tmp_path, capsys):
    """A grid design has one variant: the decomposition was skipped without a word.  Its points are
    now the conditions, labelled as in the comparison table, and FILE_decomposition is written."""
    root = grid_store_with_totals(tmp_path)
    out = tmp_path / "grid.csv"
    assert cli_main(["compare", str(root), "--metrics", "firms", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "Creation vs reallocation: change of each region group's firms against 'base [" in text
    table = pd.read_csv(tmp_path / "grid_decomposition.csv")
    ftz = table[(table["group"] == "ftz") & table["variant"].str.contains("connected=0.9")]
    mean = ftz.set_index(["variant", "component"])["mean"]
    assert ftz["variant"].nunique() == 2
    for v in ftz["variant"].unique():
        assert mean[(v, "total")] == 5 and mean[(v, "diversion")] == 2
        assert mean[(v, "creation")] == 3
    assert set(table["variant"]) == {
        "base [connected=0.4, rail=0.5]",
        "base [connected=0.9, rail=1]",
        "base [connected=0.9, rail=0.5]",
    }


def test_a_missing_decomposition_is_explained_in_one_line(tmp_path, capsys):
    """Runs without the per-type totals (a batch of an earlier version) get a note, not silence."""
    root = write_store(tmp_path / "old", grid_runs(replicates=4), design=GRID_DESIGN)
    assert cli_main(["compare", str(root), "--metrics", "firms"]) == 0
    text = capsys.readouterr().out
    assert (
        "Creation vs reallocation: not computed (the runs lack the per-region-type totals" in text
    )


def test_factorial_says_why_variants_are_one_factor_and_which_holm_family(tmp_path, capsys):
    """Variants that do not form a factorial were analysed one-way under the heading "4 design"; the
    output now says why (before the tables) and what each Holm adjustment is over."""
    runs = grid_runs(replicates=4)
    names = {(0.4, 1.0): "baseline", (0.9, 1.0): "deleg", (0.4, 0.5): "rail", (0.9, 0.5): "both"}
    runs["variant"] = [names[(a, b)] for a, b in zip(runs[GRID_A], runs[GRID_B])]
    runs = runs.drop(columns=[GRID_A, GRID_B]).assign(point=0)
    variants = [
        {"name": "baseline", "overrides": {}},
        {"name": "deleg", "overrides": {GRID_A: 0.9}},
        {"name": "rail", "overrides": {GRID_B: 0.5}},
        {"name": "both", "overrides": {GRID_A: 0.8, GRID_B: 0.5}},  # 0.8: not the 0.9 of 'deleg'
    ]
    root = write_store(tmp_path / "v", runs, experiment={"name": "v", "variants": variants})
    assert cli_main(["compare", str(root), "--factorial", "--metrics", "firms"]) == 0
    text = capsys.readouterr().out
    head = text.split("Factorial analysis: ", 1)[1].splitlines()
    assert head[0].startswith("one-way design with 4 levels (variant: baseline, ")
    assert head[1].startswith("note: the variants do not form a factorial: ")
    assert "'both' is the only variant with connected=0.8" in head[1]
    assert "comparisons (each variant against 'baseline' on each tested metric)" in text
    assert "a family of its own: the comparison table's p (Holm)" in text


def _shared_start(root):
    import json

    from agglomeration.experiment.store import ResultStore

    manifest = json.loads((root / "manifest.json").read_text())
    ResultStore(root).write_manifest({**manifest, "start": "shared"})
    return root


def test_decomposition_export_shows_the_consoles_digits_with_caption_and_label(tmp_path, capsys):
    """FILE_decomposition.tex was a bare long tabular of unrounded numbers (-41.8648, a ci_low
    header); it is now the console's table, captioned and labelled like the main table, while csv
    keeps the numbers."""
    root = grid_store_with_totals(tmp_path)
    tex = tmp_path / "x.tex"
    assert cli_main(["compare", str(root), "--metrics", "firms", "--out", str(tex)]) == 0
    console = capsys.readouterr().out
    body = (tmp_path / "x_decomposition.tex").read_text()
    assert body.startswith("\\begin{table}") and "\\label{tab:x-decomposition}" in body
    assert "\\caption{Creation vs reallocation: change of each region group" in body
    assert "ci\\_low" not in body and "total & start & creation" in body
    row = next(
        line for line in console.splitlines() if "connected=0.9, rail=1" in line and "ftz" in line
    )
    total = row.split("|")[4].strip()  # the console's 'total' cell, e.g. "+5 [5, 5]"
    assert total in body
    for name in ("comparisons", "summary", "advice"):
        long = (tmp_path / f"x_{name}.tex").read_text()
        assert long.startswith("\\begin{table}") and f"\\label{{tab:x-{name}}}" in long
        assert "long table, not rounded" in long
    md = tmp_path / "x.md"
    assert cli_main(["compare", str(root), "--metrics", "firms", "--out", str(md)]) == 0
    assert total in (tmp_path / "x_decomposition.md").read_text()
    csv = tmp_path / "x.csv"
    assert cli_main(["compare", str(root), "--metrics", "firms", "--out", str(csv)]) == 0
    numbers = pd.read_csv(tmp_path / "x_decomposition.csv")
    assert list(numbers.columns) == [
        "variant",
        "group",
        "component",
        "n",
        "mean",
        "ci_low",
        "ci_high",
    ]


def test_components_zero_by_construction_are_not_shown_as_estimates(tmp_path, capsys):
    """From a shared settled start, 'start' is 0 in every pair by construction: it printed as
    '0 [0, 0]', which reads as a precise estimate."""
    root = _shared_start(grid_store_with_totals(tmp_path))
    assert cli_main(["compare", str(root), "--metrics", "firms"]) == 0
    text = capsys.readouterr().out
    table = text.split("Creation vs reallocation", 1)[1]
    assert "0 (by construction)" in table and "start = 0 by construction" in table
    start_cells = [line.split("|")[5].strip() for line in table.splitlines() if "| base [" in line]
    assert start_cells and set(start_cells) == {"0 (by construction)"}
    own = grid_store_with_totals(tmp_path / "own")  # no shared start: the estimate is shown
    assert cli_main(["compare", str(own), "--metrics", "firms"]) == 0
    assert "by construction" not in capsys.readouterr().out


RAIL_GRID = ROOT / "experiments" / "delegation_rail_grid.toml"
SET = ["firms.initial_count=120", "burn_in=10"]


def _ran_with_options():
    """The manifest fields of the rail grid as `batch --replicates 3 --steps 4 --set ...` records them."""
    from agglomeration.commands.batch import load_with_set

    exp = load_with_set(str(RAIL_GRID), SET, replicates=3, steps=4)
    return {"experiment": exp.to_dict(), "experiment_file": str(RAIL_GRID)}


def test_resume_command_is_rebuilt_from_the_manifest():
    """The hint of compare / plot / discover was 'agglomeration batch EXPERIMENT --out DIR --resume':
    a placeholder and none of the options the batch ran with, so following it was refused
    ("experiment changed").  It is now the batch's own resume command, and the experiment it loads is
    the one the store records."""
    import shlex

    from agglomeration.cli import build_parser
    from agglomeration.commands.batch import load_with_set, resume_command_from_manifest

    manifest = _ran_with_options()
    command = resume_command_from_manifest(manifest, "R")
    assert command == (
        f"agglomeration batch {RAIL_GRID} --out R --replicates 3 --steps 4 "
        "--set firms.initial_count=120 --set burn_in=10 --resume"
    )
    args = build_parser().parse_args(shlex.split(command)[1:])
    again = load_with_set(args.experiment, args.set, replicates=args.replicates, steps=args.steps)
    assert again.identity() == load_with_set(str(RAIL_GRID), SET, replicates=3, steps=4).identity()
    assert again.to_dict() == manifest["experiment"]


def test_compare_refusal_names_the_real_resume_command(tmp_path, capsys):
    import json

    from agglomeration.experiment.store import ResultStore

    root = grid_store_with_totals(tmp_path)
    store = ResultStore(root)
    manifest = json.loads((root / "manifest.json").read_text())
    store.write_manifest({**manifest, **_ran_with_options()})
    runs = pd.concat([pd.read_parquet(p) for p in (root / "parts" / "runs").glob("*.parquet")])
    store.write_frame("plan", pd.DataFrame({"run_id": [*runs["run_id"], "missing-1"]}))
    assert cli_main(["compare", str(root), "--metrics", "firms"]) == 2
    err = capsys.readouterr().err
    assert "EXPERIMENT" not in err and "Traceback" not in err
    assert (
        f"resume it (agglomeration batch {RAIL_GRID} --out {root} --replicates 3 --steps 4 "
        "--set firms.initial_count=120 --set burn_in=10 --resume)"
    ) in " ".join(err.split())


def test_an_unfinished_store_of_another_model_revision_is_not_offered_a_resume(tmp_path, capsys):
    """A resume would be refused (runner: another model revision), so compare says so instead."""
    import json

    from agglomeration import MODEL_REVISION
    from agglomeration.experiment.store import ResultStore

    root = grid_store_with_totals(tmp_path)
    store = ResultStore(root)
    manifest = json.loads((root / "manifest.json").read_text())
    store.write_manifest({**manifest, **_ran_with_options(), "environment": {"model_revision": 0}})
    runs = pd.concat([pd.read_parquet(p) for p in (root / "parts" / "runs").glob("*.parquet")])
    store.write_frame("plan", pd.DataFrame({"run_id": [*runs["run_id"], "missing-1"]}))
    assert cli_main(["compare", str(root), "--metrics", "firms"]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert f"the runs are of model revision 0, it computes revision {MODEL_REVISION}" in err
    assert "--resume" not in err and "Traceback" not in err


def test_xlsx_without_openpyxl_is_refused_before_the_analysis(tmp_path, capsys, monkeypatch):
    """`--format xlsx` without openpyxl printed the whole analysis and only then failed."""
    import sys

    root = grid_store_with_totals(tmp_path)
    monkeypatch.setitem(sys.modules, "openpyxl", None)  # import openpyxl -> ImportError
    out = tmp_path / "x.out"
    assert cli_main(["compare", str(root), "--out", str(out), "--format", "xlsx"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "Excel export needs openpyxl: pip install 'agglomeration[excel]'" in captured.err
    assert "Traceback" not in captured.err and not out.exists()


def _copied(runs: pd.DataFrame, source: str, name: str, **changes) -> pd.DataFrame:
    """``runs`` plus a variant ``name`` whose runs are ``source``'s (new run ids), with ``changes``."""
    twin = runs.loc[runs["variant"] == source].assign(variant=name, **changes)
    twin["run_id"] = [f"{name}-{r:03d}" for r in twin["replicate"]]
    return pd.concat([runs, twin], ignore_index=True)


def test_identical_variants_are_said_to_be_identical_not_tabulated(tmp_path, capsys):
    """Two variants that run the same resolved scenario with the same seeds printed a table of zero
    differences with untestable p values, which reads like a null result; one line now says that the
    variants are identical, so every difference is zero."""
    runs = policy_runs({"baseline": 0.0}, replicates=4).assign(scenario_fingerprint="f0", steps=8)
    runs = _copied(runs, "baseline", "copy")
    root = write_store(tmp_path / "same", runs)
    assert cli_main(["compare", str(root)]) == 0
    text = capsys.readouterr().out
    assert (
        "The variants are identical: 'copy' runs the same resolved scenario as 'baseline' with the "
        "same seeds, so every difference is zero" in text
    )
    assert "| Firms" not in text and "p (Holm)" not in text


def test_a_variant_equal_in_every_metric_is_named_beside_the_table(tmp_path, capsys):
    """An override that sets a value the runs already had (a different fingerprint, the same runs) is
    named with its overrides; the other variants are tabulated as before."""
    runs = policy_runs({"baseline": 0.0, "wz": 40.0}, replicates=4)
    runs = runs.assign(scenario_fingerprint=runs["variant"], steps=8)
    runs = _copied(runs, "baseline", "copy", scenario_fingerprint="f-copy")
    experiment = {
        "name": "fake",
        "variants": [
            {"name": "baseline", "overrides": {}},
            {"name": "wz", "overrides": {"policy.delegation.WZ": 0.9}},
            {"name": "copy", "overrides": {"logistics.tariff_multiplier.rail": 1.0}},
        ],
    }
    root = write_store(tmp_path / "some", runs, experiment=experiment)
    assert cli_main(["compare", str(root)]) == 0
    text = capsys.readouterr().out
    assert (
        "note: Identical to the baseline: every run of 'copy' equals the 'baseline' run of the same "
        "seed in every metric (its overrides, logistics.tariff_multiplier.rail = 1.0, change nothing "
        "these runs use), so every difference is zero." in text
    )
    assert "| Firms" in text and "wz" in text


def test_same_scenario_with_other_seeds_is_not_identical():
    """Independent seeds (an A/A comparison) give differences that are noise, not zero: not flagged."""
    from agglomeration.experiment.compare import compare

    runs = policy_runs({"baseline": 0.0, "again": 0.0}, replicates=4).assign(
        scenario_fingerprint="f0", steps=8
    )
    runs.loc[runs["variant"] == "again", "seed"] += 100
    assert compare(runs).identical == {}
    same = _copied(runs.loc[runs["variant"] == "baseline"], "baseline", "copy")
    assert compare(same).identical == {"copy": True}


def test_unpaired_says_the_decomposition_stays_paired_and_absolute_needs_precision(
    tmp_path, capsys
):
    """--unpaired printed the decomposition "paired by seed" without a word; --absolute without
    --precision was ignored."""
    root = grid_store_with_totals(tmp_path)
    assert cli_main(["compare", str(root), "--metrics", "firms", "--unpaired"]) == 0
    text = capsys.readouterr().out
    assert "--unpaired applies to the comparison above; the decomposition pairs by seed" in text
    assert cli_main(["compare", str(root), "--metrics", "firms", "--absolute"]) == 2
    assert "--absolute: it gives the unit of --precision" in capsys.readouterr().err


def test_a_reference_without_runs_yet_is_named_not_replaced(tmp_path, capsys):
    """A shard (or an unfinished batch, --partial) without the baseline's runs was compared with
    another variant as the reference, without a word; `--baseline baseline` called it unknown."""
    runs = policy_runs({"baseline": 0.0, "d9": 5.0, "d6": 2.0}, replicates=3)
    variants = [{"name": v} for v in ("baseline", "d9", "d6")]
    root = write_store(
        tmp_path / "shard",
        runs.loc[runs["variant"] != "baseline"],
        experiment={"name": "fake", "variants": variants},
    )
    for extra in ([], ["--baseline", "baseline"]):
        assert cli_main(["compare", str(root), "--metrics", "firms", *extra]) == 2
        err = capsys.readouterr().err
        assert "the reference variant 'baseline' has no runs" in err and "d6, d9" in err
    assert cli_main(["compare", str(root), "--metrics", "firms", "--baseline", "d6"]) == 0
    assert "Comparison with 'd6'" in capsys.readouterr().out
