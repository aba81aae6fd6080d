"""`agglomeration batch` on the console: what it prints per run without a progress bar."""

from __future__ import annotations

from pathlib import Path

from agglomeration.cli import main

TINY = Path(__file__).resolve().parents[1] / "data" / "tiny" / "scenario.toml"


def test_no_progress_names_each_runs_variant_and_replicate(tmp_path, capsys):
    """Without a bar, each finished run is a line with its variant and replicate (the run id alone
    told a reader nothing)."""
    exp = tmp_path / "exp.toml"
    exp.write_text(
        f'name = "two"\nscenario = "{TINY.as_posix()}"\nreplicates = 2\nsteps = 1\n'
        '[[variants]]\nname = "baseline"\n'
        '[[variants]]\nname = "deleg"\noverrides = { "policy.delegation.A" = 0.9 }\n'
    )
    argv = ["batch", str(exp), "--out", str(tmp_path / "out"), "--executor", "serial"]
    assert main([*argv, "--no-progress"]) == 0
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.endswith(": ok")]
    assert len(lines) == 4, lines
    for variant in ("baseline", "deleg"):
        for r in (0, 1):
            assert any(f"variant {variant}, replicate {r}: ok" in line for line in lines), lines
