"""The audit trail through GraphQL: read and filtered by admins, never written or changed here
(``domain.audit``)."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from domain.audit import service as audit
from domain.audit.models import AuditEntry as AuditEntryRow
from domain.audit.models import AuditOutcome as OutcomeEnum
from graph.accounts.staff import StaffUser, StaffUserByIdLoader
from graph.context import Info
from graph.core.ids import from_global_id, pk_or_none, to_global_id
from graph.core.loaders import loader
from graph.core.node import Node
from graph.core.pagination import FIRST_DESCRIPTION, Edge, PageInfo, edges, page_info
from graph.core.permissions import IsAdmin

AuditOutcome = strawberry.enum(
    OutcomeEnum, name="AuditOutcome", description="done; refused (bad input, nothing written); failed (a job)."
)


def _global(target: str) -> strawberry.ID:
    type_name, _, pk = target.partition(":")
    return strawberry.ID(to_global_id(type_name, int(pk)))


@strawberry.type(description="One recorded act: a mutation, or the end of an import, send, export or privacy job.")
class AuditEntry(Node):
    at: datetime
    actor: str = strawberry.field(description="staff, person, website, connector, or worker (a job's end).")
    plugin: str | None = strawberry.field(description="A connector's plugin.")
    action: str = strawberry.field(description="The mutation's name, or job:<kind>.")
    request_id: str | None = strawberry.field(description="The X-Request-Id of the request that did it.")

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("AuditEntry", self.id))

    @strawberry.field
    def outcome(self) -> AuditOutcome:
        return OutcomeEnum(self.outcome)

    @strawberry.field(description="Who did it, or who started the job.")
    def staff_user(self, info: Info) -> StaffUser | None:
        if self.staff_user_id is None:
            return None
        return loader(info.context, StaffUserByIdLoader).load(self.staff_user_id)  # type: ignore[return-value]

    @strawberry.field(description="Global ids of what it named and what it made or changed (at most 50).")
    def targets(self) -> list[strawberry.ID]:
        return [_global(t) for t in self.targets]

    @strawberry.field(description="The input fields given (never their values).")
    def fields(self) -> list[str]:
        return list(self.details.get("fields", []))

    @strawberry.field(description="For a refusal: the error codes.")
    def errors(self) -> list[str]:
        return list(self.details.get("errors", []))

    @strawberry.field(description="For a job: its figures (counts, bytes), and the plugin of a feed.")
    def details(self) -> JSON:
        return {k: v for k, v in self.details.items() if k not in ("fields", "errors")}

    @classmethod
    def is_type_of(cls, obj, info) -> bool:
        return isinstance(obj, (AuditEntryRow, cls))


@strawberry.type
class AuditEntryConnection:
    edges: list[Edge[AuditEntry]]
    page_info: PageInfo


@strawberry.input(description="Every given filter must hold.")
class AuditFilter:
    action: str | None = strawberry.field(
        default=None, description="A mutation's name (createStaffUser) or job:<kind>; a trailing * matches a prefix."
    )
    staff_user_id: strawberry.ID | None = None
    target_id: strawberry.ID | None = strawberry.field(default=None, description="Entries naming this object.")
    outcome: AuditOutcome | None = None
    since: datetime | None = None
    until: datetime | None = None
    request_id: str | None = None


@strawberry.type
class AuditQuery:
    @strawberry.field(
        permission_classes=[IsAdmin], description="The account's audit trail, newest first. " + FIRST_DESCRIPTION
    )
    def audit_trail(
        self, info: Info, filter: AuditFilter | None = None, first: int | None = None, after: str | None = None
    ) -> AuditEntryConnection:
        ctx = info.context
        flt = audit.AuditFilter()
        if filter is not None:
            target = None
            if filter.target_id is not None:
                decoded = from_global_id(filter.target_id)
                target = f"{decoded[0]}:{decoded[1]}" if decoded else "unknown:0"
            flt = audit.AuditFilter(
                action=filter.action,
                staff_user_id=None
                if filter.staff_user_id is None
                else (pk_or_none(filter.staff_user_id, "StaffUser") or 0),
                target=target,
                outcome=None if filter.outcome is None else OutcomeEnum(filter.outcome),
                since=filter.since,
                until=filter.until,
                request_id=filter.request_id,
            )
        page = audit.list_entries(ctx.session, ctx.viewer.account_id, flt, first=first, after=after)
        loader(ctx, StaffUserByIdLoader).want(e.staff_user_id for e in page.items if e.staff_user_id)
        return AuditEntryConnection(edges=edges(page), page_info=page_info(page))


__all__ = ["AuditQuery", "AuditEntry"]
