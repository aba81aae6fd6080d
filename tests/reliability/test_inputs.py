"""Bad-input battery: every invalid input is exit code 2 / InputError, names file, field and expectation,
writes nothing and shows no traceback (``--debug`` shows one).

Complements tests/test_scenario.py (loader messages), tests/commands/test_validate_cli.py (validate) and
tests/test_experiment_*.py (resume refusals): here the same kinds of bad input go through the commands that
*write* (run, batch, compare, sensitivity, plot, reproduce) and through the Python API, and extreme values
are sorted into "invalid" (exit 2) and "valid edge case" (must run cleanly):

==========================================  ========  =====================================================
input                                       verdict   why
==========================================  ========  =====================================================
sigma <= 1, NaN or inf                      invalid   CES markup sigma/(sigma-1) undefined or infinite
sigma = 1.05 (close to 1)                   valid     finite markup; must run without NaN
infinite tariff / distance, NaN distance    invalid   tau = inf: a link that cannot be used is removed, not
                                                      priced
zero line-haul tariff                       valid     free line haul; time, fees and customs still cost
zero distance                               invalid   a link has a length (co-located places are one region)
zero initial firms (all sectors / one)      valid     entrants arrive; an empty sector stays empty or fills
zero firms and entry off                    valid     an empty economy: zero output, no NaN
zero steps                                  valid     the initial state is written
a region with no links at all               invalid   unreachable markets have no trade cost (named region)
booleans for numbers (initial_count=true)   invalid   a typo, not 1
==========================================  ========  =====================================================
"""

from __future__ import annotations

import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from agglomeration import cli
from agglomeration.errors import InputError, ResultStoreError
from agglomeration.observe import UNDEFINED_UNTIL_OBSERVED

HERE = Path(__file__).resolve().parents[1]
TINY = HERE / "data" / "tiny"

EXPERIMENT = """
name = "tinyexp"
scenario = "tiny/scenario.toml"
replicates = 2
seed = 5
steps = 2
[[variants]]
name = "base"
[[variants]]
name = "high"
overrides = { "policy.delegation.B" = 0.9 }
"""


# ------------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------------
@pytest.fixture
def exp_file(tiny: Path) -> Path:
    p = tiny.parent.parent / "exp.toml"
    p.write_text(EXPERIMENT)
    return p


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1))


def snapshot(root: Path) -> dict[str, int]:
    """Every file under ``root`` with its mtime (to prove nothing was written or changed)."""
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in root.rglob("*")}


def cli_error(capsys, argv: list[str]) -> str:
    """Run the CLI in-process; assert exit 2, a one-paragraph message and no traceback; return stderr."""
    capsys.readouterr()
    try:
        code = cli.main(argv)
    except SystemExit as exc:  # argparse's own usage errors (exit 2 with a usage line)
        code = exc.code
    out, err = capsys.readouterr()
    assert code == 2, f"exit {code} for {argv}\nstdout: {out}\nstderr: {err}"
    assert "Traceback" not in err and "Traceback" not in out
    assert err.strip().startswith("error:") or "usage:" in err, err
    return err


def assert_names(msg: str, *needles: str) -> None:
    low = msg.lower()
    for n in needles:
        assert n.lower() in low, f"{n!r} not in message: {msg}"


