"""The GraphQL types of mail: layouts and the send ledger of offer actions."""

from __future__ import annotations

import enum
from datetime import datetime

import strawberry

from domain.mail import offers
from domain.mail.models import MailLayout as MailLayoutRow
from graph.context import Info
from graph.core.ids import to_global_id
from graph.core.loaders import BatchLoader, loader
from graph.core.node import Node
from graph.core.pagination import Edge, PageInfo, edges, page_info
from graph.people.loaders import PersonByIdLoader
from graph.people.types import Person


@strawberry.type(
    description="The frame of an account's mails: Jinja2 templates (sandboxed; HTML autoescaped) that place "
    "{{ content }}, {{ offer.title }}, {{ offer.starts_at }}, {{ offer.url }}, {{ person.first_name }} and — "
    "required — {{ unsubscribe_url }}; {{ link('https://…') }} makes any other link tracked."
)
class MailLayout(Node):
    name: str
    html: str
    text: str = strawberry.field(description="The plain-text part's template; empty: made from the offer's text.")
    created_at: datetime
    updated_at: datetime

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("MailLayout", self.id))

    @classmethod
    def is_type_of(cls, obj, info) -> bool:
        return isinstance(obj, (MailLayoutRow, cls))


@strawberry.enum(description="Where one member's mail of an offer stands.")
class SendStatus(enum.Enum):
    PENDING = "pending"
    CLAIMED = "claimed"
    SENDING = "sending"
    SENT = "sent"
    SKIPPED = "skipped"
    FAILED = "failed"
    UNKNOWN = "unknown"


@strawberry.type(description="One member's mail of an offer action (the send ledger).")
class MailSend:
    status: SendStatus
    reason: str | None = strawberry.field(
        description="skipped: no_consent (not granted when the mail was due) or no_address; failed: the server's "
        "answer; unknown: its sender stopped while handing it over (perhaps sent; never sent again)."
    )
    email: str | None = strawberry.field(description="The address it went to.")
    attempts: int
    sent_at: datetime | None

    @strawberry.field(description="Null when the person was erased meanwhile.")
    def person(self, info: Info) -> Person | None:
        return loader(info.context, PersonByIdLoader).load(self.person_id)  # type: ignore[attr-defined, return-value]


@strawberry.type
class MailSendConnection:
    edges: list[Edge[MailSend]]
    page_info: PageInfo


@strawberry.type(description="An offer action's send ledger, counted.")
class SendCounts:
    pending: int = strawberry.field(description="Not handled yet (queued, taken or being handed over).")
    sent: int
    skipped_no_consent: int
    skipped_no_address: int
    failed: int
    unknown: int


def LedgerCountsByActionLoader(ctx) -> BatchLoader:
    return BatchLoader(lambda ids: offers.ledger_counts_by_action(ctx.session, ctx.viewer.account_id, ids))


def send_counts(info: Info, action_id: int) -> SendCounts:
    counts = loader(info.context, LedgerCountsByActionLoader).load(action_id)
    assert counts is not None
    return SendCounts(
        pending=counts["pending"] + counts["claimed"] + counts["sending"],
        sent=counts["sent"],
        skipped_no_consent=counts["skipped_no_consent"],
        skipped_no_address=counts["skipped_no_address"],
        failed=counts["failed"],
        unknown=counts["unknown"],
    )


def sends_page(info: Info, action_id: int, status: SendStatus | None, first: int | None, after: str | None):
    ctx = info.context
    page = offers.list_sends(
        ctx.session,
        ctx.viewer.account_id,
        action_id,
        status=status.value if status else None,
        first=first,
        after=after,
    )
    loader(ctx, PersonByIdLoader).want(s.person_id for s in page.items)
    return MailSendConnection(edges=edges(page), page_info=page_info(page))
