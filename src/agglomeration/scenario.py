"""Scenario files: TOML schema, ``extends`` inheritance, overrides and the resolved data tables.

A scenario file (TOML) has the top-level keys ``name``, ``description``, ``extends``, ``seed``, ``steps``
and the tables ``[regions]``, ``[logistics]``, ``[sectors]`` (world data: CSV files plus edits, defined
here), ``[growth]`` (the calendar and the nominal growth table, checked by
:mod:`agglomeration.behaviour.growth`) and ``[firms]``, ``[behaviour]``, ``[policy]``, ``[output]`` (behaviour, defined in
:mod:`agglomeration.parameters`).  :func:`load_scenario` reads it, merges its ``extends`` parents (deep
merge; lists and scalars replaced), applies overrides, reads and validates every data CSV (paths relative
to the file that names them) and returns a frozen :class:`Scenario` that *contains* the validated records,
so it is self-contained, picklable and has a stable :meth:`Scenario.fingerprint`.

Every invalid input raises :class:`agglomeration.errors.InputError` naming the file, the field path and
what was expected.  Nothing in a scenario file is evaluated as code.
"""

from __future__ import annotations

import copy
import csv
import difflib
import hashlib
import json
import math
import os
import re
import tomllib
import types
import typing
import warnings
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator

from agglomeration.behaviour.growth import GrowthRecord, check_growth
from agglomeration.economy import (
    ChainRecord,
    SectorRecord,
    chains_from_records,
    check_io,
    suggest,
)
from agglomeration.errors import InputError, OverrideError, describe_os_error, shorten
from agglomeration.geography import (
    REGIONS_KEY,
    GatewayRecord,
    HubRecord,
    LinkRecord,
    ModeRecord,
    OptionConstantRecord,
    RegionRecord,
    RouteOptionRecord,
    route_option_problem,
)
from agglomeration.levers import check_table, lever_for, valid_keys
from agglomeration.parameters import (
    SOLVER_LEGACY,
    BehaviourParams,
    DeprecatedKeyWarning,
    FirmsParams,
    Number,
    OutputParams,
    PolicyParams,
    Section,
    SolverParams,
    StopParams,
    migrate_behaviour_keys,
    not_a_number,
)
from agglomeration.submodel import legacy_keys

#: most model steps a scenario or a run may ask for (2,500 years of quarters); far beyond any policy
#: horizon, and well below where a run's counters or memory would give out
MAX_STEPS = 10_000
#: largest scenario TOML file read [bytes]
MAX_TOML_BYTES = 1 << 20
#: largest data CSV read [bytes]: 32 MiB holds ~400,000 links; checked before the file is loaded
MAX_CSV_BYTES = 32 << 20
#: deepest nesting of tables / arrays in a scenario file or a ``--set`` value
MAX_NESTING = 16
#: names become directory and column labels: letters, digits, ``_`` and ``-``, 1-64 characters
NAME_RULE = re.compile(r"[A-Za-z][A-Za-z0-9_\-]{0,63}")


# ----------------------------------------------------------------------------- world sections
class RegionsSection(Section):
    """``[regions]``: the region table and per-region edits."""

    file: str = Field(
        "data/regions.csv", min_length=1, description="regions CSV, relative to the scenario file"
    )
    initial_firms_file: str = Field(
        "data/initial_firms.csv",
        min_length=1,
        description="region x sector initial firm weights CSV",
    )
    bonded_file: str | None = Field(
        None,
        description="CSV of the special customs supervision zones (comprehensive bonded zones, bonded "
        "ports and logistics centres) by region; none when empty",
    )
    overrides: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="per-region column overrides, e.g. [regions.overrides.WZ] base_wage = 0.02",
    )


class LinkRef(Section):
    """A link to remove: places and (optionally) the mode; without mode every mode is removed."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    origin: str = Field(alias="from", description="place id")
    dest: str = Field(alias="to", description="place id")
    mode: str | None = Field(None, description="mode name, or all modes")


class HubAdd(Section):
    """Give a place a terminal of a mode (e.g. a new rail terminal at NP)."""

    place: str = Field(description="region, gateway or hub id")
    mode: str = Field(description="mode name")


class LogisticsSection(Section):
    """``[logistics]``: network data files and scenario edits of tariffs, speeds, links and hubs."""

    modes_file: str = Field("data/modes.csv", min_length=1, description="modes CSV")
    links_file: str = Field("data/links.csv", min_length=1, description="links CSV")
    gateways_file: str = Field("data/gateways.csv", min_length=1, description="gateways CSV")
    hubs_file: str = Field("data/hubs.csv", min_length=1, description="transit hubs CSV")
    options_file: str = Field(
        "data/route_options.csv", min_length=1, description="route options CSV"
    )
    constants_file: str = Field(
        "data/option_constants.csv",
        min_length=1,
        description="route options' constants per destination CSV",
    )
    route_choice_elasticity: float = Field(
        2.0,
        gt=0.0,
        le=100.0,
        description="theta of the route-option logit in the log of the ad-valorem generalised cost [-]",
        json_schema_extra={
            "source": "calibrated: China-Europe rail vs sea shares after the 2022-23 sea-rate fall "
            "(docs/LOGISTICS.md); range 1-4"
        },
    )
    distance_scale_km: float = Field(
        10.0,
        gt=0.0,
        le=1e5,
        description="D0 of the non-freight distance friction (max(km, D0) / D0)^delta: no friction "
        "within D0 [km]",
        json_schema_extra={
            "source": "estimate: 10 km (neighbouring parks of one district; range 5-30)"
        },
    )
    max_feeder_share: float = Field(
        0.5,
        gt=0.0,
        le=1.0,
        description="largest share of a route's km on its option's feeder modes (route_options.csv "
        "feeder_modes, e.g. road for rail) for the option to be offered between two markets, in (0, 1] "
        "[-]",
        json_schema_extra={
            "source": "estimate: 0.5 (a 'rail' route that runs mostly by truck is a road route); "
            "range 0.3-0.7"
        },
    )
    max_circuity: float = Field(
        3.0,
        gt=1.0,
        le=100.0,
        description="largest ratio of a route's km to the great-circle km between its two markets for "
        "an option with feeder modes to be offered between them (no detours such as 330 km of rail "
        "out and 256 km of road back for a 45 km trip) [-]",
        json_schema_extra={
            "source": "estimate: 3 (range 2-4); road routes run about 1.3 x great-circle, the CR "
            "Express 1.4 x, river-sea to Europe via Shanghai about 2.7 x"
        },
    )
    tariff_multiplier: dict[str, Number] = Field(
        default_factory=dict, description="mode -> factor on the tariff [yuan/t-km], in (0, 100]"
    )
    speed_multiplier: dict[str, Number] = Field(
        default_factory=dict, description="mode -> factor on the speed [km/h], in (0, 100]"
    )
    fee_multiplier: dict[str, Number] = Field(
        default_factory=dict,
        description="mode -> factor on end and transshipment fees, in [0, 100]",
    )
    customs_multiplier: dict[str, Number] = Field(
        default_factory=dict,
        description="place id, region type or 'all' -> factor on customs dwell hours, in [0, 100]",
    )
    add_links: list[LinkRecord] = Field(
        default_factory=list, description="links to add (same places and mode replaces a link)"
    )
    remove_links: list[LinkRef] = Field(default_factory=list, description="links to remove")
    add_hubs: list[HubAdd] = Field(default_factory=list, description="mode terminals to add")
    mode_overrides: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="per-mode column overrides of modes.csv"
    )
    gateway_overrides: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="per-gateway column overrides of gateways.csv"
    )


class SectorsSection(Section):
    """``[sectors]``: sector table, input-output matrix, chains and per-sector edits."""

    file: str = Field("data/sectors.csv", min_length=1, description="sectors CSV")
    io_file: str = Field(
        "data/io_coefficients.csv", min_length=1, description="input-output cost shares CSV"
    )
    chains_file: str = Field("data/chains.csv", min_length=1, description="chains CSV")
    overrides: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="per-sector column overrides, e.g. [sectors.overrides.rnd]",
    )


class BondedRecord(Section):
    """One row of the bonded-zones CSV: a special customs supervision zone in a region."""

    region_id: str = Field(min_length=1, description="region id")
    zone: str = Field(min_length=1, description="name of the zone")
    kind: str = Field(
        pattern=r"^(comprehensive_bonded_zone|bonded_port|bonded_logistics_centre)$",
        description="comprehensive_bonded_zone | bonded_port | bonded_logistics_centre",
    )
    provenance: str = Field(min_length=1, description="'source: ...' and/or 'estimate: ...'")


class GrowthSection(Section):
    """``[growth]``: the scenario's calendar and its nominal growth table (behaviour/growth.py)."""

    file: str | None = Field(
        None,
        description="growth table CSV (series, year, rate, low, high, provenance), relative to the "
        "scenario file; not set = no growth",
    )
    start_year: int = Field(
        2021,
        ge=1900,
        le=2200,
        description="calendar year whose 1 January is step 0 [year]",
        json_schema_extra={
            "source": "2021: the first batch of connected innovation areas (Nov 2021)"
        },
    )


