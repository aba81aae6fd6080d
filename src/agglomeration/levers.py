"""Policy and logistics levers: each declared once, here.

A lever is a scenario path a user (or an experiment, or the dashboard) sets to ask a policy question.
Its declaration gives the path, the valid bounds, the unit, what it means and which submodel reads it.
The declaration is used by

- scenario validation (:func:`check_scenario`: keys and values of every lever table, before any run);
- experiment validation (:func:`check_value`, :func:`check_range`: variant overrides and design ranges);
- the dashboard's controls (:attr:`Lever.slider`, :attr:`Lever.slider_keys`);
- the generated table in docs/LEVERS.md (:func:`markdown_table`).

Paths ending in ``.<key>`` are tables with one value per key (a region, a mode, a place ...); the keys a
lever accepts are given by :attr:`Lever.keys` and checked against the scenario's data.  The key ``all``
applies to every key; a region type applies to its regions; a region id wins over its type, a type over
``all``.

Add a lever: one :class:`Lever` declaration, appended to :data:`LEVERS` (built-in levers) or passed to
:func:`declare` (a lever of an extension, e.g. of a new submodel's parameter section).  Its ``path`` must
be a field of the scenario schema (for a scalar lever give the field ``lever_field(path)``, see
:mod:`agglomeration.parameters`) and the submodel named in ``read_by`` reads the value.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from agglomeration.economy import suggest
from agglomeration.errors import InputError
from agglomeration.reform_domains import DOMAINS
from agglomeration.region_types import REGION_TYPES

#: what the ``<key>`` of a per-key lever may name
KeyKind = Literal["region", "mode", "place", "domain"]


@dataclass(frozen=True)
class Lever:
    """One policy or logistics lever (see the module docstring)."""

    path: str
    label: str
    unit: str
    lo: float
    hi: float
    default: float
    description: str
    read_by: tuple[str, ...]
    kind: Literal["policy", "logistics"]
    #: where the default and bounds come from (or: an estimate, with a plausible range)
    source: str = "estimate"
    lo_open: bool = False
    keys: KeyKind | None = None
    #: dashboard slider (min, max, step); None = no slider
    slider: tuple[float, float, float] | None = None
    #: per-key levers: the keys that get a slider
    slider_keys: tuple[str, ...] = ()

    @property
    def per_key(self) -> bool:
        """True for a table with one value per key (path ends in ``.<key>``)."""
        return self.keys is not None

    @property
    def table(self) -> str:
        """The scenario path of the value (per-key levers: of the table)."""
        return self.path.rsplit(".<", 1)[0] if self.per_key else self.path

    def bounds_text(self) -> str:
        """The valid interval, e.g. ``(0, 100]``."""
        return f"{'(' if self.lo_open else '['}{self.lo:g}, {self.hi:g}]"

    def problem(self, value: Any) -> str | None:
        """Why ``value`` is not a valid setting of this lever, or None when it is."""
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        x = float(value) if ok else math.nan
        low_ok = x > self.lo if self.lo_open else x >= self.lo
        if ok and math.isfinite(x) and low_ok and x <= self.hi:
            return None
        return f"expected a number in {self.bounds_text()} [{self.unit}], got {value!r}"

    def check(self, value: Any, *, field: str, file: Any = None) -> float:
        """``value`` as a float within the lever's bounds, else :class:`InputError` naming ``field``."""
        problem = self.problem(value)
        if problem is not None:
            raise InputError(problem, file=file, field=field)
        return float(value)


