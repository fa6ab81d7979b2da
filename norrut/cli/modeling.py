"""CLI commands for features and models: `norrut features`, `train`, `promote`, `models`."""

from __future__ import annotations

import json
from contextlib import contextmanager
from datetime import date, datetime
from typing import Annotated

import typer

from norrut.cli.context import home_of

features_app = typer.Typer(
    help="Point-in-time interest features per person.", no_args_is_help=False,
)


def _as_of_option(help_text: str):
    return typer.Option("--as-of", help=help_text, formats=["%Y-%m-%d"], show_default=False)


@contextmanager
def _spinner(description: str):
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                  transient=True) as progress:
        task = progress.add_task(description, total=None)
        yield lambda text: progress.update(task, description=text)


def _fail(message: str) -> None:
    from rich.console import Console

    Console(stderr=True, soft_wrap=True).print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code=2)


LOCK_WAIT_HELP = "How long to wait for another run to release the warehouse."


def _failure(failed, user_errors: tuple[type[BaseException], ...], suffix: str = "") -> str:
    """The line to print for a failed flow run: the user's mistake (or a busy warehouse) as it
    was raised, anything else as the run's own error."""
    from core.locking import WarehouseBusyError

    cause = failed.__cause__
    if isinstance(cause, WarehouseBusyError):
        return str(cause)
    if isinstance(cause, user_errors):
        return f"{cause}{suffix}"
    return f"the flow run failed: {failed}"


def _busy_message(home) -> str:
    """A writer holds the warehouse file: name its run when it recorded itself."""
    from core.locking import lock_path_for, read_holder

    holder = read_holder(lock_path_for(home.warehouse_path, home.locks_dir))
    who = holder.describe() if holder else "another norrut process"
    return f"the warehouse is in use by {who} (one writer at a time); try again when it finishes"


def _resolve_as_of(ctx: typer.Context, as_of: datetime | None) -> date:
    if as_of is not None:
        return as_of.date()
    import duckdb

    from models.datasets import TrainingDataError, default_as_of
    from warehouse.db import WarehouseMissingError, open_warehouse
    from warehouse.status import WarehouseNotSetUpError, check_set_up, is_writer_lock_conflict

    warehouse_path = home_of(ctx).warehouse_path
    try:
        with open_warehouse(warehouse_path, read_only=True) as con:
            check_set_up(con, warehouse_path)
            return default_as_of(con)
    except (WarehouseMissingError, WarehouseNotSetUpError, TrainingDataError) as error:
        _fail(str(error))
    except duckdb.IOException as error:
        if not is_writer_lock_conflict(error):
            raise  # not another run's doing: the CLI says what it is, in one line
        _fail(_busy_message(home_of(ctx)))


@features_app.callback(invoke_without_command=True)
def features(
    ctx: typer.Context,
    show_list: Annotated[bool, typer.Option(
        "--list", help="Print every feature with a one-line description.")] = False,
) -> None:
    """Point-in-time interest features: `--list` them or `build` them for a date."""
    if show_list:
        _print_feature_list()
    elif ctx.invoked_subcommand is None:
        typer.echo(ctx.get_help())


def _print_feature_list() -> None:
    from rich.console import Console
    from rich.table import Table

    from features.catalog import FEATURE_SET_VERSION, FEATURES

    table = Table(title=f"Feature set {FEATURE_SET_VERSION}: {len(FEATURES)} features")
    table.add_column("feature", style="bold")
    table.add_column("description")
    for feature in FEATURES:
        table.add_row(feature.name, feature.description)
    Console(width=160).print(table)


@features_app.command("list")
def list_features() -> None:
    """Print every feature with a one-line description."""
    _print_feature_list()


@features_app.command("build")
def build(
    ctx: typer.Context,
    as_of: Annotated[datetime | None, _as_of_option(
        "Build features from the events strictly before this date (YYYY-MM-DD) "
        "(default: the day after the last event).")] = None,
    lock_wait_seconds: Annotated[float, typer.Option(
        "--lock-wait-seconds", min=0, help=LOCK_WAIT_HELP)] = 600.0,
) -> None:
    """Materialise features.person_features for one as-of date (its rows are replaced).

    Runs as a Prefect flow run named build-features-<as-of>, so it shows up in the Prefect UI."""
    from features.build import NoEventsBeforeError
    from flows.run import FlowRunFailed, run_build_features
    from flows.settings import BuildFeaturesSettings

    chosen = _resolve_as_of(ctx, as_of)
    settings = BuildFeaturesSettings(home=str(home_of(ctx).root), as_of=chosen,
                                     lock_wait_seconds=lock_wait_seconds)
    with _spinner(f"building features as of {chosen} in a Prefect flow run"):
        try:
            result = run_build_features(settings, quiet=True)
        except FlowRunFailed as failed:
            _fail(_failure(failed, (NoEventsBeforeError,)))
    typer.echo(f"built {result.features} features for {result.persons} persons as of "
               f"{result.as_of} (feature set {result.feature_set_version}) in {result.seconds:.1f} s")


