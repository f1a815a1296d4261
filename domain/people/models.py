"""Persons (customers), their external identities, custom fields, consents and organisations."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Float,
    Integer,
    ForeignKeyConstraint,
    Index,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from domain.base import (
    account_id_field,
    account_key_field,
    created_at_field,
    feed_digest_field,
    id_field,
    jsonb_field,
    timestamp_field,
)


class Gender(str, enum.Enum):
    FEMALE = "female"
    MALE = "male"
    OTHER = "other"


class CustomFieldType(str, enum.Enum):
    TEXT = "text"
    NUMBER = "number"
    DATE = "date"
    BOOLEAN = "boolean"
    CHOICE = "choice"


def _person_fk(name: str) -> ForeignKeyConstraint:
    return ForeignKeyConstraint(
        ["account_id", "person_id"], ["person.account_id", "person.id"], ondelete="CASCADE", name=name
    )


class Person(SQLModel, table=True):
    __tablename__ = "person"
    __table_args__ = (
        CheckConstraint("gender in ('female', 'male', 'other')", name="ck_person_gender"),
        CheckConstraint("latitude between -90 and 90 and longitude between -180 and 180", name="ck_person_coordinates"),
        Index("uq_person_email", "account_id", text("lower(email)"), unique=True),
        Index("ix_person_created_at", "account_id", "created_at", "id"),
        Index("ix_person_postal_code", "account_id", "postal_code"),
        Index("ix_person_erased", "account_id", "id", postgresql_where=text("erased_at IS NOT NULL")),
    )

    account_id: int = account_id_field()
    id: int | None = id_field()
    email: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    first_name: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    last_name: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    gender: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    birth_date: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    language: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    address: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    postal_code: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    city: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    country: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    latitude: float | None = Field(default=None, sa_column=Column(Float, nullable=True))
    longitude: float | None = Field(default=None, sa_column=Column(Float, nullable=True))
    custom_fields: dict = jsonb_field()
    preference_link_version: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()
    # Set by an erasure (domain.privacy): the row keeps only the purchase figures, anonymously,
    # and answers as absent everywhere else.
    erased_at: datetime | None = timestamp_field()


def _prefix_index(name: str, column) -> Index:
    """A btree on ``lower(column)`` that serves ``LIKE 'abc%'`` under any collation."""
    label = f"{column.name}_lower"
    return Index(
        name, Person.__table__.c.account_id, func.lower(column).label(label), postgresql_ops={label: "text_pattern_ops"}
    )


_prefix_index("ix_person_email_prefix", Person.__table__.c.email)
_prefix_index("ix_person_last_name", Person.__table__.c.last_name)
_prefix_index("ix_person_first_name", Person.__table__.c.first_name)


class PersonIdentity(SQLModel, table=True):
    """The id a source system (ticketing, web shop, mailer) uses for this person."""

    __tablename__ = "person_identity"
    __table_args__ = (
        _person_fk("fk_person_identity_person"),
        Index("uq_person_identity_external", "account_id", "source", "external_id", unique=True),
        # One id per source as a rule; a merge may leave a survivor with two of one source.
        Index("ix_person_identity_person", "account_id", "person_id", "source"),
    )

    account_id: int = account_key_field()
    id: int | None = id_field()
    person_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    source: str = Field(sa_column=Column(Text, nullable=False))
    external_id: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = created_at_field()
    feed_digest: bytes | None = feed_digest_field()


class ConsentHistory(SQLModel, table=True):
    """Every change of a person's consent state; written by a trigger on person_consent (0014)."""

    __tablename__ = "consent_history"
    __table_args__ = (
        _person_fk("fk_consent_history_person"),
        ForeignKeyConstraint(
            ["account_id", "consent_type_id"],
            ["consent_type.account_id", "consent_type.id"],
            ondelete="CASCADE",
            name="fk_consent_history_consent_type",
        ),
        Index("ix_consent_history_person", "account_id", "person_id", "consent_type_id", "changed_at"),
    )

    account_id: int = account_key_field()
    id: int | None = id_field()
    person_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    consent_type_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    granted: bool = Field(sa_column=Column(Boolean, nullable=False))
    changed_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    source: str = Field(sa_column=Column(Text, nullable=False))


