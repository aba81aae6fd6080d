"""Interactive dashboard (extra ``viz``): explore one scenario step by step, or browse a finished batch.

Two pages, served by ``agglomeration dashboard`` (see :mod:`agglomeration.commands.dashboard`):

- **Explorer** (``agglomeration dashboard SCENARIO``): sliders for the main levers (delegation level per
  region type, per-region delegation as ``ID=value`` text, reform replication rate [1/step], information
  sharing [-], rail / river tariff multipliers [-], customs-time multiplier [-]), a seed and steps-per-click input,
  Step / Play / Pause / Reset buttons; a map of the regions (lon/lat, WGS84 degrees) with firms by sector
  and the inter-regional supplier flows (line width = value shipped, CNY m per step); live plots of the
  number of firms, the local sourcing share, chain coverage and a clustering index; a region x sector
  location-quotient table.
- **Results** (``agglomeration dashboard --results DIR``): the variants of a finished batch (runs, failed
  runs), the comparison table of :func:`agglomeration.experiment.compare.compare` against the baseline and
  its forest plot, for a metric and a step the user picks (final metrics by default).

Why plain Solara components and matplotlib figures rather than Mesa's ``SolaraViz``: (1) SolaraViz rebuilds
the model as ``Model(**params)`` from flat slider values, but a lever here is a *dotted scenario path*
(``policy.delegation.connected``, a logistics tariff) applied with ``Scenario.with_overrides`` and validated
by the scenario schema, and invalid input must give a visible message instead of an exception; (2) the map
is not a Mesa grid/space (``make_space_component`` needs ``model.grid``/``model.space``); (3) SolaraViz is
marked experimental and differs between mesa 3.3 (needs ``ipyvuetify<3``) and 3.5, while the components
used here (``solara.SliderFloat``, ``Button``, ``FigureMatplotlib``, ``DataFrame``) are the same with
ipyvuetify 1.x and 3.x, so the page behaves identically on both mesa versions.

The non-UI part (:class:`Lever`, :func:`lever_overrides`, :func:`parse_region_delegation`,
:class:`ExplorerSession`, the figure builders) imports neither solara nor ipywidgets, so it is testable and
reusable without the extra. The Solara components are defined only when solara is importable.

Configuration when served: environment variables ``AGGLOMERATION_DASHBOARD_SCENARIO`` (scenario path),
``AGGLOMERATION_DASHBOARD_RESULTS`` (result store directory) and ``AGGLOMERATION_DASHBOARD_SEED``
(replicate seed), set by the ``dashboard`` command; :func:`Page` reads them.
"""

from __future__ import annotations

import math
import os
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # the server renders figures to PNG; never open a window

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from agglomeration import levers
from agglomeration.errors import InputError
from agglomeration.region_types import LABELS

ENV_SCENARIO = "AGGLOMERATION_DASHBOARD_SCENARIO"
ENV_RESULTS = "AGGLOMERATION_DASHBOARD_RESULTS"
ENV_SEED = "AGGLOMERATION_DASHBOARD_SEED"

#: Most steps one click of "Step" may ask for (keeps the page responsive).
MAX_STEPS_PER_CLICK = 400
#: Resolution of the live figures [dots per inch]; low enough to redraw a step in about a second.
FIGURE_DPI = 90
#: Width of the explorer's map [inches]; its div reserves this width so the live plots never cover it.
MAP_WIDTH_IN = 6.4
#: Pause between two steps while "Play" is on [s].
PLAY_INTERVAL_S = 0.3


# ----------------------------------------------------------------------------------------------- levers
@dataclass(frozen=True)
class Lever:
    """One slider of the explorer, made from a lever declaration (:mod:`agglomeration.levers`).

    ``key`` is the dotted scenario path the value is written to (``Scenario.with_overrides``); ``paths``
    lists it (a lever whose field is absent from the scenario is shown disabled with a note, never
    silently ignored).  The slider range (``min``, ``max``, ``step``) lies within the lever's bounds.
    """

    key: str
    label: str
    paths: tuple[str, ...]
    min: float
    max: float
    step: float
    unit: str
    default: float
    help: str = ""


