"""Experiment files: the schema of ``experiments/*.toml`` and :func:`load_experiment`.

An experiment is a base scenario, a set of named variants (scenario overrides), an optional sampling
design over scenario parameters, a number of replicates, a master seed, a run length and the outputs to
keep.  It is validated completely *before* any run starts (unknown keys are errors with a "did you mean"
suggestion), and it is frozen: command-line changes (``--replicates``, ``--steps``, ``--set``) produce a
new :class:`Experiment` through :func:`load_experiment` overrides.

File format (documented with examples in docs/EXPERIMENTS.md)::

    name = "delegation_sweep"              # safe identifier
    description = "..."
    scenario = "../scenarios/baseline.toml" # relative to this file
    model = "mypkg.models:MyModel"          # optional: runs *installed code*, a subclass of
                                            # agglomeration.model.AgglomerationModel
    replicates = 20                          # seeds per variant x design point
    seed = 20260501                          # master seed (numpy SeedSequence entropy)
    steps = 40                               # optional; default = the scenario's `steps`
    seeding = "common"                       # "common" random numbers across variants, or "independent"
    start = "auto"                           # "shared" start for lever variants (auto), or "own"
    [overrides]                              # applied to every variant (dotted scenario paths)
    "behaviour.relocation.probability" = 0.02
    [[variants]]
    name = "baseline"
    [[variants]]
    name = "wz_high"
    overrides = { "policy.delegation.WZ" = 0.9 }
    [design]                                 # optional
    kind = "sobol"                           # grid | lhs | sobol | morris
    samples = 64                             # lhs: points; sobol: base N (Saltelli); morris: trajectories
    [design.parameters."behaviour.sourcing.search_probability"]
    bounds = [0.02, 0.3]                     # grid uses `values = [...]` instead
    role = "uncertainty"                     # or "lever" (a policy choice); for scenario discovery
    [reporters.chain_firms]                  # optional: a user-defined run metric (installed code)
    function = "mypkg.reporters:chain_firms" # called with the run's tables, returns a number
    label = "Firms in complete chains"
    unit = "firms"
    kind = "count"                           # count | share | money | index
    range = [0, nan]                         # valid range; nan = unbounded on that side
    [output]
    series_every = 1
    regions = true
    links = false
    firms_at = [0, -1]                     # -1 = the last step
    metrics = ["firms", "local_sourcing_share"]   # headline metrics kept in `runs` (default: all)
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from agglomeration import levers
from agglomeration.errors import InputError, describe_os_error, shorten
from agglomeration.parameters import numbers_validator
from agglomeration.scenario import MAX_STEPS, Scenario

__all__ = [
    "DEFAULT_MODEL",
    "DesignParameter",
    "DesignSpec",
    "Experiment",
    "OutputSpec",
    "ReporterSpec",
    "Variant",
    "flatten_overrides",
    "load_experiment",
]

#: The model class run when an experiment names none.
DEFAULT_MODEL = "agglomeration.model:AgglomerationModel"

_IDENT = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]{0,63}$")
_MODEL_REF = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*:[A-Za-z_][\w]*$")
_METRIC_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


def _check_identifier(value: str, what: str) -> str:
    """Names become file and column labels: letters, digits, ``_`` and ``-`` only (no path separators)."""
    if not _IDENT.fullmatch(value):  # fullmatch: `$` would accept a trailing newline
        raise ValueError(
            f"{what} must start with a letter and contain only letters, digits, '_' or '-' "
            f"(at most 64 characters), got {value!r}"
        )
    return value


def _lever_problem(path: str, value: Any) -> None:
    """ValueError when ``path`` is a lever (agglomeration.levers) and ``value`` is outside its bounds."""
    hit = levers.lever_for(path)
    problem = hit[0].problem(value) if hit is not None else None
    if problem is not None:
        raise ValueError(f"{path}: {problem}")


def flatten_overrides(mapping: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Flatten nested TOML tables into dotted keys.

    ``{"policy": {"delegation": {"WZ": 0.8}}}`` and ``{"policy.delegation.WZ": 0.8}`` both become
    ``{"policy.delegation.WZ": 0.8}``, the form ``Scenario.with_overrides`` takes; deprecated names
    become the current ones (with a warning), so layers that spell one field differently (the
    experiment's overrides, a variant, a design point) merge instead of clashing.  A path set twice
    (a dotted key and a table, or two names of one field) is a ValueError.
    """
    from agglomeration.scenario import migrate_key

    out: dict[str, Any] = {}
    for key, value in mapping.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        flat = (
            flatten_overrides(value, path) if isinstance(value, dict) and value else {path: value}
        )
        for p, v in flat.items():
            p = p if prefix else migrate_key(p)
            if p in out:  # a dotted key and a table that both set it: one would be dropped silently
                raise ValueError(
                    f"{p!r} is set twice (as a dotted key and inside a table, or under two names); "
                    "set it once"
                )
            out[p] = v
    return out


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)

    _numbers = numbers_validator()  # replicates = "3" or true is an error, not 3 or 1


