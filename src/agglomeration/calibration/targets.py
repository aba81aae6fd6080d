"""Calibration targets files: the observed moments, the parameters to estimate, and their validation.

A targets file (TOML; docs/CALIBRATION.md) names a base scenario, the parameters to estimate (scenario
paths with bounds and an optional prior) and the moments to match.  Each moment pairs an observed value
(with its standard error, or a weight), year, source and data unit with the *simulated statistic* that
matches it: a built-in metric of the metric registry (optionally restricted to regions, region types or
sectors, and aggregated over a window of steps), optionally divided by a second statistic, times a unit
``scale``; or a ``"package.module:function"`` over a run's tables (an experiment reporter).  Long moment
tables may live in a CSV file (``moments_file``).

Everything is checked by :func:`load_targets` *before* any run: an unknown metric, region or sector, a
parameter path the scenario schema does not have, reversed bounds, a moment without an observed value or
standard error — each is an :class:`~agglomeration.errors.InputError` naming the file and the field.
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import json
import math
import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from agglomeration.errors import InputError, csv_line, describe_os_error, shorten
from agglomeration.parameters import numbers_validator

__all__ = [
    "REGION_METRICS",
    "ABCSettings",
    "Moment",
    "Parameter",
    "Statistic",
    "Targets",
    "load_targets",
]

#: metrics of the region x sector table that accept ``region`` / ``region_type`` / ``sector`` selectors
REGION_METRICS = ("firms", "employment", "output")
#: aggregations of a series metric over a window of steps
AGGREGATES = ("mean", "sum", "first", "last", "growth")
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,47}$")
_FUNCTION = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*:[A-Za-z_][\w]*$")
#: most moments and parameters one targets file may declare
MAX_MOMENTS = 500
MAX_PARAMETERS = 50


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    _numbers = numbers_validator()  # weight = "2" or true is an error, not 2.0 or 1.0


def _as_list(v: Any) -> Any:
    """A ``;``-separated string or a list as a tuple of names; an empty one (``sector = []``, ``""``)
    is an error: it would select no rows and the statistic would be 0 in every run."""
    if isinstance(v, str):
        v = tuple(p.strip() for p in v.split(";") if p.strip())
    if isinstance(v, list | tuple) and len(v) == 0:
        raise ValueError("expected at least one name (leave the field out to select all)")
    return v


class Statistic(_Strict):
    """A simulated statistic of one run.

    ``metric``: a built-in metric name (registry).  With ``region``, ``region_type`` or ``sector`` it is
    summed over the matching rows of the final region x sector table (only ``firms``, ``employment``,
    ``output``).  With ``window = [t0, t1]`` (steps, inclusive) it is a series metric aggregated over
    those steps by ``aggregate`` (``mean``, ``sum``, ``first``, ``last``, or ``growth`` = annual growth
    rate ``(x[t1] / x[t0]) ** (steps_per_year / (t1 - t0)) - 1``).  Without either it is the metric's
    value at the end of the run.  ``function`` (``"package.module:function"``) replaces ``metric``: it
    is called with the run's tables (like an experiment reporter) and returns a number.
    """

    metric: str | None = None
    function: str | None = None
    region: tuple[str, ...] | None = None
    region_type: tuple[str, ...] | None = None
    sector: tuple[str, ...] | None = None
    window: tuple[int, int] | None = None
    aggregate: Literal["mean", "sum", "first", "last", "growth"] | None = None

    _lists = field_validator("region", "region_type", "sector", mode="before")(_as_list)

    @field_validator("function")
    @classmethod
    def _function(cls, v: str | None) -> str | None:
        if v is not None and not _FUNCTION.fullmatch(v):
            raise ValueError(f"expected 'package.module:function', got {v!r}")
        return v

    @model_validator(mode="after")
    def _check(self) -> Statistic:
        if (self.metric is None) == (self.function is None):
            raise ValueError("give exactly one of `metric` (a built-in metric) or `function`")
        selected = any(x is not None for x in (self.region, self.region_type, self.sector))
        if self.function is not None and (selected or self.window is not None):
            raise ValueError("`function` takes no region/sector selector and no window")
        if selected and self.window is not None:
            raise ValueError(
                "region/sector selectors read the final region table: they take no `window`"
            )
        if self.window is not None:
            t0, t1 = self.window
            if not 0 <= t0 <= t1:
                raise ValueError(
                    f"expected a window [t0, t1] with 0 <= t0 <= t1, got {list(self.window)}"
                )
            if self.aggregate == "growth" and t0 == t1:
                raise ValueError("`growth` needs a window with t0 < t1")
        elif self.aggregate is not None:
            raise ValueError("`aggregate` needs a `window = [t0, t1]` of steps")
        return self

    @property
    def selected(self) -> bool:
        """True when the statistic sums rows of the region x sector table."""
        return any(x is not None for x in (self.region, self.region_type, self.sector))

    def describe(self) -> str:
        """Short readable form, e.g. ``output[region=LJ; sector=auto_parts,vehicles]``."""
        if self.function is not None:
            return self.function
        parts = []
        for key in ("region", "region_type", "sector"):
            val = getattr(self, key)
            if val is not None:
                parts.append(f"{key}={','.join(val)}")
        if self.window is not None:
            parts.append(f"{self.aggregate or 'mean'} over steps {self.window[0]}-{self.window[1]}")
        return f"{self.metric}[{'; '.join(parts)}]" if parts else str(self.metric)


class Moment(Statistic):
    """One target: the observed value with its uncertainty and provenance, and the simulated statistic
    (``scale x statistic``, or ``scale x statistic / denominator``) that matches it in data units."""

    name: str
    observed: float
    se: float | None = Field(None, gt=0, description="standard error of the observed value")
    weight: float | None = Field(
        None, gt=0, description="weight in the distance (used as 1/se^2 when no se is given)"
    )
    year: int | str
    source: str = Field(min_length=1)
    units: str = Field(min_length=1, description="data unit and how model units map to it")
    scale: float = Field(1.0, description="data value = scale x model value (> 0)")
    denominator: Statistic | None = None
    note: str = ""

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not _NAME.fullmatch(v):
            raise ValueError(
                f"moment names are lower-case letters, digits and '_', starting with a letter "
                f"(at most 48 characters), got {v!r}"
            )
        return v

    @field_validator("observed", "scale")
    @classmethod
    def _finite(cls, v: float) -> float:
        if not math.isfinite(v):
            raise ValueError(f"expected a finite number, got {v}")
        return v

    @field_validator("scale")
    @classmethod
    def _positive_scale(cls, v: float) -> float:
        if not v > 0:
            raise ValueError(
                "expected a positive number (the data value is scale x the model value)"
            )
        return v

    @model_validator(mode="after")
    def _uncertainty(self) -> Moment:
        if self.se is None and self.weight is None:
            raise ValueError(
                "a moment needs `se` (standard error of the observed value) or `weight`"
            )
        if self.se is not None and self.weight is not None:
            raise ValueError("give `se` or `weight`, not both")
        for v in (self.se, self.weight):
            if v is not None and not math.isfinite(v):
                raise ValueError(f"expected a finite positive number, got {v}")
        return self

    @property
    def target_se(self) -> float:
        """Standard error of the observed value (``1 / sqrt(weight)`` for a weighted moment)."""
        return float(self.se) if self.se is not None else 1.0 / math.sqrt(float(self.weight or 1.0))

    @property
    def reporter(self) -> str:
        """Name of this moment's reporter column in the runs table (``function`` moments)."""
        return f"calib_{self.name}"

    def statistic(self) -> Statistic:
        """The numerator as a plain :class:`Statistic`."""
        return Statistic(
            **{k: getattr(self, k) for k in Statistic.model_fields}  # type: ignore[arg-type]
        )


