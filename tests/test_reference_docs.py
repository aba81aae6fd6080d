"""The generated parts of the docs (step order, parameter tables, levers) match the code."""

from __future__ import annotations

from pathlib import Path

import pytest

from agglomeration import reference_docs
from agglomeration.model import SCHEDULE

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted(p for p in (ROOT / "docs").glob("*.md") if "<!-- generated: " in p.read_text())


def test_the_documents_with_generated_blocks_are_current():
    assert {p.name for p in DOCS} >= {"ODD.md", "LEVERS.md"}
    stale = reference_docs.stale(DOCS)
    assert not stale, f"stale: {[p.name for p in stale]}; run python scripts/generate_docs.py"


def test_every_parameter_has_a_meaning_with_unit_or_choice_and_a_source():
    text = reference_docs.parameter_tables()
    for line in text.splitlines():
        if line.startswith("| `"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            assert cells[3], f"no meaning: {line}"
            assert (cells[4] and cells[4] != "estimate") or "estimate" in cells[4], line


def test_the_odd_step_order_lists_every_submodel_in_schedule_order():
    text = (ROOT / "docs" / "ODD.md").read_text()
    positions = [text.index(f"`{sub.name}` (") for sub in SCHEDULE]
    assert positions == sorted(positions)


def test_an_unknown_generated_block_is_an_error():
    with pytest.raises(ValueError, match="unknown generated block"):
        reference_docs.render("<!-- generated: nope -->\n<!-- end generated -->")
