"""Every command the docs quote, by script or CLI command, with the page and line that quotes it.

Run from the repository root::

    python scripts/doc_commands.py                  # every quoted script command, grouped by script
    python scripts/doc_commands.py --cli            # the `agglomeration ...` commands too
    python scripts/doc_commands.py --script entry_elasticity   # one script's quotes

Why: the numbers in docs/*.md come from the commands quoted next to them.  When a change alters the
model's results, this is the list of what to rerun and which paragraphs to update (docs/ARCHITECTURE.md,
"When results change").  tests/test_doc_commands.py uses the same extraction to check that every quoted
command still runs as quoted (options exist, scenario keys are fields).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: the pages whose quoted commands are collected
PAGES = sorted(
    [ROOT / "README.md", *(ROOT / "docs").glob("*.md"), *(ROOT / "scenarios").rglob("*.md")]
)
SCRIPT_PREFIXES = ("python scripts/", "python benchmarks/")


def quoted_commands(
    prefixes: tuple[str, ...], pages: list[Path] | None = None
) -> list[tuple[str, str]]:
    """(``page:line``, command) for every command starting with one of ``prefixes`` (a prefix ending
    in ``/`` matches a path, any other a whole word) that a page quotes as inline code or on a line of
    a fenced block (continuation lines joined, ``$`` prompts and trailing ``# comments`` dropped)."""
    found = []
    starts = tuple(p if p.endswith("/") else p + " " for p in prefixes)
    for page in PAGES if pages is None else pages:
        text = page.read_text(encoding="utf-8")
        for m in re.finditer(r"```[a-z]*\n(.*?)```", text, re.S):
            first = text.count("\n", 0, m.start()) + 2
            for i, line in enumerate(m.group(1).replace("\\\n", " ").splitlines()):
                line = re.sub(r"\s+#.*$", "", line.strip().removeprefix("$ "))
                if line.startswith(starts):
                    found.append((f"{page.name}:{first + i}", " ".join(line.split())))
        # inline code outside the fenced blocks (blanked, so that line numbers hold)
        prose = re.sub(r"```.*?```", lambda b: re.sub(r"[^\n]", " ", b.group(0)), text, flags=re.S)
        for m in re.finditer(r"`([^`]+)`", prose):
            command = " ".join(m.group(1).split())
            if command.startswith(starts):
                found.append((f"{page.name}:{text.count(chr(10), 0, m.start()) + 1}", command))
    return found


def _program(command: str) -> str:
    """What a command runs: ``scripts/x.py`` or ``agglomeration run``."""
    words = command.split()
    return words[1] if words[0] == "python" else " ".join(words[:2])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cli", action="store_true", help="also list the agglomeration commands")
    ap.add_argument("--script", help="only the commands of this script (name without .py)")
    args = ap.parse_args(argv)
    prefixes = SCRIPT_PREFIXES + (("agglomeration",) if args.cli else ())
    by_program: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for where, command in quoted_commands(prefixes):
        by_program[_program(command)].append((where, command))
    if args.script:
        by_program = {
            k: v for k, v in by_program.items() if Path(k.split()[-1]).stem == args.script
        }
        if not by_program:
            print(f"error: no quoted command runs {args.script!r}", file=sys.stderr)
            return 2
    total = sum(len(v) for v in by_program.values())
    print(f"{total} quoted commands of {len(by_program)} programs in {len(PAGES)} pages")
    for program in sorted(by_program):
        quotes = by_program[program]
        print(f"\n{program} ({len(quotes)})")
        for where, command in quotes:
            print(f"  {where:<22} {command}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