def controls() -> tuple[Lever, ...]:
    """The explorer's sliders: every declared lever with a slider (one per slider key of a per-key
    lever, e.g. delegation of the FTZ areas, of the connected areas and of other regions)."""
    out = []
    for lever in levers.declared():
        if lever.slider is None:
            continue
        lo, hi, step = lever.slider
        for key in lever.slider_keys if lever.per_key else (None,):
            path = lever.path if key is None else f"{lever.table}.{key}"
            label = lever.label if key is None else f"{lever.label}, {LABELS.get(key, key)}"
            out.append(
                Lever(
                    path, label, (path,), lo, hi, step, lever.unit, lever.default, lever.description
                )
            )
    return tuple(out)


def _get_path(tree: Mapping[str, Any], path: str) -> tuple[bool, Any]:
    """Look up a dotted path in a nested mapping; (found, value)."""
    node: Any = tree
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return False, None
        node = node[part]
    return True, node


def _parent_exists(tree: Mapping[str, Any], path: str) -> bool:
    """True when every component but the last exists and the parent is a mapping (a dict field such as
    ``policy.delegation`` accepts new keys)."""
    parent, _, _ = path.rpartition(".")
    found, node = _get_path(tree, parent) if parent else (True, tree)
    return found and isinstance(node, Mapping)


def resolve_levers(
    scenario_tree: Mapping[str, Any], world: Any | None = None
) -> dict[str, tuple[str | None, float]]:
    """For each lever: the scenario path it writes to (None = not in this scenario's schema) and its
    initial value (the scenario's value; for per-type delegation the mean initial delegation of the
    regions of that type in ``world``; else the lever's default)."""
    out: dict[str, tuple[str | None, float]] = {}
    for lever in controls():
        chosen: str | None = None
        value = lever.default
        for path in lever.paths:
            found, v = _get_path(scenario_tree, path)
            if found and isinstance(v, int | float) and not isinstance(v, bool):
                chosen, value = path, float(v)
                break
            parent = path.rpartition(".")[0]
            if not found and parent.count(".") >= 1 and _parent_exists(scenario_tree, path):
                # a key of a dict-valued field (policy.delegation, a per-mode mapping) not set yet
                chosen = path
                rtype = path.rsplit(".", 1)[1]
                if (
                    parent == "policy.delegation"
                    and world is not None
                    and hasattr(world, "region_type")
                ):
                    mask = np.asarray(world.region_type) == rtype
                    if mask.any():
                        value = float(np.mean(np.asarray(world.delegation, dtype=float)[mask]))
                break
        out[lever.key] = (chosen, float(np.clip(value, lever.min, lever.max)))
    return out


def parse_region_delegation(text: str, region_ids: Sequence[str]) -> dict[str, float]:
    """Parse per-region delegation levels typed as ``"WZ=0.8, LJ=0.9"`` (comma, semicolon or newline
    separated) into ``{"policy.delegation.WZ": 0.8, ...}``.

    Raises :class:`InputError` (field ``policy.delegation.<id>``) for unknown region ids (with a
    suggestion), values that are not numbers in [0, 1], and malformed items.
    """
    import difflib

    out: dict[str, float] = {}
    known = [str(r) for r in region_ids]
    for raw in re.split(r"[,;\n]", text or ""):
        item = raw.strip()
        if not item:
            continue
        if "=" not in item:
            raise InputError(
                f"expected ID=value (e.g. WZ=0.8), got {item!r}", field="policy.delegation"
            )
        rid, _, val = (s.strip() for s in item.partition("="))
        if rid not in known:
            near = difflib.get_close_matches(rid, known, n=1, cutoff=0.5)
            hint = f"; did you mean {near[0]!r}?" if near else f"; known ids: {', '.join(known)}"
            raise InputError(f"unknown region id {rid!r}{hint}", field=f"policy.delegation.{rid}")
        try:
            x = float(val)
        except ValueError:
            raise InputError(
                f"expected a number in [0, 1], got {val!r}", field=f"policy.delegation.{rid}"
            ) from None
        if not (math.isfinite(x) and 0.0 <= x <= 1.0):
            raise InputError(
                f"expected a number in [0, 1], got {val}", field=f"policy.delegation.{rid}"
            )
        out[f"policy.delegation.{rid}"] = x
    return out


