"""CLI commands for failure alerts on a Prefect server: `norrut alerts add/remove`."""

from __future__ import annotations

from typing import Annotated

import typer

from norrut.cli.context import NorrutCommand, NorrutGroup, fail

alerts_app = typer.Typer(
    cls=NorrutGroup,
    name="alerts",
    help="Tell the team when a scheduled Norrut run fails (needs PREFECT_API_URL).",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    """Add this area's commands to the norrut app."""
    app.add_typer(alerts_app, name="alerts")


@alerts_app.command("add", cls=NorrutCommand)
def add_alert(
    slack_webhook: Annotated[str | None, typer.Option(
        "--slack-webhook", metavar="URL",
        help="Post to this Slack incoming-webhook URL.", show_default=False)] = None,
    teams_webhook: Annotated[str | None, typer.Option(
        "--teams-webhook", metavar="URL",
        help="Post to this Microsoft Teams workflow webhook URL.", show_default=False)] = None,
    webhook: Annotated[str | None, typer.Option(
        "--webhook", metavar="URL",
        help='POST a JSON object with "subject" and "text" to this URL (an e-mail gateway, '
             "a chat bot, an incident tool).", show_default=False)] = None,
    sendgrid_api_key: Annotated[str | None, typer.Option(
        "--sendgrid-api-key", metavar="KEY", envvar="NORRUT_SENDGRID_API_KEY",
        help="Send e-mail through SendGrid with this API key (or $NORRUT_SENDGRID_API_KEY).",
        show_default=False)] = None,
    sender: Annotated[str | None, typer.Option(
        "--from", metavar="ADDRESS", help="The e-mail sender (with --sendgrid-api-key).",
        show_default=False)] = None,
    recipients: Annotated[list[str] | None, typer.Option(
        "--to", metavar="ADDRESS", help="An e-mail recipient; repeat for more.",
        show_default=False)] = None,
) -> None:
    """Create (or replace) the automation that sends a message when a Norrut run fails."""
    from flows.alerts import AlertChannel, AlertSetupError, add_failure_alert

    chosen = [kind for kind, given in (("slack", slack_webhook), ("teams", teams_webhook),
                                       ("webhook", webhook), ("email", sendgrid_api_key))
              if given]
    if len(chosen) != 1:
        raise fail("give exactly one of --slack-webhook, --teams-webhook, --webhook or "
                   "--sendgrid-api-key (with --from and --to)")
    kind = chosen[0]
    channel = AlertChannel(kind=kind, url=slack_webhook or teams_webhook or webhook,
                           sendgrid_api_key=sendgrid_api_key, sender_email=sender,
                           to_emails=tuple(recipients or ()))
    try:
        automation_id = add_failure_alert(channel)
    except AlertSetupError as problem:
        raise fail(str(problem)) from problem
    typer.echo(f"Alert added ({kind}): a failed or crashed Norrut run now sends a message "
               f"(automation {automation_id}, under Automations in the Prefect UI).")


@alerts_app.command("remove", cls=NorrutCommand)
def remove_alert() -> None:
    """Delete the failure alert."""
    from flows.alerts import AlertSetupError, remove_failure_alert

    try:
        removed = remove_failure_alert()
    except AlertSetupError as problem:
        raise fail(str(problem)) from problem
    typer.echo("Alert removed." if removed else "There was no alert to remove.")
