"""Privacy requests through GraphQL (admin only): ``domain.privacy``."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from domain.privacy import service as privacy
from domain.privacy.models import PrivacyRequest as PrivacyRequestRow
from domain.privacy.models import PrivacyRequestKind as KindEnum
from graph.accounts.staff import StaffUser, StaffUserByIdLoader
from graph.actions.schema import JobByIdLoader
from graph.context import Info
from graph.core.errors import mutation_payload, run_mutation
from graph.core.ids import pk_or_none, to_global_id
from graph.core.inputs import reference_pk
from graph.core.loaders import loader
from graph.core.node import Node
from graph.core.pagination import FIRST_DESCRIPTION, Edge, PageInfo, edges, page_info
from graph.core.permissions import IsAdmin
from graph.jobs.schema import Job
from graph.people.loaders import PersonByIdLoader

if TYPE_CHECKING:
    from graph.people.types import Person

PrivacyRequestKind = strawberry.enum(
    KindEnum, name="PrivacyRequestKind", description="export: everything held about a person; erase: forget them."
)


@strawberry.type(description="A privacy request about one person, carried out by its job.")
class PrivacyRequest(Node):
    created_at: datetime
    finished_at: datetime | None

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("PrivacyRequest", self.id))

    @strawberry.field
    def kind(self) -> PrivacyRequestKind:
        return KindEnum(self.kind)

    @strawberry.field(description="The person's global id, kept when they are erased or deleted (null: deleted).")
    def person_id(self) -> strawberry.ID | None:
        if self.person_id is None:
            return None
        return strawberry.ID(to_global_id("Person", self.person_id))

    @strawberry.field(description="The person; null once erased or deleted.")
    def person(self, info: Info) -> Annotated[Person, strawberry.lazy("graph.people.types")] | None:
        if self.person_id is None:
            return None
        return loader(info.context, PersonByIdLoader).load(self.person_id)  # type: ignore[return-value]

    @strawberry.field
    def job(self, info: Info) -> Job:
        return loader(info.context, JobByIdLoader).load(self.job_id)  # type: ignore[return-value]

    @strawberry.field(description="The admin who asked (null if since removed).")
    def requested_by(self, info: Info) -> StaffUser | None:
        if self.requested_by is None:
            return None
        return loader(info.context, StaffUserByIdLoader).load(self.requested_by)  # type: ignore[return-value]

    @strawberry.field(
        description="For a finished export: a signed link to its JSON document that works for "
        "MARQUEE_DOWNLOAD_LINK_SECONDS (read again for a fresh one). Null before it is written, once the person "
        f"is erased, and after {privacy.KEEP_DAYS} days."
    )
    def download_url(self, info: Info) -> str | None:
        if self.kind != KindEnum.EXPORT.value or self.file is None:
            return None
        settings = info.context.runtime.settings
        return settings.base_url + privacy.download_path(settings.secret_key, self, settings.download_link_seconds)  # type: ignore[arg-type]

    @classmethod
    def is_type_of(cls, obj, info) -> bool:
        return isinstance(obj, (PrivacyRequestRow, cls))


@strawberry.type
class PrivacyRequestConnection:
    edges: list[Edge[PrivacyRequest]]
    page_info: PageInfo


@strawberry.type
class PrivacyQuery:
    @strawberry.field(
        permission_classes=[IsAdmin],
        description="Privacy requests, newest first; with personId, that person's only. " + FIRST_DESCRIPTION,
    )
    def privacy_requests(
        self, info: Info, person_id: strawberry.ID | None = None, first: int | None = None, after: str | None = None
    ) -> PrivacyRequestConnection:
        ctx = info.context
        person = None if person_id is None else (pk_or_none(person_id, "Person") or 0)
        page = privacy.list_requests(ctx.session, ctx.viewer.account_id, person_id=person, first=first, after=after)
        loader(ctx, JobByIdLoader).want(r.job_id for r in page.items)
        return PrivacyRequestConnection(edges=edges(page), page_info=page_info(page))


@strawberry.input
class PrivacyRequestInput:
    person_id: strawberry.ID


@strawberry.type
class PrivacyRequestStarted:
    request: PrivacyRequest
    job: Job


RequestPersonExportPayload, RequestPersonExportError, RequestPersonExportFailure = mutation_payload(
    "RequestPersonExport", PrivacyRequestStarted
)
ErasePersonPayload, ErasePersonError, ErasePersonFailure = mutation_payload("ErasePerson", PrivacyRequestStarted)


@strawberry.type
class PrivacyMutation:
    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="Export everything held about a person as one JSON document (a job); when it has succeeded, "
        "the request's downloadUrl gives the document.",
    )
    def request_person_export(self, info: Info, input: PrivacyRequestInput) -> RequestPersonExportPayload | None:
        return _start(info, KindEnum.EXPORT, input, RequestPersonExportError, RequestPersonExportFailure)

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="Erase a person (a job): their personal fields, tags, consents, submissions, interactions and "
        "scores go; orders and figures stay, anonymous; their identities and e-mail address are kept only as one-way "
        "digests, so a later feed import does not bring them back. Cannot be undone.",
    )
    def erase_person(self, info: Info, input: PrivacyRequestInput) -> ErasePersonPayload | None:
        return _start(info, KindEnum.ERASE, input, ErasePersonError, ErasePersonFailure)


def _start(info: Info, kind: KindEnum, input: PrivacyRequestInput, error_type, failure):
    ctx = info.context

    def action():
        started = privacy.start_request(
            ctx.session,
            ctx.viewer.account_id,
            kind,
            reference_pk(input.person_id, "Person"),
            requested_by=ctx.viewer.staff_user_id,
        )
        return PrivacyRequestStarted(request=started.request, job=started.job)  # type: ignore[arg-type]

    return run_mutation(info, action, error_type, failure)


__all__ = ["PrivacyQuery", "PrivacyMutation", "PrivacyRequest"]
