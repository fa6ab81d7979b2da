"""The monitor: backtests of matured scoring runs equal a count made in SQL, drift planted by the
simulator raises the alarm and fails the run, reruns give the same rows, opt-outs leave it."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from typer.testing import CliRunner
from worlds import events_frame, insert_events, write_world

from activation.scoring import score_persons
from features.build import build_features
from flows.direct import DirectRun
from flows.jobs import monitor_job
from models.settings import TrainSettings
from models.training import train_model
from monitoring.health import (
    ModelHealthAlarm,
    RunHealth,
    breaches_of,
    monitor,
    whole_history_features,
)
from monitoring.health_file import read_health
from monitoring.psi import population_stability_index
from monitoring.settings import MonitorSettings
from monitoring.tracking import MONITORING_RUN_TAG, step_of
from norrut.cli.app import build_app
from warehouse.checks import check_grain
from warehouse.db import open_warehouse
from warehouse.ingest.loading import ingest_inbox
from warehouse.optout import apply_optouts
from warehouse.sql_files import all_specs

SCORED_ON = date(2026, 2, 26)  # day 56 of the 70-day test world: its 14-day horizon ends 03-12
HORIZON_DAYS = 14
MONITOR_TABLES = ("marts.backtest_deciles", "marts.feature_drift", "marts.model_health_runs")

# Counted straight from the events, not through the label SQL: the scored persons of the run,
# their decile, and whether they had an intent event in the horizon after the as-of date.
REALISED_BY_DECILE = """
    select ranked.decile, count(*) as persons,
           count(*) filter (where exists (
               select 1 from raw.events as e
               where e.person_id = ranked.person_id
                 and e.event_type in ('job_click', 'signup', 'guide_download', 'inquiry',
                                      'fair_registration')
                 and e.occurred_at >= ?::date and e.occurred_at < ?::date + to_days(?))
           ) as persons_with_intent,
           avg(ranked.score) as mean_score
    from marts.scores_ranked as ranked
    where ranked.as_of_date = ?
    group by ranked.decile order by ranked.decile
"""


def _settings(home, **given) -> MonitorSettings:
    return MonitorSettings(home=str(home.root), **given)


def _monitor_rows(home) -> dict[str, list[tuple]]:
    with open_warehouse(home.warehouse_path, read_only=True) as con:
        return {table: con.execute(f"select * exclude (measured_at) from {table} order by all")
                .fetchall() for table in MONITOR_TABLES}


@pytest.fixture(scope="module")
def scored_before_the_horizon(tmp_path_factory):
    """A 70-day world of which only the events before SCORED_ON are loaded, a champion trained
    and the persons scored on that date; returns the world's events after it too."""
    from core.home import NorrutHome

    home = NorrutHome.resolve(tmp_path_factory.mktemp("monitored") / "home").ensure()
    events = events_frame(n_persons=2000, n_days=70)
    before = events["occurred_at"].dt.date() < SCORED_ON
    write_world(home.warehouse_path, events=events.filter(before))
    train_model(TrainSettings(as_of=SCORED_ON, min_positives=30, n_training_snapshots=2,
                              horizon_days=HORIZON_DAYS), home)
    build_features(home.warehouse_path, SCORED_ON)
    score_persons(home.warehouse_path, SCORED_ON, home.mlflow_tracking_uri)
    return home, events.filter(~before)


