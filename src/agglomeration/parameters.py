"""Parameter sections of a scenario: ``[firms]``, ``[behaviour]``, ``[solver]``, ``[policy]``, ``[output]``.

Each field carries its unit and range in its description; pydantic enforces the range, and unknown keys are
errors.  ``[behaviour]`` holds one sub-section per submodel, declared in the submodel's own module
(:mod:`agglomeration.submodel`); the policy levers' bounds and meaning come from their declaration in
:mod:`agglomeration.levers`.  The top-level :class:`agglomeration.scenario.Scenario` composes these
sections with the world sections (regions, logistics, sectors) defined in :mod:`agglomeration.scenario`.

Time unit: one model step (``steps_per_year`` steps a year; default 4 = quarters).
Money unit: million yuan (CNY m) per step unless a field says otherwise.
"""

from __future__ import annotations

import types
import typing
import warnings
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from agglomeration.economy import suggest
from agglomeration.levers import lever_for
from agglomeration.submodel import legacy_keys, sections


def _no_bool_numbers(cls: type[BaseModel], value: object, info: ValidationInfo) -> object:
    """``initial_count = true`` is a typo, not 1, and ``rate = "0.1"`` a string, not 0.1: pydantic
    would coerce booleans and numeric strings to numbers.  (Command-line values are parsed as TOML
    values before they get here: ``--set policy.replication_rate=0.1`` is the number 0.1.)"""
    problem = not_a_number(cls.model_fields[info.field_name].annotation, value)
    if problem:
        raise ValueError(problem)
    return value


def numbers_validator() -> Any:
    """A field validator (``_numbers = numbers_validator()`` in a model's body) that refuses a string
    or a boolean for a number field (:func:`not_a_number`)."""
    return field_validator("*", mode="before")(classmethod(_no_bool_numbers))


class Section(BaseModel):
    """Base of the scenario sections: unknown keys are errors, and a number must be a number
    (:func:`not_a_number`)."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)

    _numbers = numbers_validator()


#: the earlier, private name of :class:`Section` (submodels written against it keep working)
_Section = Section


def _scalar(annotation: Any) -> Any:
    """The type inside ``Annotated[X, ...]``, ``X | None`` and ``Optional[X]`` (``float | None`` ->
    ``float``); other annotations unchanged."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(args) != 1:
                return annotation
            annotation = args[0]
        else:
            return annotation


def not_a_number(annotation: Any, value: object) -> str | None:
    """What is wrong with ``value`` for a field annotated ``int`` or ``float`` (also ``float | None``,
    ``Annotated[float, ...]``) when it is a boolean or a string (``"expected a number, not a
    boolean"``), or for a ``bool`` field when it is a string or a number (``"expected true or
    false"``), else None: the one rule for scenario numbers and switches."""
    annotation = _scalar(annotation)
    if annotation in (int, float) and isinstance(value, bool | str):
        what = "an integer" if annotation is int else "a number"
        return f"expected {what}" + (", not a boolean" if isinstance(value, bool) else "")
    if annotation is bool and isinstance(value, str | int | float) and not isinstance(value, bool):
        return "expected true or false"  # "false" or 0 would be read as False
    return None


#: a number in a table of a scenario file (``tariff_multiplier = { rail = 0.5 }``): an int or a float,
#: never a boolean or a string (``true`` or ``"0.5"`` is an error, not 1.0 or 0.5).  Pydantic's strict
#: float, which accepts ints (pydantic >= 2.0; tests/test_scenario.py checks it).
Number = Annotated[float, Strict()]


def lever_description(path: str) -> str:
    """Field description of a lever: its meaning, valid values and unit (from its declaration)."""
    lever = lever_for(path)[0]
    return f"{lever.description}; in {lever.bounds_text()} [{lever.unit}]"


def lever_field(path: str) -> Any:
    """A pydantic ``Field`` for a scalar lever: default, bounds and description from its declaration."""
    lever = lever_for(path)[0]
    low = {"gt": lever.lo} if lever.lo_open else {"ge": lever.lo}
    return Field(
        lever.default,
        le=lever.hi,
        description=lever_description(path),
        json_schema_extra={"source": lever.source},
        **low,
    )


def _delegation_level(value: Any) -> float:
    problem = lever_for("policy.delegation.x")[0].problem(value)
    if problem is not None:
        raise ValueError(problem)
    return float(value)


