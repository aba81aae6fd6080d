"""AgglomerationModel: reproducibility, accounting identities, comparative statics, baseline plausibility,
Mesa integration.  Small hand-built worlds (tests/_toy.py) unless a test needs the Chongqing baseline."""

from __future__ import annotations

import time
from pathlib import Path

import mesa
import numpy as np
import pandas as pd
import pytest

from _toy import toy_scenario, toy_world
from agglomeration import observe
from agglomeration.errors import InputError
from agglomeration.model import AgglomerationModel

BASELINE = Path(__file__).resolve().parents[1] / "scenarios" / "baseline.toml"


def _toy_model(seed=1, world=None, **sections):
    return AgglomerationModel(
        toy_scenario(**sections), replicate_seed=seed, world=world or toy_world()
    )


# ------------------------------------------------------------------------------------ reproducibility
def test_a_run_ending_off_the_series_grid_records_its_last_step_once():
    """run() records the last step when series_every skips it; a second run() (or run(0)) recorded it
    again: the series had step 6 twice."""
    m = _toy_model(output={"series_every": 4})
    m.run(6)
    m.run(0)
    assert list(m.series_frame()["step"]) == [0, 4, 6]
    m.run(3)
    assert list(m.series_frame()["step"]) == [0, 4, 6, 8, 9]


def test_same_seed_is_bit_identical_and_different_seeds_differ():
    runs = []
    for seed in (5, 5, 6):
        m = _toy_model(seed)
        m.run(12)
        runs.append((m.series_frame(), m.firms_frame(), m.links_frame()))
    for a, b in zip(runs[0], runs[1]):
        pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert not runs[0][1].equals(runs[2][1])
    assert not runs[0][0]["firms"].equals(runs[2][0]["firms"])


# ---------------------------------------------------------------------------- accounting identities
def test_accounting_identities_hold_every_step_and_nothing_is_nan_or_negative():
    m = _toy_model(2)
    for _ in range(15):
        m.step()
        gaps = m.flow_balance()
        assert gaps["intermediate_gap"] < 1e-10, gaps
        assert gaps["expenditure_gap"] < 1e-10, gaps
        f = m.firms_frame()
        num = f.select_dtypes("number")
        assert np.isfinite(num.to_numpy()).all()
        for col in (
            "price",
            "output",
            "final_sales",
            "employment",
            "land_use",
            "input_cost",
            "age",
        ):
            assert (f[col] >= 0).all(), col
        # output = final sales + sales to buyers; input cost = purchases through the links
        links = m.links_frame()
        assert (links["value"] >= 0).all() and (links["delivered_cost"] > 0).all()
        s = m.series_frame().iloc[-1]
        assert s["firms"] == m.firms.n_alive == len(f)
        assert s["employment"] == pytest.approx(f["employment"].sum())


def test_every_needed_input_has_a_supplier_after_each_step():
    m = _toy_model(3, behaviour={"exit": {"after_losses": 2}})
    for _ in range(10):
        m.step()
        pairs, _ = observe.current_pairs(m.state, m.world)
        assert np.all(pairs.sup != np.iinfo(np.int32).min)
        dom = pairs.sup[pairs.sup >= 0]
        assert np.all(m.firms.alive[dom])  # no link to an exited firm


# ------------------------------------------------------------------------------- comparative statics
def _connected_share(world, seeds=range(4), steps=30):
    shares = []
    for seed in seeds:
        m = _toy_model(seed, world=world)
        m.run(steps)
        r = m.firms.region[m.firms.alive_rows()]
        shares.append(np.mean(r == 1))
    return np.array(shares)


def test_lower_trade_costs_towards_a_region_raise_its_firm_share():
    """Paired by seed (seeds 0-3, 30 steps): measured +12.7 share points (SE 4.6), every seed positive."""
    cheap = _connected_share(toy_world(connected_tau=1.05))
    dear = _connected_share(toy_world(connected_tau=1.6))
    d = cheap - dear
    assert d.mean() > 2.0 * d.std(ddof=1) / np.sqrt(len(d)), d  # beyond seed noise
    assert np.all(d > 0), d


