"""Leakage guard: no single feature may predict the label almost perfectly on its own."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from models.settings import MAX_SINGLE_FEATURE_AUC


class LeakageError(RuntimeError):
    """A feature alone separates the classes too well: it most likely sees the label."""


def single_feature_aucs(X: pd.DataFrame, y) -> dict[str, float]:
    """AUC of each feature used alone as a score, in whichever direction ranks better."""
    y = np.asarray(y)
    aucs = {}
    for name in X.columns:
        values = X[name].to_numpy(dtype=float)
        # A missing value ranks below every real one, as a tree would be free to put it.
        missing = np.isnan(values)
        if missing.all() or np.nanmin(values) == np.nanmax(values) and not missing.any():
            aucs[name] = 0.5
            continue
        values = np.where(missing, np.nanmin(values) - 1.0, values)
        auc = roc_auc_score(y, values)
        aucs[name] = float(max(auc, 1.0 - auc))
    return aucs


def check_no_leaking_feature(X: pd.DataFrame, y,
                             threshold: float = MAX_SINGLE_FEATURE_AUC) -> dict[str, float]:
    """Raise LeakageError naming every feature whose own AUC exceeds `threshold`."""
    aucs = single_feature_aucs(X, y)
    leaking = {name: auc for name, auc in aucs.items() if auc > threshold}
    if leaking:
        listed = ", ".join(f"{name} (AUC {auc:.3f})" for name, auc in
                           sorted(leaking.items(), key=lambda item: -item[1]))
        raise LeakageError(
            f"possible label leakage: on the validation snapshot these features alone reach an "
            f"AUC above {threshold}: {listed}. A feature that sees events on or after the "
            f"as-of date would do this; the run stops and the champion is untouched."
        )
    return aucs