#: a delegation level, checked against the lever's declaration
DelegationLevel = Annotated[float, BeforeValidator(_delegation_level)]


class FirmsParams(Section):
    """Initial firm population."""

    initial_count: int = Field(
        3000,
        ge=0,
        le=5_000_000,
        description="initial number of firms [firms]",
        json_schema_extra={
            "source": "baseline size: order of the advanced-manufacturing and modern-service firms tracked; scale parameter (fixed costs calibrated)"
        },
    )
    initial_distribution: Literal["data", "uniform", "proportional_to_income"] = Field(
        "data",
        description="how initial firms are spread over regions x sectors: 'data' uses "
        "sectors/regions initial weights (data/initial_firms.csv), 'uniform' equal shares",
        json_schema_extra={"source": "data weights from scenarios/data/initial_firms.csv"},
    )
    productivity_sigma: float = Field(
        0.35,
        ge=0.0,
        le=3.0,
        description="std. dev. of log productivity at birth [log points]",
        json_schema_extra={
            "source": "log-productivity dispersion of the order used in calibrations of Melitz (2003)-type models (0.3-0.5); with sigma 5 it gives a heavy-tailed size distribution (Axtell 2001; docs/THEORY.md 9.1)"
        },
    )
    initial_equity: float = Field(
        16.0,
        ge=0.0,
        le=1e6,
        description="equity of a new firm (start-up capital), in units of its sector's fixed cost per "
        "line [-]",
        json_schema_extra={
            "source": "estimate (range 8-24): start-up capital that, with behaviour.exit.loss_grace, "
            "makes exit hazards rise with age over the first years as for Chinese firms (SAIC 2013: "
            "1.6, 6.3, 9.5 % in years 1-3); the simulated hazards are higher (about 8, 13, 26 %; "
            "docs/VALIDATION.md section 6)"
        },
    )
    productivity_mean: float = Field(
        0.0,
        ge=-10.0,
        le=10.0,
        description="mean log productivity at birth [log points]",
        json_schema_extra={"source": "normalisation (only relative productivity matters)"},
    )
    mesa_agents: bool = Field(
        True,
        description="create one mesa.Agent view per firm (model.agents); switch off for very large "
        "runs to save about 0.5 KB per firm",
        json_schema_extra={"source": "Mesa views cost memory; off for benchmarks at 10^6 firms"},
    )


class SolverParams(Section):
    """``[solver]``: numerical settings of the within-step fixed points (not economics)."""

    price_iterations: int = Field(
        30,
        ge=1,
        le=1000,
        description="max fixed-point iterations of the price and revenue systems [-]",
        json_schema_extra={"source": "cap; convergence to 1e-11 usually takes fewer passes"},
    )
    income_iterations: int = Field(
        3,
        ge=1,
        le=1000,
        description="max passes of the within-step income loop (market -> incomes -> final expenditure); "
        "1 = incomes lag one step [-]",
        json_schema_extra={
            "source": "3 passes remove most of the income lag at 3 clear-market costs per step; raise for exact short-run equilibria"
        },
    )
    random_streams: Literal["shared", "by_purpose"] = Field(
        "shared",
        description="how the observed run's draws are organised: 'shared' = one generator for the "
        "run (a lever that changes one draw shifts every later one, so paired runs decouple within a "
        "few quarters); 'by_purpose' = a generator per submodel and step, and the per-firm draws of "
        "learning, product lines, relocation, exit and supplier search indexed by firm id (and input), "
        "so paired runs keep the same numbers for the same firm and purpose "
        "(agglomeration.random_streams) [-]",
        json_schema_extra={
            "source": "numerical setting: 'shared' for the documented results except the lever "
            "experiments (docs/LEVER_EFFECTS.md); 'by_purpose' "
            "synchronises common random numbers by purpose (Law 2015, Simulation Modeling and "
            "Analysis, section 11.2) and narrows paired intervals (docs/EXPERIMENTS.md)"
        },
    )


#: flat ``[behaviour]`` keys of earlier versions that moved to ``[solver]``
SOLVER_LEGACY = ("price_iterations", "income_iterations")