@pytest.mark.slow
def test_a_run_is_backtested_once_its_horizon_has_passed_as_sql_counts_it(
        scored_before_the_horizon):
    home, later_events = scored_before_the_horizon
    # given a scoring run whose horizon has no events yet
    first = monitor(_settings(home))
    # then it shows its drift but no backtest
    (run,) = first.runs
    assert not run.matured and run.matures_on == SCORED_ON + timedelta(days=HORIZON_DAYS)
    assert run.deciles == [] and run.roc_auc is None and set(run.feature_psi)
    assert _monitor_rows(home)["marts.backtest_deciles"] == []
    # when the events of its horizon arrive and the monitor runs again
    insert_events(home.warehouse_path, later_events)
    report = monitor(_settings(home))
    # then the realised rate of each decile is the count made directly from the events
    (run,) = report.runs
    assert run.matured
    with open_warehouse(home.warehouse_path, read_only=True) as con:
        counted = con.execute(REALISED_BY_DECILE, [SCORED_ON, SCORED_ON, HORIZON_DAYS,
                                                   SCORED_ON]).fetchall()
        stored = con.execute(
            "select decile, persons, persons_with_intent, mean_score, realised_rate "
            "from marts.backtest_deciles order by decile").fetchall()
        totals = con.execute("select persons, base_rate, roc_auc, lift_at_10pct, ece, brier "
                             "from marts.model_health_runs").fetchall()
        for spec in all_specs():
            if spec.name in MONITOR_TABLES:
                assert check_grain(con, spec) == [], spec.name
    assert [row[:3] for row in stored] == [row[:3] for row in counted]
    assert sum(row[2] for row in counted) > 0, "the horizon held intent, so the check has teeth"
    for (_, persons, positives, mean_score, rate), (*_, counted_mean) in zip(stored, counted):
        assert rate == pytest.approx(positives / persons)
        assert mean_score == pytest.approx(counted_mean)
    persons, base_rate, auc, lift, ece, brier = totals[0]
    assert persons == sum(row[1] for row in counted)
    assert base_rate == pytest.approx(sum(row[2] for row in counted) / persons)
    assert 0.5 < auc <= 1 and lift > 1 and 0 <= ece < 1 and 0 < brier < 1
    # and the figures are logged to MLflow against the version, at the scoring date's step
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=home.mlflow_tracking_uri)
    monitoring_run = report.monitoring_runs[run.model_version]
    version = client.get_model_version(run.model_name, run.model_version)
    assert version.tags[MONITORING_RUN_TAG] == monitoring_run
    history = client.get_metric_history(monitoring_run, "monitor_roc_auc")
    assert [(point.step, point.value) for point in history] == [(step_of(SCORED_ON), auc)]
    # and the portal's health file holds the same report
    assert read_health(home.health_file).runs[0].roc_auc == auc


@pytest.mark.slow
def test_the_monitor_twice_gives_the_same_rows_and_one_mlflow_point(scored_before_the_horizon):
    home, _ = scored_before_the_horizon
    # given a monitored home
    first_report = monitor(_settings(home))
    first = _monitor_rows(home)
    # when the monitor runs again
    report = monitor(_settings(home))
    # then every row is the same (only measured_at differs), and MLflow holds one point a date
    assert _monitor_rows(home) == first
    assert first["marts.feature_drift"], "the check compared something"
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=home.mlflow_tracking_uri)
    run_id = report.monitoring_runs[report.runs[0].model_version]
    assert run_id == first_report.monitoring_runs[report.runs[0].model_version]
    steps = [point.step for point in client.get_metric_history(run_id, "monitor_score_psi")]
    assert steps == [step_of(SCORED_ON)]


@pytest.mark.slow
def test_an_opted_out_persons_scores_leave_the_backtest(scored_before_the_horizon, tmp_path):
    home, _ = scored_before_the_horizon
    # given a matured backtest and a top-decile person who had an intent event in the horizon
    before = monitor(_settings(home)).runs[0]
    with open_warehouse(home.warehouse_path, read_only=True) as con:
        person = con.execute(
            "select ranked.person_id from marts.scores_ranked as ranked "
            "join raw.events as e using (person_id) "
            "where ranked.decile = 1 and e.event_type in ('job_click', 'signup', 'inquiry', "
            "'guide_download', 'fair_registration') and e.occurred_at >= ? "
            "order by ranked.person_id limit 1", [SCORED_ON]).fetchone()[0]
    # when the person opts out (erasure) and the monitor runs again
    (tmp_path / "optouts.csv").write_text(
        f"person_id,requested_at,kind\n{person},2026-03-11T00:00:00Z,erasure\n", encoding="utf-8")
    apply_optouts(home.warehouse_path, tmp_path / "optouts.csv")
    after = monitor(_settings(home)).runs[0]
    # then the backtest counts one person and one positive fewer
    assert after.persons == before.persons - 1
    positives = sum(d.persons_with_intent for d in after.deciles)
    assert positives == sum(d.persons_with_intent for d in before.deciles) - 1
    with open_warehouse(home.warehouse_path, read_only=True) as con:
        stored = con.execute("select sum(persons) from marts.backtest_deciles").fetchone()[0]
    assert stored == after.persons
    # and the health file the portal reads names no person
    assert person not in home.health_file.read_text()


