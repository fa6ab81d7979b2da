"""OpenMP settings for LightGBM, applied by the commands that train or score, never at import."""

from __future__ import annotations

import os

# Measured by bench/model.py on the 2-core build machine (see bench/results/model.md): with
# OpenMP's default active waiting, idle worker threads spin and steal the cores that DuckDB,
# MLflow and other jobs need; passive waiting costs LightGBM nothing measurable here.
OMP_WAIT_POLICY = "PASSIVE"


def configure_threads() -> None:
    """Set OMP_WAIT_POLICY unless the operator chose one. Must run before lightgbm is imported:
    the OpenMP runtime reads it once, when it starts."""
    os.environ.setdefault("OMP_WAIT_POLICY", OMP_WAIT_POLICY)
