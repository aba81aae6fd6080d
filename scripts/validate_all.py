"""Regenerate docs/VALIDATION.md and docs/img/validation_*.png from scratch.

    python scripts/validate_all.py              # full version (about 5-10 minutes on 2 cores)
    python scripts/validate_all.py --quick      # smaller grids, for a smoke test (about 1-2 minutes)
    python scripts/validate_all.py --write-experiments   # (re)write experiments/validation/*.toml

Every number in VALIDATION.md comes from this script: the analytic benchmarks of
:mod:`agglomeration.validation`, the two-region theory configurations of ``scenarios/benchmarks/`` run by
the full :class:`agglomeration.AgglomerationModel`, the stylised facts of firm dynamics on
``scenarios/baseline.toml`` and the Baldwin-Okubo sorting check.  Runs are independent model instances
executed in worker processes; results depend only on the seeds, not on the worker count.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import itertools
import multiprocessing as mp
import platform
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from agglomeration import validation as V  # noqa: E402
from agglomeration.behaviour.factor_prices import FactorPricesParams  # noqa: E402

DOC = ROOT / "docs" / "VALIDATION.md"
IMG = ROOT / "docs" / "img"
EXP = ROOT / "experiments" / "validation"

FE_PAIRS = [(5.0, 0.4), (4.0, 0.3), (3.0, 0.4), (6.0, 0.2)]
TOMAHAWK = (5.0, 0.4)
#: the trade-off rows of section 5: the size tail against the size-variance slope (section 8)
PROBES = {
    "size elasticity 0.25": {"behaviour.learning.shock_size_elasticity": 0.25},
    "line birth rate 0.018": {"behaviour.lines.birth_rate": 0.018},
}


# --------------------------------------------------------------------------------------------- jobs
def _fc(args: tuple) -> tuple:
    s_e, phi, seed, firms, steps = args
    x = V.simulate_long_run_share(
        "footloose_capital", 5.0, 0.4, phi, s_E=s_e, firms=firms, steps=steps, replicate_seed=seed
    )
    return s_e, phi, seed, x


def _fe_break(args: tuple) -> tuple:
    sigma, mu, firms, steps = args
    pb, seen = V.simulated_break_point(sigma, mu, firms=firms, steps=steps, tol=0.0025)
    return sigma, mu, pb, seen


def _tomahawk(args: tuple) -> tuple:
    phi, start, seed, firms, steps = args
    x = V.simulate_long_run_share(
        "footloose_entrepreneur",
        *TOMAHAWK,
        phi,
        initial_share=start,
        firms=firms,
        steps=steps,
        replicate_seed=seed,
    )
    return phi, start, seed, x


def _vertical(args: tuple) -> tuple:
    phi, seed, firms, steps = args
    return (
        phi,
        seed,
        V.simulate_vertical_colocation(phi, firms=firms, steps=steps, replicate_seed=seed),
    )


def _sorting(args: tuple) -> tuple:
    d, seed, steps = args
    return d, seed, V.sorting_check(d, steps=steps, replicate_seed=seed)


def _panel(args: tuple) -> tuple:
    label, overrides, seed, steps, burn_in = args
    from agglomeration.scenario import load_scenario

    scen = load_scenario(ROOT / "scenarios" / "baseline.toml", overrides)
    counts: list[int] = []
    panel = V.firm_panel(scen, steps, 4, seed, burn_in=burn_in, counts=counts)
    return label, seed, (panel, counts)


#: the labour-market checks: the baseline, and the baseline with the firm population held fixed and no
#: idiosyncratic shocks, where productivity grows at the frontier drift only (growth and labour)
FIXED_POPULATION = {
    "behaviour.entry.enabled": False,
    "behaviour.exit.enabled": False,
    "behaviour.relocation.enabled": False,
    "behaviour.learning.shock_sd": 0.0,
}
#: the wage response to a regional TFP shock: regions (LJ: a commuting zone of six areas; WZ: alone),
#: labour supply elasticities (migration eps, commuting eta: the defaults and a far more elastic
#: supply), shock [log points], firms, steps
SHOCK = (
    ("LJ", "WZ"),
    (
        (FactorPricesParams().supply_elasticity, FactorPricesParams().commuting_elasticity),
        (10.0, 20.0),
    ),
    0.1,
    3000,
    16,
)


def _entrants(args: tuple) -> tuple:
    """Entrants' realised / expected first-year profit and revenue, and exit hazards by age (per year),
    over ``steps`` observed steps of the baseline (after its burn-in)."""
    seed, steps, *rest = args  # optional third item: scenario overrides (scripts/exit_by_age.py)
    from agglomeration.model import AgglomerationModel
    from agglomeration.scenario import load_scenario

    overrides = rest[0] if rest else None
    m = AgglomerationModel(
        load_scenario(ROOT / "scenarios" / "baseline.toml", overrides), replicate_seed=seed
    )
    T = m.spec.behaviour.steps_per_year
    exits = np.zeros(8)  # by age in years 0..6, 7+
    exposure = np.zeros(8)
    by_quarter = np.zeros(4 * T)  # exits by age in steps 0 .. 4T-1 (the first four years)
    for _ in range(steps):
        t = m.firms
        rows = t.alive_rows()
        age_of = dict(zip(t.fid[rows].tolist(), t.age[rows].tolist(), strict=True))
        np.add.at(exposure, np.minimum(t.age[rows] // T, 7), 1.0 / T)
        m.step()
        gone = [f for f in age_of if m.firms.row_of_fid[f] < 0]  # alive before the step, not after
        for f in gone:
            exits[min(age_of[f] // T, 7)] += 1
            if age_of[f] < len(by_quarter):
                by_quarter[age_of[f]] += 1
    s = m.series_frame()
    first, last = int(s["firms"].iloc[0]), int(s["firms"].iloc[-1])
    ratios = (float(s["entrant_profit_ratio"].iloc[-1]), float(s["entrant_revenue_ratio"].iloc[-1]))
    imports = _import_shares(m)
    p = m.spec.behaviour.exit
    rule_age = (
        p.loss_grace + p.after_losses - 1
    )  # a loss every step from the grace on: exit at this age
    return (
        seed,
        ratios,
        exits,
        exposure,
        (first, last),
        steps,
        int(m.spec.burn_in),
        imports,
        (by_quarter, rule_age, T),
    )


def _import_shares(m) -> dict[str, float]:
    """Shares of input spending bought through international gateways, by buyer group, at the end."""
    from agglomeration.observe import link_values

    w, t = m.world, m.firms
    lv = link_values(m.state, w)
    rows = t.row_of_fid[lv["buyer"].to_numpy()]
    sector = w.sector_ids[t.sector[rows]]
    bonded = np.asarray(w.bonded, bool)[t.region[rows]]
    foreign = set(w.market_ids[w.n_regions :][w.gateway_international])
    imported = lv["supplier_region"].isin(foreign).to_numpy()
    value = lv["value"].to_numpy()

    def share(sel: np.ndarray) -> float:
        return (
            float(value[sel & imported].sum() / value[sel].sum())
            if value[sel].sum() > 0
            else np.nan
        )

    every = np.ones(len(value), bool)
    return {
        "electronics_bonded": share((sector == "electronics") & bonded),
        "electronics_other": share((sector == "electronics") & ~bonded),
        "bonded": share(bonded),
        "other": share(~bonded),
        "all": share(every),
        "components_input": share(lv["input_sector"].to_numpy() == "components"),
    }


def _labour(args: tuple) -> tuple:
    label, overrides, seed, steps = args
    from agglomeration.scenario import load_scenario

    scen = load_scenario(ROOT / "scenarios" / "baseline.toml", overrides)
    panel = V.labour_panel(scen, steps, 4, seed)
    return label, seed, V.wage_productivity(panel), panel


def _shock(args: tuple) -> tuple:
    region, eps, seeds = args
    from agglomeration.scenario import load_scenario

    _, _, shock, firms, steps = SHOCK
    scen = load_scenario(
        ROOT / "scenarios" / "baseline.toml",
        {
            "firms.initial_count": firms,
            "behaviour.factor_prices.supply_elasticity": eps[0],
            "behaviour.factor_prices.commuting_elasticity": eps[1],
        },
    )
    return region, eps, V.wage_shock_response(scen, region, shock, steps, seeds)


# ----------------------------------------------------------------------------------------- helpers
def _verdict(ok: bool) -> str:
    return "**PASS**" if ok else "**FAIL**"


def _f(x: float, nd: int = 3) -> str:
    return "nan" if x is None or not np.isfinite(x) else f"{x:.{nd}f}"


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


# --------------------------------------------------------------------------------------- sections
def analytic_section() -> tuple[str, bool]:
    rows = []
    ok = True
    ref = {
        (5.0, 0.4): (0.142857, 0.093727, 0.696970, 0.695442),
        (3.0, 0.2): (0.358974, 0.338979, 0.715909, 0.714565),
        (4.0, 0.3): (0.230769, 0.194695, 0.704017, 0.702559),
        (8.0, 0.4): (0.159664, 0.115125, 0.806950, 0.806595),
    }
    for (s, m), (cb, cs, fb, fs) in ref.items():
        got = (
            V.cp_break_point(s, m),
            V.cp_sustain_point(s, m),
            V.fe_break_point(s, m),
            V.fe_sustain_point(s, m),
        )
        err = max(abs(a - b) for a, b in zip(got, (cb, cs, fb, fs)))
        ok &= err < 1e-6
        rows.append(
            f"| {s:g} | {m:g} | {got[0]:.6f} ({cb}) | {got[1]:.6f} ({cs}) | {got[2]:.6f} ({fb}) "
            f"| {got[3]:.6f} ({fs}) | {err:.1e} |"
        )
    cp12 = [e for e in V.tomahawk_equilibria("core_periphery", 5, 0.4, 0.12) if 0 < e.lam < 1]
    unstable = [e.lam for e in cp12 if not e.stable]
    ok &= abs(max(unstable) - 0.8328) < 1e-4
    fc = V.fc_share(0.6, 0.5)
    ok &= abs(fc - 0.8) < 1e-12
    text = f"""## 1. Analytic benchmarks (the formulas the simulations are checked against)

**Claim.** `agglomeration.validation` implements the closed forms and the numerical short-run equilibria
of the core-periphery (CP, Krugman 1991 in the FKV 1999 normalisation), footloose-entrepreneur (FE,
Forslid & Ottaviano 2003) and footloose-capital (FC, Martin & Rogers 1995) models.
**Source.** Krugman (1991), J. Political Economy 99(3); Fujita, Krugman & Venables (1999) ch. 4-5;
Forslid & Ottaviano (2003), J. Economic Geography 3(3); Martin & Rogers (1995), J. International
Economics 39(3-4). Closed forms and reference values T1-T6 (the reference table of break and sustain
points, the tomahawk table) in [THEORY.md](THEORY.md) sections 2-6. **Configuration.** none (pure
functions); tests: `tests/test_validation_analytic.py`.

| sigma | mu | CP phi_B (ref) | CP phi_S (ref) | FE phi_B (ref) | FE phi_S (ref) | max abs error |
|---|---|---|---|---|---|---|
{chr(10).join(rows)}

CP tomahawk at sigma=5, mu=0.4, phi=0.12 (THEORY.md section 6): interior equilibria
{", ".join(f"{e.lam:.4f} ({'stable' if e.stable else 'unstable'})" for e in cp12)} (reference: 0.5 stable,
0.1672 / 0.8328 unstable). FC: s_n(s_E=0.6, phi=0.5) = {fc:.4f} (T6: 0.8).

**Verdict:** {_verdict(ok)} (all values agree to < 1e-6).
"""
    return text, ok


def fc_section(results: list[tuple], quick: bool) -> tuple[str, bool]:
    plt = _plt()
    errs = []
    by_phi: dict[float, list] = {}
    for s_e, phi, _seed, x in results:
        errs.append(abs(x - V.fc_share(s_e, phi)))
        by_phi.setdefault(phi, []).append((s_e, x))
    max_err = max(errs)
    ok = max_err <= 0.03
    fig, ax = plt.subplots(figsize=(6, 4.5))
    grid = np.linspace(0.4, 0.7, 121)
    for i, phi in enumerate(sorted(by_phi)):
        c = f"C{i}"
        ax.plot(grid, V.fc_share(grid, phi), color=c, lw=1.2, label=f"analytic, phi={phi:g}")
        pts = np.array(sorted(by_phi[phi]))
        ax.plot(pts[:, 0], pts[:, 1], "o", color=c, ms=5, mfc="none")
    ax.plot(grid, grid, "k:", lw=0.8, label="s_n = s_E (no magnification)")
    ax.set_xlabel("region 1's expenditure share s_E")
    ax.set_ylabel("region 1's long-run share of firms s_n")
    ax.set_title(
        "Footloose capital: home-market magnification\n(lines: theory; circles: simulation)"
    )
    ax.legend(fontsize=7, loc="upper left")
    ax.set_ylim(-0.02, 1.02)
    fig.tight_layout()
    fig.savefig(IMG / "validation_fc_magnification.png", dpi=120)
    plt.close(fig)
    rows = "\n".join(
        f"| {s_e:.2f} | {phi:.2f} | {V.fc_share(s_e, phi):.3f} | {x:.3f} | {abs(x - V.fc_share(s_e, phi)):.3f} |"
        for s_e, phi, _s, x in sorted(results)
    )
    firms, steps = (200, 160) if quick else (400, 200)
    text = f"""## 2. Footloose capital: home-market magnification

