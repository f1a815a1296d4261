"""Forms (campaign step forms and the preference centre) and their submissions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, Column, DateTime, ForeignKeyConstraint, Index, Integer, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from domain.base import account_id_field, created_at_field, id_field

PREFERENCE_CENTRE = "preference_centre"
CAMPAIGN = "campaign"


class Form(SQLModel, table=True):
    __tablename__ = "form"
    __table_args__ = (
        CheckConstraint("kind in ('preference_centre', 'campaign')", name="ck_form_kind"),
        Index(
            "uq_form_preference_centre", "account_id", unique=True, postgresql_where=text("kind = 'preference_centre'")
        ),
    )

    account_id: int = account_id_field()
    id: int | None = id_field()
    kind: str = Field(default=CAMPAIGN, sa_column=Column(Text, nullable=False, server_default=CAMPAIGN))
    title: str = Field(sa_column=Column(Text, nullable=False))
    tags_title: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    tags_description: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()


class FormTag(SQLModel, table=True):
    """A tag offered on a form, in the form's own order."""

    __tablename__ = "form_tag"
    __table_args__ = (
        ForeignKeyConstraint(
            ["account_id", "form_id"], ["form.account_id", "form.id"], ondelete="CASCADE", name="fk_form_tag_form"
        ),
        ForeignKeyConstraint(
            ["account_id", "tag_id"], ["tag.account_id", "tag.id"], ondelete="CASCADE", name="fk_form_tag_tag"
        ),
        Index("ix_form_tag_tag", "account_id", "tag_id"),
    )

    account_id: int = account_id_field()
    form_id: int = Field(sa_column=Column(BigInteger, primary_key=True, nullable=False))
    tag_id: int = Field(sa_column=Column(BigInteger, primary_key=True, nullable=False))
    position: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))


class FormSubmission(SQLModel, table=True):
    """What a person submitted on a form: the tags chosen and dropped, and consent changes."""

    __tablename__ = "form_submission"
    __table_args__ = (
        ForeignKeyConstraint(
            ["account_id", "form_id"],
            ["form.account_id", "form.id"],
            ondelete="CASCADE",
            name="fk_form_submission_form",
        ),
        ForeignKeyConstraint(
            ["account_id", "person_id"],
            ["person.account_id", "person.id"],
            ondelete="CASCADE",
            name="fk_form_submission_person",
        ),
        Index("ix_form_submission_person", "account_id", "person_id", "submitted_at"),
        Index("ix_form_submission_form", "account_id", "form_id", "submitted_at"),
    )

    account_id: int = account_id_field()
    id: int | None = id_field()
    form_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    person_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    submitted_at: datetime = Field(
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=text("now()"))
    )
    selected_tag_ids: list[int] = Field(
        default_factory=list, sa_column=Column(JSONB, nullable=False, server_default="[]")
    )
    added_tag_ids: list[int] = Field(default_factory=list, sa_column=Column(JSONB, nullable=False, server_default="[]"))
    removed_tag_ids: list[int] = Field(
        default_factory=list, sa_column=Column(JSONB, nullable=False, server_default="[]")
    )
    consents: dict = Field(default_factory=dict, sa_column=Column(JSONB, nullable=False, server_default="{}"))
