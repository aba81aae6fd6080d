"""The generated parts of the docs (step order, parameter tables, levers) match the code, and no
document or docstring refers to files outside the repository."""

from __future__ import annotations

import re
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
    """A number has its unit in brackets ([-] when it has none); a switch, a choice or a list is told by
    its default; every row names a source or reason beyond the bare word "estimate"."""
    text = reference_docs.parameter_tables()
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    assert len(rows) > 100
    for line in rows:
        cells = [c.strip() for c in line.strip("|").split("|")]
        assert cells[3], f"no meaning: {line}"
        number = re.fullmatch(r"`-?[0-9.e+-]+`", cells[1]) is not None
        assert not number or re.search(r"\[[^\]]+\]", cells[3]), f"a number without a unit: {line}"
        assert cells[4] and cells[4] != "estimate", f"no source: {line}"


def test_the_odd_step_order_lists_every_submodel_in_schedule_order():
    text = (ROOT / "docs" / "ODD.md").read_text()
    positions = [text.index(f"`{sub.name}` (") for sub in SCHEDULE]
    assert positions == sorted(positions)


def test_an_unknown_generated_block_is_an_error():
    with pytest.raises(ValueError, match="unknown generated block"):
        reference_docs.render("<!-- generated: nope -->\n<!-- end generated -->")


# Documents that live outside the repository (the project's working notes).  The patterns are spelled
# so that this file does not match them itself.
_OUTSIDE = re.compile(
    r"\bDESIG[N]\b|shared/referenc[e]|\.\./share[d]|science\.md|economics-evidenc[e]"
    r"|calibration-target[s]|facts\.md|mesa-note[s]|experiment-toolin[g]"
)
_SCANNED = ("src", "docs", "scenarios", "experiments", "scripts", "benchmarks", "tests")
_TEXT = {".py", ".md", ".toml", ".csv", ".txt", ".cfg", ".yaml", ".yml"}


def test_no_document_or_docstring_refers_to_files_outside_the_repository():
    files = [ROOT / "README.md", ROOT / "CHANGELOG.md"]
    for top in _SCANNED:
        files += [
            p
            for p in (ROOT / top).rglob("*")
            if p.suffix in _TEXT and not any(".egg-info" in part for part in p.parts)
        ]
    hits = [
        f"{p.relative_to(ROOT)}:{n}: {line.strip()}"
        for p in files
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if _OUTSIDE.search(line)
    ]
    listing = "\n".join(hits)
    assert not hits, f"copy the facts with their primary sources into docs/ instead:\n{listing}"
