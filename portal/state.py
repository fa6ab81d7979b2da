"""What the portal's routes share for one app, kept on `app.state.portal` and reached through
the `Portal` dependency, so no route needs a closure over `create_app`'s locals."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.templating import Jinja2Templates

from core.home import NorrutHome
from portal.auth import LoginThrottle, SessionStore
from portal.users import UserStore


@dataclass(frozen=True)
class PortalState:
    """One portal's home, accounts, sessions, sign-in throttle, templates and cookie setting.

    The password-check slots belong to `users` (`UserStore.check_slots`): every password
    check goes through the store, so the bound holds however a check is reached.
    """

    home: NorrutHome
    users: UserStore
    sessions: SessionStore
    throttle: LoginThrottle
    templates: Jinja2Templates
    secure_cookies: bool


def portal_state(request: Request) -> PortalState:
    """The state `create_app` put on the app that is answering this request."""
    return request.app.state.portal


Portal = Annotated[PortalState, Depends(portal_state)]