# ------------------------------------------------------------------------------------------------
# 1. scenario files and data CSVs through `agglomeration run` (nothing written)
# ------------------------------------------------------------------------------------------------
SCENARIO_CASES = [
    # id, file, old, new, needles (file, field, expectation)
    (
        "unknown-key",
        "scenario.toml",
        "steps = 5",
        "steps = 5\n[behaviour]\nsearch_probabilty = 0.1",
        (
            "scenario.toml",
            "behaviour.search_probabilty",
            "did you mean 'sourcing.search_probability'",
        ),
    ),
    (
        "unknown-section",
        "scenario.toml",
        "steps = 5",
        "steps = 5\n[firm]\ninitial_count = 5",
        ("scenario.toml", "firm", "unknown key"),
    ),
    (
        "wrong-type",
        "scenario.toml",
        "steps = 5",
        'steps = "ten"',
        ("scenario.toml", "steps", "integer"),
    ),
    (
        "nan-steps",
        "scenario.toml",
        "steps = 5",
        "steps = nan",
        ("scenario.toml", "steps", "finite"),
    ),
    (
        "inf-equity",
        "scenario.toml",
        "steps = 5",
        "steps = 5\n[behaviour.relocation]\ncost = inf",
        ("scenario.toml", "behaviour.relocation.cost", "less than or equal"),
    ),
    (
        "nan-rate",
        "scenario.toml",
        "steps = 5",
        "steps = 5\n[policy]\nreplication_rate = nan",
        ("scenario.toml", "policy.replication_rate", "got nan"),
    ),
    (
        "out-of-range",
        "scenario.toml",
        "steps = 5",
        "steps = 5\n[behaviour.sourcing]\nsearch_probability = 1.5",
        ("scenario.toml", "behaviour.sourcing.search_probability", "less than or equal to 1"),
    ),
    (
        "negative-count",
        "scenario.toml",
        "initial_count = 30",
        "initial_count = -3",
        ("scenario.toml", "firms.initial_count", "greater than or equal to 0"),
    ),
    (
        "bool-for-number",
        "scenario.toml",
        "initial_count = 30",
        "initial_count = true",
        ("scenario.toml", "firms.initial_count", "boolean"),
    ),
    (
        "delegation-nan",
        "scenario.toml",
        "steps = 5",
        "steps = 5\n[policy.delegation]\nB = nan",
        ("scenario.toml", "policy.delegation.B", "[0, 1]"),
    ),
    (
        "delegation-unknown-region",
        "scenario.toml",
        "steps = 5",
        "steps = 5\n[policy.delegation]\nQ = 0.5",
        ("scenario.toml", "policy.delegation", "Q"),
    ),
    (
        "huge-steps",
        "scenario.toml",
        "steps = 5",
        "steps = 1000000000000",
        ("scenario.toml", "steps", "less than"),
    ),
    (
        "malformed-toml",
        "scenario.toml",
        "steps = 5",
        "steps = = 5",
        ("scenario.toml", "line", "TOML"),
    ),
    (
        "sigma-1",
        "sectors.csv",
        "manufacturing,4,",
        "manufacturing,1,",
        ("sectors.csv", "sigma", "greater than 1"),
    ),
    (
        "sigma-below-1",
        "sectors.csv",
        "manufacturing,4,",
        "manufacturing,0.5,",
        ("sectors.csv", "sigma", "greater than 1"),
    ),
    (
        "sigma-inf",
        "sectors.csv",
        "manufacturing,4,",
        "manufacturing,inf,",
        ("sectors.csv", "sigma", "50"),
    ),
    (
        "sigma-nan",
        "sectors.csv",
        "manufacturing,4,",
        "manufacturing,nan,",
        ("sectors.csv", "sigma", "nan"),
    ),
    (
        "sigma-text",
        "sectors.csv",
        "manufacturing,4,",
        "manufacturing,four,",
        ("sectors.csv", "sigma", "four"),
    ),
    (
        "tariff-inf",
        "modes.csv",
        "road,1.0,",
        "road,inf,",
        ("modes.csv", "tariff", "less than or equal"),
    ),
    (
        "distance-zero",
        "links.csv",
        "A,B,road,100",
        "A,B,road,0",
        ("links.csv", "distance_km", "greater than 0"),
    ),
    (
        "distance-inf",
        "links.csv",
        "A,B,road,100",
        "A,B,road,inf",
        ("links.csv", "distance_km", "less than"),
    ),
    (
        "distance-nan",
        "links.csv",
        "A,B,road,100",
        "A,B,road,nan",
        ("links.csv", "distance_km", "nan"),
    ),
    (
        "speed-zero",
        "modes.csv",
        "road,1.0,50",
        "road,1.0,0",
        ("modes.csv", "speed", "greater than 0"),
    ),
    (
        "wage-zero",
        "regions.csv",
        "10,0.025,4",
        "10,0,4",
        ("regions.csv", "base_wage", "greater than or equal to 0.0001"),
    ),
    (
        "income-negative",
        "regions.csv",
        ",4,100,",
        ",4,-100,",
        ("regions.csv", "immobile_income", "greater than or equal"),
    ),
    (
        "demand-inf",
        "gateways.csv",
        "100.0,20.0,200,",
        "100.0,20.0,inf,",
        ("gateways.csv", "demand", "less than"),
    ),
    ("io-nan", "io.csv", "bulk,0.1,0.3", "bulk,nan,0.3", ("io.csv", "bulk", "[0.0, 1.0]")),
    ("io-column-sum", "io.csv", "bulk,0.1,0.3", "bulk,0.9,0.3", ("io.csv", "bulk", "expected < 1")),
    (
        "final-share-negative",
        "sectors.csv",
        "0.3,1,estimate",
        "-0.3,1,estimate",
        ("sectors.csv", "final_share", ">= 0|greater than or equal"),
    ),
    (
        "unknown-column",
        "regions.csv",
        "region_id,name,",
        "region_id,nmae,",
        ("regions.csv", "nmae", "name"),
    ),
    ("duplicate-region", "regions.csv", "B,Beta,", "A,Beta,", ("regions.csv", "A", "duplicate")),
    (
        "initial-firms-negative",
        "initial_firms.csv",
        "A,1,2,3",
        "A,-1,2,3",
        ("initial_firms.csv", "bulk", "-1"),
    ),
    (
        "region-with-no-links",
        "links.csv",
        "B,C,road,50,0,0,estimate: test data\nA,C,road,200,0,0,estimate: test data\n",
        "",
        ("C", "unreachable|no link|not connected|cannot reach"),
    ),
    (
        "data-file-is-a-directory",
        "scenario.toml",
        'file = "regions.csv"',
        'file = "."',
        ("tiny", "directory"),
    ),
    (
        "data-file-missing",
        "scenario.toml",
        'io_file = "io.csv"',
        'io_file = "nope.csv"',
        ("nope.csv", "not found"),
    ),
]


def _needles_ok(msg: str, needles: tuple[str, ...]) -> None:
    for n in needles:
        alts = n.split("|")
        assert any(a.lower() in msg.lower() for a in alts), f"none of {alts} in: {msg}"


@pytest.mark.parametrize(
    ("file", "old", "new", "needles"),
    [pytest.param(*c[1:], id=c[0]) for c in SCENARIO_CASES],
)
def test_bad_scenario_or_data_exit_2_named_and_nothing_written(
    tiny, capsys, file, old, new, needles
):
    edit(tiny.parent / file, old, new)
    before = snapshot(tiny.parent)
    out = tiny.parent.parent / "out"
    err = cli_error(capsys, ["run", str(tiny), "--out", str(out), "--quiet"])
    _needles_ok(err, needles)
    assert not out.exists()
    assert snapshot(tiny.parent) == before


