"""Tags: categories, the parent/subtag tree, links to persons, productions and organisations,
and exact per-tag counters kept current by the database in the same transaction as the links."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, Column, ForeignKeyConstraint, Index, Integer, Text, func
from sqlmodel import Field, SQLModel

from domain.base import account_id_field, created_at_field, id_field


class TagSource(str, enum.Enum):
    PERSON = "person"
    STAFF = "staff"
    INTEGRATION = "integration"


SOURCES_CHECK = "source in ('person', 'staff', 'integration')"


class TagCategory(SQLModel, table=True):
    __tablename__ = "tag_category"

    account_id: int = account_id_field()
    id: int | None = id_field()
    name: str = Field(sa_column=Column(Text, nullable=False))
    position: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    created_at: datetime = created_at_field()


Index("uq_tag_category_name", TagCategory.__table__.c.account_id, func.lower(TagCategory.__table__.c.name), unique=True)


class Tag(SQLModel, table=True):
    __tablename__ = "tag"
    __table_args__ = (
        ForeignKeyConstraint(["account_id", "parent_id"], ["tag.account_id", "tag.id"], name="fk_tag_parent"),
        ForeignKeyConstraint(
            ["account_id", "category_id"], ["tag_category.account_id", "tag_category.id"], name="fk_tag_category"
        ),
        ForeignKeyConstraint(
            ["account_id", "visibility_include_segment_id"],
            ["segment.account_id", "segment.id"],
            name="fk_tag_visibility_include",
        ),
        ForeignKeyConstraint(
            ["account_id", "visibility_exclude_segment_id"],
            ["segment.account_id", "segment.id"],
            name="fk_tag_visibility_exclude",
        ),
        CheckConstraint("parent_id is null or parent_id <> id", name="ck_tag_not_own_parent"),
        CheckConstraint("position >= 0", name="ck_tag_position"),
        Index("ix_tag_parent", "account_id", "parent_id"),
    )

    account_id: int = account_id_field()
    id: int | None = id_field()
    category_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    parent_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    name: str = Field(sa_column=Column(Text, nullable=False))
    name_key: str = Field(
        sa_column=Column(Text, nullable=False), description="casefolded name: names differing only in case are one tag"
    )
    note: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    active: bool = Field(default=True, sa_column=Column(Boolean, nullable=False, server_default="true"))
    label: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    description: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    show_on_form: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, server_default="false"))
    visible_to_everyone: bool = Field(default=True, sa_column=Column(Boolean, nullable=False, server_default="true"))
    visibility_include_segment_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    visibility_exclude_segment_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    position: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    show_on_website: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, server_default="false"))
    starred: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, server_default="false"))
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()


Index("uq_tag_name", Tag.__table__.c.account_id, Tag.__table__.c.name_key, unique=True)


def _link_table_args(target: str, target_table: str):
    return (
        CheckConstraint(SOURCES_CHECK, name=f"ck_{target}_tag_source"),
        ForeignKeyConstraint(
            ["account_id", "tag_id"], ["tag.account_id", "tag.id"], ondelete="CASCADE", name=f"fk_{target}_tag_tag"
        ),
        ForeignKeyConstraint(
            ["account_id", f"{target}_id"],
            [f"{target_table}.account_id", f"{target_table}.id"],
            ondelete="CASCADE",
            name=f"fk_{target}_tag_{target}",
        ),
        Index(f"ix_{target}_tag_{target}", "account_id", f"{target}_id", "tag_id"),
    )


class PersonTag(SQLModel, table=True):
    """One link of a tag to a person from one source; a (tag, person) pair may have up to three."""

    __tablename__ = "person_tag"
    __table_args__ = _link_table_args("person", "person")

    account_id: int = account_id_field()
    tag_id: int = Field(sa_column=Column(BigInteger, primary_key=True, nullable=False))
    person_id: int = Field(sa_column=Column(BigInteger, primary_key=True, nullable=False))
    source: str = Field(sa_column=Column(Text, primary_key=True, nullable=False))
    actor: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = created_at_field()


class ProductionTag(SQLModel, table=True):
    __tablename__ = "production_tag"
    __table_args__ = _link_table_args("production", "production")

    account_id: int = account_id_field()
    tag_id: int = Field(sa_column=Column(BigInteger, primary_key=True, nullable=False))
    production_id: int = Field(sa_column=Column(BigInteger, primary_key=True, nullable=False))
    source: str = Field(sa_column=Column(Text, primary_key=True, nullable=False))
    actor: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = created_at_field()


class OrganisationTag(SQLModel, table=True):
    __tablename__ = "organisation_tag"
    __table_args__ = _link_table_args("organisation", "organisation")

    account_id: int = account_id_field()
    tag_id: int = Field(sa_column=Column(BigInteger, primary_key=True, nullable=False))
    organisation_id: int = Field(sa_column=Column(BigInteger, primary_key=True, nullable=False))
    source: str = Field(sa_column=Column(Text, primary_key=True, nullable=False))
    actor: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = created_at_field()


class TagCounter(SQLModel, table=True):
    """Exact link counts per tag, maintained by statement triggers on the link tables.

    ``persons`` counts distinct persons (any source); the ``persons_by_*`` columns count per
    source. The triggers lock the counter rows of the tags they touch, so concurrent link
    changes to one tag serialise and the distinct count stays exact.
    """

    __tablename__ = "tag_counter"
    __table_args__ = (
        ForeignKeyConstraint(
            ["account_id", "tag_id"], ["tag.account_id", "tag.id"], ondelete="CASCADE", name="fk_tag_counter_tag"
        ),
    )

    account_id: int = account_id_field()
    tag_id: int = Field(sa_column=Column(BigInteger, primary_key=True, nullable=False))
    persons: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default="0"))
    persons_by_person: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default="0"))
    persons_by_staff: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default="0"))
    persons_by_integration: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default="0"))
    productions: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default="0"))
    organisations: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default="0"))
