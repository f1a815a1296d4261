"""Domain events: recorded on the session while work happens, delivered after commit.

A domain function calls ``record(session, SomeEvent(...))``. When the session commits, the
events go to the session's ``event_sink`` (set by whoever built the session, usually the plugin
facade); when it rolls back they are dropped, so plugins never hear of work that did not happen.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from collections.abc import Callable, Iterable

from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

_PENDING = "marquee_pending_events"
EVENT_SINK = "event_sink"


@dataclass(frozen=True)
class DomainEvent:
    account_id: int


@dataclass(frozen=True)
class PersonCreated(DomainEvent):
    person_id: int


@dataclass(frozen=True)
class PersonUpdated(DomainEvent):
    person_id: int
    changed_fields: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class PersonDeleted(DomainEvent):
    person_id: int


@dataclass(frozen=True)
class PersonMerged(DomainEvent):
    survivor_id: int
    merged_id: int


@dataclass(frozen=True)
class PersonExported(DomainEvent):
    """A privacy export of one person was written (``domain.privacy``)."""

    person_id: int
    request_id: int
    job_id: int


@dataclass(frozen=True)
class PersonErased(DomainEvent):
    """A person was erased: what they were known by, for systems outside Marquee to forget them
    too (this event is the last place the values appear)."""

    person_id: int
    request_id: int
    email: str | None
    identities: tuple[tuple[str, str], ...]  # (source, external id)


@dataclass(frozen=True)
class ProductionsChanged(DomainEvent):
    """Productions were created or changed: their fields, tags or events (a feed import)."""

    production_ids: tuple[int, ...]


@dataclass(frozen=True)
class ImportFinished(DomainEvent):
    """A feed import ended (all its batches committed, some records perhaps refused)."""

    plugin: str
    source: str
    records: int
    changes: int
    refused: int
    job_id: int | None = None


@dataclass(frozen=True)
class SegmentLabelled(DomainEvent):
    """Every member of a segment's snapshot was given the tags (source ``staff``)."""

    action_id: int
    job_id: int
    segment_id: int | None  # None: deleted meanwhile
    tag_ids: tuple[int, ...]
    members: int
    links_added: int


@dataclass(frozen=True)
class SegmentExported(DomainEvent):
    """A segment's snapshot was written to a file (download it through the action's link)."""

    action_id: int
    job_id: int
    segment_id: int | None
    format: str
    rows: int
    bytes: int


@dataclass(frozen=True)
class OfferSent(DomainEvent):
    """An offer e-mail action ended: every member of its snapshot was handled."""

    action_id: int
    job_id: int
    segment_id: int | None
    sent: int
    skipped: int  # no consent at send time, or no address
    failed: int  # refused for good by the mail server
    unknown: int  # a sender stopped while handing these over: perhaps sent, never sent again


@dataclass(frozen=True)
class AudiencePushed(DomainEvent):
    """Every batch of an audience push was delivered to its pusher."""

    action_id: int
    job_id: int
    segment_id: int | None
    pusher: str
    members: int
    batches: int


@dataclass(frozen=True)
class TagsAttached(DomainEvent):
    """Tags were linked to targets ("person tagged" for target ``person``)."""

    tag_ids: tuple[int, ...]
    target: str
    target_ids: tuple[int, ...]
    source: str


@dataclass(frozen=True)
class TagsMerged(DomainEvent):
    survivor_id: int
    merged_ids: tuple[int, ...]


@dataclass(frozen=True)
class FormSubmitted(DomainEvent):
    form_id: int
    person_id: int
    submission_id: int
    added_tag_ids: tuple[int, ...]
    removed_tag_ids: tuple[int, ...]


EventSink = Callable[[Iterable[DomainEvent]], None]


def record(session: Session, event: DomainEvent) -> None:
    session.info.setdefault(_PENDING, []).append(event)


def pending(session: Session) -> list[DomainEvent]:
    return list(session.info.get(_PENDING, []))


@sa_event.listens_for(Session, "after_commit")
def _deliver_after_commit(session: Session) -> None:
    events = session.info.pop(_PENDING, [])
    sink = session.info.get(EVENT_SINK)
    if events and sink is not None:
        sink(events)


@sa_event.listens_for(Session, "after_rollback")
def _drop_after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)
