"""Regenerate every command output and figure shown in docs/ANALYSIS.md (one command).

    python scripts/make_docs.py            # run the example, rewrite the generated blocks and figures
    python scripts/make_docs.py --check    # run it and fail (exit 1, with a diff) if the doc differs

The example is deliberately small (a few runs of 120 firms over 6 quarters, about half a minute on two
cores) so that tests/test_docs.py can rerun it on every test run: when the model's results change, that
test fails until this script is rerun and the new numbers are committed.  The commands are run exactly
as printed in the doc (through the CLI's own entry point, in a scratch directory that links the
repository's experiments/ and scenarios/), so the doc cannot show a command that does not produce the
output shown.

A generated block in a Markdown file looks like::

    <!-- BEGIN generated: compare -->
    ```console
    $ agglomeration compare ...
    ...output...
    ```
    <!-- END generated: compare -->

Everything between the two markers is replaced.  Output lines that change from run to run (wall-clock
times) are not shown: batch commands are printed without their output.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import io
import os
import re
import shlex
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "ANALYSIS.md"
FIGURES = ROOT / "docs" / "figures" / "analysis"


@dataclass(frozen=True)
class Step:
    """One documented command; ``block`` names its generated block (None: run only)."""

    block: str | None
    command: str
    output: bool = True


SMALL = "--steps 6 --set firms.initial_count=120 --set burn_in=20 --workers 2 --no-progress"
STEPS: tuple[Step, ...] = (
    Step(
        "batch-deleg",
        f"agglomeration batch experiments/delegation_sweep.toml --out results/deleg --replicates 5 {SMALL}",
        output=False,
    ),
    Step(
        "compare",
        "agglomeration compare results/deleg --metrics firms connected_firm_share firms_ftz "
        "mean_chain_coverage --precision 0.05 --out tables/deleg.tex",
    ),
    Step(
        "plot",
        "agglomeration plot results/deleg --out figures/deleg --metrics firms_ftz firms_connected connected_firm_share mean_chain_coverage",
    ),
    Step(
        "batch-grid",
        f"agglomeration batch experiments/delegation_rail_grid.toml --out results/grid --replicates 4 {SMALL}",
        output=False,
    ),
    Step(
        "factorial",
        "agglomeration compare results/grid --factorial --metrics firms_connected connected_firm_share",
    ),
    Step(
        None,
        "agglomeration plot results/grid --out figures/grid --metrics firms_connected connected_firm_share",
    ),
    Step(
        "batch-lhs",
        f"agglomeration batch experiments/uncertainty_lhs.toml --out results/lhs --replicates 1 --set design.samples=24 {SMALL}",
        output=False,
    ),
    Step(
        "discover",
        'agglomeration discover results/lhs --where "import_share < 0.2" --figures figures/lhs',
    ),
    Step(None, "agglomeration plot results/lhs --out figures/lhs --metrics import_share"),
    Step(
        "batch-sobol",
        f"agglomeration batch experiments/sobol_behaviour.toml --out results/sobol --replicates 1 --set design.samples=8 {SMALL}",
        output=False,
    ),
    Step(
        "sensitivity",
        "agglomeration sensitivity results/sobol --metrics connected_firm_share --out tables/sobol.csv",
    ),
    Step(
        None, "agglomeration plot results/sobol --out figures/sobol --metrics connected_firm_share"
    ),
)
#: Figures copied into docs/figures/analysis/ (source in the scratch directory -> name in the doc).
DOC_FIGURES = {
    "figures/deleg/timeseries.png": "timeseries.png",
    "figures/deleg/forest.png": "forest.png",
    "figures/deleg/region_map.png": "region_map.png",
    "figures/grid/timeseries.png": "grid_timeseries.png",
    "figures/lhs/response_import_share.png": "response.png",
    "figures/lhs/discovery.png": "discovery.png",
    "figures/sobol/sensitivity.png": "sensitivity.png",
}
_BLOCK = re.compile(
    r"(<!-- BEGIN generated: (?P<id>[\w-]+) -->\n)(?P<body>.*?)(<!-- END generated: (?P=id) -->)",
    re.S,
)


def run_command(command: str) -> tuple[int, str]:
    """Run an ``agglomeration ...`` command line in this process; (exit code, stdout + stderr)."""
    from agglomeration.cli import main

    argv = shlex.split(command)[1:]
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
        code = main(argv)
    return code, buffer.getvalue()


def _python_snippet(doc: str) -> str:
    match = re.search(r"## \d+\. From Python.*?```python\n(?P<code>.*?)```", doc, re.S)
    if match is None:
        raise SystemExit("docs/ANALYSIS.md: no Python snippet under a '## N. From Python' heading")
    return match.group("code")


def generate(work: Path) -> dict[str, str]:
    """Run every step in ``work``; returns block id -> block body (the fenced console text)."""
    for name in ("experiments", "scenarios"):
        link = work / name
        if not link.exists():
            link.symlink_to(ROOT / name, target_is_directory=True)
    blocks: dict[str, str] = {}
    old = Path.cwd()
    os.chdir(work)
    try:
        for step in STEPS:
            code, text = run_command(step.command)
            if code != 0:
                raise SystemExit(f"`{step.command}` exited with {code}:\n{text}")
            if step.block:
                shown = f"$ {step.command}\n" + (text if step.output else "")
                blocks[step.block] = f"```console\n{shown.rstrip()}\n```\n"
        snippet = _python_snippet(DOC.read_text(encoding="utf-8"))
        with contextlib.redirect_stdout(io.StringIO()):
            exec(
                compile(snippet, "docs/ANALYSIS.md (From Python)", "exec"), {"__name__": "__main__"}
            )
    finally:
        os.chdir(old)
    return blocks


def render(doc: str, blocks: dict[str, str]) -> str:
    """``doc`` with every generated block replaced; an unknown or missing block is an error."""
    seen = set()

    def replace(m: re.Match) -> str:
        if m.group("id") not in blocks:
            raise SystemExit(f"docs/ANALYSIS.md: no generator for block {m.group('id')!r}")
        seen.add(m.group("id"))
        return m.group(1) + blocks[m.group("id")] + m.group(4)

    out = _BLOCK.sub(replace, doc)
    missing = set(blocks) - seen
    if missing:
        raise SystemExit(
            f"docs/ANALYSIS.md: generated blocks missing from the doc: {sorted(missing)}"
        )
    return out


_NUMBER = re.compile(r"[-+]?\d[\d,]*(?:\.\d+)?")


def same_within_rounding(documented: str, regenerated: str) -> bool:
    """Whether two lines differ at most by one unit in the last printed digit of each number.

    Python 3.11 and 3.12 (numpy, scipy and statsmodels versions) agree on the model's results but can
    round an estimate that lies on a rounding boundary differently (-1.25 -> -1.3 or -1.2); a real
    change of the results moves numbers by more than that, and changes many of them."""
    if _NUMBER.sub("#", documented) != _NUMBER.sub("#", regenerated):
        return False
    for a, b in zip(_NUMBER.findall(documented), _NUMBER.findall(regenerated)):
        decimals = len(a.split(".")[1]) if "." in a else 0
        x, y = float(a.replace(",", "")), float(b.replace(",", ""))
        if abs(x - y) > 1.01 * 10.0**-decimals:
            return False
    return True


def check(work: Path) -> list[str]:
    """Regenerate in ``work`` and return the diff lines against docs/ANALYSIS.md (empty: up to date,
    up to last-digit rounding, see :func:`same_within_rounding`)."""
    doc = DOC.read_text(encoding="utf-8")
    new = render(doc, generate(work))
    old_lines, new_lines = doc.splitlines(), new.splitlines()
    if len(old_lines) == len(new_lines) and all(
        a == b or same_within_rounding(a, b) for a, b in zip(old_lines, new_lines)
    ):
        return []
    return list(
        difflib.unified_diff(old_lines, new_lines, "docs/ANALYSIS.md", "regenerated", lineterm="")
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="fail if the doc differs; write nothing"
    )
    parser.add_argument(
        "--keep", metavar="DIR", help="run in DIR (kept) instead of a temporary directory"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="agg-docs-") as tmp:
        work = Path(args.keep) if args.keep else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        if args.check:
            diff = check(work)
            if diff:
                print("\n".join(diff))
                print(
                    "docs/ANALYSIS.md is out of date: run python scripts/make_docs.py",
                    file=sys.stderr,
                )
                return 1
            print("docs/ANALYSIS.md is up to date")
            return 0
        doc = DOC.read_text(encoding="utf-8")
        DOC.write_text(render(doc, generate(work)), encoding="utf-8")
        FIGURES.mkdir(parents=True, exist_ok=True)
        for src, name in DOC_FIGURES.items():
            shutil.copyfile(work / src, FIGURES / name)
        print(
            f"rewrote {DOC.relative_to(ROOT)} and {len(DOC_FIGURES)} figures in {FIGURES.relative_to(ROOT)}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
