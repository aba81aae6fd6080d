"""The parts of the documentation generated from the code's declarations.

Blocks between ``<!-- generated: NAME -->`` and ``<!-- end generated -->`` in the Markdown files under
docs/ are written by :func:`render` from:

- ``schedule``: the model's step order (:data:`agglomeration.model.SCHEDULE`);
- ``parameters``: one table per parameter section, from the pydantic fields (default, valid range,
  meaning with unit, source);
- ``levers``: the lever declarations (:mod:`agglomeration.levers`);
- ``outputs``: the columns of a run's tables (:mod:`agglomeration.observe`) and the metrics of its
  series and final metrics (:data:`agglomeration.metrics.registry.REGISTRY`, the logistics families).

``python scripts/generate_docs.py`` rewrites them; a test fails when a committed document is stale.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel

_BLOCK = re.compile(r"(<!-- generated: (\w+) -->\n)(.*?)(<!-- end generated -->)", re.S)


def _bounds(info: Any) -> str:
    parts = []
    for m in info.metadata:
        for attr, op in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
            value = getattr(m, attr, None)
            if value is not None:
                parts.append(f"{op} {value:g}")
    return ", ".join(parts) or "-"


def _default(info: Any) -> str:
    if info.default_factory is not None:
        return f"`{info.default_factory()!r}`"
    return f"`{info.default!r}`"


def _cell(text: str | None) -> str:
    return (text or "").replace("|", "\\|").replace("\n", " ")


def parameter_table(model: type[BaseModel], numbers_only: bool = False) -> str:
    """A Markdown table of a parameter section's fields (nested sections are listed apart);
    ``numbers_only``: only its int and float fields (a section that also names files and edits)."""
    rows = [
        "| field | default | range | meaning [unit] | source / reason |",
        "|---|---|---|---|---|",
    ]
    for name, info in model.model_fields.items():
        if isinstance(info.annotation, type) and issubclass(info.annotation, BaseModel):
            continue
        if numbers_only and info.annotation not in (int, float):
            continue
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        rows.append(
            f"| `{name}` | {_default(info)} | {_bounds(info)} | {_cell(info.description)} | "
            f"{_cell(extra.get('source', 'estimate'))} |"
        )
    return "\n".join(rows)


def parameter_tables() -> str:
    """Every parameter section of a scenario, in file order, one table each."""
    from agglomeration.model import SCHEDULE
    from agglomeration.parameters import (
        BehaviourParams,
        FirmsParams,
        OutputParams,
        PolicyParams,
        SolverParams,
        StopParams,
    )
    from agglomeration.scenario import GrowthSection, LogisticsSection, _UserScenario

    out = ["#### `[firms]`", "", parameter_table(FirmsParams), "", "#### `[behaviour]`", ""]
    out += [parameter_table(BehaviourParams), ""]
    sections = BehaviourParams.section_models()
    order = {s.name: i for i, s in enumerate(SCHEDULE)}
    for name in sorted(sections, key=lambda n: order.get(n, len(order))):
        doc = (sections[name].__doc__ or "").strip().splitlines()[0]
        doc = doc.removeprefix(f"``[behaviour.{name}]``: ")
        doc = doc[:1].upper() + doc[1:]
        out += [f"#### `[behaviour.{name}]`", "", doc, "", parameter_table(sections[name]), ""]
    for name, klass in (
        ("solver", SolverParams),
        ("policy", PolicyParams),
        ("output", OutputParams),
        ("stop", StopParams),
    ):
        out += [f"#### `[{name}]`", "", parameter_table(klass), ""]
    out += [
        "#### Top level, `[growth]` and `[logistics]` (numbers)",
        "",
        "The data files these sections name are in scenarios/README.md, the logistics levers "
        "(`tariff_multiplier`, `add_links`, ...) in docs/LEVERS.md.",
        "",
        parameter_table(_UserScenario, numbers_only=True),
        parameter_table(GrowthSection, numbers_only=True).split("\n", 2)[2],
        parameter_table(LogisticsSection, numbers_only=True).split("\n", 2)[2],
        "",
    ]
    return "\n".join(out).rstrip() + "\n"


def schedule_list() -> str:
    """The step order: one numbered line per submodel of the default schedule."""
    from agglomeration.model import SCHEDULE
    from agglomeration.submodel import describe

    return describe(SCHEDULE) + "\n"


def lever_table() -> str:
    from agglomeration.levers import markdown_table

    return markdown_table()


def _column_table(columns: dict[str, str]) -> str:
    rows = ["| column | meaning [unit] |", "|---|---|"]
    rows += [f"| `{name}` | {_cell(text)} |" for name, text in columns.items()]
    return "\n".join(rows)


def output_tables() -> str:
    """The output files' columns and the metrics of the series and the final metrics."""
    from agglomeration import logistics_outcomes, observe
    from agglomeration.metrics.registry import REGISTRY

    def span(low: float, high: float) -> str:
        inf = float("inf")
        if low == -inf and high == inf:
            return "-"
        if high == inf:
            return f">= {low:g}"
        if low == -inf:
            return f"<= {high:g}"
        return f"[{low:g}, {high:g}]"

    def readable(pattern: str) -> str:  # the family's regex as a name template
        return re.sub(
            r"\(\?P<(\w+)>([^)]*)\)",
            lambda m: (
                f"<{m.group(2).replace('|', ' or ')}>"
                if m.group(1) == "basis"
                else f"<{m.group(1)}>"
            ),
            pattern,
        )

    metric_rows = ["| metric | label | unit | range | meaning |", "|---|---|---|---|---|"]
    for name in REGISTRY:
        i = REGISTRY.info(name)
        rng = span(i.low, i.high)
        metric_rows.append(
            f"| `{name}` | {_cell(i.label)} | {_cell(i.unit) or '-'} | {rng} | "
            f"{_cell(i.description)} |"
        )
    family_rows = ["| name pattern | unit | meaning |", "|---|---|---|"]
    for pattern, _label, unit, _kind, what in logistics_outcomes.METRIC_FAMILIES:
        family_rows.append(f"| `{readable(pattern)}` | {_cell(unit) or '-'} | {_cell(what)} |")
    parts = [
        observe.TIMING,
        "### firms.parquet (`parts/firms/` in a batch, with a `step` column)",
        _column_table(observe.FIRM_COLUMNS),
        "### links.parquet (`parts/links/`): one row per filled supplier slot of a live buyer",
        _column_table(observe.LINK_COLUMNS),
        "### regions.csv (`parts/regions/`): one row per region and sector",
        _column_table(observe.REGION_COLUMNS),
        "### timeseries.csv (`parts/series/`) and the final metrics (summary.json `metrics`, "
        "`parts/runs/`)",
        "One row per recorded step (`step`, then the metrics); the final metrics are the last row "
        "plus the metrics computed for the end of the run only (`ftz_leads_chains_share`, "
        "`firms_relative_to_initial`, `zone_firm_share`, `connected_firm_share` and the logistics "
        "metrics by region, sector and route option and the corridors' value and TEU; the series "
        "carries the aggregate logistics shares and the corridors' kt).  Shares are stored in [0, 1] (reports "
        "show percent); `compare --at-step` derives the two zone shares from the series' counts.",
        "\n".join(metric_rows),
        "Logistics metrics, named after the data's ids (regions, sectors, destination groups, "
        "corridors, route options); logistics.csv holds those by route option, corridor, region and "
        "sector in long form (below; the aggregate `export_share` and `goods_*_share` are in the "
        "series only):",
        "\n".join(family_rows),
        "### logistics.csv: one row per number",
        _column_table(logistics_outcomes.TABLE_COLUMNS),
        "### summary.json and the bookkeeping columns",
        "`summary.json` holds `scenario`, `description`, `source` (the scenario file), "
        "`fingerprint` (of the resolved scenario), `seed` (the replicate seed), `scenario_seed`, "
        "`model_seed`, `reference_overrides` (null, or the overrides of the scenario whose settled "
        "start the run continued: `agglomeration run --lever`), `overrides` (every override of the "
        "scenario file the run applied: the `--set` and `--lever` values, and `output.figures = "
        "false` from `--no-figures`), `steps`, `steps_run`, "
        "`wall_time_s`, `versions`, `metrics` (the final metrics above) and `run_id`.  Every part of a batch "
        "store has a `run_id` column; `parts/runs` adds the run's variant, design point, replicate, "
        "seeds, status and timing (docs/EXPERIMENTS.md section 3).",
    ]
    return "\n\n".join(parts) + "\n"


GENERATORS: dict[str, Callable[[], str]] = {
    "schedule": schedule_list,
    "parameters": parameter_tables,
    "levers": lever_table,
    "outputs": output_tables,
}


def render(text: str) -> str:
    """``text`` with every generated block rewritten (unknown block names are a ``ValueError``)."""

    def block(m: re.Match) -> str:
        name = m.group(2)
        if name not in GENERATORS:
            raise ValueError(f"unknown generated block {name!r}; known: {', '.join(GENERATORS)}")
        return m.group(1) + GENERATORS[name]() + m.group(4)

    return _BLOCK.sub(block, text)


def stale(paths: Iterable[Path]) -> list[Path]:
    """The documents whose generated blocks differ from what the code declares."""
    return [p for p in paths if render(p.read_text()) != p.read_text()]


def write(paths: Iterable[Path]) -> list[Path]:
    """Rewrite the generated blocks of ``paths``; return the files that changed."""
    changed = []
    for p in paths:
        old = p.read_text()
        new = render(old)
        if new != old:
            p.write_text(new)
            changed.append(p)
    return changed