class ScenarioData(Section):
    """The resolved, validated data tables (after every override) held inside a Scenario."""

    regions: tuple[RegionRecord, ...]
    gateways: tuple[GatewayRecord, ...]
    hubs: tuple[HubRecord, ...]
    modes: tuple[ModeRecord, ...]
    links: tuple[LinkRecord, ...]
    options: tuple[RouteOptionRecord, ...]
    constants: tuple[OptionConstantRecord, ...]
    sectors: tuple[SectorRecord, ...]
    io: tuple[tuple[float, ...], ...]  # a[k][s], sector order
    chains: dict[str, tuple[str, ...]]  # chain -> sector ids, final last
    initial_firms: tuple[tuple[float, ...], ...]  # (R, S) relative weights
    bonded: tuple[BondedRecord, ...] = ()
    growth: tuple[GrowthRecord, ...] = ()  # the growth table ([growth] file), checked


#: keys a user may write at the top level of a scenario file
USER_KEYS = (
    "name",
    "description",
    "extends",
    "seed",
    "steps",
    "regions",
    "logistics",
    "sectors",
    "growth",
    "firms",
    "behaviour",
    "policy",
    "output",
)
#: (section, key) pairs that are paths relative to the file naming them
#: parameters added after results stores were first written, with the value that reproduces the model
#: before them: at that value they are left out of :meth:`Scenario.fingerprint`, so a scenario that does
#: not use them keeps its fingerprint and older stores stay reproducible (``agglomeration reproduce``)
FINGERPRINT_NEUTRAL: dict[tuple[str, ...], Any] = {
    ("behaviour", "accounts", "controller_averaging"): 0,
    ("behaviour", "accounts", "location_gain"): 0.1,
    ("behaviour", "accounts", "location_damping"): 0.0,
    ("behaviour", "entry", "pool_scale"): 1.0,
    # the model before it at the baseline's 3,000 initial firms (other sizes changed: CHANGELOG)
    ("behaviour", "entry", "floor_reference_firms"): 3000.0,
    ("behaviour", "entry", "exit_option"): "after_losses",
    ("behaviour", "prospects", "learn_hazard"): False,
    ("solver", "random_streams"): "shared",
}

PATH_KEYS = (
    ("regions", "file"),
    ("regions", "initial_firms_file"),
    ("regions", "bonded_file"),
    ("logistics", "modes_file"),
    ("logistics", "links_file"),
    ("logistics", "gateways_file"),
    ("logistics", "hubs_file"),
    ("logistics", "options_file"),
    ("logistics", "constants_file"),
    ("sectors", "file"),
    ("sectors", "io_file"),
    ("sectors", "chains_file"),
    ("growth", "file"),
)


class _UserScenario(Section):
    """What a user may write (the Scenario without its resolved data)."""

    name: str = Field(
        min_length=1,
        description="scenario name: a letter, then letters, digits, '_' or '-' (at most 64)",
    )
    description: str = Field("", description="free text")
    extends: str | None = Field(None, description="parent scenario file (relative path)")
    seed: int = Field(
        0,
        ge=0,
        le=2**63 - 1,
        description="base random seed [-]",
        json_schema_extra={"source": "user choice"},
    )
    steps: int = Field(
        40,
        ge=0,
        le=MAX_STEPS,
        description="number of model steps [steps]",
        json_schema_extra={"source": "user choice; the baseline: 40 quarters (2021-2030)"},
    )
    burn_in: int = Field(
        0,
        ge=0,
        le=100_000,
        description="steps run before observation starts (not recorded; policy frozen), so the "
        "observed run starts from a settled state [steps]",
        json_schema_extra={
            "source": "the baseline: 100 quarters, enough for the firm count and the regions to "
            "settle (docs/VALIDATION.md; 500 settles the size distribution, "
            "scenarios/size_volatility.toml); 0 = observe from the data's state"
        },
    )
    regions: RegionsSection = Field(default_factory=RegionsSection)
    logistics: LogisticsSection = Field(default_factory=LogisticsSection)
    sectors: SectorsSection = Field(default_factory=SectorsSection)
    growth: GrowthSection = Field(default_factory=GrowthSection)
    firms: FirmsParams = Field(default_factory=FirmsParams)
    behaviour: BehaviourParams = Field(default_factory=BehaviourParams)
    solver: SolverParams = Field(default_factory=SolverParams)
    policy: PolicyParams = Field(default_factory=PolicyParams)
    output: OutputParams = Field(default_factory=OutputParams)
    stop: StopParams = Field(default_factory=StopParams)

    @field_validator("name")
    @classmethod
    def _name_rule(cls, v: str) -> str:
        # fullmatch: `$` would accept a trailing newline; the name may become a directory name
        if not NAME_RULE.fullmatch(v):
            raise ValueError(
                "expected a name that starts with a letter and has only letters, digits, '_' or "
                "'-' (at most 64 characters)"
            )
        return v


class Scenario(_UserScenario):
    """A validated, immutable scenario: parameters plus the resolved world data.

    Build with :func:`load_scenario`; derive variants with :meth:`with_overrides`.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=False)

    data: ScenarioData

    _raw: dict = PrivateAttr(default_factory=dict)
    _source: str | None = PrivateAttr(default=None)
    _cache: dict = PrivateAttr(default_factory=dict)
    _overrides: dict = PrivateAttr(default_factory=dict)

    @property
    def source_path(self) -> Path | None:
        """The scenario file this was loaded from (``None`` if built in memory)."""
        return Path(self._source) if self._source else None

    @property
    def applied_overrides(self) -> dict[str, Any]:
        """Every override applied since the file was read (dotted keys, values as given, data
        paths absolute): ``load_scenario(source_path, applied_overrides)`` rebuilds this scenario."""
        return copy.deepcopy(self._overrides)

    @property
    def region_ids(self) -> tuple[str, ...]:
        """Region ids in data order."""
        return tuple(r.region_id for r in self.data.regions)

    @property
    def sector_ids(self) -> tuple[str, ...]:
        """Sector ids in data order."""
        return tuple(s.sector_id for s in self.data.sectors)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict of the resolved scenario (paths relative to the source file)."""
        d = self.model_dump(mode="json", by_alias=True)
        base = Path(self._source).parent if self._source else None
        for sec, key in PATH_KEYS:
            if base is not None and d[sec][key] is not None:
                try:
                    d[sec][key] = os.path.relpath(d[sec][key], base)
                except ValueError:  # other drive on Windows
                    pass
        return d

    def fingerprint(self) -> str:
        """sha256 of the canonical JSON of the resolved content incl. data (file paths and the data's
        provenance texts excluded)."""
        d = self.model_dump(mode="json", by_alias=True)
        for sec, key in PATH_KEYS:
            d[sec].pop(key, None)
        d.pop("extends", None)
        # where a number comes from changes no result: a corrected source keeps the run ids
        _drop_provenance(d.get("data"))
        # whether `run` draws figures changes no result: hashed as its default, so --no-figures
        # keeps the run's identity (run id, reproduce) and the default fingerprint is unchanged
        if isinstance(d.get("output"), dict) and "figures" in d["output"]:
            d["output"]["figures"] = True
        # a by-purpose run's draws depend on how the draws are keyed: the keying's revision is part of
        # its identity, so a batch of an earlier keying is not resumed into (random_streams.py)
        solver = d.get("solver")
        if isinstance(solver, dict) and solver.get("random_streams") == "by_purpose":
            from agglomeration.random_streams import KEYING_REVISION

            solver["random_streams"] = f"by_purpose/{KEYING_REVISION}"
        for path, neutral in FINGERPRINT_NEUTRAL.items():
            parent = d
            for key in path[:-1]:
                parent = parent.get(key, {}) if isinstance(parent, dict) else {}
            if isinstance(parent, dict) and path[-1] in parent and parent[path[-1]] == neutral:
                del parent[path[-1]]
        text = json.dumps(d, sort_keys=True, separators=(",", ":"), allow_nan=False)
        return hashlib.sha256(text.encode()).hexdigest()

    def with_overrides(
        self, overrides: Mapping[str, Any] | None = None, **kw_overrides: Any
    ) -> Scenario:
        """A new Scenario with dotted (``"policy.delegation.WZ"``) or ``__`` keyword overrides."""
        raw = copy.deepcopy(self._raw)
        base_dir = Path(self._source).parent if self._source else Path.cwd()
        try:
            applied = _apply_overrides(raw, overrides, kw_overrides, base_dir)
            scen = _resolve(raw, self._source, dict(self._cache))
        except InputError as exc:
            raise _blame_override(exc, overrides, kw_overrides, self._source) from None
        scen._overrides = {**self._overrides, **applied}
        return scen


# ----------------------------------------------------------------------------- public loader
def load_scenario(
    path: str | Path, overrides: Mapping[str, Any] | None = None, **kw_overrides: Any
) -> Scenario:
    """Read, merge (``extends``), override and validate a scenario file into a :class:`Scenario`.

    ``overrides`` maps dotted paths to values (``{"policy.delegation.WZ": 0.8}``); keyword overrides use
    ``__`` for dots (``policy__replication_rate=0.1``).  Values are taken as given: a string is a
    string (``"0.8"`` for a number is an error, not 0.8); command-line text is parsed by
    :func:`parse_value` before it gets here (``agglomeration run --set``).
    """
    if not isinstance(path, str | Path):
        raise InputError(f"expected a scenario file path, got {path!r}", field="path")
    if overrides is not None and not isinstance(overrides, Mapping):
        raise InputError(
            f"expected a mapping of dotted paths to values, got {type(overrides).__name__}",
            field="overrides",
        )
    path = Path(path)
    raw = _load_raw(path, ())
    try:
        applied = _apply_overrides(raw, overrides, kw_overrides, _real(path, path, None).parent)
        scen = _resolve(raw, str(path), {})
    except InputError as exc:
        raise _blame_override(exc, overrides, kw_overrides, str(path)) from None
    scen._overrides = applied
    return scen


