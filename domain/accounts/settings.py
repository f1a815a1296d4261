"""An account's own settings, changed by its admins (SPEC 1): name, time zone, modules and the
tag name policy.

Switching the policy to ``canonical`` gives every tag its canonical name; tags whose names would
then be one are reported (CONFLICT, nothing changed) unless the admin confirms, and then each such
group is merged into its oldest tag (links, subtags, forms and segment rules follow the survivor).

A new time zone moves what "a day" is: the purchase facts keep each order's and event's local
date (``ticket_fact.order_date``, ``event_date`` and the persons' figures built on them), so a
change queues a job that computes them again in the new zone (``LOCAL_DATES_JOB``); until it has
run, day-based conditions still count in the old zone (the job's progress says when it is done).
Switching the recommendations module on queues a rescore: no scoring work ran while it was off.
Switching a module off deletes nothing (its data waits, unused, for the module to come back).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select, text
from sqlmodel import Session

from domain.accounts.models import Account, Module
from domain.changes import UNSET, Unset, given
from domain.errors import Collector, ErrorCode, InputError
from domain.jobs_state.models import Job

LOCAL_DATES_JOB = "refresh_local_dates"
MAX_NAME = 200


@dataclass(frozen=True)
class SettingsChanges:
    """What an admin changes (a field left ``UNSET`` stays as it is)."""

    name: str | Unset = UNSET
    timezone: str | Unset = UNSET
    modules: tuple[str, ...] | Unset = UNSET
    tag_name_policy: str | Unset = UNSET
    merge_colliding_tags: bool = False  # switching to canonical: merge the tags whose names collide
    page_language: str | Unset = UNSET  # nl or en: what the preference centre speaks
    brand_name: str | Unset = UNSET  # the venue's name on its pages ("": the account's name)
    logo_url: str | None | Unset = UNSET  # an https address of the venue's logo
    brand_colour: str | Unset = UNSET  # #rrggbb for buttons and headings (white text must read on it)


@dataclass(frozen=True)
class SettingsChanged:
    account: Account
    jobs: tuple[Job, ...]  # the follow-up work queued (local dates, rescore)
    merged_tags: int = 0  # tags merged into another because their canonical names collided
    renamed_tags: int = 0  # tags whose name became its canonical form


MAX_COLLISIONS_SHOWN = 10


def canonical_collisions(session: Session, account_id: int) -> list[list[tuple[int, str]]]:
    """Groups of the account's tags (id, name; oldest first) whose names would be one name under
    the canonical policy."""
    from domain.tags.names import name_key, normalise  # noqa: PLC0415

    groups: dict[str, list[tuple[int, str]]] = {}
    for tag_id, name in session.execute(
        text("SELECT id, name FROM tag WHERE account_id = :a ORDER BY id"), {"a": account_id}
    ):
        groups.setdefault(name_key(normalise(name, "canonical")), []).append((tag_id, name))
    return [group for group in groups.values() if len(group) > 1]


def _to_canonical(session: Session, account_id: int, *, merge: bool) -> tuple[int, int]:
    """Merge colliding tags (when confirmed) into their oldest, then give every tag its canonical
    name. Refused with CONFLICT, naming the collisions, when some collide and ``merge`` is off."""
    from domain.tags import service as tags  # noqa: PLC0415
    from domain.tags.names import name_key, normalise  # noqa: PLC0415

    collisions = canonical_collisions(session, account_id)
    if collisions and not merge:
        shown = "; ".join(
            " and ".join(repr(name) for _, name in group) + f" would be {normalise(group[0][1], 'canonical')!r}"
            for group in collisions[:MAX_COLLISIONS_SHOWN]
        )
        more = f" (and {len(collisions) - MAX_COLLISIONS_SHOWN} more)" if len(collisions) > MAX_COLLISIONS_SHOWN else ""
        raise InputError.single(
            ErrorCode.CONFLICT,
            f"{len(collisions)} group(s) of tags would get one name: {shown}{more}. Nothing changed; "
            "set mergeCollidingTags to merge each group into its oldest tag.",
            "tag_name_policy",
        )
    merged = 0
    for group in collisions:
        ids = [tag_id for tag_id, _ in group]
        for start in range(1, len(ids), tags.MAX_MERGED - 1):
            part = [ids[0], *ids[start : start + tags.MAX_MERGED - 1]]
            tags.merge_tags(session, account_id, tag_ids=part, into_id=ids[0], policy="canonical")
        merged += len(ids) - 1
    renames = [
        (tag_id, canonical, name_key(canonical))
        for tag_id, name in session.execute(
            text("SELECT id, name FROM tag WHERE account_id = :a ORDER BY id"), {"a": account_id}
        )
        if (canonical := normalise(name, "canonical")) != name
    ]
    if renames:
        session.execute(
            text(
                "UPDATE tag t SET name = r.name, name_key = r.name_key FROM unnest(CAST(:ids AS bigint[]), "
                "CAST(:names AS text[]), CAST(:keys AS text[])) AS r(id, name, name_key) "
                "WHERE t.account_id = :a AND t.id = r.id"
            ),
            {
                "a": account_id,
                "ids": [r[0] for r in renames],
                "names": [r[1] for r in renames],
                "keys": [r[2] for r in renames],
            },
        )
    return merged, len(renames)


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
    if "tag_name_policy" in values and values["tag_name_policy"] not in ("preserve", "canonical"):
        problems.add(ErrorCode.INVALID_CHOICE, "the tag name policy is preserve or canonical", "tag_name_policy")
    values.pop("merge_colliding_tags", None)
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
    _check_look(values, problems)
    problems.raise_if_any()
    return values


PAGE_LANGUAGES = ("nl", "en")
MAX_LOGO_URL = 500
MIN_CONTRAST = 4.5  # WCAG 2 AA for normal text: white on the brand colour


def contrast_with_white(colour: str) -> float:
    """The WCAG contrast ratio of white text on ``#rrggbb``."""

    def channel(hex_pair: str) -> float:
        c = int(hex_pair, 16) / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(colour[i : i + 2]) for i in (1, 3, 5))
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return 1.05 / (luminance + 0.05)