LEVERS: tuple[Lever, ...] = (
    Lever(
        path="policy.delegation.<key>",
        label="Delegation level",
        unit="-",
        lo=0.0,
        hi=1.0,
        default=0.0,
        description="share of municipal powers delegated to a region (0 none, 1 as much as the FTZ "
        "could hold); overrides the `delegation` column of regions.csv. Cuts the region's entry "
        "cost, approval delay and administrative burden (policy.delegation_*_effect) and speeds "
        "its replication of FTZ reforms",
        read_by=("costs", "policy"),
        kind="policy",
        source="data (regions.csv `delegation`) unless overridden; the policy lever",
        keys="region",
        slider=(0.0, 1.0, 0.05),
        slider_keys=("ftz", "connected", "other"),
    ),
    Lever(
        path="policy.information_sharing",
        label="Investment-information sharing",
        unit="-",
        lo=0.0,
        hi=1.0,
        default=0.5,
        description="how widely investment information is shared across the zones: raises supplier "
        "search, the chance that an entrant knows each FTZ and connected area (costs: known_share) "
        "and the share of regions movers know about",
        read_by=("sourcing", "prospects", "costs"),
        kind="policy",
        source="policy lever; 0.5 = partial sharing in the 2021 setting",
        slider=(0.0, 1.0, 0.05),
    ),
    Lever(
        path="policy.replication_rate",
        label="Reform replication rate",
        unit="1/step",
        lo=0.0,
        hi=1.0,
        default=0.05,
        description="base hazard that a connected area replicates one reform already adopted in the FTZ",
        read_by=("policy",),
        kind="policy",
        source="assumption: a connected area at full delegation and full access to the FTZ (conn_r = 1) "
        "replicates an available reform within ~5 years; the hazard scales with conn_r (docs/ODD.md "
        "section 7.8), so a remote area (Wanzhou, conn_r ~0.05) takes decades; plausible 0.01-0.2",
        slider=(0.0, 0.5, 0.01),
    ),
    Lever(
        path="policy.replicate.<key>",
        label="Reform replication by domain",
        unit="x",
        lo=0.0,
        hi=1.0,
        default=1.0,
        description="factor on the hazard that regions outside the FTZ replicate the FTZ's reforms of "
        "a domain (government_functions, investment_management, trade_facilitation, "
        "financial_innovation, supervision, or 'all'); 0 = the domain is not replicated (the FTZ "
        "still pioneers it)",
        read_by=("policy",),
        kind="policy",
        source="policy lever; 1 = every domain replicated at policy.replication_rate",
        keys="domain",
        slider=(0.0, 1.0, 0.05),
        slider_keys=("all",),
    ),
    Lever(
        path="logistics.tariff_multiplier.<key>",
        label="Freight tariff multiplier",
        unit="x",
        lo=0.0,
        hi=100.0,
        lo_open=True,
        default=1.0,
        description="factor on a mode's line-haul tariff [yuan/t-km] (e.g. a rail corridor subsidy)",
        read_by=("world",),
        kind="logistics",
        source="scenario lever (1 = the data in modes.csv / regions.csv / gateways.csv)",
        keys="mode",
        slider=(0.25, 3.0, 0.05),
        slider_keys=("rail", "river"),
    ),
    Lever(
        path="logistics.fee_multiplier.<key>",
        label="Terminal fee multiplier",
        unit="x",
        lo=0.0,
        hi=100.0,
        default=1.0,
        description="factor on a mode's fees per shipment end and per transshipment [yuan/t]",
        read_by=("world",),
        kind="logistics",
        source="scenario lever (1 = the data in modes.csv / regions.csv / gateways.csv)",
        keys="mode",
    ),
    Lever(
        path="logistics.speed_multiplier.<key>",
        label="Speed multiplier",
        unit="x",
        lo=0.0,
        hi=100.0,
        lo_open=True,
        default=1.0,
        description="factor on a mode's average speed [km/h]",
        read_by=("world",),
        kind="logistics",
        source="scenario lever (1 = the data in modes.csv / regions.csv / gateways.csv)",
        keys="mode",
    ),
    Lever(
        path="logistics.customs_multiplier.<key>",
        label="Customs time multiplier",
        unit="x",
        lo=0.0,
        hi=100.0,
        default=1.0,
        description="factor on customs dwell hours at a place (region or gateway id, a region "
        "type, 'gateway' for every gateway, or 'all'; transit hubs clear no customs)",
        read_by=("world",),
        kind="logistics",
        source="scenario lever (1 = the data in modes.csv / regions.csv / gateways.csv)",
        keys="place",
        slider=(0.0, 3.0, 0.05),
        slider_keys=("all",),
    ),
)

#: structural logistics levers (lists of records validated by the scenario schema, not numbers)
STRUCTURAL: dict[str, str] = {
    "logistics.add_links": "links to add, e.g. a new rail line; same places and mode replaces a link",
    "logistics.remove_links": "links to remove (all modes when no mode is given)",
    "logistics.add_hubs": "mode terminals to add at a place, e.g. a river port",
}


_DECLARED: list[Lever] = list(LEVERS)


def declare(lever: Lever) -> Lever:
    """Declare a lever beyond the built-in ones; returns it.  Declaring the same lever again is a no-op;
    another lever on a declared path is a ``ValueError``."""
    for old in _DECLARED:
        if old.path == lever.path:
            if old != lever:
                raise ValueError(f"a different lever is already declared at {lever.path!r}")
            return old
    _DECLARED.append(lever)
    return lever


def declared() -> tuple[Lever, ...]:
    """Every declared lever: the built-in :data:`LEVERS`, then those added by :func:`declare`."""
    return tuple(_DECLARED)


