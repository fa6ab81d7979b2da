"""Which films, themes and campaigns work: `/what-works` and its CSV download
(`/what-works/download/report.csv`; under `/download/`, like every file, it answers 401 without a
session)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from portal import creatives
from portal.access import DownloadSession, PageSession
from portal.state import Portal
from portal.templating import render

router = APIRouter()


@router.get("/what-works", response_class=HTMLResponse)
def show_what_works(request: Request, portal: Portal, current: PageSession) -> HTMLResponse:
    page = creatives.what_works(portal.home.exports_dir)
    return render(request, "what_works.html", current, {
        "page": page, "run": page.report.run if page.report else None,
        "sections": page.sections(), "item_label": creatives.item_label,
        "words": creatives.DIMENSION_WORDS})


@router.get("/what-works/download/report.csv")
def download_what_works(portal: Portal, current: DownloadSession) -> Response:
    page = creatives.what_works(portal.home.exports_dir)
    if page.report is None:
        raise StarletteHTTPException(404, page.problem)
    as_of = page.report.run["as_of_date"].isoformat()
    return Response(creatives.report_csv(page.report), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition":
                             f'attachment; filename="what-works-{as_of}.csv"'})
