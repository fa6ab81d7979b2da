"""Metrics of a propensity model on a labelled set: ranking, calibration and lift."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score

# One number each: logged as a run's metrics and shown per model version.
SCALAR_METRIC_KEYS = (
    "roc_auc", "pr_auc", "log_loss", "brier", "ece", "lift_at_1pct", "lift_at_5pct",
    "lift_at_10pct",
)
# evaluate's keys: the scalars and the cumulative gain of each decile (logged as one series).
METRIC_KEYS = (*SCALAR_METRIC_KEYS, *(f"cumulative_gain_decile_{d}" for d in range(1, 11)))


def expected_calibration_error(y_true: np.ndarray, p: np.ndarray, n_bins: int = 10) -> float:
    """Mean |observed rate - mean predicted| over equal-width probability bins, weighted by size."""
    bins = np.minimum((p * n_bins).astype(int), n_bins - 1)
    total = 0.0
    for b in np.unique(bins):
        in_bin = bins == b
        total += in_bin.sum() * abs(y_true[in_bin].mean() - p[in_bin].mean())
    return float(total / len(p))


def _top_share_order(p: np.ndarray) -> np.ndarray:
    # Stable sort on -p: ties keep their input order, so results do not depend on the platform.
    return np.argsort(-p, kind="stable")


def lift_at(y_true: np.ndarray, p: np.ndarray, share: float) -> float:
    """Positive rate among the top `share` by score, divided by the overall positive rate."""
    n_top = max(1, round(len(p) * share))
    top = y_true[_top_share_order(p)[:n_top]]
    base_rate = y_true.mean()
    return float(top.mean() / base_rate) if base_rate > 0 else float("nan")


def cumulative_gains(y_true: np.ndarray, p: np.ndarray) -> list[float]:
    """Share of all positives captured by the top 1..10 deciles by score."""
    ordered = y_true[_top_share_order(p)]
    positives = ordered.sum()
    cuts = [round(len(p) * d / 10) for d in range(1, 11)]
    return [float(ordered[:cut].sum() / positives) if positives else float("nan") for cut in cuts]


def gains_by_decile(metrics: dict[str, float]) -> list[tuple[int, float, float]]:
    """(decile, cumulative gain, cumulative lift) for deciles 1..10 of evaluate's metrics: the
    top d tenths by score hold that share of all positives, gain / (d / 10) times the rate of
    contacting at random."""
    return [(decile, gain, gain / (decile / 10))
            for decile in range(1, 11)
            for gain in (metrics[f"cumulative_gain_decile_{decile}"],)]


def expected_roc_auc(true_probability: np.ndarray, scores: np.ndarray) -> float:
    """The AUC that `scores` has in expectation when each person's outcome is Bernoulli(true
    probability) independently: every (positive i, negative j) pair weighs p_i (1 - p_j), ties
    count half. With 0/1 probabilities it is the ordinary AUC; against a simulator's truth it
    measures ranking without the outcomes' sampling noise."""
    true_probability = np.asarray(true_probability, dtype=float)
    scores = np.asarray(scores, dtype=float)
    order = np.argsort(scores, kind="stable")
    positive, negative = true_probability[order], 1.0 - true_probability[order]
    tied_scores, group_start = np.unique(scores[order], return_index=True)
    group_stop = np.append(group_start[1:], len(order))
    group = np.repeat(np.arange(len(tied_scores)), group_stop - group_start)
    negatives_before = np.concatenate([[0.0], np.cumsum(negative)])
    below = negatives_before[group_start][group]
    tied = (negatives_before[group_stop] - negatives_before[group_start])[group] - negative
    pairs = positive.sum() * negative.sum() - (positive * negative).sum()
    return float((positive * (below + 0.5 * tied)).sum() / pairs)


def evaluate(y_true, p) -> dict[str, float]:
    """Every metric of METRIC_KEYS for labels `y_true` (0/1) and probabilities `p`."""
    y_true = np.asarray(y_true, dtype=float)
    p = np.clip(np.asarray(p, dtype=float), 1e-7, 1 - 1e-7)
    metrics = {
        "roc_auc": float(roc_auc_score(y_true, p)),
        "pr_auc": float(average_precision_score(y_true, p)),
        "log_loss": float(log_loss(y_true, p, labels=[0, 1])),
        "brier": float(brier_score_loss(y_true, p)),
        "ece": expected_calibration_error(y_true, p),
        "lift_at_1pct": lift_at(y_true, p, 0.01),
        "lift_at_5pct": lift_at(y_true, p, 0.05),
        "lift_at_10pct": lift_at(y_true, p, 0.10),
    }
    for decile, gain in enumerate(cumulative_gains(y_true, p), start=1):
        metrics[f"cumulative_gain_decile_{decile}"] = gain
    return metrics
