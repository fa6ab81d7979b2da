"""Monitoring metrics in MLflow, against the model version: one monitoring run per version, in
the version's own experiment, named `monitor-v<version>` and tagged with the version; each
scoring run's figures are logged at step YYYYMMDD of its as-of date (timestamp that day), and
the version carries the monitoring run's id as its tag `monitoring_run_id`.

A figure already logged at its step with the same value is not logged again, so running the
monitor twice leaves one point per scoring date."""

from __future__ import annotations

from datetime import UTC, date, datetime

from monitoring.report import HealthReport, RunHealth

MONITORING_OF_TAG = "norrut.monitoring_of"
MONITORING_RUN_TAG = "monitoring_run_id"
# figure of a RunHealth -> its MLflow metric
METRICS = {
    "score_psi": "monitor_score_psi",
    "inactive_30d_share": "monitor_inactive_30d_share",
    "base_rate": "monitor_base_rate",
    "roc_auc": "monitor_roc_auc",
    "pr_auc": "monitor_pr_auc",
    "lift_at_10pct": "monitor_lift_at_10pct",
    "brier": "monitor_brier",
    "ece": "monitor_ece",
}
MAX_FEATURE_PSI = "monitor_max_feature_psi"


def step_of(as_of: date) -> int:
    """The step a scoring date is logged at: 2026-10-19 is 20261019."""
    return int(as_of.strftime("%Y%m%d"))


def figures(health: RunHealth) -> dict[str, float]:
    """The run's figures by metric name; a backtest's only once the run has matured."""
    values = {metric: getattr(health, name) for name, metric in METRICS.items()}
    values[MAX_FEATURE_PSI] = max(health.feature_psi.values(), default=0.0)
    return {metric: float(value) for metric, value in values.items() if value is not None}


def log_health(tracking_uri: str, report: HealthReport) -> dict[str, str]:
    """Log every scoring run's figures to its version's monitoring run; returns version ->
    monitoring run id."""
    from mlflow import MlflowClient
    from mlflow.entities import Metric

    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    by_version: dict[str, list[RunHealth]] = {}
    for health in report.runs:
        by_version.setdefault(health.model_version, []).append(health)
    run_ids = {}
    for version, healths in by_version.items():
        run_id = _monitoring_run(client, report.model_name, version, healths[0].model_run_id)
        logged = {}
        new = []
        for health in healths:
            at = int(datetime(health.as_of.year, health.as_of.month, health.as_of.day,
                              tzinfo=UTC).timestamp() * 1000)
            for metric, value in figures(health).items():
                if metric not in logged:
                    logged[metric] = {(point.step, point.value)
                                      for point in client.get_metric_history(run_id, metric)}
                if (step_of(health.as_of), value) not in logged[metric]:
                    new.append(Metric(metric, value, at, step_of(health.as_of)))
        if new:
            client.log_batch(run_id, metrics=new)
        client.set_terminated(run_id)
        client.set_model_version_tag(report.model_name, version, MONITORING_RUN_TAG, run_id)
        run_ids[version] = run_id
    return run_ids


def _monitoring_run(client, model_name: str, version: str, model_run_id: str) -> str:
    """The version's monitoring run, created in its training run's experiment the first time."""
    experiment_id = client.get_run(model_run_id).info.experiment_id
    tag = f"{model_name}/{version}"
    found = client.search_runs([experiment_id],
                               filter_string=f"tags.`{MONITORING_OF_TAG}` = '{tag}'",
                               max_results=1)
    if found:
        return found[0].info.run_id
    return client.create_run(experiment_id, run_name=f"monitor-v{version}", tags={
        MONITORING_OF_TAG: tag, "model_version": version, "model_run_id": model_run_id,
        "mlflow.note.content": f"Health of {model_name} version {version} after each scoring "
                               "run (norrut monitor); step = the scoring date as YYYYMMDD.",
    }).info.run_id