class Parameter(_Strict):
    """A scenario parameter to estimate: ``bounds`` in the parameter's own unit, a prior (``uniform``
    over the bounds; ``lognormal``: searched on the log scale; ``normal``: a penalty
    ``((x - mean) / sd)^2`` added to the distance, a penalised or quasi-Bayesian MSM), an optional
    ``start`` (default: the base scenario's value) and ``integer`` for count parameters."""

    bounds: tuple[float, float]
    prior: Literal["uniform", "lognormal", "normal"] = "uniform"
    mean: float | None = None
    sd: float | None = Field(None, gt=0)
    start: float | None = None
    integer: bool = False
    description: str = ""

    @field_validator("bounds", mode="before")
    @classmethod
    def _number_bounds(cls, v: Any) -> Any:
        """``bounds = ["1", "4"]`` (or true) is an error, not [1.0, 4.0], as for the number fields."""
        if isinstance(v, list | tuple) and any(
            isinstance(x, bool) or not isinstance(x, int | float) for x in v
        ):
            raise ValueError("expected two numbers [low, high]")
        return v

    @model_validator(mode="after")
    def _check(self) -> Parameter:
        lo, hi = self.bounds
        if not (math.isfinite(lo) and math.isfinite(hi)):
            raise ValueError(f"bounds must be finite numbers, got [{lo}, {hi}]")
        if not lo < hi:
            raise ValueError(f"expected bounds [low, high] with low < high, got [{lo}, {hi}]")
        if self.prior == "lognormal" and lo <= 0:
            raise ValueError(f"a lognormal prior needs positive bounds, got [{lo}, {hi}]")
        if self.prior == "normal" and (self.mean is None or self.sd is None):
            raise ValueError("a normal prior needs `mean` and `sd`")
        if self.prior != "normal" and (self.mean is not None or self.sd is not None):
            raise ValueError("`mean` and `sd` belong to a normal prior (prior = 'normal')")
        if self.start is not None and not lo <= self.start <= hi:
            raise ValueError(f"start {self.start} is outside the bounds [{lo}, {hi}]")
        if self.integer and math.floor(hi) < math.ceil(lo):
            raise ValueError(
                f"an integer parameter needs a whole number within its bounds, got [{lo}, {hi}]"
            )
        if self.integer and self.start is not None and self.start != round(self.start):
            raise ValueError(f"an integer parameter needs a whole start, got {self.start}")
        return self

    @property
    def log(self) -> bool:
        """Whether the search runs on the log scale."""
        return self.prior == "lognormal"

    def penalty(self, value: float) -> float:
        """Prior penalty added to the distance (0 for uniform and lognormal priors)."""
        if self.prior != "normal":
            return 0.0
        return ((value - float(self.mean or 0.0)) / float(self.sd or 1.0)) ** 2