def _blame_override(
    exc: InputError, overrides: Mapping[str, Any] | None, kw: Mapping[str, Any], file: Any
) -> InputError:
    """``exc`` as an :class:`OverrideError` when it is about a field an override set (the field is the
    override's key, below it, or a table the override named: ``logistics.tarif_multiplier`` of
    ``logistics.tarif_multiplier.rail``), so that it names the override rather than the scenario file;
    otherwise ``exc`` itself."""
    if isinstance(exc, OverrideError) or exc.field is None:
        return exc
    if exc.file is not None and not exc.names_file(file):
        return exc  # about a data file
    keys = [k for k in (overrides or {}) if isinstance(k, str)]
    keys += [k.replace("__", ".") for k in kw]
    # each key as given and as it is now (a key of an earlier version was already warned about)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecatedKeyWarning)
        names = {k: (k, migrate_key(k) if k and all(k.split(".")) else k) for k in keys}
    field = exc.field
    below = []  # overrides of fields inside the table the error is about
    for key in sorted(keys, key=len, reverse=True):  # the most specific override first
        for k in dict.fromkeys(names[key]):
            if field == k or field.startswith((f"{k}.", f"{k}[")):
                return OverrideError(exc.message, key=key, field=field)
            if k.startswith(f"{field}."):
                below.append((key, k))
    if below:
        # a check across a table's fields (behaviour.entry: location_scale <= logit_scale): blame an
        # override the message names, not merely the longest key set in the table
        named = [
            key for key, k in below if re.search(rf"\b{re.escape(k.split('.')[-1])}\b", exc.message)
        ]
        return OverrideError(exc.message, key=(named or [below[0][0]])[0], field=field)
    return exc


def value_at(scenario: Any, path: str) -> Any:
    """The value at dotted ``path`` of a scenario (fields, and keys of its dict fields such as
    ``policy.delegation``), or None where the path does not exist."""
    cur: Any = scenario
    for part in path.split("."):
        cur = cur.get(part) if isinstance(cur, dict) else getattr(cur, part, None)
        if cur is None:
            return None
    return cur


def parse_value(text: Any, field: str | None = None) -> Any:
    """Parse a command-line value as a TOML value, falling back to the string itself.

    A value nested deeper than :data:`MAX_NESTING` is an InputError (naming ``field``)."""
    if not isinstance(text, str):
        check_nesting(text, None, field)
        return text
    try:
        value = tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text
    except RecursionError:
        value = None
        _too_deep(None, field)
    check_nesting(value, None, field)
    return value


def _too_deep(file: Any, field: str | None) -> None:
    raise InputError(
        f"nested more than {MAX_NESTING} levels deep (tables or arrays); expected a flatter value",
        file=file,
        field=field,
    )


