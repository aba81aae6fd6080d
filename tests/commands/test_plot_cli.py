"""Every figure of `agglomeration plot`, made from a real small batch of the model and a real run.

The batch is the tiny baseline (120 firms, 4 quarters, 2 variants x 3 replicates, links kept); a Sobol
design is stored from Ishigami evaluations to draw the sensitivity chart.  Checks: every PNG and PDF exists
and is not empty, figures are labelled from the metric registry and say which runs they summarise,
colours are fixed per condition and sector, design points are never pooled, and bad paths are InputErrors.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from _fakes import NAMES, design_runs, sobol_design, write_store
from agglomeration.cli import main as cli_main
from agglomeration.experiment.runner import run_experiment
from agglomeration.report import figures, maps, style

ROOT = Path(__file__).resolve().parents[2]
EXPERIMENT = f"""
name = "analysis_tiny"
scenario = "{(ROOT / "scenarios" / "baseline.toml").as_posix()}"
replicates = 3
seed = 11
steps = 4
[overrides]
"firms.initial_count" = 120
burn_in = 10  # figures of any economy: no settled one needed
[[variants]]
name = "baseline"
[[variants]]
name = "deleg"
overrides = {{ "policy.delegation.connected" = 0.9 }}
[output]
series_every = 1
links = true
"""


def _nonempty(paths) -> None:
    for p in paths:
        p = Path(p)
        assert p.exists(), p
        assert p.stat().st_size > 1000, p


@pytest.fixture(scope="module")
def batch(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("batch")
    exp = d / "tiny.toml"
    exp.write_text(EXPERIMENT)
    summary = run_experiment(exp, d / "out", executor="serial", progress=False)
    assert summary.complete and summary.failed == 0
    return d / "out"


def test_plot_command_draws_every_batch_figure(batch, tmp_path, capsys):
    out = tmp_path / "figs"
    code = cli_main(
        ["plot", str(batch), "--out", str(out), "--metrics", "firms", "local_sourcing_share"]
    )
    assert code == 0
    stems = ["timeseries", "forest", "lq_heatmap", "region_map", "supplier_network"]
    _nonempty(out / f"{s}.{ext}" for s in stems for ext in ("png", "pdf"))
    assert capsys.readouterr().out.count("wrote") == 2 * len(stems)


def test_compare_on_the_real_batch_pairs_by_seed(batch, capsys):
    assert cli_main(["compare", str(batch), "--metrics", "firms", "connected_firm_share"]) == 0
    text = capsys.readouterr().out
    assert "| deleg" in text and "paired t" in text


def test_plot_command_on_a_single_run_directory(tmp_path, monkeypatch):
    run_dir = tmp_path / "run"
    scenario = ROOT / "scenarios" / "baseline.toml"
    assert cli_main(["run", str(scenario), "--steps", "3", "--set", "firms.initial_count=100",
                     "--set", "burn_in=10", "--out", str(run_dir), "--no-figures"]) == 0  # fmt: skip
    out = tmp_path / "figs"
    code = cli_main(["plot", str(run_dir), "--out", str(out), "--scenario", str(scenario),
                     "--metrics", "firms", "local_sourcing_share"])  # fmt: skip
    assert code == 0
    stems = ["timeseries", "lq_heatmap", "region_map", "supplier_network"]
    _nonempty(out / f"{s}.{ext}" for s in stems for ext in ("png", "pdf"))
    # --metrics chooses the panels of a run's time series too (it drew the overview regardless)
    import agglomeration.report.figureset as figureset
    from agglomeration.experiment.store import load_results

    panels = []
    real = figureset.timeseries_figure
    monkeypatch.setattr(
        figureset,
        "timeseries_figure",
        lambda *a, **kw: panels.append(list(kw["panels"])) or real(*a, **kw),
    )
    figureset.write_figures(load_results(run_dir), tmp_path / "f2", metrics=["firms"])
    assert panels == [["firms"]]
    assert cli_main(["plot", str(run_dir), "--out", str(tmp_path / "f3"), "--partial"]) == 2


def test_sensitivity_chart_from_a_sobol_store(tmp_path):
    entry, sample = sobol_design(64)
    points = pd.DataFrame(sample, columns=NAMES).rename_axis("point").reset_index()
    root = write_store(tmp_path / "sobol", design_runs(sample), design=entry, design_points=points)
    out = tmp_path / "figs"
    assert cli_main(["plot", str(root), "--out", str(out)]) == 0
    _nonempty([out / "sensitivity.png", out / "sensitivity.pdf"])


def test_morris_chart(tmp_path):
    table = pd.DataFrame(
        {
            "metric": ["firms"] * 3,
            "parameter": NAMES,
            "mu": [1.0, -2.0, 0.5],
            "mu_star": [1.0, 2.0, 0.7],
            "mu_star_conf": [0.2, 0.3, 0.1],
            "sigma": [0.5, 1.5, 0.2],
        }
    )
    _nonempty(style.save(figures.sensitivity_figure(table), tmp_path, "morris"))


def test_spread_circles_removes_overlap_and_keeps_separated_points():
    x = np.array([0.0, 0.1, 0.05, 5.0])
    y = np.array([0.0, 0.0, 0.05, 5.0])
    r = np.array([0.5, 0.5, 0.5, 0.5])
    pos = maps.spread_circles(x, y, r)
    d = np.hypot(*(pos[:, None, :] - pos[None, :, :]).transpose(2, 0, 1))
    np.fill_diagonal(d, np.inf)
    assert (d >= 0.999 * (r[:, None] + r[None, :])).all()
    assert np.allclose(pos[3], [5.0, 5.0], atol=1e-3)  # a lone circle does not move


def test_plot_rejects_directories_that_are_neither(tmp_path, capsys):
    assert cli_main(["plot", str(tmp_path)]) == 2
    assert "neither a batch result directory" in capsys.readouterr().err
    assert cli_main(["plot", str(tmp_path / "missing")]) == 2
