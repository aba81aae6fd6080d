"""``AgglomerationModel``: the Mesa model and its schedule (docs/ODD.md, "Process overview").

The model's state is a :class:`agglomeration.state.ModelState` (a columnar firm table plus regional,
sectoral and market variables); each step runs the submodels of :data:`SCHEDULE` in order, each a
function of ``(state, world, scenario, rng)`` declared in its own module of
:mod:`agglomeration.behaviour` (see :mod:`agglomeration.submodel`), then records the model series.

Randomness: one numpy Generator, ``self.rng``, seeded by Mesa from an integer drawn from
``SeedSequence([scenario.seed, replicate_seed])``; submodels draw from it in schedule order.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import mesa
import numpy as np
import pandas as pd

from agglomeration import observe, random_streams, settled_starts
from agglomeration.behaviour import (
    accounts,
    costs,
    entry,
    factor_prices,
    growth,
    learning,
    lines,
    market,
    policy,
    prospects,
    relocation,
    sourcing,
)
from agglomeration.behaviour import exit as exit_
from agglomeration.errors import InputError
from agglomeration.firms import Firm, FirmTable
from agglomeration.initialisation import CountController, initial_state
from agglomeration.parameters import STOP_CONDITION
from agglomeration.state import ModelState
from agglomeration.submodel import Submodel, describe

#: the step: submodels in the order they run
SCHEDULE: tuple[Submodel, ...] = (
    growth.SUBMODEL,
    costs.SUBMODEL,
    market.SUBMODEL,
    accounts.SUBMODEL,
    sourcing.SUBMODEL,
    learning.SUBMODEL,
    lines.SUBMODEL,
    factor_prices.SUBMODEL,
    policy.SUBMODEL,
    prospects.SUBMODEL,
    entry.SUBMODEL,
    relocation.SUBMODEL,
    exit_.SUBMODEL,
    sourcing.REPAIR,
)

#: scenario sections the model's keyword overrides may address
_SECTIONS = ("firms", "behaviour", "solver", "policy", "output", "stop")


def _holds(condition: str, row: Mapping[str, float]) -> bool:
    """Whether a stop condition '<metric> <op> <number>' holds for a series row."""
    metric, op, number = re.match(STOP_CONDITION, condition).groups()
    if metric not in row:
        raise InputError(
            f"metric {metric!r} of a stop condition is not in the model's series (a metric of the "
            f"final state only?); the series has: {', '.join(sorted(row))}",
            field="stop.when",
        )
    x, y = float(row[metric]), float(number)
    return {"<": x < y, "<=": x <= y, ">": x > y, ">=": x >= y}[op]


def _steady(series: Mapping[str, list], metrics: list[str], window: int, tolerance: float) -> bool:
    """Whether every metric's mean over the last ``window`` records differs from the mean over the
    window before by less than ``tolerance`` (relative)."""
    for metric in metrics:
        if metric not in series:
            raise InputError(
                f"unknown metric {metric!r} in stop.steady_state; known: {', '.join(sorted(series))}",
                field="stop.steady_state",
            )
        values = np.asarray(series[metric], dtype=float)
        if len(values) < 2 * window:
            return False
        last, before = values[-window:].mean(), values[-2 * window : -window].mean()
        if not abs(last - before) < tolerance * max(abs(before), 1e-12):
            return False
    return True


def derive_seed(scenario_seed: int, replicate_seed: int | None) -> int:
    """The integer handed to ``mesa.Model(rng=...)``: a SeedSequence hash of (scenario, replicate) seeds."""
    if replicate_seed is not None and (
        isinstance(replicate_seed, bool)
        or not isinstance(replicate_seed, int | np.integer)
        or replicate_seed < 0
    ):
        raise InputError(
            f"expected an integer >= 0 or None, got {replicate_seed!r}", field="replicate_seed"
        )
    entropy = (
        [int(scenario_seed)]
        if replicate_seed is None
        else [int(scenario_seed), int(replicate_seed)]
    )
    return int(
        np.random.SeedSequence(entropy).generate_state(1, dtype=np.uint64)[0] >> np.uint64(1)
    )


def _split_overrides(overrides: Mapping[str, Any]) -> dict[str, Any]:
    """``{"firms__initial_count": 5}`` -> ``{"firms.initial_count": 5}``."""
    return {k.replace("__", "."): v for k, v in overrides.items()}


def _apply_section_overrides(scenario: Any, dotted: dict[str, Any]) -> Any:
    """Overrides for scenario-like objects without ``with_overrides`` (hand-built test scenarios)."""
    import copy

    scn = copy.copy(scenario)
    for key, value in dotted.items():
        parts = key.split(".")
        if parts[0] not in _SECTIONS or len(parts) < 2:
            if len(parts) == 1 and hasattr(scn, key):
                setattr(scn, key, value)
                continue
            raise InputError(f"unknown override {key!r}", field=key)
        section = getattr(scn, parts[0])
        data = section.model_dump()
        cur = data
        for p in parts[1:-1]:
            cur = cur.setdefault(p, {})
        if parts[-1] not in cur and len(parts) == 2:
            raise InputError(f"unknown field {parts[-1]!r} of [{parts[0]}]", field=key)
        cur[parts[-1]] = value
        try:
            setattr(scn, parts[0], type(section).model_validate(data))
        except Exception as exc:  # pydantic ValidationError
            raise InputError(str(exc).splitlines()[-1].strip(), field=key) from exc
    return scn


class AgglomerationModel(mesa.Model):
    """Firms of advanced manufacturing and modern services in the FTZ, connected and other regions.

    Parameters
    ----------
    scenario:
        A ``Scenario`` (or any object with ``name``, ``seed`` and the ``firms``/``behaviour``/``solver``/
        ``policy``/``output`` sections) or the path of a scenario TOML file; the default,
        ``scenarios/baseline.toml``, is relative to the working directory (the repository's root).
    replicate_seed:
        Replicate number / seed, combined with the scenario seed through ``SeedSequence`` (None and 0
        give the same seed: ``SeedSequence`` pads the entropy with zeros).
    rng:
        Used as the replicate seed when ``replicate_seed`` is None (``mesa.batch_run`` on mesa 3.5 passes
        it); a ``numpy.random.Generator`` is used as is.
    world:
        A prebuilt :class:`agglomeration.world.World` (tests, theory benchmarks); default
        ``build_world(scenario)``.
    reference:
        A scenario (or path) to start from: initialisation, fixed-cost calibration and burn-in run
        under ``reference`` (its seed, levers and world), then ``scenario`` applies from the first
        observed step (:meth:`_switch_to`).  Experiments pass their base scenario, so every variant
        starts from the same settled state and a lever acts as a policy change at step 0.  It must
        have the same regions, sectors and gateways.
    **overrides:
        Scenario overrides, ``__`` for nesting: ``firms__initial_count=100000``,
        ``policy__delegation__WZ=0.8``.

    A subclass extends the model by setting ``schedule`` (e.g. ``(*SCHEDULE, toy.SUBMODEL)``).
    """

    #: the submodels a step runs, in order (see :data:`SCHEDULE`)
    schedule: tuple[Submodel, ...] = SCHEDULE

    def __init__(
        self,
        scenario: Any = "scenarios/baseline.toml",
        replicate_seed: int | None = None,
        rng: Any = None,
        world: Any = None,
        reference: Any = None,
        **overrides: Any,
    ) -> None:
        scenario = self._resolve_scenario(scenario, overrides)
        start = self._resolve_scenario(reference, {}) if reference is not None else scenario
        #: the scenario whose settled state the run starts from (``reference``, else the scenario)
        self.start_spec = start
        #: the agglomeration Scenario this model runs (``model.scenario`` is reserved by mesa 3.5)
        self.spec = start
        if isinstance(rng, np.random.Generator) and replicate_seed is None:
            super().__init__(rng=rng)
            self.seed_used = None
        else:
            rep = replicate_seed if replicate_seed is not None else rng
            self.seed_used = derive_seed(getattr(start, "seed", 0) or 0, rep)
            super().__init__(rng=self.seed_used)
        self.replicate_seed = replicate_seed
        #: entropy of the per-submodel streams (solver.random_streams = "by_purpose"), set at step 1
        self._stream_entropy: int | None = None
        from agglomeration.world import build_world

        own_world = world is not None and reference is None  # a caller's world: not the start's
        if world is None:
            world = build_world(scenario)
        self.world = world if reference is None else build_world(start)
        self.running = True
        self._agent_of: dict[int, Firm] = {}
        self._agents_materialised = False
        #: everything a step changes (firm table, prices, costs, policy, this step's market ...)
        # the settled start: from the process's cache when this start and seed already ran their
        # burn-in here (settled_starts.py; bit-identical), else initialisation and burn-in
        key = (
            None
            if own_world
            else settled_starts.key(type(self), self.schedule, start, self.seed_used)
        )
        kept = settled_starts.get(key)
        if kept is not None:
            self.state: ModelState = kept[0]
            self.rng.bit_generator.state = kept[1]
        else:
            self.state = initial_state(self.world, start, self.rng)
            self._burn_in(int(getattr(start, "burn_in", 0) or 0))
            settled_starts.put(key, self.state, self.rng.bit_generator.state)
        if reference is not None:
            self._switch_to(scenario, world)
        self._sync_agents()
        #: names of the per-step counters, from the schedule (observed as model series)
        self.counters: tuple[str, ...] = tuple(c for sub in self.schedule for c in sub.counters)
        self._obs = observe.series_row(self.state, world, self.counters)
        self.datacollector = mesa.DataCollector(
            model_reporters={name: self._reporter(name) for name in self._obs}
        )
        self.datacollector.collect(self)

    @staticmethod
    def _resolve_scenario(scenario: Any, overrides: Mapping[str, Any]) -> Any:
        if isinstance(scenario, (str, Path)):
            from agglomeration.scenario import load_scenario

            scenario = load_scenario(scenario)
        elif not all(hasattr(scenario, a) for a in ("seed", "firms", "behaviour", "policy")):
            raise InputError(
                f"expected a Scenario or a scenario file path, got {type(scenario).__name__}",
                field="scenario",
            )
        if not overrides:
            return scenario
        dotted = _split_overrides(overrides)
        if hasattr(scenario, "with_overrides"):
            return scenario.with_overrides(dotted)
        return _apply_section_overrides(scenario, dotted)

    def _reporter(self, name: str):
        return lambda m: m._obs[name]

    @property
    def firms(self) -> FirmTable:
        """The firm table (``state.firms``)."""
        return self.state.firms

    @property
    def t(self) -> int:
        """Steps completed (``state.t``)."""
        return self.state.t

    # ------------------------------------------------------------ agent view
    # The Mesa agents are a lazy view: none is created until ``model.agents`` (or ``agents_by_type`` /
    # ``agent_types``) is first read; from then on entrants get an agent and exited firms lose theirs
    # each step.  Creating and deregistering one Python object per firm costs ~10 us and ~0.5 KB each,
    # which a batch run that never looks at the agents should not pay.  Agents draw no random numbers,
    # so results do not depend on whether (or when) the view was materialised.
    def _create_agents(self, fids: np.ndarray) -> None:
        if not self.spec.firms.mesa_agents or not self._agents_materialised:
            return
        for fid in fids.tolist():
            self._agent_of[fid] = Firm(self, fid)

    def _sync_agents(self) -> None:
        """Follow this step's entries and exits in the agent view (when it is materialised)."""
        s = self.state
        for fids in s.exited:
            self._remove_agents(fids)
        for fids in s.entered:
            self._create_agents(fids)
        s.entered, s.exited = [], []

    def _materialise_agents(self) -> None:
        """Create the Firm agents of all live firms (first access to the agent view)."""
        if getattr(self, "_agents_materialised", True) or not hasattr(self, "firms"):
            return
        self._agents_materialised = True
        t = self.firms
        self._create_agents(t.fid[t.alive_rows()])

    @property
    def agents(self) -> mesa.agent.AgentSet:
        """All Firm agents (one per live firm; created on first access, see ``_create_agents``)."""
        self._materialise_agents()
        return super().agents

    @property
    def agents_by_type(self) -> dict:
        """Agents by class (materialises the lazy agent view)."""
        self._materialise_agents()
        return super().agents_by_type

    @property
    def agent_types(self) -> list[type]:
        """Agent classes present (materialises the lazy agent view)."""
        self._materialise_agents()
        return super().agent_types

    def _remove_agents(self, fids: np.ndarray) -> None:
        if not self._agent_of:
            return
        for fid in fids.tolist():
            agent = self._agent_of.pop(fid, None)
            if agent is not None:
                agent.remove()

    # ------------------------------------------------------------------ step
    def step(self) -> None:
        s = self.state
        s.begin_step()
        streams = random_streams.by_purpose(self.spec)
        if streams and self._stream_entropy is None:
            # the run's seed; a model built on a caller's generator takes one draw from it (the
            # shared start's generator, so both runs of a pair take the same)
            self._stream_entropy = (
                int(self.seed_used) if self.seed_used is not None else int(self.rng.integers(2**63))
            )
        for submodel in self.schedule:
            rng = (
                random_streams.submodel_generator(self._stream_entropy, s.t, submodel.name)
                if streams
                else self.rng
            )
            s.counts.update(submodel.run(s, self.world, self.spec, rng))
        s.tally_demography()
        s.firms.maybe_compact()
        self._sync_agents()
        if s.t % self.spec.output.series_every == 0:
            self._record()

    step.__doc__ = (
        "Advance one step (one quarter by default); no arguments (mesa 3.5 contract).\n\n"
        "Runs ``self.schedule``; by default:\n\n" + describe(SCHEDULE)
    )

    def _burn_in(self, steps: int) -> None:
        """Run ``steps`` steps before observation starts, with the policy frozen; then restart the clock
        and the run's cumulative counts (entries by region, the entrant ledger, the initial firm count).
        Wages and rents are set back to the data (their markets re-anchored at the current labour and land
        use; ``factor_prices.anchor_to_data``) once, half-way through the burn-in, or half-way through
        the controlled phase when the controller would have less than a quarter of that phase left
        after it, so the controller absorbs the jump and the observed run starts from the settled wages
        and rents: a reset at the end shocked every region's costs at once and moved the firms
        (docs/ODD.md section 5).  With ``calibrate_fixed_costs = "balance"`` the fixed costs (and
        location shifters) are tuned in all but the last ``behaviour.accounts.uncontrolled_share`` of
        the burn-in so the initial firm count is stationary (``CountController``)."""
        if steps <= 0:
            return
        s = self.state
        s.frozen_policy = s.burning_in = True
        control = None
        if self.spec.behaviour.accounts.calibrate_fixed_costs == "balance":
            cells = None
            if self.spec.behaviour.accounts.calibrate_locations:
                cells = observe.region_sector(
                    s.firms, self.world.n_regions, self.world.n_sectors, None
                ).astype(float)
            release = self.spec.behaviour.accounts.uncontrolled_share
            control = CountController(  # (+ 1e-9: 0.29 x 100 is 28.999... in binary)
                target=s.initial_by_sector.copy(),
                hold=int(steps * release + 1e-9),
                cells=cells,
                average=self.spec.behaviour.accounts.controller_averaging,
                location_gain=self.spec.behaviour.accounts.location_gain,
                location_damping=self.spec.behaviour.accounts.location_damping,
            )
        # wages and rents back to the data half-way through the burn-in (50 quarters before the end of
        # 100), or half-way through the controlled phase when that would leave the controller less than
        # a quarter of its phase to absorb the jump (never at the default share; with a controlled
        # phase of one step nothing can absorb it)
        reset = 2 * (steps // 4)
        if control is not None and control.hold > 0:
            controlled = steps - control.hold
            if reset - control.hold < controlled // 4:
                reset = control.hold + controlled // 2
        if (
            control is not None
            and control.average > 0
            and self.spec.behaviour.factor_prices.enabled
        ):
            # average only the controlled steps after the reset (one regime of wages and rents)
            control.average = max(1, min(control.average, reset - control.hold))
        for k in range(steps):
            s.begin_step()
            for submodel in self.schedule:
                submodel.run(s, self.world, self.spec, self.rng)
            s.tally_exits_by_sector()  # beliefs learn in the burn-in too
            s.firms.maybe_compact()
            if control is not None:
                control.update(s, steps - 1 - k)
            if steps - 1 - k == reset and self.spec.behaviour.factor_prices.enabled:
                factor_prices.anchor_to_data(s, self.world)  # the controlled steps absorb the move
        s.frozen_policy = s.burning_in = False
        s.restart_clock()

    def _switch_to(self, scenario: Any, world: Any) -> None:
        """Continue the settled start under ``scenario`` (and its world): its policy levers, costs and
        behaviour apply from the first observed step.  The firms, links, prices, beliefs and the
        calibrated fixed costs carry over, so variants that share a reference differ only by what they
        change (their paired differences are policy effects, not differences of their starts)."""
        from agglomeration.behaviour import costs
        from agglomeration.behaviour.policy import connectivity_to_ftz, initial_policy
        from agglomeration.initialisation import local_productivity

        old = self.world
        for what, a, b in (
            ("regions", old.region_ids, world.region_ids),
            ("sectors", old.sector_ids, world.sector_ids),
            ("gateways", old.gateway_ids, world.gateway_ids),
        ):
            if list(a) != list(b):
                raise InputError(
                    f"the scenario has other {what} than its reference ({list(b)} vs {list(a)}): a "
                    "run can only start from the settled state of a scenario with the same regions, "
                    "sectors and gateways (run it with its own start instead)",
                    field="reference",
                )
        # the supplier slots per (buyer, input) are the firm table's width, set at initialisation: a
        # run from a shared start cannot change them (it would silently keep the reference's)
        slots = (
            self.spec.behaviour.sourcing.max_suppliers,
            scenario.behaviour.sourcing.max_suppliers,
        )
        if slots[0] != slots[1]:
            raise InputError(
                f"the scenario has {slots[1]} supplier slots per input and its reference {slots[0]}: "
                "the slots are set when the firms are built, so a run that changes them needs its own "
                'start (start = "own" in the experiment, or no --lever / reference)',
                field="behaviour.sourcing.max_suppliers",
            )
        s = self.state
        self.spec, self.world = scenario, world
        s.policy = initial_policy(
            world, scenario.policy, file=getattr(scenario, "source_path", None)
        )
        s.local_tfp = (
            local_productivity(world, scenario.behaviour.market.local_productivity)
            + s.location_shift
        )
        if scenario.behaviour.accounts.calibrate_fixed_costs == "none":
            s.fixed_cost = np.asarray(world.fixed_cost, dtype=float).copy()
        s.costs = None  # the trade costs are this world's, not the reference's cached ones
        costs.apply(s, world, scenario)
        s.connectivity = connectivity_to_ftz(world, s.costs.phi)

    def _record(self) -> None:
        self._obs = observe.series_row(self.state, self.world, self.counters)
        self.datacollector.collect(self)
        self._recorded_step = self.state.t
        self._check_stop()

    def _check_stop(self) -> None:
        """Set ``running`` False when a ``[stop]`` condition holds or the watched series are steady."""
        stop = getattr(self.spec, "stop", None)
        if stop is None:
            return
        if stop.when and any(_holds(cond, self._obs) for cond in stop.when):
            self.running = False
        if stop.steady_state:
            self.running = self.running and not _steady(
                self.datacollector.model_vars, stop.steady_state, stop.window, stop.tolerance
            )

    def run(self, steps: int) -> None:
        """Run ``steps`` steps (records the final step even if it is not a multiple of series_every)."""
        if isinstance(steps, bool) or not isinstance(steps, int | np.integer) or steps < 0:
            raise InputError(f"expected an integer >= 0, got {steps!r}", field="steps")
        for _ in range(int(steps)):
            if not self.running:
                break
            self.step()
        off_grid = self.state.t % self.spec.output.series_every != 0
        if off_grid and getattr(self, "_recorded_step", None) != self.state.t:
            self._record()  # once: a second run() (or run(0)) after it must not record it again

    # ----------------------------------------------------------- observation
    def flow_balance(self) -> dict[str, float]:
        """Accounting identities of the last step's market (relative gaps; ~1e-12 when they hold).

        - ``intermediate_gap``: max over firms of |intermediate sales - purchases of its buyers| / total
          revenue (sales of suppliers = input purchases of their buyers).
        - ``expenditure_gap``: |final + intermediate expenditure - (domestic sales + imports)| / total.

        Computed when the market clears (before links, entry and exit change the rows).
        """
        return dict(self.state.balance)

    def series_frame(self) -> pd.DataFrame:
        """One row per recorded step (column ``step`` int) with the model-level series."""
        df = self.datacollector.get_model_vars_dataframe().reset_index(drop=True)
        df["step"] = df["step"].astype(int)
        return df

    def region_table(self) -> pd.DataFrame:
        """Region x sector long table: region, region_type, sector, firms, employment, output, lq."""
        return observe.region_table(self.state, self.world)

    def links_frame(self) -> pd.DataFrame:
        """Current supplier links (see docs/ARCHITECTURE.md)."""
        return observe.link_values(self.state, self.world)

    def firms_frame(self) -> pd.DataFrame:
        """The live FirmTable rows."""
        return observe.firms_frame(self.state, self.world)

    def headline_metrics(self) -> dict[str, float]:
        """Final metrics a batch stores per run."""
        return observe.headline_metrics(self.state, self.world, self.counters)