class SearchSettings(_Strict):
    """``[search]``: replicates per candidate, the replicate pilot, the sweeps of the diagnostics."""

    replicates: int | Literal["auto"] = "auto"
    pilot_replicates: int = Field(4, ge=2, le=64)
    max_replicates: int = Field(16, ge=2, le=256)
    startup_trials: int | None = Field(
        None, ge=1, le=10_000, description="random trials before TPE"
    )
    sweep_points: int = Field(
        6,
        ge=2,
        le=50,
        description="sweep points per parameter besides the optimum (half each side)",
    )
    sweep_span: float = Field(
        0.15, gt=0, le=1, description="sweep half-width as a fraction of the parameter's range"
    )

    @field_validator("replicates", mode="before")
    @classmethod
    def _replicates(cls, v: Any) -> Any:
        """An integer 1..256 or 'auto', checked before pydantic tries each type of the union (whose
        errors would name the branch, ``replicates.int``)."""
        if isinstance(v, float) and v.is_integer():
            v = int(v)  # 3.0 is 3, as for the other integer settings
        if v == "auto" or (isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 256):
            return v
        raise ValueError("expected an integer number of replicates from 1 to 256, or 'auto'")


class ABCSettings(_Strict):
    """``[abc]``: the ABC-SMC sampler of ``--method abc`` (calibration/abc.py)."""

    population: int = Field(100, ge=10, le=100_000, description="accepted particles per generation")
    replicates: int = Field(
        1, ge=1, le=64, description="runs (seeds) per particle; its moments are their mean"
    )
    quantile: float = Field(
        0.5,
        gt=0,
        lt=1,
        description="tolerance = this quantile of the previous generation's distances",
    )
    min_acceptance: float = Field(
        0.02, gt=0, lt=1, description="stop after a generation whose acceptance rate is below this"
    )
    max_generations: int = Field(20, ge=1, le=1000, description="generations at most")
    fit_replicates: int = Field(
        8, ge=2, le=256, description="fresh seeds of the moment-fit runs at the posterior median"
    )