class Variant(_Strict):
    """A named scenario: the base scenario plus ``overrides`` (dotted scenario paths -> values)."""

    name: str = Field(description="safe identifier; used in tables and file names")
    description: str = ""
    overrides: dict[str, Any] = Field(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        return _check_identifier(v, "variant name")

    @field_validator("overrides", mode="before")
    @classmethod
    def _flatten(cls, v: Any) -> Any:
        return flatten_overrides(v) if isinstance(v, dict) else v


class DesignParameter(_Strict):
    """One sampled scenario parameter.

    ``values`` (grid designs) lists the levels; ``bounds`` (lhs/sobol/morris) gives, for the
    ``uniform`` distribution, ``[low, high]`` in the parameter's own unit; for ``normal`` ``[mean, sd]``;
    for ``lognormal`` ``[mean, sd]`` of the log.  ``integer`` rounds sampled values to integers.
    ``role`` declares the parameter a *lever* (a policy choice, like the variants) or an *uncertainty*
    (scenario discovery and robustness analyse the levers across the uncertainties); it does not change
    the runs, so it is not part of the resume guard.
    """

    values: list[Any] | None = None
    bounds: tuple[float, float] | None = None
    distribution: Literal["uniform", "normal", "lognormal"] = "uniform"
    integer: bool = False
    role: Literal["lever", "uncertainty"] | None = Field(
        None,
        description="'lever' (a policy choice) or 'uncertainty' (a condition the policy cannot "
        "choose); unset counts as an uncertainty. Used by `agglomeration discover`",
    )

    @model_validator(mode="after")
    def _check(self) -> DesignParameter:
        if self.values is not None and self.bounds is not None:
            raise ValueError("give either `values` (grid) or `bounds` (sampled), not both")
        if self.values is not None and len(self.values) == 0:
            raise ValueError("`values` must list at least one value")
        if self.bounds is not None:
            lo, hi = self.bounds
            if self.distribution == "uniform" and not lo < hi:
                raise ValueError(f"uniform bounds must satisfy low < high, got [{lo}, {hi}]")
            if self.distribution != "uniform" and not hi > 0:
                raise ValueError(f"{self.distribution} bounds are [mean, sd] with sd > 0, got {hi}")
        return self


def _stored(info: ValidationInfo) -> bool:
    """Whether the experiment is rebuilt from a result store's manifest (``reproduce``): the rules
    added after a store was written (sobol powers of 2, distinct grid levels, variants apart from the
    design) apply to new experiment files, not to the runs already made."""
    return bool((info.context or {}).get("stored"))


def _level_key(value: Any) -> str:
    """A grid level as compared for repeats: numbers by value (1 and 1.0 are one level)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return repr(float(value))
    return repr(value)


class DesignSpec(_Strict):
    """Sampling design over scenario parameters (see :mod:`agglomeration.experiment.design`)."""

    kind: Literal["grid", "lhs", "sobol", "morris"]
    parameters: dict[str, DesignParameter]
    samples: int | None = Field(
        None, ge=1, le=10_000_000, description="lhs points / sobol base N / morris trajectories"
    )
    second_order: bool = Field(
        False, description="sobol only: Saltelli sample for second-order indices"
    )
    levels: int = Field(4, ge=2, le=1000, description="morris only: number of grid levels")

    @field_validator("parameters", mode="before")
    @classmethod
    def _current_names(cls, v: Any) -> Any:
        """Deprecated parameter names as the current ones (as the overrides' keys)."""
        from agglomeration.scenario import migrate_key

        return {migrate_key(str(k)): p for k, p in v.items()} if isinstance(v, dict) else v

    @model_validator(mode="after")
    def _check(self, info: ValidationInfo) -> DesignSpec:
        if not self.parameters:
            raise ValueError("a design needs at least one parameter")
        for name, p in self.parameters.items():
            if self.kind == "grid" and p.values is None:
                raise ValueError(f"grid design: parameter {name!r} needs `values = [...]`")
            if (
                self.kind == "grid"
                and not _stored(info)
                and len({_level_key(v) for v in p.values}) < len(p.values)
            ):
                raise ValueError(
                    f"grid design: parameter {name!r} repeats a level in {list(p.values)}; the "
                    "repeated points would run the same scenario (list each level once)"
                )
            if self.kind != "grid" and p.bounds is None:
                raise ValueError(
                    f"{self.kind} design: parameter {name!r} needs `bounds = [low, high]`"
                )
            if self.kind == "morris" and p.distribution != "uniform":
                raise ValueError(f"morris design: parameter {name!r} must be uniform")
            if p.bounds is not None and p.distribution == "uniform":
                for value in p.bounds:  # a sampled range must lie within a lever's bounds
                    _lever_problem(name, value)
                finite = all(math.isfinite(b) for b in p.bounds)
                lo, hi = (math.ceil(p.bounds[0]), math.floor(p.bounds[1])) if finite else (0, 1)
                if p.integer and finite and not _stored(info) and lo >= hi:
                    held = "no integer" if lo > hi else f"one integer only ({lo})"
                    raise ValueError(
                        f"{self.kind} design: integer parameter {name!r} has bounds "
                        f"{list(p.bounds)} that hold {held}: every point would round to the "
                        "same value or outside the bounds (give bounds with two integers or more)"
                    )
        if self.kind != "grid" and self.samples is None:
            raise ValueError(f"{self.kind} design needs `samples`")
        if self.kind == "sobol" and not _stored(info) and self.samples & (self.samples - 1):
            low = 1 << (self.samples.bit_length() - 1)
            raise ValueError(
                f"sobol design: samples {self.samples} is not a power of 2; the Sobol sequence's "
                f"indices converge only at powers of 2 (SALib): use {low} or {2 * low}"
            )
        if self.kind == "grid" and self.samples is not None:
            raise ValueError(
                "grid designs take no `samples` (the grid is the full factorial of `values`)"
            )
        if not _stored(info):  # an option of another kind of design would be ignored
            # values against their defaults (a design written back by to_dict has every key)
            given = {"second_order": self.second_order, "levels": self.levels != 4}
            for option, kind in (("second_order", "sobol"), ("levels", "morris")):
                if given[option] and self.kind != kind:
                    raise ValueError(
                        f"`{option}` is an option of {kind} designs; a {self.kind} design takes none"
                    )
            for name, p in self.parameters.items():
                if self.kind == "grid" and p.distribution != "uniform":
                    raise ValueError(
                        f"grid design: parameter {name!r} takes no `distribution` (its levels are "
                        "its `values`)"
                    )
        return self


class ReporterSpec(_Strict):
    """A user-defined run metric: ``function`` (``"package.module:function"``, installed code) is called
    once at the end of every run with the run's tables (:class:`agglomeration.experiment.reporters.RunTables`:
    ``series``, ``regions``, ``firms``, ``links``, ``metrics``) and returns a number, stored in the runs
    table like a built-in metric.  ``label``, ``unit``, ``kind`` and ``range`` are its metric-registry
    entry (tables and figures label it from them)."""

    function: str = Field(description="'package.module:function' returning a number")
    label: str = Field("", description="readable name (default: from the reporter's name)")
    unit: str = Field("", description="unit of the value, e.g. 'firms' ('' = dimensionless)")
    kind: Literal["count", "share", "money", "index"] = "index"
    range: tuple[float | None, float | None] | None = Field(
        None, description="valid range [low, high]; nan or omitted = unbounded"
    )
    description: str = ""

    @field_validator("function")
    @classmethod
    def _function(cls, v: str) -> str:
        if not _MODEL_REF.fullmatch(v):
            raise ValueError(f"expected 'package.module:function', got {v!r}")
        return v

    @field_validator("range", mode="before")
    @classmethod
    def _range(cls, v: Any) -> Any:
        if isinstance(v, list | tuple):
            return tuple(None if isinstance(x, float) and x != x else x for x in v)
        return v

    @model_validator(mode="after")
    def _check(self) -> ReporterSpec:
        lo, hi = self.range or (None, None)
        if self.kind == "share" and self.range not in (None, (0.0, 1.0), (0, 1)):
            raise ValueError("a share has the range [0, 1]")
        if lo is not None and hi is not None and not lo < hi:
            raise ValueError(f"expected low < high, got [{lo}, {hi}]")
        return self


class OutputSpec(_Strict):
    """What each run writes to the result store."""

    series_every: int = Field(
        1, ge=1, le=MAX_STEPS, description="keep model series every k steps [steps]"
    )
    series: bool = Field(True, description="write the per-step model series")
    regions: bool = Field(True, description="write the final region x sector table")
    links: bool = Field(False, description="write the final supplier links")
    firms_at: tuple[int, ...] = Field(
        (),
        description="steps at which to snapshot the firm table; -1 = the last step, -2 the one before",
    )
    metrics: tuple[str, ...] | None = Field(
        None, description="headline metrics kept in the runs table (default: all)"
    )
    series_metrics: tuple[str, ...] | None = Field(
        None, description="series columns kept (default: all)"
    )

    @field_validator("firms_at")
    @classmethod
    def _steps(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        return tuple(dict.fromkeys(v))

    @model_validator(mode="after")
    def _series_settings_need_series(self, info: ValidationInfo) -> OutputSpec:
        """``series_metrics`` or a ``series_every`` other than 1 with ``series = false`` would be
        ignored (values, not whether the key was written: a stored manifest writes every field)."""
        if not self.series and not _stored(info):
            given = {"series_metrics": self.series_metrics is not None}
            given["series_every"] = self.series_every != 1
            for name, set_ in given.items():
                if set_:
                    raise ValueError(
                        f"{name} is set but series = false writes no series; remove {name} or "
                        "set series = true"
                    )
        return self


class Experiment(_Strict):
    """A validated, immutable experiment (see the module docstring for the file format)."""

    name: str
    description: str = ""
    scenario: Path = Field(description="base scenario file (absolute once loaded)")
    model: str | None = Field(
        None, description="'package.module:Class' subclass of AgglomerationModel"
    )
    replicates: int = Field(1, ge=1, le=1_000_000)
    seed: int = Field(0, ge=0, lt=2**63)
    steps: int | None = Field(None, ge=0, le=MAX_STEPS)
    seeding: Literal["common", "independent"] = "common"
    start: Literal["auto", "shared", "own"] = Field(
        "auto",
        description="where runs start: 'shared' = every run initialises and burns in under the base "
        "scenario with the experiment's overrides (its reference), then switches to its variant, so "
        "variants differ only by what they change; 'own' = each run calibrates its own start; 'auto' = "
        "shared when every variant and design parameter is a policy or logistics lever",
    )
    overrides: dict[str, Any] = Field(default_factory=dict)
    variants: tuple[Variant, ...] = ()
    design: DesignSpec | None = None
    output: OutputSpec = OutputSpec()
    reporters: dict[str, ReporterSpec] = Field(
        default_factory=dict, description="user-defined run metrics (name -> reporter)"
    )
    source_path: Path | None = Field(None, exclude=True, description="the file this was read from")

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        return _check_identifier(v, "experiment name")

    @field_validator("model")
    @classmethod
    def _model(cls, v: str | None) -> str | None:
        if v is not None and not _MODEL_REF.fullmatch(v):
            raise ValueError(f"expected 'package.module:ClassName', got {v!r}")
        return v

    @field_validator("overrides", mode="before")
    @classmethod
    def _flatten(cls, v: Any) -> Any:
        return flatten_overrides(v) if isinstance(v, dict) else v

    @field_validator("reporters")
    @classmethod
    def _reporter_names(cls, v: dict[str, ReporterSpec]) -> dict[str, ReporterSpec]:
        from agglomeration.metrics.registry import BUILTIN

        for name in v:
            if not _METRIC_NAME.fullmatch(name):
                raise ValueError(
                    f"reporter name {name!r}: lower-case letters, digits and '_', starting with a letter"
                )
            if name in BUILTIN:
                raise ValueError(
                    f"reporter name {name!r} is a built-in metric; choose another name"
                )
        return v

    @field_validator("variants")
    @classmethod
    def _unique_variants(cls, v: tuple[Variant, ...]) -> tuple[Variant, ...]:
        seen: set[str] = set()
        for variant in v:
            if variant.name in seen:
                raise ValueError(f"variant name {variant.name!r} is used twice")
            seen.add(variant.name)
        return v

    @model_validator(mode="after")
    def _design_and_variants_apart(self, info: ValidationInfo) -> Experiment:
        """A design parameter that a variant also sets would replace the variant's value at every
        design point without a word: refuse it (the experiment-wide ``overrides`` may set a default
        the design then varies)."""
        if self.design is None or _stored(info):
            return self
        sampled = list(self.design.parameters)
        for variant in self.variants:
            for key in variant.overrides:
                hit = next(
                    (
                        p
                        for p in sampled
                        if p == key or p.startswith(key + ".") or key.startswith(p + ".")
                    ),
                    None,
                )
                if hit is not None:
                    raise ValueError(
                        f"variant {variant.name!r} sets {key!r}, which the design also sets "
                        f"({hit!r}): the design's values would replace the variant's at every point; "
                        "set it in one place"
                    )
        return self

    @property
    def model_ref(self) -> str:
        """The model class reference actually run (``DEFAULT_MODEL`` when none is given)."""
        return self.model or DEFAULT_MODEL

    def all_variants(self) -> tuple[Variant, ...]:
        """The variants to run; an experiment without ``[[variants]]`` has one, named ``base``."""
        return self.variants or (Variant(name="base"),)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready resolved content (paths as strings)."""
        return json.loads(self.model_dump_json())

    def identity(self) -> dict[str, Any]:
        """The part of the experiment a result directory is bound to.

        Everything except what may grow without invalidating finished runs: ``replicates``, the
        design's ``samples`` and grid ``values`` (growth is checked separately: every finished run must
        still be planned), the free-text ``description``, the base scenario's *path* (its content
        is guarded by the scenario fingerprint, so a moved project directory can still be resumed) and
        the parameters' ``role`` (analysis metadata).
        """
        d = self.to_dict()
        if not d.get("reporters"):  # experiments without reporters keep their earlier fingerprint
            d.pop("reporters", None)
        d.pop("replicates", None)
        d.pop("description", None)
        d.pop("scenario", None)
        for v in d.get("variants", []):
            v.pop("description", None)
        if d.get("design"):
            d["design"].pop("samples", None)
            for p in d["design"]["parameters"].values():
                p.pop("values", None)
                p.pop("role", None)  # analysis metadata: does not change the runs
        return d

    def fingerprint(self) -> str:
        """Stable sha256 of :meth:`identity` (the resume guard)."""
        blob = json.dumps(self.identity(), sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(blob.encode()).hexdigest()


# ------------------------------------------------------------------------------------------------
# loading
# ------------------------------------------------------------------------------------------------
#: Experiment fields the reader sets (not keys of an experiment file)
INTERNAL_KEYS = ("source_path",)


def _known_fields(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """Field names valid at error location ``loc`` (for did-you-mean suggestions)."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        fields = getattr(current, "model_fields", None)
        if fields is None or part not in fields:
            return []
        ann = fields[part].annotation
        current = _unwrap(ann)
    fields = getattr(current, "model_fields", None)
    # fields the reader fills itself (the file's own path) are not keys a file may set
    return [f for f in fields if not (fields[f].exclude or f in INTERNAL_KEYS)] if fields else []


def _unwrap(ann: Any) -> Any:
    """The pydantic model inside ``X | None``, ``tuple[X, ...]`` or ``dict[str, X]``."""
    args = getattr(ann, "__args__", None) or ()
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return ann
    for a in reversed(args):
        inner = _unwrap(a)
        if inner is not None:
            return inner
    return None


def _input_error(exc: ValidationError, file: str | None) -> InputError:
    """Turn the first pydantic error into an InputError with file, field path and expectation; an
    unknown key first (a misspelt required key is also reported missing: the typo is the news)."""
    errors = exc.errors()
    err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    loc = tuple(err.get("loc", ()))
    field = ".".join(str(p) for p in loc) or None
    if err["type"] == "extra_forbidden":
        known = _known_fields(Experiment, loc)
        close = difflib.get_close_matches(str(loc[-1]), known, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else f"; valid keys: {', '.join(known)}"
        msg = f"unknown key{hint}"
    else:
        msg = err["msg"].removeprefix("Value error, ")
        # a validator's own message usually names the value already ("..., got 'bad name'")
        named = err["type"] == "value_error" and "got " in msg
        if "input" in err and err["type"] not in ("missing",) and loc and not named:
            msg += f" (got {shorten(repr(err['input']), 120)})"
    return InputError(msg, file=file, field=field)


def _set_dotted(data: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    cur = data
    for p in parts[:-1]:
        nxt = cur.get(p)
        if not isinstance(nxt, dict):
            nxt = {}
            cur[p] = nxt
        cur = nxt
    cur[parts[-1]] = value


def _read_experiment_file(path: Path) -> tuple[dict[str, Any], Path]:
    """The parsed TOML and the resolved path; InputError for anything that cannot be read."""
    from agglomeration.scenario import MAX_TOML_BYTES, check_nesting

    file = str(path)
    try:
        if path.is_file() and path.stat().st_size > MAX_TOML_BYTES:
            raise InputError(
                f"expected an experiment file of at most {MAX_TOML_BYTES:,} bytes", file=file
            )
        raw = tomllib.loads(path.read_text(encoding="utf-8-sig"))
        real = path.resolve()
    except FileNotFoundError:
        raise InputError("experiment file not found", file=file) from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"not valid TOML: {exc}", file=file) from None
    except RecursionError:
        raise InputError("tables or arrays nested too deeply", file=file) from None
    except (OSError, UnicodeDecodeError, RuntimeError) as exc:  # RuntimeError: symlink loop
        raise InputError(f"cannot read the file: {describe_os_error(exc)}", file=file) from None
    except ValueError as exc:  # a NUL byte in the path (InputError is a ValueError: re-raised)
        if isinstance(exc, InputError):
            raise
        raise InputError(f"not a usable file path: {exc}", file=file) from None
    check_nesting(raw, file)
    return raw, real


def load_experiment(path: str | Path, **overrides: Any) -> Experiment:
    """Read and validate an experiment TOML file.

    ``overrides`` change experiment fields after reading, e.g. ``replicates=5``, ``steps=10``,
    ``seed=3``; ``set={"design.samples": 128, "policy.replication_rate": 0.1}`` takes dotted keys:
    a key whose first part is an experiment field (``design``, ``output``, ``seed``, ...) sets that
    field, any other key is a *scenario* override added to ``[overrides]`` (applied to every variant).
    The base ``scenario`` path is resolved relative to the experiment file.  Raises
    :class:`InputError` naming the file and field for anything invalid.
    """
    path = Path(path)
    file = str(path)
    raw, real = _read_experiment_file(path)
    sets = overrides.pop("set", None) or {}
    for key, value in overrides.items():
        if value is None:
            continue
        if key not in Experiment.model_fields or key == "source_path":
            close = difflib.get_close_matches(key, list(Experiment.model_fields), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise InputError(f"unknown experiment override{hint}", field=key)
        raw[key] = value
    for key, value in sets.items():
        head = key.split(".", 1)[0]
        if head in Experiment.model_fields and head not in ("source_path", "overrides"):
            if head == "design" and "." in key and not isinstance(raw.get("design"), dict):
                raise InputError(
                    "the experiment has no [design] table whose field this could change (a "
                    "sampled design needs one, with its `kind` and parameters)",
                    file=file,
                    field=key,
                )
            _set_dotted(raw, key, value)
        else:
            if head == "overrides":
                key = key.split(".", 1)[1]
            raw.setdefault("overrides", {})
            try:
                flat = flatten_overrides(raw["overrides"])
            except ValueError as exc:  # the file's own [overrides] set a path twice
                raise InputError(str(exc), file=file, field="overrides") from None
            raw["overrides"] = {**flat, key: value}

    scen = raw.get("scenario")
    if isinstance(scen, str):
        try:
            p = Path(scen).expanduser()
            raw["scenario"] = str(p if p.is_absolute() else (path.parent / p).resolve())
        except (OSError, RuntimeError, ValueError) as exc:
            raise InputError(
                f"not a usable file path: {describe_os_error(exc)}", file=file, field="scenario"
            ) from None
    scenario_keys = [
        k for k in raw if k in Scenario.model_fields and k not in Experiment.model_fields
    ]
    if "scenario" not in raw and scenario_keys:
        raise InputError(
            f"this looks like a scenario file (it sets `{scenario_keys[0]}` and names no base "
            "`scenario`), not an experiment file: run it with `agglomeration run`, or give `batch` "
            "an experiment file whose `scenario` names it",
            file=file,
            field=scenario_keys[0],
        )
    for key in INTERNAL_KEYS:
        if key in raw:  # set by this reader: a file's own value would be silently replaced
            known = _known_fields(Experiment, (key,))
            raise InputError(f"unknown key; valid keys: {', '.join(known)}", file=file, field=key)
    try:
        exp = Experiment.model_validate({**raw, "source_path": str(real)})
    except ValidationError as exc:
        raise _input_error(exc, file) from None
    try:
        found = exp.scenario.is_file()
    except (OSError, ValueError):
        found = False
    if not found:
        raise InputError(
            f"base scenario file not found: {exp.scenario}", file=file, field="scenario"
        )
    return exp


def experiment_from_dict(
    data: dict[str, Any], base_dir: str | Path = ".", *, stored: bool = False
) -> Experiment:
    """Build an Experiment from a mapping (the Python-API twin of :func:`load_experiment`);
    ``stored``: the mapping is a result store's record of an experiment that already ran, so the
    rules for new experiment files only (:func:`_stored`) are not applied."""
    raw = dict(data)
    scen = raw.get("scenario")
    if isinstance(scen, (str, Path)):
        p = Path(scen).expanduser()
        raw["scenario"] = str(p if p.is_absolute() else (Path(base_dir) / p).resolve())
    try:
        return Experiment.model_validate(raw, context={"stored": stored})
    except ValidationError as exc:
        raise _input_error(exc, None) from None
