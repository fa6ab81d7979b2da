"""Server-side sessions, CSRF tokens and the failed-login throttle, all kept in memory.

Sessions live in the server process: restarting `norrut serve` signs everyone out, which is
the safe direction. Run the portal as one process (uvicorn's default).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

SESSION_COOKIE = "norrut_session"
LOGIN_CSRF_COOKIE = "norrut_login_csrf"
SESSION_IDLE_SECONDS = 8 * 3600
SESSION_MAX_SECONDS = 24 * 3600


@dataclass
class Session:
    user_name: str
    csrf_token: str
    created_at: float
    last_seen_at: float


class SessionStore:
    """Random opaque tokens mapped to sessions; expired sessions are dropped when looked up."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def create(self, user_name: str) -> tuple[str, Session]:
        token = secrets.token_urlsafe(32)
        now = self._clock()
        session = Session(user_name, secrets.token_urlsafe(32), created_at=now, last_seen_at=now)
        with self._lock:
            self._sessions[token] = session
        return token, session

    def get(self, token: str | None) -> Session | None:
        if not token:
            return None
        now = self._clock()
        with self._lock:
            session = self._sessions.get(token)
            if session is None:
                return None
            if (now - session.last_seen_at > SESSION_IDLE_SECONDS
                    or now - session.created_at > SESSION_MAX_SECONDS):
                del self._sessions[token]
                return None
            session.last_seen_at = now
            return session

    def end(self, token: str | None) -> None:
        with self._lock:
            self._sessions.pop(token or "", None)


class LoginThrottle:
    """At most `max_failures` failed logins per user name within `window_seconds`."""

    def __init__(self, max_failures: int = 5, window_seconds: float = 60.0,
                 clock: Callable[[], float] = time.time) -> None:
        self.max_failures = max_failures
        self.window_seconds = window_seconds
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def is_blocked(self, user_name: str) -> bool:
        with self._lock:
            return len(self._recent(user_name.lower())) >= self.max_failures

    def record_failure(self, user_name: str) -> None:
        with self._lock:
            self._recent(user_name.lower()).append(self._clock())

    def reset(self, user_name: str) -> None:
        with self._lock:
            self._failures.pop(user_name.lower(), None)

    def _recent(self, key: str) -> deque[float]:
        cutoff = self._clock() - self.window_seconds
        # Forget names with no recent failures so guessed names cannot grow memory forever.
        for stale in [name for name, times in self._failures.items()
                      if not times or times[-1] <= cutoff]:
            del self._failures[stale]
        failures = self._failures.setdefault(key, deque())
        while failures and failures[0] <= cutoff:
            failures.popleft()
        return failures


def tokens_match(expected: str | None, given: str | None) -> bool:
    return bool(expected) and bool(given) and secrets.compare_digest(expected, given)