def train(
    ctx: typer.Context,
    as_of: Annotated[datetime | None, _as_of_option(
        "Scoring date (YYYY-MM-DD): every snapshot and label window lies before it "
        "(default: the day after the last event).")] = None,
    horizon: Annotated[int, typer.Option(
        "--horizon", min=1, help="Label window in days: intent within this many days of a snapshot.")] = 14,
    intent_types: Annotated[str, typer.Option(
        "--intent-types", help="Comma-separated intent event types that count as the label.")]
        = "job_click,guide_download,inquiry,signup,fair_registration",
    snapshots: Annotated[int, typer.Option(
        "--snapshots", min=1,
        help="Weekly training snapshots (fewer when the events start later).")] = 6,
    interval: Annotated[int, typer.Option(
        "--interval", min=1, help="Days between training snapshots.")] = 7,
    min_positives: Annotated[int, typer.Option(
        "--min-positives", min=1, help="Fewest positive persons each set must hold.")] = 100,
    trials: Annotated[int, typer.Option(
        "--trials", min=0, help="Optuna trials for a parameter search (0 = use the defaults).")] = 0,
    promote: Annotated[bool, typer.Option(
        "--promote/--no-promote", help="Run the promotion step after registering.")] = True,
    model_name: Annotated[str, typer.Option(
        "--model-name", help="Registered model name.")] = "curious-about-working-here",
    tracking_uri: Annotated[str | None, typer.Option(
        "--tracking-uri", help="MLflow tracking URI (default: SQLite under the home folder).",
        show_default=False)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    lock_wait_seconds: Annotated[float, typer.Option(
        "--lock-wait-seconds", min=0, help=LOCK_WAIT_HELP)] = 600.0,
) -> None:
    """Train, evaluate, register and (by default) promote a propensity model.

    Runs as a Prefect flow run named train-<as-of>, so it shows up in the Prefect UI."""
    from pydantic import ValidationError

    from flows.run import FlowRunFailed, run_train
    from flows.settings import TrainSettings
    from models.datasets import TrainingDataError
    from models.leakage import LeakageError

    chosen = _resolve_as_of(ctx, as_of)
    try:
        settings = TrainSettings(
            home=str(home_of(ctx).root), as_of=chosen, horizon_days=horizon,
            intent_types=[part.strip() for part in intent_types.split(",") if part.strip()],
            n_training_snapshots=snapshots, snapshot_interval_days=interval,
            min_positives=min_positives, optuna_trials=trials, promote=promote,
            model_name=model_name, tracking_uri=tracking_uri,
            lock_wait_seconds=lock_wait_seconds,
        )
    except ValidationError as error:
        _fail("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors()))
    with _spinner("training in a Prefect flow run"):
        try:
            result = run_train(settings, quiet=True)
        except FlowRunFailed as failed:
            _fail(_failure(failed, (TrainingDataError, LeakageError),
                           " (nothing was registered; the champion is unchanged)"))
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


def promote(
    ctx: typer.Context,
    version: Annotated[str | None, typer.Option(
        "--version", help="Model version to consider (default: the newest).",
        show_default=False)] = None,
    model_name: Annotated[str, typer.Option(
        "--model-name", help="Registered model name.")] = "curious-about-working-here",
    tracking_uri: Annotated[str | None, typer.Option(
        "--tracking-uri", help="MLflow tracking URI (default: SQLite under the home folder).",
        show_default=False)] = None,
) -> None:
    """Make a version champion if it beats the champion on its out-of-time test snapshot."""
    from models.datasets import TrainingDataError
    from models.training import promote as promote_step

    with _spinner("re-evaluating the version and the champion"):
        try:
            result = promote_step(home_of(ctx), version, model_name, tracking_uri)
        except (LookupError, TrainingDataError) as error:
            _fail(str(error))
    typer.echo(f"v{result.version}: {result.decision} — {result.reason}")


def models(
    ctx: typer.Context,
    model_name: Annotated[str, typer.Option(
        "--model-name", help="Registered model name.")] = "curious-about-working-here",
    tracking_uri: Annotated[str | None, typer.Option(
        "--tracking-uri", help="MLflow tracking URI (default: SQLite under the home folder).",
        show_default=False)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the versions as JSON.")] = False,
) -> None:
    """List the registered versions with their aliases and test metrics."""
    from rich.console import Console
    from rich.table import Table

    from models.registry import list_versions

    uri = tracking_uri or home_of(ctx).mlflow_tracking_uri
    versions = list_versions(uri, model_name)
    if as_json:
        typer.echo(json.dumps(versions, indent=2))
        return
    if not versions:
        typer.echo(f"no registered versions of {model_name}; run `norrut train`")
        return
    table = Table(title=model_name)
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
    app.command("train")(train)
    app.command("promote")(promote)
    app.command("models")(models)