def test_the_stability_index_is_near_zero_for_the_same_distribution_and_large_for_a_shift():
    import numpy as np

    # given a reference sample with many ties at 0 and some unknown values
    rng = np.random.default_rng(4)
    reference = np.where(rng.random(20_000) < 0.4, 0.0, rng.gamma(2.0, 3.0, 20_000))
    reference[rng.random(20_000) < 0.05] = np.nan
    same = np.where(rng.random(20_000) < 0.4, 0.0, rng.gamma(2.0, 3.0, 20_000))
    same[rng.random(20_000) < 0.05] = np.nan
    # then a second draw of it is stable, a third of the values is not, nor more unknowns
    assert population_stability_index(reference, same) < 0.01
    assert population_stability_index(reference, same * 0.3) > 0.2
    more_unknown = same.copy()
    more_unknown[rng.random(20_000) < 0.3] = np.nan
    assert population_stability_index(reference, more_unknown) > 0.2


def test_each_threshold_crossed_is_one_breach_naming_version_metric_and_value():
    # given a matured run that drifted in its score, ranks worse than its test and is off
    run = RunHealth(
        as_of=date(2026, 10, 19), model_name="m", model_version="4", model_run_id="r",
        horizon_days=14, matures_on=date(2026, 11, 2), matured=True, persons_scored=100,
        reference_as_of=date(2026, 9, 21), inactive_30d_share=0.2, score_psi=0.31,
        feature_psi={"n_view_7d": 0.1, "days_since_first_event": 2.0}, training_base_rate=0.05,
        test_roc_auc=0.72, roc_auc=0.68, ece=0.025)
    # when held to the default thresholds
    found = breaches_of(run, MonitorSettings())
    # then the score, the AUC and the calibration breach, naming version and value; the
    # whole-history feature does not, the windowed one is within the threshold
    run_label = "model m version 4, scoring run 2026-10-19"
    assert found == [
        f"{run_label}: population stability index of the score is 0.310, above 0.2",
        f"{run_label}: backtest AUC is 0.680, more than 0.03 below its test AUC 0.720",
        f"{run_label}: backtest calibration error (ECE) is 0.025, above 0.02",
    ]
    # and within looser thresholds nothing breaches
    assert breaches_of(run, MonitorSettings(psi_threshold=0.5, max_auc_drop=0.05,
                                          max_calibration_error=0.03)) == []


def test_only_the_runs_within_the_window_of_the_newest_are_measured(tmp_path):
    # given scoring runs 0, 60 and 100 days before the newest (and one of another model)
    from warehouse.sql_files import read_sql

    newest = date(2026, 11, 2)
    with open_warehouse(tmp_path / "warehouse.duckdb") as con:
        for days, model in ((100, "m"), (60, "m"), (0, "m"), (0, "other")):
            con.execute("insert into marts.scores_runs values (?, ?, '1', 'r', '{}', 10, now())",
                        [newest - timedelta(days=days), model])
        # when the monitor lists the runs to measure with the default window of 90 days
        listed = con.execute(read_sql("monitoring/queries/scoring_runs.sql"), {
            "model_name": "m", "within_days": MonitorSettings().within_days}).fetchall()
    # then the run 100 days back is left as it was measured before
    assert [row[0] for row in listed] == [newest - timedelta(days=60), newest]


# ---- drift: the simulator plants a behaviour shift after training ---------------------------

WORLD_END = date(2026, 11, 1)
TRAINED_ON = date(2026, 10, 16)  # its latest training snapshot has 90 days of history
SCORED_AFTER_SHIFT = WORLD_END + timedelta(days=1)


