"""A failure alert on a Prefect server: when any Norrut flow run fails or crashes, say so.

The alert is a Prefect automation (trigger: a flow run tagged `norrut` entering Failed or
Crashed; action: send a notification) and a notification block it sends through (Slack, a
generic JSON webhook, Microsoft Teams or e-mail by SendGrid). Both live on the server, so they
fire for scheduled runs while nobody watches a terminal. Running `norrut alerts add` again
replaces the alert of the same name instead of adding a second one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ALERT_NAME = "norrut-run-failed"
# Deployments in prefect.yaml carry this tag, and their flow runs inherit it.
NORRUT_TAG = "norrut"
FAILED_EVENTS = ("prefect.flow-run.Failed", "prefect.flow-run.Crashed")

SUBJECT = "Norrut: {{ flow.name }} run {{ flow_run.name }} {{ flow_run.state.name | lower }}"
BODY = (
    "The Norrut flow run {{ flow_run.name }} ({{ flow.name }}"
    "{% if deployment %}, deployment {{ deployment.name }}{% endif %}) "
    "ended {{ flow_run.state.name }} at {{ flow_run.state.timestamp }}.\n"
    "Reason: {{ flow_run.state.message }}\n"
    "Open it in the Prefect UI: {{ flow_run | ui_url }}"
)

ChannelKind = Literal["slack", "teams", "webhook", "email"]


class AlertSetupError(ValueError):
    """The alert cannot be created as asked (no server, a missing setting)."""


@dataclass(frozen=True)
class AlertChannel:
    """Where the alert goes: a kind and what that kind needs."""

    kind: ChannelKind
    url: str | None = None
    sendgrid_api_key: str | None = None
    sender_email: str | None = None
    to_emails: tuple[str, ...] = ()

    def notification_block(self):
        """The Prefect notification block for this channel."""
        from prefect.blocks.notifications import (
            CustomWebhookNotificationBlock,
            MicrosoftTeamsWebhook,
            SendgridEmail,
            SlackWebhook,
        )

        if self.kind == "email":
            if not (self.sendgrid_api_key and self.sender_email and self.to_emails):
                raise AlertSetupError("e-mail alerts need a SendGrid API key, a sender address "
                                      "and at least one recipient")
            return SendgridEmail(api_key=self.sendgrid_api_key, sender_email=self.sender_email,
                                 to_emails=list(self.to_emails))
        if not self.url:
            raise AlertSetupError(f"{self.kind} alerts need a URL")
        if self.kind == "slack":
            return SlackWebhook(url=self.url)
        if self.kind == "teams":
            return MicrosoftTeamsWebhook(url=self.url)
        return CustomWebhookNotificationBlock(
            name=ALERT_NAME, url=self.url, method="POST",
            json_data={"subject": "{{subject}}", "text": "{{body}}"})


def add_failure_alert(channel: AlertChannel, name: str = ALERT_NAME) -> str:
    """Create (or replace) the block and the automation on the configured Prefect server.

    Returns the automation's id.
    """
    from prefect.automations import Automation, EventTrigger, SendNotification
    from prefect.events.schemas.automations import Posture

    _require_a_server()
    block = channel.notification_block()
    block_id = block.save(name, overwrite=True)
    _delete_automations_named(name)
    automation = Automation(
        name=name,
        description="Tells the team when a Norrut flow run fails or crashes "
                    "(created by `norrut alerts add`).",
        trigger=EventTrigger(
            match={"prefect.resource.id": "prefect.flow-run.*"},
            match_related={"prefect.resource.role": "tag",
                           "prefect.resource.id": f"prefect.tag.{NORRUT_TAG}"},
            expect=set(FAILED_EVENTS),
            posture=Posture.Reactive,
            threshold=1,
        ),
        actions=[SendNotification(block_document_id=block_id, subject=SUBJECT, body=BODY)],
    ).create()
    return str(automation.id)


def remove_failure_alert(name: str = ALERT_NAME) -> int:
    """Delete the automation(s) of that name; returns how many there were."""
    _require_a_server()
    return _delete_automations_named(name)


def _delete_automations_named(name: str) -> int:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        existing = client.read_automations_by_name(name=name)
        for automation in existing:
            client.delete_automation(automation.id)
    return len(existing)


def _require_a_server() -> None:
    from prefect.settings import PREFECT_API_URL

    if not PREFECT_API_URL.value():
        raise AlertSetupError(
            "alerts live on a Prefect server: set PREFECT_API_URL (for example "
            "http://127.0.0.1:4200/api) to the server the workers use")
