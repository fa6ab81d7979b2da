"""Pictures logged with every training run, drawn with matplotlib's Agg canvas (no display)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from models.metrics import cumulative_gains


def calibration_curve_png(path: Path, y_true, scores: dict[str, np.ndarray], n_bins: int = 10) -> Path:
    """Observed intent rate against mean predicted probability, per score quantile bin."""
    from sklearn.calibration import calibration_curve

    figure = Figure(figsize=(6, 5))
    axes = figure.add_subplot()
    top = 0.0
    for label, p in scores.items():
        observed, predicted = calibration_curve(y_true, p, n_bins=n_bins, strategy="quantile")
        axes.plot(predicted, observed, marker="o", label=label)
        top = max(top, float(predicted.max()), float(observed.max()))
    axes.plot([0, top], [0, top], linestyle="--", color="grey", label="perfectly calibrated")
    axes.set_xlabel("mean predicted probability")
    axes.set_ylabel("observed intent rate")
    axes.set_title("Calibration on the out-of-time test snapshot")
    axes.legend()
    figure.savefig(path, dpi=100, bbox_inches="tight")
    return path


def gains_and_lift_png(path: Path, y_true, scores: dict[str, np.ndarray]) -> Path:
    """Cumulative gains by decile (left) and lift by decile (right)."""
    y_true = np.asarray(y_true, dtype=float)
    figure = Figure(figsize=(11, 4.5))
    gains_axes, lift_axes = figure.subplots(1, 2)
    deciles = np.arange(1, 11)
    for label, p in scores.items():
        gains = np.array(cumulative_gains(y_true, p))
        gains_axes.plot(np.r_[0, deciles * 10], np.r_[0, gains * 100], marker="o", label=label)
        lift_axes.plot(deciles, gains / (deciles / 10), marker="o", label=label)
    gains_axes.plot([0, 100], [0, 100], linestyle="--", color="grey", label="random")
    gains_axes.set_xlabel("% of persons contacted (by score)")
    gains_axes.set_ylabel("% of intent captured")
    gains_axes.set_title("Cumulative gains")
    gains_axes.legend()
    lift_axes.axhline(1.0, linestyle="--", color="grey")
    lift_axes.set_xlabel("top deciles")
    lift_axes.set_ylabel("cumulative lift")
    lift_axes.set_title("Lift")
    figure.savefig(path, dpi=100, bbox_inches="tight")
    return path


def feature_importance_png(path: Path, names: list[str], gains: np.ndarray, top: int = 25) -> Path:
    """Total split gain of the most important features."""
    order = np.argsort(gains)[::-1][:top][::-1]
    figure = Figure(figsize=(7, 0.3 * len(order) + 1.5))
    axes = figure.add_subplot()
    axes.barh([names[i] for i in order], gains[order])
    axes.set_xlabel("total gain")
    axes.set_title(f"Feature importance (top {len(order)})")
    figure.savefig(path, dpi=100, bbox_inches="tight")
    return path


def shap_summary_png(path: Path, X: pd.DataFrame, contributions: np.ndarray, top: int = 20) -> Path:
    """SHAP summary: per feature, each person's contribution (x) coloured by the feature's value
    (rank within the feature, blue low to red high); features sorted by mean |SHAP|."""
    shap_values = contributions[:, :-1]  # the last column is the expected value
    importance = np.abs(shap_values).mean(axis=0)
    order = np.argsort(importance)[::-1][:top][::-1]
    rng = np.random.default_rng(0)
    figure = Figure(figsize=(8, 0.35 * len(order) + 1.5))
    axes = figure.add_subplot()
    for row, column in enumerate(order):
        values = X.iloc[:, column].to_numpy(dtype=float)
        ranks = pd.Series(values).rank(pct=True).fillna(0.5).to_numpy()
        jitter = rng.uniform(-0.3, 0.3, size=len(values))
        axes.scatter(shap_values[:, column], row + jitter, c=ranks, cmap="coolwarm", s=4,
                     alpha=0.6, linewidths=0)
    axes.set_yticks(range(len(order)), [X.columns[i] for i in order])
    axes.axvline(0, color="grey", linewidth=0.8)
    axes.set_xlabel("SHAP value (contribution to log-odds)")
    axes.set_title("SHAP summary (colour: feature value, blue low, red high)")
    figure.savefig(path, dpi=100, bbox_inches="tight")
    return path


def roc_curve_png(path: Path, y_true, scores: dict[str, np.ndarray]) -> Path:
    """True-positive rate against false-positive rate, with each score's AUC in its label."""
    from sklearn.metrics import roc_auc_score, roc_curve

    def curve(p: np.ndarray) -> tuple[np.ndarray, np.ndarray, str]:
        false_positive, true_positive, _ = roc_curve(y_true, p)
        return false_positive, true_positive, f"AUC {roc_auc_score(y_true, p):.3f}"

    return _curves_png(path, scores, curve, ([0, 1], [0, 1], "random"),
                       ("false-positive rate", "true-positive rate"),
                       "ROC curve on the out-of-time test snapshot")


def precision_recall_png(path: Path, y_true, scores: dict[str, np.ndarray]) -> Path:
    """Precision against recall, with each score's average precision (PR-AUC) in its label;
    the base rate is what contacting persons at random gives."""
    from sklearn.metrics import average_precision_score, precision_recall_curve

    def curve(p: np.ndarray) -> tuple[np.ndarray, np.ndarray, str]:
        precision, recall, _ = precision_recall_curve(y_true, p)
        return recall, precision, f"PR-AUC {average_precision_score(y_true, p):.3f}"

    base_rate = float(np.mean(y_true))
    return _curves_png(path, scores, curve, ([0, 1], [base_rate, base_rate], "base rate"),
                       ("recall", "precision"),
                       "Precision and recall on the out-of-time test snapshot")


def _curves_png(path: Path, scores: dict[str, np.ndarray], curve, reference, axis_labels,
                title: str) -> Path:
    figure = Figure(figsize=(6, 5))
    axes = figure.add_subplot()
    for label, p in scores.items():
        x, y, summary = curve(np.asarray(p, dtype=float))
        axes.plot(x, y, label=f"{label} ({summary})")
    reference_x, reference_y, reference_label = reference
    axes.plot(reference_x, reference_y, linestyle="--", color="grey", label=reference_label)
    axes.set_xlabel(axis_labels[0])
    axes.set_ylabel(axis_labels[1])
    axes.set_title(title)
    axes.legend()
    figure.savefig(path, dpi=100, bbox_inches="tight")
    return path
