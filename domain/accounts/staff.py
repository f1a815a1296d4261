"""Running an account's people and keys without a shell (SPEC 1, admin only at the API): staff
users (create, change role, deactivate, reactivate) and bearer credentials (issue, list, revoke).

A deactivated user's tokens are refused at once (authentication joins the user), and come back
with a reactivation; revoking a token is for good. An account always keeps one active admin: the
last one can be neither demoted nor deactivated (checked under a lock, so two admins removing
each other at the same moment cannot both succeed). Secrets are shown once, when issued; lists
give a token's name, kind, prefix and last use, never the secret.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, text, update
from sqlmodel import Session

from domain import clock
from domain.accounts import service as accounts
from domain.accounts.models import ApiToken, Role, StaffUser, TokenKind
from domain.errors import Collector, ErrorCode, InputError, not_found
from domain.pagination import Page, cursor_int, keyset_page

MAX_NAME = 200
LAST_USE_EVERY_SECONDS = 60  # a token's last use is written at most this often (per process)


def _name(value: str, problems: Collector, *path: str) -> str:
    value = (value or "").strip()
    if len(value) > MAX_NAME:
        problems.add(ErrorCode.TOO_LONG, f"a name has at most {MAX_NAME} characters", *path)
    return value


def _role(value: str, problems: Collector, *path: str) -> str:
    if value not in {r.value for r in Role}:
        problems.add(ErrorCode.INVALID_CHOICE, "role is admin, marketer or viewer", *path)
    return value


def create_staff_user(
    session: Session, account_id: int, *, email: str, role: str, name: str = "", password: str | None = None
) -> StaffUser:
    """A new staff user; an e-mail address already used in the account is refused (DUPLICATE)."""
    problems = Collector()
    _name(name, problems, "name")
    _role(role, problems, "role")
    if password is not None and not 12 <= len(password) <= 200:
        problems.add(ErrorCode.OUT_OF_RANGE, "a password has 12 to 200 characters", "password")
    problems.raise_if_any()
    if email and accounts.get_staff_user_by_email(session, account_id, email) is not None:
        raise InputError.single(ErrorCode.DUPLICATE, "a staff user with this e-mail address exists", "email")
    return accounts.create_staff_user(
        session, account_id, email=email, role=role, name=(name or "").strip(), password=password
    )


def list_staff_users(
    session: Session, account_id: int, *, first: int | None = None, after: str | None = None
) -> Page[StaffUser]:
    """The account's staff users in the order they were added (deactivated ones included)."""
    keys = [StaffUser.id]
    stmt = select(StaffUser, *keys).where(StaffUser.account_id == account_id)
    return keyset_page(
        session, stmt, keys, descending=False, first=first, after=after, coerce=lambda v: [cursor_int(v[0])]
    )


def _user(session: Session, account_id: int, user_id: int, *, lock: bool = False) -> StaffUser:
    stmt = select(StaffUser).where(StaffUser.account_id == account_id, StaffUser.id == user_id)
    user = session.execute(stmt.with_for_update() if lock else stmt).scalar_one_or_none()
    if user is None:
        raise not_found("staff user", "staff_user_id")
    return user


def _keep_an_admin(session: Session, account_id: int, leaving: StaffUser) -> None:
    """Refuse when ``leaving`` is the account's last active admin. The active admins are locked
    first (in id order), so concurrent demotions see each other."""
    if leaving.role != Role.ADMIN.value or leaving.deactivated_at is not None:
        return
    admins = session.execute(
        select(StaffUser.id)
        .where(
            StaffUser.account_id == account_id,
            StaffUser.role == Role.ADMIN.value,
            StaffUser.deactivated_at.is_(None),  # type: ignore[union-attr]
        )
        .order_by(StaffUser.id)
        .with_for_update()
    ).scalars()
    if set(admins) <= {leaving.id}:
        raise InputError.single(ErrorCode.CONFLICT, "the account needs an active admin: make another one first")


def change_staff_role(session: Session, account_id: int, user_id: int, role: str) -> StaffUser:
    problems = Collector()
    _role(role, problems, "role")
    problems.raise_if_any()
    user = _user(session, account_id, user_id, lock=True)
    if role != Role.ADMIN.value:
        _keep_an_admin(session, account_id, user)
    user.role = role
    session.flush()
    return user


def deactivate_staff_user(session: Session, account_id: int, user_id: int) -> StaffUser:
    """The user can no longer act: every token of theirs is refused from the next request on."""
    user = _user(session, account_id, user_id, lock=True)
    if user.deactivated_at is None:
        _keep_an_admin(session, account_id, user)
        user.deactivated_at = clock.now()
        session.flush()
    return user


def reactivate_staff_user(session: Session, account_id: int, user_id: int) -> StaffUser:
    """The user acts again, with the tokens they hold that were not revoked."""
    user = _user(session, account_id, user_id, lock=True)
    user.deactivated_at = None
    session.flush()
    return user