def _check_look(values: dict[str, Any], problems: Collector) -> None:
    if "page_language" in values and values["page_language"] not in PAGE_LANGUAGES:
        problems.add(ErrorCode.INVALID_CHOICE, "the page language is nl or en", "page_language")
    if "brand_name" in values:
        values["brand_name"] = (values["brand_name"] or "").strip()
        if len(values["brand_name"]) > MAX_NAME:
            problems.add(ErrorCode.TOO_LONG, f"a venue name has at most {MAX_NAME} characters", "brand_name")
    if values.get("logo_url") is not None:
        url = values["logo_url"].strip()
        parts = urlsplit(url)
        if len(url) > MAX_LOGO_URL:
            problems.add(ErrorCode.TOO_LONG, f"a logo address has at most {MAX_LOGO_URL} characters", "logo_url")
        elif parts.scheme != "https" or not parts.hostname or any(c in url for c in " \"'<>"):
            problems.add(ErrorCode.INVALID, "the logo is an https:// address of an image", "logo_url")
        values["logo_url"] = url or None
    if "brand_colour" in values:
        colour = (values["brand_colour"] or "").strip().lower()
        if not re.fullmatch(r"#[0-9a-f]{6}", colour):
            problems.add(ErrorCode.INVALID, "a colour is written #rrggbb, such as #8a1538", "brand_colour")
        elif (ratio := contrast_with_white(colour)) < MIN_CONTRAST:
            problems.add(
                ErrorCode.INVALID,
                f"white text on {colour} has a contrast of {ratio:.1f}:1; pages need {MIN_CONTRAST}:1 "
                "(a darker colour)",
                "brand_colour",
            )
        values["brand_colour"] = colour


def change_settings(
    session: Session, account_id: int, changes: SettingsChanges, *, changed_by: int | None = None
) -> SettingsChanged:
    from domain.jobs_state.service import create_job  # noqa: PLC0415
    from domain.recommendations.scoring import start_rescore  # noqa: PLC0415

    values = _check(changes)
    account = session.execute(select(Account).where(Account.id == account_id).with_for_update()).scalar_one()
    before_zone, before_modules, before_policy = account.timezone, set(account.modules), account.tag_name_policy
    merged = renamed = 0
    if values.get("tag_name_policy") == "canonical" and before_policy != "canonical":
        merged, renamed = _to_canonical(session, account_id, merge=changes.merge_colliding_tags)
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
    return SettingsChanged(account=account, jobs=tuple(jobs), merged_tags=merged, renamed_tags=renamed)


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
