"""CLI commands for features and models: `norrut features`, `train`, `promote`, `models`."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from features.settings import FeatureSettings
from models.settings import PromoteSettings, TrainSettings
from norrut.cli.context import (
    JobCommand,
    NorrutCommand,
    NorrutGroup,
    fail,
    job_settings,
    resolved_as_of,
    run_failure,
    setting_option,
    settings_from,
    spinner,
)
from norrut.cli.progress import progress_bar

features_app = typer.Typer(
    cls=NorrutGroup, no_args_is_help=False,
    help="Point-in-time interest features per person: `norrut features list` describes each, "
         "`norrut features build` builds them for a date.",
)


@features_app.callback(invoke_without_command=True)
def features(ctx: typer.Context) -> None:
    """Without a command, show the group's help (exit code 0)."""
    if ctx.invoked_subcommand is None:
        typer.echo(ctx.get_help())


@features_app.command("list", cls=NorrutCommand)
def list_features() -> None:
    """Print every feature with a one-line description."""
    from rich.console import Console
    from rich.table import Table

    from features.catalog import FEATURE_SET_VERSION, FEATURES

    table = Table(title=f"Feature set {FEATURE_SET_VERSION}: {len(FEATURES)} features")
    table.add_column("feature", style="bold")
    table.add_column("description")
    for feature in FEATURES:
        table.add_row(feature.name, feature.description)
    Console(width=160).print(table)


@features_app.command("build", cls=JobCommand.for_settings(FeatureSettings))
def build(ctx: typer.Context) -> None:
    """Materialise features.person_features for one as-of date (its rows are replaced).

    The summary is also written to <home>/reports/build-features/latest.md; with
    PREFECT_API_URL set, the command runs as a Prefect flow run named build-features-<as-of>
    of that server instead."""
    from features.build import NoEventsBeforeError
    from flows.run import JobRunFailed, run_build_features

    settings = job_settings(ctx)
    home = settings.norrut_home()
    shown = resolved_as_of(home, settings.as_of)
    with progress_bar(f"features as of {shown}") as progress:
        try:
            result = run_build_features(settings, quiet=True, progress=progress)
        except JobRunFailed as failed:
            raise run_failure(failed, home, (NoEventsBeforeError,)) from None
    typer.echo(f"built {result.features} features for {result.persons} persons as of "
               f"{result.as_of} (feature set {result.feature_set_version}) in {result.seconds:.1f} s")


def train(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Train, evaluate, register and (by default) promote a propensity model.

    The summary is also written to <home>/reports/train/latest.md; with PREFECT_API_URL set,
    the command runs as a Prefect flow run named train-<as-of> of that server instead."""
    from flows.run import JobRunFailed, run_train
    from models.datasets import TrainingDataError
    from models.distributed import DistributedFitError
    from models.leakage import LeakageError

    settings = job_settings(ctx)
    home = settings.norrut_home()
    shown = resolved_as_of(home, settings.as_of)
    with progress_bar(f"training as of {shown}") as progress:
        try:
            result = run_train(settings, quiet=True, progress=progress)
        except JobRunFailed as failed:
            user_errors = (TrainingDataError, LeakageError, DistributedFitError)
            raise run_failure(failed, home, user_errors,
                               " (nothing was registered; the champion is unchanged)") from None
    if as_json:
        typer.echo(result.model_dump_json(indent=2))
        return
    _print_training(result)


def _print_training(result) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(f"registered [bold]{result.model_name}[/] v{result.version} "
                  f"(run {result.run_id}) in {result.seconds:.0f} s; rows "
                  + ", ".join(f"{k} {v}" for k, v in result.rows.items()))
    table = Table(title=f"Out-of-time test snapshot {result.snapshots['test_snapshot']}")
    table.add_column("metric")
    table.add_column("model", justify="right")
    table.add_column("baseline", justify="right")
    champion = result.promotion.champion_metrics if result.promotion else None
    if champion:
        table.add_column("champion", justify="right")
    for key in ("roc_auc", "pr_auc", "log_loss", "brier", "ece", "lift_at_1pct",
                "lift_at_5pct", "lift_at_10pct", "cumulative_gain_decile_1"):
        row = [key, f"{result.test_metrics[key]:.4f}", f"{result.baseline_test_metrics[key]:.4f}"]
        if champion:
            row.append(f"{champion[key]:.4f}")
        table.add_row(*row)
    console.print(table)
    if result.promotion:
        console.print(f"promotion: [bold]{result.promotion.decision}[/] — {result.promotion.reason}")


def promote(ctx: typer.Context) -> None:
    """Make a version champion if it beats the champion on its out-of-time test snapshot."""
    from models.datasets import TrainingDataError
    from models.training import promote as promote_step

    settings = job_settings(ctx)
    with spinner("re-evaluating the version and the champion"):
        try:
            result = promote_step(settings)
        except (LookupError, TrainingDataError) as error:
            raise fail(str(error)) from None
    typer.echo(f"v{result.version}: {result.decision} — {result.reason}")


def models(
    ctx: typer.Context,
    model_name: Annotated[str | None, setting_option(PromoteSettings, "model_name")] = None,
    tracking_uri: Annotated[str | None, setting_option(PromoteSettings, "tracking_uri")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the versions as JSON.")] = False,
) -> None:
    """List the registered versions with their aliases and test metrics."""
    from rich.console import Console
    from rich.table import Table

    from models.registry import list_versions

    # The same model and store a promotion reads.
    settings = settings_from(PromoteSettings, ctx, model_name=model_name,
                             tracking_uri=tracking_uri)
    name = settings.model_name
    versions = list_versions(settings.tracking_uri or settings.norrut_home().mlflow_tracking_uri,
                             name)
    if as_json:
        typer.echo(json.dumps(versions, indent=2))
        return
    if not versions:
        typer.echo(f"no registered versions of {name}; run `norrut train`")
        return
    table = Table(title=name)
    for column in ("version", "aliases", "test snapshot", "AUC", "PR-AUC", "log loss",
                   "lift@10%", "baseline AUC", "decision"):
        table.add_column(column)
    for row in versions:
        metrics, baseline = row["test_metrics"], row["baseline_test_metrics"]
        table.add_row(
            row["version"], ", ".join(row["aliases"]), row["tags"].get("test_snapshot", ""),
            _number(metrics.get("roc_auc")), _number(metrics.get("pr_auc")),
            _number(metrics.get("log_loss")), _number(metrics.get("lift_at_10pct"), 2),
            _number(baseline.get("roc_auc")), row["tags"].get("promotion_reason", ""),
        )
    Console(width=200).print(table)


def _number(value: float | None, digits: int = 4) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def register(app: typer.Typer) -> None:
    """Add this area's commands to the norrut app."""
    app.add_typer(features_app, name="features")
    app.command("train", cls=JobCommand.for_settings(
        TrainSettings,
        aliases={"horizon_days": "--horizon", "n_training_snapshots": "--snapshots",
                 "snapshot_interval_days": "--interval", "optuna_trials": "--trials"},
        option_settings={"intent_types": {"metavar": "TYPE[,TYPE...]"}}))(train)
    # The promotion step takes no writer lock, so there is nothing to wait for.
    app.command("promote", cls=JobCommand.for_settings(
        PromoteSettings, leave_out={"lock_wait_seconds"}))(promote)
    app.command("models", cls=NorrutCommand)(models)
