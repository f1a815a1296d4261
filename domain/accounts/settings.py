"""An account's own settings, changed by its admins (SPEC 1): name, time zone and modules.

A new time zone moves what "a day" is: the purchase facts keep each order's and event's local
date (``ticket_fact.order_date``, ``event_date`` and the persons' figures built on them), so a
change queues a job that computes them again in the new zone (``LOCAL_DATES_JOB``); until it has
run, day-based conditions still count in the old zone (the job's progress says when it is done).
Switching the recommendations module on queues a rescore: no scoring work ran while it was off.
Switching a module off deletes nothing (its data waits, unused, for the module to come back).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select, text
from sqlmodel import Session

from domain.accounts.models import Account, Module
from domain.changes import UNSET, Unset, given
from domain.errors import Collector, ErrorCode
from domain.jobs_state.models import Job

LOCAL_DATES_JOB = "refresh_local_dates"
MAX_NAME = 200


@dataclass(frozen=True)
class SettingsChanges:
    """What an admin changes (a field left ``UNSET`` stays as it is)."""

    name: str | Unset = UNSET
    timezone: str | Unset = UNSET
    modules: tuple[str, ...] | Unset = UNSET


@dataclass(frozen=True)
class SettingsChanged:
    account: Account
    jobs: tuple[Job, ...]  # the follow-up work queued (local dates, rescore)


def _check(changes: SettingsChanges) -> dict[str, Any]:
    problems = Collector()
    values = given(changes)
    if "name" in values:
        values["name"] = (values["name"] or "").strip()
        if not values["name"]:
            problems.add(ErrorCode.REQUIRED, "an account needs a name", "name")
        elif len(values["name"]) > MAX_NAME:
            problems.add(ErrorCode.TOO_LONG, f"a name has at most {MAX_NAME} characters", "name")
    if "timezone" in values:
        try:
            ZoneInfo(values["timezone"] or "")
        except (ZoneInfoNotFoundError, ValueError):
            problems.add(
                ErrorCode.INVALID, f"unknown time zone {values['timezone']!r} (say Europe/Amsterdam)", "timezone"
            )
    if "modules" in values and values["modules"] is None:
        problems.add(ErrorCode.REQUIRED, "give the whole list of modules (an empty list: none)", "modules")
        values.pop("modules")
    if "modules" in values:
        known = {m.value for m in Module}
        for i, module in enumerate(values["modules"]):
            if module not in known:
                problems.add(
                    ErrorCode.INVALID_CHOICE,
                    f"unknown module {module!r} (modules: {', '.join(sorted(known))})",
                    "modules",
                    str(i),
                )
        values["modules"] = sorted(set(values["modules"]))
    problems.raise_if_any()
    return values


def change_settings(
    session: Session, account_id: int, changes: SettingsChanges, *, changed_by: int | None = None
) -> SettingsChanged:
    from domain.jobs_state.service import create_job  # noqa: PLC0415
    from domain.recommendations.scoring import start_rescore  # noqa: PLC0415

    values = _check(changes)
    account = session.execute(select(Account).where(Account.id == account_id).with_for_update()).scalar_one()
    before_zone, before_modules = account.timezone, set(account.modules)
    for name, value in values.items():
        setattr(account, name, value)
    session.flush()
    jobs: list[Job] = []
    if account.timezone != before_zone:
        jobs.append(
            create_job(
                session,
                account_id,
                kind=LOCAL_DATES_JOB,
                params={"from": before_zone, "to": account.timezone},
                created_by=changed_by,
            )
        )
    if Module.RECOMMENDATIONS.value in set(account.modules) - before_modules:
        jobs.append(start_rescore(session, account_id, requested_by=changed_by))
    return SettingsChanged(account=account, jobs=tuple(jobs))


def refresh_local_dates(session: Session, account_id: int) -> dict[str, Any]:
    """Compute the account's purchase facts again in its current time zone (the job's work, in
    the caller's transaction)."""
    from domain.catalog.facts import rebuild_purchase_facts  # noqa: PLC0415

    zone = session.execute(text("SELECT timezone FROM account WHERE id = :a"), {"a": account_id}).scalar_one()
    session.execute(text("SET LOCAL jit = off"))
    rebuild_purchase_facts(session.connection(), account_id)
    tickets = session.execute(
        text("SELECT count(*) FROM ticket_fact WHERE account_id = :a"), {"a": account_id}
    ).scalar_one()
    return {"timezone": zone, "tickets": tickets}


__all__ = ["SettingsChanges", "SettingsChanged", "change_settings", "refresh_local_dates", "LOCAL_DATES_JOB"]
