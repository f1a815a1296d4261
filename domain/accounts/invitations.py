"""Inviting staff (SPEC 1): an admin adds a user without a password and hands them a signed,
expiring invitation; with it the user chooses their password once and is logged in. An
invitation is good for one user of one account, until it expires or the user has a password
(using it sets one, so it works once); a deactivated user's invitation is refused."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select
from sqlmodel import Session

from domain import clock
from domain.accounts import service as accounts
from domain.accounts import staff
from domain.accounts.login import LOGIN_TOKEN_HOURS, LoggedIn, _hasher
from domain.accounts.models import StaffUser, TokenKind
from domain.accounts.person_links import ClockSigner
from domain.errors import ErrorCode, InputError

INVITATION_PREFIX = "mqi_"
INVITATION_DAYS = 7
MAX_TOKEN = 500
_SALT = "marquee.staff-invitation"


@dataclass(frozen=True)
class Invitation:
    staff_user: StaffUser
    token: str
    expires_at: datetime


def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=_SALT, signer=ClockSigner)


def _invitation(secret_key: str, user: StaffUser) -> Invitation:
    token = INVITATION_PREFIX + _serializer(secret_key).dumps([user.account_id, user.id])
    return Invitation(staff_user=user, token=token, expires_at=clock.now() + timedelta(days=INVITATION_DAYS))


def invite_staff_user(
    session: Session, account_id: int, *, email: str, role: str, name: str = "", secret_key: str
) -> Invitation:
    """A new staff user without a password, and their invitation."""
    user = staff.create_staff_user(session, account_id, email=email, role=role, name=name)
    return _invitation(secret_key, user)


def renew_invitation(session: Session, account_id: int, user_id: int, *, secret_key: str) -> Invitation:
    """A fresh invitation for a user who has not chosen a password yet (the old one keeps working
    until it expires)."""
    user = session.execute(
        select(StaffUser).where(StaffUser.account_id == account_id, StaffUser.id == user_id)
    ).scalar_one_or_none()
    if user is None:
        raise InputError.single(ErrorCode.NOT_FOUND, "staff user not found", "staff_user_id")
    if user.password_hash is not None:
        raise InputError.single(ErrorCode.CONFLICT, "this user has a password already: they log in", "staff_user_id")
    if user.deactivated_at is not None:
        raise InputError.single(ErrorCode.CONFLICT, "this user is deactivated", "staff_user_id")
    return _invitation(secret_key, user)


INVALID = "this invitation is not valid (it was changed, cut short, or is for someone else)"


def accept_invitation(session: Session, *, secret_key: str, token: str, password: str) -> LoggedIn:
    """The invited user's password, set once; answers a staff token as logging in does."""
    if not token or len(token) > MAX_TOKEN or not token.startswith(INVITATION_PREFIX):
        raise InputError.single(ErrorCode.UNAUTHENTICATED, INVALID, "token")
    try:
        account_id, user_id = _serializer(secret_key).loads(
            token[len(INVITATION_PREFIX) :], max_age=INVITATION_DAYS * 86400
        )
    except SignatureExpired:
        raise InputError.single(
            ErrorCode.UNAUTHENTICATED, "this invitation has expired: ask for a new one", "token"
        ) from None
    except (BadSignature, ValueError, TypeError):
        raise InputError.single(ErrorCode.UNAUTHENTICATED, INVALID, "token") from None
    if not 12 <= len(password or "") <= 200:
        raise InputError.single(ErrorCode.OUT_OF_RANGE, "a password has 12 to 200 characters", "password")
    user = session.execute(
        select(StaffUser).where(StaffUser.account_id == account_id, StaffUser.id == user_id).with_for_update()
    ).scalar_one_or_none()
    if user is None or user.deactivated_at is not None:
        raise InputError.single(ErrorCode.UNAUTHENTICATED, INVALID, "token")
    if user.password_hash is not None:
        raise InputError.single(ErrorCode.CONFLICT, "this invitation was used: log in with your password", "token")
    user.password_hash = _hasher().hash(password)
    expires_at = clock.now() + timedelta(hours=LOGIN_TOKEN_HOURS)
    token_row, secret = accounts.issue_token(
        session, account_id, kind=TokenKind.STAFF, name="login", staff_user_id=user.id, expires_at=expires_at
    )
    return LoggedIn(token=token_row, secret=secret, staff_user=user, expires_at=expires_at)