def parse_int(text: str, field: str, low: int, high: int) -> int:
    """Parse an integer typed in a field; :class:`InputError` naming ``field`` when it is not an integer
    in [low, high]."""
    try:
        value = int(str(text).strip())
    except ValueError:
        raise InputError(
            f"expected an integer in [{low}, {high}], got {text!r}", field=field
        ) from None
    if not low <= value <= high:
        raise InputError(f"expected an integer in [{low}, {high}], got {value}", field=field)
    return value


def snap_to_step(lever: Lever, x: float) -> float:
    """``x`` rounded to the slider grid ``lever.min + k * lever.step`` (within [min, max]), as the browser
    snaps a slider value that is not on its grid (e.g. a data mean of 0.325 with step 0.05 -> 0.3)."""
    if not (lever.step > 0 and math.isfinite(x)):
        return float(x)
    k = round((float(x) - lever.min) / lever.step)
    snapped = min(max(lever.min + k * lever.step, lever.min), lever.max)
    return round(snapped, 12)


def lever_overrides(
    values: Mapping[str, float],
    resolved: Mapping[str, tuple[str | None, float]],
) -> dict[str, float]:
    """Dotted scenario overrides for the levers the user moved away from their initial value.

    Untouched levers are left out on purpose: writing the per-type mean delegation back would flatten the
    per-region delegation levels of the data. A value equal to the initial value *or to the initial value
    snapped to the slider's step* (what the browser shows for a start that is off the grid) counts as
    untouched, so a rebuild for another reason (seed, Reset, per-region text) never overwrites the data's
    per-region delegation with a snapped slider value."""
    out: dict[str, float] = {}
    by_key = {lever.key: lever for lever in controls()}
    for key, value in values.items():
        if key not in by_key:
            raise InputError(f"unknown lever {key!r}", field=key)
        path, initial = resolved.get(key, (None, by_key[key].default))
        lever = by_key[key]
        x = float(value)
        if not (math.isfinite(x) and lever.min <= x <= lever.max):
            raise InputError(
                f"expected a number in [{lever.min}, {lever.max}] {lever.unit}, got {value}",
                field=path or key,
            )
        if path is None or any(
            math.isclose(x, start, rel_tol=0, abs_tol=1e-9)
            for start in (initial, snap_to_step(lever, initial))
        ):
            continue
        out[path] = x
    return out