**Claim.** With mobile capital whose owners (and their spending) stay put, the long-run share of firms
in region 1 is s_n = 1/2 + (1+phi)/(1-phi)(s_E - 1/2), clipped to [0, 1]: a region with a larger market
gets a more than proportional share of firms, the more so the freer trade is.
**Source.** Martin & Rogers (1995); Baldwin et al. (2003) ch. 3; THEORY.md section 4 (T6). **Acceptance:**
simulated share within 0.03 of s_n on every grid point.
**Configuration.** `scenarios/benchmarks/footloose_capital.toml` (two regions, one sector, sigma=5,
mu=0.4, identical firms, profits spent by immobile owners in proportion to immobile income
(`behaviour.market.profit_spending = "owners"`), nominal-profit relocation with probability 0.05 per step, no
entry/exit/learning/sourcing/factor-price/policy), {firms} firms, {steps} steps, long-run share = mean of
the last 20% of steps; `validation.simulate_long_run_share("footloose_capital", ...)`. Batch version:
`experiments/validation/fc_magnification.toml`.

![FC magnification](img/validation_fc_magnification.png)

| s_E | phi | analytic s_n | simulated | abs error |
|---|---|---|---|---|
{rows}

Largest error: **{max_err:.3f}** over {len(results)} grid points. **Verdict:** {_verdict(ok)}.
"""
    return text, ok


def fe_section(breaks: list[tuple], toma: list[tuple], quick: bool) -> tuple[str, bool]:
    plt = _plt()
    sigma, mu = TOMAHAWK
    pb, ps = V.fe_break_point(sigma, mu), V.fe_sustain_point(sigma, mu)
    # tomahawk figure
    fig, ax = plt.subplots(figsize=(7, 4.8))
    phis = sorted({p for p, *_ in toma})
    lo, hi = min(phis), max(phis)
    ax.plot([lo, pb], [0.5, 0.5], "k-", lw=2, label="stable (analytic)")
    ax.plot([pb, hi], [0.5, 0.5], "k--", lw=1.2, label="unstable (analytic)")
    for y in (0.0, 1.0):
        ax.plot([ps, hi], [y, y], "k-", lw=2)
    fine = np.linspace(ps + 1e-6, pb - 1e-6, 25)
    up, dn = [], []
    for p in fine:
        uns = [
            e.lam
            for e in V.tomahawk_equilibria("footloose_entrepreneur", sigma, mu, p, grid=200)
            if not e.stable
        ]
        if len(uns) == 2:
            dn.append((p, uns[0]))
            up.append((p, uns[1]))
    for br in (up, dn):
        if br:
            a = np.array(br)
            ax.plot(a[:, 0], a[:, 1], "k--", lw=1.2)
    for start, marker, col in ((0.55, "o", "C0"), (0.9, "x", "C3")):
        pts = np.array([(p, x) for p, s, _seed, x in toma if s == start])
        if len(pts):
            ax.plot(
                pts[:, 0],
                pts[:, 1],
                marker,
                color=col,
                ms=6,
                mfc="none",
                label=f"simulated, start {start}",
            )
    ax.axvline(pb, color="0.6", lw=0.8)
    ax.text(pb, 1.04, " phi_B", fontsize=8, color="0.3")
    ax.set_xlabel("trade freeness phi")
    ax.set_ylabel("region 1's long-run share of firms")
    # two lines: one line is wider than the 7-inch axes and was cut off on the right
    ax.set_title(
        f"Footloose entrepreneur tomahawk (sigma={sigma:g}, mu={mu:g})\n"
        f"sustain point phi_S={ps:.4f}, break point phi_B={pb:.4f}",
        fontsize=10,
    )
    ax.legend(
        fontsize=7, loc="lower left"
    )  # the lower left is empty (the symmetric branch is at 0.5)
    ax.set_ylim(-0.05, 1.1)
    fig.tight_layout()
    fig.savefig(IMG / "validation_tomahawk.png", dpi=120)
    plt.close(fig)
    # break points figure (the report's builder: pairs in a legend, differences on their own rows)
    from agglomeration.report.figures import break_points_figure

    fig = break_points_figure([(s, m, V.fe_break_point(s, m), b) for s, m, b, _ in breaks])
    fig.savefig(IMG / "validation_fe_break_points.png", dpi=120)
    rows, ok_b = [], True
    for s, m, b, seen in breaks:
        ana = V.fe_break_point(s, m)
        d = b - ana
        ok_b &= abs(d) <= 0.02
        rows.append(
            f"| {s:g} | {m:g} | {ana:.4f} | {V.fe_sustain_point(s, m):.4f} | {b:.4f} | {d:+.4f} | {len(seen)} |"
        )
    # tomahawk verdicts: below phi_S both starts disperse; above phi_B both agglomerate
    tl = [(p, s, x) for p, s, _seed, x in toma]
    below = [abs(x - 0.5) for p, s, x in tl if p < ps - 0.02]
    above = [max(x, 1 - x) for p, s, x in tl if p > pb + 0.02]
    ok_t = (not below or max(below) < 0.05) and (not above or min(above) > 0.95)
    worst = max(abs(b - V.fe_break_point(s, m)) for s, m, b, _ in breaks)
    overlap = f"The overlap phi_S < phi < phi_B is only {pb - ps:.4f} wide at sigma={sigma:g}, mu={mu:g}, below the resolution of a finite-firm simulation, so hysteresis is not tested here."
    if worst > 0.005:
        bias = (
            f"**Known bias.** The largest deviation is {worst:.4f}. Likely cause: entry and relocation "
            "prospects evaluated with expenditure that lags the current firm locations (a firm moving in raises "
            "local competition at once but its owner's spending only later), a spurious dispersion force that "
            "matters where the true gain is tiny, i.e. near phi_B. " + overlap
        )
    else:
        bias = (
            f"**Note.** The largest deviation is {worst:.4f}. An earlier model version evaluated relocation "
            "prospects with the previous step's expenditure (a firm moving in raised local competition at "
            "once but its owner's spending only a step later); that put the simulated break points 0.01-0.02 "
            "above phi_B. The within-step income loop of model.py (expenditure consistent with the current "
            "locations) removed the bias. " + overlap
        )
    firms, steps = (200, 250)
    text = f"""## 3. Footloose entrepreneur: break point and tomahawk

**Claim.** When the mobile factor spends its income where the firm is, the symmetric distribution is
stable for phi < phi_B = [(sigma-mu)/(sigma+mu)][(sigma-1-mu)/(sigma-1+mu)] and full agglomeration is
the outcome above it; full agglomeration is sustainable down to phi_S (a narrow overlap, subcritical
pitchfork: the "tomahawk").
**Source.** Forslid & Ottaviano (2003); Baldwin et al. (2003) ch. 4; THEORY.md sections 3 and 6 (T5).
**Acceptance:** simulated break point within 0.02 of phi_B for at least three (sigma, mu) pairs.
**Configuration.** `scenarios/benchmarks/footloose_entrepreneur.toml`: as the FC benchmark, but profits
are spent where the firm is (`profit_spending = "local"`) and relocation compares real profit, deflated
by the local CES price index^mu (`relocation_profit = "real"`); relocation probability 0.02 per step;
{firms} firms, {steps} steps. The simulated break point is found by bisection on phi (tolerance 0.0025)
from a near-symmetric start (expected share 0.55; the initial placement is a multinomial draw): a run
"agglomerates" when the long-run share is >= 0.9 or <= 0.1 (`validation.simulated_break_point`). Batch
versions: `experiments/validation/fe_break_points.toml`, `experiments/validation/fe_tomahawk.toml`.

![FE break points](img/validation_fe_break_points.png)

| sigma | mu | analytic phi_B | analytic phi_S | simulated break point | difference | runs |
|---|---|---|---|---|---|---|
{chr(10).join(rows)}

**Verdict (break points):** {_verdict(ok_b)}.

![FE tomahawk](img/validation_tomahawk.png)

Tomahawk (sigma={sigma:g}, mu={mu:g}): long-run share against phi from a near-symmetric (0.55) and a
concentrated (0.9) start, over the analytic stable (solid) and unstable (dashed) branches. Far below
phi_S both starts end dispersed (largest |share - 0.5| = {_f(max(below) if below else float("nan"))});
above phi_B + 0.02 both end agglomerated (smallest max(share, 1 - share) =
{_f(min(above) if above else float("nan"))}). **Verdict (tomahawk ends):** {_verdict(ok_t)}.

{bias}
"""
    return text, ok_b and ok_t


def vertical_section(results: list[tuple]) -> tuple[str, bool]:
    plt = _plt()
    by_phi: dict[float, list] = {}
    for phi, _seed, r in results:
        by_phi.setdefault(phi, []).append(r["coagglomeration"])
    phis = np.array(sorted(by_phi))
    mean = np.array([np.mean(by_phi[p]) for p in phis])
    lo = np.array([np.min(by_phi[p]) for p in phis])
    hi = np.array([np.max(by_phi[p]) for p in phis])
    # rises as trade costs fall: the mean at the freest half exceeds that at the costliest point,
    # and the rank correlation of mean co-location with phi is positive
    from scipy.stats import spearmanr

    rho = float(spearmanr(phis, mean).statistic) if len(phis) > 2 else float("nan")
    ok = mean[-1] > mean[0] + 0.5 and rho > 0.5
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.fill_between(phis, lo, hi, color="C0", alpha=0.2, label="min-max over seeds")
    ax.plot(phis, mean, "o-", color="C0", label="mean co-location (EGK gamma_c)")
    ax.set_xlabel("trade freeness phi (both sectors)")
    ax.set_ylabel("co-location of upstream and downstream firms")
    ax.set_title("Vertical linkages: co-location rises as trade costs fall")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(IMG / "validation_vertical.png", dpi=120)
    plt.close(fig)
    rows = "\n".join(
        f"| {p:.2f} | {m:.3f} | {a:.3f} | {b:.3f} | {len(by_phi[p])} |"
        for p, m, a, b in zip(phis, mean, lo, hi)
    )
    text = f"""## 4. Vertical linkages: upstream and downstream firms co-locate as trade costs fall

**Claim.** With immobile labour, input-output linkages alone create agglomeration: downstream firms
locate near their suppliers (cheaper inputs) and upstream firms near their buyers, so the two sectors
co-locate once trade is free enough.
**Source.** Krugman & Venables (1995); Venables (1996); Fujita, Krugman & Venables (1999) ch. 14;
THEORY.md section 8.
**Configuration.** `scenarios/benchmarks/vertical_linkages.toml`: two regions, labour immobile at wage 1
(factor prices fixed), upstream sector U (labour only) selling only to downstream D (input share 0.5,
final-expenditure share 0.4), sigma=5 for both, profits to immobile owners, nominal-profit relocation,
supplier search each step with probability 0.5 (`sourcing_enabled = true`), initial share 0.6 of both
sectors in region 1, 200 firms, 200 steps; `validation.simulate_vertical_colocation`. Co-location is the
Ellison-Glaeser-Kerr coagglomeration index against the expenditure shares (1/2, 1/2):
gamma_c = 4 (s_U - 1/2)(s_D - 1/2) (1 = both in one region). Batch version:
`experiments/validation/vertical_linkages.toml`.

![vertical linkages](img/validation_vertical.png)

| phi | mean gamma_c | min | max | seeds |
|---|---|---|---|---|
{rows}

