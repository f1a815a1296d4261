"""Accounts, staff users and bearer credentials."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select, update
from sqlmodel import Session

from domain.accounts.models import Account, ApiToken, Module, Role, StaffUser, TagNamePolicy, TokenKind
from domain import clock
from domain.errors import Collector, ErrorCode, InputError
from domain.integrations import service as integrations
from domain.integrations.models import PluginInstallation
from domain.viewer import AccountInfo, Viewer, ViewerKind

TOKEN_PREFIXES = {TokenKind.STAFF: "mqs_", TokenKind.WEBSITE: "mqw_", TokenKind.CONNECTOR: "mqc_"}
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def slugify(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return slug[:63] or "account"


def account_info(account: Account) -> AccountInfo:
    return AccountInfo(
        id=account.id,
        name=account.name,
        timezone=account.timezone,
        modules=tuple(account.modules),
        tag_name_policy=account.tag_name_policy,
        tags_version=account.tags_version,
    )


def create_account(
    session: Session,
    *,
    name: str,
    slug: str | None = None,
    timezone_name: str = "Europe/Amsterdam",
    modules: list[str] | None = None,
    tag_name_policy: str = "preserve",
) -> Account:
    problems = Collector()
    name = (name or "").strip()
    if not name:
        problems.add(ErrorCode.REQUIRED, "an account needs a name", "name")
    elif len(name) > 200:
        problems.add(ErrorCode.TOO_LONG, "name is longer than 200 characters", "name")
    slug = slug or slugify(name)
    if not _SLUG.match(slug):
        problems.add(ErrorCode.INVALID, "slug must be lower-case letters, digits and dashes", "slug")
    try:
        ZoneInfo(timezone_name)
    except (ZoneInfoNotFoundError, ValueError):
        problems.add(ErrorCode.INVALID, f"unknown time zone {timezone_name!r}", "timezone")
    modules = sorted(set(modules or []))
    known = {m.value for m in Module}
    for m in modules:
        if m not in known:
            problems.add(ErrorCode.INVALID_CHOICE, f"unknown module {m!r}", "modules")
    if tag_name_policy not in {p.value for p in TagNamePolicy}:
        problems.add(ErrorCode.INVALID_CHOICE, "tag name policy is preserve or canonical", "tagNamePolicy")
    problems.raise_if_any()
    if session.execute(select(Account.id).where(Account.slug == slug)).first():
        raise InputError.single(ErrorCode.DUPLICATE, f"an account with slug {slug!r} exists", "slug")
    account = Account(name=name, slug=slug, timezone=timezone_name, modules=modules, tag_name_policy=tag_name_policy)
    session.add(account)
    session.flush()
    return account


def delete_account(session: Session, account_id: int) -> None:
    """Delete an account with everything in it (every business row cascades from the account)."""
    from sqlalchemy import delete  # noqa: PLC0415

    session.execute(delete(Account).where(Account.id == account_id))


def get_account_by_slug(session: Session, slug: str) -> Account | None:
    return session.execute(select(Account).where(Account.slug == slug)).scalar_one_or_none()


def create_staff_user(
    session: Session, account_id: int, *, email: str, role: str, name: str = "", password: str | None = None
) -> StaffUser:
    from domain.people.validation import normalise_email  # noqa: PLC0415

    problems = Collector()
    try:
        email = normalise_email(email or "")
    except InputError as error:
        problems.add(ErrorCode.INVALID_EMAIL, error.problems[0].message, "email")
    if role not in {r.value for r in Role}:
        problems.add(ErrorCode.INVALID_CHOICE, "role is admin, marketer or viewer", "role")
    problems.raise_if_any()
    password_hash = None
    if password:
        from argon2 import PasswordHasher  # noqa: PLC0415

        password_hash = PasswordHasher().hash(password)
    user = StaffUser(account_id=account_id, email=email, role=role, name=name, password_hash=password_hash)
    session.add(user)
    session.flush()
    return user


def get_staff_user_by_email(session: Session, account_id: int, email: str) -> StaffUser | None:
    from sqlalchemy import func  # noqa: PLC0415

    return session.execute(
        select(StaffUser).where(
            StaffUser.account_id == account_id, func.lower(StaffUser.email) == email.strip().lower()
        )
    ).scalar_one_or_none()


def issue_token(
    session: Session,
    account_id: int,
    *,
    kind: TokenKind | str,
    name: str = "",
    staff_user_id: int | None = None,
    plugin: str | None = None,
    scopes: list[str] | None = None,
    expires_at: datetime | None = None,
) -> tuple[ApiToken, str]:
    """Create a credential; returns the row and the secret, which is shown only once.

    A connector key belongs to a plugin installed and enabled for the account. It holds the
    scopes given (by default all the installation grants now) and acts with those of them the
    installation still grants: narrowing a grant narrows its keys at once, widening it does not
    widen keys already issued."""
    kind = TokenKind(kind)
    if kind is TokenKind.CONNECTOR:
        if plugin is None:
            raise InputError.single(ErrorCode.REQUIRED, "a connector key names its plugin", "plugin")
        granted = integrations.granted_scopes(session, account_id, plugin)
        scopes = granted if scopes is None else scopes
        ungranted = sorted(set(scopes) - set(granted))
        if ungranted:
            raise InputError.single(
                ErrorCode.INVALID_CHOICE,
                f"plugin {plugin!r} is not granted the scope(s) {', '.join(ungranted)}"
                f" (granted: {', '.join(granted) or 'none'})",
                "scopes",
            )
    elif plugin is not None or scopes:
        raise InputError.single(ErrorCode.INVALID, "only connector keys name a plugin and scopes", "plugin")
    secret = TOKEN_PREFIXES[kind] + secrets.token_urlsafe(32)
    token = ApiToken(
        account_id=account_id,
        kind=kind.value,
        name=name,
        token_digest=digest(secret),
        prefix=secret[:10],
        staff_user_id=staff_user_id,
        plugin=plugin,
        scopes=list(scopes or []),
        expires_at=expires_at,
    )
    session.add(token)
    session.flush()
    return token, secret


def revoke_token(session: Session, account_id: int, token_id: int) -> bool:
    result = session.execute(
        update(ApiToken)
        .where(ApiToken.account_id == account_id, ApiToken.id == token_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=clock.now())
    )
    return result.rowcount > 0


def token_is_valid(session: Session, token_id: int) -> bool:
    """Whether a credential still holds (not revoked, not expired): long-lived connections look again."""
    row = session.execute(
        select(
            ApiToken.kind,
            ApiToken.revoked_at,
            ApiToken.expires_at,
            PluginInstallation.enabled,
            StaffUser.deactivated_at,
        )
        .outerjoin(
            PluginInstallation,
            (PluginInstallation.account_id == ApiToken.account_id) & (PluginInstallation.plugin == ApiToken.plugin),
        )
        .outerjoin(StaffUser, (StaffUser.account_id == ApiToken.account_id) & (StaffUser.id == ApiToken.staff_user_id))
        .where(ApiToken.id == token_id)
    ).first()
    if row is None or row.revoked_at is not None or (row.expires_at is not None and row.expires_at <= clock.now()):
        return False
    if row.kind == TokenKind.STAFF.value:
        return row.deactivated_at is None
    return row.kind != TokenKind.CONNECTOR.value or bool(row.enabled)


def authenticate_token(session: Session, secret: str) -> Viewer | None:
    """Resolve a bearer secret to a viewer, or None when it is unknown, revoked or expired."""
    if not secret or len(secret) > 200:
        return None
    row = session.execute(
        select(
            ApiToken,
            Account,
            StaffUser.role,
            StaffUser.deactivated_at,
            PluginInstallation.enabled,
            PluginInstallation.granted_scopes,
        )
        .join(Account, Account.id == ApiToken.account_id)
        .outerjoin(StaffUser, (StaffUser.account_id == ApiToken.account_id) & (StaffUser.id == ApiToken.staff_user_id))
        .outerjoin(
            PluginInstallation,
            (PluginInstallation.account_id == ApiToken.account_id) & (PluginInstallation.plugin == ApiToken.plugin),
        )
        .where(ApiToken.token_digest == digest(secret), ApiToken.revoked_at.is_(None))
    ).first()
    if row is None:
        return None
    token, account, role, deactivated_at, plugin_enabled, plugin_grant = row
    if token.expires_at is not None and token.expires_at <= clock.now():
        return None
    kind = ViewerKind(token.kind)
    if kind is ViewerKind.STAFF and deactivated_at is not None:
        return None  # the user was deactivated: every token of theirs stops at once
    scopes = frozenset(token.scopes)
    if kind is ViewerKind.CONNECTOR:
        if not plugin_enabled:
            return None  # its plugin is disabled for the account (an uninstalled one took its keys)
        scopes &= frozenset(plugin_grant)
    return Viewer(
        kind=kind,
        account=account_info(account),
        role=role if kind is ViewerKind.STAFF else None,
        staff_user_id=token.staff_user_id,
        plugin=token.plugin,
        scopes=scopes,
        token_id=token.id,
    )
