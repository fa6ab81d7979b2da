"""The portal's web app: `create_app(home)` builds it; `norrut serve` runs it with uvicorn.

Server-rendered pages, no JavaScript. Every page but the login needs a session; downloads
answer 401 instead of redirecting, so scripts see a clear refusal.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from http import HTTPStatus
from pathlib import Path
from typing import Annotated, Any, BinaryIO
from urllib.parse import quote

from argon2 import PasswordHasher
from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from activation.exporters import EXPORTERS
from core.home import NorrutHome
from portal import audit, charts, exports, lift
from portal.auth import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    LoginThrottle,
    Session,
    SessionStore,
    tokens_match,
)
from portal.users import PasswordChecksBusy, PasswordCheckSlots, User, UserStore, UserStoreError

PACKAGE_DIR = Path(__file__).parent
CHUNK_BYTES = 1024 * 1024
TOP_PROFILE_ENTRIES = 8
BUSY_RETRY_AFTER_SECONDS = 2

DESTINATION_LABELS = {name: exporter.label for name, exporter in EXPORTERS.items()}
MEDIA_TYPES = {".csv": "text/csv; charset=utf-8", ".json": "application/json"}

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


class LoginRequired(Exception):
    """Raised by page handlers when no valid session is present."""


@dataclass
class SignedIn:
    user: User
    session: Session
    token: str


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
    users = UserStore(home.users_file, password_hasher, password_check_slots)
    sessions = SessionStore(clock)
    throttle = LoginThrottle(free_failures_per_account=max_failed_logins,
                             free_failures_per_client=max_failed_logins_per_client, clock=clock)
    templates = Jinja2Templates(directory=str(PACKAGE_DIR / "templates"))
    _add_filters(templates)
    app.mount("/static", StaticFiles(directory=str(PACKAGE_DIR / "static")), name="static")

    def signed_in(request: Request) -> SignedIn | None:
        token = request.cookies.get(SESSION_COOKIE)
        session = sessions.get(token)
        if session is None:
            return None
        try:
            user = users.get(session.user_name)
        except UserStoreError:
            return None
        if user is None:
            # The account was removed while signed in.
            sessions.end(token)
            return None
        return SignedIn(user, session, token)

    def require_page_session(request: Request) -> SignedIn:
        current = signed_in(request)
        if current is None:
            raise LoginRequired()
        return current

    def render(request: Request, template: str, current: SignedIn | None,
               status_code: int = 200, **context: Any) -> HTMLResponse:
        context.update(
            user=current.user if current else None,
            csrf_token=current.session.csrf_token if current else "",
        )
        return templates.TemplateResponse(request, template, context, status_code=status_code)

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    @app.exception_handler(LoginRequired)
    async def redirect_to_login(request: Request, _: LoginRequired) -> RedirectResponse:
        # Only a page can be returned to after signing in; a form post starts from the list.
        target = request.url.path if request.method == "GET" else "/"
        if request.url.query and request.method == "GET":
            target += "?" + request.url.query
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)

    @app.exception_handler(StarletteHTTPException)
    async def error_page(request: Request, error: StarletteHTTPException) -> HTMLResponse:
        messages = {
            401: "Please sign in to see this.",
            403: "Your account may not open this page.",
            404: "There is nothing here. The audience or file may not exist, or the address "
                 "was mistyped.",
            405: "This address cannot be used that way.",
        }
        default_detail = HTTPStatus(error.status_code).phrase
        message = (error.detail if error.detail and error.detail != default_detail
                   else messages.get(error.status_code, "Something went wrong."))
        current = signed_in(request)
        return templates.TemplateResponse(
            request, "error.html",
            {"status_code": error.status_code, "message": message,
             "user": current.user if current else None,
             "csrf_token": current.session.csrf_token if current else ""},
            status_code=error.status_code, headers=getattr(error, "headers", None),
        )

    def login_form(request: Request, *, status_code: int = 200, error: str | None = None,
                   next_path: str = "/", user_name: str = "",
                   retry_after_seconds: int | None = None) -> HTMLResponse:
        # Login CSRF: the form carries a random value that must match a cookie set with it.
        form_token = _random_token()
        response = templates.TemplateResponse(
            request, "login.html",
            {"error": error, "next_path": _safe_next(next_path), "form_token": form_token,
             "user_name": user_name, "user": None, "csrf_token": "",
             "no_users": _no_users(users)},
            status_code=status_code,
            headers=({"Retry-After": str(retry_after_seconds)}
                     if retry_after_seconds is not None else None),
        )
        response.set_cookie(LOGIN_CSRF_COOKIE, form_token, httponly=True, samesite="strict",
                            secure=secure_cookies, path="/login")
        return response

    @app.get("/login", response_class=HTMLResponse)
    def show_login(request: Request, next: str = "/") -> Response:
        if signed_in(request) is not None:
            return RedirectResponse(_safe_next(next), status_code=303)
        return login_form(request, next_path=next)

    @app.post("/login", response_class=HTMLResponse)
    def submit_login(
        request: Request,
        user_name: Annotated[str, Form()] = "",
        password: Annotated[str, Form()] = "",
        form_token: Annotated[str, Form()] = "",
        next: Annotated[str, Form()] = "/",
    ) -> Response:
        user_name = user_name.strip()
        if not tokens_match(request.cookies.get(LOGIN_CSRF_COOKIE), form_token):
            return login_form(request, status_code=403, next_path=next, user_name=user_name,
                              error="The sign-in form had expired. Please try again.")
        # Counted before the password is checked, so concurrent tries cannot all get through.
        attempt = throttle.begin(user_name, _client_address(request))
        if not attempt.admitted:
            wait = attempt.retry_after_seconds
            return login_form(
                request, status_code=429, next_path=next, user_name=user_name,
                retry_after_seconds=wait,
                error=f"Too many failed sign-in attempts from here or for this account. For "
                      f"your safety, wait {wait} second{'s' if wait != 1 else ''} before "
                      f"trying again.",
            )
        try:
            user = users.authenticate(user_name, password)
        except PasswordChecksBusy:
            throttle.not_checked(attempt)
            return login_form(request, status_code=503, next_path=next, user_name=user_name,
                              retry_after_seconds=BUSY_RETRY_AFTER_SECONDS,
                              error="The portal is busy signing other people in. Please try "
                                    "again in a moment.")
        except UserStoreError as problem:
            throttle.not_checked(attempt)
            return login_form(request, status_code=500, next_path=next, user_name=user_name,
                              error=f"The portal cannot read its accounts: {problem}")
        if user is None:
            return login_form(request, status_code=401, next_path=next, user_name=user_name,
                              error="Wrong user name or password.")
        throttle.succeeded(attempt)
        token, _ = sessions.create(user.name)
        response = RedirectResponse(_safe_next(next), status_code=303)
        response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax",
                            secure=secure_cookies, path="/")
        response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
        return response

    @app.post("/logout")
    def logout(request: Request, csrf_token: Annotated[str, Form()] = "") -> Response:
        current = require_page_session(request)
        if not tokens_match(current.session.csrf_token, csrf_token):
            raise StarletteHTTPException(403, "The sign-out form had expired. Please reload "
                                              "the page and try again.")
        sessions.end(current.token)
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    @app.get("/", response_class=HTMLResponse)
    def list_audiences(request: Request) -> HTMLResponse:
        current = require_page_session(request)
        return render(request, "runs.html", current, runs=exports.list_runs(home.exports_dir),
                      destination_labels=DESTINATION_LABELS)

    @app.get("/runs/{as_of}/{version_folder}/{segment_name}", response_class=HTMLResponse)
    def show_segment(request: Request, as_of: str, version_folder: str,
                     segment_name: str) -> HTMLResponse:
        current = require_page_session(request)
        run, segment = _find_segment(home.exports_dir, as_of, version_folder, segment_name)
        themes = segment.profile("themes", "theme")[:TOP_PROFILE_ENTRIES]
        regions = segment.profile("regions", "region")[:TOP_PROFILE_ENTRIES]
        gains = segment.gains_by_decile
        return render(
            request, "segment.html", current, run=run, segment=segment,
            destination_labels=DESTINATION_LABELS,
            gains=sorted(gains, key=lambda row: row["decile"]),
            gains_chart=charts.gains_chart(gains, "Share of interested people reached")
            if gains else None,
            themes=[(charts.theme_label(name), share) for name, share in themes],
            regions=[(charts.region_label(code), share) for code, share in regions],
            themes_chart=charts.share_bars(
                [(charts.theme_label(name), share) for name, share in themes],
                "Top interest themes") if themes else None,
            regions_chart=charts.share_bars(
                [(charts.region_label(code), share) for code, share in regions],
                "Top home regions") if regions else None,
            manifest_text=json.dumps(segment.manifest, indent=2, ensure_ascii=False)
            if segment.manifest is not None else "",
        )

    @app.get("/runs/{as_of}/{version_folder}/{segment_name}/download/{destination}/{part}")
    def download(request: Request, as_of: str, version_folder: str, segment_name: str,
                 destination: str, part: str) -> Response:
        current = signed_in(request)
        if current is None:
            raise StarletteHTTPException(401, headers={"WWW-Authenticate": "Session"})
        run, segment = _find_segment(home.exports_dir, as_of, version_folder, segment_name)
        is_part_number = part.isascii() and part.isdigit()
        export_file = segment.find_file(destination, int(part)) if is_part_number else None
        # One open handle for hashing and sending, so what is sent is what was checked.
        handle = exports.open_file(segment, export_file) if export_file else None
        if export_file is None or handle is None:
            raise StarletteHTTPException(404)
        try:
            digest, size = _sha256_of(handle)
            logged = {"user": current.user.name, "as_of": run.as_of, "version": run.version,
                      "segment": segment.name, "destination": export_file.destination,
                      "file": export_file.file, "sha256": digest, "size_bytes": size}
            if digest != export_file.sha256:
                audit.record_download(home.download_audit_log, outcome="refused",
                                      reason=f"SHA-256 does not match the manifest "
                                             f"({export_file.sha256})", **logged)
                raise StarletteHTTPException(
                    409, "This file has changed since it was exported (its checksum does not "
                         "match the manifest), so it was not sent. Please tell the data team.")
            audit.record_download(home.download_audit_log, outcome="served", **logged)
            handle.seek(0)
        except BaseException:
            handle.close()
            raise
        download_name = f"{run.as_of}_v{run.version}_{segment.name}_{export_file.file}"
        return StreamingResponse(
            _chunks(handle),
            media_type=MEDIA_TYPES.get(Path(export_file.file).suffix.lower(),
                                       "application/octet-stream"),
            headers={
                "Content-Length": str(size),
                "Content-Disposition": f"attachment; filename*=UTF-8''"
                                       f"{quote(download_name, safe='')}",
                "X-Content-SHA256": digest,
            },
        )

    @app.get("/lift", response_class=HTMLResponse)
    def show_lift(request: Request) -> HTMLResponse:
        current = require_page_session(request)
        return render(request, "lift.html", current,
                      results=lift.list_lift_results(home.exports_dir),
                      destination_labels=DESTINATION_LABELS)

    @app.get("/admin/downloads", response_class=HTMLResponse)
    def show_download_log(request: Request) -> HTMLResponse:
        current = require_page_session(request)
        if not current.user.is_admin:
            raise StarletteHTTPException(403)
        entries, unreadable = audit.read_entries(home.download_audit_log)
        return render(request, "audit.html", current, entries=entries, unreadable=unreadable)

    return app


def _find_segment(exports_dir: Path, as_of: str, version_folder: str,
                  segment_name: str) -> tuple[exports.ExportRun, exports.SegmentExport]:
    match = exports.VERSION_FOLDER_PATTERN.match(version_folder)
    if not exports.AS_OF_PATTERN.match(as_of) or not match:
        raise StarletteHTTPException(404)
    run = exports.find_run(exports_dir, as_of, int(match.group(1)))
    segment = run.find_segment(segment_name) if run else None
    if run is None or segment is None:
        raise StarletteHTTPException(404)
    return run, segment


def _sha256_of(handle: BinaryIO) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    while chunk := handle.read(CHUNK_BYTES):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


def _chunks(handle: BinaryIO) -> Iterator[bytes]:
    try:
        while chunk := handle.read(CHUNK_BYTES):
            yield chunk
    finally:
        handle.close()


def _safe_next(target: str) -> str:
    """Only paths on this site, so the login cannot be used to send people elsewhere."""
    if not target.startswith("/") or target.startswith(("//", "/login")) or "\\" in target:
        return "/"
    return target


def _client_address(request: Request) -> str:
    """The peer's address; behind a reverse proxy that is the proxy unless uvicorn is told to
    trust its forwarded headers (`norrut serve --forwarded-allow-ips`)."""
    return request.client.host if request.client else "unknown"


def _no_users(users: UserStore) -> bool:
    try:
        return not users.list_users()
    except UserStoreError:
        return False


def _random_token() -> str:
    return secrets.token_urlsafe(32)


def _add_filters(templates: Jinja2Templates) -> None:
    templates.env.filters["number"] = _format_number
    templates.env.filters["percent"] = _format_percent
    templates.env.filters["timestamp"] = _format_timestamp
    templates.env.filters["bytes"] = _format_bytes
    templates.env.filters["decimal"] = _format_decimal


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