class BehaviourParams(BaseModel):
    """``[behaviour]``: the model's time unit and one sub-section per submodel (``[behaviour.entry]``,
    ``[behaviour.sourcing]``, ...).

    The sub-sections are the parameter classes the submodels declare (:mod:`agglomeration.submodel`);
    every declared submodel's section is present (with its defaults when not given), so
    ``scenario.behaviour.entry.floor`` always resolves.  Flat keys of earlier versions
    (``entry_floor``) are accepted with a :class:`DeprecatedKeyWarning` naming the new key.
    """

    model_config = ConfigDict(extra="allow", frozen=True, validate_default=True)
    _numbers = numbers_validator()

    steps_per_year: int = Field(
        4,
        ge=1,
        le=365,
        description="model steps per year [1/year]",
        json_schema_extra={
            "source": "one step = one quarter, the period of the default world data (money in CNY m per quarter; scenarios/data/README.md)"
        },
    )

    @model_validator(mode="wrap")
    @classmethod
    def _sections(cls, data: Any, handler: Any) -> Any:
        if isinstance(data, BehaviourParams):
            return data
        if data is None:
            data = {}
        if not isinstance(data, Mapping):
            raise ValueError(f"expected a table, got {type(data).__name__}")
        data = migrate_behaviour_keys(dict(data))
        known = {**{n: None for n in cls.model_fields}, **sections()}
        for key in data:
            if key not in known:
                hint = (
                    f"; it moved to [solver] {key}"
                    if key in SOLVER_LEGACY
                    else suggest(key, list(known))
                )
                raise ValueError(f"unknown key {key!r}{hint} (allowed: {', '.join(known)})")
        errors: list[Any] = []
        for name, klass in sections().items():
            value = data.get(name, {})
            if isinstance(value, klass):
                continue
            try:
                data[name] = klass.model_validate(value)
            except ValidationError as exc:
                errors += [
                    {**e, "loc": (name, *e["loc"])} | ({"ctx": e["ctx"]} if "ctx" in e else {})
                    for e in exc.errors()
                ]
        if errors:
            raise ValidationError.from_exception_data(cls.__name__, errors)
        return handler(data)

    @classmethod
    def section_models(cls) -> dict[str, type[BaseModel]]:
        """The parameter class of every sub-section, by name (schema introspection)."""
        return sections()


class DeprecatedKeyWarning(FutureWarning):
    """A scenario or experiment uses a key of an earlier version; the message names the new key."""


def migrate_behaviour_keys(data: dict[str, Any], source: Any = None) -> dict[str, Any]:
    """Move flat keys of earlier versions (``entry_floor``) into their sub-section (``entry.floor``),
    warning with the new key (prefixed by ``source``, the file); a key given both ways is an error."""
    legacy = legacy_keys()
    prefix = f"{source}: " if source else ""
    for old in [k for k in data if k in legacy]:
        section, new = legacy[old].split(".", 1)
        warnings.warn(
            f"{prefix}behaviour.{old} is deprecated; use behaviour.{section}.{new}",
            DeprecatedKeyWarning,
            stacklevel=3,
        )
        target = data.get(section)
        target = dict(target) if isinstance(target, Mapping) else {}
        if new in target:
            raise ValueError(
                f"{old!r} and {section}.{new} set the same parameter; keep {section}.{new}"
            )
        target[new] = data.pop(old)
        data[section] = target
    return data


