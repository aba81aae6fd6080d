"""The registry of reported metrics: label, unit, kind and valid range of every metric a run emits.

Every table and figure of the analysis reads a metric's presentation from here, so a column is labelled
"Firms in connected areas" rather than ``firms_connected``, shares are shown in percent with differences
in percentage points, and confidence intervals stay inside the metric's valid range.

Kinds (:data:`KINDS`):

- ``count``  a number of things (firms, workers, reforms, events per step); non-negative.
- ``share``  a fraction in [0, 1]; shown in percent, differences in percentage points (pp), intervals on
  the logit scale so they stay inside [0, 1].
- ``money``  CNY million (per step for flows); ratios of money are meaningful.
- ``index``  a dimensionless index (Herfindahl, Gini, ratios, log productivity); shown as is.

The built-in entries cover :meth:`agglomeration.model.AgglomerationModel.headline_metrics` and the columns
of ``series_frame()`` (a test fails when the model emits a metric without an entry).  The logistics
outcomes' names depend on the data (region, sector and gateway ids, corridor tags, route options): their
entries come from the World (:func:`world_entries`, from
:func:`agglomeration.logistics_outcomes.metric_descriptions`), are recorded in the manifest of every
run and batch (``manifest["metrics"]``) and read back by :func:`registry_for`; a logistics name seen
without them is recognised by its family (ids in the label).  An experiment's user-defined reporters
declare their own entries (:func:`registry_for`).  A name without an entry gets a neutral fallback
(:meth:`MetricRegistry.info`: label from the name, no unit, kind ``index``, unbounded).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "KINDS",
    "REGISTRY",
    "MetricInfo",
    "MetricRegistry",
    "registry_for",
    "world_entries",
]

Kind = Literal["count", "share", "money", "index"]
#: The metric kinds, in the order the documentation lists them.
KINDS: tuple[str, ...] = ("count", "share", "money", "index")
INF = math.inf
#: Units of fractions that are not shares (not bounded by 1: the delivered freight cost) -> the unit
#: their levels are shown in (x 100) and that of their differences, as the dashboard shows them
PERCENT_UNITS: dict[str, tuple[str, str]] = {"share of value": ("% of value", "pp of value")}


@dataclass(frozen=True)
class MetricInfo:
    """How a metric is presented.

    ``label`` is a readable name (sentence case, no unit); ``unit`` the unit of the stored values
    (``"firms"``, ``"CNY m per step"``, ``""`` for dimensionless); ``low``/``high`` the valid range of one
    run's value (a share is in [0, 1], a count >= 0).  ``primary`` metrics form the default family of
    ``compare`` and ``plot``; ``registered`` is False for the fallback of an unknown name.
    """

    name: str
    label: str
    unit: str
    kind: Kind
    low: float = -INF
    high: float = INF
    description: str = ""
    primary: bool = False
    registered: bool = True

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(
                f"{self.name}: kind must be one of {', '.join(KINDS)}, got {self.kind!r}"
            )
        if not self.low < self.high:
            raise ValueError(f"{self.name}: expected low < high, got [{self.low}, {self.high}]")
        if self.kind == "share" and (self.low, self.high) != (0.0, 1.0):
            raise ValueError(f"{self.name}: a share has the range [0, 1]")

    # ------------------------------------------------------------------ presentation
    @property
    def is_share(self) -> bool:
        """True for fractions in [0, 1] (shown in percent; differences in percentage points)."""
        return self.kind == "share"

    @property
    def scale(self) -> float:
        """Factor from stored values to displayed values (100 for shares and the other fractions of
        :data:`PERCENT_UNITS`, else 1)."""
        return 100.0 if self.is_share or self.unit in PERCENT_UNITS else 1.0

    @property
    def display_unit(self) -> str:
        """Unit of displayed levels: ``%`` for shares, ``% of value`` for a fraction of value (the
        delivered freight cost; a raw 0.0072 read as a cost of 0.0072), else :attr:`unit`."""
        if self.unit in PERCENT_UNITS:
            return PERCENT_UNITS[self.unit][0]
        return "%" if self.is_share else self.unit

    @property
    def difference_unit(self) -> str:
        """Unit of displayed differences: ``pp`` (percentage points) for shares, ``pp of value`` for
        a fraction of value, else :attr:`unit`."""
        if self.unit in PERCENT_UNITS:
            return PERCENT_UNITS[self.unit][1]
        return "pp" if self.is_share else self.unit

    @property
    def ratio_scale(self) -> bool:
        """Whether a percent change is meaningful: non-share metrics bounded below by 0."""
        return not self.is_share and self.low == 0.0

    def axis_label(self, *, difference: bool = False) -> str:
        """``"Employment (workers)"``; the unit is left out when the label already names it
        (``"Firms in connected areas"``, not ``"... (firms)"``)."""
        unit = self.difference_unit if difference else self.display_unit
        label = (
            f"Difference in {self.label[0].lower()}{self.label[1:]}" if difference else self.label
        )
        if not unit or unit.lower() in label.lower():
            return label
        return f"{label} ({unit})"

    def clip(self, value: float) -> float:
        """``value`` limited to the valid range [low, high]."""
        return min(max(value, self.low), self.high)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready entry (for documentation tables and exports)."""
        return {
            "name": self.name,
            "label": self.label,
            "unit": self.unit,
            "kind": self.kind,
            "low": self.low,
            "high": self.high,
            "description": self.description,
        }


