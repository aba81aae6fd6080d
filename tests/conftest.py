"""Shared fixtures of the test suite, and the order in which pytest-xdist hands out the test files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from agglomeration import settled_starts

TINY = Path(__file__).resolve().parent / "data" / "tiny"

# Settled starts (initialisation + burn-in) kept per test process: many test files build the same
# small start with the same seed in several tests (results are bit-identical either way,
# tests/test_settled_starts.py); 32 instead of the default 4 catches nearly every repeat (the
# starts of the tests are small: the 3,750-row baseline start is about 3 MB).  A test that patches
# anything never sees or leaves a kept start (_settled_starts_unpatched below).
settled_starts.KEPT = 32

# The test files that take longest (seconds of one process, measured with --durations), longest
# first.  pytest-xdist (--dist loadfile --no-loadscope-reorder, pyproject.toml) hands out whole files
# in collection order, so these start first and the many short files fill both processes at the end
# instead of one long file running alone.  Only the order changes; a file missing here runs after
# them in the usual order, a name here that no longer exists is ignored.
LONGEST_FIRST = (
    "tests/test_docs.py",  # ~105-180 s: reruns docs/ANALYSIS.md's commands (2 worker processes)
    "tests/experiment/test_runner.py",  # ~160 s under load
    "tests/calibration/test_calibrate_recovery.py",  # ~70 s: test_calibrate.py's two longest runs
    "tests/reliability/test_faults.py",
    "tests/reliability/test_stops.py",
    "tests/report/test_dashboard_browser.py",
    "tests/commands/test_run_cli.py",
    "tests/commands/test_plot_cli.py",
    "tests/calibration/test_calibrate_abc.py",
    "tests/report/test_dashboard.py",
    "tests/behaviour/test_exit.py",
    "tests/reliability/test_long.py",
    "tests/test_model.py",
    "tests/reliability/test_reproducibility.py",
    "tests/test_logistics.py",
    "tests/test_kernels_interpreted.py",
    "tests/behaviour/test_factor_prices.py",
    "tests/behaviour/test_growth.py",
    "tests/commands/test_validate_cli.py",
    "tests/calibration/test_calibrate.py",
    "tests/report/test_figures.py",
    "tests/reliability/test_limits.py",
    "tests/behaviour/test_entry.py",
    "tests/behaviour/test_lines.py",
    "tests/reliability/test_inputs.py",
)


def pytest_collection_modifyitems(config, items):
    """Run the longest files first (a stable sort: a file's tests keep their order)."""
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    root = config.rootpath
    items.sort(key=lambda item: rank.get(item.path.relative_to(root).as_posix(), len(rank)))


@pytest.fixture(autouse=True)
def _settled_starts_unpatched(request):
    """A test that monkeypatches (kernels, initialisation, module constants ...) starts with no kept
    settled start, so a model it builds runs initialisation and burn-in under the patch instead of
    copying a start settled without it; and it leaves none behind, so no later test copies a start
    settled under the patch."""
    if "monkeypatch" not in request.fixturenames:
        yield
        return
    settled_starts.clear()
    yield
    settled_starts.clear()


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    """A private copy of the 3-region test world (tests/data/tiny); returns its scenario file."""
    dst = tmp_path / "tiny"
    shutil.copytree(TINY, dst)
    return dst / "scenario.toml"
