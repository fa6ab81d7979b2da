"""CLI command for model health: `norrut monitor`."""

from __future__ import annotations

import typer

from monitoring.settings import MonitorSettings
from norrut.cli import context
from norrut.cli.context import JobCommand, job_settings
from norrut.cli.progress import progress_bar

ALARM_EXIT_CODE = 1  # the job did its work and found a crossed threshold, as ingest --strict
DRIFTED_SHOWN = 5


def register(app: typer.Typer) -> None:
    """Add this area's commands to the norrut app."""
    app.command("monitor", cls=JobCommand.for_settings(MonitorSettings))(monitor)


def monitor(ctx: typer.Context) -> None:
    """Measure the champion's health after each stored scoring run: drift of every feature and
    of the score against its training snapshot, and, once a run's label horizon has passed, its
    backtest (realised intent per decile against the predicted score, AUC, PR-AUC, lift,
    Brier, ECE). Exit code 1 when a threshold is crossed (the alarm names the model version,
    the metric and its value).

    The summary is also written to <home>/reports/monitor/latest.md and the portal's "Model
    health" page; with PREFECT_API_URL set, the command runs as a Prefect flow run named
    monitor-<today> of that server instead."""
    from mlflow.exceptions import MlflowException

    from flows.run import JobRunFailed, run_monitor
    from monitoring.health import ModelHealthAlarm
    from monitoring.health_file import read_health

    settings = job_settings(ctx)
    home = settings.norrut_home().ensure()
    try:
        with progress_bar("measuring model health") as progress:
            report = run_monitor(settings, quiet=True, progress=progress)
    except JobRunFailed as failed:
        if not isinstance(failed.__cause__, ModelHealthAlarm):
            raise context.run_failure(failed, home, (LookupError, MlflowException)) from None
        report = read_health(home.health_file)
        if report is not None:
            _print_health(report)
        for alarm in (report.alarms if report is not None else [str(failed.__cause__)]):
            typer.secho(f"alarm: {alarm}", fg=typer.colors.RED, err=True)
        raise typer.Exit(code=ALARM_EXIT_CODE) from None
    _print_health(report)


def _number(value: float | None, form: str = ".3f") -> str:
    return "-" if value is None else format(value, form)


def _print_health(report) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if not report.runs:
        console.print(f"No scoring run of {report.model_name} is stored yet: run `norrut score`.")
        return
    table = Table(title=f"Model health of {report.model_name}, oldest scoring run first")
    for column in ("as of", "version", "backtest", "AUC (test)", "lift 10 %", "ECE",
                   "score PSI"):
        table.add_column(column, no_wrap=column in ("as of", "backtest"))
    for run in report.runs:
        table.add_row(
            run.as_of.isoformat(), run.model_version,
            "matured" if run.matured else f"due {run.matures_on.isoformat()}",
            f"{_number(run.roc_auc)} ({_number(run.test_roc_auc)})",
            _number(run.lift_at_10pct, ".2f"), _number(run.ece), _number(run.score_psi))
    console.print(table)
    newest = report.runs[-1]
    drift = Table(title=f"Most drifted features of {newest.as_of.isoformat()} against the "
                        f"training snapshot {newest.reference_as_of.isoformat()}")
    drift.add_column("feature", overflow="fold")
    drift.add_column("PSI", justify="right")
    for name, value in newest.most_drifted(DRIFTED_SHOWN):
        drift.add_row(name, f"{value:.3f}")
    console.print(drift)
    if report.matured_runs:
        newest = report.matured_runs[-1]
        deciles = Table(title=f"Backtest of {newest.as_of.isoformat()}: predicted against "
                              f"realised intent in {newest.horizon_days} days (base rate "
                              f"{_number(newest.base_rate, '.2%')})")
        for column in ("decile", "persons", "mean predicted", "realised"):
            deciles.add_column(column, justify="right")
        for decile in newest.deciles:
            deciles.add_row(str(decile.decile), f"{decile.persons:,}",
                            f"{decile.mean_score:.2%}", f"{decile.realised_rate:.2%}")
        console.print(deciles)
    else:
        console.print("No scoring run has matured yet (its as-of date plus the label horizon "
                      "lies past the newest event).")
    if not report.alarms:
        console.print("No alarm: the newest scoring run and the newest backtest are within "
                      "every threshold.")
