"""Moving the champion alias: only to a version that beats the champion on the same test set."""

from __future__ import annotations

from datetime import date
from typing import Literal

import numpy as np
import polars as pl
from pydantic import BaseModel

from models.datasets import feature_matrix
from models.metrics import evaluate
from models.registry import CHALLENGER, CHAMPION, _client, champion_version, load_version


class PromotionResult(BaseModel):
    model_name: str
    version: str
    decision: Literal["champion", "challenger", "already_champion"]
    reason: str
    previous_champion: str | None
    test_snapshot: date
    candidate_metrics: dict[str, float]
    champion_metrics: dict[str, float] | None


def decide(candidate: dict[str, float], champion: dict[str, float]) -> tuple[bool, str]:
    """Promote only for a higher AUC with a log loss no worse than the champion's."""
    auc_text = f"AUC {candidate['roc_auc']:.4f} vs {champion['roc_auc']:.4f}"
    loss_text = f"log loss {candidate['log_loss']:.5f} vs {champion['log_loss']:.5f}"
    if candidate["roc_auc"] <= champion["roc_auc"]:
        return False, f"AUC not higher than the champion's ({auc_text}; {loss_text})"
    if candidate["log_loss"] > champion["log_loss"]:
        return False, f"log loss worse than the champion's ({auc_text}; {loss_text})"
    return True, f"beats the champion ({auc_text}; {loss_text})"


def promote_version(tracking_uri: str, model_name: str, version: str, test_frame: pl.DataFrame,
                    test_snapshot: date) -> PromotionResult:
    """Evaluate `version` and the current champion on `test_frame` (features + label) and move
    the champion alias when the new version is better; otherwise give it the challenger alias.
    Either way the version is tagged with the decision and its reason."""
    client = _client(tracking_uri)
    y_test = test_frame["label"].cast(pl.Int8).to_numpy()
    candidate = load_version(tracking_uri, model_name, version)
    candidate_metrics = _evaluate(candidate, test_frame, y_test)
    current = champion_version(tracking_uri, model_name)

    champion_metrics = None
    if current == str(version):
        decision, reason = "already_champion", "this version already holds the champion alias"
    elif current is None:
        decision, reason = "champion", "no champion yet"
    else:
        champion = load_version(tracking_uri, model_name, current)
        missing = [name for name in champion.feature_names if name not in test_frame.columns]
        if missing:
            decision = "champion"
            reason = (f"champion v{current} needs features no longer built "
                      f"({', '.join(missing[:5])}); it cannot be scored")
        else:
            champion_metrics = _evaluate(champion, test_frame, y_test)
            better, why = decide(candidate_metrics, champion_metrics)
            decision = "champion" if better else "challenger"
            reason = f"{why} on the test snapshot {test_snapshot}, against champion v{current}"

    if decision == "champion":
        client.set_registered_model_alias(model_name, CHAMPION, str(version))
        if _alias_version(client, model_name, CHALLENGER) == str(version):
            client.delete_registered_model_alias(model_name, CHALLENGER)
    elif decision == "challenger":
        client.set_registered_model_alias(model_name, CHALLENGER, str(version))
    client.set_model_version_tag(model_name, str(version), "promotion_decision", decision)
    client.set_model_version_tag(model_name, str(version), "promotion_reason", reason)
    if decision != "already_champion":  # keep the paragraph saying why it became champion
        _describe_decision(client, model_name, str(version), decision, reason)
    return PromotionResult(
        model_name=model_name, version=str(version), decision=decision, reason=reason,
        previous_champion=current, test_snapshot=test_snapshot,
        candidate_metrics=candidate_metrics, champion_metrics=champion_metrics,
    )


PROMOTION_HEADING = "**Promotion:**"
_DECISION_WORDS = {"champion": "promoted to champion", "challenger": "kept as challenger"}


def _describe_decision(client, model_name: str, version: str, decision: str,
                       reason: str) -> None:
    """The version's description ends with the latest promotion decision and why (an earlier
    decision's paragraph is replaced, so the description says where the version stands)."""
    described = client.get_model_version(model_name, version).description or ""
    kept = described.split(PROMOTION_HEADING)[0].rstrip()
    paragraph = f"{PROMOTION_HEADING} {_DECISION_WORDS[decision]}: {reason}."
    client.update_model_version(model_name, version,
                                description=f"{kept}\n\n{paragraph}" if kept else paragraph)


def _alias_version(client, model_name: str, alias: str) -> str | None:
    from mlflow.exceptions import MlflowException

    try:
        return str(client.get_model_version_by_alias(model_name, alias).version)
    except MlflowException:
        return None


def _evaluate(loaded, test_frame: pl.DataFrame, y_test: np.ndarray) -> dict[str, float]:
    X = feature_matrix(test_frame, loaded.feature_names)
    return evaluate(y_test, loaded.model.predict_proba(X)[:, 1])
