"""Entry (submodel ``entry``): potential entrants decide whether to enter and where (nested logit).

Potential entrants of sector s per step ~ Poisson(entry_rate_s n0_s + floor N0 / N_ref) (n0_s: the
sector's initial firms, N0 all initial firms, N_ref = ``floor_reference_firms``; ``entry_rate`` from
sectors.csv is the yearly registration rate over 4).  Each knows each region
independently with probability ``Costs.known_share`` (information_regions, raised by
policy.information_sharing for the regions of the zone network; costs.py).
An entrant knows a signal of its productivity before entry and learns the rest after it (between
Hopenhayn 1992 / Melitz 2003, where nothing is known, and perfect foresight): log z = F + gap + A_rs +
signal + rest, signal ~ N(0, sd sqrt(k)), rest ~ N(0, sd sqrt(1 - k)), sd = ``firms.productivity_sigma``,
k = ``known_productivity_share``, F the technology frontier and A_rs the local advantage of region r
(behaviour/learning.py).  The value of entering region r (CNY m, prospects.py for
the expected revenue and fixed cost; :func:`expected_values`) is

    V_r = E[max(D_r (pi1_r(z) H1 + pi_r(z) H2), -D_r fixed_r X) | signal] - C_r

with pi1, pi the first-year and later profit per step, H1, H2 the discounted survival-weighted steps of
the first year and after it, X the discounted steps of losses before an unprofitable firm exits (the
option to exit), D_r the discount of waiting the region's approval delay (``Costs.approval_steps``; the
horizons use the region's discount rate ``Costs.discount_rate``) and C_r the entry cost plus the cost of
the wait (``waiting_cost`` x f_s per discounted step of waiting).  Nested logit (McFadden 1978): the region is the best V_r / lambda_loc + Gumbel over the known
regions, and the entrant enters when IV / lambda + logistic > 0, IV = lambda_loc log sum_r exp(V_r /
lambda_loc) (lambda = ``logit_scale``, lambda_loc = ``location_scale``, both in years of the sector's
fixed cost; lambda_loc = lambda is one multinomial logit).  Decided entrants produce after their
approval (``Pending``).  Cost O(entrants x R), one compiled pass after the draws.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np
from pydantic import Field, model_validator

from agglomeration import random_streams
from agglomeration.behaviour import _entry_kernels as _k
from agglomeration.behaviour.learning import frontier, local_advantage
from agglomeration.behaviour.prospects import AGE_CLASSES
from agglomeration.parameters import Section
from agglomeration.submodel import Submodel

if TYPE_CHECKING:  # pragma: no cover
    from agglomeration.behaviour.exit import ExitParams
    from agglomeration.scenario import Scenario
    from agglomeration.state import ModelState
    from agglomeration.world import World


def standard_gumbel(rng: np.random.Generator, size: int | tuple[int, ...]) -> np.ndarray:
    """Standard Gumbel draws -log(-log(U)), U uniform on (0, 1): numpy's ``Generator.gumbel`` recipe.

    ``Generator.gumbel`` takes one double r per draw, rejects r == 0 and returns -log(-log(1 - r)) with
    scalar libm logs; this takes the same doubles from ``rng.random`` (the same stream, redrawing the
    probability-2^-53 zeros) and evaluates the logs with numpy's vectorised log, ~10x faster.  Same
    distribution; a value may differ from ``gumbel`` in the last bit.
    """
    r = rng.random(size)
    zero = r == 0.0
    while np.any(zero):  # rejection, as in numpy: a draw of exactly 0 would give +inf
        r[zero] = rng.random(int(zero.sum()))
        zero = r == 0.0
    np.subtract(1.0, r, out=r)
    np.log(r, out=r)
    np.negative(r, out=r)
    np.log(r, out=r)
    np.negative(r, out=r)
    return r


def standard_logistic(rng: np.random.Generator, size: int) -> np.ndarray:
    """Standard logistic draws log(U / (1 - U)), U uniform on (0, 1) (one double each; exact zeros
    redrawn)."""
    r = rng.random(size)
    zero = r == 0.0
    while np.any(zero):
        r[zero] = rng.random(int(zero.sum()))
        zero = r == 0.0
    return np.log(r) - np.log1p(-r)


def knowledge(
    n: int, n_regions: int, q: float | np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """(n, R) bool: which regions each decision maker knows about; ``q`` the probability of knowing a
    region, one for all or (R,) per region."""
    if np.all(np.asarray(q) >= 1.0):
        return np.ones((n, n_regions), dtype=bool)
    return rng.random((n, n_regions)) < q


#: Gauss-Hermite nodes of the expectation over an entrant's productivity draw
PRODUCTIVITY_NODES = 24


#: grid of the signal an entrant has of its productivity, in sd of the signal (values interpolated)
SIGNAL_GRID = np.linspace(-4.0, 4.0, 41)


@dataclass(frozen=True)
class EntryValues:
    """The terms of the entry decision (see :func:`choose_regions`) on the signal grid x region x sector
    (G, R, S): ``value`` of entering [CNY m] (expected over the unknown part of the productivity draw,
    net of entry and waiting costs), expected first-year profit and revenue per step [CNY m per step];
    ``signal_sd`` the sd of the signal [log points]; per sector (S,) the scale of the entry shock and of
    the location tastes [CNY m]; ``local`` (R, S) the local frontier advantage A_rs [log points]."""

    value: np.ndarray
    first_profit: np.ndarray
    first_revenue: np.ndarray
    signal_sd: float
    scale: np.ndarray
    location_scale: np.ndarray
    local: np.ndarray

    def at(self, sector: np.ndarray, signal: np.ndarray) -> tuple[np.ndarray, ...]:
        """(value, first-year profit, first-year revenue), each (n, R), for entrants of ``sector`` with
        standardised signals ``signal`` (linear interpolation on SIGNAL_GRID, clipped to it)."""
        x = np.clip(np.asarray(signal, float), SIGNAL_GRID[0], SIGNAL_GRID[-1])
        step = SIGNAL_GRID[1] - SIGNAL_GRID[0]
        i = np.minimum(((x - SIGNAL_GRID[0]) / step).astype(np.int64), len(SIGNAL_GRID) - 2)
        w = (x - SIGNAL_GRID[i]) / step
        s = np.asarray(sector, dtype=np.int64)
        # (1 - w) a[i, :, s] + w a[i + 1, :, s], compiled (the same arithmetic, no temporaries)
        return tuple(
            _k.interpolate(np.ascontiguousarray(a, dtype=float), i, w, s)
            for a in (self.value, self.first_profit, self.first_revenue)
        )


_NODES, _WEIGHTS = np.polynomial.hermite_e.hermegauss(PRODUCTIVITY_NODES)
_WEIGHTS = _WEIGHTS / _WEIGHTS.sum()


def expected_values(
    *,
    rev_first: np.ndarray,
    rev: np.ndarray,
    fixed: np.ndarray,
    entry_cost: np.ndarray,
    h_first: np.ndarray,
    h_rest: np.ndarray,
    delay_discount: np.ndarray,
    exit_steps: np.ndarray,
    sigma: np.ndarray,
    centre: np.ndarray,
    sd: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(value of entry, expected first-year profit, expected first-year revenue), each (R, S) (or
    (..., R, S) when ``centre`` has leading axes).

    An entrant learns its productivity only after entering (Hopenhayn 1992; Melitz 2003): log z ~
    N(centre[r, s], sd).  With g = exp((sigma - 1) log z) and the prospects of a one-line firm of log
    productivity 0 (``rev_first``, ``rev``, ``fixed`` per step), its value is

        V = E_z[ max(D (g (rev_first h_first + rev h_rest) / sigma - fixed (h_first + h_rest)),
                     -D fixed exit_steps) ] - entry_cost

    (a firm that turns out unprofitable leaves after ``exit_steps`` discounted steps of losses: the
    option to exit), D the discount of waiting for approval; the expectation by Gauss-Hermite
    quadrature (PRODUCTIVITY_NODES nodes)."""
    terms = value_terms(
        rev_first=rev_first,
        rev=rev,
        h_first=h_first,
        h_rest=h_rest,
        delay_discount=delay_discount,
        exit_steps=exit_steps,
        sigma=sigma,
        centre=centre,
        sd=sd,
    )
    value = terms.value(fixed, entry_cost)
    eg = terms.g @ _WEIGHTS
    sm1 = terms.sm1[:, 0]
    return value, eg * rev_first / (sm1 + 1.0) - fixed, eg * rev_first


