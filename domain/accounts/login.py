"""Logging in (SPEC 1): a staff user's e-mail address and password, checked against the argon2
hash, buy an API token that expires after ``LOGIN_TOKEN_HOURS``.

Attempts are counted before any hash is checked: at most ``MAX_FAILURES`` wrong passwords per
account and address, and ``MAX_CLIENT_FAILURES`` per client address, within ``WINDOW_SECONDS``;
past that the answer is RATE_LIMITED without looking further, so an attacker gets a handful of
argon2 checks per window, not a stream. Every wrong combination (unknown account, unknown or
deactivated user, no password set, wrong password) gets the same answer, and an unknown user
costs the same hash check as a known one: the answer says nothing about who exists.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Protocol

from sqlmodel import Session

from domain import clock
from domain.accounts import service as accounts
from domain.accounts.models import ApiToken, StaffUser, TokenKind
from domain.errors import Collector, ErrorCode, InputError

LOGIN_TOKEN_HOURS = 12
MAX_FAILURES = 5  # per account and e-mail address
MAX_CLIENT_FAILURES = 30  # per client address
WINDOW_SECONDS = 15 * 60
MAX_PASSWORD = 200
MAX_EMAIL = 320
WRONG = "wrong account, e-mail address or password"


class AttemptCounter(Protocol):
    """Failed attempts per key within a window (``count`` is 0 for a key not seen lately)."""

    def count(self, key: str) -> int: ...
    def fail(self, key: str, window_seconds: int) -> None: ...
    def clear(self, key: str) -> None: ...


class MemoryAttempts:
    """In one process (no Redis configured): bounded, expired keys go first."""

    MAX_KEYS = 100_000

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: dict[str, tuple[int, float]] = {}

    def count(self, key: str) -> int:
        with self._lock:
            count, until = self._seen.get(key, (0, 0.0))
            return count if until > time.monotonic() else 0

    def fail(self, key: str, window_seconds: int) -> None:
        now = time.monotonic()
        with self._lock:
            count, until = self._seen.get(key, (0, 0.0))
            self._seen[key] = (count + 1, until) if until > now else (1, now + window_seconds)
            if len(self._seen) > self.MAX_KEYS:
                for stale in [k for k, (_, u) in self._seen.items() if u <= now] or list(self._seen)[
                    : self.MAX_KEYS // 2
                ]:
                    self._seen.pop(stale, None)

    def clear(self, key: str) -> None:
        with self._lock:
            self._seen.pop(key, None)


class RedisAttempts:
    """Shared by every API process: a counter per key that expires with its window."""

    def __init__(self, client, *, prefix: str = "marquee:login:") -> None:
        self._redis = client
        self.PREFIX = prefix

    def count(self, key: str) -> int:
        value = self._redis.get(self.PREFIX + key)
        return int(value) if value is not None else 0

    def fail(self, key: str, window_seconds: int) -> None:
        pipe = self._redis.pipeline()
        pipe.set(self.PREFIX + key, 0, ex=window_seconds, nx=True)  # the window starts with the first
        pipe.incr(self.PREFIX + key)
        pipe.execute()

    def clear(self, key: str) -> None:
        self._redis.delete(self.PREFIX + key)


@dataclass(frozen=True)
class LoggedIn:
    token: ApiToken
    secret: str  # shown this once
    staff_user: StaffUser
    expires_at: datetime


@lru_cache(maxsize=1)
def _hasher():
    from argon2 import PasswordHasher  # noqa: PLC0415

    return PasswordHasher()


@lru_cache(maxsize=1)
def _decoy_hash() -> str:
    """Checked when there is no hash to check, so that an unknown user costs what a known one does."""
    return _hasher().hash("not anybody's password")


def _verify(password_hash: str | None, password: str) -> bool:
    from argon2.exceptions import InvalidHashError, VerificationError  # noqa: PLC0415

    try:
        return _hasher().verify(password_hash or _decoy_hash(), password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def log_in(
    session: Session, attempts: AttemptCounter, *, account: str, email: str, password: str, client: str = "unknown"
) -> LoggedIn:
    problems = Collector()
    if not account or len(account) > 63:
        problems.add(ErrorCode.INVALID, "the account's short name (slug), as in its links", "account")
    if not email or len(email) > MAX_EMAIL:
        problems.add(ErrorCode.INVALID_EMAIL, "an e-mail address", "email")
    if not password or len(password) > MAX_PASSWORD:
        problems.add(ErrorCode.OUT_OF_RANGE, f"a password has 1 to {MAX_PASSWORD} characters", "password")
    problems.raise_if_any()
    person_key = f"user:{account.strip().lower()}:{email.strip().lower()}"
    client_key = f"client:{client}"
    if attempts.count(person_key) >= MAX_FAILURES or attempts.count(client_key) >= MAX_CLIENT_FAILURES:
        raise InputError.single(ErrorCode.RATE_LIMITED, "too many wrong attempts: try again in 15 minutes")
    found = accounts.get_account_by_slug(session, account.strip().lower())
    user = accounts.get_staff_user_by_email(session, found.id, email) if found is not None else None
    usable = user is not None and user.deactivated_at is None
    if not _verify(user.password_hash if usable and user is not None else None, password):
        attempts.fail(person_key, WINDOW_SECONDS)
        attempts.fail(client_key, WINDOW_SECONDS)
        raise InputError.single(ErrorCode.UNAUTHENTICATED, WRONG)
    assert found is not None and user is not None and user.password_hash is not None
    attempts.clear(person_key)
    if _hasher().check_needs_rehash(user.password_hash):
        user.password_hash = _hasher().hash(password)
    expires_at = clock.now() + timedelta(hours=LOGIN_TOKEN_HOURS)
    token, secret = accounts.issue_token(
        session, found.id, kind=TokenKind.STAFF, name="login", staff_user_id=user.id, expires_at=expires_at
    )
    return LoggedIn(token=token, secret=secret, staff_user=user, expires_at=expires_at)


__all__ = [
    "log_in",
    "LoggedIn",
    "AttemptCounter",
    "MemoryAttempts",
    "RedisAttempts",
    "LOGIN_TOKEN_HOURS",
    "MAX_FAILURES",
    "MAX_CLIENT_FAILURES",
    "WINDOW_SECONDS",
]