class PersonMerge(SQLModel, table=True):
    """One merge: ``merged_id`` (gone) went into ``survivor_id``; what moved, and its fields."""

    __tablename__ = "person_merge"
    __table_args__ = (
        ForeignKeyConstraint(
            ["account_id", "survivor_id"],
            ["person.account_id", "person.id"],
            ondelete="CASCADE",
            name="fk_person_merge_survivor",
        ),
        Index("ix_person_merge_survivor", "account_id", "survivor_id"),
    )

    account_id: int = account_id_field()
    id: int | None = id_field()
    survivor_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    merged_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    merged_by: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    merged_at: datetime = created_at_field()
    moved: dict = jsonb_field()
    merged_fields: dict = jsonb_field()


class CustomFieldDefinition(SQLModel, table=True):
    __tablename__ = "custom_field_definition"
    __table_args__ = (
        CheckConstraint(
            "type in ('text', 'number', 'date', 'boolean', 'choice')", name="ck_custom_field_definition_type"
        ),
        Index("uq_custom_field_definition_key", "account_id", "key", unique=True),
    )

    account_id: int = account_id_field()
    id: int | None = id_field()
    key: str = Field(sa_column=Column(Text, nullable=False))
    label: str = Field(sa_column=Column(Text, nullable=False))
    type: str = Field(sa_column=Column(Text, nullable=False))
    choices: list[str] = Field(default_factory=list, sa_column=Column(JSONB, nullable=False, server_default="[]"))
    description: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    created_at: datetime = created_at_field()
    retired_at: datetime | None = timestamp_field()  # set: no longer written or tested; values stay


class ConsentType(SQLModel, table=True):
    __tablename__ = "consent_type"
    __table_args__ = (Index("uq_consent_type_key", "account_id", "key", unique=True),)

    account_id: int = account_id_field()
    id: int | None = id_field()
    key: str = Field(sa_column=Column(Text, nullable=False))
    name: str = Field(sa_column=Column(Text, nullable=False))
    description: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    created_at: datetime = created_at_field()
    retired_at: datetime | None = timestamp_field()  # set: no longer asked; the states given stay


class PersonConsent(SQLModel, table=True):
    """A person's current state for one consent type, with when it was granted / withdrawn."""

    __tablename__ = "person_consent"
    __table_args__ = (
        _person_fk("fk_person_consent_person"),
        ForeignKeyConstraint(
            ["account_id", "consent_type_id"],
            ["consent_type.account_id", "consent_type.id"],
            ondelete="CASCADE",
            name="fk_person_consent_consent_type",
        ),
        Index("ix_person_consent_type", "account_id", "consent_type_id", "granted"),
    )

    account_id: int = account_key_field()
    person_id: int = Field(sa_column=Column(BigInteger, primary_key=True, nullable=False))
    consent_type_id: int = Field(sa_column=Column(BigInteger, primary_key=True, nullable=False))
    granted: bool = Field(sa_column=Column(Boolean, nullable=False))
    granted_at: datetime | None = timestamp_field()
    withdrawn_at: datetime | None = timestamp_field()
    updated_at: datetime = created_at_field()
    source: str = Field(default="staff", sa_column=Column(Text, nullable=False, server_default="staff"))


class Organisation(SQLModel, table=True):
    """A business relation (module ``business``)."""

    __tablename__ = "organisation"
    __table_args__ = (Index("ix_organisation_name", "account_id", text("lower(name)")),)

    account_id: int = account_id_field()
    id: int | None = id_field()
    name: str = Field(sa_column=Column(Text, nullable=False))
    email: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    phone: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    city: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    country: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()


class PersonOrganisation(SQLModel, table=True):
    """A person who belongs to an organisation (a contact there), with their role in it."""

    __tablename__ = "person_organisation"
    __table_args__ = (
        _person_fk("fk_person_organisation_person"),
        ForeignKeyConstraint(
            ["account_id", "organisation_id"],
            ["organisation.account_id", "organisation.id"],
            ondelete="CASCADE",
            name="fk_person_organisation_organisation",
        ),
        Index("ix_person_organisation_organisation", "account_id", "organisation_id", "person_id"),
    )

    account_id: int = account_key_field()
    person_id: int = Field(sa_column=Column(BigInteger, primary_key=True, nullable=False))
    organisation_id: int = Field(sa_column=Column(BigInteger, primary_key=True, nullable=False))
    role: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    created_at: datetime = created_at_field()