def check_nesting(value: Any, file: Any = None, field: str | None = None) -> None:
    """InputError when tables / arrays in ``value`` nest deeper than :data:`MAX_NESTING` (checked
    without recursion, so a hostile value cannot exhaust the stack)."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children = list(node.values())
        elif isinstance(node, list | tuple):
            children = list(node)
        else:
            continue
        if depth >= MAX_NESTING:
            _too_deep(file, field)
        stack.extend((c, depth + 1) for c in children)


def _real(path: Path, file: Any, field: str | None) -> Path:
    """``path.resolve()``; InputError for a symlink loop, a NUL byte or an over-long name."""
    try:
        return path.resolve()
    except (OSError, RuntimeError, ValueError) as exc:  # RuntimeError: symlink loop (Python < 3.13)
        raise InputError(
            f"not a usable file path: {describe_os_error(exc)}", file=file or path, field=field
        ) from None


# ----------------------------------------------------------------------------- TOML + extends
def _read_toml(path: Path) -> dict:
    try:
        is_dir, is_file = path.is_dir(), path.is_file()
        size = path.stat().st_size if is_file else 0
    except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the path
        raise InputError(f"not a usable file path: {describe_os_error(exc)}", file=path) from None
    if is_dir:
        raise InputError("expected a scenario TOML file, got a directory", file=path)
    if not is_file:
        raise InputError("scenario file not found", file=path)
    if size > MAX_TOML_BYTES:
        raise InputError(
            f"file of {size:,} bytes; expected a scenario file of at most {MAX_TOML_BYTES:,} bytes "
            "(data belongs in the CSV files it names)",
            file=path,
        )
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the file: {exc}", file=path) from None
    try:
        data = tomllib.loads(text)
    except RecursionError:
        _too_deep(path, None)
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        line = getattr(exc, "lineno", None)
        if line is None:
            m = re.search(r"line (\d+)", msg)
            line = int(m.group(1)) if m else None
        where = f"line {line}" if line else None
        raise InputError(f"malformed TOML: {msg}", file=path, field=where) from None
    check_nesting(data, path)
    return data


def _check_data_path(value: Any, file: Any, field: str, cache: Mapping[str, Any]) -> None:
    """A data file the resolved scenario names (after ``extends`` and overrides) must exist, unless
    the scenario already carries its rows (``cache``: a Scenario is self-contained): an InputError
    naming the field and the full path looked for."""
    if not isinstance(value, str) or value in cache:
        return
    try:
        missing = not Path(value).exists()
    except (OSError, ValueError):
        return  # reported when the file is read
    if missing:
        raise InputError(
            f"data file {value} not found (a relative path is taken relative to the scenario file "
            "that sets it; in an override, to the folder of the scenario it changes)",
            file=file,
            field=field,
        )


def _data_path(value: str, base: Path, file: Any, field: str) -> str | None:
    """A data file key's value as an absolute path.  An empty value would name the folder itself: the
    optional bonded-zones file is then absent (its documented "none when empty"), any other key is an
    InputError naming it."""
    if not value.strip():
        if field == "regions.bonded_file":
            return None
        raise InputError(
            "expected the path of a CSV data file, got an empty string", file=file, field=field
        )
    return str(_real(base / value, file, field))


def _absolutise(data: dict, base: Path, file: Path) -> None:
    for sec, key in PATH_KEYS:
        section = data.get(sec)
        if isinstance(section, dict) and isinstance(section.get(key), str):
            section[key] = _data_path(section[key], base, file, f"{sec}.{key}")


def _load_raw(path: Path, stack: tuple[Path, ...]) -> dict:
    real = _real(path, path, None)
    if real in stack:
        chain = " -> ".join(p.name for p in (*stack, real))
        raise InputError(f"extends cycle: {chain}", file=path, field="extends")
    data = _read_toml(path)
    _absolutise(data, real.parent, path)
    parent = data.get("extends")
    if parent is None:
        return data
    if not isinstance(parent, str):
        raise InputError(f"expected a file path string, got {parent!r}", file=path, field="extends")
    if len(stack) >= MAX_NESTING:
        raise InputError(
            f"more than {MAX_NESTING} levels of `extends`; expected a shorter chain",
            file=path,
            field="extends",
        )
    ppath = real.parent / parent
    try:
        found = ppath.is_file()
    except (OSError, ValueError) as exc:
        raise InputError(
            f"not a usable file path: {describe_os_error(exc)}", file=path, field="extends"
        ) from None
    if not found:
        raise InputError(
            f"parent scenario {parent!r} not found ({ppath})", file=path, field="extends"
        )
    merged = _deep_merge(_load_raw(ppath, (*stack, real)), data)
    return merged


def _deep_merge(base: dict, child: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in child.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


# ----------------------------------------------------------------------------- overrides
def _check_no_clash(key: str, given: str, spelled: Mapping[str, str]) -> None:
    """Refuse an override that would silently undo an earlier one of the same call: the same field
    under another spelling (a deprecated name), or a table value that replaces a table in which an
    earlier override set a field (``policy.delegation.WZ = 0.9`` then ``policy.delegation = {all =
    0.2}`` would drop WZ).  A table first and a field inside it later refines the table, as intended."""
    if key in spelled:
        raise InputError(
            f"{given!r} and {spelled[key]!r} set the same field ({key}); set it once",
            field=key,
        )
    inside = [spelled[k] for k in spelled if k.startswith(key + ".")]
    if inside:
        raise InputError(
            f"the table {given!r} would replace the earlier override {inside[0]!r} set inside it; "
            f"set {inside[0]!r} after the table, or set the table's fields one by one",
            field=key,
        )


def _apply_overrides(
    raw: dict, overrides: Mapping[str, Any] | None, kw: Mapping[str, Any], base_dir: Path
) -> dict[str, Any]:
    """Set each dotted key in ``raw``; returns the overrides as applied (absolute data paths).  Values
    are used as given (not parsed: a string for a number is an error, as in a scenario file)."""
    items: list[tuple[str, Any]] = list((overrides or {}).items())
    items += [(k.replace("__", "."), v) for k, v in kw.items()]
    applied: dict[str, Any] = {}
    spelled: dict[str, str] = {}  # applied key -> as given (a deprecated name, a __ keyword)
    for key, value in items:
        if not isinstance(key, str) or not key or any(not p for p in key.split(".")):
            raise InputError(f"override key {key!r} is not a dotted path", field=str(key)[:200])
        given, key = key, migrate_key(key)
        _check_no_clash(key, given, spelled)
        spelled[key] = given
        parts = key.split(".")
        if len(parts) > MAX_NESTING or len(key) > 256:
            raise InputError(
                f"override key of {len(parts)} parts / {len(key)} characters; expected a field "
                f"path of at most {MAX_NESTING} parts and 256 characters",
                field=key[:60] + "...",
            )
        if parts[0] == "extends":
            raise InputError(
                "`extends` is resolved when the scenario file is read and cannot be overridden; "
                'write a scenario file with `extends = "..."` instead',
                field=key,
            )
        node = raw
        for i, p in enumerate(parts[:-1]):
            nxt = node.get(p)
            if nxt is None:
                nxt = node[p] = {}
            elif not isinstance(nxt, dict):
                raise InputError(
                    f"cannot set {key!r}: {'.'.join(parts[: i + 1])} is not a table",
                    field=key,
                )
            node = nxt
        check_nesting(value, None, key)
        value = copy.deepcopy(value)
        if tuple(parts) in PATH_KEYS and isinstance(value, str):
            value = _data_path(value, base_dir, None, key)
        node[parts[-1]] = value
        applied[key] = copy.deepcopy(value)
    return applied


# ----------------------------------------------------------------------------- validation helpers
def _model_of(annotation: Any) -> tuple[str, type[BaseModel] | None]:
    """Classify an annotation: ('model', M), ('dict', M), ('list', M) or ('other', None)."""
    origin = typing.get_origin(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "model", annotation
    if origin in (typing.Union, types.UnionType):
        for a in typing.get_args(annotation):
            kind, m = _model_of(a)
            if m is not None:
                return kind, m
    if origin is dict:
        args = typing.get_args(annotation)
        if len(args) == 2 and isinstance(args[1], type) and issubclass(args[1], BaseModel):
            return "dict", args[1]
    if origin in (list, tuple):
        args = typing.get_args(annotation)
        if args and isinstance(args[0], type) and issubclass(args[0], BaseModel):
            return "list", args[0]
    return "other", None


def _field_names(model: type[BaseModel]) -> dict[str, str]:
    """Accepted key (alias or name) -> field name (incl. the submodel sections of ``[behaviour]``)."""
    names = {(f.alias or n): n for n, f in model.model_fields.items()}
    sections = getattr(model, "section_models", None)
    if sections is not None:
        names.update({n: n for n in sections()})
    return names


def _annotation(model: type[BaseModel], name: str) -> Any:
    """The annotation of field ``name`` (a submodel section's class for ``[behaviour.<name>]``)."""
    if name in model.model_fields:
        return model.model_fields[name].annotation
    return model.section_models()[name]


def _description(model: type[BaseModel], name: str) -> str | None:
    if name in model.model_fields:
        return model.model_fields[name].description
    return (model.section_models()[name].__doc__ or "").strip().splitlines()[0] or None


def _suggest_section_field(model: type[BaseModel], key: str) -> str:
    """For ``[behaviour]``: a did-you-mean naming the sub-section field closest to ``key``."""
    sections = getattr(model, "section_models", None)
    if sections is None:
        return ""
    dotted = {f: f"{s}.{f}" for s, m in sections().items() for f in m.model_fields}
    dotted.update(legacy_keys())
    close = difflib.get_close_matches(key, list(dotted), n=1, cutoff=0.6)
    return f"; did you mean {dotted[close[0]]!r}?" if close else ""


def migrate_key(key: str) -> str:
    """The current dotted key of a key of an earlier version (``behaviour.entry_floor`` ->
    ``behaviour.entry.floor``, ``behaviour.price_iterations`` -> ``solver.price_iterations``), with a
    :class:`DeprecatedKeyWarning`; other keys are returned unchanged."""
    parts = key.split(".")
    if len(parts) < 2 or parts[0] != "behaviour":
        return key
    if parts[1] in SOLVER_LEGACY:
        new = ".".join(["solver", *parts[1:]])
        warnings.warn(f"{key} is deprecated; use {new}", DeprecatedKeyWarning, stacklevel=3)
        return new
    moved = migrate_behaviour_keys({parts[1]: None})
    section = next(iter(moved))
    if section == parts[1]:
        return key
    return ".".join(["behaviour", section, *moved[section], *parts[2:]])


def _migrate_raw(raw: dict, file: Any) -> None:
    """Move keys of earlier versions to their current place in a raw scenario (with warnings)."""
    behaviour = raw.get("behaviour")
    if not isinstance(behaviour, dict):
        return
    prefix = f"{file}: " if file else ""
    for key in [k for k in behaviour if k in SOLVER_LEGACY]:
        warnings.warn(
            f"{prefix}behaviour.{key} is deprecated; use solver.{key}",
            DeprecatedKeyWarning,
            stacklevel=3,
        )
        solver = raw.setdefault("solver", {})
        if not isinstance(solver, dict) or key in solver:
            raise InputError(
                f"set both as behaviour.{key} and solver.{key}; keep solver.{key}",
                file=file,
                field=f"behaviour.{key}",
            )
        solver[key] = behaviour.pop(key)
    try:
        raw["behaviour"] = migrate_behaviour_keys(behaviour, source=file)
    except ValueError as exc:
        raise InputError(str(exc), file=file, field="behaviour") from None


def check_keys(data: Any, model: type[BaseModel], path: str, file: Any) -> None:
    """Reject unknown keys recursively with a did-you-mean suggestion."""
    if not isinstance(data, dict):
        return
    names = _field_names(model)
    removed = getattr(model, "removed_keys", {})
    for key, value in data.items():
        field_path = f"{path}.{key}" if path else str(key)
        if key in removed:
            raise InputError(f"{key} was removed: {removed[key]}", file=file, field=field_path)
        if not path and key == "scenario" and isinstance(value, str):
            raise InputError(
                "this looks like an experiment file (it names its base `scenario`), not a scenario "
                "file: run it with `agglomeration batch`, or give `run` the scenario it names",
                file=file,
                field="scenario",
            )
        if key not in names:
            raise InputError(
                f"unknown key {key!r}"
                + (suggest(key, list(names)) or _suggest_section_field(model, key))
                + f" (allowed: {', '.join(names)})",
                file=file,
                field=field_path,
            )
        kind, sub = _model_of(_annotation(model, names[key]))
        if sub is None:
            continue
        if kind == "model":
            check_keys(value, sub, field_path, file)
        elif kind == "dict" and isinstance(value, dict):
            for k, v in value.items():
                check_keys(v, sub, f"{field_path}.{k}", file)
        elif kind == "list" and isinstance(value, list):
            for i, v in enumerate(value):
                check_keys(v, sub, f"{field_path}[{i}]", file)


def _describe(model: type[BaseModel], loc: tuple) -> str | None:
    current: Any = model
    desc = None
    for part in loc:
        if isinstance(part, int) or current is None:
            continue
        if isinstance(current, type) and issubclass(current, BaseModel):
            names = _field_names(current)
            if part not in names:
                current = None
                continue
            desc = _description(current, names[part])
            _kind, current = _model_of(_annotation(current, names[part]))
    return desc


def validation_error(
    exc: ValidationError, model: type[BaseModel] | None, file: Any, prefix: str = ""
) -> InputError:
    """Turn the first pydantic error into an :class:`InputError` with field path and expectation."""
    err = exc.errors()[0]
    loc = tuple(err.get("loc", ()))
    path = prefix
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path = f"{path}.{part}" if path else str(part)
    msg = err.get("msg", "invalid value")
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    if msg.startswith("Input should be "):
        rest = msg[len("Input should be ") :]
        if rest.startswith(("greater", "less")):
            rest = "a value " + rest
        text = f"expected {rest}"
    else:
        text = msg[0].lower() + msg[1:] if msg else msg
    if err.get("type") == "float_type":  # a strict Number given a string or a boolean
        text = (
            "expected a number, not a boolean"
            if isinstance(err.get("input"), bool)
            else "expected a number"
        )
    if err.get("type") in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        if _is_nan(err.get("input")):  # NaN fails every bound: say so, not "expected <= 1, got nan"
            text = f"expected a number, got {shorten(repr(err.get('input')), 40)} (not a number)"
    if err.get("type") == "missing":
        text = "missing value (required)"
    elif "input" in err and not isinstance(err["input"], dict) and ", got " not in text:
        text += f", got {shorten(repr(err['input']), 120)}"
    desc = _describe(model, loc) if model is not None else None
    if desc and text.startswith("expected a number in "):  # a lever's check gave range and unit
        desc = desc.split(";")[0]  # its meaning only, not the range and unit again
    if desc:
        text += f" [{desc}]"
    return InputError(text, file=file, field=path or None)


def _drop_provenance(data: Any) -> None:
    """Remove the ``provenance`` column of every data record in ``data`` (the dump of the scenario's
    data: lists of record dicts, and other tables), in place; keys of other mappings stay (a chain
    may be called "provenance")."""
    if not isinstance(data, dict):
        return
    for table in data.values():
        if isinstance(table, list):
            for record in table:
                if isinstance(record, dict):
                    record.pop("provenance", None)


def _is_nan(value: Any) -> bool:
    """Whether ``value`` is a NaN float or a cell that reads as one ('nan', 'NaN', '-nan')."""
    if isinstance(value, float):
        return math.isnan(value)
    return isinstance(value, str) and value.strip().lower().lstrip("+-") == "nan"


def _check_numbers(values: Any, model: type[BaseModel], path: str, file: Any) -> None:
    """Numeric columns of a data record written in the scenario file (``[regions.overrides.WZ]``,
    ``logistics.add_links``) must be TOML numbers: the record models, made for CSV cells, would read
    ``"0.02"`` as 0.02 and ``true`` as 1.  Other problems are left to the model."""
    if not isinstance(values, Mapping):
        return
    names = _field_names(model)
    for key, value in values.items():
        name = names.get(key)
        annotation = model.model_fields[name].annotation if name in model.model_fields else None
        problem = not_a_number(annotation, value)
        if problem:
            raise InputError(
                f"{problem}, got {shorten(repr(value), 120)}",
                file=file,
                field=f"{path}.{key}",
            )


# ----------------------------------------------------------------------------- CSV tables
def _display(path: str | Path) -> str:
    p = Path(path)
    try:
        rel = os.path.relpath(p)
    except ValueError:  # another drive on Windows
        return str(p)
    return str(p) if rel.startswith("..") else rel


def _read_csv(path: str, cache: dict) -> tuple[list[str], list[list[str]]]:
    """Header and rows of a CSV (cached by absolute path so a Scenario is self-contained); blank lines
    are skipped, and the line each row starts on is kept for error messages (:func:`_row_lines`)."""
    if path in cache:
        header, rows, _ = cache[path]
        return list(header), [list(r) for r in rows]
    p = Path(path)
    try:
        is_dir, is_file = p.is_dir(), p.is_file()
        size = p.stat().st_size if is_file else 0
    except (OSError, ValueError) as exc:
        raise InputError(f"not a usable file path: {describe_os_error(exc)}", file=p) from None
    if is_dir:
        raise InputError("expected a CSV data file, got a directory", file=_display(p))
    if not is_file:
        raise InputError("data file not found", file=_display(p))
    if size > MAX_CSV_BYTES:  # checked before loading: a CSV's rows take ~20x its size in memory
        raise InputError(
            f"file of {size:,} bytes; expected a data CSV of at most {MAX_CSV_BYTES:,} bytes",
            file=_display(p),
        )
    try:
        with p.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            numbered, end = [], 0
            for row in reader:  # a row starts on the line after the previous row ended
                numbered.append((end + 1, row))
                end = reader.line_num
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"cannot read CSV: {exc}", file=_display(p)) from None
    numbered = [(n, r) for n, r in numbered if any(c.strip() for c in r)]
    if not numbered:
        raise InputError("empty CSV (expected a header row)", file=_display(p))
    header = [h.strip() for h in numbered[0][1]]
    rows = [r for _, r in numbered[1:]]
    cache[path] = (tuple(header), tuple(tuple(r) for r in rows), tuple(n for n, _ in numbered[1:]))
    return header, rows


