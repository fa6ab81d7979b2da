"""Results of earlier campaigns: `/lift`."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from portal import lift
from portal.access import PageSession
from portal.state import Portal
from portal.templating import render

router = APIRouter()


@router.get("/lift", response_class=HTMLResponse)
def show_lift(request: Request, portal: Portal, current: PageSession) -> HTMLResponse:
    return render(request, "lift.html", current,
                  {"results": lift.list_lift_results(portal.home.exports_dir)})