def test_higher_delegation_raises_a_connected_areas_share_of_entrants():
    diffs = []
    for seed in range(8):
        share = []
        for d in (0.0, 1.0):
            m = _toy_model(
                seed, policy={"delegation": {"C": d}}, behaviour={"entry": {"floor": 10.0}}
            )
            m.run(10)
            share.append(m.state.entries_by_region[1] / m.state.entries_by_region.sum())
        diffs.append(share[1] - share[0])
    # measured (seeds 0-7, results revision 1): +7.9 share points (SE 2.5), 7 of 8 seeds positive
    # (seeds 0-4 on revision 0: +8.2, SE 2.5, every seed positive; on revision 1 seed 4 is -3.4)
    d = np.array(diffs)
    assert d.mean() > 3.0 * d.std(ddof=1) / np.sqrt(len(d)), d  # beyond seed noise


def test_closing_a_link_lowers_network_sourcing_of_the_region_that_depended_on_it():
    """The connected area C hosts only assemblers and buys its inputs from the FTZ area F; cutting the
    F-C link pushes it to suppliers outside the FTZ + connected network (the other region, imports), so
    its network sourcing share falls, while F (which did not depend on the link) is unaffected."""
    weights = np.array([[3, 3, 3], [0, 0, 1], [1, 1, 1]], float)

    def shares(world, seed):
        m = _toy_model(seed, world=world, behaviour={"entry": {"enabled": False}})
        m.run(6)
        links = m.links_frame()
        out = []
        for region in ("C", "F"):
            b = links[links["buyer_region"] == region]
            inside = b["supplier_region"].isin(["F", "C"]) & (b["supplier"] >= 0)
            out.append(b.loc[inside, "value"].sum() / b["value"].sum())
        return out

    before = np.array([shares(toy_world(initial_weights=weights), s) for s in range(3)])
    after = np.array(
        [shares(toy_world(initial_weights=weights, closed=((0, 1),)), s) for s in range(3)]
    )
    assert after[:, 0].mean() < before[:, 0].mean() - 0.2  # C depended on the link
    assert abs(after[:, 1].mean() - before[:, 1].mean()) < 0.1  # F did not


def test_submodels_can_be_switched_off():
    m = _toy_model(
        4,
        behaviour={
            "entry": {"enabled": False},
            "exit": {"enabled": False},
            "relocation": {"enabled": False},
            "learning": {"enabled": False},
            "sourcing": {"enabled": False},
            "factor_prices": {"enabled": False},
        },
        policy={"enabled": False},
    )
    z0 = m.firms.log_productivity.copy()
    reg0 = m.firms.region.copy()
    sup0 = m.firms.supplier.copy()
    w0 = m.state.wage.copy()
    m.run(6)
    assert m.firms.n_alive == 300
    np.testing.assert_array_equal(m.firms.log_productivity, z0)
    np.testing.assert_array_equal(m.firms.region, reg0)
    np.testing.assert_array_equal(m.firms.supplier, sup0)
    np.testing.assert_array_equal(m.state.wage, w0)
    assert m.state.policy.adopted.sum() == 0


# -------------------------------------------------------------------------------------- overrides
def test_overrides_use_double_underscore_nesting_and_bad_ones_raise_input_error():
    m = AgglomerationModel(
        toy_scenario(), replicate_seed=1, world=toy_world(), firms__initial_count=120
    )
    assert m.firms.n_alive == 120
    m = AgglomerationModel(
        toy_scenario(), replicate_seed=1, world=toy_world(), policy__delegation__C=0.9
    )
    assert m.state.policy.delegation[1] == pytest.approx(0.9)
    with pytest.raises(InputError):
        AgglomerationModel(toy_scenario(), world=toy_world(), firms__initial_count=-5)
    with pytest.raises(InputError, match=r"policy\.delegation\.ZZ"):
        AgglomerationModel(toy_scenario(policy={"delegation": {"ZZ": 0.5}}), world=toy_world())