def _row_lines(path: str, cache: dict) -> tuple[int, ...]:
    """The line of the file each data row of :func:`_read_csv` starts on (1-based, the header's
    line counted; blank lines skipped), as error messages name it; the file must have been read."""
    return cache[path][2]


def _means_none(value: Any) -> bool:
    """Whether a field's default means "none": None or an empty string or collection."""
    return value is None or (isinstance(value, str | tuple | list | frozenset | set) and not value)


def _value_defaults(model: type[BaseModel]) -> dict[str, Any]:
    """Column -> default of ``model``'s optional columns whose default is a value (a number, a
    provenance), not "none" (None, "" or ()): an empty cell there is an error, not that value."""
    out = {}
    for n, f in model.model_fields.items():
        if not f.is_required():
            default = f.get_default(call_default_factory=True)
            if not _means_none(default):
                out[f.alias or n] = default
    return out


def _csv_records(
    header: list[str],
    rows: list[list[str]],
    file: str,
    *,
    keep_empty: bool = False,
    lines: Sequence[int],
    model: type[BaseModel] | None = None,
):
    """Yield (line number, {column: stripped cell}) for each data row; a row with the wrong number of
    cells is an InputError naming its line. Empty cells are dropped unless ``keep_empty``: a column
    whose default means "none" (no corridor, no value density) then takes it, and a required one is
    reported missing by ``model``'s validation.  An empty cell in a column of ``model`` whose default is
    a value (a tariff of 0, a price factor of 1) is an InputError: it is a gap in the data, and taking
    the value silently would hide it (leaving the whole column out applies the default to every row).  ``lines``: the file line of each row (:func:`_row_lines`)."""
    valued = _value_defaults(model) if model is not None else {}
    for lineno, row in zip(lines, rows, strict=True):
        if len(row) != len(header):
            raise InputError(
                f"expected {len(header)} cells, got {len(row)}", file=file, field=f"line {lineno}"
            )
        cells = [(h, c.strip()) for h, c in zip(header, row)]
        for h, c in cells:
            if c == "" and h in valued:
                raise InputError(
                    f"empty cell: expected a value (the default {valued[h]!r} applies only when "
                    f"the column {h!r} is left out of the file)",
                    file=file,
                    field=f"line {lineno}.{h}",
                )
        yield lineno, {h: c for h, c in cells if keep_empty or c != ""}


#: columns of earlier versions and what replaced them (named in the error a stale data file gets)
RENAMED_COLUMNS = {
    "distance_decay": "by 'distance_elasticity' in 0.2.0: the non-freight trade cost is now the factor "
    "(max(great-circle km, D0) / D0)^distance_elasticity on tau, D0 = logistics.distance_scale_km "
    "(docs/LOGISTICS.md); distance_elasticity = ln(1 + distance_decay) keeps tau at km = e D0",
}


def _check_columns(header: list[str], expected: list[str], file: str, optional: tuple = ()) -> None:
    dup = {h for h in header if header.count(h) > 1}
    if dup:
        raise InputError(f"duplicate column(s) {sorted(dup)}", file=file, field="header")
    missing = [c for c in expected if c not in header and c not in optional]
    extra = [c for c in header if c not in expected]
    if missing:
        hint = ""
        for c in extra:
            if suggest(c, missing):
                hint = f"; found column {c!r}" + suggest(c, missing)
                break
        raise InputError(
            f"missing column(s) {missing}{hint}; expected columns: {', '.join(expected)}",
            file=file,
            field="header",
        )
    renamed = [c for c in extra if c in RENAMED_COLUMNS]
    if renamed:
        raise InputError(
            f"column {renamed[0]!r} was replaced: {RENAMED_COLUMNS[renamed[0]]}",
            file=file,
            field="header",
        )
    if extra:
        raise InputError(
            f"unexpected column {extra[0]!r}"
            + suggest(extra[0], expected)
            + f"; expected columns: {', '.join(expected)}",
            file=file,
            field="header",
        )


def _read_records(
    path: str,
    model: type[BaseModel],
    key: str,
    cache: dict,
    overrides: dict[str, dict] | None = None,
    override_path: str = "",
    scenario_file: Any = None,
    allow_empty: bool = False,
) -> list[BaseModel]:
    """Rows of a CSV validated as ``model`` (unique ``key``), with per-id column overrides applied."""
    header, rows = _read_csv(path, cache)
    file = _display(path)
    names = _field_names(model)
    required = [a for a, n in names.items() if model.model_fields[n].is_required()]
    optional = tuple(a for a in names if a not in required)
    _check_columns(header, list(names), file, optional)
    out: list[BaseModel] = []
    seen: dict[str, int] = {}
    for lineno, rec in _csv_records(header, rows, file, model=model, lines=_row_lines(path, cache)):
        ident = rec.get(key, "?")
        try:
            obj = model.model_validate(rec)
        except ValidationError as exc:
            raise validation_error(exc, model, file, f"line {lineno} ({key}={ident})") from None
        if ident in seen:
            raise InputError(
                f"duplicate {key} {ident!r} (first on line {seen[ident]})",
                file=file,
                field=f"line {lineno}.{key}",
            )
        seen[ident] = lineno
        out.append(obj)
    if not out and not allow_empty:
        raise InputError("no data rows", file=file)
    for ident, changes in (overrides or {}).items():
        if ident not in seen:
            raise InputError(
                f"unknown id {ident!r}"
                + suggest(ident, list(seen))
                + f" (known: {', '.join(seen)})",
                file=scenario_file,
                field=f"{override_path}.{ident}",
            )
        if not isinstance(changes, dict):
            raise InputError(
                "expected a table of column = value",
                file=scenario_file,
                field=f"{override_path}.{ident}",
            )
        _check_numbers(changes, model, f"{override_path}.{ident}", scenario_file)
        for col in changes:
            if col not in names or col == key:
                allowed = [a for a in names if a != key]
                raise InputError(
                    f"unknown column {col!r}"
                    + suggest(col, allowed)
                    + f" (allowed: {', '.join(allowed)})",
                    file=scenario_file,
                    field=f"{override_path}.{ident}.{col}",
                )
        i = list(seen).index(ident)
        merged = {**out[i].model_dump(by_alias=True), **changes}
        try:
            out[i] = model.model_validate(merged)
        except ValidationError as exc:
            raise validation_error(exc, model, scenario_file, f"{override_path}.{ident}") from None
    return out


