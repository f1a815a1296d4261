"""Scoring rules and interest scores (SPEC 6, module ``recommendations``).

An account's rules say how many points each kind of interaction gives to the tags it reaches,
optionally per tag category; its half-life and parent share live on the account
(``score_half_life_days``, ``score_parent_share``). A person's score on a tag is stored as its
value at ``as_of`` and decayed to the time it is read (``domain.recommendations.scoring``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, Column, DateTime, Float, ForeignKeyConstraint, Index, Text, func
from sqlmodel import Field, SQLModel

from domain.base import account_id_field, account_key_field, id_field

INTERACTION_KINDS = ("purchase", "attendance", "preference", "click", "open", "visit")
KINDS_CHECK = "kind in (" + ", ".join(f"'{k}'" for k in INTERACTION_KINDS) + ")"


class ScoringRule(SQLModel, table=True):
    """Points for one kind of interaction; with a category, only for the tags in it (it overrides
    the kind's rule without one, which overrides the built-in default)."""

    __tablename__ = "scoring_rule"
    __table_args__ = (
        CheckConstraint(KINDS_CHECK, name="ck_scoring_rule_kind"),
        CheckConstraint("points >= 0 and points <= 1000", name="ck_scoring_rule_points"),
        ForeignKeyConstraint(
            ["account_id", "tag_category_id"],
            ["tag_category.account_id", "tag_category.id"],
            ondelete="CASCADE",
            name="fk_scoring_rule_category",
        ),
    )

    account_id: int = account_id_field()
    id: int | None = id_field()
    kind: str = Field(sa_column=Column(Text, nullable=False))
    tag_category_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    points: float = Field(sa_column=Column(Float, nullable=False))


Index(
    "uq_scoring_rule",
    ScoringRule.__table__.c.account_id,  # type: ignore[attr-defined]
    ScoringRule.__table__.c.kind,  # type: ignore[attr-defined]
    func.coalesce(ScoringRule.__table__.c.tag_category_id, 0),  # type: ignore[attr-defined]
    unique=True,
)


SCORE_FILLFACTOR = 90


class InterestScore(SQLModel, table=True):
    """A person's interest in a tag: ``value`` at ``as_of``; at a later time T it is
    ``value · 2^(−(T − as_of) / half-life)``. Derived from interactions: a refresh or a rebuild
    computes it again, nothing adds to it by hand."""

    __tablename__ = "interest_score"
    # Pages are left 10 % free so that a fold's updates stay on their page (heap-only: no new index
    # entries for a new version).
    __table_args__ = (
        ForeignKeyConstraint(
            ["account_id", "person_id"],
            ["person.account_id", "person.id"],
            ondelete="CASCADE",
            name="fk_interest_person",
        ),
        ForeignKeyConstraint(
            ["account_id", "tag_id"], ["tag.account_id", "tag.id"], ondelete="CASCADE", name="fk_interest_tag"
        ),
        CheckConstraint("value > 0", name="ck_interest_score_value"),
        Index("ix_interest_score_tag", "account_id", "tag_id"),
        {"postgresql_with": {"fillfactor": SCORE_FILLFACTOR}},
    )

    account_id: int = account_key_field()
    person_id: int = Field(sa_column=Column(BigInteger, primary_key=True, nullable=False))
    tag_id: int = Field(sa_column=Column(BigInteger, primary_key=True, nullable=False))
    value: float = Field(sa_column=Column(Float, nullable=False))
    as_of: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    interactions: int = Field(sa_column=Column(BigInteger, nullable=False), description="how many reached the tag")
    last_at: datetime = Field(
        sa_column=Column(DateTime(timezone=True), nullable=False), description="the latest of them"
    )


class TagLift(SQLModel, table=True):
    """How much buying one production with a tag raises the chance that a person's other purchases
    carry it too (1: not at all, a tag that says nothing about taste). Learnt from the account's
    purchases by the rescore job; tips weigh each interest by it (``domain.recommendations.tips``)."""

    __tablename__ = "tag_lift"
    __table_args__ = (
        ForeignKeyConstraint(
            ["account_id", "tag_id"], ["tag.account_id", "tag.id"], ondelete="CASCADE", name="fk_tag_lift_tag"
        ),
    )

    account_id: int = account_id_field()
    tag_id: int = Field(sa_column=Column(BigInteger, primary_key=True, nullable=False))
    lift: float = Field(sa_column=Column(Float, nullable=False))
    buyers: int = Field(sa_column=Column(BigInteger, nullable=False), description="persons it was learnt from")
    computed_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
