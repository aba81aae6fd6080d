"""Compile the model's numba kernels into their on-disk cache: one small batch run (tests/conftest.py
starts this in a process of its own when the cache is missing or older than the kernels' source).

Without it, on a fresh checkout every test process (and the first process pools) compiled the same
kernels at the same time, about 20 s of CPU each.  Usage: ``python tests/_warm_kernels.py`` (from
anywhere); it writes nothing but the cache (the batch goes to a temporary directory).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

EXPERIMENT = """
name = "warm_kernels"
scenario = "{scenario}"
replicates = 1
seed = 1
steps = 12
[overrides]
"firms.initial_count" = 60
burn_in = 4
[output]
links = true
firms_at = [0, -1]
"""


def main() -> None:
    from agglomeration.experiment.runner import run_experiment

    with tempfile.TemporaryDirectory(prefix="agg-warm-kernels-") as tmp:
        exp = Path(tmp) / "warm.toml"
        exp.write_text(
            EXPERIMENT.format(scenario=(ROOT / "scenarios" / "baseline.toml").as_posix())
        )
        run_experiment(exp, Path(tmp) / "out", executor="serial", progress=False)


if __name__ == "__main__":
    main()
