"""The population stability index of a sample against a reference sample."""

from __future__ import annotations

import numpy as np

# A bin empty on one side would make the index infinite; it counts as this share instead.
EMPTY_BIN_SHARE = 1e-4


def bin_edges(reference: np.ndarray, bins: int) -> np.ndarray:
    """Inner edges of `bins` quantile bins of the reference's known values; ties (a feature
    that is mostly 0) merge bins, so there may be fewer."""
    known = reference[~np.isnan(reference)]
    if known.size == 0:
        return np.empty(0)
    return np.unique(np.quantile(known, np.linspace(0, 1, bins + 1)[1:-1]))


def bin_shares(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Share of `values` in each bin of `edges`, unknown values (NaN) in a last bin of their own."""
    known = ~np.isnan(values)
    counts = np.bincount(np.searchsorted(edges, values[known], side="right"),
                         minlength=len(edges) + 1).astype(float)
    counts = np.append(counts, float((~known).sum()))
    return counts / max(len(values), 1)


def population_stability_index(reference, actual, bins: int = 10) -> float:
    """sum over bins of (actual - reference share) * ln(actual / reference share), on quantile
    bins of the reference: 0 for the same distribution; above 0.2 is usually read as a shift."""
    reference = np.asarray(reference, dtype=float)
    actual = np.asarray(actual, dtype=float)
    edges = bin_edges(reference, bins)
    expected = np.maximum(bin_shares(reference, edges), EMPTY_BIN_SHARE)
    observed = np.maximum(bin_shares(actual, edges), EMPTY_BIN_SHARE)
    return float(np.sum((observed - expected) * np.log(observed / expected)))