@dataclass(frozen=True)
class TokenRequest:
    """What ``issue_token`` is asked for; ``staff_user_id`` for a staff token, ``plugin`` (and
    optionally ``scopes``) for a connector key, neither for a website key."""

    kind: TokenKind
    name: str = ""
    staff_user_id: int | None = None
    plugin: str | None = None
    scopes: tuple[str, ...] | None = None
    expires_at: datetime | None = None


def issue_token(session: Session, account_id: int, request: TokenRequest) -> tuple[ApiToken, str]:
    """A new credential and its secret (shown this once)."""
    problems = Collector()
    name = _name(request.name, problems, "name")
    if request.expires_at is not None and request.expires_at <= clock.now():
        problems.add(ErrorCode.OUT_OF_RANGE, "an expiry lies in the future", "expires_at")
    if request.kind is TokenKind.STAFF and request.staff_user_id is None:
        problems.add(ErrorCode.REQUIRED, "a staff token belongs to a staff user", "staff_user_id")
    elif request.kind is not TokenKind.STAFF and request.staff_user_id is not None:
        problems.add(ErrorCode.INVALID, "only staff tokens belong to a staff user", "staff_user_id")
    if request.scopes is not None and len(request.scopes) > 100:
        problems.add(ErrorCode.OUT_OF_RANGE, "at most 100 scopes", "scopes")
    problems.raise_if_any()
    if request.staff_user_id is not None:
        user = _user(session, account_id, request.staff_user_id)
        if user.deactivated_at is not None:
            raise InputError.single(ErrorCode.CONFLICT, "this staff user is deactivated", "staff_user_id")
    return accounts.issue_token(
        session,
        account_id,
        kind=request.kind,
        name=name,
        staff_user_id=request.staff_user_id,
        plugin=request.plugin,
        scopes=None if request.scopes is None else list(request.scopes),
        expires_at=request.expires_at,
    )


def list_tokens(
    session: Session,
    account_id: int,
    *,
    kind: TokenKind | None = None,
    include_revoked: bool = False,
    first: int | None = None,
    after: str | None = None,
) -> Page[ApiToken]:
    """The account's credentials, newest first (revoked ones only when asked)."""
    keys = [ApiToken.id]
    stmt = select(ApiToken, *keys).where(ApiToken.account_id == account_id)
    if kind is not None:
        stmt = stmt.where(ApiToken.kind == kind.value)
    if not include_revoked:
        stmt = stmt.where(ApiToken.revoked_at.is_(None))  # type: ignore[union-attr]
    return keyset_page(
        session, stmt, keys, descending=True, first=first, after=after, coerce=lambda v: [cursor_int(v[0])]
    )


def revoke_token(session: Session, account_id: int, token_id: int) -> ApiToken:
    """Revoke for good (revoking a revoked token changes nothing)."""
    token = session.execute(
        select(ApiToken).where(ApiToken.account_id == account_id, ApiToken.id == token_id)
    ).scalar_one_or_none()
    if token is None:
        raise not_found("token", "token_id")
    accounts.revoke_token(session, account_id, token_id)
    session.refresh(token)
    return token


_last_noted: dict[int, float] = {}
_notes_lock = threading.Lock()


def clear_token_use_notes() -> None:
    """Forget when tokens were last noted in this process (tests reuse token ids)."""
    with _notes_lock:
        _last_noted.clear()


def note_token_use(new_session: Callable[[], Session], account_id: int, token_id: int) -> None:
    """Record that a token was used now: at most once a minute per token and process (a short
    transaction of its own; requests that only read never write otherwise)."""
    now = time.monotonic()
    with _notes_lock:  # requests run on many threads
        if now - _last_noted.get(token_id, float("-inf")) < LAST_USE_EVERY_SECONDS:
            return
        _last_noted[token_id] = now
        if len(_last_noted) > 10_000:  # bounded: the oldest notes go
            for stale in sorted(_last_noted, key=_last_noted.__getitem__)[:5_000]:
                del _last_noted[stale]
    with new_session() as session, session.begin():
        session.execute(
            update(ApiToken)
            .where(
                ApiToken.account_id == account_id,
                ApiToken.id == token_id,
                (ApiToken.last_used_at.is_(None))  # type: ignore[union-attr]
                | (ApiToken.last_used_at < func.now() - text(f"interval '{LAST_USE_EVERY_SECONDS} seconds'")),
            )
            .values(last_used_at=func.now())
            .execution_options(synchronize_session=False)
        )


__all__ = [
    "MAX_NAME",
    "TokenRequest",
    "create_staff_user",
    "list_staff_users",
    "change_staff_role",
    "deactivate_staff_user",
    "reactivate_staff_user",
    "issue_token",
    "list_tokens",
    "revoke_token",
    "note_token_use",
    "clear_token_use_notes",
]
