"""``agglomeration validate``: exit codes, one-line summaries, clear messages, nothing written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from agglomeration import cli

ROOT = Path(__file__).resolve().parents[2]
TINY = Path(__file__).resolve().parents[1] / "data" / "tiny"


def run(argv: list[str], capsys) -> tuple[int, str, str]:
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def listing(d: Path) -> dict[str, float]:
    return {str(p): p.stat().st_mtime for p in d.rglob("*")}


def test_valid_files_exit_0_with_one_line_each(tiny, capsys):
    code, out, err = run(["validate", str(ROOT / "scenarios" / "baseline.toml"), str(tiny)], capsys)
    assert code == 0, err
    lines = out.strip().splitlines()
    assert len(lines) == 2
    assert "'baseline'" in lines[0] and "15 regions" in lines[0] and "40 steps" in lines[0]
    assert "links" in lines[0] and "sectors" in lines[0]
    assert "'tiny'" in lines[1] and "3 regions" in lines[1] and "6 links" in lines[1]


@pytest.mark.parametrize(
    ("file", "old", "new", "expect"),
    [
        ("scenario.toml", "steps = 5", "stepz = 5", "did you mean 'steps'"),
        ("scenario.toml", "steps = 5", 'steps = "five"', "steps"),
        ("scenario.toml", "seed = 1", "seed = -1", "seed"),
        ("scenario.toml", "seed = 1", "seed = = 1", "line 4"),
        ("regions.csv", "C,Gamma", "B,Gamma", "duplicate region_id 'B'"),
        ("io.csv", "bulk,0.1,0.3,0.0", "bulk,0.1,0.95,0.0", "expected < 1"),
        ("chains.csv", "gadgets,2,gadget", "gadgets,2,widget", "unknown sector 'widget'"),
        ("modes.csv", "road,1.0,50", "road,-1.0,50", "tariff"),
    ],
)
def test_bad_input_exits_2_with_a_message_and_nothing_written(tiny, capsys, file, old, new, expect):
    p = tiny.parent / file
    p.write_text(p.read_text().replace(old, new, 1))
    before = listing(tiny.parent)
    code, _out, err = run(["validate", str(tiny)], capsys)
    assert code == 2
    assert expect in err
    assert "Traceback" not in err
    assert err.startswith("error: ")
    assert listing(tiny.parent) == before


def test_missing_file_exit_2(tmp_path, capsys):
    code, _, err = run(["validate", str(tmp_path / "nope.toml")], capsys)
    assert code == 2 and "not found" in err


def test_experiment_files_validate_their_variants(tmp_path, capsys):
    base = ROOT / "scenarios" / "baseline.toml"
    good = tmp_path / "exp.toml"
    good.write_text(
        f'name = "t"\nscenario = "{base.as_posix()}"\nreplicates = 2\n'
        '[[variants]]\nname = "a"\noverrides = { "policy.replication_rate" = 0.2 }\n'
        '[[variants]]\nname = "b"\noverrides = { "policy.replication_rate" = 0.3 }\n'
    )
    code, out, err = run(["validate", str(good)], capsys)
    assert code == 0, err
    assert "experiment 't'" in out and "2 variant(s)" in out
    bad = tmp_path / "bad.toml"
    bad.write_text(
        good.read_text().replace('policy.replication_rate" = 0.3', 'policy.replication_rat" = 0.3')
    )
    code, out, err = run(["validate", str(bad)], capsys)
    assert code == 2
    assert "variant 'b'" in err and "did you mean 'replication_rate'" in err


def test_console_script_subprocess(tiny):
    proc = subprocess.run(
        [sys.executable, "-m", "agglomeration.cli", "validate", str(tiny)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "ok: scenario 'tiny'" in proc.stdout


def test_every_shipped_input_file_validates(capsys):
    """Every scenario, experiment and calibration file in the repository passes ``validate`` (a
    generated experiment once shipped two variants that resolved to the same scenario)."""
    files = sorted(
        str(p)
        for top in ("scenarios", "experiments", "calibration")
        for p in (ROOT / top).rglob("*.toml")
    )
    assert len(files) >= 20
    code, out, err = run(["validate", *files], capsys)
    assert code == 0, err
    assert len(out.strip().splitlines()) == len(files)


def _lognormal_design(tmp_path: Path, mean_log: float) -> Path:
    exp = tmp_path / "lognormal.toml"
    exp.write_text(
        f'name = "lognormal"\nscenario = "{(ROOT / "scenarios" / "baseline.toml").as_posix()}"\n'
        'replicates = 1\nseed = 1\nsteps = 2\n[design]\nkind = "lhs"\nsamples = 6\n'
        '[design.parameters."logistics.tariff_multiplier.rail"]\n'
        f'bounds = [{mean_log}, 0.1]\ndistribution = "lognormal"\n'
    )
    return exp


def test_a_lognormal_design_is_checked_at_its_sampled_values_not_at_its_log_mean(tmp_path, capsys):
    """``bounds = [mean, sd]`` of a lognormal are of the log: a multiplier exp(N(0, 0.1)) (about
    0.8-1.2) is valid although its log-mean 0 lies outside the lever's (0, 100]; one centred at
    exp(6) = 403 is not, and the error names the design parameter and a sampled value."""
    code, out, err = run(["validate", str(_lognormal_design(tmp_path, 0.0))], capsys)
    assert code == 0, err
    assert "6 run(s)" in out
    code, out, err = run(["validate", str(_lognormal_design(tmp_path, 6.0))], capsys)
    assert code == 2 and "Traceback" not in err
    assert 'design.parameters."logistics.tariff_multiplier.rail"' in err and "(0, 100]" in err


def test_toml_files_saved_with_a_utf8_byte_order_mark_are_read(tmp_path, capsys):
    """Editors on Windows save UTF-8 with a byte-order mark; the CSVs were read with it, the scenario,
    experiment and targets files were refused as malformed TOML at line 1, column 1."""
    from agglomeration.calibration.targets import _read_toml

    base = ROOT / "scenarios" / "baseline.toml"
    scenario = tmp_path / "bom.toml"
    scenario.write_text(f'\ufeffextends = "{base.as_posix()}"\nname = "bom"\n', encoding="utf-8")
    experiment = tmp_path / "bom_experiment.toml"
    experiment.write_text(
        f'\ufeffname = "bom"\nscenario = "{scenario.as_posix()}"\nreplicates = 2\nseed = 1\n',
        encoding="utf-8",
    )
    code, out, err = run(["validate", str(scenario), str(experiment)], capsys)
    assert code == 0, err
    assert out.count(": ok:") == 2
    targets = tmp_path / "targets.toml"
    text = (ROOT / "calibration" / "chongqing_2021.toml").read_text(encoding="utf-8")
    targets.write_text("\ufeff" + text, encoding="utf-8")
    assert _read_toml(targets) == _read_toml(ROOT / "calibration" / "chongqing_2021.toml")