def _fallback(name: str) -> MetricInfo:
    text = str(name).replace("_", " ").strip() or str(name)
    return MetricInfo(str(name), text[0].upper() + text[1:], "", "index", registered=False)


@dataclass(frozen=True)
class MetricRegistry:
    """A read-only mapping of metric name -> :class:`MetricInfo`; :meth:`extended` adds entries."""

    entries: Mapping[str, MetricInfo] = field(default_factory=dict)

    def __contains__(self, name: object) -> bool:
        return name in self.entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def info(self, name: str) -> MetricInfo:
        """The entry of ``name``; a logistics metric without an entry by its family; else a neutral
        fallback (``registered=False``)."""
        return self.entries.get(name) or _logistics_family(name) or _fallback(name)

    def label(self, name: str) -> str:
        """Readable label of ``name``."""
        return self.info(name).label

    def axis_label(self, name: str, *, difference: bool = False) -> str:
        """Label with the displayed unit (see :meth:`MetricInfo.axis_label`)."""
        return self.info(name).axis_label(difference=difference)

    def primary(self, available: Iterable[str]) -> list[str]:
        """The default metric family among ``available`` (in that order): the primary built-in metrics
        plus every metric without a built-in entry (an experiment's own reporters); all of them when
        none of these is present."""
        names = list(available)
        chosen = [m for m in names if self.info(m).primary or not self.info(m).registered]
        return chosen or names

    def extended(self, infos: Iterable[MetricInfo]) -> MetricRegistry:
        """A new registry with ``infos`` added (an entry replaces a built-in one of the same name)."""
        merged = dict(self.entries)
        merged.update({i.name: i for i in infos})
        return MetricRegistry(merged)


def _logistics_family(name: str) -> MetricInfo | None:
    from agglomeration.logistics_outcomes import describe_metric_name

    fields = describe_metric_name(str(name))
    return None if fields is None else MetricInfo(str(name), **fields)  # type: ignore[arg-type]


def world_entries(world: Any) -> list[MetricInfo]:
    """Entries of the metrics whose names depend on the data of ``world`` (the logistics outcomes:
    :func:`agglomeration.logistics_outcomes.metric_descriptions`), labelled with the regions', sectors'
    and gateways' names."""
    from agglomeration.logistics_outcomes import metric_descriptions

    return [MetricInfo(name, **fields) for name, fields in metric_descriptions(world).items()]  # type: ignore[arg-type]


def _by_type(stem: str, label: str, unit: str, kind: Kind, primary: tuple[str, ...] = ()):
    places = {"ftz": "FTZ areas", "connected": "connected areas", "other": "other regions"}
    return [
        MetricInfo(
            f"{stem}_{t}",
            f"{label} in {where}" if stem != "output" else f"Output of {where}",
            unit,
            kind,
            0.0,
            description=f"{label.lower()} summed over the regions of type '{t}'"
            + (
                f" (moves from or to a region of another type only: a move between two regions of "
                f"type '{t}' is in neither total)"
                if stem.startswith("relocations")
                else ""
            ),
            primary=t in primary,
        )
        for t, where in places.items()
    ]