Spearman correlation of mean co-location with phi: {rho:.2f}. **Verdict:** {_verdict(ok)} (co-location
rises from {mean[0]:.2f} at phi={phis[0]:g} to {mean[-1]:.2f} at phi={phis[-1]:g}; the switch is abrupt,
as the theory's bifurcation predicts).
"""
    return text, ok


def stylized_section(
    panels: dict[str, list], counts: dict[str, list], quick: bool
) -> tuple[str, bool, dict]:
    from agglomeration.metrics import stylized as st

    plt = _plt()
    facts = {label: [V.stylized_facts(p) for p in ps] for label, ps in panels.items()}
    base = facts["baseline"]

    def agg(key: str, rows: list[dict]) -> tuple[float, float]:
        v = np.array([r[key] for r in rows], dtype=float)
        return float(np.nanmean(v)), float(np.nanstd(v, ddof=1)) if len(v) > 1 else float("nan")

    a_mle, a_mle_sd = agg("alpha_mle", base)
    a_gi, a_gi_sd = agg("alpha_rank_half", base)
    se_mle = float(np.mean([r["alpha_mle_se"] for r in base]))
    se_gi = float(np.mean([r["alpha_rank_half_se"] for r in base]))
    beta, beta_sd = agg("beta", base)
    kurt, _ = agg("excess_kurtosis", base)
    ent, ent_sd = agg("entry_rate", base)
    ext, ext_sd = agg("exit_rate", base)
    lap = all(r["laplace_preferred"] for r in base)
    ok_tail = 0.9 <= a_mle <= 1.25 and 0.9 <= a_gi <= 1.25
    ok_growth = lap and kurt > 0
    ok_beta = 0.1 <= beta <= 0.3
    ok_turn = 0.05 <= ent <= 0.12 and 0.05 <= ext <= 0.12
    # figure from the first baseline replicate
    panel = panels["baseline"][0]
    _, _, last = panel[-1]
    sizes = np.sort(last[last > 0])[::-1]
    fig, axs = plt.subplots(1, 3, figsize=(13, 4))
    ax = axs[0]
    ccdf = np.arange(1, len(sizes) + 1) / len(sizes)
    ax.loglog(sizes, ccdf, ".", ms=3, label="simulated (replicate 0)")
    fit = st.tail_exponent(sizes, method="mle")
    xs = np.geomspace(fit.xmin, sizes.max(), 20)
    p_tail = fit.n_tail / len(sizes)
    ax.loglog(xs, p_tail * (xs / fit.xmin) ** -fit.alpha, "r-", label=f"MLE alpha={fit.alpha:.2f}")
    ax.loglog(xs, p_tail * (xs / fit.xmin) ** -1.06, "k--", label="Axtell alpha=1.06")
    ax.set_xlabel("firm employment")
    ax.set_ylabel("P(S > s)")
    ax.legend(fontsize=7)
    ax.set_title("Firm-size distribution (upper tail)")
    g_all, s0_all = [], []
    for (_, id0, e0), (_, id1, e1) in itertools.pairwise(panel):
        _, i0, i1 = np.intersect1d(id0, id1, return_indices=True)
        ok = (e0[i0] > 0) & (e1[i1] > 0)
        g_all.append(np.log(e1[i1][ok] / e0[i0][ok]))
        s0_all.append(e0[i0][ok])
    g = np.concatenate(g_all)
    s0 = np.concatenate(s0_all)
    ax = axs[1]
    bins = np.linspace(np.quantile(g, 0.001), np.quantile(g, 0.999), 80)
    h, e = np.histogram(g, bins=bins, density=True)
    c = 0.5 * (e[1:] + e[:-1])
    ax.semilogy(c, np.where(h > 0, h, np.nan), ".", label="simulated")
    m, b = np.median(g), np.mean(np.abs(g - np.median(g)))
    ax.semilogy(c, np.exp(-np.abs(c - m) / b) / (2 * b), "r-", label="Laplace fit")
    mu_, sd_ = g.mean(), g.std()
    ax.semilogy(
        c,
        np.exp(-0.5 * ((c - mu_) / sd_) ** 2) / (sd_ * np.sqrt(2 * np.pi)),
        "k--",
        label="normal fit",
    )
    ax.set_ylim(max(1e-4, np.nanmin(np.where(h > 0, h, np.nan)) / 2), None)
    ax.set_xlabel("annual log growth rate g")
    ax.set_ylabel("density")
    ax.legend(fontsize=7)
    ax.set_title("Growth rates (tent = Laplace)")
    ax = axs[2]
    q = np.quantile(np.log(s0), np.linspace(0, 1, 11))
    idx = np.clip(np.searchsorted(q, np.log(s0), side="right") - 1, 0, 9)
    ms = [s0[idx == k].mean() for k in range(10)]
    sds = [g[idx == k].std() for k in range(10)]
    ax.loglog(ms, sds, "o-", label="simulated")
    ref = sds[0] * (np.array(ms) / ms[0]) ** -0.18
    ax.loglog(ms, ref, "k--", label="slope -0.18 (Amaral et al.)")
    ax.set_xlabel("mean firm employment in size bin")
    ax.set_ylabel("sd of annual growth rate")
    ax.legend(fontsize=7)
    ax.set_title("Size-variance scaling")
    fig.tight_layout()
    fig.savefig(IMG / "validation_stylized.png", dpi=110)
    plt.close(fig)
    reps = len(base)

    def count_ratio(label: str, step: int) -> float:
        """Mean over replicates of live firms at ``step`` / initial firms."""
        rs = [c[min(step, len(c) - 1)] / c[0] for c in counts[label]]
        return float(np.mean(rs))

    steps = panels["baseline"][0][-1][0]
    r80, r_end = count_ratio("baseline", 80), count_ratio("baseline", steps)
    ok_count = 0.5 <= r80 <= 3.0
    # calibration trade-off table: the calibrated baseline and each probe
    probe_rows = []
    for label, rows in facts.items():
        am, _ = agg("alpha_mle", rows)
        ag, _ = agg("alpha_rank_half", rows)
        bb, _ = agg("beta", rows)
        en, _ = agg("entry_rate", rows)
        ex, _ = agg("exit_rate", rows)
        probe_rows.append(
            f"| {label} | {am:.3f} | {ag:.3f} | {bb:.3f} | {en:.3f} | {ex:.3f} | "
            f"{count_ratio(label, 80):.2f} | {count_ratio(label, steps):.2f} | {len(rows)} |"
        )
    text = f"""## 5. Stylised facts of firm dynamics on the baseline

**Claims and sources** (THEORY.md section 9): (a) the upper tail of the firm-size distribution is
Pareto with exponent alpha ~ 1.06 (Axtell 2001, US Census 1997; acceptance band for a few thousand
firms: 0.9-1.25, a project choice set by the estimators' small-sample spread, THEORY.md 9.4); (b)
annual log growth rates are tent-shaped: a Laplace fits better than a normal, excess kurtosis > 0
(Stanley et al. 1996); (c) their dispersion falls with size, sd(g | S) ~ S^-beta with beta ~
0.15-0.20 (Amaral et al. 1997; band 0.1-0.3); (d) annual entry and exit rates of about 5-12% each
(Bartelsman, Scarpetta & Schivardi 2005; turnover ~ 15-20%).
**Configuration.** `scenarios/baseline.toml` unchanged, {reps} replicates, {steps} steps (quarters);
the scenario's own burn-in (`burn_in`, not observed), then {panels["baseline"][0][0][0]} observed quarters
discarded, then a firm snapshot every 4 quarters (annual); firm size =
employment. Estimators: `agglomeration.metrics.stylized` (MLE with KS-chosen x_min, Gabaix-Ibragimov
rank-1/2 at the same x_min with s.e. alpha sqrt(2/n); Laplace vs normal maximum likelihood; size-bin
regression for beta; entry/exit from firm ids). Batch version: `experiments/validation/stylized_baseline.toml`.

![stylised facts](img/validation_stylized.png)

| fact | target | simulated (mean over replicates, +- sd across replicates) | verdict |
|---|---|---|---|
| tail exponent, MLE | 1.06 | {a_mle:.3f} +- {a_mle_sd:.3f} (mean s.e. {se_mle:.3f}) | {_verdict(0.9 <= a_mle <= 1.25)} |
| tail exponent, rank-1/2 | 1.06 | {a_gi:.3f} +- {a_gi_sd:.3f} (mean s.e. {se_gi:.3f}) | {_verdict(0.9 <= a_gi <= 1.25)} |
| growth rates Laplace > normal | all replicates | {"yes" if lap else "no"}; excess kurtosis {kurt:.2f} | {_verdict(ok_growth)} |
| size-variance slope beta | 0.15-0.20 (band 0.1-0.3) | {beta:.3f} +- {beta_sd:.3f} | {_verdict(ok_beta)} |
| annual entry rate | 0.05-0.12 | {ent:.3f} +- {ent_sd:.3f} | {_verdict(0.05 <= ent <= 0.12)} |
| annual exit rate | 0.05-0.12 | {ext:.3f} +- {ext_sd:.3f} | {_verdict(0.05 <= ext <= 0.12)} |
| live firms after 80 quarters / initial | 0.5-3 (tests/test_model.py) | {r80:.2f} (after {steps}: {r_end:.2f}) | {_verdict(ok_count)} |

**Mechanisms and the trade-off.** Firms grow by product lines (`behaviour.lines`; Klette and Kortum
2004), whose number follows a Simon/Yule process with entry at one line: this gives the Pareto tail
(Simon 1955; Gabaix 1999; Luttmer 2007).  The rows below rerun the baseline with the changes named
({"; ".join(f"`{k}`" for k in facts if k != "baseline") or "no probes in --quick mode"}):

| configuration | alpha MLE | alpha rank-1/2 | beta | entry | exit | firms@80 / initial | firms@{steps} / initial | replicates |
|---|---|---|---|---|---|---|---|---|
{chr(10).join(probe_rows)}

* *Tail exponent.* Set by the line birth rate relative to the death rate (a near-critical branching
  process of lines gives a tail near 1).  The two-replicate rows above lie within the baseline's seed
  spread (the sd across replicates is in the table of facts): on the closed model of 2026-12-05 a lower
  birth rate thinned the tail (1.40 / 1.59 against 1.21 / 1.36) and the size elasticity did too
  (1.28 / 1.43); on the open economy both rows came out fatter than the baseline, so two replicates do
  not tell these settings apart (section 8 gives 8-seed searches on an older model).
* *Size-variance slope.* **Not met.** beta ~ 0.02-0.03 with employment as size, and not because of the
  firm-level productivity shock: without any productivity shocks it is 0.035 (section 8, "Where the
  volatility comes from").  Even a firm's line count has a slope of only 0.09-0.18, because its lines
  spawn only while the firm is profitable (one firm-level event, not independent sub-units).  Scaling the
  shock down with size (row "size elasticity 0.25") raises beta to about 0.1 and lowers the firm count
  (docs/ODD.md, Known limitations) and, over more seeds, thins the tail: on the open economy, seeds 0-7
  of this section's design (`validation.firm_panel` and `validation.stylized_facts`, 2026-12-05), size
  elasticity 0 / 0.25 gives alpha 1.22 / 1.26 (MLE) and 1.32 / 1.37 (rank-1/2), beta 0.016 / 0.108 and
  firms after 120 quarters +1 % / -7 % against the start: the trade-off of section 8 holds at this
  burn-in.  It is a transient of the 100-quarter burn-in: with a 500-quarter burn-in, size elasticity
  0.4 and line birth rate 0.023 give alpha 1.18 (MLE) / 1.28 (rank-1/2) and beta 0.20, with the firm
  count settled (seeds 0-7; section 8, "A longer burn-in removes the trade-off"); not the default yet.
"""
    return text, ok_tail and ok_growth and ok_beta and ok_turn and ok_count, facts


def calibration_section() -> str:
    return """## 8. How the firm-dynamics parameters were chosen

Firms grow and shrink through product lines (`behaviour.lines`, Klette and Kortum 2004): a profitable
firm's lines spawn lines at `birth_rate` per quarter, every line is lost at `death_rate`, entrants start
with one line.  Productivity follows `behaviour.learning` (shock sd 0.05 per quarter, mean reversion 0.01
per quarter toward the frontier: annual persistence 0.96, Foster, Haltiwanger and Syverson 2008; Asker,
Collard-Wexler and De Loecker 2014), with size-independent shocks (`shock_size_elasticity = 0`).
`death_rate` 0.02 gives a one-line firm about 8 % a year of losing its line (the exit hazard of young
firms); `birth_rate` was then chosen for the size tail.  One replicate each (seed 1, burn-in 100,
40 observed quarters; section 5's estimators on `validation.firm_panel`, run by hand while the
model was built; `python scripts/size_variance.py --set KEY=VALUE` re-measures beta for a row):

| setting | alpha MLE | alpha rank-1/2 | beta | firms after burn-in -> after 40 quarters |
|---|---|---|---|---|
| birth 0.018 | 1.32 | 1.42 | -0.00 | 3,014 -> 2,976 |
| birth 0.019 (the default then; now 0.0199) | 1.12 | 1.25 | -0.00 | 2,866 -> 2,712 |
| birth 0.019, size elasticity 0.25 | 1.04 | 1.16 | 0.09 | 2,740 -> 2,627 |
| birth 0.019, size elasticity 0.5 | 1.53 | 1.63 | 0.20 | 2,880 -> 2,523 |
| birth 0.018, size elasticity 0.25 | 1.31 | 1.44 | 0.09 | 2,763 -> 2,656 |

**What this shows.** The line process gives the Pareto tail (alpha in the target band at birth 0.019),
but not the size-variance slope: the firm-level productivity shock, the same for a one-line and a
hundred-line firm, dominates growth volatility at every size, so beta ~ 0.  Scaling the shock down
with size (`shock_size_elasticity`) raises beta toward the Amaral et al. band but thins the tail and
makes the firm count drift down, the trade-off the earlier single-line model also had.  The mechanism
that would give both is productivity shocks per line (independent sub-units), not per firm; it is not
modelled (docs/ODD.md, Known limitations).  These numbers came from single seeds while the model was
being built; sections 5 and 6 give the current replicated values.

**Recalibrated with processing trade.** Imported components (section 10) take a third of the
component purchases from domestic suppliers and thin the tail.  Two seeds each, burn-in 40, 120
quarters (section 5's estimators on `validation.firm_panel`):

| setting | alpha MLE | alpha rank-1/2 | beta | firms after 120 quarters / initial |
|---|---|---|---|---|
| birth 0.019, processing friction 1 (ordinary trade only) | 1.16 | 1.34 | 0.02 | 0.98 |
| birth 0.019 | 1.31 | 1.46 | 0.03 | 0.99 |
| birth 0.0195 | 1.20 | 1.36 | 0.03 | 0.90 |
| birth 0.0199 (default) | 1.07 | 1.20 | 0.02 | 0.97 |
| birth 0.0199, size elasticity 0.25 | 1.17 | 1.33 | 0.11 | 0.86 |

At 0.0199 the line process is nearly critical (death 0.02), which is what gives a tail near 1 (Gabaix
1999); the size elasticity still trades beta against the tail.

**Searching for both (8 seeds each; the same design; `sd` = sd of alpha MLE across seeds).**  Seed
noise of the tail estimate is large (sd 0.12-0.42 across seeds at ~3,000 firms), so two-seed rows
above differ from these by up to 0.3:

| setting | alpha MLE (sd) | alpha rank-1/2 | beta | firms after 120 quarters / initial |
|---|---|---|---|---|
| default (birth 0.0199) | 1.17 (0.12) | 1.30 | 0.03 | 0.97 |
| size elasticity 0.2, birth 0.0203 | 1.30 (0.17) | 1.44 | 0.09 | 0.89 |
| size elasticity 0.25, birth 0.0201 | 1.41 (0.30) | 1.57 | 0.11 | 0.91 |
| size elasticity 0.3, birth 0.0199 | 1.47 (0.33) | 1.58 | 0.13 | 0.86 |
| size elasticity 0.3, birth 0.0207 | 1.26 (0.17) | 1.40 | 0.13 | 0.85 |
| size elasticity 0.3, birth 0.0215 | 1.33 (0.18) | 1.44 | 0.13 | 0.83 |
| size elasticity 0.4, birth 0.0215 | 1.21 (0.18) | 1.37 | 0.18 | 0.79 |
| shocks per product line (sd x lines^-0.5), birth 0.0199 | 1.56 (0.26) | 1.75 | 0.07 | 1.03 |
| shocks per product line (sd x lines^-1), birth 0.0199 | 1.72 (0.42) | 1.88 | 0.07 | 1.05 |

At a 100-quarter burn-in no setting puts both estimates of the tail in [0.9, 1.3] with beta in the
band: a size elasticity high enough for beta (0.3-0.4) thins the tail by 0.1-0.3 whatever the line
birth rate (above 0.0207 the tail no longer thickens, because only profitable firms' lines spawn),
and the firm count drifts down by 15-20 % over 30 years.  Independent shocks per product line (a
firm's productivity as the mean of its lines', tried as a prototype and not kept) give a beta of only 0.07 and a thinner tail:
large firms' productivity then barely moves, so the upper tail loses the productivity dispersion
that thickens it.

**A longer burn-in removes the trade-off** (2026-12-06, on this release's baseline; seeds 0-7, section
5's design: 120 observed quarters after the scenario's burn-in, annual snapshots from quarter 40;
`python scripts/firm_dynamics_search.py --set KEY=VALUE ...`; the last column is the entrants'
realised / expected first-year profit and revenue over the first 40 quarters):

| setting | alpha MLE (sd) | alpha rank-1/2 | beta | entry | exit | firms after 40 / 80 / 120 quarters / initial | realised / expected |
|---|---|---|---|---|---|---|---|
| default (burn-in 100) | 1.22 (0.15) | 1.32 | 0.016 | 0.084 | 0.088 | 1.09 / 1.06 / 1.00 | 0.99 / 1.03 |
| burn-in 300 | 1.15 (0.20) | 1.26 | 0.011 | 0.085 | 0.088 | 0.98 / 0.94 / 0.93 | 0.97 / 1.03 |
| size elasticity 0.4, birth 0.023 | 1.46 (0.18) | 1.56 | 0.165 | 0.072 | 0.081 | 0.97 / 0.89 / 0.82 | 0.99 / 1.05 |
| size elasticity 0.4, birth 0.023, burn-in 300 | 1.14 (0.11) | 1.27 | 0.191 | 0.076 | 0.078 | 0.98 / 0.94 / 0.93 | 0.98 / 1.04 |
| size elasticity 0.4, birth 0.023, burn-in 500 | 1.18 (0.14) | 1.28 | 0.197 | 0.073 | 0.076 | 1.01 / 1.00 / 0.96 | 0.96 / 1.03 |
| size elasticity 0.35, birth 0.0225, burn-in 300 | 1.28 (0.23) | 1.38 | 0.161 | 0.077 | 0.080 | 0.98 / 0.95 / 0.92 | 0.96 / 1.03 |

The thin tail of the size-elastic shocks in the 8-seed search above is a transient of the 100-quarter
burn-in: the upper tail of a line process near criticality (here births 0.023 per profitable line
against deaths 0.02) takes longer than 100 quarters to build.  With a 300- or 500-quarter burn-in the
same setting has a tail that cannot be told from the default's (MLE 1.14-1.18, rank-1/2 1.27-1.28,
against 1.22 / 1.32; standard errors of these 8-seed means 0.04-0.08; at an equal burn-in of 300
quarters 1.14 / 1.27 against the default's 1.15 / 1.26; both in issue 16's [0.9, 1.3], the rank-1/2
estimate above this validation's 1.25 as the default's is) and beta 0.19-0.20, inside the Amaral et
al. band, with entry and exit rates inside the data's range and
consistent entrants' expectations.  With 500 quarters its firm count holds over the first 20 observed
years (1.01 and 1.00; no seed below 0.98 after 40 quarters, where the default drifts up 9 %) and is
4 % lower after 30.  The default is not stationary after its 100-quarter burn-in either: its count
first rises 9 % and then falls back, and after 300 quarters of burn-in it falls 7 % over 120 observed
quarters (0.93), with a tail of 1.15 / 1.26 against 1.22 / 1.32 (section 5; docs/ODD.md, Known
limitations).  The size elasticity acts below each sector's mean employment (the shock sd scales
as (employment / sector mean)^-0.4, ratio clipped to [0.01, 1]: a firm at a tenth of the mean has 2.5
times the shocks of one at the mean); a version that damps the shocks above the mean instead (ratio
clipped to [1, 100]; a scratch run of 6 seeds) gives beta 0.04-0.05 and a much thinner tail (MLE
1.5-2.0), because the upper tail is made by its firms' productivity moves.

It is not the default: (i) a 500-quarter burn-in costs five times the present one in every settled
start (about 4-5 s more per run at 3,000 firms; batches share their start, the test suite builds many);
(ii) the start lies further from the data's distribution over regions (`python
scripts/spatial_stability.py --seeds 1 2 3 4 5 6 --set behaviour.learning.shock_size_elasticity=0.4
--set behaviour.lines.birth_rate=0.023 --set burn_in=500`: total variation 0.30 from the data against
the default's 0.24, though its first 20 observed quarters move less, 0.043 against 0.078, noise 0.018);
(iii) young firms exit more (`python scripts/exit_by_age.py --set ...` with the same three settings,
seeds 0-3, 40 quarters: hazards 7.2, 17.1, 25.7, 15.0 % in years 0-3 against the default's 8.4, 12.3,
25.8, 10.9 % and the data's 1.6, 6.3, 9.5, 8 %: small firms' larger shocks); (iv) region x sector
cells empty over the long burn-in, so the zones' chain coverage starts at 0.57-0.62 instead of the
default's 0.87-0.90 (`mean_chain_coverage` at step 0, seeds 1-3; docs/ODD.md, Known limitations); and
(v) every calibrated and documented result (the Chongqing calibration, the lever effects, sections 5-11 here) would have to
be rerun on it.  The size-variance slope is met at this documented setting
(`scenarios/size_volatility.toml`) but not by the baseline.

**Where the volatility comes from** (`python scripts/size_variance.py`: 4 seeds, annual snapshots from
quarter 40 to 120, the mean beta over consecutive years, size measured three ways):

| configuration | beta (employment) | beta (revenue) | beta (lines) | corr(log lines, log employment) |
|---|---:|---:|---:|---:|
| baseline | 0.020 | 0.039 | 0.087 | 0.485 |
| productivity shocks off (learning off) | 0.035 | 0.061 | 0.179 | 0.593 |
| productivity shock sd 0.02 (0.05) | 0.011 | 0.026 | 0.137 | 0.589 |
| no supplier search | 0.018 | 0.033 | 0.109 | 0.466 |
| no relocation | 0.018 | 0.036 | 0.085 | 0.512 |

The firm-level productivity shock is not what flattens the slope (without it beta is 0.035 against
the baseline's 0.020, still far below the data's 0.15-0.20), and
neither supplier switching nor relocation is.  Two things are: a firm's lines spawn only while the firm
is profitable, so a multi-line firm's line births and deaths are not independent (the line count's own
slope is 0.09-0.18, not the 0.5 of independent units), and the line count explains only part of a
firm's size (correlation 0.5 with employment), the rest moving with its markets, buyers and
competitors as a whole.  Independent sub-units of demand (lines that spawn and sell independently of
the firm's current profit, several buyers and markets per line) would be the mechanism to try next.

**Where the volatility sits, by size** (`python scripts/size_variance.py --by-size`: the same runs,
surviving firms of every pair of consecutive annual snapshots pooled over years and the 4 seeds,
242,000 firm-years; octiles of initial employment):

| octile | mean log employment | mean lines | sd growth of employment | sd growth of lines | sd growth of employment per line |
|---:|---:|---:|---:|---:|---:|
| 1 | 4.40 | 1.23 | 0.372 | 0.185 | 0.353 |
| 2 | 5.57 | 1.64 | 0.398 | 0.210 | 0.377 |
| 4 | 6.98 | 1.85 | 0.365 | 0.206 | 0.343 |
| 6 | 8.06 | 2.35 | 0.349 | 0.219 | 0.325 |
| 8 | 9.94 | 5.70 | 0.349 | 0.210 | 0.330 |

Employment spans a factor of about 250 between the first and the last octile, the line count a factor
of 5: a large firm is mostly a productive firm with a few lines, not a collection of many.  Both parts
of its growth are as volatile as a small firm's: the line count because at 1-6 lines a single line
birth or death is a 15-100 % change (the sd of a one-line survivor's growth is set by its chance of a
second line; a firm with six independent lines would have about 0.17, near what is seen), and
employment per line because it moves with the firm's productivity and prices as a whole (its sd falls
from 0.33-0.38 to 0.21-0.25 without productivity shocks, flat in size either way; the same table for
each configuration is printed by the command).  So the slope cannot come from diversification over
lines in this calibration; it would need a size distribution whose upper tail is made of many lines
(a lower productivity dispersion with a line process that carries the tail), or sub-units within a
line (plants, customers) whose shocks are independent, both changes to the calibrated model left open.

**Within sectors** (`python scripts/size_variance.py --by-sector --set behaviour.lines.enabled=true`,
i.e. the baseline alone: the same runs, beta of every pair of consecutive annual snapshots within each
sector, mean over the pairs and the 4 seeds):

| sector | mean log employment | beta (employment) | beta (revenue) |
|---|---:|---:|---:|
| materials | 6.63 | -0.073 | 0.011 |
| components | 6.10 | -0.057 | 0.020 |
| auto_parts | 5.58 | -0.069 | 0.000 |
| equipment | 7.72 | -0.056 | 0.037 |
| electronics | 7.59 | -0.055 | 0.020 |
| vehicles | 8.09 | -0.049 | 0.041 |
| logistics | 7.85 | -0.091 | 0.003 |
| finance | 9.25 | -0.069 | 0.011 |
| rnd | 7.79 | -0.080 | 0.001 |
| business | 8.78 | -0.094 | -0.007 |

No sector's growth volatility falls with size.  Within every sector beta of revenue is about zero
(-0.01 to +0.04) and beta of employment is negative (-0.05 to -0.09): the overhead labour of the fixed
cost (f_s per line, paid in local labour) is a larger share of a small firm's employment and does not
move with its sales (seed 1: employment without it gives -0.01 to -0.08).  The pooled beta of about
0.02 is a composition effect: the services firms are larger and less volatile (sd of annual log growth
0.25-0.28) than the makers of components and auto parts (0.42-0.47).  The stylised fact needs a
mechanism that makes a large firm a sum of independently fluctuating parts, which the model does not
have yet.
"""


def entrants_section(results: list[tuple]) -> tuple[str, bool]:
    """Consistent expectations of entrants and the exit hazard by age (issue 16 items 1 and 6)."""
    prof = np.array([r[1][0] for r in results])
    rev = np.array([r[1][1] for r in results])
    exits = np.sum([r[2] for r in results], axis=0)
    expo = np.sum([r[3] for r in results], axis=0)
    hazard = np.divide(exits, expo, out=np.full(8, np.nan), where=expo > 0)
    counts = [r[4] for r in results]
    change = np.array([b / a - 1.0 for a, b in counts])
    ok_ratio = 0.7 <= prof.mean() <= 1.3 and 0.7 <= rev.mean() <= 1.3
    ok_count = change.min() >= -0.05  # no shedding; the upward drift is reported
    by_q = np.sum([r[8][0] for r in results], axis=0)
    rule_age, T = results[0][8][1], results[0][8][2]
    year = rule_age // T
    in_year = by_q[year * T : (year + 1) * T]
    others = np.delete(by_q[max(rule_age - 4, 0) : rule_age + 5], min(rule_age, 4))
    data = ["1.6", "6.3", "9.5", "8", "8", "8", "8", "6"]
    rows = "\n".join(
        f"| {k if k < 7 else '7+'} | {100 * hazard[k]:.1f} | {data[k]} | {expo[k]:.0f} |"
        for k in range(8)
    )
    n = len(results)
    text = f"""## 6. Entrants' expectations and exits by age (baseline)

**Claim.** Entrants' expectations are those of the economy they enter: the mean realised/expected
first-year profit of entrants lies in [0.7, 1.3] (issue 16); the baseline does not shed firms (no
replicate loses more than 5 % over the observed run; the count drifts up, docs/ODD.md section 8) and
its exit hazards rise with age over the first years, as in the data
(SAIC 2013, survival of Chinese enterprises: 1.6 %, 6.3 %, 9.5 % in years 1-3, 6-9 % later; secondary
source, see scenarios/data/README.md).
**Configuration.** `scenarios/baseline.toml` unchanged (burn-in {results[0][6]} quarters, not observed), {n}
replicates, {results[0][5]} observed quarters. The ratios are run totals over every entrant whose
first year is complete, those that entered in the burn-in's last year included
(`state.entrants`, series `entrant_profit_ratio`, `entrant_revenue_ratio`).

| quantity | mean over replicates | range | verdict |
|---|---|---|---|
| realised / expected first-year profit | {prof.mean():.3f} | {prof.min():.3f}-{prof.max():.3f} | {_verdict(0.7 <= prof.mean() <= 1.3)} |
| realised / expected first-year revenue | {rev.mean():.3f} | {rev.min():.3f}-{rev.max():.3f} | {_verdict(0.7 <= rev.mean() <= 1.3)} |
| change of the firm count over the run (no shedding: each >= -5 %) | {100 * change.mean():+.1f} % | {100 * change.min():+.1f} to {100 * change.max():+.1f} % | {_verdict(ok_count)} |

Exit hazard by age (all replicates pooled; per year):

| age [years] | simulated [%/yr] | data [%/yr] | firm-years observed |
|---|---|---|---|
{rows}

**Reading.** Young firms are protected by their start-up capital and the start-up grace of
`behaviour.exit.loss_grace`; after it, exits are driven by losses and by losing the last product line.
The simulated hazards are above the data's at every age, most in years 1-3: many of the model's exits
are young firms whose one product line is lost (`behaviour.lines.death_rate`, a rate set for the size
distribution, not for survival) or whose equity runs out after the grace.  **The peak in year
{year} is an artefact of the deterministic loss rule:** a firm that loses money every quarter from the
end of its grace (`loss_grace` + `after_losses` - 1 = {rule_age}
quarters) leaves at exactly that age, so {by_q[rule_age]:.0f} of the {in_year.sum():.0f} exits of year
{year} happen in its quarter at age {rule_age} (the four quarters on either side: {others.min():.0f}-{others.max():.0f}
exits each; all replicates pooled).  `behaviour.exit.loss_rule = "hazard"` draws the run of losses
each firm survives (mean `after_losses`) and spreads this cohort over several quarters; it lowers the
year-2 peak but not the excess over the data and is not yet the baseline (`python
scripts/exit_by_age.py --set 'behaviour.exit.loss_rule="hazard"'`; docs/ODD.md section 8).  Survival is not yet a
calibration target (docs/CALIBRATION.md lists it as not matched); weighing it against the size tail is
the way to close the gap.
"""
    return text, ok_ratio and ok_count


def imports_section(results: list[tuple]) -> tuple[str, bool]:
    """Imported inputs and processing trade (issue 16 item 3)."""
    keys = ("electronics_bonded", "electronics_other", "bonded", "other", "all", "components_input")
    vals = {k: np.array([r[7][k] for r in results], dtype=float) for k in keys}
    eb = vals["electronics_bonded"]
    ok = 0.5 <= np.nanmean(eb) <= 0.75
    label = {
        "electronics_bonded": "electronics assemblers in bonded zones (processing trade)",
        "electronics_other": "electronics assemblers elsewhere",
        "bonded": "every buyer in a bonded-zone region",
        "other": "every buyer elsewhere",
        "all": "every buyer (the series' `import_share`)",
        "components_input": "electronic components bought by any buyer",
    }
    target = {"electronics_bonded": "0.56-0.68"}
    rows = "\n".join(
        f"| {label[k]} | {np.nanmean(vals[k]):.3f} | {np.nanmin(vals[k]):.3f}-{np.nanmax(vals[k]):.3f} "
        f"| {target.get(k, '')} |"
        for k in keys
    )
    text = f"""## 10. Imported inputs and processing trade (baseline)

**Claim.** Electronics assemblers in special customs supervision zones run on processing trade:
processing exporters import 45-54 % of the value of their output (Kee and Tang 2016, AER 106(6), China
2000-2007), i.e. about 0.56-0.68 of their input spending at intermediate inputs of about 80 % of gross
output; Chongqing's processing trade was 44-51 % of its foreign trade in 2019-2021 (Chongqing Customs;
scenarios/data/README.md).  Buyers outside bonded zones import little.
**Configuration.** The same baseline replicates as section 6, at the end of their observed run; shares
of input spending (link values, `observe.link_values`) bought through the international gateways (EU,
ASEAN, East China; the domestic gateway is the rest of China).  The mechanism is docs/ODD.md, Special
customs supervision; electronic components' `foreign_suppliers` and `import_price_factor` are
calibrated to the first row.

| buyers | mean over replicates | range | target |
|---|---|---|---|
{rows}

Verdict (first row in [0.5, 0.75]): {_verdict(ok)}.  The aggregate import share is far below
Chongqing's processing-trade share of *trade* because most of the model's input spending is services
and domestic materials, which are not imported.
"""
    return text, ok


def _spatial(args: tuple) -> tuple:
    """The spatial drift of ``scenarios/<name>.toml`` for one seed
    (:func:`agglomeration.validation.spatial_drift`)."""
    seed, steps, name = args
    from agglomeration.scenario import load_scenario

    scen = load_scenario(ROOT / "scenarios" / f"{name}.toml")
    return seed, V.spatial_drift(scen, steps, replicate_seed=seed)


def _windows(args: tuple) -> tuple:
    """The distribution over regions after each window of the observed run of
    ``scenarios/<name>.toml`` with ``overrides`` for one seed
    (:func:`agglomeration.validation.drift_windows`)."""
    seed, windows, window, name, overrides = args
    from agglomeration.scenario import load_scenario

    scen = load_scenario(ROOT / "scenarios" / f"{name}.toml", dict(overrides))
    return seed, V.drift_windows(scen, windows, window, replicate_seed=seed)


#: the reference the first window's move was once held to: this multiple of the sampling noise of its
#: own entry and exit (``validation.drift_noise``); reported, no longer the verdict (section 11)
SPATIAL_NOISE_FACTOR = 2.0
#: the verdict (an equivalence test): the first window's move in excess of the reference windows'
#: (``validation.start_transient``) plus this many standard errors of that excess over the seeds must
#: lie below the sampling noise of the first window's entry and exit (``validation.drift_noise``)
TRANSIENT_SE_FACTOR = 2.0


def spatial_section(
    results: list[tuple],
    steps: int,
    data_start: list[tuple],
    windows: list[tuple],
    data_start_windows: list[tuple],
    frozen_windows: list[tuple],
) -> tuple[str, bool]:
    """Whether the observed run starts settled: how far the firms' distribution over regions moves in
    the first ``steps`` quarters (``results``, :func:`validation.spatial_drift`) and whether that first
    window moves more than later ones (``windows``, :func:`validation.drift_windows`); the verdict is on
    ``frozen_windows``, the same runs with the policy frozen.  ``data_start*``: the same for
    scenarios/data_start.toml, reported, no verdict."""
    rows, to_start, moved, cells, cells_start, noise, cell_noise = [], [], [], [], [], [], []
    for seed, r in sorted(results, key=lambda x: x[0]):
        dist = V.drift_distances(r, seed)
        a, b, c, c0 = dist["to_start"], dist["moved"], dist["cells_moved"], dist["cells_to_start"]
        noise.append(dist["noise"])
        cell_noise.append(
            V.drift_noise(
                np.ravel(r["cells_start"]), r["firms"][1], r["entries"], r["exits"], seed=seed
            )[0]
        )
        to_start.append(a)
        moved.append(b)
        cells.append(c)
        cells_start.append(c0)
        d = r["end"] - r["start"]
        top = np.argsort(-np.abs(d))[:3]
        moves = ", ".join(f"{r['regions'][k]} {100 * d[k]:+.1f}" for k in top)
        rows.append(
            f"| {seed} | {a:.3f} | {b:.3f} | {noise[-1]:.3f} | {c0:.3f} | {c:.3f} | {moves} "
            f"| {', '.join(map(str, r['firms']))} | {r['entries']}, {r['exits']} |"
        )
    bound = SPATIAL_NOISE_FACTOR * float(np.mean(noise))
    win = _window_summary(windows)
    frozen = _window_summary(frozen_windows)
    tolerance = frozen["first_noise"]
    ok = _transient_ok(frozen, tolerance)
    churn_note = (
        ": entrants choose regions by profits that move, so a settled economy churns more than sampling "
        "alone would make it, and a bound on the noise does not tell a transient from that churn"
        if win["later"] >= SPATIAL_NOISE_FACTOR * win["later_noise"]
        else ""
    )
    ordered = [r for _, r in sorted(results, key=lambda x: x[0])]
    share = {k: np.array([r[k] for r in ordered]) for k in ("data", "start", "end")}
    region_rows = "\n".join(
        f"| {name} | {100 * share['data'][:, k].mean():.1f} | {100 * share['start'][:, k].mean():.1f} "
        f"({100 * share['start'][:, k].min():.1f}-{100 * share['start'][:, k].max():.1f}) "
        f"| {100 * share['end'][:, k].mean():.1f} |"
        for k, name in enumerate(ordered[0]["regions"])
    )
    text = f"""## 11. How settled the observed run's start is, between regions and within them (baseline)

**Claim.** The burn-in leaves a state that the observed run does not leave at once: its first {steps}
quarters move the firms between regions about as much as the windows of {steps} quarters from quarter
{2 * steps} on do (the model's own churn between regions), so differences between runs are effects,
not a transient of the set-up.  The policy is frozen through the burn-in and acts from the observed
run's first quarter.  The firms it moves are its effect, not the set-up's, so the verdict is on the
same runs with the policy frozen through them too (`--set policy.enabled=false`).  The test is one of
equivalence: the first window's excess over those windows, plus {TRANSIENT_SE_FACTOR:g} standard errors over the seeds, must lie below the sampling noise
of the first window's entry and exit (`validation.drift_noise`: the run's exits leave at random and its
entrants choose regions with the start's shares, 2,000 simulations).  A PASS bounds that excess, not the
transient itself: the excess is a lower bound on the transient (total variation does not add up: a
transient in another direction than the churn raises the move by less than its own size).  This check first held the first window to
{SPATIAL_NOISE_FACTOR:g} times that noise, but the windows from quarter {2 * steps} on move
{win["later"] / win["later_noise"]:.1f} times it{churn_note}.  That comparison is still reported below.  (Until the burn-in
stopped resetting wages and rents to the data at its end, the first window moved 0.149; docs/ODD.md
section 8, CHANGELOG.md.)
**Configuration.** The baseline, seeds {", ".join(str(s) for s, _ in sorted(results))};
`agglomeration.validation.spatial_drift`: the data's distribution (the initial firms), the start of the
observed run, and {steps} quarters later; `agglomeration.validation.drift_windows`: the same seeds'
distributions after each of {win["n_windows"]} consecutive windows of {steps} quarters, and
`validation.start_transient`: the first window's move less the mean move of the windows from quarter
{2 * steps} on (the second window is left out: a transient may last into it), over the seeds; total
variation distance (the share of firms that would have to change region).  `python
scripts/spatial_stability.py` runs the same with overrides (`--windows N` for the windows).

| seed | regions: data -> start | regions: start -> +{steps} quarters | sampling noise of that move | cells: data -> start | cells: start -> +{steps} quarters | largest moves between regions in the run (share points) | firms: data, start, end | entries, exits |
|---:|---:|---:|---:|---:|---:|---|---|---|
{chr(10).join(rows)}
| mean | {np.mean(to_start):.3f} | {np.mean(moved):.3f} | {np.mean(noise):.3f} | {np.mean(cells_start):.3f} | {np.mean(cells):.3f} | | | |

Where the start departs from the data, by region (share of firms, %, mean over the seeds; the range
over seeds in brackets):

| region | data | start of the observed run | +{steps} quarters |
|---|---:|---:|---:|
{region_rows}

The seeds' mean start is {V.total_variation(share["data"].mean(axis=0), share["start"].mean(axis=0)):.2f} from the data's mean
distribution, against {np.mean(to_start):.2f} for a single seed: each seed tips some regions up and others down
(the ranges), and which ones differs by seed; the data's distribution is not a stable state of the
model (docs/ODD.md, Known limitations, `behaviour.accounts.uncontrolled_share`).

The moves window by window (mean over the seeds).  The common move is the distance between the seeds'
mean distributions at the window's ends; seeds that moved independently would show about their mean
move / sqrt(seeds) (the last column), so only a common move above that has a direction:

| quarters | move between regions | its standard error | sampling noise of entry and exit | common move | common move of independent seeds |
|---|---:|---:|---:|---:|---:|
{win["rows"]}

With the policy as in the baseline the first window's excess is {win["excess"]:+.3f} (standard error
{win["excess_se"]:.3f}); with the policy frozen the windows move {", ".join(f"{x:.3f}" for x in frozen["means"])}.

Verdict (policy frozen: the first window's excess over the windows from quarter {2 * steps} on, plus
{TRANSIENT_SE_FACTOR:g} standard errors, below the first window's noise {tolerance:.3f}): {_verdict(ok)}
(excess {frozen["excess"]:+.3f}, standard error {frozen["excess_se"]:.3f}, so
{frozen["excess"] + TRANSIENT_SE_FACTOR * frozen["excess_se"]:.3f} with the margin: the first {steps} quarters move
{frozen["first"]:.3f} of the firms, the windows from quarter {2 * steps} on {frozen["later"]:.3f} on
average).
Against the sampling noise of entry and exit ({SPATIAL_NOISE_FACTOR:g} x {np.mean(noise):.3f} = {bound:.3f}) the
first window's move is {np.mean(moved) / np.mean(noise):.1f} times the noise (single seeds
{min(moved):.3f}-{max(moved):.3f}; the standard error of the mean about {np.std(moved, ddof=1) / np.sqrt(len(moved)):.3f}) and the
windows from quarter {2 * steps} on move {win["later"] / win["later_noise"]:.1f} times it.  The start itself is
{np.mean(to_start):.2f} from the data's distribution: the location shifters the burn-in backs out while
its controller runs do not hold the data once it stops (docs/ODD.md section 8), so levels by region are
the model's, not Chongqing's.  **Within the regions the sectors are not settled** (no verdict; the
region x sector cells, "cells"): the start is {np.mean(cells_start):.2f} from the data's cells, the
first {steps} quarters move {np.mean(cells):.2f} of the firms between cells (sampling noise of entry
and exit over the cells {np.mean(cell_noise):.3f}, `validation.drift_noise`), and the sectors keep concentrating for about 80
quarters (the mean locational Gini of seeds 1-3 rises from about 0.61 to 0.68 in 20 quarters and 0.73
in 40; on the closed model of 2026-12-04, 0.77 in 80 and 0.78 in 160, with or without demand growth
and policy), while small cells keep emptying: occupied cells 128 -> 82 -> 53 of 150 after 80 and 200
quarters, the zones' chain coverage 0.89 -> 0.54 -> 0.33 (`python scripts/cell_extinction.py --steps 200 --every 40`,
docs/ODD.md "Known limitations").  A longer burn-in settles the cells (`burn_in = 400`, seeds 1-3: cells move 0.056 in 20
quarters, the Gini 0.76 -> 0.78 in 40) at the
price of a start further from the data's regions (docs/ODD.md section 8).{_data_start_text(data_start, steps, data_start_windows)}
"""
    return text, ok


def _window_summary(windows: list[tuple]) -> dict:
    """Section 11's numbers from :func:`validation.drift_windows` results (seed, result):
    :func:`validation.window_summary` with its table rows and the window count."""
    try:
        win = V.window_summary(windows)
    except ValueError as e:
        raise ValueError(f"section 11 needs the windows of at least two seeds: {e}") from None
    step = win["window"]
    rows = [
        f"| {k * step}-{(k + 1) * step} | {win['moved'][k]:.3f} | {win['moved_se'][k]:.3f} "
        f"| {win['noise'][k]:.3f} | {win['common'][k]:.3f} | {win['independent'][k]:.3f} |"
        for k in range(len(win["moved"]))
    ]
    return {**win, "rows": "\n".join(rows), "means": list(win["moved"]), "n_windows": len(rows)}


def _transient_ok(win: dict, tolerance: float) -> bool:
    """Section 11's verdict: the transient's upper bound (excess + 2 standard errors) below
    ``tolerance``, the first window's sampling noise [share of firms]."""
    return bool(win["excess"] + TRANSIENT_SE_FACTOR * win["excess_se"] < tolerance)


def _data_start_text(
    results: list[tuple] | None, steps: int, windows: list[tuple] | None = None
) -> str:
    """The sentence on scenarios/data_start.toml's start and drift (empty without its runs)."""
    if not results:
        return ""
    dist = [V.drift_distances(r, seed) for seed, r in results]
    a, b, n, c = (
        float(np.mean([d[k] for d in dist]))
        for k in ("to_start", "moved", "noise", "cells_to_start")
    )
    text = f"""  Starting at the data: a damped location controller run to the end of the
burn-in (`scenarios/data_start.toml`, the same seeds; `python scripts/spatial_stability.py --scenario
scenarios/data_start.toml --windows {len(windows[0][1]["entries"]) if windows else 5}`) starts {a:.3f}
from the data's regions and {c:.3f} from its cells and then moves {b:.3f} of the firms between regions
in {steps} quarters, {b / n:.1f} times the noise"""
    if windows:
        win = _window_summary(windows)
        moves = ", ".join(f"{x:.3f}" for x in win["means"])
        text += f"""; window by window {moves} (with its policy acting: transient
{win["excess"]:+.3f}, standard error {win["excess_se"]:.3f})"""
    return text + " (docs/ODD.md section 8)."


def sorting_section(results: list[tuple]) -> tuple[str, bool]:
    plt = _plt()
    keys = [
        "core_share",
        "mean_log_z_core",
        "mean_log_z_periphery",
        "entrant_log_z_core",
        "entrant_log_z_periphery",
        "top_decile_core_share",
        "firms",
    ]
    by: dict[float, dict[str, list]] = {}
    for d, _seed, r in results:
        for k in keys:
            by.setdefault(d, {}).setdefault(k, []).append(r[k])
    ds = sorted(by)
    base, pol = by[ds[0]], by[ds[-1]]

    def m(x: list) -> float:
        return float(np.nanmean(x))

    def sd(x: list) -> float:
        return float(np.nanstd(x, ddof=1)) if len(x) > 1 else float("nan")

    gap_base = m(base["mean_log_z_core"]) - m(base["mean_log_z_periphery"])
    gap_pol = m(pol["mean_log_z_core"]) - m(pol["mean_log_z_periphery"])
    ok = (
        m(pol["core_share"]) < m(base["core_share"])  # the policy moves firms to the periphery
        and m(pol["entrant_log_z_periphery"])
        < m(pol["entrant_log_z_core"])  # low-z entrants go there
        and gap_pol > gap_base  # sorting sharpens
        and m(pol["top_decile_core_share"]) > m(pol["core_share"])  # the best stay in the core
    )
    fig, axs = plt.subplots(1, 2, figsize=(10, 4))
    labels = ["no subsidy", "periphery entry subsidy"]
    x = np.arange(2)
    for i, (reg, key) in enumerate(
        (("core", "mean_log_z_core"), ("periphery", "mean_log_z_periphery"))
    ):
        vals = [m(by[d][key]) for d in (ds[0], ds[-1])]
        errs = [sd(by[d][key]) for d in (ds[0], ds[-1])]
        axs[0].bar(x + (i - 0.5) * 0.35, vals, 0.35, yerr=errs, label=reg)
    axs[0].set_xticks(x, labels)
    axs[0].set_ylabel("mean log productivity of firms")
    axs[0].legend()
    axs[0].set_title("Productivity by region")
    vals = [
        [m(by[d]["core_share"]) for d in (ds[0], ds[-1])],
        [m(by[d]["top_decile_core_share"]) for d in (ds[0], ds[-1])],
    ]
    axs[1].bar(x - 0.175, vals[0], 0.35, label="all firms")
    axs[1].bar(x + 0.175, vals[1], 0.35, label="top-decile productivity firms")
    axs[1].set_xticks(x, labels)
    axs[1].set_ylabel("share located in the core")
    axs[1].legend()
    axs[1].set_title("Where the most productive firms are")
    fig.tight_layout()
    fig.savefig(IMG / "validation_sorting.png", dpi=120)
    plt.close(fig)
    n = len(base["core_share"])

    def row(name: str, key: str) -> str:
        return f"| {name} | {m(base[key]):.3f} +- {sd(base[key]):.3f} | {m(pol[key]):.3f} +- {sd(pol[key]):.3f} |"

    text = f"""## 7. Policy evidence: spatial selection and sorting (Baldwin-Okubo)

**Claim.** A regional policy that lowers the cost of locating in the periphery attracts relatively
low-productivity firms there, while the most productive firms stay in (or move to) the core; with
heterogeneous firms the core is more productive on average (selection and sorting).
**Source.** Baldwin & Okubo (2006), J. Economic Geography 6(3):323-346; THEORY.md section 8.
**Configuration.** `scenarios/benchmarks/sorting.toml` (extends the FC benchmark): core R1 with 60% of
immobile expenditure, phi = 0.5, lognormal productivity (sd 0.5), fixed costs calibrated to initial
profits, Poisson entry with multinomial-logit location choice over one year of expected profit minus a
one-off entry cost of 4 fixed costs, exit after repeated losses, relocation (probability 0.02, cost one
fixed cost); variant "periphery entry subsidy" = `policy.delegation.R2 = 1` with
`delegation_entry_effect = 0.75` (the periphery's entry cost falls by 75%). 120 steps, {n} replicates
each; entrants = firms born during the run. `validation.sorting_check`. Batch version:
`experiments/validation/sorting.toml`.

![sorting](img/validation_sorting.png)

| measure (mean +- sd over replicates) | no subsidy | periphery entry subsidy |
|---|---|---|
{row("share of firms in the core", "core_share")}
{row("mean log productivity, core", "mean_log_z_core")}
{row("mean log productivity, periphery", "mean_log_z_periphery")}
{row("entrants' mean log productivity, core", "entrant_log_z_core")}
{row("entrants' mean log productivity, periphery", "entrant_log_z_periphery")}
{row("share of the top-decile firms in the core", "top_decile_core_share")}
{row("live firms", "firms")}

Core-periphery productivity gap: {gap_base:.3f} without, {gap_pol:.3f} with the subsidy. **Verdict:**
{_verdict(ok)} (criteria: the subsidy moves firms to the periphery; the periphery's entrants are less
productive than the core's; the gap widens; the top decile is more concentrated in the core than firms
in general). Mechanism: an entrant's expected profit gain from the larger market scales with
productivity^(sigma-1), while the subsidy is a lump sum, so it tips the location choice of the least
productive entrants only.
"""
    return text, ok


def _growth_figure(plt, panels: dict, shocks: list[tuple]) -> None:
    fig, axs = plt.subplots(1, 2, figsize=(11, 4))
    for label, style in (("baseline", "-"), ("fixed population", "--")):
        agg = []
        for p in panels[label]:
            by = p.groupby("step")
            emp = by["employment"].sum()
            agg.append(
                {
                    "nominal wage": (p["wage"] * p["employment"]).groupby(p["step"]).sum() / emp,
                    "real wage": (p["real_wage"] * p["employment"]).groupby(p["step"]).sum() / emp,
                    "CPI": by["cpi_all"].first(),
                }
            )
        years = np.asarray(agg[0]["CPI"].index) / 4
        for (name, _), color in zip(agg[0].items(), ("C0", "C1", "C2")):
            mean = np.mean([np.log(a[name].to_numpy() / a[name].iloc[0]) for a in agg], axis=0)
            axs[0].plot(years, mean, style, color=color, label=f"{name} ({label})")
    axs[0].set_xlabel("years from 2021")
    axs[0].set_ylabel("log change since step 0")
    axs[0].legend(fontsize=7)
    axs[0].set_title("Wages and prices (mean over replicates)")
    regions, eps_values, shock, _, steps = SHOCK
    x = np.arange(len(regions))
    for i, eps in enumerate(eps_values):
        vals = [
            np.mean([r for g, e, r in shocks if g == reg and e == eps]) / shock for reg in regions
        ]
        errs = [
            np.std([r for g, e, r in shocks if g == reg and e == eps], ddof=1) / shock
            for reg in regions
        ]
        axs[1].bar(
            x + (i - 0.5) * 0.35, vals, 0.35, yerr=errs, label=f"eps = {eps[0]:g}, eta = {eps[1]:g}"
        )
    axs[1].set_xticks(x, [f"{r}" for r in regions])
    axs[1].set_ylabel(f"d log wage / d log TFP after {steps} quarters")
    axs[1].legend()
    axs[1].set_title("Wage response to a regional TFP shock")
    fig.tight_layout()
    fig.savefig(IMG / "validation_wages.png", dpi=120)
    plt.close(fig)


def growth_section(results: list[tuple], shocks: list[tuple]) -> tuple[str, bool, bool]:
    """Section 8 (growth and labour); returns (text, labour-market verdict, baseline-prices verdict)."""
    plt = _plt()
    stats: dict[str, dict[str, list]] = {}
    panels: dict[str, list] = {}
    for label, _seed, r, panel in results:
        panels.setdefault(label, []).append(panel)
        for k, v in r.items():
            stats.setdefault(label, {}).setdefault(k, []).append(v)
    resp = {(g, e): np.asarray(r) for g, e, r in shocks}
    regions, eps_values, shock, firms, steps = SHOCK
    _growth_figure(plt, panels, [(g, e, x) for (g, e), v in resp.items() for x in v])

    def m(label: str, k: str) -> float:
        return float(np.mean(stats[label][k]))

    def sd(label: str, k: str) -> float:
        x = stats[label][k]
        return float(np.std(x, ddof=1)) if len(x) > 1 else float("nan")

    def tstat(x: np.ndarray) -> float:
        return float(x.mean() / (x.std(ddof=1) / np.sqrt(len(x))))

    wage_path = _outside_wage_growth()
    b, f = "baseline", "fixed population"
    labour_ok = (
        abs(m(b, "wage") - wage_path) < 0.015
        and all(tstat(resp[(g, eps_values[0])]) > 3 for g in regions)
        and all(tstat(resp[(g, eps_values[0])] - resp[(g, eps_values[1])]) > 3 for g in regions)
        and -0.02 < m(f, "cpi") < 0.03
        and 0.67 < m(f, "real_wage_to_productivity") < 1.5
    )
    prices_ok = -0.02 < m(b, "cpi") < 0.03
    keys = [
        ("nominal wage", "wage"),
        ("nominal value added per worker", "labour_productivity"),
        ("real wage (/ CPI)", "real_wage"),
        ("real value added per worker (/ PPI)", "real_labour_productivity"),
        ("consumer prices (CPI)", "cpi"),
        ("producer prices (PPI)", "ppi"),
        ("firms' mean log productivity", "tfp"),
    ]
    rows = "\n".join(
        f"| {name} | {100 * m(b, k):.1f} +- {100 * sd(b, k):.1f} | {100 * m(f, k):.1f} +- {100 * sd(f, k):.1f} |"
        for name, k in keys
    )
    ratio = (
        f"| real wage growth / real labour-productivity growth | {m(b, 'real_wage_to_productivity'):.2f} | "
        f"{m(f, 'real_wage_to_productivity'):.2f} |"
    )
    el = (
        f"| regional panel: d log wage on d log value added per worker | "
        f"{m(b, 'elasticity_wage_lp'):.2f} +- {sd(b, 'elasticity_wage_lp'):.2f} | "
        f"{m(f, 'elasticity_wage_lp'):.2f} +- {sd(f, 'elasticity_wage_lp'):.2f} |\n"
        f"| regional panel: d log wage on d mean log productivity | "
        f"{m(b, 'elasticity_wage_tfp'):.2f} +- {sd(b, 'elasticity_wage_tfp'):.2f} | "
        f"{m(f, 'elasticity_wage_tfp'):.2f} +- {sd(f, 'elasticity_wage_tfp'):.2f} |"
    )
    shock_rows = "\n".join(
        f"| {g} | {eps[0]:g}, {eps[1]:g} | {resp[(g, eps)].mean() / shock:.2f} +- "
        f"{resp[(g, eps)].std(ddof=1) / np.sqrt(len(resp[(g, eps)])) / shock:.2f} |"
        for g in regions
        for eps in eps_values
    )
    n = len(stats[b]["wage"])
    nshock = len(next(iter(resp.values())))
    text = f"""## 9. Wages, prices and productivity (growth and labour)

**Claims.** (a) Nominal wages follow the outside wage path (Chongqing's average wage, data then
projection) and regional labour demand; (b) a region's wage rises with its productivity: a permanent
TFP shock to one region raises its wage, less so when labour supply is more elastic; (c) with
productivity growing at the data's drift, nominal and real paths are consistent with the data: CPI
inflation within [-2, +3] %/year (Chongqing / China 2021-2024: CPI +0.2 to +2.0 %/year) and real wages
growing with real labour productivity (ratio in [0.67, 1.5]; in Chongqing real wages of urban non-private
units grew 8.0 and 3.1 % in 2021 and 2022 against real GDP growth of 8.3 and 2.6 %: one for one).
**Operational definitions.** Aggregate: annualised log growth over the run of the employment-weighted
nominal wage, the real wage (each region's wage over its CPI, `observe.price_indices`), and value added
per worker (revenue - input purchases) at current and at initial producer prices (PPI: revenue-weighted
geometric mean of firms' prices, by sector). Regional: the elasticity of a region's wage after {steps}
quarters to a permanent shock of {shock} log points to its productivity shifter theta_rs (paired seeds:
the same seed with and without the shock), and, descriptively, OLS slopes over region x year changes
with year effects removed. **Configuration.** `scenarios/baseline.toml` (3,000 firms, 40 quarters from
2021, growth table `scenarios/data/growth.csv`), {n} replicates; "fixed population" = the baseline with
entry, exit and relocation off and no idiosyncratic shocks, so productivity moves only with the
frontier drift, the spillovers and the reversion toward the local frontier. Shock runs: the baseline with {firms} firms, {nshock} seeds. Functions
`validation.labour_panel`, `validation.wage_productivity`, `validation.wage_shock_response`.

![wages](img/validation_wages.png)

| annualised growth, % per year (mean +- sd over replicates) | baseline | fixed population |
|---|---|---|
{rows}
{ratio}
{el}

Outside wage path (data, 2021-2030 central projection): {100 * wage_path:.1f} %/year.

| region | labour supply elasticities eps (migration), eta (commuting) | d log wage / d log TFP (mean +- se) |
|---|---|---|
{shock_rows}

**Verdict, labour market:** {_verdict(labour_ok)} (criteria: baseline nominal wage growth within 1.5 pp
of the outside wage path; the shock raises the region's wage by more than 3 standard errors and by more
than 3 standard errors more with the default elasticities (eps, eta) = {eps_values[0]} than with
{eps_values[1]}, for a region in a commuting zone of six areas (LJ) and a region alone (WZ); in the fixed-population run CPI inflation in
[-2, +3] %/year and real wage / real labour-productivity growth in [0.67, 1.5]).
**Verdict, baseline prices:** {_verdict(prices_ok)} (criterion: baseline CPI inflation in [-2, +3] %/year).
The baseline's firms' mean log productivity rises {100 * m(b, "tfp"):.1f} log points a year against the
frontier drift's {100 * 4 * _drift():.1f} (`behaviour.learning.drift`, from data): the difference is selection
by entry and exit and the shocks of the learning submodel (issue 16, "mean log productivity rises 0.79
in 10 years"). Nominal demand grows with the data, so this extra productivity growth shows up as
falling prices (CPI {100 * m(b, "cpi"):+.1f} %/year); it is a property of the firm dynamics, not of the
growth paths.  In the fixed population mean log productivity rises {100 * m(f, "tfp"):.1f} log points a
year, less than the drift: without shocks, firms above their local frontier revert toward it (the
learning submodel's mean reversion), and prices rise (CPI {100 * m(f, "cpi"):+.1f} %/year).
"""
    return text, labour_ok, prices_ok


def _outside_wage_growth() -> float:
    """Mean annual log growth of the baseline's outside wage index over 2021-2030 (central)."""
    from agglomeration.behaviour.growth import growth_paths
    from agglomeration.scenario import load_scenario
    from agglomeration.world import build_world

    scen = load_scenario(ROOT / "scenarios" / "baseline.toml")
    paths = growth_paths(scen, build_world(scen))
    return float(np.log(paths.wage_index(40)) / 10)


def _drift() -> float:
    from agglomeration.behaviour.learning import LearningParams

    return float(LearningParams().drift)


# ------------------------------------------------------------------------------------ experiments
def write_experiments() -> None:
    """Write the batch versions of the checks (experiments/validation/*.toml)."""
    EXP.mkdir(parents=True, exist_ok=True)
    head = "# Generated by scripts/validate_all.py --write-experiments; run with `agglomeration batch FILE`.\n"
    sc = "../../scenarios/benchmarks"
    dec = lambda phi, s=5.0: float(np.log(V.tau_for_phi(phi, s)))  # noqa: E731
    # FC magnification: grid over R1 income (s_E = R1/(R1 + 100)) x distance_elasticity (phi at sigma 5)
    s_es = [0.45, 0.5, 0.55, 0.6, 0.65]
    phis = [0.1, 0.3, 0.5, 0.7]
    (EXP / "fc_magnification.toml").write_text(
        head
        + f"""# Footloose capital: region 1's long-run firm share (regions table, firms by region at the last step)
# against s_n = 1/2 + (1+phi)/(1-phi)(s_E - 1/2).  s_E = R1 income / (R1 + 100); phi = e^(-4 delta).
# s_E = {s_es}; phi = {phis}
name = "fc_magnification"
scenario = "{sc}/footloose_capital.toml"
replicates = 2
seed = 20260101
steps = 300
[overrides]
"regions.overrides.R2.immobile_income" = 100.0
"behaviour.relocation.probability" = 0.02  # the last-step share jitters by about p/2 (no averaging here)
[[variants]]
name = "fc"
[design]
kind = "grid"
[design.parameters."regions.overrides.R1.immobile_income"]
values = {[round(100 * s / (1 - s), 6) for s in s_es]}
[design.parameters."sectors.overrides.M.distance_elasticity"]
values = {[round(dec(p), 12) for p in phis]}
[output]
regions = true
""",
        encoding="utf-8",
    )
    # FE tomahawk: grid over distance_elasticity, variants near-symmetric / concentrated start
    tphis = [round(x, 3) for x in np.arange(0.55, 0.851, 0.01)]
    (EXP / "fe_tomahawk.toml").write_text(
        head
        + f"""# Footloose entrepreneur tomahawk (sigma=5, mu=0.4): region 1's firm share at the last step against phi,
# from a near-symmetric and a concentrated start.  phi = e^(-4 delta); phi grid = {tphis}
name = "fe_tomahawk"
scenario = "{sc}/footloose_entrepreneur.toml"
replicates = 1
seed = 20260102
steps = 250
[overrides]
"firms.initial_count" = 200
[[variants]]
name = "near_symmetric"
overrides = {{ "regions.initial_firms_file" = "data/initial_firms_one_055.csv" }}
[[variants]]
name = "concentrated"
overrides = {{ "regions.initial_firms_file" = "data/initial_firms_one_090.csv" }}
[design]
kind = "grid"
[design.parameters."sectors.overrides.M.distance_elasticity"]
values = {[round(dec(p), 12) for p in tphis]}
[output]
regions = true
""",
        encoding="utf-8",
    )
    # FE break points: variants (sigma, mu, phi_B + offset)
    lines = [
        head,
        "# Footloose entrepreneur break points: for each (sigma, mu), runs at phi_B + offset from a near-\n"
        "# symmetric start; the break point lies between the last dispersed and the first agglomerated offset.\n",
        'name = "fe_break_points"',
        f'scenario = "{sc}/footloose_entrepreneur.toml"',
        "replicates = 2",
        "seed = 20260103",
        "steps = 250",
        "[overrides]",
        '"firms.initial_count" = 200',
        '"regions.initial_firms_file" = "data/initial_firms_one_055.csv"',
    ]
    for s, m in FE_PAIRS:
        pb = V.fe_break_point(s, m)
        for off in (-0.02, -0.01, -0.005, 0.005, 0.01, 0.02):
            tag = f"s{s:g}_mu{m:g}_{'m' if off < 0 else 'p'}{abs(off):g}".replace(".", "")
            lines += [
                "[[variants]]",
                f'name = "{tag}"',
                f'overrides = {{ "sectors.overrides.M.sigma" = {s}, "sectors.overrides.M.final_share" = {m}, '
                f'"sectors.overrides.M.distance_elasticity" = {dec(pb + off, s):.12f} }}',
            ]
    lines += ["[output]", "regions = true", ""]
    (EXP / "fe_break_points.toml").write_text("\n".join(lines), encoding="utf-8")
    # vertical linkages: variants per phi (both sectors share the distance elasticity)
    vphis = [0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.7, 0.9]
    lines = [
        head,
        "# Vertical linkages: co-location of U and D (regions table) against phi (both sectors, sigma 5).\n",
        'name = "vertical_linkages"',
        f'scenario = "{sc}/vertical_linkages.toml"',
        "replicates = 3",
        "seed = 20260104",
        "steps = 200",
        "[overrides]",
        '"firms.initial_count" = 200',
        '"regions.initial_firms_file" = "data/initial_firms_vertical_060.csv"',
    ]
    for p in vphis:
        d = dec(p)
        lines += [
            "[[variants]]",
            'name = "phi_' + f"{p:g}".replace(".", "p") + '"',
            f'overrides = {{ "sectors.overrides.U.distance_elasticity" = {d:.12f}, '
            f'"sectors.overrides.D.distance_elasticity" = {d:.12f} }}',
        ]
    lines += ["[output]", "regions = true", ""]
    (EXP / "vertical_linkages.toml").write_text("\n".join(lines), encoding="utf-8")
    (EXP / "sorting.toml").write_text(
        head
        + f"""# Baldwin-Okubo sorting: a 75% lower entry cost in the periphery R2 (full delegation) with heterogeneous
# firms; compare productivity by region in the firm snapshots (output.firms_at) of the two variants.
name = "sorting"
scenario = "{sc}/sorting.toml"
replicates = 5
seed = 20260105
steps = 120
[[variants]]
name = "no_subsidy"
[[variants]]
name = "periphery_entry_subsidy"
overrides = {{ "policy.delegation.R2" = 1.0 }}
[output]
regions = true
firms_at = [120]
""",
        encoding="utf-8",
    )
    snaps = list(range(40, 121, 4))
    (EXP / "stylized_baseline.toml").write_text(
        head
        + f"""# Stylised facts on the baseline: annual firm snapshots (steps 40..120) for the size tail, growth
# rates and entry/exit (agglomeration.metrics.stylized).
name = "stylized_baseline"
scenario = "../../scenarios/baseline.toml"
replicates = 4
seed = 20260106
steps = 120
[[variants]]
name = "baseline"
[[variants]]
name = "size_elasticity_0p25"
overrides = {{ "behaviour.learning.shock_size_elasticity" = 0.25 }}
[[variants]]
name = "line_birth_0p018"
overrides = {{ "behaviour.lines.birth_rate" = 0.018 }}
[output]
regions = true
firms_at = {snaps}
""",
        encoding="utf-8",
    )


# ------------------------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--quick", action="store_true", help="smaller grids (smoke test)")
    from agglomeration.experiment.pools import WORKERS_HELP, default_workers

    ap.add_argument("--workers", type=int, default=default_workers(), help=WORKERS_HELP)
    ap.add_argument(
        "--write-experiments",
        action="store_true",
        help="only (re)write experiments/validation/*.toml",
    )
    args = ap.parse_args(argv)
    if args.write_experiments:
        write_experiments()
        return 0
    IMG.mkdir(parents=True, exist_ok=True)
    q = args.quick
    t0 = _dt.datetime.now(_dt.UTC)
    fc_jobs = [
        (s, p, 0, *((200, 160) if q else (400, 200)))
        for s in ((0.45, 0.55, 0.6) if q else (0.45, 0.5, 0.55, 0.6, 0.65))
        for p in ((0.2, 0.5) if q else (0.1, 0.3, 0.5, 0.7))
    ]
    fe_jobs = [(s, m, 200, 250) for s, m in (FE_PAIRS[:3] if q else FE_PAIRS)]
    tphis = np.round(np.arange(0.55, 0.851, 0.03 if q else 0.01), 3)
    toma_jobs = [(float(p), st_, 0, 200, 250) for p in tphis for st_ in (0.55, 0.9)]
    vphis = (
        (0.1, 0.2, 0.3, 0.5, 0.9) if q else (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.7, 0.9)
    )
    vert_jobs = [(p, s, 200, 200) for p in vphis for s in range(2 if q else 3)]
    sort_jobs = [(d, s, 120) for d in (0.0, 1.0) for s in range(2 if q else 5)]
    reps = 2 if q else 4
    steps, burn = (80, 40) if q else (120, 40)
    panel_jobs = [("baseline", {}, s, steps, burn) for s in range(reps)]
    # trade-off rows (section 8): the size tail against the size-variance slope
    probes = {} if q else PROBES
    panel_jobs += [(lab, ov, s, steps, burn) for lab, ov in probes.items() for s in range(2)]
    nlab = 3 if q else 5
    labour_jobs = [
        (lab, ov, s, 40)
        for lab, ov in (("baseline", {}), ("fixed population", FIXED_POPULATION))
        for s in range(nlab)
    ]
    shock_jobs = [(g, e, list(range(3 if q else 12))) for g in SHOCK[0] for e in SHOCK[1]]
    entrant_jobs = [(s, 40) for s in range(2 if q else 4)]
    spatial_steps = 20
    spatial_seeds = (1, 2) if q else (1, 2, 3, 4, 5, 6)
    spatial_jobs = [(s, spatial_steps, "baseline") for s in spatial_seeds]
    data_start_jobs = [(s, spatial_steps, "data_start") for s in spatial_seeds]
    n_windows = 3 if q else 5
    window_sets = {  # label: (scenario, overrides)
        "baseline": ("baseline", ()),
        "frozen": (
            "baseline",
            (("policy.enabled", False),),
        ),  # the set-up without the policy's onset
        "data_start": ("data_start", ()),
    }
    window_jobs = [(s, n_windows, spatial_steps, name, ov) for name, ov in window_sets.values()
                   for s in spatial_seeds]  # fmt: skip
    window_labels = [label for label in window_sets for _ in spatial_seeds]

    ctx = mp.get_context("spawn")
    with ProcessPoolExecutor(max_workers=args.workers, mp_context=ctx) as ex:
        f_fc = [ex.submit(_fc, j) for j in fc_jobs]
        f_fe = [ex.submit(_fe_break, j) for j in fe_jobs]
        f_to = [ex.submit(_tomahawk, j) for j in toma_jobs]
        f_ve = [ex.submit(_vertical, j) for j in vert_jobs]
        f_so = [ex.submit(_sorting, j) for j in sort_jobs]
        f_pa = [ex.submit(_panel, j) for j in panel_jobs]
        f_la = [ex.submit(_labour, j) for j in labour_jobs]
        f_sh = [ex.submit(_shock, j) for j in shock_jobs]
        f_en = [ex.submit(_entrants, j) for j in entrant_jobs]
        f_sp = [ex.submit(_spatial, j) for j in spatial_jobs]
        f_ds = [ex.submit(_spatial, j) for j in data_start_jobs]
        f_wi = [ex.submit(_windows, j) for j in window_jobs]
        fc = [f.result() for f in f_fc]
        fe = [f.result() for f in f_fe]
        to = [f.result() for f in f_to]
        ve = [f.result() for f in f_ve]
        so = [f.result() for f in f_so]
        pa = [f.result() for f in f_pa]
        la = [f.result() for f in f_la]
        sh = [f.result() for f in f_sh]
        en = [f.result() for f in f_en]
        sp = [f.result() for f in f_sp]
        ds = [f.result() for f in f_ds]
        wi = [(label, f.result()) for label, f in zip(window_labels, f_wi, strict=True)]
    panels: dict[str, list] = {}
    counts: dict[str, list] = {}
    for label, _seed, (panel, cnt) in sorted(pa, key=lambda r: (r[0] != "baseline", r[0], r[1])):
        panels.setdefault(label, []).append(panel)
        counts.setdefault(label, []).append(cnt)

    sections = [
        analytic_section(),
        fc_section(fc, q),
        fe_section(fe, to, q),
        vertical_section(ve),
    ]
    st_text, st_ok, _ = stylized_section(panels, counts, q)
    sections.append((st_text, st_ok))
    sections.append(entrants_section(en))
    sections.append(sorting_section(so))
    gr_text, gr_labour, gr_prices = growth_section(la, sh)
    sections.append((gr_text, gr_labour))
    sections.append(imports_section(en))
    sections.append(
        spatial_section(
            sp,
            spatial_steps,
            ds,
            [r for label, r in wi if label == "baseline"],
            [r for label, r in wi if label == "data_start"],
            [r for label, r in wi if label == "frozen"],
        )
    )
    names = [
        "Analytic benchmarks (T1-T6)",
        "Footloose capital: magnification",
        "Footloose entrepreneur: break points and tomahawk",
        "Vertical linkages: co-location",
        "Stylised facts of firm dynamics (baseline)",
        "Entrants' expectations and exits by age (baseline)",
        "Baldwin-Okubo sorting",
        "Wages track productivity (growth and labour)",
        "Imported inputs and processing trade (baseline)",
        "The observed run starts settled between regions (baseline)",
    ]
    t1 = _dt.datetime.now(_dt.UTC)
    import mesa

    import agglomeration

    summary = "\n".join(f"| {n} | {_verdict(ok)} |" for n, (_, ok) in zip(names, sections))
    summary += (
        f"\n| Baseline prices consistent with the data (CPI, section 9) | {_verdict(gr_prices)} |"
    )
    doc = f"""# Validation

What was checked, against what, with which configuration, and the result, including the checks that
fail. Every verdict, the tables and numbers behind it, and every figure on this page are regenerated by

    python scripts/validate_all.py          # add --quick for a smoke test

Tables and numbers in the explanatory prose that this script does not compute say which command
produced them and, where they come from an earlier version of the model, which one (they are not rerun
with every regeneration; those dated before 2026-12-07 are of results revision 0, before the
import-price fixes, which moved no headline metric of the baseline beyond seed noise: CHANGELOG.md).

(last run: {t1:%Y-%m-%d %H:%M} UTC, {(t1 - t0).total_seconds():.0f} s, {"QUICK grids" if q else "full grids"};
agglomeration {agglomeration.__version__}, model revision {agglomeration.MODEL_REVISION}, mesa
{mesa.__version__}, Python {platform.python_version()}).
The theory configurations are plain scenarios of the same model (`scenarios/benchmarks/`), run by
`AgglomerationModel` with submodels switched off by scenario fields, not a separate code path. Fast
versions of the checks are in `tests/test_validation_analytic.py` and `tests/test_validation_theory.py`;
batch versions in `experiments/validation/` (`agglomeration batch experiments/validation/<name>.toml`).

| check | verdict |
|---|---|
{summary}

**Trade costs in the benchmarks.** The benchmark regions lie e x 10 km apart (great circle) with free
freight, so geography.py's iceberg cost `tau = (1 + freight) (D/D0)^distance_elasticity` with
D = e D0 km is exactly `e^distance_elasticity`; `validation.benchmark_overrides` sets
`distance_elasticity = ln(phi^(1/(1-sigma)))`, giving `phi = tau^(1-sigma)` to 1e-9 (checked in the tests).
The scenario loader needs at least one gateway and one hub, so the benchmarks carry an inert gateway
(demand 0, no external competitors, no imports) and an inert hub.

{chr(10).join(t for t, _ in sections[:7])}
{calibration_section()}
{chr(10).join(t for t, _ in sections[7:])}"""
    DOC.write_text(doc, encoding="utf-8")
    print(summary)
    print(f"wrote {DOC} in {(t1 - t0).total_seconds():.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