def _read_matrix(
    path: str,
    row_key: str,
    row_ids: list[str],
    col_ids: list[str],
    cache: dict,
    what: str,
    lo: float = 0.0,
    hi: float = math.inf,
) -> np.ndarray:
    """A wide CSV: one row per ``row_ids`` entry, one numeric column per ``col_ids`` entry."""
    header, rows = _read_csv(path, cache)
    file = _display(path)
    _check_columns(header, [row_key, *col_ids, "provenance"], file)
    mat = np.full((len(row_ids), len(col_ids)), np.nan)
    seen: dict[str, int] = {}
    for lineno, rec in _csv_records(
        header, rows, file, keep_empty=True, lines=_row_lines(path, cache)
    ):
        rid = rec[row_key]
        if rid not in row_ids:
            raise InputError(
                f"unknown {what} {rid!r}" + suggest(rid, row_ids),
                file=file,
                field=f"line {lineno}.{row_key}",
            )
        if rid in seen:
            raise InputError(
                f"duplicate {row_key} {rid!r} (first on line {seen[rid]})",
                file=file,
                field=f"line {lineno}.{row_key}",
            )
        seen[rid] = lineno
        if not rec.get("provenance"):
            raise InputError("empty provenance", file=file, field=f"line {lineno}.provenance")
        for j, c in enumerate(col_ids):
            try:
                v = float(rec[c])
            except ValueError:
                raise InputError(
                    f"expected a number, got {rec[c]!r}",
                    file=file,
                    field=f"line {lineno} ({rid}).{c}",
                ) from None
            if not (lo <= v <= hi) or not math.isfinite(v):
                raise InputError(
                    f"expected a number in [{lo}, {hi}], got {v}",
                    file=file,
                    field=f"line {lineno} ({rid}).{c}",
                )
            mat[row_ids.index(rid), j] = v
    missing = [r for r in row_ids if r not in seen]
    if missing:
        raise InputError(f"missing row(s) for {what} {missing}", file=file, field=row_key)
    return mat


# ----------------------------------------------------------------------------- resolution
def _scen_file(source: str | None) -> str | None:
    return str(source) if source else None


def _resolve(raw: dict, source: str | None, cache: dict) -> Scenario:
    file = _scen_file(source)
    raw = copy.deepcopy(raw)
    _migrate_raw(raw, file)
    check_keys({k: v for k, v in raw.items()}, _UserScenario, "", file)
    base_dir = Path(source).resolve().parent if source else Path.cwd()
    for sec, key in PATH_KEYS:  # defaults are relative to the top-level scenario file
        raw.setdefault(sec, {})
        if not isinstance(raw[sec], dict):
            raise InputError(f"expected a table, got {raw[sec]!r}", file=file, field=sec)
        default = _UserScenario.model_fields[sec].annotation.model_fields[key].default
        if default is not None:  # optional files ([growth] file) have no default
            raw[sec].setdefault(key, str((base_dir / default).resolve()))
        _check_data_path(raw[sec].get(key), file, f"{sec}.{key}", cache)
    added = raw["logistics"].get("add_links")
    for i, link in enumerate(added if isinstance(added, list) else []):
        _check_numbers(link, LinkRecord, f"logistics.add_links[{i}]", file)
    try:
        user = _UserScenario.model_validate(raw)
    except ValidationError as exc:
        raise validation_error(exc, _UserScenario, file) from None
    data = _resolve_data(user, file, cache)
    _check_policy(user.policy, data, file)
    _check_initial_weights(user, data)
    scen = Scenario.model_validate({**user.model_dump(by_alias=True), "data": data})
    scen._raw = raw
    scen._source = str(source) if source else None
    scen._cache = cache
    return scen


def _place_kinds(regions: list, gateways: list, hubs: list, file: Any) -> dict[str, str]:
    """Place id -> kind ('region', 'gateway', 'hub'); ids must be unique across the three tables."""
    places: dict[str, str] = {}
    for kind, recs, key in (
        ("region", regions, "region_id"),
        ("gateway", gateways, "gateway_id"),
        ("hub", hubs, "hub_id"),
    ):
        for r in recs:
            pid = getattr(r, key)
            if pid in places:
                raise InputError(
                    f"id {pid!r} is used by a {places[pid]} and a {kind}; place ids must be unique",
                    file=file,
                    field=key,
                )
            places[pid] = kind
    return places


def _with_hub_additions(
    regions: list,
    gateways: list,
    hubs: list,
    lg: LogisticsSection,
    places: dict,
    mode_names: list[str],
    file: Any,
    data_files: dict[str, tuple[str, Sequence[int]]] | None = None,
    modes_set_by: dict[str, str] | None = None,
) -> tuple[list, list, list]:
    """Records with the terminals of ``logistics.add_hubs`` added; every listed mode must be known.
    An unknown mode of a data file's record is blamed on that file and line (``data_files``: kind ->
    (path, line of each record)), or on the scenario key that set the place's modes
    (``modes_set_by``)."""
    extra_modes: dict[str, list[str]] = {}
    for i, h in enumerate(lg.add_hubs):
        if h.place not in places:
            raise _unknown_place(h.place, places, file, f"logistics.add_hubs[{i}].place")
        if h.mode not in mode_names:
            raise InputError(
                f"unknown mode {h.mode!r}" + suggest(h.mode, mode_names),
                file=file,
                field=f"logistics.add_hubs[{i}].mode",
            )
        if h.mode in extra_modes.get(h.place, ()):
            first = next(
                j for j, g in enumerate(lg.add_hubs) if (g.place, g.mode) == (h.place, h.mode)
            )
            raise InputError(
                f"the {h.mode} terminal at {h.place} is already added by "
                f"logistics.add_hubs[{first}]; expected each terminal once",
                file=file,
                field=f"logistics.add_hubs[{i}]",
            )
        extra_modes.setdefault(h.place, []).append(h.mode)
    out = []
    for kind, recs, key in (
        ("regions", regions, "region_id"),
        ("gateways", gateways, "gateway_id"),
        ("hubs", hubs, "hub_id"),
    ):
        edited = []
        path, lines = (data_files or {}).get(kind, (None, None))
        for i, r in enumerate(recs):
            pid = getattr(r, key)
            for m in extra_modes.get(pid, ()):
                if m in r.modes:
                    j = next(k for k, g in enumerate(lg.add_hubs) if (g.place, g.mode) == (pid, m))
                    raise InputError(
                        f"{pid} already has a {m} terminal (its {kind} data); an added terminal "
                        "would change nothing: expected a mode the place does not have",
                        file=file,
                        field=f"logistics.add_hubs[{j}]",
                    )
            ms = tuple(dict.fromkeys((*r.modes, *extra_modes.get(pid, ()))))
            for m in ms:
                if m not in mode_names:
                    where: tuple[Any, str] = (file, f"{kind}.{pid}.modes")
                    if pid in (modes_set_by or {}):
                        where = (file, modes_set_by[pid])
                    elif path is not None and lines is not None:
                        where = (_display(path), f"line {lines[i]} ({pid}).modes")
                    raise InputError(
                        f"{pid} lists unknown mode {m!r}" + suggest(m, mode_names),
                        file=where[0],
                        field=where[1],
                    )
            edited.append(r.model_copy(update={"modes": ms}))
        out.append(edited)
    return out[0], out[1], out[2]


def _sector_data(ss: SectorsSection, sectors: list, cache: dict) -> tuple[list, np.ndarray, dict]:
    """Sectors with exact residual labour shares, the IO matrix and the chains, all checked."""
    sector_ids = [s.sector_id for s in sectors]
    io = _read_matrix(ss.io_file, "input", sector_ids, sector_ids, cache, "input sector", 0.0, 1.0)
    sectors = list(check_io(sectors, io, file=_display(ss.io_file)))
    fs = sum(s.final_share for s in sectors)
    if fs > 1.0 + 1e-9:
        raise InputError(
            f"final_share sums to {fs:.4g} over sectors; expected <= 1",
            file=_display(ss.file),
            field="final_share",
        )
    chain_recs = _read_chain_rows(ss.chains_file, cache)
    chains = chains_from_records(
        chain_recs,
        sector_ids,
        file=_display(ss.chains_file),
        lines=_row_lines(ss.chains_file, cache),
    )
    return sectors, io, chains


#: how many resolved data sets a process keeps (:func:`_resolve_data`); 0 switches the memo off
KEPT_DATA = 8
_data_memo: OrderedDict[tuple, ScenarioData] = OrderedDict()
_DATA_SECTIONS = ("regions", "logistics", "sectors", "growth")


def _data_files(value: Any) -> list[str]:
    """Every data file path named in a dumped section (keys ``file`` and ``*_file``)."""
    found: list[str] = []
    if isinstance(value, dict):
        for k, v in value.items():
            if isinstance(v, str) and (k == "file" or k.endswith("_file")):
                found.append(v)
            else:
                found.extend(_data_files(v))
    elif isinstance(value, list):
        for v in value:
            found.extend(_data_files(v))
    return found


def _data_key(user: _UserScenario, file: Any, cache: dict) -> tuple | None:
    """What :func:`_resolve_data` reads: the four data sections as written and the contents of every
    file they name (read into ``cache`` now if needed); None when a file cannot be read (the
    resolution then runs and reports the error in its own order)."""
    dumped = {name: getattr(user, name).model_dump(mode="json") for name in _DATA_SECTIONS}
    sections = json.dumps(dumped, sort_keys=True)
    contents = []
    try:
        for path in sorted(set(_data_files(dumped))):
            if path not in cache:
                _read_csv(path, cache)
            contents.append((path, cache[path]))
    except InputError:
        return None
    return (str(file), sections, tuple(contents))


def _resolve_data(user: _UserScenario, file: Any, cache: dict) -> ScenarioData:
    """The scenario's data: its CSV files read, validated and edited by the scenario's data sections.

    Runs of a design differ mostly in behaviour and policy parameters, not in their data, so the
    result is kept per process for the last ``KEPT_DATA`` keys (the sections as written and the files'
    contents; the records are frozen, so sharing them is safe): planning and validating a 2,048-run
    Sobol design resolves each run's scenario."""
    key = _data_key(user, file, cache) if KEPT_DATA > 0 else None
    if key is not None and key in _data_memo:
        _data_memo.move_to_end(key)
        return _data_memo[key]
    data = _read_data(user, file, cache)
    if key is not None:
        _data_memo[key] = data
        while len(_data_memo) > KEPT_DATA:
            _data_memo.popitem(last=False)
    return data