@pytest.mark.parametrize("file", ["scenario.toml", "regions.csv", "io.csv"])
def test_binary_garbage_file_is_exit_2(tiny, capsys, file):
    (tiny.parent / file).write_bytes(b"\x00\xff\xfe\x89PNG\r\n\x1a\n" + bytes(range(256)))
    out = tiny.parent.parent / "out"
    err = cli_error(capsys, ["run", str(tiny), "--out", str(out), "--quiet"])
    assert_names(err, file, "cannot read")
    assert not out.exists()


@pytest.mark.parametrize("file", ["scenario.toml", "sectors.csv"])
def test_unreadable_file_permission_denied_is_exit_2(tiny, capsys, monkeypatch, file):
    """chmod 000 does not stop root (CI runs as root), so the OS refusal is simulated at the read."""
    target = (tiny.parent / file).resolve()
    real_read_text, real_open = Path.read_text, Path.open

    def deny(self, *a, **kw):
        if self.resolve() == target:
            raise PermissionError(13, "Permission denied", str(self))
        return (real_read_text if deny.kind == "read_text" else real_open)(self, *a, **kw)

    deny.kind = "read_text" if file.endswith(".toml") else "open"
    monkeypatch.setattr(Path, deny.kind, deny)
    out = tiny.parent.parent / "out"
    err = cli_error(capsys, ["run", str(tiny), "--out", str(out), "--quiet"])
    assert_names(err, file, "Permission denied")
    assert not out.exists()


def test_directory_given_as_scenario_file(tiny, capsys):
    for cmd in (["run", str(tiny.parent), "--quiet"], ["validate", str(tiny.parent)]):
        err = cli_error(capsys, cmd)
        assert_names(err, "tiny", "directory")