class Targets(_Strict):
    """A validated targets file (see the module docstring and docs/CALIBRATION.md)."""

    name: str
    description: str = ""
    scenario: Path
    model: str | None = None
    steps: int | None = Field(None, ge=1, le=100_000)
    seed: int = Field(0, ge=0, lt=2**63)
    overrides: dict[str, Any] = Field(default_factory=dict)
    units: dict[str, str] = Field(
        default_factory=dict, description="what one model firm, step, unit of money stand for"
    )
    parameters: dict[str, Parameter]
    moments: tuple[Moment, ...] = ()
    moments_file: str | None = None
    holdout: tuple[Moment, ...] = Field(
        (),
        description="moments not fitted: simulated at the optimum on fresh seeds and compared with "
        "their data (an out-of-sample check); windows may run past `steps`",
    )
    search: SearchSettings = SearchSettings()
    abc: ABCSettings = ABCSettings()
    not_matched: dict[str, str] = Field(
        default_factory=dict, description="data moments the model cannot produce yet, with why"
    )
    source_path: Path | None = Field(None, exclude=True)
    origins: dict[str, str] = Field(
        default_factory=dict, exclude=True, description="moment name -> 'FILE line N' (CSV moments)"
    )

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not re.fullmatch(r"^[A-Za-z][A-Za-z0-9_\-]{0,63}$", v):
            raise ValueError(f"expected a name of letters, digits, '_' or '-', got {v!r}")
        return v

    @field_validator("overrides", mode="before")
    @classmethod
    def _flatten(cls, v: Any) -> Any:
        from agglomeration.experiment.spec import flatten_overrides

        return flatten_overrides(v) if isinstance(v, dict) else v

    @model_validator(mode="after")
    def _check(self) -> Targets:
        if not self.parameters:
            raise ValueError("a targets file needs at least one parameter to estimate")
        if len(self.parameters) > MAX_PARAMETERS:
            raise ValueError(f"at most {MAX_PARAMETERS} parameters, got {len(self.parameters)}")
        clash = set(self.parameters) & set(self.overrides)
        if clash:
            raise ValueError(f"{sorted(clash)} are both estimated and fixed in `overrides`")
        return self

    @property
    def holdout_steps(self) -> int | None:
        """Steps of the held-out runs: ``steps`` or the last step a held-out window needs (None: the
        base scenario's steps, when neither says more)."""
        ends = [
            st.window[1]
            for m in self.holdout
            for st in (m.statistic(), m.denominator)
            if st is not None and st.window is not None
        ]
        if not ends:
            return self.steps
        return max(ends + ([self.steps] if self.steps is not None else []))

    @property
    def names(self) -> list[str]:
        """The parameter paths in file order."""
        return list(self.parameters)

    def start_point(self, base: Any) -> dict[str, Any]:
        """The start values: each parameter's ``start``, else the base scenario's value clipped into
        the bounds."""
        out = {}
        for path, p in self.parameters.items():
            value = p.start if p.start is not None else _scenario_value(base, path)
            lo, hi = p.bounds
            v = float(min(max(float(value), lo), hi)) if value is not None else 0.5 * (lo + hi)
            out[path] = round(v) if p.integer else v
        return out

    def identity(self) -> dict[str, Any]:
        """The part a calibration directory is bound to (everything but free text and paths)."""
        d = json.loads(
            self.model_dump_json(
                exclude={"description", "not_matched", "scenario", "holdout", "abc"}
            )
        )
        d.pop("moments_file", None)
        for m in d["moments"]:
            for key in ("source", "units", "note", "year"):
                m.pop(key, None)
        d["search"].pop("sweep_points", None)
        d["search"].pop("sweep_span", None)
        return d

    def fingerprint(self) -> str:
        """Stable sha256 of :meth:`identity` (the resume guard)."""
        blob = json.dumps(self.identity(), sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(blob.encode()).hexdigest()


def _scenario_value(scen: Any, path: str) -> Any:
    """The number at dotted ``path`` of the scenario, or None (missing, or not a number)."""
    from agglomeration.scenario import value_at

    cur = value_at(scen, path)
    return cur if isinstance(cur, int | float) and not isinstance(cur, bool) else None


# ------------------------------------------------------------------------------------------------
# reading
# ------------------------------------------------------------------------------------------------
def _pydantic_error(
    exc: ValidationError, file: str, prefix: str = "", labels: Any = None
) -> InputError:
    err = exc.errors()[0]
    loc = list(err.get("loc", ()))
    if labels and len(loc) >= 2 and loc[0] == "moments" and isinstance(loc[1], int):
        loc[1] = labels(loc[1])
    field = ".".join(f'"{p}"' if isinstance(p, str) and "." in p else str(p) for p in loc)
    field = f"{prefix}{field}" if field else prefix.rstrip(".") or None
    if err["type"] == "extra_forbidden":
        msg = "unknown key"
    elif err["type"] == "missing":
        msg = "missing (required)"
    else:
        msg = err["msg"].removeprefix("Value error, ")
        if "input" in err and loc and not isinstance(err["input"], dict):
            msg += f" (got {shorten(repr(err['input']), 120)})"
    return InputError(msg, file=file, field=field)


def _read_toml(path: Path) -> dict[str, Any]:
    from agglomeration.scenario import MAX_TOML_BYTES, check_nesting

    file = str(path)
    try:
        if path.is_file() and path.stat().st_size > MAX_TOML_BYTES:
            raise InputError(
                f"expected a targets file of at most {MAX_TOML_BYTES:,} bytes", file=file
            )
        raw = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise InputError("targets file not found", file=file) from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"not valid TOML: {exc}", file=file) from None
    except (OSError, UnicodeDecodeError, RuntimeError, RecursionError) as exc:
        raise InputError(f"cannot read the file: {describe_os_error(exc)}", file=file) from None
    check_nesting(raw, file)
    return raw