# ----------------------------------------------------------------------------------------------- session
class ExplorerSession:
    """The explorer's state without any UI: a base scenario, the current model, its levers and seed.

    ``model_factory(scenario, replicate_seed)`` builds the model (default
    :class:`agglomeration.model.AgglomerationModel`); the default scenario loader is
    :func:`agglomeration.scenario.load_scenario`. Every user-facing failure is an :class:`InputError`.
    """

    def __init__(
        self,
        scenario: Any,
        seed: int | None = None,
        *,
        model_factory: Callable[..., Any] | None = None,
    ) -> None:
        if isinstance(scenario, str | Path):
            from agglomeration.scenario import load_scenario

            scenario = load_scenario(scenario)
        self.base = scenario
        if model_factory is None:
            from agglomeration.model import AgglomerationModel

            model_factory = AgglomerationModel
        self._factory = model_factory
        self._lock = threading.Lock()  # Play steps from a worker thread; Reset rebuilds from the UI
        self.seed = seed
        self.overrides: dict[str, float] = {}
        self.model = self._factory(self.base, replicate_seed=seed)
        self.tree = _scenario_tree(self.base)
        self.resolved = resolve_levers(self.tree, getattr(self.model, "world", None))

    @property
    def region_ids(self) -> list[str]:
        """Region ids of the current world."""
        return [str(r) for r in np.asarray(self.model.world.region_ids)]

    def initial_values(self) -> dict[str, float]:
        """Lever key -> initial slider value, snapped to the slider's step (the browser would snap an
        off-grid start anyway; :func:`lever_overrides` treats the snapped start as untouched)."""
        by_key = {lever.key: lever for lever in controls()}
        return {
            k: snap_to_step(by_key[k], v) if k in by_key else v
            for k, (_, v) in self.resolved.items()
        }

    def rebuild(
        self,
        values: Mapping[str, float],
        region_delegation: str = "",
        seed: int | None = None,
    ) -> Any:
        """Build a fresh model (step 0) with the lever values, per-region delegation text and seed.

        The current model is replaced only when the new one builds; on :class:`InputError` the old model
        stays, so the page keeps showing a consistent state next to the error message."""
        overrides = lever_overrides(values, self.resolved)
        overrides.update(parse_region_delegation(region_delegation, self.region_ids))
        scenario = self.base.with_overrides(overrides) if overrides else self.base
        model = self._factory(scenario, replicate_seed=seed)
        with self._lock:
            self.model, self.overrides, self.seed = model, overrides, seed
        return model

    def step(self, n: int = 1) -> int:
        """Advance the model by ``n`` steps (stops early when ``model.running`` turns False); returns the
        number of steps done."""
        done = 0
        with self._lock:
            for _ in range(int(n)):
                if not getattr(self.model, "running", True):
                    break
                self.model.step()
                done += 1
        return done

    @property
    def steps_done(self) -> int:
        """Steps simulated so far in the current model."""
        frame = self.model.series_frame()
        if len(frame) and "step" in frame:
            return int(frame["step"].max())
        return int(getattr(self.model, "steps", 0))


def _scenario_tree(scenario: Any) -> dict[str, Any]:
    if hasattr(scenario, "to_dict"):
        return scenario.to_dict()
    if hasattr(scenario, "model_dump"):
        return scenario.model_dump()
    return {}


# ----------------------------------------------------------------------------------------------- figures
def series_figure(frame: pd.DataFrame, width: float = 7.0, aspect: float = 0.62) -> Figure:
    """The live series of the explorer: the four :data:`agglomeration.report.figures.DASHBOARD_PANELS`
    (firms, local sourcing share, chain coverage, locational Gini) drawn by the shared
    :func:`agglomeration.report.figures.timeseries_figure`; ``width`` in inches, height = ``aspect`` x
    width."""
    from agglomeration.report.figures import DASHBOARD_PANELS, timeseries_figure

    data = frame.assign(run_id="run") if "run_id" not in frame.columns else frame
    return timeseries_figure(
        data,
        panels=DASHBOARD_PANELS,
        ncols=2,
        width=width,
        row_height=width * aspect / 2,
        drop_constant=False,
    )


def lq_table(region_table: pd.DataFrame) -> pd.DataFrame:
    """Region x sector location quotients (rows regions, columns sectors, 2 decimals); a region without
    firms keeps its row (quotients undefined, shown empty)."""
    if region_table.empty:
        return pd.DataFrame()
    wide = region_table.pivot(index="region", columns="sector", values="lq")
    wide = wide.round(2)
    wide.columns = [str(c) for c in wide.columns]
    return wide.reset_index()


