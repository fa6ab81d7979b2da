"""OpenMP settings for LightGBM, applied by the commands that train or score, never at import."""

from __future__ import annotations

import os

# Measured with `bench/model.py --omp` on the 2-core build machine (bench/results/model.md):
# 200 boosting rounds took 35-50 s with OpenMP's default (spinning) wait policy and 13-15 s
# with PASSIVE, because spinning threads fight every other process for the two cores.
OMP_WAIT_POLICY = "PASSIVE"


def configure_threads() -> None:
    """Set OMP_WAIT_POLICY unless the operator chose one. Must run before lightgbm is imported:
    the OpenMP runtime reads it once, when it starts."""
    os.environ.setdefault("OMP_WAIT_POLICY", OMP_WAIT_POLICY)