# ------------------------------------------------------------------------------------ baseline
@pytest.fixture(scope="module")
def baseline80():
    """Three replicates of the Chongqing baseline over 80 quarters: (model, initial region table)."""
    runs = []
    for seed in (1, 2, 3):
        m = AgglomerationModel(str(BASELINE), replicate_seed=seed)
        n0 = m.region_table()
        m.run(80)
        runs.append((m, n0))
    return runs


def _chain_output(table: pd.DataFrame, sectors) -> pd.Series:
    return table[table["sector"].isin(set(sectors))].groupby("region")["output"].sum()


def test_baseline_plausible_over_80_steps(baseline80):
    """Firm numbers stay within 0.5x-3x and every stage of every chain keeps firms."""
    w = baseline80[0][0].world
    for m, _ in baseline80:
        ratio = m.firms.n_alive / m.state.initial_firms
        assert 0.5 <= ratio <= 3.0, ratio
    for name, idx in w.chains.items():
        stages = list(w.sector_ids[list(idx)])
        for m, _ in baseline80:
            t1 = m.region_table()
            by_sector = t1[t1["sector"].isin(stages)].groupby("sector")["firms"].sum()
            assert (by_sector.reindex(stages).fillna(0) > 0).all(), (name, by_sector)


@pytest.mark.xfail(
    reason="known limitation (docs/ODD.md section 8): the distribution backed out in the burn-in is "
    "not the data's within regions; over seeds 1-8 the largest final-stage cluster after 80 quarters "
    "is an FTZ area for the laptop chain in 5 of 8 seeds (the High-tech Zone next to Xiyong in 3), "
    "for the automotive chain in 4 and for the equipment chain in 5 (in seeds 1-3: 1, 3 and 3 of 3), "
    "while the FTZ areas' share of each chain's output holds on average (tested apart, below)",
    strict=True,
)
def test_ftz_areas_stay_the_largest_clusters_of_their_chains(baseline80):
    """Within Chongqing the largest final-stage cluster of every chain is an FTZ area in most
    replicates (Chengdu, the comparison region outside the municipality, is left out)."""
    w = baseline80[0][0].world
    ftz = list(w.region_ids[w.region_type == "ftz"])
    for name, idx in w.chains.items():
        final = list(w.sector_ids[list(idx)])[-1]
        leaders = [
            _chain_output(m.region_table(), [final]).drop(["CD"], errors="ignore").idxmax()
            for m, _ in baseline80
        ]
        assert sum(r in ftz for r in leaders) >= 2, (name, leaders)


def test_the_ftz_areas_share_of_chain_output_does_not_shrink(baseline80):
    """The FTZ areas' share of the municipality's output of each chain (all its stages) holds over 80
    quarters within 0.05, on average over seeds 1-3 (laptop 0.33 -> 0.35, automotive 0.55 -> 0.64,
    equipment 0.41 -> 0.53; over seeds 1-8 0.43 -> 0.45, 0.44 -> 0.45, 0.35 -> 0.41, with a spread
    between seeds: docs/ODD.md section 8).  It was a strict expected failure until the import-price
    fixes of 2026-12-07 (automotive 0.32 -> 0.20 in these seeds)."""
    w = baseline80[0][0].world
    ftz = list(w.region_ids[w.region_type == "ftz"])
    assert w.chains and len(baseline80) >= 2
    for name, idx in w.chains.items():
        stages = list(w.sector_ids[list(idx)])
        share0, share1 = [], []
        for m, n0 in baseline80:
            out0 = _chain_output(n0, stages).drop(["CD"], errors="ignore")
            out1 = _chain_output(m.region_table(), stages).drop(["CD"], errors="ignore")
            share0.append(out0[ftz].sum() / out0.sum())
            share1.append(out1[ftz].sum() / out1.sum())
        assert np.mean(share1) >= np.mean(share0) - 0.05, (name, share0, share1)