def _read_data(user: _UserScenario, file: Any, cache: dict) -> ScenarioData:
    rs, lg, ss = user.regions, user.logistics, user.sectors
    regions = _read_records(
        rs.file, RegionRecord, "region_id", cache, rs.overrides, "regions.overrides", file
    )
    gateways = _read_records(
        lg.gateways_file,
        GatewayRecord,
        "gateway_id",
        cache,
        lg.gateway_overrides,
        "logistics.gateway_overrides",
        file,
        allow_empty=True,
    )
    hubs = _read_records(lg.hubs_file, HubRecord, "hub_id", cache, None, "", file, allow_empty=True)
    modes = _read_records(
        lg.modes_file,
        ModeRecord,
        "mode",
        cache,
        lg.mode_overrides,
        "logistics.mode_overrides",
        file,
    )
    sectors = _read_records(
        ss.file, SectorRecord, "sector_id", cache, ss.overrides, "sectors.overrides", file
    )
    places = _place_kinds(regions, gateways, hubs, file)
    mode_names = [m.mode for m in modes]
    # mode edits
    modes = _edit_modes(modes, lg, mode_names, file)
    # where a place's modes were set in the scenario rather than its data file (for error messages)
    modes_set_by = {
        **{p: f"regions.overrides.{p}.modes" for p, o in rs.overrides.items() if "modes" in o},
        **{
            p: f"logistics.gateway_overrides.{p}.modes"
            for p, o in lg.gateway_overrides.items()
            if "modes" in o
        },
    }
    regions, gateways, hubs = _with_hub_additions(
        regions,
        gateways,
        hubs,
        lg,
        places,
        mode_names,
        file,
        data_files={
            "regions": (rs.file, _row_lines(rs.file, cache)),
            "gateways": (lg.gateways_file, _row_lines(lg.gateways_file, cache)),
            "hubs": (lg.hubs_file, _row_lines(lg.hubs_file, cache)),
        },
        modes_set_by=modes_set_by,
    )
    # customs edits
    regions, gateways = _edit_customs(regions, gateways, lg.customs_multiplier, places, file)
    # links
    links = _read_links(lg.links_file, cache)
    terminals = {r.region_id: r.modes for r in regions}
    terminals.update({g.gateway_id: g.modes for g in gateways})
    terminals.update({h.hub_id: h.modes for h in hubs})
    links = _edit_links(
        links,
        lg,
        places,
        mode_names,
        file,
        terminals,
        modes_set_by,
        link_lines=_row_lines(lg.links_file, cache),
    )
    options, constants = _route_option_data(
        lg, mode_names, cache, links, [g.gateway_id for g in gateways]
    )
    sectors, io, chains = _sector_data(ss, sectors, cache)
    sector_ids = [s.sector_id for s in sectors]
    region_ids = [r.region_id for r in regions]
    init = _read_matrix(
        rs.initial_firms_file, "region_id", region_ids, sector_ids, cache, "region", 0.0, 1e12
    )
    bonded = _read_bonded(rs.bonded_file, region_ids, cache)
    growth = _read_growth(user.growth, region_ids, [g.gateway_id for g in gateways], cache)
    return ScenarioData(
        regions=tuple(regions),
        gateways=tuple(gateways),
        hubs=tuple(hubs),
        modes=tuple(modes),
        links=tuple(links),
        options=tuple(options),
        constants=tuple(constants),
        sectors=tuple(sectors),
        io=tuple(tuple(float(x) for x in row) for row in io),
        chains=chains,
        initial_firms=tuple(tuple(float(x) for x in row) for row in init),
        bonded=bonded,
        growth=growth,
    )


def _read_bonded(path: str | None, region_ids: list[str], cache: dict) -> tuple[BondedRecord, ...]:
    """The bonded-zone records (none without a file); every region id must be a region."""
    if path is None:
        return ()
    out = tuple(_read_records(path, BondedRecord, "zone", cache, None, "", None, allow_empty=True))
    for line, rec in zip(_row_lines(path, cache), out, strict=True):
        if rec.region_id not in region_ids:
            raise InputError(
                f"unknown region {rec.region_id!r}" + suggest(rec.region_id, region_ids),
                file=_display(path),
                field=f"line {line}.region_id",
            )
    return out


def _route_option_data(
    lg: LogisticsSection,
    mode_names: list[str],
    cache: dict,
    links: list[LinkRecord],
    gateway_ids: list[str],
) -> tuple[list, list]:
    """Route options (modes, feeder modes and corridor checked, a problem named by the CSV line) and
    their constants (option ids and destinations checked) of the data files."""
    options = _read_records(lg.options_file, RouteOptionRecord, "option_id", cache)
    file = _display(lg.options_file)
    corridors = sorted({lk.corridor for lk in links if lk.corridor})
    for line, o in zip(_row_lines(lg.options_file, cache), options, strict=True):
        problem = route_option_problem(o, mode_names, corridors)
        if problem is not None:
            sub, message = problem
            where = f"line {line} ({o.option_id})" + (f".{sub}" if sub else "")
            raise InputError(message, file=file, field=where)
    header, rows = _read_csv(lg.constants_file, cache)
    cfile = _display(lg.constants_file)
    _check_columns(header, list(_field_names(OptionConstantRecord)), cfile)
    ids = [o.option_id for o in options]
    constants = []
    seen: dict[tuple[str, str], int] = {}
    for lineno, rec in _csv_records(
        header, rows, cfile, model=OptionConstantRecord, lines=_row_lines(lg.constants_file, cache)
    ):
        try:
            c = OptionConstantRecord.model_validate(rec)
        except ValidationError as exc:
            raise validation_error(exc, OptionConstantRecord, cfile, f"line {lineno}") from None
        if c.option_id not in ids:
            raise InputError(
                f"unknown route option {c.option_id!r}"
                + suggest(c.option_id, ids)
                + f" (options of {file}: {', '.join(ids)})",
                file=cfile,
                field=f"line {lineno}.option_id",
            )
        if c.destination != REGIONS_KEY and c.destination not in gateway_ids:
            raise InputError(
                f"unknown destination {c.destination!r} (expected a gateway id or {REGIONS_KEY!r}: "
                + ", ".join([REGIONS_KEY, *gateway_ids])
                + ")"
                + suggest(c.destination, [REGIONS_KEY, *gateway_ids]),
                file=cfile,
                field=f"line {lineno}.destination",
            )
        if (c.option_id, c.destination) in seen:
            raise InputError(
                f"duplicate constant for ({c.option_id}, {c.destination}) (first on line "
                f"{seen[(c.option_id, c.destination)]})",
                file=cfile,
                field=f"line {lineno}",
            )
        seen[(c.option_id, c.destination)] = lineno
        constants.append(c)
    return options, constants


def _read_growth(
    section: GrowthSection, region_ids: list[str], gateway_ids: list[str], cache: dict
) -> tuple[GrowthRecord, ...]:
    """The growth table of ``[growth] file`` (empty without one), every row and series checked."""
    if section.file is None:
        return ()
    header, rows = _read_csv(section.file, cache)
    file = _display(section.file)
    _check_columns(header, list(_field_names(GrowthRecord)), file, optional=("low", "high"))
    records = []
    for lineno, rec in _csv_records(
        header, rows, file, model=GrowthRecord, lines=_row_lines(section.file, cache)
    ):
        try:
            records.append((lineno, GrowthRecord.model_validate(rec)))
        except ValidationError as exc:
            raise validation_error(exc, GrowthRecord, file, f"line {lineno}") from None
    if not records:
        raise InputError("no data rows", file=file)
    check_growth(records, region_ids, gateway_ids, section.start_year, file=file)
    return tuple(r for _, r in records)


def _read_links(path: str, cache: dict) -> list[LinkRecord]:
    header, rows = _read_csv(path, cache)
    file = _display(path)
    names = list(_field_names(LinkRecord))
    _check_columns(header, names, file, optional=("extra_cost", "extra_hours", "corridor"))
    out: list[LinkRecord] = []
    seen: dict[tuple, int] = {}
    for lineno, rec in _csv_records(
        header, rows, file, model=LinkRecord, lines=_row_lines(path, cache)
    ):
        try:
            link = LinkRecord.model_validate(rec)
        except ValidationError as exc:
            raise validation_error(
                exc, LinkRecord, file, f"line {lineno} ({rec.get('from')}-{rec.get('to')})"
            ) from None
        if link.key in seen:
            raise InputError(
                f"duplicate link {link.origin}-{link.dest} by {link.mode} (first on line {seen[link.key]})",
                file=file,
                field=f"line {lineno}",
            )
        if link.origin == link.dest:
            raise InputError(
                "a link must join two different places", file=file, field=f"line {lineno}"
            )
        seen[link.key] = lineno
        out.append(link)
    return out


def _read_chain_rows(path: str, cache: dict) -> list[ChainRecord]:
    header, rows = _read_csv(path, cache)
    file = _display(path)
    _check_columns(header, list(_field_names(ChainRecord)), file)
    out = []
    for lineno, rec in _csv_records(
        header, rows, file, model=ChainRecord, lines=_row_lines(path, cache)
    ):
        try:
            out.append(ChainRecord.model_validate(rec))
        except ValidationError as exc:
            raise validation_error(exc, ChainRecord, file, f"line {lineno}") from None
    return out


def _multiplier(table: dict[str, float], *keys: str) -> float:
    """Product of a multiplier table's factors for ``all`` and ``keys`` (missing keys count 1)."""
    f = table.get("all", 1.0)
    for k in keys:
        f *= table.get(k, 1.0)
    return f


