"""Random streams of the observed run (``solver.random_streams``): how paired runs share their draws.

Policy comparisons pair runs that share a settled start and a replicate seed (common random numbers),
so that a paired difference is the lever's effect and not noise.  How long the pairing lasts depends
on how the draws are organised (Law 2015, *Simulation Modeling and Analysis*, 5th ed., section 11.2:
synchronise the random numbers by purpose):

- ``"shared"`` (the default; every documented result except the lever experiments of
  docs/LEVER_EFFECTS.md): one generator for the whole run.  The
  submodels' draws follow each other in one stream, so once a lever changes how many numbers one
  submodel draws (one more entrant, one exit fewer), every later draw of every submodel lands on
  another purpose, and the two runs of a pair evolve as independent runs within a few quarters
  (docs/LEVER_EFFECTS.md, "How far pairing goes").
- ``"by_purpose"``: every observed step gives each submodel its own generator, seeded by
  ``SeedSequence(entropy=run seed, spawn_key=(STREAM_KEY, step, crc32(submodel name)))``, and the
  per-firm draws of learning (productivity shocks), product lines (births and deaths), relocation (who
  considers moving, which regions it knows) and exit (the hazard rule's draws) are indexed by the
  firm's permanent id, and those of supplier search (which (buyer, input) pairs search, their
  candidates' uniforms) and link repair by (buyer id, input): a firm gets the same numbers for the
  same purpose in both runs of a pair, whatever other firms exist.  A lever then changes a draw only
  where it changes a decision.

The burn-in uses the run's generator in both settings, so the settled start is the same.  Both
settings draw every number from numpy Generators seeded through ``numpy.random.SeedSequence`` and give
the same results for the same inputs and seed on any worker count.
"""

from __future__ import annotations

import zlib
from typing import Any, Literal

import numpy as np

Streams = Literal["shared", "by_purpose"]

#: first element of every stream's spawn key (ASCII "strm"): keeps these streams apart from any other
#: use of the run seed
STREAM_KEY = 0x7374726D

#: revision of the by-purpose keying (which draws are keyed, and how): part of a by-purpose scenario's
#: fingerprint (Scenario.fingerprint), so a batch of an earlier keying is not resumed into and its run
#: ids differ.  1 (hashed as plain "by_purpose"): learning, lines, relocation's first draw, exit,
#: entrants; 2: also supplier search, link repair and relocating firms' knowledge.
KEYING_REVISION = 2


def by_purpose(scenario: Any, state: Any = None) -> bool:
    """Whether ``scenario`` draws by purpose (``solver.random_streams = "by_purpose"``); never in the
    burn-in (``state.burning_in``), whose settled start is the shared stream's in both settings."""
    if state is not None and getattr(state, "burning_in", False):
        return False
    solver = getattr(scenario, "solver", None)
    return getattr(solver, "random_streams", "shared") == "by_purpose"


def submodel_generator(entropy: int, step: int, name: str) -> np.random.Generator:
    """The generator of submodel ``name`` at observed step ``step`` of a run seeded with ``entropy``."""
    key = (STREAM_KEY, int(step), zlib.crc32(name.encode("utf-8")))
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy, spawn_key=key)))


#: numbers a keyed draw generates per chunk (8 MB of doubles): memory O(chunk + numbers asked for),
#: not O(largest key)
CHUNK = 1 << 20


def draw_at(draw, idx: np.ndarray) -> np.ndarray:
    """``draw(max(idx) + 1)[idx]`` without holding the whole draw: numpy fills an array in order, so
    the values generated chunk by chunk (``draw(CHUNK)``, ``draw(CHUNK)``, ...) are those of one call,
    and only the asked positions are kept.  ``draw``: a Generator's ``random`` or
    ``standard_normal``.  Cost O(largest index) numbers, O(CHUNK + len(idx)) memory."""
    idx = np.asarray(idx, dtype=np.int64)
    if idx.ndim != 1:
        raise ValueError(f"keys must be one-dimensional, got shape {idx.shape}")
    out = np.empty(len(idx))
    if len(idx) == 0:
        return out
    if idx.min() < 0:
        raise ValueError("keys must be non-negative")
    n = int(idx.max()) + 1
    order = np.argsort(idx, kind="stable")
    sidx = idx[order]
    starts = np.arange(0, n, CHUNK, dtype=np.int64)
    bounds = np.searchsorted(sidx, np.append(starts, n))
    buf = np.empty(min(CHUNK, n))  # one buffer for every chunk: no fresh pages per chunk
    for c, start in enumerate(starts.tolist()):
        chunk = buf[: min(CHUNK, n - start)]
        draw(out=chunk)
        lo, hi = bounds[c], bounds[c + 1]
        if hi > lo:
            out[order[lo:hi]] = chunk[sidx[lo:hi] - start]
    return out


def uniforms(rng: np.random.Generator, fids: np.ndarray) -> np.ndarray:
    """One uniform [0, 1) per firm, the ``fid``-th draw of ``rng`` (the same number for the same firm
    whatever other firms are asked for).  Cost O(largest id) numbers, O(CHUNK + ids asked) memory."""
    return draw_at(rng.random, fids)


def normals(rng: np.random.Generator, fids: np.ndarray) -> np.ndarray:
    """One standard normal per firm, indexed by firm id as :func:`uniforms`."""
    return draw_at(rng.standard_normal, fids)
