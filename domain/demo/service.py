"""Starting a demo-data load: the parameters and the empty account it needs, checked when asked
(not later in the worker), and the job that does it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from domain.errors import Collector, ErrorCode, InputError
from domain.jobs_state.models import Job
from domain.jobs_state.service import create_job
from domain.people.models import Person

MAX_PEOPLE = 5_000_000
MAX_SEED = 2**31 - 1


def check_parameters(people: Any, seed: Any) -> None:
    problems = Collector()
    for name, value, low, high in (("people", people, 1, MAX_PEOPLE), ("seed", seed, 0, MAX_SEED)):
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            problems.add(ErrorCode.OUT_OF_RANGE, f"{name} is a whole number between {low} and {high}", name)
    problems.raise_if_any()


def start_demo_load(session: Session, account_id: int, *, people: int, seed: int, created_by: int | None = None) -> Job:
    """A queued job filling this account with demo data; refused for an account that holds persons."""
    check_parameters(people, seed)
    if session.execute(select(Person.id).where(Person.account_id == account_id).limit(1)).first():
        raise InputError.single(
            ErrorCode.CONFLICT, "this account already holds persons; demo data is loaded only into an empty account"
        )
    return create_job(
        session, account_id, kind="load_demo_data", params={"people": people, "seed": seed}, created_by=created_by
    )


def create_demo_segments(session: Session, account_id: int) -> list:
    """Saved segments to look at in a fresh demo (none are made when the account has any)."""
    from domain.segments import service as segments  # noqa: PLC0415
    from domain.segments.models import Segment  # noqa: PLC0415
    from domain.tags.models import Tag, TagCategory, TagCounter  # noqa: PLC0415

    if session.execute(select(Segment.id).where(Segment.account_id == account_id).limit(1)).first():
        return []
    loyal = segments.create_segment(
        session,
        account_id,
        name="Loyal buyers",
        description="Three orders or more, the last within a year.",
        rules={
            "all": [
                {"type": "purchase", "metric": "orders", "min": 3},
                {"type": "last_purchase", "mode": "within", "days": 365},
            ]
        },
    )
    made = [
        loyal,
        segments.create_segment(
            session,
            account_id,
            name="Loyal buyers in Utrecht",
            parent_id=loyal.id,
            description="A view of the above.",
            rules={"type": "text", "field": "city", "operator": "eq", "value": "Utrecht"},
        ),
    ]
    # The genre most persons chose themselves.
    genre = session.execute(
        select(Tag)
        .join(TagCategory, (TagCategory.account_id == Tag.account_id) & (TagCategory.id == Tag.category_id))
        .join(TagCounter, (TagCounter.account_id == Tag.account_id) & (TagCounter.tag_id == Tag.id))
        .where(Tag.account_id == account_id, TagCategory.name == "Genres", Tag.show_on_form.is_(True))
        .order_by(TagCounter.persons_by_person.desc(), Tag.id)
        .limit(1)
    ).scalar_one_or_none()
    if genre is not None:
        made.append(
            segments.create_segment(
                session,
                account_id,
                name=f"{genre.label} fans without a recent visit",
                description="Chose the genre themselves, but did not buy in the last 180 days.",
                rules={
                    "all": [
                        {"type": "tag", "tag_id": genre.id, "source": "person"},
                        {"type": "last_purchase", "mode": "not_within", "days": 180},
                    ]
                },
            )
        )
    return made


def demo_person(session: Session, account_id: int) -> Person | None:
    """Someone to show the preference centre for: the first person with a name and an address."""
    return session.execute(
        select(Person)
        .where(Person.account_id == account_id, Person.email.isnot(None), Person.first_name.isnot(None))
        .order_by(Person.id)
        .limit(1)
    ).scalar_one_or_none()
