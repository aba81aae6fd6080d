"""Shared fixtures of the test suite, and the order in which pytest-xdist hands out the test files."""

from __future__ import annotations

import fcntl
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import time
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


# ------------------------------------------------------------------------------------------------
# the numba kernels' on-disk cache, compiled once before the tests need it
# ------------------------------------------------------------------------------------------------
# On a fresh checkout (CI) the cache of compiled kernels (__pycache__/*.nbi, *.nbc next to the
# sources) is empty, and every test process, and the first process pools of the batch tests, compiled
# the same kernels at the same time (about 20 s of CPU each, most of the suite's first minute).  The
# controlling pytest process now compiles them once, in a process of its own (tests/_warm_kernels.py)
# that runs while the test processes start and collect; each test process waits for it before its
# first test.  A warm cache (a working checkout) is detected from the files' times: nothing runs.
_WARM_LOCK = "AGGLOMERATION_TESTS_KERNEL_WARMUP_LOCK"


def _kernel_cache_is_cold() -> bool:
    """No cached kernel index for this Python, or one older than its module's source."""
    if os.environ.get("NUMBA_DISABLE_JIT") == "1":
        return False
    spec = importlib.util.find_spec("agglomeration")
    if spec is None or spec.origin is None:
        return False
    package = Path(spec.origin).parent
    index = list(package.rglob(f"__pycache__/*.py{sys.version_info[0]}{sys.version_info[1]}.nbi"))
    if not index:
        return True
    for path in index:
        source = path.parent.parent / (path.name.split(".", 1)[0] + ".py")
        if source.exists() and source.stat().st_mtime > path.stat().st_mtime:
            return True
    return False


def pytest_configure(config):
    if hasattr(config, "workerinput") or os.environ.get(_WARM_LOCK):
        return  # a test process (pytest-xdist worker): the controller decides
    if config.option.collectonly or not _kernel_cache_is_cold():
        return
    fd, lock = tempfile.mkstemp(prefix="agg-kernel-warmup-", suffix=".lock")
    fcntl.flock(fd, fcntl.LOCK_EX)  # held by the warm-up process until it exits
    subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve().parent / "_warm_kernels.py")],
        pass_fds=(fd,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(fd)
    os.environ[_WARM_LOCK] = lock  # inherited by the test processes pytest-xdist starts next
    config._agg_warm_lock = lock


def pytest_collection_finish(session):
    """Before the first test: wait (at most 5 minutes) for the kernels' warm-up, if one runs."""
    lock = os.environ.get(_WARM_LOCK)
    if not lock or not os.path.exists(lock):
        return
    with open(lock) as fh:
        deadline = time.monotonic() + 300
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_SH | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    return  # the tests compile what they need themselves
                time.sleep(0.1)
        fcntl.flock(fh, fcntl.LOCK_UN)


def pytest_unconfigure(config):
    lock = getattr(config, "_agg_warm_lock", None)
    if lock:
        os.environ.pop(_WARM_LOCK, None)
        Path(lock).unlink(missing_ok=True)


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
