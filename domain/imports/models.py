"""Where each feed reader stopped, per account."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKeyConstraint, Index, Text
from sqlmodel import Field, SQLModel

from domain.base import account_id_field, created_at_field, id_field


class FeedCursor(SQLModel, table=True):
    """A reader's position, stored after each page it read has committed. It belongs to the
    plugin's installation: uninstalling the plugin forgets it."""

    __tablename__ = "feed_cursor"
    __table_args__ = (
        ForeignKeyConstraint(
            ["account_id", "plugin"],
            ["plugin_installation.account_id", "plugin_installation.plugin"],
            ondelete="CASCADE",
            name="fk_feed_cursor_plugin_installation",
        ),
        Index("uq_feed_cursor_reader", "account_id", "reader", unique=True),
    )

    account_id: int = account_id_field()
    id: int | None = id_field()
    plugin: str = Field(sa_column=Column(Text, nullable=False))
    reader: str = Field(sa_column=Column(Text, nullable=False))
    cursor: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    updated_at: datetime = created_at_field()