def _edit_modes(modes: list, lg: LogisticsSection, names: list[str], file: Any) -> list:
    for field in ("tariff_multiplier", "speed_multiplier", "fee_multiplier"):
        lever = lever_for(f"logistics.{field}.x")[0]
        check_table(lever, getattr(lg, field), valid_keys(lever, [], [], names), file=file)
    out = []
    for m in modes:
        f = _multiplier(lg.fee_multiplier, m.mode)
        out.append(
            m.model_copy(
                update={
                    "tariff": m.tariff * _multiplier(lg.tariff_multiplier, m.mode),
                    "speed": m.speed * _multiplier(lg.speed_multiplier, m.mode),
                    "end_fee": m.end_fee * f,
                    "transship_fee": m.transship_fee * f,
                }
            )
        )
    return out


def _edit_customs(regions: list, gateways: list, mult: dict[str, float], places: dict, file: Any):
    lever = lever_for("logistics.customs_multiplier.x")[0]
    # transit hubs clear no customs (hubs.csv has no customs hours): their ids are not keys
    customs_places = [pid for pid, kind in places.items() if kind != "hub"]
    check_table(lever, mult, valid_keys(lever, [], customs_places, []), file=file)

    def factor(pid: str, kind: str) -> float:
        return _multiplier(mult, kind, pid)

    regions = [
        r.model_copy(update={"customs_hours": r.customs_hours * factor(r.region_id, r.type)})
        for r in regions
    ]
    gateways = [
        g.model_copy(update={"customs_hours": g.customs_hours * factor(g.gateway_id, "gateway")})
        for g in gateways
    ]
    return regions, gateways


def _edit_links(
    links: list[LinkRecord],
    lg: LogisticsSection,
    places: dict,
    modes: list[str],
    file: Any,
    terminals: dict[str, tuple[str, ...]],
    modes_set_by: dict[str, str] | None = None,
    *,
    link_lines: Sequence[int],
):
    """The links after ``logistics.remove_links`` and ``logistics.add_links``, every one checked: an
    added link's problem names the scenario file and ``logistics.add_links[k]``, a problem of a link
    of the links CSV names that file and its line (``link_lines``: the line of each of ``links``),
    and the scenario key that set the place's modes,
    ``modes_set_by``, when an override removed the terminal."""
    by_key = {lk.key: lk for lk in links}
    lines = {lk.key: n for lk, n in zip(links, link_lines, strict=True)}
    _remove_links(by_key, lg.remove_links, places, file)
    _add_links(by_key, lg.add_links, places, modes, file, terminals, modes_set_by)
    added = {lk.key for lk in lg.add_links}
    csv_file = _display(lg.links_file)
    # every link's mode must be known and have terminals at both ends
    for lk in by_key.values():
        if lk.key in added:
            _check_link(lk, places, modes, file, "logistics.add_links", "uses unknown mode")
            continue
        where = f"line {lines[lk.key]} ({lk.origin}-{lk.dest})"
        _check_link(lk, places, modes, csv_file, where, "uses unknown mode")  # the CSV's line
        _check_terminals(lk, terminals, csv_file, where, modes_set_by)
    return list(by_key.values())


def _check_terminals(
    lk: LinkRecord,
    terminals: dict,
    file: Any,
    field: str,
    modes_set_by: dict[str, str] | None = None,
) -> None:
    """A link of a mode needs a terminal of that mode at both of its places."""
    for end in (lk.origin, lk.dest):
        if lk.mode not in terminals[end]:
            set_by = (modes_set_by or {}).get(end)
            origin = f" as set by {set_by}" if set_by else ""
            raise InputError(
                f"link {lk.origin}-{lk.dest} ({lk.mode}) needs a {lk.mode} terminal at {end!r}, "
                f"which has modes {', '.join(terminals[end])}{origin} "
                "(logistics.add_hubs adds one)",
                file=file,
                field=field,
            )


def _unknown_place(end: str, places: dict, file: Any, field: str, prefix: str = "") -> InputError:
    hint = suggest(end, list(places)) or f" (places: {', '.join(map(str, places))})"
    return InputError(f"{prefix}unknown place {end!r}{hint}", file=file, field=field)


def _remove_links(by_key: dict, refs: list, places: dict, file: Any) -> None:
    for i, ref in enumerate(refs):
        field = f"logistics.remove_links[{i}]"
        for end in (ref.origin, ref.dest):
            if end not in places:
                raise _unknown_place(end, places, file, field)
        a, b = sorted((ref.origin, ref.dest))
        hit = [
            k for k in by_key if k[0] == a and k[1] == b and (ref.mode is None or k[2] == ref.mode)
        ]
        if not hit:
            by = f" by {ref.mode}" if ref.mode else ""
            raise InputError(
                f"no link {ref.origin}-{ref.dest}{by} to remove", file=file, field=field
            )
        for k in hit:
            del by_key[k]


def _add_links(
    by_key: dict,
    added: list,
    places: dict,
    modes: list[str],
    file: Any,
    terminals: dict,
    modes_set_by: dict[str, str] | None = None,
) -> None:
    """Add (or replace: same places and mode) the links of ``logistics.add_links``.  A link listed
    twice is an error (which one was meant?); a replaced link's corridor tag, extra cost and extra
    hours that the added link does not set are dropped, with a warning naming them (the corridor
    volumes and route costs change with them)."""
    first: dict[tuple[str, str, str], int] = {}
    for i, lk in enumerate(added):
        field = f"logistics.add_links[{i}]"
        for end in (lk.origin, lk.dest):
            if end not in places:
                raise _unknown_place(end, places, file, field)
        if lk.mode not in modes:
            raise InputError(
                f"unknown mode {lk.mode!r}" + suggest(lk.mode, modes),
                file=file,
                field=f"{field}.mode",
            )
        if lk.origin == lk.dest:
            raise InputError("a link must join two different places", file=file, field=field)
        if lk.key in first:
            raise InputError(
                f"the link {lk.origin}-{lk.dest} by {lk.mode} is already listed as "
                f"logistics.add_links[{first[lk.key]}]; expected each link once",
                file=file,
                field=field,
            )
        first[lk.key] = i
        _check_terminals(lk, terminals, file, field, modes_set_by)
        if lk.key in by_key:
            _warn_dropped_attributes(by_key[lk.key], lk, field)
        by_key[lk.key] = lk


def _warn_dropped_attributes(old: LinkRecord, new: LinkRecord, field: str) -> None:
    """Warn when a link that replaces one of the links CSV drops its corridor tag, extra cost or extra
    hours by leaving them unset (named by its key only: it may come from the scenario file, an
    experiment's override or ``--set``)."""
    dropped = []
    if old.corridor and "corridor" not in new.model_fields_set:
        dropped.append(f"corridor tag {old.corridor!r}")
    if old.extra_cost and "extra_cost" not in new.model_fields_set:
        dropped.append(f"extra cost {old.extra_cost:g} yuan/t")
    if old.extra_hours and "extra_hours" not in new.model_fields_set:
        dropped.append(f"extra {old.extra_hours:g} h")
    if dropped:
        warnings.warn(
            f"{field} replaces the link {old.origin}-{old.dest} by {old.mode} and drops its "
            f"{', '.join(dropped)}; set them in the added link to keep them",
            stacklevel=2,
        )


def _check_link(lk: LinkRecord, places: dict, modes: list[str], file: Any, field: str, what: str):
    if lk.mode not in modes:
        raise InputError(
            f"link {lk.origin}-{lk.dest} {what} {lk.mode!r}" + suggest(lk.mode, modes),
            file=file,
            field=field,
        )
    for end in (lk.origin, lk.dest):
        if end not in places:
            prefix = f"link {lk.origin}-{lk.dest} ({lk.mode}) names "
            raise _unknown_place(end, places, file, field, prefix)


def _check_initial_weights(user: _UserScenario, data: ScenarioData) -> None:
    """Firms to place need a positive total weight (world._initial_weights, initialisation.initial_weights):
    checked here so that ``validate`` names the file instead of the run failing at its start."""
    n0, mode = user.firms.initial_count, user.firms.initial_distribution
    if n0 == 0 or mode == "uniform":
        return
    if mode == "proportional_to_income":
        if sum(r.immobile_income for r in data.regions) <= 0:
            raise InputError(
                f"immobile_income sums to 0 over the regions; expected a positive total to place "
                f"firms.initial_count = {n0} firms with firms.initial_distribution = {mode!r}",
                file=_display(user.regions.file),
                field="immobile_income",
            )
        return
    sw = np.array([s.initial_weight for s in data.sectors], dtype=float)
    sw = sw if sw.sum() > 0 else np.ones_like(sw)
    col = np.asarray(data.initial_firms, dtype=float).sum(axis=0)
    if float(sw[col > 0].sum()) <= 0:
        raise InputError(
            "the weights sum to 0 over the sectors with a positive initial_weight in "
            f"{_display(user.sectors.file)}; expected a positive total to place "
            f"firms.initial_count = {n0} firms with firms.initial_distribution = 'data'",
            file=_display(user.regions.initial_firms_file),
            field="weights",
        )


def _check_policy(policy: PolicyParams, data: ScenarioData, file: Any) -> None:
    lever = lever_for("policy.delegation.x")[0]
    keys = valid_keys(lever, [r.region_id for r in data.regions], [], [])
    check_table(lever, policy.delegation, keys, file=file)
    lever = lever_for("policy.replicate.x")[0]
    check_table(lever, policy.replicate, valid_keys(lever, [], [], []), file=file)
