"""Accounts (tenants), staff users and API tokens."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    DateTime,
    ARRAY,
    BigInteger,
    CheckConstraint,
    Column,
    Float,
    ForeignKeyConstraint,
    Identity,
    Index,
    Text,
    text,
)
from sqlmodel import Field, SQLModel

from domain.base import account_id_field, created_at_field, id_field, timestamp_field


class Module(str, enum.Enum):
    RECOMMENDATIONS = "recommendations"
    BUSINESS = "business"


class Role(str, enum.Enum):
    ADMIN = "admin"
    MARKETER = "marketer"
    VIEWER = "viewer"


class TokenKind(str, enum.Enum):
    STAFF = "staff"
    WEBSITE = "website"
    CONNECTOR = "connector"


class TagNamePolicy(str, enum.Enum):
    PRESERVE = "preserve"
    CANONICAL = "canonical"


class Account(SQLModel, table=True):
    __tablename__ = "account"
    __table_args__ = (
        CheckConstraint("tag_name_policy in ('preserve', 'canonical')", name="ck_account_tag_name_policy"),
        Index("uq_account_slug", "slug", unique=True),
        CheckConstraint("score_half_life_days >= 1 and score_half_life_days <= 3650", name="ck_account_half_life"),
        CheckConstraint("score_parent_share >= 0 and score_parent_share <= 1", name="ck_account_parent_share"),
        CheckConstraint("page_language in ('nl', 'en')", name="ck_account_page_language"),
        CheckConstraint("brand_colour ~ '^#[0-9a-f]{6}$'", name="ck_account_brand_colour"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    name: str = Field(sa_column=Column(Text, nullable=False))
    slug: str = Field(sa_column=Column(Text, nullable=False))
    timezone: str = Field(
        default="Europe/Amsterdam", sa_column=Column(Text, nullable=False, server_default="Europe/Amsterdam")
    )
    modules: list[str] = Field(default_factory=list, sa_column=Column(ARRAY(Text), nullable=False, server_default="{}"))
    tag_name_policy: str = Field(default="preserve", sa_column=Column(Text, nullable=False, server_default="preserve"))
    tags_version: int = Field(
        default=0,
        sa_column=Column(BigInteger, nullable=False, server_default="0"),
        description="bumped with every change to the account's tags: caches key on it",
    )
    score_half_life_days: float = Field(
        default=180.0,
        sa_column=Column(Float, nullable=False, server_default="180"),
        description="interest points lose half their weight in this many days",
    )
    score_parent_share: float = Field(
        default=0.5,
        sa_column=Column(Float, nullable=False, server_default="0.5"),
        description="the share of a subtag's points that also counts for its parent (squared for its grandparent …)",
    )
    # How the account's pages for persons look and speak (the preference centre).
    page_language: str = Field(default="nl", sa_column=Column(Text, nullable=False, server_default="nl"))
    brand_name: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))  # "": the name
    logo_url: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    brand_colour: str = Field(default="#0b57d0", sa_column=Column(Text, nullable=False, server_default="#0b57d0"))
    scores_stale_since: datetime | None = Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=True),
        description="set by triggers when production tags or the tag tree change; cleared when a rescore is queued",
    )
    created_at: datetime = created_at_field()

    def has_module(self, module: Module | str) -> bool:
        return str(getattr(module, "value", module)) in self.modules


class StaffUser(SQLModel, table=True):
    __tablename__ = "staff_user"
    __table_args__ = (
        CheckConstraint("role in ('admin', 'marketer', 'viewer')", name="ck_staff_user_role"),
        Index("uq_staff_user_email", "account_id", text("lower(email)"), unique=True),
    )

    account_id: int = account_id_field()
    id: int | None = id_field()
    email: str = Field(sa_column=Column(Text, nullable=False))
    name: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    role: str = Field(sa_column=Column(Text, nullable=False))
    password_hash: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = created_at_field()
    deactivated_at: datetime | None = timestamp_field()  # set: none of the user's tokens is accepted


class ApiToken(SQLModel, table=True):
    """A bearer secret: a staff user's API token, the account's website key or a connector key.

    Only a SHA-256 digest of the secret is stored. Tokens are 256-bit random values, so a
    fast digest is safe here and keeps authentication to one indexed lookup per request.
    """

    __tablename__ = "api_token"
    __table_args__ = (
        CheckConstraint("kind in ('staff', 'website', 'connector')", name="ck_api_token_kind"),
        CheckConstraint("kind <> 'staff' or staff_user_id is not null", name="ck_api_token_staff_user"),
        CheckConstraint("kind <> 'connector' or plugin is not null", name="ck_api_token_connector_plugin"),
        ForeignKeyConstraint(
            ["account_id", "staff_user_id"],
            ["staff_user.account_id", "staff_user.id"],
            ondelete="CASCADE",
            name="fk_api_token_staff_user",
        ),
        # A connector key belongs to its plugin's installation: uninstalling deletes the keys.
        ForeignKeyConstraint(
            ["account_id", "plugin"],
            ["plugin_installation.account_id", "plugin_installation.plugin"],
            ondelete="CASCADE",
            name="fk_api_token_plugin_installation",
        ),
        Index("uq_api_token_digest", "token_digest", unique=True),
    )

    account_id: int = account_id_field()
    id: int | None = id_field()
    kind: str = Field(sa_column=Column(Text, nullable=False))
    name: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    token_digest: str = Field(sa_column=Column(Text, nullable=False))
    prefix: str = Field(sa_column=Column(Text, nullable=False))
    staff_user_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    plugin: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    scopes: list[str] = Field(default_factory=list, sa_column=Column(ARRAY(Text), nullable=False, server_default="{}"))
    created_at: datetime = created_at_field()
    expires_at: datetime | None = timestamp_field()
    revoked_at: datetime | None = timestamp_field()
    last_used_at: datetime | None = timestamp_field()