class PolicyParams(Section):
    """The two policy levers: power delegation / reform replication, and information sharing."""

    enabled: bool = Field(
        True,
        description="reforms are pioneered and replicated (false: frozen policy)",
        json_schema_extra={"source": "switch"},
    )

    delegation: dict[str, DelegationLevel] = Field(
        default_factory=dict,
        description=lever_description("policy.delegation.x"),
        json_schema_extra={"source": "data (regions.csv) unless overridden; the policy lever"},
    )
    replication_rate: float = lever_field("policy.replication_rate")
    information_sharing: float = lever_field("policy.information_sharing")

    pioneer_rate: float = Field(
        0.05,
        ge=0.0,
        le=1.0,
        description="hazard that an FTZ area adopts one given reform of the pool [1/step]",
        json_schema_extra={
            "source": "assumption: an FTZ area pilots a given reform within ~5 years (the innovation term of a Bass 1969 diffusion hazard; docs/THEORY.md 10)"
        },
    )
    reforms_per_category: int = Field(
        4,
        ge=0,
        le=100,
        description="reforms in the pool per category (5 categories) [-]",
        json_schema_extra={
            "source": "assumption: 20 reforms in 5 categories (the policy names five domains; the count per domain is not documented)"
        },
    )
    other_replication_factor: float = Field(
        0.2,
        ge=0.0,
        le=1.0,
        description="replication hazard of 'other' regions relative to connected areas [-]",
        json_schema_extra={
            "source": "assumption: areas outside the programme replicate slowly (plausible 0-0.5)"
        },
    )
    delegation_admin_effect: float = Field(
        0.40,
        ge=0.0,
        le=1.0,
        description="share of the recurring administrative burden removed at full delegation [-]",
        json_schema_extra={
            "source": "estimate (range 0.2-0.6): registration time 5 -> <1 day in Chongqing 2018-21 "
            "(CCTV 2019 business-environment report; cqcb.com 2021-11-28), 35 % of firms paying "
            "bribes to operate (Charney Research 2014), most entrepreneurs seeing little change "
            "(China Entrepreneur Survey System 2015-17) (docs/LEVERS.md, Evidence)"
        },
    )
    delegation_entry_effect: float = Field(
        0.08,
        ge=0.0,
        le=1.0,
        description="share of the one-off entry cost removed at full delegation (registration and "
        "investment approvals handled in the zone) [-]",
        json_schema_extra={
            "source": "estimate (range 0.025-0.16): with investment_entry_effect 0.08 full delegation "
            "plus full replication of investment management cut entry cost by 15 % (range 5-30 %), "
            "the cut that gives the +25 % manufacturing entry of the Guangdong registration reform "
            "(Barwick, Chen, Li & Zhang 2024, CEPR DP19439) at an implied entry elasticity of about 1.7 "
            "(25 / 15, over the assumed 15 % cut; 0.8-5 over its range; the evidence ranges from no "
            "effect to this: docs/LEVER_EFFECTS.md); the model's own elasticity is far smaller (about 0.17: scripts/entry_elasticity.py; "
            "docs/ODD.md, Known limitations), "
            "so at this cut it understates the reform's entry effect"
        },
    )
    delegation_delay_effect: float = Field(
        0.50,
        ge=0.0,
        le=1.0,
        description="share of the approval delay (behaviour.entry.approval_days) removed at full "
        "delegation [-]",
        json_schema_extra={
            "source": "estimate (range 0.2-0.7, i.e. a delegated delay of 0.3-0.8 x): Liangjiang "
            "promised processing times 60 % below the legal limit with 283 delegated powers (Xinhua "
            "2017-04-29); a Sichuan high-tech zone cut industrial land approval from 45 to 7 working "
            "days; Chongqing general construction permit 45-50 working days (2023)"
        },
    )
    government_functions_admin_effect: float = Field(
        0.30,
        ge=0.0,
        le=1.0,
        description="share of the administrative burden removed when a region has replicated every "
        "reform of the 'government functions' domain (transformation of government functions) [-]",
        json_schema_extra={
            "source": "estimate (range 0.1-0.5): entertainment and travel costs about 3 % of value "
            "added (Cai, Fang & Xu 2011, J Law Econ 54(1)); registration 5 -> <1 day (Chongqing)"
        },
    )
    investment_entry_effect: float = Field(
        0.08,
        ge=0.0,
        le=1.0,
        description="share of the one-off entry cost removed when a region has replicated every reform "
        "of the 'investment management' domain (negative list, filing instead of approval) [-]",
        json_schema_extra={
            "source": "estimate (range 0.025-0.16): see delegation_entry_effect (Barwick et al. 2024)"
        },
    )
    investment_delay_effect: float = Field(
        0.20,
        ge=0.0,
        le=1.0,
        description="share of the approval delay removed when a region has replicated every reform of "
        "the 'investment management' domain [-]",
        json_schema_extra={
            "source": "estimate (range 0-0.4): the national approval reform (>200 -> 120 working days, "
            "-40 %; MOHURD 2019) is in the baseline delay, so a zone's extra cut is below 40 %"
        },
    )
    trade_customs_effect: float = Field(
        0.40,
        ge=0.0,
        le=1.0,
        description="share of the region's customs dwell hours removed when it has replicated every "
        "reform of the 'trade facilitation' domain (customs hours x 0.6 at full replication) [-]",
        json_schema_extra={
            "source": "estimate (range 0.2-0.6): national import clearance 97.4 -> 32.0 h, export 12.3 "
            "-> 1.0 h 2017-22 (GACC); Sichuan-Chongqing bonded spare parts clearance time -25 % (2024)"
        },
    )
    finance_rate_cut: float = Field(
        0.005,
        ge=0.0,
        le=0.05,
        description="cut of entrants' annual discount (interest) rate when a region has replicated "
        "every reform of the 'financial innovation' domain (financial innovation and opening) "
        "[1/year]",
        json_schema_extra={
            "source": "estimate (range 0-0.014): onshore-offshore benchmark gap of cross-border RMB "
            "loans in the Shanghai FTZ, PBoC 1-yr 5.6 % vs CNH HIBOR 4.2 % (2014); no Chongqing estimate"
        },
    )
    supervision_admin_effect: float = Field(
        0.15,
        ge=0.0,
        le=1.0,
        description="share of the administrative (compliance and inspection) burden removed when a "
        "region has replicated every reform of the 'supervision' domain (overall supervision) [-]",
        json_schema_extra={
            "source": "estimate (range 0.1-0.2): credit-based ex-post supervision and 'separating "
            "permits from licences'; no cost number found"
        },
    )
    replicate: dict[str, Number] = Field(
        default_factory=dict,
        description=lever_description("policy.replicate.x"),
        json_schema_extra={"source": "1 for every domain unless overridden; the policy lever"},
    )


