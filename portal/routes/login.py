"""Signing in and out: `/login` (the form and its post) and `/logout`."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from portal.access import OptionalSession, PageSession
from portal.auth import LOGIN_CSRF_COOKIE, SESSION_COOKIE, tokens_match
from portal.state import Portal, PortalState
from portal.templating import render
from portal.users import PasswordChecksBusy, UserStore, UserStoreError

BUSY_RETRY_AFTER_SECONDS = 2

router = APIRouter()


@router.get("/login", response_class=HTMLResponse)
def show_login(request: Request, portal: Portal, current: OptionalSession,
               next: str = "/") -> Response:
    if current is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return login_form(request, portal, next_path=next)


@router.post("/login", response_class=HTMLResponse)
def submit_login(
    request: Request,
    portal: Portal,
    user_name: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    form_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    user_name = user_name.strip()
    if not tokens_match(request.cookies.get(LOGIN_CSRF_COOKIE), form_token):
        return login_form(request, portal, status_code=403, next_path=next, user_name=user_name,
                          error="The sign-in form had expired. Please try again.")
    # Counted before the password is checked, so concurrent tries cannot all get through.
    attempt = portal.throttle.begin(user_name, client_address(request))
    if not attempt.admitted:
        wait = attempt.retry_after_seconds
        return login_form(
            request, portal, status_code=429, next_path=next, user_name=user_name,
            retry_after_seconds=wait,
            error=f"Too many failed sign-in attempts from here or for this account. For "
                  f"your safety, wait {wait} second{'s' if wait != 1 else ''} before "
                  f"trying again.",
        )
    try:
        user = portal.users.authenticate(user_name, password)
    except PasswordChecksBusy:
        portal.throttle.not_checked(attempt)
        return login_form(request, portal, status_code=503, next_path=next, user_name=user_name,
                          retry_after_seconds=BUSY_RETRY_AFTER_SECONDS,
                          error="The portal is busy signing other people in. Please try "
                                "again in a moment.")
    except UserStoreError as problem:
        portal.throttle.not_checked(attempt)
        return login_form(request, portal, status_code=500, next_path=next, user_name=user_name,
                          error=f"The portal cannot read its accounts: {problem}")
    if user is None:
        return login_form(request, portal, status_code=401, next_path=next, user_name=user_name,
                          error="Wrong user name or password.")
    portal.throttle.succeeded(attempt)
    token, _ = portal.sessions.create(user.name)
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax",
                        secure=portal.secure_cookies, path="/")
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(portal: Portal, current: PageSession,
           csrf_token: Annotated[str, Form()] = "") -> Response:
    if not tokens_match(current.session.csrf_token, csrf_token):
        raise StarletteHTTPException(403, "The sign-out form had expired. Please reload "
                                          "the page and try again.")
    portal.sessions.end(current.token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def login_form(request: Request, portal: PortalState, *, status_code: int = 200,
               error: str | None = None, next_path: str = "/", user_name: str = "",
               retry_after_seconds: int | None = None) -> HTMLResponse:
    # Login CSRF: the form carries a random value that must match a cookie set with it.
    form_token = secrets.token_urlsafe(32)
    response = render(
        request, "login.html", None,
        {"error": error, "next_path": safe_next(next_path), "form_token": form_token,
         "user_name": user_name, "no_users": _no_users(portal.users)},
        status_code=status_code,
        headers=({"Retry-After": str(retry_after_seconds)}
                 if retry_after_seconds is not None else None),
    )
    response.set_cookie(LOGIN_CSRF_COOKIE, form_token, httponly=True, samesite="strict",
                        secure=portal.secure_cookies, path="/login")
    return response


def safe_next(target: str) -> str:
    """Only paths on this site, so the login cannot be used to send people elsewhere."""
    if not target.startswith("/") or target.startswith(("//", "/login")) or "\\" in target:
        return "/"
    return target


def client_address(request: Request) -> str:
    """The peer's address; behind a reverse proxy that is the proxy unless uvicorn is told to
    trust its forwarded headers (`norrut serve --forwarded-allow-ips`)."""
    return request.client.host if request.client else "unknown"


def _no_users(users: UserStore) -> bool:
    try:
        return not users.list_users()
    except UserStoreError:
        return False
