"""Privacy requests (SPEC 7): exporting everything held about a person, erasing a person, and
the one-way suppression entries an erasure leaves behind."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, Column, ForeignKeyConstraint, Index, LargeBinary, Text
from sqlmodel import Field, SQLModel

from domain.base import account_id_field, account_key_field, created_at_field, id_field, timestamp_field


class PrivacyRequestKind(str, enum.Enum):
    EXPORT = "export"
    ERASE = "erase"


class PrivacyRequest(SQLModel, table=True):
    """One request about one person, carried out by its job. An export keeps the document it
    wrote (``file``, in the storage folder) until the person is erased or the file ages out."""

    __tablename__ = "privacy_request"
    __table_args__ = (
        ForeignKeyConstraint(
            ["account_id", "job_id"], ["job.account_id", "job.id"], ondelete="CASCADE", name="fk_privacy_request_job"
        ),
        # The request stays on record when the person is later deleted outright.
        ForeignKeyConstraint(
            ["account_id", "person_id"],
            ["person.account_id", "person.id"],
            ondelete="SET NULL (person_id)",
            name="fk_privacy_request_person",
        ),
        ForeignKeyConstraint(
            ["account_id", "requested_by"],
            ["staff_user.account_id", "staff_user.id"],
            ondelete="SET NULL (requested_by)",
            name="fk_privacy_request_staff_user",
        ),
        CheckConstraint("kind in ('export', 'erase')", name="ck_privacy_request_kind"),
        Index("uq_privacy_request_job", "account_id", "job_id", unique=True),
        Index("ix_privacy_request_person", "account_id", "person_id", "created_at"),
    )

    account_id: int = account_id_field()
    id: int | None = id_field()
    kind: str = Field(sa_column=Column(Text, nullable=False))
    person_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    job_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    requested_by: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    file: str | None = Field(default=None, sa_column=Column(Text, nullable=True))  # relative to the storage folder
    created_at: datetime = created_at_field()
    finished_at: datetime | None = timestamp_field()


class SuppressionKind(str, enum.Enum):
    IDENTITY = "identity"  # a (source, external id) the person had
    EMAIL = "email"  # the person's normalised e-mail address


class PersonSuppression(SQLModel, table=True):
    """What stands in for an erased person's identities and e-mail address: a SHA-256 digest of
    each (never the value), pointing at the anonymous row that keeps their purchase figures. A
    feed record that matches one is not written: its orders count anonymously, and the person
    does not come back as a marketing contact."""

    __tablename__ = "person_suppression"
    __table_args__ = (
        ForeignKeyConstraint(
            ["account_id", "person_id"],
            ["person.account_id", "person.id"],
            ondelete="CASCADE",
            name="fk_person_suppression_person",
        ),
        CheckConstraint("kind in ('identity', 'email')", name="ck_person_suppression_kind"),
        Index("ix_person_suppression_person", "account_id", "person_id"),
    )

    account_id: int = account_key_field()
    digest: bytes = Field(sa_column=Column(LargeBinary, primary_key=True, nullable=False))
    person_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    kind: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = created_at_field()
