"""The portal's web app: `create_app(home)` builds it; `norrut serve` runs it with uvicorn.

Server-rendered pages, no JavaScript. Every page but the login needs a session; downloads
answer 401 instead of redirecting, so scripts see a clear refusal. The routes live in
`portal/routes/`, one router per area; what they share is a `PortalState` on `app.state`.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from pathlib import Path
from urllib.parse import quote

from argon2 import PasswordHasher
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from activation.exporters import EXPORTERS
from core.home import NorrutHome
from portal.access import LoginRequired, signed_in
from portal.auth import LoginThrottle, SessionStore
from portal.routes import download_log, lift_results, login, model_health, runs, what_works
from portal.state import PortalState, portal_state
from portal.templating import make_templates, render
from portal.users import PasswordCheckSlots, UserStore

PACKAGE_DIR = Path(__file__).parent

SECURITY_HEADERS = {
    # No scripts at all (the pages use none), only this site's style sheet and images.
    "Content-Security-Policy": "default-src 'none'; script-src 'none'; style-src 'self'; "
    "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    # Pages and files hold personal data: no browser or proxy may keep a copy.
    "Cache-Control": "no-store",
}

ERROR_MESSAGES = {
    401: "Please sign in to see this.",
    403: "Your account may not open this page.",
    404: "There is nothing here. The audience or file may not exist, or the address "
         "was mistyped.",
    405: "This address cannot be used that way.",
}


def create_app(home: NorrutHome, *, secure_cookies: bool = False, max_failed_logins: int = 5,
               max_failed_logins_per_client: int = 10,
               clock: Callable[[], float] = time.time,
               password_hasher: PasswordHasher | None = None,
               password_check_slots: PasswordCheckSlots | None = None) -> FastAPI:
    """The portal for one Norrut home. `secure_cookies` for serving behind HTTPS.

    `max_failed_logins` (per user name) and `max_failed_logins_per_client` (per address) are
    the failures before further tries must wait (portal/README.md, "Security").
    """
    app = FastAPI(title="Norrut segment portal", docs_url=None, redoc_url=None,
                  openapi_url=None)
    app.state.portal = PortalState(
        home=home,
        users=UserStore(home.users_file, password_hasher, password_check_slots),
        sessions=SessionStore(clock),
        throttle=LoginThrottle(free_failures_per_account=max_failed_logins,
                               free_failures_per_client=max_failed_logins_per_client,
                               clock=clock),
        templates=make_templates(
            PACKAGE_DIR / "templates",
            destination_labels={name: exporter.label for name, exporter in EXPORTERS.items()}),
        secure_cookies=secure_cookies,
    )
    app.mount("/static", StaticFiles(directory=str(PACKAGE_DIR / "static")), name="static")
    app.middleware("http")(add_security_headers)
    app.add_exception_handler(LoginRequired, redirect_to_login)
    app.add_exception_handler(StarletteHTTPException, show_error_page)
    for router in (login.router, runs.router, lift_results.router, model_health.router,
                   what_works.router,
                   download_log.router):
        app.include_router(router)
    return app


async def add_security_headers(request: Request,
                               call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    response = await call_next(request)
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


async def redirect_to_login(request: Request, _: LoginRequired) -> RedirectResponse:
    # Only a page can be returned to after signing in; a form post starts from the list.
    target = request.url.path if request.method == "GET" else "/"
    if request.url.query and request.method == "GET":
        target += "?" + request.url.query
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)


async def show_error_page(request: Request, error: StarletteHTTPException) -> HTMLResponse:
    default_detail = HTTPStatus(error.status_code).phrase
    message = (error.detail if error.detail and error.detail != default_detail
               else ERROR_MESSAGES.get(error.status_code, "Something went wrong."))
    current = signed_in(request, portal_state(request))
    return render(request, "error.html", current,
                  {"status_code": error.status_code, "message": message},
                  status_code=error.status_code, headers=getattr(error, "headers", None))
