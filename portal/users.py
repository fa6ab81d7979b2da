"""Portal accounts: a JSON file of users with argon2 password hashes, written atomically (0600)."""

from __future__ import annotations

import dataclasses
import fcntl
import json
import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from argon2 import Parameters, PasswordHasher, extract_parameters
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

USERS_FILE_VERSION = 1
USER_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
MIN_PASSWORD_LENGTH = 10
DECOY_PASSWORD = "decoy password nobody has"
# argon2 is CPU-bound: more checks at once than cores only adds memory (64 MiB each by
# default) and waiting, never speed.
MAX_PASSWORD_CHECK_SLOTS = 4


class UserStoreError(ValueError):
    """A user name, password or users file that cannot be accepted; the message says why."""


class PasswordChecksBusy(Exception):
    """Too many sign-ins are already waiting for a password check; try again in a moment."""


class PasswordCheckSlots:
    """At most `slots` password hashes computed at once, and at most `max_waiting` more waiting.

    Each argon2 check holds its memory cost (argon2-cffi's default: 64 MiB) while it runs, so
    the portal's hashing memory peaks at `slots` × memory cost however many sign-ins arrive.
    A check that would be queued beyond `max_waiting`, or waits longer than
    `max_wait_seconds`, raises `PasswordChecksBusy` instead of piling up.
    """

    def __init__(self, slots: int | None = None, max_waiting: int = 8,
                 max_wait_seconds: float = 10.0) -> None:
        self.slots = slots or max(1, min(MAX_PASSWORD_CHECK_SLOTS, os.cpu_count() or 1))
        self.max_waiting = max_waiting
        self.max_wait_seconds = max_wait_seconds
        self._running = threading.BoundedSemaphore(self.slots)
        self._in_line = 0  # running and waiting
        self._lock = threading.Lock()

    @contextmanager
    def slot(self) -> Iterator[None]:
        with self._lock:
            if self._in_line >= self.slots + self.max_waiting:
                raise PasswordChecksBusy()
            self._in_line += 1
        try:
            if not self._running.acquire(timeout=self.max_wait_seconds):
                raise PasswordChecksBusy()
            try:
                yield
            finally:
                self._running.release()
        finally:
            with self._lock:
                self._in_line -= 1


@dataclass(frozen=True)
class User:
    name: str
    is_admin: bool
    created_at: str


class UserStore:
    """Reads and changes the users file. Every change is a locked read-modify-write."""

    def __init__(self, path: Path, hasher: PasswordHasher | None = None,
                 check_slots: PasswordCheckSlots | None = None) -> None:
        self.path = path
        self.hasher = hasher or PasswordHasher()
        self.check_slots = check_slots or PasswordCheckSlots()
        # Verified against when a user does not exist, so a wrong name costs as long as a
        # wrong password and does not reveal which names exist: one per argon2 parameter set.
        self._decoy_hashes: dict[tuple | None, str] = {}
        self._decoy_lock = threading.Lock()

    def list_users(self) -> list[User]:
        records = self._read()
        return [_user_from_record(name, record) for name, record in sorted(records.items())]

    def get(self, name: str) -> User | None:
        record = self._read().get(name)
        return _user_from_record(name, record) if record is not None else None

    def add(self, name: str, password: str, *, is_admin: bool = False) -> User:
        validate_user_name(name)
        validate_password(password)
        password_hash = self.hasher.hash(password)
        with self._locked():
            records = self._read()
            if name in records:
                raise UserStoreError(
                    f"user {name!r} already exists; remove it first to set a new password"
                )
            records[name] = {
                "password_hash": password_hash,
                "is_admin": is_admin,
                "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            }
            self._write(records)
        return _user_from_record(name, records[name])

    def remove(self, name: str) -> None:
        with self._locked():
            records = self._read()
            if name not in records:
                raise UserStoreError(f"no user named {name!r}")
            del records[name]
            self._write(records)

    def authenticate(self, name: str, password: str) -> User | None:
        """The user if the password matches, else None.

        Raises PasswordChecksBusy when no check slot frees up in time.
        """
        records = self._read()
        record = records.get(name)
        with self.check_slots.slot():
            if record is None:
                self._verify_decoy(password, records)
                return None
            try:
                self.hasher.verify(record["password_hash"], password)
            except (VerifyMismatchError, VerificationError, InvalidHashError):
                return None
        return _user_from_record(name, record)

    def _verify_decoy(self, password: str, records: dict[str, dict]) -> None:
        try:
            self.hasher.verify(self._decoy_hash_like(records), password)
        except VerificationError:
            pass

    def _decoy_hash_like(self, records: dict[str, dict]) -> str:
        """A hash with the argon2 parameters of the accounts' hashes, so it costs the same."""
        parameters = _first_hash_parameters(records)
        cache_key = dataclasses.astuple(parameters) if parameters else None
        with self._decoy_lock:
            if cache_key not in self._decoy_hashes:
                hasher = (PasswordHasher.from_parameters(parameters) if parameters
                          else self.hasher)
                self._decoy_hashes[cache_key] = hasher.hash(DECOY_PASSWORD)
            return self._decoy_hashes[cache_key]

    def _read(self) -> dict[str, dict]:
        if not self.path.exists():
            return {}
        try:
            document = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise UserStoreError(f"users file {self.path} cannot be read: {error}") from error
        users = document.get("users") if isinstance(document, dict) else None
        if not isinstance(users, dict):
            raise UserStoreError(f"users file {self.path} has no 'users' object")
        return users

    def _write(self, records: dict[str, dict]) -> None:
        document = {"users_file_version": USERS_FILE_VERSION, "users": records}
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                json.dump(document, handle, indent=2, sort_keys=True)
                handle.write("\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(temporary, 0o600)
            os.replace(temporary, self.path)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise

    @contextmanager
    def _locked(self) -> Iterator[None]:
        # Two `norrut users add` at once must not lose one of the users.
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock_path = self.path.with_name(f".{self.path.name}.lock")
        descriptor = os.open(lock_path, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(descriptor, fcntl.LOCK_UN)
            os.close(descriptor)


def validate_user_name(name: str) -> None:
    if not USER_NAME_PATTERN.match(name):
        raise UserStoreError(
            f"user name {name!r} is not allowed: use 1-64 letters, digits, '.', '_', '@' or '-', "
            "starting with a letter or digit"
        )


def validate_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserStoreError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    if password.strip() != password:
        raise UserStoreError("the password must not start or end with a space")


def _first_hash_parameters(records: dict[str, dict]) -> Parameters | None:
    for _, record in sorted(records.items()):
        if not isinstance(record, dict):
            continue
        try:
            return extract_parameters(str(record.get("password_hash", "")))
        except InvalidHashError:
            continue
    return None


def _user_from_record(name: str, record: dict) -> User:
    return User(
        name=name,
        is_admin=bool(record.get("is_admin", False)),
        created_at=str(record.get("created_at", "")),
    )
