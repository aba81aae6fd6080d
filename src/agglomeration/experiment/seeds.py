"""Reproducible seeds and stable run identifiers.

Seeds come from :class:`numpy.random.SeedSequence` with the experiment seed as entropy:

- **common random numbers** (``seeding = "common"``, the default): replicate ``r`` of *every* variant and
  design point gets the stream ``SeedSequence(seed, spawn_key=(r,))`` - the r-th child of
  ``SeedSequence(seed).spawn(...)`` - so paired comparisons between variants cancel the common noise;
- ``seeding = "independent"``: the key is ``(r, k)`` with ``k`` a stable hash of the point's overrides,
  so every (point, replicate) gets its own stream.

Child ``r`` does not depend on how many replicates there are, so adding replicates keeps existing seeds.
The integer handed to the model (``replicate_seed``, 63 bits) is drawn from that child's state.

A run id is the first 16 hex digits of sha256 over (resolved scenario fingerprint, replicate seed, steps,
model class): the same run has the same id whatever the executor, worker count, order or shard, so a
resumed batch recognises finished runs, and an edited scenario can never be mistaken for a finished one.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["DESIGN_KEY", "ReplicateSeed", "design_seed", "replicate_seed", "run_id"]

#: spawn key reserved for the design sampler (replicate keys are small non-negative integers)
DESIGN_KEY = 2**31 - 1


@dataclass(frozen=True)
class ReplicateSeed:
    """A replicate's seed: the integer given to the model and its SeedSequence provenance."""

    seed: int
    entropy: int
    spawn_key: tuple[int, ...]


def _point_key(overrides: dict[str, Any]) -> int:
    blob = json.dumps(overrides, sort_keys=True, default=str).encode()
    return int.from_bytes(hashlib.sha256(blob).digest()[:4], "little")


def replicate_seed(
    experiment_seed: int,
    replicate: int,
    *,
    seeding: str = "common",
    point: dict[str, Any] | None = None,
) -> ReplicateSeed:
    """Seed of replicate ``replicate`` (0-based); ``point`` (the merged overrides) matters only for
    ``seeding="independent"``."""
    key: tuple[int, ...] = (int(replicate),)
    if seeding == "independent":
        key = (int(replicate), _point_key(point or {}))
    ss = np.random.SeedSequence(int(experiment_seed), spawn_key=key)
    value = int(ss.generate_state(1, dtype=np.uint64)[0]) >> 1  # 63 bits: fits int64 columns
    return ReplicateSeed(seed=value, entropy=int(experiment_seed), spawn_key=key)


def design_seed(experiment_seed: int) -> int:
    """Integer seed of the design sampler (independent of every replicate stream)."""
    ss = np.random.SeedSequence(int(experiment_seed), spawn_key=(DESIGN_KEY,))
    return int(ss.generate_state(1, dtype=np.uint64)[0]) >> 1


def run_id(scenario_fingerprint: str, seed: int | None, steps: int, model: str) -> str:
    """Stable short id (16 hex digits) of one run (``seed`` None: the scenario's own seed)."""
    key = None if seed is None else int(seed)
    blob = json.dumps([scenario_fingerprint, key, int(steps), model], separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]