_PER_STEP = "per step"
BUILTIN: dict[str, MetricInfo] = {
    i.name: i
    for i in [
        MetricInfo("firms", "Firms", "firms", "count", 0.0, description="live firms", primary=True),
        MetricInfo(
            "employment", "Employment", "workers", "count", 0.0, description="workers employed"
        ),
        MetricInfo(
            "output",
            "Output",
            "CNY m per step",
            "money",
            0.0,
            description="revenue of all firms",
            primary=True,
        ),
        *_by_type("firms", "Firms", "firms", "count", primary=("ftz", "connected")),
        *_by_type("employment", "Employment", "workers", "count"),
        *_by_type("output", "Output", "CNY m per step", "money"),
        # run totals since the observed run started (observe.demography_by_type); relocations only
        # between regions of different types
        *_by_type("firms_start", "Firms at the start", "firms", "count"),
        MetricInfo(
            "entries_total",
            "Entries (run total)",
            "firms",
            "count",
            0.0,
            description="entrants since the observed run started, every region (the sum of "
            "entries_total_<type>; whether a lever creates firms)",
        ),
        MetricInfo(
            "exits_total",
            "Exits (run total)",
            "firms",
            "count",
            0.0,
            description="exits since the observed run started, every region",
        ),
        *_by_type("entries_total", "Entries (run total)", "firms", "count"),
        *_by_type("exits_total", "Exits (run total)", "firms", "count"),
        *_by_type("relocations_in", "Relocations in (run total)", "firms", "count"),
        *_by_type("relocations_out", "Relocations out (run total)", "firms", "count"),
        MetricInfo(
            "entries",
            "Entries",
            f"firms {_PER_STEP}",
            "count",
            0.0,
            description="entrants in the step",
        ),
        MetricInfo(
            "exits", "Exits", f"firms {_PER_STEP}", "count", 0.0, description="exits in the step"
        ),
        MetricInfo(
            "relocations",
            "Relocations",
            f"firms {_PER_STEP}",
            "count",
            0.0,
            description="firms that moved to another region in the step",
        ),
        MetricInfo(
            "supplier_switches",
            "Supplier switches",
            f"links {_PER_STEP}",
            "count",
            0.0,
            description="supplier links replaced in the step",
        ),
        MetricInfo(
            "supplier_additions",
            "Suppliers added",
            f"links {_PER_STEP}",
            "count",
            0.0,
            description="suppliers added to a buyer's set in the step (variety gain above the "
            "relationship cost)",
        ),
        MetricInfo(
            "supplier_drops",
            "Suppliers dropped",
            f"links {_PER_STEP}",
            "count",
            0.0,
            description="suppliers dropped from a buyer's set in the step",
        ),
        MetricInfo(
            "potential_entrants",
            "Potential entrants",
            f"firms {_PER_STEP}",
            "count",
            0.0,
            description="the pool of potential entrants that considered entry in the step",
        ),
        MetricInfo(
            "entry_decisions",
            "Entry decisions",
            f"firms {_PER_STEP}",
            "count",
            0.0,
            description="potential entrants that decided to enter in the step (they produce once "
            "approved)",
        ),
        MetricInfo(
            "lines_added",
            "Product lines added",
            f"lines {_PER_STEP}",
            "count",
            0.0,
            description="new product lines of incumbents in the step",
        ),
        MetricInfo(
            "lines_lost",
            "Product lines lost",
            f"lines {_PER_STEP}",
            "count",
            0.0,
            description="product lines lost in the step",
        ),
        MetricInfo(
            "suppliers_per_firm",
            "Suppliers per firm",
            "suppliers",
            "index",
            0.0,
            description="filled supplier slots (domestic and imports) per live firm",
        ),
        MetricInfo(
            "domestic_suppliers_per_firm",
            "Domestic suppliers per firm",
            "suppliers",
            "index",
            0.0,
            description="suppliers in the regions per live firm (firms of the model: a slot "
            "sourced from the rest of China, the DOM gateway, is not counted, although import_share "
            "counts DOM purchases as domestic)",
        ),
        MetricInfo(
            "input_firms_with_buyer_share",
            "Input makers with a domestic buyer",
            "share",
            "share",
            0.0,
            1.0,
            description="share of the firms of input sectors that supply at least one live firm",
        ),
        MetricInfo(
            "mean_lines",
            "Product lines per firm",
            "lines",
            "index",
            0.0,
            description="mean product lines per live firm",
        ),
        MetricInfo(
            "entrant_profit_ratio",
            "Entrants' realised / expected profit",
            "ratio",
            "index",
            description="first-year profit over what was expected at entry, summed from the start of "
            "the run over the entrants whose first year ends in it (those of the burn-in's last year "
            "included, so it is defined from step 1; 1 = consistent expectations)",
        ),
        MetricInfo(
            "entrant_revenue_ratio",
            "Entrants' realised / expected revenue",
            "ratio",
            "index",
            0.0,
            description="first-year revenue over what was expected at entry, summed as "
            "entrant_profit_ratio",
        ),
        MetricInfo(
            "mean_log_productivity",
            "Mean log productivity",
            "log points",
            "index",
            description="mean of log productivity over live firms",
        ),
        MetricInfo(
            "mean_wage",
            "Mean wage",
            "CNY m per worker-step",
            "money",
            0.0,
            description="mean regional wage",
        ),
        MetricInfo(
            "wage",
            "Wage",
            "CNY m per worker-step",
            "money",
            0.0,
            description="employment-weighted mean of the regional wages",
        ),
        MetricInfo(
            "real_wage",
            "Real wage",
            "CNY m per worker-step at initial prices",
            "money",
            0.0,
            description="employment-weighted mean of the regional wages over the region's consumer price "
            "index",
        ),
        MetricInfo(
            "cpi",
            "Consumer price index",
            "first observation = 1",
            "index",
            0.0,
            description="geometric mean over regions (weights: immobile income) of the regional CES "
            "consumer price indices, relative to their first observation",
        ),
        MetricInfo(
            "ppi",
            "Producer price index",
            "first observation = 1",
            "index",
            0.0,
            description="revenue-weighted geometric mean over sectors of the producer price levels "
            "(firms' prices), relative to their first observation",
        ),
        MetricInfo(
            "labour_productivity",
            "Labour productivity",
            "CNY m per worker-step",
            "money",
            0.0,
            description="value added (revenue - input purchases) per worker",
        ),
        MetricInfo(
            "real_labour_productivity",
            "Real labour productivity",
            "CNY m per worker-step at initial prices",
            "money",
            0.0,
            description="value added per worker over the producer price index",
        ),
        MetricInfo(
            "mean_rent",
            "Mean rent",
            "CNY m per km2-step",
            "money",
            0.0,
            description="unweighted mean of the regional land rents",
        ),
        MetricInfo(
            "outside_wage_index",
            "Outside wage index",
            "start = 1",
            "index",
            0.0,
            description="wage workers earn outside the modelled firms (growth table series 'wage')",
        ),
        MetricInfo(
            "exogenous_income",
            "Exogenous income",
            "CNY m per step",
            "money",
            0.0,
            description="households' immobile income of the regions plus the gateways' final demand",
        ),
        MetricInfo(
            "herfindahl_regions",
            "Herfindahl index of regional firm shares",
            "",
            "index",
            0.0,
            1.0,
            description="sum of squared regional shares of firms (1 = all in one region)",
            primary=True,
        ),
        MetricInfo(
            "mean_locational_gini",
            "Mean locational Gini",
            "",
            "index",
            0.0,
            1.0,
            description="mean over sectors of the locational Gini of employment",
        ),
        MetricInfo(
            "local_sourcing_share",
            "Local sourcing share",
            "",
            "share",
            0.0,
            1.0,
            description="value share of inputs bought from suppliers in the buyer's region",
            primary=True,
        ),
        MetricInfo(
            "network_sourcing_share",
            "Zone sourcing share",
            "",
            "share",
            0.0,
            1.0,
            description="value share of the zone's inputs bought within the FTZ and connected areas",
        ),
        MetricInfo(
            "import_share",
            "Imported input share",
            "",
            "share",
            0.0,
            1.0,
            description="value share of inputs imported through international gateways (the domestic "
            "gateway, the rest of China, is domestic sourcing)",
            primary=True,
        ),
        MetricInfo(
            "mean_chain_coverage",
            "Mean chain coverage",
            "",
            "share",
            0.0,
            1.0,
            description="mean over zone regions and chains of the weighted share of chain stages present",
            primary=True,
        ),
        MetricInfo(
            "reforms_connected",
            "Reforms adopted per connected area",
            "reforms",
            "count",
            0.0,
            description="mean number of FTZ reforms replicated per connected area",
        ),
        MetricInfo(
            "ftz_leads_chains_share",
            "Chains led by an FTZ area",
            "",
            "share",
            0.0,
            1.0,
            description="share of chains whose largest region (by firms) is an FTZ area (a tie "
            "counts as the share of the tied regions that are FTZ areas)",
        ),
        MetricInfo(
            "firms_relative_to_initial",
            "Firms relative to the start of the observed run",
            "ratio",
            "index",
            0.0,
            description="live firms / live firms at step 0 of the observed run (after the burn-in; "
            "without one, firms.initial_count)",
        ),
        MetricInfo(
            "zone_firm_share",
            "Firm share of the FTZ and connected areas",
            "",
            "share",
            0.0,
            1.0,
            description="share of firms located in the FTZ or a connected area",
        ),
        MetricInfo(
            "connected_firm_share",
            "Firm share of the connected areas",
            "",
            "share",
            0.0,
            1.0,
            description="share of firms located in a connected innovation area",
            primary=True,
        ),
    ]
}