#: a stop condition: "<metric> <op> <number>", e.g. "firms_connected > 500" (a metric of the series)
STOP_CONDITION = (
    r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(<=|>=|<|>)\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$"
)


class StopParams(Section):
    """``[stop]``: end a run early when a condition holds or the model is in a steady state."""

    when: list[str] = Field(
        default_factory=list,
        description="conditions on model series (columns of timeseries.csv, not the metrics of the "
        "end of the run only), each '<metric> <op> <number>' with op one of < <= > >=; the run stops "
        "after the first step at which any holds",
        json_schema_extra={"source": "user choice"},
    )
    steady_state: list[str] = Field(
        default_factory=list,
        description="model series watched for a steady state: the run stops when, for every one, the "
        "mean over the last `window` recorded steps differs from the mean over the window before by "
        "less than `tolerance` (relative)",
        json_schema_extra={"source": "user choice"},
    )
    window: int = Field(
        20,
        ge=1,
        le=100_000,
        description="recorded steps per window of the steady-state test [steps]",
        json_schema_extra={"source": "estimate: five years of quarters"},
    )
    tolerance: float = Field(
        0.01,
        gt=0.0,
        le=1.0,
        description="largest relative change between two windows' means in a steady state [-]",
        json_schema_extra={"source": "estimate: 1 %"},
    )

    @field_validator("when")
    @classmethod
    def _conditions(cls, value: list[str]) -> list[str]:
        import re

        for i, cond in enumerate(value):
            match = re.match(STOP_CONDITION, cond)
            if not match:
                raise ValueError(
                    f"[{i}]: expected '<metric> <op> <number>' with op one of < <= > >=, got {cond!r}"
                )
            _known_metric(match.group(1), f"[{i}]")
        return value

    @field_validator("steady_state")
    @classmethod
    def _watched(cls, value: list[str]) -> list[str]:
        for i, name in enumerate(value):
            _known_metric(name, f"[{i}]")
        return value


def _known_metric(name: str, where: str) -> None:
    """A metric a stop condition names must be one the model records every step: a typo, or a metric
    of the end of the run only, would otherwise show only when the run reaches its first check
    (after the burn-in), or fail every run of a batch that ``validate`` passed."""
    from agglomeration.logistics_outcomes import describe_metric_name, in_series
    from agglomeration.metrics.registry import FINAL_ONLY, REGISTRY

    logistics = name not in REGISTRY and describe_metric_name(name) is not None
    if name not in REGISTRY and not logistics:
        raise ValueError(f"{where}: unknown metric {name!r}{suggest(name, list(REGISTRY))}")
    if name in FINAL_ONLY or (logistics and not in_series(name)):
        raise ValueError(
            f"{where}: {name!r} is computed at the end of the run only, not in the per-step series a "
            "stop condition reads (docs/OUTPUTS.md, timeseries.csv)"
        )


class OutputParams(Section):
    """What a single run records."""

    series_every: int = Field(
        1,
        ge=1,
        le=10_000,
        description="record model series every k steps [steps]",
        json_schema_extra={"source": "every step"},
    )
    figures: bool = Field(
        True,
        description="draw the figures (figures/, PNG and PDF) in `agglomeration run`",
        json_schema_extra={"source": "figures on by default"},
    )