_CSV_LISTS = ("region", "region_type", "sector")


def _csv_moments(path: Path) -> list[dict[str, Any]]:
    """Moments from a CSV (one row each; columns as the TOML keys, ``window`` as ``t0;t1``,
    denominator fields prefixed ``denominator_``); empty cells are absent keys."""
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError("moments file not found", file=file, field="moments_file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the file: {describe_os_error(exc)}", file=file) from None
    rows = []
    reader = csv.DictReader(text.splitlines())
    for i, row in enumerate(reader, start=csv_line(0)):
        extra = [c for c in row.get(None) or [] if str(c).strip()]
        if extra:  # cells beyond the header: a shifted row, not data to drop
            raise InputError(
                f"{len(reader.fieldnames or []) + len(row[None])} cells, the header has "
                f"{len(reader.fieldnames or [])} (extra: {extra[:3]}); quote cells that contain "
                "a comma",
                file=file,
                field=f"line {i}",
            )
        rec: dict[str, Any] = {}
        den: dict[str, Any] = {}
        for key, cell in row.items():
            if key is None or cell is None or not str(cell).strip():
                continue
            key, cell = key.strip(), str(cell).strip()
            target = den if key.startswith("denominator_") else rec
            k = key.removeprefix("denominator_")
            try:
                target[k] = _csv_value(k, cell)
            except ValueError as exc:
                raise InputError(str(exc), file=file, field=f"line {i}: {key}") from None
        if den:
            rec["denominator"] = den
        rec["_line"] = i
        rows.append(rec)
    return rows


def _csv_value(key: str, cell: str) -> Any:
    if key in ("observed", "se", "weight", "scale"):
        try:
            return float(cell)
        except ValueError:
            raise ValueError(f"expected a number, got {cell!r}") from None
    if key == "window":
        parts = [p.strip() for p in cell.split(";")]
        if len(parts) != 2 or not all(p.lstrip("-").isdigit() for p in parts):
            raise ValueError(f"expected 't0;t1' (two step numbers), got {cell!r}")
        return [int(p) for p in parts]
    if key == "year":
        return int(cell) if cell.isdigit() else cell
    return cell


