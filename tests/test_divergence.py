"""The runaway-economy guard (agglomeration.divergence): a settled economy passes, a runaway one stops
with a DivergedError (exit code 2) that names the setting known to cause it and where it was set."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from agglomeration import AgglomerationModel, load_scenario
from agglomeration.cli import main
from agglomeration.divergence import DIVERGED_MULTIPLE, check_economy, diverged
from agglomeration.errors import DivergedError, InputError

TINY = Path(__file__).resolve().parent / "data" / "tiny" / "scenario.toml"


def _model(seed: int = 1, **overrides) -> AgglomerationModel:
    return AgglomerationModel(
        load_scenario(TINY), replicate_seed=seed, burn_in=2, firms__initial_count=60, **overrides
    )


def test_a_settled_economy_passes_every_step():
    model = _model()
    for _ in range(3):
        model.step()
        assert diverged(model.state, model.world) is None


def test_runaway_spending_and_non_finite_revenues_are_caught():
    model = _model()
    state, world = model.state, model.world
    settled = state.expenditure.copy()
    ratio = float(np.sum(settled)) / (world.immobile_income.sum() + world.gateway_demand.sum())
    assert ratio < 10  # the settled economy is far from the threshold
    state.expenditure = settled * (1.5 * DIVERGED_MULTIPLE / ratio)
    assert "times the exogenous demand" in diverged(state, world)
    state.expenditure = settled
    state.market.revenue[0] = np.nan
    assert diverged(state, world) == "the firms' revenues are not finite"


def test_the_error_names_the_suspect_setting_and_where_it_was_set():
    model = _model(behaviour__accounts__fixed_cost_quantile=0.8)
    model.state.market.revenue[0] = np.inf
    with pytest.raises(DivergedError) as err:
        check_economy(model.state, model.world, model.spec)
    assert isinstance(err.value, InputError)  # exit code 2 on the command line
    assert err.value.field == "behaviour.accounts.fixed_cost_quantile"
    assert err.value.file is None  # set by an override, not by the scenario file
    assert "fixed_cost_quantile = 0.8" in str(err.value) and "0.8 with 2 diverged" in str(err.value)
    # no setting above its known range: no field named, the scenario file is
    plain = _model()
    plain.state.market.revenue[0] = np.inf
    with pytest.raises(DivergedError) as err:
        check_economy(plain.state, plain.world, plain.spec)
    assert err.value.field is None and err.value.names_file(TINY)


@pytest.mark.parametrize(
    "setting",
    [
        "behaviour.accounts.fixed_cost_quantile=0.95",
        "behaviour.sourcing.relationship_distance_elasticity=4",
    ],
)
def test_settings_that_always_diverge_are_refused_before_the_run(setting, tmp_path, capsys):
    code = main(["run", str(TINY), "--steps", "1", "--set", setting, "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2
    assert setting.split("=")[0] in err and "less than or equal to" in err
    assert "Traceback" not in err


def test_initialisation_and_every_step_run_the_guard(monkeypatch):
    import agglomeration.divergence as divergence

    model = _model()
    monkeypatch.setattr(divergence, "DIVERGED_MULTIPLE", 1e-9)  # every economy is "runaway" now
    with pytest.raises(DivergedError, match="diverged at step 1:"):
        model.step()
    with pytest.raises(DivergedError, match="diverged at initialisation:"):
        _model(seed=2)  # another seed: initialised afresh, not copied from a kept settled start
    monkeypatch.setattr(divergence, "DIVERGED_MULTIPLE", 1e4)
    burning = _model(seed=3)  # settled normally; then runaway from its first burn-in step on
    burning.state.burning_in, burning.state.t = True, 1
    monkeypatch.setattr(divergence, "DIVERGED_MULTIPLE", 1e-9)
    with pytest.raises(DivergedError, match="diverged in step 1 of the burn-in:"):
        divergence.check_economy(burning.state, burning.world, burning.spec)


def test_a_runaway_caused_by_a_set_value_names_the_option_as_typed(tmp_path, capsys):
    """Both settings high at once (each alone settles): the tiny world diverges at initialisation."""
    code = main(
        ["run", str(TINY), "--steps", "1", "--out", str(tmp_path / "o"), "--quiet",
         "--set", "behaviour.accounts.fixed_cost_quantile=0.9",
         "--set", "behaviour.sourcing.relationship_distance_elasticity=3"]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert err.startswith(
        "error: --set behaviour.accounts.fixed_cost_quantile=0.9: the economy diverged at "
        "initialisation"
    ), err
    assert not (tmp_path / "o").exists()