def map_figure(model: Any, width: float = 7.0) -> Figure:
    """Map of the live model drawn by the shared :func:`agglomeration.report.maps.region_map`: a pie of
    firms by sector at each region's lon/lat (area proportional to firms), the logistics links by mode
    (roads thinned) and the supplier flows between regions (line width proportional to value)."""
    from agglomeration.report.maps import region_map
    from agglomeration.report.style import STYLE

    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(width, width * 0.72))
        ax = fig.subplots()
        # fixed margins (legends on the right): constrained layout costs ~1 s per redraw
        fig.subplots_adjust(left=0.1, right=0.74, bottom=0.22, top=0.92)
        region_map(model, ax=ax)
    return fig


def logistics_panel(
    model: Any, width: float = 7.0
) -> tuple[Figure | None, pd.DataFrame, pd.DataFrame]:
    """The live model's logistics outcomes (``logistics_outcomes.logistics_table``, what ``run`` writes to
    logistics.csv): the route-option shares by destination (figure; None for a hand-built world), a
    region table (export share [%], market access [CNY m per step], delivered cost [% of value]) and a
    corridor table (value [CNY m per step], kt and TEU per step)."""
    from agglomeration.logistics_outcomes import logistics_table
    from agglomeration.report.logistics_figures import (
        destination_labels,
        mode_share_figure,
        option_styles,
    )
    from agglomeration.report.style import STYLE

    table = logistics_table(model.state, model.world)
    names, colours = option_styles(model.world)
    with matplotlib.rc_context(STYLE):
        fig = mode_share_figure(
            table,
            destinations=destination_labels(model.world),
            options=names,
            colours=colours,
            title=f"Route-option shares by destination, step {model.t}",
        )
    if fig is not None:
        fig.set_size_inches(width, width * 0.42)
    regions = table[table["kind"] == "region"].pivot(index="key", columns="metric", values="value")
    regions = regions.reindex([str(r) for r in model.world.region_ids])
    regions = pd.DataFrame(
        {
            "region": regions.index,
            "export share (%)": (100 * regions["export_share"]).round(1).to_numpy(),
            "market access (CNY m/step)": regions["market_access"].round(0).to_numpy(),
            "delivered cost (% of value)": (100 * regions["delivered_cost"]).round(2).to_numpy(),
        }
    )
    corridors = table[table["kind"] == "corridor"].pivot(
        index="key", columns="metric", values="value"
    )
    corridors = corridors.reindex(columns=["value", "kt", "teu"]).round(1)
    corridors.columns = ["value (CNY m/step)", "kt/step", "TEU/step"]
    return fig, regions, corridors.reset_index(names="corridor")


# ----------------------------------------------------------------------------------------------- results
@dataclass
class ResultsData:
    """A finished batch loaded for browsing: the store's frames and the metric / step choices."""

    directory: Path
    frames: Mapping[str, pd.DataFrame]
    metrics: list[str]
    steps: list[int]
    variants: pd.DataFrame
    parameters: list[str]


def load_results_data(directory: str | Path) -> ResultsData:
    """Open a result store (:func:`agglomeration.experiment.store.load_results`) and list its variants,
    metrics and recorded steps.

    Raises :class:`InputError` (a ``ResultStoreError``) naming the directory when it is not a result
    store or holds no runs."""
    from agglomeration.experiment import compare as cmp
    from agglomeration.experiment.store import load_results

    path = Path(directory)
    results = load_results(path)
    runs = results["runs"]
    if runs.empty or "variant" not in runs:
        raise InputError("no runs in this result store", file=str(path), field="parts/runs")
    params = cmp.parameter_columns_from_manifest(getattr(results, "manifest", None))
    good = cmp.successful_runs(runs)
    metrics = cmp.metric_columns(good, params)
    series = results["series"]
    steps = sorted(int(x) for x in pd.unique(series["step"])) if "step" in series else []
    ok = runs.index.isin(good.index)
    variants = (
        pd.DataFrame({"variant": runs["variant"].astype(str), "ok": ok})
        .groupby("variant", sort=False)
        .agg(runs=("ok", "size"), succeeded=("ok", "sum"))
        .reset_index()
    )
    variants["failed"] = variants["runs"] - variants["succeeded"]
    return ResultsData(path, results, metrics, steps, variants, params)


