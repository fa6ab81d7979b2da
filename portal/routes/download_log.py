"""The download audit log, for admins only: `/admin/downloads`."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from portal import audit
from portal.access import AdminSession
from portal.state import Portal
from portal.templating import render

router = APIRouter()


@router.get("/admin/downloads", response_class=HTMLResponse)
def show_download_log(request: Request, portal: Portal, current: AdminSession) -> HTMLResponse:
    entries, unreadable = audit.read_entries(portal.home.download_audit_log)
    return render(request, "audit.html", current,
                  {"entries": entries, "unreadable": unreadable})
