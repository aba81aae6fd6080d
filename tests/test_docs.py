"""Docs that cannot go stale: the output shown in docs/ANALYSIS.md is what the commands print now.

scripts/make_docs.py reruns the page's (deliberately small) example through the CLI; this test fails when
the documented output drifts from what the installed code produces (the model's results changed, a
table's layout changed, a command was renamed).  Fix: `python scripts/make_docs.py` and commit the diff.
Snippets are checked to run as pasted.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import re
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _make_docs():
    spec = importlib.util.spec_from_file_location("make_docs", ROOT / "scripts" / "make_docs.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_docs"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_analysis_guide_shows_what_the_commands_print(tmp_path):
    for module in ("ema_workbench", "sklearn"):  # the guide runs `agglomeration discover`
        pytest.importorskip(
            module, reason="the guide's discover example needs the 'discovery' extra"
        )
    diff = _make_docs().check(tmp_path)
    assert not diff, (
        "docs/ANALYSIS.md is out of date; run python scripts/make_docs.py:\n" + "\n".join(diff[:80])
    )


def test_rounding_tolerance_accepts_only_last_digit_differences():
    same = _make_docs().same_within_rounding
    assert same("| -1.3 [-6.4, 3.9] |", "| -1.2 [-6.4, 3.9] |")
    assert not same("| -1.3 [-6.4, 3.9] |", "| -1.5 [-6.4, 3.9] |")
    assert not same("| 232 [215, 248] |", "| 348 [336, 361] |")
    assert not same("firms 5", "exits 5")


def test_every_figure_the_guides_show_exists():
    for doc in (ROOT / "docs").glob("*.md"):
        for target in re.findall(r"!\[[^\]]*\]\(([^)]+\.png)\)", doc.read_text(encoding="utf-8")):
            assert (doc.parent / target).is_file(), f"{doc.name} shows a missing figure {target}"


def _python_blocks(path: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", path.read_text(encoding="utf-8"), re.S)


def test_snippets_that_start_worker_processes_have_a_main_guard():
    """Worker processes (forkserver/spawn) import the calling script again: a snippet that calls
    run_experiment must run it under `if __name__ == "__main__":` to work when pasted into a file."""
    for doc in (ROOT / "docs").glob("*.md"):
        for code in _python_blocks(doc):
            tree = ast.parse(code)  # every Python snippet is valid Python
            top_level_calls = [
                n for n in tree.body
                if isinstance(n, ast.Expr | ast.Assign) and "run_experiment(" in ast.unparse(n)
            ]  # fmt: skip
            assert not top_level_calls, f"{doc.name}: run_experiment outside a __main__ guard"


def test_snippet_imports_exist():
    for doc in (ROOT / "docs").glob("*.md"):
        for code in _python_blocks(doc):
            for node in ast.walk(ast.parse(code)):
                if (
                    isinstance(node, ast.ImportFrom)
                    and node.module
                    and node.module.startswith("agglomeration")
                ):
                    module = importlib.import_module(node.module)
                    for alias in node.names:
                        assert hasattr(module, alias.name) or importlib.util.find_spec(
                            f"{node.module}.{alias.name}"
                        ), f"{doc.name}: {node.module} has no {alias.name}"


def test_the_scenario_keys_example_is_a_valid_scenario(tmp_path):
    """The annotated example of scenarios/README.md ("Keys") loads as written, next to the shipped
    scenarios and data (a key the loader rejects there would mislead every user who copies it)."""
    from agglomeration.scenario import load_scenario

    text = (ROOT / "scenarios" / "README.md").read_text()
    block = text.split("## Keys", 1)[1].split("```toml\n", 1)[1].split("```", 1)[0]
    shutil.copytree(ROOT / "scenarios", tmp_path / "scenarios")
    path = tmp_path / "scenarios" / "readme_example.toml"
    path.write_text(block)
    scen = load_scenario(path)
    assert scen.name == "my_variant"
    assert scen.logistics.tariff_multiplier["rail"] == 0.7