def test_the_observed_run_starts_settled():
    """The burn-in leaves a state the observed run does not leave at once: the share of firms that
    change region in the first ten observed quarters stays well below the 0.09-0.13 of the start
    artefact of earlier releases (the burn-in reset wages and rents to the data at its end, docs/ODD.md
    section 8): mean over seeds 1-3 below 0.07, about 0.045 now (docs/VALIDATION.md section 11 compares
    the 20-quarter move with the moves of later windows), and the wages the run starts from are the
    settled ones, near the data's."""
    from agglomeration.validation import region_shares, total_variation

    moved, gaps = [], []
    for seed in (1, 2, 3):
        m = AgglomerationModel(str(BASELINE), replicate_seed=seed)
        s0 = region_shares(m)
        gaps.append(np.abs(np.log(m.state.wage / m.world.base_wage)))
        m.run(10)
        moved.append(total_variation(region_shares(m), s0))
    assert np.mean(moved) < 0.07, moved
    gaps = np.concatenate(gaps)
    assert 0 < gaps.mean() < 0.12 and gaps.max() < 0.3, gaps


def test_baseline_accounts_balance(baseline80):
    m, _ = baseline80[0]
    gaps = m.flow_balance()
    assert gaps["intermediate_gap"] < 1e-9 and gaps["expenditure_gap"] < 1e-9


def test_default_baseline_runs_in_seconds():
    t0 = time.perf_counter()
    m = AgglomerationModel(str(BASELINE), replicate_seed=1)
    m.run(40)
    elapsed = time.perf_counter() - t0
    assert m.firms.n_alive > 1000
    assert elapsed < 30.0, elapsed  # typically 2-5 s on a laptop core


# ------------------------------------------------------------------------------------ mesa tools
def test_runs_under_mesa_batch_run():
    results = mesa.batch_run(
        AgglomerationModel,
        parameters={
            "scenario": [str(BASELINE)],
            "replicate_seed": [1, 2],
            "firms__initial_count": 200,
        },
        max_steps=3,
        number_processes=1,
        data_collection_period=1,
        display_progress=False,
    )
    df = pd.DataFrame(results)
    assert set(df["replicate_seed"]) == {1, 2}
    assert {"firms", "local_sourcing_share", "herfindahl_regions"} <= set(df.columns)
    last = df.sort_values("Step").groupby("replicate_seed").tail(1)
    assert (last["firms"] > 0).all()
    assert last["firms"].nunique() == 2 or last["output"].nunique() == 2


def test_the_hazard_exit_rule_draws_from_the_model_stream_reproducibly():
    """behaviour.exit.loss_rule = "hazard" changes the run (its draws come from the model's generator)
    and the same seed repeats it exactly; the count rule draws nothing (the pinned values below)."""
    kw = {"firms__initial_count": 300, "behaviour__exit__loss_rule": "hazard"}
    runs = []
    for extra in (kw, kw, {"firms__initial_count": 300}):
        m = AgglomerationModel(BASELINE, replicate_seed=4, **extra)
        m.run(12)
        runs.append(m.series_frame()[["firms", "exits", "output"]].to_numpy())
    np.testing.assert_array_equal(runs[0], runs[1])
    assert not np.array_equal(runs[0], runs[2])


# ------------------------------------------------------------------------------ pinned results
#: baseline, 40 steps, replicate seeds 1-5: (firms, output [CNY m/step], supplier switches in the
#: last step).  A change here is a change of results: say so in CHANGELOG.md when you update them.
PINNED_REVISION = 1
PINNED = {
    1: (3281.0, 1509472.6667575545, 487.0),
    2: (3660.0, 1396571.4085080994, 490.0),
    3: (3171.0, 1412358.5476361313, 416.0),
    4: (3362.0, 1454552.9505374716, 443.0),
    5: (3496.0, 1509219.5423953761, 505.0),
}


@pytest.mark.parametrize("seed", sorted(PINNED))
def test_baseline_results_are_pinned(seed):
    from agglomeration import MODEL_REVISION

    # pins of another model revision: raise agglomeration.MODEL_REVISION with the pins (stored
    # results of the old revision are then not resumed, docs/ARCHITECTURE.md "When results change")
    assert MODEL_REVISION == PINNED_REVISION
    m = AgglomerationModel(BASELINE, replicate_seed=seed)
    m.run(40)
    h = m.headline_metrics()
    firms, output, switches = PINNED[seed]
    # counts exactly; output to 1e-12: numpy's vectorised kernels round the last bits differently on
    # different CPUs (seen: 2 ulp between two x86-64 machines), identical on one machine
    assert (h["firms"], h["supplier_switches"]) == (firms, switches)
    assert h["output"] == pytest.approx(output, rel=1e-12, abs=0)