#: The built-in registry (the model's own metrics).
REGISTRY = MetricRegistry(BUILTIN)

#: metrics of the end of the run only: ``observe.headline_metrics`` adds them to the last series row
#: (with the logistics metrics outside ``logistics_outcomes.in_series``); a stop condition, which
#: reads the series, cannot name them
FINAL_ONLY = (
    "ftz_leads_chains_share",
    "firms_relative_to_initial",
    "zone_firm_share",
    "connected_firm_share",
)


def reporter_info(name: str, spec: Mapping[str, Any]) -> MetricInfo:
    """A :class:`MetricInfo` from a reporter's declaration in an experiment file (``label``, ``unit``,
    ``kind``, ``range`` = [low, high], either may be None for unbounded); missing fields take neutral
    defaults."""
    low, high = spec.get("range") or (None, None)
    return MetricInfo(
        name,
        str(spec.get("label") or _fallback(name).label),
        str(spec.get("unit") or ""),
        spec.get("kind") or "index",
        -INF if low is None else float(low),
        INF if high is None else float(high),
        description=str(spec.get("description") or ""),
        primary=True,
    )


def _recorded_info(name: str, spec: Mapping[str, Any]) -> MetricInfo | None:
    """An entry recorded in a manifest (:meth:`MetricInfo.as_dict`; JSON has no infinity, so an open
    bound is None); None when it is malformed (the name then falls back to its family)."""
    low, high = spec.get("low"), spec.get("high")
    try:
        return MetricInfo(
            str(name),
            str(spec["label"]),
            str(spec.get("unit") or ""),
            spec["kind"],
            -INF if low is None else float(low),
            INF if high is None else float(high),
            description=str(spec.get("description") or ""),
        )
    except (KeyError, TypeError, ValueError):
        return None


