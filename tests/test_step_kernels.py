"""Compiled kernels of the firm table and the learning submodel against straightforward numpy references.

Each reference below is the numpy implementation the kernel replaced (same equations, same operation
order); the kernels must reproduce them on random inputs (to 1e-12, in practice bit for bit), consume the
same random draws, and reject out-of-range indices with ValueError instead of reading stray memory.
"""

from __future__ import annotations

import numpy as np
import pytest

from agglomeration.behaviour import _learning_kernels, entry, learning, relocation
from agglomeration.behaviour import exit as exit_mod
from agglomeration.firms import NONE, FirmTable


# ----------------------------------------------------------------------------------- references
def _learn_reference(
    log_z, rows, sector, region, emp_rs, rng, *, drift, localisation, jacobs, shock_sd,
    size=None, shock_size_elasticity=0.0, mean_reversion=0.0, frontier=0.0,
):  # fmt: skip
    """The numpy law of motion of behaviour/learning.py before the kernel."""
    loc, div = learning.spillover_terms(emp_rs)
    r = region[rows]
    s = sector[rows]
    d = drift + localisation * loc[r, s] + jacobs * div[r]
    if mean_reversion > 0:
        f = np.asarray(frontier, dtype=float)
        f_i = f[s] if f.ndim else f
        d = d - mean_reversion * (log_z[rows] - f_i)
    if shock_sd > 0:
        eps = rng.standard_normal(len(rows))
        if shock_size_elasticity != 0.0:
            eps = eps * learning.shock_scale(np.asarray(size)[rows], s, shock_size_elasticity)
        d = d + shock_sd * eps
    log_z[rows] += d


def _pack(sup: np.ndarray) -> None:
    """Move every pair's filled slots to the front (order kept), NONE after them (in place)."""
    for i in range(sup.shape[0]):
        for k in range(sup.shape[1]):
            codes = [c for c in sup[i, k] if c != NONE]
            sup[i, k] = codes + [NONE] * (sup.shape[2] - len(codes))


def _kill_reference(sup: np.ndarray, rows: np.ndarray) -> None:
    dead = np.zeros(len(sup), dtype=bool)
    dead[rows] = True
    hit = (sup >= 0) & dead[np.maximum(sup, 0)]
    sup[hit] = NONE
    sup[rows] = NONE
    _pack(sup)


def _random_table(seed: int, n: int = 400, n_sectors: int = 4, dead_share: float = 0.0):
    """A table with random columns and random supplier codes in two slots per input (domestic live
    rows, imports, NONE), packed."""
    g = np.random.default_rng(seed)
    t = FirmTable(n_sectors, capacity=16, slots=2)
    t.add(
        g.integers(0, n_sectors, n),
        g.integers(0, 5, n),
        g.standard_normal(n),
        g.random(n),
    )
    for name, col in FirmTable.columns().items():
        dt = col.dtype
        if name not in ("fid", "alive", "sector", "region"):
            getattr(t, name)[:] = (g.random(n) * 100).astype(dt)
    codes = g.integers(0, n, (n, n_sectors, 2)).astype(np.int32)
    kind = g.random((n, n_sectors, 2))
    codes[kind < 0.2] = -1 - g.integers(0, 3, int((kind < 0.2).sum()))
    codes[(kind >= 0.2) & (kind < 0.4)] = NONE
    _pack(codes)
    t.supplier[:] = codes
    if dead_share:
        t.kill(np.flatnonzero(g.random(n) < dead_share))
    return t


def _snapshot(t: FirmTable) -> dict[str, np.ndarray]:
    out = {name: getattr(t, name).copy() for name in FirmTable.columns()}
    out["supplier"] = t.supplier.copy()
    out["row_of_fid"] = t.row_of_fid[: t.next_fid].copy()
    return out


