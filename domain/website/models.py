"""What each website exporter last published for an account."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKeyConstraint, Index, Text
from sqlmodel import Field, SQLModel

from domain.base import account_id_field, created_at_field, id_field


class WebsiteExport(SQLModel, table=True):
    """The ETag of the document an exporter last published, and a digest of the settings it was
    published with; it belongs to the plugin's installation (uninstalling forgets it, so a
    reinstall publishes again)."""

    __tablename__ = "website_export"
    __table_args__ = (
        ForeignKeyConstraint(
            ["account_id", "plugin"],
            ["plugin_installation.account_id", "plugin_installation.plugin"],
            ondelete="CASCADE",
            name="fk_website_export_plugin_installation",
        ),
        Index("uq_website_export_exporter", "account_id", "exporter", unique=True),
    )

    account_id: int = account_id_field()
    id: int | None = id_field()
    plugin: str = Field(sa_column=Column(Text, nullable=False))
    exporter: str = Field(sa_column=Column(Text, nullable=False))
    etag: str = Field(sa_column=Column(Text, nullable=False))
    # The exporter's settings it was published with (a hash): a new push URL or secret republishes.
    config_digest: str = Field(sa_column=Column(Text, nullable=False))
    message_id: str = Field(sa_column=Column(Text, nullable=False))
    exported_at: datetime = created_at_field()
