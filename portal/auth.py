"""Server-side sessions, CSRF tokens and the failed-login throttle, all kept in memory.

Sessions live in the server process: restarting `norrut serve` signs everyone out, which is
the safe direction. Run the portal as one process (uvicorn's default).
"""

from __future__ import annotations

import ipaddress
import math
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

SESSION_COOKIE = "norrut_session"
LOGIN_CSRF_COOKIE = "norrut_login_csrf"
SESSION_IDLE_SECONDS = 8 * 3600
SESSION_MAX_SECONDS = 24 * 3600
MAX_TRACKED_NAME_CHARS = 128
IPV6_CLIENT_PREFIX = 64


@dataclass
class Session:
    user_name: str
    csrf_token: str
    created_at: float
    last_seen_at: float


class SessionStore:
    """Random opaque tokens mapped to sessions. An expired session is dropped when looked up,
    and every expired one at the next sign-in: a browser closed without signing out never
    sends its token again, and its session would otherwise stay until the server restarts."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def create(self, user_name: str) -> tuple[str, Session]:
        token = secrets.token_urlsafe(32)
        now = self._clock()
        session = Session(user_name, secrets.token_urlsafe(32), created_at=now, last_seen_at=now)
        with self._lock:
            expired = [known for known, old in self._sessions.items() if _expired(old, now)]
            for known in expired:
                del self._sessions[known]
            self._sessions[token] = session
        return token, session

    def __len__(self) -> int:
        with self._lock:
            return len(self._sessions)

    def get(self, token: str | None) -> Session | None:
        if not token:
            return None
        now = self._clock()
        with self._lock:
            session = self._sessions.get(token)
            if session is None:
                return None
            if _expired(session, now):
                del self._sessions[token]
                return None
            session.last_seen_at = now
            return session

    def end(self, token: str | None) -> None:
        with self._lock:
            self._sessions.pop(token or "", None)


def _expired(session: Session, now: float) -> bool:
    return (now - session.last_seen_at > SESSION_IDLE_SECONDS
            or now - session.created_at > SESSION_MAX_SECONDS)


ThrottleKey = tuple[str, ...]


@dataclass
class _Attempts:
    failures: int
    last_attempt_at: float


@dataclass(frozen=True)
class LoginAttempt:
    """One sign-in attempt as the throttle saw it. Admitted attempts are already counted as
    failures; `LoginThrottle.succeeded` or `.not_checked` takes the count back."""

    client_key: ThrottleKey
    account_key: ThrottleKey
    pair_key: ThrottleKey
    retry_after_seconds: int

    @property
    def admitted(self) -> bool:
        return self.retry_after_seconds == 0


class LoginThrottle:
    """Failed sign-ins make further tries wait, growing 2, 4, 8 … seconds, instead of locking out.

    Three counts of failures, each forgotten after `forget_after_seconds` without an attempt:
    per client address, per user name (from any address) and per (user name, address). The
    first `free_failures_per_client` / `free_failures_per_account` cost nothing; after that the
    next try must wait 2^k seconds after the last one, at most `max_delay_seconds`. The wait
    caused by the user name's count (failures from anywhere) is counted from the requesting
    address's own last attempt for that name and is at most `account_wide_max_delay_seconds`,
    so strangers elsewhere can make the real user wait only that long between two of her own
    tries, and not at all on her first try from her address.

    `begin` counts the attempt as a failure before the password is checked, under a lock, so
    concurrent attempts cannot all pass the check.
    """

    def __init__(self, *, free_failures_per_account: int = 5, free_failures_per_client: int = 10,
                 max_delay_seconds: float = 900.0, account_wide_max_delay_seconds: float = 30.0,
                 forget_after_seconds: float = 3600.0, max_tracked_keys: int = 30_000,
                 clock: Callable[[], float] = time.time) -> None:
        self.free_failures_per_account = free_failures_per_account
        self.free_failures_per_client = free_failures_per_client
        self.max_delay_seconds = max_delay_seconds
        self.account_wide_max_delay_seconds = account_wide_max_delay_seconds
        self.forget_after_seconds = forget_after_seconds
        self.max_tracked_keys = max_tracked_keys
        self._clock = clock
        # Least recently tried first, so idle and surplus entries are dropped from the front.
        self._attempts: OrderedDict[ThrottleKey, _Attempts] = OrderedDict()
        self._lock = threading.Lock()

    def begin(self, user_name: str, client_address: str) -> LoginAttempt:
        """Admit the attempt (counted as failed until told otherwise) or say how long to wait."""
        # Case variants of a name share a count; the length cap bounds the memory of junk names.
        name = user_name.lower()[:MAX_TRACKED_NAME_CHARS]
        client = client_of(client_address)
        keys = (("client", client), ("account", name), ("pair", name, client))
        now = self._clock()
        with self._lock:
            self._forget_idle(now)
            wait = self._wait_seconds(*keys, now)
            if wait > 0:
                return LoginAttempt(*keys, retry_after_seconds=max(1, math.ceil(wait)))
            for key in keys:
                attempts = self._attempts.pop(key, None) or _Attempts(0, now)
                attempts.failures += 1
                attempts.last_attempt_at = now
                self._attempts[key] = attempts
            while len(self._attempts) > self.max_tracked_keys:
                self._attempts.popitem(last=False)
        return LoginAttempt(*keys, retry_after_seconds=0)

    def succeeded(self, attempt: LoginAttempt) -> None:
        """The right password: this address's failures for the name are forgotten."""
        with self._lock:
            self._take_back(attempt.client_key, attempt.account_key)
            self._attempts.pop(attempt.pair_key, None)

    def not_checked(self, attempt: LoginAttempt) -> None:
        """The password could not be checked (portal busy, accounts unreadable): not a failure."""
        with self._lock:
            self._take_back(attempt.client_key, attempt.account_key, attempt.pair_key)

    def tracked_keys(self) -> int:
        with self._lock:
            return len(self._attempts)

    def _wait_seconds(self, client_key: ThrottleKey, account_key: ThrottleKey,
                      pair_key: ThrottleKey, now: float) -> float:
        client = self._attempts.get(client_key)
        pair = self._attempts.get(pair_key)
        account = self._attempts.get(account_key)
        next_allowed = [now]
        if client is not None:
            next_allowed.append(client.last_attempt_at + _delay(
                client.failures, self.free_failures_per_client, self.max_delay_seconds))
        if pair is not None:
            next_allowed.append(pair.last_attempt_at + _delay(
                pair.failures, self.free_failures_per_account, self.max_delay_seconds))
            if account is not None:
                next_allowed.append(pair.last_attempt_at + _delay(
                    account.failures, self.free_failures_per_account,
                    self.account_wide_max_delay_seconds))
        return max(next_allowed) - now

    def _take_back(self, *keys: ThrottleKey) -> None:
        for key in keys:
            attempts = self._attempts.get(key)
            if attempts is not None:
                attempts.failures = max(0, attempts.failures - 1)

    def _forget_idle(self, now: float) -> None:
        while self._attempts:
            oldest = next(iter(self._attempts.values()))
            if now - oldest.last_attempt_at < self.forget_after_seconds:
                return
            self._attempts.popitem(last=False)


def client_of(address: str) -> str:
    """Who an address counts as: an IPv4 address itself, an IPv6 address its /64 network.

    One machine or home is usually given a whole IPv6 /64, so counting single IPv6 addresses
    would let one client take a fresh address for every try.
    """
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address[:MAX_TRACKED_NAME_CHARS]
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
        return str(parsed.ipv4_mapped)
    if isinstance(parsed, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network(f"{parsed}/{IPV6_CLIENT_PREFIX}", strict=False))
    return str(parsed)


def _delay(failures: int, free_failures: int, max_delay_seconds: float) -> float:
    """Seconds to wait after the last attempt: 0 while free, then 2, 4, 8 … up to the cap."""
    if failures < free_failures:
        return 0.0
    return min(max_delay_seconds, 2.0 ** (failures - free_failures + 1))


def tokens_match(expected: str | None, given: str | None) -> bool:
    return bool(expected) and bool(given) and secrets.compare_digest(expected, given)