# ------------------------------------------------------------------------------------- learning
def _learning_inputs(seed: int, n: int = 3000, R: int = 4, S: int = 3):
    g = np.random.default_rng(seed)
    sector = g.integers(0, S, n).astype(np.int32)
    region = g.integers(0, R, n).astype(np.int32)
    size = np.exp(2.0 + 1.5 * g.standard_normal(n))
    size[g.random(n) < 0.05] = 0.0  # entrants without employment yet
    rows = np.flatnonzero(g.random(n) < 0.8)
    emp = g.random((R, S)) * 50.0
    emp[0, 1] = 0.0  # a cell without the sector
    return g.standard_normal(n), rows, sector, region, size, emp


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize(
    "kw",
    [
        {"shock_sd": 0.1, "shock_size_elasticity": 0.5, "mean_reversion": 0.04},
        {"shock_sd": 0.1, "shock_size_elasticity": 0.2, "mean_reversion": 0.0},
        {"shock_sd": 0.0, "shock_size_elasticity": 0.5, "mean_reversion": 0.3},
        {"shock_sd": 0.07, "shock_size_elasticity": 0.0, "mean_reversion": 0.0},
    ],
)
def test_learn_kernel_equals_the_numpy_law_of_motion(seed, kw):
    z, rows, sector, region, size, emp = _learning_inputs(seed)
    frontier = np.array([0.1, -0.2, 0.3]) if seed == 1 else 0.05
    common = dict(drift=0.002, localisation=0.03, jacobs=0.01, size=size, frontier=frontier, **kw)
    z_ref, z_new = z.copy(), z.copy()
    rng_ref = np.random.default_rng(seed)
    rng_new = np.random.default_rng(seed)
    _learn_reference(z_ref, rows, sector, region, emp, rng_ref, **common)
    learning.learn(z_new, rows, sector, region, emp, rng_new, **common)
    np.testing.assert_allclose(z_new, z_ref, rtol=1e-12, atol=1e-12)
    untouched = np.setdiff1d(np.arange(len(z)), rows)
    np.testing.assert_array_equal(z_new[untouched], z[untouched])
    # the same draws were consumed: the two streams continue identically
    assert rng_new.random() == rng_ref.random()
    assert np.any(z_new != z)  # the test exercised an update


def test_size_ratio_kernel_matches_shock_scale():
    _, rows, sector, _, size, _ = _learning_inputs(5)
    lo, hi = learning.SIZE_RATIO_BOUNDS
    ratio = _learning_kernels.clipped_size_ratio(rows, sector, size, 3, lo, hi)
    assert np.all((ratio >= lo) & (ratio <= hi))
    for beta in (0.15, 0.5):
        np.testing.assert_allclose(
            ratio**-beta, learning.shock_scale(size[rows], sector[rows], beta), rtol=1e-12
        )


def test_learn_with_no_rows_draws_nothing():
    z = np.ones(3)
    rng = np.random.default_rng(0)
    state = rng.bit_generator.state
    learning.learn(
        z, np.zeros(0, dtype=np.int64), np.zeros(3, int), np.zeros(3, int), np.ones((1, 1)), rng,
        drift=0.1, localisation=0.1, jacobs=0.1, shock_sd=0.1, size=np.ones(3),
        shock_size_elasticity=0.5,
    )  # fmt: skip
    assert rng.bit_generator.state == state
    np.testing.assert_array_equal(z, 1.0)


@pytest.mark.parametrize(
    "bad",
    [
        {"sector": np.array([0, 3, 0])},  # sector 3 of 2
        {"region": np.array([0, -1, 0])},
        {"rows": np.array([0, 5])},
        {"rows": np.array([0.0, 1.0])},
        {"frontier": np.array([0.0, 1.0, 2.0])},  # 3 values for 2 sectors
        {"size": None},
    ],
)
def test_learn_rejects_invalid_indices_and_shapes(bad):
    args = {
        "rows": np.arange(3),
        "sector": np.array([0, 1, 1]),
        "region": np.zeros(3, int),
        "frontier": 0.0,
        "size": np.ones(3),
    }
    args.update(bad)
    with pytest.raises(ValueError):
        learning.learn(
            np.zeros(3), args["rows"], args["sector"], args["region"], np.ones((1, 2)),
            np.random.default_rng(0), drift=0.0, localisation=0.1, jacobs=0.1, shock_sd=0.1,
            size=args["size"], shock_size_elasticity=0.5, mean_reversion=0.1,
            frontier=args["frontier"],
        )  # fmt: skip