@dataclass(frozen=True)
class ValueTerms:
    """The terms of :func:`expected_values` that do not depend on the fixed cost or the entry cost,
    so that a search over the fixed cost (initialisation.FlowBalance) computes them (and their exp)
    once; :meth:`value` finishes the same arithmetic in the same order."""

    g: np.ndarray  #: exp((sigma - 1) log z) at the quadrature nodes, (..., R, S, K)
    win_gross: np.ndarray  #: g x discounted gross operating profit per unit g, (..., R, S, K)
    sm1: np.ndarray  #: sigma - 1, (S, 1)
    d: np.ndarray  #: discount of waiting for approval, (R, 1, 1)
    horizon: np.ndarray  #: h_first + h_rest, (R, S)
    stay: np.ndarray  #: steps of losses before an unprofitable entrant exits, (R, S)

    def value(self, fixed: np.ndarray, entry_cost: np.ndarray) -> np.ndarray:
        """The value of entry (first output of :func:`expected_values`) at these costs."""
        d = self.d
        win = d * (self.win_gross - (fixed * self.horizon)[..., None])
        loss = -(d[..., 0] * fixed * self.stay)[..., None]
        return np.maximum(win, loss) @ _WEIGHTS - entry_cost


def value_terms(
    *,
    rev_first: np.ndarray,
    rev: np.ndarray,
    h_first: np.ndarray,
    h_rest: np.ndarray,
    delay_discount: np.ndarray,
    exit_steps: np.ndarray,
    sigma: np.ndarray,
    centre: np.ndarray,
    sd: float,
    **_costs: np.ndarray,
) -> ValueTerms:
    """The cost-free terms of :func:`expected_values` (its arguments; ``fixed`` and ``entry_cost``
    are accepted and ignored)."""
    x = _NODES
    sm1 = (np.asarray(sigma, float) - 1.0)[:, None]  # (S, 1)
    # quadrature axis last so that ``centre`` may carry leading axes (a grid of signals)
    g = np.exp(sm1 * (np.asarray(centre, float)[..., None] + sd * x))  # (..., R, S, K)
    d = np.asarray(delay_discount, float)[:, None, None]
    horizon = h_first + h_rest
    gross = (rev_first * h_first[None, :] + rev * h_rest[None, :]) / (sm1[:, 0] + 1.0)
    return ValueTerms(
        g=g,
        win_gross=g * gross[..., None],
        sm1=sm1,
        d=d,
        horizon=horizon,
        stay=np.minimum(exit_steps, horizon),
    )