def load_targets(path: str | Path, *, check_model: bool = True) -> Targets:
    """Read and validate a targets file; every check that needs no model run, before any run.

    ``check_model`` also resolves the base scenario with the overrides and every parameter at both
    bounds, builds the world (region and sector names of the selectors) and evaluates ``function``
    moments on the initial state of one model.  Raises :class:`InputError` naming file and field.
    """
    path = Path(path)
    file = str(path)
    raw = _read_toml(path)
    csv_rows: list[dict[str, Any]] = []
    mfile = raw.get("moments_file")
    if isinstance(mfile, str):
        csv_path = (path.parent / mfile).resolve()
        csv_rows = _csv_moments(csv_path)
    toml_moments = raw.get("moments", [])
    if not isinstance(toml_moments, list):
        raise InputError("expected an array of tables [[moments]]", file=file, field="moments")
    if not isinstance(raw.get("holdout", []), list):
        raise InputError("expected an array of tables [[holdout]]", file=file, field="holdout")
    n_toml = len(toml_moments)
    lines = [r.pop("_line") for r in csv_rows]

    def label(i: int) -> str:
        items = [*toml_moments, *csv_rows]
        name = items[i].get("name") if i < len(items) and isinstance(items[i], dict) else None
        where = str(name) if isinstance(name, str) else str(i)
        return where if i < n_toml else f"{where} ({mfile} line {lines[i - n_toml]})"

    data = {**raw, "moments": [*toml_moments, *csv_rows]}
    scen = data.get("scenario")
    if isinstance(scen, str):
        p = Path(scen).expanduser()
        data["scenario"] = str(p if p.is_absolute() else (path.parent / p).resolve())
    for key in ("source_path", "origins"):
        if key in raw:  # set by this reader: a file's own value would be silently replaced
            raise InputError(
                "unknown key (set by the reader, not by a targets file)", file=file, field=key
            )
    try:
        origins = {
            str(r.get("name")): f"{mfile} line {line}"
            for r, line in zip(csv_rows, lines, strict=True)
        }
        targets = Targets.model_validate(
            {**data, "source_path": str(path.resolve()), "origins": origins}
        )
    except ValidationError as exc:
        raise _pydantic_error(exc, file, labels=label) from None
    if not targets.moments:
        raise InputError(
            "no moments to match ([[moments]] or moments_file)", file=file, field="moments"
        )
    if len(targets.moments) > MAX_MOMENTS:
        raise InputError(
            f"at most {MAX_MOMENTS} moments, got {len(targets.moments)}", file=file, field="moments"
        )
    seen: set[str] = set()
    for kind, items in (("moments", targets.moments), ("holdout", targets.holdout)):
        for m in items:
            if m.name in seen:
                raise InputError(
                    f"moment name {m.name!r} is used twice", file=file, field=f"{kind}.{m.name}"
                )
            seen.add(m.name)
    if not targets.scenario.is_file():
        raise InputError(
            f"base scenario file not found: {targets.scenario}", file=file, field="scenario"
        )
    if check_model:
        check_against_model(targets)
    return targets


# ------------------------------------------------------------------------------------------------
# checks against the scenario schema, the world and the metric registry
# ------------------------------------------------------------------------------------------------
def check_against_model(targets: Targets) -> Any:
    """Scenario paths, bounds, metric names, selectors and functions checked on the base scenario;
    returns the base scenario with the fixed overrides applied."""
    from agglomeration.experiment.execute import base_scenario, resolve_model_class
    from agglomeration.world import build_world

    file = str(targets.source_path or "")
    base = base_scenario(str(targets.scenario))
    try:
        fixed = base.with_overrides(targets.overrides) if targets.overrides else base
    except InputError as exc:
        raise InputError(
            exc.message, file=file, field=f"overrides.{exc.field or ''}".rstrip(".")
        ) from None
    _check_parameters(targets, fixed, file)
    world = build_world(fixed)
    model_ref = targets.model or "agglomeration.model:AgglomerationModel"
    try:
        cls = resolve_model_class(model_ref)
    except InputError as exc:
        raise InputError(exc.message, file=file, field="model") from None
    model = cls(fixed, replicate_seed=0)
    series_cols = set(model.series_frame().columns) - {"step"}
    headline = set(model.headline_metrics())
    steps = int(targets.steps or fixed.steps)
    horizon = int(targets.holdout_steps or fixed.steps)
    checked = [("moments", m, steps) for m in targets.moments]
    checked += [("holdout", m, max(steps, horizon)) for m in targets.holdout]
    for kind, m, last in checked:
        where = f"{kind}.{m.name}"
        if m.name in targets.origins:
            where += f" ({targets.origins[m.name]})"
        _check_statistic(m.statistic(), where, file, world, series_cols, headline, last)
        if m.denominator is not None:
            _check_statistic(
                m.denominator, f"{where}.denominator", file, world, series_cols, headline, last
            )
    reporters = {**_function_refs(targets), **_function_refs(targets, holdout=True)}
    if reporters:
        from agglomeration.experiment.reporters import check_reporters

        try:
            check_reporters(reporters, model, file)
        except InputError as exc:
            name = (exc.field or "").removeprefix("reporters.calib_").removesuffix("__den")
            kind = "holdout" if name in {m.name for m in targets.holdout} else "moments"
            raise InputError(exc.message, file=file, field=f"{kind}.{name}.function") from None
    return fixed


