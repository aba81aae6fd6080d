"""Shared fixtures of the test suite."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

TINY = Path(__file__).resolve().parent / "data" / "tiny"


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    """A private copy of the 3-region test world (tests/data/tiny); returns its scenario file."""
    dst = tmp_path / "tiny"
    shutil.copytree(TINY, dst)
    return dst / "scenario.toml"