def choose_regions(
    sector: np.ndarray,
    signal: np.ndarray,
    known: np.ndarray,
    rng: np.random.Generator,
    *,
    values: EntryValues,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(chosen region of each potential entrant, -1 = outside option; its expected first-year profit
    and revenue per step there, NaN when it stays out).  ``signal``: each entrant's standardised signal
    of its productivity.  Nested logit (see ``_entry_kernels.best_regions``): draws (n, R) standard
    Gumbel location tastes and n standard logistic entry shocks."""
    n = len(sector)
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0)
    R, S = values.value.shape[1:]
    known = np.asarray(known, dtype=bool)
    if known.shape != (n, R):
        raise ValueError(f"known must have shape ({n}, {R}), got {known.shape}")
    s = np.asarray(sector)
    if s.min() < 0 or s.max() >= S:
        raise ValueError("a sector index is out of range")
    value, first_profit, first_revenue = values.at(s, signal)
    noise = standard_gumbel(rng, (n, R))
    entry_noise = standard_logistic(rng, n)
    f = lambda a: np.ascontiguousarray(a, dtype=float)  # noqa: E731
    choice, expected = _k.best_regions(
        known,
        noise,
        entry_noise,
        f(value),
        f(first_profit),
        f(values.location_scale[s]),
        f(values.scale[s]),
    )
    revenue = np.full(n, np.nan)
    ok = choice >= 0
    revenue[ok] = first_revenue[np.flatnonzero(ok), choice[ok]]
    return choice, expected, revenue


def entry_index(
    sector: np.ndarray, signal: np.ndarray, known: np.ndarray, *, values: EntryValues
) -> np.ndarray:
    """(n,) the argument of each potential entrant's entry decision before its shocks are drawn:
    IV / scale, IV = location_scale log sum_r exp(value_r / location_scale) over the regions it knows
    (the expected best value, CNY m) and scale the entry shock's (:func:`choose_regions`); -inf when it
    knows no region.  The entrant enters with probability logistic(IV / scale), so -2..2 is the margin.
    A NaN value of a known region makes it -inf as well (such an entrant never enters in the simulation
    either).
    """
    n = len(sector)
    if n == 0:
        return np.zeros(0)
    s = np.asarray(sector)
    if s.min() < 0 or s.max() >= values.value.shape[2]:
        raise ValueError("a sector index is out of range")
    value = values.at(s, signal)[0]
    known = np.asarray(known, dtype=bool)
    if known.shape != value.shape:
        raise ValueError(f"known must have shape {value.shape}, got {known.shape}")
    ls = values.location_scale[s]
    v = np.where(known, value, -np.inf)
    vmax = v.max(axis=1)
    any_known = np.isfinite(vmax)
    vmax = np.where(any_known, vmax, 0.0)
    with np.errstate(under="ignore"):
        acc = np.where(known, np.exp((v - vmax[:, None]) / ls[:, None]), 0.0).sum(axis=1)
    iv = vmax + ls * np.log(np.where(any_known, acc, 1.0))
    return np.where(any_known, iv / values.scale[s], -np.inf)


def entry_probability(
    sector: np.ndarray, signal: np.ndarray, known: np.ndarray, *, values: EntryValues
) -> np.ndarray:
    """(n,) probability that each potential entrant enters, before its shocks are drawn: the outer
    choice of the nested logit of :func:`choose_regions`, logistic(:func:`entry_index`) (0 when it
    knows no region).  Why: the take-up's response to a cost is the derivative of this probability, so
    the pool's entry elasticity can be read without simulating (``scripts/entry_margin.py``)."""
    x = entry_index(sector, signal, known, values=values)
    with np.errstate(over="ignore"):  # exp(inf) = inf gives exactly 0 (no region known)
        return 1.0 / (1.0 + np.exp(-x))


# ------------------------------------------------------------------------------------------- submodel
class EntryParams(Section):
    """``[behaviour.entry]``: the pool of potential entrants and their entry and location decision."""

    enabled: bool = Field(
        True,
        description="potential entrants arrive each step",
        json_schema_extra={"source": "switch"},
    )
    floor: float = Field(
        2.0,
        ge=0.0,
        le=1e4,
        description="potential entrants per sector per step on top of the sector's pool (keeps empty "
        "sectors open to entry), at floor_reference_firms initial firms: it scales with the initial "
        "firm count like the pool itself [firms/step]",
        json_schema_extra={
            "source": "estimate: a few potential entrants per sector and quarter in the baseline "
            "economy of 3,000 firms (plausible 0-10)"
        },
    )
    floor_reference_firms: float = Field(
        3000.0,
        ge=0.0,
        le=5e6,
        description="initial firm count at which the floor is `floor`; at n initial firms it is "
        "floor x n / floor_reference_firms, so the floor is the same part of the pool at any scale "
        "(0 = the floor is `floor` whatever the scale; an economy that starts without firms has no "
        "scale and gets `floor`) [firms]",
        json_schema_extra={
            "source": "scale invariance (firms.initial_count is a scale parameter): the baseline's "
            "3,000 firms, where the floor is 2 as before.  With an absolute floor of 2 a 200-firm "
            "economy drew 3-4 times its own pool from the floor, its fixed costs were balanced "
            "against that inflow and 70-95 % of its firms lost money at the start (docs/ODD.md, "
            "section 7.8, Entry)"
        },
    )
    pool_scale: float = Field(
        1.0,
        gt=0.0,
        le=1e3,
        description="multiplier of every sector's pool of potential entrants (sectors.csv "
        "entry_rate x the sector's initial firms; the floor is not scaled) [-]",
        json_schema_extra={
            "source": "assumption: 1, the pool is sectors.csv's registration rate of the sector's own "
            "firm population.  Larger pools with entrants drawn below the frontier (productivity_gap "
            "< 0) stand for all business registrations: 10 with a gap of -1 in "
            "scenarios/marginal_entry.toml; from 12 the finance sector's fixed cost cannot balance "
            "entry and exit at the start (docs/ODD.md, Known limitations)"
        },
    )
    productivity_gap: float = Field(
        0.0,
        ge=-10.0,
        le=10.0,
        description="entrants draw log productivity ~ N(frontier + gap, firms.productivity_sigma), the "
        "frontier being firms.productivity_mean plus the common drift (behaviour/learning.py) [log "
        "points]",
        json_schema_extra={
            "source": "0: entrants draw from the technology available to all (Hopenhayn 1992); "
            "incumbents are above it by selection; entrants start small through their one product "
            "line (Luttmer 2007)"
        },
    )
    logit_scale: float = Field(
        1.0,
        gt=0.0,
        le=1e3,
        description="scale of the entry shock (enter or stay out), in years of the sector's fixed "
        "cost [-]: how strongly take-up responds to the value of entry",
        json_schema_extra={
            "source": "estimate (range 0.5-3); the value of entry is large against the entry cost for "
            "most potential entrants (median IV / scale 6-58 in five of six manufacturing sectors) and "
            "far below it for the rest, so few are at the margin (5-10 % of a manufacturing sector's "
            "pool, 14-24 % of a service sector's) whatever this scale or the share of productivity "
            "known before entry, and the model's entry elasticity to entry costs stays small (+3.4 % "
            "entry for a 20 % cut, about 0.17: scripts/entry_elasticity.py; take-up elasticity "
            "0.11-0.14 over the pool, 0.03-0.10 in manufacturing: scripts/entry_margin.py --grid), "
            "below the entry-reform evidence (an implied 1.7 for the Guangdong registration pilot, "
            "no significant effect in other approval reforms: docs/LEVER_EFFECTS.md; docs/ODD.md, "
            "Known limitations)"
        },
    )
    location_scale: float = Field(
        0.5,
        gt=0.0,
        le=1e3,
        description="scale of the idiosyncratic location tastes, in years of the sector's fixed cost, "
        "at most logit_scale (nested logit; equal = one multinomial logit over regions and staying "
        "out) [-]",
        json_schema_extra={
            "source": "estimate (range 0.2-1): location tastes weaker than the entry shock, so the "
            "number of regions does not by itself raise entry (nested logit, McFadden 1978)"
        },
    )
    discount_rate: float = Field(
        0.10,
        gt=0.0,
        le=1.0,
        description="annual discount rate of entrants' expected profits [1/year]",
        json_schema_extra={
            "source": "estimate: cost of capital of Chinese private firms 8-12 % a year"
        },
    )
    known_productivity_share: float = Field(
        0.9,
        ge=0.0,
        le=1.0,
        description="share of the variance of its log productivity an entrant knows before deciding "
        "(a signal); it learns the rest on entry [-]",
        json_schema_extra={
            "source": "calibrated (range 0.7-0.95): 0 = Hopenhayn (1992) / Melitz (2003) entrants "
            "who learn their productivity only after entry, 1 = perfect foresight; lower values make "
            "most entrants fail within three years, against exit hazards of 1.6 %, 6.3 %, 9.5 % in "
            "years 1-3 (SAIC 2013)"
        },
    )
    waiting_cost: float = Field(
        0.5,
        ge=0.0,
        le=10.0,
        description="cost of each step spent waiting for approval (premises, staff and capital "
        "committed before production), in units of the sector's fixed cost per line [-]",
        json_schema_extra={
            "source": "estimate (range 0-1): Djankov et al. (2002) value the time of entry procedures "
            "at the entrepreneur's forgone income; here half the running fixed cost is committed"
        },
    )
    approval_days: float = Field(
        180.0,
        ge=0.0,
        le=3650.0,
        description="calendar days from the entry decision to production (registration, land, "
        "planning and construction approvals) in a region without delegation or replicated reforms; "
        "policy.delegation_delay_effect and policy.investment_delay_effect shorten it per region "
        "[days]",
        json_schema_extra={
            "source": "estimate (range 90-270): construction-project approval <= 120 working days "
            "(about 180 calendar days) after the 2018-19 national pilot reform (MOHURD, SCIO briefing "
            "2019; Chongqing is a pilot city); 2 quarterly steps"
        },
    )

    exit_option: Literal["after_losses", "after_grace"] = Field(
        "after_losses",
        description="how entrants value their option to exit: 'after_losses' = an unprofitable entrant "
        "leaves after behaviour.exit.after_losses steps of losses (the default, a shortcut); "
        "'after_grace' = after loss_grace + after_losses steps, as the exit rule treats a firm that "
        "loses from birth",
        json_schema_extra={
            "source": "switch: 'after_grace' matches the exit rule (docs/ODD.md, Known limitations: "
            "take-up -0.7 to -1.1 % at the settled start); the default keeps the calibrated model"
        },
    )

    @model_validator(mode="after")
    def _nested(self):
        if self.location_scale > self.logit_scale:
            raise ValueError(
                f"location_scale ({self.location_scale}) must be at most logit_scale "
                f"({self.logit_scale}): the location tastes are nested within the entry choice"
            )
        return self


def add_firms(
    state: ModelState,
    world: World,
    sector: np.ndarray,
    region: np.ndarray,
    log_z: np.ndarray,
    equity: np.ndarray,
    fids: np.ndarray | None = None,
) -> np.ndarray:
    """Add live firms at their provisional price (:func:`provisional_prices`); return their rows.

    The one place firms are created (initial firms and entrants).  Their ids are recorded in
    ``state.entered`` (the Mesa agent view follows them); ``fids``: their permanent ids (default: the
    next free ones; FirmTable.add).
    """
    t = state.firms
    price = provisional_prices(state, world, np.asarray(sector), np.asarray(region), log_z)
    rows = t.add(sector, region, log_z, equity, fids=fids)
    t.price[rows] = price
    state.entered.append(t.fid[rows].copy())
    return rows


def provisional_prices(
    state: ModelState, world: World, sector: np.ndarray, region: np.ndarray, log_z: np.ndarray
) -> np.ndarray:
    """The mill price a new firm shows until its first market solves it [model units].

    Within a region x sector cell firms share factor and input prices, so price x productivity is
    common to them (p_i = markup x c / z_i): a new firm gets exp(mean over the cell's live firms of
    log p + log z - its own log z); in a cell without firms the sector's mean over every region; in a
    sector without firms (the initial firms) the CES markup over a unit cost of 1.  Suppliers chosen
    at the end of the entry step (the link repair) compare it with the incumbents' solved prices, and
    the output files show it for the step's entrants.
    """
    t = state.firms
    R, S = world.n_regions, world.n_sectors
    sigma = np.asarray(world.sigma, dtype=float)[sector]
    price = sigma / (sigma - 1.0)
    if len(sector) == 0:
        return price
    rows = t.alive_rows()
    rows = rows[t.price[rows] > 0]
    if len(rows) == 0:
        return price
    s, r = t.sector[rows], t.region[rows]
    x = np.log(t.price[rows]) + t.log_productivity[rows]
    cell = r * S + s
    n_cell = np.bincount(cell, minlength=R * S)
    x_cell = np.bincount(cell, weights=x, minlength=R * S) / np.maximum(n_cell, 1)
    n_sec = np.bincount(s, minlength=S)
    x_sec = np.bincount(s, weights=x, minlength=S) / np.maximum(n_sec, 1)
    c = np.asarray(region) * S + sector
    known = np.where(n_cell[c] > 0, x_cell[c], x_sec[sector])
    return np.where(n_sec[sector] > 0, np.exp(known - np.asarray(log_z, dtype=float)), price)


@dataclass
class Pending:
    """Entrants that decided to enter and wait for their approval (the entry-time channel).

    Arrays in decision order: sector, region, log productivity, expected first-year profit per step
    [CNY m] and the step from which the firm produces; ``key`` the permanent id each will get (its
    potential entrant's key with solver.random_streams = "by_purpose", else -1: the next free id).
    """

    sector: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    region: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    log_z: np.ndarray = field(default_factory=lambda: np.zeros(0))
    expected: np.ndarray = field(default_factory=lambda: np.zeros(0))
    expected_revenue: np.ndarray = field(default_factory=lambda: np.zeros(0))
    ready: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    key: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    def __len__(self) -> int:
        return len(self.sector)

    def add(self, sector, region, log_z, expected, expected_revenue, ready, key=None) -> None:
        """Queue decided entrants (appended: release order is decision order)."""
        queued = self._keys()
        self.sector = np.concatenate([self.sector, np.asarray(sector, np.int64)])
        self.region = np.concatenate([self.region, np.asarray(region, np.int64)])
        self.log_z = np.concatenate([self.log_z, np.asarray(log_z, float)])
        self.expected = np.concatenate([self.expected, np.asarray(expected, float)])
        self.expected_revenue = np.concatenate(
            [self.expected_revenue, np.asarray(expected_revenue, float)]
        )
        self.ready = np.concatenate([self.ready, np.asarray(ready, np.int64)])
        key = np.full(len(sector), -1, np.int64) if key is None else np.asarray(key, np.int64)
        self.key = np.concatenate([queued, key])

    def _keys(self) -> np.ndarray:
        """The queued entrants' keys; -1 for every one of a queue pickled before keys existed (they
        take the next free ids)."""
        key = getattr(self, "key", None)
        n = len(self.ready)
        return key if key is not None and len(key) == n else np.full(n, -1, np.int64)

    def release(self, state: ModelState, world: World, scenario: Scenario) -> int:
        """Add the queued entrants whose approval is through (ready <= state.clock) to the firm table."""
        due = self.ready <= state.clock
        if not due.any():
            return 0
        key = self.key = self._keys()
        index = np.flatnonzero(due)
        # entrants without a key (all of them unless random streams are by purpose) first, in
        # decision order, at the next free ids; then the keyed ones at their keys
        for group in (index[key[index] < 0], index[key[index] >= 0]):
            if len(group) == 0:
                continue
            s, r = self.sector[group], self.region[group]
            equity = scenario.firms.initial_equity * state.fixed_cost[s]
            fids = key[group] if key[group[0]] >= 0 else None
            rows = add_firms(state, world, s, r, self.log_z[group], equity, fids=fids)
            state.firms.expected_profit[rows] = self.expected[group]
            state.firms.expected_revenue[rows] = self.expected_revenue[group]
            state.entries_by_region += np.bincount(r, minlength=world.n_regions)
        keep = ~due
        for name in ("sector", "region", "log_z", "expected", "expected_revenue", "ready", "key"):
            setattr(self, name, getattr(self, name)[keep])
        return int(due.sum())


@dataclass
class EntrantLedger:
    """Entrants' expected and realised first-year outcomes summed over a run: the consistency check of
    expectations (realised / expected close to 1).  Every entrant is recorded once, when its first year
    ends or when it exits before that, over the steps it produced."""

    firms: int = 0
    expected_profit: float = 0.0
    realised_profit: float = 0.0
    expected_revenue: float = 0.0
    realised_revenue: float = 0.0

    def record(self, table, rows: np.ndarray, steps: np.ndarray) -> None:
        """Add the entrants ``rows`` (those with an expectation) over ``steps`` produced each."""
        rows = np.asarray(rows)
        keep = np.isfinite(table.expected_profit[rows])
        rows, steps = rows[keep], np.broadcast_to(steps, keep.shape)[keep]
        self.firms += len(rows)
        self.expected_profit += float(np.sum(table.expected_profit[rows] * steps))
        self.realised_profit += float(np.sum(table.first_year_profit[rows]))
        self.expected_revenue += float(np.sum(table.expected_revenue[rows] * steps))
        self.realised_revenue += float(np.sum(table.first_year_revenue[rows]))

    def ratios(self) -> tuple[float, float]:
        """(realised / expected first-year profit, the same for revenue); NaN before any record."""
        if self.firms == 0:
            return float("nan"), float("nan")
        p = self.realised_profit / self.expected_profit if self.expected_profit else float("nan")
        r = self.realised_revenue / self.expected_revenue if self.expected_revenue else float("nan")
        return p, r


def horizons(
    hazard: np.ndarray, discount_rate: float, steps_per_year: int
) -> tuple[np.ndarray, np.ndarray]:
    """(first-year, later) discounted survival-weighted steps per sector: with d = (1 - hazard) /
    (1 + r) per step (r the per-step discount rate), sum_{t < T} d^t and sum_{t >= T} d^t."""
    first, classes = age_horizons(hazard, discount_rate, steps_per_year)
    return first, classes.sum(axis=0)


def age_horizons(
    hazard: np.ndarray, discount_rate: float, steps_per_year: int
) -> tuple[np.ndarray, np.ndarray]:
    """(first-year (S,), per age class of prospects.AGE_CLASSES (A, S)) discounted survival-weighted
    steps: sums of d^t, d = (1 - hazard) / (1 + r) per step, over the steps t of each period."""
    T = steps_per_year
    r = (1.0 + discount_rate) ** (1.0 / T) - 1.0
    d = (1.0 - np.asarray(hazard, dtype=float)) / (1.0 + r)

    def upto(t):  # sum_{k < t} d^k
        return (1.0 - d**t) / (1.0 - d) if np.isfinite(t) else 1.0 / (1.0 - d)

    classes = np.stack([upto(hi * T) - upto(lo * T) for lo, hi in AGE_CLASSES])
    return upto(T), classes


def exit_after(ex: ExitParams, option: str) -> float:
    """Steps of losses after which an entrant that turns out unprofitable expects to leave [steps]:
    ``after_losses`` (``option`` 'after_losses'), ``loss_grace + after_losses`` ('after_grace', as the
    exit rule treats a firm that loses from birth); practically never without exits."""
    if not ex.enabled:
        return 1e6
    return float(ex.after_losses + (ex.loss_grace if option == "after_grace" else 0))


def waiting_steps(delay: np.ndarray, rate: float) -> np.ndarray:
    """Discounted number of steps spent waiting [steps]: sum_{k < delay} (1 + rate)^-k, continuous in
    ``delay`` (the annuity formula)."""
    delay = np.asarray(delay, dtype=float)
    rate = np.asarray(rate, dtype=float)
    if np.all(rate <= 0):
        return delay
    return (1.0 - (1.0 + rate) ** (-delay)) / (1.0 - 1.0 / (1.0 + rate))


def value_inputs(state: ModelState, world: World, scenario: Scenario) -> dict[str, np.ndarray]:
    """The keyword arguments of :func:`expected_values` for this step (prospects, costs, horizons)."""
    p = scenario.behaviour.entry
    T = scenario.behaviour.steps_per_year
    pro = state.prospects
    f = state.fixed_cost
    # per region: the discount rate (finance channel) and the approval delay (costs.py)
    rate = np.asarray(state.costs.discount_rate, float)[:, None]  # (R, 1)
    h_first, h_classes = age_horizons(state.beliefs.hazard, rate, T)  # (R, S), (A, R, S)
    h_rest = h_classes.sum(axis=0)
    # later revenue: the structural forecast with the capture learned for each age class, averaged
    # over the classes with their discounted survival weights (young firms are still finding buyers)
    factor = (h_classes * pro.by_age.T[:, None, :]).sum(axis=0) / np.maximum(h_rest, 1e-300)
    r = (1.0 + rate[:, 0]) ** (1.0 / T) - 1.0  # (R,) per step
    delay = np.asarray(state.costs.approval_steps, float)
    ex = scenario.behaviour.exit
    return {
        "rev_first": pro.revenue_first,
        "rev": pro.revenue_structural * factor,
        "fixed": pro.fixed,
        "entry_cost": np.outer(
            state.costs.entry_cost + p.waiting_cost * waiting_steps(delay, r), f
        ),
        "h_first": h_first,
        "h_rest": h_rest,
        "delay_discount": (1.0 + r) ** (-delay),
        "exit_steps": waiting_steps(np.asarray(exit_after(ex, p.exit_option), float), r)[:, None],
        "sigma": np.asarray(world.sigma, dtype=float),
        "centre": frontier(state, scenario)
        + p.productivity_gap
        + local_advantage(state, world, scenario),
        "sd": scenario.firms.productivity_sigma,
    }


def values_on_grid(
    inputs: dict[str, np.ndarray], known_share: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`expected_values` at each signal of SIGNAL_GRID, (G, R, S) each: an entrant that knows the
    share ``known_share`` of the variance of its log productivity (signal sd = sd sqrt(share)) values
    entry over the rest (sd sqrt(1 - share))."""
    return expected_values(**grid_inputs(inputs, known_share))


def grid_inputs(inputs: dict[str, np.ndarray], known_share: float) -> dict[str, np.ndarray]:
    """``inputs`` with ``centre`` on SIGNAL_GRID (G, R, S) and ``sd`` the unknown part (see
    :func:`values_on_grid`)."""
    sd = float(inputs["sd"])
    known, rest = sd * np.sqrt(known_share), sd * np.sqrt(1.0 - known_share)
    centre = inputs["centre"][None] + known * SIGNAL_GRID[:, None, None]
    return dict(inputs, centre=centre, sd=rest)


def scale_unit(state: ModelState, world: World, scenario: Scenario) -> np.ndarray:
    """(S,) the money unit of the logit scales: a year of the sector's fixed cost per line [CNY m] (a
    year of mean operating profit where the fixed cost is 0: theory benchmarks)."""
    T = scenario.behaviour.steps_per_year
    f = state.fixed_cost
    unit = T * f
    if np.any(f <= 0):
        mean_profit = state.prospects.revenue.mean(axis=0) / world.sigma
        unit = np.where(f > 0, unit, T * np.maximum(mean_profit, 1e-12))
    return unit


def entry_values(state: ModelState, world: World, scenario: Scenario) -> EntryValues:
    """The terms of this step's entry decisions from the prospects and costs."""
    p = scenario.behaviour.entry
    kw = value_inputs(state, world, scenario)
    value, first_profit, first_revenue = values_on_grid(kw, p.known_productivity_share)
    unit = scale_unit(state, world, scenario)
    return EntryValues(
        value=value,
        first_profit=first_profit,
        first_revenue=first_revenue,
        signal_sd=kw["sd"] * np.sqrt(p.known_productivity_share),
        scale=p.logit_scale * unit,
        location_scale=p.location_scale * unit,
        local=kw["centre"] - frontier(state, scenario) - p.productivity_gap,
    )


@dataclass(frozen=True)
class TakeUpResponse:
    """A sample of potential entrants drawn as :func:`step` draws them and each one's probability of
    entering (:func:`entry_probability`) at the current values and with the one-off entry cost cut by
    ``cut`` (a partial, first-quarter response: prices, incumbents and beliefs held)."""

    sector: np.ndarray  #: (n,) sector of each potential entrant
    probability: np.ndarray  #: (n,) take-up probability at the current costs [-]
    probability_cheaper: np.ndarray  #: (n,) the same with the entry cost times (1 - cut) [-]
    index: np.ndarray  #: (n,) the entry decision's argument IV / scale (:func:`entry_index`) [-]
    cut: float  #: the relative cut of the entry cost [-]

    def take_up(self, mask: np.ndarray | None = None) -> float:
        """Mean take-up (of the potential entrants in ``mask``)."""
        return float(self.probability[_mask_or_all(mask, self.sector)].mean())

    def elasticity(self, mask: np.ndarray | None = None) -> float:
        """Elasticity of the mean take-up to the entry cost (negative: a dearer entry, fewer
        entrants), by the arc of the cut: -(relative rise of the take-up) / ``cut``."""
        k = _mask_or_all(mask, self.sector)
        return float(
            -(self.probability_cheaper[k].mean() / self.probability[k].mean() - 1.0) / self.cut
        )


def _mask_or_all(mask: np.ndarray | None, like: np.ndarray) -> np.ndarray:
    """``mask`` as a boolean array, or every element of ``like`` when it is None."""
    return np.ones(len(like), dtype=bool) if mask is None else np.asarray(mask, dtype=bool)


def take_up_response(
    state: ModelState,
    world: World,
    scenario: Scenario,
    *,
    sample: int,
    rng: np.random.Generator,
    cut: float = 0.2,
) -> TakeUpResponse:
    """How the pool's take-up responds to the entry cost at ``state`` under ``scenario``'s entry and
    cost settings, read from the entry values without simulating: ``sample`` potential entrants with
    sectors in proportion to the pool, standardised productivity signals and the regions each knows,
    and each one's take-up before and after cutting every region's entry cost by ``cut`` (its part
    entry_cost_r x f_s of the value).  Why: the elasticity is -(C / scale) E[p (1 - p)] / E[p], small
    when most of the pool has p near 0 or 1 (docs/ODD.md, Known limitations;
    ``scripts/entry_margin.py``).  ``state``'s costs are those of ``scenario`` while it reads them
    and its own again afterwards."""
    from agglomeration.behaviour import costs

    own = state.costs
    try:
        costs.apply(state, world, scenario)
        values = entry_values(state, world, scenario)
        pool = pool_size(state, world, scenario)
        sector = rng.choice(world.n_sectors, size=sample, p=pool / pool.sum())
        signal = rng.standard_normal(sample)
        known = knowledge(sample, world.n_regions, state.costs.known_share, rng)
        saving = cut * np.outer(np.asarray(state.costs.entry_cost, float), state.fixed_cost)
    finally:
        state.costs = own
    cheaper = dataclasses.replace(values, value=values.value + saving[None])
    return TakeUpResponse(
        sector=sector,
        probability=entry_probability(sector, signal, known, values=values),
        probability_cheaper=entry_probability(sector, signal, known, values=cheaper),
        index=entry_index(sector, signal, known, values=values),
        cut=cut,
    )


def pool_size(state: ModelState, world: World, scenario: Scenario) -> np.ndarray:
    """Expected potential entrants per sector this step: the sector's pool rate x its initial firms
    (``World.entry_rate``, per step) x ``pool_scale``, plus the floor [firms/step]."""
    p = scenario.behaviour.entry
    rates = np.asarray(world.entry_rate, float) * state.initial_by_sector * p.pool_scale
    return rates + entry_floor(p, float(np.sum(state.initial_by_sector)))


def entry_floor(p: EntryParams, initial_firms: float) -> float:
    """The floor of every sector's pool at ``initial_firms`` initial firms [firms/step]: ``p.floor``
    scaled by initial_firms / ``p.floor_reference_firms`` (unscaled when that is 0 or the economy
    starts without firms).  Why: the pool's rates scale with the initial firms; a fixed floor made
    small economies draw most of their entrants from it (docs/ODD.md, section 7.8)."""
    if p.floor_reference_firms > 0 and initial_firms > 0:
        return p.floor * (initial_firms / p.floor_reference_firms)
    return p.floor


def step(state: ModelState, world: World, scenario: Scenario, rng: np.random.Generator):
    """Pending entrants whose approval came through start producing; new potential entrants decide."""
    p = scenario.behaviour.entry
    if not p.enabled:
        return None
    entered = state.pending.release(state, world, scenario)
    counts = rng.poisson(pool_size(state, world, scenario))
    sec = np.repeat(np.arange(world.n_sectors), counts)
    keyed = random_streams.by_purpose(scenario, state)
    if keyed:  # every potential entrant gets a permanent id, the same in both runs of a pair
        if state.entrant_key_next < 0:  # above the ids the start's queued entrants will take
            state.entrant_key_next = int(state.firms.next_fid) + len(state.pending)
        keys = state.entrant_key_next + np.arange(len(sec), dtype=np.int64)
        state.entrant_key_next += len(sec)
    signal = rng.standard_normal(len(sec))
    known = knowledge(len(sec), world.n_regions, state.costs.known_share, rng)
    values = entry_values(state, world, scenario)
    choice, expected, expected_rev = choose_regions(sec, signal, known, rng, values=values)
    ok = choice >= 0
    s_ok, r_ok = sec[ok], choice[ok]
    # the rest of the productivity is learnt on entry, around the local frontier of the chosen region
    rest = scenario.firms.productivity_sigma * np.sqrt(1.0 - p.known_productivity_share)
    centre = frontier(state, scenario) + p.productivity_gap + values.local[r_ok, s_ok]
    # by purpose: the draws of the whole pool, so an entrant's do not depend on who else enters
    z_rest = rng.standard_normal(len(sec))[ok] if keyed else rng.standard_normal(len(s_ok))
    lz = centre + values.signal_sd * signal[ok] + rest * z_rest
    delay = np.asarray(state.costs.approval_steps, float)[r_ok]
    u_wait = rng.random(len(sec))[ok] if keyed else rng.random(len(s_ok))
    wait = np.floor(delay) + (u_wait < delay - np.floor(delay))
    state.pending.add(
        s_ok,
        r_ok,
        lz,
        expected[ok],
        expected_rev[ok],
        state.clock + wait.astype(np.int64),
        key=keys[ok] if keyed else None,
    )
    entered += state.pending.release(state, world, scenario)
    return {"entries": entered, "potential_entrants": len(sec), "entry_decisions": int(ok.sum())}


SUBMODEL = Submodel(
    name="entry",
    step=step,
    summary="potential entrants (Poisson) choose among the regions they know by a nested logit on "
    "expected profit net of the entry cost, or stay out",
    params=EntryParams,
    counters=("entries", "potential_entrants", "entry_decisions"),
    legacy={
        "entry_enabled": "enabled",
        "entry_floor": "floor",
        "entrant_productivity_gap": "productivity_gap",
        "entry_logit_scale": "logit_scale",
    },
)
