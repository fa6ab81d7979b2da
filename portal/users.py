"""Portal accounts: a JSON file of users with argon2 password hashes, written atomically (0600)."""

from __future__ import annotations

import fcntl
import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

USERS_FILE_VERSION = 1
USER_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
MIN_PASSWORD_LENGTH = 10


class UserStoreError(ValueError):
    """A user name, password or users file that cannot be accepted; the message says why."""


@dataclass(frozen=True)
class User:
    name: str
    is_admin: bool
    created_at: str


class UserStore:
    """Reads and changes the users file. Every change is a locked read-modify-write."""

    def __init__(self, path: Path, hasher: PasswordHasher | None = None) -> None:
        self.path = path
        self.hasher = hasher or PasswordHasher()
        # Verified against when a user does not exist, so a wrong name costs as long as a
        # wrong password and does not reveal which names exist.
        self._decoy_hash: str | None = None

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
        """The user if the password matches, else None."""
        record = self._read().get(name)
        if record is None:
            self._verify_decoy(password)
            return None
        try:
            self.hasher.verify(record["password_hash"], password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        return _user_from_record(name, record)

    def _verify_decoy(self, password: str) -> None:
        if self._decoy_hash is None:
            self._decoy_hash = self.hasher.hash("decoy password nobody has")
        try:
            self.hasher.verify(self._decoy_hash, password)
        except VerificationError:
            pass

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


def _user_from_record(name: str, record: dict) -> User:
    return User(
        name=name,
        is_admin=bool(record.get("is_admin", False)),
        created_at=str(record.get("created_at", "")),
    )
