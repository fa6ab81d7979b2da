"""Who is asking: the session cookie checked once per request, as FastAPI dependencies.

Pages without a session redirect to the login (`LoginRequired`, answered by `create_app`'s
handler); downloads answer 401 instead, so scripts see a clear refusal.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from starlette.exceptions import HTTPException as StarletteHTTPException

from portal.auth import SESSION_COOKIE, Session
from portal.state import Portal
from portal.users import User, UserStoreError


class LoginRequired(Exception):
    """Raised by the page-session dependency when no valid session is present."""


@dataclass
class SignedIn:
    user: User
    session: Session
    token: str


def signed_in(request: Request, portal: Portal) -> SignedIn | None:
    """The signed-in user, or None without a live session for an existing account."""
    token = request.cookies.get(SESSION_COOKIE)
    session = portal.sessions.get(token)
    if session is None:
        return None
    try:
        user = portal.users.get(session.user_name)
    except UserStoreError:
        return None
    if user is None:
        # The account was removed while signed in.
        portal.sessions.end(token)
        return None
    return SignedIn(user, session, token)


OptionalSession = Annotated[SignedIn | None, Depends(signed_in)]


def require_page_session(current: OptionalSession) -> SignedIn:
    if current is None:
        raise LoginRequired()
    return current


PageSession = Annotated[SignedIn, Depends(require_page_session)]


def require_admin_session(current: PageSession) -> SignedIn:
    if not current.user.is_admin:
        raise StarletteHTTPException(403)
    return current


AdminSession = Annotated[SignedIn, Depends(require_admin_session)]


def require_download_session(current: OptionalSession) -> SignedIn:
    if current is None:
        raise StarletteHTTPException(401, headers={"WWW-Authenticate": "Session"})
    return current


DownloadSession = Annotated[SignedIn, Depends(require_download_session)]
