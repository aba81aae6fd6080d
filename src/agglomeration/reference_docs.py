"""The parts of the documentation generated from the code's declarations.

Blocks between ``<!-- generated: NAME -->`` and ``<!-- end generated -->`` in the Markdown files under
docs/ are written by :func:`render` from:

- ``schedule``: the model's step order (:data:`agglomeration.model.SCHEDULE`);
- ``parameters``: one table per parameter section, from the pydantic fields (default, valid range,
  meaning with unit, source);
- ``levers``: the lever declarations (:mod:`agglomeration.levers`).

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


def parameter_table(model: type[BaseModel]) -> str:
    """A Markdown table of a parameter section's fields (nested sections are listed apart)."""
    rows = [
        "| field | default | range | meaning [unit] | source / reason |",
        "|---|---|---|---|---|",
    ]
    for name, info in model.model_fields.items():
        if isinstance(info.annotation, type) and issubclass(info.annotation, BaseModel):
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
    )

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
    ):
        out += [f"#### `[{name}]`", "", parameter_table(klass), ""]
    return "\n".join(out).rstrip() + "\n"


def schedule_list() -> str:
    """The step order: one numbered line per submodel of the default schedule."""
    from agglomeration.model import SCHEDULE
    from agglomeration.submodel import describe

    return describe(SCHEDULE) + "\n"


def lever_table() -> str:
    from agglomeration.levers import markdown_table

    return markdown_table()


GENERATORS: dict[str, Callable[[], str]] = {
    "schedule": schedule_list,
    "parameters": parameter_tables,
    "levers": lever_table,
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
