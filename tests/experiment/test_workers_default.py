"""The default worker count: the CPUs this process may use, for batches and for the scripts."""

from __future__ import annotations

import ast
import os
from pathlib import Path

from agglomeration.experiment import pools

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


def test_default_workers_prefers_process_cpu_count(monkeypatch):
    """Python 3.13+ says how many CPUs this process may use (affinity and PYTHON_CPU_COUNT)."""
    monkeypatch.setattr(os, "process_cpu_count", lambda: 3, raising=False)
    assert pools.default_workers() == 3


def test_default_workers_falls_back_to_the_affinity_mask(monkeypatch):
    monkeypatch.delattr(os, "process_cpu_count", raising=False)
    if hasattr(os, "sched_getaffinity"):
        monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3, 4})
        assert pools.default_workers() == 5
    monkeypatch.delattr(os, "sched_getaffinity", raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 7)
    assert pools.default_workers() == 7


def _workers_options(tree: ast.AST) -> list[ast.Call]:
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and getattr(node.func, "attr", None) == "add_argument"
        and any(isinstance(a, ast.Constant) and a.value == "--workers" for a in node.args)
    ]


def test_scripts_default_to_the_usable_cpus_not_two():
    """The scripts defaulted to --workers 2 and entry_margin ran a pool of 2 with no option: each
    script with a process pool has --workers, defaulting to default_workers()."""
    for path in sorted(SCRIPTS.glob("*.py")):
        text = path.read_text()
        if "ProcessPoolExecutor(" not in text:
            continue
        assert "ProcessPoolExecutor(2)" not in text, path.name
        options = _workers_options(ast.parse(text))
        assert len(options) == 1, f"{path.name} has no --workers option"
        default = next(k.value for k in options[0].keywords if k.arg == "default")
        assert ast.unparse(default) == "default_workers()", path.name
