"""The portal's Jinja templates, the filters they format numbers and times with, and `render`."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from portal.access import SignedIn
from portal.state import portal_state


def make_templates(directory: Path, destination_labels: dict[str, str]) -> Jinja2Templates:
    """The templates with the portal's filters, and `destination_labels` (name → what people
    call the platform) for every page, since it is the same for every request."""
    templates = Jinja2Templates(directory=str(directory))
    templates.env.globals["destination_labels"] = destination_labels
    templates.env.filters["number"] = _format_number
    templates.env.filters["percent"] = _format_percent
    templates.env.filters["timestamp"] = _format_timestamp
    templates.env.filters["bytes"] = _format_bytes
    templates.env.filters["decimal"] = _format_decimal
    return templates


def render(request: Request, template: str, current: SignedIn | None, context: dict[str, Any],
           *, status_code: int = 200, headers: dict[str, str] | None = None) -> HTMLResponse:
    """A page with `context`, plus the signed-in user and CSRF token the layout needs."""
    page_context = {**context,
                    "user": current.user if current else None,
                    "csrf_token": current.session.csrf_token if current else ""}
    return portal_state(request).templates.TemplateResponse(
        request, template, page_context, status_code=status_code, headers=headers)


def _format_number(value: Any) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:,.0f}"
    return "–"


def _format_percent(value: Any, digits: int = 0) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value * 100:.{digits}f} %"
    return "–"


def _format_decimal(value: Any, digits: int = 2) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:.{digits}f}"
    return "–"


def _format_bytes(value: Any) -> str:
    if not isinstance(value, int):
        return "–"
    for unit in ("bytes", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:,.0f} {unit}" if unit == "bytes" else f"{value:,.1f} {unit}"
        value /= 1000
    return "–"


def _format_timestamp(value: Any) -> str:
    """ISO 8601 as "2026-11-22 05:00 UTC"; anything else unchanged."""
    if not isinstance(value, str) or not value:
        return "–"
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    if moment.tzinfo is None:
        return moment.strftime("%Y-%m-%d %H:%M")
    offset = moment.utcoffset()
    if offset is not None and offset.total_seconds() == 0:
        return moment.strftime("%Y-%m-%d %H:%M UTC")
    return moment.strftime("%Y-%m-%d %H:%M %z")
