"""A plugin installed for an account: whether it is on, its configuration and the scopes granted."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ARRAY, BigInteger, Boolean, Column, Index, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from domain.base import account_id_field, created_at_field, id_field


class PluginInstallation(SQLModel, table=True):
    """One row per (account, plugin). Connector keys reference it, so uninstalling a plugin
    deletes its keys; ``secrets`` holds the configuration values the plugin marks secret, kept
    apart from ``config`` so that no query that shows configuration can reach them."""

    __tablename__ = "plugin_installation"
    __table_args__ = (Index("uq_plugin_installation_plugin", "account_id", "plugin", unique=True),)

    account_id: int = account_id_field()
    id: int | None = id_field()
    plugin: str = Field(sa_column=Column(Text, nullable=False))
    enabled: bool = Field(default=True, sa_column=Column(Boolean, nullable=False, server_default="true"))
    config: dict = Field(default_factory=dict, sa_column=Column(JSONB, nullable=False, server_default="{}"))
    secrets: dict = Field(default_factory=dict, sa_column=Column(JSONB, nullable=False, server_default="{}"))
    granted_scopes: list[str] = Field(
        default_factory=list, sa_column=Column(ARRAY(Text), nullable=False, server_default="{}")
    )
    installed_by: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    installed_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()
