"""Rewrite the generated blocks of docs/*.md (step order, parameter tables, levers) from the code.

python scripts/generate_docs.py          # rewrite
python scripts/generate_docs.py --check  # exit 1 when a document is stale (what the test checks)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from agglomeration import reference_docs

ROOT = Path(__file__).resolve().parents[1]


def documents() -> list[Path]:
    """The Markdown files with generated blocks."""
    return sorted(p for p in (ROOT / "docs").glob("*.md") if "<!-- generated: " in p.read_text())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report stale documents")
    args = parser.parse_args()
    if args.check:
        stale = reference_docs.stale(documents())
        for p in stale:
            print(f"stale: {p.relative_to(ROOT)} (run python scripts/generate_docs.py)")
        return 1 if stale else 0
    for p in reference_docs.write(documents()):
        print(f"wrote {p.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