def _check_parameters(targets: Targets, fixed: Any, file: str) -> None:
    """Every parameter is a numeric path of the scenario schema, valid at both bounds."""
    for path, par in targets.parameters.items():
        where = f'parameters."{path}"'
        for value in par.bounds:
            v: Any = round(value) if par.integer else float(value)
            try:
                fixed.with_overrides({path: v})
            except InputError as exc:
                if "unknown key" in exc.message:  # not a path of the scenario schema
                    raise InputError(
                        f"not a scenario parameter: {exc.message}", file=file, field=where
                    ) from None
                raise InputError(
                    f"not a valid scenario parameter at its bound {v}: {exc.message}",
                    file=file,
                    field=f"{where}.bounds",
                ) from None
        first: Any = round(par.bounds[0]) if par.integer else float(par.bounds[0])
        if _scenario_value(fixed.with_overrides({path: first}), path) is None:
            raise InputError(
                "not a numeric scenario parameter (the scenario schema has no number there)",
                file=file,
                field=where,
            )


def _function_refs(targets: Targets, holdout: bool = False) -> dict[str, str]:
    """Reporter column -> ``module:function`` of the fitted moments (or of the held-out ones)."""
    out = {}
    for m in targets.holdout if holdout else targets.moments:
        if m.function:
            out[m.reporter] = m.function
        if m.denominator is not None and m.denominator.function:
            out[f"{m.reporter}__den"] = m.denominator.function
    return out


def _check_statistic(
    st: Statistic,
    where: str,
    file: str,
    world: Any,
    series_cols: set[str],
    headline: set[str],
    steps: int,
) -> None:
    from agglomeration.metrics.registry import REGISTRY

    if st.metric is not None:
        known = sorted(set(REGISTRY) | headline | series_cols)
        if st.metric not in known:
            close = difflib.get_close_matches(st.metric, known, n=1)
            hint = (
                f"; did you mean {close[0]!r}?" if close else f"; known metrics: {', '.join(known)}"
            )
            raise InputError(
                f"unknown metric {st.metric!r}{hint}", file=file, field=f"{where}.metric"
            )
        if st.selected and st.metric not in REGION_METRICS:
            raise InputError(
                f"region/sector selectors apply to {', '.join(REGION_METRICS)} (the region x sector "
                f"table), not to {st.metric!r}",
                file=file,
                field=f"{where}.metric",
            )
        if st.window is not None and st.metric not in series_cols:
            raise InputError(
                f"{st.metric!r} is only known at the end of a run (not a series metric): drop `window`",
                file=file,
                field=f"{where}.window",
            )
        if st.window is None and not st.selected and st.metric not in headline:
            raise InputError(
                f"{st.metric!r} is a per-step series metric: give `window = [t0, t1]` and `aggregate`",
                file=file,
                field=f"{where}.window",
            )
    if st.window is not None and st.window[1] > steps:
        raise InputError(
            f"window ends at step {st.window[1]} but runs have {steps} steps",
            file=file,
            field=f"{where}.window",
        )
    checks = (
        ("region", [str(r) for r in world.region_ids]),  # plain str: a hint shows 'x', not np.str_
        ("region_type", sorted({str(t) for t in world.region_type})),
        ("sector", [str(s) for s in world.sector_ids]),
    )
    for key, valid in checks:
        for value in getattr(st, key) or ():
            if value not in valid:
                close = difflib.get_close_matches(value, valid, n=1)
                hint = (
                    f"; did you mean {close[0]!r}?"
                    if close
                    else f"; expected one of {', '.join(valid)}"
                )
                raise InputError(
                    f"unknown {key.replace('_', ' ')} {value!r}{hint}",
                    file=file,
                    field=f"{where}.{key}",
                )