def test_debug_shows_the_traceback_and_plain_does_not(tiny, capsys):
    edit(tiny.parent / "sectors.csv", "manufacturing,4,", "manufacturing,1,")
    plain = cli_error(capsys, ["run", str(tiny), "--quiet"])
    assert "Traceback" not in plain
    code = cli.main(["--debug", "run", str(tiny), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" in err and "InputError" in err and "sigma" in err


# ------------------------------------------------------------------------------------------------
# 2. extreme values that are valid edge cases: they must run cleanly (exit 0, finite numbers)
# ------------------------------------------------------------------------------------------------
ALL_ZERO_FIRMS = ("A,1,2,3,", "A,0,0,0,"), ("B,2,1,1,", "B,0,0,0,"), ("C,1,0,1,", "C,0,0,0,")

VALID_EDGES = [
    ("sigma-close-to-1", [("sectors.csv", "manufacturing,4,", "manufacturing,1.05,")], []),
    ("zero-tariff", [("modes.csv", "road,1.0,", "road,0,")], []),
    ("empty-sector", [("initial_firms.csv", "A,1,2,3", "A,1,0,3")], []),
    (
        "zero-firms-entry-on",
        [("initial_firms.csv", *r) for r in ALL_ZERO_FIRMS],
        ["--set", "firms.initial_count=0"],
    ),
    ("zero-count-entry-on", [], ["--set", "firms.initial_count=0"]),
    (
        "zero-firms-no-entry",
        [("initial_firms.csv", *r) for r in ALL_ZERO_FIRMS],
        ["--set", "behaviour.entry.enabled=false", "--set", "firms.initial_count=0"],
    ),
    ("zero-steps", [("scenario.toml", "steps = 5", "steps = 0")], []),
    (
        "zero-fixed-cost",
        [("sectors.csv", "manufacturing,4,0.6,0.2,1,", "manufacturing,4,0.6,0.2,0,")],
        [],
    ),
]


@pytest.mark.parametrize(("edits", "extra"), [pytest.param(*c[1:], id=c[0]) for c in VALID_EDGES])
def test_valid_extreme_values_run_cleanly(tiny, capsys, edits, extra):
    for file, old, new in edits:
        edit(tiny.parent / file, old, new)
    out = tiny.parent.parent / "out"
    code = cli.main(["run", str(tiny), "--out", str(out), "--quiet", "--no-figures", *extra])
    err = capsys.readouterr().err
    assert code == 0, err
    series = pd.read_csv(out / "timeseries.csv")
    series = series.drop(columns=list(UNDEFINED_UNTIL_OBSERVED))
    regions = pd.read_csv(out / "regions.csv")
    num = series.select_dtypes("number").to_numpy()
    # share-type series are undefined (NaN) only in an empty economy; everything else is finite
    if series["firms"].min() > 0:
        assert np.isfinite(num).all(), series.columns[~np.isfinite(num).all(axis=0)]
    assert not np.isinf(num).any()
    assert (regions[["firms", "employment", "output"]] >= 0).all().all()
    if "behaviour.entry.enabled=false" in extra:
        assert (series["firms"] == 0).all() and regions["output"].sum() == 0


def test_all_zero_initial_firms_with_a_positive_count_is_an_error(tiny, capsys):
    for old, new in ALL_ZERO_FIRMS:
        edit(tiny.parent / "initial_firms.csv", old, new)
    out = tiny.parent.parent / "out"
    err = cli_error(capsys, ["run", str(tiny), "--out", str(out), "--quiet"])
    assert_names(err, "firms.initial_distribution", "positive total")
    assert not out.exists()


def test_all_zero_initial_firms_fail_validate_naming_the_file(tiny, capsys):
    """`validate` finds what `run` would fail on at its start, and names the data file."""
    for old, new in ALL_ZERO_FIRMS:
        edit(tiny.parent / "initial_firms.csv", old, new)
    err = cli_error(capsys, ["validate", str(tiny)])
    assert_names(err, "initial_firms.csv", "weights", "positive total", "firms.initial_count")
    assert cli.main(["validate", str(tiny), "--quiet"]) == 2
    # a start without firms needs no weights; 'uniform' does not read them
    capsys.readouterr()
    edit(tiny, "[firms]", '[firms]\ninitial_distribution = "uniform"')
    assert cli.main(["validate", str(tiny)]) == 0, capsys.readouterr().err


# ------------------------------------------------------------------------------------------------
# 3. experiment files through `agglomeration batch` (nothing written)
# ------------------------------------------------------------------------------------------------
EXPERIMENT_CASES = [
    (
        "unknown-key",
        "replicates = 2",
        "replicate = 2",
        ("exp.toml", "replicate", "did you mean 'replicates'"),
    ),
    ("wrong-type", "replicates = 2", 'replicates = "two"', ("exp.toml", "replicates", "integer")),
    (
        "zero-replicates",
        "replicates = 2",
        "replicates = 0",
        ("exp.toml", "replicates", "greater than or equal to 1"),
    ),
    ("negative-seed", "seed = 5", "seed = -1", ("exp.toml", "seed", "greater than or equal to 0")),
    ("nan-steps", "steps = 2", "steps = nan", ("exp.toml", "steps", "nan")),
    (
        "negative-steps",
        "steps = 2",
        "steps = -2",
        ("exp.toml", "steps", "greater than or equal to 0"),
    ),
    (
        "variant-unknown-override",
        '"policy.delegation.B" = 0.9',
        '"policy.delegaton.B" = 0.9',
        ("exp.toml", "high", "delegaton"),
    ),
    (
        "variant-override-out-of-range",
        '"policy.delegation.B" = 0.9',
        '"policy.delegation.B" = 1.5',
        ("exp.toml", "high", "policy.delegation.B", "[0, 1]"),
    ),
    (
        "variant-override-nan",
        '"policy.delegation.B" = 0.9',
        '"policy.delegation.B" = nan',
        ("exp.toml", "high", "policy.delegation.B"),
    ),
    ("duplicate-variant", 'name = "high"', 'name = "base"', ("exp.toml", "variants", "twice")),
    (
        "scenario-missing",
        'scenario = "tiny/scenario.toml"',
        'scenario = "nope.toml"',
        ("exp.toml", "scenario", "not found"),
    ),
    (
        "design-kind",
        "steps = 2",
        'steps = 2\n[design]\nkind = "bogus"',
        ("exp.toml", "design.kind", "grid"),
    ),
    (
        "design-bounds-nan",
        "steps = 2",
        'steps = 2\n[design]\nkind = "lhs"\nsamples = 4\n[design.parameters."behaviour.sourcing.search_probability"]\nbounds = [0.3, nan]',
        ("exp.toml", "design", "bounds"),
    ),
    (
        "design-bounds-reversed",
        "steps = 2",
        'steps = 2\n[design]\nkind = "lhs"\nsamples = 4\n[design.parameters."behaviour.sourcing.search_probability"]\nbounds = [0.3, 0.1]',
        ("exp.toml", "design", "bounds"),
    ),
    (
        "design-point-out-of-range",
        "steps = 2",
        'steps = 2\n[design]\nkind = "grid"\n[design.parameters."behaviour.sourcing.search_probability"]\nvalues = [0.1, 7.0]',
        ("exp.toml", "design point", "behaviour.sourcing.search_probability"),
    ),
    (
        "series-every-zero",
        "steps = 2",
        "steps = 2\n[output]\nseries_every = 0",
        ("exp.toml", "output.series_every", "greater than or equal to 1"),
    ),
    (
        "unknown-metric",
        "steps = 2",
        'steps = 2\n[output]\nmetrics = ["firmz"]',
        ("metrics", "firmz"),
    ),
    ("model-not-a-model", "steps = 2", 'steps = 2\nmodel = "pathlib:Path"', ("model", "subclass")),
    (
        "model-missing-module",
        "steps = 2",
        'steps = 2\nmodel = "no_such_pkg.mod:Model"',
        ("model", "no_such_pkg"),
    ),
    (
        "model-expression",
        "steps = 2",
        "steps = 2\nmodel = \"__import__('os').system('touch PWNED')\"",
        ("exp.toml", "model", "package.module:ClassName"),
    ),
    ("malformed", "replicates = 2", "replicates = [", ("exp.toml", "TOML")),
    # set by the reader (the file's own path): a file's value was silently replaced
    (
        "internal-key",
        "steps = 2",
        "steps = 2\nsource_path = 5",
        ("exp.toml", "source_path", "unknown key"),
    ),
]


@pytest.mark.parametrize(
    ("old", "new", "needles"), [pytest.param(*c[1:], id=c[0]) for c in EXPERIMENT_CASES]
)
def test_bad_experiment_exit_2_named_and_nothing_written(exp_file, capsys, old, new, needles):
    edit(exp_file, old, new)
    root = exp_file.parent
    before = snapshot(root)
    out = root / "results"
    err = cli_error(
        capsys, ["batch", str(exp_file), "--out", str(out), "--executor", "serial", "--no-progress"]
    )
    _needles_ok(err, needles)
    assert not out.exists()
    assert snapshot(root) == before
    assert not (root / "PWNED").exists() and not Path("PWNED").exists()


@pytest.mark.parametrize("what", ["garbage", "directory", "missing"])
def test_unreadable_experiment_file(exp_file, capsys, what):
    target = exp_file
    if what == "garbage":
        exp_file.write_bytes(b"\x00\xff\xfe\x89PNG" + bytes(range(256)))
    elif what == "directory":
        target = exp_file.parent / "tiny"
    else:
        target = exp_file.parent / "nope.toml"
    out = exp_file.parent / "results"
    err = cli_error(capsys, ["batch", str(target), "--out", str(out)])
    _needles_ok(err, (target.name, "cannot read|not found|directory"))
    assert not out.exists()


# ------------------------------------------------------------------------------------------------
# 4. command-line options of every subcommand
# ------------------------------------------------------------------------------------------------
RUN_OPTIONS = [
    (["--steps", "-1"], ("--steps", "[0, 10000]")),
    (["--steps", "1000000000"], ("--steps", "[0, 10000]")),
    (["--steps", "abc"], ("--steps", "invalid int")),
    (["--steps", "nan"], ("--steps", "invalid int")),
    (["--seed", "-1"], ("--seed", "[0, 2**63)")),
    (["--seed", "1.5"], ("--seed", "invalid int")),
    (["--set", "nokey"], ("--set", "KEY=VALUE")),
    (["--set", "firms.bogus=1"], ("firms.bogus", "unknown key")),
    (["--set", "firms.initial_count=nan"], ("firms.initial_count", "finite")),
    (["--set", "firms.initial_count=inf"], ("firms.initial_count", "finite")),
    (
        ["--set", "behaviour.sourcing.search_probability=abc"],
        ("behaviour.sourcing.search_probability", "number"),
    ),
    (["--set", "policy.delegation.B=2"], ("policy.delegation.B", "[0, 1]")),
    (["--bogus-option"], ("unrecognized arguments",)),
    # --steps won silently over --set steps (and batch let --set win): a disagreement is an error
    (["--steps", "2", "--set", "steps=3"], ("--steps 2", "--set steps=3", "disagree")),
    # the same key twice with different values: the last one won silently
    (
        ["--set", "policy.delegation.B=0.2", "--set", "policy.delegation.B=0.9"],
        ("--set", "policy.delegation.B is given twice", "0.2 and 0.9"),
    ),
    (
        ["--lever", "policy.delegation.B=0.2", "--lever", "policy.delegation.B=0.9"],
        ("--lever", "policy.delegation.B is given twice"),
    ),
]


@pytest.mark.parametrize(
    ("extra", "needles"), RUN_OPTIONS, ids=lambda v: " ".join(v) if isinstance(v, list) else None
)
def test_run_options(tiny, capsys, extra, needles):
    out = tiny.parent.parent / "out"
    err = cli_error(capsys, ["run", str(tiny), "--out", str(out), "--quiet", *extra])
    _needles_ok(err, needles)
    assert not out.exists()


def test_run_out_is_an_existing_file(tiny, capsys):
    f = tiny.parent.parent / "taken.txt"
    f.write_text("keep me")
    err = cli_error(capsys, ["run", str(tiny), "--out", str(f), "--quiet"])
    assert_names(err, "taken.txt", "--out", "directory")
    assert f.read_text() == "keep me"


BATCH_OPTIONS = [
    (["--workers", "0"], ("workers", ">= 1")),
    (["--workers", "-2"], ("workers", ">= 1")),
    (["--workers", "two"], ("--workers", "invalid int")),
    (["--replicates", "0"], ("replicates", "greater than or equal to 1")),
    (["--steps", "-1"], ("steps", "greater than or equal to 0")),
    (["--shard", "3/2"], ("shard", "0 <= i < N")),
    (["--shard", "a/b"], ("shard", "i/N")),
    (["--shard", "1/0"], ("shard", "0 <= i < N")),
    (["--executor", "mpi"], ("--executor", "invalid choice")),
    (["--set", "bogus=1"], ("bogus", "unknown key")),
    (["--set", "firms.initial_count=nan"], ("firms.initial_count", "finite")),
    (["--set", "noequals"], ("--set", "KEY=VALUE")),
    # --set replicates / steps won silently over --replicates / --steps, and an invalid --set value
    # was blamed on the option given correctly
    (["--steps", "2", "--set", "steps=3"], ("--steps 2", "--set steps=3", "disagree")),
    (
        ["--replicates", "1", "--set", "replicates=0"],
        ("--replicates 1", "replicates=0", "disagree"),
    ),
    (["--set", "steps=-1"], ("--set steps=-1", "greater than or equal to 0")),
    (["--set", "seed=1", "--set", "seed=2"], ("--set", "seed is given twice", "1 and 2")),
    (["--resume"], ("nothing to resume", "manifest.json")),
]


@pytest.mark.parametrize(
    ("extra", "needles"), BATCH_OPTIONS, ids=lambda v: " ".join(v) if isinstance(v, list) else None
)
def test_batch_options(exp_file, capsys, extra, needles):
    out = exp_file.parent / "results"
    err = cli_error(capsys, ["batch", str(exp_file), "--out", str(out), "--no-progress", *extra])
    _needles_ok(err, needles)
    assert not out.exists()


@pytest.fixture(scope="module")
def results_dir(tmp_path_factory) -> Path:
    """A finished tiny batch (2 variants x 2 replicates, 2 steps, serial)."""
    from agglomeration.experiment.runner import run_experiment

    root = tmp_path_factory.mktemp("res")
    shutil.copytree(TINY, root / "tiny")
    (root / "exp.toml").write_text(EXPERIMENT)
    s = run_experiment(root / "exp.toml", root / "results", executor="serial", progress=False)
    assert s.complete and s.done == 4
    return root / "results"


ANALYSIS_OPTIONS = [
    ("compare", ["--baseline", "nope"], ("baseline", "unknown variant 'nope'")),
    ("compare", ["--metrics", "nope"], ("nope",)),
    ("compare", ["--at-step", "-5"], ("step", "-5", "not recorded")),
    ("compare", ["--precision", "nan"], ("precision", "positive")),
    ("compare", ["--precision", "-1"], ("precision", "positive")),
    ("compare", ["--bootstrap", "-3"], ("bootstrap", ">= 0")),
    ("compare", ["--format", "pdf"], ("--format", "invalid choice")),
    ("compare", ["--out", "x.docx"], ("--out", "suffix")),
    ("sensitivity", [], ("design", "sobol")),
    ("sensitivity", ["--resamples", "-1"], ("--resamples", "positive")),
    ("sensitivity", ["--method", "fast"], ("--method", "invalid choice")),
    ("plot", ["--metrics", "nope"], ("--metrics", "nope")),
    ("plot", ["--scenario", "nope.toml"], ("nope.toml", "not found")),
    ("reproduce", ["--run", "zzzz"], ("--run", "no run")),
    ("reproduce", ["--run", ""], ("--run", "no run")),
    # an empty path was taken as "not given" (the default place); a negative seed left the
    # bootstrap unseeded (-1) or was a ValueError (-2)
    ("compare", ["--out", ""], ("--out", "empty string")),
    ("plot", ["--out", ""], ("--out", "empty string")),
    ("sensitivity", ["--seed", "-1"], ("--seed", "[0, 2**63)")),
    ("sensitivity", ["--seed", "-2"], ("--seed", "[0, 2**63)")),
]


@pytest.mark.parametrize(
    "extra",
    [
        ["compare", "--metrics", "firms", "firms"],
        ["compare", "--factorial", "--metrics", "firms", "firms"],
        ["plot", "--metrics", "firms", "firms", "--out", "figs"],
    ],
    ids=" ".join,
)
def test_a_metric_named_twice_counts_once(results_dir, tmp_path, monkeypatch, capsys, extra):
    """`--metrics firms firms` was a TypeError (exit 1) in compare, --factorial and plot."""
    monkeypatch.chdir(tmp_path)
    assert cli.main([extra[0], str(results_dir), *extra[1:], "--quiet"]) == 0
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "error" not in err
    if extra == ["compare", "--metrics", "firms", "firms"]:
        assert sum(line.startswith("| Firms ") for line in out.splitlines()) == 2  # base, high


@pytest.mark.parametrize(
    ("cmd", "extra", "needles"),
    ANALYSIS_OPTIONS,
    ids=lambda v: " ".join(v) if isinstance(v, list) else str(v),
)
def test_analysis_options(results_dir, tmp_path, monkeypatch, capsys, cmd, extra, needles):
    monkeypatch.chdir(tmp_path)
    before = snapshot(results_dir)
    err = cli_error(capsys, [cmd, str(results_dir), *extra])
    _needles_ok(err, needles)
    assert snapshot(results_dir) == before
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("cmd", "flag", "target", "needle"),
    [
        ("compare", "--out", "taken.txt/t.csv", "is a file"),
        ("compare", "--out", "adir", "expected a file"),
        ("compare", "--table-csv", "taken.txt/q.csv", "is a file"),
        ("sensitivity", "--out", "taken.txt/s.csv", "is a file"),
        ("plot", "--out", "taken.txt", "expected a directory"),
        ("plot", "--out", "taken.txt/figs", "is a file"),
    ],
)
def test_analysis_outputs_that_cannot_be_written(
    results_dir, tmp_path, monkeypatch, capsys, cmd, flag, target, needle
):
    """Checked before computing: no output half-written, the file in the way untouched."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "taken.txt").write_text("keep me")
    (tmp_path / "adir").mkdir()
    before, store_before = snapshot(tmp_path), snapshot(results_dir)
    err = cli_error(capsys, [cmd, str(results_dir), flag, target])
    assert_names(err, target, flag, needle)
    assert snapshot(tmp_path) == before and snapshot(results_dir) == store_before


@pytest.mark.parametrize("cmd", ["compare", "sensitivity", "plot", "reproduce"])
@pytest.mark.parametrize(
    "what",
    [
        "missing",
        "empty-dir",
        "other-dir",
        "a-file",
        "bad-manifest",
        "foreign-manifest",
        "list-manifest",
        "null-manifest",
        "not-utf8-manifest",
    ],
)
def test_results_that_are_not_results(tmp_path, capsys, cmd, what):
    target = tmp_path / "target"
    if what == "empty-dir":
        target.mkdir()
    elif what == "other-dir":
        target.mkdir()
        (target / "notes.txt").write_text("hello")
    elif what == "a-file":
        target.write_text("hello")
    elif what == "bad-manifest":
        target.mkdir()
        (target / "manifest.json").write_bytes(b"\x00{not json")
    elif what == "foreign-manifest":
        target.mkdir()
        (target / "manifest.json").write_text('{"format": "someone-else/3"}')
    elif what in ("list-manifest", "null-manifest"):  # valid JSON, not an object: was exit 1
        target.mkdir()
        (target / "manifest.json").write_text("[1, 2]" if what == "list-manifest" else "null")
    elif what == "not-utf8-manifest":  # was a UnicodeDecodeError, exit 1
        target.mkdir()
        (target / "manifest.json").write_bytes(b"\xff\xfe\xfa")
    before = snapshot(tmp_path)
    err = cli_error(capsys, [cmd, str(target)])
    assert "target" in err
    _needles_ok(err, ("not found|not a result|no manifest|no such|unreadable|expected|neither",))
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("where", ["a-file", "under-a-file", "permission-denied"])
def test_batch_out_that_cannot_be_a_directory(exp_file, capsys, monkeypatch, where):
    taken = exp_file.parent / "taken.txt"
    taken.write_text("keep me")
    out = {"a-file": taken, "under-a-file": taken / "sub"}.get(
        where, exp_file.parent / "ro" / "out"
    )
    if where == "permission-denied":  # root ignores chmod: simulate the OS refusal at mkdir
        real_mkdir = Path.mkdir

        def deny(self, *a, **kw):
            if self == out:
                raise PermissionError(13, "Permission denied", str(self))
            return real_mkdir(self, *a, **kw)

        monkeypatch.setattr(Path, "mkdir", deny)
    before = snapshot(exp_file.parent)
    err = cli_error(capsys, ["batch", str(exp_file), "--out", str(out), "--no-progress"])
    _needles_ok(err, (out.name, "--out", "existing file|Not a directory|Permission denied"))
    assert snapshot(exp_file.parent) == before and taken.read_text() == "keep me"


def test_batch_into_a_directory_that_is_not_a_result_store(exp_file, capsys):
    out = exp_file.parent / "busy"
    out.mkdir()
    (out / "thesis.tex").write_text("precious")
    err = cli_error(capsys, ["batch", str(exp_file), "--out", str(out), "--no-progress"])
    assert_names(err, "busy", "not a result directory")
    assert sorted(p.name for p in out.iterdir()) == ["thesis.tex"]


def test_batch_into_the_results_of_another_experiment(results_dir, tmp_path, capsys):
    other = tmp_path / "other.toml"
    shutil.copytree(TINY, tmp_path / "tiny")
    other.write_text(EXPERIMENT.replace("seed = 5", "seed = 6"))
    before = snapshot(results_dir)
    err = cli_error(capsys, ["batch", str(other), "--out", str(results_dir), "--no-progress"])
    assert_names(err, str(results_dir.name), "experiment changed", "seed: 5 -> 6")
    assert snapshot(results_dir) == before


def test_validate_options(tmp_path, capsys):
    for target in (tmp_path / "nope.toml", tmp_path):
        err = cli_error(capsys, ["validate", str(target)])
        _needles_ok(err, (str(target.name), "not found|directory"))
    err = cli_error(capsys, ["validate"])
    assert "required" in err


# ------------------------------------------------------------------------------------------------
# 5. the Python API: documented exception types
# ------------------------------------------------------------------------------------------------
def _api_cases(tiny: Path, exp_file: Path, tmp: Path):
    from agglomeration import AgglomerationModel, load_scenario
    from agglomeration.experiment.runner import run_experiment
    from agglomeration.experiment.store import load_results

    t = str(tiny)
    return {
        "model-unknown-kwarg": (
            lambda: AgglomerationModel(t, bogus=3),
            InputError,
            ("bogus", "unknown key"),
        ),
        "model-unknown-nested-kwarg": (
            lambda: AgglomerationModel(t, firms__initial_cuont=3),
            InputError,
            ("firms.initial_cuont", "initial_count"),
        ),
        "model-nan-kwarg": (
            lambda: AgglomerationModel(t, behaviour__sourcing__search_probability=math.nan),
            InputError,
            ("behaviour.sourcing.search_probability", "nan"),
        ),
        "model-inf-kwarg": (
            lambda: AgglomerationModel(t, firms__productivity_sigma=math.inf),
            InputError,
            ("firms.productivity_sigma", "inf"),
        ),
        "model-wrong-type-kwarg": (
            lambda: AgglomerationModel(t, behaviour__sourcing__search_probability="high"),
            InputError,
            ("search_probability", "number"),
        ),
        "model-bool-kwarg": (
            lambda: AgglomerationModel(t, firms__initial_count=True),
            InputError,
            ("initial_count", "boolean"),
        ),
        "model-negative-seed": (
            lambda: AgglomerationModel(t, replicate_seed=-1),
            InputError,
            ("replicate_seed", ">= 0"),
        ),
        "model-float-seed": (
            lambda: AgglomerationModel(t, replicate_seed=1.5),
            InputError,
            ("replicate_seed", "integer"),
        ),
        "model-scenario-type": (lambda: AgglomerationModel(42), InputError, ("scenario", "int")),
        "model-missing-file": (
            lambda: AgglomerationModel(str(tmp / "nope.toml")),
            InputError,
            ("nope.toml", "not found"),
        ),
        "model-run-negative": (
            lambda: AgglomerationModel(t, firms__initial_count=5).run(-1),
            InputError,
            ("steps", ">= 0"),
        ),
        "model-run-string": (
            lambda: AgglomerationModel(t, firms__initial_count=5).run("5"),
            InputError,
            ("steps", "integer"),
        ),
        "model-run-float": (
            lambda: AgglomerationModel(t, firms__initial_count=5).run(2.5),
            InputError,
            ("steps", "integer"),
        ),
        "load-scenario-none": (lambda: load_scenario(None), InputError, ("path",)),
        "load-scenario-overrides-list": (
            lambda: load_scenario(t, ["steps=3"]),
            InputError,
            ("overrides", "mapping"),
        ),
        "load-scenario-bad-override-key": (
            lambda: load_scenario(t, {"": 1}),
            InputError,
            ("dotted path",),
        ),
        "load-scenario-nan": (
            lambda: load_scenario(t, {"steps": math.nan}),
            InputError,
            ("steps", "finite"),
        ),
        "run-experiment-missing": (
            lambda: run_experiment(tmp / "nope.toml", tmp / "o1"),
            InputError,
            ("nope.toml", "not found"),
        ),
        "run-experiment-workers": (
            lambda: run_experiment(exp_file, tmp / "o2", workers=0),
            InputError,
            ("workers", ">= 1"),
        ),
        # a float or a string passed the range check and failed in multiprocessing (a TypeError)
        "run-experiment-workers-float": (
            lambda: run_experiment(exp_file, tmp / "o2f", workers=2.0),
            InputError,
            ("workers", "integer", "2.0"),
        ),
        "run-experiment-workers-string": (
            lambda: run_experiment(exp_file, tmp / "o2s", workers="2"),
            InputError,
            ("workers", "integer", "'2'"),
        ),
        "run-experiment-executor": (
            lambda: run_experiment(exp_file, tmp / "o3", executor="mpi"),
            InputError,
            ("executor", "mpi"),
        ),
        "run-experiment-shard": (
            lambda: run_experiment(exp_file, tmp / "o4", shard="2/2"),
            InputError,
            ("shard",),
        ),
        "run-experiment-resume-nothing": (
            lambda: run_experiment(
                exp_file, tmp / "o5", resume=True, executor="serial", progress=False
            ),
            ResultStoreError,
            ("o5", "nothing to resume"),
        ),
        "load-results-missing": (
            lambda: load_results(tmp / "o6"),
            ResultStoreError,
            ("o6", "not found"),
        ),
        "load-results-file": (lambda: load_results(tiny), ResultStoreError, ("scenario.toml",)),
        "load-results-not-store": (
            lambda: load_results(tiny.parent),
            ResultStoreError,
            ("tiny", "manifest"),
        ),
    }


API_IDS = list(_api_cases(Path("x"), Path("y"), Path("z")))


@pytest.mark.parametrize("case", API_IDS)
def test_python_api_raises_documented_errors(tiny, exp_file, tmp_path, case):
    fn, exc_type, needles = _api_cases(tiny, exp_file, tmp_path)[case]
    before = snapshot(tmp_path)
    with pytest.raises(exc_type) as ei:
        fn()
    assert isinstance(ei.value, InputError)  # ResultStoreError is an InputError: exit 2 on the CLI
    _needles_ok(str(ei.value), needles)
    assert snapshot(tmp_path) == before


# ------------------------------------------------------------------------------------------------
# 6. the console script itself (real processes)
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("argv", "needles"),
    [
        (
            ["run", "{tiny}", "--set", "firms.initial_count=-1", "--out", "{out}"],
            ("initial_count", ">= 0|greater than or equal"),
        ),
        (["batch", "{exp}", "--workers", "0", "--out", "{out}"], ("workers",)),
        (["reproduce", "{tinydir}"], ("manifest",)),
    ],
)
def test_console_script_exit_2_without_traceback(tiny, exp_file, argv, needles):
    out = exp_file.parent / "out"
    subs = {
        "{tiny}": str(tiny),
        "{exp}": str(exp_file),
        "{out}": str(out),
        "{tinydir}": str(tiny.parent),
    }
    argv = [subs.get(a, a) for a in argv]
    p = subprocess.run(
        [sys.executable, "-m", "agglomeration.cli", *argv],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 2, p.stderr
    assert "Traceback" not in p.stderr and p.stderr.startswith("error:")
    _needles_ok(p.stderr, needles)
    assert not out.exists()


@pytest.mark.parametrize("key", ["experiment", "design", "environment"])
@pytest.mark.parametrize("cmd", ["compare", "plot", "reproduce"])
def test_a_manifest_with_a_damaged_entry_is_exit_2_naming_it(
    results_dir, tmp_path, monkeypatch, capsys, cmd, key
):
    """A manifest whose structured entries are not objects (valid JSON) was an AttributeError."""
    import json

    monkeypatch.chdir(tmp_path)
    copy = tmp_path / "copy"
    shutil.copytree(results_dir, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest[key] = "oops"
    (copy / "manifest.json").write_text(json.dumps(manifest))
    err = cli_error(capsys, [cmd, str(copy)])
    assert_names(err, "manifest.json", key, "damaged manifest")


def test_a_deleted_part_of_a_finished_run_is_reported_not_skipped(
    results_dir, tmp_path, monkeypatch, capsys
):
    """`plot` drew no time series (exit 0) and load_results gave an empty series table when the
    series parts of finished runs were deleted; the part is named and resuming redoes its run."""
    from agglomeration.experiment.store import load_results

    monkeypatch.chdir(tmp_path)
    copy = tmp_path / "copy"
    shutil.copytree(results_dir, copy)
    shutil.rmtree(copy / "tables")
    gone = sorted((copy / "parts" / "series").glob("*.parquet"))[0]
    gone.unlink()
    err = cli_error(capsys, ["plot", str(copy), "--out", "figs"])
    assert_names(err, gone.name, "missing", "--resume")
    with pytest.raises(ResultStoreError, match="missing"):
        load_results(copy)["series"]
