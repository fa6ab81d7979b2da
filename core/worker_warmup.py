"""A Dask worker preload (`dask worker --preload core.worker_warmup`; every `local:N` worker has
it): LightGBM imported in a background thread as the worker starts. Importing LightGBM imports
scikit-learn, SciPy and pandas too, 1.3–1.9 s in a fresh process; without the preload a fresh
worker's first scoring task waits for it, while with it the import overlaps the tasks that come
first (ingest, features). The worker takes tasks at once either way, and a task that needs
LightGBM before the thread is done waits for the same import, never runs it twice."""

from __future__ import annotations

import importlib
import threading

WARMED_MODULES = ("lightgbm",)


def import_warmed_modules() -> None:
    for name in WARMED_MODULES:
        importlib.import_module(name)


def dask_setup(worker: object) -> None:
    """Called by distributed when the worker starts (its preload hook)."""
    threading.Thread(target=import_warmed_modules, name="norrut-worker-warmup",
                     daemon=True).start()
