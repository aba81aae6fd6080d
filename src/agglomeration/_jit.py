"""The one place that configures compiled kernels (numba) for the step's hot path.

Why numba: the hot path of a step walks the supplier links of every firm many times (the price and
revenue fixed points, sourcing, observation).  As numpy expressions each walk becomes a dozen passes over
link-sized temporaries; a compiled loop does it in one pass over the columnar firm state, with no
temporaries.  Kernels are plain loops over the ``FirmTable`` columns, so they read like the equations in
docs/ODD.md.

Rules every kernel follows:

* ``cache=True``: compiled once per machine and Python, then loaded from ``__pycache__`` (a new process
  pays milliseconds, not the seconds of compilation);
* no ``fastmath`` and no ``parallel``: IEEE arithmetic in a fixed order, so results are bit-for-bit the
  same on every run, worker count and CPU model;
* no random numbers inside kernels: every draw comes from the model's ``numpy.random.Generator`` in
  Python and is passed in as an array, so the stream of draws is the model's.

Set ``NUMBA_DISABLE_JIT=1`` to run the kernels as plain Python (slow; for debugging with pdb).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import numba

F = TypeVar("F", bound=Callable[..., Any])


def kernel(fn: F) -> F:
    """Compile ``fn`` with numba in nopython mode, cached on disk, releasing the GIL."""
    return numba.njit(cache=True, nogil=True, fastmath=False)(fn)  # type: ignore[return-value]