def is_lever(path: str) -> bool:
    """Whether a dotted scenario path is a declared policy or logistics lever, scalar, per key or
    structural (adding or removing links, adding hubs): what leaves the initial economy alone, so a
    run may start from the settled state of a scenario without it."""
    return lever_for(path) is not None or path in STRUCTURAL


def lever_for(path: str) -> tuple[Lever, str | None] | None:
    """The lever a dotted scenario path sets and its key (None for scalar levers), or None."""
    for lever in _DECLARED:
        if lever.per_key:
            head, _, key = path.rpartition(".")
            if head == lever.table and key:
                return lever, key
        elif path == lever.path:
            return lever, None
    return None


def check_value(path: str, value: Any, *, file: Any = None) -> None:
    """Check the bounds of a value set at ``path`` when the path is a lever (no-op otherwise)."""
    hit = lever_for(path)
    if hit is not None:
        hit[0].check(value, field=path, file=file)


def check_range(path: str, low: float, high: float, *, file: Any = None, field: str = "") -> None:
    """Check that a design range [low, high] on ``path`` lies within the lever's bounds, if a lever."""
    hit = lever_for(path)
    if hit is None:
        return
    lever = hit[0]
    for x in (low, high):
        lever.check(x, field=field or path, file=file)


def valid_keys(
    lever: Lever, region_ids: Sequence[str], places: Sequence[str], modes: Sequence[str]
):
    """The keys a per-key lever accepts in a scenario with these regions, places and modes."""
    if lever.keys == "region":
        return [*region_ids, *REGION_TYPES, "all"]
    if lever.keys == "mode":
        return [*modes, "all"]
    if lever.keys == "domain":
        return [*DOMAINS, "all"]
    return [*places, *REGION_TYPES, "gateway", "all"]


def check_table(
    lever: Lever, table: Mapping[str, Any], keys: Iterable[str], *, file: Any = None
) -> None:
    """Check every key and value of a per-key lever table; :class:`InputError` on the first problem."""
    keys = list(keys)
    for key, value in table.items():
        field = f"{lever.table}.{key}"
        if key not in keys:
            raise InputError(
                f"unknown key {key!r}" + suggest(key, keys) + f" (allowed: {', '.join(keys)})",
                file=file,
                field=field,
            )
        lever.check(value, field=field, file=file)


def check_scenario(
    tables: Mapping[str, Mapping[str, Any]],
    scalars: Mapping[str, Any],
    *,
    region_ids: Sequence[str],
    places: Sequence[str],
    modes: Sequence[str],
    file: Any = None,
) -> None:
    """Validate every lever of a scenario: ``tables`` maps per-key lever tables (``lever.table``) to
    their user-given content, ``scalars`` scalar lever paths to values."""
    for lever in _DECLARED:
        if lever.per_key:
            table = tables.get(lever.table) or {}
            check_table(lever, table, valid_keys(lever, region_ids, places, modes), file=file)
        elif lever.path in scalars:
            lever.check(scalars[lever.path], field=lever.path, file=file)


def resolve_per_region(
    table: Mapping[str, float], region_ids: Sequence[str], region_type: Sequence[str], base
):
    """Per-region values of a region-keyed lever: ``base`` (R,) overridden by 'all', then by region
    type, then by region id (the precedence of the module docstring)."""
    import numpy as np

    out = np.asarray(base, dtype=float).copy()
    rtype = np.asarray(region_type)
    ids = np.asarray(region_ids)
    if "all" in table:
        out[:] = float(table["all"])
    for key, value in table.items():
        if key in REGION_TYPES:
            out[rtype == key] = float(value)
    for key, value in table.items():
        if key not in REGION_TYPES and key != "all":
            out[ids == key] = float(value)
    return out


def markdown_table() -> str:
    """The lever table of docs/LEVERS.md (generated: ``python -m agglomeration.levers``)."""
    lines = [
        "| lever | scenario path | valid values | unit | read by | meaning |",
        "|---|---|---|---|---|---|",
    ]
    for lever in _DECLARED:
        key = {
            "region": "region id, region type or `all`",
            "mode": "mode or `all`",
            "domain": "reform domain or `all`",
        }.get(lever.keys or "", "place id, region type, `gateway` or `all`")
        path = f"`{lever.path}`" + (f" (key: {key})" if lever.per_key else "")
        lines.append(
            f"| {lever.label} | {path} | {lever.bounds_text()} | {lever.unit} | "
            f"{', '.join(lever.read_by)} | {lever.description} |"
        )
    for path, text in STRUCTURAL.items():
        lines.append(f"| structural | `{path}` | list of records | - | world | {text} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # pragma: no cover - documentation generator
    print(markdown_table(), end="")
