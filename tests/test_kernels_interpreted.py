"""The compiled kernels compute exactly what their Python source says.

numba compiles the kernels' Python source; with ``NUMBA_DISABLE_JIT=1`` the same source runs in the
interpreter (the documented debugging mode, docs/ARCHITECTURE.md).  A small model run both ways must give
bit-identical state: no integer wraparound, overflow or typing difference hides in the compiled code, and
debugging in plain Python shows the real model.
"""

from __future__ import annotations

import os
import subprocess
import sys

_RUN = """
import hashlib
import numpy as np
from agglomeration import AgglomerationModel

# a short burn-in (20 quarters, controller included) and 6 observed steps run every kernel
m = AgglomerationModel(
    "scenarios/baseline.toml", replicate_seed=3, firms__initial_count=250, burn_in=20
)
m.run(6)
h = hashlib.sha256()
frame = m.firms_frame()
for col in frame.columns:
    values = frame[col].to_numpy()
    if values.dtype == object:  # region and sector ids: hash the text, not the object pointers
        h.update("|".join(map(str, values)).encode())
    else:
        h.update(np.ascontiguousarray(values).tobytes())
h.update(np.ascontiguousarray(m.firms.supplier).tobytes())
series = m.series_frame().drop(columns=["step"]).to_numpy(dtype=float)
h.update(np.ascontiguousarray(series).tobytes())
counts = m.series_frame()[["entries", "exits", "relocations"]].sum()
print(len(frame), *(int(v) for v in counts), h.hexdigest())
"""


def _state_hash(disable_jit: bool) -> str:
    env = dict(os.environ)
    env.pop("NUMBA_DISABLE_JIT", None)
    if disable_jit:
        env["NUMBA_DISABLE_JIT"] = "1"
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run(
        [sys.executable, "-c", _RUN], capture_output=True, text=True, env=env, cwd=root, check=True
    )
    return out.stdout.strip().splitlines()[-1]


def test_compiled_and_interpreted_kernels_give_the_same_model_state():
    compiled = _state_hash(disable_jit=False)
    interpreted = _state_hash(disable_jit=True)
    n_firms, entries, exits, relocations = (int(v) for v in compiled.split()[:4])
    assert n_firms > 100  # the run did something: every kernel ran on live data
    assert entries > 0 and exits > 0 and relocations > 0, (entries, exits, relocations)
    assert compiled == interpreted