def compare_results(data: ResultsData, metric: str, step: int | None) -> Any:
    """The :class:`~agglomeration.experiment.compare.Comparison` of every variant against the baseline
    for one metric, on the final metrics (``step=None``) or on the series at ``step``."""
    from agglomeration.experiment.compare import compare

    if step is None:
        return compare(
            data.frames["runs"],
            metrics=[metric],
            parameter_columns=data.parameters,
            source=str(data.directory),
        )
    return compare(
        data.frames["runs"],
        metrics=[metric],
        series=data.frames["series"],
        at_step=step,
        parameter_columns=data.parameters,
        source=str(data.directory),
    )


def forest_png(comparison: Any) -> bytes:
    """PNG bytes of the forest plot of a comparison, drawn by the shared
    :func:`agglomeration.report.figures.forest_figure` (each metric on its own axis and unit)."""
    import io

    from agglomeration.report.figures import forest_figure

    fig = forest_figure(comparison.comparisons, registry=comparison.registry)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return buffer.getvalue()


# ----------------------------------------------------------------------------------------------- UI
try:  # the components below need the `viz` extra
    import solara
    import solara.lab
except ImportError:  # pragma: no cover - exercised when the extra is missing
    solara = None  # type: ignore[assignment]


if solara is not None:

    def _error_box(message: str | None) -> None:
        if message:
            solara.Error(message, classes=["agg-error"])

    @solara.component
    def Explorer(scenario: Any, seed: int | None = None, model_factory: Any = None) -> Any:
        """Explorer page of one scenario (see the module docstring)."""
        session_box = solara.use_reactive(None)
        load_error = solara.use_reactive(None)

        def make_session():
            try:
                session_box.set(ExplorerSession(scenario, seed, model_factory=model_factory))
            except InputError as exc:
                load_error.set(str(exc))

        solara.use_memo(make_session, dependencies=[])  # build once per page
        if session_box.value is None:
            with solara.Column(classes=["agg-explorer"]):
                solara.Markdown("## Scenario explorer")
                _error_box(load_error.value or "loading the scenario ...")
            return
        return ExplorerView(session_box.value)

    @solara.component
    def ExplorerView(session: ExplorerSession) -> Any:
        """Controls, map, live plots and LQ table of an :class:`ExplorerSession`."""
        values = solara.use_reactive(session.initial_values())
        region_text = solara.use_reactive("")
        seed_text = solara.use_reactive("" if session.seed is None else str(session.seed))
        steps_text = solara.use_reactive("1")
        error = solara.use_reactive(None)
        version = solara.use_reactive(0)
        playing = solara.use_reactive(False)

        def bump() -> None:
            version.set(version.value + 1)

        def rebuild(new_values=None, text=None, seed_str=None) -> None:
            vals = dict(values.value if new_values is None else new_values)
            try:
                s = seed_str if seed_str is not None else seed_text.value
                seed = parse_int(s, "seed", 0, 2**63 - 1) if s.strip() else None
                session.rebuild(vals, region_text.value if text is None else text, seed)
                error.set(None)
            except InputError as exc:
                error.set(str(exc))
                playing.set(False)
            bump()

        def set_lever(key: str, x: float) -> None:
            new = {**values.value, key: float(x)}
            values.set(new)
            rebuild(new_values=new)

        def on_region_text(text: str) -> None:
            region_text.set(text)
            rebuild(text=text)

        def on_seed(text: str) -> None:
            seed_text.set(text)
            rebuild(seed_str=text)

        def do_step() -> None:
            try:
                n = parse_int(steps_text.value, "steps per click", 1, MAX_STEPS_PER_CLICK)
            except InputError as exc:
                error.set(str(exc))
                playing.set(False)
                return
            error.set(None)
            if session.step(n) == 0:
                playing.set(False)
            bump()

        def do_reset() -> None:
            playing.set(False)
            rebuild()

        def play_loop() -> None:
            # runs in a worker thread while "Play" is on; ExplorerSession serialises step/rebuild
            import time

            while playing.value:
                time.sleep(PLAY_INTERVAL_S)
                if playing.value:
                    do_step()

        solara.lab.use_task(play_loop, dependencies=[playing.value], prefer_threaded=True)

        model = session.model
        # figures are redrawn only when the model or its state changed (not on every keystroke)
        figure_key = [id(model), version.value]
        map_fig = solara.use_memo(
            lambda: map_figure(model, width=MAP_WIDTH_IN), dependencies=figure_key
        )
        series_fig = solara.use_memo(
            lambda: series_figure(model.series_frame(), width=4.4, aspect=0.95),
            dependencies=figure_key,
        )
        logistics = solara.use_memo(
            lambda: logistics_panel(model, width=MAP_WIDTH_IN + 4.4), dependencies=figure_key
        )
        with solara.Columns([1, 3], classes=["agg-explorer"], style={"padding": "8px 12px"}):
            with solara.Column(classes=["agg-controls"], style={"padding-left": "8px"}):
                solara.Markdown(f"### {getattr(session.base, 'name', 'Scenario')}")
                solara.Text(f"step {session.steps_done}", classes=["agg-step"])
                with solara.Row():
                    solara.Button(
                        "Step", on_click=do_step, color="primary", classes=["agg-step-btn"]
                    )
                    solara.Button(
                        "Pause" if playing.value else "Play",
                        on_click=lambda: playing.set(not playing.value),
                        classes=["agg-play-btn"],
                    )
                    solara.Button("Reset", on_click=do_reset, classes=["agg-reset-btn"])
                solara.InputText(
                    "steps per click",
                    value=steps_text.value,
                    on_value=steps_text.set,
                )
                solara.InputText(
                    "seed (empty = scenario seed)", value=seed_text.value, on_value=on_seed
                )
                _error_box(error.value)
                for lever in controls():
                    path, _ = session.resolved[lever.key]
                    # the label sits above its slider: a long label beside it would leave the slider
                    # no width (it could not be dragged in a narrow controls column)
                    with solara.Column(
                        gap="0px", classes=["agg-lever"], style={"min-width": "180px"}
                    ):
                        solara.Text(
                            f"{lever.label}: {values.value[lever.key]:g}"
                            + (f" {lever.unit}" if lever.unit not in ("", "-") else ""),
                            classes=["agg-lever-label"],
                        )
                        solara.SliderFloat(
                            "",
                            value=values.value[lever.key],
                            min=lever.min,
                            max=lever.max,
                            step=lever.step,
                            on_value=lambda x, k=lever.key: set_lever(k, x),
                            disabled=path is None,
                        )
                        if path is None:
                            solara.Text(f"({lever.label}: not a field of this scenario)")
                solara.InputText(
                    "per-region delegation, e.g. WZ=0.8, LJ=0.9",
                    value=region_text.value,
                    on_value=on_region_text,
                )
                if session.overrides:
                    solara.Text(
                        "applied: "
                        + ", ".join(f"{k}={v:g}" for k, v in sorted(session.overrides.items()))
                    )
            with solara.Column():
                with solara.Row(style={"flex-wrap": "wrap", "align-items": "flex-start"}):
                    # figures keep their natural width (a shrunk flex item would crop the legend)
                    with solara.Div(
                        classes=["agg-map"],
                        style={
                            "flex": "0 0 auto",
                            "min-width": f"{int(MAP_WIDTH_IN * FIGURE_DPI) + 8}px",
                        },
                    ):
                        solara.FigureMatplotlib(
                            map_fig,
                            dependencies=figure_key,
                            format="png",
                            dpi=FIGURE_DPI,
                            bbox_inches="tight",
                        )
                    with solara.Div(classes=["agg-series"], style={"flex": "0 0 auto"}):
                        solara.FigureMatplotlib(
                            series_fig,
                            dependencies=figure_key,
                            format="png",
                            dpi=FIGURE_DPI,
                            bbox_inches="tight",
                        )
                solara.Markdown("#### Location quotients (region x sector)")
                solara.DataFrame(lq_table(model.region_table()), items_per_page=20)
                solara.Markdown("#### Logistics (route options, market access, corridors)")
                if logistics[0] is not None:
                    with solara.Div(classes=["agg-logistics"]):
                        solara.FigureMatplotlib(
                            logistics[0],
                            dependencies=figure_key,
                            format="png",
                            dpi=FIGURE_DPI,
                            bbox_inches="tight",
                        )
                solara.DataFrame(logistics[1], items_per_page=20)
                if not logistics[2].empty:
                    solara.DataFrame(logistics[2], items_per_page=10)

    @solara.component
    def ResultsView(directory: str | Path) -> Any:
        """Browse a finished batch: variants, comparison table and forest plot for a metric and step."""
        data, set_data = solara.use_state(None)
        load_error, set_load_error = solara.use_state(None)

        def load():
            try:
                set_data(load_results_data(directory))
            except InputError as exc:
                set_load_error(str(exc))

        solara.use_memo(load, dependencies=[str(directory)])
        metric = solara.use_reactive(None)
        step_label = solara.use_reactive("final")
        with solara.Column(classes=["agg-results"]):
            solara.Markdown(f"## Batch results: `{directory}`")
            if data is None:
                _error_box(load_error or "loading ...")
                return
            if not data.metrics:
                _error_box(f"{directory}: no numeric metric columns in the runs table")
                return
            chosen = metric.value if metric.value in data.metrics else data.metrics[0]
            step_choices = ["final", *[str(s) for s in data.steps]]
            with solara.Row():
                solara.Select("metric", values=data.metrics, value=chosen, on_value=metric.set)
                solara.Select(
                    "step", values=step_choices, value=step_label.value, on_value=step_label.set
                )
            solara.Markdown("#### Variants")
            solara.DataFrame(data.variants)
            try:
                step = None if step_label.value == "final" else int(step_label.value)
                comparison = compare_results(data, chosen, step)
            except InputError as exc:
                _error_box(str(exc))
                return
            solara.Markdown(f"#### Comparison against `{comparison.baseline}`")
            solara.DataFrame(comparison.wide())
            for note in comparison.notes:
                solara.Warning(note)
            if comparison.comparisons.empty:
                solara.Warning("only one variant: nothing to compare against the baseline")
            else:
                with solara.Div(classes=["agg-forest"]):
                    solara.Image(forest_png(comparison), width="700px")

    @solara.component
    def Page() -> Any:
        """Entry page for ``solara run``: configured by the environment (see the module docstring)."""
        scenario = os.environ.get(ENV_SCENARIO) or None
        results = os.environ.get(ENV_RESULTS) or None
        seed_env = os.environ.get(ENV_SEED) or ""
        seed = int(seed_env) if seed_env.strip().lstrip("-").isdigit() else None
        solara.Title("agglomeration dashboard")
        if scenario and results:
            with solara.lab.Tabs():
                with solara.lab.Tab("Explorer"):
                    Explorer(scenario, seed)
                with solara.lab.Tab("Batch results"):
                    ResultsView(results)
        elif results:
            ResultsView(results)
        elif scenario:
            Explorer(scenario, seed)
        else:
            _error_box(
                "no scenario and no results directory given (agglomeration dashboard --help)"
            )