# ---------------------------------------------------------------------------------- firm table
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_kill_kernel_equals_the_numpy_reference(seed):
    t = _random_table(seed, dead_share=0.1)
    g = np.random.default_rng(100 + seed)
    gone = g.choice(t.alive_rows(), 40, replace=True)  # duplicates allowed
    expected = t.supplier.copy()
    _kill_reference(expected, gone)
    alive = t.alive.copy()
    alive[gone] = False
    fids = t.fid[gone]
    t.kill(gone)
    np.testing.assert_array_equal(t.supplier, expected)
    np.testing.assert_array_equal(t.alive, alive)
    assert np.all(t.row_of_fid[fids] == -1)
    # invariant: no link points at a dead row
    dom = t.supplier >= 0
    assert np.all(t.alive[t.supplier[dom]])


def test_kill_rejects_rows_out_of_range():
    t = _random_table(0, n=20)
    before = _snapshot(t)
    for bad in (np.array([20]), np.array([-1]), np.array([0.5])):
        with pytest.raises(ValueError):
            t.kill(bad)
    after = _snapshot(t)
    for k in before:
        np.testing.assert_array_equal(after[k], before[k])
    t.kill(np.zeros(0, dtype=np.int64))  # no rows: no change
    assert t.n_alive == 20


def _compact_reference(t: FirmTable) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The numpy compaction before the kernels, on copies of the columns."""
    keep = np.flatnonzero(t.alive)
    old_to_new = np.full(t.n, -1, dtype=np.int64)
    old_to_new[keep] = np.arange(len(keep))
    out = {name: getattr(t, name)[keep].copy() for name in FirmTable.columns()}
    sup = t.supplier[keep]
    dom = sup >= 0
    sup[dom] = old_to_new[sup[dom]].astype(np.int32)
    sup[dom & (sup < 0)] = NONE
    _pack(sup)
    out["supplier"] = sup
    return out, old_to_new


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_compact_kernel_equals_the_numpy_reference(seed):
    t = _random_table(seed, dead_share=0.3)
    # a few links to rows that are dead without having been killed through kill(): dropped to NONE
    t._data["alive"][[3, 7]] = False
    t._live = None
    expected, expected_map = _compact_reference(t)
    n_before, cap = t.n, t.capacity
    old_to_new = t.compact()
    np.testing.assert_array_equal(old_to_new, expected_map)
    m = len(expected["fid"])
    assert t.n == m == t.n_alive
    for name in FirmTable.columns():
        np.testing.assert_array_equal(getattr(t, name), expected[name])
    np.testing.assert_array_equal(t.supplier, expected["supplier"])
    np.testing.assert_array_equal(t.row_of_fid[t.fid], np.arange(m))
    # the freed rows are reset to the fill values (new rows start clean)
    for name, col in FirmTable.columns().items():
        np.testing.assert_array_equal(t._data[name][m:n_before], np.full(n_before - m, col.fill))
    assert np.all(t._supplier[m:n_before] == NONE)
    assert t.capacity == cap


# ------------------------------------------------------------------------------------ exit, entry
def test_exit_kernel_equals_the_numpy_rule():
    t = _random_table(7, n=2000, dead_share=0.2)
    g = np.random.default_rng(7)
    t.equity[:] = g.normal(0.0, 1.0, t.n)
    t.losses[:] = g.integers(0, 5, t.n)
    rows = t.alive_rows()
    fixed = g.random(4) + 0.5
    t.age[:] = g.integers(0, 12, t.n)
    s = t.sector[rows]
    L = t.lines[rows]
    a = t.age[rows]
    for grace in (0, 4):
        old = a >= grace
        broke = t.equity[rows] < -0.3 * fixed[s] * L
        losing = np.minimum(t.losses[rows], a - grace) >= 3
        expected = rows[(L <= 0) | (old & (broke | losing))]
        got = exit_mod.exiting_rows(
            t, rows, fixed, equity_threshold=-0.3, max_losses=3, grace=grace
        )
        np.testing.assert_array_equal(got, expected)
        assert 0 < len(got) < len(rows)
    young = rows[(a < 4) & (L > 0)]  # in their grace period only a lost last line makes them exit
    assert not np.isin(young, got).any()
    assert 0 < len(got) < len(rows)
    with pytest.raises(ValueError):
        exit_mod.exiting_rows(t, np.array([t.n]), fixed, equity_threshold=0.0, max_losses=3)
    with pytest.raises(ValueError):  # sector 3 without a fixed cost
        exit_mod.exiting_rows(t, rows, fixed[:3], equity_threshold=0.0, max_losses=3)


def test_exit_hazard_rule_ends_a_loss_run_with_the_hazard_of_its_length():
    t = _random_table(8, n=2000, dead_share=0.2)
    g = np.random.default_rng(8)
    t.equity[:] = 10.0  # no equity exits
    t.losses[:] = g.integers(0, 15, t.n)
    t.age[:] = g.integers(0, 20, t.n)
    rows = t.alive_rows()
    fixed = np.ones(4)
    hazard = exit_mod.loss_hazard(8)
    u = g.random(len(rows))
    a, L = t.age[rows], t.lines[rows]
    k = np.minimum(t.losses[rows], a - 4)
    ends = (k > 0) & (u < hazard[np.clip(k, 0, len(hazard) - 1)])
    expected = rows[(L <= 0) | ((a >= 4) & ends)]
    got = exit_mod.exiting_rows(
        t, rows, fixed, equity_threshold=0.0, max_losses=8, grace=4, hazard=hazard, u=u
    )
    np.testing.assert_array_equal(got, expected)
    # short runs rarely end a firm, long runs often: unlike the count rule, some leave before 8
    assert ((k > 0) & (k < 8) & np.isin(rows, got)).any()
    assert ((k >= 8) & (L > 0) & ~np.isin(rows, got)).any()
    with pytest.raises(ValueError, match="uniform draws"):
        exit_mod.exiting_rows(t, rows, fixed, equity_threshold=0.0, max_losses=8, hazard=hazard)


@pytest.mark.parametrize("after_losses", [1, 2, 8, 20])
def test_the_loss_hazard_is_that_of_one_plus_a_poisson_count(after_losses):
    """The run of losses a firm survives, K = 1 + Poisson(after_losses - 1): mean after_losses."""
    from scipy.stats import poisson

    h = exit_mod.loss_hazard(after_losses)
    assert h[0] == 0.0 and (np.diff(h[1:]) >= -1e-12).all()  # rises with the run
    k = np.arange(1, len(h))
    alive = np.concatenate([[1.0], np.cumprod(1.0 - h[1:-1])])  # P(K >= k)
    pmf = alive * h[1:]
    np.testing.assert_allclose(pmf, poisson.pmf(k - 1, after_losses - 1), atol=1e-12)
    assert (pmf * k).sum() == pytest.approx(after_losses, rel=1e-9)


def test_the_hazard_rule_spreads_the_exits_of_a_cohort_that_always_loses():
    """A cohort that loses every step after its grace leaves all at one age under the count rule
    (grace + after_losses, its age when the exit rule runs) and over several ages, with the same
    mean, under the hazard rule."""
    ages = {}
    for rule in ("count", "hazard"):
        t = _random_table(9, n=4000, dead_share=0.0)
        rows = t.alive_rows()
        t.lines[rows] = 1
        t.equity[rows] = 10.0
        t.age[rows] = 0
        t.losses[rows] = 0
        g = np.random.default_rng(9)
        hazard = exit_mod.loss_hazard(8) if rule == "hazard" else None
        left = np.full(t.n, -1)
        live = rows
        for _ in range(60):
            t.losses[live] = np.maximum(t.age[live] - 4, 0)  # a loss every step from age 4
            u = g.random(len(live)) if hazard is not None else None
            gone = exit_mod.exiting_rows(
                t,
                live,
                np.ones(4),
                equity_threshold=0.0,
                max_losses=8,
                grace=4,
                hazard=hazard,
                u=u,
            )
            left[gone] = t.age[gone]
            live = np.setdiff1d(live, gone)
            t.age[live] += 1
        assert len(live) == 0
        ages[rule] = left[rows]
    assert (ages["count"] == 4 + 8).all()
    assert ages["hazard"].mean() == pytest.approx(4 + 8, abs=0.2)
    assert ages["hazard"].std() == pytest.approx(np.sqrt(7), rel=0.1)
    assert np.bincount(ages["hazard"]).max() < 0.2 * len(rows)


def test_standard_gumbel_is_numpys_gumbel_from_the_same_stream():
    a, b = np.random.default_rng(11), np.random.default_rng(11)
    x = entry.standard_gumbel(a, (500, 7))
    y = b.gumbel(size=(500, 7))
    np.testing.assert_allclose(x, y, rtol=1e-14, atol=1e-15)
    assert a.random() == b.random()  # the same number of doubles consumed


def _choose_reference(value, first_profit, known, rng, *, location_scale, scale):
    """The nested-logit entry decision written out in numpy, from the same uniform stream as
    entry.choose_regions (standard Gumbel location tastes, then standard logistic entry shocks)."""
    n, R = value.shape
    noise = -np.log(-np.log(1.0 - rng.random((n, R))))
    u_entry = rng.random(n)
    entry_noise = np.log(u_entry) - np.log1p(-u_entry)
    u = np.where(known, value / location_scale[:, None] + noise, -np.inf)
    best = np.argmax(u, axis=1)
    with np.errstate(divide="ignore"):
        iv = location_scale * np.log(
            np.where(known, np.exp(value / location_scale[:, None]), 0.0).sum(axis=1)
        )
    enter = known.any(axis=1) & (iv / scale + entry_noise > 0)
    rows = np.arange(n)
    return np.where(enter, best, -1), np.where(enter, first_profit[rows, best], np.nan)


@pytest.mark.parametrize("seed", [0, 1])
def test_entry_choice_kernel_equals_the_numpy_nested_logit(seed):
    g = np.random.default_rng(seed)
    n, R, S = 3000, 6, 4
    sector = g.integers(0, S, n)
    signal = g.normal(0.0, 1.0, n)
    known = g.random((n, R)) < 0.6
    known[:5] = False  # knows no region: outside option
    G = len(entry.SIGNAL_GRID)
    slope = g.random((R, S))
    value = entry.SIGNAL_GRID[:, None, None] * slope[None] + g.normal(-0.5, 1.0, (1, R, S))
    values = entry.EntryValues(
        value=value,
        first_profit=value / 10.0,
        first_revenue=np.abs(value),
        signal_sd=0.4,
        scale=np.array([2.0, 3.0, 4.0, 5.0]),
        location_scale=np.array([1.0, 1.5, 2.0, 2.5]),
        local=np.zeros((R, S)),
    )
    assert values.value.shape == (G, R, S)
    got, exp_got, _ = entry.choose_regions(
        sector, signal, known, np.random.default_rng(seed + 10), values=values
    )
    v, fp, _ = values.at(sector, signal)
    ref, exp_ref = _choose_reference(
        v,
        fp,
        known,
        np.random.default_rng(seed + 10),
        location_scale=values.location_scale[sector],
        scale=values.scale[sector],
    )
    np.testing.assert_array_equal(got, ref)
    np.testing.assert_allclose(exp_got, exp_ref, rtol=1e-12)
    assert np.all(got[:5] == -1)
    assert np.all(known[np.flatnonzero(got >= 0), got[got >= 0]])  # only known regions chosen
    assert 0 < np.mean(got == -1) < 1


# ------------------------------------------------------------------------------------- relocation
def _relocate_reference(table, rows, rng, *, probability, known_q, rhat, cpi, real, sigma,
                        fixed_cost, cost, relationship):  # fmt: skip
    """The relocation rule written out in numpy."""
    cand = rows[rng.random(len(rows)) < probability]
    R = rhat.shape[0]
    s = table.sector[cand]
    r0 = table.region[cand]
    L = table.lines[cand].astype(float)
    rev = (L * np.exp((sigma[s] - 1.0) * table.log_productivity[cand]))[:, None] * rhat[:, s].T
    profit = rev / sigma[s][:, None] - (L * fixed_cost[s])[:, None] - relationship[:, s].T
    defl = cpi if real else np.ones(R)
    value = profit / defl[None, :]
    known = rng.random((len(cand), R)) < known_q if known_q < 1 else np.ones((len(cand), R), bool)
    here = np.arange(len(cand))
    known[here, r0] = False
    value_other = np.where(known, value, -np.inf)
    best = np.argmax(value_other, axis=1)
    gain = value_other[here, best] - value[here, r0]
    move = gain > cost * fixed_cost[s] * L / defl[r0]
    if cost == 0:
        move &= gain > 1e-12 * np.abs(value[here, r0])
    movers = cand[move]
    table.region[movers] = best[move]
    table.equity[movers] -= cost * fixed_cost[s[move]] * L[move]
    return movers


@pytest.mark.parametrize(
    ("real", "cost", "known_q"), [(False, 0.5, 0.6), (True, 0.2, 0.3), (True, 0.0, 1.0)]
)
def test_relocation_kernel_equals_the_numpy_rule(real, cost, known_q):
    R, S = 5, 4
    g = np.random.default_rng(3)
    t_ref = _random_table(3, n=4000, n_sectors=S, dead_share=0.1)
    t_ref.log_productivity[:] = g.normal(0.0, 0.5, t_ref.n)
    t_new = _random_table(3, n=4000, n_sectors=S, dead_share=0.1)
    t_new.log_productivity[:] = t_ref.log_productivity
    kw = dict(
        probability=0.2,
        known_q=known_q,
        rhat=g.random((R, S)) * 4.0,
        cpi=0.8 + 0.4 * g.random(R),
        real=real,
        sigma=np.array([3.0, 4.0, 5.0, 6.0]),
        fixed_cost=np.array([0.5, 0.3, 1.0, 0.8]),
        cost=cost,
        relationship=g.random((R, S)) * 0.2,
    )
    for tab in (t_ref, t_new):  # between one and four product lines
        tab.lines[:] = 1 + np.arange(tab.n) % 4
    ref = _relocate_reference(t_ref, t_ref.alive_rows(), np.random.default_rng(9), **kw)
    got = relocation.relocate(t_new, t_new.alive_rows(), np.random.default_rng(9), **kw)
    np.testing.assert_array_equal(got, ref)
    assert len(got) > 0
    np.testing.assert_array_equal(t_new.region, t_ref.region)
    np.testing.assert_array_equal(t_new.equity, t_ref.equity)
    # the keyed draws (solver.random_streams = "by_purpose") given as u and known_u, holding the
    # numbers the reference drew, give the same moves
    t_key = _random_table(3, n=4000, n_sectors=S, dead_share=0.1)
    t_key.log_productivity[:] = t_ref.log_productivity
    t_key.lines[:] = 1 + np.arange(t_key.n) % 4
    rows = t_key.alive_rows()
    g9 = np.random.default_rng(9)
    u = g9.random(len(rows))
    considers = u < kw["probability"]
    known_u = np.random.default_rng(1).random((len(rows), R))
    if known_q < 1:
        known_u[considers] = g9.random((int(considers.sum()), R))
    keyed = relocation.relocate(t_key, rows, np.random.default_rng(123), u=u, known_u=known_u, **kw)
    np.testing.assert_array_equal(keyed, ref)
    with pytest.raises(ValueError, match="known_u must have shape"):
        relocation.relocate(t_key, rows, g9, u=u, known_u=known_u[:, :2], **{**kw, "known_q": 0.5})


def test_explosive_spillovers_are_a_clear_input_error_not_a_division_by_zero():
    # localisation_spillover = 1 (within its bounds) against mean_reversion 0.01 put local frontiers
    # ~200 log points up: the CES price indices under- / overflowed and relocation divided by a zero
    # CPI (ZeroDivisionError, exit 1).  Without mean reversion the spillovers pile up step by step.
    from pathlib import Path

    from agglomeration.errors import InputError
    from agglomeration.model import AgglomerationModel

    baseline = Path(__file__).resolve().parents[1] / "scenarios" / "baseline.toml"
    small = {"firms__initial_count": 100, "burn_in": 0}
    with pytest.raises(InputError) as err:
        AgglomerationModel(baseline, 1, behaviour__learning__localisation_spillover=1.0, **small)
    assert err.value.field == "behaviour.learning" and "mean_reversion" in str(err.value)
    with pytest.raises(InputError):  # in the baseline's burn-in
        AgglomerationModel(
            baseline,
            2,
            behaviour__learning__localisation_spillover=1.0,
            behaviour__learning__mean_reversion=0.0,
        )
    # a strong but finite spillover (the top of the Sobol design) runs
    m = AgglomerationModel(baseline, 1, behaviour__learning__localisation_spillover=0.02, **small)
    m.run(3)
    assert np.isfinite(m.series_frame()["output"]).all()