def _world_home(folder, shift_from: date | None):
    """A 150-day simulated world (shifted from `shift_from` when given), a champion trained as
    of TRAINED_ON and everyone scored the day after the world's end."""
    from core.home import NorrutHome
    from simulator.world import WorldSettings, simulate_world

    world = folder / "world"
    simulate_world(world, WorldSettings(persons=3000, days=150, seed=5, end=WORLD_END,
                                        files_per_format=1, shift_from=shift_from))
    home = NorrutHome.resolve(folder / "home").ensure()
    ingest_inbox(home.warehouse_path, world / "inbox", world / "catalog.csv")
    train_model(TrainSettings(as_of=TRAINED_ON, n_training_snapshots=2, min_positives=30),
                home)
    build_features(home.warehouse_path, SCORED_AFTER_SHIFT)
    score_persons(home.warehouse_path, SCORED_AFTER_SHIFT, home.mlflow_tracking_uri)
    return home


@pytest.fixture(scope="module")
def shifted_home(tmp_path_factory):
    """A world whose engagement falls to 30 % the day the champion was trained, scored 17 days
    later."""
    return _world_home(tmp_path_factory.mktemp("shifted"), shift_from=TRAINED_ON)


@pytest.mark.slow
def test_a_behaviour_shift_after_training_raises_the_drift_alarm_and_fails_the_run(shifted_home):
    home = shifted_home
    # when the monitor job runs (as `norrut monitor` runs it without a Prefect server)
    with pytest.raises(ModelHealthAlarm) as alarm:
        monitor_job(DirectRun("monitor", home, "monitor-test"), _settings(home))
    # then the alarm names the model version, the metric and its value
    message = str(alarm.value)
    assert "curious-about-working-here version 1" in message
    assert "population stability index above 0.2 for" in message and "feature(s): " in message
    report = read_health(home.health_file)
    assert max(report.runs[0].feature_psi.values()) > 0.2
    # and the summary shows the trend and the alarm
    summary = (home.root / "reports" / "monitor" / "latest.md").read_text()
    assert "### Trend" in summary and "**Alarm**" in summary
    # and the command exits non-zero with the alarm on stderr
    result = CliRunner().invoke(build_app(), ["--home", str(home.root), "monitor"])
    assert result.exit_code == 1, result.output
    assert "population stability index" in result.output


@pytest.mark.slow
def test_the_alarm_fails_the_monitor_flow_run_and_its_artifact_shows_the_trend(
        shifted_home, prefect_harness, monkeypatch):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        FlowFilter,
        FlowFilterName,
    )

    # given a Prefect server configured, so `norrut monitor` is a flow run of it
    monkeypatch.setenv("PREFECT_API_URL", prefect_harness)
    # when the command runs on the shifted world
    result = CliRunner().invoke(build_app(), ["--home", str(shifted_home.root), "monitor"])
    # then it exits 1 naming the alarm
    assert result.exit_code == 1, result.output
    assert "population stability index above 0.2" in result.output
    # and its flow run failed with the alarm as its message, after publishing the trend
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=["monitor"])))
        mine = [run for run in runs
                if run.parameters.get("settings", {}).get("home") == str(shifted_home.root)]
        assert [run.state.type.value for run in mine] == ["FAILED"]
        assert "model health alarm" in mine[0].state.message
        artifacts = client.read_artifacts(artifact_filter=ArtifactFilter(
            flow_run_id=ArtifactFilterFlowRunId(any_=[mine[0].id])))
    summary = {artifact.key: artifact.data for artifact in artifacts}["model-health"]
    assert "### Trend" in summary and "**Alarm**" in summary


@pytest.mark.slow
def test_a_stable_world_raises_no_alarm(tmp_path):
    # given the same world without the shift
    home = _world_home(tmp_path, shift_from=None)
    # when the monitor job runs, then it passes: the score and every windowed feature are
    # stable (only the whole-history counts grow, as the history does)
    report = monitor_job(DirectRun("monitor", home, "monitor-test"), _settings(home))
    assert report.alarms == []
    (run,) = report.runs
    lifetime = whole_history_features()
    assert max(psi for name, psi in run.feature_psi.items() if name not in lifetime) < 0.2
    assert run.score_psi < 0.2
    assert run.feature_psi["days_since_first_event"] > 0.2, "it grows with the history"
    # and the same world alarms when asked to watch the whole-history features too
    with pytest.raises(ModelHealthAlarm, match="feature.*days_since_first_event"):
        monitor_job(DirectRun("monitor", home, "monitor-test"),
                    _settings(home, alarm_on_whole_history_features=True))
