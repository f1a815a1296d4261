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


def start_demo_load(session: Session, account_id: int, *, people: int, seed: int,
                    created_by: int | None = None) -> Job:
    """A queued job filling this account with demo data; refused for an account that holds persons."""
    check_parameters(people, seed)
    if session.execute(select(Person.id).where(Person.account_id == account_id).limit(1)).first():
        raise InputError.single(ErrorCode.CONFLICT, "this account already holds persons; demo data is loaded "
                                "only into an empty account")
    return create_job(session, account_id, kind="load_demo_data", params={"people": people, "seed": seed},
                      created_by=created_by)