def manifest_entries(infos: Iterable[MetricInfo]) -> dict[str, dict[str, Any]]:
    """``manifest["metrics"]``: the data-dependent entries of a run or batch, JSON-ready (an infinite
    bound as None)."""
    out = {}
    for info in infos:
        entry = info.as_dict()
        entry.pop("name")
        for key in ("low", "high"):
            entry[key] = entry[key] if math.isfinite(entry[key]) else None
        out[info.name] = entry
    return out


def registry_for(manifest: Mapping[str, Any] | None) -> MetricRegistry:
    """The registry for a result store: the built-in entries plus the data-dependent entries recorded
    in ``manifest["metrics"]`` (:func:`world_entries`) and the experiment's reporters
    (``manifest["experiment"]["reporters"]``)."""
    manifest = manifest or {}
    recorded = manifest.get("metrics") or {}
    experiment = manifest.get("experiment") or {}
    reporters = experiment.get("reporters") or {}
    infos: list[MetricInfo] = []
    if isinstance(recorded, Mapping):
        infos += [
            i
            for n, s in recorded.items()
            if isinstance(s, Mapping) and (i := _recorded_info(n, s)) is not None
        ]
    if isinstance(reporters, Mapping):
        infos += [reporter_info(n, s) for n, s in reporters.items() if isinstance(s, Mapping)]
    return REGISTRY.extended(infos) if infos else REGISTRY