@pytest.mark.parametrize(
    "steps, share, hold, reset",
    [(12, 0.0, 0, 6), (12, 0.25, 3, 6), (12, 0.5, 6, 9), (20, 0.45, 9, 14), (2, 0.25, 0, 0)],
)
def test_the_burn_in_runs_its_last_uncontrolled_share_with_constant_fixed_costs_and_shifters(
    monkeypatch, steps, share, hold, reset
):
    """``behaviour.accounts.uncontrolled_share`` of a ``steps``-quarter burn-in: the controller moves
    the fixed costs and location shifters in every step but the last ``hold``; wages and rents go back
    to the data half-way through the burn-in, or half-way through the controlled phase when that would
    leave the controller less than a quarter of its phase (``reset`` steps before the end; a 2-quarter
    burn-in keeps the old rule: the reset falls on its last step)."""
    from agglomeration import initialisation, settled_starts
    from agglomeration.behaviour import factor_prices
    from agglomeration.scenario import load_scenario

    monkeypatch.setattr(settled_starts, "KEPT", 0)
    moved, anchored = [], []
    anchor = factor_prices.anchor_to_data
    monkeypatch.setattr(
        factor_prices, "anchor_to_data", lambda *a: (anchored.append(len(moved)), anchor(*a))
    )
    update = initialisation.CountController.update

    def spy(self, state, steps_left):
        before = (state.fixed_cost.copy(), state.location_shift.copy())
        update(self, state, steps_left)
        moved.append(
            not (
                np.array_equal(before[0], state.fixed_cost)
                and np.array_equal(before[1], state.location_shift)
            )
        )

    monkeypatch.setattr(initialisation.CountController, "update", spy)
    tiny = Path(__file__).resolve().parent / "data" / "tiny" / "scenario.toml"
    over = {
        "burn_in": steps,
        "firms.initial_count": 200,
        "behaviour.accounts.uncontrolled_share": share,
    }
    AgglomerationModel(load_scenario(tiny, over), replicate_seed=1)
    assert len(moved) == steps
    assert not any(moved[steps - hold :]) and all(moved[: steps - hold]), moved
    assert anchored == [steps - reset], anchored  # after the controller's update of that step


def test_a_longer_controlled_burn_in_starts_nearer_the_data_but_moves_more_once_released():
    """Comparative statics of ``behaviour.accounts.uncontrolled_share``, paired by seed (1,000 firms,
    seeds 1-4): controlled to the end (0) the observed run starts nearer the data's distribution over
    regions than with half the burn-in uncontrolled (0.5), in every seed (measured by +0.10 to +0.23 of
    the firms), and its first 12 quarters then move more between regions (by +0.11 to +0.21: the data's
    distribution is not a stable state of the model, docs/ODD.md, Known limitations)."""
    from agglomeration.scenario import load_scenario
    from agglomeration.validation import region_shares, total_variation

    base = {"firms.initial_count": 1000}
    closer, moved = [], []
    for seed in (1, 2, 3, 4):
        initial = load_scenario(BASELINE, {**base, "burn_in": 0})
        data = region_shares(AgglomerationModel(initial, replicate_seed=seed))
        gap, move = [], []
        for share in (0.0, 0.5):
            over = {**base, "behaviour.accounts.uncontrolled_share": share}
            m = AgglomerationModel(load_scenario(BASELINE, over), replicate_seed=seed)
            start = region_shares(m)
            m.run(12)
            gap.append(total_variation(data, start))
            move.append(total_variation(start, region_shares(m)))
        closer.append(gap[1] - gap[0])
        moved.append(move[0] - move[1])
    assert min(closer) > 0.03, closer
    assert min(moved) > 0.03, moved
